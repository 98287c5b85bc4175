// SPDX-License-Identifier: BSL-1.0
// Security review: promises attacked and not broken, pinned so that they stay so.
#include "profile/group/group_net.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace tlvcast;
using namespace tlvcast::test::group;

namespace {

std::vector<std::byte> value_of(const std::vector<std::byte>& blob)
{
    std::error_code ec;
    const wire::tlv t = wire::read_outer(blob, ec);
    return {t.value.begin(), t.value.end()};
}

std::vector<std::byte> last_of(const group_net& g, wire::tlv_type type)
{
    for (auto it = g.seen.rbegin(); it != g.seen.rend(); ++it) {
        std::error_code ec;
        if (wire::read_outer(*it, ec).type() == type)
            return *it;
    }
    return {};
}

std::vector<std::byte> welcome_value(std::uint64_t epoch, std::size_t first, std::size_t total, std::size_t n)
{
    std::vector<std::byte> v(16, std::byte{7});
    profile::group::detail::put_be(v, epoch, 8);
    profile::group::detail::put_be(v, first, 2);
    profile::group::detail::put_be(v, total, 2);
    v.resize(v.size() + n * roster_entry_size, std::byte{1});
    return v;
}

} // namespace

TEST_CASE("group review (pin): read_welcome refuses first + n past total, total past max_members, epoch 0",
          "[profile][group][review][parser]")
{
    std::error_code ec;
    (void)read_welcome(welcome_value(1, 0xffff, 0xffff, 1), 1000, ec); // first + n overflows 16 bits
    CHECK(ec == errc::malformed);
    (void)read_welcome(welcome_value(1, 999, 1000, 2), 1000, ec);
    CHECK(ec == errc::malformed);
    (void)read_welcome(welcome_value(1, 0, 1001, 1), 1000, ec);
    CHECK(ec == errc::malformed);
    (void)read_welcome(welcome_value(0, 0, 1, 1), 1000, ec);
    CHECK(ec == errc::malformed);
    auto odd = welcome_value(1, 0, 2, 1);
    odd.push_back(std::byte{0});
    (void)read_welcome(odd, 1000, ec);
    CHECK(ec == errc::malformed);
    const auto ok = read_welcome(welcome_value(1, 998, 1000, 2), 1000, ec);
    CHECK_FALSE(ec);
    CHECK(ok.entries.size() == 2);
}

TEST_CASE("group review (pin): read_commit survives every truncation and byte flip; members apply none",
          "[profile][group][review][parser]")
{
    group_net g = three();
    g.nodes[0]->m->update(g.now);
    std::vector<std::byte> commit;
    g.pass = [&](std::size_t, const std::vector<std::byte>& b) {
        std::error_code ec;
        if (wire::read_outer(b, ec).type() == wire::tlv_type::group_commit)
            commit = value_of(b);
        return false;
    };
    g.pump();
    REQUIRE_FALSE(commit.empty());
    member_t& m = *g.nodes[1]->m;
    const auto epoch = m.current()->epoch;
    std::error_code ec;
    for (std::size_t n = 0; n < commit.size(); ++n) {
        (void)read_commit(std::span(commit).first(n), 1000, ec);
        CHECK(ec == errc::malformed);
    }
    std::mt19937 rng(5);
    for (std::size_t i = 0; i < commit.size(); ++i) {
        auto bad = commit;
        bad[i] ^= static_cast<std::byte>(1 + rng() % 255);
        m.on_commit(bad, g.now, ec);
        CHECK(ec);
        CHECK(m.current()->epoch == epoch);
        // Counts at the 2-byte fields, set to 0xffff (past max_members) or to 1,200 (the limit).
    }
    for (const std::size_t at : {std::size_t{89}, std::size_t{91}}) { // n_removed, n_updated
        for (const std::uint16_t count : {std::uint16_t{0xffff}, std::uint16_t{1200}}) {
            auto bad = commit;
            bad[at] = static_cast<std::byte>(count >> 8);
            bad[at + 1] = static_cast<std::byte>(count);
            (void)read_commit(bad, 1000, ec);
            CHECK(ec == errc::malformed);
        }
    }
    m.on_commit(commit, g.now, ec); // the real one still applies
    CHECK_FALSE(ec);
    CHECK(m.current()->epoch == epoch + 1);
}

TEST_CASE("group review (pin): GROUP_PRESENCE and GROUP_JOIN of every length between the legal ones are refused",
          "[profile][group][review][parser]")
{
    group_net g = three();
    std::vector<std::byte> join;
    std::error_code ec;
    g.nodes[0]->m->write_join(join, ec);
    std::vector<std::byte> presence;
    write_presence(true, endpoint{0x0a000009u, 4000}, g.nodes[0]->fp(), value_of(join), presence, ec);
    const auto v = value_of(presence);
    for (std::size_t n = 1; n <= v.size(); ++n) {
        const auto p = read_presence(std::span(v).first(n), ec);
        if (n == v.size()) {
            CHECK_FALSE(ec);
            CHECK(p.join);
        } else if (ec == std::error_code{}) {
            CHECK_FALSE(p.joined); // only the 52-byte departure (kind 0) parses, and kind is 1 here
        }
    }
    for (std::size_t n = 1; n < v.size() - wire::group_presence_fixed; ++n) {
        (void)read_join(std::span(v).subspan(wire::group_presence_fixed, n), ec);
        CHECK(ec == errc::malformed);
    }
}

