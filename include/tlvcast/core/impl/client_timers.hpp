// SPDX-License-Identifier: BSL-1.0
// client_engine's timers, and what a queuing Fragmenter hands out (messages a repair released,
// gaps it gave up). Included at the bottom of core/client_engine.hpp, which declares these members.
#pragma once

#include <tlvcast/core/client_engine.hpp>

namespace tlvcast::core {

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::on_timer(time_point now, datagram_batch& out)
{
    const count_out counting{counters_, out};
    if (state_ == state::registering && now >= deadline_) {
        if (attempts_ < opt_.register_attempts) {
            send_hello(now, out);
        } else {
            state_ = state::failed;
            push_event({client_event::kind::failed, opt_.relay, {}, refused_identity_,
                        refused_identity_ ? errc::identity_mismatch : errc::no_relay});
        }
    }
    if (state_ == state::established) {
        if (now >= next_keepalive_) {
            send_control(wire::tlv_type::keepalive, out);
            next_keepalive_ = now + opt_.keepalive;
        }
        if (now >= next_probe_) {
            // A handshake under way already probes (its flights are resent until answered). A new
            // one would throw away keys whose SECURE_ACCEPT was lost while the relay seals under
            // them: everything it sent until the new handshake reached it was undecryptable.
            if (!handshake_under_way())
                cipher_.start_session(session_, opt_.relay, now, out);
            next_probe_ = now + opt_.probe_interval;
        }
        if (!relay_lost_ && now - last_heard_ >= opt_.relay_timeout) {
            relay_lost_ = true;
            push_event({client_event::kind::relay_lost, relay_source_.value_or(opt_.relay), {}, {}, {}});
        }
    }
    large_timer(now);
    split_.clear();
    fragmenter_.on_timer(now, split_);
    to_relay(split_);
    protect_all(split_, out);
    if (state_ != state::closed)
        drain_fragmenter(now, out);
    // The Cipher's own timers, when it has any (its handshake state expiring, say).
    if constexpr (requires { cipher_.on_timer(session_, now, out); })
        if (state_ != state::closed)
            cipher_.on_timer(session_, now, out);
    repeat_join(now, out); // after the Cipher's own: its registration datagrams go first
    drain_cipher(now, out);
}

template <class Cipher, class Fragmenter>
time_point client_engine<Cipher, Fragmenter>::next_timer() const
{
    time_point t = std::min(fragmenter_.next_timer(), large_rx_.next_timer());
    if (state_ == state::registering)
        t = std::min(t, deadline_);
    if (state_ == state::established) {
        t = std::min({t, next_keepalive_, next_probe_});
        if (!relay_lost_)
            t = std::min(t, last_heard_ + opt_.relay_timeout);
        t = std::min(t, join_timer_.next());
    }
    if constexpr (requires { cipher_.next_timer(session_); })
        if (state_ != state::closed)
            t = std::min(t, cipher_.next_timer(session_));
    return t;
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::to_relay(datagram_batch& b) const noexcept
{
    for (std::size_t i = 0; i < b.size(); ++i)
        if (b[i].to.port == 0) // a key without a port, which no socket can reach: the relay's
            b.retarget(i, opt_.relay);
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::drain_fragmenter(time_point now, datagram_batch& out)
{
    if constexpr (fragment::queuing_fragmenter<Fragmenter>) {
        endpoint from;
        while (state_ != state::closed && fragmenter_.pop_message(from, reassembled_)) {
            if (from.port == 0)
                forwarded_blob(now); // completed outside records
            else
                on_reassembled(from, now, out);
        }
        fragment::repair_notice n;
        while (fragmenter_.pop_notice(n)) {
            client_event e{client_event::kind::unrecoverable, n.peer, {}, {}, {}};
            e.from = n.first;
            e.to = n.last;
            push_event(std::move(e));
        }
    } else {
        (void)now, (void)out;
    }
}

} // namespace tlvcast::core
