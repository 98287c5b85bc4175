// SPDX-License-Identifier: BSL-1.0
// Adversarial review of the FEC change (branch fec): REPAIR_PARITY (type 38), the cm256 codec and
// basic_nack_fragmenter<Inner, cm256_codec>. Each test is an attack; a finding that is not fixed
// is tagged [!shouldfail] with the finding named in a comment.
#if defined(TLVCAST_HAS_FEC)
#include <tlvcast/fragment/fec/cm256_codec.hpp>
#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/wire/repair_parity.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <algorithm>
#include <vector>

using namespace tlvcast;
using std::chrono::milliseconds;
using rfec_fragmenter = fragment::basic_nack_fragmenter<fragment::seed_fragmenter, fragment::fec::cm256_codec>;

namespace {

const endpoint rfec_peer(0x0a000001, 5000);      // an authenticated peer (records: a port)
const endpoint rfec_other(0x0a000001, 5001);     // another authenticated peer on the same host
const endpoint rfec_bare(0x0a000001, 0);         // the same host, unauthenticated (no port)
constexpr std::uint32_t rfec_unicast_id = 0x40000123u; // bit 30: a parity-carrying unicast stream
constexpr std::uint32_t rfec_group_id = 0xc0000456u;   // bits 31 and 30: a group's parity stream

/// An inner datagram: one TLV of type 21 (SECURE_MESSAGE) whose value is `n` bytes of `fill` (a whole message).
std::vector<std::byte> rfec_inner(std::size_t n, unsigned char fill)
{
    std::vector<std::byte> d(4 + n, std::byte{fill});
    wire::detail::store_u16(d.data(), 21);
    wire::detail::store_u16(d.data() + 2, static_cast<std::uint16_t>(n));
    return d;
}

struct rfec_rx {
    rfec_fragmenter f;
    time_point now{};
    std::vector<std::vector<std::byte>> got;

    explicit rfec_rx(const fragment::repair_limits& lim = {})
        : f(fragment::seed_fragmenter(3, {}, 1400), lim, 77)
    {
    }

    std::error_code feed_tlv(const endpoint& from, std::uint16_t type, const std::vector<std::byte>& value)
    {
        std::vector<std::byte> tlv(4);
        wire::detail::store_u16(tlv.data(), type);
        wire::detail::store_u16(tlv.data() + 2, static_cast<std::uint16_t>(value.size()));
        tlv.insert(tlv.end(), value.begin(), value.end());
        std::error_code ec;
        const wire::tlv t = wire::read_outer(tlv, ec);
        REQUIRE_FALSE(ec);
        datagram_batch out;
        std::vector<std::byte> m;
        f.handle_control(from, t, now, out, m, ec);
        endpoint src;
        while (f.pop_message(src, m))
            got.push_back(m);
        return ec;
    }
    std::error_code data(const endpoint& from, std::uint32_t id, std::uint32_t seq, const std::vector<std::byte>& inner)
    {
        std::vector<std::byte> v(8);
        wire::detail::store_u32(v.data(), id);
        wire::detail::store_u32(v.data() + 4, seq);
        v.insert(v.end(), inner.begin(), inner.end());
        return feed_tlv(from, static_cast<std::uint16_t>(wire::tlv_type::repair_data), v);
    }
    std::error_code parity(const endpoint& from, std::uint32_t id, std::uint32_t first, std::uint8_t count,
                           std::uint8_t index, const std::vector<std::byte>& symbol)
    {
        std::vector<std::byte> v(10);
        wire::detail::store_u32(v.data(), id);
        wire::detail::store_u32(v.data() + 4, first);
        v[8] = std::byte{count};
        v[9] = std::byte{index};
        v.insert(v.end(), symbol.begin(), symbol.end());
        return feed_tlv(from, static_cast<std::uint16_t>(wire::tlv_type::repair_parity), v);
    }
};

/// Parity symbols [first, first + n) of the block whose inner datagrams are `block`, padded to
/// `sb` (at least 2 + the longest), as a sender computes them.
std::vector<std::vector<std::byte>> rfec_parity(const std::vector<std::vector<std::byte>>& block, std::size_t sb,
                                                unsigned first, unsigned n)
{
    std::vector<std::byte> syms(block.size() * sb);
    std::vector<const std::byte*> ptrs;
    for (std::size_t i = 0; i < block.size(); ++i) {
        wire::write_data_symbol(block[i], std::span<std::byte>(syms.data() + i * sb, sb));
        ptrs.push_back(syms.data() + i * sb);
    }
    std::vector<std::byte> out(n * sb);
    fragment::fec::cm256_codec c;
    std::error_code ec;
    c.encode(ptrs, sb, first, out, ec);
    REQUIRE_FALSE(ec);
    std::vector<std::vector<std::byte>> r;
    for (unsigned j = 0; j < n; ++j)
        r.emplace_back(out.begin() + static_cast<std::ptrdiff_t>(j * sb),
                       out.begin() + static_cast<std::ptrdiff_t>((j + 1) * sb));
    return r;
}

} // namespace

