// SPDX-License-Identifier: BSL-1.0
// Who an opaque relay forwards a blob to: the peers by delivery mode and membership.
#pragma once

#include <tlvcast/endpoint.hpp>

#include <cstddef>
#include <optional>
#include <vector>

namespace tlvcast::core::detail {

/// The recipients of forwarded blobs for a Cipher with delivery groups, rebuilt only after the
/// peers, their delivery modes or the group's membership changed (`stale`), so that a blob to a
/// multicast group costs the same at any N.
struct fanout_plan {
    bool stale = true;
    /// Peers with their own copy: one stream each, or the shared stream of unicast members.
    std::vector<endpoint> unicast;
    /// Registered peers outside the group (Cipher::is_member) while unicast members share a
    /// stream: each gets a stream of its own, inside its records, never the shared one.
    std::vector<endpoint> outsiders;
    std::vector<endpoint> before;  ///< `unicast` of the plan before (who newly hears the shared stream)
    std::optional<endpoint> group; ///< the delivery group, when some peer takes blobs there
    std::size_t grouped = 0;       ///< peers served by one datagram to `group`
};

} // namespace tlvcast::core::detail
