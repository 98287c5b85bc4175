// SPDX-License-Identifier: BSL-1.0
// Adversarial review of the order of commits over a real nats-server (loopback only): what a
// publisher without the key can store in the group's stream with raw NATS protocol (any header), and
// what the stream's limits do to the order.
#if TLVCAST_HAS_NATS
#include <tlvcast/federation/nats_link.hpp>

#include "nats_server.hpp"
#include "raw_nats.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <system_error>
#include <string>
#include <thread>
#include <vector>

using namespace tlvcast::federation;

namespace review_order_nats {

using test::header_block;
using test::raw_publish;

nats_options options(const test::nats_server& server, const char* name, const detail::stream_limits& limits = {})
{
    nats_options o;
    o.stream = limits;
    o.servers = {server.url()};
    o.group = "order";
    o.client_name = name;
    o.jetstream = true;
    o.stream.replicas = 1;
    return o;
}

// Receptions of `l` until `want` arrived or `rounds` times 50 ms passed.
std::vector<std::pair<std::string, reception>> receive(nats_link& l, std::size_t want, int rounds = 200)
{
    std::vector<std::pair<std::string, reception>> got;
    for (int i = 0; i < rounds && got.size() < want; ++i) {
        std::vector<std::byte> b;
        reception r;
        while (l.poll(b, r))
            got.emplace_back(std::string(reinterpret_cast<const char*>(b.data()), b.size()), r);
        if (got.size() < want)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return got;
}

std::vector<std::byte> bytes_of(const std::string& s)
{
    return {reinterpret_cast<const std::byte*>(s.data()), reinterpret_cast<const std::byte*>(s.data() + s.size())};
}

// A commit for the order that continues `after`, as a string (unsealed: a link reads the position
// without the key).
std::string ordered_envelope(std::uint64_t after, std::uint64_t counter)
{
    std::vector<std::byte> out;
    std::error_code ec;
    write_envelope(envelope_kind::ordered, relay_id{}, counter, after, tlvcast::crypto::fingerprint{},
                   std::vector<std::byte>(8, std::byte{0x43}), out, ec);
    REQUIRE_FALSE(ec);
    return {reinterpret_cast<const char*>(out.data()), out.size()};
}

// Whether a commit expecting the last one a relay read is stored after `meanwhile` ran: it is
// what every relay's bridge expects when nothing newer came on the commit subject.
bool commit_after(const detail::stream_limits& limits, const std::function<void(const test::nats_server&)>& meanwhile)
{
    test::nats_server server;
    nats_link a(options(server, "relay-a", limits)), b(options(server, "relay-b", limits));
    REQUIRE(b.publish_ordered(bytes_of("commit-1"), 0));
    const auto first = receive(a, 1);
    REQUIRE(first.size() == 1);
    meanwhile(server);
    REQUIRE(b.publish_ordered(bytes_of("commit-2"), first[0].second.seq));
    for (int i = 0; i < 100 && b.counters().get(federation_counter::published) < 2 &&
                    b.counters().get(federation_counter::conflicts) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return b.counters().get(federation_counter::conflicts) == 0;
}

// Whether a relay's link still receives the group after a raw message with `headers` and `body`
// was stored on the group subject.
bool delivers_after(const std::string& headers, const std::string& body)
{
    test::nats_server server;
    nats_link a(options(server, "relay-a")), b(options(server, "relay-b"));
    b.publish(bytes_of("first")); // stored once b's set-up made the stream: both consumers then run
    REQUIRE(receive(a, 1).size() == 1);
    raw_publish(server.port, "tlvcast.g.order", headers, body);
    b.publish(bytes_of("after"));
    for (int i = 0; i < 100; ++i) // 5 s: the consumer's stall watch runs each second
        for (const auto& [body_got, r] : receive(a, 1, 1))
            if (body_got == "after")
                return true;
    return false;
}

} // namespace review_order_nats

using namespace review_order_nats;

// The server checks the first occurrence of the key's text, and only where a line starts with it. A
// raw client puts the key inside another header first: the server stores without a check. The
// readers judge a commit by the position its envelope carries under the federation key, never by
// the header: a copy of an old commit stored so is stale whatever the header says, and the next
// commit is not.
TEST_CASE("review order: a forged stored header moves nothing: a commit is judged by its envelope",
          "[federation][order][nats][review]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    test::nats_server server;
    nats_link a(options(server, "relay-a")), b(options(server, "relay-b"));
    const std::string first = ordered_envelope(0, 1);
    REQUIRE(b.publish_ordered(bytes_of(first), 0)); // seq 1
    REQUIRE(receive(a, 1).size() == 1);
    const std::string key = "Nats-Expected-Last-Subject-Sequence";
    raw_publish(server.port, "tlvcast.c.order", header_block(key + ": 0\r\n"), "checked"); // refused: 1 is last
    raw_publish(server.port, "tlvcast.c.order", header_block("X-" + key + ": 1\r\n" + key + ": 1\r\n"), first);
    const std::string third = ordered_envelope(2, 3);
    REQUIRE(b.publish_ordered(bytes_of(third), 2)); // after the copy: stored at 3
    const auto got = receive(a, 2);
    REQUIRE(got.size() == 2);
    CHECK(got[0].first == first);
    CHECK((got[0].second.seq == 2 && got[0].second.ordered && got[0].second.stale));
    CHECK(got[1].first == third);
    CHECK((got[1].second.seq == 3 && got[1].second.ordered && !got[1].second.stale));
}

// Was open: libnats takes a delivered message with no body whose header block starts "NATS/1.0 100"
// for the server's heartbeat or flow control, and hands it to no callback; the ordered consumer's
// count of deliveries then has a gap, it is re-created at the same stream sequence, and takes the
// same message again: no relay received anything stored after it, commits included, until it aged
// out. Re-created that often, the consumer also met a race inside libnats 3.4 (TSan: its delivery
// thread frees the new consumer's name while js_Subscribe still reads it). Now the link's stall
// watch reads a stalled consumer's next message itself, and skips one with no body (counted
// malformed): the consumer is re-created once, after it.
TEST_CASE("review order: a stored message that looks like a JetStream heartbeat stalls a consumer for a "
          "second, not for good", "[federation][order][nats][review][heartbeat]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    CHECK(delivers_after("NATS/1.0 100 Idle Heartbeat\r\n\r\n", ""));
    CHECK(delivers_after("NATS/1.0 100 FlowControl Request\r\n\r\n", ""));
}

// The same look-alike on the commit subject: skipped by every consumer, it would still be the
// subject's last message in the stream, and every commit expecting the last one its relay read would
// conflict for good. The skipped message is handed on empty in its place: every relay drops it as
// junk and expects it.
TEST_CASE("review order: a heartbeat look-alike on the commit subject is read as junk: the next commit is stored",
          "[federation][order][nats][review][heartbeat]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    test::nats_server server;
    nats_link a(options(server, "relay-a")), b(options(server, "relay-b"));
    REQUIRE(b.publish_ordered(bytes_of("commit-1"), 0));
    REQUIRE(receive(a, 1).size() == 1);
    raw_publish(server.port, "tlvcast.c.order", "NATS/1.0 100 Idle Heartbeat\r\n\r\n", "");
    std::vector<std::pair<std::string, reception>> got;
    for (int i = 0; i < 100 && got.empty(); ++i) // the stall watch: about a second
        got = receive(a, 1, 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].first.empty());
    CHECK((got[0].second.seq == 2 && got[0].second.ordered && !got[0].second.stale));
    CHECK(a.counters().get(federation_counter::received) == 2);
    REQUIRE(b.publish_ordered(bytes_of("commit-3"), got[0].second.seq)); // what a's bridge now expects
    const auto third = receive(a, 1);
    REQUIRE(third.size() == 1);
    CHECK(third[0].first == "commit-3");
    CHECK(b.counters().get(federation_counter::conflicts) == 0);
}

TEST_CASE("review order: a commit expecting the last one read is stored",
          "[federation][order][nats][review]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    detail::stream_limits limits;
    limits.replicas = 1;
    CHECK(commit_after(limits, [](const test::nats_server&) {}));
}

// Was open: the stream's limits remove its oldest messages, the commit subject's last included, and
// nats-server then checks an expectation against none (0), while every relay still expects the
// commit it read last: every commit conflicted, after max_age (10 min) without one, or once anyone
// who may publish on the group subject stored max_bytes (256 MiB) after the last commit. Now a
// conflicting commit's link asks the stream for the commit subject's last message and, when the one
// it continues is gone with nothing newer, offers it again against what the stream holds; the
// envelope still says what it continues, so the readers' order_guard keeps it.
TEST_CASE("review order: once the last commit aged out of the stream the next commit is stored",
          "[federation][order][nats][review]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    detail::stream_limits limits;
    limits.replicas = 1;
    limits.max_age = std::chrono::seconds(1);
    limits.duplicates = std::chrono::milliseconds(500); // the server wants it within max_age
    CHECK(commit_after(limits, [](const test::nats_server&) { std::this_thread::sleep_for(std::chrono::seconds(3)); }));
}

TEST_CASE("review order: junk on the group subject that pushes the last commit out of the stream: the next "
          "commit is stored", "[federation][order][nats][review]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    detail::stream_limits limits;
    limits.replicas = 1;
    limits.max_bytes = 16 * 1024;
    CHECK(commit_after(limits, [](const test::nats_server& server) {
        for (int i = 0; i < 40; ++i) // 40 KiB: over max_bytes
            raw_publish(server.port, "tlvcast.g.order", header_block("X-Junk: 1\r\n"), std::string(1024, 'j'));
    }));
}

TEST_CASE("review order: a stored message with no body and no status line stops no consumer",
          "[federation][order][nats][review]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    CHECK(delivers_after(header_block("X-Junk: 1\r\n"), ""));
    CHECK(delivers_after("NATS/1.0 100 Idle Heartbeat\r\n\r\n", "x")); // a body: libnats delivers it
}
#endif
