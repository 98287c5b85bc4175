// SPDX-License-Identifier: BSL-1.0
// The relay's part of the group profile: it orders commits (the first valid-looking commit for the
// next epoch wins), keeps the recent ones with their welcome pages for members that missed them,
// and knows the roster's identities, without any key that opens or signs anything.
#pragma once

#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/profile/group/codec.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::profile::group {

/// Relay-side commit ordering. It checks what a relay can check without keys (the shape, the
/// epoch chain, that the sender is the committer it names) and leaves signatures and admission
/// to the members, who verify every commit themselves.
template <class Suite>
class sequencer {
public:
    sequencer(std::size_t max_members, std::size_t history) : max_members_(max_members), history_(history) {}

    std::uint64_t epoch() const noexcept { return epoch_; }
    /// The current roster's fingerprints, as the commits say (the relay does not verify them).
    const std::vector<crypto::fingerprint>& roster() const noexcept { return roster_; }

    /// A commit sent by the member whose identity fingerprint is `sender`. Accepted when it names `sender`
    /// as committer and either continues the current epoch chain (epoch + 1, the current commit's
    /// hash as prev) or founds a group (epoch 1 adding only its committer) while no member of the
    /// current group is present (`present` tells, by fingerprint). Errors: malformed,
    /// not_a_member (sender is not the committer), wrong_epoch.
    bool accept_commit(bytes value, const crypto::fingerprint& sender,
                       const std::function<bool(const crypto::fingerprint&)>& present, std::error_code& ec)
    {
        const commit_view c = read_commit(value, max_members_, ec);
        if (ec)
            return false;
        if (Suite::sha256(c.committer) != sender) {
            ec = errc::not_a_member;
            return false;
        }
        const bool founding = c.epoch == 1 && c.removed.empty() && c.updated.empty() && c.added.size() == 1 &&
                              fingerprint_of_key(c.added[0].kp.entry.identity) == sender && c.entry_count() == 1 &&
                              std::all_of(c.prev.begin(), c.prev.end(), [](std::byte b) { return b == std::byte{0}; });
        const bool next = epoch_ != 0 && c.epoch == epoch_ + 1 && c.gid == gid_ &&
                          std::equal(hash_.begin(), hash_.end(), c.prev.begin());
        const bool dead = epoch_ == 0 || std::none_of(roster_.begin(), roster_.end(), present);
        if (!(next || (founding && dead))) {
            ec = errc::wrong_epoch;
            return false;
        }
        if (founding) {
            history_log_.clear();
            roster_.clear();
        }
        apply(c);
        epoch_ = c.epoch;
        gid_ = c.gid;
        hash_ = Suite::sha256(value);
        history_log_.push_back({c.epoch, std::vector<std::byte>(value.begin(), value.end()), {}});
        if (history_log_.size() > history_)
            history_log_.pop_front();
        return true;
    }

    /// A welcome page: forwarded (true) when it belongs to a kept commit, and kept with it.
    bool accept_welcome(bytes value, std::error_code& ec)
    {
        const welcome_view w = read_welcome(value, max_members_, ec);
        if (ec)
            return false;
        for (auto& h : history_log_)
            if (h.epoch == w.epoch && w.gid == gid_) {
                const bool known = std::any_of(h.welcome.begin(), h.welcome.end(), [&](const auto& p) {
                    return std::equal(p.begin(), p.end(), value.begin(), value.end());
                });
                if (!known && h.welcome.size() < (w.total + welcome_page_entries - 1) / welcome_page_entries)
                    h.welcome.emplace_back(value.begin(), value.end());
                return true;
            }
        ec = errc::wrong_epoch;
        return false;
    }

    /// GROUP_SYNC(epoch): each kept commit after `epoch` (as a GROUP_COMMIT blob), oldest first; for
    /// epoch 0 (a member waiting to join) each one's welcome pages before it.
    void answer_sync(std::uint64_t from, std::vector<std::vector<std::byte>>& replies) const
    {
        std::error_code ec;
        for (const auto& h : history_log_) {
            if (h.epoch <= from)
                continue;
            if (from == 0)
                for (const auto& page : h.welcome) {
                    replies.emplace_back();
                    write_blob(wire::tlv_type::group_welcome, page, replies.back(), ec);
                }
            replies.emplace_back();
            write_blob(wire::tlv_type::group_commit, h.commit, replies.back(), ec);
        }
    }

private:
    static crypto::fingerprint fingerprint_of_key(const public_key& k) { return crypto::fingerprint_of<Suite>(k); }

    struct kept {
        std::uint64_t epoch = 0;
        std::vector<std::byte> commit; // the value
        std::vector<std::vector<std::byte>> welcome; // page values
    };

    void apply(const commit_view& c)
    {
        std::vector<crypto::fingerprint> next;
        for (std::size_t i = 0; i < roster_.size(); ++i)
            if (std::find(c.removed.begin(), c.removed.end(), i) == c.removed.end())
                next.push_back(roster_[i]);
        for (const auto& a : c.added)
            next.push_back(fingerprint_of_key(a.kp.entry.identity));
        roster_ = std::move(next);
    }

    std::size_t max_members_, history_;
    std::uint64_t epoch_ = 0;
    group_id gid_{};
    crypto::sha256_digest hash_{};
    std::vector<crypto::fingerprint> roster_;
    std::deque<kept> history_log_;
};

} // namespace tlvcast::profile::group
