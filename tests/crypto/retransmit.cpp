// SPDX-License-Identifier: BSL-1.0
// Tests for crypto/retransmit.hpp: a flight's retransmission timer backs off, stops after its tries
// and re-arms at the initial wait.
#include <tlvcast/crypto/retransmit.hpp>

#include <catch2/catch.hpp>

#include <vector>

using namespace std::chrono_literals;
namespace tc = tlvcast::crypto;
using tlvcast::no_timer;
using tlvcast::time_point;

TEST_CASE("retransmit timer: doubles up to max, fires `tries` times, then stops", "[retransmit]")
{
    constexpr tc::retransmit_schedule s{100ms, 300ms, 5};
    static_assert(s.valid() && s.span() == 100ms + 200ms + 300ms + 300ms + 300ms);
    tc::retransmit_timer t;
    CHECK_FALSE(t.armed());
    CHECK_FALSE(t.fire(time_point{} + 1h));
    const time_point t0{};
    t.arm(t0, s);
    CHECK(t.next() == t0 + 100ms);
    CHECK_FALSE(t.fire(t0 + 99ms));
    std::vector<time_point> fired;
    for (time_point now = t0; now < t0 + 10s; now += 1ms)
        if (t.fire(now))
            fired.push_back(now);
    CHECK(fired == std::vector<time_point>{t0 + 100ms, t0 + 300ms, t0 + 600ms, t0 + 900ms, t0 + 1200ms});
    CHECK(t.retransmissions() == 5);
    CHECK(t.next() == no_timer);
    CHECK_FALSE(t.armed());
    // A new flight starts again at the initial wait; stop() ends it.
    t.arm(t0 + 2s, s);
    CHECK(t.next() == t0 + 2s + 100ms);
    CHECK(t.retransmissions() == 0);
    t.stop();
    CHECK_FALSE(t.fire(t0 + 3s));
    CHECK_FALSE(tc::retransmit_schedule{0ms, 1s, 3}.valid());
    CHECK_FALSE(tc::retransmit_schedule{2s, 1s, 3}.valid());
}
