// Owning smart pointers for the OpenSSL 3 objects the AEAD and suite policies use.
#pragma once

#if !defined(TLVCAST_HAS_OPENSSL)
#error "tlvcast OpenSSL policies need OpenSSL 3: link tlvcast::openssl (it defines TLVCAST_HAS_OPENSSL)"
#endif

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>

namespace tlvcast::crypto::detail {

template <class T, void (*Free)(T*)>
struct ossl_deleter {
    void operator()(T* p) const noexcept { Free(p); }
};

using ossl_cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, ossl_deleter<EVP_CIPHER_CTX, &EVP_CIPHER_CTX_free>>;
using ossl_pkey = std::unique_ptr<EVP_PKEY, ossl_deleter<EVP_PKEY, &EVP_PKEY_free>>;
using ossl_pkey_ctx = std::unique_ptr<EVP_PKEY_CTX, ossl_deleter<EVP_PKEY_CTX, &EVP_PKEY_CTX_free>>;
using ossl_md_ctx = std::unique_ptr<EVP_MD_CTX, ossl_deleter<EVP_MD_CTX, &EVP_MD_CTX_free>>;
using ossl_mac_ctx = std::unique_ptr<EVP_MAC_CTX, ossl_deleter<EVP_MAC_CTX, &EVP_MAC_CTX_free>>;
using ossl_kdf_ctx = std::unique_ptr<EVP_KDF_CTX, ossl_deleter<EVP_KDF_CTX, &EVP_KDF_CTX_free>>;

} // namespace tlvcast::crypto::detail
