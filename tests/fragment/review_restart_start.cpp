// SPDX-License-Identifier: BSL-1.0
// Adversarial review of b75e9ee: a unicast destination asking below what its address acknowledged
// (a process restarted in place) gets REPAIR_START at its ACK (`ack_heard`), not REPAIR_GONE; a
// receiver takes a unicast START from its source's records, for a stream it reads, forward only,
// once. Harness as tests/fragment/nack_restart.cpp: real source/receiver nack_fragmenters, what
// one sends carried into the other. The three findings at the end were [!shouldfail]; all are
// fixed (a START at the message's first datagram, every forward START taken, evicted streams resumed).
#include "repair_wire.hpp"

#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/wire/repair.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

using namespace tlvcast;
using fragment::nack_fragmenter;
using test::carry;
using test::control;
using test::run_timers;
using namespace std::chrono_literals;

namespace {

using msgs = std::vector<std::vector<std::byte>>;

const endpoint src(0x0a000002, 5000), src2(0x0a000003, 5000), dst(0x0a000009, 5000), other(0x0a000010, 5000);
const endpoint group(0xe0000001u, 5000);

std::vector<std::byte> msg(std::uint8_t i, std::size_t n = 40) { return std::vector<std::byte>(n, std::byte{i}); }

nack_fragmenter make(std::uint64_t seed, const fragment::repair_limits& lim = {})
{
    return nack_fragmenter{fragment::seed_fragmenter(seed, {}, 200), lim, seed + 10};
}

wire::tlv_type type_of(const datagram_batch& out, std::size_t i)
{
    std::error_code ec;
    return wire::read_outer(out[i].bytes, ec).type();
}

std::size_t count_type(const datagram_batch& out, wire::tlv_type type)
{
    std::size_t n = 0;
    for (std::size_t i = 0; i < out.size(); ++i)
        n += type_of(out, i) == type;
    return n;
}

std::vector<std::byte> ack(std::uint32_t stream, std::uint32_t value)
{
    std::vector<std::byte> b;
    wire::append_repair_ack(b, stream, value);
    return b;
}
std::vector<std::byte> start(std::uint32_t stream, std::uint32_t value)
{
    std::vector<std::byte> b;
    wire::append_repair_start(b, stream, value);
    return b;
}
std::vector<std::byte> tail(std::uint32_t stream, std::uint32_t value)
{
    std::vector<std::byte> b;
    wire::append_repair_tail(b, stream, value);
    return b;
}
std::vector<std::byte> nack(std::uint32_t stream, std::uint32_t first, std::uint16_t count)
{
    std::vector<std::byte> b;
    std::vector<wire::repair_range> r{{first, count}};
    std::error_code ec;
    wire::append_repair_nack(b, stream, r, ec);
    REQUIRE_FALSE(ec);
    return b;
}

// f's timers up to `until`, what they send collected into `out` (carried nowhere).
void collect_timers(nack_fragmenter& f, time_point& now, time_point until, datagram_batch& out)
{
    for (int i = 0; i < 100 && f.next_timer() <= until; ++i) {
        now = std::max(now, f.next_timer());
        f.on_timer(now, out);
    }
}

// The receiver's NACKs to the source and the source's answers back, for `span`.
void repair(nack_fragmenter& source, nack_fragmenter& receiver, time_point& now, std::chrono::milliseconds span,
            const endpoint& source_ep = src)
{
    const time_point until = now + span;
    for (int i = 0; i < 1000 && receiver.next_timer() <= until; ++i) {
        now = std::max(now, receiver.next_timer());
        datagram_batch nacks, answers;
        receiver.on_timer(now, nacks);
        carry(nacks, dst, source_ep, source, now, answers);
        datagram_batch ignored;
        carry(answers, source_ep, dst, receiver, now, ignored);
    }
}

msgs pop_from(nack_fragmenter& f, const endpoint& source = src)
{
    msgs got;
    endpoint from;
    std::vector<std::byte> m;
    while (f.pop_message(from, m))
        if (from == source)
            got.push_back(m);
    return got;
}

std::size_t notices(nack_fragmenter& f)
{
    std::size_t n = 0;
    fragment::repair_notice no;
    while (f.pop_notice(no))
        ++n;
    return n;
}

// As nack_restart.cpp's: the source sent 3 messages to dst, delivered by its first run (and
// acknowledged: ack_heard 3, when `acknowledged`); the process at dst restarts and hears seq 3.
struct rig {
    time_point now{};
    nack_fragmenter source = make(1);
    nack_fragmenter first_run = make(2);
    nack_fragmenter second_run = make(3);
    std::uint32_t id = 0;

