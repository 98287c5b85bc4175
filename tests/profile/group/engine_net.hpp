// SPDX-License-Identifier: BSL-1.0
// The group profile through the real client and relay engines on the simulated network: the
// network type and a roster of the simulation's identities 1..n.
#pragma once

#include "secure/sim_helpers.hpp"

#include <tlvcast/profile/group.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>

namespace tlvcast::test::group {

using engine_net = test::secure_net<profile::group::cipher>;

/// Roster admission of test::identity(1) .. test::identity(members).
inline profile::group::options engine_roster(std::uint8_t members)
{
    profile::group::options o;
    o.policy = profile::group::admission::roster;
    for (std::uint8_t i = 1; i <= members; ++i)
        o.roster.push_back(crypto::fingerprint_of<crypto::default_suite>(test::identity(i).public_key));
    return o;
}

/// Adds members test::identity(1..members) with `opt` (their roster, delivery mode); with multicast
/// delivery they all listen on the data group.
template <class Net>
void add_members(Net& net, const profile::group::options& opt, std::uint8_t members)
{
    for (std::uint8_t i = 1; i <= members; ++i)
        net.add_client(profile::group::cipher(test::identity(i), opt));
    net.data_group = opt.data_group;
    if (opt.mode == profile::group::delivery::multicast)
        for (std::size_t i = 0; i < members; ++i)
            net.data_listeners.push_back(i);
}

/// Members 0..n-1 started 200 ms apart, then `messages` "before K" lines among them, 5 ms apart, and
/// 500 ms to settle: the stream a later joiner comes in on (late_join.cpp, review_late_join.cpp).
template <class Net>
void start_and_chat(Net& net, std::size_t n, int messages)
{
    for (std::size_t i = 0; i < n; ++i) {
        net.start(i);
        net.run_for(std::chrono::milliseconds(200));
    }
    for (int k = 0; k < messages; ++k) {
        const std::string text = "before " + std::to_string(k);
        std::error_code ec;
        net.send(static_cast<std::size_t>(k) % n, std::as_bytes(std::span(text)), ec);
        REQUIRE_FALSE(ec);
        net.run_for(std::chrono::milliseconds(5));
    }
    net.run_for(std::chrono::milliseconds(500));
}

} // namespace tlvcast::test::group
