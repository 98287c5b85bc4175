// SPDX-License-Identifier: BSL-1.0
// Adversarial review of the federation's JetStream push consumer (e211499: stream_consumer::check_gap
// in place of libnats's Ordered mode; 9ed77e3: last_before_start for position()/reached()), over a
// real nats-server on loopback. The attacker is a NATS client without the federation key that may
// publish on and read tlvcast.*.<group> (raw protocol: any header), and nothing else: no JetStream
// API ($JS.API.>) of its own.
#if TLVCAST_HAS_NATS
#include "order_nats.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using namespace review_order2_nats;

// Stores `count` copies of `headers`+`body` on `subject` over one raw connection; returns once the
// server answered the PING after them.
void raw_flood(int port, const std::string& subject, const std::string& headers, const std::string& body, int count)
{
    const int s = test::raw_connect(port);
    std::string out = "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"protocol\":1}\r\n";
    const std::string one = "HPUB " + subject + " " + std::to_string(headers.size()) + " " +
                            std::to_string(headers.size() + body.size()) + "\r\n" + headers + body + "\r\n";
    for (int i = 0; i < count; ++i)
        out += one;
    out += "PING\r\n";
    std::size_t sent = 0;
    while (sent < out.size()) {
        const ssize_t n = ::send(s, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += static_cast<std::size_t>(n);
    }
    std::string in;
    char buf[4096];
    for (int i = 0; i < 500 && in.find("PONG") == std::string::npos; ++i) {
        pollfd p{s, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0)
            continue;
        const ssize_t n = ::recv(s, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        in.append(buf, static_cast<std::size_t>(n));
    }
    ::close(s);
    REQUIRE(sent == out.size());
    REQUIRE(in.find("PONG") != std::string::npos);
}


std::uint64_t stored_msgs(operator_client& op, const char* stream)
{
    jsStreamInfo* si = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    std::uint64_t n = ~std::uint64_t{0};
    if (js_GetStreamInfo(&si, op.js, stream, nullptr, &err) == NATS_OK)
        n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return n;
}

} // namespace

// Fixed (found by this review; the fix it proposed: stream_consumer::on_delivery). libnats (3.4.1,
// conn.c natsConn_processMsg) read every bodiless "NATS/1.0 100 ..." message
// a js_Subscribe push consumer delivers as the server's heartbeat, and when it carries a
// "Nats-Consumer-Stalled: <subject>" header publishes an empty message on <subject> from the relay's
// own connection, with the relay's permissions, before (instead of) the link's callback. Stored
// messages are delivered like any other, so an attacker who may only publish on tlvcast.*.<group>
// makes every relay publish on any subject it names, once per relay and per delivery of the stored
// look-alike (each consumer re-created over it delivers it again). Measured here: 2 relays, 2
// reflected messages on evil.reflect; one look-alike naming $JS.API.STREAM.PURGE.TLVCAST_order
// purged the group's stream (3 messages to 0); naming $JS.API.STREAM.PURGE.TLVCOMMITS_order it purges
// the commit stream, whose emptiness a relay that starts takes for "no commit was ever stored"
// (review_order3: the order forks); $JS.API.STREAM.DELETE.* deletes either. Ordered mode (before
// e211499) had the same hole: the handling is libnats's for every push JetStream subscription, with or
// without heartbeats configured. Fix: do not let libnats interpret what the stream stores. Either a
// pull consumer (libnats skips its control handling for pull subscriptions: `if (jsi && !jsi->pull)`),
// or a consumer made with js_AddConsumer on an inbox DeliverSubject read by a core
// natsConnection_Subscribe, classified by reply subject: "$JS.ACK.*" is a stored message (handed on as
// it is, whatever its headers: this also ends the heartbeat look-alike class check_gap() fills gaps
// for), no reply with status 100 is the server's heartbeat (only then honour Nats-Consumer-Stalled),
// "$JS.FC.*" is flow control. Operators meanwhile: deny relays publish on $JS.API.STREAM.PURGE.>,
// $JS.API.STREAM.DELETE.> and every subject the link does not need.
TEST_CASE("review consumer: a stored heartbeat look-alike with Nats-Consumer-Stalled does not make relays publish "
          "where it says (no purge of the group's streams)",
          "[federation][nats][review][consumer]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    started_pair p;
    [[maybe_unused]] auto& [server, a, b, op] = p;
    test::raw_counter reflected(server.port, "evil.reflect");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    raw_publish(server.port, "tlvcast.g.order", "NATS/1.0 100 Idle Heartbeat\r\nNats-Consumer-Stalled: evil.reflect\r\n\r\n", "");
    b.publish(bytes_of("after"));
    CHECK(time_until(a, "after", std::chrono::seconds(5)));
    wait_until([&] { return reflected.count.load() >= 2; }, std::chrono::seconds(2));
    INFO("messages the relays published on the attacker's subject: " << reflected.count.load());
    CHECK(reflected.count.load() == 0);
    const auto before = stored_msgs(op, "TLVCAST_order");
    REQUIRE(before >= 3);
    raw_publish(server.port, "tlvcast.g.order",
                "NATS/1.0 100 Idle Heartbeat\r\nNats-Consumer-Stalled: $JS.API.STREAM.PURGE.TLVCAST_order\r\n\r\n", "");
    wait_until([&] { return stored_msgs(p.op, "TLVCAST_order") == 0; }, std::chrono::seconds(2));
    INFO("group stream's messages before " << before << ", after " << stored_msgs(op, "TLVCAST_order"));
    CHECK(stored_msgs(op, "TLVCAST_order") >= before);
}
namespace {

// 50 rounds 100 ms apart (5 s): `per_round` copies of `headers`+`body` stored on the group subject,
// then one real message from b. Returns how long after the last round a's last real message came
// (nothing after 60 s), and what a got (real messages only) in `got`.
std::optional<clock_type::duration> flood_rounds(started_pair& p, const std::string& headers, const std::string& body,
                                                 int per_round, std::vector<std::string>& sent, std::vector<std::string>& got)
{
    auto& [server, a, b, op] = p;
    const auto keep = [&] {
        for (auto& g : drain(p.a))
            if (!g.empty() && g != body)
                got.push_back(g);
    };
    const auto t0 = clock_type::now();
    for (int i = 0; i < 50; ++i) {
        raw_flood(server.port, "tlvcast.g.order", headers, body, per_round);
        sent.push_back("m" + std::to_string(i));
        b.publish(bytes_of(sent.back()));
        keep();
        std::this_thread::sleep_until(t0 + (i + 1) * std::chrono::milliseconds(100));
    }
    const auto end = clock_type::now();
    while ((got.empty() || got.back() != sent.back()) && clock_type::now() - end < std::chrono::seconds(60)) {
        keep();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (got.empty() || got.back() != sent.back())
        return std::nullopt;
    return clock_type::now() - end;
}

long long ms(std::optional<clock_type::duration> d)
{
    return d ? std::chrono::duration_cast<std::chrono::milliseconds>(*d).count() : -1;
}

} // namespace

// Holds: the baseline for the next test. Junk with a body (what any publisher may store: no
// envelope, dropped by the bridge) at 3,000 a second for 5 s delays no real message: the last came
// 20 ms after the flood (15,000 junk messages).
TEST_CASE("review consumer: a junk flood of 3,000 a second delays no real message",
          "[federation][nats][review][consumer]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    started_pair p;
    std::vector<std::string> sent, got;
    const auto lag = flood_rounds(p, header_block("X-Junk: 1\r\n"), "junk", 300, sent, got);
    INFO("last real message " << ms(lag) << " ms after the flood");
    CHECK(got == sent);
    CHECK(lag);
    CHECK(lag < std::chrono::seconds(3));
}

// Fixed by the same change (look-alikes are stored messages like junk now). Found as: heartbeat
// look-alikes cost a relay far more than junk: each is a js_GetMsg round trip in
// check_gap() (on the delivery thread, under the reception lock), and every max_skips_per_watch (256)
// of them in a row the consumer is held and re-created, which waits for the tender's next turn (up to
// 200 ms: tend() polls, check_gap()'s hold() wakes no one). Measured (RelWithDebInfo -O0, 2 shared
// cores): a burst of 300 delays the next real message 0.2 s, of 3,000 2.2 s; the reader goes at about
// 1,000-1,300 look-alikes a second. At 3,000 a second for 5 s (15,000 look-alikes, 45 bytes each:
// 135 KB/s of the attacker's bandwidth) the last real message came 13.2-14.3 s after the flood
// ended (junk at the same rate: 20 ms, the test above). Sustained, the lag grows by ~2 s each second:
// after ~5 minutes it passes the stream's max_age (10 min), and real messages age out unread (lost for
// every relay); long before that every commit's wait for its welcome pages (inbound_wait) expires, and
// commits are handed on before them. Nothing is lost or reordered within the 5 s here (got == sent).
// Fix: the root one above (do not let libnats interpret stored messages: a pull consumer, or a core
// subscription on the consumer's inbox classified by reply subject: look-alikes then cost what junk
// costs, and check_gap() has no look-alikes to fetch). Short of it: hold() wakes the tender at once
// (notify ready_), and the gap's sequences are fetched in batches (a direct get with a batch, server
// 2.11), not one round trip each.
TEST_CASE("review consumer: a flood of heartbeat look-alikes delays real messages no more than junk does",
          "[federation][nats][review][consumer]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    started_pair p;
    std::vector<std::string> sent, got;
    const auto lag = flood_rounds(p, heartbeat, "", 300, sent, got);
    INFO("last real message " << ms(lag) << " ms after the flood");
    CHECK(got == sent);
    CHECK(lag);
    CHECK(lag < std::chrono::seconds(3));
}

// Holds: runs of look-alikes longer than max_skips_per_watch between real messages (so each run is
// held and the consumer re-created at least once in it), and a third link that starts in the middle
// of it (its first delivery past a gap): every real message comes once and in order, the look-alikes
// are handed on empty (counted received, never as a message), none is counted missed.
TEST_CASE("review consumer: runs of look-alikes longer than max_skips_per_watch lose, repeat and reorder nothing",
          "[federation][nats][review][consumer]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    started_pair p;
    [[maybe_unused]] auto& [server, a, b, op] = p;
    std::vector<std::string> sent;
    std::optional<nats_link> c;
    for (int i = 0; i < 8; ++i) {
        raw_flood(server.port, "tlvcast.g.order", heartbeat, "", 300);
        if (i == 2) {
            c.emplace(options(server, "relay-c"));
            raw_flood(server.port, "tlvcast.g.order", heartbeat, "", 600);
        }
        sent.push_back("m" + std::to_string(i));
        b.publish(bytes_of(sent.back()));
    }
    std::vector<std::string> got_a, got_c;
    const auto start = clock_type::now();
    while ((got_a.size() < sent.size() || got_c.size() < sent.size() - 2) && clock_type::now() - start < std::chrono::seconds(30)) {
        for (auto& g : drain(a))
            if (!g.empty())
                got_a.push_back(g);
        for (auto& g : drain(*c))
            if (!g.empty() && g != "first") // started_pair's, stored moments before c's start
                got_c.push_back(g);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    for (auto& g : drain(a))
        if (!g.empty())
            got_a.push_back(g);
    for (auto& g : drain(*c))
        if (!g.empty() && g != "first")
            got_c.push_back(g);
    INFO("took " << std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start).count() << " ms");
    CHECK(got_a == sent);
    // c starts by time, up to 0.1 s early (stream_consumer::encodable_start): m0 and m1, stored just
    // before, may come too (and "first", left out above). A run of what was sent that ends with the last, from m2 at the latest.
    REQUIRE(got_c.size() >= sent.size() - 2);
    CHECK(got_c == std::vector<std::string>(sent.end() - static_cast<std::ptrdiff_t>(got_c.size()), sent.end()));
    CHECK(a.counters().get(federation_counter::missed) == 0);
    CHECK(c->counters().get(federation_counter::missed) == 0);
    CHECK(a.counters().get(federation_counter::received) >= 8 * 300 + 600 + sent.size());
}
#endif