    explicit rig(bool acknowledged, bool hear_seq3 = true)
    {
        std::error_code ec;
        datagram_batch sent;
        for (std::uint8_t i = 0; i < 3; ++i)
            source.split(msg(i), dst, now, sent, ec);
        REQUIRE(sent.size() == 3);
        id = *source.stream_id(dst);
        datagram_batch acks;
        carry(sent, src, dst, first_run, now, acks);
        REQUIRE(pop_from(first_run).size() == 3);
        if (acknowledged)
            run_timers(first_run, dst, source, src, now, now + 50ms);
        sent.clear();
        source.split(msg(3), dst, now, sent, ec);
        datagram_batch ignored;
        if (hear_seq3)
            carry(sent, src, dst, second_run, now, ignored);
    }
};

} // namespace

// ---------------------------------------------------------------------------------------------
// Sender: who can draw a START, and what moves ack_heard.

TEST_CASE("review restart: a NACK below the ACK from anyone but the destination draws no START",
          "[fragment][review-restart]")
{
    rig r(true);
    const auto before = r.source.stats();
    datagram_batch out;
    // Another authenticated peer (its own records) asking for dst's stream: not its stream.
    CHECK(control(r.source, other, nack(r.id, 0, 3), r.now, out) == errc::not_registered);
    // dst's address without a port (a bare, spoofable datagram): refused.
    CHECK(control(r.source, dst.without_port(), nack(r.id, 0, 3), r.now, out) == errc::not_registered);
    CHECK(out.size() == 0); // nothing to anyone (the id is known: no "stream I do not have" GONE)
    CHECK(r.source.stats().starts_after_ack == before.starts_after_ack);
    CHECK(r.source.stats().nacks_refused == before.nacks_refused + 2);
    // dst itself: the START, to dst alone.
    CHECK_FALSE(control(r.source, dst, nack(r.id, 0, 3), r.now, out));
    REQUIRE(count_type(out, wire::tlv_type::repair_start) == 1);
    for (std::size_t i = 0; i < out.size(); ++i)
        CHECK(out[i].to == dst);
    CHECK(r.source.stats().starts_after_ack == before.starts_after_ack + 1);
}

TEST_CASE("review restart: ACKs from others, bare ACKs and ACKs beyond the stream do not move where a START points",
          "[fragment][review-restart]")
{
    rig r(false); // seqs 0..2 unacknowledged, the stream's next is 4
    datagram_batch out;
    CHECK(control(r.source, other, ack(r.id, 3), r.now, out) == errc::not_registered);
    CHECK(control(r.source, dst.without_port(), ack(r.id, 3), r.now, out) == errc::not_registered);
    // The destination itself, past what was sent (a value from another stream's life, or forged
    // by the destination): taken for nothing.
    CHECK_FALSE(control(r.source, dst, ack(r.id, 100), r.now, out));
    CHECK_FALSE(control(r.source, dst, ack(r.id, 0xffffffffu), r.now, out));
    repair(r.source, r.second_run, r.now, 200ms);
    CHECK(r.source.stats().starts_after_ack == 0);
    CHECK(r.source.stats().repairs_sent == 3);
    CHECK(pop_from(r.second_run) == msgs{msg(0), msg(1), msg(2), msg(3)});
    CHECK(notices(r.second_run) == 0);
}

TEST_CASE("review restart: a reordered or duplicated ACK never lowers where a START points",
          "[fragment][review-restart]")
{
    rig r(true); // ACK 3 heard
    datagram_batch out;
    CHECK_FALSE(control(r.source, dst, ack(r.id, 1), r.now, out)); // an older ACK, late
    CHECK_FALSE(control(r.source, dst, ack(r.id, 3), r.now, out)); // a duplicate
    CHECK_FALSE(control(r.source, dst, ack(r.id, 2), r.now, out));
    repair(r.source, r.second_run, r.now, 200ms);
    CHECK(r.source.stats().starts_after_ack >= 1);
    CHECK(r.source.stats().repairs_sent == 0);
    CHECK(pop_from(r.second_run) == msgs{msg(3)}); // nothing of the first run's again
    CHECK(notices(r.second_run) == 0);
}

