// SPDX-License-Identifier: BSL-1.0
// Handshake rate limiting: a token bucket per source, per network prefix and a global one, in bounded memory.
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

/// The network a source belongs to, for per-prefix limits: the /24 of an IPv4 address, the /64 of
/// an IPv6 one (port and scope dropped). One host rarely holds more than one such prefix.
constexpr endpoint network_prefix(const endpoint& source) noexcept
{
    if (source.is_v4())
        return endpoint{source.v4() & 0xffffff00u, 0};
    endpoint::v6_bytes a = source.v6();
    for (std::size_t i = 8; i < a.size(); ++i)
        a[i] = 0;
    return endpoint::from_v6(a, 0, 0);
}

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
    /// Per network prefix (network_prefix(): /24, /64) of the sources; 0 = no prefix limit. The
    /// prefix table holds at most max_sources prefixes too.
    double per_prefix_rate = 0.0;
    double per_prefix_burst = 0.0;
};

/// Decides whether a handshake from a source may proceed: the source's token bucket, its prefix's
/// bucket (when limits.per_prefix_rate > 0) and the global bucket must each hold a token, and then
/// each gives one. A refused request consumes nothing. The source is the endpoint given (callers
/// that limit per IP address pass endpoint::without_port()).
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
        std::uint64_t denied_prefix = 0; ///< refused by the source's prefix bucket
        std::uint64_t denied_global = 0; ///< refused by the global bucket
        std::uint64_t evictions = 0;     ///< sources dropped to make room
    };

    /// Throws std::invalid_argument for a non-positive rate, a burst below 1 or max_sources == 0.
    explicit rate_limiter(limits_type limits = {}) : limits_(limits)
    {
        if (!(limits.per_source_rate > 0) || !(limits.global_rate > 0) || !(limits.per_source_burst >= 1) ||
            !(limits.global_burst >= 1) || limits.max_sources == 0 ||
            limits.max_sources > std::numeric_limits<std::uint32_t>::max() - 1 || limits.per_prefix_rate < 0 ||
            (limits.per_prefix_rate > 0 && !(limits.per_prefix_burst >= 1)))
            throw std::invalid_argument("tlvcast: invalid rate_limits");
        global_.tokens = limits.global_burst;
        sources_.init(limits.max_sources);
        if (limits.per_prefix_rate > 0)
            prefixes_.init(limits.max_sources);
    }

    /// True when a request from `source` at `now` is within both limits (and is then counted).
    bool allow(const endpoint& source, time_point now)
    {
        token_bucket& b = sources_.find_or_insert(source, limits_.per_source_burst, stats_.evictions);
        refill(b, now, limits_.per_source_rate, limits_.per_source_burst);
        token_bucket* p = nullptr;
        if (limits_.per_prefix_rate > 0) {
            p = &prefixes_.find_or_insert(network_prefix(source), limits_.per_prefix_burst, stats_.evictions);
            refill(*p, now, limits_.per_prefix_rate, limits_.per_prefix_burst);
        }
        refill(global_, now, limits_.global_rate, limits_.global_burst);
        if (b.tokens < 1) {
            ++stats_.denied_source;
            return false;
        }
        if (p && p->tokens < 1) {
            ++stats_.denied_prefix;
            return false;
        }
        if (global_.tokens < 1) {
            ++stats_.denied_global;
            return false;
        }
        b.tokens -= 1;
        if (p)
            p->tokens -= 1;
        global_.tokens -= 1;
        ++stats_.allowed;
        return true;
    }

    /// Sources currently remembered (at most limits().max_sources).
    std::size_t size() const noexcept { return sources_.index.size(); }
    /// Prefixes currently remembered (0 without a prefix limit).
    std::size_t prefixes() const noexcept { return prefixes_.index.size(); }
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
        endpoint key;
        token_bucket bucket;
        std::uint32_t prev = none, next = none; // LRU list, most recent at head
    };
    // Buckets by key, at most `max` of them, the least recently seen evicted first.
    struct lru_table {
        std::size_t max = 0;
        std::vector<node> nodes;
        std::unordered_map<endpoint, std::uint32_t> index;
        std::uint32_t head = none, tail = none;

        void init(std::size_t m)
        {
            max = m;
            index.reserve(m); // never rehashes past the limit
            nodes.reserve(std::min<std::size_t>(m, 1024));
        }

        token_bucket& find_or_insert(const endpoint& key, double burst, std::uint64_t& evictions)
        {
            if (auto it = index.find(key); it != index.end()) {
                move_to_front(it->second);
                return nodes[it->second].bucket;
            }
            std::uint32_t i;
            if (index.size() < max) {
                i = static_cast<std::uint32_t>(nodes.size());
                nodes.emplace_back();
            } else {
                i = tail; // the least recently seen key makes room
                unlink(i);
                index.erase(nodes[i].key);
                ++evictions;
            }
            node& n = nodes[i];
            n.key = key;
            n.bucket = token_bucket{burst, {}, false};
            index.emplace(key, i);
            push_front(i);
            return n.bucket;
        }

        void unlink(std::uint32_t i) noexcept
        {
            node& n = nodes[i];
            (n.prev == none ? head : nodes[n.prev].next) = n.next;
            (n.next == none ? tail : nodes[n.next].prev) = n.prev;
            n.prev = n.next = none;
        }
        void push_front(std::uint32_t i) noexcept
        {
            node& n = nodes[i];
            n.prev = none;
            n.next = head;
            (head == none ? tail : nodes[head].prev) = i;
            head = i;
        }
        void move_to_front(std::uint32_t i) noexcept
        {
            if (head == i)
                return;
            unlink(i);
            push_front(i);
        }
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

    limits_type limits_;
    token_bucket global_;
    lru_table sources_, prefixes_;
    stats_type stats_;
};

} // namespace tlvcast::crypto
