// SPDX-License-Identifier: BSL-1.0
// Third adversarial review of federation catch-up (23dc61d, badd24e): sequencer::replay_commit's
// foundings kept aside, against what running relays decided (group_net.hpp: one live sequencer is
// the running relay; its accepted commits are the order) and with real relays (fed_sites.hpp).
#include "fed_sites.hpp"
#include "profile/group/replay_history.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

namespace {
namespace review_catch_up3 { // a name of its own: the file may share a unity translation unit

using namespace tlvcast;
using namespace tlvcast::test::group;
using namespace tlvcast::test::group::replay;

std::vector<std::vector<std::byte>> sync_of(const sequencer<suite>& s, std::uint64_t from)
{
    std::vector<std::vector<std::byte>> r;
    s.answer_sync(from, r);
    return r;
}

// The same epoch, roster and last commit (so the same group and chain).
bool same_line(const sequencer<suite>& a, const sequencer<suite>& b)
{
    const auto x = sync_of(a, 0), y = sync_of(b, 0);
    return a.epoch() == b.epoch() && a.roster() == b.roster() && !x.empty() && !y.empty() && x.back() == y.back();
}

// An outsider (id 3) founds a group on a net of its own and adds id 4: validly signed commits.
history outsider_chain(std::uint64_t seed)
{
    group_net h = roster_group(4, seed);
    recorder r;
    r.install(h);
    h.join(2);
    h.join(3);
    auto o = r.order();
    REQUIRE(o.size() >= 2);
    return o;
}

} // namespace review_catch_up3
} // namespace

using namespace review_catch_up3;

// FINDING B (medium, honest): group 1 (ids 1, 2) dies; id 3 founds group 2 and goes alone; id 1
// comes back without state and founds group 3 (every running relay applies it: group 2's only
// member is gone), and adds id 4. The replay judges id 1's founding against group 1 (group 2 is
// only kept aside): id 1 is on that roster, so it is refused outright rather than kept aside, its
// continuation matches nothing, and the relay that caught up stays on group 1, forked.
TEST_CASE("review catch-up 3: a former member's founding after a founding kept aside forks the relay that caught up",
          "[profile][group][catch_up][review_catch_up3][!shouldfail]")
{
    group_net g = roster_group(4, 3100);
    recorder r;
    r.install(g);
    g.join(0);
    g.join(1);
    g.leave(1); // (id 1 may remove id 2: it stays on group 1's roster either way)
    g.leave(0);
    REQUIRE(g.seq.is_member(g.nodes[0]->fp()));
    g.join(2); // id 3 founds group 2
    REQUIRE(g.seq.epoch() == 1);
    REQUIRE(g.seq.is_member(g.nodes[2]->fp()));
    g.leave(2);
    g.nodes[0]->m->reset();
    g.join(0); // id 1 founds group 3
    REQUIRE(g.seq.epoch() == 1);
    REQUIRE(g.seq.is_member(g.nodes[0]->fp()));
    g.join(3); // id 4 is added
    REQUIRE(g.seq.is_member(g.nodes[3]->fp()));

    const sequencer<suite> s = replayed(r.order());
    CHECK(s.is_member(g.nodes[3]->fp()));
    CHECK(same_line(s, g.seq));
}

// FINDING C (low, key holder), fixed: a founding was kept aside before any check, so junk shaped like one
// (a bad signature: every running relay refuses it) takes a slot; four push the real founding out
// and its continuation is refused: the relay that caught up stays on the dead group. (An honest
// relay cannot store the continuation after junk it refused: the key holder stores a copy.)
TEST_CASE("review catch-up 3: foundings with bad signatures push the real one out of the kept-aside slots",
          "[profile][group][catch_up][review_catch_up3]")
{
    group_net g = roster_group(4, 3300);
    recorder r;
    r.install(g);
    g.join(0);
    g.join(1);
    g.leave(1);
    g.leave(0);
    const std::size_t died = r.all.size();
    g.join(2); // id 3 founds group 2
    g.join(3); // and adds id 4
    REQUIRE(g.seq.is_member(g.nodes[3]->fp()));
    const history before = r.order(0, died), after = r.order(died);
    REQUIRE(after.size() >= 2);
    REQUIRE(same_line(replayed(before + after), g.seq)); // the honest history

    history h = before;
    h.push_back(after[0]);
    for (int i = 0; i < 4; ++i) {
        entry junk = after[0];
        junk.first.back() ^= std::byte(1u << i); // the signature's last byte
        h.push_back(junk);
    }
    h = h + history(after.begin() + 1, after.end());
    CHECK(same_line(replayed(h), g.seq));
}