TEST_CASE("review fec: a datagram rebuilt from parity and then received is delivered once, in order",
          "[fec][review]")
{
    rfec_rx rx;
    std::vector<std::vector<std::byte>> block;
    for (unsigned i = 0; i < 16; ++i)
        block.push_back(rfec_inner(20 + 7 * i, static_cast<unsigned char>(i)));
    const std::size_t sb = wire::data_symbol_size(block.back().size());
    const auto par = rfec_parity(block, sb, 0, 2);
    for (std::uint32_t i = 0; i < 16; ++i)
        if (i != 3 && i != 9)
            CHECK_FALSE(rx.data(rfec_peer, rfec_unicast_id, i, block[i]));
    CHECK_FALSE(rx.parity(rfec_peer, rfec_unicast_id, 0, 16, 0, par[0]));
    CHECK_FALSE(rx.parity(rfec_peer, rfec_unicast_id, 0, 16, 1, par[1]));
    CHECK(rx.f.stats().fec_recovered == 2);
    // The originals arrive late, and the parity again: duplicates, nothing delivered twice.
    CHECK(rx.data(rfec_peer, rfec_unicast_id, 3, block[3]) == errc::duplicate_fragment);
    CHECK(rx.data(rfec_peer, rfec_unicast_id, 9, block[9]) == errc::duplicate_fragment);
    CHECK(rx.parity(rfec_peer, rfec_unicast_id, 0, 16, 0, par[0]) == errc::duplicate_fragment);
    REQUIRE(rx.got.size() == 16);
    for (unsigned i = 0; i < 16; ++i)
        CHECK(rx.got[i] == block[i]);
}

TEST_CASE("review fec: parity without a port, or from another peer, cannot reach an authenticated stream",
          "[fec][review]")
{
    rfec_rx rx;
    std::vector<std::vector<std::byte>> block{rfec_inner(30, 1), rfec_inner(30, 2)};
    CHECK_FALSE(rx.data(rfec_peer, rfec_unicast_id, 0, block[0]));
    // A forger who knows datagram 0 computes parity that rebuilds datagram 1 as its own choice.
    std::vector<std::vector<std::byte>> forged{block[0], rfec_inner(30, 0x66)};
    const auto par = rfec_parity(forged, wire::data_symbol_size(34), 0, 1);
    CHECK(rx.parity(rfec_bare, rfec_unicast_id, 0, 2, 0, par[0]) == errc::unexpected_type);
    CHECK(rx.parity(rfec_other, rfec_unicast_id, 0, 2, 0, par[0]) == errc::unexpected_type);
    CHECK(rx.f.stats().fec_recovered == 0);
    CHECK(rx.got.size() == 1);
    // The real datagram 1 still arrives and is delivered.
    CHECK_FALSE(rx.data(rfec_peer, rfec_unicast_id, 1, block[1]));
    REQUIRE(rx.got.size() == 2);
    CHECK(rx.got[1] == block[1]);
}

