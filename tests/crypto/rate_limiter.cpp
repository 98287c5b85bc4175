// SPDX-License-Identifier: BSL-1.0
// Tests for crypto/rate_limiter.hpp: per-source burst and refill, the global bucket, bounded memory.
#include <tlvcast/crypto/rate_limiter.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>

namespace tc = tlvcast::crypto;
using tlvcast::endpoint;
using namespace std::chrono_literals;

namespace {
const tlvcast::time_point t0{std::chrono::hours(5)};
tc::rate_limits per_source_only(double rate, double burst)
{
    tc::rate_limits l;
    l.per_source_rate = rate;
    l.per_source_burst = burst;
    l.global_rate = 1e9;
    l.global_burst = 1e9;
    return l;
}
int count_allowed(tc::rate_limiter& rl, const endpoint& src, tlvcast::time_point now, int tries)
{
    int n = 0;
    for (int i = 0; i < tries; ++i)
        n += rl.allow(src, now) ? 1 : 0;
    return n;
}
} // namespace

TEST_CASE("rate limiter: a burst, then throttling", "[rate]")
{
    tc::rate_limiter rl(per_source_only(1.0, 5.0));
    const endpoint a{0x0a000001, 1000};
    CHECK(count_allowed(rl, a, t0, 20) == 5);
    CHECK(rl.stats().allowed == 5);
    CHECK(rl.stats().denied_source == 15);
    // Another source has its own bucket.
    CHECK(count_allowed(rl, endpoint{0x0a000002, 1000}, t0, 20) == 5);
    // Same address, other port: another source (the endpoint is the identity on the wire).
    CHECK(count_allowed(rl, endpoint{0x0a000001, 1001}, t0, 1) == 1);
}

TEST_CASE("rate limiter: tokens refill with time, up to the burst", "[rate]")
{
    tc::rate_limiter rl(per_source_only(2.0, 4.0));
    const endpoint a{0x0a000001, 1000};
    CHECK(count_allowed(rl, a, t0, 10) == 4);
    CHECK(count_allowed(rl, a, t0 + 400ms, 10) == 0); // 0.8 tokens: not yet
    CHECK(count_allowed(rl, a, t0 + 500ms, 10) == 1); // 1.0 token
    CHECK(count_allowed(rl, a, t0 + 1500ms, 10) == 2); // 2 more
    CHECK(count_allowed(rl, a, t0 + 1h, 10) == 4);     // capped at the burst
    // A clock that goes back refills nothing and breaks nothing.
    CHECK(count_allowed(rl, a, t0, 10) == 0);
    CHECK(count_allowed(rl, a, t0 + 1h + 500ms, 10) == 1);
}

TEST_CASE("rate limiter: the global bucket caps many well-behaved sources together", "[rate]")
{
    tc::rate_limits l;
    l.per_source_rate = 1;
    l.per_source_burst = 3;
    l.global_rate = 10;
    l.global_burst = 50;
    tc::rate_limiter rl(l);
    int allowed = 0;
    for (std::uint32_t s = 0; s < 200; ++s)
        allowed += rl.allow(endpoint{0xc0a80000 + s, 5000}, t0) ? 1 : 0;
    CHECK(allowed == 50);
    CHECK(rl.stats().denied_global == 150);
    // A refusal by the global bucket did not spend the source's token: source 199 has all 3 later.
    CHECK(count_allowed(rl, endpoint{0xc0a80000 + 199, 5000}, t0 + 1s, 5) == 3); // global refilled by 10
    CHECK(count_allowed(rl, endpoint{0xc0a80000 + 198, 5000}, t0 + 1s, 10) == 3);
    CHECK(count_allowed(rl, endpoint{0xc0a80000 + 197, 5000}, t0 + 1s, 10) == 3);
    CHECK(count_allowed(rl, endpoint{0xc0a80000 + 196, 5000}, t0 + 1s, 10) == 1); // global empty again
}

