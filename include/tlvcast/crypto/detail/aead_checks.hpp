// SPDX-License-Identifier: BSL-1.0
// Argument checks shared by every AEAD backend, so that all of them fail the same inputs the same way.
#pragma once

#include <tlvcast/crypto/aead.hpp>
#include <tlvcast/error.hpp>

#include <cstddef>
#include <system_error>

namespace tlvcast::crypto::detail {

/// True when a seal of `plaintext` bytes with `aad` bytes into `out` bytes by an object that holds a
/// key (`keyed`: false once moved from) may proceed; else sets ec.
constexpr bool aead_check_seal(bool keyed, std::size_t aad, std::size_t plaintext, std::size_t out,
                               std::error_code& ec) noexcept
{
    if (!keyed) {
        ec = errc::bad_key;
        return false;
    }
    if (plaintext > aead_max_plaintext_size || aad > aead_max_plaintext_size) {
        ec = errc::message_too_large;
        return false;
    }
    if (out < plaintext + aead_tag_size) {
        ec = errc::buffer_too_small;
        return false;
    }
    return true;
}

/// True when an open of `sealed` bytes (ciphertext || tag) with `aad` bytes into `out` bytes by an
/// object that holds a key (`keyed`: false once moved from) may proceed; else sets ec. The order of
/// the checks is part of the contract (tests rely on it).
constexpr bool aead_check_open(bool keyed, std::size_t aad, std::size_t sealed, std::size_t out,
                               std::error_code& ec) noexcept
{
    if (!keyed) {
        ec = errc::bad_key;
        return false;
    }
    if (sealed < aead_tag_size) {
        ec = errc::malformed;
        return false;
    }
    if (sealed - aead_tag_size > aead_max_plaintext_size || aad > aead_max_plaintext_size) {
        ec = errc::message_too_large;
        return false;
    }
    if (out < sealed - aead_tag_size) {
        ec = errc::buffer_too_small;
        return false;
    }
    return true;
}

} // namespace tlvcast::crypto::detail
