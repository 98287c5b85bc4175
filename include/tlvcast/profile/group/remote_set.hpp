// SPDX-License-Identifier: BSL-1.0
// A federated group relay's remote set: identities that other relays of the federation announced
// as joined (docs/FEDERATION.md), so that no local member founds a second group while they live.
#pragma once

#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/error.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <system_error>

namespace tlvcast::profile::group::detail {

/// Counts, per identity, the joined sessions that other relays announced (one identity may be
/// live at two sites). Bounded: anyone with NATS credentials can announce identities, and each
/// costs memory here. Single-threaded, like the relay engine that owns it.
class remote_set {
public:
    static constexpr std::size_t default_max_identities = 4096;
    /// Sessions per identity that count: more announcements of one identity are ignored.
    static constexpr std::uint32_t max_sessions_per_identity = 64;

    explicit remote_set(std::size_t max_identities = default_max_identities) : max_(max_identities) {}

    /// `fp` joined at another relay. Errors: overloaded (the set is full; nothing changes).
    void joined(const crypto::fingerprint& fp, std::error_code& ec)
    {
        ec = {};
        const auto it = count_.find(fp);
        if (it != count_.end()) {
            if (it->second < max_sessions_per_identity)
                ++it->second;
            return;
        }
        if (count_.size() >= max_) {
            ec = errc::overloaded;
            return;
        }
        count_.emplace(fp, 1);
    }

    /// `fp` left another relay (or timed out there). One that was never announced changes nothing.
    void left(const crypto::fingerprint& fp)
    {
        const auto it = count_.find(fp);
        if (it != count_.end() && --it->second == 0)
            count_.erase(it);
    }

    bool contains(const crypto::fingerprint& fp) const { return count_.contains(fp); }
    std::size_t size() const noexcept { return count_.size(); }

private:
    std::size_t max_;
    std::map<crypto::fingerprint, std::uint32_t> count_;
};

} // namespace tlvcast::profile::group::detail
