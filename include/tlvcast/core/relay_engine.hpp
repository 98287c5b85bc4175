// SPDX-License-Identifier: BSL-1.0
// relay_engine: the relay's protocol state machine, without I/O and single-threaded; expensive
// deliveries can leave as jobs that workers run through a pure function.
#pragma once

#include <tlvcast/core/detail/delivery_job.hpp>
#include <tlvcast/core/detail/fanout_plan.hpp>
#include <tlvcast/core/detail/pipeline.hpp>
#include <tlvcast/core/events.hpp>
#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/fragment/concepts.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tlvcast::core {

/// The relay's settings; defaults follow the seed profile.
struct relay_options {
    duration client_timeout = std::chrono::seconds(15); ///< silence after which a client is gone
    std::size_t max_clients = 4096;                     ///< registrations beyond this are refused and counted
    std::size_t max_clients_per_source = 256;           ///< registered clients per IP address (any port)
    /// false: handle() runs every delivery itself. true: deliveries that are expensive (see
    /// crypto::cheap_delivery) wait as jobs for poll_job(); the driver runs them on workers and
    /// hands them back to complete().
    bool defer_jobs = false;
    std::size_t max_jobs = 4096; ///< jobs waiting or running; beyond, messages are dropped (overloaded)
    /// Opaque forwarding with a repairing Fragmenter: false sends unicast peers one shared stream,
    /// the same bytes to each, bare (no crypto or copy per recipient); true seals a stream of its
    /// own into each one's records (hides the blobs' headers from the path, one seal per recipient).
    bool seal_unicast = false;
};

/// What a federated relay hands to its federation (docs/FEDERATION.md): a blob one of its members
/// sent and the relay accepted and forwarded (`presence` false), or a presence blob the relay made
/// about one of its members; `origin` is that member's identity. The view lives for the call only.
/// `ordered` (a federation that orders commits, set_federation): to the sink, a commit this relay
/// checked but did not apply, for the federation to order; to handle_federated, a blob that came
/// through that order (the only way a commit is then applied). `history` (to handle_federated, with
/// `ordered`): a commit the order stored before this relay started, applied to rebuild the group's
/// state and forwarded to no member (catch-up). `refresh` (presence only): the sink's presence
/// answers a relay that asked who lives here (republish_presence); to handle_federated, such an
/// answer: taken into the Cipher's view of who is present, forwarded to no member (they heard it
/// when it happened).
struct federated_blob {
    bool presence = false;
    std::span<const std::byte> blob;
    crypto::fingerprint origin{};
    bool ordered = false;
    bool history = false;
    bool refresh = false;
};

/// The relay's protocol engine over a Cipher (relay side) and a Fragmenter. Like quinn-proto's
/// Connection it is single-threaded: call every member from one thread or strand. Its only
/// concurrent work is a delivery_job, which reads nothing of the engine while it runs.
/// Every datagram follows one pipeline: inbound, record unprotect -> the Fragmenter (FRAGMENTs and
/// its control TLVs) -> the Cipher (open or classify); outbound, the Cipher's blob -> Fragmenter
/// split -> record protect for each recipient (reseal), or one unchanged blob for all (opaque).
/// Whatever a Fragmenter call appends (its split(), reassemble(), handle_control() and on_timer()
/// output: ACKs, NACKs, repairs) leaves in the same engine call, each datagram under its
/// destination's record layer.
template <class Cipher, class Fragmenter>
class relay_engine {
    // A repairing Fragmenter takes a peer with a port for authenticated (its NACKs make it send):
    // only records make that true.
    static_assert(!fragment::per_destination<Fragmenter> || Cipher::has_record_layer,
                  "a repairing Fragmenter needs a Cipher with a record layer");

