// SPDX-License-Identifier: BSL-1.0
// Third adversarial review of the federation's order of commits: the reader that counts the stream
// sequences it never received (reception::gap, order_guard::missed, 09dc549) and the in-step rule
// (bridge::in_step, ordering_link::order_was_empty, cdfa80d). The attacker is a NATS publisher
// without the federation key (it may publish on and read tlvcast.*.<group>), plus unlucky timing,
// slow relays and restarts. Relays are bridges over an ordered memory_hub (order_sites.hpp); what
// needs a real nats-server is in review_order3_nats.cpp.
#include "order_sites.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::federation;
using namespace review_order;


// ---------------------------------------------------------------------------------------------------
// Fixed by commits in a store of their own that removes none (nats_link: the commit stream
// TLVCOMMITS_<group>, no max_age, DiscardNew; memory_hub: commits are never removed by its limits):
// junk and age remove no commit, so the order is empty only if it never held one (or an operator
// purged it: review_order4.cpp). What it was:
// Finding 1 (high: a fork, no key needed, and none at all with max_age). order_was_empty() asks the
// store whether it holds a commit *now* (memory_hub::last_ordered_stored(), nats_link: js_GetLastMsg
// on the commit subject), not whether the order ever held one. Once the group's commits left the
// store (10 minutes without a commit: max_age; or 256 MiB of junk on the group subject: max_bytes,
// which any NATS publisher can store), a relay that starts or restarts takes the order for empty and
// itself for in step (bridge::in_step()), with an empty state. Its member founds a group, expecting
// no commit: the store holds none, so it is stored. Every other relay drops it as stale (its
// order_guard saw the old commit); the new relay's guard saw nothing and applies it: its state
// follows another group than every other relay's (the fork the in-step rule was made to prevent).
// From then on whichever side's next commit the store takes knocks the other side out of step.
// Open. The proposed fix (empty only when the store also never removed a message) was made and taken
// back: a stream removes messages in normal use (10 minutes, max_age), and with it every relay that
// started afterwards was out of step, so that once every relay had restarted none could ever commit
// again (review_order4.cpp). Without it the group re-founds once its commits aged out, and a relay
// that restarts while others still hold the old state forks as here. The fix for both: catch-up
// ("What is next" 1), or commits in a stream of their own with no max_age and DiscardNew.
TEST_CASE("review order3: junk does not push the order's commits out of the store; a relay that starts after it "
          "is not in step and forks nothing", "[federation][order][review]")
{
    memory_hub hub(true, false, 4); // keeps 4 messages, as a stream's max_bytes keeps so many
    memory_link attacker(hub);
    site a(hub, 1), b(hub, 2);
    a.engine().commit(1); // seq 1
    run_all({&a, &b});
    REQUIRE(b.engine().epoch == 1);
    for (int i = 0; i < 4; ++i)
        attacker.publish(junk()); // seq 2..5 on the group subject: junk leaves the store, not the commit
    run_all({&a, &b});
    REQUIRE(hub.last_ordered_stored() == 1);
    site c(hub, 3); // (re)starts now
    c.engine().commit(3); // founds on its empty state, expecting no commit: the store holds none
    run_all({&a, &b, &c});
    // What holds once fixed: c is not in step (the order was not empty), its commit refused before
    // the store, nothing stale stored, nothing applied at c that the others do not apply.
    CHECK(c.count(federation_counter::conflicts) == 1);
    CHECK(a.count(federation_counter::late_conflicts) == 0);
    CHECK(c.engine().epoch == 0);
}

// The same without any attacker: the stream's age limit (10 minutes without a commit) removed the
// last commit, and a relay restarted. Same fix: the age limit removes no commit.
TEST_CASE("review order3: a relay that restarts after the group was idle for the age limit forks nothing",
          "[federation][order][review]")
{
    memory_hub hub(true);
    site a(hub, 1), b(hub, 2);
    a.engine().commit(1); // seq 1
    run_all({&a, &b});
    hub.expire(1); // max_age: the group was idle (no message to remove; the commit stays)
    REQUIRE(hub.last_ordered_stored() == 1);
    site c(hub, 3);
    c.engine().commit(3); // stored, expecting no commit
    run_all({&a, &b, &c});
    CHECK(c.count(federation_counter::conflicts) == 1);
    CHECK(c.engine().applied.empty());
    // The others go on, and c never applies what they drop.
    commit_rounds(a, b, {&a, &b, &c});
    CHECK(a.engine().epoch == 7);
    CHECK(b.engine().applied == a.engine().applied);
    CHECK(a.count(federation_counter::late_conflicts) == 0);
}

