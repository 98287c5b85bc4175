// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/federation/nats_link.hpp (a build with libnats): set-up errors, and
// back-pressure while no server answers (loopback only: a port nothing listens on). The link with a
// cluster is tested end to end (tests/e2e/test_federation.py).
#if TLVCAST_HAS_NATS
#include <tlvcast/federation/nats_link.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>
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
#endif
