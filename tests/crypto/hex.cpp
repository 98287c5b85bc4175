// SPDX-License-Identifier: BSL-1.0
// Tests for crypto/hex.hpp: to_hex and its strict inverse.
#include <tlvcast/crypto/hex.hpp>

#include "crypto/helpers.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>

namespace tc = tlvcast::crypto;

TEST_CASE("to_hex is lowercase, two digits per byte", "[hex]")
{
    CHECK(tc::to_hex({}).empty());
    const auto bytes = tc::test::hex("00017f80abcdefff");
    CHECK(tc::to_hex(bytes) == "00017f80abcdefff");
}

TEST_CASE("from_hex takes exactly 2N hex digits of either case", "[hex]")
{
    const auto v = tc::from_hex<4>("00aBcDff");
    REQUIRE(v);
    CHECK(tc::to_hex(*v) == "00abcdff");
    CHECK_FALSE(tc::from_hex<4>("00abcdf"));   // short
    CHECK_FALSE(tc::from_hex<4>("00abcdff0")); // long
    CHECK_FALSE(tc::from_hex<4>("00abcdfg"));  // not a digit
    CHECK_FALSE(tc::from_hex<4>(" 0abcdff"));
    CHECK(tc::from_hex<0>("") == std::array<std::byte, 0>{});
    std::array<std::byte, 32> fp{};
    fp[0] = std::byte{0x12};
    fp[31] = std::byte{0xfe};
    CHECK(tc::from_hex<32>(tc::to_hex(fp)) == fp);
}
