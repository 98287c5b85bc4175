// SPDX-License-Identifier: BSL-1.0
// An in-process Link: relays of one test share a memory_hub, as relays of a site share NATS.
#pragma once

#include <tlvcast/federation/concepts.hpp>
#include <tlvcast/federation/detail/bounded_queue.hpp>
#include <tlvcast/federation/envelope.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

namespace tlvcast::federation {

class memory_link;

/// Where memory_links meet: a publication reaches every other link of the hub (not its own
/// publisher, like NATS's no-echo), in order. Thread-safe.
/// A hub made with `ordered` models a JetStream stream instead: every publication gets the next
/// sequence and reaches every link, its publisher's included (a stream consumer sees everything
/// stored), and the links order commits (ordering_link): an ordered publication is stored only
/// when the last ordered one stored is the one its publisher expected. A `racy` ordered hub
/// stores a conflicting one too, as nats-server 2.9's clustered streams may (nats-io/nats-server#4320):
/// the links' readers must catch it (detail::order_guard). An ordered hub models the group's two
/// streams (detail::stream_limits): it keeps up to `max_stored` messages (the oldest go first, as
/// the messages' stream's limits remove them; expire() too), and every commit, up to `max_commits`,
/// after which it refuses new ones (the commit stream: no age limit, DiscardNew). Positions are one
/// sequence over both (NATS numbers each stream on its own): a reader's gap concerns the order only
/// where a commit was removed (remove(): an operator's delete).
class memory_hub {
public:
    static constexpr std::size_t default_max_stored = 4096, default_max_commits = 4096;
    explicit memory_hub(bool ordered = false, bool racy = false, std::size_t max_stored = default_max_stored,
                        std::size_t max_commits = default_max_commits)
        : ordered_(ordered), racy_(racy), max_stored_(max_stored), max_commits_(max_commits)
    {
    }

    bool ordered() const noexcept { return ordered_; }
    /// Stores one publication (an ordered one only at `expected`, as ordering_link says, and only
    /// while fewer than `max_commits` are stored): false when it conflicts or the commits are full.
    bool publish(const memory_link* from, std::span<const std::byte> bytes, bool ordered = false,
                 std::uint64_t expected = 0);
    /// The sequence of the last ordered message still stored; 0: none.
    std::uint64_t last_ordered_stored()
    {
        const std::lock_guard lock(mutex_);
        return last_ordered();
    }
    /// Hands `l` what waits for it in the store, in order, while its queue has room.
    void refill(memory_link& l);
    /// Whether the commits are full: the next one is refused.
    bool commits_full()
    {
        const std::lock_guard lock(mutex_);
        return commits_ >= max_commits_;
    }
    /// Removes the `n` oldest stored messages (commits stay), as the messages' stream's age limit does.
    void expire(std::size_t n)
    {
        const std::lock_guard lock(mutex_);
        for (; n > 0 && drop_oldest_message(); --n) {
        }
    }
    /// Removes the stored message at `seq`, a commit too: an operator's delete. False: none there.
    bool remove(std::uint64_t seq)
    {
        const std::lock_guard lock(mutex_);
        const auto it = std::find_if(stored_.begin(), stored_.end(), [&](const stored& m) { return m.r.seq == seq; });
        if (it == stored_.end())
            return false;
        if (it->r.ordered) {
            --commits_;
            removed_commits_.push_back(seq);
        }
        stored_.erase(it);
        removed_any_ = true;
        return true;
    }
    /// Whether the store ever removed a message (its limit, expire()).
    bool removed_any()
    {
        const std::lock_guard lock(mutex_);
        return removed_any_;
    }

private:
    friend class memory_link;
    struct stored {
        reception r;
        std::vector<std::byte> bytes;
    };
    // Under mutex_: the oldest message that is no commit leaves; false: none.
    bool drop_oldest_message()
    {
        const auto it = std::find_if(stored_.begin(), stored_.end(), [](const stored& m) { return !m.r.ordered; });
        if (it == stored_.end())
            return false;
        stored_.erase(it);
        removed_any_ = true;
        return true;
    }
    // Under mutex_: the last commit removed in (after, upto); 0: none.
    std::uint64_t removed_commit(std::uint64_t after, std::uint64_t upto) const noexcept
    {
        std::uint64_t last = 0;
        for (const std::uint64_t seq : removed_commits_)
            if (seq > after && seq < upto)
                last = std::max(last, seq);
        return last;
    }
    std::uint64_t last_ordered() const noexcept // under mutex_
    {
        for (auto it = stored_.rbegin(); it != stored_.rend(); ++it)
            if (it->r.ordered)
                return it->r.seq;
        return 0;
    }
    // Recursive: a relay whose strand runs inline polls (and so refills) from within a publication.
    std::recursive_mutex mutex_;
    std::vector<memory_link*> links_;
    bool ordered_, racy_;
    std::size_t max_stored_, max_commits_;
    std::uint64_t seq_ = 0;     // the streams' last position
    std::deque<stored> stored_; // an ordered hub's streams, oldest first
    std::size_t commits_ = 0;   // of them, commits
    std::vector<std::uint64_t> removed_commits_; // by remove()
    bool removed_any_ = false;
};

/// A Link over a memory_hub, bounded like the NATS link (inbound entries and bytes). Publishing
/// delivers at once on the caller's thread (no queue in between: a test sees every step).
/// `catch_up` (an ordered hub): the commits stored before it joined come first, as history
/// receptions (nats_options::catch_up); what does not fit the inbound queue is dropped, counted,
/// and the next reception marked a gap.
class memory_link {
public:
    static constexpr std::size_t default_max_entries = 4096, default_max_bytes = 16 * 1024 * 1024;

