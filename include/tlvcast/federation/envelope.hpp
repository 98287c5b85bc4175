// SPDX-License-Identifier: BSL-1.0
// The federation envelope: what a relay publishes to NATS around a member's opaque blob (who
// published it, whose blob it is), and its zero-copy parser. docs/FEDERATION.md, "Envelope".
#pragma once

#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/error.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::federation {

/// A relay's id in the federation: random per process, so that a relay drops its own
/// publications however NATS routes them back (NATS's no-echo is the first guard, this the second).
using relay_id = std::array<std::byte, 16>;

/// What an envelope carries. Each kind admits only some blob types at the receiving relay
/// (a member's blob never carries relay-made presence, say).
enum class envelope_kind : std::uint8_t {
    member_blob = 1, ///< a blob a member sent and its relay accepted (message, batch, commit, welcome)
    presence = 2,    ///< a relay-made presence blob about one of its members (joined or gone)
    /// A member's commit for the federation's order (ordering_link), with `after`: the order's last
    /// position its relay had read when it checked the commit. Under the tag, so that what a reader
    /// judges the commit's place by is the publishing relay's word, not a header anyone may write.
    ordered = 3,
    /// A relay that started asks the others who lives at their relays (catch-up: its founding rule
    /// must see the group's members); the blob is one byte, 0.
    presence_request = 4,
    /// A relay-made presence blob about one of its members, published again in answer to a
    /// presence_request: taken into the remote set, forwarded to no member.
    presence_answer = 5,
};

inline constexpr std::array<std::byte, 2> envelope_magic{std::byte{'T'}, std::byte{'F'}};
/// Version 2 added the counter and the tag (federation/auth.hpp), version 3 `after` and the ordered
/// kind (and later the presence request and answer kinds, which an older relay refuses as of an
/// unknown kind); an envelope of another version is refused.
inline constexpr std::uint8_t envelope_version = 3;
/// magic(2) version(1) kind(1) relay(16) counter(8, big-endian) after(8, big-endian) origin fingerprint(32).
inline constexpr std::size_t envelope_header = 2 + 1 + 1 + 16 + 8 + 8 + 32;
/// HMAC-SHA256 under the federation key over everything before it (federation/auth.hpp).
inline constexpr std::size_t envelope_tag = 32;
inline constexpr std::size_t envelope_overhead = envelope_header + envelope_tag;
/// The largest blob an envelope may carry: a relay reassembles no larger message (core's
/// default_max_message is 48,450 bytes), with room to spare; NATS's own max_payload is 1 MiB.
inline constexpr std::size_t default_max_blob = 64 * 1024;
static_assert(envelope_overhead + default_max_blob < 1024 * 1024, "an envelope must fit NATS's default max_payload");

/// A parsed envelope: views into the caller's buffer.
struct envelope_view {
    envelope_kind kind = envelope_kind::member_blob;
    relay_id relay{};
    std::uint64_t counter = 0;    ///< the publishing relay's sequence number (replays are refused)
    std::uint64_t after = 0;      ///< ordered: the order position the commit continues (0: none yet); else 0
    crypto::fingerprint origin{}; ///< the member the blob is from, or the presence is about
    std::span<const std::byte> blob;
    std::span<const std::byte> authenticated; ///< everything the tag covers
    std::span<const std::byte> tag;           ///< envelope_tag bytes; not checked by read_envelope
};

namespace detail {
inline std::uint64_t read_u64(const std::byte* p) noexcept
{
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i)
        v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
    return v;
}
inline void append_u64(std::vector<std::byte>& out, std::uint64_t v)
{
    for (int shift = 56; shift >= 0; shift -= 8)
        out.push_back(std::byte{static_cast<std::uint8_t>(v >> shift)});
}
} // namespace detail

