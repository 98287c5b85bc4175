// SPDX-License-Identifier: BSL-1.0
// tests for include/tlvcast/profile/group/remote_set.hpp: counted identities and their kept presences.
#include <tlvcast/profile/group/remote_set.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <vector>

using tlvcast::crypto::fingerprint;
using tlvcast::profile::group::detail::remote_set;

namespace {

fingerprint fp_of(unsigned char n)
{
    fingerprint f{};
    f[0] = std::byte{n};
    return f;
}

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

TEST_CASE("remote_set: the last presence of each joined identity is kept until its last session left")
{
    remote_set r;
    std::error_code ec;
    r.joined(fp_of(1), ec, blob(10, 0xa1));
    REQUIRE_FALSE(ec);
    r.joined(fp_of(2), ec, blob(10, 0xb1));
    r.joined(fp_of(1), ec, blob(12, 0xa2)); // a second session of 1: its presence replaces the first
    CHECK(kept(r) == std::vector<std::pair<int, int>>{{1, 0xa2}, {2, 0xb1}});
    CHECK(r.presence_bytes() == 22);
    r.left(fp_of(1)); // one of its two sessions
    CHECK(r.contains(fp_of(1)));
    CHECK(kept(r).size() == 2);
    r.left(fp_of(1));
    CHECK_FALSE(r.contains(fp_of(1)));
    CHECK(kept(r) == std::vector<std::pair<int, int>>{{2, 0xb1}});
    CHECK(r.presence_bytes() == 10);
    r.left(fp_of(9)); // never announced: nothing changes
    CHECK(r.size() == 1);
}

TEST_CASE("remote_set: presences past the byte bound are counted, not kept")
{
    remote_set r(16, 25);
    std::error_code ec;
    r.joined(fp_of(1), ec, blob(10, 1));
    r.joined(fp_of(2), ec, blob(10, 2));
    r.joined(fp_of(3), ec, blob(10, 3)); // 30 > 25
    REQUIRE_FALSE(ec);
    CHECK(r.contains(fp_of(3)));  // the founding rule still counts it
    CHECK(kept(r).size() == 2);
    CHECK(r.presence_bytes() == 20);
    r.left(fp_of(1));
    r.joined(fp_of(3), ec, blob(10, 4)); // room again: its newer presence is kept
    CHECK(kept(r) == std::vector<std::pair<int, int>>{{2, 2}, {3, 4}});
    CHECK(r.presence_bytes() == 20);
}

TEST_CASE("remote_set: a full set refuses a new identity and keeps nothing of it")
{
    remote_set r(2);
    std::error_code ec;
    r.joined(fp_of(1), ec, blob(4, 1));
    r.joined(fp_of(2), ec, blob(4, 2));
    r.joined(fp_of(3), ec, blob(4, 3));
    CHECK(ec == tlvcast::errc::overloaded);
    CHECK_FALSE(r.contains(fp_of(3)));
    CHECK(kept(r).size() == 2);
    r.joined(fp_of(4), ec); // no presence: counted only
    CHECK(ec == tlvcast::errc::overloaded);
}

TEST_CASE("remote_set: for_each_presence stops when asked")
{
    remote_set r;
    std::error_code ec;
    for (unsigned char i = 1; i <= 5; ++i)
        r.joined(fp_of(i), ec, blob(3, i));
    int seen = 0;
    r.for_each_presence([&](const fingerprint&, std::span<const std::byte>) { return ++seen < 2; });
    CHECK(seen == 2);
}
