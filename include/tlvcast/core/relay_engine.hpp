// relay_engine: the relay's protocol state machine, without I/O and single-threaded; expensive
// deliveries can leave as jobs that workers run through a pure function.
#pragma once

#include <tlvcast/core/detail/delivery_job.hpp>
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

    std::size_t client_count() const noexcept { return peers_.size(); }
    /// Jobs waiting in poll_job() or running.
    std::size_t jobs() const noexcept { return jobs_; }
    const relay_counters& counters() const noexcept { return counters_; }
    /// Lets a driver count what happens outside the engine (failed sends).
    void note(relay_counter c, std::uint64_t n = 1) noexcept { counters_.add(c, n); }
    auto fragmenter_stats() const { return fragmenter_.stats(); }
    const Cipher& cipher() const noexcept { return cipher_; }
    const relay_options& options() const noexcept { return opt_; }

private:
    struct peer {
        std::shared_ptr<session_type> session;
        time_point last_seen;
        bool connected = false;
    };

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

    bool try_handshake(const endpoint& from, const wire::tlv& t, time_point now, datagram_batch& out,
                       std::vector<relay_event>& events)
    {
        std::optional<session_type> registered;
        std::error_code ec;
        const auto known = peers_.find(from);
        const session_type* current = known != peers_.end() ? known->second.session.get() : nullptr;
        const std::size_t mark = out.size();
        const std::size_t byte_mark = out.mark();
        if (!cipher_.relay_handshake(from, t, now, out, current, registered, ec))
            return false;
        if (ec) {
            counters_.add(relay_counter::handshake_errors);
            return true;
        }
        if (registered) {
            auto it = peers_.find(from);
            if (it == peers_.end()) {
                const bool full = peers_.size() >= opt_.max_clients;
                if (full || !take_source(from)) {
                    // Take back the cipher's answer: the client must not believe it registered.
                    out.truncate(mark, byte_mark);
                    counters_.add(full ? relay_counter::clients_full : relay_counter::source_full);
                    return true;
                }
                it = peers_.emplace(from, peer{}).first;
                if (peers_.size() == 1)
                    next_sweep_ = now + sweep_period();
                counters_.add(relay_counter::registrations);
                events.push_back({relay_event::kind::registered, from, 0, cipher_.identity(*registered)});
            }
            // A new session object: a job still holding the old one finishes with it.
            it->second.session = std::make_shared<session_type>(std::move(*registered));
            it->second.last_seen = now;
        } else if (auto it = peers_.find(from); it != peers_.end()) {
            it->second.last_seen = now;
        }
        return true;
    }

    // Authenticates a record before anything else touches state: forgeries cost symmetric work only.
    void receive_record(const endpoint& from, const wire::tlv& outer, time_point now, datagram_batch& out,
                        std::vector<relay_event>& events)
    {
        if constexpr (Cipher::has_record_layer) {
            const auto it = peers_.find(from);
            if (it == peers_.end()) {
                counters_.add(relay_counter::unregistered);
                return;
            }
            std::error_code ec;
            cipher_.unprotect(*it->second.session, outer.value, record_, ec);
            if (ec) {
                counters_.add(relay_counter::undecryptable);
                return;
            }
            const wire::tlv t = wire::read_outer(record_, ec);
            if (ec) {
                counters_.add(relay_counter::malformed);
                return;
            }
            it->second.last_seen = now;
            dispatch(from, it->second, t, now, out, events, false);
        }
    }

    // An inner TLV of a registered peer (inside a record, or outer without a record layer).
    void dispatch(const endpoint& from, peer& p, const wire::tlv& t, time_point now, datagram_batch& out,
                  std::vector<relay_event>& events, bool reassembled)
    {
        std::error_code ec;
        bool complete = false;
        switch (detail::route_of<Fragmenter>(t.type())) {
        case detail::route::keepalive: return;
        case detail::route::fragment:
            if (reassembled)
                break;
            split_.clear();
            complete = fragmenter_.reassemble(from, t.value, now, split_, message_, ec);
            // Its answer (an ACK, a NACK) leaves now, before on_message() may reuse split_.
            protect_split(out);
            if (ec)
                counters_.add(relay_counter::reassembly_dropped);
            if (complete)
                on_message(from, p, now, out, events);
            return;
        case detail::route::fragmenter_control:
            if constexpr (fragment::control_fragmenter<Fragmenter>) {
                split_.clear();
                complete = fragmenter_.handle_control(from, t, now, split_, message_, ec);
                protect_split(out);
                if (ec)
                    counters_.add(relay_counter::reassembly_dropped);
                else if (complete)
                    on_message(from, p, now, out, events);
            }
            return;
        case detail::route::cipher:
            // A message small enough to travel whole.
            if (reassembled)
                break;
            message_.assign(t.bytes().begin(), t.bytes().end());
            on_message(from, p, now, out, events);
            return;
        }
        counters_.add(relay_counter::unexpected_type);
    }

    // A whole message blob from `from`: opened (reseal) or classified (opaque), then delivered.
    void on_message(const endpoint& from, peer& p, time_point now, datagram_batch& out,
                    std::vector<relay_event>& events)
    {
        if constexpr (opaque) {
            std::error_code ec;
            const crypto::message_kind kind = cipher_.classify(*p.session, message_, ec);
            if (ec) {
                counters_.add(relay_counter::undecryptable);
                return;
            }
            counters_.add(relay_counter::messages_in);
            if (kind != crypto::message_kind::data)
                return on_control(from, p.session, kind, now, out, events);
            events.push_back({relay_event::kind::message, from, message_.size(), cipher_.identity(*p.session)});
            forward_opaque(from, now, out);
        } else {
            if constexpr (crypto::cheap_delivery<Cipher>) {
                deliver_inline(from, p.session, now, out, events);
            } else {
                if (jobs_ >= opt_.max_jobs) {
                    counters_.add(relay_counter::overloaded);
                    return;
                }
                auto job = take_job();
                job->from = from;
                job->sender = p.session;
                job->blob.swap(message_);
                job->recipients.clear();
                for (const auto& [ep, q] : peers_)
                    if (ep != from)
                        job->recipients.push_back({ep, q.session});
                ++jobs_;
                if (opt_.defer_jobs) {
                    ready_.push_back(std::move(job));
                } else {
                    job->run(cipher_);
                    complete(std::move(job), now, out, events);
                }
            }
        }
    }

    // Reseal where the message arrived: symmetric work costs less than a hand-off.
    void deliver_inline(const endpoint& from, const std::shared_ptr<session_type>& sender, time_point now,
                        datagram_batch& out, std::vector<relay_event>& events)
    {
        std::error_code ec;
        const crypto::message_kind kind = cipher_.open(*sender, message_, plaintext_, ec);
        if (ec) {
            counters_.add(relay_counter::undecryptable);
            return;
        }
        counters_.add(relay_counter::messages_in);
        if (kind != crypto::message_kind::data)
            return on_control(from, sender, kind, now, out, events);
        events.push_back({relay_event::kind::message, from, plaintext_.size(), cipher_.identity(*sender)});
        for (auto& [ep, q] : peers_) {
            if (ep == from)
                continue;
            cipher_.seal_relayed(*q.session, *sender, from, plaintext_, blob_, ec);
            if (ec)
                counters_.add(relay_counter::send_errors);
            else if (send_blob(ep, *q.session, blob_, now, out))
                counters_.add(relay_counter::messages_relayed);
        }
    }

    void finish_job(job_type& job, time_point now, datagram_batch& out, std::vector<relay_event>& events)
    {
        if (job.open_error) {
            counters_.add(relay_counter::undecryptable);
            return;
        }
        counters_.add(relay_counter::messages_in);
        if (job.kind != crypto::message_kind::data)
            return on_control(job.from, job.sender, job.kind, now, out, events);
        events.push_back({relay_event::kind::message, job.from, job.plaintext_size, cipher_.identity(*job.sender)});
        for (std::size_t i = 0; i < job.recipients.size(); ++i) {
            const auto& r = job.recipients[i];
            if (job.failed[i]) {
                counters_.add(relay_counter::send_errors);
                continue;
            }
            if (send_blob(r.to, *r.session, job.sealed[i], now, out))
                counters_.add(relay_counter::messages_relayed);
        }
    }

    // join / leave: presence on state transitions only.
    // `session` by value: a leave erases the peer entry that the caller's reference may point into.
    void on_control(const endpoint& from, std::shared_ptr<session_type> session, crypto::message_kind kind,
                    time_point now, datagram_batch& out, std::vector<relay_event>& events)
    {
        auto it = peers_.find(from);
        // A job that completes after its sender registered again speaks for the old session only.
        if (it != peers_.end() && it->second.session != session)
            it = peers_.end();
        if (kind == crypto::message_kind::join) {
            if (it == peers_.end() || it->second.connected)
                return;
            it->second.connected = true;
            events.push_back({relay_event::kind::connected, from, 0, cipher_.identity(*session)});
            announce(from, session.get(), true, now, out);
        } else {
            if (it == peers_.end())
                return;
            const bool was_connected = it->second.connected;
            peers_.erase(it);
            fragmenter_.forget(from);
            release_source(from);
            events.push_back({relay_event::kind::disconnected, from, 0, cipher_.identity(*session)});
            if (was_connected)
                announce(from, session.get(), false, now, out);
        }
    }

    void announce(const endpoint& about, const session_type* about_session, bool connected, time_point now,
                  datagram_batch& out)
    {
        std::error_code ec;
        for (auto& [ep, q] : peers_) {
            if (ep == about)
                continue;
            cipher_.presence(*q.session, connected, about_session, about, blob_, ec);
            if (!ec && send_blob(ep, *q.session, blob_, now, out))
                counters_.add(relay_counter::presence_sent);
            else if (ec)
                counters_.add(relay_counter::send_errors);
        }
    }

    // One blob to one recipient: split, then protected under the recipient's record layer (its
    // `session`: a job's may be older than the table's). What the Fragmenter addressed elsewhere
    // (control datagrams) goes under its destination's. Without a record layer the Fragmenter
    // splits straight into `out` (no copy). False when the message did not leave (counted).
    bool send_blob(const endpoint& to, session_type& session, std::span<const std::byte> blob, time_point now,
                   datagram_batch& out)
    {
        std::error_code ec;
        if constexpr (Cipher::has_record_layer) {
            split_.clear();
            fragmenter_.split(blob, to, now, split_, ec);
            std::error_code refused; // the rest of a message the record layer refused would not help
            for (std::size_t i = 0; i < split_.size(); ++i) {
                const auto d = split_[i];
                if (d.to != to)
                    protect_to_peer(d, out);
                else if (!refused)
                    detail::protect_one(cipher_, session, to, d.bytes, record_, out, refused);
            }
            if (!ec)
                ec = refused;
        } else {
            (void)session;
            fragmenter_.split(blob, to, now, out, ec);
        }
        if (ec)
            counters_.add(relay_counter::send_errors);
        return !ec;
    }

    // The Fragmenter's own datagrams (split_), each under its destination's record layer.
    void protect_split(datagram_batch& out)
    {
        for (std::size_t i = 0; i < split_.size(); ++i)
            protect_to_peer(split_[i], out);
    }

    // One inner datagram to a registered peer, under its current session; counted when it cannot leave.
    void protect_to_peer(const datagram_batch::entry& d, datagram_batch& out)
    {
        std::error_code ec;
        const auto it = peers_.find(d.to);
        if (it == peers_.end() || !detail::protect_one(cipher_, *it->second.session, d.to, d.bytes, record_, out, ec))
            counters_.add(relay_counter::send_errors);
    }

    // Opaque forward: one split, then every recipient's entry views the same bytes (no copy).
    // Limitation: the Fragmenter sees one split() for all recipients, addressed to the sender
    // (`from`), so it cannot keep per-recipient repair state (who got what, whom to retransmit
    // to or send a repair symbol); the control datagrams it appends here leave once, each to its
    // own destination inside a record (clients take Fragmenter control TLVs only from records),
    // never to every recipient. Per-recipient repair of forwarded messages needs a split per
    // recipient or a group-aware Fragmenter (docs/DESIGN.md, "One pipeline for every profile").
    void forward_opaque(const endpoint& from, time_point now, datagram_batch& out)
    {
        std::error_code ec;
        const std::size_t first = out.size();
        const std::size_t byte_mark = out.mark();
        split_.clear();
        fragmenter_.split(message_, from, now, out, ec);
        if constexpr (fragment::control_fragmenter<Fragmenter>)
            take_control(first, byte_mark, out);
        if (ec) {
            out.truncate(first, byte_mark); // nothing of a failed split goes to anyone
            counters_.add(relay_counter::send_errors);
            protect_split(out);
            return;
        }
        const std::size_t count = out.size() - first;
        bool first_recipient = true;
        for (const auto& [ep, q] : peers_) {
            if (ep == from)
                continue;
            if (first_recipient) {
                for (std::size_t i = 0; i < count; ++i)
                    out.retarget(first + i, ep);
                first_recipient = false;
            } else {
                for (std::size_t i = 0; i < count; ++i)
                    out.repeat(first + i, ep);
            }
            counters_.add(relay_counter::messages_relayed);
        }
        if (first_recipient) // nobody to forward to
            out.truncate(first, byte_mark);
        protect_split(out);
    }

    // Moves the Fragmenter's control datagrams (single TLVs of its control types) that a split
    // appended after out[first] into split_, keeping the message's datagrams in order. Copies
    // only when there is one.
    void take_control(std::size_t first, std::size_t byte_mark, datagram_batch& out)
    {
        const auto is_control = [](std::span<const std::byte> d) {
            std::error_code ec;
            const wire::tlv t = wire::read_outer(d, ec);
            return !ec && fragment::handles_control<Fragmenter>(t.type());
        };
        std::size_t i = first;
        while (i < out.size() && !is_control(out[i].bytes))
            ++i;
        if (i == out.size())
            return;
        moved_.clear();
        for (std::size_t j = first; j < out.size(); ++j)
            moved_.push(out[j].to, out[j].bytes);
        out.truncate(first, byte_mark);
        for (std::size_t j = 0; j < moved_.size(); ++j)
            (is_control(moved_[j].bytes) ? split_ : out).push(moved_[j].to, moved_[j].bytes);
    }

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
    std::unordered_map<endpoint, std::size_t> per_source_;
    time_point next_sweep_ = no_timer;
    std::deque<std::unique_ptr<job_type>> ready_;
    std::vector<std::unique_ptr<job_type>> free_;
    std::size_t jobs_ = 0;
    relay_counters counters_;
    // Reused buffers: no allocation per datagram once they have grown.
    std::vector<std::byte> record_, message_, blob_, plaintext_;
    datagram_batch split_, moved_;
};

} // namespace tlvcast::core
