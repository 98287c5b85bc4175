// SPDX-License-Identifier: BSL-1.0
// Second adversarial review of the order of commits over a real nats-server (loopback only): the
// stall watch's skip of stored messages libnats never delivers (heartbeat look-alikes). The attacker
// is a NATS client without the federation key that may publish on and read tlvcast.*.<group> (raw
// protocol: any header). The other half: review_order2_wait_nats.cpp.
#if TLVCAST_HAS_NATS
#include "order_nats.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace review_order2_nats;


// Fixed. The stall watch skipped one message that libnats never delivers per watch, a second apart
// (and re-created the consumer each time). A publisher without the key that stored such messages in
// a row delayed every relay's federation by a second each: 3,600 of them (about 130 KiB) stopped the
// group for an hour, and more than one a second stopped it for good (what waits then ages out of
// the stream unread). Now one watch skips up to stream_consumer::max_skips_per_watch (256) of them
// in a row, then re-creates the consumer once.
TEST_CASE("review order2: heartbeat look-alikes in a row are skipped in one watch",
          "[federation][order][nats][review][heartbeat]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    started_pair p;
    [[maybe_unused]] auto& [server, a, b, op] = p;
    for (int i = 0; i < 10; ++i)
        raw_publish(server.port, "tlvcast.g.order", heartbeat, "");
    b.publish(bytes_of("after"));
    const auto took = time_until(a, "after", std::chrono::seconds(4));
    CHECK(took); // 10 look-alikes: about 10 s
}

// Fixed. While a heartbeat look-alike waited at a relay's next sequence (up to the stall watch's
// second, per look-alike), libnats's ordered consumer saw the gap after it, re-created itself at
// the look-alike, swallowed it again, and so on as fast as the server answered: 200 to 350 consumer
// creations a second per relay here (an idle group: 2 or 3 API requests a second in all), each on a
// thread of libnats's own; in a cluster each a proposal of the JetStream meta group. Under that
// churn CI's ASan run aborted in libnats (3.4.1's re-creation has races fixed upstream later). Now
// the consumer is not libnats's Ordered one: a gap is looked at once (stream_consumer::check_gap)
// and the look-alike handed on empty. Measured: 2,798 requests in 2 s before, 9 after (idle: 7-9).
TEST_CASE("review order2: a heartbeat look-alike does not make relays re-create their consumers",
          "[federation][order][nats][review][heartbeat]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    started_pair p;
    [[maybe_unused]] auto& [server, a, b, op] = p;
    const std::uint64_t idle_start = op.api_requests();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const std::uint64_t idle = op.api_requests() - idle_start;
    // One look-alike and one message after it every 200 ms: the watch skips each within a second,
    // the churn goes on while it waits (since the watch skips all in a row at once, a single burst
    // churns for a second at most).
    const std::uint64_t stalled_start = op.api_requests();
    for (int i = 0; i < 10; ++i) {
        raw_publish(server.port, "tlvcast.g.order", heartbeat, "");
        b.publish(bytes_of("after"));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    const std::uint64_t stalled = op.api_requests() - stalled_start;
    INFO("JetStream API requests in 2 s: idle " << idle << ", behind look-alikes " << stalled);
    CHECK(stalled < 10 * (idle + 5));
}

// Found by this review and fixed on main meanwhile (107344b, nats_link::deliver_skipped): a heartbeat
// look-alike stored on the commit subject was the commit subject's last message for the stream,
// which checks every commit's expectation against it, but no relay read it (libnats swallowed it;
// the stall watch skipped it and handed nothing to the bridge): every relay kept expecting the
// commit before it, and every commit of the group conflicted until it aged out (max_age, 10
// minutes; one such message every 10 minutes stopped the group's membership for good). The second
// case has group messages stored right after the look-alike, before the stall watch's second: they
// must not be delivered before it (a delivery first makes the skip give up: that relay would not
// move past it while the others do).
TEST_CASE("review order2: a heartbeat look-alike on the commit subject is moved past by every relay; commits go on",
          "[federation][order][nats][review][heartbeat]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    for (const bool messages_after : {false, true}) {
        INFO("group messages right after it: " << messages_after);
        test::nats_server server;
        two_relays g(options(server, "relay-a"), options(server, "relay-b"));
        g.rb.engine.commit(1);
        REQUIRE(g.run_until([&] { return g.ra.engine.epoch == 1 && g.rb.engine.epoch == 1; }, std::chrono::seconds(10)));
        raw_publish(server.port, "tlvcast.c.order", heartbeat, "");
        if (messages_after)
            for (int i = 0; i < 3; ++i)
                raw_publish(server.port, "tlvcast.g.order", header_block("X-Junk: 1\r\n"), "junk");
        REQUIRE(g.run_until([&] { return g.la.counters().get(federation_counter::malformed) == (messages_after ? 4u : 1u); },
                            std::chrono::seconds(5)));
        for (int round = 0; round < 3 && g.ra.engine.epoch == 1; ++round) {
            g.ra.engine.commit(1);
            g.run_until([&] { return g.ra.engine.epoch == 2; }, std::chrono::seconds(2));
        }
        g.run_until([&] { return g.rb.engine.epoch == g.ra.engine.epoch; }, std::chrono::seconds(2));
        INFO("a's conflicts: " << g.la.counters().get(federation_counter::conflicts));
        CHECK(g.ra.engine.epoch == 2);
        CHECK(g.rb.engine.epoch == g.ra.engine.epoch);
    }
}

