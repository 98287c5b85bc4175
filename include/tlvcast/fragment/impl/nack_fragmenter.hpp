// SPDX-License-Identifier: BSL-1.0
// basic_nack_fragmenter's receiving side, NACK answers and timers.
// Included at the bottom of fragment/nack_fragmenter.hpp, which declares these members.
#pragma once

#include <tlvcast/fragment/nack_fragmenter.hpp>

namespace tlvcast::fragment {

template <class Inner>
    requires fragmenter<Inner>
detail::tx_stream& basic_nack_fragmenter<Inner>::tx_for(const endpoint& to, time_point now)
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
        by_id_.erase(oldest->second.id);
        tx_.erase(oldest);
        ++stats_.streams_evicted;
    }
    const std::uint32_t id = fresh_id(to);
    by_id_[id] = to;
    auto& s = tx_[to];
    s = detail::tx_stream{};
    s.to = to;
    s.id = id;
    s.used = now;
    return s;
}

template <class Inner>
    requires fragmenter<Inner>
detail::rx_stream* basic_nack_fragmenter<Inner>::rx_for(const endpoint& from, std::uint32_t id, time_point now)
{
    const rx_key key{from, id};
    if (auto it = rx_.find(key); it != rx_.end()) {
        it->second.heard = now;
        return &it->second;
    }
    // Bounds: streams per source, then streams in all (the least recently heard goes).
    const auto first = rx_.lower_bound(rx_key{from, 0});
    std::size_t of_source = 0;
    auto quietest = rx_.end();
    for (auto it = first; it != rx_.end() && it->first.first == from; ++it, ++of_source)
        if (quietest == rx_.end() || it->second.heard < quietest->second.heard)
            quietest = it;
    if (of_source >= lim_.streams_per_source)
        rx_.erase(quietest), ++stats_.streams_evicted;
    else if (rx_.size() >= lim_.max_streams && !rx_.empty()) {
        auto oldest = rx_.begin();
        for (auto it = rx_.begin(); it != rx_.end(); ++it)
            if (it->second.heard < oldest->second.heard)
                oldest = it;
        rx_.erase(oldest);
        ++stats_.streams_evicted;
    }
    auto& s = rx_[key];
    s.heard = now;
    return &s;
}

template <class Inner>
    requires fragmenter<Inner>
void basic_nack_fragmenter<Inner>::on_data(const endpoint& from, std::span<const std::byte> value, time_point now,
                                          std::error_code& ec)
{
    const wire::repair_data d = wire::decode_repair_data(value, ec);
    if (ec)
        return;
    ++stats_.data_received;
    detail::rx_stream& s = *rx_for(from, d.stream, now);
    if (!s.started)
        s.start(d.seq, lim_);
    if (d.seq < s.next || s.held.contains(d.seq)) {
        ++stats_.duplicates;
        ec = errc::duplicate_fragment;
        return;
    }
    s.heard_up_to(std::uint64_t{d.seq} + 1, lim_);
    if (d.seq == s.next) {
        deliver(from, d.datagram, now);
        ++s.next;
        drain(from, s, now);
        if (!group_stream(d.stream) && s.ack_due == no_timer)
            s.ack_due = now + lim_.ack_delay;
    } else if (d.seq - s.next >= lim_.window || s.held_bytes + d.datagram.size() > lim_.held_bytes) {
        ++stats_.held_dropped; // asked for again once the gap before it closes
    } else {
        s.held.emplace(d.seq, std::vector<std::byte>(d.datagram.begin(), d.datagram.end()));
        s.held_bytes += d.datagram.size();
    }
    s.update_gap(now, backoff(d.stream));
    wake(std::min(s.nack_due, s.ack_due));
}

template <class Inner>
    requires fragmenter<Inner>
void basic_nack_fragmenter<Inner>::deliver(const endpoint& from, std::span<const std::byte> datagram, time_point now)
{
    std::error_code ec;
    wire::tlv_reader r(datagram);
    wire::tlv t;
    if (!r.next(t, ec))
        return; // decode_repair_data checked it is one TLV
    if (t.type() != wire::tlv_type::fragment) { // a whole message
        ready_.emplace_back(from, std::vector<std::byte>(datagram.begin(), datagram.end()));
        return;
    }
    scratch_.clear();
    if (inner_.reassemble(from, t.value, now, scratch_, message_, ec))
        ready_.emplace_back(from, std::move(message_));
    message_.clear();
}

template <class Inner>
    requires fragmenter<Inner>
void basic_nack_fragmenter<Inner>::drain(const endpoint& from, detail::rx_stream& s, time_point now)
{
    while (!s.held.empty() && s.held.begin()->first == s.next) {
        auto node = s.held.extract(s.held.begin());
        s.held_bytes -= node.mapped().size();
        deliver(from, node.mapped(), now);
        ++s.next;
    }
}

