// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/federation/nats_link.hpp (a build with libnats): set-up errors, and
// back-pressure while no server answers (loopback only: a port nothing listens on), two JetStream
// links on one server (tests/federation/nats_server.hpp). The link with a cluster is tested end to
// end (tests/e2e/test_federation.py).
#if TLVCAST_HAS_NATS
#include <tlvcast/federation/nats_link.hpp>

#include "nats_server.hpp"
#include "raw_nats.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <optional>
#include <stdexcept>
#include <string>
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
    // The first connection is retried, each failure counted (refused at once: 0.25 s, then 0.5 s).
    for (int i = 0; i < 100 && c.get(federation_counter::connect_retries) < 2; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(c.get(federation_counter::connect_retries) >= 2);
    CHECK(c.get(federation_counter::published) == 0);
}

TEST_CASE("nats_link: a link started before its NATS server connects once the server is up; what it queued "
          "meanwhile goes out", "[federation][nats]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    const int port = test::nats_server::free_port();
    nats_options o;
    o.servers = {"nats://127.0.0.1:" + std::to_string(port)};
    o.group = "late";
    o.jetstream = true;
    o.stream.replicas = 1;
    nats_link l(o);
    const std::vector<std::byte> env(40, std::byte{7});
    REQUIRE(l.publish(env));
    const auto wait_for = [](auto done, std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return done();
    };
    // Refused until the server starts: the link counts its failed attempts, then it is up.
    REQUIRE(wait_for([&] { return l.counters().get(federation_counter::connect_retries) >= 2; }, std::chrono::seconds(5)));
    CHECK_FALSE(l.connected());
    test::nats_server server(port);
    CHECK(wait_for([&] { return l.connected(); }, std::chrono::seconds(10))); // back-off 4 s at most
    std::vector<std::byte> out;
    reception r;
    bool got = false; // stored, and read back
    CHECK(wait_for([&] { return got = got || l.poll(out, r); }, std::chrono::seconds(10)));
    CHECK(out == env);
    // Counted once the store's acknowledgement came back, which may be after the reader got it (ASan, once).
    CHECK(wait_for([&] { return l.counters().get(federation_counter::published) == 1; }, std::chrono::seconds(5)));
    CHECK(l.counters().get(federation_counter::disconnects) == 0);
}

