// SPDX-License-Identifier: BSL-1.0
// Tests for the NATS link's TLS (nats_options::tls_*): against nats-servers started with TLS by the
// test, with a CA and certificates the test makes with the openssl command (loopback only).
#if TLVCAST_HAS_NATS
#include <tlvcast/federation/nats_link.hpp>

#include "nats_server.hpp"
#include "tls_pki.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace tlvcast::federation;

namespace {

/// A test CA, a server certificate for 127.0.0.1 and nats.test, one for another name only, a client
/// certificate, and a second CA (a stranger's) with a server certificate for 127.0.0.1. P-256 keys.
struct tls_pki : test::tls_pki_dir {
    bool made = run({ca("ca"), ca("stranger"), cert("server", "ca", "IP:127.0.0.1,DNS:nats.test"),
                     cert("other", "ca", "DNS:other.test"), cert("client", "ca", "DNS:relay.test"),
                     cert("rogue", "stranger", "IP:127.0.0.1,DNS:nats.test")});

    tls_pki() : tls_pki_dir("tlvcast-test-tls-") {}
    /// nats-server's arguments for TLS with `server`'s certificate; `verify`: clients need one of `ca`.
    std::vector<std::string> server_args(const std::string& server, bool verify) const
    {
        auto a = tls_pki_dir::server_args(server + ".crt", server + ".key");
        if (verify)
            a.insert(a.end(), {"--tlsverify", "--tlscacert", file("ca.crt")});
        return a;
    }
};

bool wait_until(auto done, std::chrono::milliseconds limit)
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return done();
}

nats_options tls_options(const test::nats_server& s, const tls_pki& pki, const char* group)
{
    nats_options o;
    o.servers = {s.url()};
    o.group = group;
    o.tls_ca_file = pki.file("ca.crt");
    o.tls_cert_file = pki.file("client.crt");
    o.tls_key_file = pki.file("client.key");
    o.reconnect_wait = std::chrono::milliseconds(100);
    return o;
}

/// A link that must not get a connection: it tries (each failure counted) and stays down.
void never_connects(const nats_options& o)
{
    nats_link l(o);
    REQUIRE(wait_until([&] { return l.counters().get(federation_counter::connect_retries) >= 2; },
                       std::chrono::seconds(10)));
    CHECK_FALSE(l.connected());
}

} // namespace

#define TLVCAST_NEEDS_PKI(pki)                                                                                        \
    TLVCAST_NEEDS_NATS_SERVER();                                                                                      \
    tls_pki pki;                                                                                                      \
    REQUIRE(pki.made) // the openssl command (scripts/setup.sh installs it)

TEST_CASE("nats_link TLS: set-up errors throw, naming the file", "[federation][nats][tls]")
{
    nats_options o;
    o.servers = {"tls://127.0.0.1:1"};
    o.tls_ca_file = "/nonexistent/tlvcast-ca.crt";
    CHECK_THROWS_WITH(nats_link(o), Catch::Contains("/nonexistent/tlvcast-ca.crt"));
    o.tls_ca_file.clear();
    o.tls_cert_file = "/nonexistent/tlvcast-client.crt";
    CHECK_THROWS_AS(nats_link(o), std::invalid_argument); // a certificate without its key
    o.tls_cert_file.clear();
    o.tls_key_file = "/nonexistent/tlvcast-client.key";
    CHECK_THROWS_AS(nats_link(o), std::invalid_argument); // a key without its certificate

    // A file that exists but holds no certificate: libnats refuses it at set-up, not at connection.
    const auto junk = std::filesystem::temp_directory_path() / ("tlvcast-junk-" + std::to_string(::getpid()));
    std::ofstream(junk) << "not a certificate\n";
    o.tls_key_file.clear();
    o.tls_ca_file = junk.string();
    CHECK_THROWS_WITH(nats_link(o), Catch::Contains("CA file"));
    o.tls_ca_file.clear();
    o.tls_cert_file = junk.string();
    o.tls_key_file = junk.string();
    CHECK_THROWS_WITH(nats_link(o), Catch::Contains("certificate or key"));
    std::filesystem::remove(junk);
}

