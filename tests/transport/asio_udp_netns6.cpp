// SPDX-License-Identifier: BSL-1.0
// IPv6 tests of asio_udp (groups ff15::1 and ff02::1 on a veth pair, unicast, sendmmsg): only inside NETNS_VETH=1 tests/netns.sh.
#include <tlvcast/transport/asio_udp.hpp>

#include "transport/netns_util.hpp"
#include "transport/test_util.hpp"

#include <catch2/catch.hpp>

#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <vector>

using tlvcast::datagram_batch;
using tlvcast::endpoint;
using tlvcast::transport::asio_udp;
using tlvcast::transport::test::bytes_of;
using tlvcast::transport::test::in_private_netns;
using tlvcast::transport::test::run_until;

namespace {

constexpr std::uint16_t test_port = 47017;

// ff15::1 (site-local scope) on v0, the interface given by name.
asio_udp::options v6_options(const char* group = "ff15::1")
{
    asio_udp::options o;
    o.group = asio::ip::make_address(group);
    o.port = test_port;
    o.interface_name = "v0";
    return o;
}

endpoint v0_address(std::uint16_t port) { return *endpoint::parse("[fd00::1]:" + std::to_string(port)); }

struct collector {
    explicit collector(asio_udp& t) : t_(t) { start(); }
    void start()
    {
        t_.async_receive(buf, from, [this](std::error_code ec, std::size_t n) {
            if (ec == asio::error::operation_aborted)
                return;
            if (ec) { // kept for the failure message; the socket still receives
                errors.push_back(ec.message());
                return start();
            }
            payloads.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
            sources.push_back(from);
            start();
        });
    }
    asio_udp& t_;
    std::vector<std::byte> buf = std::vector<std::byte>(tlvcast::transport::max_udp_payload);
    endpoint from;
    std::vector<std::vector<std::byte>> payloads;
    std::vector<endpoint> sources;
    std::vector<std::string> errors;
};

// UDP is best effort even here: a datagram sent while the kernel still brings the veth pair up
// can be lost, so a reply is sent again every 200 ms (at most 10 times) until `done`.
template <class Done>
bool send_until(asio::io_context& io, asio_udp& t, const endpoint& to, std::span<const std::byte> bytes, Done done)
{
    for (int i = 0; i < 10; ++i) {
        std::error_code ec;
        t.send(to, bytes, ec);
        if (ec)
            return false;
        if (run_until(io, done, std::chrono::milliseconds(200)))
            return true;
    }
    return false;
}

} // namespace

