// SPDX-License-Identifier: BSL-1.0
// Review of 251d47c / 6c9a29c (slow_receiver_policy::hold: each ACK that advances restarts
// slow_hold). While any destination is held, the relay withholds its ACKs to every sender.
#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/wire/repair.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using namespace tlvcast;
using fragment::nack_fragmenter;
using std::chrono::milliseconds;

TEST_CASE("review, fixed: a member that acknowledges one datagram per slow_hold holds the senders at most slow_hold_max",
          "[fragment][flow][review]")
{
    // Finding (medium, any registered member), fixed by slow_hold_max (30 s): the hold had no bound
    // of its own once progress restarted it. One datagram acknowledged just before each slow_hold keeps the destination held,
    // so the relay withholds its ACKs to all its senders: the group goes at one datagram per
    // slow_hold (3 s by default), for as long as the member likes. docs/SECURITY.md still says
    // "for at most slow_hold, 1 s". Two bounds would end it: a cap on one hold however it
    // progresses (say 10 x slow_hold; the shed member comes back by acknowledging the end, so
    // that bounds each round only), or progress counted only when a min_window's worth of bytes
    // was acknowledged within slow_hold (the group's pace then stays above min_window per
    // slow_hold; flow.cpp's "slow but acknowledging" receiver, 1 KB per 300 ms, would then be
    // dropped). Either must keep e2e_repair's lossy receivers, the reason for 251d47c.
    fragment::repair_limits lim;
    lim.send_window = 16 * 1024;
    lim.min_window = 4 * 1024;
    lim.initial_window = 16 * 1024;
    lim.slow_receiver = fragment::slow_receiver_policy::hold;
    lim.slow_hold = milliseconds(500);
    const endpoint slow(0x0a000002, 6000);
    nack_fragmenter relay(fragment::seed_fragmenter(3, {}, 1000), lim, 3);
    time_point now{};
    std::uint32_t id = 0;
    const auto send = [&] { // what the held senders still get through: one message per round
        datagram_batch out;
        std::error_code ec;
        relay.split(std::vector<std::byte>(1000, std::byte{0x5a}), slow, now, out, ec);
        REQUIRE_FALSE(ec);
        id = wire::decode_repair_data(wire::read_outer(out[0].bytes, ec).value, ec).stream;
    };
    const auto tick = [&](time_point until) {
        for (int guard = 0; guard < 10'000 && relay.next_timer() <= until; ++guard) {
            now = std::max(now, relay.next_timer());
            datagram_batch out;
            relay.on_timer(now, out);
        }
        now = until;
    };
    for (int i = 0; i < 20; ++i)
        send();
    REQUIRE(relay.holding() == 1);
    // Up to 60 s (120 x slow_hold), one more datagram acknowledged every 450 ms.
    fragment::slow_notice n;
    bool released = false;
    for (std::uint32_t k = 1; k <= 134 && !released; ++k) {
        tick(now + milliseconds(450));
        std::vector<std::byte> b;
        wire::append_repair_ack(b, id, k);
        std::error_code ec;
        datagram_batch out;
        std::vector<std::byte> m;
        relay.handle_control(slow, wire::read_outer(b, ec), now, out, m, ec);
        REQUIRE_FALSE(ec);
        send();
        released = relay.holding() == 0 || relay.pop_slow(n);
    }
    CHECK(released); // was still held after 60 s
    CHECK(now <= time_point{} + std::chrono::seconds(31));
    CHECK(relay.stats().acks_received >= 10);
}
