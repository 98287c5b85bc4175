// SPDX-License-Identifier: BSL-1.0
// The repair round trip: a unicast stream's receiver times its NACKs by the round trip it measured
// (RFC 6298's srtt + 4 rttvar, Karn's rule), acknowledges a repair at once, and its source answers a
// NACK sent again after unicast_repair_holdoff; a group's stream keeps nack_interval and repair_holdoff.
#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/wire/repair.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using namespace tlvcast;
using fragment::nack_fragmenter;
using std::chrono::milliseconds;

namespace {

const endpoint rtt_source(0x0a000001, 5000);
constexpr std::uint32_t unicast_id = 42, group_id = 0x80000000u | 42;

// A receiver fed REPAIR_DATA by hand on a virtual clock; it records when it sends NACKs and ACKs.
struct rtt_receiver {
    nack_fragmenter r{fragment::seed_fragmenter{}, {}, 5};
    time_point now{};
    std::vector<time_point> nacks, acks;

    void data(std::uint32_t id, std::uint32_t seq)
    {
        const std::vector<std::byte> keepalive{std::byte{0}, std::byte{9}, std::byte{0}, std::byte{0}};
        std::vector<std::byte> d;
        std::error_code ec;
        wire::append_repair_data(d, id, seq, keepalive, ec);
        REQUIRE_FALSE(ec);
        datagram_batch out;
        std::vector<std::byte> m;
        r.handle_control(rtt_source, wire::read_outer(d, ec), now, out, m, ec);
        record(out);
        endpoint from;
        while (r.pop_message(from, m)) {
        }
    }
    // Runs every timer due up to `until`.
    void run_until(time_point until)
    {
        for (int i = 0; i < 10'000 && r.next_timer() <= until; ++i) {
            now = std::max(now, r.next_timer());
            datagram_batch out;
            r.on_timer(now, out);
            record(out);
        }
        now = until;
    }
    void record(const datagram_batch& out)
    {
        for (std::size_t k = 0; k < out.size(); ++k) {
            std::error_code ec;
            const auto type = wire::read_outer(out[k].bytes, ec).type();
            if (type == wire::tlv_type::repair_nack)
                nacks.push_back(now);
            else if (type == wire::tlv_type::repair_ack)
                acks.push_back(now);
        }
    }
};

} // namespace

TEST_CASE("nack rtt: a unicast stream NACKs again after the round trip it measured, doubling", "[fragment][repair]")
{
    rtt_receiver x;
    const auto& lim = x.r.limits();
    x.data(unicast_id, 0);
    x.data(unicast_id, 2); // 1 missing
    x.run_until(x.now + lim.nack_backoff);
    REQUIRE(x.nacks.size() == 1);
    // The repair comes 3 ms after the NACK: the first sample, srtt 3 ms, rttvar 1.5 ms.
    x.now = x.nacks.back() + milliseconds(3);
    const std::size_t acks = x.acks.size();
    x.data(unicast_id, 1);
    x.run_until(x.now); // the ACK of a repair is not delayed by ack_delay
    CHECK(x.acks.size() == acks + 1);

    x.data(unicast_id, 4); // 3 missing; never answered
    x.run_until(x.now + milliseconds(200));
    REQUIRE(x.nacks.size() >= 5);
    const time_point first = x.nacks[1];
    CHECK(x.nacks[2] - first == milliseconds(9)); // srtt + 4 rttvar, not nack_interval (20 ms)
    CHECK(x.nacks[3] - x.nacks[2] == milliseconds(18));
    CHECK(x.nacks[4] - x.nacks[3] == milliseconds(36));
}

