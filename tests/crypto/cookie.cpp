// SPDX-License-Identifier: BSL-1.0
// Tests for crypto/cookie.hpp: valid cookies, wrong endpoint/context, rotation and expiry, tampering.
#include <tlvcast/crypto/cookie.hpp>

#include "crypto/backends.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <vector>

namespace tc = tlvcast::crypto;
using tlvcast::endpoint;
using tlvcast::errc;
using namespace std::chrono_literals;


namespace {
std::array<std::byte, 32> transcript_hash(unsigned seed)
{
    std::array<std::byte, 32> h{};
    for (std::size_t i = 0; i < h.size(); ++i)
        h[i] = static_cast<std::byte>(i * 11 + seed);
    return h;
}
const endpoint client{0x7f000001, 40000};
const tlvcast::time_point t0{std::chrono::hours(1000)};
} // namespace

TEMPLATE_TEST_CASE("cookie: a fresh cookie verifies for its client and context only", "[cookie]",
                   TLVCAST_TEST_SUITES)
{
    tc::basic_cookie_jar<TestType> jar(t0, 10s);
    const auto ctx = transcript_hash(1);
    const auto cookie = jar.make(client, ctx, t0);
    CHECK(cookie.size() == 17);
    CHECK(std::to_integer<int>(cookie[0]) == jar.epoch());
    CHECK_FALSE(jar.verify(cookie, client, ctx, t0 + 1s));

    CHECK(jar.verify(cookie, endpoint{0x7f000002, 40000}, ctx, t0) == errc::bad_cookie); // other address
    CHECK(jar.verify(cookie, endpoint{0x7f000001, 40001}, ctx, t0) == errc::bad_cookie); // other port
    CHECK(jar.verify(cookie, client, transcript_hash(2), t0) == errc::bad_cookie);       // other hello
    CHECK(jar.verify(cookie, client, std::span<const std::byte>(ctx).first(31), t0) == errc::bad_cookie);
    CHECK(jar.verify(cookie, client, {}, t0) == errc::bad_cookie);

    // Deterministic for the same inputs within an epoch; different clients get different cookies.
    CHECK(jar.make(client, ctx, t0 + 2s) == cookie);
    CHECK(jar.make(endpoint{0x7f000001, 40001}, ctx, t0) != cookie);

    // Another jar (another secret) does not accept it.
    tc::basic_cookie_jar<TestType> other(t0, 10s);
    CHECK(other.verify(cookie, client, ctx, t0) == errc::bad_cookie);
}

TEMPLATE_TEST_CASE("cookie: the whole IPv6 address, port and scope are bound", "[cookie]", TLVCAST_TEST_SUITES)
{
    tc::basic_cookie_jar<TestType> jar(t0, 10s);
    const auto ctx = transcript_hash(3);
    const endpoint v6 = *endpoint::parse("[fe80::1234:5678:9abc:def0%2]:40000");
    const auto cookie = jar.make(v6, ctx, t0);
    CHECK_FALSE(jar.verify(cookie, v6, ctx, t0));
    // Every single bit of the 16 address bytes matters, not only the low 32 bits an IPv4 key held.
    for (std::size_t byte = 0; byte < 16; ++byte) {
        for (int bit = 0; bit < 8; ++bit) {
            auto a = v6.v6();
            a[byte] = static_cast<std::uint8_t>(a[byte] ^ (1u << bit));
            const auto other = endpoint::from_v6(a, v6.port, v6.scope_id());
            if (other.is_v4())
                continue; // the flip made a v4-mapped address (no scope): still another endpoint
            INFO("byte " << byte << " bit " << bit);
            CHECK(jar.verify(cookie, other, ctx, t0) == errc::bad_cookie);
        }
    }
    CHECK(jar.verify(cookie, endpoint::from_v6(v6.v6(), v6.port, 3), ctx, t0) == errc::bad_cookie); // other scope
    CHECK(jar.verify(cookie, endpoint::from_v6(v6.v6(), 40001, 2), ctx, t0) == errc::bad_cookie);   // other port
    // An IPv4 client and the IPv6 address that shares its last 32 bits are different clients.
    const endpoint v4{0x9abcdef0u, 40000};
    const auto v4_cookie = jar.make(v4, ctx, t0);
    CHECK_FALSE(jar.verify(v4_cookie, v4, ctx, t0));
    CHECK(jar.verify(v4_cookie, endpoint::from_v6(v6.v6(), 40000), ctx, t0) == errc::bad_cookie);
}

