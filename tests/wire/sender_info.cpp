// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/wire/sender_info.hpp: SENDER_INFO, presence notices, address codec.
#include <tlvcast/wire/sender_info.hpp>

#include "wire/golden.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::wire;
using tlvcast::test::bytes;
using tlvcast::test::cat;
using tlvcast::test::counting_bytes;

namespace {
bool same(std::span<const std::byte> a, std::span<const std::byte> b) { return std::ranges::equal(a, b); }

constexpr endpoint alice{0xc0a80107, 5007}; // 192.168.1.7:5007
constexpr endpoint bob{0x0a000002, 50000};  // 10.0.0.2:50000
} // namespace

TEST_CASE("sender_info: the golden SENDER_INFO decodes", "[wire][sender_info]")
{
    const auto d = test::sender_info_relayed();
    std::error_code ec;
    const tlv outer = read_outer(d, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(outer.type() == tlv_type::sender_info);
    REQUIRE(check_origin(outer, origin::relay) == std::error_code{});
    const sender_info si = decode_sender_info(outer.value, ec);
    REQUIRE_FALSE(ec);
    CHECK(si.sender == alice);
    CHECK(si.sender.to_string() == "192.168.1.7:5007");
    CHECK(si.inner.type() == tlv_type::relayed_message);
    CHECK(same(si.inner.value, counting_bytes(256)));
    CHECK(si.inner.value.data() == d.data() + 14); // a view into the datagram
}

TEST_CASE("sender_info: append_sender_info writes the golden bytes", "[wire][sender_info]")
{
    std::vector<std::byte> out = bytes({0x99}); // appends after what is there
    tlv_appender a(out);
    std::error_code ec;
    append_sender_info(a, alice, tlv_type::relayed_message, counting_bytes(256), ec);
    REQUIRE_FALSE(ec);
    CHECK(out == cat(bytes({0x99}), test::sender_info_relayed()));
}

TEST_CASE("sender_info: presence notices, both ways", "[wire][sender_info]")
{
    const auto connected = bytes({0x00, 0x0b, 0x00, 0x06, 0xc0, 0xa8, 0x01, 0x07, 0x13, 0x8f});
    const auto disconnected = bytes({0x00, 0x0c, 0x00, 0x06, 0x0a, 0x00, 0x00, 0x02, 0xc3, 0x50});
    std::error_code ec;

    tlv t = read_outer(connected, ec);
    REQUIRE_FALSE(ec);
    CHECK(t.type() == tlv_type::client_connected);
    CHECK(decode_presence(t.value, ec) == alice);
    CHECK_FALSE(ec);
    t = read_outer(disconnected, ec);
    REQUIRE_FALSE(ec);
    CHECK(t.type() == tlv_type::client_disconnected);
    CHECK(decode_presence(t.value, ec) == bob);
    CHECK_FALSE(ec);

    std::vector<std::byte> out;
    tlv_appender a(out);
    append_presence(a, tlv_type::client_connected, alice, ec);
    REQUIRE_FALSE(ec);
    CHECK(out == connected);
    out.clear();
    append_presence(a, tlv_type::client_disconnected, bob, ec);
    REQUIRE_FALSE(ec);
    CHECK(out == disconnected);
}

TEST_CASE("sender_info: append_presence refuses other types", "[wire][sender_info]")
{
    std::vector<std::byte> out;
    tlv_appender a(out);
    std::error_code ec;
    for (auto type : {tlv_type::keepalive, tlv_type::sender_info, tlv_type::fragment}) {
        append_presence(a, type, alice, ec);
        CHECK(ec == errc::unexpected_type);
    }
    CHECK(out.empty());
}

TEST_CASE("sender_info: address codec and its truncation", "[wire][sender_info]")
{
    const auto value = bytes({0x7f, 0x00, 0x00, 0x01, 0xff, 0xff});
    std::error_code ec;
    CHECK(decode_address(value, ec) == endpoint{0x7f000001, 65535});
    CHECK_FALSE(ec);
    for (std::size_t n = 0; n < value.size(); ++n) {
        INFO("prefix " << n);
        decode_address(std::span(value).first(n), ec);
        CHECK(ec == errc::truncated_header);
        decode_presence(std::span(value).first(n), ec);
        CHECK(ec == errc::truncated_header);
    }
    for (std::size_t n = 0; n < address_port_size; ++n) {
        INFO("buffer " << n);
        // A span of the first n bytes of a larger buffer: a write past n would show in the rest.
        std::vector<std::byte> backing(16, std::byte{0xee});
        encode_address(std::span(backing).first(n), alice, ec);
        CHECK(ec == errc::buffer_too_small);
        CHECK(std::all_of(backing.begin(), backing.end(), [](std::byte b) { return b == std::byte{0xee}; }));
    }
    std::array<std::byte, 6> out{};
    encode_address(out, endpoint{0x7f000001, 65535}, ec);
    CHECK_FALSE(ec);
    CHECK(same(out, value));
}

TEST_CASE("sender_info: a presence value with trailing bytes is malformed", "[wire][sender_info]")
{
    std::error_code ec;
    const endpoint ep = decode_presence(bytes({0xc0, 0xa8, 0x01, 0x07, 0x13, 0x8f, 0x00}), ec);
    CHECK(ec == errc::malformed);
    CHECK(ep == alice);
}

TEST_CASE("sender_info: truncation of the value at every byte position", "[wire][sender_info]")
{
    const auto d = test::sender_info_relayed();
    const auto value = std::span(d).subspan(4); // 266 bytes
    for (std::size_t n = 0; n < value.size(); ++n) {
        INFO("prefix " << n);
        std::error_code ec;
        decode_sender_info(value.first(n), ec);
        // under 6: no address; under 10: no inner header; else the inner value is cut short.
        const std::error_code want = n < 10 ? errc::truncated_header : errc::truncated_value;
        REQUIRE(ec == want);
    }
}

TEST_CASE("sender_info: the inner TLV must be known, nestable and of valid length", "[wire][sender_info]")
{
    const auto addr = bytes({0xc0, 0xa8, 0x01, 0x07, 0x13, 0x8f});
    std::error_code ec;

    // KEEPALIVE may not be nested.
    decode_sender_info(cat(addr, bytes({0x00, 0x09, 0x00, 0x00})), ec);
    CHECK(ec == errc::unexpected_type);
    // Nor may a SENDER_INFO inside a SENDER_INFO (its length is valid for its row).
    decode_sender_info(cat(cat(addr, bytes({0x00, 0x0a, 0x00, 0x0a})), cat(addr, bytes({0x00, 0x09, 0x00, 0x00}))), ec);
    CHECK(ec == errc::unexpected_type);
    // Unknown inner type (8 is unassigned).
    decode_sender_info(cat(addr, bytes({0x00, 0x08, 0x00, 0x01, 0x00})), ec);
    CHECK(ec == errc::unknown_type);
    // RELAYED_MESSAGE shorter than one block.
    decode_sender_info(cat(cat(addr, bytes({0x00, 0x06, 0x00, 0xff})), counting_bytes(255)), ec);
    CHECK(ec == errc::length_out_of_range);
    // An ENCRYPTED_BLOCK is nestable: accepted at this layer.
    const sender_info si = decode_sender_info(cat(cat(addr, bytes({0x00, 0x03, 0x01, 0x00})), counting_bytes(256)), ec);
    CHECK_FALSE(ec);
    CHECK(si.inner.type() == tlv_type::encrypted_block);
}

TEST_CASE("sender_info: bytes after the inner TLV are ignored", "[wire][sender_info]")
{
    const auto d = test::sender_info_relayed();
    auto value = std::vector<std::byte>(d.begin() + 4, d.end());
    value.push_back(std::byte{0xab});
    std::error_code ec;
    const sender_info si = decode_sender_info(value, ec);
    CHECK_FALSE(ec);
    CHECK(si.inner.value.size() == 256);
}

TEST_CASE("sender_info: the largest inner value, and one byte more", "[wire][sender_info]")
{
    const std::size_t biggest = max_value_size - address_port_size - tlv_header_size; // 65,525
    std::vector<std::byte> out;
    tlv_appender a(out);
    std::error_code ec;
    append_sender_info(a, bob, tlv_type::relayed_message, std::vector<std::byte>(biggest + 1), ec);
    CHECK(ec == errc::value_too_large);
    CHECK(out.empty());

    append_sender_info(a, bob, tlv_type::relayed_message, std::vector<std::byte>(biggest, std::byte{1}), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(out.size() == 4 + max_value_size);
    const tlv t = read_outer(out, ec);
    REQUIRE_FALSE(ec);
    const sender_info si = decode_sender_info(t.value, ec);
    REQUIRE_FALSE(ec);
    CHECK(si.sender == bob);
    CHECK(si.inner.value.size() == biggest);
}

TEST_CASE("sender_info: the frozen seed format refuses IPv6 addresses", "[wire][sender_info]")
{
    const auto v6 = *endpoint::parse("[fd00::1]:5007");
    const auto mapped = *endpoint::parse("[::ffff:192.168.1.7]:5007"); // IPv4, however spelled
    std::array<std::byte, address_port_size> addr{};
    addr.fill(std::byte{0xee});
    std::error_code ec;
    encode_address(addr, v6, ec);
    CHECK(ec == errc::address_family);
    CHECK(ec.message() == "the seed profile carries IPv4 addresses only");
    CHECK(std::all_of(addr.begin(), addr.end(), [](std::byte b) { return b == std::byte{0xee}; }));
    encode_address(addr, mapped, ec);
    CHECK_FALSE(ec);
    CHECK(decode_address(addr, ec) == mapped);

    // The TLV builders append nothing for an IPv6 peer.
    std::vector<std::byte> out;
    tlv_appender a(out);
    append_presence(a, tlv_type::client_connected, v6, ec);
    CHECK(ec == errc::address_family);
    append_sender_info(a, v6, tlv_type::relayed_message, std::vector<std::byte>(256), ec);
    CHECK(ec == errc::address_family);
    CHECK(out.empty());
}
