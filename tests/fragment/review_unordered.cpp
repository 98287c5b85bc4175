// SPDX-License-Identifier: BSL-1.0
// Adversarial review of unordered delivery (repair_limits::ordered false, commit 45e96b4).
// Datagrams are crafted directly: REPAIR_DATA around one whole message (TLV 0x7f00), marks by
// wire::append_repair_*. A group stream's id has the top bit set; bare = from without a port.
// Tests tagged [!shouldfail] are open findings: they assert the claimed guarantee and fail today.
// All are fixed: a bare datagram is never delivered early (1a, 1b); an evicted stream resumes where
// it was (2); a START that would drop an early datagram is not taken (3).
#include "repair_wire.hpp"

#include <tlvcast/fragment/nack_fragmenter.hpp>
#if defined(TLVCAST_HAS_FEC)
#include <tlvcast/fragment/fec/cm256_codec.hpp>
#endif
#include <tlvcast/wire/repair.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

using namespace tlvcast;
using fragment::nack_fragmenter;
using test::control;

namespace {

const endpoint src(0x0a000002, 5000), other(0x0a000003, 5000);
constexpr std::uint32_t group_id = 0x80000011u, unicast_id = 0x00000011u;

// One whole message: TLV 0x7f00 with 20 bytes of `fill`.
std::vector<std::byte> msg(std::uint8_t fill)
{
    std::vector<std::byte> m{std::byte{0x7f}, std::byte{0}, std::byte{0}, std::byte{20}};
    m.resize(24, std::byte{fill});
    return m;
}

fragment::seed_fragmenter inner(std::uint64_t seed) { return fragment::seed_fragmenter(seed, {}, 200, 200); }

fragment::repair_limits limits(bool ordered)
{
    fragment::repair_limits lim;
    lim.ordered = ordered;
    return lim;
}

std::vector<std::byte> data(std::uint32_t stream, std::uint32_t seq, std::uint8_t fill)
{
    std::vector<std::byte> out;
    std::error_code ec;
    wire::append_repair_data(out, stream, seq, msg(fill), ec);
    REQUIRE_FALSE(ec);
    return out;
}

std::vector<std::byte> tail(std::uint32_t stream, std::uint32_t next)
{
    std::vector<std::byte> out;
    wire::append_repair_tail(out, stream, next);
    return out;
}

std::vector<std::byte> start(std::uint32_t stream, std::uint32_t next)
{
    std::vector<std::byte> out;
    wire::append_repair_start(out, stream, next);
    return out;
}

std::vector<std::byte> gone(std::uint32_t stream, std::uint32_t first, std::uint32_t count)
{
    std::vector<std::byte> out;
    wire::append_repair_gone(out, stream, first, count);
    return out;
}

// Fill byte of each message popped, counted.
struct popped {
    std::map<std::uint8_t, int> times;
    std::vector<std::uint8_t> order;
};

void pop_into(nack_fragmenter& f, popped& p)
{
    endpoint from;
    std::vector<std::byte> m;
    while (f.pop_message(from, m)) {
        REQUIRE(m.size() == 24);
        const auto fill = static_cast<std::uint8_t>(m[4]);
        ++p.times[fill];
        p.order.push_back(fill);
    }
}

template <class F>
std::vector<std::pair<std::uint64_t, std::uint64_t>> notices(F& f)
{
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    fragment::repair_notice n;
    while (f.pop_notice(n))
        out.emplace_back(n.first, n.last);
    return out;
}

// Runs timers until `until` (NACKs and give_up), answering nothing.
void run_timers(nack_fragmenter& f, time_point from, time_point until)
{
    for (time_point t = from; t <= until; t += std::chrono::milliseconds(10))
        if (f.next_timer() <= t) {
            datagram_batch out;
            f.on_timer(t, out);
        }
}

} // namespace

