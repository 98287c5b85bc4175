// SPDX-License-Identifier: BSL-1.0
// The AEAD policy of the secure profile: the concept, the TLS 1.3 nonce construction and key-usage limits.
#pragma once

#include <tlvcast/error.hpp>

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>

namespace tlvcast::crypto {

/// Key, nonce and tag sizes shared by every AEAD of the secure profile (AES-256-GCM, ChaCha20-Poly1305).
inline constexpr std::size_t aead_key_size = 32;
inline constexpr std::size_t aead_nonce_size = 12;
inline constexpr std::size_t aead_tag_size = 16;

/// Largest plaintext (and largest AAD) one seal/open accepts; larger inputs fail with
/// errc::message_too_large. Far below AES-GCM's 2^36 - 32 byte limit (NIST SP 800-38D) and below
/// INT_MAX, the length type of OpenSSL's EVP interface, so both backends accept the same inputs.
inline constexpr std::size_t aead_max_plaintext_size = std::size_t{1} << 30;

/// Confidentiality limit: records a sender may seal under one AES-GCM key before it must rekey.
/// RFC 8446 section 5.5 allows 2^24.5 full-size (2^14-byte) records at a 2^-57 AE safety margin;
/// RFC 9001 section 6.6 (QUIC) lowers this to 2^23 for packets of up to 2^16 bytes. Our records
/// (a message before fragmentation) can be larger than a TLS record, so we take the conservative 2^23.
inline constexpr std::uint64_t aes_gcm_max_records_per_key = std::uint64_t{1} << 23;

/// ChaCha20-Poly1305 has no practical confidentiality limit (RFC 8446 5.5: "the record sequence
/// number would wrap before the safety limit is reached"); we still rekey at 2^36 records so that
/// both AEADs rotate keys in a bounded, testable way.
inline constexpr std::uint64_t chacha20_poly1305_max_records_per_key = std::uint64_t{1} << 36;

/// Integrity limit: records that may fail authentication under one key before the receiver must
/// drop the key (errc::key_exhausted). RFC 9147 section 4.5.3 (DTLS 1.3) sets 2^36 for
/// AEAD_AES_128_GCM, AEAD_AES_256_GCM and AEAD_CHACHA20_POLY1305 alike (QUIC, RFC 9001 6.6, allows
/// 2^52 for AES-GCM; we keep the lower DTLS figure for both).
inline constexpr std::uint64_t aes_gcm_max_failed_opens_per_key = std::uint64_t{1} << 36;
inline constexpr std::uint64_t chacha20_poly1305_max_failed_opens_per_key = std::uint64_t{1} << 36;

/// Which AEAD a policy implements, as the secure profile's SECURE_HELLO carries it on the wire (the
/// `aead` byte). Values are stable: a new AEAD gets a new value and its own limits.
enum class aead_id : std::uint8_t {
    aes_256_gcm = 1,
    chacha20_poly1305 = 2,
};

/// The usage limits of one AEAD under one key, as AEAD policies state them (see the figures above).
template <aead_id Id>
struct aead_limits;
template <>
struct aead_limits<aead_id::aes_256_gcm> {
    static constexpr std::uint64_t max_records_per_key = aes_gcm_max_records_per_key;
    static constexpr std::uint64_t max_failed_opens_per_key = aes_gcm_max_failed_opens_per_key;
};
template <>
struct aead_limits<aead_id::chacha20_poly1305> {
    static constexpr std::uint64_t max_records_per_key = chacha20_poly1305_max_records_per_key;
    static constexpr std::uint64_t max_failed_opens_per_key = chacha20_poly1305_max_failed_opens_per_key;
};

/// An AEAD bound to one key, as the record layer uses it (one object per session direction per thread).
/// - key_size / nonce_size / tag_size: 32, 12, 16.
/// - id: the AEAD's aead_id, which is what identifies it (the profile's wire byte and limits come
///   from it, never from `name`, which is only for people: "AES-256-GCM", "ChaCha20-Poly1305").
/// - max_records_per_key, max_failed_opens_per_key: its confidentiality and integrity limits.
/// - construction from a 32-byte key precomputes the key schedule; the object wipes it when destroyed.
/// - seal(nonce, aad, plaintext, out, ec): writes ciphertext || tag (plaintext.size() + tag_size bytes)
///   to out. Errors: buffer_too_small, message_too_large.
/// - open(nonce, aad, ciphertext_and_tag, out, ec): returns the plaintext length. Errors: malformed
///   (shorter than a tag), buffer_too_small, message_too_large, authentication_failed (out is zeroed).
/// Neither throws. `out` may be the input itself (in place) but must not otherwise overlap it.
/// Models are not thread-safe: one object is used by one thread at a time.
template <class A>
concept aead = std::constructible_from<A, std::span<const std::byte, aead_key_size>> &&
    requires(A& a, std::span<const std::byte, aead_nonce_size> nonce, std::span<const std::byte> in,
             std::span<std::byte> out, std::error_code& ec) {
        requires A::key_size == aead_key_size;
        requires A::nonce_size == aead_nonce_size;
        requires A::tag_size == aead_tag_size;
        { A::id } -> std::convertible_to<aead_id>;
        { A::name } -> std::convertible_to<std::string_view>;
        { A::max_records_per_key } -> std::convertible_to<std::uint64_t>;
        { A::max_failed_opens_per_key } -> std::convertible_to<std::uint64_t>;
        { a.seal(nonce, in, in, out, ec) } -> std::same_as<void>;
        { a.open(nonce, in, in, out, ec) } -> std::same_as<std::size_t>;
    };

/// The per-record nonce of TLS 1.3 (RFC 8446 section 5.3): the 64-bit sequence number, big-endian and
/// left-padded with zeros to 12 bytes, XORed with the 12-byte per-key IV from the key schedule.
/// A sender that never repeats a sequence number under one key never repeats a nonce: that is the
/// whole nonce-reuse defence, so sequence numbers must come from a counter that never goes back.
constexpr std::array<std::byte, aead_nonce_size> make_nonce(std::span<const std::byte, aead_nonce_size> iv,
                                                            std::uint64_t sequence) noexcept
{
    std::array<std::byte, aead_nonce_size> nonce{};
    for (std::size_t i = 0; i < aead_nonce_size; ++i)
        nonce[i] = iv[i];
    for (std::size_t i = 0; i < 8; ++i)
        nonce[aead_nonce_size - 1 - i] ^= static_cast<std::byte>(sequence >> (8 * i));
    return nonce;
}

} // namespace tlvcast::crypto
