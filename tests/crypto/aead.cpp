// SPDX-License-Identifier: BSL-1.0
// Tests for crypto/aead.hpp: the nonce construction, the limits, and the aead contract on every backend.
#include <tlvcast/crypto/aead.hpp>

#include "crypto/backends.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <set>
#include <span>
#include <system_error>
#include <utility>
#include <string_view>
#include <vector>

namespace tc = tlvcast::crypto;
using tlvcast::errc;

namespace {

// The smallest type that models the concept: the archetype the concept is checked against.
struct aead_archetype {
    static constexpr std::size_t key_size = 32, nonce_size = 12, tag_size = 16;
    static constexpr tc::aead_id id = tc::aead_id{77};
    static constexpr std::string_view name = "archetype";
    static constexpr std::uint64_t max_records_per_key = 1000, max_failed_opens_per_key = 10;
    explicit aead_archetype(std::span<const std::byte, 32>) {}
    void seal(std::span<const std::byte, 12>, std::span<const std::byte>, std::span<const std::byte>,
              std::span<std::byte>, std::error_code&) {}
    std::size_t open(std::span<const std::byte, 12>, std::span<const std::byte>, std::span<const std::byte>,
                     std::span<std::byte>, std::error_code&) { return 0; }
};
struct short_tag : aead_archetype {
    using aead_archetype::aead_archetype;
    static constexpr std::size_t tag_size = 8;
};
// Identified only by its name (as secure.hpp once did): not an AEAD policy any more.
struct named_only : aead_archetype {
    using aead_archetype::aead_archetype;
    static constexpr int id = 0;
};
struct no_limits {
    static constexpr std::size_t key_size = 32, nonce_size = 12, tag_size = 16;
    static constexpr tc::aead_id id = tc::aead_id::aes_256_gcm;
    static constexpr std::string_view name = "no limits";
    explicit no_limits(std::span<const std::byte, 32>) {}
    void seal(std::span<const std::byte, 12>, std::span<const std::byte>, std::span<const std::byte>,
              std::span<std::byte>, std::error_code&) {}
    std::size_t open(std::span<const std::byte, 12>, std::span<const std::byte>, std::span<const std::byte>,
                     std::span<std::byte>, std::error_code&) { return 0; }
};
struct no_open {
    static constexpr std::size_t key_size = 32, nonce_size = 12, tag_size = 16;
    static constexpr tc::aead_id id = tc::aead_id::aes_256_gcm;
    static constexpr std::string_view name = "no open";
    static constexpr std::uint64_t max_records_per_key = 1000, max_failed_opens_per_key = 10;
    explicit no_open(std::span<const std::byte, 32>) {}
    void seal(std::span<const std::byte, 12>, std::span<const std::byte>, std::span<const std::byte>,
              std::span<std::byte>, std::error_code&) {}
};

std::vector<std::byte> pattern(std::size_t n, unsigned seed)
{
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<std::byte>((i * 131 + seed * 17 + 7) & 0xffu);
    return v;
}

std::array<std::byte, 32> test_key(unsigned seed)
{
    std::array<std::byte, 32> k{};
    for (std::size_t i = 0; i < k.size(); ++i)
        k[i] = static_cast<std::byte>(i * 7 + seed);
    return k;
}

} // namespace

TEST_CASE("aead concept accepts the archetype and every backend, rejects near-misses", "[aead]")
{
    STATIC_REQUIRE(tc::aead<aead_archetype>);
    STATIC_REQUIRE_FALSE(tc::aead<short_tag>);
    STATIC_REQUIRE_FALSE(tc::aead<no_open>);
    STATIC_REQUIRE_FALSE(tc::aead<named_only>);
    STATIC_REQUIRE_FALSE(tc::aead<no_limits>);
    STATIC_REQUIRE_FALSE(tc::aead<int>);
    STATIC_REQUIRE(tc::aead<tc::default_aes256_gcm>);
    STATIC_REQUIRE(tc::aead<tc::default_chacha20_poly1305>);
#ifdef TLVCAST_HAS_CRYPTOPP
    STATIC_REQUIRE(tc::aead<tc::cryptopp_aes256_gcm>);
    STATIC_REQUIRE(tc::aead<tc::cryptopp_chacha20_poly1305>);
#endif
#ifdef TLVCAST_HAS_OPENSSL
    STATIC_REQUIRE(tc::aead<tc::openssl_aes256_gcm>);
    STATIC_REQUIRE(tc::aead<tc::openssl_chacha20_poly1305>);
#endif
}

