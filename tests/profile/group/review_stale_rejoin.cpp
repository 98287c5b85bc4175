// SPDX-License-Identifier: BSL-1.0
// Security review: a removed member must not be put back into an epoch it was removed from.
// The relay keeps the commit that added a member (and its welcome pages) for GROUP_SYNC; the member
// kept the init key that commit sealed to, so replaying that commit with its pages (or just answering
// the removed member's own GROUP_SYNC(0)) re-installed the old epoch: a removed member believed it
// was in the group again, sealed messages under an old epoch secret (readable by every member of that
// old epoch, including members removed since) and cycled through removals every 4 x retry.
#include "profile/group/group_net.hpp"

#include <catch2/catch.hpp>

using namespace tlvcast;
using namespace tlvcast::test::group;

namespace {

// The relay's view of commits and welcome pages of `epoch` (value bytes, as forwarded).
std::vector<std::vector<std::byte>> blobs_of_epoch(const group_net& g, std::uint64_t epoch)
{
    std::vector<std::vector<std::byte>> out;
    for (const auto& b : g.seen) {
        std::error_code ec;
        const wire::tlv t = wire::read_outer(b, ec);
        if (ec)
            continue;
        if (t.type() == wire::tlv_type::group_welcome && profile::group::detail::get_be(t.value.subspan(16), 8) == epoch)
            out.push_back(b);
        if (t.type() == wire::tlv_type::group_commit && profile::group::detail::get_be(t.value.subspan(17), 8) == epoch)
            out.push_back(b);
    }
    return out;
}

} // namespace

TEST_CASE("group review: a removed member is not put back into the epoch that added it (relay replay)",
          "[profile][group][review][malicious]")
{
    group_net g = three();
    const std::uint64_t added_in = 3; // node 2 was added by commit 3
    REQUIRE(g.nodes[2]->m->current()->epoch == added_in);
    const auto replay = blobs_of_epoch(g, added_in);
    REQUIRE(replay.size() == 2); // one welcome page and the commit
    // The relay announces node 2's departure while node 2 still hears the relay: it is removed.
    g.announce(2, false);
    g.pump();
    REQUIRE(g.nodes[0]->m->current()->epoch == added_in + 1);
    REQUIRE_FALSE(g.nodes[2]->m->in_group());
    // The relay replays the welcome page and the commit that once added node 2.
    for (const auto& b : replay)
        g.deliver(2, b);
    CHECK_FALSE(g.nodes[2]->m->in_group());
    if (g.nodes[2]->m->in_group()) {
        // What it would do there: seal under epoch 3's secret, which node 0 still opens (previous
        // epoch) and which every member of epoch 3 could read, removed ones included.
        std::error_code ec;
        std::vector<std::byte> blob;
        const std::string text = "sent after my removal";
        g.nodes[2]->m->seal(std::as_bytes(std::span(text)), blob, ec);
        CHECK(g.nodes[2]->m->current()->epoch == added_in);
    }
}

TEST_CASE("group review: a removed member's GROUP_SYNC(0) does not re-install an old epoch (honest relay)",
          "[profile][group][review]")
{
    group_net g = three();
    g.announce(2, false);
    g.pump();
    REQUIRE_FALSE(g.nodes[2]->m->in_group());
    const auto applied = g.nodes[2]->m->counts().commits_applied;
    g.nodes[2]->notices.clear();
    for (int i = 0; i < 6; ++i)
        g.tick(std::chrono::seconds(1)); // it asks for GROUP_SYNC(0) every 4 x retry: the relay answers
    CHECK(g.nodes[2]->m->counts().sync_requests > 0);
    CHECK(g.nodes[2]->m->counts().commits_applied == applied); // no epoch re-installed
    CHECK(g.nodes[2]->notices.empty()); // and no phantom epoch / removed events
    CHECK_FALSE(g.nodes[2]->m->in_group());
    CHECK(g.agree());
}

TEST_CASE("group review (pin): a removed member that joins again is added with a fresh key and reads again",
          "[profile][group][review]")
{
    group_net g = three();
    g.announce(2, false);
    g.pump();
    REQUIRE_FALSE(g.nodes[2]->m->in_group());
    // It joins again (a new GROUP_JOIN with the key package it now holds).
    g.nodes[2]->present = false;
    g.join(2);
    REQUIRE(g.nodes[2]->m->in_group());
    CHECK(g.agree());
    g.send(0, "welcome back");
    REQUIRE_FALSE(g.nodes[2]->inbox.empty());
    CHECK(g.nodes[2]->inbox.back().text == "welcome back");
}
