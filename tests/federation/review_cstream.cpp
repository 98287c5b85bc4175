// SPDX-License-Identifier: BSL-1.0
// Adversarial review of "commits in a stream of their own" (eb66a1d..86e97cd): TLVCOMMITS_<group>
// (no max_age, DiscardNew, order_full), the Tlvcast-Messages-Before hint, the first connection's
// retries. The attacker is a NATS client without the federation key that may publish on
// tlvcast.*.<group>. Relays are bridges over an ordered memory_hub (order_sites.hpp), which models the
// two streams (its limits remove no commit; max_commits refuses the next one).
#include "order_sites.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::federation;
using namespace review_order;

// ---------------------------------------------------------------------------------------------------
// Finding (medium-high: permanent loss of the order's liveness; no key, ONE message). The commit
// stream now removes nothing, junk included, and a link's order_was_empty() is "the commit subject
// holds no message" (nats_link: stored_last_seq(TLVCOMMITS_<group>, tlvcast.c.<group>) == 0;
// memory_link: last_ordered_stored() == 0). One junk message a keyless publisher stores on
// tlvcast.c.<group> before the group's founding commit therefore makes order_was_empty() false, for
// good, at every relay that starts after it: such a relay is not in step (it applied no commit of the
// order, and the order "was not empty"), its members' commits are counted conflicts and never
// offered. Unless a relay that started BEFORE the junk is still running (it stays in step and founds
// the group, review_order4.cpp), nobody ever founds the group: relays that all restart (upgrade,
// reboot) after the junk and before the group was founded, or after the operator's purge that
// FEDERATION.md gives as the way out of a frozen or full commit stream (the junk stored between the
// purge and the restarts). The stream must exist for the junk to be stored: any relay that ever
// started made it (ensure_stream), and it outlives them. Before eb66a1d the junk aged out after max_age (10 minutes) and the group was founded then;
// now it lasts until an operator purges TLVCOMMITS_<group>. FEDERATION.md names the 64 MiB fill
// (order_full) and "every relay restarted after the group's first commit", not this: one junk message,
// no commit ever, is enough. Deterministic: the founding commit is refused before the store.
// Proposed fix: "the order was empty" must mean "it holds no authentic commit": at start read the
// commit stream (commits only: small) and authenticate what it holds (the first step of catch-up),
// or at least take junk-only history for empty; and NATS permissions on tlvcast.c.<group> (relays
// alone publish there), as FEDERATION.md advises for the fill.
TEST_CASE("review cstream: finding: one junk message on the commit subject before any relay started keeps the "
          "group from ever being founded",
          "[federation][order][review][!shouldfail]")
{
    memory_hub hub(true);
    {
        memory_link attacker(hub); // keyless: any NATS client with publish rights on tlvcast.c.<group>
        REQUIRE(attacker.publish_ordered(junk(), 0)); // seq 1: stored in the commit stream
    }
    hub.expire(1'000); // max_age passes: the messages' limits remove nothing of the commits
    REQUIRE(hub.last_ordered_stored() == 1); // the junk stays for good
    site a(hub, 1), b(hub, 2); // the federation's relays start (first deployment, or all restart)
    commit_rounds(a, b, {&a, &b});
    // What holds once fixed: no authentic commit was ever stored, the order is empty, the founding
    // commit is stored and applied everywhere. Today: 6 conflicts, nothing ever offered.
    CHECK(a.count(federation_counter::conflicts) + b.count(federation_counter::conflicts) < 6);
    CHECK(a.engine().epoch >= 1);
    CHECK(b.engine().applied == a.engine().applied);
}

// Held (documented: FEDERATION.md "Anyone with publish rights ... can fill the commit stream"): junk
// that fills the commit stream makes it refuse every commit, counted order_full at the committing
// relay, nothing applied anywhere, no relay out of step; the operator's purge (every junk message
// removed) lets the next commit through (its link offers it again expecting none, as after a delete),
// applied everywhere alike, and the order goes on.
TEST_CASE("review cstream: a commit stream filled with junk refuses commits (order_full) until a purge; then the "
          "order goes on everywhere alike",
          "[federation][order][review]")
{
    memory_hub hub(true, false, memory_hub::default_max_stored, 3); // room for 3 commits
    site a(hub, 1), b(hub, 2);
    memory_link attacker(hub);
    for (std::uint64_t i = 0; i < 3; ++i)
        REQUIRE(attacker.publish_ordered(junk(), hub.last_ordered_stored())); // seq 1..3
    REQUIRE(hub.commits_full());
    run_all({&a, &b}); // every relay drops the junk alike, its expectation moves past it
    a.engine().commit(1);
    run_all({&a, &b});
    b.engine().commit(2);
    run_all({&a, &b});
    CHECK(a.count(federation_counter::order_full) == 1);
    CHECK(b.count(federation_counter::order_full) == 1);
    CHECK(a.engine().epoch == 0);
    CHECK(b.engine().epoch == 0);
    CHECK_FALSE(attacker.publish_ordered(junk(), hub.last_ordered_stored())); // junk is refused too
    for (std::uint64_t seq = 1; seq <= 3; ++seq)
        REQUIRE(hub.remove(seq)); // nats stream purge TLVCOMMITS_<group>
    REQUIRE_FALSE(hub.commits_full());
    a.engine().commit(1);
    run_all({&a, &b});
    CHECK(a.engine().epoch == 1);
    CHECK(b.engine().applied == a.engine().applied);
    b.engine().commit(2);
    run_all({&a, &b});
    CHECK(a.engine().epoch == 2);
    CHECK(b.engine().applied == a.engine().applied);
    CHECK(a.count(federation_counter::late_conflicts) + b.count(federation_counter::late_conflicts) == 0);
}

// ---------------------------------------------------------------------------------------------------
// Finding (medium: a fork of the membership; the attacker's fill plus the documented remedy). The
// remedy FEDERATION.md and CLI.md give for a full commit stream (order_full: 64 MiB of a keyless
// publisher's junk) is `nats stream purge TLVCOMMITS_<group>`. A purge while relays keep the group's
// state brings back review_order3's fork, which the commit stream was to close: a relay that starts
// (restarts: a crash, an upgrade) after the purge finds the commit stream empty, takes the order for
// empty (order_was_empty() KNOWN true, not the "unknown" window FEDERATION.md names) and is in step
// with no state; its member's founding commit, expecting none, is stored; every relay that kept the
// state drops it as stale (late_conflicts) and the restarted relay alone applies it: its members are
// in another group, and the next commit of the others is refused there. Deterministic.
// Proposed fix: a purge is a re-founding of the whole group, so either a relay that kept state must
// see it (the commit stream's first sequence past what it read with no commit held: drop the group's
// state, as a restarted relay has none), or "the order was empty" must mean the stream never held a
// commit (JetStream keeps its last sequence through a purge: LastSeq 0), with the operator told to
// restart every relay after a purge (CLI.md/FEDERATION.md say neither today).
TEST_CASE("review cstream: finding: after the purge that empties a full commit stream, a relay that restarts "
          "founds a group of its own (fork)",
          "[federation][order][review][!shouldfail]")
{
    memory_hub hub(true, false, memory_hub::default_max_stored, 3); // room for 3 commits
    site a(hub, 1), b(hub, 2);
    a.engine().commit(1); // seq 1
    run_all({&a, &b});
    b.engine().commit(2); // seq 2
    run_all({&a, &b});
    REQUIRE(a.engine().epoch == 2);
    REQUIRE(b.engine().applied == a.engine().applied);
    memory_link attacker(hub);
    REQUIRE(attacker.publish_ordered(junk(), hub.last_ordered_stored())); // seq 3: the stream is full
    REQUIRE(hub.commits_full());
    run_all({&a, &b});
    a.engine().commit(1);
    run_all({&a, &b});
    REQUIRE(a.count(federation_counter::order_full) == 1);
    for (std::uint64_t seq = 1; seq <= 3; ++seq)
        REQUIRE(hub.remove(seq)); // the documented remedy: nats stream purge TLVCOMMITS_<group>
    site c(hub, 3); // a relay (re)starts after the purge: no state of the group
    REQUIRE(c.inner.order_was_empty() == std::optional<bool>(true));
    c.engine().commit(3); // its member founds on its empty state
    run_all({&a, &b, &c});
    a.engine().commit(1); // the group goes on at a and b
    run_all({&a, &b, &c});
    REQUIRE(a.engine().epoch == 3);
    REQUIRE(b.engine().applied == a.engine().applied);
    // What holds once fixed: c applies no commit that a and b dropped (c is not in step, or a and b
    // follow the re-founding). Today: c applied its founding commit alone, a and b dropped it stale.
    const auto kept_by_a = [&](const std::vector<std::byte>& commit) {
        return std::find(a.engine().applied.begin(), a.engine().applied.end(), commit) != a.engine().applied.end();
    };
    CHECK(std::all_of(c.engine().applied.begin(), c.engine().applied.end(), kept_by_a));
    CHECK(a.count(federation_counter::late_conflicts) + b.count(federation_counter::late_conflicts) == 0);
}