TEST_CASE("make_nonce XORs the big-endian sequence number into the low 8 bytes of the IV (RFC 8446 5.3)", "[aead]")
{
    std::array<std::byte, 12> iv{};
    for (std::size_t i = 0; i < iv.size(); ++i)
        iv[i] = static_cast<std::byte>(0xa0 + i);

    // Sequence 0: the IV itself.
    CHECK(tc::make_nonce(iv, 0) == iv);

    // Hand-computed: 0x0102030405060708 XOR a4..ab, the first 4 bytes untouched.
    const std::array<std::byte, 12> expected{std::byte{0xa0}, std::byte{0xa1}, std::byte{0xa2}, std::byte{0xa3},
                                             std::byte{0xa5}, std::byte{0xa7}, std::byte{0xa5}, std::byte{0xa3},
                                             std::byte{0xad}, std::byte{0xaf}, std::byte{0xad}, std::byte{0xa3}};
    CHECK(tc::make_nonce(iv, 0x0102030405060708ull) == expected);

    // All ones flips the low 8 bytes only.
    const auto all = tc::make_nonce(iv, ~std::uint64_t{0});
    for (std::size_t i = 0; i < 4; ++i)
        CHECK(all[i] == iv[i]);
    for (std::size_t i = 4; i < 12; ++i)
        CHECK(all[i] == ~iv[i]);

    // Distinct sequence numbers give distinct nonces (the construction is a bijection).
    std::set<std::array<std::byte, 12>> seen;
    for (std::uint64_t s = 0; s < 2000; ++s)
        seen.insert(tc::make_nonce(iv, s * 0x0101010101ull));
    CHECK(seen.size() == 2000);

    // Usable in constant expressions.
    constexpr std::array<std::byte, 12> zero{};
    static_assert(tc::make_nonce(zero, 1)[11] == std::byte{1});
}

TEST_CASE("aead usage limits are the documented figures; ids are the wire values", "[aead]")
{
    STATIC_REQUIRE(static_cast<int>(tc::aead_id::aes_256_gcm) == 1);
    STATIC_REQUIRE(static_cast<int>(tc::aead_id::chacha20_poly1305) == 2);
    STATIC_REQUIRE(tc::aead_limits<tc::aead_id::aes_256_gcm>::max_records_per_key == tc::aes_gcm_max_records_per_key);
    STATIC_REQUIRE(tc::aead_limits<tc::aead_id::chacha20_poly1305>::max_records_per_key ==
                   tc::chacha20_poly1305_max_records_per_key);
    CHECK(tc::aes_gcm_max_records_per_key == (std::uint64_t{1} << 23));
    CHECK(tc::chacha20_poly1305_max_records_per_key == (std::uint64_t{1} << 36));
    CHECK(tc::aes_gcm_max_failed_opens_per_key == (std::uint64_t{1} << 36));
    CHECK(tc::chacha20_poly1305_max_failed_opens_per_key == (std::uint64_t{1} << 36));
    CHECK(tc::aead_max_plaintext_size < (std::size_t{1} << 31) - tc::aead_tag_size);
}

#define TLVCAST_AEAD_TYPES TLVCAST_TEST_AEADS

TEMPLATE_TEST_CASE("aead round trips for every length around the block sizes, reusing one object", "[aead]",
                   TLVCAST_AEAD_TYPES)
{
    const auto key = test_key(1);
    TestType a(key);
    const std::array<std::byte, 12> iv{};
    std::uint64_t seq = 0;
    for (std::size_t len : {0u, 1u, 15u, 16u, 17u, 63u, 64u, 65u, 255u, 256u, 1200u, 4096u}) {
        for (std::size_t aad_len : {0u, 13u}) {
            const auto pt = pattern(len, static_cast<unsigned>(len));
            const auto aad = pattern(aad_len, 99);
            const auto nonce = tc::make_nonce(iv, seq++);
            std::vector<std::byte> sealed(len + TestType::tag_size);
            std::error_code ec = errc::malformed; // must be cleared on success
            a.seal(nonce, aad, pt, sealed, ec);
            REQUIRE_FALSE(ec);
            if (len > 8)
                CHECK(std::vector<std::byte>(sealed.begin(), sealed.begin() + 8) !=
                      std::vector<std::byte>(pt.begin(), pt.begin() + 8));
            std::vector<std::byte> out(len + 3, std::byte{0x55});
            ec = errc::malformed;
            const std::size_t n = a.open(nonce, aad, sealed, out, ec);
            REQUIRE_FALSE(ec);
            REQUIRE(n == len);
            CHECK(std::vector<std::byte>(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)) == pt);
            CHECK(out[len] == std::byte{0x55}); // nothing written past the plaintext
        }
    }
}

