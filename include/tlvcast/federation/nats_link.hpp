// SPDX-License-Identifier: BSL-1.0
// The NATS Link (libnats, TLVCAST_HAS_NATS): one connection to a NATS cluster, one subject per
// federated group, a publisher thread behind a bounded queue so that the relay's strand never
// waits for NATS. docs/FEDERATION.md.
#pragma once

#include <tlvcast/federation/concepts.hpp>
#include <tlvcast/federation/detail/bounded_queue.hpp>
#include <tlvcast/federation/detail/nats_stream.hpp>
#include <tlvcast/federation/detail/stream_consumer.hpp>
#include <tlvcast/federation/envelope.hpp>
#include <tlvcast/federation/nats_options.hpp>

#include <nats/nats.h>

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

/// The Link over libnats. The constructor connects in the background (a cluster that is not up
/// yet is retried forever, and publications wait in the bounded queue meanwhile); it throws
/// std::invalid_argument or std::runtime_error for set-up errors (no server, a bad group name, a
/// credentials file libnats refuses). Receptions arrive on libnats's thread, publications leave
/// from this link's own: both meet the relay through bounded queues only.
class nats_link {
public:
    explicit nats_link(nats_options o)
        : opt_(std::move(o)), subject_("tlvcast.g." + opt_.group), commit_subject_("tlvcast.c." + opt_.group),
          outbound_(opt_.max_outbound, opt_.max_outbound_bytes),
          inbound_(opt_.max_inbound, opt_.max_inbound_bytes)
    {
        if (opt_.servers.empty())
            throw std::invalid_argument("federation: no NATS server given");
        if (!valid_group_name(opt_.group))
            throw std::invalid_argument("federation: group name must be 1..64 of A-Z a-z 0-9 _ -");
        // libnats reads the file only when it connects, in the background: a bad path fails here.
        if (!opt_.credentials_file.empty() && !std::ifstream(opt_.credentials_file))
            throw std::runtime_error("federation: cannot read the NATS credentials file " + opt_.credentials_file);
        natsOptions* no = nullptr;
        check(natsOptions_Create(&no), "options");
        std::vector<const char*> urls;
        for (const auto& s : opt_.servers)
            urls.push_back(s.c_str());
        natsStatus s = natsOptions_SetServers(no, urls.data(), static_cast<int>(urls.size()));
        if (s == NATS_OK)
            s = natsOptions_SetName(no, opt_.client_name.c_str());
        if (s == NATS_OK) // no loops: this connection never receives its own publications
            s = natsOptions_SetNoEcho(no, true);
        if (s == NATS_OK)
            s = natsOptions_SetMaxReconnect(no, -1);
        if (s == NATS_OK)
            s = natsOptions_SetReconnectWait(no, opt_.reconnect_wait.count());
        if (s == NATS_OK)
            s = natsOptions_SetReconnectBufSize(no, opt_.reconnect_buffer);
        if (s == NATS_OK)
            s = natsOptions_SetDisconnectedCB(no, &nats_link::on_disconnected, this);
        if (s == NATS_OK)
            s = natsOptions_SetReconnectedCB(no, &nats_link::on_reconnected, this);
        if (s == NATS_OK) // the last callback libnats makes: release() waits for it
            s = natsOptions_SetClosedCB(no, &nats_link::on_closed, this);
        if (s == NATS_OK) // with a callback: Connect returns at once and keeps trying in the background
            s = natsOptions_SetRetryOnFailedConnect(no, true, &nats_link::on_connected, this);
        if (s == NATS_OK && !opt_.credentials_file.empty())
            s = natsOptions_SetUserCredentialsFromFiles(no, opt_.credentials_file.c_str(), nullptr);
        if (s == NATS_OK) {
            s = natsConnection_Connect(&nc_, no);
            if (s == NATS_OK)
                note_state(nc_, true);
            if (s == NATS_NOT_YET_CONNECTED)
                s = NATS_OK;
        }
        if (s == NATS_OK && opt_.jetstream) { // the stream and its consumer: on the publisher thread
            s = natsConnection_JetStream(&js_, nc_, nullptr);
            if (s == NATS_OK)
                stream_.emplace(js_, "TLVCAST_" + opt_.group, "tlvcast.*." + opt_.group, &nats_link::on_message, this);
        }
        else if (s == NATS_OK)
            s = subscribe_core();
        natsOptions_Destroy(no);
        if (s != NATS_OK) {
            release();
            check(s, "connect");
        }
        if (stream_)
            tender_ = std::thread([this] { run_tender(); });
        publisher_ = std::thread([this] { run_publisher(); });
    }
    nats_link(const nats_link&) = delete;
    nats_link& operator=(const nats_link&) = delete;
    ~nats_link()
    {
        set_notify({});
        set_on_state({});
        outbound_.close();
        {
            const std::lock_guard lock(ready_mutex_); // no waiter between its check and its wait
        }
        ready_.notify_all();
        if (publisher_.joinable())
            publisher_.join();
        if (tender_.joinable())
            tender_.join();
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
        stream_.reset(); // its consumer first
        if (js_)
            jsCtx_Destroy(std::exchange(js_, nullptr));
        if (nc_)
            natsConnection_Destroy(std::exchange(nc_, nullptr));
    }

