// SPDX-License-Identifier: BSL-1.0
// The secure profile's settings and named limits (client and relay sides share the type).
#pragma once

#include <tlvcast/crypto/rate_limiter.hpp>
#include <tlvcast/crypto/retransmit.hpp>
#include <tlvcast/time.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace tlvcast::profile::secure {

/// Settings of a basic_cipher instance (client and relay sides share the type).
struct options {
    /// Largest datagram either side sends (1280-byte IPv6 minimum MTU less IPv6 and UDP headers).
    std::size_t max_datagram = 1232;
    /// Relay: how often the cookie secret rotates (a cookie verifies for one to two periods).
    duration cookie_rotation = std::chrono::seconds(30);
    /// Relay defaults: new handshakes (hellos with a valid cookie, not a retransmission) per second
    /// and burst, per IP address (any port), per network prefix (/24, /64) and in total.
    static constexpr double default_address_rate = 20.0, default_address_burst = 40.0;
    static constexpr double default_prefix_rate = 50.0, default_prefix_burst = 100.0;
    static constexpr double default_global_rate = 2000.0, default_global_burst = 4000.0;
    static constexpr std::size_t default_max_sources = 4096;
    static constexpr std::size_t default_max_pending = 1024;
    static constexpr std::size_t default_max_pending_per_address = 32;
    static_assert(default_address_rate <= default_prefix_rate && default_prefix_rate <= default_global_rate);
    static_assert(default_max_pending_per_address < default_max_pending);
    /// Relay: handshake limits. The relay keys the per-source bucket by IP address
    /// (endpoint::without_port()): one host on many ports is one source.
    crypto::rate_limits handshake_limits{default_address_rate, default_address_burst, default_global_rate,
                                         default_global_burst,  default_max_sources,   default_prefix_rate,
                                         default_prefix_burst};
    /// Relay: handshakes between SECURE_SERVER_HELLO and SECURE_CLIENT_AUTH, at most, at most per IP
    /// address, and for how long. A new handshake over either cap evicts the oldest entry (of that
    /// address, else of the table) instead of being refused. `pending_expiry` also bounds a
    /// client's handshake: its ephemeral key and unconfirmed keys are wiped on the timer after it.
    std::size_t max_pending = default_max_pending;
    std::size_t max_pending_per_address = default_max_pending_per_address;
    duration pending_expiry = std::chrono::seconds(10);

    /// Handshake flights under loss (RFC 9147 §5.8): a client sends its last flight (SECURE_HELLO,
    /// SECURE_HELLO with the cookie, SECURE_CLIENT_AUTH) again when no answer came within
    /// `retransmit.initial`, the wait doubling up to `retransmit.max`, at most `retransmit.tries`
    /// times per flight; a new flight starts at `initial` again. The relay keeps no timer: it answers
    /// a repeated flight with its own stored one (SERVER_HELLO, the ACCEPT record), at most
    /// `max_flight_resends` times per handshake. The defaults fit a flight's tries into about 5 s
    /// (the client engine's register_timeout) and keep every try within pending_expiry.
    static constexpr crypto::retransmit_schedule default_retransmit{std::chrono::milliseconds(250),
                                                                    std::chrono::seconds(1), 6};
    static constexpr unsigned default_max_flight_resends = 8;
    static_assert(default_retransmit.valid() && default_retransmit.tries <= default_max_flight_resends);
    static_assert(default_retransmit.span() < std::chrono::seconds(10)); // within the default pending_expiry
    crypto::retransmit_schedule retransmit = default_retransmit;
    unsigned max_flight_resends = default_max_flight_resends;

    /// Key usage limits (crypto/aead.hpp). `aead_limit` (0) takes the AEAD's own figure; a smaller
    /// value lowers it (tests); a larger one is refused. max_records_per_key: records one side seals
    /// under one key, then errc::key_exhausted. max_failed_opens_per_key: records that fail
    /// authentication under one receive key; then the key is dead (records refused with
    /// errc::key_exhausted, counted) until a new handshake replaces it.
    static constexpr std::uint64_t aead_limit = 0;
    std::uint64_t max_records_per_key = aead_limit;
    std::uint64_t max_failed_opens_per_key = aead_limit;
    /// Rekeying well before the record limit: past rekey_numerator / rekey_denominator of it, a
    /// client starts a new handshake, and a relay asks the client for one (SECURE_KEY_UPDATE,
    /// again every eighth of the remaining margin until the client answers).
    static constexpr std::uint64_t default_rekey_numerator = 3, default_rekey_denominator = 4;
    static_assert(0 < default_rekey_numerator && default_rekey_numerator < default_rekey_denominator);
    std::uint64_t rekey_numerator = default_rekey_numerator;
    std::uint64_t rekey_denominator = default_rekey_denominator;
};

/// The limits one instance enforces, from its options and its AEAD.
struct key_limits {
    std::uint64_t max_records = 0;      ///< seal at most this many records per key
    std::uint64_t max_failed_opens = 0; ///< authentication failures per receive key before it is dead
    std::uint64_t rekey_at = 0;         ///< ask for new keys once this many records were sealed
    std::uint64_t rekey_step = 1;       ///< the relay asks again every this many records after rekey_at
};

/// Public-key operations an instance performed (for tests and monitoring).
struct pk_counts {
    std::uint64_t x25519 = 0; ///< key generations and agreements
    std::uint64_t ed25519_sign = 0;
    std::uint64_t ed25519_verify = 0;
    std::uint64_t total() const noexcept { return x25519 + ed25519_sign + ed25519_verify; }
};

} // namespace tlvcast::profile::secure
