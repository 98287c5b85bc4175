// SPDX-License-Identifier: BSL-1.0
// client_engine's large messages: parts sent while the window lets them through, parts reassembled.
// Included at the bottom of core/client_engine.hpp, which declares these members.
#pragma once

#include <tlvcast/core/client_engine.hpp>

namespace tlvcast::core {

namespace detail {
/// Everything a large_reassembler dropped, parts and unfinished messages.
inline std::uint64_t large_drops(const large_stats& s) noexcept
{
    return s.malformed + s.too_large + s.over_budget + s.busy + s.orphans + s.mismatches + s.interleaved +
           s.timeouts + s.forgotten;
}
} // namespace detail

template <class Cipher, class Fragmenter>
std::size_t client_engine<Cipher, Fragmenter>::send_parts(std::span<const std::byte> message, time_point now,
                                                          datagram_batch& out, std::error_code& ec)
{
    if constexpr (!large_messages) { // not reachable: send_large() requires large_messages
        (void)message, (void)now, (void)out;
        ec = errc::unexpected_type;
        return 0;
    } else {
        const count_out counting{counters_, out};
        ec = {};
        if (state_ != state::established) {
            ec = state_ == state::closed ? errc::shut_down : errc::not_ready;
            return large_tx_.offset;
        }
        if (message.size() > opt_.large.max_message_bytes || message.size() > 0xffffffffu) {
            ec = errc::message_too_large;
            return 0;
        }
        if (large_tx_.active && large_tx_.size != message.size()) {
            ec = errc::unexpected_type;
            return large_tx_.offset;
        }
        if (!large_tx_.active)
            large_tx_ = {true, ++large_ids_, message.size(), 0};
        const std::size_t part = std::max<std::size_t>(1, opt_.large.part_bytes);
        do { // an empty message is one empty part
            // The window is checked before each part, so in flight stays under window + one part.
            if (!check_window(ec))
                return large_tx_.offset;
            const std::size_t n = std::min(part, message.size() - large_tx_.offset);
            const auto header = wire::encode_large_part_header(large_tx_.id, static_cast<std::uint32_t>(message.size()),
                                                               static_cast<std::uint32_t>(large_tx_.offset));
            cipher_.seal_part(session_, header, message.subspan(large_tx_.offset, n), blob_, ec);
            if (!ec)
                send_blob(blob_, now, out, ec);
            if (ec) // nothing of this part left: a later call sends it again
                return large_tx_.offset;
            large_tx_.offset += n;
        } while (large_tx_.offset < message.size());
        counters_.add(client_counter::messages_sent);
        large_tx_ = {};
        return message.size();
    }
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::on_part(const crypto::received& r, time_point now)
{
    last_heard_ = now;
    const std::uint64_t before = detail::large_drops(large_rx_.stats());
    std::error_code ec;
    if (large_rx_.add({r.peer, r.identity}, text_, now, large_done_, ec)) {
        counters_.add(client_counter::messages_received);
        push_event({client_event::kind::message, r.peer, std::move(large_done_), r.identity, {}});
        large_done_ = {};
    }
    count_large(before);
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::large_timer(time_point now)
{
    const std::uint64_t before = detail::large_drops(large_rx_.stats());
    large_rx_.on_timer(now);
    count_large(before);
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::large_forget(const endpoint& peer)
{
    const std::uint64_t before = detail::large_drops(large_rx_.stats());
    large_rx_.forget(peer);
    count_large(before);
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::count_large(std::uint64_t before)
{
    if (const std::uint64_t now = detail::large_drops(large_rx_.stats()); now != before)
        counters_.add(client_counter::large_dropped, now - before);
}

} // namespace tlvcast::core
