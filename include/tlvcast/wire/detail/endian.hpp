// SPDX-License-Identifier: BSL-1.0
// Big-endian loads and stores over std::byte; callers have already checked the bounds.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tlvcast::wire::detail {

constexpr std::uint16_t load_u16(const std::byte* p) noexcept
{
    return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) | std::to_integer<unsigned>(p[1]));
}

constexpr std::uint32_t load_u32(const std::byte* p) noexcept
{
    return (std::uint32_t{load_u16(p)} << 16) | load_u16(p + 2);
}

constexpr void store_u16(std::byte* p, std::uint16_t v) noexcept
{
    p[0] = static_cast<std::byte>(v >> 8);
    p[1] = static_cast<std::byte>(v);
}

constexpr void store_u32(std::byte* p, std::uint32_t v) noexcept
{
    store_u16(p, static_cast<std::uint16_t>(v >> 16));
    store_u16(p + 2, static_cast<std::uint16_t>(v));
}

} // namespace tlvcast::wire::detail
