// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/endpoint.hpp: IPv4 and IPv6, parse, to_string, ordering and hashing.
#include <tlvcast/endpoint.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <type_traits>
#include <unordered_set>

using tlvcast::endpoint;

namespace {
endpoint::v6_bytes v6_of(std::initializer_list<int> bytes)
{
    endpoint::v6_bytes b{};
    std::size_t i = 0;
    for (int x : bytes)
        b[i++] = static_cast<std::uint8_t>(x);
    return b;
}
// ff15::1
const endpoint::v6_bytes ff15_1 = v6_of({0xff, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
} // namespace

TEST_CASE("endpoint: parse accepts addresses with and without a port", "[common][endpoint]")
{
    auto ep = endpoint::parse("127.0.0.1:5007");
    REQUIRE(ep);
    CHECK(ep->v4() == 0x7f000001u);
    CHECK(ep->port == 5007);

    ep = endpoint::parse("224.1.1.1");
    REQUIRE(ep);
    CHECK(ep->v4() == 0xe0010101u);
    CHECK(ep->port == 0);

    ep = endpoint::parse("255.255.255.255:65535");
    REQUIRE(ep);
    CHECK(ep->v4() == 0xffffffffu);
    CHECK(ep->port == 65535);

    ep = endpoint::parse("0.0.0.0:0");
    REQUIRE(ep);
    CHECK(*ep == endpoint{});
}

TEST_CASE("endpoint: parse rejects malformed text", "[common][endpoint]")
{
    for (const char* bad : {"", "1", "1.2.3", "1.2.3.", "1.2.3.4.", "1.2.3.4.5", "256.0.0.1", "1.2.3.256", "1..2.3",
                            ".1.2.3", "a.b.c.d", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:80x",
                            "1.2.3.4 ", " 1.2.3.4", "1.2.3.4:5007:1", "1.2.3.4/24", "-1.2.3.4", "99999999999.1.1.1"}) {
        INFO("'" << bad << "'");
        CHECK_FALSE(endpoint::parse(bad));
    }
}

TEST_CASE("endpoint: to_string", "[common][endpoint]")
{
    CHECK(endpoint{0x7f000001, 5007}.to_string() == "127.0.0.1:5007");
    CHECK(endpoint{0xc0a80107, 0}.to_string() == "192.168.1.7:0");
    CHECK(endpoint{0xffffffff, 65535}.to_string() == "255.255.255.255:65535");
    CHECK(endpoint{}.to_string() == "0.0.0.0:0");
}

TEST_CASE("endpoint: parse and to_string round-trip", "[common][endpoint]")
{
    std::uint32_t a = 1;
    for (int i = 0; i < 1000; ++i) {
        a = a * 1664525u + 1013904223u;
        const endpoint ep{a, static_cast<std::uint16_t>(a >> 7)};
        const auto back = endpoint::parse(ep.to_string());
        REQUIRE(back);
        REQUIRE(*back == ep);
    }
}

TEST_CASE("endpoint: ordering compares address, then port", "[common][endpoint]")
{
    const endpoint a{0x0a000001, 9}, b{0x0a000001, 10}, c{0x0a000002, 1};
    CHECK(a < b);
    CHECK(b < c);
    CHECK(a == endpoint{0x0a000001, 9});
    CHECK(a != b);
    STATIC_REQUIRE(std::is_trivially_copyable_v<endpoint>);
}

TEST_CASE("endpoint: hash is consistent with equality and separates neighbours", "[common][endpoint]")
{
    const std::hash<endpoint> h;
    CHECK(h(endpoint{0x7f000001, 5007}) == h(*endpoint::parse("127.0.0.1:5007")));
    // Neighbouring addresses and ports must not collide (the relay keys its client table on this).
    std::unordered_set<std::size_t> hashes;
    for (std::uint32_t addr = 0x7f000001; addr < 0x7f000001 + 16; ++addr)
        for (std::uint16_t port = 5000; port < 5016; ++port)
            hashes.insert(h(endpoint{addr, port}));
    CHECK(hashes.size() == 256);
    CHECK(h(endpoint{1, 0}) != h(endpoint{0, 1}));

    std::unordered_set<endpoint> set;
    set.insert({0x7f000001, 1});
    set.insert({0x7f000001, 1});
    set.insert({0x7f000001, 2});
    CHECK(set.size() == 2);
    CHECK(set.count(endpoint{0x7f000001, 2}) == 1);
}

TEST_CASE("endpoint: IPv4 is stored v4-mapped and keeps its old spelling", "[common][endpoint]")
{
    constexpr endpoint e{0x7f000001u, 5007}; // constexpr, implicit from (address, port)
    STATIC_REQUIRE(e.is_v4());
    STATIC_REQUIRE(e.v4() == 0x7f000001u);
    STATIC_REQUIRE(e.scope_id() == 0);
    CHECK(e.v6() == v6_of({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1}));
    STATIC_REQUIRE(endpoint{}.is_v4() && endpoint{}.v4() == 0 && endpoint{}.port == 0);
    // The v4-mapped IPv6 spelling is the same value.
    CHECK(endpoint::from_v6(e.v6(), 5007, /*scope ignored for IPv4*/ 7) == e);
    CHECK(*endpoint::parse("[::ffff:127.0.0.1]:5007") == e);
    CHECK(*endpoint::parse("::ffff:7f00:1") == endpoint{0x7f000001u, 0});
    endpoint assigned;
    assigned = {0x0a000001u, 1}; // brace assignment, as the tests and programs write it
    CHECK(assigned.to_string() == "10.0.0.1:1");
    STATIC_REQUIRE(std::is_trivially_copyable_v<endpoint>);
    STATIC_REQUIRE(std::is_nothrow_default_constructible_v<endpoint>);
}

TEST_CASE("endpoint: IPv6 addresses, ports and scopes", "[common][endpoint]")
{
    const auto g = endpoint::from_v6(ff15_1, 5007);
    CHECK_FALSE(g.is_v4());
    CHECK(g.v4() == 0);
    CHECK(g.v6() == ff15_1);
    CHECK(g.is_multicast());
    CHECK(g.to_string() == "[ff15::1]:5007");
    CHECK(g.address_string() == "ff15::1");
    CHECK(endpoint{0xe0010101u, 1}.is_multicast());
    CHECK_FALSE(endpoint{0x7f000001u, 1}.is_multicast());
    CHECK_FALSE(endpoint::parse("fd00::1")->is_multicast());

    auto ep = endpoint::parse("[ff15::1]:5007");
    REQUIRE(ep);
    CHECK(*ep == g);
    ep = endpoint::parse("ff15::1");
    REQUIRE(ep);
    CHECK(*ep == endpoint::from_v6(ff15_1, 0));
    ep = endpoint::parse("[fe80::1%3]:9");
    REQUIRE(ep);
    CHECK(ep->scope_id() == 3);
    CHECK(ep->port == 9);
    CHECK(ep->to_string() == "[fe80::1%3]:9");
    CHECK(*endpoint::parse("fe80::1%3") == endpoint::from_v6(ep->v6(), 0, 3));
    CHECK(*endpoint::parse("[::]:0") == endpoint::from_v6({}, 0));
    CHECK(endpoint::from_v6({}, 0) != endpoint{}); // :: is not 0.0.0.0
    CHECK(endpoint::from_v6({}, 0).to_string() == "[::]:0");
    CHECK(endpoint::parse("[::1]:65535")->to_string() == "[::1]:65535");
    // RFC 5952 text whatever the input's spelling.
    CHECK(endpoint::parse("[2001:DB8:0:0:0:0:0:0001]:1")->to_string() == "[2001:db8::1]:1");
    const auto longest = endpoint::parse("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535");
    REQUIRE(longest);
    CHECK(longest->to_string() == "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535");
    CHECK(longest->to_string().size() <= endpoint::max_text_size);
}

TEST_CASE("endpoint: parse rejects malformed IPv6 text", "[common][endpoint]")
{
    for (const char* bad :
         {"[", "]", "[]", "[]:1", "[::1", "::1]", "[::1]:", "[::1]:65536", "[::1]x", "[::1]:1:2", "[::1] :1",
          "[1.2.3.4]:1", "[1.2.3.4]", "ff15::1::2", ":::", "ff15::g", "ff15:::1", "1:2:3:4:5:6:7:8:9",
          "[ff15::1%]:1", "[ff15::1%x]:1", "[ff15::1%-1]:1", "ff15::1%4294967296", "[::ffff:1.2.3.4%1]:1",
          "::ffff:1.2.3.4%1", "[ ff15::1]:1", "ff15::1 ", "[ff15::1]:+1", "[ff15::1]:-1", "[[::1]]:1",
          "fe80::1%%1", "fe80::1%1%2", "[fe80::1%1]%2:1", "1.2.3.4:5:6:7"}) {
        INFO("'" << bad << "'");
        CHECK_FALSE(endpoint::parse(bad));
    }
    // An embedded NUL never lets the parser read less than the text.
    CHECK_FALSE(endpoint::parse(std::string_view("::1\0x", 5)));
    CHECK_FALSE(endpoint::parse(std::string_view("[::1\0]:1", 8)));
    // Longer than any address.
    CHECK_FALSE(endpoint::parse(std::string(100, ':')));
    CHECK_FALSE(endpoint::parse("[" + std::string(60, '1') + "]:1"));
}

TEST_CASE("endpoint: parse never accepts noise, and its results print back to themselves", "[common][endpoint]")
{
    // Fuzz-ish: random strings over the characters addresses are made of. Whatever parses must
    // print to text that parses to the same value; nothing may crash or read out of bounds.
    const std::string alphabet = "0123456789abcdefABCDEF:.[]%x -";
    std::uint64_t x = 88172645463325252u;
    std::size_t accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::string s;
        const std::size_t n = x % 24;
        for (std::size_t k = 0; k < n; ++k) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s += alphabet[x % alphabet.size()];
        }
        if (const auto ep = endpoint::parse(s)) {
            ++accepted;
            INFO("'" << s << "' -> " << ep->to_string());
            const auto back = endpoint::parse(ep->to_string());
            REQUIRE(back);
            REQUIRE(*back == *ep);
        }
    }
    CHECK(accepted > 0); // the generator does produce addresses ("::", "1::", ...)
}

