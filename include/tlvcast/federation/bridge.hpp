// SPDX-License-Identifier: BSL-1.0
// The federation bridge: joins a running relay (core::basic_relay with an opaque Cipher) to a Link.
// What the relay accepts from its members leaves in envelopes; what other relays publish is parsed
// with bounds and handed to the engine as if from a local member. docs/FEDERATION.md.
#pragma once

#include <tlvcast/core/relay.hpp>
#include <tlvcast/federation/auth.hpp>
#include <tlvcast/federation/concepts.hpp>
#include <tlvcast/federation/envelope.hpp>

#include <atomic>
#include <cstddef>
#include <vector>

namespace tlvcast::federation {

/// Bridges `Relay` (core::basic_relay) and a Link. Receptions are drained on the relay's strand in
/// passes of at most `max_per_pass` envelopes (then the strand serves the UDP path again), so a
/// flood from NATS delays members' datagrams by one pass at most. Call start() once the relay
/// runs; destroy the bridge before the link and after the relay's io_context stopped running.
/// Every envelope published is sealed under `key` with a growing counter; every one received must
/// carry the key's tag (else counted unauthenticated) and a counter above the last of its relay
/// (else counted replayed) before anything in it is looked at further.
template <class Relay, federation_link Link, class Suite = crypto::default_suite>
class bridge {
public:
    static constexpr std::size_t max_per_pass = 256;

    bridge(Relay& relay, Link& link, const relay_id& id, const federation_key& key,
           std::size_t max_blob = default_max_blob)
        : relay_(relay), link_(link), id_(id), auth_(key), max_blob_(max_blob)
    {
    }
    bridge(const bridge&) = delete;
    bridge& operator=(const bridge&) = delete;
    ~bridge() { link_.set_notify({}); }

    /// Installs the engine's federation sink (on the strand) and starts taking receptions. With a
    /// link that orders commits (ordering_link, orders_commits()), the engine's commits go through
    /// that order: docs/FEDERATION.md, "One order for membership".
    void start()
    {
        relay_.post_to_engine([this](auto& engine, time_point, datagram_batch&, std::vector<core::relay_event>&) {
            engine.set_federation([this](const core::federated_blob& b) { publish(b); }, orders_commits());
        });
        link_.set_notify([this] { schedule(); });
        schedule(); // what arrived before start()
    }

    federation_counters& counters() noexcept { return link_.counters(); }

    /// Whether commits go through the link's order.
    bool orders_commits()
    {
        if constexpr (ordering_link<Link>)
            return link_.orders_commits();
        else
            return false;
    }

private:
    // On the strand: one envelope for the link, which queues it without waiting.
    void publish(const core::federated_blob& b)
    {
        std::error_code ec;
        write_envelope(b.presence ? envelope_kind::presence : envelope_kind::member_blob, id_, ++counter_, b.origin,
                       b.blob, scratch_, ec, max_blob_);
        if (ec) {
            link_.counters().add(federation_counter::publish_errors);
            return;
        }
        auth_.seal(scratch_);
        if (!b.ordered) {
            link_.publish(scratch_);
            return;
        }
        // A commit the engine checked against the state that the ordered receptions up to
        // expected_ made: stored only if nothing was ordered since (else it conflicts, and its
        // member commits again once the winner reached it).
        if constexpr (ordering_link<Link>)
            link_.publish_ordered(scratch_, expected_);
        else
            link_.counters().add(federation_counter::publish_errors); // no order to put it in
    }

    // Any thread: one drain pass waiting on the strand at a time.
    void schedule()
    {
        if (posted_.exchange(true))
            return;
        relay_.post_to_engine([this](auto& engine, time_point now, datagram_batch& out,
                                     std::vector<core::relay_event>& events) { this->drain(engine, now, out, events); });
    }

    template <class Engine>
    void drain(Engine& engine, time_point now, datagram_batch& out, std::vector<core::relay_event>& events)
    {
        posted_ = false; // a reception from here on schedules the next pass
        for (std::size_t i = 0; i < max_per_pass; ++i) {
            reception r;
            if (!poll(r))
                return;
            // A commit this relay refused is one its state differs on: its own commits then stay
            // expected after the last it agreed with, and conflict rather than fork the order.
            // What every relay drops alike (junk, a bad tag, a replay) moves the expectation on:
            // otherwise one junk message on the order would stop every commit (a NATS publisher
            // without the federation key can store it there).
            if (deliver(engine, r, now, out, events) != verdict::refused && r.ordered)
                expected_ = r.seq;
        }
        schedule(); // more than one pass's worth: the rest after the UDP path had its turn
    }

    bool poll(reception& r)
    {
        if constexpr (ordering_link<Link>)
            return link_.poll(buf_, r);
        else
            return link_.poll(buf_);
    }

    enum class verdict { dropped, delivered, refused };
    template <class Engine>
    verdict deliver(Engine& engine, const reception& r, time_point now, datagram_batch& out,
                    std::vector<core::relay_event>& events)
    {
        auto& c = link_.counters();
        std::error_code ec;
        const envelope_view v = read_envelope(buf_, ec, max_blob_);
        if (ec) {
            c.add(federation_counter::malformed);
            return verdict::dropped;
        }
        if (!auth_.verify(v)) {
            c.add(federation_counter::unauthenticated);
            return verdict::dropped;
        }
        // Our own, back through some route: never delivered twice. Except a commit of the order:
        // it was checked, not applied, and is applied now, here as everywhere.
        if (v.relay == id_ && !r.ordered) {
            // Counted by the replay guard as every other relay counts it (a stream delivers our own
            // back): a copy of an older commit of ours stored again later is then a replay here too,
            // not a commit applied here only.
            replay_.accept(v.relay, v.counter);
            c.add(federation_counter::own);
            return verdict::dropped;
        }
        if (!replay_.accept(v.relay, v.counter)) {
            c.add(federation_counter::replayed);
            return verdict::dropped;
        }
        // Stored though it conflicts (reception::stale): dropped here as at every relay, and the
        // expectation moves past it, since the order's last sequence did.
        if (r.stale) {
            c.add(federation_counter::late_conflicts);
            if (v.relay == id_)
                c.add(federation_counter::conflicts);
            return verdict::dropped;
        }
        const bool ok = engine.handle_federated({v.kind == envelope_kind::presence, v.blob, v.origin, r.ordered}, now,
                                                out, events);
        c.add(ok ? federation_counter::delivered : federation_counter::refused);
        return ok ? verdict::delivered : verdict::refused;
    }

    Relay& relay_;
    Link& link_;
    relay_id id_;
    envelope_auth<Suite> auth_;
    replay_guard replay_;
    std::uint64_t counter_ = 0;
    std::uint64_t expected_ = 0; // the last ordered reception this relay did not refuse (strand only)
    std::size_t max_blob_;
    std::vector<std::byte> scratch_, buf_;
    std::atomic<bool> posted_{false};
};

} // namespace tlvcast::federation
