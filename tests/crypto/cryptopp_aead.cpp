// SPDX-License-Identifier: BSL-1.0
// Tests for crypto/cryptopp_aead.hpp and crypto/openssl_aead.hpp, whichever the build has: the official
// AES-256-GCM and ChaCha20-Poly1305 vectors, ids, limits and size checks on every AEAD backend.
#include "crypto/backends.hpp"

#include "crypto/helpers.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace tc = tlvcast::crypto;
using tc::test::hex;
using tc::test::text;
using tlvcast::errc;

namespace {

struct vector_case {
    std::vector<std::byte> key, nonce, aad, plaintext, ciphertext_and_tag;
};

// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", test case 16 (AES-256, 96-bit IV, 20-byte AAD).
vector_case gcm_test_case_16()
{
    return {hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"),
            hex("cafebabefacedbaddecaf888"), hex("feedfacedeadbeeffeedfacedeadbeefabaddad2"),
            hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"),
            hex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
                "76fc6ece0f4e1768cddf8853bb2d551b")};
}

// RFC 8439 section 2.8.2: key 80..9f, nonce = constant 07000000 || IV 4041424344454647.
vector_case rfc8439_2_8_2()
{
    return {hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
            hex("070000004041424344454647"), hex("50515253c0c1c2c3c4c5c6c7"),
            text("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
                 "sunscreen would be it."),
            hex("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
                "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
                "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
                "3ff4def08e4b7a9de576d26586cec64b6116"
                "1ae10b594f09e26a7e902ecbd0600691")};
}

template <class Aead>
void check_vector(const vector_case& v)
{
    REQUIRE(v.key.size() == 32);
    REQUIRE(v.nonce.size() == 12);
    REQUIRE(v.ciphertext_and_tag.size() == v.plaintext.size() + 16);
    Aead a(std::span<const std::byte, 32>(v.key.data(), 32));
    const std::span<const std::byte, 12> nonce(v.nonce.data(), 12);

    std::vector<std::byte> sealed(v.plaintext.size() + 16);
    std::error_code ec;
    a.seal(nonce, v.aad, v.plaintext, sealed, ec);
    REQUIRE_FALSE(ec);
    CHECK(sealed == v.ciphertext_and_tag);

    std::vector<std::byte> opened(v.plaintext.size());
    CHECK(a.open(nonce, v.aad, v.ciphertext_and_tag, opened, ec) == v.plaintext.size());
    CHECK_FALSE(ec);
    CHECK(opened == v.plaintext);

    // The same key object on a second record, then the vector again: per-call nonce reset works.
    a.seal(nonce, {}, v.aad, sealed, ec);
    REQUIRE_FALSE(ec);
    sealed.resize(v.plaintext.size() + 16);
    a.seal(nonce, v.aad, v.plaintext, sealed, ec);
    CHECK(sealed == v.ciphertext_and_tag);
}

} // namespace

// Each AEAD on every backend the build has.
#if defined(TLVCAST_HAS_CRYPTOPP) && defined(TLVCAST_HAS_OPENSSL)
#define TLVCAST_TEST_GCM_AEADS tc::cryptopp_aes256_gcm, tc::openssl_aes256_gcm
#define TLVCAST_TEST_CHACHA_AEADS tc::cryptopp_chacha20_poly1305, tc::openssl_chacha20_poly1305
#else
#define TLVCAST_TEST_GCM_AEADS tc::default_aes256_gcm
#define TLVCAST_TEST_CHACHA_AEADS tc::default_chacha20_poly1305
#endif

TEMPLATE_TEST_CASE("aes256_gcm matches GCM test case 16; its id and limits are AES-GCM's", "[aead]",
                   TLVCAST_TEST_GCM_AEADS)
{
    STATIC_REQUIRE(TestType::id == tc::aead_id::aes_256_gcm);
    STATIC_REQUIRE(TestType::name == "AES-256-GCM");
    STATIC_REQUIRE(TestType::max_records_per_key == tc::aes_gcm_max_records_per_key);
    STATIC_REQUIRE(TestType::max_failed_opens_per_key == tc::aes_gcm_max_failed_opens_per_key);
    check_vector<TestType>(gcm_test_case_16());
}

TEMPLATE_TEST_CASE("chacha20_poly1305 matches RFC 8439 section 2.8.2; its id and limits are ChaCha's", "[aead]",
                   TLVCAST_TEST_CHACHA_AEADS)
{
    STATIC_REQUIRE(TestType::id == tc::aead_id::chacha20_poly1305);
    STATIC_REQUIRE(TestType::name == "ChaCha20-Poly1305");
    STATIC_REQUIRE(TestType::max_records_per_key == tc::chacha20_poly1305_max_records_per_key);
    STATIC_REQUIRE(TestType::max_failed_opens_per_key == tc::chacha20_poly1305_max_failed_opens_per_key);
    check_vector<TestType>(rfc8439_2_8_2());
}

TEMPLATE_TEST_CASE("AEADs refuse a plaintext or AAD over the size limit without touching the buffer", "[aead]",
                   TLVCAST_TEST_GCM_AEADS, TLVCAST_TEST_CHACHA_AEADS)
{
    // A span of the forbidden size over a small buffer: the check must fire before any byte is read.
    // The limit also keeps every length within an int, the length type of OpenSSL's EVP interface.
    std::vector<std::byte> small(64);
    const std::span<const std::byte> huge(small.data(), tc::aead_max_plaintext_size + 1);
    const std::array<std::byte, 32> key{};
    const std::array<std::byte, 12> nonce{};
    TestType a(key);
    std::error_code ec;
    a.seal(nonce, {}, huge, std::span<std::byte>(small.data(), tc::aead_max_plaintext_size + 17), ec);
    CHECK(ec == errc::message_too_large);
    a.seal(nonce, huge, std::span<const std::byte>(small).first(1), small, ec);
    CHECK(ec == errc::message_too_large);
    CHECK(a.open(nonce, {}, std::span<const std::byte>(small.data(), tc::aead_max_plaintext_size + 17),
                 std::span<std::byte>(small.data(), tc::aead_max_plaintext_size + 1), ec) == 0);
    CHECK(ec == errc::message_too_large);
    CHECK(a.open(nonce, huge, std::span<const std::byte>(small).first(16), small, ec) == 0);
    CHECK(ec == errc::message_too_large);
}
