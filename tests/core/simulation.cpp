// SPDX-License-Identifier: BSL-1.0
// Deterministic simulation: a relay and several clients on a virtual clock, over many seeds.
#include "core/sim.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

using namespace tlvcast;
using namespace std::chrono_literals;
using tlvcast::test::sim_network;

namespace {

struct delivery_log {
    // (receiver, sender, text) -> count
    std::map<std::tuple<std::size_t, endpoint, std::string>, int> got;
    std::size_t foreign = 0; // texts never sent by the claimed sender
};

std::string make_text(std::mt19937_64& rng, std::size_t sender, std::size_t n)
{
    static const std::size_t sizes[] = {0, 1, 189, 190, 191, 400, 1000, 3000};
    std::string s = "m" + std::to_string(sender) + "." + std::to_string(n) + ":";
    const std::size_t size = sizes[rng() % std::size(sizes)];
    while (s.size() < size)
        s += static_cast<char>('a' + rng() % 26);
    return s;
}

void drain(sim_network& net, delivery_log& log, const std::map<std::pair<endpoint, std::string>, int>& sent)
{
    for (std::size_t i = 0; i < net.clients(); ++i) {
        core::client_event ev;
        while (net.client(i).poll_event(ev)) {
            if (ev.what != core::client_event::kind::message)
                continue;
            if (!sent.count({ev.peer, ev.text}) || ev.peer == test::client_address(i))
                ++log.foreign;
            ++log.got[{i, ev.peer, ev.text}];
        }
    }
}

} // namespace

TEST_CASE("simulation: without faults every message arrives exactly once at every other client", "[sim]")
{
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
        CAPTURE(seed);
        sim_network::options opt;
        opt.clients = 3;
        opt.seed = seed;
        sim_network net(opt);
        net.start_all();
        net.run_for(100ms);
        for (std::size_t i = 0; i < net.clients(); ++i)
            REQUIRE(net.client(i).current_state() == test::seed_client_engine::state::established);

        std::mt19937_64 rng(seed);
        std::map<std::pair<endpoint, std::string>, int> sent;
        delivery_log log;
        for (int round = 0; round < 4; ++round) {
            const std::size_t from = rng() % net.clients();
            const std::string text = make_text(rng, from, static_cast<std::size_t>(round));
            std::error_code ec;
            net.send(from, wire::as_bytes(text), ec);
            REQUIRE_FALSE(ec);
            sent[{test::client_address(from), text}] = 1;
            net.run_for(std::chrono::milliseconds(rng() % 20));
        }
        net.run_for(1s);
        drain(net, log, sent);
        CHECK(log.foreign == 0);
        for (const auto& [key, n] : sent) {
            for (std::size_t i = 0; i < net.clients(); ++i) {
                if (test::client_address(i) == key.first)
                    continue;
                CHECK(log.got[{i, key.first, key.second}] == 1);
            }
        }
        CHECK(net.relay().counters().get(core::relay_counter::undecryptable) == 0);
        CHECK(net.relay().counters().get(core::relay_counter::malformed) == 0);
    }
}

TEST_CASE("simulation: with loss, duplication and reordering nothing is delivered twice, altered or misattributed", "[sim]")
{
    std::size_t delivered = 0;
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
        CAPTURE(seed);
        sim_network::options opt;
        opt.clients = 3;
        opt.seed = seed;
        opt.faults.drop = 0.05;
        opt.faults.duplicate = 0.10;
        opt.faults.reorder = 0.10;
        opt.faults.delay = 0.10;
        opt.client.register_timeout = 200ms;
        opt.client.register_attempts = 20;
        sim_network net(opt);
        net.start_all();
        net.run_for(5s);

        std::mt19937_64 rng(seed);
        std::map<std::pair<endpoint, std::string>, int> sent;
        delivery_log log;
        for (int round = 0; round < 4; ++round) {
            const std::size_t from = rng() % net.clients();
            if (net.client(from).current_state() != test::seed_client_engine::state::established)
                continue;
            const std::string text = make_text(rng, from, static_cast<std::size_t>(round));
            std::error_code ec;
            net.send(from, wire::as_bytes(text), ec);
            REQUIRE_FALSE(ec);
            sent[{test::client_address(from), text}] = 1;
            net.run_for(std::chrono::milliseconds(rng() % 30));
        }
        net.run_for(2s);
        drain(net, log, sent);
        CHECK(log.foreign == 0);
        for (const auto& [key, n] : log.got) {
            CHECK(n == 1);
            delivered += static_cast<std::size_t>(n);
        }
    }
    CHECK(delivered > 0); // the faults must not have silenced everything: the check above saw traffic
}

