// SPDX-License-Identifier: BSL-1.0
// basic_nack_fragmenter with the cm256 Parity codec (built when libcm256cc is found): losses a
// block's parity covers are rebuilt without a NACK; NACKs are answered with fresh parity, one
// parity for different losses at different receivers; hostile parity is a counted drop.
#if defined(TLVCAST_HAS_FEC)
#include <tlvcast/fragment/fec/cm256_codec.hpp>
#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/wire/repair_parity.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <set>
#include <vector>

using namespace tlvcast;
using std::chrono::milliseconds;
using fec_fragmenter = fragment::basic_nack_fragmenter<fragment::seed_fragmenter, fragment::fec::cm256_codec>;

namespace {

const endpoint src(0x0a000001, 5000);
const endpoint group(0xe0010103, 5009);

fec_fragmenter make_fec(std::uint64_t seed, const fragment::repair_limits& lim)
{
    return fec_fragmenter(fragment::seed_fragmenter(seed, {}, 200), lim, seed * 7 + 1);
}

// A sender and n receivers (a group when n > 1); datagrams arrive 1 ms after they leave, in
// order. `lose(receiver, type, seq, first_time)` decides which are lost.
struct fec_net {
    using lose_fn = std::function<bool(std::size_t, wire::tlv_type, std::uint32_t, bool)>;
    struct flight {
        time_point at;
        endpoint from, to;
        std::vector<std::byte> bytes;
    };
    fec_fragmenter sender;
    std::vector<fec_fragmenter> rx;
    std::vector<endpoint> eps;
    std::vector<std::vector<std::vector<std::byte>>> got;
    std::vector<flight> wire;
    std::set<std::pair<std::size_t, std::uint32_t>> seen; ///< (receiver, seq) of REPAIR_DATA offered once
    lose_fn lose;
    time_point now{};

    fec_net(std::size_t n, const fragment::repair_limits& lim, lose_fn l) : sender(make_fec(1, lim)), lose(std::move(l))
    {
        for (std::size_t i = 0; i < n; ++i) {
            rx.push_back(make_fec(10 + i, lim));
            eps.emplace_back(0x0a000100 + static_cast<std::uint32_t>(i), 6000);
            got.emplace_back();
        }
    }
    endpoint dest() const { return rx.size() > 1 ? group : eps[0]; }

    void post(const endpoint& from, const datagram_batch& out)
    {
        for (std::size_t i = 0; i < out.size(); ++i) {
            const auto e = out[i];
            std::vector<std::size_t> targets;
            if (e.to == group)
                for (std::size_t r = 0; r < rx.size(); ++r)
                    targets.push_back(r);
            else if (e.to != src && e.to != src.without_port())
                targets.push_back(static_cast<std::size_t>(std::find(eps.begin(), eps.end(), e.to) - eps.begin()));
            std::error_code ec;
            const wire::tlv t = wire::read_outer(e.bytes, ec);
            REQUIRE_FALSE(ec);
            if (targets.empty()) { // to the sender
                wire.push_back({now + milliseconds(1), from, src, {e.bytes.begin(), e.bytes.end()}});
                continue;
            }
            for (const std::size_t r : targets) {
                std::uint32_t seq = 0;
                if (t.type() == wire::tlv_type::repair_data)
                    seq = wire::decode_repair_data(t.value, ec).seq;
                const bool first = t.type() == wire::tlv_type::repair_data && seen.insert({r, seq}).second;
                if (!lose(r, t.type(), seq, first))
                    wire.push_back({now + milliseconds(1), from, eps[r], {e.bytes.begin(), e.bytes.end()}});
            }
        }
    }

    void step_to(time_point when)
    {
        now = when;
        std::vector<flight> due;
        for (auto it = wire.begin(); it != wire.end();)
            if (it->at <= now)
                due.push_back(std::move(*it)), it = wire.erase(it);
            else
                ++it;
        for (const auto& d : due) {
            const bool to_sender = d.to == src;
            const std::size_t r = to_sender ? 0 : static_cast<std::size_t>(std::find(eps.begin(), eps.end(), d.to) - eps.begin());
            auto& f = to_sender ? sender : rx[r];
            datagram_batch out;
            std::vector<std::byte> m;
            std::error_code ec;
            const wire::tlv t = wire::read_outer(d.bytes, ec);
            f.handle_control(d.from, t, now, out, m, ec);
            post(d.to, out);
        }
        datagram_batch out;
        if (sender.next_timer() <= now)
            sender.on_timer(now, out), post(src, out);
        for (std::size_t r = 0; r < rx.size(); ++r)
            if (rx[r].next_timer() <= now) {
                out.clear();
                rx[r].on_timer(now, out);
                post(eps[r], out);
            }
        for (std::size_t r = 0; r < rx.size(); ++r) {
            endpoint from;
            std::vector<std::byte> m;
            while (rx[r].pop_message(from, m))
                got[r].push_back(m);
        }
    }

