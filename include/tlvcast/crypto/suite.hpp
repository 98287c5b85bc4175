// The Suite policy of the secure profile: X25519, Ed25519 identities, SHA-256, HMAC, HKDF and a CSPRNG.
#pragma once

#include <tlvcast/error.hpp>

#include <cryptopp/misc.h>

#include <array>
#include <concepts>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
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

/// N bytes of key material, wiped (with Crypto++'s SecureWipeBuffer, which the compiler may not elide)
/// when destroyed or overwritten. Copies are independent and each wipes itself. Not thread-safe.
template <std::size_t N>
class secret_bytes {
public:
    secret_bytes() noexcept = default;
    explicit secret_bytes(std::span<const std::byte, N> bytes) noexcept { assign(bytes); }
    secret_bytes(const secret_bytes& other) noexcept { assign(other.span()); }
    secret_bytes& operator=(const secret_bytes& other) noexcept
    {
        assign(other.span());
        return *this;
    }
    ~secret_bytes() { wipe(); }

    std::span<const std::byte, N> span() const noexcept { return bytes_; }
    std::span<std::byte, N> span() noexcept { return bytes_; }
    static constexpr std::size_t size() noexcept { return N; }

    /// Sets every byte to zero in a way the optimiser keeps.
    void wipe() noexcept { CryptoPP::SecureWipeBuffer(reinterpret_cast<CryptoPP::byte*>(bytes_.data()), N); }

private:
    void assign(std::span<const std::byte, N> bytes) noexcept
    {
        for (std::size_t i = 0; i < N; ++i)
            bytes_[i] = bytes[i];
    }

    std::array<std::byte, N> bytes_{};
};

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

/// The asymmetric and hashing half of the secure profile. Every backend produces the same bytes for the
/// same inputs (the algorithms are deterministic; only generate_* and random_bytes draw randomness).
/// All members are static, use per-call library contexts and are thread-safe.
/// - generate_x25519(): a fresh key pair from the CSPRNG.
/// - x25519(priv, peer_pub, shared, ec): the shared secret; false with errc::handshake_failed (and
///   `shared` zeroed) for a low-order peer key, i.e. an all-zero shared secret (RFC 7748 section 6.1).
/// - generate_ed25519() / ed25519_from_seed(seed): an identity; sign(seed, msg, sig) writes the 64-byte
///   signature; verify(pub, msg, sig) -> bool (false for any malformed key or signature, never throws).
/// - save_ed25519(path, id) / load_ed25519(path): the identity file, see "Identity files" below.
/// - fingerprint(pub): SHA-256 of the 32-byte public key (show it with to_hex()).
/// - sha256(data), hmac_sha256(key, data), hkdf_extract(salt, ikm) -> PRK, hkdf_expand(prk, info, okm)
///   (RFC 5869; okm.size() <= 8160 else std::invalid_argument), random_bytes(out).
/// Exceptions: only for set-up failures (key files, a library that cannot allocate or seed its RNG).
///
/// Identity files: PEM "PRIVATE KEY", i.e. the 48-byte unencrypted PKCS#8 v1 structure of RFC 8410
/// section 7 holding the seed, base64 on one 64-character line: the format `openssl genpkey -algorithm
/// ed25519` writes and `openssl pkey` reads. save_ed25519 creates the file exclusively (it fails with
/// std::system_error if the path exists, never overwriting a key) with mode 0600. load_ed25519 accepts
/// only that structure (std::runtime_error otherwise; std::system_error when unreadable) and does not
/// check the file's permissions: a key readable by group or others still loads, silently. Keeping the
/// file private is the operator's job (the library logs nothing).
template <class S>
concept suite = requires(std::span<const std::byte, 32> key32, std::span<std::byte, 32> out32,
                         std::span<const std::byte> data, std::span<std::byte> out,
                         std::span<const std::byte, ed25519_signature_size> sig,
                         std::span<std::byte, ed25519_signature_size> sig_out, const ed25519_keypair& id,
                         const std::filesystem::path& path, std::error_code& ec) {
    { S::name } -> std::convertible_to<std::string_view>;
    { S::generate_x25519() } -> std::same_as<x25519_keypair>;
    { S::x25519(key32, key32, out32, ec) } -> std::same_as<bool>;
    { S::generate_ed25519() } -> std::same_as<ed25519_keypair>;
    { S::ed25519_from_seed(key32) } -> std::same_as<ed25519_keypair>;
    { S::sign(key32, data, sig_out) } -> std::same_as<void>;
    { S::verify(key32, data, sig) } -> std::same_as<bool>;
    { S::save_ed25519(path, id) } -> std::same_as<void>;
    { S::load_ed25519(path) } -> std::same_as<ed25519_keypair>;
    { S::fingerprint(key32) } -> std::same_as<sha256_digest>;
    { S::sha256(data) } -> std::same_as<sha256_digest>;
    { S::hmac_sha256(data, data) } -> std::same_as<sha256_digest>;
    { S::hkdf_extract(data, data) } -> std::same_as<sha256_digest>;
    { S::hkdf_expand(key32, data, out) } -> std::same_as<void>;
    { S::random_bytes(out) } -> std::same_as<void>;
};

/// Lowercase hexadecimal of `bytes` (two characters per byte), e.g. for fingerprints in logs and UIs.
inline std::string to_hex(std::span<const std::byte> bytes)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string s(bytes.size() * 2, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const auto b = std::to_integer<unsigned>(bytes[i]);
        s[2 * i] = digits[b >> 4];
        s[2 * i + 1] = digits[b & 0xfu];
    }
    return s;
}

} // namespace tlvcast::crypto
