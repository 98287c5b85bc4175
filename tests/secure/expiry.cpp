// SPDX-License-Identifier: BSL-1.0
// Tests for the secure profile's timers (profile/secure/cipher.hpp on_timer / next_timer, called by
// the engines): handshake state is wiped when it expires, without waiting for another datagram.
#include <tlvcast/profile/secure/cipher.hpp>

#include "secure/sim_helpers.hpp"

#include <tlvcast/crypto/identity.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>

using namespace tlvcast;
using namespace std::chrono_literals;

namespace {

using sec = profile::secure::cipher;
using net_type = test::secure_net<sec>;
using test::identity;
using test::is_type;

bool all_zero(std::span<const std::byte> b)
{
    return std::all_of(b.begin(), b.end(), [](std::byte x) { return x == std::byte{0}; });
}

} // namespace

TEST_CASE("secure expiry: the relay's pending handshakes are wiped on its timer, no datagram needed",
          "[secure][expiry]")
{
    profile::secure::options ropt;
    ropt.pending_expiry = 2s;
    net_type net(sec(identity(100), ropt));
    net.add_client(sec(identity(1)));
    // Once the relay sent its SERVER_HELLO, the wire goes dead: nothing reaches anyone any more.
    bool dead = false;
    net.tap = [&](test::wire_datagram& d) {
        if (dead)
            return false;
        if (is_type(d, wire::tlv_type::secure_server_hello))
            dead = true;
        return !dead;
    };
    net.start_all();
    net.run_for(100ms);
    REQUIRE(dead);
    CHECK(net.relay().cipher().pending_handshakes() == 1);
    CHECK(net.relay().next_timer() <= time_point{} + 100ms + 2s); // the relay asks to be woken for it
    net.run_for(1500ms);
    CHECK(net.relay().cipher().pending_handshakes() == 1);
    const auto in_before = net.relay().counters().get(core::relay_counter::datagrams_in);
    net.run_for(1s);
    CHECK(net.relay().cipher().pending_handshakes() == 0);
    CHECK(net.relay().counters().get(core::relay_counter::datagrams_in) == in_before); // no datagram did it
    CHECK(net.relay().cipher().next_timer() == no_timer);
}

TEST_CASE("secure expiry: a client's unanswered handshake is wiped after pending_expiry", "[secure][expiry]")
{
    SECTION("the cipher on its own")
    {
        profile::secure::options o;
        o.pending_expiry = 3s;
        const sec c(identity(1), o);
        sec::client_session s;
        datagram_batch out;
        const time_point t0{std::chrono::hours(1)};
        c.start_session(s, test::secure_group, t0, out);
        REQUIRE(s.handshaking);
        CHECK_FALSE(all_zero(s.ephemeral.span()));
        CHECK(c.next_timer(s) == t0 + o.retransmit.initial); // the hello's first retransmission
        c.on_timer(s, t0 + 2999ms, out);
        CHECK(s.handshaking);
        CHECK(out.size() == 2); // the hello, again
        c.on_timer(s, t0 + 3s, out);
        CHECK_FALSE(s.handshaking);
        CHECK(all_zero(s.ephemeral.span()));
        CHECK(c.next_timer(s) == no_timer);
        CHECK(out.size() == 2); // expiry sends nothing, and ends the retransmissions
    }
    SECTION("driven by the client engine's timer after its attempts failed")
    {
        profile::secure::options o;
        o.pending_expiry = 3s;
        net_type net(sec(identity(100)));
        net.add_client(sec(identity(1), o));
        net.tap = [](test::wire_datagram&) { return false; }; // no relay answers
        net.start_all();
        net.run_for(11s); // attempts at 0, 5 and 10 s (5 s each); the last one expires at 13 s
        REQUIRE(net.client(0).session().handshaking);
        net.run_for(5s); // the engine gave up at 15 s and sends nothing more
        CHECK(net.client(0).current_state() == net_type::client_engine::state::failed);
        CHECK_FALSE(net.client(0).session().handshaking);
        CHECK(all_zero(net.client(0).session().ephemeral.span()));
    }
}
