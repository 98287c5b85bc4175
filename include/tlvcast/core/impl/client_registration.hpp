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
        send_join(now, out);
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
        send_join(now, out);
    }
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::send_join(time_point now, datagram_batch& out)
{
    [[maybe_unused]] const std::size_t first = out.size();
    std::error_code ec;
    send_message(crypto::message_kind::join, {}, now, out, ec);
    if constexpr (requires { Cipher::join_repeat; }) {
        static_assert(!Cipher::has_record_layer, "join_repeat needs a Cipher without a record layer: a "
                                                 "record sent again is a replay");
        join_flight_.clear();
        for (std::size_t i = first; i < out.size(); ++i)
            join_flight_.push(out[i].to, out[i].bytes);
        if (!ec && join_flight_.size() != 0)
            join_timer_.arm(now, Cipher::join_repeat);
        else
            join_timer_.stop();
    }
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::repeat_join(time_point now, datagram_batch& out)
{
    if (state_ != state::established) {
        join_timer_.stop();
        return;
    }
    if (join_timer_.fire(now))
        for (std::size_t i = 0; i < join_flight_.size(); ++i)
            out.push(join_flight_[i].to, join_flight_[i].bytes);
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
    if (!ec)
        send_blob(blob_, now, out, ec);
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::send_blob(std::span<const std::byte> blob, time_point now, datagram_batch& out,
                                                  std::error_code& ec)
{
    if constexpr (Cipher::has_record_layer) {
        split_.clear();
        fragmenter_.split(blob, opt_.relay, now, split_, ec);
        // Even after an error: the Fragmenter's control datagrams may be there.
        protect_all(split_, out);
    } else {
        fragmenter_.split(blob, opt_.relay, now, out, ec);
    }
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::send_sealed(std::span<const std::byte> blob, time_point now,
                                                    datagram_batch& out, std::error_code& ec)
{
    const count_out counting{counters_, out};
    ec = {};
    if (state_ != state::established) {
        ec = state_ == state::closed ? errc::shut_down : errc::not_ready;
        return;
    }
    send_blob(blob, now, out, ec);
}

template <class Cipher, class Fragmenter>
bool client_engine<Cipher, Fragmenter>::unprotect(std::span<const std::byte> datagram, std::vector<std::byte>& inner,
                                                  std::error_code& ec)
{
    ec = {};
    const wire::tlv t = wire::read_outer(datagram, ec);
    if (ec)
        return false;
    if constexpr (Cipher::has_record_layer) {
        if (is_record(t)) {
            cipher_.unprotect(session_, t.value, inner, ec);
            return !ec;
        }
    }
    ec = errc::unexpected_type;
    return false;
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

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::drain_cipher(time_point now, datagram_batch& out)
{
    if constexpr (requires { cipher_.poll_output(session_, blob_); }) {
        while (state_ == state::established && cipher_.poll_output(session_, blob_)) {
            std::error_code ec;
            send_blob(blob_, now, out, ec);
            if (ec)
                counters_.add(client_counter::send_errors);
        }
    }
    if constexpr (requires(crypto::received& r) { cipher_.poll_notice(session_, r); }) {
        crypto::received r;
        while (cipher_.poll_notice(session_, r))
            on_notice(r);
    }
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::on_notice(const crypto::received& r)
{
    using k = crypto::received::kind;
    using e = client_event::kind;
    client_event ev{e::epoch, relay_source_.value_or(opt_.relay), {}, r.identity, {}};
    switch (r.what) {
    case k::epoch: ev.what = e::epoch; break;
    case k::member_added: ev.what = e::member_added; break;
    case k::member_removed: ev.what = e::member_removed; break;
    case k::gap: ev.what = e::gap; break;
    default: return;
    }
    ev.epoch = r.number;
    ev.members = r.members;
    ev.verified = r.verified;
    ev.from = r.from;
    ev.to = r.to;
    push_event(std::move(ev));
}

} // namespace tlvcast::core
