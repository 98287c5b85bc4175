// SPDX-License-Identifier: BSL-1.0
// Tests of the in-process transport: delivery, groups, bounds, close, and every completion style.
#include <tlvcast/transport/memory.hpp>

#include "transport/test_util.hpp"

#include <catch2/catch.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {
// Designated initializers that skip a member draw g++ 12's -Wmissing-field-initializers.
tlvcast::transport::memory_options limit(std::size_t n)
{
    tlvcast::transport::memory_options o;
    o.queue_limit = n;
    return o;
}
tlvcast::transport::memory_options at(tlvcast::endpoint e)
{
    tlvcast::transport::memory_options o;
    o.address = e;
    return o;
}
} // namespace
using tlvcast::endpoint;
using tlvcast::transport::memory_hub;
using tlvcast::transport::memory_transport;
using tlvcast::transport::test::bytes_of;
using tlvcast::transport::test::run_until;

TEST_CASE("memory: unicast is delivered asynchronously with the sender's address", "[memory]")
{
    asio::io_context io;
    memory_hub hub;
    memory_transport a(hub, io);
    memory_transport b(hub, io);
    REQUIRE(a.local_endpoint() != b.local_endpoint());
    CHECK((a.local_endpoint().v4() >> 24) == 127);

    std::vector<std::byte> buf(100);
    endpoint from;
    bool done = false;
    std::error_code got_ec = asio::error::would_block;
    std::size_t got_n = 0;
    b.async_receive(buf, from, [&](std::error_code ec, std::size_t n) {
        done = true;
        got_ec = ec;
        got_n = n;
    });
    std::error_code ec;
    const auto msg = bytes_of("hello");
    a.send(b.local_endpoint(), msg, ec);
    REQUIRE_FALSE(ec);
    CHECK_FALSE(done); // never completed inside send or async_receive
    REQUIRE(run_until(io, [&] { return done; }));
    CHECK_FALSE(got_ec);
    REQUIRE(got_n == msg.size());
    CHECK(std::equal(msg.begin(), msg.end(), buf.begin()));
    CHECK(from == a.local_endpoint());
    CHECK(b.stats().received == 1);
    CHECK(hub.stats().sent == 1);

    // A datagram queued before the receive starts is handed over too, still asynchronously.
    a.send(b.local_endpoint(), bytes_of("again"), ec);
    done = false;
    b.async_receive(buf, from, [&](std::error_code e, std::size_t n) {
        done = true;
        got_ec = e;
        got_n = n;
    });
    CHECK_FALSE(done);
    REQUIRE(run_until(io, [&] { return done; }));
    CHECK(got_n == 5);

    // Nobody at that address: lost silently, counted.
    a.send(endpoint{0x7f0000fe, 9}, msg, ec);
    CHECK_FALSE(ec);
    CHECK(hub.stats().no_route == 1);
}

TEST_CASE("memory: addresses are assigned or chosen, never shared", "[memory]")
{
    asio::io_context io;
    memory_hub hub;
    const endpoint chosen{0x0a000001, 5007};
    memory_transport a(hub, io, at(chosen));
    CHECK(a.local_endpoint() == chosen);
    CHECK_THROWS_AS(memory_transport(hub, io, at(chosen)), std::system_error);
    std::vector<memory_transport> many;
    for (int i = 0; i < 50; ++i)
        many.emplace_back(hub, io);
    for (std::size_t i = 0; i < many.size(); ++i)
        for (std::size_t j = i + 1; j < many.size(); ++j)
            REQUIRE(many[i].local_endpoint() != many[j].local_endpoint());
    // Closing frees the address.
    a.close();
    CHECK_NOTHROW(memory_transport(hub, io, at(chosen)));
}

