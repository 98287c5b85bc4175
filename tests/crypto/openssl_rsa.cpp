// SPDX-License-Identifier: BSL-1.0
// Tests of the OpenSSL 3 RSA backend's own parts: PEM byte-identical to OpenSSL's writer, keys made
// with OpenSSL itself (other sizes, exponents and algorithms, PKCS#1 files). What every backend must
// do is tested on each in rsa_backend.cpp.
#if defined(TLVCAST_HAS_OPENSSL)
#include <tlvcast/crypto/openssl_rsa.hpp>

#include "crypto/rsa_helpers.hpp"

#include <catch2/catch.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace {

namespace test = tlvcast::crypto::test;
using test::as_bytes;
using test::key_a;
using backend = tlvcast::crypto::openssl_rsa;

struct pkey_free {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

std::string bio_text(BIO* bio)
{
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return {data, static_cast<std::size_t>(n)};
}

std::string spki_pem_of(EVP_PKEY* pkey)
{
    std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), &BIO_free};
    REQUIRE(PEM_write_bio_PUBKEY(bio.get(), pkey) == 1);
    return bio_text(bio.get());
}

/// SPKI PEM of an RSA public key with arbitrary n and e (no factorization needed), to make keys of
/// any size: n = 2^(bits-1) + 12345 (odd).
std::string spki_pem_of(int bits, unsigned long e_value)
{
    std::unique_ptr<BIGNUM, decltype(&BN_free)> n{BN_new(), &BN_free};
    std::unique_ptr<BIGNUM, decltype(&BN_free)> e{BN_new(), &BN_free};
    REQUIRE(BN_set_bit(n.get(), bits - 1) == 1);
    REQUIRE(BN_add_word(n.get(), 12345) == 1);
    REQUIRE(BN_set_word(e.get(), e_value) == 1);
    std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld{OSSL_PARAM_BLD_new(), &OSSL_PARAM_BLD_free};
    REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) == 1);
    REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) == 1);
    std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params{OSSL_PARAM_BLD_to_param(bld.get()), &OSSL_PARAM_free};
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx{EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr),
                                                                     &EVP_PKEY_CTX_free};
    EVP_PKEY* raw = nullptr;
    REQUIRE(EVP_PKEY_fromdata_init(ctx.get()) == 1);
    REQUIRE(EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) == 1);
    const pkey_ptr pkey{raw};
    REQUIRE(EVP_PKEY_get_bits(pkey.get()) == bits);
    return spki_pem_of(pkey.get());
}

} // namespace

TEST_CASE("openssl_rsa: name", "[crypto][rsa][openssl]")
{
    CHECK(backend::name == "openssl");
}

TEST_CASE("openssl_rsa: public PEM is byte-identical to OpenSSL's own writer", "[crypto][rsa][openssl]")
{
    const auto pub = backend::public_of(key_a<backend>());
    const std::string pem = backend::export_public_pem(pub);
    std::error_code ec;
    // Byte-identical to OpenSSL's own writer, for every modulus size (line layouts differ).
    CHECK(pem == spki_pem_of(pub.native_handle()));
    for (const int bits : {2048, 2049, 3000, 3072, 4095, 4096}) {
        CAPTURE(bits);
        const std::string other = spki_pem_of(bits, 65537);
        const auto k = backend::import_public_pem(as_bytes(other), ec);
        REQUIRE_FALSE(ec);
        CHECK(backend::export_public_pem(k) == other);
        CHECK(backend::modulus_bytes(k) == static_cast<std::size_t>((bits + 7) / 8));
    }
}

TEST_CASE("openssl_rsa: fingerprint equals OpenSSL's own SHA-256 of the DER SPKI", "[crypto][rsa][openssl]")
{
    const auto pub = backend::public_of(key_a<backend>());
    const std::string pem = backend::export_public_pem(pub);
    // Independent DER: strip the armor, base64-decode.
    std::string body = pem.substr(27, pem.size() - 27 - 25);
    std::erase(body, '\n');
    std::vector<unsigned char> der(body.size());
    const int der_len = EVP_DecodeBlock(der.data(), reinterpret_cast<const unsigned char*>(body.data()),
                                        static_cast<int>(body.size()));
    REQUIRE(der_len > 0);
    // EVP_DecodeBlock counts the '=' padding as zero bytes: drop them.
    const std::size_t padding = static_cast<std::size_t>(std::count(body.end() - 2, body.end(), '='));
    std::array<std::byte, 32> expected{};
    unsigned int md_len = 0;
    REQUIRE(EVP_Digest(der.data(), static_cast<std::size_t>(der_len) - padding,
                       reinterpret_cast<unsigned char*>(expected.data()), &md_len, EVP_sha256(), nullptr) == 1);
    CHECK(backend::fingerprint(pub) == expected);
}

TEST_CASE("openssl_rsa: import refuses non-RSA and out-of-range keys made by OpenSSL", "[crypto][rsa][openssl]")
{
    const pkey_ptr k1024{EVP_RSA_gen(1024)};
    REQUIRE(k1024);
    const pkey_ptr ec_key{EVP_EC_gen("P-384")};
    REQUIRE(ec_key);

    const std::vector<std::pair<std::string, std::string>> cases{
        {"EC P-384 made by OpenSSL", spki_pem_of(ec_key.get())},
        {"RSA-1024", spki_pem_of(k1024.get())},
        {"RSA-4100", spki_pem_of(4100, 65537)},
        {"even exponent", spki_pem_of(2048, 65536)},
    };
    for (const auto& [what, pem] : cases) {
        CAPTURE(what);
        test::check_import_refused<backend>(pem);
    }
}

TEST_CASE("openssl_rsa: loads a PKCS#1 RSA PRIVATE KEY written by OpenSSL", "[crypto][rsa][openssl]")
{
    test::temp_dir dir{"tlvcast-openssl-rsa-"};
    const pkey_ptr k{EVP_RSA_gen(2048)};
    REQUIRE(k);
    std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), &BIO_free};
    REQUIRE(PEM_write_bio_PrivateKey_traditional(bio.get(), k.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
    const std::string pem = bio_text(bio.get());
    REQUIRE(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    const auto p1 = dir.path / "pkcs1.pem";
    tlvcast::crypto::create_private_key_file(p1, pem);
    const auto key = backend::load_private_pem(p1);
    CHECK(backend::modulus_bytes(key) == 256);
    std::error_code ec2;
    const auto expected = backend::import_public_pem(as_bytes(spki_pem_of(k.get())), ec2);
    REQUIRE_FALSE(ec2);
    CHECK(backend::public_of(key) == expected);
}

#endif // TLVCAST_HAS_OPENSSL
