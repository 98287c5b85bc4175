// SPDX-License-Identifier: BSL-1.0
// The RSA backend concept: RSA-2048..4096 keys, PEM I/O and RSAES-OAEP (SHA-256) over one crypto library.
#pragma once

#include <tlvcast/crypto/key_file.hpp>
#include <tlvcast/error.hpp>

#include <array>
#include <concepts>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace tlvcast::crypto {

/// Smallest RSA modulus a backend accepts (import, load, generate).
inline constexpr unsigned rsa_min_modulus_bits = 2048;
/// Largest RSA modulus a backend accepts; bounds every stack buffer sized by a modulus.
inline constexpr unsigned rsa_max_modulus_bits = 4096;
inline constexpr std::size_t rsa_max_modulus_bytes = rsa_max_modulus_bits / 8;
/// The modulus size of the seed profile's keys, the default of generate().
inline constexpr unsigned rsa_default_modulus_bits = 2048;
/// RSAES-OAEP with SHA-256 costs 2 * 32 + 2 bytes of each block.
inline constexpr std::size_t oaep_sha256_overhead = 2 * 32 + 2;

/// The largest plaintext one RSAES-OAEP-SHA-256 block carries for a modulus of `modulus_bytes`
/// bytes (190 for RSA-2048); 0 for a modulus too small to carry anything.
constexpr std::size_t oaep_sha256_max_plaintext(std::size_t modulus_bytes) noexcept
{
    return modulus_bytes > oaep_sha256_overhead ? modulus_bytes - oaep_sha256_overhead : 0;
}

/// An RSA backend gives the seed profile its keys and its RSAES-OAEP cipher (SHA-256, MGF1-SHA-256,
/// empty label), all as static functions over two key types:
/// - private_key: movable (both backends make it cheaply copyable: shared, immutable key material
///   kept in wiped memory); concurrent decrypt() calls with one key are safe.
/// - public_key: copyable and cheap to copy (shared, immutable); concurrent encrypt() calls are safe.
/// Set-up functions throw std::system_error: generate(bits), load_private_pem(path, options, status)
/// (PKCS#8, also PKCS#1 "RSA PRIVATE KEY"; read by read_private_key_file: no links or FIFOs, too-open
/// files reported or refused), save_private_pem(key, path) (PKCS#8 through create_private_key_file:
/// mode 0600, never over an existing file).
/// Functions on untrusted input never throw and report through `ec`:
/// - import_public_pem(): SubjectPublicKeyInfo PEM; errc::bad_key for garbage, non-RSA keys and
///   moduli outside [2048, 4096] bits.
/// - encrypt(): errc::message_too_large over modulus_bytes - 66, errc::buffer_too_small when `out`
///   holds fewer than modulus_bytes bytes; writes exactly modulus_bytes bytes.
/// - decrypt(): errc::decrypt_failed unless the ciphertext is exactly modulus_bytes bytes and
///   decrypts (wrong key, corrupted); errc::buffer_too_small when `out` holds fewer than
///   modulus_bytes - 66 bytes; returns the plaintext length.
/// export_public_pem() writes SPKI PEM exactly as Python's `cryptography` does (64-column base64,
/// trailing newline); fingerprint() is SHA-256 over the DER SubjectPublicKeyInfo.
template <class B>
concept rsa_backend = requires(const typename B::private_key& priv, const typename B::public_key& pub,
                               unsigned bits, const std::filesystem::path& path, const key_file_options& options,
                               key_file_status* status,
                               std::span<const std::byte> in, std::span<std::byte> out, std::error_code& ec) {
    typename B::private_key;
    typename B::public_key;
    requires std::movable<typename B::private_key>;
    requires std::copyable<typename B::public_key>;
    { B::name } -> std::convertible_to<std::string_view>;
    { B::generate(bits) } -> std::same_as<typename B::private_key>;
    { B::load_private_pem(path, options, status) } -> std::same_as<typename B::private_key>;
    { B::save_private_pem(priv, path) } -> std::same_as<void>;
    { B::public_of(priv) } -> std::same_as<typename B::public_key>;
    { B::import_public_pem(in, ec) } -> std::same_as<typename B::public_key>;
    { B::export_public_pem(pub) } -> std::same_as<std::string>;
    { B::modulus_bytes(pub) } -> std::same_as<std::size_t>;
    { B::modulus_bytes(priv) } -> std::same_as<std::size_t>;
    { B::encrypt(pub, in, out, ec) } -> std::same_as<void>;
    { B::decrypt(priv, in, out, ec) } -> std::same_as<std::size_t>;
    { B::fingerprint(pub) } -> std::same_as<std::array<std::byte, 32>>;
};

} // namespace tlvcast::crypto
