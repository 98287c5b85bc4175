// SPDX-License-Identifier: BSL-1.0
// basic_nack_fragmenter's flow control: the window of an acknowledged stream, its Congestion
// policy fed by NACKs and ACKs, and the slow-receiver policies hold and drop (a relay's).
#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/wire/repair.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

using namespace tlvcast;
using fragment::nack_fragmenter;
using fragment::repair_limits;
using fragment::slow_receiver_policy;
using std::chrono::milliseconds;

namespace {

const endpoint flow_client(0x0a000001, 5000);
const endpoint flow_relay(0x0a000009, 5007);
const endpoint flow_slow(0x0a000002, 6000);

repair_limits flow_limits(slow_receiver_policy p = slow_receiver_policy::block)
{
    repair_limits lim;
    lim.send_window = 16 * 1024;
    lim.min_window = 4 * 1024;
    lim.initial_window = 16 * 1024;
    lim.slow_receiver = p;
    lim.slow_receiver_bytes = 32 * 1024;
    lim.slow_hold = milliseconds(500);
    return lim;
}

// Named peers exchanging datagrams instantly, in order; a peer can be cut (its datagrams both
// ways are lost).
struct flow_net {
    std::map<endpoint, nack_fragmenter> peers;
    std::map<endpoint, std::vector<std::vector<std::byte>>> got;
    std::map<endpoint, bool> cut;
    time_point now{};
    std::uint64_t acks_to_client = 0;

    nack_fragmenter& add(const endpoint& ep, const repair_limits& lim, std::uint64_t seed)
    {
        return peers.emplace(ep, nack_fragmenter(fragment::seed_fragmenter(seed, {}, 1000), lim, seed)).first->second;
    }

    void post(const endpoint& from, datagram_batch& out)
    {
        for (std::size_t i = 0; i < out.size(); ++i) {
            const auto e = out[i];
            if (cut[from] || cut[e.to] || !peers.contains(e.to))
                continue;
            std::error_code ec;
            const wire::tlv t = wire::read_outer(e.bytes, ec);
            REQUIRE_FALSE(ec);
            acks_to_client += e.to == flow_client && t.type() == wire::tlv_type::repair_ack;
            datagram_batch reply;
            std::vector<std::byte> m;
            peers.at(e.to).handle_control(from, t, now, reply, m, ec);
            post(e.to, reply);
            endpoint src;
            while (peers.at(e.to).pop_message(src, m))
                got[e.to].push_back(m);
        }
        out.clear();
    }

    void send(const endpoint& from, const endpoint& to, std::size_t size, std::error_code& ec)
    {
        datagram_batch out;
        const std::vector<std::byte> m(size, std::byte{0x5a});
        peers.at(from).split(m, to, now, out, ec);
        post(from, out);
    }

    // Advances the clock by `d`, running every timer due on the way.
    void advance(duration d)
    {
        const time_point end = now + d;
        for (int guard = 0; guard < 100'000; ++guard) {
            time_point t = end;
            for (auto& [ep, f] : peers)
                t = std::min(t, f.next_timer());
            now = std::max(now, t);
            for (auto& [ep, f] : peers)
                if (f.next_timer() <= now) {
                    datagram_batch out;
                    f.on_timer(now, out);
                    post(ep, out);
                }
            if (now >= end)
                return;
        }
        FAIL("timers did not settle");
    }
};

} // namespace

