// SPDX-License-Identifier: BSL-1.0
// profile/group/sequencer.hpp: the relay orders only commits that members will accept, and keeps
// only the committer's true welcome pages (findings of the group profile's vector review).
#include "profile/group/group_net.hpp"

#include <catch2/catch.hpp>

using namespace tlvcast;
using namespace tlvcast::test::group;

namespace {

// Captures the next commit and welcome pages node `i` sends instead of letting them through.
struct withheld {
    std::vector<std::vector<std::byte>> blobs;
    void install(group_net& g, std::size_t who)
    {
        g.pass = [this, who](std::size_t from, const std::vector<std::byte>& b) {
            std::error_code ec;
            const auto type = wire::read_outer(b, ec).type();
            if (from != who || (type != wire::tlv_type::group_commit && type != wire::tlv_type::group_welcome))
                return true;
            blobs.push_back(b);
            return false;
        };
    }
};

std::span<const std::byte> value(const std::vector<std::byte>& blob)
{
    std::error_code ec;
    return wire::read_outer(blob, ec).value;
}

} // namespace

TEST_CASE("group sequencer: a commit with a bad signature does not move the relay", "[profile][group][sequencer]")
{
    group_net g = three();
    withheld w;
    w.install(g, 0);
    g.nodes[0]->m->update(g.now);
    g.pump();
    REQUIRE(w.blobs.size() == 1);
    auto bad = w.blobs[0];
    bad.back() ^= std::byte{1}; // the signature's last byte
    const auto e = g.seq.epoch();
    std::error_code ec;
    CHECK_FALSE(g.seq.accept_commit(value(bad), g.nodes[0]->fp(), [](const auto&) { return true; }, ec));
    CHECK(ec == errc::authentication_failed);
    CHECK(g.seq.epoch() == e);
    // From a registered client that is not the committer it names, or not a member: refused.
    CHECK_FALSE(g.seq.accept_commit(value(w.blobs[0]), g.nodes[1]->fp(), [](const auto&) { return true; }, ec));
    CHECK(ec == errc::not_a_member);
    // The real one is ordered, and every member follows.
    g.pass = [](auto, const auto&) { return true; };
    g.route(0, w.blobs[0]);
    CHECK(g.seq.epoch() == e + 1);
    CHECK(g.agree());
    CHECK(g.nodes[1]->m->current()->epoch == e + 1);
}

TEST_CASE("group sequencer: a commit that adds members waits for its welcome pages", "[profile][group][sequencer]")
{
    group_net g = roster_group(3, 40);
    g.join(0);
    g.join(1);
    withheld w;
    w.install(g, 0);
    g.join(2); // node 0 commits the addition of node 2: its welcome page, then the commit
    REQUIRE(w.blobs.size() == 2);
    const auto& page = w.blobs[0];
    const auto& commit = w.blobs[1];
    const auto any = [](const auto&) { return true; };
    std::error_code ec;
    const auto e = g.seq.epoch();
    CHECK_FALSE(g.seq.accept_commit(value(commit), g.nodes[0]->fp(), any, ec)); // its page was lost
    CHECK(ec == errc::not_ready);
    auto forged = page;
    forged[4 + 28 + 40] ^= std::byte{1}; // an init key in the page
    CHECK(g.seq.accept_welcome(value(forged), g.nodes[0]->fp(), ec));  // staged, as anything from node 0
    CHECK(g.seq.accept_welcome(value(page), g.nodes[1]->fp(), ec));    // staged under node 1: not node 0's
    CHECK_FALSE(g.seq.accept_commit(value(commit), g.nodes[0]->fp(), any, ec));
    CHECK(ec == errc::not_ready);
    CHECK(g.seq.epoch() == e);
    CHECK(g.seq.accept_welcome(value(page), g.nodes[0]->fp(), ec));
    CHECK(g.seq.accept_commit(value(commit), g.nodes[0]->fp(), any, ec));
    CHECK(g.seq.epoch() == e + 1);
    // Kept with the commit: only the committer's true page; a joiner fetches them with GROUP_SYNC.
    CHECK_FALSE(g.seq.accept_welcome(value(forged), g.nodes[0]->fp(), ec));
    CHECK(ec == errc::malformed);
    CHECK_FALSE(g.seq.accept_welcome(value(page), g.nodes[1]->fp(), ec));
    CHECK(ec == errc::not_a_member);
    std::vector<std::vector<std::byte>> replies;
    g.seq.answer_sync(0, replies);
    REQUIRE_FALSE(replies.empty());
    CHECK(std::find(replies.begin(), replies.end(), page) != replies.end());
    for (const auto& r : replies)
        g.deliver(2, r);
    CHECK(g.nodes[2]->m->in_group());
    for (std::size_t i = 0; i < 2; ++i)
        g.deliver(i, commit);
    CHECK(g.agree());
}

