// RAII handles and small helpers for the OpenSSL 3 objects the crypto backends use.
#pragma once

#if !defined(TLVCAST_HAS_OPENSSL)
#error "tlvcast/crypto/detail/openssl_handles.hpp needs OpenSSL 3: link the CMake target tlvcast::openssl (it defines TLVCAST_HAS_OPENSSL)"
#endif

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

namespace tlvcast::crypto::detail {

struct openssl_pkey_free {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct openssl_pkey_ctx_free {
    void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct openssl_bio_free {
    void operator()(BIO* p) const noexcept { BIO_free_all(p); }
};
struct openssl_bn_free {
    void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};

using openssl_pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_pkey_free>;
using openssl_pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, openssl_pkey_ctx_free>;
using openssl_bio_ptr = std::unique_ptr<BIO, openssl_bio_free>;
using openssl_bn_ptr = std::unique_ptr<BIGNUM, openssl_bn_free>;

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