TEST_CASE("group review (pin): a member removed while its own update is pending never installs it",
          "[profile][group][review][state]")
{
    group_net g = three();
    std::vector<std::vector<std::byte>> held;
    g.pass = [&](std::size_t from, const std::vector<std::byte>& b) {
        if (from == 2)
            held.push_back(b);
        return from != 2;
    };
    g.nodes[2]->m->update(g.now); // node 2's update commit is withheld by the relay
    g.pump();
    REQUIRE_FALSE(held.empty());
    g.announce(2, false); // and node 0 removes node 2 first
    g.pump();
    REQUIRE_FALSE(g.nodes[2]->m->in_group());
    // The relay now echoes node 2's stale commit (and replays it to everyone).
    for (std::size_t j = 0; j < 3; ++j)
        for (const auto& b : held)
            g.deliver(j, b);
    CHECK_FALSE(g.nodes[2]->m->in_group());
    CHECK(g.nodes[0]->m->current()->roster.size() == 2);
    CHECK(g.agree());
    // And the relay's sequencer refused it too (it is not the next epoch any more).
    std::error_code ec;
    for (const auto& b : held)
        if (wire::read_outer(b, ec).type() == wire::tlv_type::group_commit) {
            CHECK_FALSE(g.seq.accept_commit(value_of(b), g.nodes[2]->fp(), [](const auto&) { return true; }, ec));
            CHECK(ec == errc::wrong_epoch);
        }
}

TEST_CASE("group review (pin): two committers racing for the same epoch end in one group",
          "[profile][group][review][state]")
{
    group_net g = three();
    std::vector<std::pair<std::size_t, std::vector<std::byte>>> held;
    g.pass = [&](std::size_t from, const std::vector<std::byte>& b) {
        held.emplace_back(from, b);
        return false;
    };
    g.nodes[1]->m->update(g.now);
    g.nodes[2]->m->update(g.now);
    g.pump();
    REQUIRE(held.size() == 2);
    g.pass = [](auto, const auto&) { return true; };
    // The relay orders node 2's first, then node 1's (refused), in reverse of sending.
    g.route(held[1].first, held[1].second);
    g.route(held[0].first, held[0].second);
    g.pump();
    g.tick(std::chrono::seconds(1));
    g.tick(std::chrono::seconds(1));
    CHECK(g.agree());
    CHECK(g.nodes[0]->m->current()->epoch == 5); // both updates, one after the other
    g.send(1, "after the race");
    CHECK(g.nodes[2]->inbox.back().text == "after the race");
}

TEST_CASE("group review (pin): commits delivered out of order are applied in order after GROUP_SYNC",
          "[profile][group][review][state]")
{
    group_net g = three();
    std::vector<std::vector<std::byte>> to_node2;
    for (int k = 0; k < 3; ++k) {
        g.nodes[2]->present = false; // node 2 misses three updates
        g.nodes[k % 2]->m->update(g.now);
        g.pump();
        to_node2.push_back(last_of(g, wire::tlv_type::group_commit));
        g.nodes[2]->present = true;
    }
    // The relay delivers them newest first.
    std::error_code ec;
    for (auto it = to_node2.rbegin(); it != to_node2.rend(); ++it)
        g.deliver(2, *it);
    g.tick(std::chrono::seconds(1)); // it asked for a sync; the relay answers
    CHECK(g.agree());
    CHECK(g.nodes[2]->m->current()->epoch == g.nodes[0]->m->current()->epoch);
}

TEST_CASE("group review (pin): under roster admission a joiner refuses a group that holds a ghost",
          "[profile][group][review][admission]")
{
    // The relay cannot sign as a member, but a joiner checks every member anyway under roster: a
    // group whose roster holds an identity outside the joiner's list gives it no secret.
    group_net g;
    options open;
    open.policy = admission::open;
    g.add(1, open, 801);          // a member with open admission adds whoever the relay announces
    g.add(1000, open, 802);       // the relay's ghost
    g.add(3, roster_options({1, 3}), 803); // the joiner lists 1 and 3 only
    g.join(0);
    g.join(1);
    REQUIRE(g.nodes[0]->m->current()->roster.size() == 2);
    g.join(2);
    CHECK_FALSE(g.nodes[2]->m->in_group());
    CHECK(g.nodes[2]->m->counts().commits_rejected > 0);
}
