// SPDX-License-Identifier: BSL-1.0
// client_engine's registration (hello, accepted, refused, re-registration) and its outbound pipeline.
// Included at the bottom of core/client_engine.hpp, which declares these members.
#pragma once

#include <tlvcast/core/client_engine.hpp>

namespace tlvcast::core {

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::send_hello(time_point now, datagram_batch& out)
{
    ++attempts_;
    counters_.add(client_counter::registration_attempts);
    deadline_ = now + opt_.register_timeout;
    cipher_.start_session(session_, opt_.relay, now, out);
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::on_established(const endpoint& from, const crypto::received& r, time_point now,
                                                       datagram_batch& out)
{
    last_heard_ = now;
    if (state_ == state::registering) {
        state_ = state::established;
        relay_source_ = from;
        relay_lost_ = false;
        next_keepalive_ = now + opt_.keepalive;
        next_probe_ = now + opt_.probe_interval;
        push_event({client_event::kind::registered, from, {}, r.identity, {}});
        if (r.first_use)
            push_event({client_event::kind::relay_trusted, from, {}, r.identity, {}});
        std::error_code ec;
        send_message(crypto::message_kind::join, {}, now, out, ec);
        return;
    }
    if (state_ != state::established)
        return;
    if (r.first_use) // cannot happen today (a session holds its relay), but a profile may say so
        push_event({client_event::kind::relay_trusted, from, {}, r.identity, {}});
    relay_source_ = from;
    if (r.relay_changed || r.relay_restarted || relay_lost_) {
        // A restarted relay has forgotten us: announce ourselves again, without user action.
        counters_.add(client_counter::re_registrations);
        if (r.relay_changed)
            push_event({client_event::kind::relay_changed, from, {}, r.identity, {}});
        relay_lost_ = false;
        std::error_code ec;
        send_message(crypto::message_kind::join, {}, now, out, ec);
    }
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::on_refused(const endpoint& from, const crypto::received& r)
{
    counters_.add(client_counter::relays_refused);
    refused_identity_ = r.identity;
    push_event({client_event::kind::relay_refused, from, {}, r.identity, make_error_code(errc::identity_mismatch)});
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::send_message(crypto::message_kind kind, std::span<const std::byte> message,
                                                     time_point now, datagram_batch& out, std::error_code& ec)
{
    cipher_.seal(session_, kind, message, blob_, ec);
    if (ec)
        return;
    if constexpr (Cipher::has_record_layer) {
        split_.clear();
        fragmenter_.split(blob_, opt_.relay, now, split_, ec);
        // Even after an error: the Fragmenter's control datagrams may be there.
        protect_all(split_, out);
    } else {
        fragmenter_.split(blob_, opt_.relay, now, out, ec);
    }
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::send_control(wire::tlv_type type, datagram_batch& out)
{
    std::error_code ec;
    scratch_.clear();
    wire::tlv_appender(scratch_).put(type, {}, ec);
    detail::protect_one(cipher_, session_, opt_.relay, scratch_, record_, out, ec);
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::protect_all(const datagram_batch& inner, datagram_batch& out)
{
    std::error_code ec;
    for (std::size_t i = 0; i < inner.size(); ++i)
        if (!detail::protect_one(cipher_, session_, inner[i].to, inner[i].bytes, record_, out, ec))
            counters_.add(client_counter::send_errors);
}

} // namespace tlvcast::core
