// SPDX-License-Identifier: BSL-1.0
// A NATS publisher that writes the protocol itself (loopback only): any header block, as a
// hand-written client may (libnats would normalise it), and a raw subscriber that counts. For the
// reviews over a real nats-server (review_order*_nats.cpp, review_consumer*_nats.cpp).
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace test {

/// A TCP connection to the server on loopback `port`.
inline int raw_connect(int port)
{
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(s >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    return s;
}

/// Publishes `body` with `headers` (a whole header block) on `subject`, with `reply` as its reply
/// subject when not empty; returns once the server answered the PING after it.
inline void raw_publish(int port, const std::string& subject, const std::string& headers, const std::string& body,
                        const std::string& reply = {})
{
    const int s = raw_connect(port);
    const timeval tv{5, 0};
    ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out = "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"protocol\":1}\r\n";
    out += "HPUB " + subject + " " + (reply.empty() ? "" : reply + " ") + std::to_string(headers.size()) + " " +
           std::to_string(headers.size() + body.size()) + "\r\n" + headers + body + "\r\nPING\r\n";
    REQUIRE(::send(s, out.data(), out.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(out.size()));
    std::string in;
    char buf[4096];
    for (int i = 0; i < 100 && in.find("PONG") == std::string::npos; ++i) {
        const ssize_t n = ::recv(s, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        in.append(buf, static_cast<std::size_t>(n));
    }
    ::close(s);
    REQUIRE(in.find("PONG") != std::string::npos);
}

inline std::string header_block(const std::string& lines) { return "NATS/1.0\r\n" + lines + "\r\n"; }

/// A raw subscriber counting the messages published on `subject` (an attacker's own listener).
class raw_counter {
public:
    raw_counter(int port, const std::string& subject) : s_(raw_connect(port))
    {
        const std::string out = "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"protocol\":1}\r\nSUB " +
                                subject + " 1\r\nPING\r\n";
        (void)::send(s_, out.data(), out.size(), MSG_NOSIGNAL);
        thread_ = std::thread([this] { run(); });
    }
    ~raw_counter()
    {
        stop_ = true;
        thread_.join();
        ::close(s_);
    }
    raw_counter(const raw_counter&) = delete;
    raw_counter& operator=(const raw_counter&) = delete;
    std::atomic<int> count{0};

private:
    void run()
    {
        std::string in;
        char buf[4096];
        while (!stop_) {
            pollfd p{s_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0)
                continue;
            const ssize_t n = ::recv(s_, buf, sizeof buf, 0);
            if (n <= 0)
                return;
            in.append(buf, static_cast<std::size_t>(n));
            for (std::size_t at; (at = in.find("MSG ")) != std::string::npos;) { // MSG or HMSG lines
                count.fetch_add(1);
                in.erase(0, at + 4);
            }
            if (in.find("PING\r\n") != std::string::npos) {
                (void)::send(s_, "PONG\r\n", 6, MSG_NOSIGNAL);
                in.clear();
            }
        }
    }
    int s_ = -1;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

} // namespace test
