// SPDX-License-Identifier: BSL-1.0
// Adversarial review of federation catch-up (2a2e1d1, docs/FEDERATION.md "Catch-up") over the memory
// hub: a relay whose link replays the order's history. Confirmed flaws are [!shouldfail] (each names
// the flaw, its severity and a proposed fix); defended attacks are normal tests.
#include "order_sites.hpp"

#include <tlvcast/federation/auth.hpp>

#include <cstdint>

namespace {
namespace review_catch_up_tests { // a name of its own: the file may share a unity translation unit

using namespace review_order;

constexpr bool catch_up = true;

// ---- An engine with a chain of 32-bit epochs (chain_engine's epoch is one byte: 255 at most). ----
struct wide_engine {
    std::function<void(const core::federated_blob&)> sink;
    std::uint32_t epoch = 0;
    void set_federation(std::function<void(const core::federated_blob&)> f, bool = false) { sink = std::move(f); }
    static std::vector<std::byte> blob_of(std::uint32_t e)
    {
        return {std::byte(e >> 24), std::byte(e >> 16), std::byte(e >> 8), std::byte(e)};
    }
    bool handle_federated(const core::federated_blob& b, time_point, datagram_batch&, std::vector<core::relay_event>&)
    {
        if (!b.ordered)
            return true;
        if (b.blob.size() != 4)
            return false;
        const std::uint32_t e = std::to_integer<std::uint32_t>(b.blob[0]) << 24 |
                                std::to_integer<std::uint32_t>(b.blob[1]) << 16 |
                                std::to_integer<std::uint32_t>(b.blob[2]) << 8 | std::to_integer<std::uint32_t>(b.blob[3]);
        if (e != epoch + 1)
            return false;
        ++epoch;
        return true;
    }
    void commit()
    {
        const auto blob = blob_of(epoch + 1);
        sink({false, blob, crypto::fingerprint{}, true});
    }
};

struct wide_relay {
    wide_engine engine;
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
        for (int i = 0; i < 100'000 && !posted.empty(); ++i) {
            auto f = std::move(posted.front());
            posted.pop_front();
            f();
        }
    }
};

struct wide_site {
    memory_link link;
    wide_relay relay;
    bridge<wide_relay, memory_link> br;
    wide_site(memory_hub& hub, const relay_id& id, bool catch_up_on)
        : link(hub, memory_link::default_max_entries, memory_link::default_max_bytes, catch_up_on),
          br(relay, link, id, key_of(1))
    {
        br.start();
        relay.run();
    }
    std::uint64_t count(federation_counter c) { return link.counters().get(c); }
};

// A relay id per process: each relay process draws a new one (its counter starts again).
relay_id process_id(std::uint32_t n)
{
    relay_id id{};
    id.fill(std::byte{0xEE});
    id[0] = std::byte(n >> 16);
    id[1] = std::byte(n >> 8);
    id[2] = std::byte(n);
    return id;
}

// What `n` relay processes, each of which committed once before it restarted, left in the commit
// stream: epochs 1..n, each sealed under the federation key by its own relay id, each continuing
// the one before. Written here directly (what the honest relays' bridges wrote).
void honest_history(memory_hub& hub, std::uint32_t n)
{
    memory_link writer(hub);
    envelope_auth<crypto::default_suite> auth(key_of(1));
    for (std::uint32_t i = 0; i < n; ++i) {
        std::vector<std::byte> out;
        std::error_code ec;
        const std::uint64_t after = hub.last_ordered_stored();
        write_envelope(envelope_kind::ordered, process_id(i), 1, after, crypto::fingerprint{}, wide_engine::blob_of(i + 1),
                       out, ec);
        REQUIRE_FALSE(ec);
        auth.seal(out);
        REQUIRE(writer.publish_ordered(out, after));
    }
}

// FINDING (medium; liveness, permanent, no attacker needed): the bridge's ordered replay guard
// (replay_ordered_, replay_guard's default 1024 relay ids, refusing any further id) is now filled
// from the order's whole history. Relay ids are random per process, and the commit stream keeps
// every commit for good, so once 1024 relay processes have committed in the group's lifetime, every
// relay that catches up holds 1024 ids before it reads a live commit, and drops as "replayed" every
// commit from a relay id it has not seen: its own commits included, and those of every relay
// restarted since. Every relay drops them alike (they also filled theirs), so nothing forks: the
// expectation moves past each one, and the members of every relay restarted after that point can
// never change the membership again (each retry is stored, dropped everywhere, and fills the
// commit stream towards order_full). Before catch-up a restart emptied the guard; now a restart
// refills it from the history. A key holder gets there at once with 1024 stale ordered envelopes
// under fresh ids (dropped as late_conflicts, after the guard noted them), which every future relay
// then replays.
// Fix proposed: on the ordered route the stream's sequence already makes a position unique; keep
// the replay guard for it bounded by evicting deterministically in stream order (drop the id whose
// last ordered envelope is the oldest by stream sequence) instead of refusing new ids, so that every
// reader of the same order evicts alike; or at least count a refusal for a full guard as `refused`
// (out of step, expectation kept) rather than as a replay every relay drops alike.
TEST_CASE("review catch-up: after 1024 relay processes committed, a relay that caught up still has its commits applied",
          "[federation][order][catch_up][review_catch_up]")
{
    memory_hub hub(true);
    honest_history(hub, 1024);
    wide_site a(hub, process_id(5000), catch_up), b(hub, process_id(5001), catch_up);
    a.relay.run();
    b.relay.run();
    REQUIRE(a.relay.engine.epoch == 1024);
    REQUIRE(b.relay.engine.epoch == 1024);
    a.relay.engine.commit(); // in step: stored
    a.relay.run();
    b.relay.run();
    CHECK(a.count(federation_counter::conflicts) == 0);
    CHECK(hub.last_ordered_stored() == 1025);
    // FAILS: dropped as a replay at both (replayed == 1 each), applied nowhere.
    CHECK(a.count(federation_counter::replayed) == 0);
    CHECK(a.relay.engine.epoch == 1025);
    CHECK(b.relay.engine.epoch == 1025);
}

// The same with 1022 processes in the history: the guard has room for a's and b's ids, and it works (the
// boundary is the guard's bound, nothing else).
TEST_CASE("review catch-up: below the replay guard's bound a relay that caught up commits in step",
          "[federation][order][catch_up][review_catch_up]")
{
    memory_hub hub(true);
    honest_history(hub, 1022);
    wide_site a(hub, process_id(5000), catch_up), b(hub, process_id(5001), catch_up);
    REQUIRE(a.relay.engine.epoch == 1022);
    a.relay.engine.commit();
    a.relay.run();
    b.relay.run();
    CHECK(a.relay.engine.epoch == 1023);
    CHECK(b.relay.engine.epoch == 1023);
    b.relay.engine.commit();
    a.relay.run();
    b.relay.run();
    CHECK(a.relay.engine.epoch == 1024);
    CHECK(b.relay.engine.epoch == 1024);
}

// ---- Keyless junk on the commit subject (a NATS publisher without the federation key) ----

// Defended: junk around and between the authentic commits (an empty message as the very first
// stored one, as a heartbeat look-alike is read; junk with forged `after` both below and far above
// the order; junk after the last commit) moves a catching-up relay exactly as it moved the running
// ones: it replays the same chain, is in step, and its commit is applied everywhere.
TEST_CASE("review catch-up: keyless junk with forged `after` around the history leaves a catching-up relay in step with "
          "the running ones", "[federation][order][catch_up][review_catch_up]")
{
    memory_hub hub(true);
    memory_link attacker(hub); // keyless
    REQUIRE(attacker.publish_ordered({}, 0)); // seq 1: nothing at all (heartbeat look-alike)
    site a2(hub, 3, memory_link::default_max_entries, catch_up), b2(hub, 4, memory_link::default_max_entries, catch_up);
    run_all({&a2, &b2});
    a2.engine().commit(1); // seq 2
    run_all({&a2, &b2});
    REQUIRE(a2.engine().epoch == 1);
    REQUIRE(b2.engine().epoch == 1);
    REQUIRE(attacker.publish_ordered(commit_after(0), hub.last_ordered_stored()));       // forged after 0: stale
    REQUIRE(attacker.publish_ordered(commit_after(1'000'000), hub.last_ordered_stored())); // after far ahead
    run_all({&a2, &b2});
    b2.engine().commit(2);
    run_all({&a2, &b2});
    REQUIRE(a2.engine().epoch == 2);
    REQUIRE(attacker.publish_ordered(junk(), hub.last_ordered_stored())); // after the last commit
    REQUIRE(attacker.publish_ordered(commit_after(hub.last_ordered_stored()), hub.last_ordered_stored()));
    run_all({&a2, &b2});
    site c(hub, 5, memory_link::default_max_entries, catch_up);
    c.relay.run();
    CHECK(c.engine().applied == a2.engine().applied);
    CHECK(c.count(federation_counter::refused) == 0);
    c.engine().commit(3);
    run_all({&a2, &b2, &c});
    CHECK(c.count(federation_counter::conflicts) == 0);
    CHECK(a2.engine().epoch == 3);
    CHECK(b2.engine().applied == a2.engine().applied);
    CHECK(c.engine().applied == a2.engine().applied);
}

// Defended: a keyless publisher copies authentic envelopes of the group subject (a presence
// request, a member's blob) onto the commit subject, before the founding and between commits: every
// reader, the catching-up one included, drops them as misplaced; the history's step stays right.
TEST_CASE("review catch-up: authentic group-subject envelopes copied into the order are misplaced in the history too",
          "[federation][order][catch_up][review_catch_up]")
{
    memory_hub hub(true);
    bridge_options ask;
    ask.ask_presence = true;
    site a(hub, 1, memory_link::default_max_entries, false, ask);
    a.engine().message();
    a.relay.run();
    // The keyless attacker read a's presence request and a member blob off the group subject (its
    // counters: the request 1, the blob 2) and stores copies on the commit subject.
    memory_link tap(hub);
    std::vector<std::vector<std::byte>> copies;
    envelope_auth<crypto::default_suite> auth(key_of(1));
    for (const auto kind : {envelope_kind::presence_request, envelope_kind::member_blob}) {
        std::vector<std::byte> out;
        std::error_code ec;
        const std::vector<std::byte> body = kind == envelope_kind::presence_request ? std::vector<std::byte>{std::byte{0}}
                                                                                    : std::vector<std::byte>(8, std::byte{7});
        write_envelope(kind, rid(1), 1 + copies.size(), 0, crypto::fingerprint{}, body, out, ec);
        REQUIRE_FALSE(ec);
        auth.seal(out);
        copies.push_back(out);
    }
    REQUIRE(tap.publish_ordered(copies[0], 0)); // before the founding: the order is "not empty"
    site b(hub, 2, memory_link::default_max_entries, catch_up);
    b.relay.run();
    CHECK(b.count(federation_counter::misplaced) == 1);
    b.engine().commit(2); // in step past a misplaced copy (as a running relay would be)
    run_all({&a, &b});
    REQUIRE(b.engine().epoch == 1);
    REQUIRE(tap.publish_ordered(copies[1], hub.last_ordered_stored()));
    site c(hub, 3, memory_link::default_max_entries, catch_up);
    c.relay.run();
    CHECK(c.count(federation_counter::misplaced) == 2);
    CHECK(c.count(federation_counter::presence_asked) == 0); // never answered from the order
    CHECK(c.engine().applied == b.engine().applied);
    c.engine().commit(3);
    run_all({&a, &b, &c});
    CHECK(b.engine().epoch == 2);
    CHECK(c.engine().applied == b.engine().applied);
}

// Defended: a history the inbound queue cannot hold in its middle does not exist (the history is
// taken before any drain: only its tail is lost), and a lost tail never lets the relay's commit
// into the order: the stream's expectation refuses it. Here: junk fills all but the history's last
// authentic commit, which is lost; the relay's commit conflicts, nothing forks.
TEST_CASE("review catch-up: a history whose last commit is lost behind junk never forks the order",
          "[federation][order][catch_up][review_catch_up]")
{
    memory_hub hub(true);
    site a(hub, 1), b(hub, 2);
    a.engine().commit(1);
    run_all({&a, &b});
    memory_link attacker(hub);
    for (int i = 0; i < 6; ++i)
        REQUIRE(attacker.publish_ordered(junk(), hub.last_ordered_stored()));
    run_all({&a, &b});
    b.engine().commit(2); // the last commit: seq 8
    run_all({&a, &b});
    REQUIRE(a.engine().epoch == 2);
    site c(hub, 3, 7, catch_up); // room for 7: the commit at seq 8 is lost
    c.relay.run();
    CHECK(c.count(federation_counter::inbound_full) == 1);
    CHECK(c.engine().epoch == 1);
    c.engine().commit(3);
    run_all({&a, &b, &c});
    CHECK(a.engine().epoch == 2);
    CHECK(b.engine().applied == a.engine().applied);
    CHECK(c.count(federation_counter::conflicts) == 1);
}

} // namespace review_catch_up_tests
} // namespace
