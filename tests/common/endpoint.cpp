// Tests for include/tlvcast/endpoint.hpp: parse, to_string, ordering and hashing.
#include <tlvcast/endpoint.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <type_traits>
#include <unordered_set>

using tlvcast::endpoint;

TEST_CASE("endpoint: parse accepts addresses with and without a port", "[common][endpoint]")
{
    auto ep = endpoint::parse("127.0.0.1:5007");
    REQUIRE(ep);
    CHECK(ep->address == 0x7f000001u);
    CHECK(ep->port == 5007);

    ep = endpoint::parse("224.1.1.1");
    REQUIRE(ep);
    CHECK(ep->address == 0xe0010101u);
    CHECK(ep->port == 0);

    ep = endpoint::parse("255.255.255.255:65535");
    REQUIRE(ep);
    CHECK(ep->address == 0xffffffffu);
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
