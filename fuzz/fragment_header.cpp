// SPDX-License-Identifier: BSL-1.0
// libFuzzer harness: arbitrary bytes as a FRAGMENT value through decode_fragment, then re-encoded.
//
// Checks that the decoder's verdict matches an independent reading of the seed profile
// (docs/PROTOCOL.md: 8-byte header, total >= 1, seq < total), that a decoded fragment re-encodes to
// the input bytes with both writers, and that the encoder refuses exactly what the decoder refuses.
#include <tlvcast/wire/fragment_header.hpp>

#include <tlvcast/wire/tlv.hpp>

#include <algorithm>
#include <array>
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

[[noreturn]] void fail(const char* what)
{
    std::fprintf(stderr, "fuzz_fragment_header: invariant broken: %s\n", what);
    std::abort();
}

void expect(bool ok, const char* what)
{
    if (!ok)
        fail(what);
}

unsigned byte_at(std::span<const std::byte> b, std::size_t i) { return std::to_integer<unsigned>(b[i]); }

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);

    std::error_code ec;
    const wire::fragment f = wire::decode_fragment(in, ec);
    if (in.size() < wire::fragment_header_size) {
        expect(ec == errc::truncated_header, "short input is truncated_header");
        expect(f.payload.empty(), "no payload on error");
        return 0;
    }

    const std::uint32_t msg_id =
        (byte_at(in, 0) << 24) | (byte_at(in, 1) << 16) | (byte_at(in, 2) << 8) | byte_at(in, 3);
    const auto seq = static_cast<std::uint16_t>((byte_at(in, 4) << 8) | byte_at(in, 5));
    const auto total = static_cast<std::uint16_t>((byte_at(in, 6) << 8) | byte_at(in, 7));
    const std::error_code want = total == 0     ? std::error_code(errc::fragment_total_zero)
                                 : seq >= total ? std::error_code(errc::fragment_seq_out_of_range)
                                                : std::error_code{};
    expect(ec == want, "decode_fragment reports the modelled error");
    expect(f.msg_id == msg_id && f.seq == seq && f.total == total, "fields are big-endian");

    // The encoder must refuse exactly what the decoder refuses, and write nothing then.
    std::array<std::byte, wire::fragment_header_size> header;
    header.fill(std::byte{0xee});
    wire::encode_fragment_header(header, f.msg_id, f.seq, f.total, ec);
    expect(ec == want, "encode_fragment_header agrees with decode_fragment");
    if (ec) {
        expect(std::ranges::all_of(header, [](std::byte b) { return b == std::byte{0xee}; }), "nothing written");
        expect(f.payload.empty(), "no payload on error");
        return 0;
    }
    expect(std::ranges::equal(header, in.first(wire::fragment_header_size)), "header round trip");
    expect(f.payload.data() == in.data() + 8 && f.payload.size() == in.size() - 8, "payload views the rest");

    // The whole FRAGMENT TLV, through both writers, then read back.
    std::vector<std::byte> out(wire::tlv_header_size + in.size());
    wire::tlv_writer w(out);
    wire::write_fragment(w, f.msg_id, f.seq, f.total, f.payload, ec);
    if (in.size() > wire::max_value_size) {
        expect(ec == errc::value_too_large && w.size() == 0, "oversized fragment refused");
        return 0;
    }
    expect(!ec && w.size() == out.size(), "write_fragment fits exactly");
    std::vector<std::byte> grown;
    wire::tlv_appender a(grown);
    wire::append_fragment(a, f.msg_id, f.seq, f.total, f.payload, ec);
    expect(!ec && grown == out, "append_fragment agrees with write_fragment");

    const wire::tlv t = wire::read_outer(out, ec);
    expect(!ec && t.type() == wire::tlv_type::fragment, "the written TLV reads back");
    expect(std::ranges::equal(t.value, in), "TLV value is the input");
    const wire::fragment back = wire::decode_fragment(t.value, ec);
    expect(!ec && back.msg_id == f.msg_id && back.seq == f.seq && back.total == f.total, "fields round trip");

    // One byte short of room: refused with nothing written.
    if (!out.empty()) {
        std::vector<std::byte> small(out.size() - 1, std::byte{0xee});
        wire::tlv_writer ws(small);
        wire::write_fragment(ws, f.msg_id, f.seq, f.total, f.payload, ec);
        expect(ec == errc::buffer_too_small && ws.size() == 0, "write_fragment refuses a short buffer");
        expect(std::ranges::all_of(small, [](std::byte b) { return b == std::byte{0xee}; }), "nothing written");
    }
    return 0;
}
