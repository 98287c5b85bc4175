// SPDX-License-Identifier: BSL-1.0
// Adversarial review of the federation's order of commits (bridge.hpp, concepts.hpp order_guard,
// memory_link.hpp's racy hub): what a NATS publisher without the federation key can do to it.
// Relays are bridges over an ordered memory_hub whose strands run only when the test says.
#include <tlvcast/federation/bridge.hpp>
#include <tlvcast/federation/memory_link.hpp>

#include "test_keys.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::federation;

namespace review_order {

using test::key_of;
using test::rid;

// An engine with a chain: an ordered blob {e, ...} is applied only at epoch e - 1 (else refused,
// as the sequencer refuses a commit that does not continue its chain).
struct chain_engine {
    std::function<void(const core::federated_blob&)> sink;
    unsigned epoch = 0;
    std::vector<std::vector<std::byte>> applied;
    void set_federation(std::function<void(const core::federated_blob&)> f, bool = false) { sink = std::move(f); }
    bool handle_federated(const core::federated_blob& b, time_point, datagram_batch&, std::vector<core::relay_event>&)
    {
        if (!b.ordered)
            return true;
        if (std::to_integer<unsigned>(b.blob[0]) != epoch + 1)
            return false;
        ++epoch;
        applied.emplace_back(b.blob.begin(), b.blob.end());
        return true;
    }
    // A member's commit on the next epoch, checked and handed to the federation's order.
    void commit(std::uint8_t tag = 0)
    {
        const std::vector<std::byte> blob{std::byte(epoch + 1), std::byte(tag)};
        sink({false, blob, crypto::fingerprint{}, true});
    }
    void message() { sink({false, std::vector<std::byte>(8, std::byte{7}), crypto::fingerprint{}, false}); }
};

// A relay whose strand runs what was posted only in run(): a strand busy with its UDP path.
struct slow_relay {
    chain_engine engine;
    datagram_batch out;
    std::vector<core::relay_event> events;
    std::deque<std::function<void()>> posted;
    template <class F>
    void post_to_engine(F f)
    {
        posted.emplace_back([this, f] { f(engine, time_point{}, out, events); });
    }
    void run()
    {
        for (int i = 0; i < 10'000 && !posted.empty(); ++i) {
            auto f = std::move(posted.front());
            posted.pop_front();
            f();
        }
    }
};

// A memory_link that also shows an observer every commit it offers the order, stored or refused:
// a NATS publisher subscribed to tlvcast.c.<group> sees every publication on it.
struct tapped_link {
    memory_link& link;
    std::vector<std::vector<std::byte>> offered;
    bool publish(std::span<const std::byte> b) { return link.publish(b); }
    bool poll(std::vector<std::byte>& out) { return link.poll(out); }
    bool poll(std::vector<std::byte>& out, reception& r) { return link.poll(out, r); }
    void set_notify(std::function<void()> f) { link.set_notify(std::move(f)); }
    federation_counters& counters() { return link.counters(); }
    bool orders_commits() const { return link.orders_commits(); }
    bool publish_ordered(std::span<const std::byte> b, std::uint64_t expected)
    {
        offered.emplace_back(b.begin(), b.end());
        return link.publish_ordered(b, expected);
    }
};
static_assert(ordering_link<tapped_link>);

// One relay: its link on the hub (tapped), its slow strand, its bridge.
struct site {
    memory_link inner;
    tapped_link link{inner, {}};
    slow_relay relay;
    bridge<slow_relay, tapped_link> br;
    site(memory_hub& hub, std::uint8_t id, std::size_t max_entries = memory_link::default_max_entries)
        : inner(hub, max_entries), br(relay, link, rid(id), key_of(1))
    {
        br.start();
        relay.run();
    }
    chain_engine& engine() { return relay.engine; }
    std::uint64_t count(federation_counter c) { return inner.counters().get(c); }
};

std::vector<std::byte> junk(std::size_t n = 80) { return std::vector<std::byte>(n, std::byte{0x4a}); }

} // namespace review_order

using namespace review_order;

