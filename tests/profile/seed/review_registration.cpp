// SPDX-License-Identifier: BSL-1.0
// An adversarial review of the seed profile's registration under loss (branch `reg`,
// client_side.hpp registration_retransmit / connect_repeat, client_registration.hpp send_join /
// repeat_join). Its finding (a forged key draws a repeated CONNECT) is fixed: a changed key
// is taken only as the answer to our own request. Every test pins a defence. The seed wire has no authentication: spoofing is in its threat model as
// a given, so what is judged here is what the change adds on top of it.
#include <tlvcast/profile/seed/rsa_oaep.hpp>

#include "core/sim.hpp"
#include "profile/seed/registration_helpers.hpp"

#include <tlvcast/wire/detail/endian.hpp>
#include <tlvcast/wire/tlv.hpp>
#include <tlvcast/wire/types.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

using namespace tlvcast;
using namespace std::chrono_literals;

namespace {

using cstate = test::seed_client_engine::state;
using test::seed_registration::relay_connects;
using test::seed_registration::type_of;

} // namespace

// Holds: an attacker who copies a client's REGISTER_PUBLIC_KEY and CONNECT fragments (sent to the
// group, so every member sees them) and replays them from its address, interleaved so that each
// registration copy makes the relay's Fragmenter forget the completed msg_id, gets the CONNECT
// opened again but no second join announcement: no presence storm toward the other members.
TEST_CASE("review reg (seed): replayed REGISTER_PUBLIC_KEY + CONNECT copies announce no second join",
          "[seed][loss][review]")
{
    test::sim_network::options o;
    o.clients = 2;
    test::sim_network net(o);
    std::vector<std::byte> reg;
    std::vector<std::vector<std::byte>> connect;
    net.tap = [&](const endpoint& from, const endpoint&, std::span<const std::byte> b) {
        if (from == test::client_address(0)) {
            if (type_of(b) == wire::tlv_type::register_public_key && reg.empty())
                reg.assign(b.begin(), b.end());
            if (type_of(b) == wire::tlv_type::fragment && connect.size() < 2)
                connect.emplace_back(b.begin(), b.end());
        }
        return true;
    };
    net.start_all();
    net.run_for(20s);
    REQUIRE(net.client(0).current_state() == cstate::established);
    REQUIRE(!reg.empty());
    REQUIRE(connect.size() == 2);
    REQUIRE(relay_connects(net, 0) == 1);
    const auto presence = net.relay().counters().get(core::relay_counter::presence_sent);
    datagram_batch out;
    std::vector<core::relay_event> evs;
    std::size_t connected_notices = 0;
    for (int i = 0; i < 50; ++i) {
        out.clear();
        net.relay().handle(test::client_address(0), reg, net.now(), out, evs);
        for (const auto& f : connect)
            net.relay().handle(test::client_address(0), f, net.now(), out, evs);
        for (std::size_t k = 0; k < out.size(); ++k)
            connected_notices += type_of(out[k].bytes) == wire::tlv_type::client_connected ? 1 : 0;
    }
    CHECK(connected_notices == 0);
    CHECK(std::none_of(evs.begin(), evs.end(),
                       [](const core::relay_event& e) { return e.what == core::relay_event::kind::connected; }));
    CHECK(net.relay().counters().get(core::relay_counter::presence_sent) == presence);
    CHECK(net.relay().client_count() == 2);
}

