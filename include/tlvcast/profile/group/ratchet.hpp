// SPDX-License-Identifier: BSL-1.0
// One sender's hash ratchet within an epoch: message keys in generation order, each deleted after
// use; a bounded store of skipped keys for late arrivals.
#pragma once

#include <tlvcast/error.hpp>
#include <tlvcast/profile/group/key_schedule.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

namespace tlvcast::profile::group {

/// Generations a receiver missed when a later one arrived: [from, to].
struct gap_range {
    std::uint32_t from = 0, to = 0;
};

/// A sender chain. The sending side calls next(); a receiving side calls find() to get the key of a
/// generation without changing anything (the message is not authentic yet), then accept() once it
/// is: only then are the chain advanced, the skipped keys stored and the used key deleted, so a
/// forged message cannot push the chain ahead.
template <class Suite>
class ratchet {
public:
    ratchet() = default;
    explicit ratchet(chain_key root) : chain_(std::move(root)) {}

    /// The sender's next key and its generation. Errors: key_exhausted (2^32 generations).
    std::optional<std::pair<std::uint32_t, message_key>> next(std::error_code& ec)
    {
        ec = {};
        if (next_ == UINT32_MAX) {
            ec = errc::key_exhausted;
            return std::nullopt;
        }
        auto mk = ratchet_step<Suite>(chain_);
        return std::pair{next_++, std::move(mk)};
    }

    /// The key of generation `g`, or an error: replayed (used, or older than the skipped keys
    /// kept), malformed (more than `max_skip` ahead of the next expected generation).
    std::optional<message_key> find(std::uint32_t g, std::uint32_t max_skip, std::error_code& ec) const
    {
        ec = {};
        if (g < next_) {
            const auto it = std::find_if(skipped_.begin(), skipped_.end(), [g](const auto& s) { return s.first == g; });
            if (it == skipped_.end()) {
                ec = errc::replayed;
                return std::nullopt;
            }
            return it->second;
        }
        if (g - next_ > max_skip) {
            ec = errc::malformed;
            return std::nullopt;
        }
        chain_key c = chain_;
        for (std::uint32_t i = next_; i < g; ++i)
            (void)ratchet_step<Suite>(c);
        return ratchet_step<Suite>(c);
    }

    /// Generation `g` was authentic: deletes its key; if it was ahead, keeps the keys it skipped
    /// (at most `max_skipped`, the oldest deleted first) and returns the gap.
    std::optional<gap_range> accept(std::uint32_t g, std::size_t max_skipped)
    {
        if (g < next_) {
            std::erase_if(skipped_, [g](const auto& s) { return s.first == g; });
            return std::nullopt;
        }
        std::optional<gap_range> gap;
        if (g > next_)
            gap = gap_range{next_, g - 1};
        for (; next_ < g; ++next_) {
            skipped_.emplace_back(next_, ratchet_step<Suite>(chain_));
            if (skipped_.size() > max_skipped)
                skipped_.erase(skipped_.begin());
        }
        (void)ratchet_step<Suite>(chain_); // g's key: deleted
        next_ = g + 1;
        return gap;
    }

    std::uint32_t next_generation() const noexcept { return next_; }
    std::size_t skipped() const noexcept { return skipped_.size(); }

private:
    chain_key chain_;
    std::uint32_t next_ = 0;
    std::vector<std::pair<std::uint32_t, message_key>> skipped_; // by generation, oldest first
};

} // namespace tlvcast::profile::group
