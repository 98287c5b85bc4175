// SPDX-License-Identifier: BSL-1.0
// The secure profile's key schedule (docs/PROTOCOL.md "Handshake"): labels, transcript hash, key block.
#pragma once

#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/profile/secure/record.hpp>

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace tlvcast::profile::secure {

namespace detail {

// PROTOCOL.md "Handshake": ASCII labels without a terminator.
inline constexpr std::string_view label_th = "tlvcast secure v1";
inline constexpr std::string_view label_relay = "tlvcast secure v1 relay";
inline constexpr std::string_view label_client = "tlvcast secure v1 client";
inline constexpr std::string_view label_keys = "tlvcast secure v1 keys";

inline std::span<const std::byte> label_bytes(std::string_view s) noexcept { return std::as_bytes(std::span(s)); }

inline void append(std::vector<std::byte>& v, std::span<const std::byte> bytes)
{
    v.insert(v.end(), bytes.begin(), bytes.end());
}

/// label || a || b || c: what a side signs.
inline std::vector<std::byte> signed_message(std::string_view label, std::span<const std::byte> a,
                                             std::span<const std::byte> b = {}, std::span<const std::byte> c = {})
{
    std::vector<std::byte> m;
    m.reserve(label.size() + a.size() + b.size() + c.size());
    append(m, label_bytes(label));
    append(m, a);
    append(m, b);
    append(m, c);
    return m;
}

/// What the client signs: "tlvcast secure v1 client" || th || sig_r || id_c. Its own identity key
/// is in the signed transcript (SIGMA binds the signer's identity), so no one can pair the
/// signature with another id_c.
inline std::vector<std::byte> client_signed_message(std::span<const std::byte> th, std::span<const std::byte> sig_r,
                                                    std::span<const std::byte> id_c)
{
    return signed_message(label_client, th, sig_r, id_c);
}

} // namespace detail

/// th = SHA-256("tlvcast secure v1" || hello || session_id || e_r || id_r).
template <class Suite>
crypto::sha256_digest transcript_hash(std::span<const std::byte> hello, std::span<const std::byte> sid,
                                      std::span<const std::byte> relay_ephemeral,
                                      std::span<const std::byte> relay_identity)
{
    std::vector<std::byte> t;
    t.reserve(detail::label_th.size() + hello.size() + sid.size() + 64);
    detail::append(t, detail::label_bytes(detail::label_th));
    detail::append(t, hello);
    detail::append(t, sid);
    detail::append(t, relay_ephemeral);
    detail::append(t, relay_identity);
    return Suite::sha256(t);
}

/// k_c2r || k_r2c || iv_c2r || iv_r2c = HKDF-Expand(HKDF-Extract(th, shared), "tlvcast secure v1 keys", 88).
template <class Suite>
crypto::secret_bytes<key_block_size> key_block(std::span<const std::byte, crypto::sha256_size> th,
                                               std::span<const std::byte, crypto::x25519_key_size> shared)
{
    crypto::secret_bytes<key_block_size> okm;
    crypto::hkdf<Suite>(th, shared, detail::label_bytes(detail::label_keys), okm.span()); // the PRK is wiped inside
    return okm;
}

} // namespace tlvcast::profile::secure
