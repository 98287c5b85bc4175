// SPDX-License-Identifier: BSL-1.0
// An in-process Link: relays of one test share a memory_hub, as relays of a site share NATS.
#pragma once

#include <tlvcast/federation/concepts.hpp>
#include <tlvcast/federation/detail/bounded_queue.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
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
/// the links' readers must catch it (detail::order_guard).
class memory_hub {
public:
    explicit memory_hub(bool ordered = false, bool racy = false) : ordered_(ordered), racy_(racy) {}

    bool ordered() const noexcept { return ordered_; }
    /// Stores one publication (an ordered one only at `expected`, as ordering_link says): false
    /// when it conflicts.
    bool publish(const memory_link* from, std::span<const std::byte> bytes, bool ordered = false,
                 std::uint64_t expected = 0);

private:
    friend class memory_link;
    std::mutex mutex_;
    std::vector<memory_link*> links_;
    bool ordered_, racy_;
    std::uint64_t seq_ = 0, last_ordered_ = 0; // the stream's last sequence, its last ordered one
};

/// A Link over a memory_hub, bounded like the NATS link (inbound entries and bytes). Publishing
/// delivers at once on the caller's thread (no queue in between: a test sees every step).
class memory_link {
public:
    static constexpr std::size_t default_max_entries = 4096, default_max_bytes = 16 * 1024 * 1024;

    explicit memory_link(memory_hub& hub, std::size_t max_entries = default_max_entries,
                         std::size_t max_bytes = default_max_bytes)
        : hub_(hub), inbound_(max_entries, max_bytes)
    {
        const std::lock_guard lock(hub_.mutex_);
        hub_.links_.push_back(this);
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
    bool poll(std::vector<std::byte>& out) { return inbound_.pop(out); }

    /// ordering_link: with an ordered hub only.
    bool orders_commits() const noexcept { return hub_.ordered(); }
    bool publish_ordered(std::span<const std::byte> bytes, std::uint64_t expected)
    {
        const bool stored = hub_.publish(this, bytes, true, expected);
        counters_.add(stored ? federation_counter::published : federation_counter::conflicts);
        return stored;
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

private:
    friend class memory_hub;
    void receive(std::span<const std::byte> bytes, reception r, std::uint64_t expected = 0)
    {
        counters_.add(federation_counter::received);
        if (r.ordered)
            r.stale = guard_.stale(expected, r.seq);
        if (!inbound_.try_push(bytes, detail::tag_of(r))) {
            counters_.add(federation_counter::inbound_full);
            return;
        }
        const std::lock_guard lock(notify_mutex_);
        if (notify_)
            notify_();
    }

    memory_hub& hub_;
    detail::bounded_queue inbound_;
    std::mutex notify_mutex_;
    std::function<void()> notify_;
    detail::order_guard guard_; // under the hub's lock: receptions come in the hub's order
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
    const bool conflict = ordered && expected != last_ordered_; // another commit was stored after the one its publisher saw
    if (conflict && !racy_)
        return false;
    const reception r{++seq_, ordered};
    if (ordered)
        last_ordered_ = r.seq;
    for (memory_link* l : links_)
        l->receive(bytes, r, expected);
    return true; // a racy store acknowledges what it should have refused
}

static_assert(ordering_link<memory_link>, "memory_link must model federation::ordering_link");

} // namespace tlvcast::federation
