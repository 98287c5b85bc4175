// SPDX-License-Identifier: BSL-1.0
// Tests of the sans-I/O fault model and queue: rates, determinism, reorder, delay, bounds, on a virtual clock.
#include <tlvcast/transport/fault_model.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <vector>

using namespace std::chrono_literals;
using tlvcast::datagram_batch;
using tlvcast::endpoint;
using tlvcast::time_point;
using tlvcast::transport::fault_model;
using tlvcast::transport::fault_options;
using tlvcast::transport::fault_queue;

namespace {

const endpoint peer{0x7f000001, 9000};

std::vector<std::byte> numbered(std::uint32_t i)
{
    return {std::byte(i >> 24), std::byte(i >> 16), std::byte(i >> 8), std::byte(i)};
}

std::uint32_t number_of(std::span<const std::byte> b)
{
    REQUIRE(b.size() == 4);
    return std::to_integer<std::uint32_t>(b[0]) << 24 | std::to_integer<std::uint32_t>(b[1]) << 16 |
           std::to_integer<std::uint32_t>(b[2]) << 8 | std::to_integer<std::uint32_t>(b[3]);
}

/// Pushes n numbered datagrams through a queue on a virtual clock (1 ms apart), then lets every held
/// one out; returns the numbers in the order they left.
std::vector<std::uint32_t> simulate(fault_queue& q, std::uint32_t n)
{
    std::vector<std::uint32_t> order;
    datagram_batch out;
    time_point now{};
    const auto collect = [&] {
        for (std::size_t i = 0; i < out.size(); ++i)
            order.push_back(number_of(out[i].bytes));
        out.clear();
    };
    for (std::uint32_t i = 0; i < n; ++i) {
        now += 1ms;
        q.poll(now, out);
        collect();
        q.submit(peer, numbered(i), now, out);
        collect();
    }
    while (q.next_wake() != tlvcast::no_timer) {
        now = std::max(now, q.next_wake());
        q.poll(now, out);
        collect();
    }
    return order;
}

} // namespace

TEST_CASE("fault_model: rates match the probabilities", "[fault]")
{
    fault_options o;
    o.seed = 42;
    o.drop = 0.3;
    o.duplicate = 0.1;
    o.reorder = 0.05;
    o.delay = 0.2;
    o.max_delay = 10ms;
    fault_model m(o);
    constexpr int n = 100'000;
    int drops = 0, dups = 0, reorders = 0, delays = 0;
    tlvcast::duration max_seen{0};
    for (int i = 0; i < n; ++i) {
        const auto d = m.decide({});
        drops += d.drop;
        dups += d.duplicate;
        reorders += d.reorder;
        delays += d.delay.count() > 0;
        max_seen = std::max(max_seen, d.delay);
    }
    // Binomial standard deviation is at most 0.0015 here; 0.01 is more than six of them.
    CHECK(std::abs(drops / double(n) - 0.3) < 0.01);
    CHECK(std::abs(dups / double(n) - 0.1) < 0.01);
    CHECK(std::abs(reorders / double(n) - 0.05) < 0.01);
    CHECK(std::abs(delays / double(n) - 0.2) < 0.01);
    CHECK(max_seen <= 10ms);
    CHECK(max_seen > 9ms); // the whole range is used
}

TEST_CASE("fault_model: no faults by default, all faults at probability 1", "[fault]")
{
    fault_model none(fault_options{});
    fault_options all;
    all.drop = all.duplicate = all.reorder = all.delay = 1.0;
    fault_model every(all);
    for (int i = 0; i < 1000; ++i) {
        const auto a = none.decide({});
        REQUIRE_FALSE((a.drop || a.duplicate || a.reorder || a.delay.count() != 0));
        const auto b = every.decide({});
        REQUIRE((b.drop && b.duplicate && b.reorder));
    }
}

TEST_CASE("fault_model: invalid options are set-up errors", "[fault]")
{
    fault_options o;
    o.drop = 1.5;
    CHECK_THROWS_AS(fault_model(o), std::invalid_argument);
    o.drop = -0.1;
    CHECK_THROWS_AS(fault_queue(o), std::invalid_argument);
    o.drop = std::nan("");
    CHECK_THROWS_AS(fault_model(o), std::invalid_argument);
    o.drop = 0;
    o.max_delay = -1ms;
    CHECK_THROWS_AS(fault_model(o), std::invalid_argument);
}