// FINDING D (low, key holder), fixed (the founder's signature first, then a fresh sequencer): every
// commit that continues a kept-aside founding (epoch 2, its gid
// and hash) starts an adoption before anything of it is checked: a copy of the whole sequencer (up
// to commit_history rosters of max_members), the founding's two signatures, X25519 and admission,
// then the restore. A junk continuation costs that each time (the founding stays kept aside): a
// history full of them makes the start of every relay that catches up slow. Counted here by the
// admission calls on the founding.
TEST_CASE("review catch-up 3: each junk continuation of a kept-aside founding costs a full adoption attempt",
          "[profile][group][catch_up][review_catch_up3]")
{
    group_net g = roster_group(4, 3400);
    recorder r;
    r.install(g);
    g.join(0);
    g.join(1);
    const history out = outsider_chain(3450);
    sequencer<suite> s = replayed(r.order() + history{out[0]});
    entry bad = out[1];
    bad.first.back() ^= std::byte{1};
    std::size_t admitted = 0;
    const admit_fn count = [&](const key_package_view&, std::optional<bytes>) {
        ++admitted;
        return std::error_code{};
    };
    for (int i = 0; i < 100; ++i) {
        std::error_code ec;
        CHECK_FALSE(s.replay_commit(val(bad.first), bad.second, ec, count));
    }
    CHECK(admitted == 0);
}

// FINDING E (low, key holder / compromised relay): replay does not require an adding commit's
// welcome pages. A relay that publishes its member's adding commit without the pages makes every
// running relay refuse it (not_ready), while each relay that catches up later applies it.
TEST_CASE("review catch-up 3: an adding commit every running relay refused for want of its pages is replayed",
          "[profile][group][catch_up][review_catch_up3][!shouldfail]")
{
    group_net g = roster_group(3, 3500);
    recorder r;
    r.install(g);
    g.join(0);
    g.join(1);
    const auto epoch = g.seq.epoch();
    const std::size_t at = r.all.size();
    r.drop_welcome_of_0 = true;
    g.join(2); // id 1 commits id 3's addition; its pages never reach the relay
    REQUIRE(g.seq.epoch() == epoch);
    history h = r.order(0, at);
    for (std::size_t i = at; i < r.all.size(); ++i)
        if (r.all[i].from == 0) {
            h.emplace_back(r.all[i].blob, r.all[i].fp);
            break;
        }
    REQUIRE(h.size() == r.order(0, at).size() + 1);
    const sequencer<suite> s = replayed(h);
    CHECK(s.epoch() == g.seq.epoch());
    CHECK(same_line(s, g.seq));
}

// HELD: a failed adoption (the founding refused, or its continuation) leaves the state as it was,
// the founding still kept aside; the valid continuation is then taken.
TEST_CASE("review catch-up 3: a failed adoption restores the relay's state",
          "[profile][group][catch_up][review_catch_up3]")
{
    group_net g = roster_group(4, 3600);
    recorder r;
    r.install(g);
    g.join(0);
    g.join(1);
    g.nodes[0]->m->update(g.now); // (the roster before differs: may_send)
    g.pump();
    const history out = outsider_chain(3650);
    const history base = r.order() + history{out[0]};
    const sequencer<suite> ref = replayed(base);
    sequencer<suite> s = replayed(base);
    REQUIRE(s.epoch() >= 3);

    const auto same_state = [&] {
        CHECK(same_line(s, ref));
        for (std::uint64_t e = 0; e <= ref.epoch(); ++e)
            CHECK(sync_of(s, e) == sync_of(ref, e));
        for (const auto& n : g.nodes) {
            CHECK(s.is_member(n->fp()) == ref.is_member(n->fp()));
            CHECK(s.may_send(n->fp()) == ref.may_send(n->fp()));
        }
    };
    const auto refuse = [](std::uint32_t id) -> admit_fn {
        return [id](const key_package_view& kp, std::optional<bytes>) -> std::error_code {
            if (crypto::fingerprint_of<suite>(kp.entry.identity) == crypto::fingerprint_of<suite>(identity_of(id).public_key))
                return errc::admission_refused;
            return {};
        };
    };
    std::error_code ec;
    entry bad = out[1];
    bad.first.back() ^= std::byte{1};
    CHECK_FALSE(s.replay_commit(val(bad.first), bad.second, ec));
    CHECK(ec == errc::authentication_failed);
    same_state();
    ec = {};
    CHECK_FALSE(s.replay_commit(val(out[1].first), out[1].second, ec, refuse(3))); // the founder
    CHECK(ec == errc::admission_refused);
    same_state();
    ec = {};
    CHECK_FALSE(s.replay_commit(val(out[1].first), out[1].second, ec, refuse(4))); // the addition
    CHECK(ec == errc::admission_refused);
    same_state();
    ec = {};
    CHECK(s.replay_commit(val(out[1].first), out[1].second, ec));
    CHECK(same_line(s, replayed(history{out[0], out[1]})));
    CHECK_FALSE(s.may_send(g.nodes[1]->fp()));
}

