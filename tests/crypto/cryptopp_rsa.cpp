// SPDX-License-Identifier: BSL-1.0
// Tests of the Crypto++ RSA backend's own parts: keys made with Crypto++ itself (other sizes and
// exponents, PKCS#1 files). What every backend must do is tested on each in rsa_backend.cpp.
#ifdef TLVCAST_HAS_CRYPTOPP // without Crypto++ this file compiles to nothing
#include <tlvcast/crypto/cryptopp_rsa.hpp>

#include "crypto/rsa_helpers.hpp"

#include <catch2/catch.hpp>

#include <cryptopp/osrng.h>
#include <cryptopp/queue.h>
#include <cryptopp/rsa.h>

#include <cstddef>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace {

namespace test = tlvcast::crypto::test;
using backend = tlvcast::crypto::cryptopp_rsa;

/// SPKI PEM of an arbitrary RSA public function (no factorization needed), to make keys of any size.
std::string spki_pem_of(const CryptoPP::RSAFunction& f)
{
    CryptoPP::ByteQueue q;
    f.DEREncode(q);
    std::string der(static_cast<std::size_t>(q.MaxRetrievable()), '\0');
    q.Get(reinterpret_cast<CryptoPP::byte*>(der.data()), der.size());
    const auto pem = tlvcast::crypto::detail::rsa_cryptopp_pem(
        "PUBLIC KEY", reinterpret_cast<const CryptoPP::byte*>(der.data()), der.size());
    return {reinterpret_cast<const char*>(pem.data()), pem.size()};
}

} // namespace

TEST_CASE("cryptopp_rsa: name", "[crypto][rsa][cryptopp]")
{
    CHECK(backend::name == "cryptopp");
}

TEST_CASE("cryptopp_rsa: import refuses out-of-range keys made by Crypto++", "[crypto][rsa][cryptopp]")
{
    CryptoPP::AutoSeededRandomPool rng;
    CryptoPP::InvertibleRSAFunction k1024;
    k1024.Initialize(rng, 1024, 65537);
    CryptoPP::RSAFunction f1024;
    f1024.Initialize(k1024.GetModulus(), k1024.GetPublicExponent());
    // Over 4096 bits: an odd 4100-bit modulus (only the size is checked before use).
    CryptoPP::RSAFunction f4100;
    f4100.Initialize(CryptoPP::Integer::Power2(4099) + CryptoPP::Integer{12345}, CryptoPP::Integer{65537});
    CryptoPP::RSAFunction even_e;
    even_e.Initialize(CryptoPP::Integer::Power2(2047) + CryptoPP::Integer::One(), CryptoPP::Integer{65536});

    const std::vector<std::pair<std::string, std::string>> cases{
        {"RSA-1024", spki_pem_of(f1024)},
        {"RSA-4100", spki_pem_of(f4100)},
        {"even exponent", spki_pem_of(even_e)},
    };
    for (const auto& [what, pem] : cases) {
        CAPTURE(what);
        test::check_import_refused<backend>(pem);
    }
}

TEST_CASE("cryptopp_rsa: loads a PKCS#1 RSA PRIVATE KEY written with Crypto++", "[crypto][rsa][cryptopp]")
{
    test::temp_dir dir{"tlvcast-cryptopp-rsa-"};
    CryptoPP::AutoSeededRandomPool rng;
    CryptoPP::InvertibleRSAFunction k;
    k.Initialize(rng, 2048, 65537);
    CryptoPP::ByteQueue q;
    k.DEREncodePrivateKey(q);
    std::string der(static_cast<std::size_t>(q.MaxRetrievable()), '\0');
    q.Get(reinterpret_cast<CryptoPP::byte*>(der.data()), der.size());
    const auto pem = tlvcast::crypto::detail::rsa_cryptopp_pem(
        "RSA PRIVATE KEY", reinterpret_cast<const CryptoPP::byte*>(der.data()), der.size());
    const auto p1 = dir.path / "pkcs1.pem";
    tlvcast::crypto::create_private_key_file(p1, {reinterpret_cast<const char*>(pem.data()), pem.size()});
    const auto key = backend::load_private_pem(p1);
    CHECK(backend::modulus_bytes(key) == 256);
    CryptoPP::RSAFunction f;
    f.Initialize(k.GetModulus(), k.GetPublicExponent());
    std::error_code ec2;
    const auto expected = backend::import_public_pem(test::as_bytes(spki_pem_of(f)), ec2);
    REQUIRE_FALSE(ec2);
    CHECK(backend::public_of(key) == expected);
}

#endif // TLVCAST_HAS_CRYPTOPP
