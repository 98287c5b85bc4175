// SPDX-License-Identifier: BSL-1.0
// Adversarial review of the group relay's rejoin in place (d541d9c): a re-key carries a session's
// GROUP_JOIN over, and once per carried join a newer key package of the same identity replaces it
// and is announced. After one: the live key, the fan-out, an updated member.
#include "profile/group/rejoin_helpers.hpp"

#include <tlvcast/profile/group.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::test::group;
using relay_counter = core::relay_counter;

// The replacement replaces the session's live key too (live_set): the relay's silence about a
// departure rests on it. Here identity 2 restarted in place (roster seq 1000) and a second
// process of it, at another address, came with an older key package (the members refuse it);
// when that one leaves, the live in-place process holds the roster's key: the identity stays.
// Were the old process's key still the live one, the relay would announce identity 2 gone.
TEST_CASE("review_rejoin: the replaced join's key is the live one", "[review_rejoin]")
{
    review_fanout_group g(3, 1);
    rejoin_restart(g, 1, 1000, uni);
    REQUIRE(g.net.client(1).cipher().group().in_group());
    REQUIRE(rejoin_roster_seq(g, 0, 2) == 1000);
    auto o = g.opt;
    o.key_package_seq = 500;
    const std::size_t b = g.net.add_client(profile::group::cipher(test::identity(2), o));
    g.net.start(b);
    g.net.run_for(std::chrono::seconds(2));
    REQUIRE(g.net.client(0).cipher().group().counts().stale_key_packages >= 1);
    datagram_batch out;
    g.net.client(b).close(g.net.now(), out);
    for (std::size_t k = 0; k < out.size(); ++k)
        g.net.inject(g.net.client_address(b), g.net.relay_address, out[k].bytes);
    g.net.run_for(std::chrono::seconds(2));
    for (const std::size_t i : {0u, 2u, 3u}) {
        INFO("client " << i);
        CHECK(g.net.client(i).cipher().group().current()->roster.size() == 4);
        const auto ev = g.net.events(i); // removed, then added again, would end at 4 too
        CHECK(std::none_of(ev.begin(), ev.end(),
                           [](const auto& e) { return e.what == core::client_event::kind::member_removed; }));
    }
    for (std::size_t i = 0; i < 4; ++i)
        (void)g.collect(i);
    g.say(0, "identity 2 stays");
    g.net.run_for(std::chrono::milliseconds(300));
    CHECK(g.collect(1).messages == std::vector<std::string>{"identity 2 stays"});
}