TEST_CASE("fault_queue: the same seed gives the same network, another seed another", "[fault]")
{
    fault_options o;
    o.seed = 7;
    o.drop = 0.1;
    o.duplicate = 0.1;
    o.reorder = 0.1;
    o.delay = 0.1;
    o.max_delay = 5ms;
    fault_queue q1(o), q2(o);
    const auto r1 = simulate(q1, 2000);
    const auto r2 = simulate(q2, 2000);
    CHECK(r1 == r2);
    o.seed = 8;
    fault_queue q3(o);
    CHECK(simulate(q3, 2000) != r1);
    // Counters agree with what came out: every non-dropped datagram once, duplicates twice.
    const auto& c = q1.counters();
    CHECK(c.submitted == 2000);
    CHECK(r1.size() == c.submitted - c.dropped + c.duplicated);
    CHECK(c.discarded == 0);
}

TEST_CASE("fault_queue: one probability does not shift the others' random stream", "[fault]")
{
    fault_options a;
    a.seed = 99;
    a.drop = 0.2;
    fault_options b = a;
    b.duplicate = 0.3; // drops must fall on the same datagrams
    fault_model ma(a), mb(b);
    for (int i = 0; i < 5000; ++i)
        REQUIRE(ma.decide({}).drop == mb.decide({}).drop);
}

TEST_CASE("fault_queue: reordering sends a held datagram right after the next one", "[fault]")
{
    fault_options o;
    o.seed = 3;
    o.reorder = 0.3;
    fault_queue q(o);
    const auto order = simulate(q, 1000);
    REQUIRE(order.size() == 1000); // nothing lost
    std::vector<std::uint32_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (std::uint32_t i = 0; i < 1000; ++i)
        REQUIRE(sorted[i] == i);
    int inversions = 0;
    for (std::size_t i = 1; i < order.size(); ++i)
        inversions += order[i] < order[i - 1];
    CHECK(inversions > 100);
    CHECK(q.counters().reordered > 200);

    // By hand: 0 is held, goes out right after 1.
    fault_options always;
    always.reorder = 1.0;
    always.reorder_timeout = 5ms;
    fault_queue r(always);
    datagram_batch out;
    const time_point t0{};
    r.submit(peer, numbered(0), t0, out);
    CHECK(out.empty());
    CHECK(r.held() == 1);
    CHECK(r.next_wake() == t0 + 5ms);
    r.poll(t0 + 4ms, out);
    CHECK(out.empty());
    r.poll(t0 + 5ms, out); // nobody followed: the timeout lets it out
    REQUIRE(out.size() == 1);
    CHECK(number_of(out[0].bytes) == 0);
    CHECK(r.next_wake() == tlvcast::no_timer);
}

TEST_CASE("fault_queue: delay holds a datagram until its time on the virtual clock", "[fault]")
{
    fault_options o;
    o.seed = 11;
    o.delay = 1.0;
    o.max_delay = 50ms;
    fault_queue q(o);
    datagram_batch out;
    const time_point t0{};
    q.submit(peer, numbered(1), t0, out);
    CHECK(out.empty());
    const time_point due = q.next_wake();
    REQUIRE(due != tlvcast::no_timer);
    CHECK(due <= t0 + 50ms);
    if (due > t0) {
        q.poll(due - 1ns, out);
        CHECK(out.empty());
    }
    q.poll(due, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].to == peer);
    CHECK(number_of(out[0].bytes) == 1);
    CHECK(q.counters().delayed == 1);
}

TEST_CASE("fault_queue: held datagrams are bounded", "[fault]")
{
    fault_options o;
    o.delay = 1.0;
    o.max_delay = 1s;
    o.max_held = 4;
    fault_queue q(o);
    datagram_batch out;
    for (std::uint32_t i = 0; i < 100; ++i) {
        q.submit(peer, numbered(i), time_point{}, out);
        REQUIRE(q.held() <= 4);
    }
    // Those that could not be held went out at once, unfaulted; at most max_held wait.
    CHECK(q.counters().hold_full + q.counters().delayed == 100);
    CHECK(out.size() + q.held() == 100);
    CHECK(q.held() >= 3); // (a zero delay is possible but not for most of them)
    q.clear();
    CHECK(q.held() == 0);
    CHECK(q.counters().discarded >= 3);
}

TEST_CASE("fault_queue: duplicates come out twice", "[fault]")
{
    fault_options o;
    o.duplicate = 1.0;
    fault_queue q(o);
    datagram_batch out;
    q.submit(peer, numbered(5), time_point{}, out);
    REQUIRE(out.size() == 2);
    CHECK(number_of(out[0].bytes) == 5);
    CHECK(number_of(out[1].bytes) == 5);
    CHECK(q.counters().duplicated == 1);
}
