// SPDX-License-Identifier: BSL-1.0
// relay_trust: which relay identities a client accepts, as data the driver fills from its trust store.
#pragma once

#include <tlvcast/endpoint.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <unordered_map>

namespace tlvcast::crypto {

/// SHA-256 of a public key: how identities are named and pinned.
using fingerprint = std::array<std::byte, 32>;

/// A client's trust decisions about relay identities, without I/O: the driver loads the pin or the
/// known-relays file into it, and writes back what the client reports as trusted on first use.
/// A profile asks check() when a relay proves an identity; a profile with identities also holds
/// every re-handshake of a session to that session's identity, whatever this says.
struct relay_trust {
    enum class verdict { trusted, first_use, refused };
    enum class mode {
        pinned,     ///< only `pinned`
        tofu,       ///< `known` for known relay addresses; an unknown address is trusted on first use
        accept_any, ///< any identity (explicit opt-in: no protection against a rogue relay)
    };

    mode how = mode::tofu;
    std::optional<fingerprint> pinned;
    /// tofu: relay address -> identity; nullopt for an address whose entry was unreadable (refused:
    /// a damaged trust store fails closed).
    std::unordered_map<endpoint, std::optional<fingerprint>> known;

    static relay_trust pin(const fingerprint& fp) { return {mode::pinned, fp, {}}; }
    static relay_trust any() { return {mode::accept_any, std::nullopt, {}}; }

    /// The verdict for identity `fp` offered by the relay at `relay`.
    verdict check(const endpoint& relay, const fingerprint& fp) const
    {
        switch (how) {
        case mode::pinned: return pinned && *pinned == fp ? verdict::trusted : verdict::refused;
        case mode::accept_any: return verdict::trusted;
        case mode::tofu: break;
        }
        const auto it = known.find(relay);
        if (it == known.end())
            return verdict::first_use;
        return it->second && *it->second == fp ? verdict::trusted : verdict::refused;
    }
};

} // namespace tlvcast::crypto
