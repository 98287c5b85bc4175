// SPDX-License-Identifier: BSL-1.0
// retransmit_timer: a handshake flight's retransmission timer with exponential back-off (RFC 9147 §5.8).
#pragma once

#include <tlvcast/time.hpp>

#include <algorithm>
#include <chrono>

namespace tlvcast::crypto {

/// When a flight that got no answer is sent again: first `initial` after the send, then the wait
/// doubles up to `max`, and at most `tries` retransmissions follow the first send. The profiles
/// name their defaults (secure::options, seed::registration_retransmit) and check them with
/// static_asserts; every retransmitting loop is therefore bounded in count and in time.
struct retransmit_schedule {
    duration initial;
    duration max;
    unsigned tries;

    /// The longest a flight is sent for: the sum of every wait before the last retransmission.
    constexpr duration span() const noexcept
    {
        duration total{}, wait = initial;
        for (unsigned i = 0; i < tries; ++i) {
            total += wait;
            wait = std::min(wait * 2, max);
        }
        return total;
    }
    constexpr bool valid() const noexcept { return initial > duration::zero() && max >= initial; }

    /// How long after a flight's first send its k-th retransmission (k from 0) may be answered
    /// again: half a wait before the peer's own k-th retransmission goes out. A burst of copies
    /// (a spoofer's) then cannot spend the answers the peer's own retransmissions will need.
    constexpr duration earliest_answer(unsigned k) const noexcept
    {
        duration total{}, wait = initial;
        for (unsigned i = 0; i < k; ++i) {
            total += wait;
            wait = std::min(wait * 2, max);
        }
        return total + wait / 2;
    }
};

/// One flight's timer, as DTLS runs it (RFC 9147 §5.8.1): armed when the flight is sent, fired
/// on due(); every fire is one retransmission and doubles the wait (up to the schedule's max);
/// after `tries` of them it stops by itself. A new flight re-arms it at `initial` (the answer to
/// the last one arrived, so the path is not congested). Time is an input; no I/O. Not thread-safe.
class retransmit_timer {
public:
    /// The flight was just sent at `now`.
    void arm(time_point now, const retransmit_schedule& s) noexcept
    {
        schedule_ = s;
        wait_ = s.initial;
        sent_ = 0;
        next_ = now + wait_;
    }
    /// No more retransmissions (the answer came, the handshake ended or was wiped).
    void stop() noexcept { next_ = no_timer; }
    bool armed() const noexcept { return next_ != no_timer; }
    /// When the next retransmission is due, or no_timer.
    time_point next() const noexcept { return next_; }
    /// Retransmissions fired since the flight was sent.
    unsigned retransmissions() const noexcept { return sent_; }

    /// True when a retransmission is due at `now`: the caller sends the flight again. The timer
    /// then waits twice as long, or stops after the last try.
    bool fire(time_point now) noexcept
    {
        if (next_ == no_timer || now < next_)
            return false;
        ++sent_;
        wait_ = std::min(wait_ * 2, schedule_.max);
        next_ = sent_ >= schedule_.tries ? no_timer : now + wait_;
        return true;
    }

private:
    retransmit_schedule schedule_{};
    duration wait_{};
    unsigned sent_ = 0;
    time_point next_ = no_timer;
};

} // namespace tlvcast::crypto
