// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/wire/detail/endian.hpp: big-endian loads and stores.
#include <tlvcast/wire/detail/endian.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>

using namespace tlvcast::wire::detail;

namespace {
constexpr std::array<std::byte, 4> be{std::byte{0xde}, std::byte{0xad}, std::byte{0xbe}, std::byte{0xef}};
} // namespace

TEST_CASE("endian: loads are big-endian", "[wire][endian]")
{
    STATIC_REQUIRE(load_u16(be.data()) == 0xdead);
    STATIC_REQUIRE(load_u16(be.data() + 2) == 0xbeef);
    STATIC_REQUIRE(load_u32(be.data()) == 0xdeadbeefu);
}

TEST_CASE("endian: stores are big-endian and round-trip", "[wire][endian]")
{
    std::array<std::byte, 4> out{};
    store_u32(out.data(), 0xdeadbeefu);
    CHECK(out == be);
    store_u16(out.data(), 0x0102);
    CHECK(out[0] == std::byte{0x01});
    CHECK(out[1] == std::byte{0x02});
    CHECK(out[2] == std::byte{0xbe}); // untouched
    for (std::uint32_t v : {0u, 1u, 0xffu, 0x100u, 0xffffu, 0x10000u, 0x7fffffffu, 0xffffffffu}) {
        store_u32(out.data(), v);
        CHECK(load_u32(out.data()) == v);
        store_u16(out.data(), static_cast<std::uint16_t>(v));
        CHECK(load_u16(out.data()) == static_cast<std::uint16_t>(v));
    }
}