TEST_CASE("flow: a sender stops at its window and the receiver's ACKs open it", "[fragment][flow]")
{
    flow_net net;
    auto& client = net.add(flow_client, flow_limits(), 1);
    net.add(flow_relay, flow_limits(), 2);
    client.single_receiver(flow_relay);
    net.cut[flow_relay] = true; // nothing comes back yet: no ACK
    std::size_t sent = 0;
    std::error_code ec;
    while (client.writable(flow_relay) && sent < 1000) {
        net.send(flow_client, flow_relay, 1500, ec);
        REQUIRE_FALSE(ec);
        ++sent;
        // Never more than the window and one message.
        REQUIRE(client.unacknowledged(flow_relay) < client.window(flow_relay) + 1600);
    }
    CHECK(sent < 20); // 16 KiB of 1.5 KB messages
    CHECK(client.unacknowledged(flow_relay) >= client.window(flow_relay));
    CHECK(client.stats().window_full == 1);
    net.advance(milliseconds(100));
    CHECK_FALSE(client.writable(flow_relay)); // still nothing acknowledged
    // The relay comes back: tails, NACKs, repairs, ACKs; the window opens.
    net.cut[flow_relay] = false;
    net.advance(std::chrono::seconds(3));
    CHECK(client.unacknowledged(flow_relay) == 0);
    CHECK(client.writable(flow_relay));
    CHECK(net.got[flow_relay].size() == sent);
}

TEST_CASE("flow: a NACK halves the window (aimd), ACKs grow it back", "[fragment][flow]")
{
    flow_net net;
    repair_limits lim = flow_limits();
    lim.send_window = 64 * 1024;
    lim.initial_window = 64 * 1024;
    auto& client = net.add(flow_client, lim, 3);
    auto& relay = net.add(flow_relay, lim, 4);
    client.single_receiver(flow_relay);
    std::error_code ec;
    net.send(flow_client, flow_relay, 1000, ec);
    const std::size_t w0 = client.window(flow_relay);
    CHECK(w0 == 64 * 1024);
    // Lose one datagram to the relay: its NACK is a loss event.
    net.cut[flow_relay] = true;
    net.send(flow_client, flow_relay, 1000, ec);
    net.cut[flow_relay] = false;
    net.send(flow_client, flow_relay, 1000, ec);
    net.advance(milliseconds(200));
    CHECK(relay.stats().nacks_sent >= 1);
    CHECK(client.stats().window_decreases == 1);
    // Halved, then the ACKs of the repair added a little (congestion avoidance).
    const std::size_t w1 = client.window(flow_relay);
    CHECK(w1 >= w0 / 2);
    CHECK(w1 < w0 / 2 + 2 * lim.segment_bytes);
    CHECK(net.got[flow_relay].size() == 3);
    // Acknowledged traffic grows it again (additive increase).
    for (int i = 0; i < 200; ++i) {
        net.send(flow_client, flow_relay, 1000, ec);
        net.advance(milliseconds(10));
    }
    CHECK(client.window(flow_relay) > w1 + 4 * lim.segment_bytes); // about one segment per window acknowledged
}

TEST_CASE("flow: drop sheds a receiver past slow_receiver_bytes, releases its cache and reports it",
          "[fragment][flow]")
{
    flow_net net;
    auto& relay = net.add(flow_relay, flow_limits(slow_receiver_policy::drop), 5);
    net.add(flow_slow, flow_limits(), 6);
    net.cut[flow_slow] = true;
    std::error_code ec;
    for (int i = 0; i < 30; ++i) {
        net.send(flow_relay, flow_slow, 1500, ec); // a relay never waits: split always sends
        REQUIRE_FALSE(ec);
    }
    fragment::slow_notice n;
    REQUIRE(relay.pop_slow(n));
    CHECK(n.peer == flow_slow);
    CHECK(n.bytes > flow_limits().slow_receiver_bytes);
    CHECK_FALSE(n.held);
    CHECK_FALSE(relay.pop_slow(n)); // once: a dropped receiver is not dropped again
    CHECK(relay.stats().slow_dropped == 1);
    CHECK(relay.stats().uncached_sent > 0);
    // Its cache is gone and stays empty while it is dropped: memory does not grow with what it missed.
    CHECK(relay.buffered_bytes() == 0);
    CHECK(relay.unacknowledged(flow_slow) == 0);
    // It comes back: what it missed is GONE (unrecoverable), and it is reliable again once caught up.
    net.cut[flow_slow] = false;
    net.send(flow_relay, flow_slow, 1500, ec);
    net.advance(std::chrono::seconds(2));
    auto& slow = net.peers.at(flow_slow);
    fragment::repair_notice gone;
    CHECK(slow.pop_notice(gone));
    CHECK(slow.stats().unrecoverable >= 1);
    const auto uncached = relay.stats().uncached_sent;
    net.send(flow_relay, flow_slow, 1500, ec);
    CHECK(relay.stats().uncached_sent == uncached); // cached again
    net.advance(std::chrono::seconds(1));
    CHECK(relay.unacknowledged(flow_slow) == 0);
}

