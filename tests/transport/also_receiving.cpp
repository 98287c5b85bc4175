// SPDX-License-Identifier: BSL-1.0
// transport/also_receiving.hpp: a client socket plus a socket on a multicast data group. The
// multicast part runs only inside tests/netns.sh; the unicast part on 127.0.0.1.
#include <tlvcast/transport/also_receiving.hpp>
#include <tlvcast/transport/asio_udp.hpp>

#include "transport/netns_util.hpp"
#include "transport/test_util.hpp"

#include <catch2/catch.hpp>

#include <asio/strand.hpp>

#include <string>
#include <vector>

using tlvcast::endpoint;
using tlvcast::transport::also_receiving;
using tlvcast::transport::asio_udp;
using tlvcast::transport::test::bytes_of;
using tlvcast::transport::test::in_private_netns;
using tlvcast::transport::test::run_until;

namespace {

constexpr std::uint32_t localhost = 0x7f000001;

template <class T>
struct receiver {
    explicit receiver(T& t) : t_(t) { start(); }
    void start()
    {
        t_.async_receive(buf, from, [this](std::error_code e, std::size_t n) {
            if (e) {
                errors.push_back(e);
                return;
            }
            payloads.emplace_back(reinterpret_cast<const char*>(buf.data()), n);
            start();
        });
    }
    T& t_;
    std::vector<std::byte> buf = std::vector<std::byte>(2048);
    endpoint from;
    std::vector<std::string> payloads;
    std::vector<std::error_code> errors;
};

} // namespace

TEST_CASE("also_receiving: receives from both transports, sends through the first", "[transport]")
{
    asio::io_context io;
    asio_udp::options opt;
    opt.group = asio::ip::make_address_v4("127.0.0.1"); // unicast stand-ins: no multicast here
    auto peer = asio_udp::open_client(io, opt);
    also_receiving both(asio_udp::open_client(io, opt), asio_udp::open_client(io, opt));
    const endpoint first{localhost, both.primary().local_endpoint().port};
    const endpoint second{localhost, both.secondary().local_endpoint().port};
    std::error_code ec;
    // Two datagrams wait on each socket before anyone asks: none is lost, both sockets are served.
    peer.send(first, bytes_of("a1"), ec);
    peer.send(first, bytes_of("a2"), ec);
    peer.send(second, bytes_of("b1"), ec);
    peer.send(second, bytes_of("b2"), ec);
    receiver r(both);
    REQUIRE(run_until(io, [&] { return r.payloads.size() == 4; }));
    std::sort(r.payloads.begin(), r.payloads.end());
    CHECK(r.payloads == std::vector<std::string>{"a1", "a2", "b1", "b2"});
    receiver p(peer);
    both.send({localhost, peer.local_endpoint().port}, bytes_of("back"), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(run_until(io, [&] { return p.payloads.size() == 1; }));
    CHECK(p.from.port == both.primary().local_endpoint().port);
    both.close();
    REQUIRE(run_until(io, [&] { return r.errors.size() == 1; }));
    CHECK(r.errors[0] == asio::error::operation_aborted);
}

TEST_CASE("also_receiving netns: a member gets its own unicast and the data group", "[.][netns]")
{
    REQUIRE(in_private_netns());
    asio::io_context io;
    asio_udp::options control;
    control.port = 47011;
    asio_udp::options data;
    data.group = asio::ip::make_address_v4("224.1.1.2");
    data.port = 47012;
    auto relay = asio_udp::bind_group(io, control);
    also_receiving m1(asio_udp::open_client(io, control), asio_udp::bind_group(io, data));
    also_receiving m2(asio_udp::open_client(io, control), asio_udp::bind_group(io, data));
    receiver r1(m1), r2(m2);
    std::error_code ec;
    relay.send(data.group_endpoint(), bytes_of("once for all"), ec); // one datagram, two members
    REQUIRE_FALSE(ec);
    relay.send({localhost, m1.local_endpoint().port}, bytes_of("only m1"), ec);
    REQUIRE(run_until(io, [&] { return r1.payloads.size() == 2 && r2.payloads.size() == 1; }));
    CHECK(r2.payloads[0] == "once for all");
    CHECK(std::count(r1.payloads.begin(), r1.payloads.end(), "only m1") == 1);
}