// Hidden ([.]): ctest runs it as `NETNS_VETH=1 netns.sh test_transport [netns6]`.
TEST_CASE("asio_udp netns6: clients send to ff15::1 on v0, the relay replies unicast over IPv6", "[.][netns6]")
{
    REQUIRE(in_private_netns(true)); // refuse to touch a real network
    asio::io_context io;
    const auto opt = v6_options();
    auto relay = asio_udp::bind_group(io, opt);
    auto c1 = asio_udp::open_client(io, opt);
    auto c2 = asio_udp::open_client(io, opt);
    CHECK(relay.local_endpoint() == endpoint::from_v6({}, test_port)); // [::]:port
    CHECK(relay.socket().local_endpoint().address().is_v6());
    const endpoint group = opt.group_endpoint();
    CHECK(group.to_string() == "[ff15::1]:47017");

    collector r(relay), r1(c1), r2(c2);
    std::error_code ec;
    c1.send(group, bytes_of("from c1"), ec);
    REQUIRE_FALSE(ec);
    c2.send(group, bytes_of("from c2"), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(run_until(io, [&] { return r.payloads.size() == 2; }));
    CHECK(r.payloads[0] == bytes_of("from c1"));
    CHECK(r.payloads[1] == bytes_of("from c2"));
    // IPv6 senders are accepted and named by v0's address (the source for a site-local group).
    CHECK(r.sources[0] == v0_address(c1.local_endpoint().port));
    CHECK(r.sources[1] == v0_address(c2.local_endpoint().port));
    CHECK(c1.group_source(ec) == v0_address(c1.local_endpoint().port));
    CHECK_FALSE(ec);
    CHECK(r1.payloads.empty()); // clients did not join
    CHECK(r2.payloads.empty());

    INFO("receive errors at c1: " << r1.errors.size() << ", c2: " << r2.errors.size());
    REQUIRE(send_until(io, relay, r.sources[0], bytes_of("to c1"), [&] { return !r1.payloads.empty(); }));
    REQUIRE(send_until(io, relay, r.sources[1], bytes_of("to c2"), [&] { return !r2.payloads.empty(); }));
    CHECK(r1.payloads[0] == bytes_of("to c1"));
    CHECK(r2.payloads[0] == bytes_of("to c2"));
    CHECK(r1.sources[0] == v0_address(test_port));
}

TEST_CASE("asio_udp netns6: sendmmsg batches to an IPv6 group and to IPv6 and v4-mapped peers", "[.][netns6]")
{
    REQUIRE(in_private_netns(true));
    asio::io_context io;
    auto opt = v6_options();
    opt.interface_name.clear();
    opt.interface_address = asio::ip::make_address("fd00::1"); // the interface by address this time
    auto relay = asio_udp::bind_group(io, opt);
    auto c1 = asio_udp::open_client(io, opt);
    auto c2 = asio_udp::open_client(io, opt);
    collector r(relay), r1(c1), r2(c2);

    datagram_batch batch;
    for (int i = 0; i < 32; ++i)
        batch.push(opt.group_endpoint(), std::vector<std::byte>(256, std::byte(i)));
    std::error_code ec;
    CHECK(c1.send(batch, ec) == 32);
    CHECK_FALSE(ec);
    REQUIRE(run_until(io, [&] { return r.payloads.size() == 32; }));
    for (int i = 0; i < 32; ++i)
        REQUIRE(r.payloads[i] == std::vector<std::byte>(256, std::byte(i)));

    // The relay's fan-out: one batch, one datagram per client and message, to IPv6 unicast.
    datagram_batch fan;
    for (int i = 0; i < 40; ++i)
        for (const auto* c : {&c1, &c2})
            fan.push(v0_address(c->local_endpoint().port), std::vector<std::byte>(100, std::byte(i)));
    CHECK(relay.send(fan, ec) == 80);
    CHECK_FALSE(ec);
    REQUIRE(run_until(io, [&] { return r1.payloads.size() == 40 && r2.payloads.size() == 40; }));
    for (int i = 0; i < 40; ++i) {
        REQUIRE(r1.payloads[i] == std::vector<std::byte>(100, std::byte(i)));
        REQUIRE(r2.payloads[i] == std::vector<std::byte>(100, std::byte(i)));
    }

    // An IPv6 socket reaches an IPv4 peer (Linux sockets are dual-stack), which sees 127.0.0.1;
    // the IPv6 socket names the IPv4 sender as an IPv4 endpoint, not ::ffff:127.0.0.1 spelled apart.
    auto v4 = asio_udp::open_client(io);
    collector r4(v4);
    datagram_batch mixed;
    mixed.push({0x7f000001u, v4.local_endpoint().port}, bytes_of("mapped"));
    mixed.push(*endpoint::parse("[::1]:" + std::to_string(c1.local_endpoint().port)), bytes_of("v6"));
    CHECK(c2.send(mixed, ec) == 2);
    CHECK_FALSE(ec);
    REQUIRE(run_until(io, [&] { return r4.payloads.size() == 1 && r1.payloads.size() == 41; }));
    CHECK(r4.sources[0] == endpoint{0x7f000001u, c2.local_endpoint().port});
    CHECK(r1.sources.back() == *endpoint::parse("[::1]:" + std::to_string(c2.local_endpoint().port)));
    v4.send(r4.sources[0], bytes_of("back"), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(run_until(io, [&] { return r2.payloads.size() == 41; }));
    CHECK(r2.sources.back() == endpoint{0x7f000001u, v4.local_endpoint().port});
    CHECK(r2.sources.back().is_v4());

    // An IPv4 socket cannot send to an IPv6 destination: skipped with its error, the rest go.
    datagram_batch wrong;
    wrong.push(v0_address(c1.local_endpoint().port), bytes_of("no"));
    wrong.push({0x7f000001u, v4.local_endpoint().port}, bytes_of("yes"));
    CHECK(v4.send(wrong, ec) == 1);
    CHECK(ec == asio::error::address_family_not_supported);
    v4.send(v0_address(c1.local_endpoint().port), bytes_of("no"), ec);
    CHECK(ec == asio::error::address_family_not_supported);
    REQUIRE(run_until(io, [&] { return r4.payloads.size() == 2; }));
    CHECK(r4.payloads[1] == bytes_of("yes"));
}

TEST_CASE("asio_udp netns6: hop limit, loopback, interface and group filtering are applied", "[.][netns6]")
{
    REQUIRE(in_private_netns(true));
    namespace mc = asio::ip::multicast;
    asio::io_context io;
    auto opt = v6_options();
    auto relay = asio_udp::bind_group(io, opt);
    const int fd = relay.socket().native_handle();
    int value = -1;
    socklen_t len = sizeof value;
    REQUIRE(::getsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &value, &len) == 0);
    CHECK(value == 1);
    len = sizeof value;
    REQUIRE(::getsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &value, &len) == 0);
    CHECK(value == 1);
    len = sizeof value;
    REQUIRE(::getsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &value, &len) == 0);
    CHECK(static_cast<unsigned>(value) == ::if_nametoindex("v0"));
    len = sizeof value;
    REQUIRE(::getsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &value, &len) == 0);
    CHECK(value == IPV6_PMTUDISC_PROBE); // Don't Fragment (asio_udp_options::dont_fragment)
