// SPDX-License-Identifier: BSL-1.0
// Byte pointers for C crypto APIs: the one "pointer for an empty span" helper and the unsigned char casts.
#pragma once

#include <cstddef>
#include <span>

namespace tlvcast::crypto::detail {

/// The bytes of `s` as `const unsigned char*`, never null: an empty span may hold nullptr, and the
/// libraries (Crypto++'s memcpy, OpenSSL's EVP and OSSL_PARAM calls) must get a valid pointer even
/// with length 0. Both backends use this one helper so that they treat empty inputs alike.
inline const unsigned char* nonnull_bytes(std::span<const std::byte> s) noexcept
{
    static constexpr unsigned char empty = 0;
    return s.empty() ? &empty : reinterpret_cast<const unsigned char*>(s.data());
}

/// `p` as the unsigned char pointer that C crypto APIs take (Crypto++'s `byte` is unsigned char).
inline const unsigned char* u8(const std::byte* p) noexcept { return reinterpret_cast<const unsigned char*>(p); }
inline unsigned char* u8(std::byte* p) noexcept { return reinterpret_cast<unsigned char*>(p); }

} // namespace tlvcast::crypto::detail
