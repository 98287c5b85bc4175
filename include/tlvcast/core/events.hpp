// SPDX-License-Identifier: BSL-1.0
// What the client and relay engines report to their users: events and counters.
#pragma once

#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/endpoint.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace tlvcast::core {

/// Something a client learned. `text` holds a message's bytes (UTF-8 in the seed profile).
struct client_event {
    enum class kind {
        registered,        ///< the relay answered; `peer` is its unicast address, `identity` its key's fingerprint
        message,           ///< `text` from `peer` (with `identity` where the profile proves it)
        peer_connected,    ///< `peer` connected
        peer_disconnected, ///< `peer` left or timed out
        relay_lost,        ///< the relay stopped answering; the client keeps probing
        relay_changed,     ///< a relay with another key answered and was accepted (profiles without
                           ///< identities); the client re-registers by itself
        relay_refused,     ///< a relay proved an identity that is not trusted, or not the current
                           ///< session's: it gets nothing (`identity`: what it offered)
        relay_trusted,     ///< the relay at `peer` was trusted on first use: a driver remembers `identity`
        failed,            ///< registration failed for good (`error`: no_relay, or identity_mismatch
                           ///< when only refused relays answered)
        // Group profiles: what the group's verified commits and messages show (never the relay's word).
        epoch,             ///< epoch `epoch` began with `members` members
        member_added,      ///< `identity` joined (`verified`: it is on this member's roster)
        member_removed,    ///< `identity` left or was removed (this client itself: it is out of the group)
        gap,               ///< messages `from`..`to` of sender `identity` did not arrive (yet); in the
                           ///< group profile these count generations (a lost batch is one)
        unrecoverable,     ///< datagrams `from`..`to` of the stream from `peer` are lost for good (a
                           ///< repairing Fragmenter gave up on them); what they carried is lost
    };
    kind what = kind::message;
    endpoint peer;
    std::string text;
    std::optional<crypto::fingerprint> identity;
    std::error_code error;
    std::uint64_t epoch = 0;
    std::size_t members = 0;
    bool verified = false;
    std::uint64_t from = 0, to = 0;
};

/// Something the relay did.
struct relay_event {
    /// slow_receiver: `peer` was dropped from reliability by the relay's slow-receiver policy;
    /// `bytes` unacknowledged to it were released; `held`: after a hold of slow_hold that did not help.
    enum class kind { registered, connected, disconnected, timeout, message, slow_receiver };
    kind what = kind::message;
    endpoint peer;
    std::size_t bytes = 0; ///< message: plaintext size; slow_receiver: bytes released
    std::optional<crypto::fingerprint> identity;
    bool held = false;
};

/// A fixed set of named counters, updated atomically (relaxed) from any thread.
/// `Names` is an array of names indexed by the enum `Counter`.
template <class Counter, auto& Names>
class counters {
public:
    static constexpr std::size_t size = Names.size();
    using snapshot = std::array<std::uint64_t, size>;

    void add(Counter c, std::uint64_t n = 1) noexcept
    {
        values_[static_cast<std::size_t>(c)].fetch_add(n, std::memory_order_relaxed);
    }
    std::uint64_t get(Counter c) const noexcept
    {
        return values_[static_cast<std::size_t>(c)].load(std::memory_order_relaxed);
    }
    snapshot read() const noexcept
    {
        snapshot s{};
        for (std::size_t i = 0; i < size; ++i)
            s[i] = values_[i].load(std::memory_order_relaxed);
        return s;
    }
    static constexpr std::string_view name(std::size_t i) noexcept { return Names[i]; }

private:
    std::array<std::atomic<std::uint64_t>, size> values_{};
};

enum class client_counter {
    datagrams_in, datagrams_out, messages_sent, messages_received, presence_received,
    malformed, unknown_type, unexpected_type, undecryptable, duplicates, from_stranger, reassembly_dropped,
    registration_attempts, re_registrations, events_dropped, send_retries, send_errors, relays_refused,
    window_full, ///< sends refused with would_block: the window to the relay was full
    large_dropped, ///< parts of large messages dropped, and large messages dropped unfinished (large_stats says why)
};
inline constexpr std::array<std::string_view, 20> client_counter_names{
    "datagrams_in", "datagrams_out", "messages_sent", "messages_received", "presence_received",
    "malformed", "unknown_type", "unexpected_type", "undecryptable", "duplicates", "from_stranger", "reassembly_dropped",
    "registration_attempts", "re_registrations", "events_dropped", "send_retries", "send_errors", "relays_refused",
    "window_full", "large_dropped",
};
using client_counters = counters<client_counter, client_counter_names>;

enum class relay_counter {
    datagrams_in, datagrams_out, bytes_in, bytes_out, registrations, messages_in, messages_relayed,
    presence_sent, timeouts, malformed, unknown_type, unexpected_type, unregistered, undecryptable,
    handshake_errors, reassembly_dropped, clients_full, send_errors, overloaded, source_full, send_backlogged,
    refused, ///< opaque forwarding: blobs the Cipher's classify() refused (a commit out of order, say)
    unrecoverable, ///< gaps in a client's stream that the repair layer gave up (a repairing Fragmenter)
    slow_receivers, ///< clients dropped from reliability by the slow-receiver policy (relay_event slow_receiver)
};
inline constexpr std::array<std::string_view, 24> relay_counter_names{
    "datagrams_in", "datagrams_out", "bytes_in", "bytes_out", "registrations", "messages_in", "messages_relayed",
    "presence_sent", "timeouts", "malformed", "unknown_type", "unexpected_type", "unregistered", "undecryptable",
    "handshake_errors", "reassembly_dropped", "clients_full", "send_errors", "overloaded", "source_full",
    "send_backlogged", "refused", "unrecoverable", "slow_receivers",
};
using relay_counters = counters<relay_counter, relay_counter_names>;

} // namespace tlvcast::core
