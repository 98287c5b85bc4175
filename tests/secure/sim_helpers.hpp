// SPDX-License-Identifier: BSL-1.0
// What the secure profile's simulation tests share: fixed identities and counting what was sent.
#pragma once

#include "secure/secure_sim.hpp"

#include <tlvcast/crypto/identity.hpp>
#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/wire/detail/endian.hpp>
#include <tlvcast/wire/types.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace tlvcast::test {

/// An Ed25519 identity from a seed of 32 bytes `n`: fixed keys keep failures reproducible.
inline crypto::ed25519_keypair identity(std::uint8_t n)
{
    std::array<std::byte, 32> seed{};
    seed.fill(static_cast<std::byte>(n));
    return crypto::ed25519_from_seed<crypto::default_suite>(seed);
}

/// Whether a datagram's outer TLV has type `t`.
inline bool is_type(const wire_datagram& d, wire::tlv_type t)
{
    return d.bytes.size() >= 2 && wire::detail::load_u16(d.bytes.data()) == static_cast<std::uint16_t>(t);
}

/// Datagrams of type `t` that `from` has sent in the simulation.
template <class Net>
std::size_t count_sent(const Net& net, wire::tlv_type t, const endpoint& from)
{
    return static_cast<std::size_t>(
        std::count_if(net.sent.begin(), net.sent.end(), [&](const auto& d) { return d.from == from && is_type(d, t); }));
}

} // namespace tlvcast::test
