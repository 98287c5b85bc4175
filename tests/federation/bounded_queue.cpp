// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/federation/detail/bounded_queue.hpp: bounds in entries and bytes, FIFO
// order, close, and two threads.
#include <tlvcast/federation/detail/bounded_queue.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

using tlvcast::federation::detail::bounded_queue;

namespace {
std::vector<std::byte> bytes(std::size_t n, int v) { return std::vector<std::byte>(n, std::byte(v)); }
} // namespace

TEST_CASE("bounded_queue: FIFO within both bounds, a full queue refuses without waiting", "[federation][queue]")
{
    bounded_queue q(3, 100);
    CHECK(q.try_push(bytes(10, 1)));
    CHECK(q.try_push(bytes(20, 2)));
    CHECK(q.try_push(bytes(30, 3)));
    CHECK_FALSE(q.try_push(bytes(1, 4))); // entries
    std::vector<std::byte> out;
    REQUIRE(q.pop(out));
    CHECK(out == bytes(10, 1));
    CHECK_FALSE(q.try_push(bytes(51, 5))); // bytes: 50 + 51 > 100
    CHECK(q.try_push(bytes(50, 6)));
    for (const auto& want : {bytes(20, 2), bytes(30, 3), bytes(50, 6)}) {
        REQUIRE(q.pop(out));
        CHECK(out == want);
    }
    CHECK_FALSE(q.pop(out));
    const auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(q.pop(out, std::chrono::milliseconds(20))); // waits, bounded
    CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(15));
    q.close();
    CHECK(q.closed());
    CHECK_FALSE(q.try_push(bytes(1, 7)));
}

TEST_CASE("bounded_queue: a consumer thread gets everything a producer pushed, in order", "[federation][queue]")
{
    bounded_queue q(16, 1 << 20);
    constexpr int n = 2000;
    std::vector<int> got;
    std::thread consumer([&] {
        std::vector<std::byte> out;
        while (got.size() < static_cast<std::size_t>(n))
            if (q.pop(out, std::chrono::milliseconds(100)))
                got.push_back(std::to_integer<int>(out[0]) + 256 * std::to_integer<int>(out[1]));
            else if (q.closed())
                break;
    });
    for (int i = 0; i < n;) // a full queue is the producer's to handle: here it retries
        if (q.try_push(std::vector<std::byte>{std::byte(i & 0xff), std::byte(i >> 8)}))
            ++i;
        else
            std::this_thread::yield();
    consumer.join();
    REQUIRE(got.size() == static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
        REQUIRE(got[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("bounded_queue: push waits for room, bounded; close wakes it; an entry over the byte bound never waits",
          "[federation][queue]")
{
    bounded_queue q(2, 100);
    REQUIRE(q.try_push(bytes(10, 1)));
    REQUIRE(q.try_push(bytes(10, 2)));
    auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(q.push(bytes(10, 3), 0, std::chrono::milliseconds(20))); // full: waits, then refuses
    CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(15));
    t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(q.push(bytes(101, 4), 0, std::chrono::seconds(10))); // can never fit: at once
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
    std::thread consumer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        std::vector<std::byte> out;
        q.pop(out);
    });
    CHECK(q.push(bytes(10, 5), 7, std::chrono::seconds(10))); // room once the consumer took one
    consumer.join();
    std::vector<std::byte> out;
    std::uint64_t tag = 0;
    REQUIRE(q.pop(out, std::chrono::milliseconds(0), &tag));
    CHECK(out == bytes(10, 2));
    REQUIRE(q.pop(out, std::chrono::milliseconds(0), &tag));
    CHECK((out == bytes(10, 5) && tag == 7));
    REQUIRE(q.try_push(bytes(10, 6)));
    REQUIRE(q.try_push(bytes(10, 7)));
    std::thread closer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        q.close();
    });
    t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(q.push(bytes(10, 8), 0, std::chrono::seconds(10))); // closed: gives up
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
    closer.join();
}
