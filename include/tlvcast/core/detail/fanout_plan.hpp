// SPDX-License-Identifier: BSL-1.0
// Who an opaque relay forwards a blob to: the peers by delivery mode.
#pragma once

#include <tlvcast/endpoint.hpp>

#include <cstddef>
#include <optional>
#include <vector>

namespace tlvcast::core::detail {

/// The recipients of forwarded blobs for a Cipher with delivery groups, rebuilt only after the
/// peers or their delivery modes changed (`stale`), so that a blob to a multicast group costs the
/// same at any N.
struct fanout_plan {
    bool stale = true;
    /// Peers with their own copy: one stream each, or the shared stream of unicast peers.
    std::vector<endpoint> unicast;
    std::optional<endpoint> group; ///< the delivery group, when some peer takes blobs there
    std::size_t grouped = 0;       ///< peers served by one datagram to `group`
};

} // namespace tlvcast::core::detail