TEST_CASE("review fec: parity over other bytes or with a smaller symbol than the data delivers nothing false",
          "[fec][review]")
{
    rfec_rx rx;
    std::vector<std::vector<std::byte>> block;
    for (unsigned i = 0; i < 8; ++i)
        block.push_back(rfec_inner(100, static_cast<unsigned char>(0x30 + i)));
    for (std::uint32_t i = 0; i < 8; ++i)
        if (i != 5)
            CHECK_FALSE(rx.data(rfec_peer, rfec_unicast_id, i, block[i]));
    // Symbol smaller than a held datagram's: this parity is over no such block.
    CHECK_FALSE(rx.parity(rfec_peer, rfec_unicast_id, 0, 8, 0, std::vector<std::byte>(50, std::byte{1})));
    CHECK(rx.f.stats().fec_decode_failed == 1);
    // Random bytes the right size: what they rebuild is no datagram (length or padding).
    CHECK_FALSE(rx.parity(rfec_peer, rfec_unicast_id, 0, 8, 1, std::vector<std::byte>(2 + 104 + 40, std::byte{0xa5})));
    CHECK(rx.f.stats().fec_decode_failed == 2);
    CHECK(rx.f.stats().fec_recovered == 0);
    CHECK(rx.got.size() == 5);
    // The genuine parity still repairs it (the forged blocks were dropped, not the stream).
    const auto par = rfec_parity(block, wire::data_symbol_size(104), 0, 1);
    CHECK_FALSE(rx.parity(rfec_peer, rfec_unicast_id, 0, 8, 0, par[0]));
    CHECK(rx.f.stats().fec_recovered == 1);
    REQUIRE(rx.got.size() == 8);
    CHECK(rx.got[5] == block[5]);
}

TEST_CASE("review fec: the codec at its edges (k = 1, symbol 1 byte, r > k, last index, bad input)",
          "[fec][review]")
{
    fragment::fec::cm256_codec c;
    std::error_code ec;
    // k = 1, 1-byte symbols, parity rows 0..9 (r > k), then each parity rebuilds the datum.
    std::byte datum{0x42};
    const std::byte* one[] = {&datum};
    std::vector<std::byte> par(10);
    c.encode(one, 1, 0, par, ec);
    REQUIRE_FALSE(ec);
    for (std::uint8_t j = 0; j < 10; ++j) {
        std::byte b = par[j];
        fragment::fec::symbol s[] = {{&b, static_cast<std::uint8_t>(1 + j)}};
        c.decode(s, 1, ec);
        REQUIRE_FALSE(ec);
        CHECK(*s[0].data == datum);
        CHECK(s[0].index == 0);
    }
    // The highest index: k = 3, parity row 252 (3 + 252 = 255).
    std::vector<std::byte> d(3 * 5);
    for (std::size_t i = 0; i < d.size(); ++i)
        d[i] = std::byte{static_cast<unsigned char>(i * 37 + 1)};
    const std::byte* three[] = {d.data(), d.data() + 5, d.data() + 10};
    std::vector<std::byte> last(5);
    c.encode(three, 5, 252, last, ec);
    REQUIRE_FALSE(ec);
    std::vector<std::byte> past(5);
    c.encode(three, 5, 253, past, ec); // 3 + 254 > 256 symbols
    CHECK(ec == errc::malformed);
    {
        std::vector<std::byte> a(d.begin(), d.begin() + 5), b(d.begin() + 10, d.end());
        fragment::fec::symbol s[] = {{a.data(), 0}, {last.data(), 255}, {b.data(), 2}};
        c.decode(s, 5, ec);
        REQUIRE_FALSE(ec);
        CHECK(std::equal(d.begin() + 5, d.begin() + 10, s[1].data));
        CHECK(s[1].index == 1);
    }
    // Refused, nothing touched: symbol size 0 and past the maximum, duplicate indices, null data,
    // k = 0 and 256, encode output not a multiple of the symbol size.
    std::vector<std::byte> x(8);
    fragment::fec::symbol dup[] = {{x.data(), 1}, {x.data(), 1}};
    c.decode(dup, 4, ec);
    CHECK(ec == errc::malformed);
    fragment::fec::symbol null[] = {{nullptr, 0}};
    c.decode(null, 4, ec);
    CHECK(ec == errc::malformed);
    fragment::fec::symbol zero[] = {{x.data(), 0}};
    c.decode(zero, 0, ec);
    CHECK(ec == errc::malformed);
    c.decode(zero, fragment::fec::cm256_codec::max_symbol_bytes + 1, ec);
    CHECK(ec == errc::malformed);
    c.decode(std::span<fragment::fec::symbol>{}, 4, ec);
    CHECK(ec == errc::malformed);
    std::vector<std::byte> y(7);
    c.encode(three, 5, 0, y, ec);
    CHECK(ec == errc::malformed);
    c.encode(three, 0, 0, y, ec);
    CHECK(ec == errc::malformed);
    std::vector<const std::byte*> many(256, d.data());
    std::vector<std::byte> z(5);
    c.encode(many, 5, 0, z, ec);
    CHECK(ec == errc::malformed);
}

