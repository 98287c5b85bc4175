// SPDX-License-Identifier: BSL-1.0
// profile/group/sequencer.hpp's replay_commit(): which founding commits kept aside a relay that
// catches up takes (review 2 of federation catch-up).
#include "profile/group/replay_history.hpp"

#include <catch2/catch.hpp>

using namespace tlvcast;
using namespace tlvcast::test::group;
using namespace tlvcast::test::group::replay;

namespace {

bool same(const sequencer<suite>& a, const sequencer<suite>& b)
{
    return a.epoch() == b.epoch() && a.roster() == b.roster();
}

} // namespace

TEST_CASE("group sequencer replay: a founding the group outlived is forgotten, its continuation refused",
          "[profile][group][sequencer][catch_up]")
{
    // Group 1 (ids 1, 2) lives. An outsider (id 3, another group_net) stores a founding X while it
    // does (every running relay refuses it), then group 1 adds id 4, then the outsider's Y
    // continues X. A relay that replays it all must end where the running relays are.
    group_net g = roster_group(4, 300);
    recorder og;
    og.install(g);
    g.join(0);
    g.join(1);
    const std::size_t before_add = og.all.size();

    group_net h = roster_group(4, 400);
    recorder oh;
    oh.install(h);
    h.join(2); // X: founds a group alone
    h.join(3); // Y: adds id 4 to it
    REQUIRE(oh.all.size() >= 2); // (the joiner's first update may follow)

    g.join(3); // group 1's next commit, after X in the order
    REQUIRE(og.all.size() > before_add);

    history all = og.sent_range(0, before_add);
    all.push_back(oh.at(0));
    all = all + og.sent_range(before_add, og.all.size());
    all = all + oh.sent_range(1, oh.all.size());
    const sequencer<suite> s = replayed(all);
    CHECK(same(s, g.seq));
    CHECK(s.is_member(g.nodes[1]->fp()));

    // Without group 1's commit in between, Y is taken with X: a continuation is all the replay has
    // (the open part of finding 2, docs/FEDERATION.md); what this test pins is the step above.
    history raced = og.sent_range(0, before_add);
    raced = raced + oh.sent_range(0, oh.all.size());
    CHECK(same(replayed(raced), h.seq));
}

TEST_CASE("group sequencer replay: of racing foundings, the one a commit continues is taken",
          "[profile][group][sequencer][catch_up]")
{
    // Group 1 (ids 1, 2) dies. Id 3 founds group 2 here, while id 4 founds another group at another
    // relay at once (the order keeps both; the second was refused), then group 2 adds id 4.
    group_net g = roster_group(4, 500);
    recorder og;
    og.install(g);
    g.join(0);
    g.join(1);
    g.leave(0);
    g.leave(1);
    g.join(2); // founds group 2
    const std::size_t founded = og.all.size();

    group_net h = roster_group(4, 600);
    recorder oh;
    oh.install(h);
    h.join(3); // the racing founding
    REQUIRE(oh.all.size() == 1);

    g.join(3); // group 2 adds id 4 (its key package from g: this id's session at g's relay)
    REQUIRE(og.all.size() > founded);
    REQUIRE(g.seq.roster().size() == 2);

    history all = og.sent_range(0, founded);
    all.push_back(oh.at(0));
    all = all + og.sent_range(founded, og.all.size());
    const sequencer<suite> s = replayed(all);
    CHECK(same(s, g.seq));
    CHECK_FALSE(s.is_member(g.nodes[1]->fp()));

    // The racing founding stored before the winner: the same.
    history swapped = og.sent_range(0, founded - 1);
    swapped.push_back(oh.at(0));
    swapped = swapped + og.sent_range(founded - 1, og.all.size());
    CHECK(same(replayed(swapped), g.seq));
}

TEST_CASE("group sequencer replay: a live commit forgets the foundings kept aside",
          "[profile][group][sequencer][catch_up]")
{
    // Review 2 of catch-up, finding 1: after the history, a key holder's live Y that continues the
    // X the replay kept aside made this relay (alone) leave the group every running relay is on.
    group_net g = roster_group(4, 700);
    recorder og;
    og.install(g);
    g.join(0);
    g.join(1);

    group_net h = roster_group(4, 800);
    recorder oh;
    oh.install(h);
    h.join(2);
    h.join(3);
    REQUIRE(oh.all.size() >= 2);

    history hist = og.sent_range(0, og.all.size());
    hist.push_back(oh.at(0));
    sequencer<suite> s = replayed(hist);
    REQUIRE(same(s, g.seq));

    const auto anyone = [](const crypto::fingerprint&) { return true; };
    std::error_code ec;
    std::error_code check_ec;
    CHECK_FALSE(s.check_commit(val(oh.all[1].blob), oh.all[1].fp, anyone, check_ec));
    CHECK_FALSE(s.accept_commit(val(oh.all[1].blob), oh.all[1].fp, anyone, ec));
    CHECK(ec == check_ec); // check_commit() and accept_commit() agree (finding 3)
    CHECK(same(s, g.seq));
    CHECK(s.is_member(g.nodes[0]->fp()));
}
