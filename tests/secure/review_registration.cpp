// SPDX-License-Identifier: BSL-1.0
// An adversarial review of the registration-under-loss change (branch `reg`): the client's flight
// retransmission (client_handshake.hpp), the relay's answers to repeated flights
// (relay_handshake.hpp, detail/pending_table.hpp) and "a handshake datagram no longer keeps a
// relay session alive" (core/impl/relay_peers.hpp). Its two findings (copies that spend the
// relay's answers) are fixed: resends follow the client's own schedule. Every test pins a defence.
#include <tlvcast/profile/secure/cipher.hpp>

#include "secure/sim_helpers.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <vector>

using namespace tlvcast;
using namespace std::chrono_literals;

namespace {

using sec = profile::secure::cipher;
using net_type = test::secure_net<sec>;
using test::identity;
using test::is_type;
using cstate = net_type::client_engine::state;

constexpr std::size_t hello_with_cookie = wire::tlv_header_size + wire::secure_hello_size + wire::secure_cookie_size;

bool is_hello_cookie(const test::wire_datagram& d)
{
    return is_type(d, wire::tlv_type::secure_hello) && d.bytes.size() == hello_with_cookie;
}
bool is_plain_hello(const test::wire_datagram& d)
{
    return is_type(d, wire::tlv_type::secure_hello) && d.bytes.size() < hello_with_cookie;
}
bool is_accept(const test::wire_datagram& d, const endpoint& relay)
{
    return d.from == relay && is_type(d, wire::tlv_type::secure_record) &&
           d.bytes.size() == profile::secure::accept_record_size;
}

// A SECURE_COOKIE that echoes the client's r_c (read from its hello, which every group member
// sees) with a made-up cookie: what anyone can send, from any address.
std::vector<std::byte> forged_cookie(const std::vector<std::byte>& plain_hello, std::uint8_t fill)
{
    std::vector<std::byte> d(wire::tlv_header_size + wire::secure_cookie_message_size);
    wire::detail::store_u16(d.data(), static_cast<std::uint16_t>(wire::tlv_type::secure_cookie));
    wire::detail::store_u16(d.data() + 2, wire::secure_cookie_message_size);
    for (std::size_t i = 0; i < wire::secure_cookie_size; ++i)
        d[wire::tlv_header_size + i] = static_cast<std::byte>(fill + i);
    const std::size_t r_c = wire::tlv_header_size + 2 + crypto::x25519_key_size;
    std::copy_n(plain_hello.begin() + static_cast<std::ptrdiff_t>(r_c), profile::secure::random_size,
                d.begin() + wire::tlv_header_size + wire::secure_cookie_size);
    return d;
}

std::size_t bytes_sent(const net_type& net, std::size_t since, const endpoint& from)
{
    std::size_t n = 0;
    for (std::size_t i = since; i < net.sent.size(); ++i)
        if (net.sent[i].from == from)
            n += net.sent[i].bytes.size();
    return n;
}

} // namespace

// Holds: client_handshake::on_cookie answers only while the client waits for a cookie
// (s.handshaking): a network duplicate of the relay's cookie arriving after the client sent
// CLIENT_AUTH does not replace the kept CLIENT_AUTH flight, so a lost ACCEPT is still recovered
// in the first attempt, and the copy costs the relay no new handshake.
TEST_CASE("review reg: a copy of the relay's cookie after CLIENT_AUTH does not displace the CLIENT_AUTH "
          "retransmission",
          "[secure][loss][review]")
{
    net_type net(sec(identity(100)));
    net.add_client(sec(identity(1)));
    std::vector<std::byte> cookie;
    bool accept_dropped = false;
    net.tap = [&](test::wire_datagram& d) {
        if (is_type(d, wire::tlv_type::secure_cookie) && cookie.empty())
            cookie = d.bytes;
        if (is_accept(d, net.relay_address) && !accept_dropped) {
            accept_dropped = true;
            // The network duplicated the relay's cookie; the copy arrives now.
            net.inject(net.relay_address, net.client_address(0), cookie);
            return false; // and the first ACCEPT is lost
        }
        return true;
    };
    net.start_all();
    net.run_for(4900ms); // within the first attempt, as handshake_loss.cpp expects for one lost ACCEPT
    REQUIRE(accept_dropped);
    CHECK(net.client(0).current_state() == cstate::established);
    CHECK(net.client(0).counters().get(core::client_counter::registration_attempts) == 1);
    // One handshake's public-key work at the relay: a copied cookie costs none.
    CHECK(net.relay().cipher().public_key_ops().total() == 3 + 1);
    CHECK(net.relay().cipher().pending_handshakes() == 0);
}

