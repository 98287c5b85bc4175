// SPDX-License-Identifier: BSL-1.0
// basic_nack_fragmenter's unordered delivery (repair_limits::ordered false): a whole message ahead
// of a gap goes on at once, exactly once; fragments still complete in stream order.
#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/wire/repair.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using namespace tlvcast;
using fragment::nack_fragmenter;

namespace {

using msgs = std::vector<std::vector<std::byte>>;

const endpoint src(0x0a000002, 5000), me_at(0x0a000009, 5000);

// A message of one TLV (of a type the table does not know, 0x7f00) with an n-byte value: whole in
// one datagram up to max_whole.
std::vector<std::byte> msg(std::size_t n, std::uint8_t fill)
{
    std::vector<std::byte> m{std::byte{0x7f}, std::byte{0}, static_cast<std::byte>(n >> 8), static_cast<std::byte>(n & 0xff)};
    m.resize(4 + n, std::byte{fill});
    return m;
}

// Fragments of 200 bytes; a message of one TLV up to 200 bytes leaves whole.
fragment::seed_fragmenter inner(std::uint64_t seed) { return fragment::seed_fragmenter(seed, {}, 200, 200); }

fragment::repair_limits unordered()
{
    fragment::repair_limits lim;
    lim.ordered = false;
    return lim;
}

// Datagram i of `out` into `f` as from src; the error it reported.
std::error_code feed(nack_fragmenter& f, const datagram_batch& out, std::size_t i, time_point now)
{
    std::error_code ec;
    const wire::tlv t = wire::read_outer(out[i].bytes, ec);
    REQUIRE_FALSE(ec);
    datagram_batch answers;
    std::vector<std::byte> m;
    f.handle_control(src, t, now, answers, m, ec);
    return ec;
}

std::vector<std::vector<std::byte>> pop_all(nack_fragmenter& f)
{
    std::vector<std::vector<std::byte>> got;
    endpoint from;
    std::vector<std::byte> m;
    while (f.pop_message(from, m)) {
        CHECK(from == src);
        got.push_back(m);
    }
    return got;
}

} // namespace

TEST_CASE("nack unordered: whole messages ahead of a gap are delivered at once, and once", "[fragment][nack][unordered]")
{
    time_point now{};
    nack_fragmenter sender(inner(1), {}, 11);
    nack_fragmenter ordered(inner(2), {}, 12);
    nack_fragmenter fast(inner(3), unordered(), 13);
    datagram_batch out;
    std::error_code ec;
    for (std::uint8_t i = 0; i < 3; ++i)
        sender.split(msg(50, i), me_at, now, out, ec);
    REQUIRE(out.size() == 3);

    // seq 0 is lost; 1 and 2 arrive.
    for (auto* f : {&ordered, &fast}) {
        CHECK_FALSE(feed(*f, out, 1, now));
        CHECK_FALSE(feed(*f, out, 2, now));
    }
    CHECK(pop_all(ordered).empty()); // held behind the gap
    CHECK(pop_all(fast) == msgs{msg(50, 1), msg(50, 2)});
    CHECK(fast.stats().delivered_early == 2);
    CHECK(ordered.stats().delivered_early == 0);

    // A repeat of an early one is a duplicate, not a second delivery.
    CHECK(feed(fast, out, 2, now) == errc::duplicate_fragment);
    CHECK(pop_all(fast).empty());

    // The repair closes the gap: the ordered receiver gets all three in order, the unordered one
    // only the one it lacked.
    for (auto* f : {&ordered, &fast})
        CHECK_FALSE(feed(*f, out, 0, now));
    CHECK(pop_all(ordered) == msgs{msg(50, 0), msg(50, 1), msg(50, 2)});
    CHECK(pop_all(fast) == msgs{msg(50, 0)});
    // The stream moved past all three: any of them again is a duplicate.
    for (std::size_t i = 0; i < 3; ++i)
        CHECK(feed(fast, out, i, now) == errc::duplicate_fragment);
    CHECK(pop_all(fast).empty());
    CHECK(fast.stats().duplicates == 4);
}

TEST_CASE("nack unordered: a message in fragments still completes in stream order", "[fragment][nack][unordered]")
{
    time_point now{};
    nack_fragmenter sender(inner(1), {}, 11);
    nack_fragmenter fast(inner(3), unordered(), 13);
    datagram_batch out;
    std::error_code ec;
    sender.split(msg(50, 1), me_at, now, out, ec);  // seq 0: lost
    sender.split(msg(500, 2), me_at, now, out, ec); // seqs 1..3: FRAGMENTs
    sender.split(msg(50, 3), me_at, now, out, ec);  // seq 4
    REQUIRE(out.size() == 5);
    for (std::size_t i = 1; i < 5; ++i)
        CHECK_FALSE(feed(fast, out, i, now));
    CHECK(pop_all(fast) == msgs{msg(50, 3)}); // only the whole one
    CHECK(fast.stats().delivered_early == 1);
    CHECK_FALSE(feed(fast, out, 0, now));
    CHECK(pop_all(fast) == msgs{msg(50, 1), msg(500, 2)}); // the fragmented one after the gap
}

