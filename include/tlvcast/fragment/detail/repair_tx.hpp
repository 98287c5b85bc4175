// SPDX-License-Identifier: BSL-1.0
// The sending side of one repair stream: sequence numbers, the repair cache, tails.
#pragma once

#include <tlvcast/endpoint.hpp>
#include <tlvcast/fragment/congestion.hpp>
#include <tlvcast/fragment/fec/detail/stream_state.hpp>
#include <tlvcast/fragment/detail/slot_ring.hpp>
#include <tlvcast/fragment/repair_limits.hpp>
#include <tlvcast/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace tlvcast::fragment::detail {

/// A token bucket of retransmitted bytes (repair_bytes_per_second, burst repair_burst_bytes).
struct repair_budget {
    double tokens = 0;
    time_point at = time_point::min(); ///< last refill (min: never used, so full)

    /// The tokens it would hold at `now`, up to the burst (a fresh one is full).
    double level(time_point now, const repair_limits& lim) const noexcept
    {
        const double burst = static_cast<double>(lim.repair_burst_bytes);
        if (at == time_point::min())
            return burst;
        const double seconds = std::chrono::duration<double>(now - at).count();
        return std::min(burst, tokens + seconds * static_cast<double>(lim.repair_bytes_per_second));
    }

    /// Refills for the time since the last refill, up to the burst.
    void refill(time_point now, const repair_limits& lim) noexcept
    {
        tokens = level(now, lim);
        at = now;
    }

    /// Whether it would be full at `now`: then it is the same as a fresh one (and may be dropped).
    bool full(time_point now, const repair_limits& lim) const noexcept
    {
        return level(now, lim) >= static_cast<double>(lim.repair_burst_bytes);
    }
};

/// One stream to one destination (a peer, or a multicast group whose receivers all NACK it).
/// `cache` holds the REPAIR_DATA datagrams of seqs [cache.front().seq, next), oldest first,
/// within the limits' bytes and age.
struct tx_stream {
    struct cached {
        std::uint32_t seq = 0;
        time_point sent{};
        time_point repaired = time_point::min(); ///< last retransmission (repair_holdoff)
        std::vector<std::byte> datagram;
    };

    endpoint to;
    std::uint32_t id = 0;
    std::uint32_t next = 0;
    slot_ring<cached> cache; // its slots and buffers are reused: no allocation per datagram once warm
    std::size_t cache_bytes = 0;
    time_point tail_due = no_timer;
    unsigned tails_sent = 0;    ///< since the last new datagram (their interval doubles)
    std::uint32_t acked = 0;    ///< every seq below was delivered (unicast destinations' ACKs)
    /// The destination's own cumulative ACK: `acked` also moves on past what a destination dropped
    /// from reliability was sent, which it never acknowledged.
    std::uint32_t ack_heard = 0;
    time_point used{};
    repair_budget budget;       ///< bytes this stream may still retransmit (repair_bytes_per_second)
    /// Repairs go to each asker alone (a destination the caller copies to several receivers that
    /// each NACK for themselves): no hold-off, no parity, and a NACK never re-arms the tails that
    /// go to every receiver. Set when the stream opens (basic_nack_fragmenter::asker_only).
    bool asker_only = false;
    /// Of an asker_only stream: a budget per asker, so that one receiver's NACKs cannot spend what
    /// another's repairs need (only budgets not full are kept; askers beyond max_askers share `budget`).
    std::unordered_map<endpoint, repair_budget> askers;
    /// Of a group stream: where each receiver added mid-way begins (append_start), at most
    /// max_askers of them. Its NACK from seq 0 (it reads the stream from 0: it never took the first
    /// one, in a record) is answered with its REPAIR_START again, nothing below it repaired.
    std::unordered_map<endpoint, std::uint32_t> starts;
    fec::detail::tx_state fec;  ///< FEC blocks (a Parity codec only)
    // Flow control (unicast streams): bytes of cached datagrams at or above `acked`.
    std::size_t in_flight = 0;
    flow_state flow;            ///< the Congestion policy's
    time_point held_since = time_point::min(); ///< this hold began (slow_hold_max), whatever its progress
    time_point over_since = time_point::min(); ///< over its window under the hold policy, since
    bool shed = false;          ///< dropped from reliability: sent uncached until it ACKs the end
    /// What a shed released unacknowledged and sent uncached after it, [gone_from, gone_to):
    /// told (REPAIR_GONE) with the destination's next ACKs, `gone_reminders` times, since a
    /// destination that first hears the stream past `backfill` starts there and would ask for
    /// none of it (its loss, said).
    std::uint32_t gone_from = 0, gone_to = 0;
    unsigned gone_reminders = 0;
    time_point gone_until = no_timer; ///< set by the first reminder (gone_window)

