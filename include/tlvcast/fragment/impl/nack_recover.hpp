// SPDX-License-Identifier: BSL-1.0
// basic_nack_fragmenter's FEC decoding: a block with no more erasures than parity is rebuilt,
// and each rebuilt datagram goes through on_data() exactly as a received REPAIR_DATA would.
// Included at the bottom of fragment/impl/nack_fec.hpp.
#pragma once

#include <tlvcast/fragment/impl/nack_fec.hpp>

namespace tlvcast::fragment {

template <class Inner, class Parity, class Congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
void basic_nack_fragmenter<Inner, Parity, Congestion>::try_recover(const endpoint& from, std::uint32_t id, detail::rx_stream& s,
                                                       time_point now)
{
    if (recovering_)
        return; // a rebuilt datagram's on_data(): the outer loop goes on with the blocks
    recovering_ = true;
    for (std::size_t at = 0; at < s.fec.blocks.size();) {
        auto& b = s.fec.blocks[at];
        const auto drop = [&] { total_fec_ -= s.fec.drop(s.fec.blocks.begin() + static_cast<std::ptrdiff_t>(at)); };
        // What the block lacks: seqs not yet delivered nor held (wanted), plus delivered ones no
        // longer kept (they count as erasures too).
        unsigned wanted = 0, erased = 0;
        for (std::uint32_t i = 0; i < b.count; ++i) {
            const std::uint32_t seq = b.first + i;
            if (seq < s.next)
                erased += s.fec.recent_at(seq) == nullptr;
            else if (!s.held.contains(seq))
                ++wanted, ++erased;
        }
        if (wanted == 0) { // whole (or given up): its parity serves nothing more
            drop();
            continue;
        }
        if (erased > b.parity.size()) {
            ++at; // not yet: more data or parity may come (the codec would refuse it anyway)
            continue;
        }
        // The block's k symbols: the data at hand, then as many parity symbols as there are erasures.
        const std::size_t sb = b.symbol_bytes;
        symbols_.assign(b.count * sb, std::byte{0});
        decode_.clear();
        bool fits = true;
        auto parity = b.parity.begin();
        for (std::uint32_t i = 0; i < b.count; ++i) {
            const std::uint32_t seq = b.first + i;
            const std::vector<std::byte>* d = nullptr;
            if (seq < s.next)
                d = s.fec.recent_at(seq);
            else if (auto h = s.held.find(seq); h != s.held.end())
                d = &h->second;
            const std::span<std::byte> sym(symbols_.data() + i * sb, sb);
            if (d && wire::data_symbol_size(d->size()) > sb) {
                fits = false; // longer than the block's symbols: this parity is not over these datagrams
                break;
            }
            if (d) {
                wire::write_data_symbol(*d, sym);
                decode_.push_back({sym.data(), static_cast<std::uint8_t>(i)});
            } else {
                std::copy(parity->second.begin(), parity->second.end(), sym.begin());
                decode_.push_back({sym.data(), static_cast<std::uint8_t>(b.count + parity->first)});
                ++parity;
            }
        }
        std::error_code ec;
        if constexpr (fec)
            if (fits)
                parity_.decode(decode_, sb, ec);
        if (!fits || ec) {
            ++stats_.fec_decode_failed;
            drop();
            continue;
        }
        const std::uint32_t first = b.first;
        const std::size_t count = decode_.size();
        drop(); // before on_data(), which may deliver past the block
        for (std::size_t j = 0; j < count; ++j) {
            const std::uint32_t seq = first + decode_[j].index;
            if (seq < s.next || s.held.contains(seq))
                continue; // not an erasure of ours, or already here
            const auto datagram = wire::read_data_symbol(std::span<const std::byte>(decode_[j].data, sb), ec);
            if (ec) { // parity that was not over this stream's datagrams (a forger, or a sender's bug)
                ++stats_.fec_decode_failed;
                continue;
            }
            rebuilt_.resize(wire::repair_header_size);
            wire::detail::store_u32(rebuilt_.data(), id);
            wire::detail::store_u32(rebuilt_.data() + 4, seq);
            rebuilt_.insert(rebuilt_.end(), datagram.begin(), datagram.end());
            on_data(from, rebuilt_, now, ec); // the checks of a received datagram, no fewer
            if (ec)
                ++stats_.fec_decode_failed;
            else
                ++stats_.fec_recovered;
        }
    }
    recovering_ = false;
}

} // namespace tlvcast::fragment
