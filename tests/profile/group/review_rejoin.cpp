// SPDX-License-Identifier: BSL-1.0
// Adversarial review of the group relay's rejoin in place (d541d9c): a re-key carries a session's
// GROUP_JOIN over, and once per carried join a newer key package of the same identity replaces it
// and is announced. What a member at its own address can and cannot do with that one
// replacement.
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

// A re-key by a process that did not restart (a probe): nothing is announced, and the join it
// sent at first, repeated byte for byte over the new session, is taken as before (neither
// refused nor verified nor announced).
TEST_CASE("review_rejoin: a re-key without a restart is not disturbed", "[review_rejoin]")
{
    review_fanout_group g(3, 1);
    g.net.run_for(std::chrono::seconds(16)); // each client's probe re-keys its hop
    REQUIRE(rejoin_handshakes(g, 1, 0) >= 1);
    const auto presence = rejoin_count(g, relay_counter::presence_sent);
    const auto refused = rejoin_count(g, relay_counter::refused);
    const auto verifies = rejoin_verifies(g);
    std::vector<std::byte> own;
    std::error_code ec;
    g.net.client(1).cipher().seal(g.net.client(1).session(), crypto::message_kind::join, {}, own, ec);
    REQUIRE_FALSE(ec);
    for (int k = 0; k < 5; ++k)
        rejoin_send(g, 1, own);
    CHECK(rejoin_count(g, relay_counter::presence_sent) == presence);
    CHECK(rejoin_count(g, relay_counter::refused) == refused);
    CHECK(rejoin_verifies(g) == verifies);
    for (std::size_t i = 0; i < 4; ++i)
        (void)g.collect(i);
    g.say(0, "after the re-key");
    g.net.run_for(std::chrono::milliseconds(300));
    for (std::size_t i = 1; i < 4; ++i) {
        INFO("client " << i);
        CHECK(g.collect(i).messages == std::vector<std::string>{"after the re-key"});
    }
}

// The replacement must be newer than the carried join: an older key package of the member's own
// (a replay, or one it kept) and one at the same seq (another init key, the other delivery mode)
// are refused; the roster and the member's delivery stay.
TEST_CASE("review_rejoin: a member cannot roll its key package back or switch mode at the same seq",
          "[review_rejoin]")
{
    review_fanout_group g(3, 1);
    rejoin_restart(g, 1, 1000, uni);
    REQUIRE(g.net.client(1).cipher().group().in_group());
    REQUIRE(rejoin_roster_seq(g, 0, 2) == 1000);
    const std::size_t mark = g.net.sent.size();
    g.net.run_for(std::chrono::seconds(16)); // its probe: the session now carries the join at 1000
    REQUIRE(rejoin_handshakes(g, 1, mark) >= 1);
    const auto presence = rejoin_count(g, relay_counter::presence_sent);
    const auto refused = rejoin_count(g, relay_counter::refused);
    rejoin_send(g, 1, rejoin_join_of(g, 2, 500, uni));
    rejoin_send(g, 1, rejoin_join_of(g, 2, 1000, multi));
    auto forged = rejoin_join_of(g, 2, 2000, uni); // a newer one whose signature does not verify
    forged.back() ^= std::byte{1};
    rejoin_send(g, 1, forged);
    CHECK(rejoin_count(g, relay_counter::refused) == refused + 3);
    CHECK(rejoin_count(g, relay_counter::presence_sent) == presence);
    g.net.run_for(std::chrono::seconds(1));
    for (const std::size_t i : {0u, 2u, 3u})
        CHECK(rejoin_roster_seq(g, i, 2) == 1000);
    for (std::size_t i = 0; i < 4; ++i)
        (void)g.collect(i);
    g.say(0, "still unicast"); // client 1 does not listen on the data group
    g.net.run_for(std::chrono::milliseconds(300));
    CHECK(g.collect(1).messages == std::vector<std::string>{"still unicast"});
}

