// SPDX-License-Identifier: BSL-1.0
// The Cipher policy: the whole cryptographic side of a profile, its handshake included, without I/O.
#pragma once

#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::crypto {

/// What a message blob carries, as its profile reads it. Control messages are the profile's own
/// typed TLVs (the seed profile keeps its texts "CONNECT" / "DISCONNECT" inside its policy).
/// Opaque forwarding also knows two more (from relay_cipher::classify):
/// - ordered: forwarded to every member, the sender included: the relay's order of such blobs is
///   the group's, and the echo tells the sender where its blob fell (a group profile's commits);
/// - request: for the relay itself, answered to the sender only (relay_cipher::answer);
/// - proposed: a commit the relay checked but did not apply, because a federation orders commits
///   (docs/FEDERATION.md, "One order for membership"): forwarded to nobody, handed to the federation,
///   applied when it comes back in the federation's order.
/// And one more that a profile with large messages opens (reseal) or forwards like data:
/// - part: one part of a large message (docs/PROTOCOL.md "Large messages"): the relay forwards it
///   to everyone data goes to, sealed by seal_relayed_part() where it reseals.
/// - batch: several data messages of one sender in one blob (the secure profile's SECURE_BATCH):
///   the relay reseals them as one blob per recipient with seal_relayed_batch().
enum class message_kind { data, join, leave, ordered, request, proposed, part, batch };

/// Whether the relay forwards a message of this kind to the recipients of data.
constexpr bool forwarded_as_data(message_kind k) noexcept
{
    return k == message_kind::data || k == message_kind::part || k == message_kind::batch;
}

/// How a relay forwards a message, chosen by the Cipher at compile time:
/// - reseal: the relay opens the blob and seals it again for every recipient (seed, secure);
/// - opaque: the relay checks the sender's record layer, then forwards the one unchanged blob to
///   every recipient without crypto or a copy per recipient (end-to-end protected profiles).
enum class forwarding { reseal, opaque };

/// Whether a Cipher (client or relay side) forwards opaquely: it says so with
/// `static constexpr crypto::forwarding forwarding = crypto::forwarding::opaque;`.
template <class C>
inline constexpr bool opaque_forwarding = [] {
    if constexpr (requires { C::forwarding; })
        return C::forwarding == forwarding::opaque;
    else
        return false;
}();

/// What a client learned from one TLV of the relay (see client_cipher::client_receive).
struct received {
    enum class kind {
        nothing, established, message, peer_connected, peer_disconnected, relay_refused,
        // Group profiles, from verified group state (Cipher::poll_notice):
        epoch,          ///< a new epoch began: `number`, with `members` members
        member_added,   ///< `identity` joined the group (`verified`: on this member's roster)
        member_removed, ///< `identity` left or was removed (this member itself: the group is lost)
        gap,            ///< messages `from`..`to` of sender `identity` did not arrive
    };
    kind what = kind::nothing;
    endpoint peer;                       ///< the message's sender, or the peer that came or left
    std::optional<fingerprint> identity; ///< the peer's (or, for established/relay_refused, the relay's) identity
    bool relay_changed = false;          ///< established: the relay's identity differs from the last session's
    bool relay_restarted = false;        ///< established: the relay did not know this client (it lost its state)
    bool first_use = false;              ///< established: the relay was trusted on first use (remember it)
    std::uint64_t number = 0;            ///< epoch: its number
    std::size_t members = 0;             ///< epoch, member_added, member_removed: the group's size
    bool verified = false;               ///< member_added: listed in the roster file
    std::uint64_t from = 0, to = 0;      ///< gap: the missing range
    bool part = false;                   ///< message: the text is one part of a large message (header first)
};

