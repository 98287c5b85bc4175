// SPDX-License-Identifier: BSL-1.0
// Relays for the reviews of the federation's order (review_order.cpp, review_order2.cpp): bridges over
// an ordered memory_hub whose strands run only when the test says, with an engine that keeps a chain.
#pragma once

#include <tlvcast/federation/bridge.hpp>
#include <tlvcast/federation/memory_link.hpp>

#include "test_keys.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <deque>
#include <functional>
#include <initializer_list>
#include <vector>

namespace review_order {

using namespace tlvcast;
using namespace tlvcast::federation;

using test::key_of;
using test::rid;

// An engine with a chain: an ordered blob {e, ...} is applied only at epoch e - 1 (else refused,
// as the sequencer refuses a commit that does not continue its chain).
struct chain_engine {
    std::function<void(const core::federated_blob&)> sink;
    unsigned epoch = 0;
    std::vector<std::vector<std::byte>> applied;
    std::size_t history = 0; // ordered blobs handed as history (catch-up), applied or not
    void set_federation(std::function<void(const core::federated_blob&)> f, bool = false) { sink = std::move(f); }
    bool handle_federated(const core::federated_blob& b, time_point, datagram_batch&, std::vector<core::relay_event>&)
    {
        if (!b.ordered)
            return true;
        history += b.history ? 1 : 0;
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
    std::optional<bool> order_was_empty() const { return link.order_was_empty(); }
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
    // `catch_up`: the link reads the order from its first commit (history); `opt`: the bridge's.
    site(memory_hub& hub, std::uint8_t id, std::size_t max_entries = memory_link::default_max_entries,
         bool catch_up = false, bridge_options opt = {})
        : inner(hub, max_entries, memory_link::default_max_bytes, catch_up),
          br(relay, link, rid(id), key_of(1), default_max_blob, opt)
    {
        br.start();
        relay.run();
    }
    chain_engine& engine() { return relay.engine; }
    std::uint64_t count(federation_counter c) { return inner.counters().get(c); }
};

// Each relay's strand takes its turn.
inline void run_all(std::initializer_list<site*> sites)
{
    for (site* s : sites)
        s->relay.run();
}

// Three rounds of `a` then `b` committing, every relay's strand in between.
inline void commit_rounds(site& a, site& b, std::initializer_list<site*> sites)
{
    for (int round = 0; round < 3; ++round) {
        a.engine().commit(1);
        run_all(sites);
        b.engine().commit(2);
        run_all(sites);
    }
}

inline std::vector<std::byte> junk(std::size_t n = 80) { return std::vector<std::byte>(n, std::byte{0x4a}); }

// A commit for the order that continues `after` (unsealed: the links' order_guard reads the position
// without the key; only an authentic envelope is delivered by a bridge).
inline std::vector<std::byte> commit_after(std::uint64_t after)
{
    std::vector<std::byte> out;
    std::error_code ec;
    write_envelope(envelope_kind::ordered, rid(9), after + 1, after, crypto::fingerprint{}, junk(4), out, ec);
    REQUIRE_FALSE(ec);
    return out;
}

} // namespace review_order