TEST_CASE("endpoint: IPv6 round-trip, ordering and hashing", "[common][endpoint]")
{
    std::uint64_t x = 1;
    std::unordered_set<endpoint> set;
    for (int i = 0; i < 1000; ++i) {
        endpoint::v6_bytes b{};
        for (auto& byte : b) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            byte = static_cast<std::uint8_t>(x >> 56);
        }
        const auto ep = endpoint::from_v6(b, static_cast<std::uint16_t>(x >> 20), static_cast<std::uint32_t>(x >> 40) % 4);
        const auto back = endpoint::parse(ep.to_string());
        REQUIRE(back);
        REQUIRE(*back == ep);
        set.insert(ep);
    }
    CHECK(set.size() == 1000);

    // Address first, then port, then scope.
    const auto a = endpoint::from_v6(ff15_1, 9), b = endpoint::from_v6(ff15_1, 10), c = endpoint::from_v6(ff15_1, 10, 1);
    CHECK(a < b);
    CHECK(b < c);
    CHECK(endpoint{0xffffffffu, 65535} < a); // ::ffff:... sorts before ff15::
    const std::hash<endpoint> h;
    CHECK(h(b) != h(c));
    CHECK(h(a) == h(*endpoint::parse("[ff15::1]:9")));
    std::unordered_set<std::size_t> hashes;
    auto near = ff15_1;
    for (int last = 0; last < 16; ++last) {
        near[15] = static_cast<std::uint8_t>(last);
        for (std::uint16_t port = 5000; port < 5016; ++port)
            hashes.insert(h(endpoint::from_v6(near, port)));
    }
    CHECK(hashes.size() == 256);
}
