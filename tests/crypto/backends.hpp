// SPDX-License-Identifier: BSL-1.0
// The crypto backends this build has, as type lists for TEMPLATE_TEST_CASE: tests that hold for every backend
// run on each one compiled in; tests about one backend (or across two) compile only when it is there.
#pragma once

#include <tlvcast/crypto/default_backend.hpp>

#if defined(TLVCAST_HAS_CRYPTOPP) && defined(TLVCAST_HAS_OPENSSL)
#define TLVCAST_TEST_SUITES tlvcast::crypto::cryptopp_suite, tlvcast::crypto::openssl_suite
#define TLVCAST_TEST_AEADS                                                                                    \
    tlvcast::crypto::cryptopp_aes256_gcm, tlvcast::crypto::cryptopp_chacha20_poly1305,                        \
        tlvcast::crypto::openssl_aes256_gcm, tlvcast::crypto::openssl_chacha20_poly1305
#define TLVCAST_TEST_RSA_BACKENDS tlvcast::crypto::cryptopp_rsa, tlvcast::crypto::openssl_rsa
/// Both backends are compiled in: cross-backend tests run.
#define TLVCAST_TEST_CROSS_BACKEND 1
#elif defined(TLVCAST_HAS_CRYPTOPP)
#define TLVCAST_TEST_SUITES tlvcast::crypto::cryptopp_suite
#define TLVCAST_TEST_AEADS tlvcast::crypto::cryptopp_aes256_gcm, tlvcast::crypto::cryptopp_chacha20_poly1305
#define TLVCAST_TEST_RSA_BACKENDS tlvcast::crypto::cryptopp_rsa
#else
#define TLVCAST_TEST_SUITES tlvcast::crypto::openssl_suite
#define TLVCAST_TEST_AEADS tlvcast::crypto::openssl_aes256_gcm, tlvcast::crypto::openssl_chacha20_poly1305
#define TLVCAST_TEST_RSA_BACKENDS tlvcast::crypto::openssl_rsa
#endif