    static_assert(crypto::relay_cipher<Cipher>,
                  "Cipher does not model tlvcast::crypto::relay_cipher (see crypto/concepts.hpp)");
    static_assert(fragment::fragmenter<Fragmenter>,
                  "Fragmenter does not model tlvcast::fragment::fragmenter (see fragment/concepts.hpp)");

public:
    using session_type = typename Cipher::peer_session;
    using job_type = detail::delivery_job<Cipher>;
    static constexpr bool opaque = Cipher::forwarding == crypto::forwarding::opaque;

    relay_engine(Cipher cipher, Fragmenter fragmenter, relay_options options = {})
        : cipher_(std::move(cipher)), fragmenter_(std::move(fragmenter)), opt_(options)
    {
    }

    /// Handles one datagram from `from`. Appends datagrams to `out` and events to `events`.
    void handle(const endpoint& from, std::span<const std::byte> datagram, time_point now, datagram_batch& out,
                std::vector<relay_event>& events)
    {
        const std::size_t before = out.size();
        counters_.add(relay_counter::datagrams_in);
        counters_.add(relay_counter::bytes_in, datagram.size());
        std::error_code ec;
        const wire::tlv t = wire::read_outer(datagram, ec);
        if (ec) {
            counters_.add(relay_counter::malformed);
        } else if (is_record(t)) {
            receive_record(from, t, now, out, events);
        } else if (auto origin_ec = wire::check_origin(t, wire::origin::client)) {
            if (!try_handshake(from, t, now, out, events))
                counters_.add(origin_ec == errc::unknown_type ? relay_counter::unknown_type
                                                              : relay_counter::unexpected_type);
        } else if (!try_handshake(from, t, now, out, events)) {
            // With a record layer, everything but the handshake counts only inside authenticated records.
            if constexpr (Cipher::has_record_layer)
                counters_.add(relay_counter::unexpected_type);
            else if (peer* p = find_peer(from, now))
                dispatch(from, *p, t, now, out, events, false);
        }
        count_out(out, before);
    }

    /// Times out silent clients (presence to the others) and runs the Fragmenter's timers.
    void on_timer(time_point now, datagram_batch& out, std::vector<relay_event>& events)
    {
        const std::size_t before = out.size();
        if (now >= next_sweep_) {
            next_sweep_ = now + sweep_period();
            std::vector<std::pair<endpoint, std::shared_ptr<session_type>>> gone;
            for (auto it = peers_.begin(); it != peers_.end();) {
                if (now - it->second.last_seen >= opt_.client_timeout) {
                    // Only peers that announced themselves are announced gone: a registration
                    // flood that times out must not turn into a presence storm.
                    if (it->second.connected)
                        gone.emplace_back(it->first, it->second.session);
                    counters_.add(relay_counter::timeouts);
                    fragmenter_.forget(it->first);
                    release_source(it->first);
                    it = peers_.erase(it);
                    fanout_.stale = true;
                } else {
                    ++it;
                }
            }
            for (const auto& [who, session] : gone) {
                events.push_back({relay_event::kind::timeout, who, 0, cipher_.identity(*session)});
                announce(who, session.get(), false, now, out);
            }
        }
        // The Cipher's own timers, when it has any (pending handshakes expiring, say).
        if constexpr (requires { cipher_.on_timer(now, out); })
            cipher_.on_timer(now, out);
        split_.clear();
        fragmenter_.on_timer(now, split_);
        protect_split(out);
        drain_fragmenter(now, out, events);
        count_out(out, before);
    }

    /// When on_timer() next has work: the Fragmenter's next deadline, and a sweep for silent
    /// clients every quarter of client_timeout while there are clients.
    time_point next_timer() const
    {
        time_point t = fragmenter_.next_timer();
        if (!peers_.empty())
            t = std::min(t, next_sweep_);
        if constexpr (requires { cipher_.next_timer(); })
            t = std::min(t, cipher_.next_timer());
        return t;
    }

    /// With defer_jobs: takes the oldest waiting job (false when none). Run it with
    /// job.run(engine.cipher()) on any thread, then give it back with complete().
    bool poll_job(std::unique_ptr<job_type>& job)
    {
        if (ready_.empty())
            return false;
        job = std::move(ready_.front());
        ready_.pop_front();
        return true;
    }

