// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/fragment/detail/slot_ring.hpp: FIFO order, reused buffers, bounded spares.
#include <tlvcast/fragment/detail/slot_ring.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

struct slot {
    std::uint32_t seq = 0;
    std::vector<std::byte> datagram;
};
using ring = tlvcast::fragment::detail::slot_ring<slot>;

void push(ring& r, std::uint32_t seq, std::size_t bytes)
{
    slot& s = r.push_back();
    s.seq = seq;
    s.datagram.assign(bytes, std::byte{0x5a});
}

} // namespace

TEST_CASE("slot_ring: first in, first out, across growth and wrap-around", "[slot_ring]")
{
    ring r;
    std::uint32_t next_in = 0, next_out = 0;
    for (int round = 0; round < 50; ++round) {
        for (int i = 0; i < 7 + round % 13; ++i)
            push(r, next_in++, 100);
        for (int i = 0; i < 5 && !r.empty(); ++i) {
            REQUIRE(r.front().seq == next_out++);
            r.pop_front();
        }
        REQUIRE(r.size() == next_in - next_out);
        for (std::size_t i = 0; i < r.size(); ++i)
            REQUIRE(r[i].seq == next_out + i);
    }
}

TEST_CASE("slot_ring: popped slots' buffers are reused once the ring wraps around", "[slot_ring]")
{
    ring r;
    std::vector<const std::byte*> storage;
    for (std::uint32_t i = 0; i < 16; ++i) { // one message in flight at a time: the ring stays at 16 slots
        push(r, i, 1000);
        storage.push_back(r.front().datagram.data());
        r.pop_front();
    }
    for (std::uint32_t i = 0; i < 16; ++i) {
        slot& s = r.push_back();
        CHECK(s.datagram.empty());
        CHECK(s.datagram.capacity() >= 1000);
        s.datagram.assign(900, std::byte{1});
        CHECK(s.datagram.data() == storage[i]);
        r.pop_front();
    }
}

TEST_CASE("slot_ring: free slots keep at most max_spare_bytes of buffers", "[slot_ring]")
{
    ring r;
    constexpr std::size_t big = 16 * 1024, n = 12; // 192 KiB live, three times the spare bound
    for (std::uint32_t i = 0; i < n; ++i)
        push(r, i, big);
    std::size_t kept = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
        const std::size_t cap = r.front().datagram.capacity();
        r.pop_front();
        kept += cap; // what would be kept without the bound
    }
    CHECK(kept == n * big);
    std::size_t spare = 0;
    for (std::uint32_t i = 0; i < n; ++i) // every free slot is pushed again (fresh ones first, in ring order)
        spare += r.push_back().datagram.capacity();
    CHECK(spare <= ring::max_spare_bytes);
    CHECK(spare >= ring::max_spare_bytes - big); // and up to it
}

TEST_CASE("slot_ring: pop_back takes back the last push", "[slot_ring]")
{
    ring r;
    push(r, 1, 10);
    push(r, 2, 10);
    r.pop_back();
    REQUIRE(r.size() == 1);
    CHECK(r.front().seq == 1);
    push(r, 3, 10);
    CHECK(r[1].seq == 3);
}
