// SPDX-License-Identifier: BSL-1.0
// Strict base64 (RFC 4648 section 4) for the identity file, so that it needs no particular crypto backend.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tlvcast::crypto::detail {

/// Characters base64_encode writes for `n` input bytes (with '=' padding).
constexpr std::size_t base64_size(std::size_t n) noexcept { return (n + 2) / 3 * 4; }

/// Encodes `in` into the first base64_size(in.size()) characters of `out` (which must hold them).
inline void base64_encode(std::span<const unsigned char> in, std::span<char> out) noexcept
{
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::size_t o = 0;
    for (std::size_t i = 0; i < in.size(); i += 3) {
        const std::size_t left = in.size() - i;
        const std::uint32_t v = std::uint32_t{in[i]} << 16 | (left > 1 ? std::uint32_t{in[i + 1]} << 8 : 0u) |
                                (left > 2 ? std::uint32_t{in[i + 2]} : 0u);
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = left > 1 ? alphabet[v >> 6 & 63] : '=';
        out[o++] = left > 2 ? alphabet[v & 63] : '=';
    }
}

/// Decodes `in` (a multiple of 4 characters, no whitespace, '=' only as final padding) into `out`,
/// which must be exactly the decoded size. False for anything else. Never throws.
inline bool base64_decode(std::span<const char> in, std::span<unsigned char> out) noexcept
{
    const auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z')
            return c - 'A';
        if (c >= 'a' && c <= 'z')
            return c - 'a' + 26;
        if (c >= '0' && c <= '9')
            return c - '0' + 52;
        if (c == '+')
            return 62;
        if (c == '/')
            return 63;
        return -1;
    };
    if (in.size() % 4 != 0)
        return false;
    std::size_t pad = 0;
    if (!in.empty() && in[in.size() - 1] == '=')
        pad = (in.size() >= 2 && in[in.size() - 2] == '=') ? 2 : 1;
    if (in.size() / 4 * 3 - pad != out.size())
        return false;
    std::size_t o = 0;
    for (std::size_t i = 0; i + 4 <= in.size(); i += 4) {
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            const char c = in[i + k];
            const bool padding = i + k >= in.size() - pad;
            const int d = padding ? 0 : value(c);
            if (d < 0 || (padding && c != '='))
                return false;
            v = v << 6 | static_cast<std::uint32_t>(d);
        }
        for (std::size_t k = 0; k < 3 && o < out.size(); ++k)
            out[o++] = static_cast<unsigned char>(v >> (16 - 8 * k));
    }
    return true;
}

} // namespace tlvcast::crypto::detail
