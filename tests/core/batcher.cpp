// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/core/batcher.hpp and core/detail/batch_buffer.hpp: small messages
// gathered for a latency bound, when full, or on flush; bounded; none lost once accepted.
#include <tlvcast/core/batcher.hpp>

#include "core/client_fixture.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <optional>
#include <thread>
#include <string>
#include <vector>

using namespace tlvcast;
using namespace std::chrono_literals;
using test::code_of;
using test::fixture;
using batcher = core::basic_batcher<test::mem_client>;

namespace {

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

// n clients (0 sends, 1 receives, both registered), a relay with one worker (it keeps the order).
struct members : fixture {
    explicit members(std::size_t n = 2) : fixture(n, {}, 1)
    {
        for (std::size_t i = 0; i < 2; ++i)
            REQUIRE_FALSE(code_of(clients[i]->async_register(asio::use_future)));
    }
};

core::batch_options batching(duration latency, std::size_t max_messages = 1024, std::size_t full_bytes = 8192)
{
    core::batch_options o;
    o.latency = latency;
    o.max_messages = max_messages;
    o.full_bytes = full_bytes;
    return o;
}

// The next message event at client i within `limit`, or none (then a receive stays pending: the
// test's last call).
std::optional<std::string> message_within(fixture& fx, std::size_t i, std::chrono::milliseconds limit)
{
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        auto f = fx.clients[i]->async_receive(asio::use_future);
        if (f.wait_until(end) != std::future_status::ready)
            return std::nullopt; // the receive stays pending: the fixture's close completes it
        auto ev = f.get();
        if (ev.what == core::client_event::kind::message)
            return ev.text;
    }
    return std::nullopt;
}

} // namespace

TEST_CASE("batch_buffer: bounded in bytes and count, views in order, reused", "[batcher]")
{
    core::detail::batch_buffer b(10, 3);
    CHECK(b.empty());
    CHECK(b.append(bytes_of("abcd")));
    CHECK(b.append(bytes_of("")));
    CHECK_FALSE(b.append(bytes_of("1234567"))); // 4 + 7 > 10: nothing changed
    CHECK(b.append(bytes_of("efghij")));
    CHECK(b.bytes() == 10);
    CHECK_FALSE(b.append(bytes_of(""))); // three messages already
    CHECK(b.full(1000));
    const auto v = b.views();
    REQUIRE(v.size() == 3);
    CHECK(std::string(reinterpret_cast<const char*>(v[0].data()), v[0].size()) == "abcd");
    CHECK(v[1].empty());
    CHECK(std::string(reinterpret_cast<const char*>(v[2].data()), v[2].size()) == "efghij");
    b.clear();
    CHECK((b.empty() && b.bytes() == 0 && !b.full(5)));
    CHECK(b.append(bytes_of("xyz")));
    CHECK(b.full(3));
    CHECK_FALSE(b.full(4));
}

TEST_CASE("batcher: the latency bound sends what waits without a flush", "[batcher][client]")
{
    members fx;
    batcher b(*fx.clients[0], batching(20ms));
    for (const char* m : {"one", "two", "three"})
        REQUIRE_FALSE(code_of(b.async_post(std::string_view(m), asio::use_future)));
    for (const char* m : {"one", "two", "three"})
        CHECK(message_within(fx, 1, 10s) == std::string(m));
    CHECK(b.counters().messages == 3);
    CHECK(b.counters().refused == 0);
    REQUIRE_FALSE(code_of(b.async_flush(asio::use_future)));
}

TEST_CASE("batcher: a full batch leaves at once; below full nothing leaves before the flush", "[batcher][client]")
{
    members fx;
    batcher b(*fx.clients[0], batching(duration::max(), 1024, 9)); // only when full (three of 3 bytes) or flushed
    for (const char* m : {"aaa", "bbb", "ccc"})
        REQUIRE_FALSE(code_of(b.async_post(std::string_view(m), asio::use_future)));
    for (const char* m : {"aaa", "bbb", "ccc"})
        CHECK(message_within(fx, 1, 10s) == std::string(m));
    CHECK(b.counters().batches == 1);
    REQUIRE_FALSE(code_of(b.async_post(std::string_view("ddd"), asio::use_future)));
    std::this_thread::sleep_for(300ms); // not full, no bound: it waits
    CHECK(b.counters().batches == 1);
    CHECK(fx.clients[0]->engine().counters().get(core::client_counter::messages_sent) == 3);
    REQUIRE_FALSE(code_of(b.async_flush(asio::use_future)));
    CHECK(message_within(fx, 1, 10s) == std::string("ddd"));
    CHECK(b.counters().batches == 2);
}

TEST_CASE("batcher: bounded: a post finding both batches full is refused (would_block), none accepted is lost",
          "[batcher][client]")
{
    members fx;
    batcher b(*fx.clients[0], batching(duration::max(), 2));
    // Ten posts queued on the io_context's one thread before any of them runs: the first two fill
    // a batch that is sent (its completion queued behind the posts), the next two fill the next.
    std::vector<std::error_code> results(10);
    std::promise<void> queued;
    asio::post(fx.io, [&] {
        for (int i = 0; i < 10; ++i)
            b.async_post(std::string_view(std::to_string(i)), [&results, i](std::error_code ec) { results[i] = ec; });
        queued.set_value();
    });
    queued.get_future().get();
    REQUIRE_FALSE(code_of(b.async_flush(asio::use_future)));
    for (int i = 0; i < 10; ++i)
        CHECK(results[i] == (i < 4 ? std::error_code{} : make_error_code(errc::would_block)));
    for (int i = 0; i < 4; ++i)
        CHECK(message_within(fx, 1, 10s) == std::to_string(i));
    CHECK(b.counters().messages == 4);
    CHECK(b.counters().refused == 6);
}

TEST_CASE("batcher: many messages in order, none lost; too large refused; a client that cannot send fails the flush",
          "[batcher][client]")
{
    members fx(3);
    batcher b(*fx.clients[0], batching(2ms, 8, 40));
    int sent = 0;
    for (int i = 0; i < 200 && sent < 200;) {
        const std::error_code ec = code_of(b.async_post(std::string_view("m" + std::to_string(i)), asio::use_future));
        if (ec == errc::would_block) {
            REQUIRE_FALSE(code_of(b.async_flush(asio::use_future)));
            continue;
        }
        REQUIRE_FALSE(ec);
        ++i, ++sent;
    }
    REQUIRE_FALSE(code_of(b.async_flush(asio::use_future)));
    for (int i = 0; i < 200; ++i)
        REQUIRE(message_within(fx, 1, 10s) == "m" + std::to_string(i));
    CHECK(b.counters().messages == 200);
    CHECK(b.counters().batches < 200);

    const std::string huge(fx.clients[0]->engine().message_limit() + 1, 'x');
    CHECK(code_of(b.async_post(std::string_view(huge), asio::use_future)) == errc::message_too_large);

    batcher idle(*fx.clients[2]); // never registered: the client refuses the batch
    REQUIRE_FALSE(code_of(idle.async_post(std::string_view("lost"), asio::use_future)));
    CHECK(code_of(idle.async_flush(asio::use_future)) == errc::not_ready);
    CHECK(idle.counters().failed == 1);
    CHECK_FALSE(code_of(idle.async_flush(asio::use_future))); // reported once
}