TEST_CASE("review restart: an asker_only unicast destination is answered as before (GONE), never a START",
          "[fragment][review-restart]")
{
    time_point now{};
    auto source = make(1), first_run = make(2), second_run = make(3);
    source.asker_only(dst);
    std::error_code ec;
    datagram_batch sent;
    for (std::uint8_t i = 0; i < 3; ++i)
        source.split(msg(i), dst, now, sent, ec);
    datagram_batch ignored;
    carry(sent, src, dst, first_run, now, ignored);
    run_timers(first_run, dst, source, src, now, now + 50ms);
    REQUIRE(source.stats().acks_received >= 1);
    sent.clear();
    source.split(msg(3), dst, now, sent, ec);
    carry(sent, src, dst, second_run, now, ignored);
    repair(source, second_run, now, 200ms);
    CHECK(source.stats().starts_after_ack == 0);
    CHECK(source.stats().gone_sent >= 1);
}

TEST_CASE("review restart: a stream opened again (forget) starts with nothing acknowledged; the old id's ACK is refused",
          "[fragment][review-restart]")
{
    rig r(true);
    const std::uint32_t old_id = r.id;
    r.source.forget(dst);
    std::error_code ec;
    datagram_batch sent;
    r.source.split(msg(10), dst, r.now, sent, ec);
    r.source.split(msg(11), dst, r.now, sent, ec);
    REQUIRE(sent.size() == 2);
    const std::uint32_t new_id = *r.source.stream_id(dst);
    REQUIRE(new_id != old_id);
    datagram_batch out;
    CHECK(control(r.source, dst, ack(old_id, 3), r.now, out) == errc::not_registered); // a late ACK of the old
    // A fresh receiver hears only seq 1 of the new stream: seq 0 is repaired, not skipped.
    auto fresh = make(4);
    datagram_batch ignored;
    carry(sent, src, dst, fresh, r.now, ignored, [](std::size_t i) { return i == 1; });
    repair(r.source, fresh, r.now, 200ms);
    CHECK(r.source.stats().starts_after_ack == 0);
    CHECK(pop_from(fresh) == msgs{msg(10), msg(11)});
    CHECK(notices(fresh) == 0);
}

// ---------------------------------------------------------------------------------------------
// Receiver: which unicast STARTs it takes.

TEST_CASE("review restart: a unicast START is refused unless from the stream's own source, for a stream it reads",
          "[fragment][review-restart]")
{
    rig r(true);
    repair(r.source, r.second_run, r.now, 200ms);
    REQUIRE(pop_from(r.second_run) == msgs{msg(3)});
    const std::size_t streams = r.second_run.rx_streams();
    datagram_batch out;
    // Another authenticated peer, for the stream the receiver reads from src: its own key, unread.
    CHECK(control(r.second_run, other, start(r.id, 1000), r.now, out) == errc::unexpected_type);
    // Bare (spoofable).
    CHECK(control(r.second_run, src.without_port(), start(r.id, 1000), r.now, out) == errc::unexpected_type);
    // The source itself, for unicast streams the receiver does not read: no state (unbounded otherwise).
    for (std::uint32_t i = 1; i <= 1000; ++i)
        CHECK(control(r.second_run, src, start(r.id ^ i, 50), r.now, out) == errc::unexpected_type);
    CHECK(r.second_run.rx_streams() == streams);
    CHECK(r.second_run.stats().refused == 1002);
    // None moved it: the source's next message comes, once.
    datagram_batch sent;
    std::error_code ec;
    r.source.split(msg(4), dst, r.now, sent, ec);
    carry(sent, src, dst, r.second_run, r.now, out);
    CHECK(pop_from(r.second_run) == msgs{msg(4)});
    CHECK(notices(r.second_run) == 0);
}

