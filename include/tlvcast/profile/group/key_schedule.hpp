// SPDX-License-Identifier: BSL-1.0
// The group profile's key schedule (docs/PROTOCOL.md, "Group profile"): labels, the per-member
// entry key of a commit, the per-sender hash ratchets.
#pragma once

#include <tlvcast/crypto/aead.hpp>
#include <tlvcast/crypto/secret.hpp>
#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/profile/secure/key_schedule.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace tlvcast::profile::group {

/// ASCII labels without a terminator; each signature and derivation has its own.
namespace labels {
inline constexpr std::string_view key_package = "tlvcast group v1 key package";
inline constexpr std::string_view admission = "tlvcast group v1 admission";
inline constexpr std::string_view commit = "tlvcast group v1 commit";
inline constexpr std::string_view entry = "tlvcast group v1 entry";
inline constexpr std::string_view roster = "tlvcast group v1 roster";
inline constexpr std::string_view sender = "tlvcast group v1 sender";
inline constexpr std::string_view key = "tlvcast group v1 key";
inline constexpr std::string_view chain = "tlvcast group v1 chain";
inline constexpr std::string_view message = "tlvcast group v1 message";
inline constexpr std::string_view batch = "tlvcast group v1 batch";
inline constexpr std::string_view part = "tlvcast group v1 part";
} // namespace labels

inline constexpr std::size_t group_id_size = 16;
inline constexpr std::size_t secret_size = 32;
/// An entry: the epoch secret sealed to one member's init key (32 + the AEAD tag).
inline constexpr std::size_t entry_size = secret_size + crypto::aead_tag_size;
/// A message key and nonce: key(32) || nonce(12).
inline constexpr std::size_t message_key_size = crypto::aead_key_size + crypto::aead_nonce_size;

using group_id = std::array<std::byte, group_id_size>;
using epoch_secret = crypto::secret_bytes<secret_size>;
using chain_key = crypto::secret_bytes<secret_size>;
using message_key = crypto::secret_bytes<message_key_size>;

namespace detail {

// The secure profile's helpers: a label's bytes, and appending bytes to a message being built.
inline std::span<const std::byte> bytes_of(std::string_view s) noexcept { return secure::detail::label_bytes(s); }
using secure::detail::append;

inline void put_be(std::vector<std::byte>& v, std::uint64_t x, int bytes)
{
    for (int i = bytes - 1; i >= 0; --i)
        v.push_back(static_cast<std::byte>(x >> (8 * i)));
}

inline std::uint64_t get_be(std::span<const std::byte> at, int bytes) noexcept
{
    std::uint64_t x = 0;
    for (int i = 0; i < bytes; ++i)
        x = (x << 8) | std::to_integer<std::uint64_t>(at[static_cast<std::size_t>(i)]);
    return x;
}

} // namespace detail

/// The key and nonce that seal member i's entry of a commit:
/// HKDF(salt = context, ikm = X25519 shared secret, info = "tlvcast group v1 entry" || ephemeral ||
/// the member's init key, 44). `context` is group_id || epoch || prev (the commit's first fields),
/// so an entry opens under one commit only.
template <class Suite>
message_key entry_key(std::span<const std::byte> context, std::span<const std::byte, crypto::x25519_key_size> shared,
                      std::span<const std::byte> ephemeral, std::span<const std::byte> init_key)
{
    std::vector<std::byte> info;
    info.reserve(labels::entry.size() + 64);
    detail::append(info, detail::bytes_of(labels::entry));
    detail::append(info, ephemeral);
    detail::append(info, init_key);
    message_key okm;
    crypto::hkdf<Suite>(context, shared, info, okm.span());
    return okm;
}

/// Sender `index`'s chain key at generation 0: HKDF-Expand(epoch secret, "tlvcast group v1 sender"
/// || index(2), 32).
template <class Suite>
chain_key sender_root(const epoch_secret& secret, std::uint16_t index)
{
    std::vector<std::byte> info;
    detail::append(info, detail::bytes_of(labels::sender));
    detail::put_be(info, index, 2);
    chain_key out;
    Suite::hkdf_expand(secret.span(), info, out.span());
    return out;
}

/// One ratchet step: the generation's message key (HKDF-Expand(chain, "tlvcast group v1 key", 44))
/// and the next chain key (HKDF-Expand(chain, "tlvcast group v1 chain", 32)), which replaces it.
template <class Suite>
message_key ratchet_step(chain_key& chain)
{
    message_key mk;
    Suite::hkdf_expand(chain.span(), detail::bytes_of(labels::key), mk.span());
    chain_key next;
    Suite::hkdf_expand(chain.span(), detail::bytes_of(labels::chain), next.span());
    chain = next;
    return mk;
}

} // namespace tlvcast::profile::group
