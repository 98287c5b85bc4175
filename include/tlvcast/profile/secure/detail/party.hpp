// SPDX-License-Identifier: BSL-1.0
// One side of the secure profile: its identity, randomness and counted public-key operations.
#pragma once

#include <tlvcast/crypto/random.hpp>
#include <tlvcast/crypto/secret.hpp>
#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/profile/secure/options.hpp>
#include <tlvcast/profile/secure/record.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <utility>

namespace tlvcast::profile::secure::detail {

/// What both handshakes use: the identity key, the options, the random source (every random byte
/// of the profile comes from it: ephemeral keys, randoms, session ids, the cookie secret), and the
/// public-key operations (counted with relaxed atomics, so that tests can prove cheap rejection).
/// Lives behind a pointer in the cipher so the cipher stays movable and `rng()` stays put.
template <class Suite, class Random>
class party {
public:
    party(crypto::ed25519_keypair identity, options opt, Random rng)
        : identity_(std::move(identity)), fingerprint_(crypto::fingerprint_of<Suite>(identity_.public_key)),
          opt_(std::move(opt)), rng_(std::move(rng))
    {
    }

    const crypto::ed25519_keypair& identity() const noexcept { return identity_; }
    const crypto::fingerprint& fingerprint() const noexcept { return fingerprint_; }
    const options& settings() const noexcept { return opt_; }

    pk_counts counts() const noexcept
    {
        return {x25519_.load(std::memory_order_relaxed), sign_.load(std::memory_order_relaxed),
                verify_.load(std::memory_order_relaxed)};
    }

    void random(std::span<std::byte> out) { rng_.fill(out); }
    Random& rng() noexcept { return rng_; }

    // An ephemeral key pair whose private key is drawn from the random source.
    void make_ephemeral(crypto::secret_bytes<crypto::x25519_key_size>& priv,
                        std::array<std::byte, crypto::x25519_key_size>& pub)
    {
        x25519_.fetch_add(1, std::memory_order_relaxed);
        const crypto::x25519_keypair kp = crypto::generate_x25519<Suite>(rng_);
        priv = kp.private_key;
        pub = kp.public_key;
    }

    bool agree(const crypto::secret_bytes<crypto::x25519_key_size>& priv, std::span<const std::byte> peer,
               crypto::secret_bytes<crypto::x25519_key_size>& shared)
    {
        x25519_.fetch_add(1, std::memory_order_relaxed);
        std::error_code ec;
        return Suite::x25519(priv.span(), peer.first<crypto::x25519_key_size>(), shared.span(), ec);
    }

    void sign(std::span<const std::byte> message, std::span<std::byte, crypto::ed25519_signature_size> sig)
    {
        sign_.fetch_add(1, std::memory_order_relaxed);
        Suite::sign(identity_.private_key.span(), message, sig);
    }

    bool verify(std::span<const std::byte> pub, std::span<const std::byte> message, std::span<const std::byte> sig)
    {
        verify_.fetch_add(1, std::memory_order_relaxed);
        return Suite::verify(pub.first<crypto::ed25519_public_size>(), message,
                             sig.first<crypto::ed25519_signature_size>());
    }

private:
    crypto::ed25519_keypair identity_;
    crypto::fingerprint fingerprint_;
    options opt_;
    Random rng_;
    std::atomic<std::uint64_t> x25519_{0}, sign_{0}, verify_{0};
};

inline crypto::fingerprint read_fingerprint(std::span<const std::byte> at) noexcept
{
    crypto::fingerprint fp{};
    std::copy_n(at.begin(), fp.size(), fp.begin());
    return fp;
}

inline session_id read_session_id(std::span<const std::byte> at) noexcept
{
    session_id id{};
    std::copy_n(at.begin(), id.size(), id.begin());
    return id;
}

/// Appends one unprotected handshake TLV datagram to `to`.
inline void push_tlv(datagram_batch& out, const endpoint& to, wire::tlv_type type, std::span<const std::byte> value)
{
    const std::size_t m = out.mark();
    std::error_code ec;
    wire::tlv_appender(out.bytes()).put(type, value, ec);
    out.commit(to, m);
}

} // namespace tlvcast::profile::secure::detail
