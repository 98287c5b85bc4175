// SPDX-License-Identifier: BSL-1.0
// Security review (attacker's view) of session continuity in the secure profile: rogue and forged
// SERVER_HELLOs during a re-handshake, and the relay's per-source cap. These hold.
#include "secure/review_helpers.hpp"

using namespace tlvcast;
using namespace tlvcast::review;
using namespace std::chrono_literals;

TEST_CASE("review: rogue signed SERVER_HELLOs on a re-handshake get nothing and change nothing", "[secure][review]")
{
    auto net = rv_net(2);
    (void)net->events(0);
    bool fired = false;
    arm_rogue(*net, 3, false, false, fired);
    net->run_for(15s + 200ms); // the probe re-handshakes
    REQUIRE(fired);
    auto& c = net->client(0);
    CHECK(c.current_state() == cstate::established);
    CHECK(c.relay_address() == test::secure_relay_address);
    CHECK(c.counters().get(core::client_counter::relays_refused) == 3);
    CHECK(c.counters().get(core::client_counter::re_registrations) == 0);
    // Exactly one CLIENT_AUTH per real handshake (the first and the probe's), none for the rogue.
    CHECK(client_auths_from(*net, 0) == 2);
    for (const auto& d : net->sent)
        CHECK(d.to != rogue_address);
    const auto evs = net->events(0);
    CHECK(rv_count(evs, ek::relay_changed) == 0);
    CHECK(rv_count(evs, ek::failed) == 0);
    CHECK(rv_count(evs, ek::registered) == 0);
    // The re-keyed session works.
    std::error_code ec;
    const std::string text = "after the rogue";
    net->send(1, std::as_bytes(std::span(text)), ec);
    REQUIRE(!ec);
    net->run_for(100ms);
    const auto after = net->events(0);
    REQUIRE(rv_count(after, ek::message) == 1);
    CHECK(net->client(0).session().current->peer == crypto::fingerprint_of<crypto::default_suite>(identity(100).public_key));
}

TEST_CASE("review: forged (badly signed) SERVER_HELLOs are dropped without an event", "[secure][review]")
{
    auto net = rv_net(1);
    (void)net->events(0);
    bool fired = false;
    arm_rogue(*net, 50, false, true, fired);
    net->run_for(15s + 200ms);
    REQUIRE(fired);
    CHECK(net->client(0).current_state() == cstate::established);
    CHECK(net->client(0).counters().get(core::client_counter::relays_refused) == 0);
    CHECK(net->client(0).counters().get(core::client_counter::undecryptable) >= 50);
    CHECK(net->events(0).empty());
    CHECK(client_auths_from(*net, 0) == 2);
}

TEST_CASE("review: the per-source cap holds through leaves, timeouts and re-registrations (no underflow)",
          "[secure][review]")
{
    core::relay_options ropt;
    ropt.max_clients_per_source = 2;
    net_type net(sec(identity(100)), ropt);
    net.client_address = [](std::size_t i) { return endpoint{0x0a000001u, static_cast<std::uint16_t>(40000 + i)}; };
    for (std::uint8_t i = 0; i < 4; ++i)
        net.add_client(sec(identity(static_cast<std::uint8_t>(i + 1))));
    net.start(0);
    net.start(1);
    net.start(2);
    net.run_for(100ms);
    CHECK(net.relay().client_count() == 2);
    CHECK(net.relay().counters().get(core::relay_counter::source_full) >= 1);
    CHECK(net.client(2).current_state() == cstate::registering);
    // Client 0 leaves (twice: the second DISCONNECT comes from an unregistered source).
    {
        datagram_batch out;
        net.client(0).close(net.now(), out);
        for (std::size_t k = 0; k < out.size(); ++k)
            for (int rep = 0; rep < 2; ++rep)
                net.inject(net.client_address(0), test::secure_relay_address, out[k].bytes);
    }
    net.run_for(6s); // client 2 retries and takes the freed place
    CHECK(net.relay().client_count() == 2);
    CHECK(net.client(2).current_state() == cstate::established);
    // Client 1 goes silent: timed out, its place freed once.
    bool mute1 = true;
    net.tap = [&](test::wire_datagram& d) { return !(mute1 && d.from == net.client_address(1)); };
    net.run_for(20s);
    CHECK(net.relay().client_count() == 1);
    net.start(3);
    net.run_for(100ms);
    CHECK(net.client(3).current_state() == cstate::established);
    CHECK(net.relay().client_count() == 2);
    // Client 1 comes back: the host is at its cap, so it is refused, whatever happened before.
    mute1 = false;
    net.run_for(40s);
    CHECK(net.relay().client_count() == 2);
    CHECK(net.relay().counters().get(core::relay_counter::source_full) >= 2);
}