TEST_CASE("simulation: a silent client is reported gone after the timeout", "[sim]")
{
    sim_network::options opt;
    opt.clients = 3;
    opt.client.keepalive = 1s;
    opt.relay.client_timeout = 3s;
    sim_network net(opt);
    net.start_all();
    net.run_for(500ms);
    net.kill(2);
    net.run_for(5s);
    bool saw_gone = false;
    core::client_event ev;
    while (net.client(0).poll_event(ev))
        if (ev.what == core::client_event::kind::peer_disconnected && ev.peer == test::client_address(2))
            saw_gone = true;
    CHECK(saw_gone);
    CHECK(net.relay().client_count() == 2);
    CHECK(net.relay().counters().get(core::relay_counter::timeouts) == 1);
}

TEST_CASE("simulation: clients re-join a restarted relay without user action", "[sim]")
{
    sim_network::options opt;
    opt.clients = 3;
    opt.client.keepalive = 1s;
    opt.client.probe_interval = 2s;
    sim_network net(opt);
    net.start_all();
    net.run_for(500ms);
    net.restart_relay(9); // a new key, an empty client table
    net.run_for(5s);
    CHECK(net.relay().client_count() == 3);
    for (std::size_t i = 0; i < net.clients(); ++i)
        CHECK(net.client(i).counters().get(core::client_counter::re_registrations) >= 1);
    // Drain older events, then a message after the restart reaches the others.
    core::client_event ev;
    for (std::size_t i = 0; i < net.clients(); ++i)
        while (net.client(i).poll_event(ev)) {
        }
    std::error_code ec;
    net.send(0, wire::as_bytes(std::string_view("after the restart")), ec);
    REQUIRE_FALSE(ec);
    net.run_for(500ms);
    for (std::size_t i = 1; i < net.clients(); ++i) {
        bool got = false;
        while (net.client(i).poll_event(ev))
            got = got || (ev.what == core::client_event::kind::message && ev.text == "after the restart");
        CHECK(got);
    }
}

TEST_CASE("simulation: hostile datagrams leave the relay serving and its memory bounded", "[sim]")
{
    sim_network::options opt;
    opt.clients = 2;
    sim_network net(opt);
    net.start_all();
    net.run_for(200ms);
    auto& relay = net.relay();
    datagram_batch out;
    std::vector<core::relay_event> events;
    std::mt19937_64 rng(42);
    const endpoint attacker{0x0a0000feu, 6666};
    // Random bytes and truncated TLVs.
    for (int i = 0; i < 2000; ++i) {
        std::vector<std::byte> junk(rng() % 64);
        for (auto& b : junk)
            b = static_cast<std::byte>(rng());
        relay.handle(attacker, junk, net.now(), out, events);
    }
    // A type-10 wrapper from a client, fragments from an unregistered sender.
    const std::byte wrapper[] = {std::byte{0}, std::byte{10}, std::byte{0}, std::byte{10}, std::byte{1}, std::byte{2},
                                 std::byte{3}, std::byte{4}, std::byte{0}, std::byte{5}, std::byte{0}, std::byte{9},
                                 std::byte{0}, std::byte{0}};
    relay.handle(test::client_address(0), wrapper, net.now(), out, events);
    CHECK(relay.counters().get(core::relay_counter::unexpected_type) >= 1);
    // Thousands of open msg_ids claiming 65,535 parts from a registered client.
    for (std::uint32_t id = 0; id < 5000; ++id) {
        std::vector<std::byte> d;
        wire::tlv_appender a(d);
        std::error_code ec;
        std::vector<std::byte> value(8 + 256);
        wire::encode_fragment_header(value, id, 0, 65535, ec);
        a.put(wire::tlv_type::fragment, value, ec);
        relay.handle(test::client_address(1), d, net.now(), out, events);
    }
    const auto fs = relay.fragmenter_stats();
    CHECK(relay.counters().get(core::relay_counter::reassembly_dropped) >= 4000);
    CHECK(relay.counters().get(core::relay_counter::malformed) > 0);
    CHECK(relay.counters().get(core::relay_counter::unregistered) + relay.counters().get(core::relay_counter::malformed) +
              relay.counters().get(core::relay_counter::unknown_type) + relay.counters().get(core::relay_counter::unexpected_type) >=
          2000);
    (void)fs;
    // Honest traffic still flows.
    core::client_event ev;
    while (net.client(0).poll_event(ev)) {
    }
    std::error_code ec;
    net.run_for(11s); // the attacker's partial messages time out
    net.send(1, wire::as_bytes(std::string_view("still here")), ec);
    REQUIRE_FALSE(ec);
    net.run_for(500ms);
    bool got = false;
    while (net.client(0).poll_event(ev))
        got = got || (ev.what == core::client_event::kind::message && ev.text == "still here");
    CHECK(got);
}

