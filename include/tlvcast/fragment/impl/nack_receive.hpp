// SPDX-License-Identifier: BSL-1.0
// basic_nack_fragmenter's receiving side: streams heard, in-order delivery, gaps, NACKs and ACKs.
// Included at the bottom of fragment/nack_fragmenter.hpp, which declares these members.
#pragma once

#include <tlvcast/fragment/nack_fragmenter.hpp>

#include <bit>

namespace tlvcast::fragment {

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
typename basic_nack_fragmenter<Inner, Parity, Congestion>::rx_key basic_nack_fragmenter<Inner, Parity, Congestion>::key_of(const endpoint& from,
                                                                                  std::uint32_t id) const noexcept
{
    // A group's stream has one key, whether its TLVs came bare or inside the source's records: the
    // source's address without a port (what completes there is handed out as unauthenticated).
    return {group_stream(id) ? from.without_port() : from, id};
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
detail::rx_stream* basic_nack_fragmenter<Inner, Parity, Congestion>::rx_for(const rx_key& key, time_point now, bool create)
{
    if (auto it = rx_.find(key); it != rx_.end()) {
        it->second.heard = now;
        return &it->second;
    }
    if (!create)
        return nullptr;
    // Taken before a victim's place is remembered, which may push out the oldest remembered.
    auto resumed = evicted_.extract(key);
    // Bounds: streams per source (the one that delivered least goes: spoofed newcomers before a
    // busy stream), then streams in all (the least recently heard goes).
    std::size_t of_source = 0;
    auto victim = rx_.end();
    for (auto it = rx_.lower_bound(rx_key{key.first, 0}); it != rx_.end() && it->first.first == key.first;
         ++it, ++of_source)
        if (victim == rx_.end() || it->second.delivered < victim->second.delivered ||
            (it->second.delivered == victim->second.delivered && it->second.heard < victim->second.heard))
            victim = it;
    if (of_source < lim_.streams_per_source) {
        victim = rx_.end();
        if (rx_.size() >= lim_.max_streams)
            for (auto it = rx_.begin(); it != rx_.end(); ++it)
                if (victim == rx_.end() || it->second.heard < victim->second.heard)
                    victim = it;
    }
    if (victim != rx_.end()) {
        remember_evicted(victim->first, victim->second);
        total_held_ -= victim->second.held_bytes;
        release_fec(victim->second);
        rx_.erase(victim);
        ++stats_.streams_evicted;
    }
    auto& s = rx_[key];
    s.heard = now;
    if (resumed) {
        // Heard again: it goes on where it was, not from whatever comes first (which skipped its
        // gap in silence, and delivered again what came early or was repeated).
        const evicted_rx& e = resumed.mapped();
        s.started = true;
        s.next = s.high = e.next;
        s.late_start = e.late_start;
        s.start_gone_reported = e.start_gone_reported;
        s.anchored = e.anchored;
        s.delivered = 1; // not a newcomer: the last to be evicted again
        for (const std::uint32_t seq : e.early) {
            s.held.emplace(seq, std::vector<std::byte>{}); // delivered: only its place is kept
            s.early.insert(seq);
            s.high = std::max(s.high, seq + 1);
        }
        ++stats_.streams_resumed;
    }
    return &s;
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::remember_evicted(const rx_key& key, const detail::rx_stream& s)
{
    if (!s.started)
        return;
    if (!evicted_.empty() && evicted_.size() >= lim_.max_streams && !evicted_.contains(key)) {
        // The oldest goes: a scan, as rx_for's own choice of a victim is.
        auto oldest = evicted_.begin();
        for (auto it = evicted_.begin(); it != evicted_.end(); ++it)
            if (it->second.stamp < oldest->second.stamp)
                oldest = it;
        evicted_.erase(oldest);
    }
    auto& e = evicted_[key];
    e.stamp = ++evicted_stamp_;
    e.next = s.next;
    e.late_start = s.late_start;
    e.start_gone_reported = s.start_gone_reported;
    e.anchored = s.anchored;
    e.early.assign(s.early.begin(), s.early.end());
    if (e.early.size() > max_early_remembered)
        e.early.resize(max_early_remembered); // beyond: they may come again (SECURITY.md)
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::on_data(const endpoint& from, std::span<const std::byte> value, time_point now,
                                          std::error_code& ec)
{
    const wire::repair_data d = wire::decode_repair_data(value, ec);
    if (!ec && d.seq == detail::rx_stream::max_seq)
        ec = errc::malformed; // never sent: a sender opens a new stream first
    if (ec)
        return;
    ++stats_.data_received;
    const rx_key key = key_of(from, d.stream);
    detail::rx_stream& s = *rx_for(key, now, true);
    if (!s.started)
        s.start(d.seq, lim_);
    if (d.seq < s.next || s.held.contains(d.seq)) {
        ++stats_.duplicates;
        ec = errc::duplicate_fragment;
        return;
    }
    s.sample_rtt(d.seq, now);
    const bool repaired = d.seq < s.high; // known missing: its source's window likely waits on it
    s.answered = s.answered || (repaired && d.seq < s.asked_end);
    s.heard_up_to(std::uint64_t{d.seq} + 1, lim_);
    if (d.seq == s.next) {
        deliver(key.first, s, d.seq, d.datagram, now);
        if (fec_on())
            keep_recent(s, d.seq, std::vector<std::byte>(d.datagram.begin(), d.datagram.end()));
        ++s.next;
        ++s.delivered;
        drain(key.first, s, now);
        if (!group_stream(d.stream) && (s.ack_due == no_timer || repaired))
            s.ack_due = repaired ? now : now + lim_.ack_delay;
    } else if (d.seq >= s.high || s.held_bytes + d.datagram.size() > lim_.held_bytes ||
               total_held_ + d.datagram.size() > lim_.total_held_bytes) {
        ++stats_.held_dropped; // beyond the window or the bytes: asked for again once the gap closes
    } else {
        s.held.emplace(d.seq, std::vector<std::byte>(d.datagram.begin(), d.datagram.end()));
        s.held_bytes += d.datagram.size();
        total_held_ += d.datagram.size();
        // Unordered: a whole message goes on now. Only once held: a datagram that could not be
        // held is asked for again, and must not be delivered a second time then.
        // Not a bare datagram (a group's stream heard without its source's records): a spoof of
        // it would keep its seq, and what the source says of the stream could not take it back.
        if (!lim_.ordered && from.port != 0 && !is_fragment_datagram(d.datagram)) {
            push_ready(key.first, d.datagram);
            s.early.insert(d.seq);
            ++s.delivered; // a busy stream (the last to be evicted)
            ++stats_.delivered_early;
        }
    }
    if (fec_on() && !s.fec.blocks.empty())
        try_recover(from, d.stream, s, now); // this datagram may complete what a block's parity needs
    s.update_gap(now, gap_backoff(d.stream));
    wake(std::min(s.nack_due, s.ack_due));
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::deliver(const endpoint& source, detail::rx_stream& s,
                                          std::uint32_t seq, std::span<const std::byte> datagram, time_point now)
{
    std::error_code ec;
    wire::tlv_reader r(datagram);
    wire::tlv t;
    if (!r.next(t, ec))
        return; // decode_repair_data checked it is one TLV
    // A stream carries each message's datagrams one after the other: once it moved on to another
    // message, the one it was in the middle of (cut by a gap given up) can never complete.
    std::error_code dec;
    const bool is_fragment = t.type() == wire::tlv_type::fragment;
    const std::uint32_t msg_id = is_fragment ? wire::decode_fragment(t.value, dec).msg_id : 0;
    if (s.partial && (!is_fragment || *s.partial != msg_id))
        cut_partial(source, s);
    if (!is_fragment) { // a whole message
        push_ready(source, datagram);
        return;
    }
    scratch_.clear();
    if (inner_.reassemble(source, t.value, now, scratch_, message_, ec)) {
        auto& slot = ready_.push_back();
        slot.from = source;
        slot.message.swap(message_); // message_ takes the slot's old buffer
        s.partial.reset();
    }
    else if (!ec) {
        s.partial = msg_id; // stored: the message goes on
    }
    else if (ec != errc::duplicate_fragment) {
        // In order and once, a fragment the reassembler refuses (its limits) loses its message:
        // said, not silent.
        notices_.push_back({source, seq, seq});
        ++stats_.unrecoverable;
        ++stats_.unrecoverable_datagrams;
    }
    message_.clear();
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
bool basic_nack_fragmenter<Inner, Parity, Congestion>::is_fragment_datagram(std::span<const std::byte> datagram) noexcept
{
    std::error_code ec;
    wire::tlv_reader r(datagram);
    wire::tlv t;
    return !r.next(t, ec) || t.type() == wire::tlv_type::fragment; // unreadable: never early
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::push_ready(const endpoint& source,
                                                                  std::span<const std::byte> message)
{
    auto& slot = ready_.push_back();
    slot.from = source;
    if (slot.message.capacity() < message.size()) // rounded up: buffers rotate with the caller's
        slot.message.reserve(std::bit_ceil(message.size()));
    slot.message.assign(message.begin(), message.end());
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::drain(const endpoint& source, detail::rx_stream& s, time_point now)
{
    while (!s.held.empty() && s.held.begin()->first == s.next) {
        auto node = s.held.extract(s.held.begin());
        s.held_bytes -= node.mapped().size();
        total_held_ -= node.mapped().size();
        const bool early = s.early.erase(node.key()) != 0;
        if (!early)
            deliver(source, s, node.key(), node.mapped(), now);
        else if (s.partial)
            cut_partial(source, s); // a whole message came after the one cut short, as deliver() says
        if (fec_on() && !node.mapped().empty()) // empty: a place kept for a resumed stream
            keep_recent(s, node.key(), std::move(node.mapped()));
        ++s.next;
        s.delivered += !early; // counted when it went on
    }
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::give_up(const endpoint& source, detail::rx_stream& s, std::uint32_t end,
                                          time_point now)
{
    if (end <= s.next)
        return;
    notices_.push_back({source, s.next, std::uint64_t{end} - 1});
    ++stats_.unrecoverable;
    stats_.unrecoverable_datagrams += end - s.next;
    // A message cut by the gap can never complete in an in-order stream: its fragments must not
    // hold the reassembler's slots (and refuse every later message) until they time out. Only
    // this stream's: the source's others go on (a process restarted at its address has a new one).
    if constexpr (requires { inner_.forget(source, std::uint32_t{}); })
        cut_partial(source, s);
    else
        inner_.forget(source);
    total_held_ -= s.drop_below(end);
    s.next = end;
    s.high = std::max(s.high, end);
    s.tries = 0;
    s.nack_due = no_timer;
    drain(source, s, now);
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::cut_partial(const endpoint& source, detail::rx_stream& s)
{
    if constexpr (requires { inner_.forget(source, std::uint32_t{}); })
        if (s.partial)
            inner_.forget(source, *s.partial);
    s.partial.reset();
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::on_mark(const endpoint& from, const wire::tlv& t, time_point now,
                                          std::error_code& ec)
{
    const wire::repair_mark m = wire::decode_repair_mark(t.type(), t.value, ec);
    if (ec)
        return;
    // Without a port, the source is unauthenticated (a relay's bare datagrams to a group): its
    // tails only raise what is asked for in a stream already heard, and its GONEs are refused,
    // so that a spoofed mark can neither open a stream nor skip one.
    const bool authenticated = from.port != 0;
    const bool tail = t.type() == wire::tlv_type::repair_tail;
    const bool start = t.type() == wire::tlv_type::repair_start;
    if (start && (!authenticated || m.value == detail::rx_stream::max_seq ||
                  (!group_stream(m.stream) && !rx_.contains(key_of(from, m.stream))))) {
        ++stats_.refused; // only the source's word; of a unicast stream, only one being read
        ec = errc::unexpected_type;
        return;
    }
    const rx_key key = key_of(from, m.stream);
    detail::rx_stream* found = rx_for(key, now, authenticated);
    if (!found || (!authenticated && (!tail || !found->started))) {
        ++stats_.refused;
        ec = errc::unexpected_type;
        return;
    }
    detail::rx_stream& s = *found;
    if (tail) {
        if (!s.started)
            s.start(m.value, lim_);
        if (authenticated && m.value >= s.next && m.value < s.high) {
            // The source's own word: nothing at or past `value` was sent (a spoofed tail or
            // datagram said otherwise). Never below a datagram delivered early: this tail is
            // older than it (delayed), and dropping it would deliver it again when resent.
            const std::uint32_t end = s.early.empty() ? m.value : std::max(m.value, *s.early.rbegin() + 1);
            s.high = end;
            total_held_ -= s.drop_from(end);
        }
        s.heard_up_to(m.value, lim_);
        if (!group_stream(m.stream) && !s.has_gap())
            s.ack_due = now; // the source keeps telling until it hears this
    } else if (start) {
        // Where this receiver's part of a group stream begins (a relay's member that joined it
        // mid-way), or of a unicast stream it read from 0 though a previous process at its
        // address acknowledged the start (forward only: what it delivered stays delivered):
        // nothing before is asked for or lost.
        // Not one that would drop a datagram delivered early (beyond its window): older than it.
        const bool drops_early = !s.early.empty() && std::uint64_t{*s.early.rbegin()} >= std::uint64_t{m.value} + lim_.window;
        if ((group_stream(m.stream) || m.value > s.next) && !drops_early) {
            if (!group_stream(m.stream))
                s.anchored = false; // every one that moves forward: a later one follows a later ACK
            total_held_ -= s.anchor_at(m.value, lim_);
            drain(key.first, s, now);
        }
    } else if (s.started && m.first <= s.next && std::uint64_t{m.first} + m.value > s.next) {
        // The source no longer has next..: that much of the gap is lost.
        const std::uint64_t end = std::min<std::uint64_t>(std::uint64_t{m.first} + m.value, s.gap_end());
        give_up(key.first, s, static_cast<std::uint32_t>(end), now);
    }
    if (!tail && !start && authenticated && !group_stream(m.stream) && m.first < s.late_start &&
        !s.start_gone_reported && m.value > 0 && m.value != 0xffffffffu) { // not "a stream I do not have"
        // Sent to this receiver before it first heard the stream, and released by its source (a
        // relay that dropped it from reliability): lost, said once.
        // Within `window` below the start, as every notice is within a window (a hostile source's
        // GONE cannot make one unbounded; what lies further below is not counted).
        const std::uint64_t last = std::min<std::uint64_t>(std::uint64_t{m.first} + m.value, s.late_start) - 1;
        const std::uint64_t first = std::max<std::uint64_t>(m.first, last + 1 > lim_.window ? last + 1 - lim_.window : 0);
        notices_.push_back({key.first, first, last});
        ++stats_.unrecoverable;
        stats_.unrecoverable_datagrams += last - first + 1;
        s.start_gone_reported = true;
    }
    s.update_gap(now, gap_backoff(m.stream));
    wake(std::min(s.nack_due, s.ack_due));
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::nack(const rx_key& key, detail::rx_stream& s, time_point now, datagram_batch& out)
{
    s.missing(ranges_, wire::repair_max_ranges);
    if (ranges_.empty())
        return;
    const std::size_t mark = out.mark();
    std::error_code ec;
    wire::append_repair_nack(out.bytes(), key.second, ranges_, ec);
    if (ec) {
        out.rollback(mark);
        return;
    }
    out.commit(key.first, mark);
    ++stats_.nacks_sent;
    if (s.next != s.nacked_next) { // the stream moved on since the last NACK: not the same gap
        s.nacked_next = s.next;
        s.tries = 0;
        s.gap_since = now;
    } else if (s.answered) {
        // The source answered part of the last NACK: it is alive and the path works, so the rest
        // is asked again after the first wait, not a doubled one (TCP's RTO backoff also ends
        // with an ACK of new data). Doubling is for a source that answers nothing: under 20% loss
        // each way, a gap's head failed 3 rounds in a row often enough that the doubled waits
        // (20, 40, 80, 160 ms on a group stream) made the tail of a burst 0.5-0.9 s long.
        s.tries = 0;
    }
    s.answered = false;
    ++s.tries;
    const bool unicast = !group_timing(key.second);
    // Karn's rule: only a NACK that asks for its first seq for the first time is timed (an answer
    // to a seq asked again, by this gap's retry or an earlier gap's NACK, is ambiguous).
    const std::uint32_t first = ranges_.front().first;
    s.probe_at = unicast && s.tries == 1 && first >= s.asked_end ? now : no_timer;
    s.probe_seq = first;
    const std::uint64_t end = std::uint64_t{ranges_.back().first} + ranges_.back().count;
    s.asked_end = static_cast<std::uint32_t>(std::max<std::uint64_t>(s.asked_end, std::min<std::uint64_t>(end, detail::rx_stream::max_seq)));
    duration wait = unicast ? s.nack_wait(lim_) : lim_.nack_interval;
    for (unsigned i = 1; i < s.tries && wait < lim_.max_nack_interval; ++i)
        wait *= 2;
    s.nack_due = now + std::min(wait, lim_.max_nack_interval);
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::rx_timer(const rx_key& key, detail::rx_stream& s, time_point now,
                                           datagram_batch& out)
{
    if (s.nack_due <= now) {
        if (now - s.gap_since >= lim_.gap_timeout)
            give_up(key.first, s, s.gap_end(), now);
        else
            nack(key, s, now, out);
        s.update_gap(now, gap_backoff(key.second));
    }
    if (s.ack_due <= now && acks_held()) {
        // A destination is over its window (hold): the senders' windows close until it catches
        // up, or is dropped at slow_hold (flow_timer wakes us then).
        ++stats_.acks_withheld;
    } else if (s.ack_due <= now) {
        const std::size_t mark = out.mark();
        wire::append_repair_ack(out.bytes(), key.second, s.next);
        out.commit(key.first, mark);
        ++stats_.acks_sent;
        s.acked = s.next;
        s.ack_due = no_timer;
    }
}

} // namespace tlvcast::fragment
