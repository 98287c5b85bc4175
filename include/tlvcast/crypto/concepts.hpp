// The Cipher policy: the whole cryptographic side of a profile, its handshake included, without I/O.
#pragma once

#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <array>
#include <concepts>
#include <cstddef>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::crypto {

/// SHA-256 of a public key: how identities are named and pinned.
using fingerprint = std::array<std::byte, 32>;

/// What a client learned from one datagram of the relay (see client_cipher::client_receive).
struct received {
    enum class kind { nothing, relay_key, message, peer_connected, peer_disconnected };
    kind what = kind::nothing;
    endpoint peer;                       ///< the message's sender, or the peer that came or left
    std::optional<fingerprint> identity; ///< the peer's verified identity, where the profile proves one
    bool relay_changed = false;          ///< relay_key: the relay's key differs from the session's
};

/// The client side of a profile. The engine drives it:
/// - start_session(): appends the datagrams that (re)start a session with the relay (seed: 4 then 7);
/// - client_receive(): handles one TLV from the relay (outer, or from inside a record or a
///   reassembled blob); may append handshake replies to `out`; fills `text` for messages and
///   returns what it was (for relay_key, `identity` is the relay's key fingerprint); errors are
///   counted drops (decrypt_failed, malformed, unexpected_type ...);
/// - established(): whether seal() may be called;
/// - seal(): the message blob the Fragmenter splits (seed: RSA-OAEP blocks in type-3 TLVs).
/// With a record layer (has_record_layer), every datagram after the handshake travels inside an
/// outer TLV of type C::record_type: protect() turns one inner datagram (a FRAGMENT or KEEPALIVE
/// TLV) into a whole record; unprotect() turns a record's value back into the inner TLV bytes
/// (AEAD, replay window). The seed profile has none.
/// Errors from client_receive() are counted drops, except errc::identity_mismatch, which ends
/// registration (the relay is not who the client was told to trust).
template <class C>
concept client_cipher = requires(C& c, const C& cc, typename C::client_session& s,
                                 const typename C::client_session& cs, const endpoint& relay, time_point now,
                                 datagram_batch& out, const wire::tlv& t, std::span<const std::byte> bytes,
                                 std::vector<std::byte>& buf, std::error_code& ec) {
    typename C::client_session;
    { C::has_record_layer } -> std::convertible_to<bool>;
    { c.start_session(s, relay, now, out) } -> std::same_as<void>;
    { c.client_receive(s, t, now, out, buf, ec) } -> std::same_as<received>;
    { cc.established(cs) } -> std::same_as<bool>;
    { cc.seal(cs, bytes, buf, ec) } -> std::same_as<void>;
} && (!C::has_record_layer || requires(C& c, typename C::client_session& s, std::span<const std::byte> bytes,
                                       std::vector<std::byte>& buf, std::error_code& ec) {
    { C::record_type } -> std::convertible_to<wire::tlv_type>;
    { c.protect(s, bytes, buf, ec) } -> std::same_as<void>;
    { c.unprotect(s, bytes, buf, ec) } -> std::same_as<void>;
});

/// The relay side of a profile. relay_handshake() runs under the relay's lock; open(), seal_relayed()
/// and presence() run outside it, concurrently on several threads: they must be thread-safe for any
/// sessions, the same one included (that is where the relay's public-key work happens).
/// - relay_handshake(): handles an outer TLV of a handshake type; `current` is `from`'s session
///   when it has one (a re-key may carry state over); appends replies; sets `registered` when
///   `from` registered (or re-keyed) a session. Returns false for types it does not handle.
/// - open(): a reassembled message blob from a registered peer -> plaintext.
/// - seal_relayed(): appends the datagram(s) carrying `sender`'s message to `to`, for the
///   recipient's session `p`; `sender_session` lets the profile name the sender's identity.
/// - presence(): appends a notice that `about` (session `about_session`, may be null) came or left.
/// - With a record layer: unprotect() as on the client side, for records from peer `p`.
template <class C>
concept relay_cipher = requires(C& c, const C& cc, typename C::peer_session& p, const endpoint& from, time_point now,
                                datagram_batch& out, const wire::tlv& t, std::span<const std::byte> bytes,
                                std::vector<std::byte>& buf, std::optional<typename C::peer_session>& registered,
                                std::error_code& ec) {
    typename C::peer_session;
    { C::has_record_layer } -> std::convertible_to<bool>;
    { c.relay_handshake(from, t, now, out, &p, registered, ec) } -> std::same_as<bool>;
    { cc.open(p, bytes, buf, ec) } -> std::same_as<void>;
    { cc.seal_relayed(p, p, from, bytes, from, out, ec) } -> std::same_as<void>;
    { cc.presence(p, true, &p, from, from, out, ec) } -> std::same_as<void>;
    { cc.identity(p) } -> std::same_as<std::optional<fingerprint>>;
} && (!C::has_record_layer || requires(const C& cc, typename C::peer_session& p, std::span<const std::byte> bytes,
                                       std::vector<std::byte>& buf, std::error_code& ec) {
    { C::record_type } -> std::convertible_to<wire::tlv_type>;
    { cc.unprotect(p, bytes, buf, ec) } -> std::same_as<void>;
});

/// Whether delivering a message (relay_cipher::open + seal_relayed) does public-key work, so that a
/// relay should spread deliveries over its cores. A Cipher says no with
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
