// SPDX-License-Identifier: BSL-1.0
// basic_nack_fragmenter's FEC (a Parity codec only): blocks and their parity on the sending side,
// parity held and datagrams rebuilt on the receiving side (docs/PROTOCOL.md "FEC").
// Included at the bottom of fragment/nack_fragmenter.hpp, which declares these members.
#pragma once

#include <tlvcast/fragment/nack_fragmenter.hpp>

namespace tlvcast::fragment {

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::close_block(detail::tx_stream& s, time_point now, datagram_batch& out)
{
    (void)now;
    const std::uint32_t first = s.fec.block_first, count = s.next - first;
    s.fec.block_first = s.next;
    // A block some of whose datagrams left the cache has no parity: NACKs for it get datagrams or GONE.
    if (count == 0 || count >= wire::repair_parity_max_symbols || first < s.base())
        return;
    s.fec.blocks.push_back({first, static_cast<std::uint8_t>(count)});
    while (s.fec.blocks.size() > lim_.fec_blocks_kept)
        s.fec.blocks.pop_front();
    // A short block (a burst's end) gets parity in proportion, at least one: a one-datagram
    // message every so often costs one parity datagram, not fec_r.
    const unsigned r = count >= lim_.fec_k ? lim_.fec_r : (count * lim_.fec_r + lim_.fec_k - 1) / lim_.fec_k;
    send_parity(s, s.fec.blocks.back(), r, out);
    stats_.parity_sent += s.fec.blocks.back().next_index;
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::send_parity(detail::tx_stream& s, fec::detail::tx_block& b, unsigned n,
                                                       datagram_batch& out)
{
    constexpr std::size_t header = wire::tlv_header_size + wire::repair_header_size;
    // Indices left: count + index < 256.
    n = std::min<unsigned>(n, static_cast<unsigned>(wire::repair_parity_max_symbols - b.count - b.next_index));
    if (n == 0 || b.first < s.base())
        return;
    std::size_t longest = 0;
    for (std::uint32_t i = 0; i < b.count; ++i)
        longest = std::max(longest, s.find(b.first + i)->datagram.size() - header);
    const std::size_t sb = wire::data_symbol_size(longest);
    symbols_.resize((b.count + n) * sb);
    symbol_ptrs_.resize(b.count);
    for (std::uint32_t i = 0; i < b.count; ++i) {
        const auto& d = s.find(b.first + i)->datagram;
        const std::span<std::byte> sym(symbols_.data() + i * sb, sb);
        wire::write_data_symbol(std::span<const std::byte>(d).subspan(header), sym);
        symbol_ptrs_[i] = sym.data();
    }
    std::error_code ec;
    const std::span<std::byte> parity(symbols_.data() + b.count * sb, n * sb);
    if constexpr (fec) // (explicit instantiations with no_parity compile this too)
        parity_.encode(symbol_ptrs_, sb, b.next_index, parity, ec);
    if (ec)
        return;
    for (unsigned j = 0; j < n; ++j) {
        const std::size_t mark = out.mark();
        const auto dest = wire::append_repair_parity(out.bytes(), s.id, b.first, b.count,
                                                     static_cast<std::uint8_t>(b.next_index + j), sb, ec);
        if (ec) {
            out.rollback(mark);
            return;
        }
        std::copy_n(parity.data() + j * sb, sb, dest.data());
        out.commit(s.to, mark);
    }
    b.next_index += n;
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
std::size_t basic_nack_fragmenter<Inner, Parity, Congestion>::answer_with_parity(detail::tx_stream& s, time_point now,
                                                                     datagram_batch& out)
{
    std::size_t total = 0; // parity sent, within repairs_per_nack like retransmissions
    for (auto& b : s.fec.blocks) {
        if (b.answers >= lim_.fec_parity_answers || b.first < s.base())
            continue; // asked again and again (a receiver that cannot decode?): the datagrams themselves
        unsigned asked = 0;
        const std::uint64_t end = std::uint64_t{b.first} + b.count;
        for (const auto& r : ranges_) {
            const std::uint64_t lo = std::max<std::uint64_t>(r.first, b.first);
            const std::uint64_t hi = std::min<std::uint64_t>(std::uint64_t{r.first} + r.count, end);
            asked += hi > lo ? static_cast<unsigned>(hi - lo) : 0;
        }
        if (asked == 0)
            continue;
        const bool recent = now < b.answered_at + lim_.repair_holdoff;
        if (recent && asked <= b.answered) {
            // Parity for this many losses just left, for another receiver's NACK: it serves this one too.
            b.handled = now;
            ++stats_.repairs_suppressed;
            continue;
        }
        const unsigned n = static_cast<unsigned>(
            std::min<std::size_t>(asked - (recent ? b.answered : 0), lim_.repairs_per_nack - total));
        if (n == 0)
            break;
        const std::size_t before = b.next_index;
        // Each parity datagram is as long as the block's longest datagram + 4 (not its first:
        // a block opened by a tiny datagram would draw parity far beyond the byte budget).
        std::size_t longest = 0;
        for (std::uint32_t i = 0; i < b.count; ++i)
            longest = std::max(longest, s.find(b.first + i)->datagram.size());
        const double cost = static_cast<double>(n) * static_cast<double>(longest + 4);
        if (s.budget.tokens < cost) {
            ++stats_.repairs_rate_limited;
            continue;
        }
        send_parity(s, b, n, out);
        const unsigned sent = static_cast<unsigned>(b.next_index - before);
        if (sent == 0)
            continue; // out of indices: the datagrams themselves
        s.budget.tokens -= cost;
        stats_.parity_repairs_sent += sent;
        ++b.answers;
        b.answered = (recent ? b.answered : 0) + sent;
        b.answered_at = now;
        b.handled = now;
        total += sent;
    }
    return total;
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::keep_recent(detail::rx_stream& s, std::uint32_t seq,
                                                       std::vector<std::byte>&& datagram)
{
    const std::size_t room = total_fec_ < lim_.fec_total_bytes ? lim_.fec_total_bytes - total_fec_ : 0;
    total_fec_ = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(total_fec_) +
                                          s.fec.keep(seq, std::move(datagram), lim_, room));
}

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::on_parity(const endpoint& from, std::span<const std::byte> value,
                                                     time_point now, std::error_code& ec)
{
    const wire::repair_parity p = wire::decode_repair_parity(value, ec);
    const auto refuse = [&](std::error_code e, std::uint64_t& counter) {
        ++counter;
        ec = e;
    };
    if (ec)
        return refuse(ec, stats_.parity_dropped);
    // Parity opens no stream: it only fills one whose data was heard.
    detail::rx_stream* found = rx_for(key_of(from, p.stream), now, false);
    if (!found || !found->started)
        return refuse(errc::unexpected_type, stats_.parity_dropped);
    detail::rx_stream& s = *found;
    const std::uint64_t end = std::uint64_t{p.first} + p.count;
    if (end <= s.next)
        return refuse(errc::duplicate_fragment, stats_.parity_unneeded);
    if (p.first >= std::uint64_t{s.next} + lim_.window)
        return refuse(errc::reassembly_full, stats_.parity_dropped);
    // No sender makes a block longer than fec_k (both sides run one setting): a longer one would
    // let a peer choose the decode's work, count x symbol bytes, up to 255 times what it sent.
    if (p.count > lim_.fec_k)
        return refuse(errc::reassembly_full, stats_.parity_dropped);
    auto it = std::find_if(s.fec.blocks.begin(), s.fec.blocks.end(),
                           [&](const auto& b) { return b.first == p.first && b.count == p.count; });
    if (it != s.fec.blocks.end() && it->symbol_bytes != p.symbol.size())
        return refuse(errc::malformed, stats_.parity_dropped); // every symbol of a block has one size
    if (it != s.fec.blocks.end() && it->parity.contains(p.index))
        return refuse(errc::duplicate_fragment, stats_.parity_unneeded);
    const bool fresh = it == s.fec.blocks.end();
    if (fresh) // a new block makes room by dropping the oldest, by count and by bytes alike: parity for
               // blocks that never decode (forged, far ahead) cannot refuse every later block's
        while (!s.fec.blocks.empty() && (s.fec.blocks.size() >= lim_.fec_blocks ||
                                         s.fec.parity_bytes + p.symbol.size() > lim_.fec_parity_bytes))
            total_fec_ -= s.fec.drop(s.fec.blocks.begin());
    if (s.fec.parity_bytes + p.symbol.size() > lim_.fec_parity_bytes ||
        total_fec_ + p.symbol.size() > lim_.fec_total_bytes)
        return refuse(errc::reassembly_full, stats_.parity_dropped);
    if (fresh) {
        s.fec.blocks.push_back({p.first, p.count, p.symbol.size(), {}});
        it = std::prev(s.fec.blocks.end());
    }
    it->parity.emplace(p.index, std::vector<std::byte>(p.symbol.begin(), p.symbol.end()));
    s.fec.parity_bytes += p.symbol.size();
    total_fec_ += p.symbol.size();
    ++stats_.parity_received;
    s.heard_up_to(end, lim_); // the block's datagrams were sent, like a tail says
    try_recover(from, p.stream, s, now);
    s.update_gap(now, gap_backoff(p.stream));
    wake(std::min(s.nack_due, s.ack_due));
}

} // namespace tlvcast::fragment

#include <tlvcast/fragment/impl/nack_recover.hpp>
