// SPDX-License-Identifier: BSL-1.0
// libFuzzer harness: arbitrary bytes as a secure batch's value, through the relay's and the client's
// parsers (profile/secure/batch.hpp, messages::open, detail::batch_inbox).
//
// Checks that check_batch's verdict matches an independent reading of docs/PROTOCOL.md (count 1..256,
// exactly count entries length(2) message, nothing after), that the relay (SECURE_BATCH) and the
// client (SECURE_DELIVER_BATCH) accept exactly the same values, that an accepted value's messages come
// out in order, inside the input, and that write_batch() of them rebuilds the input byte for byte.
#include <tlvcast/profile/secure/batch.hpp>

#include "fuzz_check.hpp"

#include <tlvcast/profile/secure/detail/batch_inbox.hpp>
#include <tlvcast/profile/secure/messages.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

namespace {

namespace secure = tlvcast::profile::secure;
namespace wire = tlvcast::wire;
using view = std::span<const std::byte>;

unsigned u16_at(view b, std::size_t i)
{
    return (std::to_integer<unsigned>(b[i]) << 8) | std::to_integer<unsigned>(b[i + 1]);
}

// The model: the messages of a well-formed value, or false.
bool model(view in, std::vector<view>& out)
{
    out.clear();
    if (in.size() < 2)
        return false;
    const unsigned count = u16_at(in, 0);
    if (count == 0 || count > 256)
        return false;
    std::size_t pos = 2;
    for (unsigned i = 0; i < count; ++i) {
        if (pos + 2 > in.size())
            return false;
        const unsigned len = u16_at(in, pos);
        pos += 2;
        if (pos + len > in.size())
            return false;
        out.push_back(in.subspan(pos, len));
        pos += len;
    }
    return pos == in.size();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const view in(reinterpret_cast<const std::byte*>(data), size);
    std::vector<view> want;
    const bool ok = model(in, want);

    std::size_t count = 0;
    const secure::batch_fault fault = secure::check_batch(in, count);
    FUZZ_CHECK((fault == secure::batch_fault::none) == ok);
    FUZZ_CHECK(count == (ok ? want.size() : 0));

    // The relay: SECURE_BATCH(in) opens as a batch exactly when the model accepts it.
    std::vector<std::byte> blob, plaintext;
    std::error_code ec;
    wire::tlv_appender(blob).put(wire::tlv_type::secure_batch, in, ec);
    if (!ec) {
        const auto kind = secure::messages::open(blob, plaintext, ec);
        const bool table_ok = in.size() >= wire::secure_batch_min; // tlv_reader's length check
        FUZZ_CHECK(!ec == (ok && table_ok));
        FUZZ_CHECK(ec || (kind == tlvcast::crypto::message_kind::batch && std::ranges::equal(plaintext, in)));
        FUZZ_CHECK(!ec || plaintext.empty());
    }

    // The client: SECURE_DELIVER_BATCH(sender, identity, in) hands out the model's messages, or none.
    std::vector<std::byte> value(wire::secure_deliver_fixed_size);
    value[0] = std::byte{4};
    value[11] = value[12] = std::byte{0xff}; // 10.0.0.1 v4-mapped, port 0
    value[13] = std::byte{10};
    value[16] = std::byte{1};
    value.insert(value.end(), in.begin(), in.end());
    secure::detail::batch_inbox inbox;
    std::vector<std::byte> text;
    tlvcast::crypto::received r = inbox.take(value, text, ec);
    FUZZ_CHECK(!ec == ok);
    if (!ok) {
        FUZZ_CHECK(r.what == tlvcast::crypto::received::kind::nothing && !inbox.next(r, text));
        std::vector<std::size_t> sizes;
        secure::batch_sizes(in, sizes);
        FUZZ_CHECK(sizes.empty());
        return 0;
    }
    std::size_t i = 0;
    do {
        FUZZ_CHECK(i < want.size() && std::ranges::equal(text, want[i]));
        FUZZ_CHECK(r.what == tlvcast::crypto::received::kind::message);
        ++i;
    } while (inbox.next(r, text));
    FUZZ_CHECK(i == want.size());

    // The cursor's views lie inside the input, in order; writing them back gives the input.
    secure::batch_cursor c(in);
    std::vector<view> got;
    for (view m; c.next(m);) {
        FUZZ_CHECK(m.data() >= in.data() && m.data() + m.size() <= in.data() + in.size());
        got.push_back(m);
    }
    FUZZ_CHECK(got.size() == want.size());
    std::vector<std::size_t> sizes; // what the relay counts and reports
    secure::batch_sizes(in, sizes);
    FUZZ_CHECK(std::ranges::equal(sizes, want, {}, {}, [](view m) { return m.size(); }));
    secure::write_batch(got, blob, ec);
    if (!ec) // more than one TLV's worth cannot be written; the input was at most that
        FUZZ_CHECK(std::ranges::equal(view(blob).subspan(wire::tlv_header_size), in));
    return 0;
}