TEST_CASE("review order: junk stored with a stale expectation is dropped as junk; the expectation moves past it",
          "[federation][order][review]")
{
    memory_hub hub(true, true); // racy: stores what conflicts, as the attacker's forged header makes the stream do
    memory_link attacker(hub);
    site a(hub, 1), b(hub, 2);
    a.engine().commit();
    a.relay.run();
    b.relay.run();
    REQUIRE(a.engine().epoch == 1);
    attacker.publish_ordered(junk(), 0); // stored at seq 2, stale: expected 0 after seq 1
    a.relay.run();
    b.relay.run();
    b.engine().commit(); // expected 2: stored, applied at both
    a.relay.run();
    b.relay.run();
    for (site* s : {&a, &b}) {
        CHECK(s->engine().epoch == 2);
        CHECK(s->count(federation_counter::late_conflicts) == 0); // junk is junk, not a late commit
        CHECK(s->count(federation_counter::malformed) == 1);
    }
}

TEST_CASE("review order: readers that joined at different times: a later one never drops what an earlier keeps, "
          "the first drops exactly what conflicts", "[federation][order][review]")
{
    memory_hub hub(true, true);
    std::vector<std::unique_ptr<memory_link>> readers;
    readers.push_back(std::make_unique<memory_link>(hub)); // the first, also the publisher
    std::mt19937 rng(4320);
    std::uint64_t seq = 0, last_ordered = 0;
    std::map<std::uint64_t, bool> conflicts; // ordered seq -> its expectation is below the last ordered one
    for (int step = 0; step < 400; ++step) {
        if (rng() % 20 == 0 && readers.size() < 8)
            readers.push_back(std::make_unique<memory_link>(hub));
        ++seq;
        if (rng() % 3 == 0) {
            readers[0]->publish(junk(4));
            continue;
        }
        const unsigned pick = rng() % 4; // the last ordered one (most often), an older one, none
        const std::uint64_t expected = pick < 2 ? last_ordered : pick == 2 && last_ordered ? rng() % last_ordered : 0;
        readers[0]->publish_ordered(junk(4), expected);
        conflicts[seq] = expected < last_ordered;
        last_ordered = seq;
    }
    std::vector<std::map<std::uint64_t, bool>> stale(readers.size()); // per reader: ordered seq -> stale
    for (std::size_t i = 0; i < readers.size(); ++i) {
        std::vector<std::byte> out;
        reception r;
        while (readers[i]->poll(out, r))
            if (r.ordered)
                stale[i][r.seq] = r.stale;
    }
    CHECK(stale[0] == conflicts);
    for (std::size_t j = 1; j < readers.size(); ++j)
        for (const auto& [s, dropped] : stale[j])
            if (dropped)
                CHECK(stale[0].at(s)); // every reader that drops it: the first drops it too
}

TEST_CASE("review order: a relay's refused commit stored again after the relay published more is a replay "
          "at that relay too (it was applied there only)", "[federation][order][review]")
{
    memory_hub hub(true);
    memory_link attacker(hub);
    site a(hub, 1), b(hub, 2);
    attacker.publish_ordered(junk(), 0); // seq 1: b's strand has not read it yet
    b.engine().commit();                 // expected 0: refused by the order, seen by the attacker
    REQUIRE(b.count(federation_counter::conflicts) == 1);
    a.relay.run();
    b.relay.run();
    b.engine().message(); // counter 2, stored: a's replay guard for b is past 1 now
    a.relay.run();
    b.relay.run();
    attacker.publish_ordered(b.link.offered.at(0), 1); // b's commit (counter 1), stored where it continues the chain
    a.relay.run();
    b.relay.run();
    CHECK(a.count(federation_counter::replayed) == 1);
    CHECK(b.engine().epoch == a.engine().epoch); // was: b applied it, a dropped it as a replay
    a.engine().commit();                         // the group goes on, one chain at both
    a.relay.run();
    b.relay.run();
    CHECK(a.engine().epoch == 1);
    CHECK(b.engine().applied == a.engine().applied);
}

