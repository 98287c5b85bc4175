// SPDX-License-Identifier: BSL-1.0
// What every RSA backend computes once per public key (encodings, fingerprint, size) and its accessors.
#pragma once

#include <array>
#include <cstddef>
#include <string>

namespace tlvcast::crypto::detail {

/// The backend-neutral part of a public key's shared, immutable state. Backends derive their key
/// state from it and add their library's key object.
struct rsa_public_info {
    std::string der; // SubjectPublicKeyInfo
    std::string pem;
    std::array<std::byte, 32> fingerprint{};
    std::size_t modulus_bytes = 0;
};

// The accessors below take nullptr for an empty key. None throws but rsa_export_pem (std::bad_alloc).

/// True when both keys are empty or their SubjectPublicKeyInfo DER is equal.
inline bool rsa_same_key(const rsa_public_info* a, const rsa_public_info* b) noexcept
{
    if (!a || !b)
        return a == b;
    return a->der == b->der;
}

/// SubjectPublicKeyInfo PEM; "" for an empty key.
inline std::string rsa_export_pem(const rsa_public_info* info)
{
    return info ? info->pem : std::string{};
}

/// The modulus size in bytes; 0 for an empty key.
inline std::size_t rsa_modulus_bytes(const rsa_public_info* info) noexcept
{
    return info ? info->modulus_bytes : 0;
}

/// SHA-256 of the DER SubjectPublicKeyInfo; all zero for an empty key.
inline std::array<std::byte, 32> rsa_fingerprint(const rsa_public_info* info) noexcept
{
    return info ? info->fingerprint : std::array<std::byte, 32>{};
}

} // namespace tlvcast::crypto::detail