TEST_CASE("review unordered: a GONE past an early seq neither reports nor redelivers it", "[fragment][unordered][review-unordered]")
{
    time_point now{};
    nack_fragmenter f(inner(3), limits(false), 13);
    popped p;
    CHECK_FALSE(control(f, src, data(unicast_id, 2, 2), now));
    CHECK_FALSE(control(f, src, data(unicast_id, 5, 5), now));
    pop_into(f, p);
    CHECK(p.order == std::vector<std::uint8_t>{2, 5});
    // The source released 0..9 (6..9 never sent as far as we know): repeated, as answers to NACKs.
    for (int i = 0; i < 4; ++i)
        control(f, src, gone(unicast_id, 0, 10), now);
    pop_into(f, p);
    CHECK(p.order == std::vector<std::uint8_t>{2, 5});
    const auto lost = notices(f);
    for (const auto& [a, b] : lost)
        for (std::uint64_t s = a; s <= b; ++s)
            CHECK((s != 2 && s != 5));
    for (std::uint32_t s : {2u, 5u})
        CHECK(control(f, src, data(unicast_id, s, static_cast<std::uint8_t>(s)), now) == errc::duplicate_fragment);
    pop_into(f, p);
    CHECK(p.times[2] == 1);
    CHECK(p.times[5] == 1);
}

TEST_CASE("review unordered: bare tails and GONEs cannot drop an early seq of a group stream", "[fragment][unordered][review-unordered]")
{
    time_point now{};
    nack_fragmenter f(inner(3), limits(false), 13);
    popped p;
    CHECK_FALSE(control(f, src, data(group_id, 0, 0), now));
    CHECK_FALSE(control(f, src, data(group_id, 3, 3), now));
    control(f, src.without_port(), tail(group_id, 1), now);     // only raises what is asked for
    control(f, src.without_port(), gone(group_id, 1, 5), now);  // refused
    for (std::uint8_t s = 1; s <= 3; ++s)
        control(f, src, data(group_id, s, s), now);
    pop_into(f, p);
    CHECK(p.order == std::vector<std::uint8_t>{0, 3, 1, 2});
    CHECK(notices(f).empty());
}

TEST_CASE("review unordered: a gap given up by timeout skips the early seqs and delivers the rest once",
          "[fragment][unordered][review-unordered]")
{
    time_point now{};
    nack_fragmenter f(inner(3), limits(false), 13);
    popped p;
    CHECK_FALSE(control(f, src, data(unicast_id, 0, 0), now));
    CHECK_FALSE(control(f, src, data(unicast_id, 2, 2), now));
    CHECK_FALSE(control(f, src, data(unicast_id, 4, 4), now));
    run_timers(f, now, now + std::chrono::seconds(30));
    CHECK(notices(f) == std::vector<std::pair<std::uint64_t, std::uint64_t>>{{1, 1}, {3, 3}});
    for (std::uint8_t s = 0; s < 5; ++s)
        CHECK(control(f, src, data(unicast_id, s, s), now + std::chrono::seconds(31)) == errc::duplicate_fragment);
    pop_into(f, p);
    CHECK(p.order == std::vector<std::uint8_t>{0, 2, 4});
}

TEST_CASE("review unordered: REPAIR_START past early seqs makes their repeats duplicates", "[fragment][unordered][review-unordered]")
{
    time_point now{};
    nack_fragmenter f(inner(3), limits(false), 13);
    popped p;
    CHECK_FALSE(control(f, src, data(group_id, 3, 3), now)); // backfill: read from 0
    CHECK_FALSE(control(f, src, data(group_id, 6, 6), now));
    CHECK_FALSE(control(f, src, start(group_id, 5), now)); // drops 3 (held, early), keeps 6
    for (std::uint8_t s = 0; s < 8; ++s)
        control(f, src, data(group_id, s, s), now);
    pop_into(f, p);
    CHECK(p.order == std::vector<std::uint8_t>{3, 6, 5, 7});
    CHECK(notices(f).empty());
}

TEST_CASE("review unordered: early datagrams stay within held_bytes; what was dropped comes once later",
          "[fragment][unordered][review-unordered]")
{
    time_point now{};
    auto lim = limits(false);
    lim.held_bytes = 100; // 24-byte datagrams: four held
    nack_fragmenter f(inner(3), lim, 13);
    popped p;
    for (std::uint8_t s = 1; s < 50; ++s)
        control(f, src, data(group_id, s, s), now);
    pop_into(f, p);
    CHECK(p.order.size() == 4);
    CHECK(f.stats().held_dropped == 45);
    for (std::uint8_t s = 0; s < 50; ++s)
        control(f, src, data(group_id, s, s), now);
    pop_into(f, p);
    CHECK(p.order.size() == 50);
    for (std::uint8_t s = 0; s < 50; ++s)
        CHECK(p.times[s] == 1);
}