TEST_CASE("review fec: wire edges of REPAIR_PARITY (count 255, index limits, minimum symbol, last seq)",
          "[fec][review]")
{
    std::error_code ec;
    std::vector<std::byte> v(10 + 6);
    v[8] = std::byte{255};
    v[9] = std::byte{0}; // 255 + 0 < 256
    const auto p = wire::decode_repair_parity(v, ec);
    CHECK_FALSE(ec);
    CHECK(p.count == 255);
    v[9] = std::byte{1};
    wire::decode_repair_parity(v, ec);
    CHECK(ec == errc::malformed);
    v.pop_back(); // symbol of 5 bytes
    v[9] = std::byte{0};
    wire::decode_repair_parity(v, ec);
    CHECK(ec == errc::truncated_header);
    std::vector<std::byte> w(16);
    wire::detail::store_u32(w.data() + 4, 0xffffffffu - 1);
    w[8] = std::byte{1}; // [0xfffffffe, 0xffffffff): the last seq a stream sends
    wire::decode_repair_parity(w, ec);
    CHECK_FALSE(ec);
    w[8] = std::byte{2};
    wire::decode_repair_parity(w, ec);
    CHECK(ec == errc::malformed);
}

// FINDING 1 (medium, DoS by CPU): a peer (a member toward the relay, or a spoofer of a group's bare
// stream) chooses a block's count and symbol size: count 255 over tiny datagrams with 60 KB symbols
// costs the receiver a decode over 255 x 60 KB (15 MB written, coded and checked) per parity
// datagram, 255 times the bytes received, on the engine's one thread. A sender never makes a block
// longer than fec_k (both sides use the same setting), so a block longer than the receiver's
// fec_k is refused before any decode: the work per received parity byte is then at most fec_k.
TEST_CASE("review fec: a forged block longer than fec_k is refused before any decode", "[fec][review]")
{
    rfec_rx rx;
    for (std::uint32_t i = 0; i < 254; ++i)
        REQUIRE_FALSE(rx.data(rfec_peer, rfec_unicast_id, i, rfec_inner(0, 0)));
    const std::vector<std::byte> big(60000, std::byte{0x5a});
    const auto t0 = std::chrono::steady_clock::now();
    for (unsigned i = 0; i < 20; ++i)
        rx.parity(rfec_peer, rfec_unicast_id, 0, 255, 0, big);
    const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("review fec: 20 forged parity datagrams of a 255-long block: %.1f ms, %llu decodes\n", ms,
                static_cast<unsigned long long>(rx.f.stats().fec_decode_failed));
    CHECK(rx.f.stats().fec_decode_failed == 0);
    CHECK(rx.f.stats().parity_dropped == 20);
    CHECK(rx.got.size() == 254);
    // A block of fec_k (16) is still taken, decoded and refused as before (no datagram).
    CHECK_FALSE(rx.parity(rfec_peer, rfec_unicast_id, 239, 16, 0, big)); // [239, 255): one erasure
    CHECK(rx.f.stats().fec_decode_failed == 1);
}

