// SPDX-License-Identifier: BSL-1.0
// Review of the commit stream's change (eb66a1d..86e97cd), the parts that need libnats: the link's
// own retries of its first connection (connect_first, 42fcaad). No nats-server: a port nothing
// listens on, and loopback listeners that accept TCP and never answer (a paused or overloaded node).
// The rest of the review runs over an ordered memory_hub: review_cstream.cpp.
#if TLVCAST_HAS_NATS
#include <tlvcast/federation/nats_link.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace tlvcast::federation;

namespace review_cstream_nats {

// A loopback listener that never accepts: the kernel completes the TCP handshake (backlog), and
// the NATS handshake (the server's INFO) never comes, as with a paused node.
struct silent_listener {
    int fd = -1;
    int port = 0;
    silent_listener()
    {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd, 16) == 0);
        socklen_t n = sizeof a;
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n) == 0);
        port = ntohs(a.sin_port);
    }
    ~silent_listener() { ::close(fd); }
    silent_listener(const silent_listener&) = delete;
    silent_listener& operator=(const silent_listener&) = delete;
    std::string url() const { return "nats://127.0.0.1:" + std::to_string(port); }
};

} // namespace review_cstream_nats

using namespace review_cstream_nats;

// Finding (low: a misconfiguration burns a core; no attacker). connect_first's back-off starts at
// reconnect_wait and doubles: `wait = min(wait * 2, max(connect_backoff_max, reconnect_wait))`. With
// reconnect_wait 0 (a legal nats_options value, "reconnect at once"; libnats accepts it and still
// spaces its own reconnections by its jitter, 100 ms by default) the wait stays 0 for good: while NATS
// is down the worker thread calls natsConnection_Connect in a hot loop (thousands of refused
// connections a second, each counted connect_retries), for as long as the outage lasts. Deterministic:
// a refused loopback connection fails at once.
// Proposed fix: a floor under the back-off (start at max(reconnect_wait, 100 ms), say), or refuse
// reconnect_wait 0 in the constructor. Fixed: nats_options::min_connect_wait (100 ms).
TEST_CASE("review cstream: fixed: with reconnect_wait 0 the first connection is not retried in a hot loop",
          "[federation][nats][review]")
{
    nats_options o;
    o.servers = {"nats://127.0.0.1:1"}; // nothing listens: refused at once
    o.reconnect_wait = std::chrono::milliseconds(0);
    nats_link l(o);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    // A bounded back-off with any floor of 25 ms or more retries at most a handful of times in 0.5 s.
    CHECK(l.counters().get(federation_counter::connect_retries) <= 20);
}

// Finding (low: shutdown; no attacker, a NATS cluster that does not answer). nats_link's header says
// "The destructor may wait for one connection attempt (libnats's 2 s connect timeout)". One
// natsConnection_Connect tries every server of the list in turn, each up to that timeout, and
// connect_first cannot stop it: a link destroyed while its first connection tries N servers that accept
// TCP and do not answer (paused, overloaded, starting, or a black hole that completes the handshake)
// waits up to N x 2 s (here 3 servers: about 6 s) in its destructor, i.e. a relay's shutdown.
// Deterministic (the waits are libnats's timeouts).
// Proposed fix: make each first-connection attempt one server at a time (a one-server options copy per
// try, rotating), checking outbound_.closed() between them; or say N x timeout in the header.
// The header says so now; the one-server-per-try fix is open, so this still fails.
TEST_CASE("review cstream: finding: a link destroyed during its first connection to silent servers waits about "
          "2 s per server, not one attempt",
          "[federation][nats][review][!shouldfail]")
{
    silent_listener s1, s2, s3;
    nats_options o;
    o.servers = {s1.url(), s2.url(), s3.url()};
    auto l = std::make_unique<nats_link>(o);
    std::this_thread::sleep_for(std::chrono::milliseconds(200)); // the worker is in its first attempt
    const auto start = std::chrono::steady_clock::now();
    l.reset();
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(took < std::chrono::milliseconds(3'000)); // one attempt, as documented: at most 2 s
}
#endif