#ifdef IPV6_MULTICAST_ALL
    len = sizeof value;
    if (::getsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, &value, &len) == 0)
        CHECK(value == 0);
#endif

    opt.ttl = 7;
    opt.loopback = false;
    auto c = asio_udp::open_client(io, opt);
    len = sizeof value;
    REQUIRE(::getsockopt(c.socket().native_handle(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &value, &len) == 0);
    CHECK(value == 7);
    len = sizeof value;
    REQUIRE(::getsockopt(c.socket().native_handle(), IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &value, &len) == 0);
    CHECK(value == 0);

    // A second relay on the same port joined to ff15::2 does not get ff15::1's traffic; a third
    // on the link-local group ff02::1:3 (v0 by name) gets only its own.
    auto other = asio_udp::bind_group(io, v6_options("ff15::2"));
    auto link = asio_udp::bind_group(io, v6_options("ff02::1:3"));
    collector r(relay), ro(other), rl(link);
    auto sender = asio_udp::open_client(io, v6_options());
    std::error_code ec;
    sender.send(v6_options().group_endpoint(), bytes_of("one"), ec);
    sender.send(v6_options("ff15::2").group_endpoint(), bytes_of("two"), ec);
    sender.send(v6_options("ff02::1:3").group_endpoint(), bytes_of("three"), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(run_until(io, [&] { return r.payloads.size() == 1 && ro.payloads.size() == 1 && rl.payloads.size() == 1; }));
    io.run_for(std::chrono::milliseconds(20));
    CHECK(r.payloads == std::vector<std::vector<std::byte>>{bytes_of("one")});
    CHECK(ro.payloads == std::vector<std::vector<std::byte>>{bytes_of("two")});
    CHECK(rl.payloads == std::vector<std::vector<std::byte>>{bytes_of("three")});
    // A link-local group's source is v0's link-local address, with v0's scope.
    CHECK_FALSE(rl.sources[0].is_v4());
    CHECK(rl.sources[0].v6()[0] == 0xfe);
    CHECK(rl.sources[0].scope_id() == ::if_nametoindex("v0"));
}

TEST_CASE("asio_udp netns6: an IPv4 group joins on an interface given by name", "[.][netns6]")
{
    REQUIRE(in_private_netns(true));
    asio::io_context io;
    asio_udp::options opt;
    opt.port = test_port;
    opt.interface_name = "lo"; // 224.0.0.0/4 is routed to lo by netns.sh
    auto relay = asio_udp::bind_group(io, opt);
    auto c = asio_udp::open_client(io, opt);
    collector r(relay);
    std::error_code ec;
    c.send(opt.group_endpoint(), bytes_of("v4 by name"), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(run_until(io, [&] { return r.payloads.size() == 1; }));
    CHECK(r.sources[0].is_v4());
}

TEST_CASE("asio_udp netns6: unknown interfaces are set-up errors that name them", "[.][netns6]")
{
    REQUIRE(in_private_netns(true));
    asio::io_context io;
    auto opt = v6_options();
    opt.interface_name = "nosuch0";
    try {
        (void)asio_udp::bind_group(io, opt);
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(std::string(e.what()).find("nosuch0") != std::string::npos);
    }
    opt.interface_name.clear();
    opt.interface_address = asio::ip::make_address("fd00::99"); // no interface holds it
    CHECK_THROWS_AS(asio_udp::open_client(io, opt), std::system_error);
    opt.interface_address = asio::ip::make_address("fd00::2"); // v1's: fine
    CHECK_NOTHROW(asio_udp::open_client(io, opt));
}