TEST_CASE("nack rtt: never faster than min_nack_interval, never slower than nack_interval", "[fragment][repair]")
{
    for (const auto answer : {std::chrono::microseconds(100), std::chrono::microseconds(100'000)}) {
        rtt_receiver x;
        const auto& lim = x.r.limits();
        for (std::uint32_t gap = 0; gap < 4; ++gap) { // four samples of the same round trip
            const std::uint32_t base = gap * 2;
            x.data(unicast_id, base);
            x.data(unicast_id, base + 2);
            x.run_until(x.now + lim.nack_backoff);
            REQUIRE(x.nacks.size() == gap + 1);
            x.now = x.nacks.back() + answer;
            x.data(unicast_id, base + 1);
            x.run_until(x.now + milliseconds(1));
        }
        const std::size_t before = x.nacks.size();
        x.data(unicast_id, 8);
        x.data(unicast_id, 10);
        x.run_until(x.now + milliseconds(100));
        REQUIRE(x.nacks.size() >= before + 2);
        const auto retry = x.nacks[before + 1] - x.nacks[before];
        INFO("answer " << answer.count() << " us");
        if (answer < lim.min_nack_interval)
            CHECK(retry == lim.min_nack_interval);
        else
            CHECK(retry == lim.nack_interval);
    }
}

TEST_CASE("nack rtt: Karn's rule: a repair that answers a NACK sent again is no sample", "[fragment][repair]")
{
    rtt_receiver x;
    const auto& lim = x.r.limits();
    x.data(unicast_id, 0);
    x.data(unicast_id, 2);
    x.run_until(x.now + lim.nack_backoff + lim.nack_interval);
    REQUIRE(x.nacks.size() == 2); // the first NACK went unanswered
    x.now = x.nacks.back() + milliseconds(1);
    x.data(unicast_id, 1); // 1 ms after the second NACK, 21 after the first: which one it answers is unknown
    x.data(unicast_id, 4);
    x.run_until(x.now + milliseconds(100));
    REQUIRE(x.nacks.size() >= 4);
    CHECK(x.nacks[3] - x.nacks[2] == lim.nack_interval); // still unmeasured
}

TEST_CASE("nack rtt: a group's stream keeps nack_interval (its source holds repairs for repair_holdoff)",
          "[fragment][repair]")
{
    rtt_receiver x;
    const auto& lim = x.r.limits();
    x.data(group_id, 0);
    x.data(group_id, 2);
    x.run_until(x.now + lim.group_nack_backoff);
    REQUIRE(x.nacks.size() == 1);
    x.now = x.nacks.back() + milliseconds(3);
    x.data(group_id, 1);
    x.data(group_id, 4);
    x.run_until(x.now + milliseconds(200));
    REQUIRE(x.nacks.size() >= 3);
    CHECK(x.nacks[2] - x.nacks[1] == lim.nack_interval);
}

TEST_CASE("nack rtt: a unicast stream's source answers a NACK sent again after unicast_repair_holdoff; a "
          "group's after repair_holdoff", "[fragment][repair]")
{
    const endpoint member(0x0a000002, 5000), group(0xe0010102, 5008);
    for (const endpoint& to : {member, group}) {
        nack_fragmenter s(fragment::seed_fragmenter(11, {}, 200), {}, 77);
        const auto& lim = s.limits();
        time_point now{};
        datagram_batch out;
        std::error_code ec;
        s.split(std::vector<std::byte>(1000, std::byte{0x5a}), to, now, out, ec);
        REQUIRE_FALSE(ec);
        const std::uint32_t id = wire::decode_repair_data(wire::read_outer(out[0].bytes, ec).value, ec).stream;
        REQUIRE_FALSE(ec);
        const auto nack_at = [&](time_point at) {
            std::vector<std::byte> b;
            const std::vector<wire::repair_range> ranges{{0, 1}};
            std::error_code e;
            wire::append_repair_nack(b, id, ranges, e);
            REQUIRE_FALSE(e);
            datagram_batch o;
            std::vector<std::byte> m;
            s.handle_control(member, wire::read_outer(b, e), at, o, m, e);
        };
        const bool unicast = to == member;
        const auto holdoff = unicast ? lim.unicast_repair_holdoff : lim.repair_holdoff;
        nack_at(now + milliseconds(2));
        CHECK(s.stats().repairs_sent == 1);
        nack_at(now + milliseconds(2) + holdoff / 2); // within the holdoff: suppressed
        CHECK(s.stats().repairs_sent == 1);
        nack_at(now + milliseconds(2) + holdoff);
        CHECK(s.stats().repairs_sent == 2);
        INFO("unicast " << unicast);
        CHECK((holdoff < milliseconds(2)) == unicast); // a receiver's 2-ms retry is answered on unicast only
    }
}

// A retry doubles only while the source answers nothing: a NACK whose repairs came in part (the
// path works, its source is alive) is followed by the first wait again. Under 20% loss each way the
// head of a gap failed several rounds in a row often enough that doubled waits (20, 40, 80, 160 ms
// on a group stream) made a burst's tail 0.5-0.9 s long (bench/repair_vs_norm.sh, group, 100 B).
TEST_CASE("nack rtt: a retry waits the first wait again while the source answers part of it; doubles once it "
          "answers nothing", "[fragment][repair]")
{
    for (const std::uint32_t id : {group_id, unicast_id}) {
        INFO("group " << (id == group_id));
        rtt_receiver x;
        const auto& lim = x.r.limits();
        const auto next_nack = [&x] {
            const std::size_t n = x.nacks.size();
            for (int ms = 0; ms < 1000 && x.nacks.size() == n; ++ms)
                x.run_until(x.now + milliseconds(1));
            REQUIRE(x.nacks.size() == n + 1);
        };
        x.data(id, 0);
        x.data(id, 6); // 1-5 missing; the head (1) is never answered
        next_nack();
        for (std::uint32_t answer = 5; answer >= 3; --answer) { // part of each of three NACKs comes
            x.run_until(x.now + milliseconds(3));
            x.data(id, answer);
            next_nack();
        }
        next_nack(); // the last answer came before it: the first wait
        next_nack(); // nothing answered since: doubled
        next_nack();
        REQUIRE(x.nacks.size() == 7);
        // No round trip is measured (an answer to a seq other than the first asked is no sample):
        // both wait nack_interval first.
        for (std::size_t k = 0; k < 4; ++k) {
            INFO("NACK " << k);
            CHECK(x.nacks[k + 1] - x.nacks[k] == lim.nack_interval);
        }
        CHECK(x.nacks[5] - x.nacks[4] == 2 * lim.nack_interval);
        CHECK(x.nacks[6] - x.nacks[5] == 4 * lim.nack_interval);
    }
}

// A member on unicast delivery gets the relay's shared group stream by fan-out (asker_only at the
// source): no other member's NACK or repair reaches it, so waiting for them only delays its own.
TEST_CASE("nack rtt: a receiver on unicast delivery times a group stream's NACKs as a unicast one's",
          "[fragment][repair]")
{
    for (const bool alone : {false, true}) {
        INFO("unicast delivery " << alone);
        rtt_receiver x;
        x.r.unicast_delivery(alone);
        const auto& lim = x.r.limits();
        x.data(group_id, 0);
        const time_point opened = x.now;
        x.data(group_id, 2);
        x.run_until(x.now + (alone ? lim.nack_backoff : lim.group_nack_backoff));
        REQUIRE(x.nacks.size() == 1); // on unicast delivery within nack_backoff (2 ms), not 40
        CHECK(x.nacks[0] - opened <= (alone ? lim.nack_backoff : lim.group_nack_backoff));
        x.now = x.nacks.back() + milliseconds(3);
        x.data(group_id, 1); // the first sample on unicast delivery: srtt 3 ms, rttvar 1.5 ms
        x.data(group_id, 4);
        x.run_until(x.now + milliseconds(200));
        REQUIRE(x.nacks.size() >= 3);
        CHECK(x.nacks[2] - x.nacks[1] == (alone ? milliseconds(9) : lim.nack_interval));
        CHECK(x.acks.empty()); // a group stream is never acknowledged, however it arrives
    }
}
