// SPDX-License-Identifier: BSL-1.0
// Tests of asio_udp over 127.0.0.1 unicast (client-side sockets only: no group join outside a namespace).
#include <tlvcast/transport/asio_udp.hpp>

#include "transport/test_util.hpp"

#include <catch2/catch.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

using namespace std::chrono_literals;
using tlvcast::datagram_batch;
using tlvcast::endpoint;
using tlvcast::transport::asio_udp;
using tlvcast::transport::test::bytes_of;
using tlvcast::transport::test::run_until;

namespace {

constexpr std::uint32_t localhost = 0x7f000001;

/// Where a client-side socket (bound to 0.0.0.0:port) is reached over loopback.
endpoint loopback_of(const asio_udp& t)
{
    return {localhost, t.local_endpoint().port};
}

/// Receives datagrams in a loop, recording their first byte and source.
struct collector {
    explicit collector(asio_udp& t) : t_(t) { start(); }
    void start()
    {
        t_.async_receive(buf, from, [this](std::error_code ec, std::size_t n) {
            if (ec) {
                last_error = ec;
                return;
            }
            sizes.push_back(n);
            firsts.push_back(n ? std::to_integer<int>(buf[0]) : -1);
            sources.push_back(from);
            start();
        });
    }
    asio_udp& t_;
    std::vector<std::byte> buf = std::vector<std::byte>(tlvcast::transport::max_udp_payload);
    endpoint from;
    std::vector<std::size_t> sizes;
    std::vector<int> firsts;
    std::vector<endpoint> sources;
    std::error_code last_error;
};

} // namespace

TEST_CASE("asio_udp: endpoint conversion, IPv4 and IPv6", "[asio_udp]")
{
    using tlvcast::transport::from_asio_endpoint;
    using tlvcast::transport::to_asio_endpoint;
    const endpoint e{0xc0a80001, 5007};
    const auto a = to_asio_endpoint(e);
    CHECK(a.address().to_string() == "192.168.0.1");
    CHECK(a.port() == 5007);
    CHECK(from_asio_endpoint(a) == e);

    const asio::ip::udp::endpoint v6(asio::ip::make_address("ff15::1"), 5007);
    CHECK(from_asio_endpoint(v6) == *endpoint::parse("[ff15::1]:5007"));
    CHECK(to_asio_endpoint(*endpoint::parse("[ff15::1]:5007")) == v6);
    const auto scoped = *endpoint::parse("[fe80::1%3]:9");
    CHECK(to_asio_endpoint(scoped).address().to_v6().scope_id() == 3);
    CHECK(from_asio_endpoint(to_asio_endpoint(scoped)) == scoped);
    // An IPv4 peer of a dual-stack socket arrives v4-mapped and is the IPv4 endpoint; an IPv6
    // socket sends to an IPv4 endpoint v4-mapped.
    const asio::ip::udp::endpoint mapped(asio::ip::make_address("::ffff:192.168.0.1"), 5007);
    CHECK(from_asio_endpoint(mapped) == e);
    CHECK(to_asio_endpoint(e, asio::ip::udp::v6()) == mapped);
    CHECK(to_asio_endpoint(e, asio::ip::udp::v4()) == a);
}

TEST_CASE("asio_udp: options for IPv6 groups and interfaces by name or address", "[asio_udp]")
{
    asio_udp::options o;
    o.group = asio::ip::make_address("ff15::1");
    CHECK(o.group_endpoint() == *endpoint::parse("[ff15::1]:5007"));
    o.group = asio::ip::make_address("ff02::1%7");
    CHECK(o.group_endpoint().scope_id() == 7);
    o.set_interface("v0");
    CHECK(o.interface_name == "v0");
    CHECK(o.interface_address.is_unspecified());
    o.set_interface("fd00::1");
    CHECK(o.interface_name.empty());
    CHECK(o.interface_address == asio::ip::make_address("fd00::1"));
    o.set_interface("10.0.0.1");
    CHECK(o.interface_address == asio::ip::make_address("10.0.0.1"));
}