    /// Finishes a job that ran: the deliveries leave, control messages change the peer table.
    void complete(std::unique_ptr<job_type> job, time_point now, datagram_batch& out, std::vector<relay_event>& events)
    {
        const std::size_t before = out.size();
        --jobs_;
        finish_job(*job, now, out, events);
        recycle(std::move(job));
        count_out(out, before);
    }

    /// Federation (opaque forwarding only): `sink` gets every blob this relay accepted from its
    /// members and forwarded, and every presence blob it made, on the engine's thread; it must not
    /// block (it queues). Empty: no federation. Never called for what handle_federated() delivered.
    /// `ordered_commits`: the federation orders commits (a Cipher with set_external_order): a
    /// member's commit is checked, handed to the sink as `ordered` and forwarded to nobody; it is
    /// applied and forwarded when handle_federated() gets it back in the federation's order.
    void set_federation(std::function<void(const federated_blob&)> sink, bool ordered_commits = false)
    {
        federate_ = std::move(sink);
        if constexpr (requires { cipher_.set_external_order(true); })
            cipher_.set_external_order(ordered_commits && federate_);
    }

    /// A blob another relay published: checked by the Cipher's classify_federated(), then
    /// delivered to every member as if a local member had sent it (presence to each member). False
    /// when the Cipher refused it (counted as refused). Never handed back to the federation sink.
    bool handle_federated(const federated_blob& in, time_point now, datagram_batch& out,
                          std::vector<relay_event>& events);

    /// Hands the federation sink, again, the presence of every member that joined here and is
    /// still connected, marked `refresh`: another relay (one that just started) asks who lives
    /// here, since its founding rule must not take the group for dead. Returns how many.
    std::size_t republish_presence();

    std::size_t client_count() const noexcept { return peers_.size(); }
    /// Jobs waiting in poll_job() or running.
    std::size_t jobs() const noexcept { return jobs_; }
    const relay_counters& counters() const noexcept { return counters_; }
    /// Lets a driver count what happens outside the engine (failed sends).
    void note(relay_counter c, std::uint64_t n = 1) noexcept { counters_.add(c, n); }
    auto fragmenter_stats() const { return fragmenter_.stats(); }
    const Fragmenter& fragmenter() const noexcept { return fragmenter_; }
    const Cipher& cipher() const noexcept { return cipher_; }
    const relay_options& options() const noexcept { return opt_; }

private:
    struct peer {
        std::shared_ptr<session_type> session;
        time_point last_seen;
        bool connected = false;
        // Order of events at this relay (peer_order_): this session's last handshake, and when its
        // join was last announced. A newcomer heard the joins announced after it registered
        // (introduce).
        std::uint64_t registered = 0, announced = 0;
        // The Cipher's remote announcements taken at its last handshake (the federated ones it
        // was forwarded since are not introduced again).
        std::uint64_t remote_seen = 0;
    };
    std::uint64_t peer_order_ = 0;

    duration sweep_period() const
    {
        return std::clamp<duration>(opt_.client_timeout / 4, std::chrono::milliseconds(1), std::chrono::seconds(1));
    }

    void count_out(const datagram_batch& out, std::size_t before)
    {
        counters_.add(relay_counter::datagrams_out, out.size() - before);
        for (std::size_t i = before; i < out.size(); ++i)
            counters_.add(relay_counter::bytes_out, out[i].bytes.size());
    }

    static bool is_record(const wire::tlv& t) noexcept
    {
        if constexpr (Cipher::has_record_layer)
            return t.type() == Cipher::record_type;
        else
            return false;
    }

    peer* find_peer(const endpoint& from, time_point now)
    {
        const auto it = peers_.find(from);
        if (it == peers_.end()) {
            counters_.add(relay_counter::unregistered);
            return nullptr;
        }
        it->second.last_seen = now;
        return &it->second;
    }

