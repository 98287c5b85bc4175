// SPDX-License-Identifier: BSL-1.0
// Adversarial review of e759478 (TLS from the relay to NATS): a man in the middle between a relay
// and NATS, hostile trust files, a misconfiguring operator. Loopback only: nats-servers, a fake
// NATS "server" (a plaintext INFO line, as any man in the middle can send before TLS starts) and
// child processes started by the tests; certificates made by the openssl command.
// Five weaknesses were found, each fixed since and its case now a regression test ("Fixed: ...");
// the other cases show what held.
#if TLVCAST_HAS_NATS
#include <tlvcast/federation/nats_link.hpp>
#include <tlvcast/federation/tls.hpp>

#include "nats_server.hpp"
#include "tls_pki.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

using namespace tlvcast::federation;

namespace {

/// Certificates for the review. CAs: ca (the operator's), stranger (another CA: stands for a
/// public CA in the system's store). Leaves (no basicConstraints, no extendedKeyUsage):
///   server   ca         IP:127.0.0.1, DNS:nats.test   the real NATS server
///   lhost    ca         DNS:localhost                 same CA, another name (another service's)
///   client   ca         DNS:relay.test                the relay's client certificate
///   rogue    stranger   IP:127.0.0.1                  right name, other CA
///   expired  ca         IP:127.0.0.1                  valid 2020-01-01..02
///   self     itself     IP:127.0.0.1                  self-signed (req -x509: CA:TRUE)
///   byleaf   client's key  IP:127.0.0.1               signed by a leaf (client) used as a CA
/// plus client-enc.key (client.key encrypted, pass "secret") and byleaf-chain.crt (byleaf, client).
struct review_pki : test::tls_pki_dir {
    bool made = make();

    review_pki() : tls_pki_dir("tlvcast-review-tls-") {}

private:
    bool make() const
    {
        const std::string d = dir().string();
        std::ofstream(d + "/ca.cnf") << "[ca]\ndefault_ca=d\n[d]\ndatabase=" << d << "/index.txt\nnew_certs_dir=" << d
                                     << "\nserial=" << d << "/serial\ndefault_md=sha256\npolicy=p\n[p]\n"
                                     << "commonName=supplied\n";
        std::ofstream(d + "/index.txt");
        std::ofstream(d + "/serial") << "01\n";
        return run({ca("ca"), ca("stranger"), cert("server", "ca", "IP:127.0.0.1,DNS:nats.test"),
                    cert("lhost", "ca", "DNS:localhost"), cert("client", "ca", "DNS:relay.test"),
                    cert("rogue", "stranger", "IP:127.0.0.1"), csr("expired", "IP:127.0.0.1"),
                    "openssl ca -batch -config " + d + "/ca.cnf -cert " + d + "/ca.crt -keyfile " + d +
                        "/ca.key -in " + d + "/expired.csr -out " + d + "/expired.crt -startdate 20200101000000Z " +
                        "-enddate 20200102000000Z -extfile " + d + "/expired.ext -notext",
                    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + d +
                        "/self.key -out " + d + "/self.crt -subj /CN=self -days 2 -addext subjectAltName=IP:127.0.0.1",
                    cert("byleaf", "client", "IP:127.0.0.1"),
                    "cat " + d + "/byleaf.crt " + d + "/client.crt > " + d + "/byleaf-chain.crt",
                    "openssl pkey -in " + d + "/client.key -aes256 -passout pass:secret -out " + d + "/client-enc.key"});
    }
};

bool review_wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit)
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return done();
}

nats_options review_options(const std::string& url, const review_pki& pki)
{
    nats_options o;
    o.servers = {url};
    o.group = "rtls";
    o.tls_ca_file = pki.file("ca.crt");
    o.tls_cert_file = pki.file("client.crt");
    o.tls_key_file = pki.file("client.key");
    o.reconnect_wait = std::chrono::milliseconds(100);
    return o;
}

