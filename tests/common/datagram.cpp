// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/datagram.hpp: datagram_batch.
#include <tlvcast/datagram.hpp>

#include <tlvcast/wire/tlv.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

using tlvcast::datagram_batch;
using tlvcast::endpoint;

namespace {
std::vector<std::byte> bytes(std::initializer_list<unsigned> list)
{
    std::vector<std::byte> v;
    for (unsigned b : list)
        v.push_back(static_cast<std::byte>(b));
    return v;
}
bool same(std::span<const std::byte> a, std::span<const std::byte> b) { return std::ranges::equal(a, b); }

constexpr endpoint alice{0x7f000001, 1000}, bob{0x7f000001, 2000};
} // namespace

TEST_CASE("datagram: push keeps each datagram and its destination", "[common][datagram]")
{
    datagram_batch b;
    CHECK(b.empty());
    b.push(alice, bytes({1, 2, 3}));
    b.push(bob, bytes({4}));
    b.push(alice, {});
    REQUIRE(b.size() == 3);
    CHECK_FALSE(b.empty());
    CHECK(b[0].to == alice);
    CHECK(same(b[0].bytes, bytes({1, 2, 3})));
    CHECK(b[1].to == bob);
    CHECK(same(b[1].bytes, bytes({4})));
    CHECK(b[2].bytes.empty());
    CHECK(b.bytes().size() == 4);
}

TEST_CASE("datagram: build in place with mark/commit, abandon with rollback", "[common][datagram]")
{
    datagram_batch b;
    std::error_code ec;

    auto m = b.mark();
    tlvcast::wire::tlv_appender a(b.bytes());
    a.put(tlvcast::wire::tlv_type::keepalive, {}, ec);
    REQUIRE_FALSE(ec);
    b.commit(alice, m);

    m = b.mark();
    a.put(tlvcast::wire::tlv_type::request_server_key, {}, ec);
    b.rollback(m); // half-built, dropped
    CHECK(b.bytes().size() == 4);

    m = b.mark();
    a.put(std::uint16_t{11}, bytes({0x7f, 0, 0, 1, 0x03, 0xe8}), ec);
    b.commit(bob, m);

    REQUIRE(b.size() == 2);
    CHECK(same(b[0].bytes, bytes({0x00, 0x09, 0x00, 0x00})));
    CHECK(b[1].to == bob);
    CHECK(same(b[1].bytes, bytes({0x00, 0x0b, 0x00, 0x06, 0x7f, 0, 0, 1, 0x03, 0xe8})));
}

TEST_CASE("datagram: clear keeps capacity, so reuse does not allocate", "[common][datagram]")
{
    datagram_batch b;
    const std::vector<std::byte> big(1500, std::byte{7});
    for (int i = 0; i < 8; ++i)
        b.push(alice, big);
    const auto cap = b.bytes().capacity();
    const auto* data = b.bytes().data();
    b.clear();
    CHECK(b.empty());
    CHECK(b.bytes().empty());
    CHECK(b.bytes().capacity() == cap);
    for (int i = 0; i < 8; ++i)
        b.push(bob, big);
    CHECK(b.bytes().data() == data);
    CHECK(b.size() == 8);
    CHECK(b[7].to == bob);
    CHECK(same(b[7].bytes, big));
}