TEST_CASE("review unordered: ordered mode still lets an authenticated tail drop a held spoof", "[fragment][unordered][review-unordered]")
{
    time_point now{};
    nack_fragmenter f(inner(3), limits(true), 13);
    popped p;
    CHECK_FALSE(control(f, src, data(group_id, 0, 0), now));
    CHECK_FALSE(control(f, src.without_port(), data(group_id, 10, 0xee), now)); // spoof, held
    control(f, src, tail(group_id, 1), now);                                     // drops it
    for (std::uint8_t s = 1; s <= 10; ++s)
        CHECK_FALSE(control(f, src, data(group_id, s, s), now));
    pop_into(f, p);
    CHECK(p.times[0xee] == 0);
    for (std::uint8_t s = 0; s <= 10; ++s)
        CHECK(p.times[s] == 1);
    CHECK(notices(f).empty());
}

// FINDING 1a, fixed. Same datagrams as the test above, unordered: the bare spoof at 10 was delivered
// early and its mark kept the authenticated tail from dropping it (end = max(1, 11)); the real seq
// 10 was then a duplicate: lost with no notice. Bare datagrams are now held, never early.
TEST_CASE("review unordered: a bare spoof ahead pins the tail; the real datagram at its seq is lost silently",
          "[fragment][unordered][review-unordered]")
{
    time_point now{};
    nack_fragmenter f(inner(3), limits(false), 13);
    popped p;
    CHECK_FALSE(control(f, src, data(group_id, 0, 0), now));
    CHECK_FALSE(control(f, src.without_port(), data(group_id, 10, 0xee), now));
    control(f, src, tail(group_id, 1), now);
    std::error_code last;
    for (std::uint8_t s = 1; s <= 10; ++s)
        last = control(f, src, data(group_id, s, s), now);
    CHECK_FALSE(last); // the tail dropped the spoof: the real 10 is taken
    pop_into(f, p);
    const bool lost_without_notice = p.times[10] == 0 && notices(f).empty();
    CHECK_FALSE(lost_without_notice);
    CHECK(p.times[0xee] == 0);
}

// FINDING 1b, fixed. Same spoof while the source is idle at 1: the tail could not close [1, 11), so
// the receiver NACKed seqs never sent and, at gap_timeout, reported them lost.
TEST_CASE("review unordered: a bare spoof ahead makes an idle source's unsent seqs reported lost",
          "[fragment][unordered][review-unordered]")
{
  for (const bool ordered : {true, false}) {
    CAPTURE(ordered);
    time_point now{};
    nack_fragmenter f(inner(3), limits(ordered), 13);
    CHECK_FALSE(control(f, src, data(group_id, 0, 0), now));
    CHECK_FALSE(control(f, src.without_port(), data(group_id, 10, 0xee), now));
    for (int i = 0; i < 20; ++i) { // the idle source's tails, every second
        const time_point t = now + std::chrono::seconds(i);
        control(f, src, tail(group_id, 1), t);
        run_timers(f, t, t + std::chrono::milliseconds(990));
    }
    CHECK(f.stats().nacks_sent == 0);
    CHECK(notices(f).empty());
  }
}

