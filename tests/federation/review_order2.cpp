// SPDX-License-Identifier: BSL-1.0
// Second adversarial review of the federation's order of commits (envelope v3's `after`, the retry of
// a commit whose predecessor left the store, the reader that waits for room, memory_link's refill):
// a NATS publisher without the key, and unlucky timing. Relays are bridges over an ordered
// memory_hub (order_sites.hpp); what needs a real nats-server is in review_order2_nats.cpp and
// review_order2_wait_nats.cpp.
#include "order_sites.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <span>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

using namespace tlvcast;
using namespace tlvcast::federation;
using namespace review_order;

namespace review_order2 {

// A relay whose strand runs what is posted at once, on the poster's thread (as a relay whose engine
// thread is the caller's: review_auth.cpp's stub, a test's inline executor).
struct inline_relay {
    chain_engine engine;
    datagram_batch out;
    std::vector<core::relay_event> events;
    template <class F>
    void post_to_engine(F f)
    {
        f(engine, time_point{}, out, events);
    }
};

// Runs `f` in a child process: true when it ended normally within `limit` (a hang is killed, and
// the test program goes on).
bool finishes(const std::function<void()>& f, std::chrono::milliseconds limit)
{
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        f();
        ::_exit(0);
    }
    int status = 0;
    for (auto t = std::chrono::milliseconds(0); t < limit; t += std::chrono::milliseconds(10)) {
        if (::waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) && WEXITSTATUS(status) == 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return false;
}

// A memory_link whose refused commit is shown to `on_refused` before it is offered again, as
// nats_link's is: the refused try is on the subject for every reader, and the second offer comes a
// round trip to the stream later (js_GetLastMsg).
struct window_link {
    memory_hub& hub;
    memory_link inner;
    std::function<void(std::span<const std::byte>)> on_refused;
    explicit window_link(memory_hub& h) : hub(h), inner(h) {}
    bool publish(std::span<const std::byte> b) { return inner.publish(b); }
    bool poll(std::vector<std::byte>& out) { return inner.poll(out); }
    bool poll(std::vector<std::byte>& out, reception& r) { return inner.poll(out, r); }
    void set_notify(std::function<void()> f) { inner.set_notify(std::move(f)); }
    federation_counters& counters() { return inner.counters(); }
    bool orders_commits() const { return inner.orders_commits(); }
    std::optional<bool> order_was_empty() const { return inner.order_was_empty(); }
    bool publish_ordered(std::span<const std::byte> b, std::uint64_t expected)
    {
        bool stored = hub.publish(&inner, b, true, expected);
        if (!stored && on_refused)
            on_refused(b);
        if (!stored)
            if (const auto again = federation::detail::expectation_after_conflict(expected, hub.last_ordered_stored()))
                stored = hub.publish(&inner, b, true, *again);
        counters().add(stored ? federation_counter::published : federation_counter::conflicts);
        return stored;
    }
};
static_assert(ordering_link<window_link>);

struct window_site {
    window_link link;
    slow_relay relay;
    bridge<slow_relay, window_link> br;
    window_site(memory_hub& hub, std::uint8_t id) : link(hub), br(relay, link, test::rid(id), test::key_of(1))
    {
        br.start();
        relay.run();
    }
};

} // namespace review_order2

using namespace review_order2;

// Fixed (reception::gap). A reader held back (its queue full) continues from the store; what left
// the store meanwhile (its size or age limit: 256 MiB of junk on the group subject, or 10 minutes)
// it never sees. Here the store drops a commit the slow relay had not read yet: the other relays
// applied it. (Limits now remove no commit: `remove_commit` is an operator's delete; without it the
// slow relay gets the commit, below.) Its member's next commit continued the older position, the store held no commit any
// more, so it was stored; every other relay dropped it as stale, the slow relay applied it: the
// group forked, and nothing said a message was missed. Now the reader sees the gap in the store's
// sequences (memory_link::receive, stream_consumer::take), counts it (`missed`), takes its last
// sequence for a commit (order_guard::missed) and is out of step: its member's commit is refused
// before it reaches the store, or, offered before the gap showed, is stale everywhere alike.
namespace {
struct slow_case {
    memory_hub hub{true, false, 8}; // keeps 8 messages, as a stream's max_bytes keeps so many
    memory_link attacker{hub};
    site a{hub, 1}, b{hub, 2}, slow{hub, 3, 2}; // slow holds 2 receptions; its strand is busy
    explicit slow_case(bool remove_commit)
    {
        for (int i = 0; i < 3; ++i)
            attacker.publish(junk()); // seq 1, 2 fill slow's queue; seq 3 waits in the store
        a.relay.run();
        b.relay.run();
        a.engine().commit(1); // seq 4: a and b apply it
        a.relay.run();
        b.relay.run();
        REQUIRE(b.engine().epoch == 1);
        for (int i = 0; i < 8; ++i)
            attacker.publish(junk()); // seq 5..12: the junk before it leaves the store, not the commit
        REQUIRE(hub.last_ordered_stored() == 4);
        if (remove_commit)
            REQUIRE(hub.remove(4));
        slow.relay.run();
    }
};
} // namespace

