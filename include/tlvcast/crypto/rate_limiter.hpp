// Handshake rate limiting: a token bucket per source address plus a global one, in bounded memory.
#pragma once

#include <tlvcast/endpoint.hpp>
#include <tlvcast/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace tlvcast::crypto {

/// Limits of a rate_limiter; every instance may set its own. Rates are in requests per second,
/// bursts in requests (a bucket holds at most `burst` tokens and starts full).
struct rate_limits {
    double per_source_rate = 2.0;
    double per_source_burst = 8.0;
    /// The backstop against spoofed floods, where every request claims a new source.
    double global_rate = 500.0;
    double global_burst = 1000.0;
    /// Sources remembered at once: memory is about 80 bytes per source, whatever arrives.
    std::size_t max_sources = 4096;
};

/// Decides whether a handshake from a source may proceed: both the source's token bucket and the global
/// bucket must hold a token, and then each gives one. A refused request consumes nothing.
/// Sources live in a table of at most limits.max_sources entries ordered by last request; a new source
/// evicts the least recently seen one. A source that keeps sending stays at the front and stays
/// throttled, while spoofed one-off sources push each other out; an evicted source comes back with a
/// full bucket, which the global bucket bounds. Pure: no crypto, no clock (time is an input; a clock
/// that goes back refills nothing). Not thread-safe (one per relay engine).
class rate_limiter {
public:
    using limits_type = rate_limits;
    struct stats_type {
        std::uint64_t allowed = 0;
        std::uint64_t denied_source = 0; ///< refused by the source's own bucket
        std::uint64_t denied_global = 0; ///< refused by the global bucket
        std::uint64_t evictions = 0;     ///< sources dropped to make room
    };

    /// Throws std::invalid_argument for a non-positive rate, a burst below 1 or max_sources == 0.
    explicit rate_limiter(limits_type limits = {}) : limits_(limits)
    {
        if (!(limits.per_source_rate > 0) || !(limits.global_rate > 0) || !(limits.per_source_burst >= 1) ||
            !(limits.global_burst >= 1) || limits.max_sources == 0 ||
            limits.max_sources > std::numeric_limits<std::uint32_t>::max() - 1)
            throw std::invalid_argument("tlvcast: invalid rate_limits");
        global_.tokens = limits.global_burst;
        index_.reserve(limits.max_sources); // never rehashes past the limit
        nodes_.reserve(std::min<std::size_t>(limits.max_sources, 1024));
    }

    /// True when a request from `source` at `now` is within both limits (and is then counted).
    bool allow(const endpoint& source, time_point now)
    {
        node& n = find_or_insert(source);
        refill(n.bucket, now, limits_.per_source_rate, limits_.per_source_burst);
        refill(global_, now, limits_.global_rate, limits_.global_burst);
        if (n.bucket.tokens < 1) {
            ++stats_.denied_source;
            return false;
        }
        if (global_.tokens < 1) {
            ++stats_.denied_global;
            return false;
        }
        n.bucket.tokens -= 1;
        global_.tokens -= 1;
        ++stats_.allowed;
        return true;
    }

    /// Sources currently remembered (at most limits().max_sources).
    std::size_t size() const noexcept { return index_.size(); }
    const stats_type& stats() const noexcept { return stats_; }
    const limits_type& limits() const noexcept { return limits_; }

private:
    static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();

    struct token_bucket {
        double tokens = 0;
        time_point last{};
        bool started = false;
    };
    struct node {
        endpoint source;
        token_bucket bucket;
        std::uint32_t prev = none, next = none; // LRU list, most recent at head_
    };

    static void refill(token_bucket& b, time_point now, double rate, double burst) noexcept
    {
        if (!b.started) {
            b.started = true;
            b.last = now;
            return;
        }
        if (now <= b.last)
            return;
        const double elapsed = std::chrono::duration<double>(now - b.last).count();
        b.tokens = std::min(burst, b.tokens + elapsed * rate);
        b.last = now;
    }

    node& find_or_insert(const endpoint& source)
    {
        if (auto it = index_.find(source); it != index_.end()) {
            move_to_front(it->second);
            return nodes_[it->second];
        }
        std::uint32_t i;
        if (index_.size() < limits_.max_sources) {
            i = static_cast<std::uint32_t>(nodes_.size());
            nodes_.emplace_back();
        } else {
            i = tail_; // the least recently seen source makes room
            unlink(i);
            index_.erase(nodes_[i].source);
            ++stats_.evictions;
        }
        node& n = nodes_[i];
        n.source = source;
        n.bucket = token_bucket{limits_.per_source_burst, {}, false};
        index_.emplace(source, i);
        push_front(i);
        return n;
    }

    void unlink(std::uint32_t i) noexcept
    {
        node& n = nodes_[i];
        (n.prev == none ? head_ : nodes_[n.prev].next) = n.next;
        (n.next == none ? tail_ : nodes_[n.next].prev) = n.prev;
        n.prev = n.next = none;
    }
    void push_front(std::uint32_t i) noexcept
    {
        node& n = nodes_[i];
        n.prev = none;
        n.next = head_;
        (head_ == none ? tail_ : nodes_[head_].prev) = i;
        head_ = i;
    }
    void move_to_front(std::uint32_t i) noexcept
    {
        if (head_ == i)
            return;
        unlink(i);
        push_front(i);
    }

    limits_type limits_;
    token_bucket global_;
    std::vector<node> nodes_;
    std::unordered_map<endpoint, std::uint32_t> index_;
    std::uint32_t head_ = none, tail_ = none;
    stats_type stats_;
};

} // namespace tlvcast::crypto
