// SPDX-License-Identifier: BSL-1.0
// Hexadecimal for fingerprints and keys in logs, UIs and files: to_hex and its strict inverse from_hex.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tlvcast::crypto {

/// Lowercase hexadecimal of `bytes` (two characters per byte), e.g. for fingerprints in logs and UIs.
inline std::string to_hex(std::span<const std::byte> bytes)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string s(bytes.size() * 2, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const auto b = std::to_integer<unsigned>(bytes[i]);
        s[2 * i] = digits[b >> 4];
        s[2 * i + 1] = digits[b & 0xfu];
    }
    return s;
}

/// The N bytes written as exactly 2 * N hex digits (either case) in `hex`; nullopt for any other
/// length or a character that is not a hex digit. Never throws.
template <std::size_t N>
std::optional<std::array<std::byte, N>> from_hex(std::string_view hex) noexcept
{
    if (hex.size() != 2 * N)
        return std::nullopt;
    const auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    std::array<std::byte, N> out{};
    for (std::size_t i = 0; i < N; ++i) {
        const int hi = digit(hex[2 * i]), lo = digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        out[i] = static_cast<std::byte>(hi * 16 + lo);
    }
    return out;
}

} // namespace tlvcast::crypto
