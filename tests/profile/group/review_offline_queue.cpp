// SPDX-License-Identifier: BSL-1.0
// Security review: what a member queues for the relay while its hop is down.
// The client engine drains member::poll_output only while the hop is established; member::on_timer
// queued the pending commit, its welcome pages and a GROUP_SYNC again every options::retry
// regardless. An on-path attacker that blocks the relay's answers (or a relay that is away) made a
// committer's queue grow without bound: for a 1,000-member group, ~116 KB every 500 ms.
#include "profile/group/group_net.hpp"

#include <catch2/catch.hpp>

using namespace tlvcast;
using namespace tlvcast::test::group;

TEST_CASE("group review: a member's queue for the relay stays bounded while nothing is sent",
          "[profile][group][review][memory]")
{
    group_net g = three();
    member_t& m = *g.nodes[1]->m;
    m.update(g.now); // a pending commit
    // ... and the hop goes down: nothing is polled from here on.
    time_point t = g.now;
    for (int i = 0; i < 2000; ++i) { // ~17 minutes of retries
        t += std::chrono::milliseconds(500);
        m.on_timer(t);
    }
    std::size_t queued = 0, bytes = 0;
    std::vector<std::byte> blob;
    while (m.poll_output(blob)) {
        ++queued;
        bytes += blob.size();
    }
    INFO("queued " << queued << " blobs, " << bytes << " bytes");
    CHECK(queued <= 4); // one copy of the commit (and pages) and one GROUP_SYNC is all that helps
}

TEST_CASE("group review (pin): after the hop comes back the queued commit still goes out and is applied",
          "[profile][group][review][memory]")
{
    group_net g = three();
    member_t& m = *g.nodes[1]->m;
    const auto e = m.current()->epoch;
    m.update(g.now);
    time_point t = g.now;
    for (int i = 0; i < 50; ++i) {
        t += std::chrono::milliseconds(500);
        m.on_timer(t);
    }
    g.now = t;
    g.pump(); // the hop is up again: the queue drains to the relay
    CHECK(m.current()->epoch == e + 1);
    CHECK(g.agree());
    g.tick(std::chrono::seconds(1));
    g.send(1, "back");
    CHECK(g.nodes[0]->inbox.back().text == "back");
}