// FINDING 2, fixed. Stream eviction forgot the early marks (as it forgot `next`: in ordered mode a
// delayed copy of a datagram delivered before the eviction was delivered again too). An evicted
// stream's place is now remembered (bounded) and taken up again when it is heard again. Ordered: 302 is held, evicted undelivered,
// later delivered once. Unordered: 302 delivered early, evicted, NACKed by the new stream, delivered
// again.
TEST_CASE("review unordered: a stream evicted after an early delivery delivers it again",
          "[fragment][unordered][review-unordered]")
{
    for (const bool ordered : {true, false}) {
        CAPTURE(ordered);
        time_point now{};
        auto lim = limits(ordered);
        lim.max_streams = 1;
        nack_fragmenter f(inner(3), lim, 13);
        popped p;
        CHECK_FALSE(control(f, src, data(unicast_id, 300, 0), now));   // past backfill: read from 300
        CHECK_FALSE(control(f, src, data(unicast_id, 302, 2), now));   // ahead of the gap at 301
        CHECK_FALSE(control(f, other, data(unicast_id, 0, 0x55), now)); // another source's stream: src's evicted
        CHECK(f.stats().streams_evicted == 1);
        CHECK_FALSE(control(f, src, data(unicast_id, 301, 1), now));   // repair of 301: a new stream from 301
        CHECK_FALSE(control(f, src, data(unicast_id, 303, 3), now));   // gap at 302: NACKed
        control(f, src, data(unicast_id, 302, 2), now);                 // its repair
        pop_into(f, p);
        for (std::uint8_t s = 0; s <= 3; ++s)
            CHECK(p.times[s] == 1);
    }
}

// FINDING 2, attacker's way: bare datagrams of new group streams from spoofed addresses (no port
// needed) push the victim stream out of max_streams (least recently heard goes).
TEST_CASE("review unordered: bare datagrams from spoofed addresses evict a stream; its early seq comes twice",
          "[fragment][unordered][review-unordered]")
{
    for (const bool ordered : {true, false}) {
        CAPTURE(ordered);
        time_point now{};
        auto lim = limits(ordered);
        lim.max_streams = 8;
        nack_fragmenter f(inner(3), lim, 13);
        popped p;
        CHECK_FALSE(control(f, src, data(group_id, 300, 0), now));
        CHECK_FALSE(control(f, src, data(group_id, 302, 2), now));
        for (std::uint32_t i = 0; i < 8; ++i)
            control(f, endpoint(0x0b000000 + i, 0), data(group_id, 0, 0x55), now + std::chrono::milliseconds(1));
        CHECK(f.stats().streams_evicted >= 1);
        CHECK_FALSE(control(f, src, data(group_id, 301, 1), now + std::chrono::milliseconds(2)));
        CHECK_FALSE(control(f, src, data(group_id, 303, 3), now + std::chrono::milliseconds(2)));
        control(f, src, data(group_id, 302, 2), now + std::chrono::milliseconds(3));
        pop_into(f, p);
        for (std::uint8_t s = 0; s <= 3; ++s)
            CHECK(p.times[s] == 1);
    }
}

TEST_CASE("review unordered: early datagrams of many streams stay within total_held_bytes", "[fragment][unordered][review-unordered]")
{
    time_point now{};
    auto lim = limits(false);
    lim.total_held_bytes = 100; // four 24-byte datagrams in all
    nack_fragmenter f(inner(3), lim, 13);
    popped p;
    for (std::uint32_t st = 0; st < 4; ++st)
        for (std::uint8_t s = 1; s < 4; ++s)
            control(f, src, data(group_id + st, s, static_cast<std::uint8_t>(st * 16 + s)), now);
    pop_into(f, p);
    CHECK(p.order.size() == 4);
    CHECK(f.stats().held_dropped == 8);
}

// FINDING 3, fixed. REPAIR_START below `next` by more than `window` dropped held datagrams past
// start + window with their early marks; resent later, they came twice. Ordered: once. (A bare 310
// is no longer early; the authenticated case is the next test.)
TEST_CASE("review unordered: a late REPAIR_START far below the stream's start drops an early mark",
          "[fragment][unordered][review-unordered]")
{
    for (const bool ordered : {true, false}) {
        CAPTURE(ordered);
        time_point now{};
        auto lim = limits(ordered);
        lim.window = 16;
        nack_fragmenter f(inner(3), lim, 13);
        popped p;
        control(f, src, tail(group_id, 300), now);                              // starts the stream at 300
        CHECK_FALSE(control(f, src.without_port(), data(group_id, 310, 10), now)); // held (early if unordered)
        CHECK_FALSE(control(f, src, start(group_id, 290), now));                // delayed START: window ends at 306
        for (std::uint32_t s = 290; s <= 310; ++s)
            control(f, src, data(group_id, s, static_cast<std::uint8_t>(s - 300)), now);
        pop_into(f, p);
        CHECK(p.order.size() == 21);
        CHECK(p.times[10] == 1);
    }
}