// FINDING 2 (low, repair budget bypass): parity answers to a NACK were charged as n times the size
// of the block's FIRST datagram, while each parity datagram is as long as the block's LONGEST
// datagram + 4. A member whose message opens each block with a tiny datagram (the relay's blocks
// hold what members send) gets about 45x more parity from one NACK than repair_bytes_per_second
// allows. Charged now with the longest datagram of the block.
TEST_CASE("review fec: parity answers stay within the stream's repair byte budget", "[fec][review]")
{
    fragment::repair_limits lim;
    lim.repair_burst_bytes = 40000;
    lim.repair_bytes_per_second = 1;
    rfec_fragmenter tx(fragment::seed_fragmenter(5, {}, 1400), lim, 99);
    const endpoint dst(0x0a000002, 6000);
    time_point now{};
    std::uint32_t id = 0;
    for (unsigned b = 0; b < 20; ++b)
        for (unsigned i = 0; i < 16; ++i) {
            const std::vector<std::byte> m(i == 0 ? 1 : 1300, std::byte{static_cast<unsigned char>(i)});
            datagram_batch out;
            std::error_code ec;
            tx.split(m, dst, now, out, ec);
            REQUIRE_FALSE(ec);
            if (b == 0 && i == 0)
                id = wire::decode_repair_data(wire::read_outer(out[0].bytes, ec).value, ec).stream;
        }
    now += milliseconds(5);
    std::vector<std::byte> nack;
    const wire::repair_range all[] = {{0, 320}};
    std::error_code ec;
    wire::append_repair_nack(nack, id, all, ec);
    REQUIRE_FALSE(ec);
    datagram_batch out;
    std::vector<std::byte> m;
    tx.handle_control(dst, wire::read_outer(nack, ec), now, out, m, ec);
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const auto t = wire::read_outer(out[i].bytes, ec);
        if (t.type() == wire::tlv_type::repair_parity || t.type() == wire::tlv_type::repair_data)
            bytes += out[i].bytes.size();
    }
    std::printf("review fec: one NACK drew %zu repair bytes (burst %zu)\n", bytes, lim.repair_burst_bytes);
    CHECK(tx.stats().parity_repairs_sent > 0);
    CHECK(bytes <= lim.repair_burst_bytes + 1500);
}

// FINDING 3 (low, FEC starvation on a group's bare stream): a spoofer of the relay's address sent
// parity for eight blocks far ahead (within `window`) whose symbols filled fec_parity_bytes; those
// blocks never decode and stayed until the stream reached them, and a new block's parity was
// refused on bytes before the oldest block would be evicted: the group's FEC was off (NACKs only)
// until the stream moved 8,000 seqs. Spoofing REPAIR_DATA on the bare stream does more harm
// (documented), so this is no new trust. Fixed: a new block evicts the oldest by bytes as by count.
TEST_CASE("review fec: far-ahead forged parity does not turn a group's FEC off", "[fec][review]")
{
    rfec_rx rx;
    std::vector<std::vector<std::byte>> block;
    for (unsigned i = 0; i < 16; ++i)
        block.push_back(rfec_inner(600, static_cast<unsigned char>(i)));
    CHECK_FALSE(rx.data(rfec_bare, rfec_group_id, 0, block[0]));
    const std::vector<std::byte> big(65500, std::byte{0x77});
    for (std::uint32_t b = 0; b < 8; ++b)
        for (std::uint8_t j = 0; j < 2; ++j)
            CHECK_FALSE(rx.parity(rfec_bare, rfec_group_id, 8000 + 16 * b, 16, j, big));
    for (std::uint32_t i = 1; i < 16; ++i)
        if (i != 9)
            rx.data(rfec_bare, rfec_group_id, i, block[i]);
    const auto par = rfec_parity(block, wire::data_symbol_size(604), 0, 1);
    rx.parity(rfec_bare, rfec_group_id, 0, 16, 0, par[0]);
    CHECK(rx.f.stats().fec_recovered == 1);
}