// Holds: an established client does not answer a forged SECURE_COOKIE (anyone who saw its hello
// on the group knows r_c; the cookie need not come from the relay's address): no hello+cookie,
// no retransmission timer armed, no pending handshake or public-key work at the relay.
TEST_CASE("review reg: an established client ignores a forged SECURE_COOKIE (no hello, no relay public-key work)",
          "[secure][loss][review]")
{
    net_type net(sec(identity(100)));
    net.add_client(sec(identity(1)));
    std::vector<std::byte> hello;
    net.tap = [&](test::wire_datagram& d) {
        if (is_plain_hello(d) && hello.empty())
            hello = d.bytes;
        return true;
    };
    net.start_all();
    net.run_for(1s);
    REQUIRE(net.client(0).current_state() == cstate::established);
    REQUIRE(!hello.empty());
    const auto ops = net.relay().cipher().public_key_ops().total();
    const std::size_t since = net.sent.size();
    const auto forged = forged_cookie(hello, 0x42);
    net.inject(endpoint{0x0a636363u, 6666}, net.client_address(0), forged); // any address will do
    net.run_for(6s);
    std::size_t hellos = 0, server_hellos = 0;
    for (std::size_t i = since; i < net.sent.size(); ++i) {
        hellos += net.sent[i].from == net.client_address(0) && is_hello_cookie(net.sent[i]) ? 1 : 0;
        server_hellos += is_type(net.sent[i], wire::tlv_type::secure_server_hello) ? 1 : 0;
    }
    INFO("client hellos " << hellos << ", SERVER_HELLOs " << server_hellos << ", bytes client "
                          << bytes_sent(net, since, net.client_address(0)) << " relay "
                          << bytes_sent(net, since, net.relay_address) << " for " << forged.size());
    CHECK(hellos == 0);
    CHECK(server_hellos == 0);
    CHECK(net.relay().cipher().public_key_ops().total() == ops);
    CHECK(net.relay().cipher().pending_handshakes() == 0);
    CHECK(net.client(0).current_state() == cstate::established);
}

// Holds: a thousand forged cookies (from anywhere, echoing r_c) to an established client draw
// nothing and arm no timer.
TEST_CASE("review reg: a thousand forged cookies to an established client draw nothing", "[secure][review]")
{
    net_type net(sec(identity(100)));
    net.add_client(sec(identity(1)));
    std::vector<std::byte> hello;
    net.tap = [&](test::wire_datagram& d) {
        if (is_plain_hello(d) && hello.empty())
            hello = d.bytes;
        return true;
    };
    net.start_all();
    net.run_for(1s);
    REQUIRE(net.client(0).current_state() == cstate::established);
    const auto ops = net.relay().cipher().public_key_ops().total();
    const auto hellos = test::count_sent(net, wire::tlv_type::secure_hello, net.client_address(0));
    for (int i = 0; i < 1000; ++i) {
        net.inject(endpoint{0x0a636363u, 6666}, net.client_address(0), forged_cookie(hello, static_cast<std::uint8_t>(i)));
        net.run_for(2ms);
    }
    net.run_for(3s); // before the 15-s probe re-handshakes
    CHECK(test::count_sent(net, wire::tlv_type::secure_hello, net.client_address(0)) == hellos);
    CHECK(net.relay().cipher().public_key_ops().total() == ops);
    CHECK(net.relay().cipher().pending_handshakes() == 0);
    CHECK(net.client(0).current_state() == cstate::established);
    CHECK(net.client(0).cipher().next_timer(net.client(0).session()) == no_timer);
}

