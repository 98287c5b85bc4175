// SPDX-License-Identifier: BSL-1.0
// The Congestion policy of the repairing fragmenter: the window of one acknowledged stream.
#pragma once

#include <tlvcast/fragment/repair_limits.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>

namespace tlvcast::fragment {

/// The congestion state of one acknowledged stream (a unicast destination). It is plain data that
/// the fragmenter keeps per stream and hands to its Congestion policy; a policy owns its meaning.
struct flow_state {
    std::size_t cwnd = 0;             ///< congestion window, bytes
    std::size_t ssthresh = 0;         ///< slow-start threshold, bytes
    std::uint32_t recovery_end = 0;   ///< losses reported before the ACK passes this seq are one event
    bool started = false;
};

/// A Congestion policy (docs/DESIGN.md "Flow and congestion control") sets how many bytes of one
/// acknowledged stream may be unacknowledged. The fragmenter calls, per stream:
/// - start(f, lim): once, when the stream opens;
/// - on_ack(f, bytes, lim): the receiver's cumulative REPAIR_ACK newly covered `bytes`;
/// - on_loss(f, next, acked, lim): a REPAIR_NACK asked for datagrams; `next` is the stream's next
///   seq, `acked` the cumulative ACK. Returns true when the window shrank (counted);
/// - window(f, lim): the bytes that may be unacknowledged now; never above lim.send_window and
///   never below lim.min_window.
/// Policies are stateless between streams (the state is flow_state) and never allocate.
template <class C>
concept congestion_control = std::default_initializable<C> &&
                             requires(const C& c, flow_state& f, const flow_state& cf, std::size_t bytes,
                                      std::uint32_t seq, const repair_limits& lim) {
                                 { c.start(f, lim) } -> std::same_as<void>;
                                 { c.on_ack(f, bytes, lim) } -> std::same_as<void>;
                                 { c.on_loss(f, seq, seq, lim) } -> std::same_as<bool>;
                                 { c.window(cf, lim) } -> std::same_as<std::size_t>;
                             };

/// No congestion control: the window is lim.send_window, whatever is lost (flow control alone).
struct fixed_window {
    void start(flow_state& f, const repair_limits& lim) const noexcept
    {
        f.cwnd = lim.send_window;
        f.started = true;
    }
    void on_ack(flow_state&, std::size_t, const repair_limits&) const noexcept {}
    bool on_loss(flow_state&, std::uint32_t, std::uint32_t, const repair_limits&) const noexcept { return false; }
    std::size_t window(const flow_state&, const repair_limits& lim) const noexcept
    {
        return std::max(lim.send_window, lim.min_window);
    }
};

/// Loss-based AIMD on the window, TCP NewReno's way over tlvcast's signals (RFC 5681, 6582): slow
/// start from lim.initial_window doubles the window per window acknowledged up to ssthresh, then
/// one lim.segment_bytes per window (additive increase). A NACK is a loss: the window halves
/// (multiplicative decrease, not below lim.min_window) once per recovery period, which ends when
/// the ACK passes what had been sent at the loss (one round trip, without measuring it).
struct aimd_congestion {
    void start(flow_state& f, const repair_limits& lim) const noexcept
    {
        f.cwnd = clamp(lim.initial_window, lim);
        f.ssthresh = std::max(lim.send_window, lim.min_window);
        f.recovery_end = 0;
        f.started = true;
    }

    void on_ack(flow_state& f, std::size_t bytes, const repair_limits& lim) const noexcept
    {
        if (f.cwnd < f.ssthresh)
            f.cwnd += bytes;
        else // about one segment per window's worth of ACKed bytes
            f.cwnd += std::max<std::size_t>(1, lim.segment_bytes * bytes / std::max<std::size_t>(f.cwnd, 1));
        f.cwnd = clamp(f.cwnd, lim);
    }

    bool on_loss(flow_state& f, std::uint32_t next, std::uint32_t acked, const repair_limits& lim) const noexcept
    {
        if (acked < f.recovery_end)
            return false; // the same loss event: this window was already halved
        f.ssthresh = clamp(f.cwnd / 2, lim);
        f.cwnd = f.ssthresh;
        f.recovery_end = next;
        return true;
    }

    std::size_t window(const flow_state& f, const repair_limits& lim) const noexcept { return clamp(f.cwnd, lim); }

private:
    static std::size_t clamp(std::size_t w, const repair_limits& lim) noexcept
    {
        return std::max(std::min(w, lim.send_window), lim.min_window);
    }
};

static_assert(congestion_control<fixed_window> && congestion_control<aimd_congestion>);

} // namespace tlvcast::fragment
