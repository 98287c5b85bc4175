// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/fragment/fec/cm256_codec.hpp (built when libcm256cc is found): any r
// erasures of a block are rebuilt, fresh parity indices combine with earlier ones, bad input refused.
#if defined(TLVCAST_HAS_FEC)
#include <tlvcast/fragment/fec/cm256_codec.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <random>
#include <vector>

using tlvcast::errc;
using tlvcast::fragment::fec::cm256_codec;
using tlvcast::fragment::fec::symbol;

namespace {

struct block {
    std::size_t k, sb;
    std::vector<std::byte> data;
    std::vector<const std::byte*> ptrs;

    block(std::size_t k_, std::size_t sb_, std::mt19937_64& rng) : k(k_), sb(sb_), data(k_ * sb_)
    {
        for (auto& b : data)
            b = static_cast<std::byte>(rng() & 0xffu);
        for (std::size_t i = 0; i < k; ++i)
            ptrs.push_back(data.data() + i * sb);
    }
};

} // namespace

TEST_CASE("cm256_codec rebuilds any r erased data symbols from r parity symbols", "[fec]")
{
    cm256_codec codec;
    std::mt19937_64 rng(5);
    for (const std::size_t k : {1u, 8u, 16u, 64u})
        for (const unsigned r : {1u, 2u, 4u, 8u}) {
            block b(k, 1202, rng);
            std::vector<std::byte> parity(r * b.sb);
            std::error_code ec;
            codec.encode(b.ptrs, b.sb, 0, parity, ec);
            REQUIRE_FALSE(ec);
            for (int trial = 0; trial < 20; ++trial) {
                INFO("k " << k << " r " << r << " trial " << trial);
                // e erasures (0..r, never more than k) at random positions, using random parity indices.
                const std::size_t e = std::min<std::size_t>(k, rng() % (r + 1));
                std::vector<std::size_t> order(k), pidx(r);
                std::iota(order.begin(), order.end(), 0);
                std::iota(pidx.begin(), pidx.end(), 0);
                std::shuffle(order.begin(), order.end(), rng);
                std::shuffle(pidx.begin(), pidx.end(), rng);
                std::vector<std::byte> work(parity);
                std::vector<symbol> syms(k);
                for (std::size_t i = 0; i < k; ++i)
                    syms[i] = {const_cast<std::byte*>(b.ptrs[i]), static_cast<std::uint8_t>(i)};
                std::vector<std::byte> copy(b.data);
                for (std::size_t j = 0; j < e; ++j)
                    syms[order[j]] = {work.data() + pidx[j] * b.sb, static_cast<std::uint8_t>(k + pidx[j])};
                codec.decode(syms, b.sb, ec);
                REQUIRE_FALSE(ec);
                for (std::size_t j = 0; j < e; ++j) {
                    const symbol& s = syms[order[j]];
                    REQUIRE(s.index == order[j]);
                    REQUIRE(std::equal(s.data, s.data + b.sb, b.data.begin() + static_cast<std::ptrdiff_t>(order[j] * b.sb)));
                }
                REQUIRE(b.data == copy); // the data symbols given were only read
            }
        }
}

TEST_CASE("cm256_codec: parity index j is the same bytes however many are made", "[fec]")
{
    cm256_codec codec;
    std::mt19937_64 rng(6);
    block b(16, 300, rng);
    std::vector<std::byte> all(6 * b.sb), tail(2 * b.sb);
    std::error_code ec;
    codec.encode(b.ptrs, b.sb, 0, all, ec);
    REQUIRE_FALSE(ec);
    codec.encode(b.ptrs, b.sb, 4, tail, ec); // "fresh" indices 4 and 5, as a NACK's answer makes them
    REQUIRE_FALSE(ec);
    REQUIRE(std::equal(tail.begin(), tail.end(), all.begin() + 4 * static_cast<std::ptrdiff_t>(b.sb)));

    // Two erasures rebuilt from parity 1 (proactive) and 5 (fresh).
    std::vector<symbol> syms(16);
    for (std::size_t i = 0; i < 16; ++i)
        syms[i] = {const_cast<std::byte*>(b.ptrs[i]), static_cast<std::uint8_t>(i)};
    syms[3] = {all.data() + 1 * b.sb, 17};
    syms[9] = {all.data() + 5 * b.sb, 21};
    codec.decode(syms, b.sb, ec);
    REQUIRE_FALSE(ec);
    CHECK(std::equal(syms[9].data, syms[9].data + b.sb, b.data.begin() + 9 * static_cast<std::ptrdiff_t>(b.sb)));
}

TEST_CASE("cm256_codec refuses what it cannot do, without touching memory outside the symbols", "[fec]")
{
    cm256_codec codec;
    std::mt19937_64 rng(7);
    block b(8, 64, rng);
    std::error_code ec;
    std::vector<std::byte> out(b.sb);
    codec.encode({}, b.sb, 0, out, ec);
    CHECK(ec == errc::malformed); // no data symbols
    codec.encode(b.ptrs, b.sb, 248, out, ec);
    CHECK(ec == errc::malformed); // 8 + 248 + 1 > 256
    std::vector<std::byte> odd(b.sb + 1);
    codec.encode(b.ptrs, b.sb, 0, odd, ec);
    CHECK(ec == errc::malformed); // not a whole number of symbols
    codec.encode(b.ptrs, b.sb, 0, out, ec);
    REQUIRE_FALSE(ec);

    // More erasures than parity: the caller can give only k - 2 data + 1 parity symbols, which is
    // fewer than k; a duplicate index stands in for the missing one and is refused.
    std::vector<symbol> syms(8);
    for (std::size_t i = 0; i < 8; ++i)
        syms[i] = {const_cast<std::byte*>(b.ptrs[i]), static_cast<std::uint8_t>(i)};
    syms[2] = {out.data(), 8};
    syms[5] = {out.data(), 8};
    codec.decode(syms, b.sb, ec);
    CHECK(ec == errc::malformed);
    syms[5] = {nullptr, 9};
    codec.decode(syms, b.sb, ec);
    CHECK(ec == errc::malformed);
    std::vector<symbol> none;
    codec.decode(none, b.sb, ec);
    CHECK(ec == errc::malformed);
}
#endif