// Holds: a hello+cookie copied from the client and replayed from another address (another host,
// or the client's host on another port) gets only stateless cookies, each smaller than what drew
// it: the cookie binds the address and port, so no SERVER_HELLO is reflected to a spoofed victim.
TEST_CASE("review reg: a hello+cookie replayed from another source gets only cookies", "[secure][review]")
{
    net_type net(sec(identity(100)));
    net.add_client(sec(identity(1)));
    std::vector<std::byte> hello_cookie;
    net.tap = [&](test::wire_datagram& d) {
        if (is_hello_cookie(d) && hello_cookie.empty())
            hello_cookie = d.bytes;
        return true;
    };
    net.start_all();
    net.run_for(1s);
    REQUIRE(!hello_cookie.empty());
    const auto ops = net.relay().cipher().public_key_ops().total();
    const std::size_t since = net.sent.size();
    const endpoint victim_other_port{net.client_address(0).v4(), 9999};
    const endpoint other_host{0x0a0000feu, 40000};
    for (int i = 0; i < 200; ++i) {
        net.inject(victim_other_port, net.relay_address, hello_cookie);
        net.inject(other_host, net.relay_address, hello_cookie);
    }
    net.run_for(1s);
    std::size_t cookies = 0, others = 0;
    for (std::size_t i = since; i < net.sent.size(); ++i) {
        if (net.sent[i].from != net.relay_address)
            continue;
        if (is_type(net.sent[i], wire::tlv_type::secure_cookie))
            ++cookies;
        else if (!is_type(net.sent[i], wire::tlv_type::secure_record))
            ++others;
    }
    CHECK(cookies <= 400);
    CHECK(others == 0);
    CHECK(bytes_sent(net, since, net.relay_address) <= 400 * hello_cookie.size());
    CHECK(net.relay().cipher().public_key_ops().total() == ops);
    CHECK(net.relay().cipher().pending_handshakes() == 0);
}

// Holds: a copied CLIENT_AUTH from any address but the session's draws no ACCEPT, and a
// late copy of the SERVER_HELLO makes the established client neither answer nor re-key.
TEST_CASE("review reg: copied CLIENT_AUTH from elsewhere and a late SERVER_HELLO copy change nothing",
          "[secure][review]")
{
    net_type net(sec(identity(100)));
    net.add_client(sec(identity(1)));
    std::vector<std::byte> client_auth, server_hello;
    net.tap = [&](test::wire_datagram& d) {
        if (is_type(d, wire::tlv_type::secure_client_auth) && client_auth.empty())
            client_auth = d.bytes;
        if (is_type(d, wire::tlv_type::secure_server_hello) && server_hello.empty())
            server_hello = d.bytes;
        return true;
    };
    net.start_all();
    net.run_for(1s);
    REQUIRE(net.client(0).current_state() == cstate::established);
    const auto relay_ops = net.relay().cipher().public_key_ops().total();
    const auto client_ops = net.client(0).cipher().public_key_ops().total();
    const std::size_t since = net.sent.size();
    const endpoint same_host_other_port{net.client_address(0).v4(), 9999};
    for (int i = 0; i < 100; ++i) {
        net.inject(same_host_other_port, net.relay_address, client_auth);
        net.inject(endpoint{0x0a0000feu, 40000}, net.relay_address, client_auth);
        net.inject(net.relay_address, net.client_address(0), server_hello);
    }
    net.run_for(1s);
    std::size_t accepts = 0, auths = 0;
    for (std::size_t i = since; i < net.sent.size(); ++i) {
        accepts += is_accept(net.sent[i], net.relay_address) ? 1 : 0;
        auths += is_type(net.sent[i], wire::tlv_type::secure_client_auth) ? 1 : 0;
    }
    CHECK(accepts == 0);
    CHECK(auths == 0);
    CHECK(net.relay().cipher().public_key_ops().total() == relay_ops);
    CHECK(net.client(0).cipher().public_key_ops().total() == client_ops);
    CHECK(net.relay().client_count() == 1);
    CHECK(net.relay().counters().get(core::relay_counter::registrations) == 1);
}