TEST_CASE("review order: a race loser's commit stored again after its relay published more is a replay "
          "everywhere: that relay commits next", "[federation][order][review]")
{
    memory_hub hub(true);
    memory_link attacker(hub);
    site a(hub, 1), b(hub, 2);
    a.engine().commit(); // seq 1
    b.engine().commit(); // the loser
    a.relay.run();
    b.relay.run();
    b.engine().message(); // counter 2, stored
    attacker.publish_ordered(b.link.offered.at(0), 1);
    a.relay.run();
    b.relay.run();
    CHECK(a.count(federation_counter::replayed) == 1);
    CHECK(b.count(federation_counter::replayed) == 1); // was: refused there, so b kept expecting seq 1
    b.engine().commit();                               // expected the re-stored one: stored
    a.relay.run();
    b.relay.run();
    CHECK(a.engine().epoch == 2);
    CHECK(b.engine().applied == a.engine().applied);
}

// Open: the expectation a reader judges by is the stored NATS header, which the attacker writes.
// A loser's commit stored again (no header, or the current last) passes the tag, the replay guard
// (its relay published nothing since) and the order_guard; every relay refuses it (it does not
// continue the chain), so none moves its expectation past it and every later commit conflicts.
// Fix: bind the expectation into the authenticated envelope (a commit's tag over it too).
TEST_CASE("review order: finding: a race loser's commit stored again by a publisher without the key freezes "
          "every later commit", "[federation][order][review][!shouldfail]")
{
    memory_hub hub(true);
    memory_link attacker(hub);
    site a(hub, 1), b(hub, 2);
    a.engine().commit(); // seq 1, epoch 1
    b.engine().commit(); // b had not read seq 1: refused by the order (the loser)
    a.relay.run();
    b.relay.run();
    REQUIRE(b.count(federation_counter::conflicts) == 1);
    REQUIRE((a.engine().epoch == 1 && b.engine().epoch == 1));
    attacker.publish_ordered(b.link.offered.at(0), 1); // the loser's bytes, seq 2
    a.relay.run();
    b.relay.run();
    for (int round = 0; round < 3; ++round) { // both try again, each after the other read all
        a.engine().commit();
        a.relay.run();
        b.relay.run();
        b.engine().commit();
        a.relay.run();
        b.relay.run();
    }
    CHECK(a.engine().epoch > 1);
    CHECK(b.engine().epoch == a.engine().epoch);
}

// Open: a reader's inbound queue drops what it cannot hold, commits included, and neither link
// fetches a dropped stream message again (docs/FEDERATION.md says JetStream fixes this: the stream
// keeps it, but nats_link::on_message drops it just the same). Junk on the group subject fills a
// slow relay's queue; the commit every other relay applies never reaches it.
TEST_CASE("review order: finding: junk that fills a slow relay's inbound queue drops a commit there only",
          "[federation][order][review][!shouldfail]")
{
    memory_hub hub(true);
    memory_link attacker(hub);
    site a(hub, 1), b(hub, 2, 4); // b holds 4 receptions
    for (int i = 0; i < 4; ++i)
        attacker.publish(junk()); // bounded: as many as b holds
    a.relay.run();                // a keeps up; b's strand is busy
    a.engine().commit();
    a.relay.run();
    b.relay.run();
    CHECK(b.count(federation_counter::inbound_full) == 1);
    CHECK(b.engine().epoch == a.engine().epoch);
}

// Open (documented in order_guard): a reader that started after the first of a racy store's two
// commits judges the second against nothing and keeps it, while the others drop it. In the founding
// race a relay that starts between them follows the other group.
TEST_CASE("review order: finding: a relay that starts between a racy store's two commits keeps the one "
          "the others drop", "[federation][order][review][!shouldfail]")
{
    memory_hub hub(true, true);
    site a(hub, 1), b(hub, 2);
    a.engine().commit(1); // seq 1
    site c(hub, 3);      // starts here
    b.engine().commit(2); // seq 2, stale: expected 0
    for (site* s : {&a, &b, &c})
        s->relay.run();
    REQUIRE(a.engine().applied == b.engine().applied);
    CHECK(c.engine().applied == a.engine().applied); // c keeps b's founding; a and b keep a's
}
