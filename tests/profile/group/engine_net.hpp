// SPDX-License-Identifier: BSL-1.0
// The group profile through the real client and relay engines on the simulated network: the
// network type and a roster of the simulation's identities 1..n.
#pragma once

#include "secure/sim_helpers.hpp"

#include <tlvcast/profile/group.hpp>

#include <cstdint>

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

} // namespace tlvcast::test::group