TEST_CASE("review order2: a commit removed from the store before a slow relay read it is counted missed; that "
          "relay commits nothing on its old state", "[federation][order][review]")
{
    slow_case t(true);
    CHECK(t.slow.count(federation_counter::inbound_waits) == 1);
    CHECK(t.slow.count(federation_counter::missed) == 2); // seq 3 (junk) and 4 (the commit)
    CHECK(t.a.count(federation_counter::missed) == 0);
    CHECK(t.slow.engine().epoch == 0);
    // The removed commit shows at the next commit only (as over NATS, where commits have their own
    // consumer): the slow relay still believes itself in step and offers a commit continuing position
    // 0; the store holds no commit any more, so it is stored, and every relay, the slow one included,
    // drops it as stale (no fork).
    t.slow.engine().commit(3);
    for (site* s : {&t.a, &t.b, &t.slow})
        s->relay.run();
    CHECK(t.slow.count(federation_counter::conflicts) == 1);
    for (site* s : {&t.a, &t.b, &t.slow})
        CHECK(s->count(federation_counter::late_conflicts) == 1);
    CHECK(t.a.engine().applied == t.b.engine().applied);
    // A later commit of the order continues one the slow relay never saw: it is not applied there
    // on a state that lacks the missed one.
    t.b.engine().commit(2);
    for (site* s : {&t.a, &t.b, &t.slow})
        s->relay.run();
    CHECK(t.a.engine().applied == t.b.engine().applied);
    CHECK(t.a.engine().epoch == 2);
    CHECK(t.slow.engine().epoch == 0);
}

// Was open: junk pushed the commit out of the store before the slow relay read it, and that relay
// stayed behind for good. Fixed: commits have a store of their own that removes none (nats_link:
// the commit stream, no max_age, DiscardNew); junk removes only junk, and the slow relay gets the
// commit and stays in step. (Removed by an operator, above, it still misses it until catch-up.)
TEST_CASE("review order2: junk does not push a commit out of the store before a slow relay read it",
          "[federation][order][review]")
{
    slow_case t(false);
    CHECK(t.slow.engine().applied == t.a.engine().applied);
    CHECK(t.slow.count(federation_counter::missed) == 1); // seq 3, junk; not the commit
    t.slow.engine().commit(3); // in step: stored, applied everywhere
    for (site* s : {&t.a, &t.b, &t.slow})
        s->relay.run();
    CHECK(t.slow.count(federation_counter::conflicts) == 0);
    CHECK(t.a.engine().epoch == 2);
    CHECK(t.slow.engine().applied == t.a.engine().applied);
}

// Fixed here (memory_link.hpp): a stored message larger than a reader's inbound byte bound never fits
// its queue. The reader waited for it (behind_), refill() ran only after a pop, and its queue, empty,
// had nothing to pop: nothing stored after the message was ever delivered there. A publisher without
// the key stopped every such reader with one message. nats_link drops such a message (counted
// inbound_full); the model now does the same.
TEST_CASE("review order2: a stored message larger than a reader's queue is dropped there, not waited for",
          "[federation][order][review]")
{
    memory_hub hub(true);
    memory_link attacker(hub);
    memory_link reader(hub, 16, 1024); // 1 KiB of receptions
    attacker.publish(junk(2048));
    REQUIRE(attacker.publish_ordered(commit_after(0), 0));
    std::vector<std::byte> out;
    reception r;
    std::vector<std::uint64_t> got;
    for (int i = 0; i < 10 && reader.poll(out, r); ++i)
        got.push_back(r.seq);
    CHECK(got == std::vector<std::uint64_t>{2});
    CHECK(reader.counters().get(federation_counter::inbound_full) == 1);
}

