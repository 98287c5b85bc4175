// SPDX-License-Identifier: BSL-1.0
// The Suite policy of the secure profile: the primitives a backend provides (X25519, Ed25519, SHA-256,
// HMAC, HKDF, a CSPRNG), and the derivations written once over them.
#pragma once

#include <tlvcast/crypto/hex.hpp>
#include <tlvcast/crypto/secret.hpp>
#include <tlvcast/error.hpp>

#include <array>
#include <concepts>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace tlvcast::crypto {

inline constexpr std::size_t x25519_key_size = 32;      ///< private, public and shared-secret size (RFC 7748)
inline constexpr std::size_t ed25519_seed_size = 32;    ///< the RFC 8032 private key ("seed")
inline constexpr std::size_t ed25519_public_size = 32;
inline constexpr std::size_t ed25519_signature_size = 64;
inline constexpr std::size_t sha256_size = 32;
/// Longest HKDF-Expand output (RFC 5869 section 2.3: L <= 255 * HashLen).
inline constexpr std::size_t hkdf_sha256_max_output = 255 * sha256_size;

using sha256_digest = std::array<std::byte, sha256_size>;

/// An X25519 key pair (RFC 7748). The private key is stored as generated (X25519 clamps it when used).
struct x25519_keypair {
    secret_bytes<x25519_key_size> private_key;
    std::array<std::byte, x25519_key_size> public_key{};
};

/// An Ed25519 identity (RFC 8032): the 32-byte private seed and the public key derived from it.
struct ed25519_keypair {
    secret_bytes<ed25519_seed_size> private_key;
    std::array<std::byte, ed25519_public_size> public_key{};
};

/// The primitives of the secure profile, as static functions of one backend. Every backend gives
/// the same bytes for the same inputs (only random_bytes draws randomness), all members are
/// thread-safe, and everything built from them (key generation, fingerprints, HKDF, identity
/// files) is written once below and in identity.hpp, not per backend.
/// - x25519(priv, peer_pub, shared, ec): the shared secret; false with errc::handshake_failed (and
///   `shared` zeroed) for a low-order peer key, i.e. an all-zero shared secret (RFC 7748 section 6.1).
/// - ed25519_public_key(seed): the public key of the RFC 8032 private key `seed` (section 5.1.5).
/// - sign(seed, msg, sig): the 64-byte signature. verify(pub, msg, sig) -> bool: false for any
///   malformed key or signature, and for small-order or non-canonical A or R and S >= L (the shared
///   detail::ed25519_signature_acceptable check, so that all backends accept the same set); never throws.
/// - sha256(data), hmac_sha256(key, data) (RFC 2104, any key length).
/// - hkdf_extract(salt, ikm) -> the PRK in wiped memory; hkdf_expand(prk, info, okm) (RFC 5869;
///   okm.size() <= 8160, else std::invalid_argument). Backends wipe their intermediate buffers.
/// - random_bytes(out): the library's CSPRNG.
/// Exceptions: only for set-up failures (a library that cannot allocate or seed its RNG) and misuse.
template <class S>
concept suite = requires(std::span<const std::byte, 32> key32, std::span<std::byte, 32> out32,
                         std::span<const std::byte> data, std::span<std::byte> out,
                         std::span<const std::byte, ed25519_signature_size> sig,
                         std::span<std::byte, ed25519_signature_size> sig_out, std::error_code& ec) {
    { S::name } -> std::convertible_to<std::string_view>;
    { S::x25519(key32, key32, out32, ec) } -> std::same_as<bool>;
    { S::ed25519_public_key(key32) } -> std::same_as<std::array<std::byte, ed25519_public_size>>;
    { S::sign(key32, data, sig_out) } -> std::same_as<void>;
    { S::verify(key32, data, sig) } -> std::same_as<bool>;
    { S::sha256(data) } -> std::same_as<sha256_digest>;
    { S::hmac_sha256(data, data) } -> std::same_as<sha256_digest>;
    { S::hkdf_extract(data, data) } -> std::same_as<secret_bytes<sha256_size>>;
    { S::hkdf_expand(key32, data, out) } -> std::same_as<void>;
    { S::random_bytes(out) } -> std::same_as<void>;
};

/// The X25519 key pair of the given private bytes: X25519(priv, 9) (RFC 7748 section 6.1). Any 32
/// bytes are a private key (X25519 clamps them); every backend gives the same public key.
template <suite Suite>
x25519_keypair x25519_from_private(std::span<const std::byte, x25519_key_size> priv)
{
    static constexpr std::array<std::byte, x25519_key_size> base_point{std::byte{9}};
    x25519_keypair kp;
    kp.private_key = secret_bytes<x25519_key_size>(priv);
    std::error_code ec;
    (void)Suite::x25519(kp.private_key.span(), base_point, kp.public_key, ec); // 9 is not of low order
    return kp;
}

/// A fresh X25519 key pair whose private key is drawn from `rng` (a crypto::random_source).
template <suite Suite, class Random>
x25519_keypair generate_x25519(Random& rng)
{
    secret_bytes<x25519_key_size> priv;
    rng.fill(priv.span());
    return x25519_from_private<Suite>(priv.span());
}

/// A fresh X25519 key pair: a private key from Suite's CSPRNG and X25519(priv, 9). Throws what
/// Suite::random_bytes throws.
template <suite Suite>
x25519_keypair generate_x25519()
{
    secret_bytes<x25519_key_size> priv;
    Suite::random_bytes(priv.span());
    return x25519_from_private<Suite>(priv.span());
}

/// SHA-256 of an Ed25519 public key: the identity's fingerprint (show it with to_hex()).
template <suite Suite>
sha256_digest fingerprint_of(std::span<const std::byte, ed25519_public_size> public_key)
{
    return Suite::sha256(public_key);
}

/// HKDF-SHA256(salt, ikm, info) into `okm` (RFC 5869): extract, then expand; the PRK lives in
/// wiped memory and is wiped before returning. Throws std::invalid_argument when okm.size() > 8160.
template <suite Suite>
void hkdf(std::span<const std::byte> salt, std::span<const std::byte> ikm, std::span<const std::byte> info,
          std::span<std::byte> okm)
{
    const secret_bytes<sha256_size> prk = Suite::hkdf_extract(salt, ikm);
    Suite::hkdf_expand(prk.span(), info, okm);
}

namespace detail {

/// Finishes an X25519 agreement whose library call reported `ok`: true (ec cleared) unless the call
/// failed or the shared secret is all zero (a low-order peer key, RFC 7748 section 6.1); then
/// `shared` is zeroed, ec is errc::handshake_failed and the result false. Never throws.
inline bool suite_x25519_result(bool ok, std::span<std::byte, x25519_key_size> shared, std::error_code& ec) noexcept
{
    // The all-zero check is what RFC 7748 section 6.1 asks for; it covers any point a library's own list misses.
    if (!ok || all_zero(shared.data(), shared.size())) {
        secure_wipe(shared.data(), shared.size());
        ec = errc::handshake_failed;
        return false;
    }
    ec.clear();
    return true;
}

/// Throws std::invalid_argument for an HKDF-Expand output longer than 255 * 32 bytes (RFC 5869).
inline void suite_check_hkdf_output(std::size_t size)
{
    if (size > hkdf_sha256_max_output)
        throw std::invalid_argument("tlvcast: HKDF-Expand output longer than 255 * 32 bytes");
}

} // namespace detail

} // namespace tlvcast::crypto