    void run_for(duration d)
    {
        const time_point end = now + d;
        while (now < end) {
            time_point t = std::min(sender.next_timer(), end);
            for (auto& f : rx)
                t = std::min(t, f.next_timer());
            for (const auto& w : wire)
                t = std::min(t, w.at);
            step_to(std::max(t, now + duration{1}));
        }
    }

    // `count` messages of one datagram each (100 bytes), one per millisecond.
    void send(std::uint32_t count)
    {
        for (std::uint32_t i = 0; i < count; ++i) {
            std::vector<std::byte> m(100, std::byte{static_cast<unsigned char>(i)});
            m[0] = std::byte{static_cast<unsigned char>(i >> 8)};
            datagram_batch out;
            std::error_code ec;
            sender.split(m, dest(), now, out, ec);
            REQUIRE_FALSE(ec);
            post(src, out);
            run_for(milliseconds(1));
        }
        run_for(std::chrono::seconds(2));
    }

    void check_all(std::uint32_t count) const
    {
        for (std::size_t r = 0; r < rx.size(); ++r) {
            INFO("receiver " << r);
            REQUIRE(got[r].size() == count);
            for (std::uint32_t i = 0; i < count; ++i)
                REQUIRE(got[r][i][1] == std::byte{static_cast<unsigned char>(i)});
        }
    }
};

fragment::repair_limits fec_limits(unsigned k, unsigned r)
{
    fragment::repair_limits lim;
    lim.fec_k = k;
    lim.fec_r = r;
    return lim;
}

} // namespace

TEST_CASE("FEC: a receiver missing at most r datagrams of each block sends no NACK", "[fec][nack]")
{
    // Two losses in blocks 0, 1 and 3, one in the last (short) block, none in block 2.
    const std::set<std::uint32_t> lost{1, 6, 8, 15, 24, 31, 33};
    fec_net net(1, fec_limits(8, 2), [&](std::size_t, wire::tlv_type type, std::uint32_t seq, bool first) {
        return type == wire::tlv_type::repair_data && first && lost.contains(seq);
    });
    net.send(36); // 4 blocks of 8 (2 parity each) and a short one of 4 (1 parity), closed by the first tail
    net.check_all(36);
    const auto rs = net.rx[0].stats();
    CHECK(rs.nacks_sent == 0);
    CHECK(rs.fec_recovered == lost.size());
    CHECK(rs.fec_decode_failed == 0);
    CHECK(net.sender.stats().parity_sent == 9);
    CHECK(net.sender.stats().repairs_sent == 0);
}

TEST_CASE("FEC: more losses than parity are NACKed and answered with fresh parity, not the datagrams", "[fec][nack]")
{
    const std::set<std::uint32_t> lost{2, 3, 4, 5};
    fec_net net(1, fec_limits(8, 2), [&](std::size_t, wire::tlv_type type, std::uint32_t seq, bool first) {
        return type == wire::tlv_type::repair_data && first && lost.contains(seq);
    });
    net.send(16);
    net.check_all(16);
    CHECK(net.rx[0].stats().nacks_sent >= 1);
    CHECK(net.sender.stats().parity_repairs_sent >= 2);
    CHECK(net.sender.stats().repairs_sent == 0);
    CHECK(net.rx[0].stats().fec_recovered == lost.size());
}

TEST_CASE("FEC: one parity datagram repairs different losses at different receivers", "[fec][nack]")
{
    // No proactive parity: each of three receivers loses a different datagram of block 0.
    fec_net net(3, fec_limits(8, 0), [](std::size_t r, wire::tlv_type type, std::uint32_t seq, bool first) {
        return type == wire::tlv_type::repair_data && first && seq == 1 + 2 * r;
    });
    net.send(8);
    net.check_all(8);
    const auto s = net.sender.stats();
    CHECK(s.repairs_sent == 0);
    CHECK(s.parity_repairs_sent >= 1);
    CHECK(s.parity_repairs_sent < 3); // fewer than the three retransmissions NACK alone sends
    std::uint64_t recovered = 0;
    for (auto& f : net.rx)
        recovered += f.stats().fec_recovered;
    CHECK(recovered == 3);
}