TEST_CASE("flow: hold withholds the relay's ACKs to its senders while a receiver is over its window, "
          "then drops it at slow_hold",
          "[fragment][flow]")
{
    flow_net net;
    auto& client = net.add(flow_client, flow_limits(), 7);
    auto& relay = net.add(flow_relay, flow_limits(slow_receiver_policy::hold), 8);
    net.add(flow_slow, flow_limits(), 9);
    client.single_receiver(flow_relay);
    std::error_code ec;
    // The relay forwards what the client sends to a receiver that stopped answering.
    net.cut[flow_slow] = true;
    std::size_t forwarded = 0;
    const auto forward = [&] {
        for (; forwarded < net.got[flow_relay].size(); ++forwarded)
            net.send(flow_relay, flow_slow, net.got[flow_relay][forwarded].size(), ec);
    };
    for (int i = 0; i < 40 && client.writable(flow_relay); ++i) {
        net.send(flow_client, flow_relay, 1000, ec);
        forward();
        net.advance(milliseconds(2));
    }
    CHECK(relay.holding() == 1);
    CHECK(relay.stats().slow_holds == 1);
    const auto acks = net.acks_to_client;
    net.advance(milliseconds(100));
    CHECK(net.acks_to_client == acks); // withheld: the client's window stays closed
    CHECK(relay.stats().acks_withheld > 0);
    CHECK_FALSE(client.writable(flow_relay));
    // At slow_hold the receiver is dropped; the relay acknowledges again and the client goes on.
    net.advance(milliseconds(500));
    fragment::slow_notice n;
    REQUIRE(relay.pop_slow(n));
    CHECK(n.peer == flow_slow);
    CHECK(n.held);
    CHECK(relay.holding() == 0);
    CHECK(net.acks_to_client > acks);
    CHECK(client.writable(flow_relay));
    CHECK(relay.unacknowledged(flow_slow) == 0);
}

TEST_CASE("flow: hold ends without a drop when the receiver catches up", "[fragment][flow]")
{
    flow_net net;
    net.add(flow_client, flow_limits(), 10);
    auto& relay = net.add(flow_relay, flow_limits(slow_receiver_policy::hold), 11);
    net.add(flow_slow, flow_limits(), 12);
    std::error_code ec;
    net.cut[flow_slow] = true;
    for (int i = 0; i < 20; ++i)
        net.send(flow_relay, flow_slow, 1000, ec);
    CHECK(relay.holding() == 1);
    net.advance(milliseconds(100));
    net.cut[flow_slow] = false; // back before slow_hold: tails, NACKs, repairs, ACKs
    net.advance(milliseconds(300));
    CHECK(relay.holding() == 0);
    fragment::slow_notice n;
    CHECK_FALSE(relay.pop_slow(n));
    CHECK(relay.stats().slow_dropped == 0);
    CHECK(net.got[flow_slow].size() == 20);
}

