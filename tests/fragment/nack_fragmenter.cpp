// SPDX-License-Identifier: BSL-1.0
// basic_nack_fragmenter alone: sender and receivers exchange datagrams over a lossy, duplicating,
// reordering link on a virtual clock; every message arrives exactly once, in order, or as a notice.
#include "fragment/lossy_link.hpp"

#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/wire/repair.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

using namespace tlvcast;
using fragment::nack_fragmenter;
using std::chrono::milliseconds;

using test::check_exactly_once_in_order;
using test::group_ep;
using test::index_of;
using test::lossy_link;
using test::make;
using test::message_of;
using test::sender_ep;

TEST_CASE("nack_fragmenter: every message once and in order through 0, 5, 20 and 30% loss", "[fragment][repair]")
{
    for (const double loss : {0.0, 0.05, 0.2, 0.3}) {
        for (std::uint64_t seed = 1; seed <= 20; ++seed) {
            INFO("loss " << loss << " seed " << seed);
            lossy_link l(seed, 1, loss, 0.05);
            std::uint32_t sent = 0;
            for (int burst = 0; burst < 10; ++burst) {
                for (int k = 0; k < 10; ++k, ++sent)
                    l.send(sent, (l.rng() % 3 == 0) ? 3000 + l.rng() % 5000 : l.rng() % 150);
                l.now += milliseconds(l.rng() % 20);
                l.run(milliseconds(l.rng() % 50));
            }
            l.run();
            CHECK(l.notices.empty());
            check_exactly_once_in_order(l, sent);
            CHECK(l.receivers[0].rx_streams() == 1);
        }
    }
}

TEST_CASE("nack_fragmenter: without loss or reordering nothing is NACKed or repaired", "[fragment][repair]")
{
    lossy_link l(9, 1, 0.0);
    l.jitter_ms = 1;
    for (std::uint32_t i = 0; i < 300; ++i) {
        l.send(i, i % 7 == 0 ? 5000 : 60);
        l.run(milliseconds(1));
    }
    l.run();
    check_exactly_once_in_order(l, 300);
    CHECK(l.sender.stats().repairs_sent == 0);
    CHECK(l.receivers[0].stats().nacks_sent == 0);
    CHECK(l.sender.stats().acks_received > 0); // acknowledged before any tail was due
}

TEST_CASE("nack_fragmenter: 100 receivers of one multicast stream, NACKs per loss event", "[fragment][repair]")
{
    lossy_link l(7, 100, 0.05);
    for (std::uint32_t i = 0; i < 200; ++i) {
        l.send(i, 100);
        l.now += milliseconds(2);
        l.run(milliseconds(2));
    }
    l.run();
    check_exactly_once_in_order(l, 200);
    CHECK(l.notices.empty());
    const auto s = l.sender.stats();
    // A loss event: one multicast send (data or repair) that one receiver or more lost; about 5 of
    // the 100 lose each. Back-off and the repair to the whole group keep NACKs per event near 1.
    const double per_event = double(l.nacks_on_wire) / double(l.loss_events);
    WARN("100 receivers, 5% loss: " << s.data_sent << " datagrams, " << l.loss_events << " loss events, "
                                     << l.nacks_on_wire << " NACKs (" << per_event << " per event), " << s.repairs_sent
                                     << " repairs, " << s.repairs_suppressed << " suppressed");
    CHECK(per_event < 2.5);
    // Each repair is itself lost by about 5 receivers: repairs per datagram stay near 1 + 1/4.
    CHECK(s.repairs_sent < 2 * s.data_sent);
}

