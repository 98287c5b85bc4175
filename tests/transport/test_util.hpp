// SPDX-License-Identifier: BSL-1.0
// Helpers shared by the transport tests: byte strings and bounded io_context runs.
#pragma once

#include <tlvcast/endpoint.hpp>

#include <asio.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstddef>
#include <string_view>
#include <vector>

namespace tlvcast::transport::test {

inline std::vector<std::byte> bytes_of(std::string_view s)
{
    std::vector<std::byte> v(s.size());
    for (std::size_t i = 0; i < s.size(); ++i)
        v[i] = static_cast<std::byte>(s[i]);
    return v;
}

/// Runs `io` until `done()` holds or `timeout` passes; returns done(). Bounded in time, always.
template <class Pred>
bool run_until(asio::io_context& io, Pred done, std::chrono::milliseconds timeout = std::chrono::seconds(5))
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    io.restart();
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        io.run_one_for(std::chrono::milliseconds(10));
        if (io.stopped())
            io.restart();
    }
    return done();
}

} // namespace tlvcast::transport::test

/// Catch2 prints endpoints as "a.b.c.d:port" in failed checks.
template <>
struct Catch::StringMaker<tlvcast::endpoint> {
    static std::string convert(const tlvcast::endpoint& e) { return e.to_string(); }
};
