// SPDX-License-Identifier: BSL-1.0
// Tests for the seed profile's registration under loss (client_side.hpp: registration_retransmit,
// connect_repeat; rsa_oaep.hpp: join_repeat, on_timer) through the engines on the virtual clock:
// REGISTER_PUBLIC_KEY, REQUEST_SERVER_KEY, SERVER_PUBLIC_KEY and each CONNECT fragment dropped in
// turn, and twenty clients at 20% random loss. The wire stays the prototype's: only copies.
#include <tlvcast/profile/seed/rsa_oaep.hpp>

#include "core/sim.hpp"
#include "profile/seed/registration_helpers.hpp"

#include <tlvcast/wire/detail/endian.hpp>
#include <tlvcast/wire/types.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <set>

using namespace tlvcast;
using namespace std::chrono_literals;

namespace {

using cstate = test::seed_client_engine::state;
using test::seed_registration::relay_connects;
using test::seed_registration::type_of;

// The fragment number of a FRAGMENT datagram (its seq field).
unsigned fragment_seq(std::span<const std::byte> b) { return wire::detail::load_u16(b.data() + 8); }

// What a test drops: the first `n` datagrams of one kind.
enum class target { register_key, request_key, server_key, connect_first, connect_last };

bool matches(target t, const endpoint& from, std::span<const std::byte> b)
{
    const bool to_relay = from != test::relay_address;
    switch (t) {
    case target::register_key: return type_of(b) == wire::tlv_type::register_public_key;
    case target::request_key: return type_of(b) == wire::tlv_type::request_server_key;
    case target::server_key: return type_of(b) == wire::tlv_type::server_public_key;
    case target::connect_first: return to_relay && type_of(b) == wire::tlv_type::fragment && fragment_seq(b) == 0;
    case target::connect_last: return to_relay && type_of(b) == wire::tlv_type::fragment && fragment_seq(b) == 1;
    }
    return false;
}

} // namespace

TEST_CASE("seed registration: each registration datagram and each CONNECT fragment lost, the client registers "
          "and the relay sees its CONNECT once",
          "[seed][loss]")
{
    const std::array targets{target::register_key, target::request_key, target::server_key, target::connect_first,
                             target::connect_last};
    const std::array<const char*, 5> names{"REGISTER_PUBLIC_KEY", "REQUEST_SERVER_KEY", "SERVER_PUBLIC_KEY",
                                           "CONNECT fragment 0", "CONNECT fragment 1"};
    for (std::size_t k = 0; k < targets.size(); ++k) {
        for (int drops = 1; drops <= 4; ++drops) {
            INFO(names[k] << " dropped " << drops << " times");
            test::sim_network::options o;
            o.clients = 1;
            test::sim_network net(o);
            int dropped = 0;
            net.tap = [&](const endpoint& from, const endpoint&, std::span<const std::byte> b) {
                if (matches(targets[k], from, b) && dropped < drops) {
                    ++dropped;
                    return false;
                }
                return true;
            };
            net.start_all();
            // Within one attempt (register_timeout, 5 s): before this change the key exchange was
            // tried again only by the next attempt, and CONNECT was never sent again.
            net.run_for(4900ms);
            CHECK(dropped == drops);
            CHECK(net.client(0).current_state() == cstate::established);
            CHECK(net.client(0).counters().get(core::client_counter::registration_attempts) == 1);
            CHECK(net.relay().client_count() == 1);
            CHECK(relay_connects(net, 0) == 1); // the copies after the first that arrived change nothing
        }
    }
}

TEST_CASE("seed registration: the CONNECT goes out 1 + tries times, byte for byte, then never again", "[seed][loss]")
{
    test::sim_network::options o;
    o.clients = 2;
    test::sim_network net(o);
    std::vector<std::vector<std::byte>> fragments;
    net.tap = [&](const endpoint& from, const endpoint&, std::span<const std::byte> b) {
        if (from == test::client_address(0) && type_of(b) == wire::tlv_type::fragment)
            fragments.emplace_back(b.begin(), b.end());
        return true;
    };
    net.start_all();
    net.run_for(20s);
    const unsigned copies = 1 + seed::connect_repeat.tries;
    REQUIRE(fragments.size() == 2 * copies);
    for (std::size_t i = 2; i < fragments.size(); ++i)
        CHECK(fragments[i] == fragments[i % 2]); // the same msg_id and ciphertext
    // One CONNECT per client at the relay, and one presence notice for the other client.
    CHECK(relay_connects(net, 0) == 1);
    CHECK(relay_connects(net, 1) == 1);
    CHECK(net.relay().counters().get(core::relay_counter::presence_sent) == 2);
    CHECK(net.relay().fragmenter_stats().reassembly.duplicates >= 2 * (copies - 1));
    // A key exchange once per client, not more: the other's presence proved ours registered.
    CHECK(net.client(0).cipher().next_timer(net.client(0).session()) == no_timer);
}

TEST_CASE("seed registration: twenty clients at 20% random loss all register and all CONNECTs arrive",
          "[seed][loss]")
{
    std::size_t runs = 0, all = 0, worst = 20;
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
        test::sim_network::options o;
        o.clients = 20;
        o.seed = seed;
        o.faults.drop = 0.2;
        test::sim_network net(o);
        net.start_all();
        net.run_for(15s); // three attempts of register_timeout
        std::size_t ok = 0;
        for (std::size_t i = 0; i < 20; ++i)
            ok += net.client(i).current_state() == cstate::established && relay_connects(net, i) == 1 ? 1 : 0;
        ++runs;
        all += ok == 20 ? 1 : 0;
        worst = std::min(worst, ok);
        INFO("seed " << seed);
        CHECK(ok == 20);
    }
    std::printf("seed registration at 20%% loss: %zu/%zu runs with 20/20 registered and connected (worst %zu)\n",
                all, runs, worst);
}
