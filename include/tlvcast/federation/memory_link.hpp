// SPDX-License-Identifier: BSL-1.0
// An in-process Link: relays of one test share a memory_hub, as relays of a site share NATS.
#pragma once

#include <tlvcast/federation/concepts.hpp>
#include <tlvcast/federation/detail/bounded_queue.hpp>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

namespace tlvcast::federation {

class memory_link;

/// Where memory_links meet: a publication reaches every other link of the hub (not its own
/// publisher, like NATS's no-echo), in order. Thread-safe.
class memory_hub {
public:
    void publish(const memory_link* from, std::span<const std::byte> bytes);

private:
    friend class memory_link;
    std::mutex mutex_;
    std::vector<memory_link*> links_;
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
    void set_notify(std::function<void()> f)
    {
        const std::lock_guard lock(notify_mutex_);
        notify_ = std::move(f);
    }
    federation_counters& counters() noexcept { return counters_; }

private:
    friend class memory_hub;
    void receive(std::span<const std::byte> bytes)
    {
        counters_.add(federation_counter::received);
        if (!inbound_.try_push(bytes)) {
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
    federation_counters counters_;
};

inline void memory_hub::publish(const memory_link* from, std::span<const std::byte> bytes)
{
    const std::lock_guard lock(mutex_);
    for (memory_link* l : links_)
        if (l != from)
            l->receive(bytes);
}

static_assert(federation_link<memory_link>, "memory_link must model federation::federation_link");

} // namespace tlvcast::federation
