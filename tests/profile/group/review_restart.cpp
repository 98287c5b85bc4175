// SPDX-License-Identifier: BSL-1.0
// Review of restarts under one identity and of the relay's fan-out plan, through the engines: findings, pins.
#include "profile/group/group_net.hpp"
#include "profile/group/engine_net.hpp"
#include "secure/sim_helpers.hpp"

#include <tlvcast/profile/group.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>

using namespace tlvcast;
using namespace tlvcast::test::group;

namespace {

// ---- engine level: the group profile through client_engine and relay_engine ----

struct sim {
    engine_net net;
    std::vector<std::vector<core::client_event>> seen;

    // Clients 0..n-1 with identities 1..n, `multicast` of them (the first ones) on the data group.
    explicit sim(std::size_t n, std::size_t multicast = 0)
        : net(profile::group::cipher(test::identity(200), engine_roster(3)))
    {
        profile::group::options multi = engine_roster(3);
        multi.mode = delivery::multicast;
        net.data_group = multi.data_group;
        for (std::size_t i = 0; i < n; ++i) {
            net.add_client(profile::group::cipher(test::identity(static_cast<std::uint8_t>(i + 1)),
                                                  i < multicast ? multi : engine_roster(3)));
            if (i < multicast)
                net.data_listeners.push_back(i);
        }
        seen.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            net.start(i);
            run(std::chrono::milliseconds(200));
        }
    }
    // Another process of client `of`'s identity, its key packages above the first's.
    std::size_t restart(std::size_t of, std::uint32_t seq = 1000)
    {
        profile::group::options again = engine_roster(3);
        again.key_package_seq = seq;
        const std::size_t i =
            net.add_client(profile::group::cipher(test::identity(static_cast<std::uint8_t>(of + 1)), again));
        seen.resize(net.clients());
        net.start(i);
        return i;
    }
    // Nothing reaches or leaves these clients from now on (their processes died without a word).
    void cut(std::vector<std::size_t> who)
    {
        net.tap = [who](test::wire_datagram& d) {
            for (const std::size_t i : who)
                if (d.from == test::secure_client_address(i) || d.to == test::secure_client_address(i))
                    return false;
            return true;
        };
    }
    void run(duration d)
    {
        net.run_for(d);
        for (std::size_t i = 0; i < net.clients(); ++i)
            for (auto& ev : net.events(i))
                seen[i].push_back(std::move(ev));
    }
    std::size_t roster(std::size_t i) { return net.client(i).cipher().group().current()->roster.size(); }
    std::size_t messages(std::size_t i, const std::string& text) const
    {
        return static_cast<std::size_t>(std::count_if(seen[i].begin(), seen[i].end(), [&](const auto& e) {
            return e.what == core::client_event::kind::message && e.text == text;
        }));
    }
    struct copies {
        std::size_t group = 0, unicast = 0;
        bool operator==(const copies&) const = default;
    };
    // Client i sends `text`: the relay's copies of it, to the data group and to single members.
    copies send(std::size_t i, const std::string& text)
    {
        const std::size_t before = net.sent.size();
        std::error_code ec;
        net.send(i, std::as_bytes(std::span(text)), ec);
        REQUIRE_FALSE(ec);
        run(std::chrono::milliseconds(100));
        copies c;
        for (std::size_t k = before; k < net.sent.size(); ++k) {
            const auto& d = net.sent[k];
            if (d.from == net.relay_address && test::is_type(d, wire::tlv_type::group_message))
                ++(d.to == *net.data_group ? c.group : c.unicast);
        }
        return c;
    }
};

} // namespace