// ---------------------------------------------------------------------------------------------------
// Fixed by commits in a store of their own that removes none (nats_link: the commit stream
// TLVCOMMITS_<group>, no max_age, DiscardNew; memory_hub: commits are never removed by its limits):
// a gap in the group's messages says nothing about the order (no order_guard::missed(), no
// reception::gap), and the order itself has no gap unless an operator deletes a commit (then the
// relay stays out of step until catch-up: review_order2.cpp). What it was:
// Finding 2 (medium-high: permanent liveness loss, no key needed). A gap never heals. After missing
// any sequence, a relay's order_guard takes the last missed one for a commit (order_guard::missed),
// so the next commit of the order, which continues the last commit every relay saw (before the gap),
// is stale there and dropped, while every other relay applies it. The relay's state then lacks it,
// and refuses every later commit: "out of step until it applies a commit of the order again"
// (FEDERATION.md) is in fact out of step for good, whatever the gap held. A gap made only of junk
// on the group subject is enough: a publisher without the key stores 256 MiB of it (max_bytes)
// while a relay is held back (its strand busy, its queue full, or its NATS connection down for the
// seconds a reconnection takes), and honest traffic of that size over a reconnection does it too.
// Proposed fix: tell what a gap held on the commit subject apart from the rest: commits in a stream
// (or at least a sequence space) of their own, so that a loss on the group subject says nothing
// about the order (no missed(), no gap); on the commit subject, DiscardNew and no max_age so that
// nothing ordered is ever removed. Otherwise catch-up ("What is next" 1).
TEST_CASE("review order3: a relay that missed only junk on the group subject applies the next commit and stays "
          "in step", "[federation][order][review]")
{
    memory_hub hub(true, false, 8);
    memory_link attacker(hub);
    site a(hub, 1), b(hub, 2), slow(hub, 3, 2); // slow holds 2 receptions; its strand is busy
    a.engine().commit(1); // seq 1: everyone applies it
    run_all({&a, &b, &slow});
    REQUIRE(slow.engine().epoch == 1);
    for (int i = 0; i < 11; ++i)
        attacker.publish(junk()); // seq 2..12: 2, 3 fill slow's queue; 4 leaves the store unread there
    run_all({&a, &b, &slow});
    REQUIRE(slow.count(federation_counter::missed) == 1); // junk, on the group subject
    REQUIRE(a.count(federation_counter::missed) == 0);
    a.engine().commit(1); // epoch 2, continues seq 1, the last commit every relay applied
    run_all({&a, &b, &slow});
    REQUIRE(a.engine().epoch == 2);
    CHECK(slow.engine().applied == a.engine().applied); // today: stale at slow only (late_conflicts)
    slow.engine().commit(3);
    run_all({&a, &b, &slow});
    CHECK(slow.count(federation_counter::conflicts) == 0); // today: out of step for good
    CHECK(slow.engine().epoch == 3);
}

// Finding 2 on the relay's own commit: a relay whose strand has not yet taken a gap of junk offers a
// commit (in step as far as it knows). The store holds no commit any more, so it is stored (the
// retry expecting none). Every other relay applies it (nothing ordered came after the commit it
// continues); its own relay drops it as stale (the missed sequence taken for a commit): the site
// that committed is the one that never applies its member's commit, and is out of step for good.
TEST_CASE("review order3: a relay's own commit after a gap of junk is applied everywhere, there too",
          "[federation][order][review]")
{
    memory_hub hub(true, false, 8);
    memory_link attacker(hub);
    site a(hub, 1), b(hub, 2), slow(hub, 3, 2);
    a.engine().commit(1); // seq 1
    run_all({&a, &b, &slow});
    REQUIRE(slow.engine().epoch == 1);
    for (int i = 0; i < 11; ++i)
        attacker.publish(junk()); // seq 2..12: junk leaves the store (seq 4 unread at slow), not the commit
    run_all({&a, &b});
    slow.engine().commit(3); // stored at seq 13, expecting seq 1
    REQUIRE(slow.count(federation_counter::published) == 1);
    run_all({&a, &b, &slow});
    REQUIRE(a.engine().epoch == 2); // a and b applied slow's commit
    CHECK(slow.count(federation_counter::late_conflicts) == 0); // today: 1, its own commit dropped there only
    CHECK(slow.engine().applied == a.engine().applied);
}

