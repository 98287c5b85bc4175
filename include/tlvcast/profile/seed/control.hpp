// SPDX-License-Identifier: BSL-1.0
// The seed profile's control messages: the magic texts "CONNECT" and "DISCONNECT", sealed like data.
#pragma once

#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

namespace tlvcast::profile::seed {

/// The frozen seed wire has no control types: a client joins and leaves by sending these texts as
/// ordinary encrypted messages. They are this profile's business alone: no engine names them.
inline constexpr std::string_view connect_text = "CONNECT";
inline constexpr std::string_view disconnect_text = "DISCONNECT";

/// The kind a decrypted text stands for: join or leave for a control text, nothing for data.
inline std::optional<crypto::message_kind> control_of(std::span<const std::byte> text) noexcept
{
    const std::string_view s(reinterpret_cast<const char*>(text.data()), text.size());
    if (s == connect_text)
        return crypto::message_kind::join;
    if (s == disconnect_text)
        return crypto::message_kind::leave;
    return std::nullopt;
}

/// The plaintext that a message of `kind` seals: the control text, or `message` itself for data.
/// Error: reserved_text for data equal to a control text (the relay would read it as one).
inline std::span<const std::byte> control_plaintext(crypto::message_kind kind, std::span<const std::byte> message,
                                                    std::error_code& ec) noexcept
{
    ec = {};
    switch (kind) {
    case crypto::message_kind::join: return wire::as_bytes(connect_text);
    case crypto::message_kind::leave: return wire::as_bytes(disconnect_text);
    case crypto::message_kind::data: break;
    case crypto::message_kind::ordered:
    case crypto::message_kind::request:
    case crypto::message_kind::proposed:
    case crypto::message_kind::part:
    case crypto::message_kind::batch: ec = errc::unexpected_type; return {}; // opaque, large, batches: not this profile's
    }
    if (control_of(message))
        ec = errc::reserved_text;
    return message;
}

} // namespace tlvcast::profile::seed
