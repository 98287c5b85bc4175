// SPDX-License-Identifier: BSL-1.0
// The rejoin-in-place reviews share this: a member's own GROUP_JOINs signed at any seq, sent in its
// records, its process restarted at its address, and what the relay and the roster say of it.
#pragma once

#include "profile/group/fanout_group.hpp"

#include <tlvcast/profile/group.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace tlvcast::test::group {

using rejoin_counter = core::relay_counter;

// A GROUP_JOIN blob of identity `id` at key-package seq `seq` (signed by that identity, a fresh
// init key each call): what a member that holds the identity's key can sign for itself.
inline std::vector<std::byte> rejoin_join_of(review_fanout_group& g, std::uint8_t id, std::uint32_t seq,
                                             profile::group::delivery mode)
{
    auto o = g.opt;
    o.key_package_seq = seq;
    o.mode = mode;
    const profile::group::cipher c(test::identity(id), o);
    std::vector<std::byte> blob;
    std::error_code ec;
    c.seal(g.net.client(0).session(), crypto::message_kind::join, {}, blob, ec);
    REQUIRE_FALSE(ec);
    return blob;
}

// Client i puts `blob` in a record of its own session (the record layer vouches for its address).
inline void rejoin_send(review_fanout_group& g, std::size_t i, const std::vector<std::byte>& blob)
{
    std::vector<std::byte> record;
    std::error_code ec;
    auto& c = g.net.client(i);
    c.cipher().protect(const_cast<profile::group::cipher::client_session&>(c.session()), blob, record, ec);
    REQUIRE_FALSE(ec);
    g.net.inject(g.net.client_address(i), g.net.relay_address, record);
    g.net.run_for(std::chrono::milliseconds(20));
}

// Client i's process restarts at its address with key packages from `seq`, in `mode`.
inline void rejoin_restart(review_fanout_group& g, std::size_t i, std::uint32_t seq, profile::group::delivery mode)
{
    auto o = g.opt;
    o.key_package_seq = seq;
    o.mode = mode;
    g.net.replace_client(i, profile::group::cipher(test::identity(static_cast<std::uint8_t>(i + 1)), o));
    auto& l = g.net.data_listeners;
    l.erase(std::remove(l.begin(), l.end(), i), l.end());
    if (mode == profile::group::delivery::multicast)
        l.push_back(i);
    g.net.start(i);
    g.net.run_for(std::chrono::seconds(3));
}

// The key-package seq the members' roster holds for identity `id` (as client `at` sees it).
inline std::uint32_t rejoin_roster_seq(review_fanout_group& g, std::size_t at, std::uint8_t id)
{
    const auto fp = crypto::fingerprint_of<crypto::default_suite>(test::identity(id).public_key);
    for (const auto& e : g.net.client(at).cipher().group().current()->roster)
        if (crypto::fingerprint_of<crypto::default_suite>(e.identity) == fp)
            return e.seq;
    return 0;
}

inline std::uint64_t rejoin_count(review_fanout_group& g, rejoin_counter c) { return g.net.relay().counters().get(c); }
inline std::uint64_t rejoin_verifies(review_fanout_group& g)
{
    return g.net.relay().cipher().public_key_ops().ed25519_verify;
}

// Client i's handshakes since net.sent[from] (a re-key: a probe or a restart).
inline std::size_t rejoin_handshakes(review_fanout_group& g, std::size_t i, std::size_t from)
{
    std::size_t n = 0;
    for (std::size_t k = from; k < g.net.sent.size(); ++k)
        n += g.net.sent[k].from == g.net.client_address(i) &&
             review_fanout_type(g.net.sent[k]) == wire::tlv_type::secure_client_auth;
    return n;
}

inline constexpr auto uni = profile::group::delivery::unicast;
inline constexpr auto multi = profile::group::delivery::multicast;


} // namespace tlvcast::test::group