    /// The budget that pays for repairs to `asker`, refilled: its own on an asker_only stream
    /// (while fewer than `max_askers` budgets are kept), else the stream's.
    repair_budget& budget_for(const endpoint& asker, time_point now, const repair_limits& lim,
                              std::size_t max_askers)
    {
        repair_budget* b = &budget;
        if (asker_only) {
            if (const auto it = askers.find(asker); it != askers.end())
                b = &it->second;
            else if (askers.size() < max_askers || (prune_askers(now, lim), askers.size() < max_askers))
                b = &askers[asker];
        }
        b->refill(now, lim);
        return *b;
    }

    /// Forgets the askers' budgets that refilled: a full budget is the same as none.
    void prune_askers(time_point now, const repair_limits& lim)
    {
        std::erase_if(askers, [&](const auto& a) { return a.second.full(now, lim); });
    }

    /// The seq of the oldest datagram still cached (== next when none is).
    std::uint32_t base() const noexcept { return cache.empty() ? next : cache.front().seq; }

    /// The cached datagram `seq`, or nullptr (evicted or never sent).
    cached* find(std::uint32_t seq) noexcept
    {
        if (seq < base() || seq >= next)
            return nullptr;
        return &cache[seq - base()];
    }

    /// Drops the oldest cached datagram; returns its bytes.
    std::size_t pop_oldest()
    {
        const std::size_t bytes = cache.front().datagram.size();
        if (cache.front().seq >= acked)
            in_flight -= bytes; // evicted unacknowledged: the receiver will get GONE for it
        cache_bytes -= bytes;
        cache.pop_front();
        return bytes;
    }

    /// Raises the cumulative ACK to `value` (acked < value <= next); returns the bytes it newly
    /// covers among the cached datagrams (those no longer in flight).
    std::size_t ack_to(std::uint32_t value) noexcept
    {
        std::size_t bytes = 0;
        for (std::uint32_t q = std::max(acked, base()); q < value; ++q)
            bytes += cache[q - base()].datagram.size();
        acked = value;
        in_flight -= bytes;
        return bytes;
    }

    /// Releases what the destination acknowledged, below `keep_from` (an FEC block still open
    /// needs its datagrams for its parity); returns how many, adding their bytes to `bytes`.
    std::size_t release_acked(std::size_t& bytes, std::uint32_t keep_from = 0xffffffffu)
    {
        std::size_t n = 0;
        for (; !cache.empty() && cache.front().seq < acked && cache.front().seq < keep_from; ++n)
            bytes += pop_oldest();
        return n;
    }

    /// Evicts what is over the byte limit or older than the age limit; returns how many, adding
    /// their bytes to `bytes`.
    std::size_t evict(time_point now, const repair_limits& lim, std::size_t& bytes)
    {
        std::size_t n = 0;
        for (; !cache.empty() && (cache_bytes > lim.cache_bytes || now - cache.front().sent >= lim.cache_age); ++n)
            bytes += pop_oldest();
        return n;
    }

    /// When this stream next needs the timer: a tail, or the oldest datagram's eviction.
    time_point deadline(const repair_limits& lim) const noexcept
    {
        time_point t = tail_due;
        if (!cache.empty() && cache.front().sent + lim.cache_age < t)
            t = cache.front().sent + lim.cache_age;
        return t;
    }
};

} // namespace tlvcast::fragment::detail