TEST_CASE("rate limiter: 100,000 spoofed sources cannot grow the table or beat the global limit", "[rate]")
{
    tc::rate_limits l;
    l.per_source_rate = 1;
    l.per_source_burst = 4;
    l.global_rate = 1000;
    l.global_burst = 2000;
    l.max_sources = 1024;
    tc::rate_limiter rl(l);
    const endpoint abuser{0x01020304, 9999};
    int abuser_allowed = 0;
    int allowed = 0;
    auto now = t0;
    for (std::uint32_t i = 0; i < 100000; ++i) {
        now += 10us; // 100,000 requests per second of spoofed traffic, 1 s in all
        allowed += rl.allow(endpoint{0x64000000 + i, static_cast<std::uint16_t>(i)}, now) ? 1 : 0;
        if (i % 10 == 0)
            abuser_allowed += rl.allow(abuser, now) ? 1 : 0;
        REQUIRE(rl.size() <= 1024);
    }
    CHECK(rl.size() == 1024);
    CHECK(rl.stats().evictions >= 100000 - 1024);
    // Global: at most the burst plus one second of refill, whatever the number of sources.
    CHECK(allowed + abuser_allowed <= 2000 + 1000 + 1);
    CHECK(allowed >= 2000); // and the budget was used, not refused wholesale
    // The abuser sent 10,000 requests; it stayed in the table (it is always recent) and so stayed
    // throttled to its burst plus about one second at 1/s, instead of being evicted and reset.
    CHECK(abuser_allowed <= 4 + 2);
}

TEST_CASE("rate limiter: an idle source is evicted first, an active one is kept", "[rate]")
{
    tc::rate_limits l = per_source_only(0.001, 1);
    l.max_sources = 3;
    tc::rate_limiter rl(l);
    const endpoint a{1, 1}, b{2, 2}, c{3, 3}, d{4, 4};
    CHECK(rl.allow(a, t0));
    CHECK(rl.allow(b, t0));
    CHECK(rl.allow(c, t0));
    CHECK_FALSE(rl.allow(a, t0 + 1s)); // a is throttled and now the most recent
    CHECK(rl.allow(d, t0 + 2s));       // evicts b, the least recently seen
    CHECK(rl.stats().evictions == 1);
    CHECK_FALSE(rl.allow(a, t0 + 3s)); // a kept: still throttled
    CHECK(rl.allow(b, t0 + 4s));       // b was forgotten: a fresh bucket (evicts c)
    CHECK(rl.size() == 3);
}

TEST_CASE("rate limiter: invalid limits are set-up errors", "[rate]")
{
    auto with = [](auto change) {
        tc::rate_limits l;
        change(l);
        return l;
    };
    CHECK_THROWS_AS(tc::rate_limiter(with([](auto& l) { l.per_source_rate = 0; })), std::invalid_argument);
    CHECK_THROWS_AS(tc::rate_limiter(with([](auto& l) { l.global_rate = -1; })), std::invalid_argument);
    CHECK_THROWS_AS(tc::rate_limiter(with([](auto& l) { l.per_source_burst = 0.5; })), std::invalid_argument);
    CHECK_THROWS_AS(tc::rate_limiter(with([](auto& l) { l.max_sources = 0; })), std::invalid_argument);
    CHECK_NOTHROW(tc::rate_limiter{});
}

TEST_CASE("rate limiter: a prefix bucket (/24, /64) caps many addresses of one network", "[rate]")
{
    CHECK(tc::network_prefix(endpoint{0x0a0001feu, 4000}) == endpoint{0x0a000100u, 0});
    const auto v6 = endpoint::parse("[2001:db8:1:2:3:4:5:6]:443");
    REQUIRE(v6);
    CHECK(tc::network_prefix(*v6) == *endpoint::parse("2001:db8:1:2::"));
    tc::rate_limits l = per_source_only(1, 2);
    l.per_prefix_rate = 1;
    l.per_prefix_burst = 5;
    tc::rate_limiter rl(l);
    int allowed = 0;
    for (std::uint32_t s = 0; s < 100; ++s)
        allowed += rl.allow(endpoint{0x0a000100u + s, 5000}, t0) ? 1 : 0;
    CHECK(allowed == 5); // the /24's burst, though each address has 2
    CHECK(rl.stats().denied_prefix == 95);
    CHECK(rl.allow(endpoint{0x0a000200u, 5000}, t0)); // the next /24 has its own
    CHECK(rl.prefixes() == 2);
    CHECK_THROWS_AS(tc::rate_limiter([] {
                        tc::rate_limits b;
                        b.per_prefix_rate = 1;
                        b.per_prefix_burst = 0;
                        return b;
                    }()),
                    std::invalid_argument);
}
