// SPDX-License-Identifier: BSL-1.0
// basic_nack_fragmenter's receiving side (impl/nack_receive.hpp): a source with two streams (a
// process restarted at the same address opens a new one while the old is still heard).
#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/wire/repair.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using namespace tlvcast;
using fragment::nack_fragmenter;

namespace {

const endpoint recv_source(0x0a000002, 5000), recv_me(0x0a000009, 5000);

std::vector<std::byte> recv_message(std::size_t n, std::uint8_t fill)
{
    return std::vector<std::byte>(n, std::byte{fill});
}

// One datagram of `out` into `f` as from recv_source.
void recv_feed(nack_fragmenter& f, const datagram_batch& out, std::size_t i, time_point now)
{
    std::error_code ec;
    const wire::tlv t = wire::read_outer(out[i].bytes, ec);
    REQUIRE_FALSE(ec);
    datagram_batch answers;
    std::vector<std::byte> m;
    f.handle_control(recv_source, t, now, answers, m, ec);
    REQUIRE_FALSE(ec);
}

} // namespace

// Found by the repair simulation with a member that rejoins (tests/core/repair.cpp, seed 160): the
// relay gave up the gap its first run left (GONE from the new run, which has no such stream), and
// with it the message the new run's stream was in the middle of: it never completed, unsaid.
TEST_CASE("nack receive: a gap given up in one stream of a source keeps the message another is reassembling",
          "[fragment][nack]")
{
    time_point now{};
    nack_fragmenter old_run(fragment::seed_fragmenter(1, {}, 200), {}, 11);
    nack_fragmenter new_run(fragment::seed_fragmenter(2, {}, 200), {}, 12);
    nack_fragmenter me(fragment::seed_fragmenter(3, {}, 200), {}, 13);
    std::error_code ec;

    // The first run's stream: seq 0 lost, seq 1 heard (a gap at 0).
    datagram_batch old_out;
    old_run.split(recv_message(50, 1), recv_me, now, old_out, ec);
    old_run.split(recv_message(50, 2), recv_me, now, old_out, ec);
    REQUIRE(old_out.size() == 2);
    recv_feed(me, old_out, 1, now);

    // The new run's stream: the first two of a message's three datagrams.
    datagram_batch new_out;
    const auto text = recv_message(500, 3);
    new_run.split(text, recv_me, now, new_out, ec);
    REQUIRE(new_out.size() == 3);
    recv_feed(me, new_out, 0, now);
    recv_feed(me, new_out, 1, now);

    // The source no longer has the first run's stream: that gap is lost, said.
    std::vector<std::byte> gone;
    wire::append_repair_gone(gone, *old_run.stream_id(recv_me), 0, 0xffffffffu);
    datagram_batch answers;
    std::vector<std::byte> m;
    me.handle_control(recv_source, wire::read_outer(gone, ec), now, answers, m, ec);
    fragment::repair_notice n;
    REQUIRE(me.pop_notice(n));
    CHECK(n.first == 0);
    CHECK(n.last == 0);

    // The new run's message completes all the same.
    recv_feed(me, new_out, 2, now);
    endpoint from;
    std::vector<std::byte> got;
    REQUIRE(me.pop_message(from, got)); // the first run's seq 1, released by the gap given up
    CHECK(got == recv_message(50, 2));
    REQUIRE(me.pop_message(from, got));
    CHECK(from == recv_source);
    CHECK(got == text);
}

// Found with the review of unordered delivery: a stream evicted for room (max_streams) was started
// afresh by whatever of it came next: past backfill, from there, its gap skipped in silence (and
// what it held lost with it). It now resumes where it was.
TEST_CASE("nack receive: an evicted stream heard again resumes where it was, its gap still repaired",
          "[fragment][nack]")
{
    time_point now{};
    fragment::repair_limits lim;
    lim.max_streams = 1;
    nack_fragmenter source(fragment::seed_fragmenter(1, {}, 200), {}, 11);
    nack_fragmenter me(fragment::seed_fragmenter(3, {}, 200), lim, 13);
    datagram_batch out;
    std::error_code ec;
    for (std::uint8_t i = 0; i < 4; ++i)
        source.split(recv_message(50, i), recv_me, now, out, ec);
    recv_feed(me, out, 0, now); // 0 delivered; 1 lost; 2 held
    recv_feed(me, out, 2, now);
    // Another source's stream takes the only place.
    std::vector<std::byte> other;
    wire::append_repair_data(other, 0x1234, 0, wire::read_outer(out[0].bytes, ec).value.subspan(8), ec);
    datagram_batch answers;
    std::vector<std::byte> m;
    me.handle_control(endpoint(0x0a000003, 5000), wire::read_outer(other, ec), now, answers, m, ec);
    CHECK(me.stats().streams_evicted == 1);
    endpoint from;
    std::vector<std::byte> got;
    std::vector<std::vector<std::byte>> in_order;
    while (me.pop_message(from, got))
        if (from == recv_source)
            in_order.push_back(got);
    // Heard again at 3: it waits for 1 and 2, as before the eviction.
    recv_feed(me, out, 3, now);
    CHECK(me.stats().streams_resumed == 1);
    while (me.pop_message(from, got))
        in_order.push_back(got);
    CHECK(in_order.size() == 1);
    recv_feed(me, out, 1, now);
    recv_feed(me, out, 2, now);
    while (me.pop_message(from, got))
        in_order.push_back(got);
    REQUIRE(in_order.size() == 4);
    for (std::uint8_t i = 0; i < 4; ++i)
        CHECK(in_order[i] == recv_message(50, i));
    fragment::repair_notice n;
    CHECK_FALSE(me.pop_notice(n));
}
