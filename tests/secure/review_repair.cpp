// SPDX-License-Identifier: BSL-1.0
// Security review of the repairing Fragmenter in the secure profile's engines (an attacker's view).
// Written as attacks by the adversarial review: the takeover by another identity is fixed (the
// relay's Fragmenter forgets the address's streams); a restart under the same identity gets again
// only what its previous run had not acknowledged (ACKs free the relay's cache).
#include "secure/sim_helpers.hpp"

#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/profile/secure/cipher.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace tlvcast;
using namespace std::chrono_literals;

namespace {

using sec = profile::secure::cipher;
using repair_net = test::secure_net<sec, sec, fragment::nack_fragmenter>;
using cstate = repair_net::client_engine::state;

std::vector<std::string> texts(const std::vector<core::client_event>& evs)
{
    std::vector<std::string> v;
    for (const auto& e : evs)
        if (e.what == core::client_event::kind::message)
            v.push_back(e.text);
    return v;
}

// B (client 1) crashes; identity 4 comes up at B's endpoint; what does it read?
template <class Fragmenter>
void endpoint_takeover()
{
    // relay_peers.hpp try_handshake: "Another identity took this endpoint over (a dead member's
    // port reused)" replaces the session but does not forget the Fragmenter's streams of that
    // endpoint. The relay's stream to it continues (seq < backfill), the newcomer opens it at 0,
    // NACKs 0.., and the relay retransmits its cache (10 s) sealed for the newcomer.
    test::secure_net<sec, sec, Fragmenter> net(sec(test::identity(100)));
    for (std::uint8_t i = 1; i <= 3; ++i)
        net.add_client(sec(test::identity(i)));
    net.start_all();
    net.run_for(200ms);
    for (std::size_t i = 0; i < 3; ++i)
        REQUIRE(net.client(i).current_state() == test::secure_net<sec, sec, Fragmenter>::client_engine::state::established);
    (void)net.events(1);
    std::error_code ec;
    for (const std::string t : {"secret one for B", "secret two for B"}) {
        net.send(0, std::as_bytes(std::span(t)), ec);
        REQUIRE_FALSE(ec);
    }
    net.run_for(200ms);
    REQUIRE(texts(net.events(1)).size() == 2);
    // B crashes (no GROUP leave reaches the relay): its engine closes, the LEAVE is never sent.
    datagram_batch lost;
    net.client(1).close(net.now(), lost);
    // Another identity (4) comes up at B's address:port (a NAT mapping or port reused) within 10 s.
    net.client_address = [](std::size_t i) { return test::secure_client_address(i == 3 ? 1 : i); };
    const std::size_t d = net.add_client(sec(test::identity(4)));
    net.run_for(1s);
    net.start(d);
    net.run_for(500ms);
    REQUIRE(net.client(d).current_state() == test::secure_net<sec, sec, Fragmenter>::client_engine::state::established);
    const std::string later = "after D joined";
    net.send(0, std::as_bytes(std::span(later)), ec);
    net.run_for(2s);
    const auto got = texts(net.events(d));
    std::string all;
    for (const auto& t : got)
        all += "[" + t + "] ";
    INFO("the newcomer read: " << all);
    CHECK(std::find(got.begin(), got.end(), "secret one for B") == got.end());
    CHECK(std::find(got.begin(), got.end(), "secret two for B") == got.end());
    CHECK(std::find(got.begin(), got.end(), later) != got.end());
}


} // namespace

TEST_CASE("review, fixed: another identity that takes over a member's endpoint NACKs the relay's stream to it and "
          "reads what was sent to the previous member",
          "[secure][repair][review]")
{
    // relay_peers.hpp try_handshake: "Another identity took this endpoint over (a dead member's
    // port reused)" replaces the session but does not forget the Fragmenter's streams of that
    // endpoint. The relay's stream to it continues (seq < backfill), the newcomer opens it at 0,
    // NACKs 0.., and the relay retransmits its cache (10 s) sealed for the newcomer.
    endpoint_takeover<fragment::nack_fragmenter>();
}

TEST_CASE("review: (control) with the seed fragmenter the newcomer reads nothing sent before it came",
          "[secure][repair][review]")
{
    endpoint_takeover<fragment::seed_fragmenter>();
}

// The relay keeps a member's streams across its re-handshakes (forgetting them at every probe lost
// what was in flight), so it cannot tell a restart; but what the previous run acknowledged has left
// the relay's cache, so it is not sent again (docs/SECURITY.md: only what was unacknowledged at the
// crash can be).
TEST_CASE("review: a member that restarts (same identity, same endpoint) does not get what its previous run "
          "acknowledged",
          "[secure][repair][review]")
{
    repair_net net(sec(test::identity(100)));
    for (std::uint8_t i = 1; i <= 2; ++i)
        net.add_client(sec(test::identity(i)));
    net.start_all();
    net.run_for(200ms);
    (void)net.events(1);
    std::error_code ec;
    const std::string first = "shown before the restart";
    net.send(0, std::as_bytes(std::span(first)), ec);
    net.run_for(200ms);
    REQUIRE(texts(net.events(1)) == std::vector<std::string>{first});
    datagram_batch lost;
    net.client(1).close(net.now(), lost); // a crash: no leave
    net.client_address = [](std::size_t i) { return test::secure_client_address(i == 2 ? 1 : i); };
    const std::size_t again = net.add_client(sec(test::identity(2)));
    net.start(again);
    net.run_for(500ms);
    REQUIRE(net.client(again).current_state() == cstate::established);
    const std::string second = "after the restart";
    net.send(0, std::as_bytes(std::span(second)), ec);
    net.run_for(2s);
    CHECK(texts(net.events(again)) == std::vector<std::string>{second});
}
