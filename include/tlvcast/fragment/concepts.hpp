// SPDX-License-Identifier: BSL-1.0
// The Fragmenter policy: splits sealed messages into datagrams and reassembles them under limits.
#pragma once

#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/fragment/repair_limits.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <concepts>
#include <cstddef>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::fragment {

/// A Fragmenter is one peer's splitting and reassembling state machine, without I/O. Time is an
/// input of every call that may send, and every such call appends what it sends to `out`:
/// - split(): appends to `out` the datagrams (inner TLVs, before any record layer) that carry
///   `message` to `to`. `now` lets a repairing fragmenter stamp what it sent (its retransmission
///   or FEC clock starts here, not at the next timer). Errors: errc::message_too_large (none of
///   the message's datagrams appended).
/// - reassemble(): takes one datagram's FRAGMENT value from `from`; returns true and fills
///   `message` (the caller's reused buffer) when it completes a message. It may append control
///   datagrams to `out` at that moment: an ACK when a message completes, a NACK when a gap shows.
///   Errors are counted drops: fragment_limit, reassembly_message_too_large,
///   reassembly_sender_busy, reassembly_full, fragment_mismatch, duplicate_fragment, and the wire
///   errors of a bad header (a drop may still answer, e.g. re-ACK a duplicate).
/// - on_timer()/next_timer(): timed-out partial messages are dropped and counted; a repairing
///   fragmenter retransmits or NACKs from here.
/// - forget(): drops all partial state of a peer that left.
/// Control datagrams are single TLVs of the types the Fragmenter handles (see control_fragmenter;
/// a plain fragmenter has none), to any destination; every `out` above may receive them, whatever
/// the call's result or error. The engine sends everything appended to `out` exactly alike: each
/// datagram under its destination's record layer when the profile has one. The relay tells the
/// message's datagrams from control datagrams by TLV type (see relay_engine's opaque forwarding).
/// Memory is bounded by the instance's limits whatever arrives.
template <class F>
concept fragmenter = requires(F& f, const F& cf, const endpoint& peer, std::span<const std::byte> data,
                              time_point now, datagram_batch& out, std::vector<std::byte>& message,
                              std::error_code& ec) {
    typename F::limits_type;
    typename F::stats_type;
    { f.split(data, peer, now, out, ec) } -> std::same_as<void>;
    { f.reassemble(peer, data, now, out, message, ec) } -> std::same_as<bool>;
    { f.on_timer(now, out) } -> std::same_as<void>;
    { cf.next_timer() } -> std::same_as<time_point>;
    { f.forget(peer) } -> std::same_as<void>;
    { cf.stats() } -> std::convertible_to<typename F::stats_type>;
};

/// A Fragmenter with control TLVs of its own (ACKs, NACKs, repair symbols): handles(type) says
/// which TLV types are its; the engine hands it those (after the record layer, like FRAGMENTs).
/// handle_control() may append datagrams to `out` (to `from` or anyone) and returns true when the
/// TLV completed a message, left in `message` (a repair symbol can). Errors are counted drops.
template <class F>
concept control_fragmenter = fragmenter<F> && requires(F& f, const endpoint& peer, const wire::tlv& t, time_point now,
                                                       datagram_batch& out, std::vector<std::byte>& message,
                                                       std::error_code& ec, wire::tlv_type type) {
    { F::handles(type) } -> std::same_as<bool>;
    { f.handle_control(peer, t, now, out, message, ec) } -> std::same_as<bool>;
};

/// A Fragmenter that completes messages outside the call that received their last piece (one
/// repair that fills a gap releases every message held behind it): reassemble() and
/// handle_control() may return false and leave completed messages for pop_message(), in order,
/// each with its peer; gaps it gave up are left for pop_notice(). The engines drain both after
/// every call into the Fragmenter, on_timer() included.
template <class F>
concept queuing_fragmenter = fragmenter<F> && requires(F& f, endpoint& from, std::vector<std::byte>& message,
                                                       repair_notice& notice) {
    { f.pop_message(from, message) } -> std::same_as<bool>;
    { f.pop_notice(notice) } -> std::same_as<bool>;
};

/// Whether Fragmenter F numbers its datagrams per destination (F::per_destination): a relay then
/// splits a forwarded message once per destination instead of once for all.
template <class F>
constexpr bool per_destination = requires { requires F::per_destination; };

/// Whether `type` is a control TLV of Fragmenter F (never, for a plain fragmenter).
template <class F>
constexpr bool handles_control(wire::tlv_type type) noexcept
{
    if constexpr (control_fragmenter<F>)
        return F::handles(type);
    else
        return false;
}

} // namespace tlvcast::fragment
