// SPDX-License-Identifier: BSL-1.0
// The test opaque profile's wire codecs: its TLV types, the HMAC hop record and the end-to-end data blob.
#pragma once

#include <tlvcast/profile/secure/record.hpp>
#include <tlvcast/crypto/replay_window.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/wire/sender_info.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/crypto/detail/wipe.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace tlvcast::test {

/// The test profile's TLV types, in the unassigned high range: the type table knows none of them.
namespace opaque_type {
inline constexpr std::uint16_t hello = 0x7f00;    ///< client -> relay, outer: nonce(16) tag(16)
inline constexpr std::uint16_t record = 0x7f01;   ///< both ways, outer: sid(8) seq(8) inner tag(16)
inline constexpr std::uint16_t accept = 0x7f02;   ///< in a relay record: flags(1), bit 0: the relay did not know the client
inline constexpr std::uint16_t presence = 0x7f03; ///< in a relay record: connected(1) IPv4(4) port(2)
inline constexpr std::uint16_t data = 0x7f10;     ///< client blob, forwarded as it is: IPv4(4) port(2) epoch(4) seq(8) message tag(16)
inline constexpr std::uint16_t join = 0x7f11;     ///< client blob: empty
inline constexpr std::uint16_t leave = 0x7f12;    ///< client blob: empty
} // namespace opaque_type
static_assert(!wire::find_type(opaque_type::hello) && !wire::find_type(opaque_type::record) &&
                  !wire::find_type(opaque_type::accept) && !wire::find_type(opaque_type::presence) &&
                  !wire::find_type(opaque_type::data) && !wire::find_type(opaque_type::join) &&
                  !wire::find_type(opaque_type::leave),
              "the test profile's types must stay unknown to the type table");

using opaque_key = std::array<std::byte, 32>;