// ==== both_sessions_time_out ====
// Finding: two sessions of one identity (a restarted process and the old one's, or two processes
// sharing an identity) that time out in the same sweep were never announced gone. The relay says
// nothing of a departure while live_set::sessions(fp) > 1, and on_timer() holds every timed-out
// session until it has announced them all: each saw the other still counted, both departures were
// silent, and the members kept the identity (its init key getting every later epoch secret) for
// good. Fixed: a departure retires its session's token before the relay looks at the others.
TEST_CASE("group review restart: two sessions of one identity that time out together are announced gone",
          "[profile][group][review][engine]")
{
    sim g(3);
    REQUIRE(g.roster(0) == 3);
    const std::size_t again = g.restart(2); // both processes of identity 3 live
    g.run(std::chrono::seconds(2));
    REQUIRE(g.net.client(again).cipher().group().in_group());
    // Both last heard within one sweep (1 s; keepalives every 5 s make that common), then the
    // host of both goes away at once.
    for (const std::size_t i : {std::size_t{2}, again}) {
        std::error_code ec;
        const std::string text = "last words";
        g.net.send(i, std::as_bytes(std::span(text)), ec);
    }
    g.run(std::chrono::milliseconds(20));
    g.cut({2, again});
    g.run(std::chrono::seconds(40));
    CHECK(g.roster(0) == 2);
    CHECK(g.roster(1) == 2);
    CHECK(g.net.client(0).cipher().group().current()->epoch == g.net.client(1).cipher().group().current()->epoch);
}

// Finding (same cause): the relay said nothing of the old session's departure whenever another
// session of the identity was live, whether or not the members took that session's key package. A
// restart whose key package is not newer (options::key_package_seq left at 0, a clock or .seq file
// set back) is refused by the members as stale; its old entry then never left: the dead process's
// init key got every later epoch secret. Fixed: the relay is silent only when another live session
// holds a newer key package (the one the members took instead).
TEST_CASE("group review restart: a restart whose key package the members refuse does not keep the old entry",
          "[profile][group][review][engine]")
{
    sim g(3);
    g.cut({2});
    g.restart(2, 0); // seq 0 again: not newer than the roster's
    g.run(std::chrono::seconds(40));
    CHECK(g.net.client(0).cipher().group().counts().stale_key_packages == 1);
    CHECK(g.roster(0) == 2);
    CHECK(g.roster(1) == 2);
}

// The same, where the old process's own updates moved its roster seq past its join's: a restart
// above the join but not above the roster is refused too, and the relay must say the old one left.
TEST_CASE("group review restart: a restart below the old process's updated key package does not keep the old entry",
          "[profile][group][review][engine]")
{
    sim g(3);
    for (int k = 0; k < 2; ++k) { // seq 0 at its join, 2 in the roster
        g.net.client(2).cipher().update(g.net.now());
        g.run(std::chrono::seconds(1));
    }
    const auto& roster = g.net.client(0).cipher().group().current()->roster;
    REQUIRE(std::any_of(roster.begin(), roster.end(), [](const auto& e) { return e.seq == 2; }));
    g.cut({2});
    g.restart(2, 1);
    g.run(std::chrono::seconds(40));
    CHECK(g.roster(0) == 2);
    CHECK(g.roster(1) == 2);
}

// Finding (same cause): a restarted member that left on purpose while its old process still
// lived (two processes of one identity) was never announced gone: the old session's keepalives
// kept the count above one, and the roster kept its newest key package. Fixed with the above: the
// old session holds no newer key package, so the departure is announced at once.
TEST_CASE("group review restart: a restarted member that leaves beside its live old process is removed",
          "[profile][group][review][engine]")
{
    sim g(3);
    const std::size_t again = g.restart(2); // the old process of identity 3 lives on
    g.run(std::chrono::seconds(2));
    REQUIRE(g.net.client(again).cipher().group().in_group());
    REQUIRE(g.roster(0) == 3);
    datagram_batch out;
    g.net.client(again).close(g.net.now(), out);
    for (std::size_t k = 0; k < out.size(); ++k)
        g.net.inject(test::secure_client_address(again), g.net.relay_address, out[k].bytes);
    g.run(std::chrono::seconds(1));
    CHECK(g.roster(0) == 2);
    CHECK(g.roster(1) == 2);
    g.run(std::chrono::seconds(40));
    CHECK(g.roster(0) == 2);
}

