// SPDX-License-Identifier: BSL-1.0
// A nats-server with JetStream on a free loopback port, started and stopped by one test (the
// federation tests that need a real server; the e2e tests run clusters of their own).
#pragma once

#if TLVCAST_HAS_NATS
#include <tlvcast/federation/nats_link.hpp>
#endif

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace test {

/// nats-server is on PATH (the e2e tests' requirement too); tests that need it say so and return.
inline bool have_nats_server()
{
    const char* path = std::getenv("PATH");
    if (!path)
        return false;
    const std::string dirs = path;
    for (std::size_t b = 0; b <= dirs.size();) {
        const std::size_t e = std::min(dirs.find(':', b), dirs.size());
        if (::access((dirs.substr(b, e - b) + "/nats-server").c_str(), X_OK) == 0)
            return true;
        b = e + 1;
    }
    return false;
}

struct nats_server {
    pid_t pid = -1;
    int port = 0;
    /// Per process and port: two servers of one test never share a JetStream store.
    std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                ("tlvcast-test-js-" + std::to_string(::getpid()) + "-" + std::to_string(port));
    /// A free loopback port (nothing listens on it once this returns).
    static int free_port()
    {
        const int s = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        ::close(s);
        return ntohs(a.sin_port);
    }
    /// On `on_port` (a free_port() chosen before), else on a free port; `extra` arguments after the
    /// usual ones (--tls ..., say).
    explicit nats_server(int on_port = 0, std::vector<std::string> extra = {})
        : port(on_port != 0 ? on_port : free_port())
    {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        std::filesystem::create_directories(dir);
        const std::string p = std::to_string(port), d = dir.string();
        // argv built before fork: the child only execs (no allocation after fork in a threaded test).
        std::vector<std::string> args = {"nats-server", "-a", "127.0.0.1", "-p", p, "-js", "-sd", d, "-l", d + "/log"};
        args.insert(args.end(), extra.begin(), extra.end());
        std::vector<char*> argv;
        for (auto& arg : args)
            argv.push_back(arg.data());
        argv.push_back(nullptr);
        const pid_t parent = ::getpid();
        pid = ::fork();
        if (pid == 0) {
            // It dies with the test, and holds none of its output pipes: a test that crashed left the
            // server running and ctest waiting on the pipe until its timeout (CI: 600 s, "Timeout").
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent)
                ::_exit(127);
            const int null = ::open("/dev/null", O_RDWR);
            if (null >= 0) {
                ::dup2(null, STDIN_FILENO);
                ::dup2(null, STDOUT_FILENO);
                ::dup2(null, STDERR_FILENO);
            }
            ::execvp("nats-server", argv.data());
            ::_exit(127);
        }
        REQUIRE(pid > 0);
        for (int i = 0; i < 100; ++i) { // until it listens (5 s at most)
            const int c = ::socket(AF_INET, SOCK_STREAM, 0);
            const bool up = ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
            ::close(c);
            if (up)
                return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        FAIL("nats-server did not start");
    }
    nats_server(const nats_server&) = delete;
    nats_server& operator=(const nats_server&) = delete;
    ~nats_server()
    {
        if (pid > 0) {
            ::kill(pid, SIGTERM);
            ::waitpid(pid, nullptr, 0);
        }
        std::filesystem::remove_all(dir);
    }
    std::string url() const { return "nats://127.0.0.1:" + std::to_string(port); }
};

#if TLVCAST_HAS_NATS
/// A NATS link's settings for `group` through JetStream on `s` (one server: a stream of one replica).
inline tlvcast::federation::nats_options jetstream_options(const nats_server& s, std::string group)
{
    tlvcast::federation::nats_options o;
    o.servers = {s.url()};
    o.group = std::move(group);
    o.jetstream = true;
    o.stream.replicas = 1;
    return o;
}
#endif

/// Stops `pid` (SIGSTOP) and returns once the kernel shows it stopped: kill() returns before the
/// signal is delivered, and a loaded host let a server answer a connection in between (the test
/// that needed it unanswered then failed).
inline bool stop_process(pid_t pid, std::chrono::milliseconds limit = std::chrono::seconds(5))
{
    if (::kill(pid, SIGSTOP) != 0)
        return false;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    do {
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        std::getline(stat, line);
        // pid (comm) STATE ...: comm may hold spaces, the state follows its last ')'
        const auto close = line.rfind(')');
        if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'T')
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
}

} // namespace test

/// Skips the calling test case, with a warning, where no nats-server is installed.
#define TLVCAST_NEEDS_NATS_SERVER()                                                                                   \
    do {                                                                                                              \
        if (!::test::have_nats_server()) {                                                                            \
            WARN("no nats-server on PATH: not run");                                                                  \
            return;                                                                                                   \
        }                                                                                                             \
    } while (0)
