// SPDX-License-Identifier: BSL-1.0
// Multicast tests of asio_udp (relay joins a group, clients send to it): only inside tests/netns.sh.
#include <tlvcast/transport/asio_udp.hpp>

#include "transport/netns_util.hpp"
#include "transport/test_util.hpp"

#include <catch2/catch.hpp>

#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <vector>

using tlvcast::datagram_batch;
using tlvcast::endpoint;
using tlvcast::transport::asio_udp;
using tlvcast::transport::test::bytes_of;
using tlvcast::transport::test::in_private_netns;
using tlvcast::transport::test::run_until;

namespace {

constexpr std::uint32_t loopback_ip = 0x7f000001;
constexpr std::uint16_t test_port = 47007;

asio_udp::options test_options()
{
    asio_udp::options o;
    o.port = test_port;
    return o;
}

/// Receives datagrams in a loop, recording their payloads and sources (named apart from asio_udp.cpp's
/// collector: the two files share a unity translation unit).
struct payload_collector {
    explicit payload_collector(asio_udp& t) : t_(t) { start(); }
    void start()
    {
        t_.async_receive(buf, from, [this](std::error_code ec, std::size_t n) {
            if (ec)
                return;
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
};

} // namespace

// Hidden ([.]): never part of a plain run; ctest runs it as `netns.sh test_transport [netns]`.
TEST_CASE("asio_udp netns: clients send to the group, the relay replies unicast", "[.][netns]")
{
    REQUIRE(in_private_netns()); // refuse to touch a real network: run through tests/netns.sh
    asio::io_context io;
    const auto opt = test_options();
    auto relay = asio_udp::bind_group(io, opt);
    auto c1 = asio_udp::open_client(io, opt);
    auto c2 = asio_udp::open_client(io, opt);
    CHECK(relay.local_endpoint() == endpoint{0, test_port});

    payload_collector r(relay), r1(c1), r2(c2);
    std::error_code ec;
    const endpoint group = opt.group_endpoint();
    CHECK(group == endpoint{0xe0010101, test_port});
    c1.send(group, bytes_of("from c1"), ec);
    REQUIRE_FALSE(ec);
    c2.send(group, bytes_of("from c2"), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(run_until(io, [&] { return r.payloads.size() == 2; }));
    CHECK(r.payloads[0] == bytes_of("from c1"));
    CHECK(r.payloads[1] == bytes_of("from c2"));
    CHECK(r.sources[0] == endpoint{loopback_ip, c1.local_endpoint().port});
    CHECK(r.sources[1] == endpoint{loopback_ip, c2.local_endpoint().port});
    // Clients did not join: their own multicast does not come back to them.
    CHECK(r1.payloads.empty());
    CHECK(r2.payloads.empty());

    relay.send(r.sources[0], bytes_of("to c1"), ec);
    REQUIRE_FALSE(ec);
    relay.send(r.sources[1], bytes_of("to c2"), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(run_until(io, [&] { return r1.payloads.size() == 1 && r2.payloads.size() == 1; }));
    CHECK(r1.payloads[0] == bytes_of("to c1"));
    CHECK(r2.payloads[0] == bytes_of("to c2"));
    CHECK(r1.sources[0] == endpoint{loopback_ip, test_port});
    CHECK(r2.sources[0] == endpoint{loopback_ip, test_port});
}

TEST_CASE("asio_udp netns: batches with sendmmsg to the group and back to every client", "[.][netns]")
{
    REQUIRE(in_private_netns());
    asio::io_context io;
    const auto opt = test_options();
    auto relay = asio_udp::bind_group(io, opt);
    auto c1 = asio_udp::open_client(io, opt);
    auto c2 = asio_udp::open_client(io, opt);
    payload_collector r(relay), r1(c1), r2(c2);

    datagram_batch batch;
    for (int i = 0; i < 32; ++i)
        batch.push(opt.group_endpoint(), std::vector<std::byte>(256, std::byte(i)));
    std::error_code ec;
    CHECK(c1.send(batch, ec) == 32);
    CHECK_FALSE(ec);
    REQUIRE(run_until(io, [&] { return r.payloads.size() == 32; }));
    for (int i = 0; i < 32; ++i)
        REQUIRE(r.payloads[i] == std::vector<std::byte>(256, std::byte(i)));

    // The relay's fan-out: one batch, one datagram per client and message.
    datagram_batch fan;
    for (int i = 0; i < 40; ++i)
        for (const auto* c : {&c1, &c2})
            fan.push({loopback_ip, c->local_endpoint().port}, std::vector<std::byte>(100, std::byte(i)));
    CHECK(relay.send(fan, ec) == 80);
    CHECK_FALSE(ec);
    REQUIRE(run_until(io, [&] { return r1.payloads.size() == 40 && r2.payloads.size() == 40; }));
    for (int i = 0; i < 40; ++i) {
        REQUIRE(r1.payloads[i] == std::vector<std::byte>(100, std::byte(i)));
        REQUIRE(r2.payloads[i] == std::vector<std::byte>(100, std::byte(i)));
    }
}

TEST_CASE("asio_udp netns: TTL, loopback and group options are applied", "[.][netns]")
{
    REQUIRE(in_private_netns());
    namespace mc = asio::ip::multicast;
    asio::io_context io;
    auto opt = test_options();
    auto relay = asio_udp::bind_group(io, opt);
    mc::hops hops;
    mc::enable_loopback loop;
    relay.socket().get_option(hops);
    relay.socket().get_option(loop);
    CHECK(hops.value() == 1);
    CHECK(loop.value());
    asio::socket_base::reuse_address reuse;
    relay.socket().get_option(reuse);
    CHECK(reuse.value());
    int all = -1;
    socklen_t len = sizeof all;
    REQUIRE(::getsockopt(relay.socket().native_handle(), IPPROTO_IP, IP_MULTICAST_ALL, &all, &len) == 0);
    CHECK(all == 0);

    opt.ttl = 7;
    opt.loopback = false;
    opt.interface_address = asio::ip::make_address_v4("127.0.0.1");
    auto c = asio_udp::open_client(io, opt);
    c.socket().get_option(hops);
    c.socket().get_option(loop);
    CHECK(hops.value() == 7);
    CHECK_FALSE(loop.value());
    in_addr iface{};
    len = sizeof iface;
    REQUIRE(::getsockopt(c.socket().native_handle(), IPPROTO_IP, IP_MULTICAST_IF, &iface, &len) == 0);
    CHECK(ntohl(iface.s_addr) == loopback_ip);

    // A second relay on the same port (SO_REUSEADDR) joined to another group does not get the first
    // group's traffic (IP_MULTICAST_ALL off).
    auto other_opt = test_options();
    other_opt.group = asio::ip::make_address_v4("224.1.1.2");
    auto other = asio_udp::bind_group(io, other_opt);
    payload_collector r(relay), ro(other);
    auto sender = asio_udp::open_client(io, test_options());
    std::error_code ec;
    sender.send(test_options().group_endpoint(), bytes_of("one"), ec);
    sender.send(other_opt.group_endpoint(), bytes_of("two"), ec);
    REQUIRE(run_until(io, [&] { return r.payloads.size() == 1 && ro.payloads.size() == 1; }));
    io.run_for(std::chrono::milliseconds(20));
    CHECK(r.payloads == std::vector<std::vector<std::byte>>{bytes_of("one")});
    CHECK(ro.payloads == std::vector<std::vector<std::byte>>{bytes_of("two")});
}

namespace {

/// Sets an interface's MTU (this namespace's own `lo`); returns the old one, or -1.
int set_mtu(const char* name, int mtu)
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return -1;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    int old = -1;
    if (::ioctl(fd, SIOCGIFMTU, &ifr) == 0) {
        old = ifr.ifr_mtu;
        ifr.ifr_mtu = mtu;
        if (::ioctl(fd, SIOCSIFMTU, &ifr) != 0)
            old = -1;
    }
    ::close(fd);
    return old;
}

} // namespace

TEST_CASE("asio_udp netns: a datagram over the MTU is refused with DF, fragmented without", "[.][netns]")
{
    REQUIRE(in_private_netns());
    const int old = set_mtu("lo", 1500);
    REQUIRE(old > 0);
    struct restore {
        int mtu;
        ~restore() { set_mtu("lo", mtu); }
    } restore_mtu{old};

    asio::io_context io;
    auto opt = test_options();
    auto relay = asio_udp::bind_group(io, opt);
    payload_collector r(relay);
    const endpoint to{loopback_ip, test_port};
    const std::vector<std::byte> big(2000, std::byte{0x5a}), small(1400, std::byte{0x33});

    auto df = asio_udp::open_client(io, opt); // dont_fragment by default
    std::error_code ec;
    df.send(to, big, ec);
    CHECK(ec == asio::error::message_size);
    // In a batch the oversized one is skipped (a per-datagram error) and the rest still go.
    datagram_batch b;
    b.push(to, big);
    b.push(to, small);
    CHECK(df.send(b, ec) == 1);
    CHECK(ec == asio::error::message_size);
    REQUIRE(run_until(io, [&] { return r.payloads.size() == 1; }));
    CHECK(r.payloads[0] == small);

    opt.dont_fragment = false;
    auto frag = asio_udp::open_client(io, opt);
    frag.send(to, big, ec);
    CHECK_FALSE(ec);
    REQUIRE(run_until(io, [&] { return r.payloads.size() == 2; }));
    CHECK(r.payloads[1] == big);
}