// Finding 2's denial of service on every relay at once: each one misses some junk, none is in step,
// none offers a commit, and none ever will (a commit to put one back in step can only come from a
// relay in step). The group's membership is frozen: no join, removal or key update, until the
// relays restart after the commits left the stream (and then finding 1 forks it).
TEST_CASE("review order3: junk that every relay misses leaves the group's membership going",
          "[federation][order][review]")
{
    memory_hub hub(true, false, 8);
    memory_link attacker(hub);
    site a(hub, 1, 2), b(hub, 2, 2); // both held back (their strands busy)
    a.engine().commit(1);
    run_all({&a, &b});
    REQUIRE(b.engine().epoch == 1);
    for (int i = 0; i < 11; ++i)
        attacker.publish(junk());
    run_all({&a, &b});
    REQUIRE(a.count(federation_counter::missed) >= 1);
    REQUIRE(b.count(federation_counter::missed) >= 1);
    commit_rounds(a, b, {&a, &b});
    CHECK(a.engine().epoch == 7); // today: 1, every commit refused before the order
    CHECK(b.engine().applied == a.engine().applied);
}

// ---------------------------------------------------------------------------------------------------
// Checked and safe.

// A slow relay whose member commits before its strand saw the gap (it still believes itself in
// step, and the store holds no commit any more, so the commit is stored expecting none): every
// relay, the slow one included, drops it as stale (the slow one's guard took the missed sequence
// for a commit): no fork, and the others go on.
TEST_CASE("review order3: a commit offered before its relay saw its gap is stored but dropped everywhere alike",
          "[federation][order][review]")
{
    memory_hub hub(true, false, 8);
    memory_link attacker(hub);
    site a(hub, 1), b(hub, 2), slow(hub, 3, 2);
    for (int i = 0; i < 3; ++i)
        attacker.publish(junk()); // seq 1, 2 fill slow's queue; 3 waits in the store
    run_all({&a, &b});
    a.engine().commit(1); // seq 4: a and b apply it
    run_all({&a, &b});
    REQUIRE(b.engine().epoch == 1);
    for (int i = 0; i < 8; ++i)
        attacker.publish(junk()); // seq 5..12: junk leaves the store (seq 3 unread at slow)
    REQUIRE(hub.remove(4)); // an operator deletes the commit, unread at slow (limits remove none)
    REQUIRE(hub.last_ordered_stored() == 0);
    slow.engine().commit(3); // in step as far as it knows: stored at seq 13, expecting none
    CHECK(slow.count(federation_counter::published) == 1);
    run_all({&a, &b, &slow});
    CHECK(slow.count(federation_counter::missed) == 2); // seq 3 (junk) and 4 (the commit)
    for (site* s : {&a, &b, &slow})
        CHECK(s->count(federation_counter::late_conflicts) == 1);
    CHECK(slow.engine().epoch == 0);
    CHECK(a.engine().applied == b.engine().applied);
    b.engine().commit(2); // expects seq 13, the store's last commit
    run_all({&a, &b, &slow});
    CHECK(a.engine().epoch == 2);
    CHECK(b.engine().applied == a.engine().applied);
    CHECK(slow.engine().epoch == 0);
}

// The gap flag survives the queue's tag with every other flag and the largest sequence it holds.
TEST_CASE("review order3: a reception's tag keeps its sequence and every flag, gap and history included",
          "[federation][order][review]")
{
    for (const std::uint64_t seq : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{12345}, (std::uint64_t{1} << 60) - 1})
        for (int flags = 0; flags < 16; ++flags) {
            const reception r{seq, (flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0, (flags & 8) != 0};
            const reception back = federation::detail::reception_of(federation::detail::tag_of(r));
            CHECK(back.seq == r.seq);
            CHECK(back.ordered == r.ordered);
            CHECK(back.stale == r.stale);
            CHECK(back.gap == r.gap);
            CHECK(back.history == r.history);
        }
}

