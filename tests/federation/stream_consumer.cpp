// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/federation/detail/stream_consumer.hpp against a real nats-server with
// JetStream (loopback only): where a link's consumer starts, and how it fills a gap.
#if TLVCAST_HAS_NATS
#include <tlvcast/federation/detail/stream_consumer.hpp>

#include "nats_server.hpp"
#include "raw_nats.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace tlvcast::federation::detail;

namespace {

struct delivered {
    std::mutex m;
    stream_consumer* consumer = nullptr;
    std::vector<std::string> bodies;

    static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure)
    {
        auto& self = *static_cast<delivered*>(closure);
        {
            const std::lock_guard lock(self.m);
            std::uint64_t missed = 0;
            if (self.consumer && self.consumer->take(msg, missed) != 0)
                self.bodies.emplace_back(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
        }
        natsMsg_Destroy(msg);
    }
    std::vector<std::string> wait_for(std::size_t n, int tries = 200) // 50 ms each
    {
        for (int i = 0; i < tries; ++i) {
            {
                const std::lock_guard lock(m);
                if (bodies.size() >= n)
                    break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        const std::lock_guard lock(m);
        return bodies;
    }
};

void publish(jsCtx* js, const std::string& subject, const std::string& body)
{
    jsPubAck* ack = nullptr;
    REQUIRE(js_Publish(&ack, js, subject.c_str(), body.data(), static_cast<int>(body.size()), nullptr, nullptr) == NATS_OK);
    jsPubAck_Destroy(ack);
}

// A server, a JetStream context on it, and the group stream `TLVCAST_<g>` (R1) of subjects tlvcast.*.<g>.
struct jetstream {
    test::nats_server server;
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    stream_limits limits;
    std::string stream, subject;

    explicit jetstream(const std::string& g) : stream("TLVCAST_" + g), subject("tlvcast.*." + g)
    {
        REQUIRE(natsConnection_ConnectTo(&nc, server.url().c_str()) == NATS_OK);
        REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
        limits.replicas = 1;
        REQUIRE(ensure_stream(js, stream, subject, limits));
    }
    jetstream(const jetstream&) = delete;
    jetstream& operator=(const jetstream&) = delete;
    ~jetstream()
    {
        jsCtx_Destroy(js);
        natsConnection_Destroy(nc);
    }
};

} // namespace

TEST_CASE("stream_consumer: delivers what was stored after the link started, even before its set-up ran",
          "[federation][nats]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    jetstream j("t");
    jsCtx* js = j.js;

    publish(js, "tlvcast.g.t", "before"); // stored before the link started: not for it
    // More than the 0.1 s a link may start early (encodable_start): else "before" came 1 run in 10.
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    delivered got;
    {
        stream_consumer consumer(j.nc, js, j.stream, j.subject, &delivered::on_message, &got);
        {
            const std::lock_guard lock(got.m);
            got.consumer = &consumer;
        }
        // Another relay publishes while this link's publisher thread has not set the consumer up yet
        // (a loaded machine): it was skipped for good when set_up counted the stream's last sequence
        // as delivered.
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        publish(js, "tlvcast.g.t", "early");
        REQUIRE(consumer.set_up(j.limits, [] { return false; }));
        publish(js, "tlvcast.c.t", "late");
        const auto bodies = got.wait_for(2);
        CHECK(bodies == std::vector<std::string>{"early", "late"});
        // Nothing more comes (no repeat of "before", no second delivery).
        CHECK(got.wait_for(3, 6).size() == 2); // 0.3 s
        const std::lock_guard lock(got.m);
        got.consumer = nullptr; // the subscription goes with the consumer; late callbacks take nothing
    }
}

// A set-up that runs late (a loaded machine) counted what was stored since the link's start as there
// before it (reached()), though the consumer delivers it: a commit then overtook the messages stored
// before it (nats_link.cpp's "a commit comes after every message", failed once under TSan).
TEST_CASE("stream_consumer: what was stored after the link started is not reached before it is delivered",
          "[federation][nats]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    jetstream j("w");
    publish(j.js, "tlvcast.g.w", "before"); // seq 1: there before the link
    std::this_thread::sleep_for(std::chrono::milliseconds(150)); // past encodable_start's 0.1 s
    delivered got; // takes nothing: no consumer set
    stream_consumer consumer(j.nc, j.js, j.stream, j.subject, &delivered::on_message, &got);
    publish(j.js, "tlvcast.g.w", "after 1"); // seq 2 and 3: stored after the start, before the set-up
    publish(j.js, "tlvcast.g.w", "after 2");
    REQUIRE(consumer.set_up(j.limits, [] { return false; }));
    CHECK(consumer.reached(1));
    CHECK_FALSE(consumer.reached(2));
    CHECK(consumer.position() == 1);
}

TEST_CASE("stream_consumer: a start a few hundredths past the second is not sent late (libnats drops the "
          "fraction's leading zeros)", "[federation][nats]")
{
    constexpr std::int64_t s = 1'000'000'000;
    CHECK(stream_consumer::encodable_start(7 * s + 45'000'000) == 7 * s);      // 7.045 s: would go out as 7.45
    CHECK(stream_consumer::encodable_start(7 * s + 99'999'999) == 7 * s);
    CHECK(stream_consumer::encodable_start(7 * s + 100'000'000) == 7 * s + 100'000'000);
    CHECK(stream_consumer::encodable_start(7 * s + 123'456'789) == 7 * s + 123'456'789);
    CHECK(stream_consumer::encodable_start(7 * s) == 7 * s);
    TLVCAST_NEEDS_NATS_SERVER();
    jetstream j("u");
    jsCtx* js = j.js;
    publish(js, "tlvcast.g.u", "before");
    // A start at 0.03 s past a second, and a message 0.05 to 0.35 s past it: libnats alone sent the
    // start as 0.3 s past it, after the message. (The second is the next one: "before" stays before.)
    const std::int64_t now = stream_consumer::now_utc();
    const std::int64_t second = (now / s + 1) * s;
    std::this_thread::sleep_for(std::chrono::nanoseconds(second + 50'000'000 - now));
    delivered got;
    {
        stream_consumer consumer(j.nc, js, j.stream, j.subject, &delivered::on_message, &got, second + 30'000'000);
        {
            const std::lock_guard lock(got.m);
            got.consumer = &consumer;
        }
        publish(js, "tlvcast.g.u", "in the hundredths");
        const bool in_time = stream_consumer::now_utc() < second + 300'000'000;
        REQUIRE(consumer.set_up(j.limits, [] { return false; }));
        const auto bodies = got.wait_for(1);
        if (in_time) // else the machine was too slow for this check to mean anything
            CHECK(bodies == std::vector<std::string>{"in the hundredths"});
        const std::lock_guard lock(got.m);
        got.consumer = nullptr;
    }
}
TEST_CASE("stream_consumer: take() delivers each sequence once and counts the ones it never saw", "[federation][nats]")
{
    stream_consumer c(nullptr, nullptr, "S", "tlvcast.*.x", nullptr, nullptr);
    const auto take = [&](std::uint64_t seq, std::uint64_t expect_missed) {
        std::uint64_t missed = 99;
        const std::uint64_t got = c.take(seq, missed);
        CHECK(missed == expect_missed);
        return got;
    };
    CHECK(take(1, 0) == 1);
    CHECK(take(2, 0) == 2);
    CHECK(take(2, 0) == 0); // a repeat (an old and a new consumer overlap)
    CHECK(take(6, 3) == 6); // 3, 4, 5 left the stream before this consumer read them
    CHECK(take(7, 0) == 7);
    std::uint64_t missed = 99;
    CHECK(c.skip(8, missed)); // a message no consumer delivers, skipped in its place
    CHECK(missed == 0);
    CHECK(take(9, 0) == 9);
    CHECK(c.skip(12, missed)); // the first one the stream still holds: 10 and 11 are gone
    CHECK(missed == 2);
    CHECK_FALSE(c.skip(12, missed)); // delivered meanwhile: not skipped twice
    CHECK(take(13, 0) == 13);
}

namespace {

// Delivers as nats_link does (check_gap(), then take()), and loses the first delivery of `lose`
// as libnats's buffer would.
struct gap_filling {
    std::mutex m;
    stream_consumer* consumer = nullptr;
    std::string lose;
    std::vector<std::string> bodies; // "" for a sequence handed on empty
    int held = 0;

    static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure)
    {
        auto& self = *static_cast<gap_filling*>(closure);
        const std::string body(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
        jsMsgMetaData* meta = nullptr; // no Catch assertion here: libnats's thread (Catch is not thread-safe)
        const std::uint64_t seq = natsMsg_GetMetaData(&meta, msg) == NATS_OK ? meta->Sequence.Stream : 0;
        jsMsgMetaData_Destroy(meta);
        natsMsg_Destroy(msg);
        const std::lock_guard lock(self.m);
        if (!self.consumer || seq == 0) // not a stream message: "bodies" shows it by what is missing
            return;
        if (!self.lose.empty() && body == self.lose) {
            self.lose.clear();
            return;
        }
        std::vector<std::uint64_t> skipped;
        const auto answer = self.consumer->check_gap(seq, skipped);
        std::uint64_t missed = 0;
        for (const std::uint64_t s : skipped)
            if (self.consumer->skip(s, missed))
                self.bodies.emplace_back();
        if (answer == stream_consumer::gap_answer::held)
            ++self.held;
        if (answer == stream_consumer::gap_answer::in_order && self.consumer->take(seq, missed) != 0)
            self.bodies.push_back(body);
    }
    std::vector<std::string> tend_until(std::size_t n, std::atomic<bool>& again, int tries = 100) // 50 ms each
    {
        for (int i = 0; i < tries; ++i) {
            consumer->tend(again, [](std::uint64_t, const std::string&) { return true; });
            {
                const std::lock_guard lock(m);
                if (bodies.size() >= n)
                    break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        const std::lock_guard lock(m);
        return bodies;
    }
};

} // namespace

// Ordered mode re-created the consumer at every gap, for ever at a stored heartbeat look-alike
// (review_order2_nats.cpp): the consumer fills gaps itself now.
TEST_CASE("stream_consumer: a message the consumer lost is delivered again by a new consumer, in order; a "
          "heartbeat look-alike in a gap is handed on empty, with no new consumer",
          "[federation][nats]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    jetstream j("v");
    gap_filling got;
    std::atomic<bool> again{false};
    stream_consumer consumer(j.nc, j.js, j.stream, j.subject, &gap_filling::on_message, &got);
    {
        const std::lock_guard lock(got.m);
        got.consumer = &consumer;
        got.lose = "lost";
    }
    REQUIRE(consumer.set_up(j.limits, [] { return false; }));
    publish(j.js, "tlvcast.g.v", "first");
    publish(j.js, "tlvcast.g.v", "lost");
    publish(j.js, "tlvcast.g.v", "after");
    CHECK(got.tend_until(3, again) == std::vector<std::string>{"first", "lost", "after"});
    {
        const std::lock_guard lock(got.m);
        CHECK(got.held >= 1); // "after" waited for the new consumer
        CHECK(got.lose.empty());
    }
    test::raw_publish(j.server.port, "tlvcast.g.v", "NATS/1.0 100 Idle Heartbeat\r\n\r\n", "");
    publish(j.js, "tlvcast.g.v", "behind");
    const int held_before = got.held;
    CHECK(got.tend_until(5, again) == std::vector<std::string>{"first", "lost", "after", "", "behind"});
    const std::lock_guard lock(got.m);
    CHECK(got.held == held_before);
    got.consumer = nullptr;
}
#endif
