// SPDX-License-Identifier: BSL-1.0
// The NATS Link (libnats, TLVCAST_HAS_NATS): one connection to a NATS cluster, one subject per
// federated group, a publisher thread behind a bounded queue so that the relay's strand never
// waits for NATS. docs/FEDERATION.md.
#pragma once

#include <tlvcast/federation/concepts.hpp>
#include <tlvcast/federation/detail/bounded_queue.hpp>
#include <tlvcast/federation/detail/nats_connection.hpp>
#include <tlvcast/federation/detail/nats_stream.hpp>
#include <tlvcast/federation/detail/stream_consumer.hpp>
#include <tlvcast/federation/detail/tls_files.hpp>
#include <tlvcast/federation/envelope.hpp>
#include <tlvcast/federation/nats_options.hpp>

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace tlvcast::federation {

/// The Link over libnats. The constructor returns at once and connects on the link's worker thread
/// (a cluster that is down, unreachable or not answering yet is retried forever with a bounded
/// back-off, and publications wait in the bounded queue meanwhile); it throws
/// std::invalid_argument or std::runtime_error for set-up errors (no server, a bad group name, a
/// credentials file it cannot read). The destructor may wait for one connection attempt, which
/// tries every server of the list in turn (libnats's 2 s connect timeout each: 6 s for three
/// servers that accept TCP and never answer). Receptions arrive on libnats's thread, publications leave
/// from this link's own: both meet the relay through bounded queues only.
class nats_link {
public:
    explicit nats_link(nats_options o)
        : opt_(std::move(o)), subject_("tlvcast.g." + opt_.group), commit_subject_("tlvcast.c." + opt_.group),
          stream_name_("TLVCAST_" + opt_.group), commit_stream_name_("TLVCOMMITS_" + opt_.group),
          outbound_(opt_.max_outbound, opt_.max_outbound_bytes),
          inbound_(opt_.max_inbound, opt_.max_inbound_bytes), since_(detail::stream_consumer::now_utc())
    {
        if (opt_.servers.empty())
            throw std::invalid_argument("federation: no NATS server given");
        if (!valid_group_name(opt_.group))
            throw std::invalid_argument("federation: group name must be 1..64 of A-Z a-z 0-9 _ -");
        // libnats reads the credentials only when it connects, in the background: a bad path fails
        // here. Every file must be a regular one (a FIFO would block libnats for good).
        if (!opt_.credentials_file.empty())
            detail::check_regular_file(opt_.credentials_file, "NATS credentials file");
        if (opt_.tls_cert_file.empty() != opt_.tls_key_file.empty())
            throw std::invalid_argument("federation: a TLS certificate needs its key, and a key its certificate");
        if (!opt_.tls_ca_file.empty())
            detail::check_regular_file(opt_.tls_ca_file, "TLS CA file");
        if (!opt_.tls_cert_file.empty()) {
            detail::check_regular_file(opt_.tls_cert_file, "TLS certificate file");
            detail::check_key_file(opt_.tls_key_file);
        }
        check(natsOptions_Create(&no_), "options");
        const char* what = "options";
        natsStatus s = detail::set_connection_options(
            no_, opt_, {&nats_link::on_disconnected, &nats_link::on_reconnected, &nats_link::on_closed,
                        this}); // release() waits for on_closed, the last
        if (s == NATS_OK)
            s = detail::set_tls_options(no_, opt_, what);
        if (s != NATS_OK) {
            // libnats's own text says why (OpenSSL's reason for a file it could not load).
            const char* why = nats_GetLastError(nullptr);
            std::string message = std::string("federation: NATS ") + what + ": " + natsStatus_GetText(s);
            if (why != nullptr && *why != '\0')
                message += std::string(" (") + why + ")";
            natsOptions_Destroy(std::exchange(no_, nullptr));
            throw std::runtime_error(message);
        }
        // The first connection is made on the worker thread (NATS may be down or slow at a relay's
        // start); publications wait in the bounded queue until it is up (and, with JetStream, until
        // the stream is set up).
        worker_ = std::thread([this] { run_worker(); });
        publisher_ = std::thread([this] { run_publisher(); });
    }
    nats_link(const nats_link&) = delete;
    nats_link& operator=(const nats_link&) = delete;
    ~nats_link()
    {
        inbound_.close(); // a reception waiting for room gives up; so does a commit waiting for the messages before it
        {
            const std::lock_guard lock(seq_mutex_);
        }
        messages_read_.notify_all();
        set_notify({});
        set_on_state({});
        outbound_.close();
        {
            const std::lock_guard lock(ready_mutex_); // no waiter between its check and its wait
        }
        ready_.notify_all();
        if (publisher_.joinable())
            publisher_.join();
        if (worker_.joinable())
            worker_.join();
        if (commits_tender_.joinable()) // started by worker_
            commits_tender_.join();
        release();
    }

    /// Queues an envelope for the publisher thread; false (counted queue_full) when the queue is full.
    bool publish(std::span<const std::byte> bytes)
    {
        if (outbound_.try_push(bytes))
            return true;
        counters_.add(federation_counter::queue_full);
        return false;
    }
    bool poll(std::vector<std::byte>& out) { return inbound_.pop(out); }

    /// ordering_link: in JetStream mode, commits go through the stream's commit subject.
    bool orders_commits() const noexcept { return opt_.jetstream; }
    /// Whether the commit subject held no commit when the stream was set up (none before).
    std::optional<bool> order_was_empty() const noexcept
    {
        const int e = order_was_empty_.load();
        return e < 0 ? std::nullopt : std::optional<bool>(e == 1);
    }
    /// Queues a commit for the stream, stored only while the commit subject's last message is at
    /// stream sequence `expected` (else counted as a conflict); false (queue_full) when full.
    bool publish_ordered(std::span<const std::byte> bytes, std::uint64_t expected)
    {
        if (opt_.jetstream && outbound_.try_push(bytes, detail::tag_of({expected, true})))
            return true;
        counters_.add(opt_.jetstream ? federation_counter::queue_full : federation_counter::publish_errors);
        return false;
    }
    bool poll(std::vector<std::byte>& out, reception& r)
    {
        std::uint64_t tag = 0;
        if (!inbound_.pop(out, std::chrono::milliseconds(0), &tag))
            return false;
        r = detail::reception_of(tag);
        return true;
    }
    void set_notify(std::function<void()> f)
    {
        const std::lock_guard lock(notify_mutex_);
        notify_ = std::move(f);
    }
    federation_counters& counters() noexcept { return counters_; }
    const std::string& subject() const noexcept { return subject_; }

    /// Connection changes for people: f(up, server) on libnats's thread (up: connected or
    /// reconnected to `server`; down: lost). Called at once when already connected.
    void set_on_state(std::function<void(bool up, const std::string& server)> f)
    {
        const std::lock_guard lock(notify_mutex_);
        on_state_ = std::move(f);
        if (on_state_ && connected_)
            on_state_(true, server_);
    }
    /// Whether the connection is up now (any thread).
    bool connected() const noexcept { return connected_.load(std::memory_order_relaxed); }

private:
    static void check(natsStatus s, const char* what)
    {
        if (s != NATS_OK)
            throw std::runtime_error(std::string("federation: NATS ") + what + ": " + natsStatus_GetText(s));
    }
    natsStatus subscribe_core()
    {
        natsStatus s = natsConnection_Subscribe(&sub_, nc_, subject_.c_str(), &nats_link::on_message, this);
        if (s == NATS_OK) // libnats's own buffer for this subscription: bounded too (it drops beyond)
            s = natsSubscription_SetPendingLimits(sub_, static_cast<int>(opt_.max_inbound),
                                                  static_cast<int>(opt_.max_inbound_bytes));
        return s;
    }

    void release()
    {
        // The connection closes first, and its last callback has run before anything goes: no
        // callback of ours (messages, the JetStream consumer's re-creation, state changes) may run
        // on what is freed. Destroying the subscriptions first let a libnats thread still deliver
        // into them (an ASan report at a relay's SIGTERM in the JetStream e2e run).
        if (nc_) {
            natsConnection_Close(nc_);
            // libnats runs connection callbacks on a thread of its own, later: a disconnection
            // noted after this object was gone wrote into freed memory (TSan, a link destroyed
            // while connected). The closed callback comes last; bounded, should it never come.
            std::unique_lock lock(closed_mutex_);
            closed_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return closed_; });
        }
        if (sub_)
            natsSubscription_Destroy(std::exchange(sub_, nullptr));
        // Both consumers' deliveries end before either is destroyed: a delivery of one reads
        // whether the other is there (TSan: optional::reset() clears that before the destructor
        // waits for the deliveries).
        for (auto* c : {&commits_, &messages_})
            if (*c)
                (*c)->stop();
        commits_.reset();
        messages_.reset();
        if (js_)
            jsCtx_Destroy(std::exchange(js_, nullptr));
        if (nc_)
            natsConnection_Destroy(std::exchange(nc_, nullptr));
        if (no_)
            natsOptions_Destroy(std::exchange(no_, nullptr));
    }

    // Waits `d` or until the link closes; false when it closed.
    bool pause(std::chrono::milliseconds d)
    {
        std::unique_lock lock(ready_mutex_);
        return !ready_.wait_for(lock, d, [this] { return outbound_.closed(); });
    }

    // The first connection, tried until it is up (or the link closes), `reconnect_wait` doubling up
    // to `connect_backoff_max` apart, each failure counted (connect_retries). Once up, libnats
    // reconnects by itself, forever. libnats's own retry of a failed first connection
    // (RetryOnFailedConnect) is not used: libnats 3.4 gives up for good on a server that accepts
    // the TCP connection but does not answer the handshake in time (it returns
    // NATS_NOT_YET_CONNECTED with the connection already closed), and the link stayed down.
    bool connect_first()
    {
        // Never below min_connect_wait: a reconnect_wait of 0 (libnats spaces its own reconnections
        // by its jitter anyway) made this a hot loop of refused connections while NATS was down.
        std::chrono::milliseconds wait = std::max(opt_.reconnect_wait, nats_options::min_connect_wait);
        while (!outbound_.closed()) {
            natsConnection* nc = nullptr;
            if (natsConnection_Connect(&nc, no_) == NATS_OK) {
                nc_ = nc;
                note_state(nc_, true);
                return true;
            }
            counters_.add(federation_counter::connect_retries);
            if (!pause(wait))
                return false;
            wait = std::min(wait * 2, std::max(opt_.connect_backoff_max, wait));
        }
        return false;
    }

    // The link's own thread: the first connection, then the subscription (plain subjects) or the
    // stream and its consumer (JetStream); the publisher starts once they are there.
    void run_worker()
    {
        if (!connect_first())
            return;
        if (opt_.jetstream) {
            if (natsConnection_JetStream(&js_, nc_, nullptr) != NATS_OK)
                return; // out of memory: the link stays down, its publications queued until dropped
            messages_.emplace(nc_, js_, stream_name_, subject_, &nats_link::on_message, this, since_);
            commits_.emplace(nc_, js_, commit_stream_name_, commit_subject_, &nats_link::on_message, this, since_,
                             detail::stream_role::commits, opt_.catch_up);
            run_tender();
            return;
        }
        // A subscription needs no answer from the server (libnats sends it again after a reconnection).
        while (subscribe_core() != NATS_OK)
            if (!pause(std::max(opt_.reconnect_wait, nats_options::min_connect_wait)))
                return;
        set_ready();
    }
    void set_ready()
    {
        {
            const std::lock_guard lock(ready_mutex_);
            stream_ready_ = true;
        }
        ready_.notify_all();
    }

    // JetStream: the streams and their consumers, on the worker thread. Each JetStream request may wait
    // seconds while a stream's leader is elected; on the publisher's thread, a consumer re-created
    // between publications let a relay publish one envelope per failed attempt.
    void run_tender()
    {
        const auto closed = [this] { return outbound_.closed(); };
        // The messages' stream first: an older tlvcast's held the commit subject too, and gives it up
        // when updated; and a commit waits for the messages stored before it (on_message).
        if (!messages_->set_up(opt_.stream, closed) || !commits_->set_up(opt_.stream, closed))
            return;
        // The commit stream's emptiness: it removes no commit (no age limit, DiscardNew), so empty
        // means no commit was ever stored (or an operator purged it). When commits shared the
        // group's limits, ones that aged out or were pushed out left it empty too, and a relay that
        // started then forked the order (review_order3.cpp).
        for (int i = 0; i < 20 && order_was_empty_ < 0 && !closed(); ++i) { // unknown: not in step
            if (const auto last = detail::stored_last_seq(js_, commit_stream_name_, commit_subject_))
                order_was_empty_ = *last == 0 ? 1 : 0;
            else
                std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
        set_ready();
        // Each consumer is tended on a thread of its own: after a node died, a re-creation waits
        // for a stream leader's election (seconds per try), and one thread held the messages'
        // consumer back behind the commits' (the e2e's lines stalled after the node's kill).
        commits_tender_ = std::thread([this] { tend(*commits_, resubscribe_commits_, true); });
        tend(*messages_, resubscribe_messages_, false);
    }
    void tend(detail::stream_consumer& c, std::atomic<bool>& again, bool ordered)
    {
        const auto closed = [this] { return outbound_.closed(); };
        while (!closed()) {
            // A stored message no reader gets: handed over empty in its place, so that the relay
            // drops it as junk, as every relay does, and on the commit subject moves its
            // expectation past it, as the stream's last sequence moved.
            c.tend(again, [&](std::uint64_t seq, const std::string&) { return deliver_skipped({seq, ordered}, c); });
            std::unique_lock lock(ready_mutex_);
            ready_.wait_for(lock, std::chrono::milliseconds(200), closed);
        }
    }

    void run_publisher()
    {
        std::vector<std::byte> buf;
        { // publications wait in the queue until the connection (and the stream) is there
            std::unique_lock lock(ready_mutex_);
            ready_.wait(lock, [this] { return stream_ready_ || outbound_.closed(); });
            if (!stream_ready_)
                return;
        }
        std::uint64_t n = 0;
        for (;;) {
            std::uint64_t tag = 0;
            if (!outbound_.pop(buf, std::chrono::milliseconds(200), &tag)) {
                if (outbound_.closed())
                    return; // closed and drained
                continue;
            }
            bool ok = false;
            if (js_) {
                // The id deduplicates a retry whose first try was stored: the envelope's tag (which
                // no one without the federation key can predict) and n, which counts them.
                const std::string id = detail::msg_id(buf, ++n);
                const reception r = detail::reception_of(tag);
                const auto closed = [this] { return outbound_.closed(); };
                // A commit names the last message this link stored (its welcome pages) or read
                // (another relay's departures, which let its member found a group) before it:
                // readers hand it on after those, not after whatever came since.
                const std::uint64_t before = std::max(messages_stored_, messages_->position());
                const auto result =
                    r.ordered ? detail::publish_commit(js_, commit_stream_name_, commit_subject_, buf, id,
                                                       opt_.publish_retry, closed, r.seq, before)
                              : detail::publish_stored(js_, subject_, buf.data(), buf.size(), id, opt_.publish_retry,
                                                       std::chrono::milliseconds(100), closed, std::nullopt,
                                                       commits_->position(), &messages_stored_,
                                                       detail::commits_before_header);
                if (result == detail::publish_result::conflict) {
                    counters_.add(federation_counter::conflicts);
                    continue;
                }
                if (result == detail::publish_result::full) { // the commit stream removes nothing: it refuses
                    counters_.add(federation_counter::order_full);
                    continue;
                }
                ok = result == detail::publish_result::stored;
            } else {
                ok = natsConnection_Publish(nc_, subject_.c_str(), buf.data(), static_cast<int>(buf.size())) == NATS_OK;
            }
            counters_.add(ok ? federation_counter::published : federation_counter::publish_errors);
        }
    }

    static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* self_ptr)
    {
        auto& self = *static_cast<nats_link*>(self_ptr);
        const auto* data = reinterpret_cast<const std::byte*>(natsMsg_GetData(msg));
        const auto n = static_cast<std::size_t>(natsMsg_GetDataLength(msg));
        std::unique_lock seq_lock(self.seq_mutex_, std::defer_lock);
        reception r;
        if (self.messages_) {
            // Each stream holds one subject (its consumer reads only that one).
            const char* subject = natsMsg_GetSubject(msg);
            r.ordered = subject && self.commit_subject_ == subject;
            // Catch-up: a commit stored before the link started rebuilds the relay's state; its
            // welcome pages and the messages before it went by (no wait for them).
            const bool history =
                r.ordered && self.opt_.catch_up && stream_seq_of(msg) <= self.commits_->history_last();
            // A commit waits (bounded) for the messages stored before it: its welcome pages were
            // stored in the other stream before it was published, and a relay that gets the commit
            // first cannot order it (not_ready) and refuses it: out of step. Bounded by
            // inbound_wait: messages the limits removed before this reader got them, with none
            // stored after them, are never delivered, and the commit then waits that long.
            // A message waits (bounded) the same way for the commits its relay had read: a new
            // member's first message after the commit that added it (else refused: not in the
            // roster yet). It never waits for a commit that waits for it (a forged hint: only
            // honest hints are acyclic), which a commit held for messages up to it shows.
            const std::optional<std::uint64_t> before =
                history ? std::nullopt : r.ordered ? self.messages_before(msg) : self.commits_before(msg);
            const std::uint64_t own = before && !r.ordered ? stream_seq_of(msg) : 0;
            // Stream order, once: a re-created consumer may overlap the old one.
            seq_lock.lock();
            if (before && r.ordered) {
                self.held_for_ = *before;
                self.messages_read_.notify_all();
                self.messages_read_.wait_for(seq_lock, self.opt_.inbound_wait, [&] {
                    return self.messages_->reached(*before) || self.inbound_.closed();
                });
                self.held_for_ = 0;
            } else if (before) {
                self.messages_read_.wait_for(seq_lock, self.opt_.inbound_wait, [&] {
                    return self.commits_->reached(*before) || self.held_for_ >= own || self.inbound_.closed();
                });
            }
            // A gap: what the stream holds there that libnats never delivers is handed on empty
            // first; a message this consumer lost makes it wait for a new consumer (check_gap()).
            auto& from = r.ordered ? *self.commits_ : *self.messages_;
            const std::uint64_t seq = stream_seq_of(msg);
            std::vector<std::uint64_t> skipped;
            const auto answer = seq == 0 ? detail::stream_consumer::gap_answer::repeat : from.check_gap(seq, skipped);
            bool queued_skipped = false;
            for (const std::uint64_t s : skipped)
                queued_skipped = self.skip_locked({s, r.ordered}, from).value_or(false) || queued_skipped;
            std::uint64_t missed = 0;
            if (answer == detail::stream_consumer::gap_answer::in_order)
                r.seq = from.take(seq, missed);
            r.history = history;
            if (r.seq == 0) {
                natsMsg_Destroy(msg);
                seq_lock.unlock();
                self.messages_read_.notify_all();
                if (queued_skipped)
                    self.notify();
                return;
            }
            self.note_missed(r, missed);
            if (r.ordered) // where its relay said it goes, checked again (order_guard)
                r.stale = self.order_guard_.stale(ordered_after(std::span<const std::byte>(data, n)), r.seq);
        }
        self.counters_.add(federation_counter::received);
        const bool queued = self.queue(std::span<const std::byte>(data, n), r);
        natsMsg_Destroy(msg);
        if (seq_lock.owns_lock()) { // the next reception may be delivered from here on
            seq_lock.unlock();
            self.messages_read_.notify_all();
        }
        if (queued)
            self.notify();
    }
    // The commits' sequence a message waits for: its relay's hint, capped by what the commit stream
    // holds now; none without one (an older relay's message, junk), or when it was read already.
    std::optional<std::uint64_t> commits_before(natsMsg* msg)
    {
        const char* text = nullptr;
        const auto hint = natsMsgHeader_Get(msg, detail::commits_before_header, &text) == NATS_OK
                              ? detail::parse_seq(text)
                              : std::nullopt;
        if (!hint || commits_->reached(*hint))
            return std::nullopt; // the common case: no request
        const auto st = detail::stream_seqs(js_, commit_stream_name_);
        if (!st)
            return hint; // JetStream does not answer (a leader's election): the hint, uncapped, bounded by inbound_wait
        return std::min(*hint, st->last);
    }
    static std::uint64_t stream_seq_of(natsMsg* msg)
    {
        jsMsgMetaData* meta = nullptr;
        if (natsMsg_GetMetaData(&meta, msg) != NATS_OK)
            return 0;
        const std::uint64_t seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
        return seq;
    }
    // The messages' sequence a commit waits for: its relay's hint (the last message it stored or
    // read before the commit), capped by what the stream holds now, since anyone may write the hint; the
    // stream's last without a hint (an older relay's commit, junk). None: nothing to wait for, or
    // JetStream does not answer (then the commit waits for nothing).
    std::optional<std::uint64_t> messages_before(natsMsg* msg)
    {
        const char* text = nullptr;
        const auto hint = natsMsgHeader_Get(msg, detail::messages_before_header, &text) == NATS_OK
                              ? detail::parse_seq(text)
                              : std::nullopt;
        if (hint && messages_->reached(*hint))
            return std::nullopt; // the common case: no request
        const auto st = detail::stream_seqs(js_, stream_name_);
        if (!st)
            return hint; // JetStream does not answer (a leader's election): the hint, uncapped, bounded by inbound_wait
        return hint ? std::min(*hint, st->last) : st->last;
    }
    // Into the inbound queue; a stream's reception waits for room (the stream keeps the rest: hold
    // the delivery back, drop nothing). False: dropped, counted.
    // A stream's reception dropped after all makes the next one a gap (under the reception lock).
    bool queue(std::span<const std::byte> bytes, reception r)
    {
        r.gap = r.gap || gap_pending_;
        bool queued = inbound_.try_push(bytes, detail::tag_of(r));
        if (!queued && messages_) {
            counters_.add(federation_counter::inbound_waits);
            queued = inbound_.push(bytes, detail::tag_of(r), opt_.inbound_wait);
        }
        if (!queued)
            counters_.add(federation_counter::inbound_full);
        // Only a commit lost here puts the relay out of step: a lost message is a member's loss.
        if (queued)
            gap_pending_ = false;
        else if (messages_ && r.ordered)
            gap_pending_ = true;
        return queued;
    }
    void notify()
    {
        const std::lock_guard lock(notify_mutex_);
        if (notify_)
            notify_();
    }
    // An empty reception in place of a stored message no consumer delivers: in stream order, under
    // the reception lock; false when a delivery came meanwhile.
    bool deliver_skipped(reception r, detail::stream_consumer& from)
    {
        std::unique_lock seq_lock(seq_mutex_);
        const auto queued = skip_locked(r, from);
        if (!queued)
            return false;
        seq_lock.unlock();
        messages_read_.notify_all();
        if (*queued)
            notify();
        return true;
    }
    // deliver_skipped() under the reception lock: nothing when a delivery at or past `r` came
    // meanwhile, else whether its empty reception was queued.
    std::optional<bool> skip_locked(reception r, detail::stream_consumer& from)
    {
        std::uint64_t missed = 0;
        if (!from.skip(r.seq, missed))
            return std::nullopt;
        note_missed(r, missed);
        if (r.ordered)
            r.stale = order_guard_.stale(std::nullopt, r.seq);
        counters_.add(federation_counter::received);
        return queue({}, r);
    }
    // Sequences before `r` in its stream that this reader never received (under the reception lock).
    // Commits: what they held is unknown, the last may have been a commit; the commit stream
    // removes none, so only an operator's delete (or a purge) makes such a gap. Messages: a member's
    // loss, counted; the order is not concerned.
    void note_missed(reception& r, std::uint64_t missed)
    {
        if (missed != 0) {
            counters_.add(federation_counter::missed, missed);
            if (r.ordered)
                order_guard_.missed(r.seq - 1);
        }
        r.gap = r.ordered && missed != 0;
    }
    void note_state(natsConnection* nc, bool up)
    {
        char url[256] = {};
        if (up && natsConnection_GetConnectedUrl(nc, url, sizeof url) != NATS_OK)
            url[0] = 0;
        const std::lock_guard lock(notify_mutex_);
        connected_ = up;
        if (up)
            server_ = url;
        if (on_state_)
            on_state_(up, server_);
    }
    static void on_disconnected(natsConnection* nc, void* self_ptr)
    {
        auto& self = *static_cast<nats_link*>(self_ptr);
        self.counters_.add(federation_counter::disconnects);
        self.note_state(nc, false);
    }
    static void on_closed(natsConnection*, void* self_ptr)
    {
        auto& self = *static_cast<nats_link*>(self_ptr);
        const std::lock_guard lock(self.closed_mutex_);
        self.closed_ = true;
        self.closed_cv_.notify_all();
    }
    static void on_reconnected(natsConnection* nc, void* self_ptr)
    {
        auto& self = *static_cast<nats_link*>(self_ptr);
        self.counters_.add(federation_counter::reconnects);
        // JetStream: the consumers may have been on the node that died
        self.resubscribe_messages_ = true;
        self.resubscribe_commits_ = true;
        self.note_state(nc, true);
    }

    nats_options opt_;
    std::string subject_, commit_subject_, stream_name_, commit_stream_name_;
    detail::bounded_queue outbound_, inbound_;
    natsConnection* nc_ = nullptr;
    natsSubscription* sub_ = nullptr;
    jsCtx* js_ = nullptr;                            // with opt_.jetstream
    std::optional<detail::stream_consumer> messages_, commits_; // with opt_.jetstream: the group's two streams
    std::mutex seq_mutex_;                           // orders receptions of an old and a new consumer
    std::condition_variable messages_read_;          // with seq_mutex_: a consumer delivered one more
    std::uint64_t held_for_ = 0;                     // under seq_mutex_: the messages a held commit waits for
    detail::order_guard order_guard_;                // under seq_mutex_
    bool gap_pending_ = false;                       // under seq_mutex_: a stream's reception was dropped since
    std::atomic<bool> resubscribe_messages_{false}, resubscribe_commits_{false}; // JetStream: after a reconnection
    std::atomic<int> order_was_empty_{-1};           // JetStream: -1 not known, 0 no, 1 yes
    natsOptions* no_ = nullptr;  // kept for the first connection's retries
    std::int64_t since_;         // when the link started (ns since 1970): JetStream's consumer starts there
    std::uint64_t messages_stored_ = 0; // publisher thread: the messages' stream sequence of its last one
    std::thread publisher_, worker_; // worker_: the first connection, then JetStream's streams and messages' consumer
    std::thread commits_tender_;     // JetStream: the commits' consumer
    std::mutex ready_mutex_;
    std::condition_variable ready_; // connected (and the stream set up); or the link closes
    bool stream_ready_ = false;     // under ready_mutex_
    std::mutex notify_mutex_;
    std::function<void()> notify_;
    std::function<void(bool, const std::string&)> on_state_;
    std::string server_; // the one connected to last (under notify_mutex_)
    std::atomic<bool> connected_{false};
    std::mutex closed_mutex_;
    std::condition_variable closed_cv_;
    bool closed_ = false; // libnats made its last callback (under closed_mutex_)
    federation_counters counters_;
};

static_assert(ordering_link<nats_link>, "nats_link must model federation::ordering_link");

} // namespace tlvcast::federation