TEST_CASE("memory: a group datagram reaches every member and only members", "[memory]")
{
    asio::io_context io;
    memory_hub hub;
    const endpoint group{0xe0010101, 5007};
    memory_transport sender(hub, io);
    std::vector<memory_transport> members;
    for (int i = 0; i < 3; ++i) {
        members.emplace_back(hub, io);
        members.back().join(group);
    }
    memory_transport outsider(hub, io);
    members[2].join(group); // joining twice changes nothing

    std::vector<std::vector<std::byte>> bufs(4, std::vector<std::byte>(64));
    std::vector<endpoint> froms(4);
    std::vector<std::size_t> sizes(4, 0);
    int completed = 0;
    for (std::size_t i = 0; i < 3; ++i)
        members[i].async_receive(bufs[i], froms[i], [&, i](std::error_code ec, std::size_t n) {
            REQUIRE_FALSE(ec);
            sizes[i] = n;
            ++completed;
        });
    bool outsider_got = false;
    outsider.async_receive(bufs[3], froms[3], [&](std::error_code ec, std::size_t) {
        outsider_got = !ec;
    });

    std::error_code ec;
    sender.send(group, bytes_of("to all"), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(run_until(io, [&] { return completed == 3; }));
    io.run_for(20ms);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(sizes[i] == 6);
        CHECK(froms[i] == sender.local_endpoint());
        CHECK(members[i].stats().received == 1);
    }
    CHECK_FALSE(outsider_got);
    CHECK(members[2].stats().received == 1); // one copy, despite the double join

    // After leave(), a member no longer receives; the others still do.
    members[0].leave(group);
    completed = 0;
    for (std::size_t i = 0; i < 2; ++i)
        members[i].async_receive(bufs[i], froms[i], [&, i](std::error_code e, std::size_t n) {
            if (!e)
                sizes[i] = n + 100;
            ++completed;
        });
    sender.send(group, bytes_of("x"), ec);
    REQUIRE(run_until(io, [&] { return completed == 1; }));
    io.run_for(20ms);
    CHECK(sizes[1] == 101);
    CHECK(sizes[0] == 6);
    CHECK(completed == 1);
    members[0].close();
    io.restart();
    io.run_for(20ms);
    CHECK(completed == 2); // the cancelled receive
    CHECK(sizes[0] == 6);
    outsider.close();
}

TEST_CASE("memory: a full receive queue drops and counts", "[memory]")
{
    asio::io_context io;
    memory_hub hub;
    memory_transport a(hub, io);
    memory_transport b(hub, io, limit(4));
    std::error_code ec;
    for (int i = 0; i < 10; ++i) {
        const std::byte v{static_cast<unsigned char>(i)};
        a.send(b.local_endpoint(), std::span(&v, 1), ec);
        REQUIRE_FALSE(ec); // a drop is silent to the sender, as on UDP
    }
    CHECK(b.stats().dropped_queue_full == 6);

    // The first four are kept, in order.
    std::vector<int> got;
    std::byte buf[8];
    endpoint from;
    std::function<void(std::error_code, std::size_t)> on_receive = [&](std::error_code e, std::size_t n) {
        if (e)
            return;
        REQUIRE(n == 1);
        got.push_back(std::to_integer<int>(buf[0]));
        b.async_receive(buf, from, on_receive);
    };
    b.async_receive(buf, from, on_receive);
    REQUIRE(run_until(io, [&] { return got.size() == 4; }));
    io.run_for(20ms);
    CHECK(got == std::vector<int>{0, 1, 2, 3});
    b.close(); // completes the last pending receive with operation_aborted
    io.run_for(20ms);
}

TEST_CASE("memory: datagrams over 65,507 bytes are refused; short buffers are reported", "[memory]")
{
    asio::io_context io;
    memory_hub hub;
    memory_transport a(hub, io);
    memory_transport b(hub, io);
    std::error_code ec;
    std::vector<std::byte> big(tlvcast::transport::max_udp_payload + 1, std::byte{7});
    a.send(b.local_endpoint(), big, ec);
    CHECK(ec == asio::error::message_size);

    big.pop_back();
    a.send(b.local_endpoint(), big, ec);
    CHECK_FALSE(ec);
    std::vector<std::byte> buf(70000);
    endpoint from;
    std::size_t got = 0;
    b.async_receive(buf, from, [&](std::error_code e, std::size_t n) {
        REQUIRE_FALSE(e);
        got = n;
    });
    REQUIRE(run_until(io, [&] { return got != 0; }));
    CHECK(got == tlvcast::transport::max_udp_payload);

    // A receive buffer shorter than the datagram: truncated copy, message_size error.
    a.send(b.local_endpoint(), bytes_of("0123456789"), ec);
    std::byte small[4];
    std::error_code rec;
    std::size_t n4 = 0;
    b.async_receive(small, from, [&](std::error_code e, std::size_t n) {
        rec = e;
        n4 = n;
    });
    REQUIRE(run_until(io, [&] { return n4 != 0; }));
    CHECK(rec == asio::error::message_size);
    CHECK(n4 == 4);
    CHECK(std::to_integer<char>(small[3]) == '3');
}

