// SPDX-License-Identifier: BSL-1.0
// Review of 99c82a4: the relay keeps each mid-way member's start (append_start) and answers that
// member's NACK below it with its REPAIR_START again. Attacked for amplification, reflection,
// memory, range arithmetic, and repairs denied to a member that should get them.
// (review_start.cpp, an older review, attacks the mark itself.)
#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/wire/repair.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

using namespace tlvcast;
using fragment::nack_fragmenter;
using std::chrono::milliseconds;

namespace {
namespace review_resend { // a name of its own: this file may share a unity translation unit

const endpoint relay_ep(0x0a000001, 5000);
const endpoint group_ep(0xe0010102, 5008);
const endpoint member(0x0a000200, 6000), other(0x0a000201, 6000);

std::vector<std::byte> message_of(std::uint32_t i)
{
    std::vector<std::byte> m(104, std::byte{0x44});
    m[2] = std::byte(i >> 8), m[3] = std::byte(i);
    return m;
}

// The relay's side: one group stream (`to`: a multicast group, or the shared unicast stream).
struct relay {
    nack_fragmenter f;
    endpoint to;
    time_point now = time_point{} + std::chrono::seconds(1);
    std::vector<std::vector<std::byte>> sent; // datagrams to `to`, in order

    explicit relay(endpoint dest, fragment::repair_limits lim = {})
        : f(fragment::seed_fragmenter(1, {}, 200), lim, 11), to(dest)
    {
    }
    void send(std::uint32_t n)
    {
        std::error_code ec;
        for (std::uint32_t k = 0; k < n; ++k) {
            datagram_batch out;
            f.split(message_of(static_cast<std::uint32_t>(sent.size())), to, now, out, ec);
            REQUIRE_FALSE(ec);
            REQUIRE(out.size() == 1);
            sent.emplace_back(out[0].bytes.begin(), out[0].bytes.end());
        }
    }
    std::uint32_t id() const { return *f.stream_id(to); }
    std::uint32_t add(const endpoint& who, std::vector<std::byte>& mark) // tell_start
    {
        mark.clear();
        REQUIRE(f.append_start(to, who, mark));
        std::error_code ec;
        return wire::decode_repair_mark(wire::tlv_type::repair_start, wire::read_outer(mark, ec).value, ec).value;
    }
    // One NACK of `from`: what goes out, as (to, type).
    std::vector<std::pair<endpoint, wire::tlv_type>> nack(const endpoint& from, const std::vector<wire::repair_range>& r)
    {
        std::vector<std::byte> bytes, m;
        std::error_code ec;
        wire::append_repair_nack(bytes, id(), r, ec);
        REQUIRE_FALSE(ec);
        datagram_batch out;
        f.handle_control(from, wire::read_outer(bytes, ec), now, out, m, ec);
        std::vector<std::pair<endpoint, wire::tlv_type>> got;
        for (std::size_t k = 0; k < out.size(); ++k)
            got.emplace_back(out[k].to, wire::read_outer(out[k].bytes, ec).type());
        return got;
    }
};

std::size_t count(const std::vector<std::pair<endpoint, wire::tlv_type>>& v, wire::tlv_type t)
{
    return static_cast<std::size_t>(std::count_if(v.begin(), v.end(), [&](const auto& p) { return p.second == t; }));
}

} // namespace review_resend
} // namespace

using namespace review_resend;

TEST_CASE("review: one NACK of 64 ranges below a member's start draws one REPAIR_START, to it alone",
          "[fragment][repair][review]")
{
    relay r(group_ep);
    r.send(10);
    std::vector<std::byte> mark;
    REQUIRE(r.add(member, mark) == 10);
    r.send(4); // 10..13: the member's own
    // 64 ranges, every one reaching across the start as far as a count goes: clipped, they all
    // name 10..13; the group's hold-off repairs each once, and one mark is said.
    const std::vector<wire::repair_range> wide(64, wire::repair_range{0, 0xffff});
    auto out = r.nack(member, wide);
    CHECK(count(out, wire::tlv_type::repair_start) == 1);
    CHECK(r.f.stats().starts_resent == 1);
    CHECK(r.f.stats().repairs_sent == 4);
    for (const auto& [to, type] : out)
        if (type == wire::tlv_type::repair_start)
            CHECK(to == member);
    // All 64 wholly below: the mark, nothing else to anyone.
    out = r.nack(member, std::vector<wire::repair_range>(64, wire::repair_range{0, 10}));
    CHECK(out.size() == 1);
    CHECK(count(out, wire::tlv_type::repair_start) == 1);
    CHECK(r.f.stats().repairs_sent == 4);
}

