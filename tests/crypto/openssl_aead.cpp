// Tests for crypto/openssl_aead.hpp: the official vectors on OpenSSL 3, and byte-identical output to Crypto++.
#ifdef TLVCAST_HAS_OPENSSL // without OpenSSL this file compiles to nothing
#include <tlvcast/crypto/openssl_aead.hpp>

#include <tlvcast/crypto/aead.hpp>
#include <tlvcast/crypto/cryptopp_aead.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace tc = tlvcast::crypto;
using tlvcast::errc;

namespace {

std::vector<std::byte> hex(std::string_view s)
{
    auto nibble = [](char c) { return static_cast<unsigned>(c <= '9' ? c - '0' : c - 'a' + 10); };
    std::vector<std::byte> v;
    for (std::size_t i = 0; i + 1 < s.size(); i += 2)
        v.push_back(static_cast<std::byte>(nibble(s[i]) << 4 | nibble(s[i + 1])));
    return v;
}

std::vector<std::byte> text(std::string_view s)
{
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    return {p, p + s.size()};
}

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

TEST_CASE("openssl_aes256_gcm matches GCM test case 16", "[aead][openssl]")
{
    STATIC_REQUIRE(tc::openssl_aes256_gcm::name == "AES-256-GCM");
    check_vector<tc::openssl_aes256_gcm>(gcm_test_case_16());
}

TEST_CASE("openssl_chacha20_poly1305 matches RFC 8439 section 2.8.2", "[aead][openssl]")
{
    STATIC_REQUIRE(tc::openssl_chacha20_poly1305::name == "ChaCha20-Poly1305");
    check_vector<tc::openssl_chacha20_poly1305>(rfc8439_2_8_2());
}

namespace {
// Seals a run of records of varied sizes on both backends under one key and IV: the bytes must be equal,
// and each backend must open the other's records.
template <class A, class B>
void check_cross_backend()
{
    std::array<std::byte, 32> key{};
    std::array<std::byte, 12> iv{};
    for (std::size_t i = 0; i < key.size(); ++i)
        key[i] = static_cast<std::byte>(0x5a ^ (i * 29));
    for (std::size_t i = 0; i < iv.size(); ++i)
        iv[i] = static_cast<std::byte>(i * 3 + 1);
    A a(key);
    B b(key);
    std::uint64_t seq = 0;
    for (std::size_t len : {0u, 1u, 16u, 100u, 256u, 1200u, 1500u, 9000u}) {
        std::vector<std::byte> pt(len), aad(len % 23);
        for (std::size_t i = 0; i < len; ++i)
            pt[i] = static_cast<std::byte>(i ^ (i >> 8));
        for (std::size_t i = 0; i < aad.size(); ++i)
            aad[i] = static_cast<std::byte>(0xee - i);
        const auto nonce = tc::make_nonce(iv, seq++);
        std::vector<std::byte> sa(len + 16), sb(len + 16), out(len);
        std::error_code ea, eb;
        a.seal(nonce, aad, pt, sa, ea);
        b.seal(nonce, aad, pt, sb, eb);
        REQUIRE_FALSE(ea);
        REQUIRE_FALSE(eb);
        CHECK(sa == sb);
        CHECK(a.open(nonce, aad, sb, out, ea) == len);
        CHECK_FALSE(ea);
        CHECK(out == pt);
        CHECK(b.open(nonce, aad, sa, out, eb) == len);
        CHECK_FALSE(eb);
        CHECK(out == pt);
    }
}
} // namespace

TEST_CASE("OpenSSL and Crypto++ AES-256-GCM produce identical records", "[aead][openssl][cross]")
{
    check_cross_backend<tc::openssl_aes256_gcm, tc::cryptopp_aes256_gcm>();
}

TEST_CASE("OpenSSL and Crypto++ ChaCha20-Poly1305 produce identical records", "[aead][openssl][cross]")
{
    check_cross_backend<tc::openssl_chacha20_poly1305, tc::cryptopp_chacha20_poly1305>();
}

TEST_CASE("openssl AEADs refuse a plaintext over the size limit (would not fit an int)", "[aead][openssl]")
{
    std::vector<std::byte> small(64);
    const std::array<std::byte, 32> key{};
    const std::array<std::byte, 12> nonce{};
    tc::openssl_chacha20_poly1305 a(key);
    std::error_code ec;
    a.seal(nonce, {}, std::span<const std::byte>(small.data(), tc::aead_max_plaintext_size + 1),
           std::span<std::byte>(small.data(), tc::aead_max_plaintext_size + 17), ec);
    CHECK(ec == errc::message_too_large);
    CHECK(a.open(nonce, std::span<const std::byte>(small.data(), tc::aead_max_plaintext_size + 1),
                 std::span<const std::byte>(small).first(16), small, ec) == 0);
    CHECK(ec == errc::message_too_large);
}

#endif // TLVCAST_HAS_OPENSSL
