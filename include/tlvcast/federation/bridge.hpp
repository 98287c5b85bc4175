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
#include <chrono>
#include <cstddef>
#include <vector>

namespace tlvcast::federation {

/// How a bridge catches up when its relay starts (docs/FEDERATION.md, "Catch-up"). The order's
/// history is the link's part (nats_options::catch_up, memory_link's `catch_up`).
struct bridge_options {
    /// At start, ask the other relays who lives at theirs (envelope_kind::presence_request): their
    /// answers fill the relay's remote set, without which its founding rule takes a group whose
    /// members all live elsewhere for dead, and a local joiner's founding commit, stored in the
    /// order, would be applied here only.
    bool ask_presence = false;
    /// For this long after start, while the order was not known to be empty, no commit of a
    /// member here is offered to the order (counted as a conflict; the member repeats it): the
    /// answers are on their way. 0: none.
    std::chrono::milliseconds settle{0};
};

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
           std::size_t max_blob = default_max_blob, bridge_options opt = {})
        : relay_(relay), link_(link), id_(id), auth_(key), max_blob_(max_blob), opt_(opt)
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
        started_ = std::chrono::steady_clock::now();
        relay_.post_to_engine([this](auto& engine, time_point, datagram_batch&, std::vector<core::relay_event>&) {
            engine.set_federation([this](const core::federated_blob& b) { publish(b); }, orders_commits());
            if (opt_.ask_presence)
                ask_presence();
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
    // On the strand: "who lives at your relays?", once at start.
    void ask_presence()
    {
        static constexpr std::byte request[1]{std::byte{0}};
        std::error_code ec;
        write_envelope(envelope_kind::presence_request, id_, ++counter_, 0, crypto::fingerprint{}, request, scratch_,
                       ec, max_blob_);
        if (ec)
            return;
        auth_.seal(scratch_);
        link_.publish(scratch_);
    }

    // On the strand: one envelope for the link, which queues it without waiting.
    void publish(const core::federated_blob& b)
    {
        // A commit for the order carries, under the tag, the position it continues: the state the
        // engine checked it against is the one the ordered receptions up to expected_ made.
        const bool ordered = b.ordered && ordering_link<Link>;
        if (ordered && !in_step()) {
            // Its state is not the order's (it started after the order's beginning and applied no
            // commit from it since, or it refused one): whatever it checked this commit against,
            // the others would not apply it. Refused as a conflict, as the order would (the
            // expectation alone cannot tell: junk moves it on: review_order2.cpp).
            link_.counters().add(federation_counter::conflicts);
            return;
        }
        std::error_code ec;
        const envelope_kind kind = ordered       ? envelope_kind::ordered
                                   : !b.presence ? envelope_kind::member_blob
                                   : b.refresh   ? envelope_kind::presence_answer
                                                 : envelope_kind::presence;
        write_envelope(kind, id_, ++counter_, ordered ? expected_ : 0, b.origin, b.blob, scratch_, ec, max_blob_);
        if (ec || (b.ordered && !ordered)) { // no order to put a commit in
            link_.counters().add(federation_counter::publish_errors);
            return;
        }
        auth_.seal(scratch_);
        if (!ordered) {
            link_.publish(scratch_);
            return;
        }
        // Stored only if nothing was ordered since (else it conflicts, and its member commits again
        // once the winner reached it).
        if constexpr (ordering_link<Link>)
            link_.publish_ordered(scratch_, expected_);
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
            if (r.gap) // it missed what the order stored: its state may lack a commit (catch-up: FEDERATION.md)
                step_ = step::out;
            const verdict v = deliver(engine, r, now, out, events);
            if (v != verdict::refused && r.ordered)
                expected_ = r.seq;
            if (r.ordered && v != verdict::dropped) // a commit applied puts it in step, a refused one out
                step_ = v == verdict::delivered ? step::in : step::out;
            else if (r.history && step_ == step::unknown) // junk from the order's start: the state is still its own
                step_ = step::in;
        }
        schedule(); // more than one pass's worth: the rest after the UDP path had its turn
    }

    // In step with the order: it applied the last commit it took from it, or it has taken none and
    // the order was empty when its link started reading it.
    bool in_step()
    {
        if constexpr (ordering_link<Link>) {
            // Just started, the other relays' presence still coming (bridge_options::settle): a
            // founding rule that has not heard of them would let a local joiner found a second group.
            if (opt_.settle.count() > 0 && std::chrono::steady_clock::now() - started_ < opt_.settle &&
                link_.order_was_empty() != std::optional<bool>(true))
                return false;
            if (step_ != step::unknown)
                return step_ == step::in;
            // Not known yet (the stream not set up): a commit expecting nothing is stored only if
            // the order is empty, which is being in step; once anything was received, not in step.
            return link_.order_was_empty().value_or(expected_ == 0);
        } else {
            return false;
        }
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
        // A commit off the order, or anything else on it: moved there by someone else (a relay
        // writes each kind to its own subject). Dropped here as at every relay, before the replay
        // guard sees its counter: a refused commit copied off the order before its second offer
        // would make that offer a replay everywhere (tests/federation/review_order2.cpp).
        if ((v.kind == envelope_kind::ordered) != r.ordered) {
            c.add(federation_counter::misplaced);
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
        // One guard per route: a relay's counters grow within each (one publisher's order on one
        // subject, in one stream), not across them: its commits come through their own stream, and
        // a message it published after a commit may come first (a shared guard then dropped the
        // commit as a replay: e2e_federation). An envelope on the other route is misplaced, above.
        if (!(r.ordered ? replay_ordered_ : replay_).accept(v.relay, v.counter)) {
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
        if (v.kind == envelope_kind::presence_request) {
            if (v.blob.size() != 1 || v.blob[0] != std::byte{0} || v.origin != crypto::fingerprint{}) {
                c.add(federation_counter::malformed);
                return verdict::dropped;
            }
            c.add(federation_counter::presence_asked);
            if constexpr (requires { engine.republish_presence(); })
                c.add(federation_counter::presence_answers, engine.republish_presence());
            return verdict::delivered;
        }
        // A history reception is a commit stored before the link started; anything else there is
        // what every reader drops alike (the engine refuses it: the expectation stays).
        core::federated_blob in;
        in.presence = v.kind == envelope_kind::presence || v.kind == envelope_kind::presence_answer;
        in.refresh = v.kind == envelope_kind::presence_answer;
        in.blob = v.blob;
        in.origin = v.origin;
        in.ordered = r.ordered;
        in.history = r.history;
        const bool ok = engine.handle_federated(in, now, out, events);
        c.add(ok ? federation_counter::delivered : federation_counter::refused);
        if (ok && r.history)
            c.add(federation_counter::caught_up);
        return ok ? verdict::delivered : verdict::refused;
    }

    Relay& relay_;
    Link& link_;
    relay_id id_;
    envelope_auth<Suite> auth_;
    replay_guard replay_;                  // the group subject's
    replay_guard replay_ordered_{replay_guard::default_max_relays, true}; // the order's: evicts (review_catch_up.cpp)
    std::uint64_t counter_ = 0;
    std::uint64_t expected_ = 0; // the last ordered reception this relay did not refuse (strand only)
    enum class step { unknown, in, out };
    step step_ = step::unknown; // strand only: see in_step()
    std::size_t max_blob_;
    bridge_options opt_;
    std::chrono::steady_clock::time_point started_{}; // start()
    std::vector<std::byte> scratch_, buf_;
    std::atomic<bool> posted_{false};
};

} // namespace tlvcast::federation