TEST_CASE("review: a member's start is answered to no one but that member, never to a bare or other source",
          "[fragment][repair][review]")
{
    relay r(group_ep);
    r.send(10);
    std::vector<std::byte> mark;
    r.add(member, mark);
    r.send(2);
    // Its address spoofed bare (no port: unauthenticated), or its host at another port: no mark.
    CHECK(r.nack(member.without_port(), {{0, 10}}).empty());
    auto out = r.nack(endpoint(0x0a000200, 6001), {{0, 10}});
    CHECK(count(out, wire::tlv_type::repair_start) == 0);
    out = r.nack(other, {{0, 10}});
    CHECK(count(out, wire::tlv_type::repair_start) == 0);
    CHECK(r.f.stats().starts_resent == 0);
}

TEST_CASE("review: the starts kept per stream stop at askers_per_stream; forget drops them in every stream",
          "[fragment][repair][review]")
{
    fragment::repair_limits lim;
    lim.askers_per_stream = 3;
    relay r(group_ep, lim);
    r.send(10);
    std::vector<std::byte> mark;
    for (std::uint32_t n = 0; n < 5; ++n) // the 4th and 5th are told, not kept
        r.add(endpoint(0x0a000300 + n, 6000), mark);
    for (std::uint32_t n = 0; n < 5; ++n)
        CHECK(count(r.nack(endpoint(0x0a000300 + n, 6000), {{0, 1}}), wire::tlv_type::repair_start) == (n < 3 ? 1u : 0u));
    // A rejoin at a kept address replaces its entry (the cap is full: no new one, a fresh value).
    r.send(5);
    CHECK(r.add(endpoint(0x0a000300, 6000), mark) == 15);
    CHECK(r.add(endpoint(0x0a000303, 6000), mark) == 15);
    CHECK(count(r.nack(endpoint(0x0a000303, 6000), {{0, 1}}), wire::tlv_type::repair_start) == 0);
    // Another stream of the same relay: forget(peer) drops its start there too.
    std::error_code ec;
    datagram_batch out;
    r.f.split(message_of(0), nack_fragmenter::unicast_fanout, r.now, out, ec);
    REQUIRE_FALSE(ec);
    std::vector<std::byte> m2;
    REQUIRE(r.f.append_start(nack_fragmenter::unicast_fanout, endpoint(0x0a000300, 6000), m2));
    r.f.forget(endpoint(0x0a000300, 6000));
    CHECK(count(r.nack(endpoint(0x0a000300, 6000), {{0, 1}}), wire::tlv_type::repair_start) == 0);
    r.to = nack_fragmenter::unicast_fanout;
    CHECK(count(r.nack(endpoint(0x0a000300, 6000), {{0, 1}}), wire::tlv_type::repair_start) == 0);
}

TEST_CASE("review: ranges at the edges of the seq space, clipped to a start, repair only the stream's own",
          "[fragment][repair][review]")
{
    relay r(nack_fragmenter::unicast_fanout); // asker_only: no hold-off, every asked seq is looked at
    r.send(10);
    std::vector<std::byte> mark;
    r.add(member, mark);
    r.send(3);
    const auto before = r.f.stats().repairs_sent;
    auto out = r.nack(member, {{9, 0xffff}, {0xffff0000u, 0xffff}, {0xffffffffu, 0xffff}, {0, 1}});
    CHECK(count(out, wire::tlv_type::repair_start) == 1);
    CHECK(count(out, wire::tlv_type::repair_tail) == 1); // asked past the end: where it ends
    CHECK(r.f.stats().repairs_sent - before == 3);       // 10..12, nothing past next
    for (const auto& [to, type] : out)
        CHECK(to == member); // asker_only: everything to the asker
}

namespace {
namespace review_resend {

// A member's receiver on the relay's shared stream: the stream's datagrams bare, marks and answers
// in its records; its NACKs reach the relay in its records from `as` (its current address).
struct member_rx {
    nack_fragmenter f{fragment::seed_fragmenter(2, {}, 200), {}, 9};
    std::vector<std::uint32_t> got;
    std::size_t notices = 0;

    void hear(relay& r, const endpoint& from, std::span<const std::byte> d, const endpoint& as)
    {
        std::error_code ec;
        datagram_batch out;
        std::vector<std::byte> m;
        f.handle_control(from, wire::read_outer(d, ec), r.now, out, m, ec);
        collect();
        ask(r, out, as);
    }
    void ask(relay& r, datagram_batch& out, const endpoint& as) // its NACKs, and what answers them
    {
        for (std::size_t k = 0; k < out.size(); ++k) {
            std::error_code ec;
            datagram_batch answer;
            std::vector<std::byte> m;
            const std::vector<std::byte> bytes(out[k].bytes.begin(), out[k].bytes.end());
            r.f.handle_control(as, wire::read_outer(bytes, ec), r.now, answer, m, ec);
            for (std::size_t j = 0; j < answer.size(); ++j)
                if (answer[j].to == as) {
                    const std::vector<std::byte> a(answer[j].bytes.begin(), answer[j].bytes.end());
                    hear(r, relay_ep, a, as);
                }
        }
    }
    void collect()
    {
        endpoint src;
        std::vector<std::byte> m;
        while (f.pop_message(src, m))
            got.push_back(std::to_integer<std::uint32_t>(m[3]) | std::to_integer<std::uint32_t>(m[2]) << 8);
        fragment::repair_notice n;
        while (f.pop_notice(n))
            ++notices;
    }
    void run(relay& r, milliseconds span, const endpoint& as) // the receiver's timers (the relay's tails lost)
    {
        for (const time_point end = r.now + span; r.now < end; r.now += milliseconds(5))
            if (f.next_timer() <= r.now) {
                datagram_batch out;
                f.on_timer(r.now, out);
                collect();
                ask(r, out, as);
            }
    }
};

} // namespace review_resend
} // namespace