TEMPLATE_TEST_CASE("cookie: every single-bit flip and every wrong length is refused", "[cookie]",
                   TLVCAST_TEST_SUITES)
{
    tc::basic_cookie_jar<TestType> jar(t0, 10s);
    const auto ctx = transcript_hash(3);
    auto cookie = jar.make(client, ctx, t0);
    for (std::size_t bit = 0; bit < cookie.size() * 8; ++bit) {
        cookie[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
        INFO("bit " << bit);
        CHECK(jar.verify(cookie, client, ctx, t0) == errc::bad_cookie);
        cookie[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
    }
    CHECK_FALSE(jar.verify(cookie, client, ctx, t0));
    std::vector<std::byte> longer(cookie.begin(), cookie.end());
    longer.push_back(std::byte{0});
    CHECK(jar.verify(longer, client, ctx, t0) == errc::bad_cookie);
    CHECK(jar.verify(std::span<const std::byte>(cookie).first(16), client, ctx, t0) == errc::bad_cookie);
    CHECK(jar.verify({}, client, ctx, t0) == errc::bad_cookie);
}

TEMPLATE_TEST_CASE("cookie: the previous epoch still verifies, two rotations expire it", "[cookie]",
                   TLVCAST_TEST_SUITES)
{
    tc::basic_cookie_jar<TestType> jar(t0, 10s);
    const auto ctx = transcript_hash(4);
    const auto cookie = jar.make(client, ctx, t0 + 9s); // made late in epoch 0
    CHECK(jar.epoch() == 0);

    CHECK_FALSE(jar.verify(cookie, client, ctx, t0 + 10s)); // rotation: epoch 1, cookie is "previous"
    CHECK(jar.epoch() == 1);
    const auto newer = jar.make(client, ctx, t0 + 12s);
    CHECK(newer != cookie);
    CHECK_FALSE(jar.verify(cookie, client, ctx, t0 + 19s));
    CHECK_FALSE(jar.verify(newer, client, ctx, t0 + 19s));

    CHECK(jar.verify(cookie, client, ctx, t0 + 20s) == errc::bad_cookie); // second rotation: expired
    CHECK(jar.epoch() == 2);
    CHECK_FALSE(jar.verify(newer, client, ctx, t0 + 21s)); // the epoch-1 cookie is now "previous"
    CHECK(jar.verify(newer, client, ctx, t0 + 30s) == errc::bad_cookie);
}

TEMPLATE_TEST_CASE("cookie: a long silence replaces both secrets; a clock going back changes nothing", "[cookie]",
                   TLVCAST_TEST_SUITES)
{
    tc::basic_cookie_jar<TestType> jar(t0, 10s);
    const auto ctx = transcript_hash(5);
    const auto cookie = jar.make(client, ctx, t0);
    // The next call comes 25 s (over two periods) after the last rotation: both secrets are replaced.
    CHECK(jar.verify(cookie, client, ctx, t0 + 25s) == errc::bad_cookie);
    CHECK(jar.epoch() == 1);

    const auto fresh = jar.make(client, ctx, t0 + 26s);
    CHECK_FALSE(jar.verify(fresh, client, ctx, t0 + 5s)); // earlier time: ignored, no rotation
    CHECK(jar.epoch() == 1);
}

TEMPLATE_TEST_CASE("cookie: the 1-byte epoch wraps without reviving old cookies", "[cookie]",
                   TLVCAST_TEST_SUITES)
{
    tc::basic_cookie_jar<TestType> jar(t0, 1s);
    const auto ctx = transcript_hash(6);
    const auto cookie = jar.make(client, ctx, t0);
    auto now = t0;
    for (int i = 0; i < 256; ++i) {
        now += 1s;
        jar.rotate_if_due(now);
    }
    CHECK(jar.epoch() == 0); // same epoch byte as the cookie, different secret
    CHECK(jar.verify(cookie, client, ctx, now) == errc::bad_cookie);
}

TEST_CASE("cookie: set-up errors and context limits", "[cookie]")
{
    CHECK_THROWS_AS(tc::cookie_jar(t0, 0s), std::invalid_argument);
    tc::cookie_jar jar(t0);
    CHECK(jar.rotation_period() == tc::cookie_jar::default_rotation_period);
    std::array<std::byte, 64> max_ctx{};
    std::array<std::byte, 65> too_long{};
    const auto cookie = jar.make(client, max_ctx, t0);
    CHECK_FALSE(jar.verify(cookie, client, max_ctx, t0));
    CHECK_THROWS_AS(jar.make(client, too_long, t0), std::length_error);
    CHECK(jar.verify(cookie, client, too_long, t0) == errc::bad_cookie);
}

TEMPLATE_TEST_CASE("cookie: secrets come from the jar's random source (a seed replays them)", "[cookie][random]",
                   TLVCAST_TEST_SUITES)
{
    using jar_type = tc::basic_cookie_jar<TestType, tc::seeded_random<TestType>>;
    tc::seeded_random<TestType> r1(11), r2(11), r3(12);
    jar_type a(t0, 10s, r1), b(t0, 10s, r2), c(t0, 10s, r3);
    const auto ctx = transcript_hash(1);
    CHECK(a.make(client, ctx, t0) == b.make(client, ctx, t0));
    CHECK(a.make(client, ctx, t0) != c.make(client, ctx, t0));
    // After a rotation (a new draw) too; the other seed's cookie does not verify here.
    CHECK(a.make(client, ctx, t0 + 11s) == b.make(client, ctx, t0 + 11s));
    CHECK(a.verify(c.make(client, ctx, t0 + 11s), client, ctx, t0 + 11s) == errc::bad_cookie);
}
