// SPDX-License-Identifier: BSL-1.0
// libFuzzer harness: arbitrary bytes as a datagram through read_outer, the value codecs and tlv_reader.
//
// Beyond "no crash, no sanitizer report", it checks invariants that can fail: every error matches an
// independent model of the seed profile's framing rules, every parsed TLV re-encodes to exactly the
// input bytes it came from, and iteration accounts for every byte.
#include <tlvcast/wire/fragment_header.hpp>
#include <tlvcast/wire/sender_info.hpp>
#include <tlvcast/wire/tlv.hpp>
#include <tlvcast/wire/types.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <system_error>
#include <vector>

namespace {

namespace wire = tlvcast::wire;
using tlvcast::errc;
using bytes_view = std::span<const std::byte>;

[[noreturn]] void fail(const char* what)
{
    std::fprintf(stderr, "fuzz_tlv_reader: invariant broken: %s\n", what);
    std::abort();
}

void expect(bool ok, const char* what)
{
    if (!ok)
        fail(what);
}

unsigned u16_at(bytes_view b, std::size_t i)
{
    return (std::to_integer<unsigned>(b[i]) << 8) | std::to_integer<unsigned>(b[i + 1]);
}

// The table row by linear scan: a second opinion on find_type()'s index.
const wire::type_info* row_of(unsigned type)
{
    for (const auto& row : wire::type_table)
        if (static_cast<unsigned>(row.type) == type)
            return &row;
    return nullptr;
}

// What reading one TLV at the start of `b` must report, from the seed profile's framing rules (docs/PROTOCOL.md).
std::error_code model_error(bytes_view b)
{
    if (b.size() < 4)
        return errc::truncated_header;
    const unsigned length = u16_at(b, 2);
    if (length > b.size() - 4)
        return errc::truncated_value;
    if (const auto* row = row_of(u16_at(b, 0)); row && (length < row->min_length || length > row->max_length))
        return errc::length_out_of_range;
    return {};
}

// A parsed TLV must view exactly the input it came from and re-encode to the same bytes.
void check_tlv_at(const wire::tlv& t, bytes_view at)
{
    expect(t.raw_type == u16_at(at, 0), "raw_type is the first two bytes");
    expect(t.value.size() == u16_at(at, 2), "value size is the length field");
    expect(t.value.data() == at.data() + 4, "value views the input right after the header");
    expect(t.info() == row_of(t.raw_type), "find_type agrees with a scan of the table");

    std::vector<std::byte> out(t.wire_size());
    wire::tlv_writer w(out);
    std::error_code ec;
    w.put(t.raw_type, t.value, ec);
    expect(!ec, "a parsed TLV re-encodes without error");
    expect(std::ranges::equal(out, at.first(t.wire_size())), "tlv_writer reproduces the input bytes");

    std::vector<std::byte> grown;
    wire::tlv_appender a(grown);
    a.put(t.raw_type, t.value, ec);
    expect(!ec && grown == out, "tlv_appender agrees with tlv_writer");
}

void check_origin_model(const wire::tlv& t)
{
    for (auto where : {wire::origin::client, wire::origin::relay, wire::origin::nested}) {
        const auto* row = row_of(t.raw_type);
        const std::error_code want = !row                              ? std::error_code(errc::unknown_type)
                                     : !wire::allows(row->senders, where) ? std::error_code(errc::unexpected_type)
                                                                        : std::error_code{};
        expect(wire::check_origin(t, where) == want, "check_origin follows the table");
    }
}

void check_sender_info(bytes_view value)
{
    std::error_code ec;
    const wire::sender_info si = wire::decode_sender_info(value, ec);

    std::error_code want;
    if (value.size() <= 6) { // no address, or no inner TLV at all
        want = errc::truncated_header;
    } else if (want = model_error(value.subspan(6)); !want) {
        const auto* row = row_of(u16_at(value, 6));
        if (!row)
            want = errc::unknown_type;
        else if (!wire::allows(row->senders, wire::origin::nested))
            want = errc::unexpected_type;
    }
    expect(ec == want, "decode_sender_info reports the modelled error");
    if (ec)
        return;

    expect(si.sender.is_v4() && si.sender.v4() == ((u16_at(value, 0) << 16) | u16_at(value, 2)), "sender address");
    expect(si.sender.port == u16_at(value, 4), "sender port");
    check_tlv_at(si.inner, value.subspan(6));

    // Re-encode the whole wrapper: it must equal the value up to the end of the inner TLV.
    std::vector<std::byte> out;
    wire::tlv_appender a(out);
    wire::append_sender_info(a, si.sender, si.inner.type(), si.inner.value, ec);
    expect(!ec, "append_sender_info accepts what decode_sender_info returned");
    const std::size_t used = 6 + si.inner.wire_size();
    expect(out.size() == 4 + used, "append_sender_info size");
    expect(std::ranges::equal(std::span(out).subspan(4), value.first(used)), "SENDER_INFO round trip");
}

void check_fragment(bytes_view value, bytes_view whole)
{
    std::error_code ec;
    const wire::fragment f = wire::decode_fragment(value, ec);
    // The type table already guarantees 8 bytes for an outer FRAGMENT.
    const unsigned seq = u16_at(value, 4), total = u16_at(value, 6);
    const std::error_code want = total == 0     ? std::error_code(errc::fragment_total_zero)
                                 : seq >= total ? std::error_code(errc::fragment_seq_out_of_range)
                                                : std::error_code{};
    expect(ec == want, "decode_fragment reports the modelled error");
    if (ec)
        return;
    expect(f.payload.data() == value.data() + 8 && f.payload.size() == value.size() - 8, "payload view");
    std::vector<std::byte> out(whole.size());
    wire::tlv_writer w(out);
    wire::write_fragment(w, f.msg_id, f.seq, f.total, f.payload, ec);
    expect(!ec, "write_fragment accepts a decoded fragment");
    expect(std::ranges::equal(out, whole), "FRAGMENT round trip");
}

void check_presence(const wire::tlv& t, bytes_view whole)
{
    std::error_code ec;
    const tlvcast::endpoint ep = wire::decode_presence(t.value, ec);
    expect(!ec, "a presence value the table admits (6 bytes) decodes");
    std::vector<std::byte> out;
    wire::tlv_appender a(out);
    wire::append_presence(a, t.type(), ep, ec);
    expect(!ec && std::ranges::equal(out, whole), "presence round trip");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const bytes_view in(reinterpret_cast<const std::byte*>(data), size);

    // 1. The datagram as the relay or a client sees it: one outer TLV, the rest ignored.
    std::error_code ec;
    const wire::tlv outer = wire::read_outer(in, ec);
    expect(ec == model_error(in), "read_outer reports the modelled error");
    if (!ec) {
        check_tlv_at(outer, in);
        check_origin_model(outer);
        const bytes_view whole = in.first(outer.wire_size());
        switch (outer.type()) {
        case wire::tlv_type::sender_info:
            check_sender_info(outer.value);
            break;
        case wire::tlv_type::fragment:
            check_fragment(outer.value, whole);
            break;
        case wire::tlv_type::client_connected:
        case wire::tlv_type::client_disconnected:
            check_presence(outer, whole);
            break;
        default:
            break;
        }
    }

    // 2. The whole buffer as a TLV sequence (what the relay does to a reassembled blob).
    wire::tlv_reader r(in);
    wire::tlv t;
    std::size_t offset = 0;
    while (r.next(t, ec)) {
        expect(!ec, "next() returning true leaves no error");
        check_tlv_at(t, in.subspan(offset));
        offset += t.wire_size();
        expect(r.offset() == offset, "offset advances by the wire size");
    }
    expect(r.offset() == offset, "an error or the end leaves the offset at the last good TLV");
    if (ec) {
        expect(ec == model_error(in.subspan(offset)), "next() reports the modelled error");
        expect(!r.done(), "an error is not the end");
        wire::tlv again;
        std::error_code ec2;
        expect(!r.next(again, ec2) && ec2 == ec, "next() repeats the same error");
    } else {
        expect(r.done() && offset == in.size(), "a clean end accounts for every byte");
    }
    return 0;
}