TEST_CASE("nats_link TLS: which URLs name their server by IP address (discovery is off for them)",
          "[federation][nats][tls]")
{
    using detail::url_host_is_ip;
    CHECK(url_host_is_ip("nats://127.0.0.1:4222"));
    CHECK(url_host_is_ip("tls://user:pa:ss@10.0.0.1:4222"));
    CHECK(url_host_is_ip("tls://[::1]:4222"));
    CHECK(url_host_is_ip("[fd00::2]"));
    CHECK(url_host_is_ip("192.168.1.2"));
    CHECK_FALSE(url_host_is_ip("nats://nats.example:4222"));
    CHECK_FALSE(url_host_is_ip("tls://127.0.0.1.example:4222"));
    CHECK_FALSE(url_host_is_ip("tls://user@localhost"));
    CHECK_FALSE(url_host_is_ip(""));
    CHECK(url_host_is_ip("tls://[::1")); // unclosed: an address all the same (discovery off: the safe side)
}

TEST_CASE("nats_link TLS: two relays with the CA and client certificates exchange envelopes through a server "
          "that verifies clients",
          "[federation][nats][tls]")
{
    TLVCAST_NEEDS_PKI(pki);
    test::nats_server server(0, pki.server_args("server", true));
    nats_link a(tls_options(server, pki, "tls")), b(tls_options(server, pki, "tls"));
    REQUIRE(wait_until([&] { return a.connected() && b.connected(); }, std::chrono::seconds(10)));
    // A subscription is made once connected; a publication right after may pass before b's.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::vector<std::byte> env(300, std::byte{0x42});
    REQUIRE(a.publish(env));
    std::vector<std::byte> out;
    bool got = false; // polled once: wait_until asks again at the end
    CHECK(wait_until([&] { return got = got || b.poll(out); }, std::chrono::seconds(5)));
    CHECK(a.counters().get(federation_counter::published) == 1);
    CHECK(a.counters().get(federation_counter::publish_errors) == 0);
    CHECK(b.counters().get(federation_counter::received) == 1);
    CHECK(out == env);
    CHECK(a.counters().get(federation_counter::connect_retries) == 0);

    // The server's name, when the URL holds another (a DNS name the certificate has).
    auto named = tls_options(server, pki, "tls");
    named.tls_hostname = "nats.test";
    nats_link c(named);
    CHECK(wait_until([&] { return c.connected(); }, std::chrono::seconds(10)));
}

TEST_CASE("nats_link TLS: no connection without a client certificate where the server asks for one",
          "[federation][nats][tls]")
{
    TLVCAST_NEEDS_PKI(pki);
    test::nats_server server(0, pki.server_args("server", true));
    auto o = tls_options(server, pki, "tls");
    o.tls_cert_file.clear();
    o.tls_key_file.clear();
    never_connects(o);
}

TEST_CASE("nats_link TLS: a server whose certificate the CA did not sign is refused", "[federation][nats][tls]")
{
    TLVCAST_NEEDS_PKI(pki);
    test::nats_server server(0, pki.server_args("rogue", false)); // a stranger's CA, the right name
    never_connects(tls_options(server, pki, "tls"));
    // Nor is it trusted with no CA file (the system's store does not hold the stranger either).
    auto o = tls_options(server, pki, "tls");
    o.tls_ca_file.clear();
    never_connects(o);
}

TEST_CASE("nats_link TLS: a certificate of the right CA for another name is refused, unless that name is the "
          "one expected",
          "[federation][nats][tls]")
{
    TLVCAST_NEEDS_PKI(pki);
    test::nats_server server(0, pki.server_args("other", false)); // signed by the CA, for other.test only
    never_connects(tls_options(server, pki, "tls"));              // the URL's host is 127.0.0.1
    auto o = tls_options(server, pki, "tls");
    o.tls_hostname = "nats.test";
    never_connects(o);
    o.tls_hostname = "other.test";
    nats_link l(o);
    CHECK(wait_until([&] { return l.connected(); }, std::chrono::seconds(10)));
}

TEST_CASE("nats_link TLS: TLS settings never fall back to a plain connection", "[federation][nats][tls]")
{
    TLVCAST_NEEDS_PKI(pki);
    test::nats_server plain; // no TLS at all
    never_connects(tls_options(plain, pki, "tls"));
    auto o = tls_options(plain, pki, "tls");
    o.tls_cert_file.clear();
    o.tls_key_file.clear(); // the CA alone asks for TLS too
    never_connects(o);
}
#endif
