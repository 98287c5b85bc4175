// SPDX-License-Identifier: BSL-1.0
// One epoch as a member holds it: the group, the roster, its own index and the sender ratchets.
#pragma once

#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/profile/group/codec.hpp>
#include <tlvcast/profile/group/key_schedule.hpp>
#include <tlvcast/profile/group/ratchet.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace tlvcast::profile::group {

/// What a member reports: an epoch began, members came or went (from verified commits only), a
/// sender's generations went missing, or this member was removed.
struct notice {
    enum class kind { epoch, member_added, member_removed, gap, removed };
    kind what = kind::epoch;
    std::uint64_t epoch = 0;
    std::size_t members = 0;
    crypto::fingerprint member{}; ///< added, removed, gap: whose
    bool roster_verified = false; ///< added: the fingerprint is in this member's roster file
    std::uint32_t from = 0, to = 0; ///< gap: the missing generations
};

/// The state of one epoch. The epoch secret itself is not kept: every sender's chain key is
/// derived from it when the epoch starts, and each chain only moves forward.
template <class Suite>
struct epoch_state {
    group_id gid{};
    std::uint64_t epoch = 0;
    crypto::sha256_digest hash{}; ///< SHA-256 of the commit that began it: the next commit's `prev`
    std::vector<member_entry> roster;
    std::vector<crypto::fingerprint> fingerprints;
    std::uint16_t me = 0;
    std::vector<ratchet<Suite>> chains; ///< by sender index; chains[me] is this member's sending chain

    epoch_state(const group_id& g, std::uint64_t e, const crypto::sha256_digest& h, std::vector<member_entry> r,
                std::uint16_t my_index, const epoch_secret& secret)
        : gid(g), epoch(e), hash(h), roster(std::move(r)), me(my_index)
    {
        fingerprints.reserve(roster.size());
        chains.reserve(roster.size());
        for (std::size_t i = 0; i < roster.size(); ++i) {
            fingerprints.push_back(crypto::fingerprint_of<Suite>(roster[i].identity));
            chains.emplace_back(sender_root<Suite>(secret, static_cast<std::uint16_t>(i)));
        }
    }

    std::optional<std::uint16_t> index_of(const crypto::fingerprint& fp) const noexcept
    {
        const auto it = std::find(fingerprints.begin(), fingerprints.end(), fp);
        if (it == fingerprints.end())
            return std::nullopt;
        return static_cast<std::uint16_t>(it - fingerprints.begin());
    }
    std::optional<std::uint16_t> index_of_key(const public_key& identity) const noexcept
    {
        for (std::size_t i = 0; i < roster.size(); ++i)
            if (roster[i].identity == identity)
                return static_cast<std::uint16_t>(i);
        return std::nullopt;
    }
};

} // namespace tlvcast::profile::group
