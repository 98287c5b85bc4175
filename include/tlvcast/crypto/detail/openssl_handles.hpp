// SPDX-License-Identifier: BSL-1.0
// The one family of owning handles for the OpenSSL 3 objects every OpenSSL backend uses, and two helpers.
#pragma once

#if !defined(TLVCAST_HAS_OPENSSL)
#error "tlvcast/crypto/detail/openssl_handles.hpp needs OpenSSL 3: link the CMake target tlvcast::openssl (it defines TLVCAST_HAS_OPENSSL)"
#endif

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>
#include <string>

namespace tlvcast::crypto::detail {

/// Calls OpenSSL's free function `Free` for `T`. Every *_free used here accepts nullptr; the
/// *_CTX_free and EVP_PKEY_free functions cleanse key material before freeing it.
template <class T, void (*Free)(T*)>
struct openssl_free {
    void operator()(T* p) const noexcept { Free(p); }
};

/// An owning pointer to an OpenSSL object of type T, freed with Free.
template <class T, void (*Free)(T*)>
using openssl_handle = std::unique_ptr<T, openssl_free<T, Free>>;

using openssl_bio_ptr = openssl_handle<BIO, &BIO_free_all>;
using openssl_bn_ptr = openssl_handle<BIGNUM, &BN_free>;
using openssl_cipher_ctx_ptr = openssl_handle<EVP_CIPHER_CTX, &EVP_CIPHER_CTX_free>;
using openssl_kdf_ctx_ptr = openssl_handle<EVP_KDF_CTX, &EVP_KDF_CTX_free>;
using openssl_mac_ctx_ptr = openssl_handle<EVP_MAC_CTX, &EVP_MAC_CTX_free>;
using openssl_md_ctx_ptr = openssl_handle<EVP_MD_CTX, &EVP_MD_CTX_free>;
using openssl_pkey_ptr = openssl_handle<EVP_PKEY, &EVP_PKEY_free>;
using openssl_pkey_ctx_ptr = openssl_handle<EVP_PKEY_CTX, &EVP_PKEY_CTX_free>;

/// Password callback that refuses: without it OpenSSL would prompt on the terminal for an
/// encrypted PEM, which a library (or a relay reading a peer's key) must never do.
inline int openssl_no_password(char*, int, int, void*) noexcept { return -1; }

/// Empties this thread's OpenSSL error queue and returns its first entry as text ("" if none),
/// so that a failure we report does not linger for unrelated code to find.
inline std::string openssl_take_error()
{
    const unsigned long e = ERR_peek_error();
    std::string text;
    if (e != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        text = buf;
    }
    ERR_clear_error();
    return text;
}

} // namespace tlvcast::crypto::detail
