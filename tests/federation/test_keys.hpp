// SPDX-License-Identifier: BSL-1.0
// A federation key and relay ids made from small numbers, for the federation tests that seal and
// read envelopes without NATS.
#pragma once

#include <tlvcast/federation/auth.hpp>
#include <tlvcast/federation/envelope.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace test {

inline tlvcast::federation::federation_key key_of(std::uint8_t seed)
{
    std::array<std::byte, tlvcast::federation::federation_key_size> b{};
    for (std::size_t i = 0; i < b.size(); ++i)
        b[i] = std::byte(seed + i);
    return tlvcast::federation::federation_key{std::span<const std::byte, tlvcast::federation::federation_key_size>(b)};
}

inline tlvcast::federation::relay_id rid(std::uint8_t n)
{
    tlvcast::federation::relay_id id{};
    id.fill(std::byte(n));
    return id;
}

} // namespace test
