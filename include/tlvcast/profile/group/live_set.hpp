// SPDX-License-Identifier: BSL-1.0
// The group relay's live set: which identities have a joined session, with their key packages.
#pragma once

#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/profile/group/codec.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

namespace tlvcast::profile::group {

namespace detail {
// Which identities have a live, joined session at the relay, and the seq of each one's key package:
// a session holds a token while it lives, so a member that leaves, times out or is replaced drops
// out without a hook in the engine. A departure retires its token at once (the engine may hold the
// session a while longer, while it announces several departures).
class live_set {
public:
    class token {
    public:
        token(std::shared_ptr<live_set> set, const crypto::fingerprint& fp, std::uint32_t seq, const public_key& init)
            : set_(std::move(set)), fp_(fp), key_(seq, init)
        {
            set_->keys_[fp_].insert(key_);
        }
        token(const token&) = delete;
        token& operator=(const token&) = delete;
        ~token() { retire(); }
        void retire()
        {
            if (std::exchange(retired_, true))
                return;
            auto& s = set_->keys_[fp_];
            s.erase(s.find(key_));
            if (s.empty())
                set_->keys_.erase(fp_);
        }
        std::uint32_t seq() const noexcept { return key_.first; }
        std::optional<bool> quiet; ///< its departure: unsaid (decided once, for every recipient)

    private:
        std::shared_ptr<live_set> set_;
        crypto::fingerprint fp_;
        std::pair<std::uint32_t, public_key> key_; // its key package's seq and init key
        bool retired_ = false;
    };
    bool contains(const crypto::fingerprint& fp) const { return keys_.count(fp) != 0; }
    std::size_t sessions(const crypto::fingerprint& fp) const
    {
        const auto it = keys_.find(fp);
        return it == keys_.end() ? 0 : it->second.size();
    }
    // The newest key package's seq among the live sessions of `fp`.
    std::optional<std::uint32_t> newest(const crypto::fingerprint& fp) const
    {
        const auto it = keys_.find(fp);
        return it == keys_.end() ? std::nullopt : std::optional(it->second.rbegin()->first);
    }
    // Whether a live session of `fp` joined with init key `init`.
    bool holds(const crypto::fingerprint& fp, const public_key& init) const
    {
        const auto it = keys_.find(fp);
        return it != keys_.end() && std::any_of(it->second.begin(), it->second.end(),
                                                [&](const auto& k) { return k.second == init; });
    }

private:
    std::map<crypto::fingerprint, std::multiset<std::pair<std::uint32_t, public_key>>> keys_;
};
} // namespace detail

} // namespace tlvcast::profile::group