/// Parses `in` (it does not check the tag: federation::envelope_auth does). Errors:
/// truncated_header (shorter than header and tag), malformed (bad magic, an empty blob, `after`
/// set on a kind other than ordered), unexpected_type (a version or kind this relay does not
/// know), message_too_large (a blob over `max_blob`). Never throws, never allocates.
inline envelope_view read_envelope(std::span<const std::byte> in, std::error_code& ec,
                                   std::size_t max_blob = default_max_blob) noexcept
{
    envelope_view v;
    ec = {};
    if (in.size() < envelope_overhead) {
        ec = errc::truncated_header;
        return v;
    }
    if (!std::equal(envelope_magic.begin(), envelope_magic.end(), in.begin()) || in.size() == envelope_overhead) {
        ec = errc::malformed;
        return v;
    }
    const auto kind = std::to_integer<std::uint8_t>(in[3]);
    if (std::to_integer<std::uint8_t>(in[2]) != envelope_version || kind < std::uint8_t(envelope_kind::member_blob) ||
        kind > std::uint8_t(envelope_kind::presence_answer)) {
        ec = errc::unexpected_type;
        return v;
    }
    v.after = detail::read_u64(in.data() + 28);
    if (v.after != 0 && kind != std::uint8_t(envelope_kind::ordered)) {
        ec = errc::malformed;
        v.after = 0;
        return v;
    }
    if (in.size() - envelope_overhead > max_blob) {
        ec = errc::message_too_large;
        return v;
    }
    v.kind = envelope_kind(kind);
    std::copy_n(in.begin() + 4, v.relay.size(), v.relay.begin());
    v.counter = detail::read_u64(in.data() + 20);
    std::copy_n(in.begin() + 36, v.origin.size(), v.origin.begin());
    v.blob = in.subspan(envelope_header, in.size() - envelope_overhead);
    v.authenticated = in.first(in.size() - envelope_tag);
    v.tag = in.last(envelope_tag);
    return v;
}

/// Where an ordered envelope says its commit goes (`after`), read without checking the tag; none
/// for anything else (another kind, junk). What a link's order_guard judges a commit by: only an
/// authentic envelope is delivered, so a forged value can only mark its own junk.
inline std::optional<std::uint64_t> ordered_after(std::span<const std::byte> in) noexcept
{
    if (in.size() < envelope_overhead || !std::equal(envelope_magic.begin(), envelope_magic.end(), in.begin()) ||
        std::to_integer<std::uint8_t>(in[2]) != envelope_version ||
        std::to_integer<std::uint8_t>(in[3]) != std::uint8_t(envelope_kind::ordered))
        return std::nullopt;
    return detail::read_u64(in.data() + 28);
}

/// Writes an envelope around `blob` into `out` (replacing its contents), its tag zero: seal it with
/// federation::envelope_auth before publishing. `after` is for the ordered kind only. Errors:
/// malformed (an empty blob, `after` on another kind), message_too_large (over `max_blob`); `out`
/// is then empty.
inline void write_envelope(envelope_kind kind, const relay_id& relay, std::uint64_t counter, std::uint64_t after,
                           const crypto::fingerprint& origin,
                           std::span<const std::byte> blob, std::vector<std::byte>& out, std::error_code& ec,
                           std::size_t max_blob = default_max_blob)
{
    out.clear();
    ec = {};
    if (blob.empty() || (after != 0 && kind != envelope_kind::ordered)) {
        ec = errc::malformed;
        return;
    }
    if (blob.size() > max_blob) {
        ec = errc::message_too_large;
        return;
    }
    out.reserve(envelope_overhead + blob.size());
    out.insert(out.end(), envelope_magic.begin(), envelope_magic.end());
    out.push_back(std::byte{envelope_version});
    out.push_back(std::byte{static_cast<std::uint8_t>(kind)});
    out.insert(out.end(), relay.begin(), relay.end());
    detail::append_u64(out, counter);
    detail::append_u64(out, after);
    out.insert(out.end(), origin.begin(), origin.end());
    out.insert(out.end(), blob.begin(), blob.end());
    out.resize(out.size() + envelope_tag);
}

} // namespace tlvcast::federation
