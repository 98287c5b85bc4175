// SPDX-License-Identifier: BSL-1.0
// A bounded FIFO of byte strings between two threads: the relay's strand and the NATS client's.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <vector>

namespace tlvcast::federation::detail {

/// Bounded in entries and in bytes; try_push never waits (false when full: the caller counts the
/// drop), so the UDP path never blocks on the federation; push() may wait for room, bounded by a
/// timeout (a stream's reader: what waits stays in the stream). pop() waits, bounded too.
/// Thread-safe.
class bounded_queue {
public:
    bounded_queue(std::size_t max_entries, std::size_t max_bytes) : max_entries_(max_entries), max_bytes_(max_bytes) {}

    /// Copies `bytes` in, with `tag` (what the owner needs to know of it besides its bytes: its
    /// position in the federation's order, say). False when full or closed (nothing queued).
    bool try_push(std::span<const std::byte> bytes, std::uint64_t tag = 0)
    {
        return push(bytes, tag, std::chrono::milliseconds(0));
    }

    /// try_push(), waiting at most `wait` for room (an entry larger than the byte bound never fits).
    bool push(std::span<const std::byte> bytes, std::uint64_t tag, std::chrono::milliseconds wait)
    {
        std::unique_lock lock(mutex_);
        const auto room = [&] { return entries_.size() < max_entries_ && bytes_ + bytes.size() <= max_bytes_; };
        if (!closed_ && !room() && wait.count() > 0 && bytes.size() <= max_bytes_)
            room_.wait_for(lock, wait, [&] { return closed_ || room(); });
        if (closed_ || !room())
            return false;
        if (!spare_.empty()) { // reuse a buffer: no allocation per message once warm
            entries_.push_back({std::move(spare_.back()), tag});
            spare_.pop_back();
            entries_.back().bytes.assign(bytes.begin(), bytes.end());
        } else {
            entries_.push_back({std::vector<std::byte>(bytes.begin(), bytes.end()), tag});
        }
        bytes_ += bytes.size();
        ready_.notify_one();
        return true;
    }

    /// Takes the oldest entry into `out` (swapped: give back a buffer worth reusing). Waits at most
    /// `wait` for one; false when none came or the queue is closed and empty. `tag`, when given,
    /// gets the entry's tag.
    bool pop(std::vector<std::byte>& out, std::chrono::milliseconds wait = std::chrono::milliseconds(0),
             std::uint64_t* tag = nullptr)
    {
        std::unique_lock lock(mutex_);
        if (entries_.empty() && wait.count() > 0)
            ready_.wait_for(lock, wait, [this] { return closed_ || !entries_.empty(); });
        if (entries_.empty())
            return false;
        auto& e = entries_.front();
        bytes_ -= e.bytes.size();
        if (tag)
            *tag = e.tag;
        out.swap(e.bytes); // the caller's old buffer comes back here: kept for a later push
        if (spare_.size() < max_spare && e.bytes.capacity() <= max_spare_bytes)
            spare_.push_back(std::move(e.bytes));
        entries_.pop_front();
        room_.notify_one();
        return true;
    }

    /// Wakes a waiting pop() or push(); later pushes fail.
    void close()
    {
        const std::lock_guard lock(mutex_);
        closed_ = true;
        ready_.notify_all();
        room_.notify_all();
    }

    bool closed() const
    {
        const std::lock_guard lock(mutex_);
        return closed_;
    }

    std::size_t size() const
    {
        const std::lock_guard lock(mutex_);
        return entries_.size();
    }

private:
    static constexpr std::size_t max_spare = 64, max_spare_bytes = 64 * 1024;
    std::size_t max_entries_, max_bytes_;
    mutable std::mutex mutex_;
    std::condition_variable ready_, room_;
    struct entry {
        std::vector<std::byte> bytes;
        std::uint64_t tag = 0;
    };
    std::deque<entry> entries_;
    std::vector<std::vector<std::byte>> spare_;
    std::size_t bytes_ = 0;
    bool closed_ = false;
};

} // namespace tlvcast::federation::detail