/// The client side of a profile. The engine drives it; nothing here does I/O or reads a clock.
/// - start_session(): appends the handshake datagrams that (re)start a session (seed: 4 then 7).
///   Handshake datagrams are one unprotected TLV each; everything else the Cipher produces is a
///   message blob that the engine's pipeline fragments and protects.
/// - client_receive(): one TLV from the relay: a handshake TLV (outer), or a message TLV (a whole
///   inner TLV, or the reassembled blob). May append handshake replies to `out`; fills `text` for
///   messages. `trust` says which relay identities are acceptable; a profile with identities must
///   also hold a re-handshake to the current session's identity. A refused relay is reported
///   (kind::relay_refused) and gets nothing. Errors are counted drops.
/// - established(): whether seal() may be called;
/// - seal(): the message blob of `kind` (data carries `plaintext`). Errors: not_ready,
///   reserved_text (a data message the profile could mistake for control), the cipher's own.
/// With a record layer (has_record_layer), every datagram after the handshake travels inside an
/// outer TLV of type C::record_type: protect() turns one inner datagram into a whole record;
/// unprotect() turns a record's value back into the inner TLV bytes (AEAD, replay window).
/// Optional: protect_append(session, inner, dst, ec), protect() appending to dst (unchanged on
/// error), lets the engines seal records straight into their outgoing batch (both sides).
/// With opaque forwarding, client_forwarded() is the end-to-end check of a blob the relay forwarded
/// outside records (whole or reassembled): only its kind::message results count.
template <class C>
concept client_cipher = requires(C& c, const C& cc, typename C::client_session& s,
                                 const typename C::client_session& cs, const endpoint& relay, time_point now,
                                 const relay_trust& trust, datagram_batch& out, const wire::tlv& t,
                                 std::span<const std::byte> bytes, std::vector<std::byte>& buf, std::error_code& ec) {
    typename C::client_session;
    { C::has_record_layer } -> std::convertible_to<bool>;
    { c.start_session(s, relay, now, out) } -> std::same_as<void>;
    { c.client_receive(s, t, now, trust, out, buf, ec) } -> std::same_as<received>;
    { cc.established(cs) } -> std::same_as<bool>;
    { cc.seal(cs, message_kind::data, bytes, buf, ec) } -> std::same_as<void>;
} && (!C::has_record_layer || requires(C& c, typename C::client_session& s, std::span<const std::byte> bytes,
                                       std::vector<std::byte>& buf, std::error_code& ec) {
    { C::record_type } -> std::convertible_to<wire::tlv_type>;
    { c.protect(s, bytes, buf, ec) } -> std::same_as<void>;
    { c.unprotect(s, bytes, buf, ec) } -> std::same_as<void>;
}) && (!opaque_forwarding<C> || requires(C& c, typename C::client_session& s, const wire::tlv& t, time_point now,
                                         std::vector<std::byte>& text, std::error_code& ec) {
    { c.client_forwarded(s, t, now, text, ec) } -> std::same_as<received>;
});

/// The relay side of a profile, single-threaded like the relay engine that drives it, except the
/// const members marked thread-safe: the engine runs those as jobs on worker threads.
/// - relay_handshake(): an outer TLV of a handshake type; `current` is `from`'s session when it has
///   one; appends replies; sets `registered` when `from` registered (or re-keyed) a session.
///   Returns false for types it does not handle.
/// - forwarding: reseal or opaque (see crypto::forwarding).
///   reseal: open() a reassembled blob -> its kind and plaintext (thread-safe); seal_relayed() the
///   blob carrying `sender`'s message for recipient session `p` (thread-safe).
///   opaque: classify() a blob -> its kind, without opening it.
///   A Cipher whose classify() returns message_kind::request also offers
///   answer(p, blob, replies, ec) (const): the blobs that go back to that sender.
/// - presence(): the blob telling recipient `p` that `about` came or left; empty when the profile has
///   nothing to say about it (nothing is sent).
/// - identity(): the peer's verified identity, where the profile proves one.
/// - With a record layer: unprotect() a record from peer `p`; protect() an inner datagram to `p`.
template <class C>
concept relay_cipher = requires(C& c, const C& cc, typename C::peer_session& p, const endpoint& from, time_point now,
                                datagram_batch& out, const wire::tlv& t, std::span<const std::byte> bytes,
                                std::vector<std::byte>& buf, std::optional<typename C::peer_session>& registered,
                                std::error_code& ec) {
    typename C::peer_session;
    { C::has_record_layer } -> std::convertible_to<bool>;
    { C::forwarding } -> std::convertible_to<forwarding>;
    { c.relay_handshake(from, t, now, out, &p, registered, ec) } -> std::same_as<bool>;
    { cc.presence(p, true, &p, from, buf, ec) } -> std::same_as<void>;
    { cc.identity(p) } -> std::same_as<std::optional<fingerprint>>;
} && (C::forwarding == forwarding::opaque ||
      requires(const C& cc, const typename C::peer_session& p, const endpoint& from, std::span<const std::byte> bytes,
               std::vector<std::byte>& buf, std::error_code& ec) {
    { cc.open(p, bytes, buf, ec) } -> std::same_as<message_kind>;
    { cc.seal_relayed(p, p, from, bytes, buf, ec) } -> std::same_as<void>;
}) && (C::forwarding == forwarding::reseal ||
       requires(const C& cc, const typename C::peer_session& p, std::span<const std::byte> bytes, std::error_code& ec) {
    { cc.classify(p, bytes, ec) } -> std::same_as<message_kind>;
}) && (!C::has_record_layer || requires(C& c, typename C::peer_session& p, std::span<const std::byte> bytes,
                                        std::vector<std::byte>& buf, std::error_code& ec) {
    { C::record_type } -> std::convertible_to<wire::tlv_type>;
    { c.unprotect(p, bytes, buf, ec) } -> std::same_as<void>;
    { c.protect(p, bytes, buf, ec) } -> std::same_as<void>;
});

/// Whether delivering a message (relay_cipher::open + seal_relayed) does public-key work, so that a
/// relay should run deliveries as jobs on its worker threads. A Cipher says no with
/// `static constexpr bool cheap_delivery = true;` (symmetric work only: a thread hand-off would cost
/// more than the delivery); without it, deliveries are assumed expensive.
template <class C>
inline constexpr bool cheap_delivery = [] {
    if constexpr (requires { C::cheap_delivery; })
        return static_cast<bool>(C::cheap_delivery);
    else
        return false;
}();

} // namespace tlvcast::crypto