/// True when a link with `o` got a connection within `limit`; false when it tried (at least twice,
/// each failure counted) and stayed down.
bool review_connects(const nats_options& o, std::chrono::milliseconds limit = std::chrono::seconds(10))
{
    nats_link l(o);
    const bool done = review_wait_until(
        [&] { return l.connected() || l.counters().get(federation_counter::connect_retries) >= 2; }, limit);
    REQUIRE(done);
    return l.connected();
}

/// A fake NATS server on loopback: to each connection it sends one plaintext INFO line (what the
/// NATS protocol sends before the TLS handshake, so what a man in the middle can write) and closes.
struct fake_info_server {
    int fd = -1;
    int port = 0;
    std::atomic<bool> stop{false};
    std::atomic<int> accepted{0};
    std::thread thread;

    /// `info(port)`: the INFO's JSON.
    explicit fake_info_server(const std::function<std::string(int)>& info)
    {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        REQUIRE(::listen(fd, 16) == 0);
        port = ntohs(a.sin_port);
        const std::string line = "INFO " + info(port) + "\r\n";
        thread = std::thread([this, line] {
            while (!stop) {
                pollfd p{fd, POLLIN, 0};
                if (::poll(&p, 1, 50) <= 0)
                    continue;
                const int c = ::accept(fd, nullptr, nullptr);
                if (c < 0)
                    continue;
                ++accepted;
                (void)::send(c, line.data(), line.size(), MSG_NOSIGNAL);
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                ::close(c);
            }
        });
    }
    fake_info_server(const fake_info_server&) = delete;
    fake_info_server& operator=(const fake_info_server&) = delete;
    ~fake_info_server()
    {
        stop = true;
        thread.join();
        ::close(fd);
    }
    std::string url(const char* scheme = "nats") const
    {
        return std::string(scheme) + "://127.0.0.1:" + std::to_string(port);
    }
};

std::string fake_info(int port, bool tls_required, const std::string& connect_urls)
{
    return "{\"server_id\":\"NFAKE\",\"server_name\":\"fake\",\"version\":\"2.9.10\",\"proto\":1,"
           "\"host\":\"127.0.0.1\",\"port\":" +
           std::to_string(port) + ",\"headers\":true,\"max_payload\":1048576,\"tls_required\":" +
           (tls_required ? "true" : "false") + ",\"connect_urls\":[" + connect_urls + "]}";
}

/// Sets an environment variable for one scope (OpenSSL's SSL_CERT_FILE: the "system's store").
struct scoped_env {
    std::string name;
    scoped_env(std::string n, const std::string& value) : name(std::move(n)) { ::setenv(name.c_str(), value.c_str(), 1); }
    ~scoped_env() { ::unsetenv(name.c_str()); }
};

/// What a child process constructing a nats_link did (the hidden case "review_tls child" below).
struct child_result {
    bool timed_out = false; ///< still running after the limit (killed)
    int code = -1;          ///< its exit code otherwise
    std::string output;     ///< its stdout and stderr (or what it wrote on its terminal)
};

