// SPDX-License-Identifier: BSL-1.0
// Argument checks shared by every RSA backend, so that all of them fail the same inputs the same way.
#pragma once

#include <tlvcast/crypto/rsa_backend.hpp>
#include <tlvcast/error.hpp>

#include <cstddef>
#include <string>
#include <system_error>

namespace tlvcast::crypto::detail {

/// Clears ec and returns true for a key that is not empty; else sets errc::bad_key and returns false.
inline bool rsa_check_key(bool has_key, std::error_code& ec) noexcept
{
    ec.clear();
    if (!has_key)
        ec = errc::bad_key;
    return has_key;
}

/// Throws std::system_error (errc::bad_key) unless generate() accepts a modulus of `bits` bits.
inline void rsa_check_generate_bits(unsigned bits)
{
    if (bits < rsa_min_modulus_bits || bits > rsa_max_modulus_bits)
        throw std::system_error(make_error_code(errc::bad_key),
                                "tlvcast: RSA key size " + std::to_string(bits) + " outside [2048, 4096] bits");
}

/// Throws std::system_error (errc::bad_key) when the key to save is empty.
inline void rsa_check_save_key(bool has_key)
{
    if (!has_key)
        throw std::system_error(make_error_code(errc::bad_key), "tlvcast: cannot save an empty private key");
}

/// Clears ec and returns true when an RSAES-OAEP-SHA-256 encryption of `plain` bytes under a key of
/// `modulus_bytes` bytes into `out` bytes may proceed; else sets ec (bad_key for an empty key,
/// message_too_large, buffer_too_small) and returns false.
inline bool rsa_check_encrypt(bool has_key, std::size_t modulus_bytes, std::size_t plain, std::size_t out,
                              std::error_code& ec) noexcept
{
    if (!rsa_check_key(has_key, ec))
        return false;
    if (plain > oaep_sha256_max_plaintext(modulus_bytes)) {
        ec = errc::message_too_large;
        return false;
    }
    if (out < modulus_bytes) {
        ec = errc::buffer_too_small;
        return false;
    }
    return true;
}

/// Clears ec and returns true when a decryption of `cipher` bytes under a key of `modulus_bytes`
/// bytes into `out` bytes may proceed; else sets ec (bad_key for an empty key, decrypt_failed for a
/// size other than the modulus, buffer_too_small under the largest plaintext) and returns false.
inline bool rsa_check_decrypt(bool has_key, std::size_t modulus_bytes, std::size_t cipher, std::size_t out,
                              std::error_code& ec) noexcept
{
    if (!rsa_check_key(has_key, ec))
        return false;
    if (cipher != modulus_bytes) {
        ec = errc::decrypt_failed;
        return false;
    }
    if (out < oaep_sha256_max_plaintext(modulus_bytes)) {
        ec = errc::buffer_too_small;
        return false;
    }
    return true;
}

} // namespace tlvcast::crypto::detail