namespace opaque_codec {

inline constexpr std::size_t tag_size = 16;
inline constexpr std::size_t record_overhead = wire::tlv_header_size + 8 + 8 + tag_size;
inline constexpr std::size_t data_head = wire::address_port_size + 4 + 8; ///< sender, epoch, seq
inline constexpr std::size_t data_fixed = data_head + tag_size;

using tag = std::array<std::byte, tag_size>;
using sid_type = std::array<std::byte, 8>;
using nonce_type = std::array<std::byte, 16>;

inline std::span<const std::byte> label(std::string_view s) noexcept { return std::as_bytes(std::span(s)); }

/// HMAC-SHA256(key, the concatenated parts).
inline opaque_key hmac(std::span<const std::byte> key, std::initializer_list<std::span<const std::byte>> parts)
{
    // On the default backend, so that the test profile builds with either crypto library.
    std::vector<std::byte> message;
    for (const auto p : parts)
        message.insert(message.end(), p.begin(), p.end());
    return crypto::default_suite::hmac_sha256(key, message);
}

/// The first 16 bytes of hmac().
inline tag mac16(const opaque_key& key, std::initializer_list<std::span<const std::byte>> parts)
{
    const auto d = hmac(key, parts);
    tag t{};
    std::copy_n(d.begin(), t.size(), t.begin());
    return t;
}

/// Constant-time comparison of a computed tag with the received one.
inline bool tags_equal(const tag& computed, std::span<const std::byte> received)
{
    return received.size() == tag_size && crypto::detail::constant_time_equal(computed.data(), received.data(), tag_size);
}

/// One hop session: its id, a key per direction, the send counter and the replay window.
struct hop {
    sid_type sid{};
    opaque_key c2r{}, r2c{};
    std::uint64_t next_seq = 0;
    crypto::basic_replay_window<> window;
};

/// The hop keys of the session `sid` begun by the hello with `nonce`.
inline hop derive_hop(const opaque_key& relay_key, const nonce_type& nonce, const sid_type& sid)
{
    const auto k = hmac(relay_key, {label("session"), nonce, sid});
    hop h;
    h.sid = sid;
    h.c2r = hmac(k, {label("c2r")});
    h.r2c = hmac(k, {label("r2c")});
    return h;
}

inline sid_type read_sid(std::span<const std::byte> record_value) noexcept
{
    sid_type sid{};
    std::copy_n(record_value.begin(), sid.size(), sid.begin());
    return sid;
}

/// record = TLV(record, sid || seq || inner || HMAC(key, sid || seq || inner)[:16]), into `out`.
/// Errors: message_too_large.
inline void seal_record(hop& h, const opaque_key& key, std::span<const std::byte> inner, std::vector<std::byte>& out,
                        std::error_code& ec)
{
    ec = {};
    out.clear();
    if (inner.size() > wire::max_value_size - (record_overhead - wire::tlv_header_size)) {
        ec = errc::message_too_large;
        return;
    }
    std::array<std::byte, 16> head{};
    std::copy(h.sid.begin(), h.sid.end(), head.begin());
    profile::secure::detail::store_u64(head.data() + 8, h.next_seq++);
    wire::tlv_appender a(out);
    const std::size_t mark = a.begin(opaque_type::record);
    a.put_raw(head);
    a.put_raw(inner);
    a.put_raw(mac16(key, {head, inner}));
    a.end(mark, ec);
}

/// A record's value (at least sid, seq and tag) -> its inner bytes. The replay window is checked
/// first (cheap) and moves only for an authentic record. Errors: replayed, authentication_failed.
inline void open_record(hop& h, const opaque_key& key, std::span<const std::byte> value, std::vector<std::byte>& inner,
                        std::error_code& ec)
{
    inner.clear();
    const std::uint64_t seq = profile::secure::detail::load_u64(value.data() + 8);
    if ((ec = h.window.check(seq)))
        return;
    const auto body = value.first(value.size() - tag_size);
    if (!tags_equal(mac16(key, {body}), value.last(tag_size))) {
        ec = errc::authentication_failed;
        return;
    }
    (void)h.window.accept(seq);
    inner.assign(body.begin() + 16, body.end());
}

/// data blob = TLV(data, sender || epoch || seq || message || HMAC(group, "data" || the rest)[:16]).
/// Errors: message_too_large.
inline void seal_data(const opaque_key& group, const endpoint& sender, std::uint32_t epoch, std::uint64_t seq,
                      std::span<const std::byte> message, std::vector<std::byte>& blob, std::error_code& ec)
{
    ec = {};
    blob.clear();
    if (message.size() > wire::max_value_size - data_fixed) {
        ec = errc::message_too_large;
        return;
    }
    std::array<std::byte, data_head> head{};
    wire::encode_address(head, sender, ec);
    wire::detail::store_u32(head.data() + wire::address_port_size, epoch);
    profile::secure::detail::store_u64(head.data() + wire::address_port_size + 4, seq);
    wire::tlv_appender a(blob);
    const std::size_t mark = a.begin(opaque_type::data);
    a.put_raw(head);
    a.put_raw(message);
    const auto t = mac16(group, {label("data"), std::span<const std::byte>(blob).subspan(mark + wire::tlv_header_size)});
    a.put_raw(t);
    a.end(mark, ec);
}

/// What an authentic data blob says.
struct data_view {
    endpoint sender;
    std::uint32_t epoch = 0;
    std::uint64_t seq = 0;
    std::span<const std::byte> message; ///< views the blob
};

/// Checks a data blob's value under the group key. Errors: malformed, authentication_failed.
inline data_view open_data(const opaque_key& group, std::span<const std::byte> value, std::error_code& ec)
{
    ec = {};
    data_view v;
    if (value.size() < data_fixed) {
        ec = errc::malformed;
        return v;
    }
    const auto body = value.first(value.size() - tag_size);
    if (!tags_equal(mac16(group, {label("data"), body}), value.last(tag_size))) {
        ec = errc::authentication_failed;
        return v;
    }
    v.sender = wire::decode_address(body, ec);
    v.epoch = wire::detail::load_u32(body.data() + wire::address_port_size);
    v.seq = profile::secure::detail::load_u64(body.data() + wire::address_port_size + 4);
    v.message = body.subspan(data_head);
    return v;
}

/// Appends one datagram to `to`: a TLV of `type` whose value is the concatenated parts.
inline void push_tlv(datagram_batch& out, const endpoint& to, std::uint16_t type,
                     std::initializer_list<std::span<const std::byte>> parts)
{
    const std::size_t m = out.mark();
    wire::tlv_appender a(out.bytes());
    const std::size_t mark = a.begin(type);
    for (const auto p : parts)
        a.put_raw(p);
    std::error_code ec;
    a.end(mark, ec);
    out.commit(to, m);
}

} // namespace opaque_codec
} // namespace tlvcast::test