TEST_CASE("nack unordered: a datagram that could not be held is not delivered early, and later once",
          "[fragment][nack][unordered]")
{
    time_point now{};
    nack_fragmenter sender(inner(1), {}, 11);
    auto lim = unordered();
    lim.held_bytes = 100; // one 50-byte message's datagram fits, two do not
    nack_fragmenter fast(inner(3), lim, 13);
    datagram_batch out;
    std::error_code ec;
    for (std::uint8_t i = 0; i < 3; ++i)
        sender.split(msg(50, i), me_at, now, out, ec);
    REQUIRE(out[1].bytes.size() <= 100);
    REQUIRE(out[1].bytes.size() * 2 > 100);
    CHECK_FALSE(feed(fast, out, 1, now));
    CHECK_FALSE(feed(fast, out, 2, now)); // beyond the held bytes: dropped, asked for again
    CHECK(fast.stats().held_dropped == 1);
    CHECK(pop_all(fast) == msgs{msg(50, 1)});
    CHECK_FALSE(feed(fast, out, 0, now));
    CHECK(pop_all(fast) == msgs{msg(50, 0)});
    CHECK_FALSE(feed(fast, out, 2, now)); // its repair: now in order, delivered once
    CHECK(pop_all(fast) == msgs{msg(50, 2)});
}

TEST_CASE("nack unordered: a gap given up reports the lost seqs only, and delivers nothing again",
          "[fragment][nack][unordered]")
{
    time_point now{};
    nack_fragmenter sender(inner(1), {}, 11);
    nack_fragmenter fast(inner(3), unordered(), 13);
    datagram_batch out;
    std::error_code ec;
    for (std::uint8_t i = 0; i < 4; ++i)
        sender.split(msg(50, i), me_at, now, out, ec);
    // 0 and 2 lost: 1 and 3 go on at once.
    CHECK_FALSE(feed(fast, out, 1, now));
    CHECK_FALSE(feed(fast, out, 3, now));
    CHECK(pop_all(fast) == msgs{msg(50, 1), msg(50, 3)});
    // The source no longer has seqs 0..2: 0 and 2 are lost; 1 was delivered.
    std::vector<std::byte> gone;
    wire::append_repair_gone(gone, *sender.stream_id(me_at), 0, 3);
    datagram_batch answers;
    std::vector<std::byte> m;
    // A GONE gives up the gap at the stream's head: the second gap's comes with the answer to its
    // NACK (the same GONE again).
    for (int i = 0; i < 2; ++i)
        fast.handle_control(src, wire::read_outer(gone, ec), now, answers, m, ec);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> lost;
    fragment::repair_notice n;
    while (fast.pop_notice(n))
        lost.emplace_back(n.first, n.last);
    CHECK(lost == std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0, 0}, {2, 2}});
    CHECK(pop_all(fast).empty());
    CHECK(fast.stats().unrecoverable_datagrams == 2);
    // The stream went past them all.
    for (std::size_t i = 0; i < 4; ++i)
        CHECK(feed(fast, out, i, now) == errc::duplicate_fragment);
    CHECK(pop_all(fast).empty());
}

// Found by the repair simulation (tests/core/repair.cpp, 20% loss with reordering): a REPAIR_TAIL
// sent before a datagram and delayed past it said "nothing from here was sent"; the receiver dropped
// the held datagram, though it had delivered it early, and delivered it a second time when resent.
TEST_CASE("nack unordered: a tail older than a datagram delivered early does not make it come twice",
          "[fragment][nack][unordered]")
{
    time_point now{};
    nack_fragmenter sender(inner(1), {}, 11);
    nack_fragmenter fast(inner(3), unordered(), 13);
    datagram_batch out;
    std::error_code ec;
    for (std::uint8_t i = 0; i < 3; ++i)
        sender.split(msg(50, i), me_at, now, out, ec);
    CHECK_FALSE(feed(fast, out, 2, now));
    CHECK(pop_all(fast) == msgs{msg(50, 2)});
    // The tail the source sent after seq 0 (next 1), delayed past seq 2.
    std::vector<std::byte> tail;
    wire::append_repair_tail(tail, *sender.stream_id(me_at), 1);
    datagram_batch answers;
    std::vector<std::byte> m;
    fast.handle_control(src, wire::read_outer(tail, ec), now, answers, m, ec);
    CHECK(feed(fast, out, 2, now) == errc::duplicate_fragment); // still held: a repeat
    for (std::size_t i = 0; i < 2; ++i)
        CHECK_FALSE(feed(fast, out, i, now));
    CHECK(pop_all(fast) == msgs{msg(50, 0), msg(50, 1)});
    CHECK(feed(fast, out, 2, now) == errc::duplicate_fragment);
    CHECK(pop_all(fast).empty());
}