TEST_CASE("nack_fragmenter: what the cache dropped comes back as an unrecoverable notice", "[fragment][repair]")
{
    fragment::repair_limits lim;
    lim.cache_bytes = 2000; // a few datagrams
    lossy_link l(3, 1, 0.0, 0.0, lim);
    // The receiver hears seqs 0..1, then nothing until seq 30: 2..29 left the cache long ago.
    for (std::uint32_t i = 0; i < 31; ++i) {
        datagram_batch out;
        std::error_code ec;
        const auto m = message_of(i, 100);
        l.sender.split(m, l.dest(), l.now, out, ec);
        if (i < 2 || i == 30)
            l.post(sender_ep, out);
    }
    l.run();
    REQUIRE(l.notices.size() == 1);
    CHECK(l.notices[0].peer == sender_ep);
    CHECK(l.notices[0].first == 2);
    CHECK(l.notices[0].last >= 2);
    CHECK(l.sender.stats().gone_sent >= 1);
    // What was still cached arrived; every message delivered at most once, in order.
    const auto& got = l.got[0];
    REQUIRE(got.size() >= 3);
    CHECK(index_of(got[0]) == 0);
    CHECK(index_of(got[1]) == 1);
    CHECK(index_of(got.back()) == 30);
    CHECK(std::is_sorted(got.begin(), got.end(), [](auto& a, auto& b) { return index_of(a) < index_of(b); }));
}

TEST_CASE("nack_fragmenter: a sender that never answers leaves a notice after gap_timeout", "[fragment][repair]")
{
    auto r = make(5);
    datagram_batch out;
    std::vector<std::byte> m;
    std::error_code ec;
    std::vector<std::byte> d;
    const auto tlv = [](std::vector<std::byte>& bytes, std::uint32_t seq) {
        bytes.clear();
        const std::vector<std::byte> whole{std::byte{0}, std::byte{9}, std::byte{0}, std::byte{0}}; // a KEEPALIVE TLV
        std::error_code append_ec;
        wire::append_repair_data(bytes, 42, seq, whole, append_ec);
        REQUIRE_FALSE(append_ec);
    };
    time_point now{};
    tlv(d, 0);
    r.handle_control(sender_ep, wire::read_outer(d, ec), now, out, m, ec);
    tlv(d, 5); // 1..4 missing
    r.handle_control(sender_ep, wire::read_outer(d, ec), now, out, m, ec);
    endpoint from;
    REQUIRE(r.pop_message(from, m)); // seq 0
    CHECK_FALSE(r.pop_message(from, m));
    std::size_t nacks = 0;
    fragment::repair_notice n;
    for (int i = 0; i < 1000 && !r.pop_notice(n); ++i) {
        now = r.next_timer();
        out.clear();
        r.on_timer(now, out);
        for (std::size_t k = 0; k < out.size(); ++k)
            nacks += wire::read_outer(out[k].bytes, ec).type() == wire::tlv_type::repair_nack;
    }
    // NACKs back off to max_nack_interval: about gap_timeout / max_nack_interval of them.
    const auto& lim = r.limits();
    CHECK(nacks >= 5);
    CHECK(nacks <= static_cast<std::size_t>(lim.gap_timeout / lim.max_nack_interval) + 8);
    CHECK(now - time_point{} >= lim.gap_timeout);
    CHECK(n.first == 1);
    CHECK(n.last == 4);
    REQUIRE(r.pop_message(from, m)); // seq 5, released once the gap was given up
    CHECK(r.stats().unrecoverable == 1);
}

TEST_CASE("nack_fragmenter: a unicast stream is acknowledged; ACKs free the cache and end the tails",
          "[fragment][repair]")
{
    lossy_link l(21, 1, 0.0);
    l.jitter_ms = 1;
    for (std::uint32_t i = 0; i < 50; ++i)
        l.send(i, 300);
    l.run(std::chrono::seconds(1));
    check_exactly_once_in_order(l, 50);
    const auto s = l.sender.stats();
    CHECK(s.acks_received >= 1);
    CHECK(s.acked_datagrams == s.data_sent);
    CHECK(l.sender.buffered_bytes() == 0);
    const auto tails = s.tails_sent;
    l.run(std::chrono::seconds(5));
    CHECK(l.sender.stats().tails_sent == tails); // nothing left to tell
}

