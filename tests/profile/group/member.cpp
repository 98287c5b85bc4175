// SPDX-License-Identifier: BSL-1.0
// profile/group/member.hpp: epochs, joining, leaving, messages, and what a member refuses.
#include "profile/group/group_net.hpp"

#include <catch2/catch.hpp>

using namespace tlvcast;
using namespace tlvcast::test::group;

TEST_CASE("group member: the first member founds the group, the others are added", "[profile][group]")
{
    group_net g = three();
    for (const auto& n : g.nodes) {
        REQUIRE(n->m->in_group());
        CHECK(n->m->current()->roster.size() == 3);
        CHECK(n->m->current()->epoch == 3);
    }
    CHECK(g.agree());
    g.send(0, "hello");
    CHECK(g.nodes[1]->inbox.size() == 1);
    CHECK(g.nodes[2]->inbox.size() == 1);
    CHECK(g.nodes[1]->inbox[0].text == "hello");
    CHECK(g.nodes[1]->inbox[0].sender == g.nodes[0]->fp());
    CHECK(g.nodes[0]->inbox.empty());
}

TEST_CASE("group member: a removed member opens nothing from the next epoch on", "[profile][group]")
{
    group_net g = three();
    const std::uint64_t e = g.nodes[2]->m->current()->epoch;
    g.leave(2); // the relay announces it left: the committer removes it
    REQUIRE(g.nodes[0]->m->current()->epoch == e + 1);
    CHECK(g.nodes[0]->m->current()->roster.size() == 2);
    CHECK(g.agree());
    const std::size_t before = g.seen.size();
    g.send(0, "after removal");
    REQUIRE(g.nodes[1]->inbox.size() == 1);
    // The removed member gets every blob the relay saw since, the commit included.
    node& gone = *g.nodes[2];
    std::size_t opened = 0;
    for (std::size_t i = 0; i < g.seen.size(); ++i) {
        std::error_code ec;
        const wire::tlv t = wire::read_outer(g.seen[i], ec);
        if (t.type() == wire::tlv_type::group_commit)
            gone.m->on_commit(t.value, g.now, ec);
        if (t.type() == wire::tlv_type::group_message && i >= before) {
            std::vector<std::byte> text;
            if (gone.m->open(t.value, text, ec))
                ++opened;
            CHECK(ec);
        }
    }
    CHECK(opened == 0);
    CHECK_FALSE(gone.m->in_group());
}

TEST_CASE("group member: a member that joins in epoch e opens nothing from before e", "[profile][group]")
{
    group_net g = roster_group(3, 200);
    g.join(0);
    g.join(1);
    g.send(0, "before the third");
    g.send(1, "also before");
    const std::size_t early = g.seen.size();
    g.join(2);
    REQUIRE(g.nodes[2]->m->in_group());
    std::size_t tried = 0;
    for (std::size_t i = 0; i < early; ++i) {
        std::error_code ec;
        const wire::tlv t = wire::read_outer(g.seen[i], ec);
        if (t.type() != wire::tlv_type::group_message)
            continue;
        std::vector<std::byte> text;
        ++tried;
        CHECK_FALSE(g.nodes[2]->m->open(t.value, text, ec));
        CHECK(ec == errc::wrong_epoch);
    }
    CHECK(tried == 2);
    g.send(0, "after");
    CHECK(g.nodes[2]->inbox.size() == 1);
}

