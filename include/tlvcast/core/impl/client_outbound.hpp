// SPDX-License-Identifier: BSL-1.0
// client_engine's sends of whole messages: one (send) and several (send_batch). Included at the
// bottom of core/client_engine.hpp, which declares these members.
#pragma once

#include <tlvcast/core/client_engine.hpp>

namespace tlvcast::core {

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::send(std::span<const std::byte> message, time_point now, datagram_batch& out,
                                              std::error_code& ec)
{
    const count_out counting{counters_, out};
    ec = {};
    if (state_ != state::established) {
        ec = state_ == state::closed ? errc::shut_down : errc::not_ready;
        return;
    }
    if (message.size() > opt_.max_message) {
        ec = errc::message_too_large;
        return;
    }
    if (!check_window(ec))
        return;
    send_message(crypto::message_kind::data, message, now, out, ec);
    if (!ec)
        counters_.add(client_counter::messages_sent);
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::send_batch(std::span<const std::span<const std::byte>> messages, time_point now,
                                                    datagram_batch& out, std::error_code& ec)
{
    const count_out counting{counters_, out};
    ec = {};
    if (state_ != state::established) {
        ec = state_ == state::closed ? errc::shut_down : errc::not_ready;
        return;
    }
    // A Cipher that carries less than max_message would refuse such a message part way, after
    // the batches before it left: the caller could not tell which.
    const std::size_t limit = message_limit();
    for (const auto m : messages)
        if (m.size() > limit) {
            ec = errc::message_too_large;
            return;
        }
    // The window is checked once, for the whole batch: all of it is sent or none (a caller
    // then knows what to send again); in flight stays under window + one batch.
    if (!check_window(ec))
        return;
    for (std::size_t i = 0; i < messages.size() && !ec;) {
        std::size_t n = 1;
        if constexpr (requires { cipher_.seal_batch(session_, messages, std::size_t{}, blob_, ec); }) {
            const std::size_t budget = detail::one_datagram_blob(fragmenter_);
            n = cipher_.seal_batch(session_, messages.subspan(i), budget, blob_, ec);
            if (!ec)
                send_blob(blob_, now, out, ec);
        } else if constexpr (requires { cipher_.seal_batch(session_, messages, blob_, ec); }) {
            n = cipher_.seal_batch(session_, messages.subspan(i), blob_, ec);
            if (!ec)
                send_blob(blob_, now, out, ec);
        } else {
            send_message(crypto::message_kind::data, messages[i], now, out, ec);
        }
        if (!ec) {
            counters_.add(client_counter::messages_sent, n);
            i += n;
        }
    }
}

} // namespace tlvcast::core
