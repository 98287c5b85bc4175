// SPDX-License-Identifier: BSL-1.0
// basic_nack_fragmenter's flow control at the window: the slow-receiver policies hold and drop.
// Included at the bottom of fragment/nack_fragmenter.hpp, which declares these members.
#pragma once

#include <tlvcast/fragment/nack_fragmenter.hpp>

namespace tlvcast::fragment {

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::check_slow(detail::tx_stream& s, time_point now)
{
    switch (lim_.slow_receiver) {
    case slow_receiver_policy::block: break; // the engine asked writable() before this split
    case slow_receiver_policy::drop:
        if (s.in_flight > lim_.slow_receiver_bytes)
            shed(s, false);
        break;
    case slow_receiver_policy::hold:
        if (s.over_since == time_point::min() && s.in_flight >= window_of(s)) {
            s.over_since = s.held_since = now;
            ++holding_;
            ++stats_.slow_holds;
            wake(now + lim_.slow_hold);
        }
        break;
    }
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::unhold(detail::tx_stream& s) noexcept
{
    if (s.over_since == time_point::min())
        return;
    s.over_since = s.held_since = time_point::min();
    --holding_;
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::shed(detail::tx_stream& s, bool held)
{
    // Everything unacknowledged goes, whatever FEC block it is in: the destination will be told
    // GONE for what it asks, and learns its loss as unrecoverable gaps.
    const std::size_t bytes = s.in_flight;
    if (s.acked < s.next) {
        s.gone_from = s.gone_reminders > 0 ? std::min(s.gone_from, s.acked) : s.acked;
        s.gone_to = s.next;
        s.gone_reminders = gone_reminders;
        s.gone_until = no_timer;
    }
    while (!s.cache.empty())
        total_cache_ -= s.pop_oldest();
    s.acked = s.next;
    s.in_flight = 0;
    s.tail_due = no_timer;
    s.shed = true;
    unhold(s);
    ++stats_.slow_dropped;
    stats_.slow_released_bytes += bytes;
    if (slow_.size() >= lim_.max_streams) // never drained: the oldest notice goes (bounded)
        slow_.pop_front();
    slow_.push_back({s.to, bytes, held});
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::flow_timer(detail::tx_stream& s, time_point now)
{
    if (s.over_since == time_point::min())
        return;
    if (group_stream(s.id)) { // held while its cache is full of young datagrams; never shed
        if (group_full(s, now) && now - s.held_since < lim_.slow_hold_max) {
            wake(std::min(s.cache.front().sent + lim_.group_hold_age, s.held_since + lim_.slow_hold_max));
            return;
        }
        unhold(s);
    } else if (s.in_flight < window_of(s)) { // evictions by age brought it under
        unhold(s);
    } else if (now - s.over_since >= lim_.slow_hold || now - s.held_since >= lim_.slow_hold_max) {
        shed(s, true); // holding the senders did not help (or took too long): it is dropped, they go on
    } else {
        wake(std::min(s.over_since + lim_.slow_hold, s.held_since + lim_.slow_hold_max));
        return;
    }
    if (!acks_held())
        wake(now); // the ACKs withheld in this round's rx pass leave in the next call
}

} // namespace tlvcast::fragment