TEST_CASE("memory: close cancels a pending receive; a closed endpoint refuses everything", "[memory]")
{
    asio::io_context io;
    memory_hub hub;
    memory_transport a(hub, io);
    memory_transport b(hub, io);
    std::byte buf[16];
    endpoint from;
    std::error_code first = {}, second = {};
    bool done1 = false, done2 = false;
    b.async_receive(buf, from, [&](std::error_code ec, std::size_t) {
        first = ec;
        done1 = true;
    });
    // Only one receive at a time.
    b.async_receive(buf, from, [&](std::error_code ec, std::size_t) {
        second = ec;
        done2 = true;
    });
    REQUIRE(run_until(io, [&] { return done2; }));
    CHECK(second == asio::error::already_started);
    CHECK_FALSE(done1);
    b.close();
    CHECK_FALSE(done1); // posted, not inline
    REQUIRE(run_until(io, [&] { return done1; }));
    CHECK(first == asio::error::operation_aborted);

    std::error_code ec;
    b.send(a.local_endpoint(), bytes_of("x"), ec);
    CHECK(ec == asio::error::bad_descriptor);
    a.send(b.local_endpoint(), bytes_of("x"), ec);
    CHECK_FALSE(ec);
    CHECK(hub.stats().no_route == 1);
    done1 = false;
    b.async_receive(buf, from, [&](std::error_code e, std::size_t) {
        first = e;
        done1 = true;
    });
    REQUIRE(run_until(io, [&] { return done1; }));
    CHECK(first == asio::error::bad_descriptor);
    b.close(); // idempotent
}

TEST_CASE("memory: a pending receive keeps run() busy until close", "[memory]")
{
    asio::io_context io;
    memory_hub hub;
    memory_transport b(hub, io);
    std::byte buf[16];
    endpoint from;
    std::error_code result;
    b.async_receive(buf, from, [&](std::error_code ec, std::size_t) { result = ec; });
    std::thread t([&] { io.run(); }); // returns only once the receive completed
    std::this_thread::sleep_for(20ms);
    asio::post(io, [&] { b.close(); });
    t.join();
    CHECK(result == asio::error::operation_aborted);
}

TEST_CASE("memory: batch send delivers every datagram in order", "[memory]")
{
    asio::io_context io;
    memory_hub hub;
    memory_transport a(hub, io);
    memory_transport b(hub, io);
    tlvcast::datagram_batch batch;
    for (int i = 0; i < 5; ++i) {
        const std::byte v{static_cast<unsigned char>(i)};
        batch.push(b.local_endpoint(), std::span(&v, 1));
    }
    std::vector<std::byte> big(tlvcast::transport::max_udp_payload + 1);
    batch.push(b.local_endpoint(), big); // refused, the rest still goes
    const std::byte last{9};
    batch.push(b.local_endpoint(), std::span(&last, 1));
    std::error_code ec;
    CHECK(a.send(batch, ec) == 6);
    CHECK(ec == asio::error::message_size);

    std::vector<int> got;
    std::byte buf[4];
    endpoint from;
    std::function<void(std::error_code, std::size_t)> next = [&](std::error_code e, std::size_t) {
        if (e)
            return;
        got.push_back(std::to_integer<int>(buf[0]));
        if (got.size() < 6)
            b.async_receive(buf, from, next);
    };
    b.async_receive(buf, from, next);
    REQUIRE(run_until(io, [&] { return got.size() == 6; }));
    CHECK(got == std::vector<int>{0, 1, 2, 3, 4, 9});
}

TEST_CASE("memory: use_future completion", "[memory]")
{
    asio::io_context io;
    memory_hub hub;
    memory_transport a(hub, io);
    memory_transport b(hub, io);
    std::byte buf[16];
    endpoint from;
    std::future<std::size_t> f = b.async_receive(buf, from, asio::use_future);
    std::thread t([&] { io.run(); });
    std::error_code ec;
    a.send(b.local_endpoint(), bytes_of("future"), ec); // from another thread than the receiver's
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    CHECK(f.get() == 6);
    t.join();
    CHECK(from == a.local_endpoint());

    // An error becomes the future's exception.
    auto g = b.async_receive(buf, from, asio::use_future);
    b.close();
    io.restart();
    io.run();
    CHECK_THROWS_AS(g.get(), std::system_error);
}