// A stored commit dropped at a reader (larger than its queue) marks the next reception a gap, and
// the flag is not lost when that next one first waits in the store for room (memory_link's refill).
// A dropped message that is no commit marks nothing: the order is not concerned.
TEST_CASE("review order3: a dropped stored commit marks the next reception a gap, through a refill too",
          "[federation][order][review]")
{
    memory_hub hub(true);
    memory_link attacker(hub);
    memory_link reader(hub, 1, 1024); // one reception, 1 KiB
    attacker.publish(junk(100));   // seq 1: queued
    REQUIRE(attacker.publish_ordered(junk(2048), 0)); // seq 2: a commit (junk) that never fits, dropped
    attacker.publish(junk(100));   // seq 3: waits in the store (queue full)
    attacker.publish(junk(100));   // seq 4
    std::vector<std::byte> out;
    std::vector<reception> got;
    reception r;
    for (int i = 0; i < 10 && reader.poll(out, r); ++i)
        got.push_back(r);
    REQUIRE(got.size() == 3);
    CHECK(got[0].seq == 1);
    CHECK_FALSE(got[0].gap);
    CHECK(got[1].seq == 3);
    CHECK(got[1].gap);
    CHECK(got[2].seq == 4);
    CHECK_FALSE(got[2].gap);
    CHECK(reader.counters().get(federation_counter::inbound_full) == 1);
    attacker.publish(junk(2048)); // seq 5: no commit, never fits, dropped
    attacker.publish(junk(100));  // seq 6
    REQUIRE(reader.poll(out, r));
    CHECK(r.seq == 6);
    CHECK_FALSE(r.gap);
    CHECK(reader.counters().get(federation_counter::inbound_full) == 2);
}

// A gap whose last missed sequence was junk on the commit subject (dropped by every relay, which
// moved every expectation past it) does not keep the relay out: the next commit continues that
// junk, is not stale, and the relay applies it and is in step again.
TEST_CASE("review order3: a relay whose gap is followed by junk on the commit subject applies the next commit",
          "[federation][order][review]")
{
    memory_hub hub(true, false, 8);
    memory_link attacker(hub);
    site a(hub, 1), b(hub, 2), slow(hub, 3, 2);
    a.engine().commit(1); // seq 1
    run_all({&a, &b, &slow});
    for (int i = 0; i < 11; ++i)
        attacker.publish(junk()); // seq 2..12: 2, 3 queued at slow, 4 pushed out unread, 5.. wait
    REQUIRE(attacker.publish_ordered(junk(), hub.last_ordered_stored())); // seq 13, on the commit subject
    run_all({&a, &b, &slow});
    REQUIRE(slow.count(federation_counter::missed) >= 1);
    a.engine().commit(1); // epoch 2, continues the junk at seq 13
    run_all({&a, &b, &slow});
    CHECK(slow.engine().applied == a.engine().applied);
    slow.engine().commit(3);
    run_all({&a, &b, &slow});
    CHECK(slow.count(federation_counter::conflicts) == 0);
    CHECK(a.engine().epoch == 3);
    CHECK(b.engine().applied == a.engine().applied);
}

// A reader that dropped a stored commit (one larger than its queue's byte bound; nats_link: one that
// waited inbound_wait) knows nothing of it until its next reception, and may offer a commit that
// continues the position before it meanwhile. Once the dropped commit left the store, that commit is
// stored (the retry expecting none); every reader, the one that dropped it included (its guard
// judged the dropped commit before the drop), takes it for stale, and the reader is out of step.
TEST_CASE("review order3: a commit offered by a reader that dropped the last commit unawares is stale at every "
          "reader", "[federation][order][review]")
{
    memory_hub hub(true);
    memory_link other(hub), small(hub, 16, 1024);
    std::vector<std::byte> big;
    std::error_code ec;
    write_envelope(envelope_kind::ordered, test::rid(9), 1, 0, crypto::fingerprint{}, junk(2048), big, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(other.publish_ordered(big, 0)); // seq 1: dropped at `small`
    REQUIRE(small.counters().get(federation_counter::inbound_full) == 1);
    REQUIRE(hub.remove(1)); // it leaves the store (an operator's delete: limits remove no commit)
    REQUIRE(small.publish_ordered(commit_after(0), 0)); // seq 2, continues nothing: stored
    std::vector<std::byte> out;
    reception r;
    REQUIRE(small.poll(out, r));
    CHECK(r.seq == 2);
    CHECK(r.gap);
    CHECK(r.stale);
    REQUIRE(other.poll(out, r)); // seq 1
    REQUIRE(other.poll(out, r));
    CHECK(r.seq == 2);
    CHECK(r.stale);
    CHECK_FALSE(r.gap);
}
