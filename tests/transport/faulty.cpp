// SPDX-License-Identifier: BSL-1.0
// Tests of basic_faulty over the in-memory transport: drop rate, duplicates, reorder, delay, determinism.
#include <tlvcast/transport/faulty.hpp>

#include "transport/test_util.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

using namespace std::chrono_literals;
using tlvcast::endpoint;
using tlvcast::transport::fault_options;
using tlvcast::transport::faulty_memory_transport;
using tlvcast::transport::memory_hub;
using tlvcast::transport::memory_options;
using tlvcast::transport::memory_transport;
using tlvcast::transport::test::run_until;

namespace {

static_assert(tlvcast::transport::transport<faulty_memory_transport>);

/// Collects the 4-byte sequence numbers a memory_transport receives, in arrival order.
struct sink {
    sink(memory_hub& hub, asio::io_context& io) : t(hub, io, big_queue()) { start(); }

    static memory_options big_queue()
    {
        memory_options o;
        o.queue_limit = 100'000;
        return o;
    }

    void start()
    {
        t.async_receive(buf, from, [this](std::error_code ec, std::size_t n) {
            if (ec)
                return;
            REQUIRE(n == 4);
            got.push_back(std::to_integer<std::uint32_t>(buf[0]) << 24 | std::to_integer<std::uint32_t>(buf[1]) << 16 |
                          std::to_integer<std::uint32_t>(buf[2]) << 8 | std::to_integer<std::uint32_t>(buf[3]));
            start();
        });
    }

    memory_transport t;
    std::byte buf[8];
    endpoint from;
    std::vector<std::uint32_t> got;
};

void send_numbered(faulty_memory_transport& f, const endpoint& to, std::uint32_t n)
{
    for (std::uint32_t i = 0; i < n; ++i) {
        const std::byte b[4] = {std::byte(i >> 24), std::byte(i >> 16), std::byte(i >> 8), std::byte(i)};
        std::error_code ec;
        f.send(to, b, ec);
        REQUIRE_FALSE(ec);
    }
}

} // namespace

TEST_CASE("faulty: drop rate within tolerance, counted", "[faulty]")
{
    asio::io_context io;
    memory_hub hub;
    sink rx(hub, io);
    fault_options o;
    o.seed = 2024;
    o.drop = 0.25;
    faulty_memory_transport tx(o, hub, io);
    constexpr std::uint32_t n = 20'000;
    send_numbered(tx, rx.t.local_endpoint(), n);
    const auto expected = n - tx.counters().dropped;
    REQUIRE(run_until(io, [&] { return rx.got.size() == expected; }));
    io.run_for(10ms);
    CHECK(rx.got.size() == expected);
    // Binomial sd = sqrt(0.25 * 0.75 / 20000) ~ 0.003; tolerance 0.015 is five of them.
    CHECK(std::abs(static_cast<double>(tx.counters().dropped) / n - 0.25) < 0.015);
    CHECK(tx.counters().submitted == n);
    CHECK(std::is_sorted(rx.got.begin(), rx.got.end())); // no reorder asked, none happened
}

TEST_CASE("faulty: duplicates arrive twice", "[faulty]")
{
    asio::io_context io;
    memory_hub hub;
    sink rx(hub, io);
    fault_options o;
    o.seed = 5;
    o.duplicate = 0.2;
    faulty_memory_transport tx(o, hub, io);
    constexpr std::uint32_t n = 5000;
    send_numbered(tx, rx.t.local_endpoint(), n);
    const auto dups = tx.counters().duplicated;
    CHECK(std::abs(static_cast<double>(dups) / n - 0.2) < 0.03);
    REQUIRE(run_until(io, [&] { return rx.got.size() == n + dups; }));
    std::vector<int> seen(n, 0);
    for (auto v : rx.got)
        ++seen[v];
    CHECK(std::count(seen.begin(), seen.end(), 2) == static_cast<std::ptrdiff_t>(dups));
    CHECK(std::count(seen.begin(), seen.end(), 1) == static_cast<std::ptrdiff_t>(n - dups));
}

TEST_CASE("faulty: reorder is observed, nothing lost", "[faulty]")
{
    asio::io_context io;
    memory_hub hub;
    sink rx(hub, io);
    fault_options o;
    o.seed = 77;
    o.reorder = 0.2;
    o.reorder_timeout = 5ms;
    faulty_memory_transport tx(o, hub, io);
    constexpr std::uint32_t n = 2000;
    send_numbered(tx, rx.t.local_endpoint(), n);
    // The last one may wait for its timeout on the timer.
    REQUIRE(run_until(io, [&] { return rx.got.size() == n; }));
    int inversions = 0;
    for (std::size_t i = 1; i < rx.got.size(); ++i)
        inversions += rx.got[i] < rx.got[i - 1];
    CHECK(inversions > 200);
    CHECK(tx.counters().reordered > 300);
    auto sorted = rx.got;
    std::sort(sorted.begin(), sorted.end());
    CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
    CHECK(tx.held() == 0);
}