TEST_CASE("nack_fragmenter: the end of a burst and its first tails lost, the unicast stream still completes",
          "[fragment][repair]")
{
    lossy_link l(22, 1, 0.0);
    l.jitter_ms = 1;
    for (std::uint32_t i = 0; i < 10; ++i)
        l.send(i, 100);
    // The last three datagrams never arrive, nor do the first five tails (more than a group gets).
    std::size_t data_seen = 0, tails_seen = 0;
    std::error_code ec;
    const auto lose = [&](lossy_link::in_flight& d) {
        const auto type = wire::read_outer(d.bytes, ec).type();
        if (type == wire::tlv_type::repair_data && d.from == sender_ep)
            return ++data_seen > 7 && data_seen <= 10;
        if (type == wire::tlv_type::repair_tail)
            return ++tails_seen <= 5;
        return false;
    };
    std::erase_if(l.wire, lose);
    for (int i = 0; i < 200 && l.got[0].size() < 10; ++i) {
        l.run(std::chrono::milliseconds(20));
        std::erase_if(l.wire, lose);
    }
    check_exactly_once_in_order(l, 10);
    CHECK(l.notices.empty());
}

TEST_CASE("nack_fragmenter: repair off is the inner fragmenter, byte for byte", "[fragment][repair]")
{
    fragment::repair_limits off;
    off.repair = false;
    nack_fragmenter f(fragment::seed_fragmenter(11, {}, 200), off, 1);
    fragment::seed_fragmenter plain(11, {}, 200);
    const auto m = message_of(1, 1000);
    datagram_batch a, b;
    std::error_code ec;
    f.split(m, sender_ep, time_point{}, a, ec);
    REQUIRE_FALSE(ec);
    plain.split(m, sender_ep, time_point{}, b, ec);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i)
        CHECK(std::ranges::equal(a[i].bytes, b[i].bytes));
    CHECK(f.next_timer() == no_timer);
    CHECK(f.tx_streams() == 0);
    // Repair TLVs are refused, not half handled.
    std::vector<std::byte> d;
    wire::append_repair_tail(d, 5, 3);
    std::vector<std::byte> out_message;
    datagram_batch out;
    CHECK_FALSE(f.handle_control(sender_ep, wire::read_outer(d, ec), time_point{}, out, out_message, ec));
    CHECK(ec == errc::unexpected_type);
    CHECK(f.rx_streams() == 0);
    CHECK(out.empty());
}

TEST_CASE("nack_fragmenter: messages cut by gaps given up do not block the messages after them",
          "[fragment][repair]")
{
    // More cut messages than the reassembler keeps in flight per sender (16): before, their
    // fragments held every slot and each later message was refused, silently.
    fragment::repair_limits lim;
    lim.cache_bytes = 600; // the lost datagrams leave the cache before they are asked for: GONE
    lossy_link l(23, 1, 0.0, 0.0, lim);
    l.jitter_ms = 1;
    std::error_code ec;
    for (std::uint32_t i = 0; i < 40; ++i) {
        datagram_batch out;
        const auto m = message_of(i, 900); // 5 fragments of 200 bytes
        l.sender.split(m, l.dest(), l.now, out, ec);
        REQUIRE(out.size() == 5);
        datagram_batch kept;
        for (std::size_t k = 0; k < out.size(); ++k)
            if (i >= 20 || k != 2) // the middle fragment of each of the first 20 messages is lost
                kept.push(out[k].to, out[k].bytes);
        l.post(sender_ep, kept);
        l.run(std::chrono::milliseconds(1));
    }
    l.run(std::chrono::seconds(20));
    const auto& got = l.got[0];
    REQUIRE(got.size() == 20);
    for (std::uint32_t i = 0; i < 20; ++i)
        CHECK(index_of(got[i]) == 20 + i);
    CHECK_FALSE(l.notices.empty()); // every loss said
    CHECK(l.receivers[0].stats().reassembly.sender_busy_drops == 0);
}