    explicit memory_link(memory_hub& hub, std::size_t max_entries = default_max_entries,
                         std::size_t max_bytes = default_max_bytes, bool catch_up = false)
        : hub_(hub), inbound_(max_entries, max_bytes), max_bytes_(max_bytes),
          order_was_empty_(hub.last_ordered_stored() == 0)
    {
        const std::lock_guard lock(hub_.mutex_);
        hub_.links_.push_back(this);
        if (catch_up && hub_.ordered_)
            for (const auto& m : hub_.stored_)
                if (m.r.ordered)
                    take_history(m.bytes, m.r);
        delivered_ = last_commit_ = hub_.seq_; // it reads what is stored from now on
    }
    memory_link(const memory_link&) = delete;
    memory_link& operator=(const memory_link&) = delete;
    ~memory_link()
    {
        const std::lock_guard lock(hub_.mutex_);
        hub_.links_.erase(std::find(hub_.links_.begin(), hub_.links_.end(), this));
    }

    bool publish(std::span<const std::byte> bytes)
    {
        hub_.publish(this, bytes);
        counters_.add(federation_counter::published);
        return true;
    }
    bool poll(std::vector<std::byte>& out)
    {
        reception r;
        return poll(out, r);
    }

    /// ordering_link: with an ordered hub only.
    bool orders_commits() const noexcept { return hub_.ordered(); }
    std::optional<bool> order_was_empty() const noexcept { return order_was_empty_; }
    bool publish_ordered(std::span<const std::byte> bytes, std::uint64_t expected)
    {
        if (hub_.commits_full()) { // refused, as the commit stream refuses one once full (DiscardNew)
            counters_.add(federation_counter::order_full);
            return false;
        }
        bool stored = hub_.publish(this, bytes, true, expected);
        if (!stored) // the commit it continues may have left the store: offered again, as nats_link does
            if (const auto again = detail::expectation_after_conflict(expected, hub_.last_ordered_stored()))
                stored = hub_.publish(this, bytes, true, *again);
        counters_.add(stored ? federation_counter::published : federation_counter::conflicts);
        return stored;
    }
    bool poll(std::vector<std::byte>& out, reception& r)
    {
        std::uint64_t tag = 0;
        if (!inbound_.pop(out, std::chrono::milliseconds(0), &tag))
            return false;
        r = detail::reception_of(tag);
        hub_.refill(*this);
        return true;
    }
    void set_notify(std::function<void()> f)
    {
        const std::lock_guard lock(notify_mutex_);
        notify_ = std::move(f);
    }
    federation_counters& counters() noexcept { return counters_; }

private:
    friend class memory_hub;
    // Under the hub's lock. From an ordered hub (a stream), what finds the queue full waits in the
    // hub's store, from `behind_` on, as the NATS link's reception waits in the stream; refill()
    // hands it over again (`refetched`). False: not queued (refill() tries it again).
    bool receive(std::span<const std::byte> bytes, reception r, bool refetched = false)
    {
        if (!refetched) {
            counters_.add(federation_counter::received);
            if (behind_ != 0)
                return false; // refill() hands it over, in order
        }
        if (r.seq != 0 && r.seq <= delivered_)
            return true; // a refill from within this publication's delivery handed it over already
        // What left the store before this reader read it (as nats_link, stream_consumer::take): a
        // member's loss, and the order's only where a commit was removed (the next commit says so).
        // The guard judges the same sequence the same way again: a try that finds no room changes nothing.
        const std::uint64_t missed = r.seq > delivered_ + 1 ? r.seq - delivered_ - 1 : 0;
        const std::uint64_t lost_commit = r.ordered ? hub_.removed_commit(last_commit_, r.seq) : 0;
        if (lost_commit != 0)
            guard_.missed(lost_commit);
        r.gap = lost_commit != 0 || gap_pending_;
        r.stale = r.ordered && guard_.stale(ordered_after(bytes), r.seq);
        if (!inbound_.try_push(bytes, detail::tag_of(r))) {
            if (r.seq == 0 || bytes.size() > max_bytes_) { // one that never fits is dropped, as nats_link does
                counters_.add(federation_counter::inbound_full);
                if (r.seq != 0) { // stored, and lost here: a commit's loss, the next reception says so
                    counters_.add(federation_counter::missed, missed);
                    delivered_ = r.seq;
                    if (r.ordered) {
                        last_commit_ = r.seq;
                        gap_pending_ = true;
                    }
                }
                return r.seq != 0; // waited for, it stopped every later reception
            }
            if (!refetched) { // a stream: nothing is lost
                counters_.add(federation_counter::inbound_waits);
                behind_ = r.seq;
            }
            return false;
        }
        counters_.add(federation_counter::missed, missed);
        gap_pending_ = false;
        if (r.seq != 0)
            delivered_ = r.seq;
        if (r.ordered)
            last_commit_ = r.seq;
        if (refetched) // refill() runs in poll(): the poller polls again. Notified, an inline strand
            return true; // drained from within the notification and locked notify_mutex_ twice
        const std::lock_guard lock(notify_mutex_);
        if (notify_)
            notify_();
        return true;
    }

