// SPDX-License-Identifier: BSL-1.0
// client_engine's inbound path: records, the Fragmenter, forwarded blobs, the Cipher, and what it learned.
// Included at the bottom of core/client_engine.hpp, which declares these members.
#pragma once

#include <tlvcast/core/client_engine.hpp>

namespace tlvcast::core {

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::handle(const endpoint& from, std::span<const std::byte> datagram,
                                               time_point now, datagram_batch& out)
{
    const count_out counting{counters_, out};
    counters_.add(client_counter::datagrams_in);
    handle_datagram(from, datagram, now, out);
    if (state_ != state::closed)
        drain_cipher(now, out);
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::handle_datagram(const endpoint& from, std::span<const std::byte> datagram,
                                                        time_point now, datagram_batch& out)
{
    if (state_ == state::closed || state_ == state::idle)
        return;
    std::error_code ec;
    const wire::tlv t = wire::read_outer(datagram, ec);
    if (ec) {
        counters_.add(client_counter::malformed);
        return;
    }
    // Without a record layer, once a relay answered only its address speaks for it. Records
    // speak for themselves (AEAD, replay window), from any address: a relay that comes back
    // elsewhere with the same identity is heard, and only its SECURE_ACCEPT-like promotion
    // (kind::established) moves relay_source_.
    const bool stranger = relay_source_ && from != *relay_source_ && state_ == state::established;
    if (is_record(t)) {
        if constexpr (Cipher::has_record_layer) {
            cipher_.unprotect(session_, t.value, record_, ec);
            if (ec) {
                counters_.add(ec == errc::replayed ? client_counter::duplicates : client_counter::undecryptable);
                return;
            }
            const wire::tlv inner = wire::read_outer(record_, ec);
            if (ec) {
                counters_.add(client_counter::malformed);
                return;
            }
            dispatch(from, inner, now, out, /*reassembled=*/false);
        }
        return;
    }
    const auto origin_ec = wire::check_origin(t, wire::origin::relay);
    if constexpr (opaque_forwarding) {
        // Not a handshake TLV: a forwarded blob, from the relay's address only, once registered.
        if (origin_ec || t.type() == wire::tlv_type::fragment || fragment::handles_control<Fragmenter>(t.type())) {
            if (state_ != state::established)
                counters_.add(client_counter::unexpected_type);
            else if (stranger)
                counters_.add(client_counter::from_stranger);
            else
                forwarded(from, t, now, out);
            return;
        }
    }
    if (origin_ec) {
        counters_.add(origin_ec == errc::unknown_type ? client_counter::unknown_type
                                                      : client_counter::unexpected_type);
        return;
    }
    if constexpr (Cipher::has_record_layer) {
        // Outside records only the handshake speaks: FRAGMENTs count only inside records.
        if (t.type() == wire::tlv_type::fragment) {
            counters_.add(client_counter::unexpected_type);
            return;
        }
        to_cipher(from, t, now, out);
    } else {
        if (stranger) {
            counters_.add(client_counter::from_stranger);
            return;
        }
        dispatch(from, t, now, out, /*reassembled=*/false);
    }
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::dispatch(const endpoint& from, const wire::tlv& t, time_point now,
                                                 datagram_batch& out, bool reassembled)
{
    std::error_code ec;
    switch (detail::route_of<Fragmenter>(t.type())) {
    case detail::route::fragment:
        if (reassembled) { // no fragments inside fragments
            counters_.add(client_counter::unexpected_type);
            return;
        }
        {
            split_.clear();
            const bool complete = fragmenter_.reassemble(from, t.value, now, split_, reassembled_, ec);
            // Its answer (an ACK, a NACK) leaves now, before on_reassembled() may reuse split_.
            protect_all(split_, out);
            if (complete)
                on_reassembled(from, now, out);
            else if (ec)
                counters_.add(client_counter::reassembly_dropped);
            drain_fragmenter(now, out);
        }
        return;
    case detail::route::fragmenter_control:
        if (reassembled) { // no repair inside a repaired message
            counters_.add(client_counter::unexpected_type);
            return;
        }
        if constexpr (fragment::control_fragmenter<Fragmenter>) {
            split_.clear();
            const bool complete = fragmenter_.handle_control(from, t, now, split_, reassembled_, ec);
            protect_all(split_, out);
            if (ec)
                counters_.add(client_counter::reassembly_dropped);
            else if (complete)
                on_reassembled(from, now, out);
            drain_fragmenter(now, out);
        }
        return;
    case detail::route::keepalive: return;
    case detail::route::cipher: to_cipher(from, t, now, out); return;
    }
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::on_reassembled(const endpoint& from, time_point now, datagram_batch& out)
{
    std::vector<std::byte> blob;
    blob.swap(reassembled_);
    std::error_code ec;
    const wire::tlv t = wire::read_outer(blob, ec);
    if (ec)
        counters_.add(client_counter::malformed);
    else
        dispatch(from, t, now, out, /*reassembled=*/true);
    blob.swap(reassembled_);
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::to_cipher(const endpoint& from, const wire::tlv& t, time_point now,
                                                  datagram_batch& out)
{
    std::error_code ec;
    const crypto::received r = cipher_.client_receive(session_, t, now, opt_.trust, out, text_, ec);
    if (ec)
        return count_cipher_error(ec);
    using k = crypto::received::kind;
    switch (r.what) {
    case k::nothing: return;
    case k::established: on_established(from, r, now, out); return;
    case k::relay_refused: on_refused(from, r); return;
    case k::message:
        on_message(r, now);
        poll_messages(now);
        return;
    case k::peer_connected:
    case k::peer_disconnected:
        if (r.what == k::peer_disconnected) // what it sent of a large message can no longer complete
            large_forget(r.peer);
        last_heard_ = now;
        counters_.add(client_counter::presence_received);
        push_event({r.what == k::peer_connected ? client_event::kind::peer_connected
                                                : client_event::kind::peer_disconnected,
                    r.peer, {}, r.identity, {}});
        return;
    case k::epoch:
    case k::member_added:
    case k::member_removed:
    case k::gap: on_notice(r); return;
    }
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::count_cipher_error(const std::error_code& ec)
{
    counters_.add(ec == errc::replayed                                              ? client_counter::duplicates
                  : ec == errc::identity_mismatch                                   ? client_counter::relays_refused
                  : ec == errc::decrypt_failed || ec == errc::authentication_failed ? client_counter::undecryptable
                                                                                    : client_counter::malformed);
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::on_message(const crypto::received& r, time_point now)
{
    if (r.part)
        return on_part(r, now);
    last_heard_ = now;
    counters_.add(client_counter::messages_received);
    push_event({client_event::kind::message, r.peer,
                std::string(reinterpret_cast<const char*>(text_.data()), text_.size()), r.identity, {}});
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::forwarded(const endpoint& from, const wire::tlv& t, time_point now,
                                                  datagram_batch& out)
{
    std::error_code ec;
    if constexpr (fragment::control_fragmenter<Fragmenter>) {
        if (fragment::handles_control<Fragmenter>(t.type())) {
            // A repair stream's datagrams outside records (to a delivery group): under the key
            // without a port, so that what completes goes to the Cipher as forwarded, never as
            // vouched for by the record layer.
            split_.clear();
            const bool complete = fragmenter_.handle_control(from.without_port(), t, now, split_, reassembled_, ec);
            to_relay(split_);
            protect_all(split_, out);
            if (ec)
                counters_.add(client_counter::reassembly_dropped);
            else if (complete)
                forwarded_blob(now);
            drain_fragmenter(now, out);
            return;
        }
    }
    if (t.type() != wire::tlv_type::fragment)
        return to_cipher_forwarded(t, now);
    const endpoint key = from.without_port();
    split_.clear();
    const bool complete = fragmenter_.reassemble(key, t.value, now, split_, reassembled_, ec);
    for (std::size_t i = 0; i < split_.size(); ++i)
        if (split_[i].to == key)
            split_.retarget(i, from);
    protect_all(split_, out);
    if (!complete) {
        if (ec)
            counters_.add(client_counter::reassembly_dropped);
        return;
    }
    forwarded_blob(now);
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::forwarded_blob(time_point now)
{
    if constexpr (opaque_forwarding) {
        std::error_code ec;
        std::vector<std::byte> blob;
        blob.swap(reassembled_);
        const wire::tlv inner = wire::read_outer(blob, ec);
        if (ec || inner.type() == wire::tlv_type::fragment || fragment::handles_control<Fragmenter>(inner.type()))
            counters_.add(ec ? client_counter::malformed : client_counter::unexpected_type); // no fragments inside
        else
            to_cipher_forwarded(inner, now);
        blob.swap(reassembled_);
    } else {
        (void)now; // only an opaque-forwarding Cipher's relay sends outside records
        counters_.add(client_counter::unexpected_type);
    }
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::to_cipher_forwarded(const wire::tlv& t, time_point now)
{
    std::error_code ec;
    const crypto::received r = cipher_.client_forwarded(session_, t, now, text_, ec);
    if (ec)
        count_cipher_error(ec);
    else if (r.what == crypto::received::kind::message)
        on_message(r, now);
    poll_messages(now);
}

template <class Cipher, class Fragmenter>
void client_engine<Cipher, Fragmenter>::poll_messages(time_point now)
{
    // A blob that carried several messages (a group profile's batch) hands out the rest.
    if constexpr (requires(crypto::received& more) { cipher_.poll_message(session_, more, text_); }) {
        crypto::received more;
        while (cipher_.poll_message(session_, more, text_))
            on_message(more, now);
    } else {
        (void)now;
    }
}

} // namespace tlvcast::core