    // Clients per IP address, so that one host cannot fill the table from many ports.
    bool take_source(const endpoint& from)
    {
        auto& n = per_source_[from.without_port()];
        if (n >= opt_.max_clients_per_source)
            return false;
        ++n;
        return true;
    }
    void release_source(const endpoint& from)
    {
        const auto it = per_source_.find(from.without_port());
        if (it != per_source_.end() && --it->second == 0)
            per_source_.erase(it);
    }

    // ---- the peer table (impl/relay_peers.hpp) ----

    bool try_handshake(const endpoint& from, const wire::tlv& t, time_point now, datagram_batch& out,
                       std::vector<relay_event>& events);

    // Authenticates a record before anything else touches state: forgeries cost symmetric work only.
    void receive_record(const endpoint& from, const wire::tlv& outer, time_point now, datagram_batch& out,
                        std::vector<relay_event>& events);

    // An inner TLV of a registered peer (inside a record, or outer without a record layer).
    void dispatch(const endpoint& from, peer& p, const wire::tlv& t, time_point now, datagram_batch& out,
                  std::vector<relay_event>& events, bool reassembled);

    // join / leave: presence on state transitions only.
    // `session` by value: a leave erases the peer entry that the caller's reference may point into.
    void on_control(const endpoint& from, std::shared_ptr<session_type> session, crypto::message_kind kind,
                    time_point now, datagram_batch& out, std::vector<relay_event>& events);

    void tell_start(const endpoint& member, session_type& session, const endpoint& stream, datagram_batch& out);
    void announce(const endpoint& about, const session_type* about_session, bool connected, time_point now,
                  datagram_batch& out);
    // To a peer that just joined: the peers that joined before it and are not members yet.
    void introduce(const endpoint& to, session_type& session, const peer& p, time_point now, datagram_batch& out);

    // ---- delivery (impl/relay_delivery.hpp) ----

    // A whole message blob from `from`: opened (reseal) or classified (opaque), then delivered.
    void on_message(const endpoint& from, peer& p, time_point now, datagram_batch& out,
                    std::vector<relay_event>& events);

    // Reseal where the message arrived: symmetric work costs less than a hand-off.
    void deliver_inline(const endpoint& from, const std::shared_ptr<session_type>& sender, time_point now,
                        datagram_batch& out, std::vector<relay_event>& events);

    void finish_job(job_type& job, time_point now, datagram_batch& out, std::vector<relay_event>& events);

    // One blob to one recipient: split, then protected under the recipient's record layer (its
    // `session`: a job's may be older than the table's). What the Fragmenter addressed elsewhere
    // (control datagrams) goes under its destination's. Without a record layer the Fragmenter
    // splits straight into `out` (no copy). False when the message did not leave (counted).
    bool send_blob(const endpoint& to, session_type& session, std::span<const std::byte> blob, time_point now,
                   datagram_batch& out);

    // The Fragmenter's own datagrams (split_), each under its destination's record layer.
    void protect_split(datagram_batch& out);

    // One inner datagram to a registered peer, under its current session; counted when it cannot leave.
    void protect_to_peer(const datagram_batch::entry& d, datagram_batch& out);

