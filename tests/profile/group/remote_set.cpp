// SPDX-License-Identifier: BSL-1.0
// tests for include/tlvcast/profile/group/remote_set.hpp: counted sessions and their kept presences.
#include <tlvcast/profile/group/remote_set.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <utility>
#include <vector>

using tlvcast::endpoint;
using tlvcast::crypto::fingerprint;
using tlvcast::profile::group::detail::remote_set;

namespace {

fingerprint fp_of(unsigned char n)
{
    fingerprint f{};
    f[0] = std::byte{n};
    return f;
}

endpoint at(std::uint16_t port) { return endpoint{0x0a000001u, port}; }

std::vector<std::byte> blob(std::size_t n, unsigned char fill)
{
    return std::vector<std::byte>(n, std::byte{fill});
}

// What for_each_presence() shows: (first byte of the identity, first byte of the presence).
std::vector<std::pair<int, int>> kept(const remote_set& r)
{
    std::vector<std::pair<int, int>> out;
    r.for_each_presence([&](const fingerprint& f, std::span<const std::byte> p) {
        out.emplace_back(std::to_integer<int>(f[0]), std::to_integer<int>(p[0]));
        return true;
    });
    return out;
}

} // namespace

TEST_CASE("remote_set: a session announced again is one session; its departure ends it")
{
    remote_set r;
    std::error_code ec;
    r.joined(fp_of(1), at(1), ec, blob(10, 0xa1), 1);
    REQUIRE_FALSE(ec);
    r.joined(fp_of(1), at(1), ec, blob(10, 0xa2), 2); // restarted in place: the newer key package
    CHECK(r.sessions() == 1);
    CHECK(kept(r) == std::vector<std::pair<int, int>>{{1, 0xa2}});
    r.joined(fp_of(1), at(1), ec, blob(10, 0xa0), 1); // the older one replayed: nothing changes
    CHECK(kept(r) == std::vector<std::pair<int, int>>{{1, 0xa2}});
    r.left(fp_of(1), at(1));
    CHECK_FALSE(r.contains(fp_of(1)));
    CHECK(kept(r).empty());
    CHECK(r.presence_bytes() == 0);
}

TEST_CASE("remote_set: of an identity's sessions, the live one with the newest key package is introduced")
{
    remote_set r;
    std::error_code ec;
    r.joined(fp_of(1), at(1), ec, blob(10, 0x11), 1);
    r.joined(fp_of(1), at(2), ec, blob(12, 0x12), 2);
    r.joined(fp_of(2), at(1), ec, blob(10, 0x21), 1);
    CHECK(kept(r) == std::vector<std::pair<int, int>>{{1, 0x12}, {2, 0x21}});
    CHECK(r.presence_bytes() == 32);
    r.left(fp_of(1), at(2)); // the newer session left: the live one's presence, not the departed one's
    CHECK(r.contains(fp_of(1)));
    CHECK(kept(r) == std::vector<std::pair<int, int>>{{1, 0x11}, {2, 0x21}});
    r.left(fp_of(1), at(9)); // a session never announced: nothing changes
    CHECK(r.contains(fp_of(1)));
    r.left(fp_of(1), at(1));
    CHECK_FALSE(r.contains(fp_of(1)));
    CHECK(kept(r) == std::vector<std::pair<int, int>>{{2, 0x21}});
    CHECK(r.presence_bytes() == 10);
}

TEST_CASE("remote_set: presences past the byte bound are counted, not kept")
{
    remote_set r(16, 25);
    std::error_code ec;
    r.joined(fp_of(1), at(1), ec, blob(10, 1));
    r.joined(fp_of(2), at(1), ec, blob(10, 2));
    r.joined(fp_of(3), at(1), ec, blob(10, 3)); // 30 > 25
    REQUIRE_FALSE(ec);
    CHECK(r.contains(fp_of(3))); // the founding rule still counts it
    CHECK(kept(r).size() == 2);
    CHECK(r.presence_bytes() == 20);
    r.left(fp_of(1), at(1));
    r.joined(fp_of(3), at(1), ec, blob(10, 4)); // room again: its presence announced again is kept
    CHECK(kept(r) == std::vector<std::pair<int, int>>{{2, 2}, {3, 4}});
    CHECK(r.presence_bytes() == 20);
}

TEST_CASE("remote_set: identities, sessions per identity and sessions in all are bounded")
{
    std::error_code ec;
    remote_set r(2, remote_set::default_max_presence_bytes, 5);
    r.joined(fp_of(1), at(1), ec, blob(4, 1));
    r.joined(fp_of(2), at(1), ec, blob(4, 2));
    r.joined(fp_of(3), at(1), ec, blob(4, 3));
    CHECK(ec == tlvcast::errc::overloaded);
    CHECK_FALSE(r.contains(fp_of(3)));
    CHECK(kept(r).size() == 2);
    for (std::uint16_t p = 2; p <= 4; ++p)
        r.joined(fp_of(1), at(p), ec, blob(4, 1));
    CHECK_FALSE(ec);
    r.joined(fp_of(1), at(5), ec, blob(4, 1)); // a sixth session in all
    CHECK(ec == tlvcast::errc::overloaded);
    CHECK(r.sessions() == 5);

    remote_set one;
    for (std::uint16_t p = 0; p < remote_set::max_sessions_per_identity; ++p)
        one.joined(fp_of(7), at(p), ec);
    CHECK_FALSE(ec);
    one.joined(fp_of(7), at(remote_set::max_sessions_per_identity), ec);
    CHECK(ec == tlvcast::errc::overloaded);
    CHECK(one.sessions() == remote_set::max_sessions_per_identity);
}

TEST_CASE("remote_set: identities announced after a stamp are skipped")
{
    remote_set r;
    std::error_code ec;
    r.joined(fp_of(1), at(1), ec, blob(3, 1));
    r.joined(fp_of(2), at(1), ec, blob(3, 2));
    const std::uint64_t registered = r.stamp();
    r.joined(fp_of(3), at(1), ec, blob(3, 3));    // after: forwarded to whoever registered then
    r.joined(fp_of(2), at(2), ec, blob(3, 4), 1); // a new session of 2 after: 2 was heard of again
    std::vector<int> seen;
    r.for_each_presence([&](const fingerprint& f, std::span<const std::byte>) {
        seen.push_back(std::to_integer<int>(f[0]));
        return true;
    }, registered);
    CHECK(seen == std::vector<int>{1});
    CHECK(kept(r).size() == 3); // without a bound, all of them
}

TEST_CASE("remote_set: for_each_presence stops when asked")
{
    remote_set r;
    std::error_code ec;
    for (unsigned char i = 1; i <= 5; ++i)
        r.joined(fp_of(i), at(1), ec, blob(3, i));
    int seen = 0;
    r.for_each_presence([&](const fingerprint&, std::span<const std::byte>) { return ++seen < 2; });
    CHECK(seen == 2);
}