TEST_CASE("review restart: a live receiver's stale NACK drawing a START after its ACK changes nothing",
          "[fragment][review-restart]")
{
    // seq 2 late: the receiver NACKs it; that NACK is delayed past the receiver's ACK of 6, so the
    // source answers it with START(6). The receiver already has 6: no skip, no repeat.
    time_point now{};
    auto source = make(1), rx = make(2);
    std::error_code ec;
    datagram_batch sent;
    for (std::uint8_t i = 0; i < 6; ++i)
        source.split(msg(i), dst, now, sent, ec);
    const std::uint32_t id = *source.stream_id(dst);
    datagram_batch ignored;
    carry(sent, src, dst, rx, now, ignored, [](std::size_t i) { return i != 2; });
    REQUIRE(pop_from(rx) == msgs{msg(0), msg(1)});
    datagram_batch stale;
    collect_timers(rx, now, now + 100ms, stale);
    REQUIRE(count_type(stale, wire::tlv_type::repair_nack) >= 1);
    carry(stale, dst, src, source, now, ignored, [&](std::size_t i) { return type_of(stale, i) == wire::tlv_type::repair_ack; });
    carry(sent, src, dst, rx, now, ignored, [](std::size_t i) { return i == 2; }); // 2, late
    CHECK(pop_from(rx) == msgs{msg(2), msg(3), msg(4), msg(5)});
    run_timers(rx, dst, source, src, now, now + 50ms); // its ACK of 6
    datagram_batch answers;
    carry(stale, dst, src, source, now, answers,
          [&](std::size_t i) { return type_of(stale, i) == wire::tlv_type::repair_nack; });
    CHECK(source.stats().starts_after_ack >= 1);
    carry(answers, src, dst, rx, now, ignored);
    sent.clear();
    source.split(msg(6), dst, now, sent, ec);
    carry(sent, src, dst, rx, now, ignored);
    CHECK(pop_from(rx) == msgs{msg(6)});
    CHECK(notices(rx) == 0);
    (void)id;
}

TEST_CASE("review restart: a live receiver's stream evicted with a real gap is told its ACK, and the gap is repaired",
          "[fragment][review-restart]")
{
    fragment::repair_limits lim;
    lim.max_streams = 1;
    time_point now{};
    auto source = make(1), source2 = make(5), rx = make(2, lim);
    std::error_code ec;
    datagram_batch sent;
    for (std::uint8_t i = 0; i < 5; ++i)
        source.split(msg(i), dst, now, sent, ec);
    datagram_batch ignored;
    carry(sent, src, dst, rx, now, ignored, [](std::size_t i) { return i != 2; }); // 2 lost
    REQUIRE(pop_from(rx) == msgs{msg(0), msg(1)});
    datagram_batch timers;
    collect_timers(rx, now, now + 6ms, timers); // its ACK of 2 (a NACK, if any, dropped)
    carry(timers, dst, src, source, now, ignored, [&](std::size_t i) { return type_of(timers, i) == wire::tlv_type::repair_ack; });
    REQUIRE(source.stats().acks_received == 1);
    // Another source's stream takes the only slot: src's (its gap at 2, 3 and 4 held) is forgotten.
    datagram_batch other_sent;
    source2.split(msg(99), dst, now, other_sent, ec);
    carry(other_sent, src2, dst, rx, now, ignored);
    REQUIRE(rx.stats().streams_evicted == 1);
    CHECK(pop_from(rx, src2) == msgs{msg(99)});
    sent.clear();
    source.split(msg(5), dst, now, sent, ec);
    carry(sent, src, dst, rx, now, ignored); // heard anew at 5: read from 0
    repair(source, rx, now, 300ms);
    // Since the eviction fix, the stream resumes where it was (no NACK from 0, no START).
    CHECK(rx.stats().streams_resumed == 1);
    // 0 and 1 (acknowledged) not again; 2 (the real gap) not skipped.
    CHECK(pop_from(rx) == msgs{msg(2), msg(3), msg(4), msg(5)});
    CHECK(notices(rx) == 0);
}

// ---------------------------------------------------------------------------------------------
// Group streams: unchanged.

TEST_CASE("review restart: a group stream's START rules are unchanged (no stream needed, may move back, bare refused)",
          "[fragment][review-restart]")
{
    constexpr std::uint32_t g = 0x80000021u, u = 0x00000021u;
    time_point now{};
    auto rx = make(2);
    datagram_batch out;
    // Group: taken for a stream not yet read (a member told where its part begins).
    CHECK_FALSE(control(rx, src, start(g, 300), now, out));
    CHECK(rx.rx_streams() == 1);
    // Bare: refused, group or not.
    CHECK(control(rx, src.without_port(), start(g + 1, 300), now, out) == errc::unexpected_type);
    CHECK(control(rx, src.without_port(), start(u, 300), now, out) == errc::unexpected_type);
    // Unicast, not read: refused.
    CHECK(control(rx, src, start(u, 300), now, out) == errc::unexpected_type);
    CHECK(rx.rx_streams() == 1);
    // A group stream first heard at 300 (tail) is moved back by its first START to 290; a unicast
    // stream is not (forward only).
    auto rg = make(3), ru = make(4);
    CHECK_FALSE(control(rg, src, tail(g, 300), now, out));
    CHECK_FALSE(control(ru, src, tail(u, 300), now, out));
    CHECK_FALSE(control(rg, src, start(g, 290), now, out));
    CHECK_FALSE(control(ru, src, start(u, 290), now, out));
    CHECK_FALSE(control(rg, src, tail(g, 300), now, out));
    CHECK_FALSE(control(ru, src, tail(u, 300), now, out));
    datagram_batch ng, nu;
    collect_timers(rg, now, now + 1s, ng);
    collect_timers(ru, now, now + 1s, nu);
    CHECK(count_type(ng, wire::tlv_type::repair_nack) >= 1); // 290..299 asked for
    CHECK(count_type(nu, wire::tlv_type::repair_nack) == 0); // still at 300
}