TEST_CASE("flow: hold drops a receiver that stalls, not one that is slow but acknowledging", "[fragment][flow]")
{
    flow_net net;
    auto& relay = net.add(flow_relay, flow_limits(slow_receiver_policy::hold), 13);
    net.add(flow_slow, flow_limits(), 14);
    net.cut[flow_slow] = true; // its own ACKs are the test's, below
    std::uint32_t id = 0;
    const auto send = [&] {
        datagram_batch out;
        std::error_code ec;
        relay.split(std::vector<std::byte>(1000, std::byte{0x5a}), flow_slow, net.now, out, ec);
        REQUIRE_FALSE(ec);
        for (std::size_t i = 0; i < out.size(); ++i) {
            const wire::tlv t = wire::read_outer(out[i].bytes, ec);
            if (!ec && t.type() == wire::tlv_type::repair_data)
                id = wire::decode_repair_data(t.value, ec).stream;
        }
    };
    const auto ack = [&](std::uint32_t next) {
        std::vector<std::byte> b;
        wire::append_repair_ack(b, id, next);
        std::error_code ec;
        datagram_batch out;
        std::vector<std::byte> m;
        relay.handle_control(flow_slow, wire::read_outer(b, ec), net.now, out, m, ec);
        CHECK_FALSE(ec);
    };
    for (int i = 0; i < 20; ++i)
        send();
    REQUIRE(relay.holding() == 1);
    // Six times slow_hold over its window, acknowledging one more datagram every 300 ms while the
    // relay sends one more: a lossy or briefly loaded receiver, held, never dropped.
    fragment::slow_notice n;
    for (std::uint32_t k = 1; k <= 10; ++k) {
        net.advance(milliseconds(300));
        ack(k);
        send();
        CHECK(relay.holding() == 1);
        CHECK_FALSE(relay.pop_slow(n));
    }
    CHECK(relay.stats().slow_dropped == 0);
    // Then nothing for slow_hold: it is dropped.
    net.advance(milliseconds(600));
    REQUIRE(relay.pop_slow(n));
    CHECK(n.peer == flow_slow);
    CHECK(n.held);
    CHECK(relay.holding() == 0);
}

// A receiver cut before it heard anything of the stream, and shed, first hears it past `backfill`:
// it starts there and asks for nothing before. What was sent to it meanwhile, released by the shed
// and sent uncached after it, is said to be lost (the relay's REPAIR_GONE with its next ACKs), once.
TEST_CASE("flow: a shed receiver that first hears the stream past backfill reports what it missed, once",
          "[fragment][flow]")
{
    flow_net net;
    auto& relay = net.add(flow_relay, flow_limits(slow_receiver_policy::drop), 5);
    auto& slow = net.add(flow_slow, flow_limits(), 6);
    net.cut[flow_slow] = true;
    std::error_code ec;
    for (int i = 0; i < 200; ++i) { // 2 datagrams each: 400, beyond backfill (256)
        net.send(flow_relay, flow_slow, 1500, ec);
        REQUIRE_FALSE(ec);
    }
    fragment::slow_notice n;
    REQUIRE(relay.pop_slow(n));
    const auto sent = relay.stats().data_sent;
    REQUIRE(sent >= 400);
    net.cut[flow_slow] = false;
    for (int i = 0; i < 3; ++i)
        net.send(flow_relay, flow_slow, 1500, ec);
    net.advance(milliseconds(200));
    CHECK(net.got[flow_slow].size() == 3); // what it heard
    fragment::repair_notice gone;
    REQUIRE(slow.pop_notice(gone));
    CHECK(gone.peer == flow_relay);
    CHECK(gone.first == 0);
    CHECK(gone.last == sent - 1); // everything before its first datagram
    CHECK(slow.stats().unrecoverable_datagrams == sent);
    // Reliable again; the next ACKs carry the reminder again, reported no more.
    for (int i = 0; i < 3; ++i) { // within the reminders' window (gone_window, 1 s)
        net.send(flow_relay, flow_slow, 1500, ec);
        net.advance(milliseconds(100));
    }
    CHECK(net.got[flow_slow].size() == 6);
    CHECK(relay.stats().gone_sent >= 2);
    CHECK_FALSE(slow.pop_notice(gone)); // once, however many reminders came
}