template <class Inner>
    requires fragmenter<Inner>
void basic_nack_fragmenter<Inner>::give_up(const endpoint& from, detail::rx_stream& s, std::uint32_t end,
                                          time_point now)
{
    if (end <= s.next)
        return;
    notices_.push_back({from, s.next, std::uint64_t{end} - 1});
    ++stats_.unrecoverable;
    stats_.unrecoverable_datagrams += end - s.next;
    s.drop_below(end);
    s.next = end;
    s.high = std::max(s.high, end);
    s.tries = 0;
    s.nack_due = no_timer;
    drain(from, s, now);
}

template <class Inner>
    requires fragmenter<Inner>
void basic_nack_fragmenter<Inner>::on_mark(const endpoint& from, const wire::tlv& t, time_point now,
                                          std::error_code& ec)
{
    const wire::repair_mark m = wire::decode_repair_mark(t.type(), t.value, ec);
    if (ec)
        return;
    detail::rx_stream& s = *rx_for(from, m.stream, now);
    if (t.type() == wire::tlv_type::repair_tail) {
        if (!s.started)
            s.start(m.value, lim_);
        s.heard_up_to(m.value, lim_);
        if (!group_stream(m.stream) && !s.has_gap())
            s.ack_due = now; // the source keeps asking until it hears this
    } else if (s.started && m.first <= s.next && std::uint64_t{m.first} + m.value > s.next) {
        // The source no longer has next..: that much of the gap is lost.
        const std::uint64_t end = std::min<std::uint64_t>(std::uint64_t{m.first} + m.value, s.gap_end());
        give_up(from, s, static_cast<std::uint32_t>(end), now);
    }
    s.update_gap(now, backoff(m.stream));
    wake(std::min(s.nack_due, s.ack_due));
}

template <class Inner>
    requires fragmenter<Inner>
detail::tx_stream* basic_nack_fragmenter<Inner>::tx_by_id(std::uint32_t id, const endpoint& from)
{
    // Only a source with a port (authenticated by the engine's records) makes us act, and for a
    // unicast stream only its own destination.
    const auto known = by_id_.find(id);
    if (known == by_id_.end() || from.port == 0 || (!known->second.is_multicast() && known->second != from))
        return nullptr;
    return &tx_.at(known->second);
}

template <class Inner>
    requires fragmenter<Inner>
void basic_nack_fragmenter<Inner>::on_ack(const endpoint& from, std::span<const std::byte> value, std::error_code& ec)
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
    if (m.value > s->acked && m.value <= s->next) {
        s->acked = m.value;
        stats_.acked_datagrams += s->release_acked();
    }
    if (s->acked == s->next)
        s->tail_due = no_timer; // everything delivered: nothing to tell
}

template <class Inner>
    requires fragmenter<Inner>
void basic_nack_fragmenter<Inner>::on_nack(const endpoint& from, std::span<const std::byte> value, time_point now,
                                          datagram_batch& out, std::error_code& ec)
{
    const std::uint32_t id = wire::decode_repair_nack(value, ranges_, ec);
    if (ec)
        return;
    detail::tx_stream* found = tx_by_id(id, from);
    if (!found) {
        ++stats_.nacks_refused;
        ec = errc::not_registered;
        return;
    }
    ++stats_.nacks_received;
    detail::tx_stream& s = *found;
    std::size_t budget = lim_.repairs_per_nack;
    for (const auto& r : ranges_) {
        const std::uint64_t end = std::min<std::uint64_t>(std::uint64_t{r.first} + r.count, s.next);
        for (std::uint64_t q = r.first; q < end && budget > 0; ++q) {
            const auto seq = static_cast<std::uint32_t>(q);
            if (seq < s.base()) { // evicted: everything of the range below base is gone
                const std::uint64_t gone_end = std::min<std::uint64_t>(end, s.base());
                const std::size_t mark = out.mark();
                wire::append_repair_gone(out.bytes(), s.id, seq, static_cast<std::uint32_t>(gone_end - q));
                out.commit(s.to, mark);
                ++stats_.gone_sent;
                q = gone_end - 1;
                --budget;
                continue;
            }
            auto* c = s.find(seq);
            if (c->repaired != time_point{} && now - c->repaired < lim_.repair_holdoff) {
                ++stats_.repairs_suppressed;
                continue;
            }
            c->repaired = now;
            out.push(s.to, c->datagram);
            ++stats_.repairs_sent;
            stats_.retransmitted_bytes += c->datagram.size();
            --budget;
        }
    }
    // The receiver may have lost the tail too: tell it again where the stream ends.
    if (s.tail_due == no_timer) {
        s.tails_sent = lim_.tails > 0 ? lim_.tails - 1 : 0; // one more tail, even to a group
        s.tail_due = now + lim_.tail_interval;
        wake(s.tail_due);
    }
}