TEST_CASE("nats_link (JetStream): two links read one order; a commit is stored only at its expectation",
          "[federation][nats]")
{
    TLVCAST_NEEDS_NATS_SERVER();
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
        std::uint64_t seq[2] = {0, 0}; // each stream's: the messages', the commits'
        std::size_t plain = 0;
        for (const auto& [bytes, r] : got) {
            CHECK(r.seq > seq[r.ordered]); // stream order, no repeat
            seq[r.ordered] = r.seq;
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

namespace {
template <class Done>
bool wait_long(Done done, std::chrono::milliseconds limit = std::chrono::seconds(10))
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return done();
}
} // namespace

TEST_CASE("nats_link (JetStream): commits have a stream of their own: a full one refuses the next commit, "
          "counted, and removes none", "[federation][nats]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    test::nats_server server;
    nats_options o = test::jetstream_options(server, "full");
    o.stream.commit_max_bytes = 1000; // a few commits of 150 bytes (with their headers)
    o.publish_retry = std::chrono::milliseconds(2000); // a refusal taken for a failure would show as publish_errors
    nats_link a(o);
    const auto env = [](int v) { return std::vector<std::byte>(150, std::byte(v)); };
    std::uint64_t last = 0, stored = 0;
    for (int i = 0; i < 20 && a.counters().get(federation_counter::order_full) == 0; ++i) {
        REQUIRE(a.publish_ordered(env(i), last));
        REQUIRE(wait_long([&] {
            const auto& c = a.counters();
            return c.get(federation_counter::published) + c.get(federation_counter::order_full) +
                       c.get(federation_counter::conflicts) + c.get(federation_counter::publish_errors) ==
                   std::uint64_t(i + 1);
        }));
        std::vector<std::byte> out;
        reception r;
        if (a.counters().get(federation_counter::published) > stored) {
            bool got = false;
            REQUIRE(wait_long([&] { return got = got || a.poll(out, r); }));
            CHECK(r.ordered);
            last = r.seq;
            ++stored;
        }
    }
    CHECK(a.counters().get(federation_counter::order_full) == 1);
    CHECK(a.counters().get(federation_counter::conflicts) == 0);
    CHECK(a.counters().get(federation_counter::publish_errors) == 0);
    CHECK(stored >= 2);
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    REQUIRE(natsConnection_ConnectTo(&nc, server.url().c_str()) == NATS_OK);
    REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
    const auto st = detail::stream_seqs(js, "TLVCOMMITS_full");
    REQUIRE(st);
    CHECK(st->first == 1); // nothing removed
    CHECK(st->last == stored);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

TEST_CASE("nats_link (JetStream): a commit comes after every message stored before it, though the two streams "
          "have consumers of their own", "[federation][nats]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    test::nats_server server;
    nats_options o = test::jetstream_options(server, "pages");
    nats_link b(o);
    o.max_inbound = 1; // a's strand takes its time: its messages' consumer is held back
    nats_link a(o);
    constexpr int pages = 20; // as welcome pages before their commit
    for (int i = 0; i < pages; ++i)
        REQUIRE(b.publish(std::vector<std::byte>(100, std::byte(i))));
    REQUIRE(b.publish_ordered(std::vector<std::byte>(100, std::byte{0xcc}), 0));
    REQUIRE(wait_long([&] { return b.counters().get(federation_counter::published) == pages + 1; }));
    std::vector<std::pair<int, bool>> got;
    for (int i = 0; i < 1500 && got.size() < std::size_t(pages + 1); ++i) { // 10 ms each: 15 s at most
        std::vector<std::byte> out;
        reception r;
        if (a.poll(out, r)) // one at a time, slowly
            got.emplace_back(std::to_integer<int>(out[0]), r.ordered);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::string order; // for a failure's message
    for (const auto& [v, ordered] : got)
        order += (ordered ? "c" : "") + std::to_string(v) + " ";
    INFO("received: " << order << "; a's counters: missed " << a.counters().get(federation_counter::missed)
                      << ", inbound_full " << a.counters().get(federation_counter::inbound_full));
    REQUIRE(got.size() == std::size_t(pages + 1));
    for (int i = 0; i < pages; ++i)
        CHECK(got[std::size_t(i)] == std::pair<int, bool>(i, false));
    CHECK(got.back() == std::pair<int, bool>(0xcc, true));
}

TEST_CASE("nats_link (JetStream): a commit's hint of the messages before it is capped by what the stream holds: "
          "a forged one delays nothing", "[federation][nats]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    test::nats_server server;
    nats_options o = test::jetstream_options(server, "hint");
    nats_link a(o);
    REQUIRE(a.publish(std::vector<std::byte>(40, std::byte{1}))); // the streams are set up once it is read
    std::vector<std::byte> out;
    reception r;
    bool got = false;
    REQUIRE(wait_long([&] { return got = got || a.poll(out, r); }));
    // A publisher without the key stores junk on the commit subject naming a message the stream will
    // not hold for a long time: uncapped, the reader would wait inbound_wait (30 s) for it.
    test::raw_publish(server.port, "tlvcast.c.hint", test::header_block("Tlvcast-Messages-Before: 99999999\r\n"),
                      "junk");
    const auto start = std::chrono::steady_clock::now();
    got = false;
    REQUIRE(wait_long([&] { return got = got || a.poll(out, r); }));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    CHECK(r.ordered);
}

TEST_CASE("nats_link (JetStream): the group stream of an older tlvcast, which held the commit subject too, gives "
          "it up to the commit stream", "[federation][nats]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    test::nats_server server;
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    REQUIRE(natsConnection_ConnectTo(&nc, server.url().c_str()) == NATS_OK);
    REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
    detail::stream_limits limits;
    limits.replicas = 1;
    REQUIRE(detail::ensure_stream(js, "TLVCAST_old", "tlvcast.*.old", limits)); // what an older relay made
    nats_link a(test::jetstream_options(server, "old"));
    REQUIRE(a.publish_ordered(std::vector<std::byte>(40, std::byte{1}), 0));
    REQUIRE(wait_long([&] { return a.counters().get(federation_counter::published) == 1; }));
    std::vector<std::byte> out;
    reception r;
    bool got = false;
    CHECK(wait_long([&] { return got = got || a.poll(out, r); }));
    CHECK(r.ordered);
    CHECK(detail::stored_last_seq(js, "TLVCOMMITS_old", "tlvcast.c.old") == std::optional<std::uint64_t>(1));
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

TEST_CASE("nats_link (JetStream): a reader slower than the stream is held back, not dropped",
          "[federation][nats]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    test::nats_server server;
    nats_options o = test::jetstream_options(server, "slow");
    nats_link a(o);
    o.max_inbound = 4; // b's strand takes its time
    nats_link b(o);
    constexpr int n = 60;
    for (int i = 0; i < n; ++i)
        REQUIRE(a.publish(std::vector<std::byte>(100, std::byte(i))));
    std::vector<int> got;
    for (int i = 0; i < 1500 && got.size() < std::size_t(n); ++i) { // 10 ms each: 15 s at most
        std::vector<std::byte> out;
        reception r;
        if (b.poll(out, r)) // one at a time, slowly
            got.push_back(std::to_integer<int>(out[0]));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(got.size() == std::size_t(n));
    for (int i = 0; i < n; ++i)
        CHECK(got[std::size_t(i)] == i);
    CHECK(b.counters().get(federation_counter::inbound_full) == 0);
    CHECK(b.counters().get(federation_counter::inbound_waits) > 0);
}
TEST_CASE("nats_link: a server that stops answering without closing is noticed by its pings; the link comes "
          "back when it answers again", "[federation][nats]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    test::nats_server server;
    nats_options o;
    o.servers = {server.url()};
    o.group = "ping";
    o.ping_interval = std::chrono::milliseconds(200);
    o.max_pings_out = 2;
    nats_link l(o);
    const auto wait_for = [](auto done, std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return done();
    };
    REQUIRE(wait_for([&] { return l.connected(); }, std::chrono::seconds(5)));
    REQUIRE(test::stop_process(server.pid)); // the connection stays open; nothing answers
    const auto stopped = std::chrono::steady_clock::now();
    CHECK(wait_for([&] { return !l.connected(); }, std::chrono::seconds(5)));
    const auto noticed = std::chrono::steady_clock::now() - stopped;
    ::kill(server.pid, SIGCONT);
    CHECK(noticed < std::chrono::seconds(3)); // libnats's own default: 2 minutes at least
    CHECK(l.counters().get(federation_counter::disconnects) == 1);
    CHECK(wait_for([&] { return l.connected(); }, std::chrono::seconds(10)));
    CHECK(l.counters().get(federation_counter::reconnects) == 1);
}
#endif