// Finding (pre-existing, engine): a member's endpoint (address and port) taken over by another
// identity's handshake replaced the member's session in place: neither a departure nor a timeout
// followed, so the members kept the departed identity. A process that reuses a dead member's port
// (or a NAT mapping handed on) reaches it.
TEST_CASE("group review restart: a member whose endpoint another identity takes over is announced gone",
          "[profile][group][review][engine]")
{
    sim g(3);
    REQUIRE(g.roster(0) == 3);
    const endpoint dead{0x0a0000feu, 9};
    g.net.client_address = [dead](std::size_t i) {
        return i == 2 ? dead : test::secure_client_address(i == 3 ? 2 : i); // 3 speaks from 2's port
    };
    g.net.tap = [dead](test::wire_datagram& d) { return d.from != dead && d.to != dead; };
    g.net.add_client(profile::group::cipher(test::identity(9), engine_roster(3)));
    g.seen.resize(4);
    g.net.start(3);
    g.run(std::chrono::seconds(40));
    CHECK(g.roster(0) == 2);
    CHECK(g.roster(1) == 2);
}

// Pin: a member whose address changes (a NAT rebinding) registers again from the new one with
// the same key package; the old session lapsing then removes nobody.
TEST_CASE("group review restart (pin): a member that moves to another address stays in",
          "[profile][group][review][engine]")
{
    sim g(3);
    const endpoint moved{0x0a0000fdu, 7000};
    g.net.client_address = [moved](std::size_t i) { return i == 2 ? moved : test::secure_client_address(i); };
    g.run(std::chrono::seconds(40));
    CHECK(g.roster(0) == 3);
    const auto removed = std::count_if(g.seen[0].begin(), g.seen[0].end(), [](const auto& e) {
        return e.what == core::client_event::kind::member_removed;
    });
    CHECK(removed == 0);
}

// Pin: the old process's session lapsing after the restart stays silent (the case the relay's
// silence is for).
TEST_CASE("group review restart (pin): the old session lapsing after a restart removes nobody",
          "[profile][group][review][engine]")
{
    sim g(3);
    const std::size_t again = g.restart(2);
    g.run(std::chrono::seconds(2));
    g.cut({2});
    g.run(std::chrono::seconds(40));
    CHECK(g.roster(0) == 3);
    CHECK(g.net.client(again).cipher().group().current()->epoch == g.net.client(0).cipher().group().current()->epoch);
    const auto removed = std::count_if(g.seen[0].begin(), g.seen[0].end(), [](const auto& e) {
        return e.what == core::client_event::kind::member_removed;
    });
    CHECK(removed == 0);
}

// ==== fan-out plan (pins) ====
// The sender on the data group is not counted among the group's receivers: alone there, the relay
// sends nothing to the group; with another multicast member, one copy. Timeouts (on_timer's erase)
// invalidate the plan as leaves do.
TEST_CASE("group review restart (pin): the fan-out plan leaves a multicast sender out and follows timeouts",
          "[profile][group][review][engine]")
{
    sim g(3, 2); // 0 and 1 on multicast, 2 on unicast
    REQUIRE(g.roster(2) == 3);
    CHECK(g.send(0, "from 0, with 1") == sim::copies{1, 1});
    CHECK(g.messages(1, "from 0, with 1") == 1);
    CHECK(g.messages(2, "from 0, with 1") == 1);
    g.cut({1});
    g.run(std::chrono::seconds(40)); // 1 times out
    REQUIRE(g.roster(0) == 2);
    CHECK(g.send(0, "from 0, alone on the group") == sim::copies{0, 1});
    CHECK(g.messages(2, "from 0, alone on the group") == 1);
    CHECK(g.send(2, "from 2") == sim::copies{1, 0});
    CHECK(g.messages(0, "from 2") == 1);
    CHECK(g.messages(0, "from 0, alone on the group") == 0); // no copy of its own
}