TEST_CASE("memory: coroutine completion (co_spawn + use_awaitable)", "[memory]")
{
    asio::io_context io;
    memory_hub hub;
    memory_transport a(hub, io);
    memory_transport b(hub, io);
    std::vector<std::size_t> sizes;
    std::error_code last;
    auto receiver = [&]() -> asio::awaitable<void> {
        std::byte buf[32];
        endpoint from;
        for (int i = 0; i < 3; ++i) {
            const std::size_t n = co_await b.async_receive(buf, from, asio::use_awaitable);
            CHECK(from == a.local_endpoint());
            sizes.push_back(n);
        }
        try {
            co_await b.async_receive(buf, from, asio::use_awaitable);
        } catch (const std::system_error& e) {
            last = e.code();
        }
    };
    asio::co_spawn(io, receiver(), asio::detached);
    std::error_code ec;
    for (const char* s : {"a", "bb", "ccc"})
        a.send(b.local_endpoint(), bytes_of(s), ec);
    REQUIRE(run_until(io, [&] { return sizes.size() == 3; }));
    b.close();
    REQUIRE(run_until(io, [&] { return bool(last); }));
    CHECK(sizes == std::vector<std::size_t>{1, 2, 3});
    CHECK(last == asio::error::operation_aborted);
}

TEST_CASE("memory: endpoints on different threads, many senders", "[memory]")
{
    memory_hub hub;
    asio::io_context io_rx;
    asio::io_context io_tx;
    memory_transport rx(hub, io_rx, limit(64));
    const endpoint group{0xe0010101, 5007};
    rx.join(group);
    std::atomic<std::uint64_t> received{0};
    std::byte buf[64];
    endpoint from;
    std::function<void(std::error_code, std::size_t)> loop = [&](std::error_code ec, std::size_t) {
        if (ec)
            return;
        ++received;
        rx.async_receive(buf, from, loop);
    };
    rx.async_receive(buf, from, loop);
    std::thread rx_thread([&] { io_rx.run(); });

    constexpr int threads = 3, per_thread = 2000;
    std::atomic<int> send_errors{0};
    std::vector<std::thread> senders;
    for (int t = 0; t < threads; ++t)
        senders.emplace_back([&, t] {
            memory_transport tx(hub, io_tx);
            std::error_code ec;
            const auto msg = bytes_of("datagram");
            for (int i = 0; i < per_thread; ++i) {
                tx.send(t == 0 ? group : rx.local_endpoint(), msg, ec);
                if (ec)
                    ++send_errors; // Catch2 assertions are not thread-safe: check after join
            }
        });
    for (auto& s : senders)
        s.join();
    CHECK(send_errors == 0);
    const auto total = std::uint64_t{threads * per_thread};
    // Every datagram is either received or counted as dropped.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (received + rx.stats().dropped_queue_full < total && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
    asio::post(io_rx, [&] { rx.close(); });
    rx_thread.join();
    const auto s = rx.stats();
    CHECK(s.received == received.load());
    CHECK(s.received + s.dropped_queue_full == total);
    CHECK(hub.stats().sent == total);
}

