// SPDX-License-Identifier: BSL-1.0
// A federated group relay's remote set: identities that other relays of the federation announced
// as joined (docs/FEDERATION.md), so that no local member founds a second group while they live,
// and their last presences, so that a member who registers later can be told of them.
#pragma once

#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::profile::group::detail {

/// The joined sessions that other relays announced, per identity and the address its relay named
/// (one identity may be live at two sites, or twice at one), with each session's presence. A
/// session announced again (a process restarted in place re-joins with a newer key package) is the
/// same session: its presence is replaced, never counted twice, so that its one departure ends it.
/// Bounded: anyone with NATS credentials can announce identities, and each costs memory here.
/// Single-threaded, like the relay engine that owns it.
class remote_set {
public:
    static constexpr std::size_t default_max_identities = 4096;
    /// Sessions per identity: more announcements of one identity's new sessions are ignored.
    static constexpr std::uint32_t max_sessions_per_identity = 64;
    /// Sessions in all (each costs its entry even when its presence is not kept).
    static constexpr std::size_t default_max_sessions = 2 * default_max_identities;
    /// Bytes of presences kept in all: past it a session is counted, its presence not kept (it
    /// reached the members registered then; later ones are not told of it).
    static constexpr std::size_t default_max_presence_bytes = std::size_t{4} << 20;

    explicit remote_set(std::size_t max_identities = default_max_identities,
                        std::size_t max_presence_bytes = default_max_presence_bytes,
                        std::size_t max_sessions = default_max_sessions)
        : max_(max_identities), max_bytes_(max_presence_bytes), max_sessions_(max_sessions)
    {
    }

    /// `fp`'s session at `about` joined at another relay, announced by `presence` with a key
    /// package of sequence `seq` (empty: none to keep). The same session announced again keeps the
    /// presence of the newer key package (an older one replayed changes nothing). Errors:
    /// overloaded (the set is full; nothing changes).
    void joined(const crypto::fingerprint& fp, const endpoint& about, std::error_code& ec,
                std::span<const std::byte> presence = {}, std::uint64_t seq = 0)
    {
        ec = {};
        auto id = ids_.find(fp);
        if (id == ids_.end() && ids_.size() >= max_) {
            ec = errc::overloaded;
            return;
        }
        if (id == ids_.end())
            id = ids_.emplace(fp, std::map<endpoint, entry>{}).first;
        auto& sessions = id->second;
        auto it = sessions.find(about);
        if (it == sessions.end()) {
            if (sessions.size() >= max_sessions_per_identity || sessions_ >= max_sessions_) {
                if (sessions.empty())
                    ids_.erase(id);
                ec = errc::overloaded;
                return;
            }
            it = sessions.emplace(about, entry{}).first;
            ++sessions_;
        } else if (seq < it->second.seq) {
            return; // an older key package than the one this session announced: a replay
        }
        entry& e = it->second;
        e.seq = seq;
        e.stamp = ++stamp_;
        bytes_ -= e.presence.size();
        e.presence.clear();
        if (!presence.empty() && bytes_ + presence.size() <= max_bytes_) {
            e.presence.assign(presence.begin(), presence.end());
            bytes_ += presence.size();
        }
    }

    /// `fp`'s session at `about` left another relay (or timed out there). One never announced
    /// changes nothing.
    void left(const crypto::fingerprint& fp, const endpoint& about)
    {
        const auto id = ids_.find(fp);
        if (id == ids_.end())
            return;
        const auto it = id->second.find(about);
        if (it == id->second.end())
            return;
        bytes_ -= it->second.presence.size();
        id->second.erase(it);
        --sessions_;
        if (id->second.empty())
            ids_.erase(id);
    }

    bool contains(const crypto::fingerprint& fp) const { return ids_.contains(fp); }
    std::size_t size() const noexcept { return ids_.size(); }
    std::size_t sessions() const noexcept { return sessions_; }
    std::size_t presence_bytes() const noexcept { return bytes_; }
    /// The announcements taken so far (joined() calls that got through): what stamps them.
    std::uint64_t stamp() const noexcept { return stamp_; }

    /// `f(fp, presence)` for each identity with a kept presence (that of its live session with the
    /// newest key package), in fingerprint order, until it returns false. Identities announced
    /// after stamp `up_to` are skipped (whoever was registered then heard of them).
    template <class F>
    void for_each_presence(F f, std::uint64_t up_to = ~std::uint64_t{0}) const
    {
        for (const auto& [fp, sessions] : ids_) {
            const entry* best = nullptr;
            std::uint64_t newest = 0;
            for (const auto& [about, e] : sessions) {
                newest = std::max(newest, e.stamp);
                if (!e.presence.empty() && (!best || e.seq > best->seq))
                    best = &e;
            }
            if (best && newest <= up_to && !f(fp, std::span<const std::byte>(best->presence)))
                return;
        }
    }

private:
    struct entry {
        std::uint64_t seq = 0;
        std::uint64_t stamp = 0; // the announcement it came with (stamp_)
        std::vector<std::byte> presence;
    };
    std::size_t max_, max_bytes_, max_sessions_;
    std::size_t bytes_ = 0, sessions_ = 0;
    std::uint64_t stamp_ = 0;
    std::map<crypto::fingerprint, std::map<endpoint, entry>> ids_;
};

} // namespace tlvcast::profile::group::detail