TEST_CASE("nack_fragmenter: REPAIR_START says where a receiver's part of a group stream begins, not a loss",
          "[fragment][repair]")
{
    // A group stream with 10 datagrams sent before this receiver was added to it (a member that
    // joined a relay's shared stream mid-way), then more; message 10 is seq 10.
    auto sender = make(1);
    time_point now = time_point{} + std::chrono::seconds(1);
    std::vector<std::vector<std::byte>> data;
    std::error_code ec;
    for (std::uint32_t i = 0; i < 14; ++i) {
        datagram_batch out;
        sender.split(message_of(i, 100), group_ep, now, out, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(out.size() == 1);
        data.emplace_back(out[0].bytes.begin(), out[0].bytes.end());
    }
    const std::uint32_t stream = wire::decode_repair_data(wire::read_outer(data[0], ec).value, ec).stream;
    REQUIRE_FALSE(ec);
    std::vector<std::byte> start, spoof;
    wire::append_repair_start(start, stream, 10);
    wire::append_repair_data(spoof, stream, 0x80000000u,
                             wire::decode_repair_data(wire::read_outer(data[10], ec).value, ec).datagram, ec);

    // What a receiver gets and asks for in 2 s after hearing `script`: (bytes, in its records?).
    struct result {
        std::vector<std::uint32_t> got;
        std::uint64_t nacks = 0, notices = 0;
    };
    const auto hear = [&](const std::vector<std::pair<const std::vector<std::byte>*, bool>>& script) {
        auto r = make(2);
        result res;
        std::vector<std::byte> m;
        endpoint from;
        for (const auto& [bytes, in_record] : script) {
            datagram_batch out;
            r.handle_control(in_record ? sender_ep : sender_ep.without_port(), wire::read_outer(*bytes, ec), now, out, m,
                             ec);
        }
        for (time_point t = now; t < now + std::chrono::seconds(2); t += milliseconds(5))
            if (r.next_timer() <= t) {
                datagram_batch out;
                r.on_timer(t, out);
            }
        while (r.pop_message(from, m))
            res.got.push_back(index_of(m));
        fragment::repair_notice n;
        while (r.pop_notice(n))
            ++res.notices;
        res.nacks = r.stats().nacks_sent;
        return res;
    };
    const std::vector<std::uint32_t> from_10{10, 11, 12, 13};
    // Told first: nothing asked for, 10.. at once.
    auto r = hear({{&start, true}, {&data[10], false}, {&data[11], false}, {&data[12], false}, {&data[13], false}});
    CHECK(r.got == from_10);
    CHECK(r.nacks == 0);
    CHECK(r.notices == 0);
    // Not told: seq 10 is near the start, so 0..9 are asked for and 10.. wait behind them.
    r = hear({{&data[10], false}, {&data[11], false}});
    CHECK(r.nacks > 0);
    CHECK(r.got.empty());
    // Told after a datagram overtook the mark: the guess from 0 is corrected, no loss reported.
    r = hear({{&data[11], false}, {&start, true}, {&data[10], false}, {&data[12], false}, {&data[13], false}});
    CHECK(r.got == from_10);
    CHECK(r.notices == 0);
    // A datagram spoofed far ahead before the mark does not leave the receiver deaf: the mark moves
    // the stream back (the spoof, a copy of 10's fragment, and the real 10 complete one message).
    r = hear({{&spoof, false}, {&start, true}, {&data[10], false}, {&data[11], false}, {&data[12], false},
              {&data[13], false}});
    CHECK(r.got == from_10);
    // Taken once: a second mark (a replayed or later one) does not skip what is missing.
    std::vector<std::byte> later;
    wire::append_repair_start(later, stream, 12);
    r = hear({{&start, true}, {&later, true}, {&data[11], false}, {&data[12], false}});
    CHECK(r.got.empty()); // 10 missing: 11 and 12 wait for it
    CHECK(r.nacks > 0);
    // Refused bare (spoofable), and for a stream of one receiver that it does not read.
    auto bare = make(3);
    datagram_batch out;
    std::vector<std::byte> m;
    bare.handle_control(sender_ep.without_port(), wire::read_outer(start, ec), now, out, m, ec);
    CHECK(ec == errc::unexpected_type);
    std::vector<std::byte> unicast;
    wire::append_repair_start(unicast, 0x00000007u, 10);
    bare.handle_control(sender_ep, wire::read_outer(unicast, ec), now, out, m, ec);
    CHECK(ec == errc::unexpected_type);
    CHECK(bare.stats().refused == 2);
    CHECK(bare.rx_streams() == 0);
}

TEST_CASE("nack_fragmenter: a NACK below where a receiver was told it begins is answered with its "
          "REPAIR_START again, nothing below it repaired", "[fragment][repair]")
{
    // The receiver's REPAIR_START went out in one record and may have been lost: it then NACKs the
    // stream's history, which was never its (a relay's shared stream joined mid-way).
    auto sender = make(1);
    const time_point now = time_point{} + std::chrono::seconds(1);
    const endpoint late(0x0a000200, 6000), early(0x0a000201, 6000);
    std::error_code ec;
    const auto send = [&](std::uint32_t i) {
        datagram_batch out;
        sender.split(message_of(i, 100), group_ep, now, out, ec);
        REQUIRE_FALSE(ec);
    };
    for (std::uint32_t i = 0; i < 10; ++i)
        send(i);
    std::vector<std::byte> mark;
    REQUIRE(sender.append_start(group_ep, late, mark)); // `late` joins now: its part begins at 10
    std::uint32_t stream = 0;
    {
        const auto start = wire::decode_repair_mark(wire::tlv_type::repair_start, wire::read_outer(mark, ec).value, ec);
        REQUIRE_FALSE(ec);
        stream = start.stream;
        CHECK(start.value == 10);
    }
    for (std::uint32_t i = 10; i < 14; ++i)
        send(i);
    // What one NACK of `from` for `ranges` draws: (types of what goes to it, repairs sent).
    const auto ask = [&](const endpoint& from, std::vector<wire::repair_range> ranges) {
        std::vector<std::byte> nack;
        wire::append_repair_nack(nack, stream, ranges, ec);
        REQUIRE_FALSE(ec);
        datagram_batch out;
        std::vector<std::byte> m;
        const auto repairs = sender.stats().repairs_sent;
        sender.handle_control(from, wire::read_outer(nack, ec), now, out, m, ec);
        std::vector<wire::tlv_type> types;
        std::uint32_t said_start = 0;
        for (std::size_t k = 0; k < out.size(); ++k) {
            const auto t = wire::read_outer(out[k].bytes, ec);
            types.push_back(t.type());
            if (t.type() == wire::tlv_type::repair_start) {
                CHECK(out[k].to == from); // to the asker, in its records
                said_start = wire::decode_repair_mark(t.type(), t.value, ec).value;
            }
        }
        return std::tuple(types, sender.stats().repairs_sent - repairs, said_start);
    };
    // All below its start: the mark again, no repair.
    auto [types, repaired, said] = ask(late, {{0, 10}});
    CHECK(repaired == 0);
    CHECK(said == 10);
    CHECK(sender.stats().starts_resent == 1);
    // Across its start: the mark again, and only what is its own.
    std::tie(types, repaired, said) = ask(late, {{0, 12}});
    CHECK(repaired == 2); // 10, 11
    CHECK(said == 10);
    // Not from 0: it took a mark (this one or an earlier one, at an address since changed) and
    // asks for what it lost as a member: repaired as always.
    std::tie(types, repaired, said) = ask(late, {{5, 3}});
    CHECK(repaired == 3);
    CHECK(said == 0);
    // At or above its start: repaired as always, no mark (other seqs: repair_holdoff).
    std::tie(types, repaired, said) = ask(late, {{12, 2}});
    CHECK(repaired == 2);
    CHECK(said == 0);
    // A receiver never told a start (there from the beginning) gets the history.
    std::tie(types, repaired, said) = ask(early, {{0, 4}});
    CHECK(repaired == 4);
    CHECK(said == 0);
    // Once its address is forgotten (another process may take it), the start goes with it.
    sender.forget(late);
    std::tie(types, repaired, said) = ask(late, {{0, 2}});
    CHECK(said == 0);
    CHECK(sender.stats().starts_resent == 2);
}
