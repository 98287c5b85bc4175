// SPDX-License-Identifier: BSL-1.0
// FEC state of one repair stream: the sender's blocks, the receiver's parity and kept datagrams.
#pragma once

#include <tlvcast/fragment/repair_limits.hpp>
#include <tlvcast/time.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <utility>
#include <vector>

namespace tlvcast::fragment::fec::detail {

/// A closed block of a sender's stream: datagrams [first, first + count), parity indices below
/// next_index already sent (proactive ones and answers).
struct tx_block {
    std::uint32_t first = 0;
    std::uint8_t count = 0;
    unsigned next_index = 0;
    unsigned answers = 0;                      ///< NACKs answered with parity
    time_point answered_at = time_point::min(); ///< last answer (repair_holdoff)
    unsigned answered = 0;                     ///< parity datagrams of that answer
    time_point handled = time_point::min();    ///< a NACK at this time was answered (or held) with parity
};

/// The sender's side: where the open block starts, and the closed blocks still answerable.
struct tx_state {
    std::uint32_t block_first = 0;
    std::deque<tx_block> blocks;

    tx_block* find(std::uint32_t seq) noexcept
    {
        for (auto& b : blocks)
            if (seq >= b.first && seq - b.first < b.count)
                return &b;
        return nullptr;
    }
};

/// Parity symbols heard for one block, all of `symbol_bytes`.
struct rx_block {
    std::uint32_t first = 0;
    std::uint8_t count = 0;
    std::size_t symbol_bytes = 0;
    std::map<std::uint8_t, std::vector<std::byte>> parity;
};

/// The receiver's side: blocks with parity (oldest first), and the newest delivered datagrams
/// (in seq order) that a block's decode may need.
struct rx_state {
    static constexpr std::size_t max_recent = 255; ///< a block has at most 255 data datagrams

    std::deque<rx_block> blocks;
    std::size_t parity_bytes = 0;
    std::deque<std::pair<std::uint32_t, std::vector<std::byte>>> recent;
    std::size_t recent_bytes = 0;

    std::size_t bytes() const noexcept { return parity_bytes + recent_bytes; }

    /// The delivered datagram `seq`, if still kept.
    const std::vector<std::byte>* recent_at(std::uint32_t seq) const noexcept
    {
        if (recent.empty() || seq < recent.front().first || seq > recent.back().first)
            return nullptr;
        const auto it = std::lower_bound(recent.begin(), recent.end(), seq,
                                         [](const auto& e, std::uint32_t s) { return e.first < s; });
        return it != recent.end() && it->first == seq ? &it->second : nullptr;
    }

    /// Keeps delivered datagram `seq` (seqs come in increasing order) within the stream's bytes;
    /// `room` is what the total still allows. Returns the change in bytes held.
    std::ptrdiff_t keep(std::uint32_t seq, std::vector<std::byte>&& datagram, const repair_limits& lim,
                        std::size_t room)
    {
        const std::size_t before = recent_bytes;
        if (!recent.empty() && seq <= recent.back().first)
            recent.clear(), recent_bytes = 0; // a skipped or restarted stream: the old ones serve no block
        if (datagram.size() <= room) {
            recent_bytes += datagram.size();
            recent.emplace_back(seq, std::move(datagram));
        }
        while (!recent.empty() && (recent.size() > max_recent || recent_bytes > lim.fec_recent_bytes)) {
            recent_bytes -= recent.front().second.size();
            recent.pop_front();
        }
        return static_cast<std::ptrdiff_t>(recent_bytes) - static_cast<std::ptrdiff_t>(before);
    }

    /// Drops block `it`; returns its parity bytes.
    std::size_t drop(std::deque<rx_block>::iterator it)
    {
        std::size_t bytes = 0;
        for (const auto& [index, sym] : it->parity)
            bytes += sym.size();
        parity_bytes -= bytes;
        blocks.erase(it);
        return bytes;
    }
};

} // namespace tlvcast::fragment::fec::detail