TEST_CASE("simulation: the seed profile refuses IPv6 with a clear error, and counts the drops", "[sim][ipv6]")
{
    // A seed client pointed at an IPv6 group fails at start: nothing is sent.
    const endpoint v6_group = *endpoint::parse("[ff15::1]:5007");
    core::client_options copt;
    copt.relay = v6_group;
    test::seed_client_engine client(seed::rsa_oaep(test::shared_key(1)), fragment::seed_fragmenter(1), copt);
    datagram_batch out;
    client.start(time_point{}, out);
    CHECK(out.empty());
    CHECK(client.current_state() == test::seed_client_engine::state::failed);
    core::client_event ev;
    REQUIRE(client.poll_event(ev));
    CHECK(ev.what == core::client_event::kind::failed);
    CHECK(ev.error == errc::address_family);
    CHECK(ev.error.message() == "the seed profile carries IPv4 addresses only");
    CHECK(ev.peer == v6_group);

    // A seed relay drops an IPv6 source's registration (counted as a handshake error, never
    // answered) and then its data (unregistered), while IPv4 clients go on as before.
    sim_network::options opt;
    opt.clients = 2;
    sim_network net(opt);
    net.start_all();
    net.run_for(1s);
    REQUIRE(net.relay().client_count() == 2);
    auto& relay = net.relay();
    test::seed_client_engine v4_peer(seed::rsa_oaep(test::shared_key(3)), fragment::seed_fragmenter(3));
    datagram_batch hello;
    v4_peer.start(net.now(), hello); // REGISTER_PUBLIC_KEY and REQUEST_SERVER_KEY, as a v6 host would send them
    REQUIRE(hello.size() == 2);
    const endpoint v6_source = *endpoint::parse("[fd00::7]:40007");
    const auto errors_before = relay.counters().get(core::relay_counter::handshake_errors);
    datagram_batch replies;
    std::vector<core::relay_event> events;
    for (std::size_t i = 0; i < hello.size(); ++i)
        relay.handle(v6_source, hello[i].bytes, net.now(), replies, events);
    CHECK(replies.empty());
    CHECK(events.empty());
    CHECK(relay.counters().get(core::relay_counter::handshake_errors) == errors_before + 2);
    CHECK(relay.client_count() == 2);
    std::vector<std::byte> frag;
    wire::tlv_appender a(frag);
    std::error_code ec;
    std::vector<std::byte> value(8 + 16);
    wire::encode_fragment_header(value, 1, 0, 1, ec);
    a.put(wire::tlv_type::fragment, value, ec);
    const auto unregistered_before = relay.counters().get(core::relay_counter::unregistered);
    relay.handle(v6_source, frag, net.now(), replies, events);
    CHECK(relay.counters().get(core::relay_counter::unregistered) == unregistered_before + 1);
    CHECK(replies.empty());

    // The IPv4 clients still talk.
    while (net.client(1).poll_event(ev)) {
    }
    net.send(0, wire::as_bytes(std::string_view("still here")), ec);
    REQUIRE_FALSE(ec);
    net.run_for(1s);
    bool got = false;
    while (net.client(1).poll_event(ev))
        got = got || (ev.what == core::client_event::kind::message && ev.text == "still here");
    CHECK(got);
}
