// SPDX-License-Identifier: BSL-1.0
// The NATS link's JetStream consumer (nats_options::jetstream): every stream sequence from the
// link's start delivered once and in order, across consumers re-created after a node died.
#pragma once

#include <tlvcast/federation/detail/nats_stream.hpp>

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace tlvcast::federation::detail {

/// A consumer of the group's stream that delivers every stored sequence once and in order. set_up()
/// and tend() run on the link's own threads; check_gap() and take() on libnats's delivery threads,
/// under the link's reception lock (an old and a new consumer may deliver at once).
class stream_consumer {
public:
    /// The link starts at `since` (UTC, ns since 1970; now by default): what any relay publishes from
    /// then on is delivered, even when it is stored before set_up() runs on the publisher thread.
    /// `role`: which of the group's streams it reads (the limits set_up() makes it with).
    /// `cb(nc, sub, msg, closure)` gets each stored message (the server's heartbeats and flow
    /// control are answered here); `nc` is the connection `js` was made from. `from_first`: the
    /// consumer starts at the stream's first message instead, and what was stored before `since`
    /// is history (history_last(); nats_options::catch_up).
    stream_consumer(natsConnection* nc, jsCtx* js, std::string stream, std::string subject, natsMsgHandler cb,
                    void* closure, std::int64_t since = now_utc(), stream_role role = stream_role::messages,
                    bool from_first = false)
        : nc_(nc), js_(js), stream_(std::move(stream)), subject_(std::move(subject)), cb_(cb), closure_(closure),
          since_(from_first ? since : encodable_start(since)), role_(role), from_first_(from_first)
    {
    }
    /// With `from_first`: the last sequence stored before the link's start (0: none, or not set up
    /// yet; set before the first delivery). Any thread.
    std::uint64_t history_last() const noexcept { return history_last_.load(); }
    const std::string& stream() const noexcept { return stream_; }
    /// Whether every message the stream held up to `seq` was delivered, or was there before the
    /// consumer started (any thread; false for any `seq` > 0 before set_up() found the stream).
    bool reached(std::uint64_t seq) const noexcept { return position() >= seq; }
    /// The last sequence delivered, or the last stored before the link's start when it is further
    /// (any thread; 0 before set_up() found the stream).
    std::uint64_t position() const noexcept { return std::max(last_seq_.load(), start_floor_.load()); }
    static std::int64_t now_utc()
    {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
    /// `t` or a little earlier, such that libnats sends it as it is. libnats 3.4 writes a start time's
    /// fraction of a second without its leading zeros (12.045 s goes out as 12.45 s), which started
    /// the consumer up to 0.9 s late, past what was stored meanwhile, in 1 run of 10. A fraction
    /// below 0.1 s is dropped (starting up to 0.1 s early delivers a little more, never less).
    static constexpr std::int64_t encodable_start(std::int64_t t) noexcept
    {
        constexpr std::int64_t second = 1'000'000'000, tenth = second / 10;
        const std::int64_t fraction = t % second;
        return fraction < tenth ? t - fraction : t;
    }
    stream_consumer(const stream_consumer&) = delete;
    stream_consumer& operator=(const stream_consumer&) = delete;
    ~stream_consumer() { drop(); }
    /// No delivery is in progress or comes after this (the subscription's handler returned for the
    /// last time, or 5 s passed); the consumer is deleted.
    void stop() { drop(); }

    /// Until the stream exists (made when missing) and the consumer is subscribed, by time from the
    /// link's start (JetStream compares it with the stamps of its own clock: a skew between this
    /// host and the stream's leader moves the start by as much). False when `closed()` came
    /// first (the cluster may still elect its leader).
    template <class Closed>
    bool set_up(const stream_limits& limits, Closed closed)
    {
        while (!closed()) {
            // Nothing counts as delivered yet (what was stored since the start still comes); the
            // watch waits for the stream to grow past what it holds now, and take() counts what is
            // missing after it (an unanswered request is no floor of 0: every sequence a gap).
            if (ensure_stream(js_, stream_, subject_, limits, role_))
                if (const auto st = stream_seqs(js_, stream_)) {
                    if (from_first_) {
                        // Everything stored is to come, from the first the stream holds; what
                        // was there before the link's start is history.
                        const std::uint64_t before = st->first > 0 ? st->first - 1 : 0;
                        history_last_ = last_before_start(st->first, st->last).value_or(st->last);
                        floor_ = before;
                        start_floor_ = before;
                        if (resubscribe())
                            return true;
                        std::this_thread::sleep_for(std::chrono::milliseconds(250));
                        continue;
                    }
                    floor_ = st->last;
                    // What was stored between the link's start and now is delivered, so is not
                    // "there before" (reached()): a commit's wait for the messages before it took
                    // a late set-up's last for delivered, and the commit overtook them
                    // (nats_link.cpp, once under TSan).
                    start_floor_ = last_before_start(st->first, st->last).value_or(st->last);
                    if (resubscribe()) {
                        return true;
                    }
                }
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
        return false;
    }

    /// Sequences one watch or one check_gap() looks at at most (each costs a request): the stored
    /// messages libnats never delivers it skips, and the removed ones between them.
    static constexpr std::size_t max_skips_per_watch = 256;

    /// Between publications: once a second, a consumer that delivered nothing for a second while the
    /// stream held more than it delivered is re-created (it lived on a node that died: seen to stall
    /// for good without this); so is one after `again` (a reconnection), retried until it works. Stored
    /// messages that libnats would never deliver (skip_unreadable()), from the next one the stream
    /// holds on, are offered to `skipped(seq, subject)` in order, which skips each (skip()) and hands
    /// on something in its place, before the re-created consumer delivers anything after them.
    template <class Skipped>
    void tend(std::atomic<bool>& again, Skipped skipped)
    {
        const auto now = std::chrono::steady_clock::now();
        if (now >= next_watch_) {
            next_watch_ = now + std::chrono::seconds(1);
            const std::uint64_t delivered = last_seq_.load();
            const auto st = stream_seqs(js_, stream_);
            // Stalled: what the stream held a watch ago is still not delivered, and nothing was
            // since. A message stored just before this watch, its delivery under way, is no stall
            // (re-creating for it churned consumers under load).
            const std::uint64_t past = std::max(delivered, floor_.load());
            const bool stalled = st && st->last > past && watched_last_ > past && delivered == watched_seq_;
            if (st)
                watched_last_ = st->last;
            if (stalled) {
                for (const auto& [seq, subject] : skip_unreadable(delivered, st->first, st->last))
                    if (!skipped(seq, subject))
                        break; // a delivery came first
                again = true;
            }
            watched_seq_ = last_seq_.load();
        }
        // Cleared only once the new consumer is there: until then check_gap() holds what comes after
        // the gap without asking the stream again.
        const bool rewind = rewind_.load();
        if ((again.exchange(false) || rewind) && !resubscribe()) {
            again = true; // the stream may have no leader yet: again in a moment
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        } else if (rewind) {
            rewind_ = false;
        }
    }

    /// What a message at `seq` past what was delivered may do (check_gap()).
    enum class gap_answer {
        in_order, // no gap, or one whose sequences the stream no longer holds (take() counts them
                  // missed) or holds as messages libnats never delivers (in `skipped`, to be handed on first)
        repeat,   // delivered already
        held,     // the gap holds a message this consumer lost (libnats's buffer), or one the stream
                  // does not say: the consumer is re-created at it (tend()), and this one comes again
    };
    /// Looks at the sequences between the last delivered and `seq` (at most max_skips_per_watch of
    /// them; past that, held after handing on what it found). Ordered mode did this by re-creating
    /// the consumer at every gap, heartbeat look-alikes included, for ever (see add_push_consumer()).
    gap_answer check_gap(std::uint64_t seq, std::vector<std::uint64_t>& skipped)
    {
        skipped.clear();
        const std::uint64_t last = last_seq_;
        if (seq <= last)
            return gap_answer::repeat;
        const std::uint64_t base = last != 0 ? last : floor_.load();
        if (seq <= base + 1)
            return gap_answer::in_order;
        if (rewind_)
            return gap_answer::held; // a new consumer is coming: it delivers this again
        for (std::uint64_t next = base + 1; next < seq; ++next) {
            if (next - base > max_skips_per_watch)
                return hold();
            const stored_seq m = read_stored(next);
            if (m.kind == stored_seq::empty)
                skipped.push_back(next);
            else if (m.kind != stored_seq::gone)
                return hold(); // lost here, or JetStream does not answer now
        }
        return gap_answer::in_order;
    }

    /// Counts `seq` as delivered (under the link's reception lock, as take()), with `missed` as
    /// take() says: false when a delivery at or past it came meanwhile.
    bool skip(std::uint64_t seq, std::uint64_t& missed) { return take(seq, missed) != 0; }

    /// The stream sequence of `msg` when it was not delivered yet (it then counts as delivered),
    /// else 0 (a repeat, or not a stream message: nothing to order it by). `missed`: how many
    /// sequences right before it were never delivered (the consumer filters nothing out, so they
    /// left the stream first: a re-created consumer starts at the first one still stored).
    std::uint64_t take(natsMsg* msg, std::uint64_t& missed)
    {
        missed = 0;
        jsMsgMetaData* meta = nullptr;
        if (natsMsg_GetMetaData(&meta, msg) != NATS_OK)
            return 0;
        const std::uint64_t seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
        return take(seq, missed);
    }
    /// take() by the message's stream sequence.
    std::uint64_t take(std::uint64_t seq, std::uint64_t& missed)
    {
        missed = 0;
        const std::uint64_t last = last_seq_;
        if (seq <= last)
            return 0;
        // Before the first delivery, what the stream held at set-up may come (the start is by time),
        // and anything stored after it must.
        const std::uint64_t base = last != 0 ? last : floor_.load();
        if (seq > base + 1)
            missed = seq - base - 1;
        last_seq_ = seq;
        return seq;
    }

private:
    // What the stream holds at `seq` (one js_GetMsg): a message with a body, an empty one (no
    // envelope), none (removed), or no answer now.
    struct stored_seq {
        enum { body, empty, gone, unanswered } kind = unanswered;
        std::int64_t stamp = 0; // the leader's, ns since 1970
        std::string subject;
    };
    stored_seq read_stored(std::uint64_t seq) const
    {
        natsMsg* msg = nullptr;
        jsErrCode err = static_cast<jsErrCode>(0);
        stored_seq r;
        if (js_GetMsg(&msg, js_, stream_.c_str(), seq, nullptr, &err) == NATS_OK) {
            const char* subject = natsMsg_GetSubject(msg);
            r.kind = natsMsg_GetDataLength(msg) == 0 && subject ? stored_seq::empty : stored_seq::body;
            r.stamp = natsMsg_GetTime(msg);
            if (subject)
                r.subject = subject;
        } else if (err == JSNoMessageFoundErr) {
            r.kind = stored_seq::gone;
        }
        natsMsg_Destroy(msg);
        return r;
    }

    // The last sequence stored before since_ (by the stamps of the stream's leader, as the consumer's
    // start by time): a binary search over [first, last] with js_GetMsg; nothing when a request
    // goes unanswered or too many sequences in a row are gone.
    std::optional<std::uint64_t> last_before_start(std::uint64_t first, std::uint64_t last)
    {
        if (last == 0 || first > last)
            return last;
        std::uint64_t lo = first, hi = last + 1; // the first stamped at or after since_ is in [lo, hi]
        while (lo < hi) {
            const std::uint64_t mid = lo + (hi - lo) / 2;
            std::optional<std::uint64_t> seq;
            std::int64_t stamp = 0;
            for (std::uint64_t next = mid; next < hi && next - mid < 16 && !seq; ++next) { // past removed ones
                const stored_seq m = read_stored(next);
                if (m.kind == stored_seq::unanswered)
                    return std::nullopt;
                if (m.kind != stored_seq::gone) {
                    seq = next;
                    stamp = m.stamp;
                }
            }
            if (!seq) {
                if (hi - mid > 16)
                    return std::nullopt;
                hi = mid; // none stored in [mid, hi)
            } else if (stamp >= since_) {
                hi = mid; // nothing stored in [mid, *seq)
            } else {
                lo = *seq + 1;
            }
        }
        return hi - 1;
    }

    gap_answer hold()
    {
        rewind_ = true;
        return gap_answer::held;
    }

    // A stored message with no body whose header block starts "NATS/1.0 100" (anyone who may publish
    // on the stream's subjects can store one) is taken by libnats for the server's heartbeat and
    // handed to no callback. With something stored after it, check_gap() finds it; with nothing, the
    // watch does: a stalled consumer's next message is looked at directly: one with no body is no
    // envelope; once counted delivered (skip()), the new consumer starts after it. Only after a first delivery (or in a stream that was empty at
    // set-up): before it, the consumer starts by time and the next sequence is not known.
    // The messages libnats would never deliver in a row from the next one the stream holds after
    // `delivered`, with their subjects: from `first` (the first it holds) at least, and past
    // sequences it no longer has (the limits removed them, or a delete did: take() counts them
    // missed), up to `last`.
    std::vector<std::pair<std::uint64_t, std::string>> skip_unreadable(std::uint64_t delivered, std::uint64_t first,
                                                                       std::uint64_t last)
    {
        std::vector<std::pair<std::uint64_t, std::string>> out;
        if (delivered == 0 && floor_ != 0 && !from_first_)
            return out;
        const std::uint64_t from = std::max(delivered + 1, first);
        for (std::uint64_t next = from; next <= last && next - from < max_skips_per_watch; ++next) {
            stored_seq m = read_stored(next);
            if (m.kind == stored_seq::empty)
                out.emplace_back(next, std::move(m.subject));
            else if (m.kind != stored_seq::gone)
                break; // a readable message (the consumer delivers it), or no answer now
        }
        return out;
    }

    // Signalled by libnats once a closed subscription's handler has returned for the last time:
    // unsubscribing does not wait for a delivery in progress, which read this consumer's members
    // while its destructor freed them (TSan, CI).
    struct handler_done {
        std::mutex m;
        std::condition_variable cv;
        bool done = false;
        static void signal(void* self)
        {
            auto& h = *static_cast<handler_done*>(self);
            const std::lock_guard lock(h.m);
            h.done = true;
            h.cv.notify_all();
        }
    };
    /// How long drop() waits for a closed subscription's last delivery to return.
    static constexpr std::chrono::seconds handler_return_wait{5};

    // The subscription (once its handler returned) and the consumer (delete_consumer(): a moment's
    // wait at most).
    static void drop(natsSubscription*& sub, std::unique_ptr<handler_done>& done, jsCtx* js,
                     const std::string& stream, std::string& name)
    {
        if (sub) {
            natsSubscription_Unsubscribe(sub);
            if (done) {
                std::unique_lock lock(done->m);
                if (!done->cv.wait_for(lock, handler_return_wait, [&] { return done->done; })) {
                    // A handler stuck this long: its completion may still come, so its flag lives on.
                    lock.unlock();
                    (void)done.release();
                }
            }
            natsSubscription_Destroy(std::exchange(sub, nullptr));
        }
        done.reset();
        if (!name.empty()) {
            delete_consumer(js, stream, name);
            name.clear();
        }
    }
    void drop() { drop(sub_, sub_done_, js_, stream_, name_); }

    // A new consumer from the sequence after the last one delivered (since_ before any), read by a
    // plain subscription on an inbox of its own (subscribed first: nothing comes before it); the
    // old one goes once the new one is there. Named by the link (name_base_ and a count), so that
    // on_delivery() knows its own consumer's replies before the server answered.
    bool resubscribe()
    {
        natsSubscription* old_sub = std::exchange(sub_, nullptr);
        std::unique_ptr<handler_done> old_done = std::move(sub_done_);
        std::string old_name = std::exchange(name_, {});
        natsInbox* inbox = nullptr;
        natsStatus s = natsInbox_Create(&inbox);
        const std::uint64_t last = last_seq_.load();
        if (s == NATS_OK) {
            name_ = name_base_ + "_" + std::to_string(++generation_);
            s = natsConnection_Subscribe(&sub_, nc_, inbox, &stream_consumer::on_delivery, this);
        }
        if (s == NATS_OK) {
            // Closed already (the connection closed): its handler may still be returning.
            sub_done_ = std::make_unique<handler_done>();
            if (natsSubscription_SetOnCompleteCB(sub_, &handler_done::signal, sub_done_.get()) != NATS_OK) {
                sub_done_.reset();
                s = NATS_CONNECTION_CLOSED;
            }
        }
        if (s == NATS_OK)
            s = add_push_consumer(js_, stream_, subject_, inbox, last == 0 ? 0 : last + 1, from_first_ ? 0 : since_,
                                  name_);
        natsInbox_Destroy(inbox);
        if (s != NATS_OK)
            drop();
        drop(old_sub, old_done, js_, stream_, old_name);
        return s == NATS_OK;
    }

    // A random name per link for its consumers (consumer names: letters, digits, '_', '-').
    static std::string random_name()
    {
        std::random_device rd;
        static constexpr char digits[] = "0123456789abcdef";
        std::string n = "tlvcast_";
        for (int i = 0; i < 16; ++i)
            n += digits[rd() & 15];
        return n;
    }

    // What the consumer's inbox gets. A stored message carries the server's $JS.ACK reply subject
    // (its metadata), whatever its headers: it goes to cb_, so that no stored message is taken for
    // the server's own (libnats's JetStream subscriptions did: a stored "NATS/1.0 100" look-alike
    // with a Nats-Consumer-Stalled header made every relay publish to the subject it named, a
    // stream's purge included: review_consumer_nats.cpp). Only this link's consumers count (their
    // stream and name in the reply: nothing published into the inbox is taken or answered for
    // another consumer, review_consumer2_nats.cpp). Flow control is answered at its reply; a
    // heartbeat (no reply) at the flow-control subject it names; nothing else is.
    static void on_delivery(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void* self_ptr)
    {
        auto& self = *static_cast<stream_consumer*>(self_ptr);
        const char* reply = natsMsg_GetReply(msg);
        const auto ours = [&](const char* s, std::string_view kind) { // "$JS.<kind>.<stream>.<name_base_>_"
            if (!s)
                return false;
            const std::string_view v(s);
            const std::string_view parts[] = {"$JS.", kind, ".", self.stream_, ".", self.name_base_, "_"};
            std::size_t at = 0;
            for (const auto& p : parts) {
                if (v.substr(at, p.size()) != p)
                    return false;
                at += p.size();
            }
            return true;
        };
        if (ours(reply, "ACK")) {
            self.cb_(nc, sub, msg, self.closure_); // it owns msg now
            return;
        }
        const char* stalled = nullptr;
        if (ours(reply, "FC"))
            natsConnection_Publish(nc, reply, nullptr, 0);
        else if (!reply && natsMsgHeader_Get(msg, "Nats-Consumer-Stalled", &stalled) == NATS_OK && ours(stalled, "FC"))
            natsConnection_Publish(nc, stalled, nullptr, 0);
        natsMsg_Destroy(msg);
    }

    natsConnection* nc_;
    jsCtx* js_;
    std::string stream_, subject_;
    std::string name_;                                   // the current consumer's (tender thread)
    const std::string name_base_ = random_name();        // of this link's consumers (any thread)
    std::uint64_t generation_ = 0;                       // consumers made (tender thread)
    natsMsgHandler cb_;
    void* closure_;
    natsSubscription* sub_ = nullptr;
    std::unique_ptr<handler_done> sub_done_;             // sub_'s (tender thread)
    // When the link started (ns since 1970): as libnats can send it for a start by time; exact for
    // from_first (no start time is sent, and history is what was stored before it: up to 0.1 s of
    // commits stored just before the start were taken for live, catch_up_nats.cpp 2 runs in 6).
    std::int64_t since_;
    stream_role role_;
    bool from_first_;                                    // catch-up: from the first stored
    std::atomic<std::uint64_t> history_last_{0};         // from_first_: the last stored before since_
    // The stream's last sequence at set_up. Atomic: another consumer's delivery thread asks the
    // commit consumer whether it reached a sequence while it is still being set up (TSan, CI).
    std::atomic<std::uint64_t> floor_{0};
    std::atomic<std::uint64_t> start_floor_{0};          // the last stored before since_ (position())
    std::atomic<std::uint64_t> last_seq_{0};             // the last stream sequence delivered
    std::atomic<bool> rewind_{false};                    // check_gap(): re-create the consumer after last_seq_
    std::chrono::steady_clock::time_point next_watch_{}; // publisher thread only
    std::uint64_t watched_seq_ = 0;                      // last_seq_ at the previous watch
    std::uint64_t watched_last_ = 0;                     // the stream's last sequence then
};

/// The JetStream deduplication id of the `n`th envelope a link publishes: its last 32 bytes (the
/// envelope's HMAC tag under the federation key) in hex, and n. A retry of the same envelope has the
/// same id; a NATS publisher without the key cannot predict it. (It was the relay id, public in every
/// envelope, and n: anyone who could publish on the subject could store junk under a relay's next
/// ids first, and the stream then dropped that relay's real envelopes as duplicates while the relay
/// counted them published. tests/federation/review_auth.cpp.)
inline std::string msg_id(std::span<const std::byte> envelope, std::uint64_t n)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string id;
    const std::size_t tag = envelope.size() < 32 ? envelope.size() : 32;
    for (const std::byte b : envelope.last(tag)) {
        id += digits[std::to_integer<unsigned>(b) >> 4];
        id += digits[std::to_integer<unsigned>(b) & 15];
    }
    return id + "-" + std::to_string(n);
}

} // namespace tlvcast::federation::detail