// The fan-out follows a replacement that switches the delivery mode, both ways: the data group's
// and the shared unicast stream's recipients change, and nobody (the switcher, the unicast members
// on the shared stream, the multicast one) sees a gap or loses a message.
// FINDING (fixed): a restart in place that stays unicast (seq 3000 here) was told nothing: the relay
// told a joiner where its part of a shared stream begins (REPAIR_START) when its join picked the
// data group or when the fan-out plan first listed it, and this endpoint was listed all along. The
// new process read the shared unicast stream from its start and was repaired what the relay sent
// before it joined (19 datagrams here, up to the repair cache). Now a rejoin is told that too.
TEST_CASE("review_rejoin: mode switches in place keep the fan-out in step", "[review_rejoin]")
{
    review_fanout_group g(3, 1);
    g.say(0, std::string(20'000, 'x'));
    g.net.run_for(std::chrono::milliseconds(300));
    struct step {
        profile::group::delivery mode;
        std::uint32_t seq;
        std::size_t sender;
        char fill;
    };
    for (const step s : {step{multi, 1000, 2, 'a'}, step{uni, 2000, 3, 'b'}, step{uni, 3000, 2, 'c'},
                         step{multi, 4000, 0, 'd'}}) {
        // Each new process is told where its part of its stream begins (REPAIR_START): none
        // asks for, nor is repaired, what the relay sent before it joined.
        INFO("the restart at seq " << s.seq);
        const auto repairs = g.net.relay().fragmenter_stats().repairs_sent;
        rejoin_restart(g, 1, s.seq, s.mode);
        // A few seconds more after the first: replace_client seeds each new process's Fragmenter
        // alike, so the relay takes its first fragments for the previous run's (a simulation
        // artifact: real stream ids are random) until the client's repair gets them through.
        for (int k = 0; k < 20 && !g.net.client(1).cipher().group().in_group(); ++k)
            g.net.run_for(std::chrono::seconds(1));
        REQUIRE(g.net.client(1).cipher().group().in_group());
        for (std::size_t i = 0; i < 4; ++i)
            (void)g.collect(i);
        const std::string text(20'000, s.fill);
        g.say(s.sender, text);
        g.net.run_for(std::chrono::milliseconds(500));
        for (std::size_t i = 0; i < 4; ++i) {
            if (i == s.sender)
                continue;
            INFO("client " << i << " after the switch to seq " << s.seq);
            const auto t = g.collect(i);
            CHECK(t.messages == std::vector<std::string>{text});
            CHECK(t.gaps == 0);
            CHECK(t.unrecoverable == 0);
        }
        CHECK(g.net.relay().fragmenter_stats().repairs_sent == repairs);
    }
}

// A re-key by a process that did not restart but updated its key package (a new init key, seq 1)
// re-sends its join when it lost the relay for a while: that join is newer than the carried one
// and is announced once; the members, whose roster has it already, refuse it as stale. Nothing
// else moves: the member stays in, nobody is removed, no epoch is spent.
TEST_CASE("review_rejoin: an updated member's join after a re-key disturbs nothing", "[review_rejoin]")
{
    review_fanout_group g(3, 1);
    g.net.client(1).cipher().update(g.net.now());
    g.net.run_for(std::chrono::seconds(1));
    REQUIRE(rejoin_roster_seq(g, 0, 2) == 1);
    const std::size_t mark = g.net.sent.size();
    g.net.run_for(std::chrono::seconds(16));
    REQUIRE(rejoin_handshakes(g, 1, mark) >= 1);
    const auto epoch = g.net.client(0).cipher().group().current()->epoch;
    const auto stale = g.net.client(0).cipher().group().counts().stale_key_packages;
    const auto presence = rejoin_count(g, relay_counter::presence_sent);
    std::vector<std::byte> own;
    std::error_code ec;
    g.net.client(1).cipher().seal(g.net.client(1).session(), crypto::message_kind::join, {}, own, ec);
    rejoin_send(g, 1, own);
    rejoin_send(g, 1, own);
    g.net.run_for(std::chrono::seconds(2));
    CHECK(rejoin_count(g, relay_counter::presence_sent) == presence + 3);
    CHECK(g.net.client(0).cipher().group().counts().stale_key_packages == stale + 1);
    for (std::size_t i = 0; i < 4; ++i) {
        INFO("client " << i);
        CHECK(g.net.client(i).cipher().group().current()->epoch == epoch);
        const auto ev = g.net.events(i);
        CHECK(std::none_of(ev.begin(), ev.end(),
                           [](const auto& e) { return e.what == core::client_event::kind::member_removed; }));
    }
    g.say(0, "after the update and the re-key");
    g.net.run_for(std::chrono::milliseconds(300));
    CHECK(g.collect(1).messages == std::vector<std::string>{"after the update and the re-key"});
}

// FINDING (not fixed): a process restarted in place with a key package above its join's but not
// above the roster's (its previous run updated: seq 2; the new one starts at 1, a clock set back)
// replaces the carried join and is announced, and the members refuse it as stale. The relay now
// holds the new key as the identity's live one, yet says nothing of the old: the dead run's init
// key stays in the roster and gets every later epoch secret for as long as the new process keeps
// its session. Restarted at another address, the old session times out and the identity is
// removed ("a restart below the old process's updated key package…" in review_restart.cpp). A fix
// would announce the old key gone before the new join when the roster holds a seq not below it.
TEST_CASE("review_rejoin: a restart in place below the roster's key package does not keep the dead run's key",
          "[review_rejoin][!shouldfail]")
{
    review_fanout_group g(3, 1);
    for (int k = 0; k < 2; ++k) {
        g.net.client(1).cipher().update(g.net.now());
        g.net.run_for(std::chrono::seconds(1));
    }
    REQUIRE(rejoin_roster_seq(g, 0, 2) == 2);
    const auto presence = rejoin_count(g, relay_counter::presence_sent);
    rejoin_restart(g, 1, 1, uni);
    REQUIRE(rejoin_count(g, relay_counter::presence_sent) == presence + 3); // the replacement, announced
    g.net.run_for(std::chrono::seconds(40));
    for (const std::size_t i : {0u, 2u, 3u}) {
        INFO("client " << i);
        CHECK(rejoin_roster_seq(g, i, 2) != 2);
    }
}