// HELD (acceptable): of five foundings kept aside the oldest is forgotten; a continuation of any
// of the last four is taken. An honest order cannot need more: a relay stores a commit only in
// step with the last one stored, so a continuation comes right after its founding.
TEST_CASE("review catch-up 3: the last four foundings are kept aside, the oldest forgotten",
          "[profile][group][catch_up][review_catch_up3]")
{
    group_net g = roster_group(4, 3700);
    recorder r;
    r.install(g);
    g.join(0);
    g.join(1);
    const history base = r.order();
    std::vector<history> chains;
    history h = base;
    for (std::uint64_t i = 0; i < 5; ++i) {
        chains.push_back(outsider_chain(3710 + 10 * i));
        h.push_back(chains.back()[0]);
    }
    const auto with = [&](std::size_t i) { return replayed(h + history{chains[i][1]}); };
    const auto line = [&](std::size_t i) { return replayed(history{chains[i][0], chains[i][1]}); };
    CHECK(same_line(with(4), line(4)));
    CHECK(same_line(with(1), line(1)));
    CHECK(same_line(with(0), replayed(base)));
    // A live continuation of any of them is refused (review 2, finding 1), check_commit agreeing.
    sequencer<suite> s = replayed(h);
    const auto anyone = [](const crypto::fingerprint&) { return true; };
    std::error_code check_ec, accept_ec;
    CHECK_FALSE(s.check_commit(val(chains[4][1].first), chains[4][1].second, anyone, check_ec));
    CHECK_FALSE(s.accept_commit(val(chains[4][1].first), chains[4][1].second, anyone, accept_ec));
    CHECK(check_ec == accept_ec);
    CHECK(same_line(s, replayed(base)));
}

namespace {
namespace review_catch_up3_fed {

using namespace tlvcast;
namespace tf = tlvcast::federation;
using fed = tlvcast::test::fed_sites::federation;

tf::bridge_options settling()
{
    tf::bridge_options o;
    o.ask_presence = true;
    o.settle = std::chrono::milliseconds(300);
    return o;
}

bool wait_in_group(fed& f)
{
    const auto start = std::chrono::steady_clock::now();
    while (!f.sites[0]->member(0).in_group() && std::chrono::steady_clock::now() - start < std::chrono::seconds(3))
        f.run(std::chrono::milliseconds(100));
    f.run(std::chrono::seconds(2));
    return f.sites[0]->member(0).in_group();
}

} // namespace review_catch_up3_fed
} // namespace

// FINDING A (medium-high, honest, no attacker): a relay restarts (catch-up) while the order's last
// commit is a founding that replaced a group (a group of one: its founder went). The replay keeps
// it aside and refuses it: the relay is out of step, so every founding of its members is refused
// as a conflict before it reaches the order, for good (no other relay commits). FEDERATION.md's
// price ("until its members found again") never ends; with every relay restarted, the membership
// is frozen as before catch-up. Round 1 (a history of one founding) is federation_catch_up.cpp's case.
TEST_CASE("review catch-up 3: a relay restarted on a founding it keeps aside lets no member found again",
          "[profile][group][federation][catch_up][review_catch_up3][!shouldfail]")
{
    using namespace review_catch_up3_fed;
    namespace pg = tlvcast::profile::group;
    fed f(true, 1);
    f.sites[0]->net->start(0); // founds group 1
    f.run(std::chrono::seconds(1));
    REQUIRE(f.sites[0]->member(0).in_group());

    // Round 1: its process goes, the relay restarts, identity 77 founds group 2.
    f.sites[0]->net->replace_client(0, pg::cipher(test::identity(77), tlvcast::test::fed_sites::open_group()));
    f.sites[0]->restart(f.hub, 9, true, settling());
    f.sites[0]->net->start(0);
    REQUIRE(wait_in_group(f));
    REQUIRE(f.sites[0]->net->relay().cipher().ordering().epoch() == 1);

    // Round 2: the same again; the history now ends with group 2's founding, kept aside.
    f.sites[0]->net->replace_client(0, pg::cipher(test::identity(78), tlvcast::test::fed_sites::open_group()));
    f.sites[0]->restart(f.hub, 10, true, settling());
    REQUIRE(f.sites[0]->count(tf::federation_counter::caught_up) == 1);
    f.sites[0]->net->start(0);
    const bool in = wait_in_group(f);
    INFO("conflicts " << f.sites[0]->count(tf::federation_counter::conflicts));
    CHECK(in);
}