TEST_CASE("asio_udp: an IPv4 socket refuses IPv6 destinations with a code, before any system call", "[asio_udp]")
{
    asio::io_context io;
    auto a = asio_udp::open_client(io);
    auto b = asio_udp::open_client(io);
    collector cb(b);
    std::error_code ec;
    a.send(*endpoint::parse("[::1]:9"), bytes_of("x"), ec);
    CHECK(ec == asio::error::address_family_not_supported);
    datagram_batch batch;
    const std::byte one{1}, two{2}, three{3};
    batch.push(loopback_of(b), std::span(&one, 1));
    batch.push(*endpoint::parse("[::1]:9"), std::span(&two, 1));
    batch.push(loopback_of(b), std::span(&three, 1));
    CHECK(a.send(batch, ec) == 2);
    CHECK(ec == asio::error::address_family_not_supported);
    REQUIRE(run_until(io, [&] { return cb.sizes.size() == 2; }));
    CHECK(cb.firsts == std::vector<int>{1, 3});
}

TEST_CASE("asio_udp: client side is bound to an ephemeral port at open", "[asio_udp]")
{
    asio::io_context io;
    auto a = asio_udp::open_client(io);
    auto b = asio_udp::open_client(io);
    CHECK(a.local_endpoint().is_v4());
    CHECK(a.local_endpoint().v4() == 0);
    CHECK(a.local_endpoint().port != 0);
    CHECK(a.local_endpoint().port != b.local_endpoint().port);
    CHECK(a.socket().non_blocking());
    a.close();
    CHECK(a.local_endpoint() == endpoint{});
}