// Three interleaved streams of one peer, random loss and local reordering of data and of genuine
// parity (blocks of 1..16, 1..4 parity each), with forged parity from the peer's address without a
// port and from another port mixed in: each stream delivers exactly a prefix of what was sent, in
// order, once (what the receiver rebuilt included); then every byte held is released.
TEST_CASE("review fec: random loss, reordering and forged parity: each stream delivers a prefix of what was sent",
          "[fec][review]")
{
    for (std::uint64_t seed = 1; seed <= 40; ++seed) {
        INFO("seed " << seed);
        std::mt19937_64 rng(seed);
        fragment::repair_limits lim;
        lim.fec_total_bytes = 200000; // small enough to be reached
        rfec_rx rx(lim);
        const std::uint32_t ids[] = {0x40000011u, 0x40000022u, 0x00000033u};
        struct event {
            bool parity;
            std::size_t stream;
            std::uint32_t first;
            std::uint8_t count, index;
            std::vector<std::byte> bytes;
        };
        std::vector<std::vector<std::vector<std::byte>>> sent(3);
        std::vector<event> events;
        for (std::size_t st = 0; st < 3; ++st) {
            std::uint32_t seq = 0;
            while (seq < 120) {
                const auto count = static_cast<std::uint8_t>(1 + rng() % 16);
                std::vector<std::vector<std::byte>> block;
                std::size_t longest = 0;
                for (unsigned i = 0; i < count; ++i) {
                    auto d = rfec_inner(2 + rng() % 300, static_cast<unsigned char>(rng()));
                    d[4] = std::byte{static_cast<unsigned char>(st)};
                    d[5] = std::byte{static_cast<unsigned char>(seq + i)};
                    longest = std::max(longest, d.size());
                    block.push_back(d);
                    sent[st].push_back(d);
                    events.push_back({false, st, seq + i, 0, 0, d});
                }
                const unsigned r = 1 + rng() % 4;
                const auto par = rfec_parity(block, wire::data_symbol_size(longest), 0, r);
                for (unsigned j = 0; j < r; ++j)
                    events.push_back({true, st, seq, count, static_cast<std::uint8_t>(j), par[j]});
                seq += count;
            }
        }
        // Interleave the streams (stable within each), then swap neighbours now and then.
        std::stable_sort(events.begin(), events.end(), [](const event& a, const event& b) {
            return a.first + (a.parity ? a.count : 0) < b.first + (b.parity ? b.count : 0);
        });
        for (std::size_t i = 1; i < events.size(); ++i)
            if (rng() % 4 == 0)
                std::swap(events[i - 1], events[i]);
        for (const auto& e : events) {
            rx.now += std::chrono::microseconds(50);
            if (rng() % 5 == 0)
                continue; // lost
            if (e.parity) {
                if (rng() % 6 == 0) { // a forgery alongside, from no port or another port
                    std::vector<std::byte> junk(e.bytes.size(), std::byte{static_cast<unsigned char>(rng())});
                    rx.parity(rng() % 2 ? rfec_bare : rfec_other, ids[e.stream], e.first, e.count,
                              static_cast<std::uint8_t>(e.index + 1), junk);
                }
                rx.parity(rfec_peer, ids[e.stream], e.first, e.count, e.index, e.bytes);
            } else {
                rx.data(rfec_peer, ids[e.stream], e.first, e.bytes);
            }
        }
        std::vector<std::vector<std::vector<std::byte>>> got(3);
        for (const auto& m : rx.got) {
            REQUIRE(m.size() >= 6);
            got[static_cast<std::size_t>(m[4])].push_back(m);
        }
        for (std::size_t st = 0; st < 3; ++st) {
            REQUIRE(got[st].size() <= sent[st].size());
            for (std::size_t i = 0; i < got[st].size(); ++i)
                REQUIRE(got[st][i] == sent[st][i]);
        }
        CHECK(rx.f.stats().fec_recovered > 0);
        rx.f.forget(rfec_peer);
        rx.f.forget(rfec_other);
        CHECK(rx.f.rx_streams() == 0);
        CHECK(rx.f.buffered_bytes() == 0);
    }
}

