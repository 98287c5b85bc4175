// SPDX-License-Identifier: BSL-1.0
// libFuzzer harness for tlvcast::fragment::nack_fragmenter: a sender A and a receiver B exchange
// REPAIR_* datagrams through a hostile network that drops, duplicates, forges and replays.
//
// Input: records of one op byte and up to 12 parameter bytes (B delivers unordered when the
// input's length is odd). Ops: A splits a message (raw, or one TLV that leaves whole) to B, to the
// group or to a stranger; the network delivers, drops or duplicates a queued datagram either way
// (a datagram to the group reaches B under A's address without a port, as the client engine hears
// the relay's bare stream); forged TAIL/GONE/START/DATA/NACK with stream ids and seqs near the real ones
// or at the top of the seq space; raw bytes as a repair TLV's value; the clock advances and both
// timers run; forget().
// Invariants after every step: streams within max_streams (both sides); one call sends at most
// repairs_per_nack datagrams; every datagram either side sends is a well-formed repair TLV; the
// queues of completed messages and notices are drained each step; ASan/UBSan find the rest.
// It also checks that no notice spans more than `window` datagrams and that after on_timer() the
// next timer is in the future (no busy loop): the review found both broken, both fixed since.
// With libcm256cc (TLVCAST_HAS_FEC) both sides do FEC: blocks of 4 with 1 parity, forged
// REPAIR_PARITY (bad count/index, sizes, symbols), and the bytes either side holds stay within
// the three totals (cache, held, FEC).
#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/wire/repair.hpp>
#include <tlvcast/wire/repair_parity.hpp>
#if defined(TLVCAST_HAS_FEC)
#include <tlvcast/fragment/fec/cm256_codec.hpp>
#endif

#include "fuzz_check.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <span>
#include <utility>
#include <vector>