    // JetStream: the stream and its consumer, on their own thread. Each JetStream request may wait
    // seconds while a stream's leader is elected; on the publisher's thread, a consumer re-created
    // between publications let a relay publish one envelope per failed attempt.
    void run_tender()
    {
        const auto closed = [this] { return outbound_.closed(); };
        if (!stream_->set_up(opt_.stream, closed))
            return;
        {
            const std::lock_guard lock(ready_mutex_);
            stream_ready_ = true;
        }
        ready_.notify_all();
        while (!closed()) {
            stream_->tend(resubscribe_);
            std::unique_lock lock(ready_mutex_);
            ready_.wait_for(lock, std::chrono::milliseconds(200), closed);
        }
    }

    void run_publisher()
    {
        std::vector<std::byte> buf;
        if (stream_) { // publications wait in the queue until the stream is there
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
                const auto result = detail::publish_stored(
                    js_, r.ordered ? commit_subject_ : subject_, buf.data(), buf.size(), id, opt_.publish_retry,
                    std::chrono::milliseconds(100), [this] { return outbound_.closed(); },
                    r.ordered ? std::optional<std::uint64_t>(r.seq) : std::nullopt);
                if (result == detail::publish_result::conflict) {
                    counters_.add(federation_counter::conflicts);
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
        if (self.stream_) {
            // Stream order, once: a re-created consumer may overlap the old one.
            seq_lock.lock();
            r.seq = self.stream_->take(msg);
            if (r.seq == 0) {
                natsMsg_Destroy(msg);
                return;
            }
            const char* subject = natsMsg_GetSubject(msg);
            r.ordered = subject && self.commit_subject_ == subject;
            if (r.ordered) // the expectation it was stored with, checked again (order_guard)
                r.stale = self.order_guard_.stale(detail::stored_expectation(msg), r.seq);
        }
        self.counters_.add(federation_counter::received);
        const bool queued = self.inbound_.try_push(std::span<const std::byte>(data, n), detail::tag_of(r));
        natsMsg_Destroy(msg);
        if (seq_lock.owns_lock()) // the next reception may be delivered from here on
            seq_lock.unlock();
        if (!queued) {
            self.counters_.add(federation_counter::inbound_full);
            return;
        }
        const std::lock_guard lock(self.notify_mutex_);
        if (self.notify_)
            self.notify_();
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
    static void on_connected(natsConnection* nc, void* self) { static_cast<nats_link*>(self)->note_state(nc, true); }
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
        self.resubscribe_ = true; // JetStream: the consumer may have been on the node that died
        self.note_state(nc, true);
    }

    nats_options opt_;
    std::string subject_, commit_subject_;
    detail::bounded_queue outbound_, inbound_;
    natsConnection* nc_ = nullptr;
    natsSubscription* sub_ = nullptr;
    jsCtx* js_ = nullptr;                            // with opt_.jetstream
    std::optional<detail::stream_consumer> stream_;  // with opt_.jetstream
    std::mutex seq_mutex_;                           // orders receptions of an old and a new consumer
    detail::order_guard order_guard_;                // under seq_mutex_
    std::atomic<bool> resubscribe_{false};           // JetStream: after a reconnection
    std::thread publisher_, tender_; // tender_: JetStream's stream and consumer
    std::mutex ready_mutex_;
    std::condition_variable ready_; // the stream is set up; or the link closes
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