    // Opaque forward: one split, then every recipient's entry views the same bytes (no copy).
    // The Fragmenter sees one split() for all recipients, addressed to the sender (`from`); the
    // control datagrams it appends here leave once, each to its own destination inside a record.
    // A Fragmenter that numbers per destination (fragment::per_destination: repair) gets a split
    // per destination instead (forward_per_destination).
    // One unchanged blob to every peer but the sender (to_sender: the sender too).
    // `sender` null: from the federation (no local sender, nobody left out).
    void forward_opaque(const endpoint& from, const session_type* sender, time_point now, datagram_batch& out,
                        bool to_sender = false);
    // One split for the unicast peers (a shared stream, bare; or one per peer inside its records
    // with seal_unicast) and one for the delivery group, bare: streams their receivers can have repaired.
    void forward_per_destination(const endpoint& from, const session_type* sender, time_point now,
                                 datagram_batch& out, bool to_sender);
    static constexpr bool shared_unicast = requires { Fragmenter::unicast_fanout; };
    // The message to the shared stream, each datagram to every unicast peer; returns the recipients.
    std::size_t shared_split(const endpoint& from, time_point now, datagram_batch& out, bool to_sender);
    // `bytes` once, then a view of them to every unicast peer but `skip`; returns how many.
    // `sender` given: sets *to_sender when it was among them.
    std::size_t fan_out(std::span<const std::byte> bytes, const endpoint* skip, datagram_batch& out,
                        const endpoint* sender = nullptr, bool* to_sender = nullptr);
    // Messages a queuing Fragmenter completed (a repair can release several) and the gaps it gave up.
    void drain_fragmenter(time_point now, datagram_batch& out, std::vector<relay_event>& events);
    // Who forwarded blobs go to, for a Cipher with delivery groups (detail::fanout_plan).
    // `out`: where the peers that newly hear the shared stream are told where their part begins.
    void rebuild_fanout(datagram_batch& out);
    // Unicast members share one bare stream (a repairing Fragmenter, without seal_unicast).
    bool shares_stream() const noexcept { return shared_unicast && !opt_.seal_unicast; }
    // A member of the group as the Cipher knows it (every peer, for a Cipher that does not say).
    bool is_member(const session_type& s) const;
    // A NACK of the shared stream from a peer that does not receive it: answered here (true).
    bool refuse_shared_nack(const endpoint& from, const peer& p, const wire::tlv& t, datagram_batch& out);
    // A reseal Cipher's non-data kinds: join and leave; the rest need opaque forwarding.
    void on_reseal_control(const endpoint& from, const std::shared_ptr<session_type>& sender, crypto::message_kind kind,
                           time_point now, datagram_batch& out, std::vector<relay_event>& events);

    // Moves the Fragmenter's control datagrams (single TLVs of its control types) that a split
    // appended after out[first] into split_, keeping the message's datagrams in order. Copies
    // only when there is one.
    void take_control(std::size_t first, std::size_t byte_mark, datagram_batch& out);

    std::unique_ptr<job_type> take_job()
    {
        if (free_.empty())
            return std::make_unique<job_type>();
        auto j = std::move(free_.back());
        free_.pop_back();
        return j;
    }
    void recycle(std::unique_ptr<job_type> j)
    {
        j->sender.reset();
        j->recipients.clear();
        if (free_.size() < 64)
            free_.push_back(std::move(j));
    }

    [[no_unique_address]] Cipher cipher_;
    [[no_unique_address]] Fragmenter fragmenter_;
    relay_options opt_;
    std::unordered_map<endpoint, peer> peers_;
    detail::fanout_plan fanout_; // peers_ as forward_opaque sends to them (stale after a change to peers_ or the group)
    std::unordered_map<endpoint, std::size_t> per_source_;
    time_point next_sweep_ = no_timer;
    std::deque<std::unique_ptr<job_type>> ready_;
    std::vector<std::unique_ptr<job_type>> free_;
    std::size_t jobs_ = 0;
    relay_counters counters_;
    // Reused buffers: no allocation per datagram once they have grown.
    std::vector<std::byte> record_, message_, blob_, plaintext_;
    std::vector<crypto::fingerprint> introduced_; // introduce(): the identities its local pass told of
    std::vector<std::size_t> sizes_; // the messages of the blob being delivered (several for a batch)
    std::vector<std::vector<std::byte>> replies_; // answers to a request blob (relay_cipher::answer)
    datagram_batch split_, moved_;
    std::function<void(const federated_blob&)> federate_;
};

} // namespace tlvcast::core

#include <tlvcast/core/impl/relay_peers.hpp>
#include <tlvcast/core/impl/relay_delivery.hpp>
#include <tlvcast/core/impl/relay_fanout.hpp>
#include <tlvcast/core/impl/relay_federation.hpp>
