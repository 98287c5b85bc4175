// SPDX-License-Identifier: BSL-1.0
// The secure profile's message blobs: SECURE_MESSAGE/CONNECT/DISCONNECT/BATCH, SECURE_DELIVER(_BATCH), SECURE_PRESENCE.
#pragma once

#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/profile/secure/batch.hpp>
#include <tlvcast/profile/secure/detail/party.hpp>
#include <tlvcast/wire/address.hpp>
#include <tlvcast/wire/tlv.hpp>
#include <tlvcast/wire/types.hpp>

#include <array>
#include <cstddef>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::profile::secure::messages {

/// The client's blob: SECURE_MESSAGE(message), SECURE_CONNECT or SECURE_DISCONNECT. Errors:
/// message_too_large (over 65,535 bytes).
inline void seal(crypto::message_kind kind, std::span<const std::byte> message, std::vector<std::byte>& blob,
                 std::error_code& ec)
{
    ec = {};
    blob.clear();
    using crypto::message_kind;
    const auto type = kind == message_kind::join    ? wire::tlv_type::secure_connect
                      : kind == message_kind::leave ? wire::tlv_type::secure_disconnect
                                                    : wire::tlv_type::secure_message;
    wire::tlv_appender(blob).put(type, kind == message_kind::data ? message : std::span<const std::byte>{}, ec);
    if (ec)
        ec = errc::message_too_large;
}

/// The client's blob for several messages: SECURE_BATCH with as many of `messages`, from the first,
/// as fit when the relay's SECURE_DELIVER_BATCH of them stays within `budget` bytes; the first alone
/// as SECURE_MESSAGE when fewer than two fit. Returns how many it took (0 on error or for none).
/// Errors: message_too_large.
inline std::size_t seal_batch(std::span<const std::span<const std::byte>> messages, std::size_t budget,
                              std::vector<std::byte>& blob, std::error_code& ec)
{
    ec = {};
    if (messages.empty())
        return 0;
    const std::size_t n = batch_fit(messages, budget);
    if (n < 2) { // one message, or a first one too large to share a datagram: the plain format
        seal(crypto::message_kind::data, messages.front(), blob, ec);
        return ec ? 0 : 1;
    }
    write_batch(messages.first(n), blob, ec);
    return ec ? 0 : n;
}

/// The client's blob SECURE_PART(header, bytes): one part of a large message, written from the
/// caller's two spans (no copy of the message beforehand). Errors: message_too_large.
inline void seal_part(std::span<const std::byte> header, std::span<const std::byte> bytes,
                      std::vector<std::byte>& blob, std::error_code& ec)
{
    ec = {};
    blob.clear();
    wire::tlv_appender a(blob);
    const std::size_t mark = a.begin(wire::tlv_type::secure_part);
    a.put_raw(header);
    a.put_raw(bytes);
    a.end(mark, ec);
    if (ec) {
        blob.clear();
        ec = errc::message_too_large;
    }
}

/// A client's blob at the relay -> its kind and plaintext (a part: its header and bytes; a batch:
/// its value, checked: count and entries). Errors: malformed (a batch that check_batch() refuses).
inline crypto::message_kind open(std::span<const std::byte> blob, std::vector<std::byte>& plaintext,
                                 std::error_code& ec)
{
    using crypto::message_kind;
    ec = {};
    plaintext.clear();
    wire::tlv_reader r(blob);
    wire::tlv t;
    if (!r.next(t, ec) || !r.done()) {
        ec = errc::malformed;
        return message_kind::data;
    }
    switch (t.type()) {
    case wire::tlv_type::secure_message: plaintext.assign(t.value.begin(), t.value.end()); return message_kind::data;
    case wire::tlv_type::secure_part: plaintext.assign(t.value.begin(), t.value.end()); return message_kind::part;
    case wire::tlv_type::secure_batch:
        check_batch(t.value, ec);
        if (ec)
            return message_kind::data;
        plaintext.assign(t.value.begin(), t.value.end());
        return message_kind::batch;
    case wire::tlv_type::secure_connect: return message_kind::join;
    case wire::tlv_type::secure_disconnect: return message_kind::leave;
    default: ec = errc::malformed; return message_kind::data;
    }
}

/// SECURE_DELIVER(sender, sender's identity, message), or SECURE_DELIVER_PART when `type` says
/// so (the plaintext is then a part: header and bytes). Errors: message_too_large.
inline void deliver(const endpoint& sender, const crypto::fingerprint& identity, std::span<const std::byte> plaintext,
                    std::vector<std::byte>& blob, std::error_code& ec,
                    wire::tlv_type type = wire::tlv_type::secure_deliver)
{
    ec = {};
    blob.clear();
    std::array<std::byte, wire::tagged_address_size> addr{};
    wire::encode_tagged_address(addr, sender, ec);
    if (ec)
        return;
    wire::tlv_appender a(blob);
    const std::size_t mark = a.begin(type);
    a.put_raw(addr);
    a.put_raw(identity);
    a.put_raw(plaintext);
    a.end(mark, ec);
    if (ec)
        ec = errc::message_too_large;
}

/// SECURE_PRESENCE(connected, about, about's identity or zeros).
inline void presence(bool connected, const endpoint& about, const crypto::fingerprint& identity,
                     std::vector<std::byte>& blob, std::error_code& ec)
{
    ec = {};
    blob.clear();
    std::array<std::byte, wire::tagged_address_size> addr{};
    wire::encode_tagged_address(addr, about, ec);
    if (ec)
        return;
    wire::tlv_appender a(blob);
    const std::size_t mark = a.begin(wire::tlv_type::secure_presence);
    const std::byte kind{static_cast<unsigned char>(connected ? 1 : 0)};
    a.put_raw(std::span(&kind, 1));
    a.put_raw(addr);
    a.put_raw(identity);
    a.end(mark, ec);
}

/// SECURE_PRESENCE at the client. Errors: malformed (kind byte), address errors.
inline crypto::received read_presence(std::span<const std::byte> value, std::error_code& ec)
{
    crypto::received r;
    const auto kind = std::to_integer<unsigned>(value[0]);
    if (kind > 1) {
        ec = errc::malformed;
        return r;
    }
    r.peer = wire::decode_tagged_address(value.subspan(1), ec);
    if (ec)
        return {};
    r.identity = detail::read_fingerprint(value.subspan(1 + wire::tagged_address_size));
    r.what = kind == 1 ? crypto::received::kind::peer_connected : crypto::received::kind::peer_disconnected;
    return r;
}

/// SECURE_DELIVER (or SECURE_DELIVER_PART: `part` is set) at the client: the sender, its
/// identity, and the text. Errors: address errors.
inline crypto::received read_deliver(std::span<const std::byte> value, std::vector<std::byte>& text,
                                     std::error_code& ec)
{
    crypto::received r;
    r.peer = wire::decode_tagged_address(value, ec);
    if (ec)
        return {};
    r.identity = detail::read_fingerprint(value.subspan(wire::tagged_address_size));
    const auto msg = value.subspan(wire::secure_deliver_fixed_size);
    text.assign(msg.begin(), msg.end());
    r.what = crypto::received::kind::message;
    return r;
}

/// SECURE_DELIVER_PART at the client: as read_deliver(), `text` holding the part (header first).
inline crypto::received read_deliver_part(std::span<const std::byte> value, std::vector<std::byte>& text,
                                          std::error_code& ec)
{
    crypto::received r = read_deliver(value, text, ec);
    r.part = !ec;
    return r;
}

} // namespace tlvcast::profile::secure::messages