TEST_CASE("review restart: a group stream's sender takes no ACK and answers no START from one",
          "[fragment][review-restart]")
{
    time_point now{};
    auto source = make(1);
    std::error_code ec;
    datagram_batch sent;
    for (std::uint8_t i = 0; i < 3; ++i)
        source.split(msg(i), group, now, sent, ec);
    const std::uint32_t id = *source.stream_id(group);
    REQUIRE((id & 0x80000000u) != 0);
    datagram_batch out;
    CHECK(control(source, dst, ack(id, 3), now, out) == errc::not_registered);
    CHECK_FALSE(control(source, dst, nack(id, 0, 3), now + 1s, out));
    CHECK(source.stats().starts_after_ack == 0);
    CHECK(count_type(out, wire::tlv_type::repair_start) == 0);
    CHECK(source.stats().repairs_sent == 3);
}

// ---------------------------------------------------------------------------------------------
// Findings.

// Fixed: the source starts a restarted destination at the first datagram of the message its ACK
// falls in; the parts before, released, come as GONE: a notice covers the message.
TEST_CASE("review restart, finding: a message cut by the acknowledged point is lost without a notice",
          "[fragment][review-restart]")
{
    // The first run's ACK is a datagram count, not a message boundary: it acknowledged 2 of a
    // 3-datagram message M (600 bytes, fragment size 200) (the rest lost or late: its ACK timer fired at 5 ms), then its process
    // restarted. The second run is told START(2): it gets M's last fragment only (seq 2), so M never
    // completes, and nothing is reported (before b75e9ee: GONE 0..1, an `unrecoverable` event that
    // covered M). Neither run ever handed M to its application. A group START is at a message
    // boundary (the sender's next between split() calls); a unicast one is not.
    time_point now{};
    auto source = make(1), first_run = make(2), second_run = make(3);
    std::error_code ec;
    datagram_batch sent;
    source.split(msg(7, 600), dst, now, sent, ec);
    REQUIRE_FALSE(ec);
    const std::size_t n = sent.size();
    REQUIRE(n >= 3);
    datagram_batch ignored;
    carry(sent, src, dst, first_run, now, ignored, [](std::size_t i) { return i < 2; });
    run_timers(first_run, dst, source, src, now, now + 10ms); // ACK(2): it knows of no more
    REQUIRE(source.stats().acks_received == 1);
    REQUIRE(pop_from(first_run).empty()); // M never completed in the first run
    // Restart: the second run hears the next message.
    sent.clear();
    source.split(msg(8), dst, now, sent, ec);
    carry(sent, src, dst, second_run, now, ignored);
    repair(source, second_run, now, 200ms);
    const msgs got = pop_from(second_run);
    REQUIRE(got.size() >= 1);
    CHECK(got.back() == msg(8));
    // Run out the reassembler's timers too: still nothing about M.
    run_timers(second_run, dst, source, src, now, now + 60s);
    const bool m_delivered = std::find(got.begin(), got.end(), msg(7, 600)) != got.end();
    CHECK((m_delivered || notices(second_run) > 0)); // failed: M lost silently
}