    // Under the hub's lock, in the constructor: one commit stored before this link joined.
    void take_history(std::span<const std::byte> bytes, reception r)
    {
        counters_.add(federation_counter::received);
        const std::uint64_t lost_commit = hub_.removed_commit(last_commit_, r.seq);
        if (lost_commit != 0) {
            counters_.add(federation_counter::missed);
            guard_.missed(lost_commit);
        }
        r.history = true;
        r.gap = lost_commit != 0 || gap_pending_;
        r.stale = guard_.stale(ordered_after(bytes), r.seq);
        last_commit_ = r.seq;
        if (inbound_.try_push(bytes, detail::tag_of(r))) {
            gap_pending_ = false;
            return;
        }
        counters_.add(federation_counter::inbound_full);
        gap_pending_ = true;
    }

    memory_hub& hub_;
    detail::bounded_queue inbound_;
    std::size_t max_bytes_; // inbound_'s byte bound
    bool order_was_empty_; // the hub held no ordered message when this link joined it
    std::mutex notify_mutex_;
    std::function<void()> notify_;
    detail::order_guard guard_; // under the hub's lock: receptions come in the hub's order
    std::uint64_t behind_ = 0;    // under the hub's lock: the first stored message the queue had no room for
    std::uint64_t delivered_ = 0; // under the hub's lock: the last stored message queued
    std::uint64_t last_commit_ = 0; // under the hub's lock: the last commit queued (or dropped)
    bool gap_pending_ = false;    // under the hub's lock: a stored commit was dropped since
    federation_counters counters_;
};

inline bool memory_hub::publish(const memory_link* from, std::span<const std::byte> bytes, bool ordered,
                                std::uint64_t expected)
{
    const std::lock_guard lock(mutex_);
    if (!ordered_) {
        for (memory_link* l : links_)
            if (l != from)
                l->receive(bytes, {});
        return !ordered;
    }
    // Another commit was stored after the one its publisher saw (or the store has none it expects).
    if (ordered && last_ordered() != expected && !racy_)
        return false;
    if (ordered && commits_ >= max_commits_) // full: refused, nothing removed (DiscardNew)
        return false;
    const reception r{++seq_, ordered};
    stored_.push_back({r, {bytes.begin(), bytes.end()}});
    if (ordered)
        ++commits_;
    else if (stored_.size() - commits_ > max_stored_)
        drop_oldest_message();
    for (memory_link* l : links_)
        l->receive(bytes, r);
    return true; // a racy store acknowledges what it should have refused
}

inline void memory_hub::refill(memory_link& l)
{
    const std::lock_guard lock(mutex_);
    while (l.behind_ != 0) {
        const auto it = std::find_if(stored_.begin(), stored_.end(), [&](const stored& m) { return m.r.seq >= l.behind_; });
        if (it == stored_.end()) {
            l.behind_ = 0; // everything stored was handed over (what left the store meanwhile is gone)
            return;
        }
        const stored m = *it; // a copy: a relay that publishes from within the delivery changes the store
        if (!l.receive(m.bytes, m.r, true)) {
            l.behind_ = m.r.seq;
            return;
        }
        if (l.behind_ != 0)
            l.behind_ = m.r.seq + 1;
    }
}

static_assert(ordering_link<memory_link>, "memory_link must model federation::ordering_link");

} // namespace tlvcast::federation