TEST_CASE("asio_udp: unicast over loopback both ways, with the right sources", "[asio_udp]")
{
    asio::io_context io;
    auto a = asio_udp::open_client(io);
    auto b = asio_udp::open_client(io);
    collector cb(b);
    std::error_code ec;
    a.send(loopback_of(b), bytes_of("ping"), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(run_until(io, [&] { return cb.sizes.size() == 1; }));
    CHECK(cb.sizes[0] == 4);
    CHECK(cb.firsts[0] == 'p');
    CHECK(cb.sources[0] == loopback_of(a));

    // Reply to where it came from.
    collector ca(a);
    b.send(cb.sources[0], bytes_of("pong!"), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(run_until(io, [&] { return ca.sizes.size() == 1; }));
    CHECK(ca.sizes[0] == 5);
    CHECK(ca.sources[0] == loopback_of(b));
    a.close();
    b.close();
    io.run_for(10ms);
    CHECK(ca.last_error == asio::error::operation_aborted);
    CHECK(cb.last_error == asio::error::operation_aborted);
}

TEST_CASE("asio_udp: try_receive takes what waits in the socket and never blocks", "[asio_udp]")
{
    asio::io_context io;
    auto a = asio_udp::open_client(io);
    auto b = asio_udp::open_client(io);
    std::vector<std::byte> buf(4);
    endpoint from;
    std::error_code ec;
    CHECK(b.try_receive(buf, from, ec) == 0);
    CHECK(ec == asio::error::would_block);

    a.send(loopback_of(b), bytes_of("one"), ec);
    a.send(loopback_of(b), bytes_of("second"), ec);
    REQUIRE_FALSE(ec);
    // Loopback delivery is synchronous on Linux, but allow the kernel a moment: bounded polling.
    std::size_t n = 0;
    for (int i = 0; i < 200; ++i) {
        n = b.try_receive(buf, from, ec);
        if (ec != asio::error::would_block)
            break;
        std::this_thread::sleep_for(1ms);
    }
    CHECK_FALSE(ec);
    CHECK(n == 3);
    CHECK(from == loopback_of(a));
    CHECK(b.try_receive(buf, from, ec) == 4); // "second" does not fit: truncated and reported
    CHECK(ec == asio::error::message_size);
    CHECK(b.try_receive(buf, from, ec) == 0);
    CHECK(ec == asio::error::would_block);
    b.close();
    CHECK(b.try_receive(buf, from, ec) == 0);
    CHECK(ec);
}

TEST_CASE("asio_udp: try_receive_many takes every waiting datagram in one call, marking truncation",
          "[asio_udp]")
{
    asio::io_context io;
    auto a = asio_udp::open_client(io);
    auto b = asio_udp::open_client(io);
    std::vector<std::vector<std::byte>> storage(8, std::vector<std::byte>(16));
    std::vector<std::span<std::byte>> buffers(storage.begin(), storage.end());
    std::vector<endpoint> from(8);
    std::vector<std::size_t> sizes(8);
    std::error_code ec;
    CHECK(b.try_receive_many(buffers, from, sizes, ec) == 0);
    CHECK(ec == asio::error::would_block);

    for (int i = 0; i < 5; ++i) {
        std::vector<std::byte> d(i == 3 ? 40 : 4 + i, std::byte(i));
        a.send(loopback_of(b), d, ec);
        REQUIRE_FALSE(ec);
    }
    std::size_t got = 0;
    for (int i = 0; i < 200 && got < 5; ++i) { // bounded: loopback delivers at once, allow a moment
        const std::size_t n = b.try_receive_many(std::span(buffers).subspan(got), std::span(from).subspan(got),
                                                 std::span(sizes).subspan(got), ec);
        if (ec && ec != asio::error::would_block)
            break;
        got += n;
        if (got < 5)
            std::this_thread::sleep_for(1ms);
    }
    REQUIRE(got == 5);
    for (std::size_t i = 0; i < 5; ++i) {
        CHECK(from[i] == loopback_of(a));
        CHECK(std::to_integer<std::size_t>(buffers[i][0]) == i);
    }
    CHECK(sizes[0] == 4);
    CHECK(sizes[4] == 8);
    CHECK(sizes[3] > buffers[3].size()); // 40 bytes into 16: marked as truncated
    CHECK(b.try_receive_many(buffers, from, sizes, ec) == 0);
    CHECK(ec == asio::error::would_block);
}

TEST_CASE("asio_udp: a batch goes out with sendmmsg, in order", "[asio_udp]")
{
    asio::io_context io;
    auto a = asio_udp::open_client(io);
    auto b = asio_udp::open_client(io);
    collector cb(b);
    datagram_batch batch;
    // More than one sendmmsg call (max_send_batch); small datagrams, so that all fit b's buffer.
    constexpr int count = static_cast<int>(tlvcast::transport::detail::max_send_batch) + 100;
    for (int i = 0; i < count; ++i) {
        std::vector<std::byte> d(64, std::byte(i & 0xff));
        batch.push(loopback_of(b), d);
    }
    std::error_code ec;
    CHECK(a.send(batch, ec) == static_cast<std::size_t>(count));
    CHECK_FALSE(ec);
    REQUIRE(run_until(io, [&] { return cb.sizes.size() == static_cast<std::size_t>(count); }));
    for (int i = 0; i < count; ++i) {
        REQUIRE(cb.firsts[i] == (i & 0xff));
        REQUIRE(cb.sizes[i] == 64);
        REQUIRE(cb.sources[i] == loopback_of(a));
    }
}

TEST_CASE("asio_udp: a datagram refused in a batch is skipped, the rest go", "[asio_udp]")
{
    asio::io_context io;
    auto a = asio_udp::open_client(io);
    auto b = asio_udp::open_client(io);
    collector cb(b);
    datagram_batch batch;
    const std::byte one{1}, three{3};
    batch.push(loopback_of(b), std::span(&one, 1));
    batch.push(loopback_of(b), std::vector<std::byte>(tlvcast::transport::max_udp_payload + 1));
    batch.push(loopback_of(b), std::span(&three, 1));
    std::error_code ec;
    CHECK(a.send(batch, ec) == 2);
    CHECK(ec == asio::error::message_size);
    REQUIRE(run_until(io, [&] { return cb.sizes.size() == 2; }));
    CHECK(cb.firsts == std::vector<int>{1, 3});
}

TEST_CASE("asio_udp: errors are codes, never exceptions", "[asio_udp]")
{
    asio::io_context io;
    auto a = asio_udp::open_client(io);
    auto b = asio_udp::open_client(io);
    std::error_code ec;
    std::vector<std::byte> big(tlvcast::transport::max_udp_payload + 1);
    CHECK_NOTHROW(a.send(loopback_of(b), big, ec));
    CHECK(ec == asio::error::message_size);
    big.pop_back();
    a.send(loopback_of(b), big, ec); // the largest datagram is fine
    CHECK_FALSE(ec);

    const auto to = loopback_of(b);
    a.close();
    CHECK_NOTHROW(a.send(to, bytes_of("x"), ec));
    CHECK(ec == asio::error::bad_descriptor);
    datagram_batch batch;
    batch.push(to, bytes_of("x"));
    CHECK(a.send(batch, ec) == 0);
    CHECK(ec == asio::error::bad_descriptor);
    std::byte buf[4];
    endpoint from;
    std::error_code rec;
    bool done = false;
    a.async_receive(buf, from, [&](std::error_code e, std::size_t) {
        rec = e;
        done = true;
    });
    REQUIRE(run_until(io, [&] { return done; }));
    CHECK(rec == asio::error::bad_descriptor);
}

TEST_CASE("asio_udp: a datagram longer than the buffer is reported, not passed as whole", "[asio_udp]")
{
    asio::io_context io;
    auto a = asio_udp::open_client(io);
    auto b = asio_udp::open_client(io);
    std::error_code ec;
    a.send(loopback_of(b), bytes_of("0123456789"), ec);
    std::byte buf[4];
    endpoint from;
    std::error_code rec;
    std::size_t got = 99;
    b.async_receive(buf, from, [&](std::error_code e, std::size_t n) {
        rec = e;
        got = n;
    });
    REQUIRE(run_until(io, [&] { return got != 99; }));
    CHECK(rec == asio::error::message_size);
    CHECK(got == 4);
    CHECK(from == loopback_of(a));
}

TEST_CASE("asio_udp: close cancels a pending receive", "[asio_udp]")
{
    asio::io_context io;
    auto b = asio_udp::open_client(io);
    std::byte buf[4];
    endpoint from;
    std::error_code rec;
    bool done = false;
    b.async_receive(buf, from, [&](std::error_code e, std::size_t) {
        rec = e;
        done = true;
    });
    io.poll();
    CHECK_FALSE(done);
    b.close();
    REQUIRE(run_until(io, [&] { return done; }));
    CHECK(rec == asio::error::operation_aborted);
}

TEST_CASE("asio_udp: use_future and coroutine completions", "[asio_udp]")
{
    asio::io_context io;
    auto a = asio_udp::open_client(io);
    auto b = asio_udp::open_client(io);
    std::error_code ec;

    SECTION("use_future")
    {
        std::byte buf[16];
        endpoint from;
        auto f = b.async_receive(buf, from, asio::use_future);
        std::thread t([&] { io.run_for(5s); });
        a.send(loopback_of(b), bytes_of("future"), ec);
        REQUIRE(f.wait_for(5s) == std::future_status::ready);
        CHECK(f.get() == 6);
        io.stop();
        t.join();
        CHECK(from == loopback_of(a));
    }
    SECTION("co_spawn + use_awaitable, with an echo")
    {
        std::vector<std::size_t> sizes;
        auto echo = [&]() -> asio::awaitable<void> {
            std::byte buf[64];
            endpoint from;
            for (int i = 0; i < 3; ++i) {
                const auto n = co_await b.async_receive(buf, from, asio::use_awaitable);
                sizes.push_back(n);
                std::error_code e;
                b.send(from, std::span(buf, n), e);
            }
        };
        asio::co_spawn(io, echo(), asio::detached);
        collector ca(a);
        for (const char* s : {"a", "bb", "ccc"})
            a.send(loopback_of(b), bytes_of(s), ec);
        REQUIRE(run_until(io, [&] { return ca.sizes.size() == 3; }));
        CHECK(sizes == std::vector<std::size_t>{1, 2, 3});
        CHECK(ca.sizes == std::vector<std::size_t>{1, 2, 3});
        a.close();
        io.run_for(10ms);
    }
}

TEST_CASE("asio_udp: socket buffer sizes are applied", "[asio_udp]")
{
    asio::io_context io;
    asio_udp::options o;
    o.receive_buffer_size = 100'000;
    o.send_buffer_size = 50'000;
    auto a = asio_udp::open_client(io, o);
    asio::socket_base::receive_buffer_size rcv;
    asio::socket_base::send_buffer_size snd;
    a.socket().get_option(rcv);
    a.socket().get_option(snd);
    // Linux doubles the request (bookkeeping overhead); anything >= the request shows it was applied.
    CHECK(rcv.value() >= 100'000);
    CHECK(snd.value() >= 50'000);
}

TEST_CASE("asio_udp: datagrams carry Don't Fragment unless told otherwise", "[asio_udp]")
{
    asio::io_context io;
    asio_udp::options o;
    auto mode = [](asio_udp& t) {
        int v = -1;
        socklen_t len = sizeof v;
        REQUIRE(::getsockopt(t.socket().native_handle(), IPPROTO_IP, IP_MTU_DISCOVER, &v, &len) == 0);
        return v;
    };
    auto df = asio_udp::open_client(io, o);
    CHECK(mode(df) == IP_PMTUDISC_PROBE);
    o.dont_fragment = false;
    auto plain = asio_udp::open_client(io, o);
    CHECK(mode(plain) != IP_PMTUDISC_PROBE); // the system's default (WANT, or DONT by sysctl)
    CHECK(mode(plain) != IP_PMTUDISC_DO);
}

TEST_CASE("asio_udp: set-up errors throw std::system_error", "[asio_udp]")
{
    asio::io_context io;
    asio_udp::options o;
    o.group = asio::ip::make_address_v4("10.1.1.1"); // not multicast: refused before any socket call
    CHECK_THROWS_AS(asio_udp::bind_group(io, o), std::system_error);
    try {
        (void)asio_udp::bind_group(io, o);
    } catch (const std::system_error& e) {
        CHECK(std::string(e.what()).find("not a multicast address") != std::string::npos);
    }
    asio_udp::options t;
    t.ttl = 256;
    CHECK_THROWS_AS(asio_udp::open_client(io, t), std::system_error);
    CHECK(o.group_endpoint() == endpoint{0x0a010101, 5007});

    // IPv6: a unicast address is no group; an unknown interface name, or a name and an address
    // at once, are refused before a socket opens (so these run outside a namespace, sending nothing).
    o.group = asio::ip::make_address("fd00::1");
    CHECK_THROWS_AS(asio_udp::bind_group(io, o), std::system_error);
    asio_udp::options n;
    n.group = asio::ip::make_address("ff15::1");
    n.interface_name = "no-such-if0";
    for (const bool relay : {true, false}) {
        try {
            (void)(relay ? asio_udp::bind_group(io, n) : asio_udp::open_client(io, n));
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(std::string(e.what()).find("no interface no-such-if0") != std::string::npos);
        }
    }
    n.interface_name = "lo";
    n.interface_address = asio::ip::make_address("127.0.0.1");
    try {
        (void)asio_udp::open_client(io, n);
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(std::string(e.what()).find("lo and 127.0.0.1 at once") != std::string::npos);
    }
}