// The reminders concern only a receiver that started past what was released: one that read the
// stream from its start and caught up reports nothing twice, and a REPAIR_GONE "of everything" (a
// stream its source does not have) below a late start is not taken for a loss.
TEST_CASE("flow: the shed's reminders report nothing to a receiver that read the stream from its start",
          "[fragment][flow]")
{
    flow_net net;
    auto& relay = net.add(flow_relay, flow_limits(slow_receiver_policy::drop), 5);
    auto& slow = net.add(flow_slow, flow_limits(), 6);
    std::error_code ec;
    net.send(flow_relay, flow_slow, 1500, ec); // heard: it reads from 0
    net.advance(milliseconds(50));
    net.cut[flow_slow] = true;
    for (int i = 0; i < 30; ++i)
        net.send(flow_relay, flow_slow, 1500, ec);
    fragment::slow_notice n;
    REQUIRE(relay.pop_slow(n));
    net.cut[flow_slow] = false;
    net.send(flow_relay, flow_slow, 1500, ec);
    net.advance(std::chrono::seconds(2));
    std::uint64_t lost = 0;
    fragment::repair_notice gone;
    while (slow.pop_notice(gone))
        lost += gone.last - gone.first + 1;
    CHECK(lost == 60); // the 30 messages of 2 datagrams it missed, said once (NACK, GONE)
    CHECK(net.got[flow_slow].size() == 2);

    // A GONE of everything, authenticated, below a late start: not a loss.
    auto& late = net.add(endpoint(0x0a000003, 6000), flow_limits(), 7);
    std::vector<std::byte> d;
    const std::vector<std::byte> keepalive{std::byte{0}, std::byte{9}, std::byte{0}, std::byte{0}};
    wire::append_repair_data(d, 77, 1000, keepalive, ec);
    datagram_batch out;
    std::vector<std::byte> m;
    late.handle_control(flow_relay, wire::read_outer(d, ec), net.now, out, m, ec);
    d.clear();
    wire::append_repair_gone(d, 77, 0, 0xffffffffu);
    late.handle_control(flow_relay, wire::read_outer(d, ec), net.now, out, m, ec);
    CHECK_FALSE(late.pop_notice(gone));
}

// A group's stream has no ACKs, hence no window: under hold, a cache nearly full of datagrams
// younger than group_hold_age holds the relay's ACKs to its senders instead (a fast sender pushed
// out what members were still repairing: GONE within milliseconds), until its oldest datagram
// is that old; then the ACKs flow again, and a full cache of old datagrams holds nothing.
TEST_CASE("flow: hold holds the senders while a group's stream cache is full of young datagrams",
          "[fragment][flow]")
{
    flow_net net;
    repair_limits lim = flow_limits(slow_receiver_policy::hold);
    lim.cache_bytes = 64 * 1024; // send_window 16 KiB: held from 48 KiB cached
    auto& relay = net.add(flow_relay, lim, 5);
    const endpoint group(0xe0010102, 5008);
    std::error_code ec;
    for (int i = 0; i < 20; ++i) { // 30 KB: under the mark
        net.send(flow_relay, group, 1500, ec);
        REQUIRE_FALSE(ec);
    }
    CHECK(relay.holding() == 0);
    for (int i = 0; i < 20; ++i) // 60 KB in 20 ms: young
        net.send(flow_relay, group, 1500, ec);
    CHECK(relay.holding() == 1);
    CHECK(relay.stats().group_holds == 1);
    net.advance(lim.group_hold_age / 2);
    CHECK(relay.holding() == 1); // still young
    net.advance(lim.group_hold_age);
    CHECK(relay.holding() == 0); // the oldest reached group_hold_age: the senders go on
    for (int i = 0; i < 20; ++i) // full, but of old datagrams and these: the oldest is old enough
        net.send(flow_relay, group, 1500, ec);
    CHECK(relay.holding() == 0);
    CHECK(relay.stats().group_holds == 1);
    CHECK(relay.buffered_bytes() <= lim.cache_bytes); // memory still bounded by cache_bytes
}
