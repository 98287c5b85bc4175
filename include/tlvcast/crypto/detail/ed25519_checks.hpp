// SPDX-License-Identifier: BSL-1.0
// One check of Ed25519 encodings before any backend verifies: no small-order or non-canonical points, S < L.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace tlvcast::crypto::detail {

/// The y-coordinates (little-endian, sign bit clear) of the 8 points of small order on
/// edwards25519, and the two non-canonical encodings y + p that still fit in 255 bits. With the
/// sign bit ignored this covers every encoding of a small-order point (libsodium's blocklist;
/// "Taming the many EdDSAs", Chalkias et al. 2020, section 5). A public key or R among them makes
/// a signature that verifies for many messages or keys: with A = R = the neutral point and S = 0,
/// every message verifies under that one key on a cofactorless verifier.
inline constexpr std::array<std::array<std::uint8_t, 32>, 7> ed25519_small_order_y = {{
    // y = 0: the two points of order 4, (+-sqrt(-1), 0)
    {0},
    // y = 1: the neutral point (order 1)
    {1},
    // the two y-coordinates of the four points of order 8
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
     0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
     0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
    // y = p - 1: the point of order 2, (0, -1)
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    // y = p and y = p + 1: non-canonical encodings of y = 0 and y = 1
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
}};

/// L, the order of the prime-order subgroup (2^252 + 27742317777372353535851937790883648493),
/// little-endian: RFC 8032 section 5.1.7 requires 0 <= S < L.
inline constexpr std::array<std::uint8_t, 32> ed25519_order_l = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

/// True when the 32-byte point encoding `p` is canonical (y < p = 2^255 - 19; RFC 8032 section
/// 5.1.3 step 1) and not a small-order point. Points that do not decode at all (no x for y) are
/// left to the backend. Public data only: no constant-time requirement.
inline bool ed25519_point_acceptable(std::span<const std::byte, 32> point) noexcept
{
    std::array<std::uint8_t, 32> y{};
    for (std::size_t i = 0; i < 32; ++i)
        y[i] = std::to_integer<std::uint8_t>(point[i]);
    y[31] &= 0x7f; // the sign of x
    // y >= p: bytes 1..30 all 0xff, the top byte 0x7f and the low byte >= 0xed.
    bool all_ff = y[31] == 0x7f;
    for (std::size_t i = 1; i < 31 && all_ff; ++i)
        all_ff = y[i] == 0xff;
    if (all_ff && y[0] >= 0xed)
        return false;
    for (const auto& bad : ed25519_small_order_y) {
        if (y == bad)
            return false;
    }
    return true;
}

/// True when the scalar S (little-endian, 32 bytes) is below L.
inline bool ed25519_scalar_canonical(std::span<const std::byte, 32> s) noexcept
{
    for (std::size_t i = 32; i-- > 0;) {
        const auto b = std::to_integer<std::uint8_t>(s[i]);
        if (b != ed25519_order_l[i])
            return b < ed25519_order_l[i];
    }
    return false; // S == L
}

/// The check every suite backend applies before its library verifies: the public key A and the
/// signature's R are canonical, non-small-order points and S < L. A signature failing it is
/// refused whatever the library would say, so that every backend accepts exactly the same set.
inline bool ed25519_signature_acceptable(std::span<const std::byte, 32> public_key,
                                         std::span<const std::byte, 64> signature) noexcept
{
    return ed25519_point_acceptable(public_key) && ed25519_point_acceptable(signature.first<32>()) &&
           ed25519_scalar_canonical(signature.last<32>());
}

} // namespace tlvcast::crypto::detail
