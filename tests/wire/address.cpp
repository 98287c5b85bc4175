// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/wire/address.hpp: the secure profile's family-tagged address codec.
#include <tlvcast/wire/address.hpp>

#include "wire/golden.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::wire;
using tlvcast::test::bytes;

namespace {
bool same(std::span<const std::byte> a, std::span<const std::byte> b) { return std::ranges::equal(a, b); }

std::array<std::byte, tagged_address_size> encoded(const endpoint& ep)
{
    std::array<std::byte, tagged_address_size> out{};
    std::error_code ec;
    encode_tagged_address(out, ep, ec);
    REQUIRE_FALSE(ec);
    return out;
}
} // namespace

TEST_CASE("address: the 19-byte layout for each family", "[wire][address]")
{
    STATIC_REQUIRE(tagged_address_size == 19);
    // Spelled out as in docs/PROTOCOL.md.
    const auto v6 = bytes({0x06, 0xff, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x13, 0x8f});
    const auto v4 = bytes({0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x0a, 0x00, 0x00, 0x01, 0x13, 0x8f});
    CHECK(same(encoded(*endpoint::parse("[ff15::1]:5007")), v6));
    CHECK(same(encoded(endpoint{0x0a000001u, 5007}), v4));

    std::error_code ec;
    CHECK(decode_tagged_address(v6, ec) == *endpoint::parse("[ff15::1]:5007"));
    CHECK_FALSE(ec);
    CHECK(decode_tagged_address(v4, ec) == endpoint{0x0a000001u, 5007});
    CHECK_FALSE(ec);
}

TEST_CASE("address: round trip; the scope stays on the sender's host", "[wire][address]")
{
    for (const char* text : {"0.0.0.0:0", "255.255.255.255:65535", "127.0.0.1:5007", "[::]:0", "[::1]:1",
                             "[ff02::1]:5007", "[fd00::1]:40000", "[2001:db8::ffff:1.2.3.4]:9",
                             "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"}) {
        INFO(text);
        const auto ep = *endpoint::parse(text);
        std::error_code ec;
        CHECK(decode_tagged_address(encoded(ep), ec) == ep);
        CHECK_FALSE(ec);
    }
    const auto link_local = *endpoint::parse("[fe80::1%7]:5007");
    std::error_code ec;
    const auto back = decode_tagged_address(encoded(link_local), ec);
    CHECK_FALSE(ec);
    CHECK(back.scope_id() == 0);
    CHECK(back == endpoint::from_v6(link_local.v6(), 5007));
}

TEST_CASE("address: decode refuses unknown families and second encodings", "[wire][address]")
{
    const auto v4 = encoded(endpoint{0xc0a80107u, 5007});
    const auto v6 = encoded(*endpoint::parse("[fd00::1]:5007"));
    std::error_code ec;
    for (int family = 0; family < 256; ++family) {
        if (family == 4 || family == 6)
            continue;
        INFO("family " << family);
        for (auto value : {v4, v6}) {
            value[0] = static_cast<std::byte>(family);
            CHECK(decode_tagged_address(value, ec) == endpoint{});
            CHECK(ec == errc::malformed);
        }
    }
    // Family 4 must hold a v4-mapped address, family 6 must not.
    auto wrong = v6;
    wrong[0] = std::byte{4};
    decode_tagged_address(wrong, ec);
    CHECK(ec == errc::malformed);
    wrong = v4;
    wrong[0] = std::byte{6};
    decode_tagged_address(wrong, ec);
    CHECK(ec == errc::malformed);
    // Almost v4-mapped: one bit off in the prefix is IPv6, so family 4 refuses it.
    for (std::size_t byte = 1; byte <= 12; ++byte) {
        auto near = v4;
        near[byte] ^= std::byte{0x01};
        INFO("byte " << byte);
        decode_tagged_address(near, ec);
        CHECK(ec == errc::malformed);
        near[0] = std::byte{6};
        CHECK_FALSE(decode_tagged_address(near, ec).is_v4());
        CHECK_FALSE(ec);
    }
}

TEST_CASE("address: truncation and short buffers", "[wire][address]")
{
    const auto v6 = encoded(*endpoint::parse("[ff15::1]:5007"));
    std::error_code ec;
    for (std::size_t n = 0; n < v6.size(); ++n) {
        INFO("prefix " << n);
        CHECK(decode_tagged_address(std::span(v6).first(n), ec) == endpoint{});
        CHECK(ec == errc::truncated_header);
    }
    // Bytes after the address belong to the caller (the identity fingerprint follows it).
    std::vector<std::byte> longer(v6.begin(), v6.end());
    longer.resize(60, std::byte{0x55});
    CHECK(decode_tagged_address(longer, ec) == *endpoint::parse("[ff15::1]:5007"));
    CHECK_FALSE(ec);

    for (std::size_t n = 0; n < tagged_address_size; ++n) {
        INFO("buffer " << n);
        std::vector<std::byte> backing(32, std::byte{0xee});
        encode_tagged_address(std::span(backing).first(n), *endpoint::parse("[ff15::1]:5007"), ec);
        CHECK(ec == errc::buffer_too_small);
        CHECK(std::all_of(backing.begin(), backing.end(), [](std::byte b) { return b == std::byte{0xee}; }));
    }
}

TEST_CASE("address: arbitrary bytes decode to an error or to an endpoint that encodes back to them",
          "[wire][address]")
{
    std::uint64_t x = 0x243f6a8885a308d3u;
    std::size_t accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        std::array<std::byte, tagged_address_size> in{};
        for (auto& b : in) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            b = static_cast<std::byte>(x >> 56);
        }
        // Bias towards the interesting cases: the right family bytes and a v4-mapped prefix.
        if (i % 2)
            in[0] = static_cast<std::byte>(i % 4 == 1 ? 4 : 6);
        if (i % 8 == 1)
            for (std::size_t k = 1; k <= 12; ++k)
                in[k] = k <= 10 ? std::byte{0} : std::byte{0xff};
        std::error_code ec;
        const endpoint ep = decode_tagged_address(in, ec);
        if (ec) {
            REQUIRE(ec == errc::malformed);
            continue;
        }
        ++accepted;
        REQUIRE(same(encoded(ep), in));
    }
    CHECK(accepted > 1000);
}
