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

    /// Installs the engine's federation sink (on the strand) and starts taking receptions.
    void start()
    {
        relay_.post_to_engine([this](auto& engine, time_point, datagram_batch&, std::vector<core::relay_event>&) {
            engine.set_federation([this](const core::federated_blob& b) { publish(b); });
        });
        link_.set_notify([this] { schedule(); });
        schedule(); // what arrived before start()
    }

    federation_counters& counters() noexcept { return link_.counters(); }

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
        link_.publish(scratch_);
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
        auto& c = link_.counters();
        for (std::size_t i = 0; i < max_per_pass; ++i) {
            if (!link_.poll(buf_))
                return;
            std::error_code ec;
            const envelope_view v = read_envelope(buf_, ec, max_blob_);
            if (ec) {
                c.add(federation_counter::malformed);
                continue;
            }
            if (!auth_.verify(v)) {
                c.add(federation_counter::unauthenticated);
                continue;
            }
            if (v.relay == id_) { // our own, back through some route: never delivered twice
                c.add(federation_counter::own);
                continue;
            }
            if (!replay_.accept(v.relay, v.counter)) {
                c.add(federation_counter::replayed);
                continue;
            }
            const bool ok = engine.handle_federated({v.kind == envelope_kind::presence, v.blob, v.origin}, now, out,
                                                    events);
            c.add(ok ? federation_counter::delivered : federation_counter::refused);
        }
        schedule(); // more than one pass's worth: the rest after the UDP path had its turn
    }

    Relay& relay_;
    Link& link_;
    relay_id id_;
    envelope_auth<Suite> auth_;
    replay_guard replay_;
    std::uint64_t counter_ = 0;
    std::size_t max_blob_;
    std::vector<std::byte> scratch_, buf_;
    std::atomic<bool> posted_{false};
};

} // namespace tlvcast::federation