// Fixed here (memory_link.hpp): a reception refetched by refill() notified the poller, under the
// link's notify lock; refill() runs inside poll(), and a strand that runs inline drained again from
// within that notification, refilled again, and locked the notify lock it held: the relay hung (a
// queue full before start(), then start()). A refetched reception is now queued without notifying:
// refill() is the poller's own call, and the poller polls again.
TEST_CASE("review order2: a relay whose strand runs inline drains a refilled queue without hanging",
          "[federation][order][review]")
{
    const bool done = finishes(
        [] {
            memory_hub hub(true);
            memory_link attacker(hub);
            memory_link link(hub, 1);
            inline_relay relay;
            bridge<inline_relay, memory_link> br(relay, link, test::rid(1), test::key_of(1));
            for (int i = 0; i < 3; ++i)
                attacker.publish(junk()); // before start(): one queued, two wait in the store
            br.start();
            if (link.counters().get(federation_counter::malformed) != 3)
                ::_exit(2);
        },
        std::chrono::seconds(10));
    CHECK(done);
}

// The defence holds: a commit refused because a newer one was stored is not offered again (the
// store's last commit is not below the one it continues), and a commit offered again after its
// predecessor left the store is stored once.
TEST_CASE("review order2: the retry after a conflict stores no commit that a newer one precedes, and none twice",
          "[federation][order][review]")
{
    memory_hub hub(true, false, 4);
    memory_link attacker(hub);
    site a(hub, 1), b(hub, 2);
    a.engine().commit(1); // seq 1
    b.engine().commit(2); // b had not read it: refused, and not retried (the store's last is 1 > 0)
    CHECK(b.count(federation_counter::conflicts) == 1);
    a.relay.run();
    b.relay.run();
    REQUIRE(hub.remove(1)); // the commit leaves the store (an operator's delete: limits remove none)
    REQUIRE(hub.last_ordered_stored() == 0);
    b.engine().commit(2); // continues 1, the store expects none: offered again, stored once
    CHECK(b.count(federation_counter::conflicts) == 1);
    a.engine().commit(3); // a had not read b's: continues 1; the store's last is b's, newer: refused
    CHECK(a.count(federation_counter::conflicts) == 1);
    a.relay.run();
    b.relay.run();
    for (site* s : {&a, &b}) {
        CHECK(s->engine().epoch == 2);
        CHECK(s->count(federation_counter::late_conflicts) == 0);
    }
    CHECK(b.engine().applied == a.engine().applied);
}

// Open. A relay that refused a commit the others applied (its state differs: a missed welcome page,
// another admission setting, a late start) keeps its expectation before it, so that its own commits
// conflict instead of forking the order (bridge::drain). Junk on the commit subject after it (a
// publisher without the key stores it with any header; or a racy store's late conflict) is dropped
// alike everywhere and so moves every relay's expectation past it, that relay's too: its next
// commit continues the junk, is stored, is not stale, and every other relay refuses it (it does not
// continue their chain) and keeps expecting the junk: each of their commits conflicts from then on,
// while the refusing relay commits on alone. Fix proposed (bridge.hpp): a relay that refused an
// ordered commit moves its expectation no more (not on junk either) until it is in step again (the
// catch-up from the stream): its commits then conflict, as the comment in drain() intends.
// Fixed (bridge.hpp, in_step()): a relay that refused an ordered commit offers no commit until it
// applied one again; its member's commit is counted a conflict.
TEST_CASE("review order2: junk after a commit one relay refused does not let that relay's commit fork the order",
          "[federation][order][review]")
{
    memory_hub hub(true);
    memory_link attacker(hub);
    site a(hub, 1), b(hub, 2), c(hub, 3);
    c.engine().epoch = 7; // c's state differs: it refuses the group's commits
    a.engine().commit(1); // seq 1: a and b apply it, c refuses it
    run_all({&a, &b, &c});
    REQUIRE(c.count(federation_counter::refused) == 1);
    REQUIRE(attacker.publish_ordered(junk(), hub.last_ordered_stored())); // seq 2, after the commit
    run_all({&a, &b, &c});
    c.engine().commit(3); // continues the junk: stored
    run_all({&a, &b, &c});
    CHECK(c.count(federation_counter::conflicts) == 1); // was stored: c applied its own commit alone
    commit_rounds(a, b, {&a, &b, &c});
    CHECK(a.engine().epoch > 1); // frozen at 1: every commit of a and b conflicts
    CHECK(b.engine().applied == a.engine().applied);
}

