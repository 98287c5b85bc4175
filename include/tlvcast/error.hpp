// SPDX-License-Identifier: BSL-1.0
// tlvcast error codes: one enum for every failure the library reports, with its category.
#pragma once

#include <string>
#include <system_error>
#include <type_traits>

namespace tlvcast {

/// Every error tlvcast reports through std::error_code. Values are stable (never renumbered).
enum class errc {
    // wire layer
    truncated_header = 1,     ///< fewer than 4 bytes left for a TLV header
    truncated_value,          ///< the length field points past the end of the buffer
    length_out_of_range,      ///< value length outside the range the type table allows
    value_too_large,          ///< a value over 65,535 bytes cannot be encoded
    buffer_too_small,         ///< the caller's output buffer cannot hold the result
    fragment_total_zero,      ///< fragment header with total == 0
    fragment_seq_out_of_range,///< fragment header with seq >= total
    unknown_type,             ///< a TLV type the profile does not define
    unexpected_type,          ///< a known type where it may not appear (wrong sender or nesting)
    malformed,                ///< a value whose inner structure is invalid
    address_family,           ///< an IPv6 address where the profile carries IPv4 only (the seed profile)
    // crypto layer
    bad_key = 32,             ///< a key that does not parse or has the wrong size or algorithm
    decrypt_failed,           ///< a ciphertext that does not decrypt (wrong key or corrupted)
    message_too_large,        ///< a plaintext larger than the profile can carry
    authentication_failed,    ///< an AEAD tag or signature that does not verify
    replayed,                 ///< a sequence number already seen or left of the replay window
    stale_session,            ///< a record for a session that no longer exists
    bad_cookie,               ///< a return-routability cookie that does not verify
    rate_limited,             ///< a handshake refused by the per-source rate limit
    identity_mismatch,        ///< the relay's identity key differs from the pinned or known one
    handshake_failed,         ///< a handshake message out of order or invalid
    key_exhausted,            ///< the key reached its usage limit and must be replaced
    insecure_key_file,        ///< a private-key file that group or others may access (strict permissions)
    not_a_member,             ///< a group operation by or for someone outside the group's current epoch
    admission_refused,        ///< a member the group's admission policy does not accept
    wrong_epoch,              ///< a group message or commit for an epoch this member does not hold
    // fragment layer
    fragment_limit = 64,      ///< more fragments than a message may have
    reassembly_message_too_large, ///< a message would exceed the per-message byte limit
    reassembly_sender_busy,   ///< too many messages in flight from one sender
    reassembly_full,          ///< too many messages or bytes in flight in total
    fragment_mismatch,        ///< a fragment whose total disagrees with earlier ones
    duplicate_fragment,       ///< a fragment already received
    reassembly_timeout,       ///< a message dropped because its fragments stopped arriving
    fec_unrecoverable,        ///< an FEC block with more erasures than parity symbols (or a codec failure)
    // core
    not_registered = 96,      ///< a datagram from a peer without a registered key
    no_relay,                 ///< no relay answered registration after all retries
    not_ready,                ///< an operation needing a session before registration finished
    shut_down,                ///< the client or relay was closed
    too_many_peers,           ///< the relay's client table is full
    reserved_text,            ///< the seed profile reserves the texts CONNECT and DISCONNECT
    overloaded,               ///< work dropped because a bounded queue was full
    would_block,              ///< the send window is full: nothing was sent, try again when it opens
};

namespace detail {
class error_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "tlvcast"; }
    std::string message(int ev) const override
    {
        switch (static_cast<errc>(ev)) {
        case errc::truncated_header: return "truncated TLV header";
        case errc::truncated_value: return "TLV value runs past the end of the buffer";
        case errc::length_out_of_range: return "TLV value length outside the range allowed for its type";
        case errc::value_too_large: return "TLV value larger than 65535 bytes";
        case errc::buffer_too_small: return "output buffer too small";
        case errc::fragment_total_zero: return "fragment header with total == 0";
        case errc::fragment_seq_out_of_range: return "fragment header with seq >= total";
        case errc::unknown_type: return "unknown TLV type";
        case errc::unexpected_type: return "TLV type not allowed here";
        case errc::malformed: return "malformed value";
        case errc::address_family: return "the seed profile carries IPv4 addresses only";
        case errc::bad_key: return "invalid key";
        case errc::decrypt_failed: return "decryption failed";
        case errc::message_too_large: return "message too large for the profile";
        case errc::authentication_failed: return "authentication failed";
        case errc::replayed: return "replayed or too old record";
        case errc::stale_session: return "unknown or expired session";
        case errc::bad_cookie: return "invalid return-routability cookie";
        case errc::rate_limited: return "rate limited";
        case errc::identity_mismatch: return "relay identity does not match the pinned or known key";
        case errc::handshake_failed: return "handshake failed";
        case errc::key_exhausted: return "key usage limit reached";
        case errc::insecure_key_file: return "private-key file accessible by group or others";
        case errc::not_a_member: return "not a member of the group";
        case errc::admission_refused: return "the group's admission policy refuses this member";
        case errc::wrong_epoch: return "not an epoch this member holds";
        case errc::fragment_limit: return "too many fragments for one message";
        case errc::reassembly_message_too_large: return "reassembled message would exceed its byte limit";
        case errc::reassembly_sender_busy: return "too many messages in flight from this sender";
        case errc::reassembly_full: return "reassembly memory or message limit reached";
        case errc::fragment_mismatch: return "fragment disagrees with earlier fragments of its message";
        case errc::duplicate_fragment: return "duplicate fragment";
        case errc::fec_unrecoverable: return "FEC block with more erasures than parity symbols";
        case errc::reassembly_timeout: return "incomplete message timed out";
        case errc::not_registered: return "sender has not registered";
        case errc::no_relay: return "no relay answered";
        case errc::not_ready: return "not registered with a relay yet";
        case errc::shut_down: return "shut down";
        case errc::too_many_peers: return "too many peers";
        case errc::reserved_text: return "CONNECT and DISCONNECT are reserved control texts";
        case errc::overloaded: return "overloaded: bounded queue full";
        case errc::would_block: return "send window full: wait until the relay acknowledges";
        }
        return "unknown tlvcast error";
    }
};
} // namespace detail

/// The category of tlvcast::errc values. Thread-safe; one instance per program.
inline const std::error_category& error_category() noexcept
{
    static const detail::error_category_impl cat;
    return cat;
}

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

} // namespace tlvcast

template <>
struct std::is_error_code_enum<tlvcast::errc> : std::true_type {};
