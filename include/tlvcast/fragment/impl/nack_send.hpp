// SPDX-License-Identifier: BSL-1.0
// basic_nack_fragmenter's sending side: streams to destinations, the repair cache, NACK answers,
// ACKs, tails, and the timers of both sides.
// Included at the bottom of fragment/nack_fragmenter.hpp, which declares these members.
#pragma once

#include <tlvcast/fragment/nack_fragmenter.hpp>

namespace tlvcast::fragment {

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
detail::tx_stream& basic_nack_fragmenter<Inner, Parity, Congestion>::tx_for(const endpoint& to, time_point now)
{
    if (auto it = tx_.find(to); it != tx_.end()) {
        it->second.used = now;
        return it->second;
    }
    if (tx_.size() >= lim_.max_streams && !tx_.empty()) { // the least recently used goes
        auto oldest = tx_.begin();
        for (auto it = tx_.begin(); it != tx_.end(); ++it)
            if (it->second.used < oldest->second.used)
                oldest = it;
        erase_tx(oldest);
        ++stats_.streams_evicted;
    }
    auto& s = tx_[to];
    open_stream(s, to, now);
    return s;
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::open_stream(detail::tx_stream& s, const endpoint& to,
                                                                   time_point now)
{
    s = detail::tx_stream{};
    s.to = to;
    s.id = fresh_id(to);
    s.used = now;
    s.asker_only = std::find(asker_only_.begin(), asker_only_.end(), to) != asker_only_.end();
    by_id_[s.id] = to;
    congestion_.start(s.flow, lim_);
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::erase_tx(typename std::unordered_map<endpoint, detail::tx_stream>::iterator it)
{
    total_cache_ -= it->second.cache_bytes;
    unhold(it->second);
    by_id_.erase(it->second.id);
    tx_.erase(it);
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::bound_total_cache()
{
    // Over the total: the oldest datagram of any stream goes (a walk over the streams, only then).
    while (total_cache_ > lim_.total_cache_bytes) {
        detail::tx_stream* oldest = nullptr;
        for (auto& [to, s] : tx_)
            if (!s.cache.empty() && (!oldest || s.cache.front().sent < oldest->cache.front().sent))
                oldest = &s;
        if (!oldest)
            return;
        total_cache_ -= oldest->pop_oldest();
        ++stats_.cache_evictions;
    }
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
detail::tx_stream* basic_nack_fragmenter<Inner, Parity, Congestion>::tx_by_id(std::uint32_t id, const endpoint& from)
{
    // Only a source with a port (authenticated by the engine's records) makes us act, and for a
    // unicast stream only its own destination.
    const auto known = by_id_.find(id);
    if (known == by_id_.end() || from.port == 0 || (!known->second.is_multicast() && known->second != from))
        return nullptr;
    return &tx_.at(known->second);
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::on_ack(const endpoint& from, std::span<const std::byte> value, time_point now,
                                                              datagram_batch& out, std::error_code& ec)
{
    const wire::repair_mark m = wire::decode_repair_mark(wire::tlv_type::repair_ack, value, ec);
    if (ec)
        return;
    detail::tx_stream* s = tx_by_id(m.stream, from);
    if (!s || group_stream(s->id)) { // a group's streams take no ACKs
        ++stats_.nacks_refused;
        ec = errc::not_registered;
        return;
    }
    ++stats_.acks_received;
    if (s->shed && s->gone_reminders > 0)
        s->gone_to = s->next; // what it was sent uncached is as gone as what the shed released
    if (s->shed && m.value == s->next)
        s->shed = false; // it caught up with everything, gaps skipped: reliable again
    if (m.value <= s->next)
        s->ack_heard = std::max(s->ack_heard, m.value);
    if (m.value > s->acked && m.value <= s->next) {
        congestion_.on_ack(s->flow, s->ack_to(m.value), lim_);
        if (s->over_since != time_point::min() && s->in_flight < window_of(*s)) {
            unhold(*s); // back under its window: the senders may be acknowledged again
            if (!acks_held())
                wake(now);
        } else if (s->over_since != time_point::min()) {
            // Progress: slow_hold bounds a stall, not a lossy path's recovery (at 20% loss its
            // window sits at the floor and one large message keeps it over for a while).
            s->over_since = now;
        }
        std::size_t bytes = 0;
        stats_.acked_datagrams += s->release_acked(bytes, fec_on() ? s->fec.block_first : 0xffffffffu);
        total_cache_ -= bytes;
    }
    if (s->acked == s->next)
        s->tail_due = no_timer; // everything delivered: nothing to tell
    if (s->gone_reminders > 0 && s->gone_until == no_timer)
        s->gone_until = now + gone_window;
    if (s->gone_reminders > 0 && now > s->gone_until)
        s->gone_reminders = 0;
    if (s->gone_reminders > 0) { // it is alive: what a shed released is gone (lost, said)
        --s->gone_reminders;
        const std::size_t mark = out.mark();
        wire::append_repair_gone(out.bytes(), s->id, s->gone_from, s->gone_to - s->gone_from);
        out.commit(from, mark);
        ++stats_.gone_sent;
    }
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
std::uint32_t basic_nack_fragmenter<Inner, Parity, Congestion>::message_start(detail::tx_stream& s, std::uint32_t seq)
{
    // An ACK counts datagrams: it may fall inside a message, whose first parts the destination's
    // previous process got. Starting there would hand the new one a message's tail: it starts at
    // the message's first datagram, and learns the parts it cannot have as GONE (a notice).
    const auto* c = s.find(seq);
    if (!c)
        return seq;
    std::error_code ec;
    const wire::tlv outer = wire::read_outer(c->datagram, ec);
    const wire::repair_data d = ec ? wire::repair_data{} : wire::decode_repair_data(outer.value, ec);
    if (ec)
        return seq;
    wire::tlv_reader r(d.datagram);
    wire::tlv t;
    if (!r.next(t, ec) || t.type() != wire::tlv_type::fragment)
        return seq;
    const wire::fragment f = wire::decode_fragment(t.value, ec);
    return ec ? seq : seq - std::min<std::uint32_t>(seq, f.seq);
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::on_nack(const endpoint& from, std::span<const std::byte> value, time_point now,
                                          datagram_batch& out, std::error_code& ec)
{
    const std::uint32_t id = wire::decode_repair_nack(value, ranges_, ec);
    if (ec)
        return;
    const auto reply = [&](wire::tlv_type type, std::uint32_t stream, std::uint32_t first, std::uint32_t n) {
        const std::size_t mark = out.mark();
        if (type == wire::tlv_type::repair_gone)
            wire::append_repair_gone(out.bytes(), stream, first, n);
        else
            wire::append_repair_tail(out.bytes(), stream, n);
        out.commit(from, mark); // to the one who asked, under its records
    };
    detail::tx_stream* found = tx_by_id(id, from);
    if (!found) {
        ++stats_.nacks_refused;
        ec = errc::not_registered;
        if (from.port != 0 && !by_id_.contains(id)) {
            // A stream we do not have (never sent, spoofed to a group's members, or forgotten at
            // a new session): say so once, authenticated, rather than be asked again until the
            // asker's gap_timeout.
            reply(wire::tlv_type::repair_gone, id, 0, 0xffffffffu);
            ++stats_.gone_sent;
        }
        return;
    }
    ++stats_.nacks_received;
    detail::tx_stream& s = *found;
    // A receiver added mid-way that reads the stream from 0 lost its REPAIR_START (one that took
    // it, or heard the stream before, never asks for 0): it gets that again, to itself under its
    // records, and none of what it asked for below it. Any other NACK below its start names what
    // it lost as a member (at an address since changed, or before it left and was added back).
    // Both: the ranges are cut at `start`, and the asker told where its part begins.
    const auto start_at = [&](std::uint32_t start) {
        bool below = false;
        for (auto& r : ranges_) {
            if (r.first >= start)
                continue;
            below = true;
            const std::uint64_t end = std::uint64_t{r.first} + r.count;
            r.count = end > start ? static_cast<std::uint16_t>(end - start) : std::uint16_t{0};
            r.first = start;
        }
        if (below) {
            const std::size_t mark = out.mark();
            wire::append_repair_start(out.bytes(), s.id, start);
            out.commit(from, mark);
        }
        return below;
    };
    const auto st = s.starts.find(from);
    if (st != s.starts.end() &&
        std::any_of(ranges_.begin(), ranges_.end(), [](const auto& r) { return r.first == 0; }))
        stats_.starts_resent += start_at(st->second);
    // A unicast destination asking below what it acknowledged is not the process that acknowledged
    // it (one restarted at that address, or one that forgot the stream): what lies below was
    // delivered there. It is told where its part begins, not that it lost them (GONE: an
    // `unrecoverable` event for messages sent before it existed).
    if (!group_stream(s.id) && !s.asker_only && from == s.to && s.ack_heard > 0)
        stats_.starts_after_ack += start_at(message_start(s, s.ack_heard));
    if (!group_stream(s.id) && congestion_.on_loss(s.flow, s.next, s.acked, lim_))
        ++stats_.window_decreases;
    // An asker_only stream's repair reaches the asker alone: it serves no other receiver (no
    // holdoff, no parity that was meant for several), and is paid from the asker's own budget.
    const bool alone = s.asker_only;
    const duration holdoff = group_stream(s.id) ? lim_.repair_holdoff : lim_.unicast_repair_holdoff;
    const endpoint& repair_to = alone ? from : s.to;
    detail::repair_budget& tokens = s.budget_for(from, now, lim_, lim_.askers_per_stream);
    std::size_t parity = 0;
    if (fec_on() && lim_.fec_repair && !alone)
        parity = answer_with_parity(s, now, out);
    std::size_t budget = lim_.repairs_per_nack - parity; // seqs looked at, repaired or not
    bool beyond = false, limited = false;
    for (const auto& r : ranges_) {
        const std::uint64_t asked_end = std::uint64_t{r.first} + r.count;
        beyond = beyond || asked_end > s.next;
        const std::uint64_t end = std::min<std::uint64_t>(asked_end, s.next);
        for (std::uint64_t q = r.first; q < end && budget > 0; ++q, --budget) {
            const auto seq = static_cast<std::uint32_t>(q);
            if (seq < s.base()) { // evicted: everything of the range below base is gone
                const std::uint64_t gone_end = std::min<std::uint64_t>(end, s.base());
                reply(wire::tlv_type::repair_gone, s.id, seq, static_cast<std::uint32_t>(gone_end - q));
                ++stats_.gone_sent;
                q = gone_end - 1;
                continue;
            }
            if (fec && s.fec.find(seq) && s.fec.find(seq)->handled == now)
                continue; // answered with parity just now
            auto* c = s.find(seq);
            if (!alone && now < c->repaired + holdoff) {
                ++stats_.repairs_suppressed;
                continue;
            }
            if (tokens.tokens < static_cast<double>(c->datagram.size())) {
                limited = true;
                budget = 1; // the loop ends: asked again later, when the budget refilled
                continue;
            }
            tokens.tokens -= static_cast<double>(c->datagram.size());
            c->repaired = now;
            out.push(repair_to, c->datagram);
            ++stats_.repairs_sent;
            stats_.retransmitted_bytes += c->datagram.size();
        }
    }
    stats_.repairs_rate_limited += limited;
    // Asked for what was never sent (a spoofed tail said so), or from an asker_only stream (whose
    // tails go to every receiver: one receiver's NACKs must not draw them): where the stream ends,
    // to the asker alone, once per NACK.
    if (beyond || alone)
        reply(wire::tlv_type::repair_tail, s.id, 0, s.next);
    // The asker may have lost the tail too: tell it again where the stream ends.
    if (s.tail_due == no_timer && !alone) {
        s.tails_sent = lim_.tails > 0 ? lim_.tails - 1 : 0; // one more tail, even to a group
        s.tail_due = now + lim_.tail_interval;
        wake(s.tail_due);
    }
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::tx_timer(detail::tx_stream& s, time_point now, datagram_batch& out)
{
    std::size_t bytes = 0;
    stats_.cache_evictions += s.evict(now, lim_, bytes);
    total_cache_ -= bytes;
    s.prune_askers(now, lim_);
    if (s.tail_due <= now) {
        if (fec_on() && s.fec.block_first < s.next)
            close_block(s, now, out); // the burst ended: its last block, short, closes now
        const std::size_t mark = out.mark();
        wire::append_repair_tail(out.bytes(), s.id, s.next);
        out.commit(s.to, mark);
        ++stats_.tails_sent;
        ++s.tails_sent;
        // A group hears `tails` of them; a peer hears them until it acknowledged everything, while
        // the cache still has something to repair.
        const bool more = group_stream(s.id) ? s.tails_sent < lim_.tails : s.acked < s.next && !s.cache.empty();
        // A destination over its window under hold: its senders are held, so no new data will
        // draw its ACK; only tails can. At least 10 rounds per slow_hold, or a lost last ACK
        // (36% a round at 20% loss) drops a live receiver (tests/core/large_sim.cpp, seeds).
        const duration cap = s.over_since == time_point::min()
                                 ? lim_.max_tail_interval
                                 : std::min(lim_.max_tail_interval, std::max(lim_.tail_interval, lim_.slow_hold / 10));
        duration wait = lim_.tail_interval;
        for (unsigned i = 0; i < s.tails_sent && wait < cap; ++i)
            wait *= 2;
        s.tail_due = more ? now + std::min(wait, cap) : no_timer;
    }
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::on_timer(time_point now, datagram_batch& out)
{
    next_ = no_timer;
    // Each stream's timers first, then whether it is idle (its timers may have just made it so).
    for (auto it = rx_.begin(); it != rx_.end();) {
        auto& [key, s] = *it;
        rx_timer(key, s, now, out);
        if (now - s.heard >= lim_.idle && !s.has_gap() && s.ack_due == no_timer) {
            total_held_ -= s.held_bytes;
            release_fec(s);
            it = rx_.erase(it);
        } else {
            wake(acks_held() ? s.nack_due : std::min(s.nack_due, s.ack_due)); // held: flow_timer wakes
            if (!s.has_gap()) // a stream with a gap waits for gap_timeout, not for idle
                wake(s.heard + lim_.idle);
            ++it;
        }
    }
    for (auto it = tx_.begin(); it != tx_.end();) {
        auto& s = it->second;
        tx_timer(s, now, out);
        flow_timer(s, now);
        if (s.cache.empty() && s.tail_due == no_timer && now - s.used >= lim_.idle) {
            const auto gone = it++;
            erase_tx(gone);
        } else {
            wake(s.deadline(lim_));
            if (s.cache.empty() && s.tail_due == no_timer)
                wake(s.used + lim_.idle);
            ++it;
        }
    }
    inner_.on_timer(now, out);
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::forget(const endpoint& peer)
{
    if (auto it = tx_.find(peer); it != tx_.end())
        erase_tx(it);
    for (auto& [to, s] : tx_) // where it began in group streams: another process may take the address
        s.starts.erase(peer);
    // Its streams, and the group streams heard under its address without a port.
    const auto erase_from = [&](const endpoint& key, bool groups_only) {
        for (auto it = rx_.lower_bound(rx_key{key, 0}); it != rx_.end() && it->first.first == key;) {
            if (groups_only && !group_stream(it->first.second)) {
                ++it;
                continue;
            }
            total_held_ -= it->second.held_bytes;
            release_fec(it->second);
            it = rx_.erase(it);
        }
    };
    erase_from(peer, false);
    if (peer.port != 0)
        erase_from(peer.without_port(), true);
    for (auto it = evicted_.lower_bound(rx_key{peer, 0}); it != evicted_.end() && it->first.first == peer;)
        it = evicted_.erase(it);
    inner_.forget(peer);
}

} // namespace tlvcast::fragment