namespace {

using namespace tlvcast;
using namespace std::chrono_literals;

#if defined(TLVCAST_HAS_FEC)
using fragmenter = fragment::basic_nack_fragmenter<fragment::seed_fragmenter, fragment::fec::cm256_codec>;
#else
using fragmenter = fragment::nack_fragmenter;
#endif

const endpoint a_ep(0x0a000001, 5000);
const endpoint b_ep(0x0a000002, 6000);
const endpoint c_ep(0x0a000003, 6001);
const endpoint group_ep(0xe0010102, 5008);

fragment::repair_limits small_limits()
{
    fragment::repair_limits l;
    l.cache_bytes = 4000;
    l.cache_age = 2s;
    l.max_streams = 8;
    l.streams_per_source = 2;
    l.window = 32;
    l.held_bytes = 2000;
    l.backfill = 16;
    l.gap_timeout = 3s;
    l.total_cache_bytes = 12000;
    l.total_held_bytes = 6000;
    l.repair_burst_bytes = 8000;
    l.repairs_per_nack = 16;
    l.tails = 2;
    l.idle = 5s;
    l.fec_k = 4;
    l.fec_r = 1;
    l.fec_blocks_kept = 4;
    l.fec_blocks = 3;
    l.fec_parity_bytes = 2000;
    l.fec_recent_bytes = 2000;
    l.fec_total_bytes = 6000;
    return l;
}

struct reader {
    const std::uint8_t* p;
    std::size_t n;
    std::uint8_t u8() { return n ? (--n, *p++) : 0; }
    std::uint32_t u32() { return std::uint32_t{u8()} << 24 | std::uint32_t{u8()} << 16 | std::uint32_t{u8()} << 8 | u8(); }
};

struct side {
    fragmenter f;
    endpoint self;
    std::deque<std::pair<endpoint, std::vector<std::byte>>> outbox; // (to, bytes)
    std::vector<std::uint32_t> ids;                                  // stream ids seen on its datagrams
};

void take(side& s, const datagram_batch& out, const fragment::repair_limits& lim, bool from_timer)
{
    // One NACK: at most repairs_per_nack datagrams (GONEs included); a timer: a tail and a NACK per stream.
    if (!from_timer)
        FUZZ_CHECK(out.size() <= lim.repairs_per_nack + 1);
    for (std::size_t i = 0; i < out.size() && s.outbox.size() < 4096; ++i) {
        s.outbox.emplace_back(out[i].to, std::vector<std::byte>(out[i].bytes.begin(), out[i].bytes.end()));
        std::error_code ec;
        const wire::tlv t = wire::read_outer(out[i].bytes, ec);
        FUZZ_CHECK(!ec);
        FUZZ_CHECK(fragmenter::handles(t.type()));
        if (t.value.size() >= 4 && s.ids.size() < 64) {
            const std::uint32_t id = static_cast<std::uint32_t>(std::to_integer<unsigned>(t.value[0])) << 24 |
                                     static_cast<std::uint32_t>(std::to_integer<unsigned>(t.value[1])) << 16 |
                                     static_cast<std::uint32_t>(std::to_integer<unsigned>(t.value[2])) << 8 |
                                     static_cast<std::uint32_t>(std::to_integer<unsigned>(t.value[3]));
            s.ids.push_back(id);
        }
    }
}

void drain(side& s, const fragment::repair_limits& lim)
{
    endpoint from;
    std::vector<std::byte> m;
    while (s.f.pop_message(from, m)) {
    }
    fragment::repair_notice n;
    while (s.f.pop_notice(n)) {
        FUZZ_CHECK(n.last >= n.first);
        FUZZ_CHECK(n.last - n.first < lim.window);
    }
    FUZZ_CHECK(s.f.rx_streams() <= lim.max_streams);
    FUZZ_CHECK(s.f.tx_streams() <= lim.max_streams);
    FUZZ_CHECK(s.f.buffered_bytes() <= lim.total_cache_bytes + lim.total_held_bytes + lim.fec_total_bytes);
}

void feed(side& to, const endpoint& from, std::span<const std::byte> bytes, time_point now,
          const fragment::repair_limits& lim, side& reply_owner)
{
    std::error_code ec;
    const wire::tlv t = wire::read_outer(bytes, ec);
    if (ec || !fragmenter::handles(t.type()))
        return;
    datagram_batch out;
    std::vector<std::byte> m;
    to.f.handle_control(from, t, now, out, m, ec);
    take(reply_owner, out, lim, false);
    drain(to, lim);
}

std::uint32_t seq_near(reader& r, std::uint32_t real)
{
    switch (r.u8() % 5) {
    case 0: return real + (r.u8() % 40);
    case 1: return real - (r.u8() % 40);
    case 2: return 0xffffffffu - (r.u8() % 4);
    case 3: return r.u32();
    default: return r.u8() % 64;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto lim = small_limits();
    // B delivers unordered for inputs of odd length (whole messages ahead of a gap).
    auto lim_b = lim;
    lim_b.ordered = size % 2 == 0;
    side a{fragmenter(fragment::seed_fragmenter(1, {}, 100, 200), lim, 2), a_ep, {}, {}};
    side b{fragmenter(fragment::seed_fragmenter(3, {}, 100, 200), lim_b, 4), b_ep, {}, {}};
    time_point now = time_point{} + 1000s;
    reader r{data, size};
    std::uint32_t msg = 0;
    while (r.n > 0) {
        const std::uint8_t op = r.u8();
        switch (op % 9) {
        case 0: { // A sends a message
            const std::uint8_t d = r.u8();
            const endpoint to = d % 3 == 0 ? group_ep : d % 3 == 1 ? b_ep : c_ep;
            std::vector<std::byte> m(r.u8() * 3 + 1, std::byte{static_cast<unsigned char>(msg++)});
            if (d & 4 && m.size() >= 4) { // one TLV (a type the table does not know): whole up to 200 bytes
                m[0] = std::byte{0x7f}, m[1] = std::byte{0};
                m[2] = std::byte{static_cast<unsigned char>((m.size() - 4) >> 8)};
                m[3] = std::byte{static_cast<unsigned char>((m.size() - 4) & 0xff)};
            }
            datagram_batch out;
            std::error_code ec;
            a.f.split(m, to, now, out, ec);
            take(a, out, lim, true);
            break;
        }
        case 1:
        case 2: { // the network: A -> B (group: bare), or B -> A
            side& from = op % 9 == 1 ? a : b;
            side& to = op % 9 == 1 ? b : a;
            if (from.outbox.empty())
                break;
            const std::uint8_t how = r.u8();
            auto d = from.outbox.front();
            if (how % 4 != 3) // 3: a duplicate, left in the queue
                from.outbox.pop_front();
            if (how % 4 == 0) // lost
                break;
            if (op % 9 == 1 && !(d.first == b_ep || d.first == group_ep))
                break; // to the stranger
            const endpoint src = op % 9 == 1 ? (d.first == group_ep ? a_ep.without_port() : a_ep) : b_ep;
            feed(to, src, d.second, now, lim, to);
            break;
        }
        case 3:
        case 4: { // forged repair TLVs
            side& to = op % 9 == 3 ? b : a;
            const std::uint8_t who = r.u8();
            const endpoint src = who % 4 == 0   ? a_ep.without_port()
                                 : who % 4 == 1 ? (op % 9 == 3 ? a_ep : b_ep)
                                 : who % 4 == 2 ? c_ep
                                                : c_ep.without_port();
            const auto& pool = a.ids; // A's stream ids (on its data, tails, GONEs and B's NACKs)
            const std::uint32_t stream = !pool.empty() && r.u8() % 4 != 0 ? pool[r.u8() % pool.size()] : r.u32();
            std::vector<std::byte> bytes;
            std::error_code ec;
            switch (r.u8() % 6) {
            case 5: wire::append_repair_start(bytes, stream, seq_near(r, 0)); break;
            case 4: { // REPAIR_PARITY: any count and index the encoder allows, a symbol of any size
                const auto count = static_cast<std::uint8_t>(1 + r.u8() % 8);
                const auto index = static_cast<std::uint8_t>(r.u8() % 4);
                const std::size_t sb = wire::repair_parity_min_symbol + r.u8();
                const auto sym = wire::append_repair_parity(bytes, stream, seq_near(r, 0), count, index, sb, ec);
                for (auto& x : sym)
                    x = std::byte{r.u8()};
                break;
            }
            case 0: {
                const std::vector<std::byte> inner{std::byte{0}, std::byte{9}, std::byte{0}, std::byte{0}};
                wire::append_repair_data(bytes, stream, seq_near(r, 0), inner, ec);
                break;
            }
            case 1: wire::append_repair_tail(bytes, stream, seq_near(r, 0)); break;
            case 2: wire::append_repair_gone(bytes, stream, seq_near(r, 0), r.u32() | 1u); break;
            default: {
                std::vector<wire::repair_range> ranges(1 + r.u8() % 64);
                for (auto& x : ranges)
                    x = {seq_near(r, 0), static_cast<std::uint16_t>(1 + r.u8() * 257)};
                wire::append_repair_nack(bytes, stream, ranges, ec);
                break;
            }
            }
            if (!ec)
                feed(to, src, bytes, now, lim, to);
            break;
        }
        case 5: { // raw value
            side& to = r.u8() % 2 ? a : b;
            const std::uint16_t type = static_cast<std::uint16_t>(33 + r.u8() % 6); // 33..38
            const std::size_t len = std::min<std::size_t>(r.u8(), r.n);
            std::vector<std::byte> bytes(4 + len);
            bytes[0] = std::byte(type >> 8), bytes[1] = std::byte(type & 0xff);
            bytes[2] = std::byte(len >> 8), bytes[3] = std::byte(len & 0xff);
            for (std::size_t i = 0; i < len; ++i)
                bytes[4 + i] = std::byte{r.u8()};
            feed(to, r.u8() % 2 ? b_ep : a_ep.without_port(), bytes, now, lim, to);
            break;
        }
        case 6:
        case 7: { // time passes
            now += std::chrono::milliseconds(1 + r.u8() * (op % 9 == 6 ? 1 : 40));
            for (side* s : {&a, &b}) {
                if (s->f.next_timer() <= now) {
                    datagram_batch out;
                    s->f.on_timer(now, out);
                    take(*s, out, lim, true);
                    FUZZ_CHECK(s->f.next_timer() > now);
                }
                drain(*s, lim);
            }
            break;
        }
        default: { // forget
            const std::uint8_t w = r.u8();
            side& s = w % 2 ? a : b;
            s.f.forget(w % 4 < 2 ? b_ep : a_ep.without_port());
            drain(s, lim);
            break;
        }
        }
    }
    return 0;
}