// The limits' edges end to end: k = 255 with no proactive parity (one fresh index left, then the
// datagrams themselves), k = 1 (parity is a copy), k = 254 with r = 1. One datagram lost at the
// receiver, NACKed twice: rebuilt from parity or retransmitted, delivered once, equal.
TEST_CASE("review fec: fec_k 255, 254 and 1: indices run out into retransmission, no overflow", "[fec][review]")
{
    const struct {
        unsigned k, r;
    } cases[] = {{255, 0}, {254, 1}, {1, 2}};
    for (const auto& c : cases) {
        INFO("k " << c.k << " r " << c.r);
        fragment::repair_limits lim;
        lim.fec_k = c.k;
        lim.fec_r = c.r;
        rfec_fragmenter tx(fragment::seed_fragmenter(5, {}, 1400), lim, 99);
        rfec_rx rx(lim);
        const endpoint dst(0x0a000002, 6000);
        std::vector<std::vector<std::byte>> sent;
        std::uint32_t id = 0;
        const std::uint32_t lost = c.k == 1 ? 1 : 100; // not 0: parity opens no stream
        std::vector<std::vector<std::byte>> parity_seen;
        const auto to_rx = [&](const datagram_batch& out, bool drop_lost) {
            for (std::size_t i = 0; i < out.size(); ++i) {
                std::error_code ec;
                const auto t = wire::read_outer(out[i].bytes, ec);
                REQUIRE_FALSE(ec);
                if (t.type() == wire::tlv_type::repair_data) {
                    const auto d = wire::decode_repair_data(t.value, ec);
                    id = d.stream;
                    if (drop_lost && d.seq == lost)
                        continue;
                }
                std::vector<std::byte> v(t.value.begin(), t.value.end());
                rx.feed_tlv(out[i].to, static_cast<std::uint16_t>(t.type()), v);
            }
        };
        for (unsigned i = 0; i < std::max(c.k, 3u); ++i) {
            std::vector<std::byte> m(1 + (i * 13) % 700, std::byte{static_cast<unsigned char>(i)});
            sent.push_back(m);
            datagram_batch out;
            std::error_code ec;
            tx.split(m, dst, rx.now, out, ec);
            REQUIRE_FALSE(ec);
            to_rx(out, true);
        }
        // The receiver's gap goes unfilled by proactive parity when r = 0; two NACKs.
        for (int round = 0; round < 2; ++round) {
            rx.now += milliseconds(50);
            std::vector<std::byte> nack;
            const wire::repair_range r[] = {{lost, 1}};
            std::error_code ec;
            wire::append_repair_nack(nack, id, r, ec);
            datagram_batch out;
            std::vector<std::byte> m;
            tx.handle_control(dst, wire::read_outer(nack, ec), rx.now, out, m, ec);
            to_rx(out, false);
        }
        // The receiver's own gap (if still open) through its timers, and the tail.
        datagram_batch out;
        tx.on_timer(rx.now + milliseconds(20), out);
        to_rx(out, false);
        INFO("recovered " << rx.f.stats().fec_recovered << " parity answers " << tx.stats().parity_repairs_sent
                          << " repairs " << tx.stats().repairs_sent);
        REQUIRE(rx.got.size() == sent.size());
        for (std::size_t i = 0; i < sent.size(); ++i) {
            // A FRAGMENT-carried message: the reassembled message is the bytes split.
            CHECK(rx.got[i] == sent[i]);
        }
        CHECK(rx.f.stats().fec_recovered + tx.stats().repairs_sent >= 1);
    }
}

// FINDING 4 (low, not fixed: FEC starvation across streams): fec_total_bytes is shared by every
// stream and, once reached, parity is refused for all of them (no stream's blocks are evicted for
// another's). At the relay, a few registered clients (any key may register) each fill their
// streams' fec_parity_bytes with parity for blocks that never decode (far ahead, within window)
// and so turn off FEC for every other client's stream toward the relay (NACK repair still works).
// With the defaults, 64 such streams (1 MiB each) fill the 64 MiB; here 4 of 1 MiB fill 4 MiB. A fix
// (evict the stream holding most, or the oldest block of any stream, before refusing) is larger
// than this review's: left to the author.
TEST_CASE("review fec: streams filling fec_total_bytes with parity do not turn FEC off for another",
          "[fec][review][!shouldfail]")
{
    fragment::repair_limits lim;
    lim.fec_total_bytes = std::size_t{4} * 1024 * 1024;
    rfec_rx rx(lim);
    const std::vector<std::byte> big(65500, std::byte{0x77});
    for (std::uint16_t a = 0; a < 4; ++a) {
        const endpoint attacker(0x0a000100u + a, 7000);
        REQUIRE_FALSE(rx.data(attacker, 0x40000500u + a, 0, rfec_inner(10, 1)));
        for (std::uint32_t b = 0; b < 8; ++b)
            for (std::uint8_t j = 0; j < 2; ++j)
                rx.parity(attacker, 0x40000500u + a, 8000 + 16 * b, 16, j, big);
    }
    std::vector<std::vector<std::byte>> block;
    for (unsigned i = 0; i < 16; ++i)
        block.push_back(rfec_inner(600, static_cast<unsigned char>(i)));
    for (std::uint32_t i = 0; i < 16; ++i)
        if (i != 9)
            rx.data(rfec_peer, rfec_unicast_id, i, block[i]);
    const auto par = rfec_parity(block, wire::data_symbol_size(604), 0, 1);
    rx.parity(rfec_peer, rfec_unicast_id, 0, 16, 0, par[0]);
    CHECK(rx.f.stats().fec_recovered == 1);
}

#endif