TEST_CASE("group member: a low-order init key is refused before anything is sealed to it", "[profile][group]")
{
    group_net g = three();
    g.add(4, roster_options({1, 2, 3, 4}), 44);
    // Node 3's real join, with its init key replaced by zeros and the key package re-signed by it.
    std::vector<std::byte> join;
    std::error_code ec;
    g.nodes[3]->m->write_join(join, ec);
    std::vector<std::byte> v(join.begin() + 4, join.end());
    std::fill(v.begin() + 1 + 32, v.begin() + 1 + 64, std::byte{0});
    std::vector<std::byte> msg;
    profile::group::detail::append(msg, profile::group::detail::bytes_of(labels::key_package));
    msg.insert(msg.end(), v.begin() + 1, v.begin() + 1 + 68);
    std::array<std::byte, 64> sig{};
    g.nodes[3]->party->sign(msg, sig);
    std::copy(sig.begin(), sig.end(), v.begin() + 1 + 68);
    std::vector<std::byte> presence;
    write_presence(true, endpoint{0x0a000009u, 4000}, g.nodes[3]->fp(), v, presence, ec);
    const auto e = g.nodes[0]->m->current()->epoch;
    g.deliver(0, presence);
    g.pump();
    CHECK(g.nodes[0]->m->current()->epoch == e); // nothing committed
    g.nodes[0]->m->update(g.now); // and the committer still commits
    g.pump();
    CHECK(g.nodes[0]->m->current()->epoch == e + 1);
    CHECK(g.agree());
}

TEST_CASE("group member: update twice before the relay answers keeps one group", "[profile][group]")
{
    group_net g = three();
    withheld w;
    w.install(g, 1);
    g.nodes[1]->m->update(g.now);
    g.nodes[1]->m->update(g.now); // before the first update's commit came back
    g.pass = [](auto, const auto&) { return true; };
    for (const auto& b : w.blobs)
        g.route(1, b);
    g.pump();
    g.tick(std::chrono::seconds(1));
    CHECK(g.agree());
    g.send(1, "after two updates");
    CHECK(g.nodes[0]->inbox.back().text == "after two updates");
    g.nodes[2]->m->update(g.now);
    g.pump();
    CHECK(g.agree());
    CHECK(g.nodes[1]->m->current()->epoch == g.nodes[2]->m->current()->epoch);
}

TEST_CASE("group sequencer: a replayed founding commit that replaces a group waits for a commit that continues it",
          "[profile][group][sequencer][catch_up]")
{
    // Group 1 (nodes 0 and 1) dies; nodes 2 and 3 found group 2. Every commit the relay was offered,
    // in order, is what a federation's commit stream holds.
    group_net g = roster_group(4, 200);
    std::vector<std::pair<std::size_t, std::vector<std::byte>>> offered;
    g.pass = [&](std::size_t from, const std::vector<std::byte>& b) {
        std::error_code ec;
        if (wire::read_outer(b, ec).type() == wire::tlv_type::group_commit)
            offered.emplace_back(from, b);
        return true;
    };
    g.join(0);
    g.join(1);
    g.leave(0); // node 1 removes it
    g.leave(1);
    const auto first_epoch = g.seq.epoch();
    const auto first_roster = g.seq.roster();
    g.join(2); // founds group 2 (nobody of group 1 is present)
    const std::size_t founding = offered.size();
    g.join(3); // added to it
    REQUIRE(g.seq.roster().size() == 2);
    REQUIRE(offered.size() > founding);

    const auto replay = [&](sequencer<suite>& s, std::size_t from, std::size_t to) {
        for (std::size_t i = from; i < to; ++i) {
            std::error_code ec;
            s.replay_commit(value(offered[i].second), g.nodes[offered[i].first]->fp(), ec);
        }
    };
    const auto same = [](const sequencer<suite>& a, const sequencer<suite>& b) {
        return a.epoch() == b.epoch() && a.roster() == b.roster();
    };
    // The whole history: group 2's founding is continued, so it is taken; the state is the relay's.
    sequencer<suite> all{options::default_max_members, options::default_commit_history};
    replay(all, 0, offered.size());
    CHECK(same(all, g.seq));

    // Up to the founding only: kept aside, group 1 stays (the founding alone could be one that every
    // running relay refused while group 1 lived).
    sequencer<suite> cut{options::default_max_members, options::default_commit_history};
    replay(cut, 0, founding);
    CHECK(cut.epoch() == first_epoch);
    CHECK(cut.roster() == first_roster);
    REQUIRE(cut.is_member(g.nodes[1]->fp()));
    // A live commit that continues it (the next one of the order, after the history): refused, the
    // founding is forgotten (a continuation proves only that its signer continued it; review 2 of
    // catch-up, finding 1). This relay stays out of step until its group commits again.
    std::error_code ec;
    const auto anyone = [](const crypto::fingerprint&) { return true; };
    for (std::size_t i = founding; i < offered.size(); ++i)
        CHECK_FALSE(cut.accept_commit(value(offered[i].second), g.nodes[offered[i].first]->fp(), anyone, ec));
    CHECK(cut.epoch() == first_epoch);
    CHECK(cut.is_member(g.nodes[1]->fp()));
    // Replayed after that, the continuation finds nothing kept aside either.
    for (std::size_t i = founding + 1; i < offered.size(); ++i)
        CHECK_FALSE(cut.replay_commit(value(offered[i].second), g.nodes[offered[i].first]->fp(), ec));
    CHECK(cut.epoch() == first_epoch);
}