// Finding 1's fix: a bare datagram (a group's stream without its source's records) is held in
// order, never delivered early.
TEST_CASE("review unordered: a bare datagram ahead of a gap waits for it", "[fragment][unordered][review-unordered]")
{
    time_point now{};
    nack_fragmenter f(inner(3), limits(false), 13);
    popped p;
    CHECK_FALSE(control(f, src, data(group_id, 0, 0), now));
    CHECK_FALSE(control(f, src.without_port(), data(group_id, 2, 2), now));
    pop_into(f, p);
    CHECK(p.order == std::vector<std::uint8_t>{0});
    CHECK(f.stats().delivered_early == 0);
    CHECK_FALSE(control(f, src, data(group_id, 1, 1), now));
    pop_into(f, p);
    CHECK(p.order == std::vector<std::uint8_t>{0, 1, 2});
}

// Finding 3's fix: an authenticated 310, delivered early, makes a START that would drop it (beyond
// its window) be ignored: nothing comes twice, and the stream goes on from 300.
TEST_CASE("review unordered: a START that would drop an early datagram is not taken", "[fragment][unordered][review-unordered]")
{
    time_point now{};
    auto lim = limits(false);
    lim.window = 16;
    nack_fragmenter f(inner(3), lim, 13);
    popped p;
    control(f, src, tail(group_id, 300), now);
    CHECK_FALSE(control(f, src, data(group_id, 310, 10), now)); // early
    pop_into(f, p);
    CHECK(p.times[10] == 1);
    CHECK_FALSE(control(f, src, start(group_id, 290), now));
    for (std::uint32_t s = 290; s <= 310; ++s)
        control(f, src, data(group_id, s, static_cast<std::uint8_t>(s - 300)), now);
    pop_into(f, p);
    CHECK(p.times[10] == 1);
    for (std::uint8_t s = 0; s <= 9; ++s)
        CHECK(p.times[s] == 1);
    CHECK(p.order.size() == 11);
}

#if defined(TLVCAST_HAS_FEC)
// A seq rebuilt from parity goes through on_data(): the early ones around it come once.
TEST_CASE("review unordered: FEC rebuilds a lost seq between early ones; each comes once", "[fragment][unordered][review-unordered]")
{
    using fec_fragmenter = fragment::basic_nack_fragmenter<fragment::seed_fragmenter, fragment::fec::cm256_codec>;
    time_point now{};
    auto lim = limits(false);
    lim.fec_k = 4;
    lim.fec_r = 1;
    const endpoint me(0x0a000009, 5000);
    fec_fragmenter sender(inner(1), lim, 11);
    fec_fragmenter f(inner(3), lim, 13);
    datagram_batch out;
    std::error_code ec;
    for (std::uint8_t i = 0; i < 4; ++i)
        sender.split(msg(i), me, now, out, ec);
    std::vector<std::vector<std::byte>> wire_out;
    for (std::size_t i = 0; i < out.size(); ++i)
        wire_out.emplace_back(out[i].bytes.begin(), out[i].bytes.end());
    REQUIRE(wire_out.size() == 5); // 4 data, 1 parity
    std::map<std::uint8_t, int> times;
    const auto pop = [&] {
        endpoint from;
        std::vector<std::byte> m;
        while (f.pop_message(from, m))
            ++times[static_cast<std::uint8_t>(m[4])];
    };
    const auto feed = [&](const std::vector<std::byte>& b) {
        datagram_batch answers;
        std::vector<std::byte> m;
        std::error_code e;
        f.handle_control(src, wire::read_outer(b, e), now, answers, m, e);
    };
    for (std::size_t i = 0; i < 5; ++i)
        if (i != 1)
            feed(wire_out[i]); // seq 1 lost; 2, 3 early; parity rebuilds 1
    pop();
    CHECK(f.stats().fec_recovered == 1);
    for (const auto& b : wire_out) // every datagram again
        feed(b);
    pop();
    for (std::uint8_t i = 0; i < 4; ++i)
        CHECK(times[i] == 1);
    CHECK(notices(f).empty());
}
#endif
