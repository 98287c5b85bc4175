// SPDX-License-Identifier: BSL-1.0
// Size limits every Transport shares.
#pragma once

#include <cstddef>

namespace tlvcast::transport {

/// The largest UDP payload over IPv4 (65,535 - 20 IP header - 8 UDP header). A receive buffer of
/// this size never truncates; larger datagrams are refused by send.
inline constexpr std::size_t max_udp_payload = 65'507;

} // namespace tlvcast::transport
