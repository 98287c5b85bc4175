// SPDX-License-Identifier: BSL-1.0
// Adversarial review of stream_consumer::encodable_start (detail/stream_consumer.hpp) against a real
// nats-server (loopback only): the start time the server holds is the one the link meant, for every
// shape of fraction of a second, and never later than the link's start.
#if TLVCAST_HAS_NATS
#include <tlvcast/federation/detail/stream_consumer.hpp>

#include "nats_server.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>

using namespace tlvcast::federation::detail;

TEST_CASE("review stream start: the server holds exactly the start encodable_start chose, at most 0.1 s early",
          "[federation][nats][review]")
{
    constexpr std::int64_t s = 1'000'000'000, tenth = s / 10;
    // Pure: never later, never more than a tenth earlier; a whole second unchanged.
    for (const std::int64_t f : {0ll, 1ll, 9ll, 45'000'000ll, 99'999'999ll, 100'000'000ll, 100'000'001ll, 999'999'999ll}) {
        const std::int64_t t = 1'790'000'000 * s + f, e = stream_consumer::encodable_start(t);
        CHECK(e <= t);
        CHECK(t - e < tenth);
        CHECK(e % s == (f < tenth ? 0 : f));
    }
    TLVCAST_NEEDS_NATS_SERVER();
    test::nats_server server;
    natsConnection* nc = nullptr;
    REQUIRE(natsConnection_ConnectTo(&nc, server.url().c_str()) == NATS_OK);
    jsCtx* js = nullptr;
    REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
    stream_limits limits;
    limits.replicas = 1;
    REQUIRE(ensure_stream(js, "TLVCAST_t", "tlvcast.*.t", limits));
    // An hour ago (a start in the past is what a link's is by the time its consumer is made).
    const std::int64_t base = (stream_consumer::now_utc() / s - 3600) * s;
    for (const std::int64_t f : {1ll, 9ll, 450ll, 45'000'000ll, 99'999'999ll, 100'000'000ll, 123'456'789ll,
                                 999'999'999ll}) {
        const std::int64_t want = stream_consumer::encodable_start(base + f);
        jsConsumerConfig cfg;
        jsConsumerConfig_Init(&cfg);
        cfg.DeliverPolicy = js_DeliverByStartTime;
        cfg.OptStartTime = want;
        cfg.AckPolicy = js_AckNone;
        jsConsumerInfo* ci = nullptr;
        jsErrCode err = static_cast<jsErrCode>(0);
        REQUIRE(js_AddConsumer(&ci, js, "TLVCAST_t", &cfg, nullptr, &err) == NATS_OK);
        INFO("fraction " << f << " ns");
        REQUIRE(ci->Config);
        CHECK(ci->Config->OptStartTime == want); // without encodable_start: 0.045 s held as 0.45 s
        jsConsumerInfo_Destroy(ci);
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}
#endif
