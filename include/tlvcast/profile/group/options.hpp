// SPDX-License-Identifier: BSL-1.0
// The group profile's settings and named limits.
#pragma once

#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/profile/secure/options.hpp>
#include <tlvcast/time.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace tlvcast::profile::group {

/// Whose keys a member accepts into the group (docs/SECURITY.md, "Group profile").
/// - roster: only identities whose fingerprints are in an allow-list;
/// - admin: only identities that carry an admission certificate from the admin key;
/// - open: anyone the relay announces (trust on first use): a malicious relay can add a member.
enum class admission : std::uint8_t { roster, admin, open };

/// How a member receives what the relay forwards: its own unicast copy, or the data group.
enum class delivery : std::uint8_t { unicast = 0, multicast = 1 };

/// The most members one group holds: a commit carries 48 bytes per member and must fit one blob
/// (65,535 bytes), with room for the additions it makes.
inline constexpr std::size_t max_members_limit = 1200;

/// Settings of a group member (the relay side uses `hop` and the `max_*` caps only).
struct options {
    /// The client-relay link: the secure profile's handshake and record layer.
    secure::options hop{};
    admission policy = admission::roster;
    std::vector<crypto::fingerprint> roster;                       ///< admission::roster: accepted identities
    std::optional<std::array<std::byte, 32>> admin_key;              ///< admission::admin: the admin's Ed25519 key
    std::optional<std::array<std::byte, 64>> admission_certificate;  ///< admission::admin: this member's
    /// Relay: apply `policy` (with `roster` or `admin_key`) to every founder and addition before
    /// ordering a commit. Off, anyone who joined may found a group while no member is present
    /// (after a relay restart) and hold the ordering; members still refuse its group.
    bool relay_admission = false;
    delivery mode = delivery::unicast;
    /// Where the relay sends forwarded blobs once for all members that chose delivery::multicast
    /// (they listen there); the relay needs it, and a multicast member's transport joins it.
    endpoint data_group{0xe0010102u, 5008}; // 224.1.1.2:5008

    static constexpr std::size_t default_max_members = 1000;
    /// Members a commit may hold (at most max_members_limit).
    std::size_t max_members = default_max_members;
    /// Generations a sender may skip ahead of the last one received (message keys derived and
    /// kept for late arrivals); a message further ahead is refused.
    static constexpr std::uint32_t default_max_skip = 1024;
    std::uint32_t max_skip = default_max_skip;
    /// Skipped message keys kept per sender for late arrivals; the oldest go first (deleted keys
    /// are what forward secrecy within an epoch rests on).
    static constexpr std::size_t default_max_skipped_keys = 256;
    std::size_t max_skipped_keys = default_max_skipped_keys;
    /// How often a member repeats an unconfirmed commit or asks the relay for missed commits.
    duration retry = std::chrono::milliseconds(500);
    /// The sequence number of this member's first key package; each update adds one. Members refuse
    /// a key package of a current member that is not newer than the roster's (a relay replaying an
    /// old one must not roll a member back to a stolen init key), so a member that restarts with the
    /// same identity while the group still holds it must start above every seq it used before. The
    /// programs use the time in quarter seconds since 2025; 0 suits a process that never restarts
    /// an identity. Leave room below 2^32: at the largest value update() does nothing.
    std::uint32_t key_package_seq = 0;
    /// Relay: accepted commits (with their welcome pages) kept to answer GROUP_SYNC.
    static constexpr std::size_t default_commit_history = 8;
    std::size_t commit_history = default_commit_history;
};

} // namespace tlvcast::profile::group
