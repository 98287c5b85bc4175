// SPDX-License-Identifier: BSL-1.0
// Tests for crypto/openssl_aead.hpp: byte-identical output to Crypto++. The official vectors and the size
// limits run on every backend in cryptopp_aead.cpp.
#if defined(TLVCAST_HAS_OPENSSL) && defined(TLVCAST_HAS_CRYPTOPP) // cross-backend: needs both
#include <tlvcast/crypto/openssl_aead.hpp>

#include <tlvcast/crypto/aead.hpp>
#include <tlvcast/crypto/cryptopp_aead.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

namespace tc = tlvcast::crypto;

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

#endif // TLVCAST_HAS_OPENSSL && TLVCAST_HAS_CRYPTOPP
