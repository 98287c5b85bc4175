// SPDX-License-Identifier: BSL-1.0
// The receiving side of one repair stream: in-order delivery, held datagrams, gaps and their NACKs.
#pragma once

#include <tlvcast/fragment/fec/detail/stream_state.hpp>
#include <tlvcast/fragment/repair_limits.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/wire/repair.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

namespace tlvcast::fragment::detail {

/// One stream heard from one source. Datagrams below `next` were delivered (or given up);
/// `high` is one past the highest seq known to be sent (by data or a tail). A gap is [next,
/// high) minus `held`. Every seq comparison is on values within `window` of `next`, so nothing
/// wraps (a sender opens a new stream before its seq would).
struct rx_stream {
    bool started = false;
    std::uint32_t next = 0;
    std::uint32_t high = 0;
    std::map<std::uint32_t, std::vector<std::byte>> held;
    std::size_t held_bytes = 0;
    time_point nack_due = no_timer;
    unsigned tries = 0;            ///< NACKs since the stream last moved on (their interval doubles)
    std::uint32_t nacked_next = 0; ///< `next` at the last NACK
    time_point gap_since = no_timer; ///< when the gap at `next` opened (gap_timeout)
    time_point ack_due = no_timer;
    std::uint32_t acked = 0;       ///< `next` at the last ACK sent
    std::uint64_t delivered = 0;   ///< datagrams delivered (a busy stream is the last to be evicted)
    time_point heard{};
    fec::detail::rx_state fec;     ///< parity held and datagrams kept to decode (a Parity codec only)

    bool has_gap() const noexcept { return next < high; }

    /// First contact at `seq`: from 0 when `seq` is near the start (the first datagrams were lost),
    /// else from `seq` (a receiver that joined late has nothing to ask for).
    void start(std::uint32_t seq, const repair_limits& lim) noexcept
    {
        started = true;
        next = seq < lim.backfill ? 0 : seq;
        high = next;
    }

    /// First contact by the source's own word (an authenticated GONE): nothing below `seq` is for
    /// this receiver. A start, not a loss: a relay tells a member that joined its shared stream
    /// mid-way where its part begins, so that what was sent before it joined is never asked for.
    void start_at(std::uint32_t seq) noexcept
    {
        started = true;
        next = high = seq;
    }

    /// Raises `high` to `seq_end`, at most `window` past `next` (a hostile or far-ahead value
    /// cannot make the gap unbounded).
    void heard_up_to(std::uint64_t seq_end, const repair_limits& lim) noexcept
    {
        const std::uint64_t cap = std::min<std::uint64_t>(std::uint64_t{next} + lim.window, max_seq);
        const auto end = static_cast<std::uint32_t>(std::min(seq_end, cap));
        high = std::max(high, end);
    }

    /// No stream reaches this seq: a sender opens a new stream first, so nothing wraps.
    static constexpr std::uint32_t max_seq = 0xffffffffu;

    /// After any change: arms the first NACK (random back-off) when a gap opened, disarms when
    /// none is left. `backoff` is the delay drawn by the caller.
    void update_gap(time_point now, duration backoff) noexcept
    {
        if (!has_gap()) {
            nack_due = no_timer;
            gap_since = no_timer;
            tries = 0;
        } else if (nack_due == no_timer) {
            nack_due = now + backoff;
            gap_since = now;
            tries = 0;
        }
    }

    /// The missing ranges of [next, high), at most `max_ranges`, each at most 65,535 long.
    void missing(std::vector<wire::repair_range>& out, std::size_t max_ranges) const
    {
        out.clear();
        std::uint32_t at = next;
        auto h = held.lower_bound(next);
        while (at < high && out.size() < max_ranges) {
            const std::uint32_t end = h == held.end() ? high : std::min(h->first, high);
            while (at < end && out.size() < max_ranges) {
                const auto n = static_cast<std::uint16_t>(std::min<std::uint32_t>(end - at, 0xffff));
                out.push_back({at, n});
                at += n;
            }
            if (h == held.end())
                break;
            at = h->first + 1;
            ++h;
        }
    }

    /// The end of the gap at `next`: the first held seq, or `high`.
    std::uint32_t gap_end() const noexcept { return held.empty() ? high : std::min(held.begin()->first, high); }

    /// Drops held datagrams below `seq`; returns their bytes.
    std::size_t drop_below(std::uint32_t seq)
    {
        std::size_t bytes = 0;
        while (!held.empty() && held.begin()->first < seq) {
            bytes += held.begin()->second.size();
            held.erase(held.begin());
        }
        held_bytes -= bytes;
        return bytes;
    }

    /// Drops held datagrams at `seq` and above (what an authenticated tail says was never sent);
    /// returns their bytes.
    std::size_t drop_from(std::uint32_t seq)
    {
        std::size_t bytes = 0;
        for (auto it = held.lower_bound(seq); it != held.end();) {
            bytes += it->second.size();
            it = held.erase(it);
        }
        held_bytes -= bytes;
        return bytes;
    }
};

} // namespace tlvcast::fragment::detail