// Holds (the point of 2079183): a client that went silent is timed out although a spoofer keeps
// sending handshake datagrams from its address (cookie-less hellos, copies of its hello+cookie and
// CLIENT_AUTH) and replays its records.
TEST_CASE("review reg: handshake datagrams and replayed records from a silent client's address do not keep its "
          "session",
          "[secure][review]")
{
    core::relay_options ropt;
    ropt.client_timeout = 15s;
    net_type net(sec(identity(100)), ropt);
    net.add_client(sec(identity(1)));
    std::vector<std::byte> hello, hello_cookie, client_auth, record;
    net.tap = [&](test::wire_datagram& d) {
        if (d.from == net.client_address(0)) {
            if (is_plain_hello(d) && hello.empty())
                hello = d.bytes;
            if (is_hello_cookie(d) && hello_cookie.empty())
                hello_cookie = d.bytes;
            if (is_type(d, wire::tlv_type::secure_client_auth) && client_auth.empty())
                client_auth = d.bytes;
            if (is_type(d, wire::tlv_type::secure_record))
                record = d.bytes;
        }
        return true;
    };
    net.start_all();
    net.run_for(7s);
    REQUIRE(net.client(0).current_state() == cstate::established);
    REQUIRE(!record.empty());
    // The client goes silent (crashed, or its path died); the spoofer does not.
    // The spoofer's datagrams must get through: they come from the client's address too, so they
    // are injected after the tap is bypassed for them.
    bool spoofing = false;
    net.tap = [&](test::wire_datagram& d) {
        if (spoofing)
            return true;
        return d.from != net.client_address(0) || d.to != net.relay_address;
    };
    for (int s = 0; s < 40; ++s) {
        spoofing = true;
        net.inject(net.client_address(0), net.relay_address, hello);
        net.inject(net.client_address(0), net.relay_address, hello_cookie);
        net.inject(net.client_address(0), net.relay_address, client_auth);
        net.inject(net.client_address(0), net.relay_address, record);
        net.run_for(2ms);
        spoofing = false;
        net.run_for(998ms);
    }
    CHECK(net.relay().client_count() == 0);
    CHECK(net.relay().counters().get(core::relay_counter::timeouts) == 1);
}

// Holds: with the relay's SERVER_HELLO lost and its flight resent, the client's duplicate
// hello+cookie never creates a second pending handshake or a second session, and a hello+cookie
// repeated past the relay's max_flight_resends is dropped, not answered with new work.
TEST_CASE("review reg: many copies of hello+cookie from the client's address: one pending entry, bounded answers",
          "[secure][review]")
{
    net_type net(sec(identity(100)));
    net.add_client(sec(identity(1)));
    std::vector<std::byte> hello_cookie;
    net.tap = [&](test::wire_datagram& d) {
        if (is_hello_cookie(d) && hello_cookie.empty()) {
            hello_cookie = d.bytes;
            return false; // the client's own is lost: the attacker's copies come first
        }
        return true;
    };
    net.start_all();
    net.run_for(3ms);
    REQUIRE(!hello_cookie.empty());
    const std::size_t since = net.sent.size();
    for (int i = 0; i < 100; ++i)
        net.inject(net.client_address(0), net.relay_address, hello_cookie);
    net.run_for(4800ms);
    std::size_t server_hellos = 0;
    for (std::size_t i = since; i < net.sent.size(); ++i)
        server_hellos += is_type(net.sent[i], wire::tlv_type::secure_server_hello) ? 1 : 0;
    CHECK(server_hellos <= 1 + sec::options::default_max_flight_resends);
    CHECK(net.client(0).current_state() == cstate::established);
    CHECK(net.relay().counters().get(core::relay_counter::registrations) == 1);
    CHECK(net.relay().cipher().public_key_ops().total() == 3 + 1);
}

// Holds: the network delivers the client's first hello twice, the copy late (after the client
// registered). The relay's stateless answer (the same cookie) is dropped by the established client.
TEST_CASE("review reg: a late network duplicate of the client's hello costs the relay no second handshake",
          "[secure][loss][review]")
{
    net_type net(sec(identity(100)));
    net.add_client(sec(identity(1)));
    std::vector<std::byte> hello;
    net.tap = [&](test::wire_datagram& d) {
        if (is_plain_hello(d) && hello.empty())
            hello = d.bytes;
        return true;
    };
    net.start_all();
    net.run_for(300ms);
    REQUIRE(net.client(0).current_state() == cstate::established);
    REQUIRE(net.relay().cipher().public_key_ops().total() == 3 + 1);
    const std::size_t since = net.sent.size();
    net.inject(net.client_address(0), net.relay_address, hello); // the network's late copy
    net.run_for(6s);
    std::size_t hellos = 0;
    for (std::size_t i = since; i < net.sent.size(); ++i)
        hellos += net.sent[i].from == net.client_address(0) && is_hello_cookie(net.sent[i]) ? 1 : 0;
    INFO("hello+cookie sent by the established client: " << hellos);
    CHECK(hellos == 0);
    CHECK(net.relay().cipher().public_key_ops().total() == 3 + 1);
}

