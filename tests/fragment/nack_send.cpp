// SPDX-License-Identifier: BSL-1.0
// basic_nack_fragmenter's sending side (impl/nack_send.hpp): asker_only streams, whose NACKs are
// answered to the asker alone (unicast_fanout, the group relay's shared unicast stream, is one).
#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/wire/repair.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using namespace tlvcast;
using fragment::nack_fragmenter;
using std::chrono::milliseconds;

namespace {

const endpoint send_asker_a(0x0a000002, 5000), send_asker_b(0x0a000003, 5000), send_asker_c(0x0a000004, 5000);
const endpoint send_group(0xe0010102, 5008);

nack_fragmenter send_make(fragment::repair_limits lim = {})
{
    return nack_fragmenter(fragment::seed_fragmenter(11, {}, 200), lim, 77);
}

struct send_tally {
    std::size_t data = 0, tails = 0, other = 0;
};

// What `out` holds for `to`, by type.
send_tally send_count(const datagram_batch& out, const endpoint& to)
{
    send_tally t;
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (out[i].to != to)
            continue;
        std::error_code ec;
        const auto type = wire::read_outer(out[i].bytes, ec).type();
        if (type == wire::tlv_type::repair_data)
            ++t.data;
        else if (type == wire::tlv_type::repair_tail)
            ++t.tails;
        else
            ++t.other;
    }
    return t;
}

// A message of at least `n` datagrams to `to` (their number in `n`), then every timer until its
// tails are done. Returns the stream's id.
std::uint32_t send_burst(nack_fragmenter& f, const endpoint& to, std::uint32_t& n, time_point& now)
{
    datagram_batch out;
    std::error_code ec;
    f.split(std::vector<std::byte>(n * 200, std::byte{0x5a}), to, now, out, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(out.size() >= n);
    n = static_cast<std::uint32_t>(out.size());
    std::error_code dec;
    const std::uint32_t id = wire::decode_repair_data(wire::read_outer(out[0].bytes, dec).value, dec).stream;
    REQUIRE_FALSE(dec);
    for (int i = 0; i < 3'000 && f.next_timer() < now + std::chrono::seconds(5); ++i) {
        now = std::max(now, f.next_timer());
        out.clear();
        f.on_timer(now, out);
    }
    return id;
}

void send_nack(nack_fragmenter& f, const endpoint& from, std::uint32_t id, std::uint32_t first, std::uint16_t count,
               time_point now, datagram_batch& out)
{
    std::vector<std::byte> b;
    std::error_code ec;
    const std::vector<wire::repair_range> ranges{{first, count}};
    wire::append_repair_nack(b, id, ranges, ec);
    REQUIRE_FALSE(ec);
    std::vector<std::byte> m;
    f.handle_control(from, wire::read_outer(b, ec), now, out, m, ec);
    REQUIRE_FALSE(ec);
}

} // namespace

TEST_CASE("nack send: an asker_only stream answers a NACK to the asker alone and re-arms no tail", "[nack_send]")
{
    for (const bool declared : {false, true}) {
        INFO((declared ? "a destination declared asker_only" : "unicast_fanout"));
        nack_fragmenter f = send_make();
        const endpoint to = declared ? send_group : nack_fragmenter::unicast_fanout;
        if (declared)
            f.asker_only(send_group);
        time_point now{};
        std::uint32_t n = 6;
        const std::uint32_t id = send_burst(f, to, n, now);
        datagram_batch out;
        send_nack(f, send_asker_a, id, 1, 2, now, out);
        CHECK(send_count(out, send_asker_a).data == 2);
        CHECK(send_count(out, send_asker_a).tails == 1); // where the stream ends, to it
        CHECK(send_count(out, to).data + send_count(out, to).tails == 0);
        for (int i = 0; i < 100; ++i) { // a NACK every 10 ms draws nothing to the destination
            out.clear();
            send_nack(f, send_asker_a, id, n, 1, now, out); // "past the end": a TAIL to it, once
            CHECK(send_count(out, send_asker_a).tails == 1);
            now += milliseconds(10);
            if (f.next_timer() <= now)
                f.on_timer(now, out);
            CHECK(send_count(out, to).tails == 0);
        }
    }
}

TEST_CASE("nack send: a group stream's NACK re-arms its tail to the group (not asker_only)", "[nack_send]")
{
    nack_fragmenter f = send_make();
    time_point now{};
    std::uint32_t n = 6;
    const std::uint32_t id = send_burst(f, send_group, n, now);
    datagram_batch out;
    send_nack(f, send_asker_a, id, 1, 2, now, out);
    CHECK(send_count(out, send_group).data == 2); // the repair, to the whole group
    std::size_t tails = 0;
    for (int i = 0; i < 10; ++i) {
        now += milliseconds(10);
        out.clear();
        if (f.next_timer() <= now)
            f.on_timer(now, out);
        tails += send_count(out, send_group).tails;
    }
    CHECK(tails == 1);
}

TEST_CASE("nack send: an asker_only stream pays each asker from a budget of its own", "[nack_send]")
{
    fragment::repair_limits lim;
    lim.repair_burst_bytes = 2'000; // about 9 of these datagrams, and no refill
    lim.repair_bytes_per_second = 0;
    lim.askers_per_stream = 2;
    nack_fragmenter f = send_make(lim);
    time_point now{};
    std::uint32_t n = 30;
    const std::uint32_t id = send_burst(f, nack_fragmenter::unicast_fanout, n, now);
    const auto all = static_cast<std::uint16_t>(n);
    datagram_batch out;
    send_nack(f, send_asker_a, id, 0, all, now, out); // A spends its budget
    const std::size_t a = send_count(out, send_asker_a).data;
    CHECK(a >= 5);
    CHECK(a < n);
    out.clear();
    send_nack(f, send_asker_a, id, 0, all, now, out);
    CHECK(send_count(out, send_asker_a).data == 0); // and has none left
    out.clear();
    send_nack(f, send_asker_b, id, 0, 4, now, out); // B has its own
    CHECK(send_count(out, send_asker_b).data == 4);
    // Beyond askers_per_stream budgets kept (A's and B's, neither full), C shares the stream's.
    out.clear();
    send_nack(f, send_asker_c, id, 0, all, now, out);
    CHECK(send_count(out, send_asker_c).data == a);
    out.clear();
    send_nack(f, send_asker_c, id, 0, 1, now, out);
    CHECK(send_count(out, send_asker_c).data == 0);
    CHECK(f.stats().repairs_rate_limited >= 2);
}