TEST_CASE("memory: IPv6 endpoints and groups, beside IPv4 ones", "[memory]")
{
    asio::io_context io;
    memory_hub hub;
    const endpoint v6_group = *endpoint::parse("[ff15::1]:5007");
    const endpoint v4_group{0xe0010101, 5007};
    memory_transport a(hub, io, at(*endpoint::parse("[fd00::1]:40000")));
    memory_transport b(hub, io, at(*endpoint::parse("[fd00::2]:40000")));
    memory_transport c(hub, io, at(endpoint{0xfd000001u, 40000})); // the same low bits, IPv4: another address
    CHECK(a.local_endpoint().to_string() == "[fd00::1]:40000");
    CHECK_THROWS_AS(memory_transport(hub, io, at(*endpoint::parse("[fd00::1]:40000"))), std::system_error);
    b.join(v6_group);
    c.join(v4_group);

    std::vector<std::byte> bb(64), cb(64);
    endpoint from_b, from_c;
    int got_b = 0, got_c = 0;
    std::function<void()> receive_b = [&] {
        b.async_receive(bb, from_b, [&](std::error_code ec, std::size_t) {
            if (!ec) {
                ++got_b;
                receive_b();
            }
        });
    };
    receive_b();
    c.async_receive(cb, from_c, [&](std::error_code ec, std::size_t) { got_c += ec ? 0 : 1; });
    std::error_code ec;
    a.send(v6_group, bytes_of("group"), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(run_until(io, [&] { return got_b == 1; }));
    CHECK(from_b == a.local_endpoint());
    a.send(b.local_endpoint(), bytes_of("unicast"), ec);
    REQUIRE(run_until(io, [&] { return got_b == 2; }));
    CHECK(from_b == a.local_endpoint());
    io.run_for(20ms);
    CHECK(got_c == 0); // the IPv4 group and the IPv4 twin of fd00::1 heard nothing
    c.send(a.local_endpoint(), bytes_of("v4 to v6"), ec); // the hub routes any family to any
    CHECK_FALSE(ec);
    CHECK(hub.stats().no_route == 0);
    b.close();
    c.close();
}

TEST_CASE("memory: try_receive_many takes what waits, in order, as recvmmsg does", "[memory]")
{
    asio::io_context io;
    memory_hub hub;
    memory_transport a(hub, io);
    memory_transport b(hub, io);
    std::array<std::array<std::byte, 4>, 3> storage{};
    const std::array<std::span<std::byte>, 3> buffers{storage[0], storage[1], storage[2]};
    std::array<endpoint, 3> from{};
    std::array<std::size_t, 3> sizes{};
    std::error_code ec;
    CHECK(b.try_receive_many(buffers, from, sizes, ec) == 0);
    CHECK(ec == asio::error::would_block);

    for (const char* text : {"one", "second", "3", "4th"})
        a.send(b.local_endpoint(), bytes_of(text), ec);
    REQUIRE_FALSE(ec);
    const auto calls = b.stats().receive_calls;
    CHECK(b.try_receive_many(buffers, from, sizes, ec) == 3); // at most the buffers' count
    CHECK_FALSE(ec);
    CHECK(sizes == std::array<std::size_t, 3>{3, 6, 1}); // "second" was cut: its size says so
    CHECK(from[2] == a.local_endpoint());
    CHECK(std::to_integer<char>(storage[1][3]) == 'o');
    CHECK(b.try_receive_many(buffers, from, sizes, ec) == 1); // short: the queue is empty now
    CHECK(std::to_integer<char>(storage[0][2]) == 'h');
    CHECK(b.stats().received == 4);
    CHECK(b.stats().receive_calls == calls + 2);

    b.close();
    CHECK(b.try_receive_many(buffers, from, sizes, ec) == 0);
    CHECK(ec == asio::error::bad_descriptor);
}

TEST_CASE("memory: try_receive takes queued datagrams in order without waiting", "[memory]")
{
    asio::io_context io;
    memory_hub hub;
    memory_transport a(hub, io);
    memory_transport b(hub, io);
    std::vector<std::byte> buf(4);
    endpoint from;
    std::error_code ec;
    CHECK(b.try_receive(buf, from, ec) == 0);
    CHECK(ec == asio::error::would_block);

    a.send(b.local_endpoint(), bytes_of("one"), ec);
    a.send(b.local_endpoint(), bytes_of("second"), ec);
    REQUIRE_FALSE(ec);
    CHECK(b.try_receive(buf, from, ec) == 3);
    CHECK_FALSE(ec);
    CHECK(from == a.local_endpoint());
    CHECK(std::to_integer<char>(buf[0]) == 'o');
    CHECK(b.try_receive(buf, from, ec) == 4); // "second" does not fit: truncated and reported
    CHECK(ec == asio::error::message_size);
    CHECK(std::to_integer<char>(buf[3]) == 'o');
    CHECK(b.try_receive(buf, from, ec) == 0);
    CHECK(ec == asio::error::would_block);
    CHECK(b.stats().received == 2);

    b.close();
    CHECK(b.try_receive(buf, from, ec) == 0);
    CHECK(ec == asio::error::bad_descriptor);
}