// Fixed: a unicast stream takes every START that moves it forward.
TEST_CASE("review restart, finding: a START taken once leaves a later, higher ACK's START unheeded: stall and a false loss",
          "[fragment][review-restart]")
{
    // The first run acknowledged 2, then 6 (that ACK delayed in the network), and restarted. The
    // second run NACKs from 0: START(2) and repairs of 2..5; the repairs are lost. The late ACK(6)
    // arrives. The second run NACKs 2..5: the source cuts them at 6 and answers START(6), which
    // the receiver ignores (anchored once). Nothing is repaired: seq 6 waits gap_timeout (12 s),
    // then 2..5 (delivered to the first run) are reported unrecoverable.
    time_point now{};
    auto source = make(1), first_run = make(2), second_run = make(3);
    std::error_code ec;
    datagram_batch sent;
    for (std::uint8_t i = 0; i < 6; ++i)
        source.split(msg(i), dst, now, sent, ec);
    datagram_batch ignored;
    carry(sent, src, dst, first_run, now, ignored, [](std::size_t i) { return i < 2; });
    run_timers(first_run, dst, source, src, now, now + 50ms); // ACK(2), heard
    REQUIRE(source.stats().acks_received == 1);
    carry(sent, src, dst, first_run, now, ignored, [](std::size_t i) { return i >= 2; });
    REQUIRE(pop_from(first_run).size() == 6);
    datagram_batch late_ack;
    collect_timers(first_run, now, now + 50ms, late_ack); // ACK(6), delayed
    REQUIRE(count_type(late_ack, wire::tlv_type::repair_ack) == 1);
    // Restart.
    sent.clear();
    source.split(msg(6), dst, now, sent, ec);
    carry(sent, src, dst, second_run, now, ignored);
    // Its first NACK: only the START of the answer arrives.
    datagram_batch first_nack;
    for (int i = 0; i < 100 && second_run.stats().nacks_sent == 0; ++i) {
        now = std::max(now, second_run.next_timer());
        second_run.on_timer(now, first_nack);
    }
    datagram_batch answers;
    carry(first_nack, dst, src, source, now, answers);
    REQUIRE(count_type(answers, wire::tlv_type::repair_start) == 1);
    carry(answers, src, dst, second_run, now, ignored,
          [&](std::size_t i) { return type_of(answers, i) == wire::tlv_type::repair_start; });
    // The late ACK.
    carry(late_ack, dst, src, source, now, ignored);
    repair(source, second_run, now, 1s);
    REQUIRE(source.stats().starts_after_ack >= 2);
    CHECK(pop_from(second_run) == msgs{msg(6)}); // failed: 6 waited behind 2..5, which nothing repaired
    repair(source, second_run, now, 12s);
    CHECK(notices(second_run) == 0); // failed: 2..5 reported lost after gap_timeout
}

// Fixed: an evicted stream heard again resumes where it was (its gap still NACKed).
TEST_CASE("review restart, finding (not of b75e9ee): a live receiver's stream evicted with a gap past backfill "
          "loses the gap silently",
          "[fragment][review-restart]")
{
    // Pre-existing, but the question "can a live receiver have a real gap the START mechanism
    // skips" leads here: the gap is not below ack_heard, it is never asked for at all. The
    // receiver delivered 0..299 but 300 (lost), ACKed 300, holds 301..309; its stream is evicted
    // (max_streams, or streams_per_source: bare datagrams from spoofed addresses can force it,
    // docs/SECURITY.md). Heard anew at 310 (>= backfill 256), it starts there: 300..309 are never
    // NACKed, nothing is reported. Reading a unicast stream heard anew from 0 would now be cheap:
    // the source answers START at what this address acknowledged (300), and repairs 300..309.
    fragment::repair_limits lim;
    lim.max_streams = 1;
    time_point now{};
    auto source = make(1), source2 = make(5), rx = make(2, lim);
    std::error_code ec;
    datagram_batch sent;
    for (int i = 0; i < 310; ++i)
        source.split(msg(static_cast<std::uint8_t>(i)), dst, now, sent, ec);
    datagram_batch ignored;
    carry(sent, src, dst, rx, now, ignored, [](std::size_t i) { return i != 300; });
    REQUIRE(pop_from(rx).size() == 300);
    datagram_batch timers;
    collect_timers(rx, now, now + 6ms, timers);
    carry(timers, dst, src, source, now, ignored, [&](std::size_t i) { return type_of(timers, i) == wire::tlv_type::repair_ack; });
    REQUIRE(source.stats().acks_received == 1);
    datagram_batch other_sent;
    source2.split(msg(99), dst, now, other_sent, ec);
    carry(other_sent, src2, dst, rx, now, ignored);
    REQUIRE(rx.stats().streams_evicted == 1);
    sent.clear();
    source.split(msg(200), dst, now, sent, ec); // seq 310
    carry(sent, src, dst, rx, now, ignored);
    repair(source, rx, now, 13s);
    const msgs got = pop_from(rx);
    CHECK(got.size() == 11); // 300..310: fails, only 310 comes
    CHECK((got.size() == 11 || notices(rx) > 0)); // fails: nor is the loss reported
}
