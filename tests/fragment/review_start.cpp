// SPDX-License-Identifier: BSL-1.0
// Review of the relay's start mark (97bbea6, tell_start), first a GONE [0, next) in a joining
// member's records (f622b88), now REPAIR_START(next): taken once, it overrides a start guessed from
// what was heard bare before it.
#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/wire/repair.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using namespace tlvcast;
using fragment::nack_fragmenter;
using std::chrono::milliseconds;

namespace {
namespace review_start { // a name of its own: this file may share a unity translation unit

const endpoint relay_ep(0x0a000001, 5000); // its records (a port: authenticated)
const endpoint group_ep(0xe0010102, 5008); // a group stream: receivers key it by the relay's address

std::vector<std::byte> message_of(std::uint32_t i)
{
    std::vector<std::byte> m(104, std::byte{0x33});
    m[0] = std::byte(i >> 24), m[1] = std::byte(i >> 16), m[2] = std::byte(i >> 8), m[3] = std::byte(i);
    return m;
}

// A relay's group stream with `before` datagrams sent before the receiver joined, then `after`.
struct stream {
    nack_fragmenter relay;
    std::vector<std::vector<std::byte>> data; // REPAIR_DATA datagrams, by seq
    std::uint32_t id = 0;

    explicit stream(std::uint32_t n, std::uint64_t seed = 8) : relay(fragment::seed_fragmenter(1, {}, 200), {}, seed)
    {
        const time_point now{};
        std::error_code ec;
        for (std::uint32_t i = 0; i < n; ++i) {
            datagram_batch out;
            relay.split(message_of(i), group_ep, now, out, ec);
            REQUIRE_FALSE(ec);
            REQUIRE(out.size() == 1);
            data.emplace_back(out[0].bytes.begin(), out[0].bytes.end());
        }
        id = wire::decode_repair_data(wire::read_outer(data[0], ec).value, ec).stream;
        REQUIRE_FALSE(ec);
    }
    // What tell_start puts in a newcomer's record: REPAIR_START(next) (it was GONE [0, next)).
    static std::vector<std::byte> start_mark(std::uint32_t id, std::uint32_t first, std::uint32_t count)
    {
        std::vector<std::byte> g;
        const std::uint64_t next = std::min<std::uint64_t>(std::uint64_t{first} + count, 0xffffffffu);
        wire::append_repair_start(g, id, static_cast<std::uint32_t>(next));
        return g;
    }
};

std::span<const std::byte> datagram_of(std::span<const std::byte> data)
{
    std::error_code ec;
    return wire::decode_repair_data(wire::read_outer(data, ec).value, ec).datagram;
}

struct receiver {
    nack_fragmenter f{fragment::seed_fragmenter(2, {}, 200), {}, 9};
    time_point now = time_point{} + milliseconds(1);
    std::vector<std::uint32_t> got;
    std::size_t notices = 0;

    void hear(const endpoint& from, std::span<const std::byte> datagram)
    {
        std::error_code ec;
        datagram_batch out;
        std::vector<std::byte> m;
        f.handle_control(from, wire::read_outer(datagram, ec), now, out, m, ec);
        endpoint src;
        while (f.pop_message(src, m))
            got.push_back(std::to_integer<std::uint32_t>(m[3]) | std::to_integer<std::uint32_t>(m[2]) << 8);
        fragment::repair_notice n;
        while (f.pop_notice(n))
            ++notices;
    }
    void bare(std::span<const std::byte> d) { hear(relay_ep.without_port(), d); }
    void record(std::span<const std::byte> d) { hear(relay_ep, d); }
};

} // namespace review_start
} // namespace

using namespace review_start;

TEST_CASE("review, fixed: the relay's start mark heard after the newcomer's first datagram reports no loss",
          "[fragment][repair][review]")
{
    // Finding (low): the start mark travels in a record, the stream's datagrams bare; reordered (or
    // the datagram sent in the same batch overtaking it), seq 10 comes first, is near the start
    // (below backfill), so 0..9 become a gap; the mark then reads as an ordinary GONE and 0..9 are
    // given up: an unrecoverable notice to the application for datagrams never meant for it. On the
    // wire a start and a loss are the same REPAIR_GONE, so the receiver cannot tell them apart.
    stream s(11);
    receiver r;
    r.bare(s.data[10]);
    r.record(stream::start_mark(s.id, 0, 10));
    CHECK(r.got == std::vector<std::uint32_t>{10}); // holds: the GONE drains 10
    CHECK(r.notices == 0);                          // was a notice of 0..9 (a GONE then)
    CHECK(r.f.stats().unrecoverable == 0);
}

TEST_CASE("review, fixed: one spoofed bare datagram far ahead before the start mark no longer leaves a newcomer deaf",
          "[fragment][repair][review]")
{
    // Finding (medium, needs the stream id and the newcomer's address: an on-path or LAN spoofer;
    // on a data group, one datagram to the group reaches every member that has not heard the
    // stream yet). A bare REPAIR_DATA still opens a stream, at any seq: the newcomer's stream starts
    // at 2^31 and every real datagram below is a duplicate. The relay's authenticated start mark,
    // which says where the stream is, does not override a start guessed from a bare datagram, nor
    // does its tail; the stream is never idle (each duplicate refreshes it), so never forgotten.
    stream s(40);
    receiver r;
    std::vector<std::byte> spoof;
    std::error_code ec;
    wire::append_repair_data(spoof, s.id, 0x80000000u, datagram_of(s.data[10]), ec);
    REQUIRE_FALSE(ec);
    r.bare(spoof);
    r.record(stream::start_mark(s.id, 0, 10));
    for (std::uint32_t seq = 10; seq < 40; ++seq)
        r.bare(s.data[seq]);
    std::vector<std::byte> tail;
    wire::append_repair_tail(tail, s.id, 40);
    r.record(tail);
    // The spoofed copy of 10 is delivered (the group Cipher refuses it as a replay); then nothing.
    CHECK(r.got.size() == 30);          // was 1 (the spoof; its copy of 10 and the real one are one message now)
    CHECK(r.f.stats().duplicates == 0); // was 30
}

TEST_CASE("review: a start mark at the last seq is refused; one just below it silences only its own stream",
          "[fragment][repair][review]")
{
    // Defence: REPAIR_START at max_seq (no stream reaches it) is refused; just below, only the
    // stream's source can say it (authenticated, under its own key): it silences its own stream
    // and nothing else.
    stream s(3);
    receiver r;
    r.record(stream::start_mark(s.id, 0xfffffff0u, 0xffffu)); // capped at max_seq: refused
    CHECK(r.f.stats().refused == 1);
    r.record(stream::start_mark(s.id, 0xfffffff0u, 0xe));
    std::vector<std::byte> d;
    std::error_code ec;
    wire::append_repair_data(d, s.id, 0xffef, datagram_of(s.data[0]), ec);
    r.bare(d);
    for (const auto& x : s.data)
        r.bare(x);
    CHECK(r.got.empty());
    CHECK(r.notices == 0);
    CHECK(r.f.stats().nacks_sent == 0);
    // Another stream of the same source (another id) is untouched by it.
    stream other(2, 99);
    REQUIRE(other.id != s.id);
    for (const auto& x : other.data)
        r.bare(x);
    CHECK(r.got == std::vector<std::uint32_t>{0, 1});
}
