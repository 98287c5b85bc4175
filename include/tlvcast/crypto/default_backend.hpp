// SPDX-License-Identifier: BSL-1.0
// Every crypto backend the build has, and the default one: its suite, AEADs and RSA backend (Crypto++ first).
#pragma once

#if defined(TLVCAST_HAS_CRYPTOPP)
#include <tlvcast/crypto/cryptopp_aead.hpp>
#include <tlvcast/crypto/cryptopp_rsa.hpp>
#include <tlvcast/crypto/cryptopp_suite.hpp>
#endif
#if defined(TLVCAST_HAS_OPENSSL)
#include <tlvcast/crypto/openssl_aead.hpp>
#include <tlvcast/crypto/openssl_rsa.hpp>
#include <tlvcast/crypto/openssl_suite.hpp>
#endif
#if !defined(TLVCAST_HAS_CRYPTOPP) && !defined(TLVCAST_HAS_OPENSSL)
#error "tlvcast has no crypto backend: configure with TLVCAST_WITH_CRYPTOPP=ON (link tlvcast::tlvcast) or TLVCAST_WITH_OPENSSL=ON (link tlvcast::openssl)"
#endif

#include <string_view>

namespace tlvcast::crypto {

// Crypto++ is preferred when present so that a build with both keeps the behaviour (and the
// performance figures) it had before OpenSSL became a backend; both give the same bytes on the wire.
#if defined(TLVCAST_HAS_CRYPTOPP)
using default_suite = cryptopp_suite;
using default_aes256_gcm = cryptopp_aes256_gcm;
using default_chacha20_poly1305 = cryptopp_chacha20_poly1305;
using default_rsa = cryptopp_rsa;
#else
using default_suite = openssl_suite;
using default_aes256_gcm = openssl_aes256_gcm;
using default_chacha20_poly1305 = openssl_chacha20_poly1305;
using default_rsa = openssl_rsa;
#endif

/// The name of the library behind the default aliases: "cryptopp" or "openssl".
inline constexpr std::string_view default_backend_name =
#if defined(TLVCAST_HAS_CRYPTOPP)
    "cryptopp";
#else
    "openssl";
#endif

} // namespace tlvcast::crypto