// The replacement must name the session's identity: a member's re-keyed session cannot carry
// another member's (newer, validly signed) key package or delivery mode; and the refusal does not
// use up the session's one replacement.
TEST_CASE("review_rejoin: a member cannot replace another identity's join", "[review_rejoin]")
{
    review_fanout_group g(3, 1);
    g.net.run_for(std::chrono::seconds(16));
    REQUIRE(rejoin_handshakes(g, 1, 0) >= 1);
    const auto presence = rejoin_count(g, relay_counter::presence_sent);
    const auto refused = rejoin_count(g, relay_counter::refused);
    rejoin_send(g, 1, rejoin_join_of(g, 3, 1000, multi)); // client 2's identity
    CHECK(rejoin_count(g, relay_counter::refused) == refused + 1);
    CHECK(rejoin_count(g, relay_counter::presence_sent) == presence);
    g.net.run_for(std::chrono::seconds(1));
    CHECK(rejoin_roster_seq(g, 0, 3) == 0);
    for (std::size_t i = 0; i < 4; ++i)
        (void)g.collect(i);
    g.say(0, "client 2 stays unicast");
    g.net.run_for(std::chrono::milliseconds(300));
    CHECK(g.collect(2).messages == std::vector<std::string>{"client 2 stays unicast"});
    rejoin_send(g, 1, rejoin_join_of(g, 2, 1000, uni)); // its own: still once
    CHECK(rejoin_count(g, relay_counter::presence_sent) == presence + 3);
}

// Commit churn: each replacement is announced to every other member, and the committer commits an
// update. That is bounded by one announcement per handshake: the new join repeated, or another
// newer one on the same session, announces nothing; only a re-key (a handshake the relay pays for
// as for a re-registration, which announces a leave and a join) gives another.
TEST_CASE("review_rejoin: one announcement per re-key at most", "[review_rejoin]")
{
    review_fanout_group g(3, 1);
    const auto before = rejoin_count(g, relay_counter::presence_sent);
    rejoin_restart(g, 1, 1000, uni);
    REQUIRE(g.net.client(1).cipher().group().in_group());
    const auto presence = rejoin_count(g, relay_counter::presence_sent);
    CHECK(presence == before + 3);
    std::vector<std::byte> own;
    std::error_code ec;
    g.net.client(1).cipher().seal(g.net.client(1).session(), crypto::message_kind::join, {}, own, ec);
    for (int k = 0; k < 5; ++k)
        rejoin_send(g, 1, own);
    const auto refused = rejoin_count(g, relay_counter::refused);
    rejoin_send(g, 1, rejoin_join_of(g, 2, 1500, uni));
    CHECK(rejoin_count(g, relay_counter::refused) == refused + 1);
    CHECK(rejoin_count(g, relay_counter::presence_sent) == presence);
    const std::size_t mark = g.net.sent.size();
    g.net.run_for(std::chrono::seconds(16));
    REQUIRE(rejoin_handshakes(g, 1, mark) >= 1);
    rejoin_send(g, 1, rejoin_join_of(g, 2, 1500, uni));
    rejoin_send(g, 1, rejoin_join_of(g, 2, 1600, uni));
    CHECK(rejoin_count(g, relay_counter::presence_sent) == presence + 3);
}

// FINDING (fixed): before d541d9c a joined session's other GROUP_JOIN was refused before any
// verification, and bad signatures were capped per session (max_join_failures). A carried join let
// every different GROUP_JOIN through to the Ed25519 verification, and a validly signed one that is
// not newer (a member signs as many as it likes) counted nowhere: one record, one verification,
// unbounded. Now the seq is compared before the signature is checked.
TEST_CASE("review_rejoin: joins that cannot replace the carried one cost no verification",
          "[review_rejoin]")
{
    review_fanout_group g(3, 1);
    rejoin_restart(g, 1, 1000, uni);
    REQUIRE(g.net.client(1).cipher().group().in_group());
    const std::size_t mark = g.net.sent.size();
    g.net.run_for(std::chrono::seconds(16));
    REQUIRE(rejoin_handshakes(g, 1, mark) >= 1);
    std::vector<std::vector<std::byte>> old;
    for (std::uint32_t k = 0; k < 40; ++k)
        old.push_back(rejoin_join_of(g, 2, 960 + k, k % 2 ? uni : multi));
    const auto verifies = rejoin_verifies(g);
    const auto presence = rejoin_count(g, relay_counter::presence_sent);
    for (const auto& j : old)
        rejoin_send(g, 1, j);
    CHECK(rejoin_verifies(g) - verifies <= profile::group::cipher::max_join_failures);
    CHECK(rejoin_count(g, relay_counter::presence_sent) == presence);
}
