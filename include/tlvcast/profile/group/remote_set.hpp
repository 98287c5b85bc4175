// SPDX-License-Identifier: BSL-1.0
// A federated group relay's remote set: identities that other relays of the federation announced
// as joined (docs/FEDERATION.md), so that no local member founds a second group while they live,
// and their last presences, so that a member who registers later can be told of them.
#pragma once

#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/error.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::profile::group::detail {

/// Counts, per identity, the joined sessions that other relays announced (one identity may be
/// live at two sites), and keeps the last joined presence of each. Bounded: anyone with NATS
/// credentials can announce identities, and each costs memory here. Single-threaded, like the
/// relay engine that owns it.
class remote_set {
public:
    static constexpr std::size_t default_max_identities = 4096;
    /// Sessions per identity that count: more announcements of one identity are ignored.
    static constexpr std::uint32_t max_sessions_per_identity = 64;
    /// Bytes of presences kept in all: past it an identity is counted, its presence not kept (it
    /// reached the members registered then; later ones are not told of it).
    static constexpr std::size_t default_max_presence_bytes = std::size_t{4} << 20;

    explicit remote_set(std::size_t max_identities = default_max_identities,
                        std::size_t max_presence_bytes = default_max_presence_bytes)
        : max_(max_identities), max_bytes_(max_presence_bytes)
    {
    }

    /// `fp` joined at another relay, announced by `presence` (empty: none to keep; a newer one
    /// replaces the older). Errors: overloaded (the set is full; nothing changes).
    void joined(const crypto::fingerprint& fp, std::error_code& ec, std::span<const std::byte> presence = {})
    {
        ec = {};
        auto it = entries_.find(fp);
        if (it == entries_.end()) {
            if (entries_.size() >= max_) {
                ec = errc::overloaded;
                return;
            }
            it = entries_.emplace(fp, entry{}).first;
        }
        entry& e = it->second;
        if (e.sessions < max_sessions_per_identity)
            ++e.sessions;
        if (presence.empty())
            return;
        bytes_ -= e.presence.size();
        e.presence.clear();
        if (bytes_ + presence.size() <= max_bytes_) {
            e.presence.assign(presence.begin(), presence.end());
            bytes_ += presence.size();
        }
    }

    /// `fp` left another relay (or timed out there). One that was never announced changes nothing.
    void left(const crypto::fingerprint& fp)
    {
        const auto it = entries_.find(fp);
        if (it != entries_.end() && --it->second.sessions == 0) {
            bytes_ -= it->second.presence.size();
            entries_.erase(it);
        }
    }

    bool contains(const crypto::fingerprint& fp) const { return entries_.contains(fp); }
    std::size_t size() const noexcept { return entries_.size(); }
    std::size_t presence_bytes() const noexcept { return bytes_; }

    /// `f(fp, presence)` for each identity whose last presence is kept, in fingerprint order, until
    /// it returns false.
    template <class F>
    void for_each_presence(F f) const
    {
        for (const auto& [fp, e] : entries_)
            if (!e.presence.empty() && !f(fp, std::span<const std::byte>(e.presence)))
                return;
    }

private:
    struct entry {
        std::uint32_t sessions = 0;
        std::vector<std::byte> presence;
    };
    std::size_t max_, max_bytes_;
    std::size_t bytes_ = 0;
    std::map<crypto::fingerprint, entry> entries_;
};

} // namespace tlvcast::profile::group::detail