// The member's receiver took its first REPAIR_START and keeps its stream (taken once: a second
// one changes nothing). Its address changes (a NAT rebinding): the relay tells the new address a
// start, keeps it, and from then on answers the member's NACKs of what went to the old address
// with that mark, not the data (before 99c82a4 they were repaired): the member held 20.. behind
// the gap until gap_timeout (12 s), then reported 15..19 unrecoverable. Fixed: the mark again
// only for a NACK from 0, the one of a receiver that never took it.
TEST_CASE("review, fixed: a member at a new address is still repaired what went to its old one",
          "[fragment][repair][review]")
{
    relay r(nack_fragmenter::unicast_fanout);
    r.send(10);
    member_rx rx;
    std::vector<std::byte> mark;
    r.add(member, mark);
    rx.hear(r, relay_ep, mark, member);
    r.send(10); // 10..19: 10..14 heard, 15..19 went to the old address after the member moved
    for (std::uint32_t s = 10; s < 15; ++s)
        rx.hear(r, relay_ep.without_port(), r.sent[s], member);
    r.add(other, mark); // its new address (the old one times out later: forget)
    rx.hear(r, relay_ep, mark, other);
    r.send(3); // 20..22 to the new address
    for (std::uint32_t s = 20; s < 23; ++s)
        rx.hear(r, relay_ep.without_port(), r.sent[s], other);
    rx.run(r, milliseconds(2000), other);
    std::vector<std::uint32_t> want;
    for (std::uint32_t s = 10; s < 23; ++s)
        want.push_back(s);
    CHECK(rx.got == want);
    CHECK(rx.notices == 0);
}

// The same with one address: a member removed by a commit (still registered: it gets the blobs in
// a stream of its own) and added back within `idle` keeps its receiver's stream; the relay replaces
// its kept start with the new one, and its NACK of the seqs it lost just before it left is answered
// with that mark. Was stuck behind 18 for gap_timeout, then a notice; fixed as above.
TEST_CASE("review, fixed: a member removed and added back is still repaired what it lost as a member",
          "[fragment][repair][review]")
{
    relay r(nack_fragmenter::unicast_fanout);
    r.send(10);
    member_rx rx;
    std::vector<std::byte> mark;
    r.add(member, mark);
    rx.hear(r, relay_ep, mark, member);
    r.send(10); // 10..19 while a member: 18, 19 lost
    for (std::uint32_t s = 10; s < 18; ++s)
        rx.hear(r, relay_ep.without_port(), r.sent[s], member);
    r.send(10); // 20..29 while outside
    r.add(member, mark); // added back: starts at 30
    rx.hear(r, relay_ep, mark, member);
    r.send(3);
    for (std::uint32_t s = 30; s < 33; ++s)
        rx.hear(r, relay_ep.without_port(), r.sent[s], member);
    rx.run(r, milliseconds(2000), member);
    // 18 and 19 were its own; 30.. its own again. What it should not get (20..29) it may, as before
    // the change: what matters is that it is not stuck for gap_timeout and told of a loss.
    REQUIRE(rx.got.size() >= 13);
    CHECK(std::count(rx.got.begin(), rx.got.end(), 19u) == 1);
    CHECK(rx.got.back() == 32);
    CHECK(rx.notices == 0);
}

// What 99c82a4 is for stays: a newcomer whose mark was lost reads the young stream from 0, and its
// NACK from 0 gets the mark again, never the history.
TEST_CASE("review: a newcomer that lost its mark is told it again and gets only its own part",
          "[fragment][repair][review]")
{
    relay r(nack_fragmenter::unicast_fanout);
    r.send(10);
    member_rx rx;
    std::vector<std::byte> mark;
    r.add(member, mark); // lost
    r.send(3);
    for (std::uint32_t s = 10; s < 13; ++s)
        rx.hear(r, relay_ep.without_port(), r.sent[s], member);
    rx.run(r, milliseconds(2000), member);
    CHECK(rx.got == std::vector<std::uint32_t>{10, 11, 12});
    CHECK(rx.notices == 0);
    CHECK(r.f.stats().starts_resent >= 1);
}
