// SPDX-License-Identifier: BSL-1.0
// The OpenSSL RSA backend's helpers: which keys it accepts, OAEP contexts, PEM armor.
#pragma once

#if !defined(TLVCAST_HAS_OPENSSL)
#error "tlvcast/crypto/detail/openssl_rsa_ops.hpp needs OpenSSL 3: link the CMake target tlvcast::openssl (it defines TLVCAST_HAS_OPENSSL)"
#endif

#include <tlvcast/crypto/detail/openssl_handles.hpp>
#include <tlvcast/crypto/rsa_backend.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace tlvcast::crypto::detail {

/// The checks every backend applies to an RSA public key it accepts: an "RSA" (rsaEncryption) key,
/// modulus of 2048..4096 bits, odd; public exponent odd, > 1 and < n. Never throws.
inline bool rsa_openssl_acceptable(const EVP_PKEY* pkey) noexcept
{
    if (EVP_PKEY_is_a(pkey, "RSA") != 1)
        return false;
    const int bits = EVP_PKEY_get_bits(pkey);
    if (bits < static_cast<int>(rsa_min_modulus_bits) || bits > static_cast<int>(rsa_max_modulus_bits))
        return false;
    BIGNUM* n_raw = nullptr;
    BIGNUM* e_raw = nullptr;
    const bool got = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n_raw) == 1 &&
                     EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e_raw) == 1;
    const openssl_bn_ptr n{n_raw};
    const openssl_bn_ptr e{e_raw};
    return got && BN_is_odd(n.get()) && BN_is_odd(e.get()) && !BN_is_one(e.get()) && BN_cmp(e.get(), n.get()) < 0;
}

/// A context for one OAEP-SHA-256 operation on `pkey`: a fresh context per call keeps concurrent
/// calls on a shared key independent (OpenSSL locks what the key itself caches, e.g. blinding).
/// The padding (RSA_PKCS1_OAEP_PADDING), OAEP digest and MGF1 digest (SHA-256) go in with the init
/// call as parameters: the same settings as EVP_PKEY_CTX_set_rsa_padding / _set_rsa_oaep_md /
/// _set_rsa_mgf1_md, at a fifth of their cost (each setter looks its parameter up again).
inline openssl_pkey_ctx_ptr rsa_openssl_oaep_ctx(EVP_PKEY* pkey, bool encrypt) noexcept
{
    openssl_pkey_ctx_ptr ctx{EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr)};
    if (!ctx)
        return nullptr;
    // OSSL_PARAM wants mutable pointers; OpenSSL only reads these strings.
    static char oaep[] = OSSL_PKEY_RSA_PAD_MODE_OAEP;
    static char sha256[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, oaep, 0),
        OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, sha256, 0),
        OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, sha256, 0),
        OSSL_PARAM_construct_end(),
    };
    const int init = encrypt ? EVP_PKEY_encrypt_init_ex(ctx.get(), params) : EVP_PKEY_decrypt_init_ex(ctx.get(), params);
    if (init != 1)
        return nullptr;
    return ctx;
}

/// Armors DER as PEM with 64-column lines, each ending in "\n" (PEM_write_bio_PUBKEY's layout,
/// without a second trip through OpenSSL 3.0's encoders, which cost more than the RSA operation).
inline std::string rsa_openssl_pem(std::string_view label, std::string_view der)
{
    std::string out = "-----BEGIN " + std::string{label} + "-----\n";
    std::array<unsigned char, 65> line{}; // 48 bytes -> 64 characters + NUL
    for (std::size_t at = 0; at < der.size(); at += 48) {
        const std::size_t n = std::min<std::size_t>(48, der.size() - at);
        const int len = EVP_EncodeBlock(line.data(), reinterpret_cast<const unsigned char*>(der.data() + at),
                                        static_cast<int>(n));
        out.append(reinterpret_cast<const char*>(line.data()), static_cast<std::size_t>(len)).push_back('\n');
    }
    out.append("-----END ").append(label).append("-----\n");
    return out;
}

} // namespace tlvcast::crypto::detail