// Fixed. When the message after the last delivered one is gone (the stream's limits removed it, as
// they remove whatever a relay held back too long) and the first one the stream still holds is a
// heartbeat look-alike, the watch found nothing at delivered+1 to skip, re-created the consumer at
// delivered+1, the stream started it at the look-alike, libnats swallowed it: the same every second,
// for as long as a look-alike was the stream's first message after that point. The watch now skips
// from max(delivered + 1, the stream's first sequence); the removed one counts as missed.
TEST_CASE("review order2: a heartbeat look-alike after a removed message is skipped; the removed one is missed",
          "[federation][order][nats][review][heartbeat]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    started_pair p;
    [[maybe_unused]] auto& [server, a, b, op] = p;
    const std::uint64_t first = op.last_seq();
    raw_publish(server.port, "tlvcast.g.order", heartbeat, ""); // first + 1: removed below
    raw_publish(server.port, "tlvcast.g.order", heartbeat, ""); // first + 2
    REQUIRE(op.remove(first + 1));
    b.publish(bytes_of("after"));
    CHECK(time_until(a, "after", std::chrono::seconds(6)));
    // Since the consumer is read by a plain subscription (stream_consumer::on_delivery), a look-alike
    // is a stored message like any other: the first one may be delivered before its removal.
    CHECK(a.counters().get(federation_counter::missed) <= 1);
}


// The defence holds: other status lines a hand-written client can store (bodiless or not), and a
// look-alike whose heartbeat headers claim another consumer position, delay a reader by the stall
// watch's second at most, and skip or double no real message after them.
TEST_CASE("review order2: stored status look-alikes delay a reader a second at most and lose nothing after them",
          "[federation][order][nats][review][heartbeat]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    const std::vector<std::pair<std::string, std::string>> lookalikes{
        {"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 1000000\r\nNats-Last-Stream: 1000000\r\n\r\n", ""},
        {"NATS/1.0 409 Consumer Deleted\r\n\r\n", ""},
        {"NATS/1.0 404 No Messages\r\n\r\n", ""},
        {"NATS/1.0 408 Request Timeout\r\n\r\n", ""},
        {"NATS/1.0 503\r\n\r\n", ""},
        {"NATS/1.0 100 FlowControl Request\r\n\r\n", "body"},
    };
    for (const auto& [headers, body] : lookalikes) {
        INFO(headers);
        started_pair p;
        [[maybe_unused]] auto& [server, a, b, op] = p;
        raw_publish(server.port, "tlvcast.g.order", headers, body);
        std::vector<std::string> sent;
        for (int i = 0; i < 5; ++i) {
            sent.push_back("m" + std::to_string(i));
            b.publish(bytes_of(sent.back()));
        }
        std::vector<std::string> got;
        const auto start = clock_type::now();
        while ((got.empty() || got.back() != sent.back()) && clock_type::now() - start < std::chrono::seconds(5)) {
            for (auto& g : drain(a))
                if (g != body) // the look-alike itself, when libnats delivers it (junk for the bridge)
                    got.push_back(g);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        CHECK(clock_type::now() - start < std::chrono::milliseconds(2500));
        CHECK(got == sent);
    }
}
#endif