/// Runs this test program's hidden case "review_tls child" in a child process with `env` added:
/// it constructs a nats_link for RTLS_CA/RTLS_CERT/RTLS_KEY and exits 0 (constructed) or 3 (threw,
/// the message printed). With `terminal`, the child's controlling terminal is a pseudo-terminal
/// (a relay started by hand); else it has none and its stdin is /dev/null (a service).
child_result run_ctor_child(const std::map<std::string, std::string>& env, std::chrono::milliseconds limit,
                            bool terminal = false)
{
    std::vector<std::string> envs;
    for (char** e = environ; *e != nullptr; ++e)
        envs.emplace_back(*e);
    for (const auto& [k, v] : env)
        envs.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : envs)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
    std::string name = "review_tls child";
    std::vector<char*> argv = {exe.data(), name.data(), nullptr};

    int out = -1; // parent's end: pipe read end, or the pty master
    int slave = -1, pipe_fds[2] = {-1, -1};
    char slave_name[128] = {};
    if (terminal) {
        REQUIRE(::openpty(&out, &slave, slave_name, nullptr, nullptr) == 0);
        ::close(slave); // the child opens it by name, after setsid(): its controlling terminal
    } else {
        REQUIRE(::pipe(pipe_fds) == 0);
        out = pipe_fds[0];
    }
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::setsid();
        if (terminal) {
            const int t = ::open(slave_name, O_RDWR); // no O_NOCTTY: becomes the controlling terminal
            if (t < 0)
                ::_exit(126);
            ::dup2(t, 0);
            ::dup2(t, 1);
            ::dup2(t, 2);
        } else {
            const int null = ::open("/dev/null", O_RDONLY);
            ::dup2(null, 0);
            ::dup2(pipe_fds[1], 1);
            ::dup2(pipe_fds[1], 2);
        }
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    if (!terminal)
        ::close(pipe_fds[1]);
    child_result r;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    bool exited = false;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{out, POLLIN, 0};
        if (::poll(&p, 1, 20) > 0) {
            char buf[512];
            const ssize_t n = ::read(out, buf, sizeof buf);
            if (n > 0)
                r.output.append(buf, static_cast<std::size_t>(n));
        }
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
            break;
        }
    }
    if (!exited) {
        r.timed_out = true;
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    } else {
        r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    for (;;) { // what is left
        pollfd p{out, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0)
            break;
        char buf[512];
        const ssize_t n = ::read(out, buf, sizeof buf);
        if (n <= 0)
            break;
        r.output.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out);
    return r;
}

std::string env_or_empty(const char* name)
{
    const char* v = std::getenv(name);
    return v != nullptr ? v : "";
}

} // namespace

#define REVIEW_NEEDS_PKI(pki)                                                                                         \
    TLVCAST_NEEDS_NATS_SERVER();                                                                                      \
    review_pki pki;                                                                                                   \
    REQUIRE(pki.made)

