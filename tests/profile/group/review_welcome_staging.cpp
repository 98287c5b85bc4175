// SPDX-License-Identifier: BSL-1.0
// Security review: welcome pages for the next epoch from a registered client that is not a member.
// The relay staged (and forwarded) a GROUP_WELCOME for epoch + 1 from anyone, in a table of 4
// entries evicted oldest first. Non-members (4 cheap identities) could evict the committer's staged
// pages between its pages and its commit, so the commit was refused (not_ready) and every addition
// stalled; their pages, forwarded to a waiting joiner, also overwrote the roster it was assembling.
#include "profile/group/group_net.hpp"

#include <catch2/catch.hpp>

using namespace tlvcast;
using namespace tlvcast::test::group;

namespace {

// A well-formed welcome page for (gid, epoch) listing `n` made-up entries out of `total`.
std::vector<std::byte> fake_page(const group_id& gid, std::uint64_t epoch, std::size_t total, std::uint8_t fill)
{
    std::vector<member_entry> roster(total);
    for (auto& e : roster) {
        e.identity.fill(std::byte{fill});
        e.init.fill(std::byte{fill});
    }
    auto pages = write_welcome(gid, epoch, roster, welcome_page_entries);
    return pages.front();
}

} // namespace

TEST_CASE("group review: non-members' welcome pages cannot evict the committer's staged pages",
          "[profile][group][review][sequencer]")
{
    // Members 1..4 on everyone's roster; 4 joins while 1 (the designated committer) commits.
    group_net g;
    for (std::uint32_t id = 1; id <= 4; ++id)
        g.add(id, roster_options({1, 2, 3, 4}), 500 + id);
    for (std::size_t i = 0; i < 3; ++i)
        g.join(i);
    REQUIRE(g.nodes[0]->m->current()->epoch == 3);
    std::vector<std::vector<std::byte>> held;
    g.pass = [&](std::size_t from, const std::vector<std::byte>& b) {
        if (from == 0)
            held.push_back(b);
        return from != 0;
    };
    g.join(3);
    REQUIRE(held.size() == 2); // one welcome page, then the commit
    const group_id gid = g.nodes[0]->m->current()->gid;
    std::error_code ec;
    // The committer's page reaches the relay.
    REQUIRE(g.seq.accept_welcome(wire::read_outer(held[0], ec).value, g.nodes[0]->fp(), ec));
    // Four registered non-members each send a page for the next epoch.
    std::size_t forwarded = 0;
    for (std::uint32_t a = 0; a < 4; ++a) {
        const auto attacker = crypto::fingerprint_of<suite>(identity_of(900 + a).public_key);
        const auto page = fake_page(gid, 4, 4, static_cast<std::uint8_t>(0x10 + a));
        if (g.seq.accept_welcome(wire::read_outer(page, ec).value, attacker, ec))
            ++forwarded;
    }
    CHECK(forwarded == 0); // not staged and not forwarded: they are no member
    const auto present = [&](const crypto::fingerprint&) { return true; };
    CHECK(g.seq.accept_commit(wire::read_outer(held[1], ec).value, g.nodes[0]->fp(), present, ec));
    CHECK_FALSE(ec);
    CHECK(g.seq.epoch() == 4);
}

TEST_CASE("group review (pin): the committer's own pages are still staged, repeated and kept for GROUP_SYNC",
          "[profile][group][review][sequencer]")
{
    group_net g;
    for (std::uint32_t id = 1; id <= 4; ++id)
        g.add(id, roster_options({1, 2, 3, 4}), 600 + id);
    for (std::size_t i = 0; i < 4; ++i)
        g.join(i);
    CHECK(g.agree());
    REQUIRE(g.nodes[3]->m->in_group());
    CHECK(g.nodes[3]->m->current()->epoch == 4);
    // A member (not the committer) sending a page for a kept epoch is refused.
    const group_id gid = g.nodes[0]->m->current()->gid;
    std::error_code ec;
    const auto page = fake_page(gid, 4, 4, 0x33);
    CHECK_FALSE(g.seq.accept_welcome(wire::read_outer(page, ec).value, g.nodes[1]->fp(), ec));
    CHECK(ec == errc::not_a_member);
}
