// SPDX-License-Identifier: BSL-1.0
// A NATS publisher that writes the protocol itself (loopback only): any header block, as a
// hand-written client may (libnats would normalise it). For the reviews of the order over a real
// nats-server (review_order_nats.cpp, review_order2_nats.cpp, review_order2_wait_nats.cpp).
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
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

/// Publishes `body` with `headers` (a whole header block) on `subject`; returns once the server
/// answered the PING after it.
inline void raw_publish(int port, const std::string& subject, const std::string& headers, const std::string& body)
{
    const int s = raw_connect(port);
    const timeval tv{5, 0};
    ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out = "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"protocol\":1}\r\n";
    out += "HPUB " + subject + " " + std::to_string(headers.size()) + " " +
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

} // namespace test