TEST_CASE("group member: an update heals a member whose state leaked", "[profile][group]")
{
    // The attacker's replica has the victim's identity and the same random stream: the victim's
    // whole state up to the leak. After the leak the victim draws fresh randomness.
    group_net g;
    g.add(1, roster_options({1, 2}), 301);
    g.add(2, roster_options({1, 2}), 302);
    g.join(0);
    g.join(1);
    group_net mirror; // the replica sees every blob the victim (node 1) sees
    node& replica = mirror.add(2, roster_options({1, 2}), 302);
    std::size_t fed = 0;
    const auto feed = [&] {
        for (; fed < g.seen.size(); ++fed) {
            std::error_code ec;
            const wire::tlv t = wire::read_outer(g.seen[fed], ec);
            if (t.type() == wire::tlv_type::group_commit)
                replica.m->on_commit(t.value, g.now, ec);
            else if (t.type() == wire::tlv_type::group_welcome)
                replica.m->on_welcome(t.value, g.now, ec);
        }
    };
    // Drawn in the same order as the victim: its init key, then nothing else before joining.
    feed();
    REQUIRE(replica.m->in_group());
    const auto opens = [&](const std::string& text) {
        std::vector<std::byte> blob, out;
        std::error_code ec;
        g.nodes[0]->m->seal(std::as_bytes(std::span(text)), blob, ec);
        g.route(0, blob);
        const wire::tlv t = wire::read_outer(blob, ec);
        return replica.m->open(t.value, out, ec).has_value();
    };
    CHECK(opens("leaked epoch")); // the leak is real
    // A commit by the other member, still sealed to the leaked init key: the attacker follows.
    g.nodes[0]->m->update(g.now);
    g.pump();
    feed();
    CHECK(replica.m->current()->epoch == g.nodes[0]->m->current()->epoch);
    CHECK(opens("still leaked"));
    // The victim recovers: fresh randomness, an update, its commit.
    g.nodes[1]->party->rng().reseed(999);
    g.nodes[1]->m->update(g.now);
    g.pump();
    feed();
    REQUIRE(g.agree());
    CHECK(replica.m->current()->epoch < g.nodes[0]->m->current()->epoch);
    CHECK_FALSE(opens("healed"));
    CHECK(g.nodes[1]->inbox.back().text == "healed");
}

TEST_CASE("group member: a dropped message is a gap at the recipients, then later ones flow", "[profile][group]")
{
    group_net g = three();
    int n = 0;
    g.pass = [&](std::size_t from, const std::vector<std::byte>& blob) {
        std::error_code ec;
        return !(from == 0 && wire::read_outer(blob, ec).type() == wire::tlv_type::group_message && ++n == 2);
    };
    g.send(0, "one");
    g.send(0, "two (dropped by the relay)");
    g.send(0, "three");
    REQUIRE(g.nodes[1]->inbox.size() == 2);
    const auto& notes = g.nodes[1]->notices;
    const auto gap = std::find_if(notes.begin(), notes.end(), [](const notice& x) { return x.what == notice::kind::gap; });
    REQUIRE(gap != notes.end());
    CHECK(gap->member == g.nodes[0]->fp());
    CHECK(gap->from == 1);
    CHECK(gap->to == 1);
}

TEST_CASE("group member: replays, reordering within bounds, and too far ahead", "[profile][group]")
{
    group_net g = three();
    std::vector<std::vector<std::byte>> blobs;
    for (int i = 0; i < 4; ++i) {
        std::vector<std::byte> blob;
        std::error_code ec;
        const std::string text = "m" + std::to_string(i);
        g.nodes[0]->m->seal(std::as_bytes(std::span(text)), blob, ec);
        blobs.push_back(blob);
    }
    member_t& r = *g.nodes[1]->m;
    const auto open = [&](std::size_t i, std::error_code& ec) {
        std::vector<std::byte> text;
        const wire::tlv t = wire::read_outer(blobs[i], ec);
        return r.open(t.value, text, ec).has_value();
    };
    std::error_code ec;
    CHECK(open(3, ec)); // ahead: 0..2 kept as skipped keys
    CHECK(open(1, ec));
    CHECK_FALSE(open(1, ec)); // its key was deleted after use
    CHECK(ec == errc::replayed);
    CHECK(open(0, ec));
    CHECK(open(2, ec));
    CHECK_FALSE(open(3, ec));
    CHECK(ec == errc::replayed);
    CHECK(r.counts().messages_opened == 4);
}

TEST_CASE("group member: the relay cannot roll a member back to an older key package", "[profile][group][malicious]")
{
    group_net g = three();
    const std::vector<std::byte> old_join = g.nodes[2]->join; // seq 0, as first announced
    g.nodes[2]->m->update(g.now);
    g.pump();
    const auto e = g.nodes[0]->m->current()->epoch;
    REQUIRE(g.nodes[0]->m->current()->roster[2].seq == 1);
    std::vector<std::byte> presence;
    std::error_code ec;
    write_presence(true, endpoint{0x0a000003u, 4000}, g.nodes[2]->fp(), old_join, presence, ec);
    g.deliver(0, presence); // the committer is handed the old key package again
    g.pump();
    CHECK(g.nodes[0]->m->counts().stale_key_packages == 1);
    CHECK(g.nodes[0]->m->current()->epoch == e); // no commit
    CHECK(g.nodes[0]->m->current()->roster[2].seq == 1);
    CHECK(g.nodes[0]->m->current()->roster[2].init == g.nodes[2]->m->init_key());
}
