// SPDX-License-Identifier: BSL-1.0
// Tests for crypto/random.hpp: the random_source concept, os_random, and the seeded test generator.
#include <tlvcast/crypto/random.hpp>

#include "crypto/backends.hpp"
#include "crypto/helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <vector>

namespace tc = tlvcast::crypto;

namespace {

struct no_fill {
    void draw(std::span<std::byte>) {}
};
struct fill_returns_bool {
    bool fill(std::span<std::byte>) { return true; }
};

std::vector<std::byte> draw(auto& r, std::size_t n)
{
    std::vector<std::byte> v(n);
    r.fill(v);
    return v;
}

} // namespace

TEST_CASE("random_source: the OS and seeded sources model it, near-misses do not", "[random]")
{
    STATIC_REQUIRE(tc::random_source<tc::os_random<tc::default_suite>>);
    STATIC_REQUIRE(tc::random_source<tc::seeded_random<tc::default_suite>>);
    STATIC_REQUIRE_FALSE(tc::random_source<no_fill>);
    STATIC_REQUIRE_FALSE(tc::random_source<fill_returns_bool>);
}

TEMPLATE_TEST_CASE("seeded_random: HKDF-SHA256 blocks from the seed, independent of how it is drawn", "[random]",
                   TLVCAST_TEST_SUITES)
{
    // Computed with Python's hmac/hashlib: block 0 and block 1 of seed 7, first 32 bytes each.
    const auto block0 = tc::test::hex("d2a8c69bcf18cdfafae79b0055dddea5bf78c31b6eb3bfba1d6eecb9804c3fec");
    const auto block1 = tc::test::hex("ca2bfe849a8f404301ee9fec3c03bd72b0441f3b7878d357e6b72a412ad6bdea");
    tc::seeded_random<TestType> a(7);
    const auto whole = draw(a, 2 * tc::hkdf_sha256_max_output + 5);
    CHECK(std::equal(block0.begin(), block0.end(), whole.begin()));
    CHECK(std::equal(block1.begin(), block1.end(), whole.begin() + tc::hkdf_sha256_max_output));

    // The same seed drawn in odd pieces gives the same stream.
    tc::seeded_random<TestType> b(7);
    std::vector<std::byte> pieces;
    for (std::size_t n : {1u, 31u, 8000u, 200u, 8000u, 93u})
        for (auto x : draw(b, n))
            pieces.push_back(x);
    REQUIRE(pieces.size() == whole.size());
    CHECK(pieces == whole);

    tc::seeded_random<TestType> c(8);
    CHECK(draw(c, 64) != std::vector<std::byte>(whole.begin(), whole.begin() + 64));
}

TEMPLATE_TEST_CASE("os_random draws fresh bytes", "[random]", TLVCAST_TEST_SUITES)
{
    tc::os_random<TestType> r;
    CHECK(draw(r, 32) != draw(r, 32));
}

TEMPLATE_TEST_CASE("x25519_from_private builds RFC 7748's key pairs from given private bytes", "[random][x25519]",
                   TLVCAST_TEST_SUITES)
{
    const auto alice_private = tc::test::hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    const auto alice_public = tc::test::hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    std::array<std::byte, 32> priv{};
    std::copy(alice_private.begin(), alice_private.end(), priv.begin());
    const tc::x25519_keypair kp = tc::x25519_from_private<TestType>(priv);
    CHECK(std::equal(alice_public.begin(), alice_public.end(), kp.public_key.begin()));
    CHECK(std::equal(priv.begin(), priv.end(), kp.private_key.span().begin()));

    // Drawn from a seeded source: the same seed, the same key pair.
    tc::seeded_random<TestType> r1(3), r2(3);
    CHECK(tc::generate_x25519<TestType>(r1).public_key == tc::generate_x25519<TestType>(r2).public_key);
}