TEMPLATE_TEST_CASE("aead rejects every single-bit flip of ciphertext, tag, AAD and nonce, and zeroes out", "[aead]",
                   TLVCAST_AEAD_TYPES)
{
    const auto key = test_key(2);
    TestType a(key);
    const auto pt = pattern(64, 3);
    auto aad = pattern(20, 4);
    std::array<std::byte, 12> nonce{};
    for (std::size_t i = 0; i < nonce.size(); ++i)
        nonce[i] = static_cast<std::byte>(0xc0 + i);
    std::vector<std::byte> sealed(pt.size() + 16);
    std::error_code ec;
    a.seal(nonce, aad, pt, sealed, ec);
    REQUIRE_FALSE(ec);

    std::vector<std::byte> out(pt.size());
    auto expect_rejected = [&](const char* what, std::size_t bit) {
        std::fill(out.begin(), out.end(), std::byte{0x77});
        std::error_code e;
        const std::size_t n = a.open(nonce, aad, sealed, out, e);
        INFO(what << " bit " << bit);
        REQUIRE(e == errc::authentication_failed);
        REQUIRE(n == 0);
        // Unauthenticated plaintext was written then wiped: every byte is zero, none is 0x77 or plaintext.
        REQUIRE(std::all_of(out.begin(), out.end(), [](std::byte b) { return b == std::byte{0}; }));
    };
    for (std::size_t bit = 0; bit < sealed.size() * 8; ++bit) {
        sealed[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
        expect_rejected(bit < pt.size() * 8 ? "ciphertext" : "tag", bit);
        sealed[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
    }
    for (std::size_t bit = 0; bit < aad.size() * 8; ++bit) {
        aad[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
        expect_rejected("aad", bit);
        aad[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
    }
    for (std::size_t bit = 0; bit < nonce.size() * 8; ++bit) {
        nonce[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
        expect_rejected("nonce", bit);
        nonce[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
    }
    // Sanity: with every flip undone the record opens again (so the rejections above were the flips).
    const std::size_t n = a.open(nonce, aad, sealed, out, ec);
    REQUIRE_FALSE(ec);
    CHECK(n == pt.size());
    CHECK(out == pt);

    // Dropped AAD, a truncated record and another key are rejected as well.
    out.assign(pt.size(), std::byte{0x77});
    a.open(nonce, {}, sealed, out, ec);
    CHECK(ec == errc::authentication_failed);
    a.open(nonce, aad, std::span<const std::byte>(sealed).first(sealed.size() - 1), out, ec);
    CHECK(ec == errc::authentication_failed);
    const auto other_key = test_key(3);
    TestType b(other_key);
    b.open(nonce, aad, sealed, out, ec);
    CHECK(ec == errc::authentication_failed);
}

TEMPLATE_TEST_CASE("aead argument errors: short output, short record, moved-from object", "[aead]",
                   TLVCAST_AEAD_TYPES)
{
    const auto key = test_key(4);
    TestType a(key);
    const std::array<std::byte, 12> nonce{};
    const auto pt = pattern(100, 5);
    std::vector<std::byte> sealed(pt.size() + 16);
    std::error_code ec;

    std::vector<std::byte> small(pt.size() + 15);
    a.seal(nonce, {}, pt, small, ec);
    CHECK(ec == errc::buffer_too_small);

    a.seal(nonce, {}, pt, sealed, ec);
    REQUIRE_FALSE(ec);
    std::vector<std::byte> out(pt.size() - 1);
    CHECK(a.open(nonce, {}, sealed, out, ec) == 0);
    CHECK(ec == errc::buffer_too_small);

    out.resize(pt.size());
    for (std::size_t len : {0u, 1u, 15u}) {
        CHECK(a.open(nonce, {}, std::span<const std::byte>(sealed).first(len), out, ec) == 0);
        CHECK(ec == errc::malformed);
    }
    // Exactly a tag: an empty plaintext that does not authenticate (it was not sealed as such).
    CHECK(a.open(nonce, {}, std::span<const std::byte>(sealed).first(16), out, ec) == 0);
    CHECK(ec == errc::authentication_failed);

    // A record of only a tag that was sealed from nothing opens to zero bytes, with an empty output buffer.
    std::array<std::byte, 16> empty_sealed{};
    a.seal(nonce, {}, {}, empty_sealed, ec);
    REQUIRE_FALSE(ec);
    CHECK(a.open(nonce, {}, empty_sealed, std::span<std::byte>{}, ec) == 0);
    CHECK_FALSE(ec);

    TestType moved(std::move(a));
    CHECK(moved.open(nonce, {}, sealed, out, ec) == pt.size());
    CHECK_FALSE(ec);
    a.seal(nonce, {}, pt, sealed, ec); // NOLINT(bugprone-use-after-move): the documented moved-from behaviour
    CHECK(ec == errc::bad_key);
    CHECK(a.open(nonce, {}, sealed, out, ec) == 0);
    CHECK(ec == errc::bad_key);
}

TEMPLATE_TEST_CASE("aead seals and opens in place", "[aead]", TLVCAST_AEAD_TYPES)
{
    const auto key = test_key(6);
    TestType a(key);
    const std::array<std::byte, 12> nonce{std::byte{1}};
    const auto pt = pattern(1200, 7);
    const auto aad = pattern(9, 8);

    std::vector<std::byte> separate(pt.size() + 16);
    std::error_code ec;
    a.seal(nonce, aad, pt, separate, ec);
    REQUIRE_FALSE(ec);

    std::vector<std::byte> buf(pt.size() + 16);
    std::copy(pt.begin(), pt.end(), buf.begin());
    a.seal(nonce, aad, std::span<const std::byte>(buf).first(pt.size()), buf, ec);
    REQUIRE_FALSE(ec);
    CHECK(buf == separate);

    const std::size_t n = a.open(nonce, aad, buf, buf, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(n == pt.size());
    CHECK(std::equal(pt.begin(), pt.end(), buf.begin()));
}
