// SPDX-License-Identifier: BSL-1.0
// profile/group/member.hpp: epochs, joining, leaving, messages, and what a member refuses.
#include "profile/group/group_net.hpp"

#include <catch2/catch.hpp>

using namespace tlvcast;
using namespace tlvcast::test::group;

namespace {

group_net three(std::initializer_list<std::uint32_t> roster = {1, 2, 3})
{
    group_net g;
    for (std::uint32_t id = 1; id <= 3; ++id)
        g.add(id, roster_options(roster), 100 + id);
    for (std::size_t i = 0; i < 3; ++i)
        g.join(i);
    return g;
}

} // namespace

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