// FINDING (low): connect_repeat multiplies what one forged SERVER_PUBLIC_KEY draws. A
// SERVER_PUBLIC_KEY with another key, unsolicited, from the relay's address (the seed wire cannot
// tell a forgery; sent to the group it reaches every member) makes each established client re-send
// its CONNECT (client_registration.hpp on_established -> send_join), and send_join now arms
// join_repeat: 1 + tries copies of every fragment instead of one. Alternating two forged keys repeats
// it without limit. The CONNECT is encrypted to the forged key, so the real relay cannot even use it.
TEST_CASE("review reg (seed): one forged SERVER_PUBLIC_KEY draws no more than one CONNECT from a client",
          "[seed][loss][review]")
{
    test::sim_network::options o;
    o.clients = 2;
    test::sim_network net(o);
    bool counting = false;
    std::size_t fragments = 0;
    net.tap = [&](const endpoint& from, const endpoint&, std::span<const std::byte> b) {
        if (counting && from == test::client_address(0) && type_of(b) == wire::tlv_type::fragment)
            ++fragments;
        return true;
    };
    net.start_all();
    net.run_for(20s);
    REQUIRE(net.client(0).current_state() == cstate::established);
    // The forgery: SERVER_PUBLIC_KEY(another key's PEM), from the relay's address.
    std::vector<std::byte> forged;
    std::error_code ec;
    const std::string pem = crypto::default_rsa::export_public_pem(crypto::default_rsa::public_of(test::shared_key(5)));
    wire::tlv_appender(forged).put(static_cast<std::uint16_t>(wire::tlv_type::server_public_key), wire::as_bytes(pem), ec);
    REQUIRE(!ec);
    datagram_batch out;
    counting = true;
    net.client(0).handle(test::relay_address, forged, net.now(), out);
    std::size_t immediate = 0;
    for (std::size_t k = 0; k < out.size(); ++k)
        immediate += type_of(out[k].bytes) == wire::tlv_type::fragment ? 1 : 0;
    net.run_for(5s);
    INFO("fragments at once " << immediate << ", then on the timer " << fragments << ", for one "
                              << forged.size() << "-byte forged datagram");
    CHECK(immediate == 0);     // the forged key answers no request of the client's: not taken
    CHECK(fragments == 0);     // so no CONNECT, and no copies of one
}

// Holds: a client alone in the group never sees the relay prove that it holds its key (no
// SENDER_INFO, RELAYED_MESSAGE or presence comes), so REGISTER_PUBLIC_KEY goes on for the whole
// schedule; it then stops: bounded, and no timer left armed (no spin) until the next probe.
TEST_CASE("review reg (seed): a lone client's registration copies stop after the schedule", "[seed][loss][review]")
{
    test::sim_network::options o;
    o.clients = 1;
    test::sim_network net(o);
    std::size_t registers = 0;
    net.tap = [&](const endpoint& from, const endpoint&, std::span<const std::byte> b) {
        if (from == test::client_address(0) && type_of(b) == wire::tlv_type::register_public_key)
            ++registers;
        return true;
    };
    net.start_all();
    net.run_for(10s); // before the first probe (15 s)
    REQUIRE(net.client(0).current_state() == cstate::established);
    CHECK(registers <= 1 + 2 * seed::registration_retransmit.tries);
    CHECK(net.client(0).cipher().next_timer(net.client(0).session()) == no_timer);
    CHECK(net.relay().client_count() == 1);
    CHECK(relay_connects(net, 0) == 1);
}

// Holds: a client that leaves while its CONNECT copies are still due sends none after its
// DISCONNECT, and the relay does not announce it again.
TEST_CASE("review reg (seed): leaving during the CONNECT repeats stops them", "[seed][loss][review]")
{
    test::sim_network::options o;
    o.clients = 2;
    test::sim_network net(o);
    bool closed = false;
    std::size_t after = 0;
    std::vector<std::vector<std::byte>> connect;
    net.tap = [&](const endpoint& from, const endpoint&, std::span<const std::byte> b) {
        if (from != test::client_address(0))
            return true;
        if (!closed && type_of(b) == wire::tlv_type::fragment && connect.size() < 2)
            connect.emplace_back(b.begin(), b.end());
        if (closed) {
            const bool is_connect = std::any_of(connect.begin(), connect.end(), [&](const auto& c) {
                return std::equal(c.begin(), c.end(), b.begin(), b.end());
            });
            // a CONNECT copy, or a registration datagram, after the DISCONNECT
            if (is_connect || type_of(b) != wire::tlv_type::fragment)
                ++after;
        }
        return true;
    };
    net.start_all();
    net.run_for(300ms);
    REQUIRE(net.client(0).current_state() == cstate::established);
    REQUIRE(connect.size() == 2);
    net.close(0);
    closed = true;
    const std::size_t connects_before = relay_connects(net, 0);
    net.run_for(10s);
    CHECK(after == 0);
    CHECK(relay_connects(net, 0) == connects_before);
    CHECK(net.client(0).next_timer() == no_timer);
}
