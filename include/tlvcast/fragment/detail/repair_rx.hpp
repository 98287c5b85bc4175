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
#include <optional>
#include <set>
#include <span>
#include <vector>

namespace tlvcast::fragment::detail {

/// One stream heard from one source. Datagrams below `next` were delivered (or given up);
/// `high` is one past the highest seq known to be sent (by data or a tail). A gap is [next,
/// high) minus `held`. Every seq comparison is on values within `window` of `next`, so nothing
/// wraps (a sender opens a new stream before its seq would).
struct rx_stream {
    bool started = false;
    bool anchored = false;         ///< a REPAIR_START fixed where this receiver's part begins
    /// Where a stream first heard past `backfill` was read from (0: from the start). Its source's
    /// authenticated REPAIR_GONE below it (what it released while this receiver did not hear it)
    /// is this receiver's loss: reported once (`start_gone_reported`).
    std::uint32_t late_start = 0;
    bool start_gone_reported = false;
    std::uint32_t next = 0;
    std::uint32_t high = 0;
    std::map<std::uint32_t, std::vector<std::byte>> held;
    /// Held seqs whose whole message was handed on ahead of the gap (repair_limits::ordered false):
    /// they move `next` on when the gap closes, and are not delivered again. Always a subset of
    /// `held`'s keys (what drops a held datagram drops its mark).
    std::set<std::uint32_t> early;
    std::size_t held_bytes = 0;
    time_point nack_due = no_timer;
    unsigned tries = 0;            ///< NACKs since the stream last moved on (their interval doubles)
    bool answered = false;         ///< a seq a NACK asked for arrived since the last NACK
    std::uint32_t nacked_next = 0; ///< `next` at the last NACK
    time_point gap_since = no_timer; ///< when the gap at `next` opened (gap_timeout)
    time_point ack_due = no_timer;
    std::uint32_t acked = 0;       ///< `next` at the last ACK sent
    // The repair round trip (a gap's first NACK to the arrival of the first seq it asked for; never
    // from a NACK sent again: Karn's rule), smoothed as RFC 6298 does a TCP RTO's.
    duration srtt{0}, rttvar{0};
    bool rtt_known = false;
    time_point probe_at = no_timer;
    std::uint32_t probe_seq = 0;
    std::uint32_t asked_end = 0; ///< one past the highest seq a NACK asked for (Karn's rule per seq)
    std::uint64_t delivered = 0;   ///< datagrams delivered (a busy stream is the last to be evicted)
    /// The msg_id of the message this stream is in the middle of (its last FRAGMENT delivered was
    /// stored, not completing): what a gap given up here cuts, and nothing else of its source.
    std::optional<std::uint32_t> partial;
    time_point heard{};
    fec::detail::rx_state fec;     ///< parity held and datagrams kept to decode (a Parity codec only)

    bool has_gap() const noexcept { return next < high; }

    /// A datagram arrived: if it is the one the pending probe asked for, a round-trip sample.
    void sample_rtt(std::uint32_t seq, time_point now) noexcept
    {
        if (probe_at == no_timer || seq != probe_seq)
            return;
        const duration r = now - probe_at;
        probe_at = no_timer;
        if (!rtt_known) {
            srtt = r;
            rttvar = r / 2;
            rtt_known = true;
            return;
        }
        const duration diff = srtt > r ? srtt - r : r - srtt;
        rttvar = (3 * rttvar + diff) / 4;
        srtt = (7 * srtt + r) / 8;
    }

    /// How long a NACK waits for its repair before it is sent again: the measured round trip's
    /// RTO (srtt + 4 rttvar) within [min_nack_interval, nack_interval]; nack_interval until measured.
    duration nack_wait(const repair_limits& lim) const noexcept
    {
        if (!rtt_known)
            return lim.nack_interval;
        return std::clamp(srtt + 4 * rttvar, lim.min_nack_interval, std::max(lim.min_nack_interval, lim.nack_interval));
    }

    /// First contact at `seq`: from 0 when `seq` is near the start (the first datagrams were lost),
    /// else from `seq` (a receiver that joined late has nothing to ask for).
    void start(std::uint32_t seq, const repair_limits& lim) noexcept
    {
        started = true;
        next = seq < lim.backfill ? 0 : seq;
        high = next;
        late_start = next;
    }

    /// The source's own word (an authenticated REPAIR_START) on where this receiver's part of a
    /// group stream begins: a start, not a loss. It overrides a start guessed from what was heard
    /// bare before it (backfill from 0, or a spoofed seq far ahead); held datagrams outside
    /// [seq, seq + window) go. Taken once: later ones change nothing. Returns the bytes dropped.
    std::size_t anchor_at(std::uint32_t seq, const repair_limits& lim)
    {
        if (anchored)
            return 0;
        anchored = started = true;
        std::size_t bytes = drop_below(seq);
        next = high = seq;
        const std::uint64_t end = std::uint64_t{seq} + lim.window;
        for (auto it = held.begin(); it != held.end();) {
            if (it->first >= end) {
                bytes += it->second.size();
                held_bytes -= it->second.size();
                early.erase(it->first);
                it = held.erase(it);
            } else {
                high = std::max(high, it->first + 1);
                ++it;
            }
        }
        return bytes;
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
            probe_at = no_timer; // a gap closed otherwise (tail, GONE, parity): its seq sent later is no round trip
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
        early.erase(early.begin(), early.lower_bound(seq));
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
        early.erase(early.lower_bound(seq), early.end());
        held_bytes -= bytes;
        return bytes;
    }
};

} // namespace tlvcast::fragment::detail