// The child side of run_ctor_child (hidden: only run by name).
TEST_CASE("review_tls child", "[.][review_tls_child]")
{
    nats_options o;
    o.servers = {"tls://127.0.0.1:1"};
    o.tls_ca_file = env_or_empty("RTLS_CA");
    o.tls_cert_file = env_or_empty("RTLS_CERT");
    o.tls_key_file = env_or_empty("RTLS_KEY");
    try {
        nats_link l(o);
        std::printf("RTLS_CONSTRUCTED\n");
        std::fflush(stdout);
        std::_Exit(0);
    } catch (const std::exception& e) {
        std::printf("RTLS_THREW: %s\n", e.what());
        std::fflush(stdout);
        std::_Exit(3);
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Plaintext: can TLS settings end up on a plain connection?

// Fixed (was high: nats_options::tls() now counts tls:// URLs): nats_options said "a tls:// URL asks for TLS alone", the usage says any
// --federation-tls-* makes TLS. libnats 3.4.1 ignores the URL's scheme altogether (no "tls" in
// src/url.c, srvpool.c, conn.c): with no tls_* option, natsOptions_SetSecure is never called and
// the connection is TLS only when the server's INFO says tls_required. A man in the middle (or a
// server at that address) answering tls_required:false gets a plaintext connection: the CONNECT
// (credentials' JWT and nonce signature), every envelope. Here: tls://URL of a plain nats-server.
TEST_CASE("review_tls: a tls:// URL without tls_* options never connects in plaintext",
          "[federation][nats][tls][review]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    test::nats_server plain;
    nats_options o;
    o.servers = {"tls://127.0.0.1:" + std::to_string(plain.port)};
    o.group = "rtls";
    o.reconnect_wait = std::chrono::milliseconds(100);
    CHECK_FALSE(review_connects(o));
}

// Holds: a plain server that says tls_required:false, a fake one saying the same: with tls_* set
// the connection is refused (libnats: NATS_SECURE_CONNECTION_WANTED), for nats:// and tls:// URLs.
TEST_CASE("review_tls: with tls_* set, tls_required=false (real or forged) is refused",
          "[federation][nats][tls][review]")
{
    REVIEW_NEEDS_PKI(pki);
    test::nats_server plain;
    CHECK_FALSE(review_connects(review_options("tls://127.0.0.1:" + std::to_string(plain.port), pki)));
    auto only_name = review_options(plain.url(), pki);
    only_name.tls_ca_file.clear();
    only_name.tls_cert_file.clear();
    only_name.tls_key_file.clear();
    only_name.tls_hostname = "nats.test"; // the name alone asks for TLS too
    CHECK_FALSE(review_connects(only_name));
    fake_info_server fake([](int port) { return fake_info(port, false, ""); });
    CHECK_FALSE(review_connects(review_options(fake.url(), pki)));
    CHECK(fake.accepted >= 1);
}

// Holds: a discovered server (connect_urls of a forged INFO) that is plain is not used in
// plaintext: every server of the pool gets TLS (opts->secure is connection-wide).
TEST_CASE("review_tls: a plain server injected through connect_urls is not connected to",
          "[federation][nats][tls][review]")
{
    REVIEW_NEEDS_PKI(pki);
    test::nats_server plain;
    const std::string injected = "\"127.0.0.1:" + std::to_string(plain.port) + "\"";
    fake_info_server fake([&](int port) { return fake_info(port, true, injected); });
    CHECK_FALSE(review_connects(review_options(fake.url(), pki)));
}

// ---------------------------------------------------------------------------------------------
// 2. Which name is verified, for configured and discovered servers.

// Fixed (was high: without tls_hostname the link now ignores discovered servers,
// natsOptions_SetIgnoreDiscoveredServers): server discovery defeated the host name check when the URL's host is an IP
// address and tls_hostname is empty (the documented default: "for each URL's host"). The first
// INFO is plaintext (before the TLS handshake, nats-server 2.9 has no handshake-first), and
// libnats 3.4.1 adds its connect_urls to the pool (_processInfo runs before _checkForSecure) with
// tlsName = NULL when the current URL's host is an IP (conn.c: !nats_HostIsIP(host)). Each
// discovered server is then verified for ITS OWN host, chosen by the attacker: any certificate
// the trust anchors accept for any name the attacker can point at itself passes (with the system
// store: any public certificate for a domain of the attacker's; with a private CA: any other
// service's certificate of that CA; leaves carry no extendedKeyUsage here, so also another
// relay's client certificate). _connect walks the pool as it grows, so the very first connection
// ends on the attacker's server. Here: the relay is configured for 127.0.0.1, a man in the middle
// answers there with a plaintext INFO naming localhost:<attacker>, and the attacker's nats-server
// has the CA's certificate for DNS:localhost only -- the relay connects to it.
TEST_CASE("review_tls: connect_urls forged before TLS do not lead to a server certified for another name",
          "[federation][nats][tls][review]")
{
    REVIEW_NEEDS_PKI(pki);
    test::nats_server attacker(0, pki.server_args("lhost.crt", "lhost.key"));
    const std::string injected = "\"localhost:" + std::to_string(attacker.port) + "\"";
    fake_info_server mitm([&](int port) { return fake_info(port, true, injected); });
    CHECK_FALSE(review_connects(review_options(mitm.url("tls"), pki)));
}

// Holds: with tls_hostname set, every server (configured or discovered) is verified for that name:
// the same forged connect_urls lead nowhere.
TEST_CASE("review_tls: with tls_hostname, forged connect_urls lead nowhere", "[federation][nats][tls][review]")
{
    REVIEW_NEEDS_PKI(pki);
    test::nats_server attacker(0, pki.server_args("lhost.crt", "lhost.key"));
    const std::string injected = "\"localhost:" + std::to_string(attacker.port) + "\"";
    fake_info_server mitm([&](int port) { return fake_info(port, true, injected); });
    auto o = review_options(mitm.url("tls"), pki);
    o.tls_hostname = "nats.test";
    CHECK_FALSE(review_connects(o));
    // The control: the attacker's server itself, named as it is certified, is reachable.
    auto direct = review_options("tls://localhost:" + std::to_string(attacker.port), pki);
    CHECK(review_connects(direct));
}

// Holds: with a DNS name in the URL and no tls_hostname, discovered servers are verified for that
// name (libnats passes it as their tlsName): a forged connect_urls entry whose server is certified
// for its IP (and nats.test) but not for the configured name leads nowhere.
TEST_CASE("review_tls: with a DNS name in the URL, discovered servers are verified for that name",
          "[federation][nats][tls][review]")
{
    REVIEW_NEEDS_PKI(pki);
    test::nats_server other(0, pki.server_args("server.crt", "server.key")); // IP:127.0.0.1, DNS:nats.test
    const std::string injected = "\"127.0.0.1:" + std::to_string(other.port) + "\"";
    fake_info_server mitm([&](int port) { return fake_info(port, true, injected); });
    CHECK_FALSE(review_connects(review_options("tls://localhost:" + std::to_string(mitm.port), pki)));
    CHECK(mitm.accepted >= 1);
    // The control: the discovered server is tried, and accepted when certified for the configured
    // name (DNS:localhost): it is the name, not the absence of a try, that refused the one above.
    test::nats_server named(0, pki.server_args("lhost.crt", "lhost.key"));
    const std::string injected2 = "\"127.0.0.1:" + std::to_string(named.port) + "\"";
    fake_info_server mitm2([&](int port) { return fake_info(port, true, injected2); });
    CHECK(review_connects(review_options("tls://localhost:" + std::to_string(mitm2.port), pki)));
}

// Holds: with an IP URL and no tls_hostname, the IP is verified (an IP SAN): the certificate for
// DNS:localhost alone is refused when the URL says 127.0.0.1.
TEST_CASE("review_tls: the URL's IP address is verified when tls_hostname is empty", "[federation][nats][tls][review]")
{
    REVIEW_NEEDS_PKI(pki);
    test::nats_server s(0, pki.server_args("lhost.crt", "lhost.key"));
    CHECK_FALSE(review_connects(review_options("tls://127.0.0.1:" + std::to_string(s.port), pki)));
    test::nats_server good(0, pki.server_args("server.crt", "server.key"));
    CHECK(review_connects(review_options(good.url(), pki)));
}

// ---------------------------------------------------------------------------------------------
// 3. The chain: expired, self-signed, signed by a leaf, the system's store.

TEST_CASE("review_tls: an expired server certificate is refused", "[federation][nats][tls][review]")
{
    REVIEW_NEEDS_PKI(pki);
    test::nats_server s(0, pki.server_args("expired.crt", "expired.key"));
    CHECK_FALSE(review_connects(review_options(s.url(), pki)));
}

TEST_CASE("review_tls: a self-signed server certificate is refused", "[federation][nats][tls][review]")
{
    REVIEW_NEEDS_PKI(pki);
    test::nats_server s(0, pki.server_args("self.crt", "self.key"));
    CHECK_FALSE(review_connects(review_options(s.url(), pki)));
}

// A leaf of the CA (the relay's own client certificate, no CA:TRUE) used to sign a server
// certificate: refused whether the server sends the leaf in its chain or the CA file holds the leaf.
TEST_CASE("review_tls: a certificate signed by a leaf is refused", "[federation][nats][tls][review]")
{
    REVIEW_NEEDS_PKI(pki);
    test::nats_server s(0, pki.server_args("byleaf-chain.crt", "byleaf.key"));
    CHECK_FALSE(review_connects(review_options(s.url(), pki)));
    auto o = review_options(s.url(), pki);
    o.tls_ca_file = pki.file("client.crt");
    o.tls_cert_file.clear();
    o.tls_key_file.clear();
    CHECK_FALSE(review_connects(o));
}

// Holds: a tls:// URL with no option, to a TLS server: verified (against the system's store, which
// holds neither test CA): refused. With SSL_CERT_FILE naming the test CA (OpenSSL's "system store"),
// it connects: the system's store and the URL's host are what is checked.
TEST_CASE("review_tls: a tls:// URL with no option is verified against the system's store",
          "[federation][nats][tls][review]")
{
    REVIEW_NEEDS_PKI(pki);
    test::nats_server s(0, pki.server_args("server.crt", "server.key"));
    nats_options o;
    o.servers = {"tls://127.0.0.1:" + std::to_string(s.port)};
    o.group = "rtls";
    o.reconnect_wait = std::chrono::milliseconds(100);
    CHECK_FALSE(review_connects(o));
    scoped_env store("SSL_CERT_FILE", pki.file("ca.crt"));
    CHECK(review_connects(o));
}

// Documented, and fixed for tlvcast-relay (was medium): tls_ca_file does not replace the system's
// store, it adds to it. libnats 3.4.1's _createSSLCtx calls SSL_CTX_set_default_verify_paths on
// the context that natsOptions_LoadCATrustedCertificates then adds the CA file to: an operator who
// pins a private CA still trusted every public CA. libnats 3.4 has no way to clear the store;
// trust_only_ca_file() (federation/tls.hpp, which the relay calls for --federation-tls-ca) points
// OpenSSL's default paths at the CA file alone. Here the "system store" is a hashed directory
// (SSL_CERT_DIR, as /etc/ssl/certs) holding the stranger CA, and the server has a stranger's
// certificate for the right name.
TEST_CASE("review_tls: with tls_ca_file, a certificate of a CA of the system's store only is refused once "
          "trust_only_ca_file() was called",
          "[federation][nats][tls][review]")
{
    REVIEW_NEEDS_PKI(pki);
    const std::string store = pki.file("store");
    REQUIRE(std::system(("mkdir -p " + store + " && cp " + pki.file("stranger.crt") + " " + store +
                         "/$(openssl x509 -hash -noout -in " + pki.file("stranger.crt") + ").0")
                            .c_str()) == 0);
    test::nats_server rogue(0, pki.server_args("rogue.crt", "rogue.key"));
    test::nats_server real(0, pki.server_args("server.crt", "server.key"));
    scoped_env dir("SSL_CERT_DIR", store), file("SSL_CERT_FILE", pki.file("none.crt")); // unset again after
    CHECK(review_connects(review_options(rogue.url(), pki))); // libnats alone: the store is trusted too
    trust_only_ca_file(pki.file("ca.crt"));
    CHECK_FALSE(review_connects(review_options(rogue.url(), pki)));
    CHECK(review_connects(review_options(real.url(), pki))); // the CA file's own still are
    CHECK_THROWS_AS(trust_only_ca_file(""), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// 4. Hostile files (each in a child process: a hang is killed after the limit).

// Fixed (was low: every file must be a regular one, checked without opening it): a FIFO as the CA file (or cert, or key) blocked the constructor forever: the
// std::ifstream check opens it (open(2) of a FIFO waits for a writer), and so does libnats. A
// relay started with --federation-tls-ca pointing at one hangs at start-up, with no message.
TEST_CASE("review_tls: a FIFO as the CA file does not hang the constructor",
          "[federation][nats][tls][review]")
{
    review_pki pki;
    REQUIRE(pki.made);
    const std::string fifo = pki.file("ca.fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto r = run_ctor_child({{"RTLS_CA", fifo}}, std::chrono::seconds(5));
    INFO(r.output);
    CHECK_FALSE(r.timed_out);
}

// Holds: /dev/zero, a directory, a huge (sparse, 1 GiB of zeros) file, a huge file of text:
// each refused quickly, the file named.
TEST_CASE("review_tls: /dev/zero, a directory, huge files as the CA file fail quickly",
          "[federation][nats][tls][review]")
{
    review_pki pki;
    REQUIRE(pki.made);
    const std::string sparse = pki.file("huge-sparse.crt");
    {
        std::ofstream f(sparse);
    }
    std::filesystem::resize_file(sparse, std::uintmax_t{1} << 30);
    const std::string text = pki.file("huge-text.crt");
    {
        std::ofstream f(text);
        const std::string line(63, 'A');
        for (int i = 0; i < (64 << 20) / 64; ++i) // 64 MiB of base64-ish lines, no BEGIN
            f << line << '\n';
    }
    for (const std::string& file : {std::string("/dev/zero"), pki.dir().string(), sparse, text}) {
        INFO(file);
        const auto start = std::chrono::steady_clock::now();
        const auto r = run_ctor_child({{"RTLS_CA", file}}, std::chrono::seconds(20));
        INFO(r.output);
        INFO("seconds: " << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        CHECK_FALSE(r.timed_out);
        CHECK(r.code == 3);
        CHECK(r.output.find(file) != std::string::npos);
    }
}

// Holds: a key that is not the certificate's is refused at set-up; the message does not quote the
// key (nor does a key given as the CA file).
TEST_CASE("review_tls: a mismatched key is refused at set-up, no key material in the messages",
          "[federation][nats][tls][review]")
{
    review_pki pki;
    REQUIRE(pki.made);
    std::ifstream kf(pki.file("lhost.key"));
    std::string key_line, line;
    while (std::getline(kf, line))
        if (line.find("-----") == std::string::npos && line.size() > 20)
            key_line = line.substr(0, 20);
    REQUIRE_FALSE(key_line.empty());

    nats_options o;
    o.servers = {"tls://127.0.0.1:1"};
    o.tls_cert_file = pki.file("client.crt");
    o.tls_key_file = pki.file("lhost.key");
    try {
        nats_link l(o);
        FAIL("constructed with a mismatched key");
    } catch (const std::runtime_error& e) {
        INFO(e.what());
        CHECK(std::string(e.what()).find("certificate or key") != std::string::npos);
        CHECK(std::string(e.what()).find(key_line) == std::string::npos);
    }
    o.tls_cert_file.clear();
    o.tls_key_file.clear();
    o.tls_ca_file = pki.file("lhost.key"); // the key where the CA should be
    try {
        nats_link l(o);
        FAIL("constructed with a key as the CA file");
    } catch (const std::runtime_error& e) {
        INFO(e.what());
        CHECK(std::string(e.what()).find(key_line) == std::string::npos);
    }
    o.tls_ca_file.clear();
    o.tls_cert_file = pki.file("lhost.key"); // swapped
    o.tls_key_file = pki.file("lhost.crt");
    CHECK_THROWS_AS(nats_link(o), std::runtime_error);
}

// Holds without a terminal (a service): an encrypted key fails at set-up, quickly.
TEST_CASE("review_tls: an encrypted key without a terminal fails at set-up", "[federation][nats][tls][review]")
{
    review_pki pki;
    REQUIRE(pki.made);
    const auto r = run_ctor_child({{"RTLS_CERT", pki.file("client.crt")}, {"RTLS_KEY", pki.file("client-enc.key")}},
                                  std::chrono::seconds(10));
    INFO(r.output);
    CHECK_FALSE(r.timed_out);
    CHECK(r.code == 3);
}

// Fixed (was low: an encrypted key file is refused before libnats reads it): with a terminal, an encrypted key made OpenSSL's default password callback
// (libnats sets none: SSL_CTX_use_PrivateKey_file) prompt "Enter PEM pass phrase:" on /dev/tty and
// wait: the relay's constructor blocks on the terminal (and a passphrase typed there works, which
// the usage does not say). Expected: refused at once, the file named.
TEST_CASE("review_tls: an encrypted key with a terminal does not prompt and wait",
          "[federation][nats][tls][review]")
{
    review_pki pki;
    REQUIRE(pki.made);
    const auto r = run_ctor_child({{"RTLS_CERT", pki.file("client.crt")}, {"RTLS_KEY", pki.file("client-enc.key")}},
                                  std::chrono::seconds(5), true);
    INFO(r.output);
    CHECK(r.output.find("pass phrase") == std::string::npos);
    CHECK_FALSE(r.timed_out);
}
#endif