namespace {

// A 100-ms burst loss toward the client (a Wi-Fi hand-over, a congested queue) hits the relay's
// answer to one flight; the client's retransmission 250 ms later recovers it in the first attempt.
// With `spoof`, an attacker that sees the flight (the client sends it to the group address, so every
// member does) and can spoof the client's source address sends max_flight_resends copies of it at
// once: the relay spends that handshake's whole resend budget into the burst, and the client's own
// retransmissions afterwards get nothing.
struct burst_result {
    cstate state;
    std::uint64_t attempts;
    std::size_t answers_after_burst;
};

burst_result run_burst(bool client_auth_flight, bool spoof)
{
    net_type net(sec(identity(100)));
    net.add_client(sec(identity(1)));
    bool copied = false;
    const time_point burst_end = net.now() + 100ms;
    std::size_t answers_after_burst = 0;
    net.tap = [&](test::wire_datagram& d) {
        const bool flight = d.from == net.client_address(0) && d.to == net.relay_address &&
                            (client_auth_flight ? is_type(d, wire::tlv_type::secure_client_auth) : is_hello_cookie(d));
        if (flight && !copied) {
            copied = true;
            if (spoof)
                for (unsigned i = 0; i < sec::options::default_max_flight_resends; ++i)
                    net.inject(net.client_address(0), net.relay_address, d.bytes);
        }
        const bool answer = d.to == net.client_address(0) &&
                            (client_auth_flight ? is_accept(d, net.relay_address)
                                                : is_type(d, wire::tlv_type::secure_server_hello));
        if (answer && net.now() < burst_end)
            return false; // the burst
        if (answer)
            ++answers_after_burst;
        return true;
    };
    net.start_all();
    net.run_for(4900ms);
    return {net.client(0).current_state(), net.client(0).counters().get(core::client_counter::registration_attempts),
            answers_after_burst};
}

} // namespace

TEST_CASE("review reg: control: a 100-ms burst loss of SERVER_HELLO or ACCEPT is recovered in the first attempt",
          "[secure][loss][review]")
{
    for (const bool auth : {false, true}) {
        INFO((auth ? "ACCEPT" : "SERVER_HELLO") << " lost in the burst");
        const auto r = run_burst(auth, false);
        CHECK(r.state == cstate::established);
        CHECK(r.attempts == 1);
    }
}

// FINDING: the relay's resend budget (max_flight_resends, relay_handshake.hpp:99 for the
// SERVER_HELLO, :225 for the ACCEPT) is shared by the client and anyone who can send a copy of its
// flight from its address, with no spacing in time: 8 copies at once spend it, and the client's
// timer-spaced retransmissions (the loss recovery this change adds) are then dropped. The attempt
// fails and, for the ACCEPT, the relay keeps a half-open session until the next attempt.
TEST_CASE("review reg: spoofed copies of hello+cookie do not spend the client's SERVER_HELLO retransmissions",
          "[secure][loss][review]")
{
    const auto r = run_burst(false, true);
    INFO("SERVER_HELLOs reaching the client after the burst: " << r.answers_after_burst);
    CHECK(r.state == cstate::established);
    CHECK(r.attempts == 1);
}

TEST_CASE("review reg: spoofed copies of CLIENT_AUTH do not spend the client's ACCEPT retransmissions",
          "[secure][loss][review]")
{
    const auto r = run_burst(true, true);
    INFO("ACCEPTs reaching the client after the burst: " << r.answers_after_burst);
    CHECK(r.state == cstate::established);
    CHECK(r.attempts == 1);
}
