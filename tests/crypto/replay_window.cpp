// SPDX-License-Identifier: BSL-1.0
// Tests for crypto/replay_window.hpp: RFC 4303-style anti-replay window semantics at its edges.
#include <tlvcast/crypto/replay_window.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <vector>

namespace tc = tlvcast::crypto;
using tlvcast::errc;

TEST_CASE("replay window: in-order numbers are accepted once each", "[replay]")
{
    tc::replay_window w;
    CHECK(w.empty());
    for (std::uint64_t s = 0; s < 5000; ++s) {
        REQUIRE_FALSE(w.check(s));
        REQUIRE_FALSE(w.accept(s));
        REQUIRE(w.check(s) == errc::replayed);
        REQUIRE(w.accept(s) == errc::replayed);
    }
    CHECK_FALSE(w.empty());
    CHECK(w.highest() == 4999);
}

TEMPLATE_TEST_CASE_SIG("replay window: reordering inside the window is accepted exactly once", "[replay]",
                       ((std::size_t B), B), 64, 128, 1024)
{
    tc::basic_replay_window<B> w;
    // Blocks of B numbers, each block delivered in a shuffled order: everything within reach.
    std::mt19937_64 rng(42);
    std::vector<std::uint64_t> order;
    for (std::uint64_t base = 1000; base < 1000 + 8 * B; base += B) {
        order.clear();
        for (std::uint64_t i = 0; i < B; ++i)
            order.push_back(base + i);
        std::shuffle(order.begin(), order.end(), rng);
        // The largest arrives first, so all the others are behind it but inside the window.
        std::iter_swap(order.begin(), std::max_element(order.begin(), order.end()));
        for (auto s : order) {
            INFO(s);
            REQUIRE_FALSE(w.check(s));
            REQUIRE_FALSE(w.accept(s));
        }
        for (auto s : order)
            REQUIRE(w.check(s) == errc::replayed); // duplicates, all of them
    }
}

TEMPLATE_TEST_CASE_SIG("replay window: the edge is exactly Bits-1 behind the highest", "[replay]",
                       ((std::size_t B), B), 64, 192, 1024)
{
    tc::basic_replay_window<B> w;
    const std::uint64_t top = 10 * B + 17;
    REQUIRE_FALSE(w.accept(top));
    CHECK_FALSE(w.check(top - (B - 1))); // oldest number still inside
    CHECK(w.check(top - B) == errc::replayed); // first number outside: too old
    CHECK(w.check(0) == errc::replayed);
    CHECK_FALSE(w.accept(top - (B - 1)));
    CHECK(w.accept(top - (B - 1)) == errc::replayed);
    CHECK(w.accept(top - B) == errc::replayed);

    // Move up by one: the former edge falls out, the next one becomes the edge.
    REQUIRE_FALSE(w.accept(top + 1));
    CHECK(w.check(top - (B - 1)) == errc::replayed);
    CHECK_FALSE(w.check(top + 1 - (B - 1)));
    CHECK(w.check(top) == errc::replayed);
}

TEST_CASE("replay window: too-old numbers are rejected, huge jumps forget the past", "[replay]")
{
    tc::replay_window w;
    REQUIRE_FALSE(w.accept(5));
    REQUIRE_FALSE(w.accept(3));
    const std::uint64_t far = std::uint64_t{1} << 62;
    REQUIRE_FALSE(w.accept(far));
    CHECK(w.highest() == far);
    CHECK(w.check(5) == errc::replayed); // too old now
    CHECK(w.check(6) == errc::replayed);
    CHECK_FALSE(w.check(far - 1));
    CHECK_FALSE(w.check(far - 1023));
    CHECK(w.check(far - 1024) == errc::replayed);
    // Bits that were set before the jump must not leak into the new window at the same ring positions.
    static_assert((std::uint64_t{1} << 62) % 1024 == 0);
    CHECK_FALSE(w.check(far - 1021)); // same ring positions as 3 and 5, which were set before the jump
    CHECK_FALSE(w.check(far - 1019));
    for (std::uint64_t s = far - 1023; s < far; ++s)
        REQUIRE_FALSE(w.check(s));

    // The largest number there is, then nothing above it can exist; below it the window still works.
    const auto max = std::numeric_limits<std::uint64_t>::max();
    REQUIRE_FALSE(w.accept(max));
    CHECK(w.check(max) == errc::replayed);
    CHECK_FALSE(w.check(max - 1));
    CHECK(w.check(far) == errc::replayed);
}

TEST_CASE("replay window: a jump shorter than the window keeps the bits still inside", "[replay]")
{
    tc::basic_replay_window<128> w;
    for (std::uint64_t s = 100; s < 200; s += 2) // evens accepted, odds missing
        REQUIRE_FALSE(w.accept(s));
    REQUIRE_FALSE(w.accept(250)); // jump of 52: window is now [123, 250]
    for (std::uint64_t s = 123; s < 200; ++s) {
        INFO(s);
        CHECK(static_cast<bool>(w.check(s)) == (s % 2 == 0));
    }
    for (std::uint64_t s = 200; s < 250; ++s)
        CHECK_FALSE(w.check(s)); // cleared by the slide, never accepted
    CHECK(w.check(122) == errc::replayed);
}

TEST_CASE("replay window: check is pure and accept only moves on acceptable numbers", "[replay]")
{
    tc::replay_window w;
    // Checking (e.g. for a record that then fails authentication) changes nothing.
    CHECK_FALSE(w.check(1000));
    CHECK(w.empty());
    REQUIRE_FALSE(w.accept(10));
    CHECK_FALSE(w.check(5000));
    CHECK(w.highest() == 10);
    CHECK_FALSE(w.accept(9));
    // A refused accept leaves the state as it was.
    CHECK(w.accept(9) == errc::replayed);
    CHECK(w.highest() == 10);
    CHECK_FALSE(w.check(8));
    w.reset();
    CHECK(w.empty());
    CHECK_FALSE(w.check(9));
}

TEMPLATE_TEST_CASE_SIG("replay window agrees with a set-based model on random traffic", "[replay]",
                       ((std::size_t B), B), 64, 256)
{
    tc::basic_replay_window<B> w;
    std::set<std::uint64_t> seen;
    std::uint64_t top = 0;
    bool any = false;
    std::mt19937_64 rng(7);
    for (int i = 0; i < 20000; ++i) {
        std::uint64_t s;
        switch (rng() % 4) {
        case 0: s = top + rng() % 8; break;                       // small step forward
        case 1: s = top - std::min<std::uint64_t>(top, rng() % (B + 8)); break; // near the edge
        case 2: s = top + rng() % (3 * B); break;                 // jump
        default: s = top - std::min<std::uint64_t>(top, rng() % 16); break;
        }
        const bool model_ok = !any || s > top || (top - s < B && !seen.count(s));
        REQUIRE(static_cast<bool>(w.check(s)) == !model_ok);
        if (rng() % 3 != 0) {
            REQUIRE(static_cast<bool>(w.accept(s)) == !model_ok);
            if (model_ok) {
                seen.insert(s);
                top = any ? std::max(top, s) : s;
                any = true;
            }
        }
    }
}