// Open, the same with no refusal at all: a relay that started (or restarted) after the group's last
// commit expects nothing (0), so its members' commits conflict (docs/FEDERATION.md: "Limits, not
// done"). One junk message on the commit subject after its start moves its expectation to the junk:
// its member's commit, checked against its empty state, is stored and not stale, every other relay
// refuses it and keeps expecting the junk, and all their commits conflict. The fix above (no move
// after a refusal) does not reach this one: a relay should offer no commit before it is in step
// with the order (it applied an ordered commit, or the commit subject held none when it started),
// until the catch-up from the stream ("What is next") exists.
// Fixed (bridge.hpp, in_step()): a relay whose link started after the order's beginning offers no
// commit until it applied one from the order.
TEST_CASE("review order2: junk after a relay's late start does not let its first commit fork the order",
          "[federation][order][review]")
{
    memory_hub hub(true);
    memory_link attacker(hub);
    site a(hub, 1), b(hub, 2);
    a.engine().commit(1); // seq 1
    run_all({&a, &b});
    site c(hub, 3); // starts late: knows nothing of the group
    REQUIRE(attacker.publish_ordered(junk(), hub.last_ordered_stored())); // seq 2
    run_all({&a, &b, &c});
    c.engine().commit(3); // continues the junk: stored
    run_all({&a, &b, &c});
    CHECK(c.count(federation_counter::conflicts) == 1);
    commit_rounds(a, b, {&a, &b, &c});
    CHECK(a.engine().epoch > 1);
    CHECK(b.engine().applied == a.engine().applied);
}

// The defence the findings above defeat: without the junk, the refusing relay's commit conflicts
// and the others go on.
TEST_CASE("review order2: a relay that refused a commit: its next commit conflicts and the others go on",
          "[federation][order][review]")
{
    memory_hub hub(true);
    site a(hub, 1), b(hub, 2), c(hub, 3);
    c.engine().epoch = 7;
    a.engine().commit(1);
    run_all({&a, &b, &c});
    c.engine().commit(3);
    run_all({&a, &b, &c});
    CHECK(c.count(federation_counter::conflicts) == 1);
    CHECK(c.engine().epoch == 7);
    commit_rounds(a, b, {&a, &b, &c});
    CHECK(a.engine().epoch == 7);
    CHECK(b.engine().applied == a.engine().applied);
}

// Fixed here (bridge.hpp). A refused commit's bytes are on the commit subject for every reader (NATS
// delivers a publication to subscribers whatever the stream does with it). Stored by the attacker
// on the group subject before the link offers the commit again (nats_link: after a round trip to
// the stream), the copy passed the tag, had its counter recorded by every relay's replay guard, and
// only then was dropped as misplaced; the commit stored a moment later on the commit subject carried
// the same counter: a replay at every relay, applied by none, counted published by its relay. Over
// a real nats-server the copy won the race in 4 runs of 5. The misplaced check now comes before the
// replay guard and the `own` check (both record the counter): a copy on the wrong subject is
// dropped without using up its counter.
TEST_CASE("review order2: a commit copied to the group subject before it is offered again is applied "
          "everywhere", "[federation][order][review]")
{
    memory_hub hub(true, false, 4);
    memory_link attacker(hub);
    window_site a(hub, 1), b(hub, 2);
    a.relay.engine.commit(1); // seq 1
    a.relay.run();
    b.relay.run();
    REQUIRE(b.relay.engine.epoch == 1);
    REQUIRE(hub.remove(1)); // the commit leaves the store (an operator's delete: limits remove none)
    a.relay.run();
    b.relay.run();
    b.link.on_refused = [&](std::span<const std::byte> bytes) { attacker.publish(bytes); };
    b.relay.engine.commit(2); // refused, copied to the group subject, offered again, stored
    a.relay.run();
    b.relay.run();
    CHECK(a.link.counters().get(federation_counter::misplaced) == 1);
    CHECK(b.link.counters().get(federation_counter::published) == 1);
    CHECK(a.relay.engine.epoch == 2);
    CHECK(b.relay.engine.epoch == 2);
}

// The defence the late-start finding defeats: without the junk, the late relay's commit conflicts.
TEST_CASE("review order2: a relay that started late: its first commit conflicts and the others go on",
          "[federation][order][review]")
{
    memory_hub hub(true);
    site a(hub, 1), b(hub, 2);
    a.engine().commit(1);
    run_all({&a, &b});
    site c(hub, 3);
    c.engine().commit(3);
    run_all({&a, &b, &c});
    CHECK(c.count(federation_counter::conflicts) == 1);
    commit_rounds(a, b, {&a, &b, &c});
    CHECK(a.engine().epoch == 7);
    CHECK(b.engine().applied == a.engine().applied);
}