template <class Inner>
    requires fragmenter<Inner>
void basic_nack_fragmenter<Inner>::nack(const endpoint& from, std::uint32_t id, detail::rx_stream& s, time_point now,
                                       datagram_batch& out)
{
    s.missing(ranges_, wire::repair_max_ranges);
    if (ranges_.empty())
        return;
    const std::size_t mark = out.mark();
    std::error_code ec;
    wire::append_repair_nack(out.bytes(), id, ranges_, ec);
    if (ec) {
        out.rollback(mark);
        return;
    }
    out.commit(from, mark);
    ++stats_.nacks_sent;
    if (s.next != s.nacked_next) { // the stream moved on since the last NACK: not the same gap
        s.nacked_next = s.next;
        s.tries = 0;
        s.gap_since = now;
    }
    ++s.tries;
    duration wait = lim_.nack_interval;
    for (unsigned i = 1; i < s.tries && wait < lim_.max_nack_interval; ++i)
        wait *= 2;
    s.nack_due = now + std::min(wait, lim_.max_nack_interval);
}

template <class Inner>
    requires fragmenter<Inner>
void basic_nack_fragmenter<Inner>::rx_timer(const endpoint& source, std::uint32_t id, detail::rx_stream& s,
                                           time_point now, datagram_batch& out)
{
    if (s.nack_due <= now) {
        if (now - s.gap_since >= lim_.gap_timeout)
            give_up(source, s, s.gap_end(), now);
        else
            nack(source, id, s, now, out);
        s.update_gap(now, backoff(id));
    }
    if (s.ack_due <= now) {
        const std::size_t mark = out.mark();
        wire::append_repair_ack(out.bytes(), id, s.next);
        out.commit(source, mark);
        ++stats_.acks_sent;
        s.acked = s.next;
        s.ack_due = no_timer;
    }
    wake(std::min({s.nack_due, s.ack_due, s.heard + lim_.idle}));
}

template <class Inner>
    requires fragmenter<Inner>
void basic_nack_fragmenter<Inner>::tx_timer(detail::tx_stream& s, time_point now, datagram_batch& out)
{
    stats_.cache_evictions += s.evict(now, lim_);
    if (s.tail_due <= now) {
        const std::size_t mark = out.mark();
        wire::append_repair_tail(out.bytes(), s.id, s.next);
        out.commit(s.to, mark);
        ++stats_.tails_sent;
        ++s.tails_sent;
        // A group hears `tails` of them; a peer hears them until it acknowledged everything, while
        // the cache still has something to repair.
        const bool more = group_stream(s.id) ? s.tails_sent < lim_.tails : s.acked < s.next && !s.cache.empty();
        duration wait = lim_.tail_interval;
        for (unsigned i = 0; i < s.tails_sent && wait < lim_.max_tail_interval; ++i)
            wait *= 2;
        s.tail_due = more ? now + std::min(wait, lim_.max_tail_interval) : no_timer;
    }
    wake(s.deadline(lim_));
    if (s.cache.empty() && s.tail_due == no_timer)
        wake(s.used + lim_.idle);
}

template <class Inner>
    requires fragmenter<Inner>
void basic_nack_fragmenter<Inner>::on_timer(time_point now, datagram_batch& out)
{
    next_ = no_timer;
    for (auto it = rx_.begin(); it != rx_.end();) {
        auto& [key, s] = *it;
        if (now - s.heard >= lim_.idle && !s.has_gap()) {
            it = rx_.erase(it);
            continue;
        }
        rx_timer(key.first, key.second, s, now, out);
        ++it;
    }
    for (auto it = tx_.begin(); it != tx_.end();) {
        auto& s = it->second;
        if (s.cache.empty() && s.tail_due == no_timer && now - s.used >= lim_.idle) {
            by_id_.erase(s.id);
            it = tx_.erase(it);
            continue;
        }
        tx_timer(s, now, out);
        ++it;
    }
    inner_.on_timer(now, out);
}

template <class Inner>
    requires fragmenter<Inner>
void basic_nack_fragmenter<Inner>::forget(const endpoint& peer)
{
    if (auto it = tx_.find(peer); it != tx_.end()) {
        by_id_.erase(it->second.id);
        tx_.erase(it);
    }
    for (auto it = rx_.lower_bound(rx_key{peer, 0}); it != rx_.end() && it->first.first == peer;)
        it = rx_.erase(it);
    inner_.forget(peer);
}

} // namespace tlvcast::fragment
