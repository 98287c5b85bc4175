// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/federation/detail/stream_consumer.hpp against a real nats-server with
// JetStream (loopback only): where a link's consumer starts.
#if TLVCAST_HAS_NATS
#include <tlvcast/federation/detail/stream_consumer.hpp>

#include "nats_server.hpp"

#include <catch2/catch.hpp>

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
            if (self.consumer && self.consumer->take(msg) != 0)
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
    if (!test::have_nats_server()) {
        WARN("no nats-server on PATH: not run");
        return;
    }
    jetstream j("t");
    jsCtx* js = j.js;

    publish(js, "tlvcast.g.t", "before"); // stored before the link started: not for it
    // More than the 0.1 s a link may start early (encodable_start): else "before" came 1 run in 10.
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    delivered got;
    {
        stream_consumer consumer(js, j.stream, j.subject, &delivered::on_message, &got);
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

TEST_CASE("stream_consumer: a start a few hundredths past the second is not sent late (libnats drops the "
          "fraction's leading zeros)", "[federation][nats]")
{
    constexpr std::int64_t s = 1'000'000'000;
    CHECK(stream_consumer::encodable_start(7 * s + 45'000'000) == 7 * s);      // 7.045 s: would go out as 7.45
    CHECK(stream_consumer::encodable_start(7 * s + 99'999'999) == 7 * s);
    CHECK(stream_consumer::encodable_start(7 * s + 100'000'000) == 7 * s + 100'000'000);
    CHECK(stream_consumer::encodable_start(7 * s + 123'456'789) == 7 * s + 123'456'789);
    CHECK(stream_consumer::encodable_start(7 * s) == 7 * s);
    if (!test::have_nats_server()) {
        WARN("no nats-server on PATH: not run");
        return;
    }
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
        stream_consumer consumer(js, j.stream, j.subject, &delivered::on_message, &got, second + 30'000'000);
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
#endif
