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
};

inline constexpr std::array<std::byte, 2> envelope_magic{std::byte{'T'}, std::byte{'F'}};
inline constexpr std::uint8_t envelope_version = 1;
/// magic(2) version(1) kind(1) relay(16) origin fingerprint(32).
inline constexpr std::size_t envelope_header = 2 + 1 + 1 + 16 + 32;
/// The largest blob an envelope may carry: a relay reassembles no larger message (core's
/// default_max_message is 48,450 bytes), with room to spare; NATS's own max_payload is 1 MiB.
inline constexpr std::size_t default_max_blob = 64 * 1024;
static_assert(envelope_header + default_max_blob < 1024 * 1024, "an envelope must fit NATS's default max_payload");

/// A parsed envelope: views into the caller's buffer.
struct envelope_view {
    envelope_kind kind = envelope_kind::member_blob;
    relay_id relay{};
    crypto::fingerprint origin{}; ///< the member the blob is from, or the presence is about
    std::span<const std::byte> blob;
};

/// Parses `in`. Errors: truncated_header (shorter than the header), malformed (bad magic or an
/// empty blob), unexpected_type (a version or kind this relay does not know), message_too_large
/// (a blob over `max_blob`). Never throws, never allocates.
inline envelope_view read_envelope(std::span<const std::byte> in, std::error_code& ec,
                                   std::size_t max_blob = default_max_blob) noexcept
{
    envelope_view v;
    ec = {};
    if (in.size() < envelope_header) {
        ec = errc::truncated_header;
        return v;
    }
    if (!std::equal(envelope_magic.begin(), envelope_magic.end(), in.begin()) || in.size() == envelope_header) {
        ec = errc::malformed;
        return v;
    }
    const auto kind = std::to_integer<std::uint8_t>(in[3]);
    if (std::to_integer<std::uint8_t>(in[2]) != envelope_version ||
        (kind != std::uint8_t(envelope_kind::member_blob) && kind != std::uint8_t(envelope_kind::presence))) {
        ec = errc::unexpected_type;
        return v;
    }
    if (in.size() - envelope_header > max_blob) {
        ec = errc::message_too_large;
        return v;
    }
    v.kind = envelope_kind(kind);
    std::copy_n(in.begin() + 4, v.relay.size(), v.relay.begin());
    std::copy_n(in.begin() + 20, v.origin.size(), v.origin.begin());
    v.blob = in.subspan(envelope_header);
    return v;
}

/// Writes an envelope around `blob` into `out` (replacing its contents). Errors: malformed (an
/// empty blob), message_too_large (over `max_blob`); `out` is then empty.
inline void write_envelope(envelope_kind kind, const relay_id& relay, const crypto::fingerprint& origin,
                           std::span<const std::byte> blob, std::vector<std::byte>& out, std::error_code& ec,
                           std::size_t max_blob = default_max_blob)
{
    out.clear();
    ec = {};
    if (blob.empty()) {
        ec = errc::malformed;
        return;
    }
    if (blob.size() > max_blob) {
        ec = errc::message_too_large;
        return;
    }
    out.reserve(envelope_header + blob.size());
    out.insert(out.end(), envelope_magic.begin(), envelope_magic.end());
    out.push_back(std::byte{envelope_version});
    out.push_back(std::byte{static_cast<std::uint8_t>(kind)});
    out.insert(out.end(), relay.begin(), relay.end());
    out.insert(out.end(), origin.begin(), origin.end());
    out.insert(out.end(), blob.begin(), blob.end());
}

} // namespace tlvcast::federation
