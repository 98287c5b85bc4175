// SPDX-License-Identifier: BSL-1.0
// Adversarial review of federation catch-up (2a2e1d1) with real group engines (fed_sites.hpp):
// sequencer::replay_commit's relaxed rules against what the running relays decided.
#include "fed_sites.hpp"

#include <vector>

namespace tlvcast::test::fed_sites {
namespace review_catch_up_profile { // a name of its own: the file may share a unity translation unit

using fed = federation;

// An outsider (identity `id`) founds a group alone at a relay of its own, not federated with the
// group: its founding commit, validly signed, as that relay hands it to a federation.
captured founding_of(std::uint8_t id)
{
    net_t net(group::cipher(test::identity(250), open_group()));
    net.add_client(group::cipher(test::identity(id), open_group()));
    captured got;
    net.relay().set_federation([&](const core::federated_blob& b) {
        if (!b.presence && got.blob.empty() && b.blob.size() >= 2 &&
            wire::detail::load_u16(b.blob.data()) == static_cast<std::uint16_t>(wire::tlv_type::group_commit)) {
            got.blob.assign(b.blob.begin(), b.blob.end());
            got.origin = b.origin;
        }
    });
    net.start(0);
    net.run_for(std::chrono::milliseconds(300));
    REQUIRE_FALSE(got.blob.empty());
    return got;
}

// FINDING (medium; needs a key holder, or the honest race below): sequencer::replay_commit takes a
// founding commit whenever its committer is not in the replayed roster (`present` is the sender
// only), so a catching-up relay applies a founding commit that every running relay refused because
// the group was alive. Stored in the order by a relay of the federation (any key holder; honestly,
// too: a relay that checked it while its remote set was briefly empty and heard a member's presence
// before the commit came back refuses it as well), it is refused everywhere (wrong_epoch; every
// relay out of step, the documented price); a relay that restarts with catch-up replays it, adopts
// the outsider's group, is in step, and its members' commits then extend the order on that line,
// refused by the running relays: the order holds two chains, and every later catching-up relay
// (the other sites' after their next restart) follows the outsider's. Before catch-up the group was
// frozen; now a restart hands it to whoever founded while it was alive.
// Fix proposed: a history commit is applied only as the running relays applied it. The relay
// cannot tell from the history alone, so (a) never take a history founding commit while the
// replayed group has a roster (the running rule needed every member absent; the catching-up relay
// cannot know that, and a founding that was applied is followed by commits of its own gid, so the
// replay can resolve it afterwards: keep the replayed chain whose commits continue), or (b) the
// design's state envelope: answers to presence_request carry (gid, epoch, hash, after) and the
// relay is not in step until a running relay's state agrees with its replay.
TEST_CASE("review catch-up: a founding commit every running relay refused is not adopted by a relay that catches up",
          "[profile][group][federation][catch_up][review_catch_up]")
{
    fed f(true, 2);
    f.form(2);
    f.require_one_group(2, 4);
    const auto& seq0 = f.sites[0]->net->relay().cipher().ordering();
    const std::uint64_t epoch = seq0.epoch();
    REQUIRE(epoch >= 4);

    // A key holder stores an outsider's founding commit after the last commit, in order.
    store_as_key_holder(f, founding_of(66), 0x77);
    // Every running relay refused it: the group is alive there.
    CHECK(f.sites[0]->count(tf::federation_counter::refused) == 1);
    CHECK(f.sites[1]->count(tf::federation_counter::refused) == 1);
    CHECK(seq0.epoch() == epoch);

    // Site 1's relay restarts with catch-up and replays the order.
    tf::bridge_options ask;
    ask.ask_presence = true;
    f.sites[1]->restart(f.hub, 9, true, ask);
    const auto& seq1 = f.sites[1]->net->relay().cipher().ordering();
    // FAILS: it took the founding every running relay refused: epoch 1, the outsider alone.
    CHECK(seq1.epoch() == seq0.epoch());
    CHECK(seq1.roster().size() == seq0.roster().size());
    CHECK(f.sites[1]->count(tf::federation_counter::refused) == 1); // refused, as by every running relay

    // The consequence: its members come back, find "the group" dead (the outsider is nowhere), found
    // another one, and the order goes on along that line; the running relay refuses it.
    const std::uint64_t refused_before = f.sites[0]->count(tf::federation_counter::refused);
    f.run(std::chrono::seconds(25));
    CHECK(f.sites[0]->count(tf::federation_counter::refused) == refused_before);
    const auto* s0 = f.sites[0]->member(0).current();
    const auto* s1 = f.sites[1]->member(0).current();
    REQUIRE(s0);
    CHECK_FALSE((s1 && s1->epoch != s0->epoch && s1->hash != s0->hash)); // two groups, forked order
}

// Defended: a founding commit by a member of the replayed roster (here site 0's first member, who
// founded a group of its own elsewhere) is refused by the replay as by the running relays: its own
// committer counts as present, so the group is not dead.
TEST_CASE("review catch-up: a roster member's founding commit, refused by the running relays, is refused by the replay too",
          "[profile][group][federation][catch_up][review_catch_up]")
{
    fed f(true, 2);
    f.form(2);
    f.require_one_group(2, 4);
    const auto& seq0 = f.sites[0]->net->relay().cipher().ordering();
    const std::uint64_t epoch = seq0.epoch();
    store_as_key_holder(f, founding_of(1), 0x78); // identity 1: site 0's member 0
    CHECK(f.sites[0]->count(tf::federation_counter::refused) == 1);
    tf::bridge_options ask;
    ask.ask_presence = true;
    f.sites[1]->restart(f.hub, 9, true, ask);
    const auto& seq1 = f.sites[1]->net->relay().cipher().ordering();
    CHECK(seq1.epoch() == epoch);
    CHECK(seq1.roster().size() == 4);
    CHECK(f.sites[1]->count(tf::federation_counter::refused) == 1); // as everywhere: out of step alike
}

} // namespace review_catch_up_profile
} // namespace tlvcast::test::fed_sites