TEST_CASE("faulty: delayed datagrams go out from the timer", "[faulty]")
{
    asio::io_context io;
    memory_hub hub;
    sink rx(hub, io);
    fault_options o;
    o.seed = 9;
    o.delay = 1.0;
    // Long enough that a loaded machine (the sanitizer builds' tests run beside compiles) sends the
    // 50 and polls before more than a few delays have run out: with 30 ms, 17 were already due.
    o.max_delay = 300ms;
    faulty_memory_transport tx(o, hub, io);
    const auto start = std::chrono::steady_clock::now();
    send_numbered(tx, rx.t.local_endpoint(), 50);
    CHECK(tx.held() > 40);
    io.poll();
    CHECK(rx.got.size() < 10); // (a delay can be ~0 for a few)
    REQUIRE(run_until(io, [&] { return rx.got.size() == 50; }));
    CHECK(std::chrono::steady_clock::now() - start >= 150ms); // the longest delays were really waited
    CHECK(tx.counters().delayed == 50);
    CHECK(tx.held() == 0);
    CHECK(tx.late_send_errors() == 0);
}

TEST_CASE("faulty: the same seed replays the same faults", "[faulty]")
{
    fault_options o;
    o.seed = 1234;
    o.drop = 0.1;
    o.duplicate = 0.1;
    o.reorder = 0.1;
    o.reorder_timeout = 2ms;
    const auto run = [&](const fault_options& opt) {
        asio::io_context io;
        memory_hub hub;
        sink rx(hub, io);
        faulty_memory_transport tx(opt, hub, io);
        send_numbered(tx, rx.t.local_endpoint(), 3000);
        const auto expected = 3000 - tx.counters().dropped + tx.counters().duplicated;
        REQUIRE(run_until(io, [&] { return rx.got.size() == expected; }));
        return rx.got;
    };
    const auto a = run(o);
    CHECK(run(o) == a);
    o.seed = 4321;
    CHECK(run(o) != a);
}

TEST_CASE("faulty: batch send, close discards held datagrams", "[faulty]")
{
    asio::io_context io;
    memory_hub hub;
    sink rx(hub, io);
    fault_options o;
    o.delay = 1.0;
    o.max_delay = 10s; // nothing comes out during the test
    faulty_memory_transport tx(o, hub, io);
    tlvcast::datagram_batch batch;
    const std::byte b[4]{};
    for (int i = 0; i < 10; ++i)
        batch.push(rx.t.local_endpoint(), b);
    std::error_code ec;
    CHECK(tx.send(batch, ec) == 10);
    CHECK_FALSE(ec);
    CHECK(tx.held() == 10);
    tx.close();
    CHECK(tx.held() == 0);
    CHECK(tx.counters().discarded == 10);
    io.run_for(20ms); // the cancelled timer does nothing
    CHECK(rx.got.empty());
    tx.send(rx.t.local_endpoint(), b, ec); // the wrapped transport is closed
    CHECK(ec == asio::error::bad_descriptor);
}

TEST_CASE("faulty: destroyed with a pending timer, the handler touches nothing", "[faulty]")
{
    asio::io_context io;
    memory_hub hub;
    sink rx(hub, io);
    fault_options o;
    o.delay = 1.0;
    o.max_delay = 5ms;
    {
        faulty_memory_transport tx(o, hub, io);
        send_numbered(tx, rx.t.local_endpoint(), 10);
    }
    io.run_for(30ms); // ASan would report a use after free here
    CHECK(rx.got.empty());
}

TEST_CASE("faulty: receives through the wrapped transport", "[faulty]")
{
    asio::io_context io;
    memory_hub hub;
    faulty_memory_transport a(fault_options{}, hub, io);
    memory_transport b(hub, io);
    std::error_code ec;
    const std::byte msg[3] = {std::byte{1}, std::byte{2}, std::byte{3}};
    b.send(a.local_endpoint(), msg, ec);
    std::byte buf[8];
    endpoint from;
    std::size_t got = 0;
    a.async_receive(buf, from, [&](std::error_code e, std::size_t n) {
        REQUIRE_FALSE(e);
        got = n;
    });
    REQUIRE(run_until(io, [&] { return got == 3; }));
    CHECK(from == b.local_endpoint());
}
