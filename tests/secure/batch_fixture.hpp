// SPDX-License-Identifier: BSL-1.0
// What the secure profile's batch tests share (batch.cpp, batch_relay.cpp, review_batch.cpp):
// numbered messages, their byte views, and a relay with n established clients.
#pragma once

#include "secure/sim_helpers.hpp"

#include <tlvcast/profile/secure/cipher.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace tlvcast::test {

/// `n` messages "<prefix><i>:" padded to `size` bytes with a letter that changes with i.
inline std::vector<std::string> numbered(std::size_t n, std::size_t size, const std::string& prefix = "m")
{
    std::vector<std::string> v;
    for (std::size_t i = 0; i < n; ++i) {
        std::string s = prefix + std::to_string(i) + ":";
        s.resize(std::max(size, s.size()), static_cast<char>('a' + i % 26));
        v.push_back(std::move(s));
    }
    return v;
}

/// The bytes of each string (views into `v`).
inline std::vector<std::span<const std::byte>> byte_views(const std::vector<std::string>& v)
{
    std::vector<std::span<const std::byte>> out;
    for (const auto& s : v)
        out.push_back(std::as_bytes(std::span(s.data(), s.size())));
    return out;
}

/// A secure relay (identity 100) with `n` clients (identities 1..n), all registered, their events so
/// far drained.
template <class Fragmenter>
std::unique_ptr<secure_net<profile::secure::cipher, profile::secure::cipher, Fragmenter>> established_secure_net(std::size_t n)
{
    using sec = profile::secure::cipher;
    using namespace std::chrono_literals;
    auto net = std::make_unique<secure_net<sec, sec, Fragmenter>>(sec(identity(100)));
    for (std::size_t i = 0; i < n; ++i)
        net->add_client(sec(identity(static_cast<std::uint8_t>(i + 1))));
    net->start_all();
    net->run_for(300ms);
    for (std::size_t i = 0; i < n; ++i) {
        REQUIRE(net->client(i).current_state() == secure_net<sec, sec, Fragmenter>::client_engine::state::established);
        (void)net->events(i);
    }
    return net;
}

} // namespace tlvcast::test
