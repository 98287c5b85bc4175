// SPDX-License-Identifier: BSL-1.0
// Stateless return-routability cookies (DTLS 1.3, RFC 9147 section 5.1; RFC 6347 4.2.1) under a rotating secret.
#pragma once

#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/crypto/detail/wipe.hpp>
#include <tlvcast/crypto/random.hpp>
#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/time.hpp>

#include <array>
#include <concepts>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <system_error>

namespace tlvcast::crypto {

/// Makes and checks the cookies a relay hands to an unverified client before it spends any state or
/// public-key work on it. cookie = epoch (1 byte) || HMAC-SHA256(secret[epoch], epoch || address
/// (16 bytes: IPv6, or IPv4 as ::ffff:a.b.c.d) || port (2 bytes, big-endian) || scope id (4 bytes,
/// big-endian; 0 but for link-local IPv6) || context)[0..16), where `context` is a hash of the
/// client's hello transcript computed by the caller (at most max_context_size bytes). The relay
/// keeps no per-client state: only the current and the previous secret (32 random bytes each, wiped).
///
/// Time is an input. The secret rotates when rotate_if_due(now) (also called by make and verify) finds
/// that `rotation_period` has passed since the last rotation; the previous secret keeps verifying for
/// one more period. A cookie therefore verifies for at least one period and at most two; after two
/// rotations it fails with errc::bad_cookie. After a silence of two periods or more both secrets are
/// replaced. The 1-byte epoch wraps after 256 rotations; a wrapped epoch selects a different secret,
/// so an old cookie still fails. MACs are compared in constant time (detail::constant_time_equal).
/// Secrets are drawn from `Random` (a random_source: the backend's CSPRNG by default, a seeded
/// generator in simulations), which the jar references and must outlive it.
/// Not thread-safe: one jar per relay engine. Exceptions: only when the random source fails, and
/// std::length_error from make() for a context longer than max_context_size (a caller bug).
template <class Suite, class Random = os_random<Suite>>
class basic_cookie_jar {
    static_assert(suite<Suite>, "basic_cookie_jar: Suite must model tlvcast::crypto::suite");
    static_assert(random_source<Random>, "basic_cookie_jar: Random must model tlvcast::crypto::random_source");

public:
    static constexpr std::size_t mac_size = 16;
    static constexpr std::size_t cookie_size = 1 + mac_size;
    /// Longest context accepted: pass a transcript hash (32 bytes for SHA-256), not a transcript.
    static constexpr std::size_t max_context_size = 64;
    /// Default rotation period: cookies live 30 to 60 seconds, ample for one handshake round trip.
    static constexpr duration default_rotation_period = std::chrono::seconds(30);

    using cookie_type = std::array<std::byte, cookie_size>;

    /// Draws the first secret; `now` starts the first period. Throws std::invalid_argument for a
    /// period that is not positive.
    basic_cookie_jar(time_point now, duration rotation_period, Random& rng)
        : rng_(&rng), period_(rotation_period), rotated_at_(now)
    {
        if (rotation_period <= duration::zero())
            throw std::invalid_argument("tlvcast: cookie rotation period must be positive");
        rng_->fill(current_.span());
    }

    /// The same, drawing from the backend's CSPRNG (os_random is stateless: one shared instance).
    explicit basic_cookie_jar(time_point now, duration rotation_period = default_rotation_period)
        requires std::same_as<Random, os_random<Suite>>
        : basic_cookie_jar(now, rotation_period, shared_os_random())
    {
    }

    /// Rotates the secret if a period has passed since the last rotation. A clock that goes back is ignored.
    void rotate_if_due(time_point now)
    {
        if (now < rotated_at_ || now - rotated_at_ < period_)
            return;
        if (now - rotated_at_ >= 2 * period_) {
            // Silent for two periods: even the secret that would become "previous" is too old.
            has_previous_ = false;
        } else {
            previous_ = current_;
            has_previous_ = true;
        }
        rng_->fill(current_.span());
        ++epoch_;
        rotated_at_ = now;
    }

    /// The cookie for a client at `client` whose hello hashes to `context`.
    cookie_type make(const endpoint& client, std::span<const std::byte> context, time_point now)
    {
        if (context.size() > max_context_size)
            throw std::length_error("tlvcast: cookie context longer than max_context_size");
        rotate_if_due(now);
        cookie_type cookie{};
        cookie[0] = static_cast<std::byte>(epoch_);
        const auto mac = compute(current_, epoch_, client, context);
        std::copy_n(mac.begin(), mac_size, cookie.begin() + 1);
        return cookie;
    }

    /// Checks a cookie a client echoed. Returns errc::bad_cookie when it has the wrong size, an epoch
    /// that is neither the current nor the previous one, or a MAC that does not match this client and
    /// context; an empty error code when it verifies.
    std::error_code verify(std::span<const std::byte> cookie, const endpoint& client,
                           std::span<const std::byte> context, time_point now)
    {
        rotate_if_due(now);
        if (cookie.size() != cookie_size || context.size() > max_context_size)
            return errc::bad_cookie;
        const auto epoch = std::to_integer<std::uint8_t>(cookie[0]);
        const secret_bytes<32>* secret = nullptr;
        if (epoch == epoch_)
            secret = &current_;
        else if (has_previous_ && epoch == static_cast<std::uint8_t>(epoch_ - 1))
            secret = &previous_;
        else
            return errc::bad_cookie;
        const auto mac = compute(*secret, epoch, client, context);
        if (!detail::constant_time_equal(mac.data(), cookie.data() + 1, mac_size))
            return errc::bad_cookie;
        return {};
    }

    /// The epoch of the current secret (increments, modulo 256, at each rotation).
    std::uint8_t epoch() const noexcept { return epoch_; }
    duration rotation_period() const noexcept { return period_; }

private:
    static Random& shared_os_random()
    {
        static Random r;
        return r;
    }

    static sha256_digest compute(const secret_bytes<32>& secret, std::uint8_t epoch, const endpoint& client,
                                 std::span<const std::byte> context)
    {
        // The whole endpoint, so that a cookie made for one IPv6 address (or one link-local scope)
        // never verifies for another.
        constexpr std::size_t fixed = 1 + 16 + 2 + 4;
        std::array<std::byte, fixed + max_context_size> input{};
        input[0] = static_cast<std::byte>(epoch);
        const auto& address = client.v6();
        for (std::size_t i = 0; i < address.size(); ++i)
            input[1 + i] = static_cast<std::byte>(address[i]);
        input[17] = static_cast<std::byte>(client.port >> 8);
        input[18] = static_cast<std::byte>(client.port);
        for (std::size_t i = 0; i < 4; ++i)
            input[19 + i] = static_cast<std::byte>(client.scope_id() >> (24 - 8 * i));
        std::copy(context.begin(), context.end(), input.begin() + fixed);
        return Suite::hmac_sha256(secret.span(), std::span<const std::byte>(input).first(fixed + context.size()));
    }

    Random* rng_;
    secret_bytes<32> current_;
    secret_bytes<32> previous_;
    bool has_previous_ = false;
    std::uint8_t epoch_ = 0;
    duration period_;
    time_point rotated_at_;
};

/// The cookie jar on the default suite (default_backend.hpp).
using cookie_jar = basic_cookie_jar<default_suite>;

} // namespace tlvcast::crypto
