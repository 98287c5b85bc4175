// SPDX-License-Identifier: BSL-1.0
// Catch-up (docs/FEDERATION.md): a relay whose link reads the order from its first commit rebuilds
// the group's state from the history, and is in step with the order without having seen it live.
// The findings that a late or restarted relay left open (review_order.cpp, review_order4.cpp,
// review_cstream.cpp) are played again here with catch-up on.
#include "order_sites.hpp"

#include <chrono>
#include <thread>

namespace {
namespace catch_up_tests { // a name of its own: the file may share a unity translation unit

using namespace review_order;

constexpr bool catch_up = true;

TEST_CASE("catch-up: a relay that starts after the group's commits replays them and commits in step",
          "[federation][order][catch_up]")
{
    memory_hub hub(true);
    site a(hub, 1), b(hub, 2);
    commit_rounds(a, b, {&a, &b}); // epochs 1..6
    REQUIRE(a.engine().epoch == 6);
    site c(hub, 3, memory_link::default_max_entries, catch_up);
    c.relay.run();
    CHECK(c.engine().applied == a.engine().applied); // the history, in the order's order
    CHECK(c.engine().history == 6);
    CHECK(c.count(federation_counter::caught_up) == 6);
    CHECK(c.count(federation_counter::refused) == 0);
    c.engine().commit(3); // in step: stored, applied everywhere
    run_all({&a, &b, &c});
    CHECK(c.count(federation_counter::conflicts) == 0);
    CHECK(a.engine().epoch == 7);
    CHECK(b.engine().applied == a.engine().applied);
    CHECK(c.engine().applied == a.engine().applied);
    CHECK(c.engine().history == 6); // what came after its start is live
}

TEST_CASE("catch-up: without it, the same late relay stays out of step (the case is real)",
          "[federation][order][catch_up]")
{
    memory_hub hub(true);
    site a(hub, 1), b(hub, 2);
    commit_rounds(a, b, {&a, &b});
    site c(hub, 3);
    c.relay.run();
    c.engine().commit(3);
    run_all({&a, &b, &c});
    CHECK(c.engine().epoch == 0);
    CHECK(c.count(federation_counter::conflicts) == 1);
    CHECK(a.engine().epoch == 6);
}

TEST_CASE("catch-up: after every relay restarted, the membership goes on (review_order4's frozen group)",
          "[federation][order][catch_up]")
{
    memory_hub hub(true);
    {
        site a(hub, 1), b(hub, 2);
        a.engine().commit(1); // seq 1
        run_all({&a, &b});
        REQUIRE(b.engine().epoch == 1);
    }
    hub.expire(1); // max_age: 10 minutes later; the commit stays
    // New processes, new relay ids (a relay's id is random per process: its counter starts again).
    site a(hub, 3, memory_link::default_max_entries, catch_up), b(hub, 4, memory_link::default_max_entries, catch_up);
    run_all({&a, &b});
    REQUIRE(a.engine().epoch == 1);
    commit_rounds(a, b, {&a, &b});
    CHECK(a.engine().epoch == 7);
    CHECK(b.engine().applied == a.engine().applied);
    CHECK(a.count(federation_counter::conflicts) + b.count(federation_counter::conflicts) == 0);
}

TEST_CASE("catch-up: a relay that starts between a racy store's two commits drops the second as the others do",
          "[federation][order][catch_up]")
{
    memory_hub hub(true, true);
    site a(hub, 1), b(hub, 2);
    a.engine().commit(1); // seq 1
    site c(hub, 3, memory_link::default_max_entries, catch_up); // starts here: seq 1 is its history
    b.engine().commit(2); // seq 2, stale: expected 0
    for (site* s : {&a, &b, &c})
        s->relay.run();
    REQUIRE(a.engine().applied == b.engine().applied);
    CHECK(c.engine().applied == a.engine().applied);
    CHECK(c.count(federation_counter::late_conflicts) == 1);
}

TEST_CASE("catch-up: junk on the commit subject before any relay started does not keep the group from being founded",
          "[federation][order][catch_up]")
{
    memory_hub hub(true);
    {
        memory_link attacker(hub); // keyless
        REQUIRE(attacker.publish_ordered(junk(), 0)); // seq 1, in the commit stream for good
    }
    site a(hub, 1, memory_link::default_max_entries, catch_up), b(hub, 2, memory_link::default_max_entries, catch_up);
    run_all({&a, &b});
    CHECK(a.count(federation_counter::malformed) == 1); // the history's junk, dropped alike
    commit_rounds(a, b, {&a, &b});
    CHECK(a.engine().epoch == 6);
    CHECK(b.engine().applied == a.engine().applied);
    CHECK(a.count(federation_counter::conflicts) + b.count(federation_counter::conflicts) == 0);
}

TEST_CASE("catch-up: a history the inbound queue cannot hold leaves the relay out of step, never forked",
          "[federation][order][catch_up]")
{
    memory_hub hub(true);
    site a(hub, 1), b(hub, 2);
    commit_rounds(a, b, {&a, &b}); // 6 commits
    site c(hub, 3, 4, catch_up);  // room for 4 receptions: 2 of the history are dropped
    c.relay.run();
    CHECK(c.count(federation_counter::inbound_full) == 2);
    CHECK(c.engine().epoch == 4);
    c.engine().commit(3); // refused before the order: its state lacks the last two commits
    run_all({&a, &b, &c});
    CHECK(c.count(federation_counter::conflicts) == 1);
    CHECK(a.engine().epoch == 6);
    // The next commit of the order is one it cannot apply (the chain): it stays out, counted.
    a.engine().commit(1);
    run_all({&a, &b, &c});
    CHECK(a.engine().epoch == 7);
    CHECK(c.engine().epoch == 4);
    CHECK(c.count(federation_counter::refused) == 1);
}

TEST_CASE("catch-up: a history replayed by a keyless publisher's copy is a replay; a forged one is unauthenticated",
          "[federation][order][catch_up]")
{
    memory_hub hub(true);
    site a(hub, 1), b(hub, 2);
    a.engine().commit(1); // seq 1
    run_all({&a, &b});
    {
        memory_link attacker(hub);
        // A copy of a's commit stored again after it (a NATS publisher reads the commit subject),
        // and a tampered one.
        std::vector<std::byte> copy = a.link.offered.at(0);
        REQUIRE(attacker.publish_ordered(copy, 1)); // seq 2
        copy[copy.size() - 1] ^= std::byte{1};
        REQUIRE(attacker.publish_ordered(copy, 2)); // seq 3
    }
    site c(hub, 3, memory_link::default_max_entries, catch_up);
    c.relay.run();
    CHECK(c.engine().applied == a.engine().applied);
    CHECK(c.count(federation_counter::replayed) + c.count(federation_counter::late_conflicts) == 1);
    CHECK(c.count(federation_counter::unauthenticated) == 1);
    c.engine().commit(3); // in step past the junk, as a and b are
    run_all({&a, &b, &c});
    CHECK(a.engine().epoch == 2);
    CHECK(c.engine().applied == a.engine().applied);
}

TEST_CASE("catch-up: for `settle` after its start a relay offers no commit while the order is not known empty",
          "[federation][order][catch_up]")
{
    memory_hub hub(true);
    site a(hub, 1);
    a.engine().commit(1); // seq 1
    a.relay.run();
    bridge_options opt;
    opt.settle = std::chrono::milliseconds(300);
    site c(hub, 3, memory_link::default_max_entries, catch_up, opt);
    c.relay.run();
    REQUIRE(c.engine().epoch == 1);
    c.engine().commit(3); // too early: counted as a conflict, not offered
    run_all({&a, &c});
    CHECK(c.count(federation_counter::conflicts) == 1);
    CHECK(c.link.offered.empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(350));
    c.engine().commit(3);
    run_all({&a, &c});
    CHECK(c.link.offered.size() == 1);
    CHECK(a.engine().epoch == 2);
    CHECK(c.engine().applied == a.engine().applied);
    // An empty order has nothing to settle: a first relay founds at once.
    memory_hub empty(true);
    site d(empty, 4, memory_link::default_max_entries, catch_up, opt);
    d.engine().commit(4);
    d.relay.run();
    CHECK(d.count(federation_counter::conflicts) == 0);
    CHECK(d.engine().epoch == 1);
}

} // namespace catch_up_tests
} // namespace
