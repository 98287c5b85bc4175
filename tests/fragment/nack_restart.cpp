// SPDX-License-Identifier: BSL-1.0
// A process restarted at a unicast destination's address reads the stream it is sent from seq 0
// (backfill) and asks for what its previous run acknowledged: the source answers where its part
// begins (REPAIR_START at the acknowledged point), not that it was lost (REPAIR_GONE, an
// `unrecoverable` event for messages sent before it existed).
#include "repair_wire.hpp"

#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/wire/repair.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using namespace tlvcast;
using fragment::nack_fragmenter;
using test::carry;
using test::run_timers;

namespace {

using msgs = std::vector<std::vector<std::byte>>;

const endpoint src(0x0a000002, 5000), dst(0x0a000009, 5000);

std::vector<std::byte> msg(std::uint8_t i) { return std::vector<std::byte>(40, std::byte{i}); }

msgs pop_all(nack_fragmenter& f)
{
    std::vector<std::vector<std::byte>> got;
    endpoint from;
    std::vector<std::byte> m;
    while (f.pop_message(from, m))
        got.push_back(m);
    return got;
}

// The source sent 3 messages to dst, which delivered and acknowledged them; then the process at
// dst restarts (a fresh fragmenter) and hears the source's next message, seq 3.
struct restarted {
    time_point now{};
    nack_fragmenter source{fragment::seed_fragmenter(1, {}, 200), {}, 11};
    nack_fragmenter first_run{fragment::seed_fragmenter(2, {}, 200), {}, 12};
    nack_fragmenter second_run{fragment::seed_fragmenter(3, {}, 200), {}, 13};
    datagram_batch sent;

    explicit restarted(bool acknowledged)
    {
        std::error_code ec;
        for (std::uint8_t i = 0; i < 3; ++i)
            source.split(msg(i), dst, now, sent, ec);
        REQUIRE(sent.size() == 3);
        datagram_batch acks;
        carry(sent, src, dst, first_run, now, acks);
        REQUIRE(pop_all(first_run).size() == 3);
        if (acknowledged)
            run_timers(first_run, dst, source, src, now, now + std::chrono::milliseconds(50)); // its ACK
        sent.clear();
        source.split(msg(3), dst, now, sent, ec);
        datagram_batch ignored;
        carry(sent, src, dst, second_run, now, ignored);
    }
    // second_run's NACKs to the source, and the source's answers back, for `span`.
    void repair(std::chrono::milliseconds span)
    {
        const time_point until = now + span;
        for (int i = 0; i < 100 && second_run.next_timer() <= until; ++i) {
            now = std::max(now, second_run.next_timer());
            datagram_batch nacks, answers;
            second_run.on_timer(now, nacks);
            carry(nacks, dst, src, source, now, answers);
            datagram_batch ignored;
            carry(answers, src, dst, second_run, now, ignored);
        }
    }
};

} // namespace

TEST_CASE("nack restart: a restarted destination asking below what its address acknowledged is told where it starts",
          "[fragment][nack][restart]")
{
    restarted r(true);
    CHECK(pop_all(r.second_run).empty()); // seq 3 waits: it reads the stream from 0
    r.repair(std::chrono::milliseconds(200));
    CHECK(r.source.stats().starts_after_ack == 1);
    CHECK(r.source.stats().gone_sent == 0);
    CHECK(r.source.stats().repairs_sent == 0); // nothing below the ACK is sent again
    CHECK(pop_all(r.second_run) == msgs{msg(3)});
    fragment::repair_notice n;
    CHECK_FALSE(r.second_run.pop_notice(n)); // no unrecoverable
    CHECK(r.second_run.stats().unrecoverable == 0);
}

TEST_CASE("nack restart: what its address did not acknowledge is repaired to the restarted destination",
          "[fragment][nack][restart]")
{
    restarted r(false); // no ACK reached the source: seqs 0..2 are still cached, unacknowledged
    r.repair(std::chrono::milliseconds(200));
    CHECK(r.source.stats().starts_after_ack == 0);
    CHECK(r.source.stats().repairs_sent == 3);
    CHECK(pop_all(r.second_run) == msgs{msg(0), msg(1), msg(2), msg(3)});
}

TEST_CASE("nack restart: a unicast stream's start never moves a receiver back", "[fragment][nack][restart]")
{
    restarted r(true);
    r.repair(std::chrono::milliseconds(200));
    REQUIRE(pop_all(r.second_run).size() == 1);
    // A START at 1 (replayed, or a source's mistake) after it delivered up to 3: nothing again.
    std::vector<std::byte> start;
    wire::append_repair_start(start, *r.source.stream_id(dst), 1);
    std::error_code ec;
    datagram_batch out;
    std::vector<std::byte> m;
    r.second_run.handle_control(src, wire::read_outer(start, ec), r.now, out, m, ec);
    datagram_batch again;
    r.source.split(msg(4), dst, r.now, again, ec);
    carry(again, src, dst, r.second_run, r.now, out);
    CHECK(pop_all(r.second_run) == msgs{msg(4)});
    // Nor from an unauthenticated source (no port): refused.
    const auto refused = r.second_run.stats().refused;
    r.second_run.handle_control(src.without_port(), wire::read_outer(start, ec), r.now, out, m, ec);
    CHECK(r.second_run.stats().refused == refused + 1);
}
