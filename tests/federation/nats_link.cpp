// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/federation/nats_link.hpp (a build with libnats): set-up errors, and
// back-pressure while no server answers (loopback only: a port nothing listens on), two JetStream
// links on one server (tests/federation/nats_server.hpp). The link with a cluster is tested end to
// end (tests/e2e/test_federation.py).
#if TLVCAST_HAS_NATS
#include <tlvcast/federation/nats_link.hpp>

#include "nats_server.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

using namespace tlvcast::federation;

TEST_CASE("nats_link: group names are NATS subject tokens", "[federation][nats]")
{
    CHECK(valid_group_name("default"));
    CHECK(valid_group_name("site_A-2"));
    for (const char* bad : {"", "a.b", "a*", ">", "a b", "\xc3\xa9"})
        CHECK_FALSE(valid_group_name(bad));
    CHECK_FALSE(valid_group_name(std::string(65, 'a')));
}

TEST_CASE("nats_link: set-up errors throw, naming what is wrong", "[federation][nats]")
{
    nats_options o;
    CHECK_THROWS_AS(nats_link(o), std::invalid_argument); // no server
    o.servers = {"nats://127.0.0.1:1"};
    o.group = "a.b";
    CHECK_THROWS_AS(nats_link(o), std::invalid_argument);
    o.group = "g";
    o.credentials_file = "/nonexistent/tlvcast-test.creds";
    CHECK_THROWS_AS(nats_link(o), std::runtime_error);
}

TEST_CASE("nats_link: with no server up it starts, queues within its bound and counts the rest",
          "[federation][nats]")
{
    nats_options o;
    o.servers = {"nats://127.0.0.1:1"}; // nothing listens on port 1: connection refused, retried
    o.max_outbound = 4;
    o.max_outbound_bytes = 1 << 20;
    o.reconnect_buffer = 64; // libnats's own buffer, tiny: what it refuses counts as publish_errors
    nats_link l(o);
    CHECK(l.subject() == "tlvcast.g.default");
    CHECK_FALSE(l.connected());
    const std::vector<std::byte> env(1000, std::byte{1});
    std::uint64_t accepted = 0;
    for (int i = 0; i < 2000; ++i) // never blocks, whatever NATS does
        accepted += l.publish(env) ? 1u : 0u;
    const auto& c = l.counters();
    CHECK(accepted + c.get(federation_counter::queue_full) == 2000);
    CHECK(c.get(federation_counter::queue_full) > 0);
    std::vector<std::byte> out;
    CHECK_FALSE(l.poll(out));
}

TEST_CASE("nats_link (JetStream): two links read one order; a commit is stored only at its expectation",
          "[federation][nats]")
{
    if (!test::have_nats_server()) {
        WARN("no nats-server on PATH: not run");
        return;
    }
    test::nats_server server;
    nats_options o = test::jetstream_options(server, "js");
    nats_link a(o), b(o);
    const auto env = [](int v) { return std::vector<std::byte>(40, std::byte(v)); };
    // Published before either link set its stream up: they wait in the queue, then come in order.
    for (int i = 0; i < 3; ++i)
        REQUIRE(a.publish(env(i)));
    REQUIRE(b.publish_ordered(env(10), 0)); // the first commit: expects none
    const auto take = [](nats_link& l, std::size_t n, int tries = 400) { // 50 ms each
        std::vector<std::pair<std::vector<std::byte>, reception>> got;
        for (int i = 0; i < tries && got.size() < n; ++i) {
            std::vector<std::byte> out;
            reception r;
            while (l.poll(out, r))
                got.emplace_back(out, r);
            if (got.size() < n)
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return got;
    };
    for (nats_link* l : {&a, &b}) {
        const auto got = take(*l, 4); // the publisher's own too: a stream consumer sees all
        REQUIRE(got.size() == 4);
        std::uint64_t seq = 0;
        std::size_t plain = 0;
        for (const auto& [bytes, r] : got) {
            CHECK(r.seq > seq); // stream order, no repeat
            seq = r.seq;
            CHECK_FALSE(r.stale);
            if (r.ordered)
                CHECK(bytes == env(10));
            else
                CHECK(bytes == env(int(plain++)));
        }
        CHECK(plain == 3);
    }
    // A commit that expects no commit, after one: the stream refuses it (a conflict), never stored.
    REQUIRE(a.publish_ordered(env(11), 0));
    for (int i = 0; i < 200 && a.counters().get(federation_counter::conflicts) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(a.counters().get(federation_counter::conflicts) == 1);
    CHECK(take(b, 1, 10).empty()); // a stored one would come within this half second
    CHECK(a.counters().get(federation_counter::late_conflicts) == 0);
}
#endif
