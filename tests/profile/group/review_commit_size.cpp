// SPDX-License-Identifier: BSL-1.0
// Security review: a commit too large for one blob.
// The designated committer puts every pending addition into one commit. A commit carries 48 bytes
// per member of the new roster plus 133 (197 with a certificate) per addition, and must fit one
// blob (65,535 bytes): from about 360 additions at once (about 266 with certificates) it does not.
// commit() then returned without a pending commit and kept every proposal, so each later presence
// or applied commit built (N X25519 agreements, a signature) and dropped the same oversized commit
// again, and nobody was ever added again. Many joiners at once (a group's start, a relay restart,
// or a relay under admission::open announcing ghosts) reach it.
#include "profile/group/group_net.hpp"

#include <catch2/catch.hpp>

using namespace tlvcast;
using namespace tlvcast::test::group;

TEST_CASE("group review: 400 joiners at once still end in one group", "[profile][group][review][state]")
{
    group_net g;
    options open;
    open.policy = admission::open;
    constexpr std::size_t n = 401;
    for (std::uint32_t id = 1; id <= n; ++id)
        g.add(id, open, 3000 + id);
    g.join(0);
    g.join_all(1, n);
    for (int i = 0; i < 4; ++i)
        g.tick(std::chrono::seconds(1));
    REQUIRE(g.nodes[0]->m->in_group());
    CHECK(g.nodes[0]->m->current()->roster.size() == n);
    CHECK(g.agree());
}