TEST_CASE("FEC: fec_k = 0 turns it off at run time (the programs' --reliability nack)", "[fec][nack]")
{
    const std::set<std::uint32_t> lost{1, 6};
    fec_net net(1, fec_limits(0, 2), [&](std::size_t, wire::tlv_type type, std::uint32_t seq, bool first) {
        return type == wire::tlv_type::repair_data && first && lost.contains(seq);
    });
    net.send(16);
    net.check_all(16);
    CHECK(net.sender.stats().parity_sent == 0);
    CHECK(net.sender.stats().repairs_sent == lost.size()); // plain retransmissions
    CHECK(net.rx[0].stats().nacks_sent >= 1);
    CHECK(net.rx[0].buffered_bytes() == 0); // no datagrams kept to decode with
    // REPAIR_PARITY is refused, as by a fragmenter without a codec.
    std::vector<std::byte> tlv;
    std::error_code ec;
    const auto sym = wire::append_repair_parity(tlv, 1, 0, 1, 0, 6, ec);
    std::fill(sym.begin(), sym.end(), std::byte{0});
    datagram_batch out;
    std::vector<std::byte> m;
    net.rx[0].handle_control(src, wire::read_outer(tlv, ec), net.now, out, m, ec);
    CHECK(ec == errc::unexpected_type);
}

TEST_CASE("FEC: hostile parity is a counted drop; rebuilt bytes face the checks of received ones", "[fec][hostile]")
{
    fec_net net(1, fec_limits(8, 2), [](std::size_t, wire::tlv_type type, std::uint32_t seq, bool first) {
        return type == wire::tlv_type::repair_data && first && seq == 3;
    });
    auto& f = net.rx[0];
    // A stream heard (datagram 0 arrives), then parity the receiver must refuse or discard.
    std::uint32_t stream = 0;
    {
        std::vector<std::byte> m(100, std::byte{0});
        datagram_batch out;
        std::error_code ec;
        net.sender.split(m, net.dest(), net.now, out, ec);
        REQUIRE_FALSE(ec);
        stream = wire::decode_repair_data(wire::read_outer(out[0].bytes, ec).value, ec).stream;
        REQUIRE_FALSE(ec);
        net.post(src, out);
        net.run_for(milliseconds(1));
    }
    REQUIRE(net.got[0].size() == 1);
    const auto feed = [&](std::uint32_t id, std::uint32_t first, std::uint8_t count, std::uint8_t index,
                          std::vector<std::byte> symbol) {
        std::vector<std::byte> value(10);
        wire::detail::store_u32(value.data(), id);
        wire::detail::store_u32(value.data() + 4, first);
        value[8] = std::byte{count};
        value[9] = std::byte{index};
        value.insert(value.end(), symbol.begin(), symbol.end());
        std::vector<std::byte> tlv(4);
        wire::detail::store_u16(tlv.data(), static_cast<std::uint16_t>(wire::tlv_type::repair_parity));
        wire::detail::store_u16(tlv.data() + 2, static_cast<std::uint16_t>(value.size()));
        tlv.insert(tlv.end(), value.begin(), value.end());
        std::error_code ec;
        const wire::tlv t = wire::read_outer(tlv, ec);
        datagram_batch out;
        std::vector<std::byte> m;
        f.handle_control(src, t, net.now, out, m, ec);
        return ec;
    };
    const std::vector<std::byte> garbage(120, std::byte{0x5a});
    CHECK(feed(stream, 0, 0, 0, garbage) == errc::malformed);            // count 0
    CHECK(feed(stream, 0, 200, 60, garbage) == errc::malformed);         // count + index > 255
    CHECK(feed(stream ^ 1, 0, 8, 0, garbage) == errc::unexpected_type);  // no such stream
    CHECK(feed(stream, 0xfffffffcu, 8, 0, garbage) == errc::malformed);  // past the last seq
    CHECK(feed(stream, 1u << 20, 8, 0, garbage) == errc::reassembly_full); // beyond the window
    // Forged parity for a block [1, 3): one erasure (seq 1 and 2 never sent yet), one parity:
    // decodes into bytes that are no datagram: counted, nothing delivered.
    CHECK_FALSE(feed(stream, 1, 2, 0, std::vector<std::byte>(300, std::byte{0x11})));
    CHECK(feed(stream, 1, 2, 1, std::vector<std::byte>(301, std::byte{0x11})) == errc::malformed); // size differs
    CHECK(f.stats().parity_dropped == 6);
    CHECK(f.stats().fec_recovered == 0);
    CHECK(net.got[0].size() == 1);
    // Bounded: parity for many blocks keeps at most fec_blocks of them.
    for (std::uint32_t b = 0; b < 100; ++b)
        feed(stream, 100 + 8 * b, 8, 0, garbage);
    CHECK(f.buffered_bytes() <= f.limits().fec_blocks * garbage.size() + f.limits().fec_recent_bytes);
    // The stream still works: what the sender sends next arrives, datagram 3's loss included.
    net.send(20);
    REQUIRE(net.got[0].size() == 21);
}
#endif
