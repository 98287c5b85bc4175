// SPDX-License-Identifier: BSL-1.0
// Catch-up (docs/FEDERATION.md): a site's relay restarts while the group lives on at the other site.
// With catch-up (its link replays the order's commits; its bridge asks the other relays who lives
// there) the restarted relay knows the group again, its members come back into it, and messages
// cross both ways; without it they stay out, the case the test shows first.
#include "fed_sites.hpp"

#include <string>
#include <vector>

namespace {
namespace fed_catch_up { // a name of its own: the file may share a unity translation unit

using namespace tlvcast;
namespace tf = tlvcast::federation;
using fed = tlvcast::test::fed_sites::federation;

tf::bridge_options asking()
{
    tf::bridge_options o;
    o.ask_presence = true;
    return o;
}

// How many `text` messages each member of each site got.
std::vector<std::size_t> deliveries(fed& f, const std::string& text, std::size_t each)
{
    std::vector<std::size_t> got;
    for (auto& s : f.sites)
        for (std::size_t i = 0; i < each; ++i) {
            std::size_t n = 0;
            for (const auto& e : s->net->events(i))
                if (e.what == core::client_event::kind::message && e.text == text)
                    ++n;
            got.push_back(n);
        }
    return got;
}

void send(fed& f, std::size_t site, std::size_t member, const std::string& text)
{
    std::error_code ec;
    f.sites[site]->net->send(member, std::as_bytes(std::span(text)), ec);
    REQUIRE_FALSE(ec);
    f.run(std::chrono::milliseconds(500));
}

} // namespace fed_catch_up
} // namespace

TEST_CASE("federation catch-up: a restarted relay without catch-up leaves its members out of the group",
          "[profile][group][federation][catch_up]")
{
    using namespace fed_catch_up;
    fed f(true, 2);
    f.form(2);
    f.require_one_group(2, 4);
    f.sites[1]->restart(f.hub, 9, false);
    f.run(std::chrono::seconds(25));
    const auto& member = f.sites[1]->member(0);
    const bool back = member.in_group() && member.current()->hash == f.sites[0]->member(0).current()->hash;
    CHECK_FALSE(back);
}

TEST_CASE("federation catch-up: a restarted relay replays the order, learns who lives elsewhere, and its members "
          "are back in the one group", "[profile][group][federation][catch_up]")
{
    using namespace fed_catch_up;
    fed f(true, 2);
    f.form(2);
    f.require_one_group(2, 4);
    const auto epoch = f.sites[0]->member(0).current()->epoch;
    f.sites[1]->restart(f.hub, 9, true, asking());
    // The history is applied at once (before any member came back), and the others' presence came.
    const auto& relay = f.sites[1]->net->relay().cipher();
    CHECK(f.sites[1]->count(tf::federation_counter::caught_up) == epoch);
    CHECK(f.sites[1]->count(tf::federation_counter::refused) == 0);
    f.run(std::chrono::milliseconds(50));
    CHECK(f.sites[0]->count(tf::federation_counter::presence_asked) == 1);
    CHECK(f.sites[0]->count(tf::federation_counter::presence_answers) == 2);
    CHECK(relay.remote_stamp() >= 2); // site 0's two members, as present
    // Its members notice at their next probe, register again and are back in the group.
    f.run(std::chrono::seconds(25));
    f.require_one_group(2, 4);
    CHECK(f.total(tf::federation_counter::unauthenticated) == 0);
    // Messages cross both ways, once each.
    send(f, 1, 0, "from the restarted site");
    CHECK(deliveries(f, "from the restarted site", 2) == std::vector<std::size_t>{1, 1, 0, 1});
    send(f, 0, 1, "to the restarted site");
    CHECK(deliveries(f, "to the restarted site", 2) == std::vector<std::size_t>{1, 0, 1, 1});
    // And a member of the restarted site commits in step: applied everywhere.
    const auto before = f.sites[0]->member(0).current()->epoch;
    f.sites[1]->net->client(1).cipher().update(f.sites[1]->net->now());
    f.run(std::chrono::seconds(3));
    f.require_one_group(2, 4);
    CHECK(f.sites[0]->member(0).current()->epoch == before + 1);
}

TEST_CASE("federation catch-up: a joiner at a relay that caught up a dead group founds a new one, after the settle",
          "[profile][group][federation][catch_up]")
{
    using namespace fed_catch_up;
    fed f(true, 1);
    f.sites[0]->net->start(0); // founds a group of 1
    f.run(std::chrono::seconds(1));
    REQUIRE(f.sites[0]->member(0).in_group());
    // Its process goes (silently: no departure), and its relay restarts with catch-up; a new
    // member (another identity) comes while the relay settles.
    f.sites[0]->net->replace_client(0, tlvcast::profile::group::cipher(test::identity(77), tlvcast::test::fed_sites::open_group()));
    tf::bridge_options opt = asking();
    opt.settle = std::chrono::milliseconds(300);
    f.sites[0]->restart(f.hub, 9, true, opt);
    REQUIRE(f.sites[0]->count(tf::federation_counter::caught_up) == 1);
    f.sites[0]->net->start(0);
    // Its founding conflicts while the relay settles (real time); it must not take the dead group's
    // last commit, which GROUP_SYNC would show it, for a group to wait for.
    const auto start = std::chrono::steady_clock::now();
    while (!f.sites[0]->member(0).in_group() && std::chrono::steady_clock::now() - start < std::chrono::seconds(3))
        f.run(std::chrono::milliseconds(100));
    REQUIRE(f.sites[0]->member(0).in_group());
    CHECK(f.sites[0]->member(0).current()->epoch == 1);
    CHECK(f.sites[0]->member(0).current()->roster.size() == 1);
    CHECK(f.sites[0]->count(tf::federation_counter::conflicts) >= 1);
}
