// SPDX-License-Identifier: BSL-1.0
// Review of restarts under one identity, member level (key packages, the committer): findings, pins.
#include "profile/group/group_net.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::test::group;

// ==== seq_at_the_top ====
// Finding: options::key_package_seq lets a member start anywhere, up to UINT32_MAX (the chat takes
// it from IDENTITY_FILE.seq, a file others may write). update() signed init_.seq + 1, which wraps
// to 0: no member accepts that update (not newer), the relay refuses the commit, and the member
// waits for its pending commit forever — as the designated committer, nobody is added again.
// Fixed: update() does nothing when no newer seq is left (and the chat leaves room below the top).
TEST_CASE("group review restart: a member at the top of the seq range cannot stall the group with an update",
          "[profile][group][review][state]")
{
    group_net g;
    options top = roster_options({1, 2, 3, 4});
    top.key_package_seq = std::numeric_limits<std::uint32_t>::max();
    g.add(1, top, 11);
    for (std::uint32_t id = 2; id <= 4; ++id)
        g.add(id, roster_options({1, 2, 3, 4}), 10 + id);
    for (std::size_t i = 0; i < 3; ++i)
        g.join(i);
    REQUIRE(g.nodes[0]->m->current()->roster.size() == 3);
    const auto key = g.nodes[0]->m->init_key();
    g.nodes[0]->m->update(g.now);
    g.tick(std::chrono::seconds(1));
    CHECK(g.nodes[0]->m->init_key() == key); // nothing newer to sign
    g.join(3);
    g.tick(std::chrono::seconds(1));
    CHECK(g.nodes[0]->m->current()->roster.size() == 4);
    CHECK(g.agree());
}

// ==== committer passed over by a genuine newer key package (pin) ====
// A relay that drops the committer's own update commit holds a newer key package of it, signed by
// it, and can announce it as a presence: the others pass the committer over and the next one
// commits the update. That is no more than before (the relay's "left" presence, which it can forge,
// already passed the committer over and removed it): the committer installs its new key from that
// commit, and the group stays one group.
TEST_CASE("group review restart (pin): a committer's withheld update, announced by the relay, keeps one group",
          "[profile][group][review][relay]")
{
    group_net g = three();
    std::vector<std::byte> withheld;
    g.pass = [&](std::size_t from, const std::vector<std::byte>& blob) {
        std::error_code ec;
        const wire::tlv t = wire::read_outer(blob, ec);
        if (from != 0 || t.type() != wire::tlv_type::group_commit)
            return true;
        withheld.assign(t.value.begin(), t.value.end());
        return false;
    };
    g.nodes[0]->m->update(g.now);
    g.pump();
    REQUIRE_FALSE(withheld.empty());
    std::error_code ec;
    const commit_view c = read_commit(withheld, options::default_max_members, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(c.updated.size() == 1);
    // The relay announces identity 1 "again", with the key package from the dropped commit.
    std::vector<std::byte> join{static_cast<std::byte>(delivery::unicast)};
    join.insert(join.end(), c.updated[0].kp.all.begin(), c.updated[0].kp.all.end());
    std::vector<std::byte> presence;
    write_presence(true, endpoint{0x0a000001u, 4000}, g.nodes[0]->fp(), join, presence, ec);
    for (const std::size_t j : {1, 2})
        g.deliver(j, presence);
    g.pump();
    g.tick(std::chrono::seconds(1));
    CHECK(g.agree());
    CHECK(g.nodes[1]->m->current()->epoch == 4);
    CHECK(g.nodes[0]->m->current()->epoch == 4);
    CHECK(g.nodes[0]->m->init_key() == c.updated[0].kp.entry.init); // its new key, committed by another
    g.pass = [](auto, const auto&) { return true; };
    g.send(0, "still here");
    CHECK(g.nodes[1]->inbox.size() == 1);
    CHECK(g.nodes[2]->inbox.size() == 1);
}

// ==== pending_update_rollback ====
// Finding: "newer only" held against the roster, not against an update already proposed. With
// restarts a present member has several genuine key packages newer than the roster's; a relay that
// announced the newest, then an older one, made the others replace the pending update with the
// older. A commit that builds from the proposals again (the first one lost the epoch to another)
// then rolled the member back to that older init key: the one a relay that stole it wants.
// Fixed: a key package not newer than the pending update of its identity is refused as stale.
TEST_CASE("group review restart: an older key package cannot replace a newer pending update",
          "[profile][group][review][relay]")
{
    group_net g = three();
    options run2 = roster_options({1, 2, 3}), run3 = run2;
    run2.key_package_seq = 500;
    run3.key_package_seq = 1000;
    const node& old_run = g.add(1, run2, 501); // earlier processes of identity 1, never present
    const node& new_run = g.add(1, run3, 502);
    const auto presence_of = [](const node& n) {
        std::vector<std::byte> blob, presence;
        std::error_code ec;
        n.m->write_join(blob, ec);
        write_presence(true, endpoint{0x0a000001u, 4000}, n.fp(), bytes(blob).subspan(4), presence, ec);
        return presence;
    };
    // Node 1's commits (the update for identity 1) lose: the relay drops them.
    g.pass = [](std::size_t from, const std::vector<std::byte>&) { return from != 1; };
    for (std::size_t j : {1, 2})
        g.deliver(j, presence_of(new_run));
    g.pump();
    for (std::size_t j : {1, 2})
        g.deliver(j, presence_of(old_run));
    g.pump();
    CHECK(g.nodes[1]->m->counts().stale_key_packages == 1);
    // Node 0's own update takes the epoch; node 1 commits the proposals again, now let through.
    g.pass = [](auto, const auto&) { return true; };
    g.nodes[0]->m->update(g.now);
    g.tick(std::chrono::seconds(1));
    REQUIRE(g.nodes[1]->m->current()->epoch == 5);
    CHECK(g.nodes[2]->m->current()->roster == g.nodes[1]->m->current()->roster);
    const auto& roster = g.nodes[1]->m->current()->roster;
    CHECK(roster[0].init == new_run.m->init_key()); // the newest process's key, not the older one's
    CHECK(roster[0].seq == 1000);
}
