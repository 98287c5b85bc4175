// SPDX-License-Identifier: BSL-1.0
// Datagrams sent with the Don't Fragment bit: IP_MTU_DISCOVER / IPV6_MTU_DISCOVER set to PROBE.
#pragma once

#include <asio/error.hpp>

#include <cerrno>
#include <system_error>

#include <netinet/in.h>
#include <sys/socket.h>

namespace tlvcast::transport::detail {

/// Sets DF on every datagram the socket sends, ignoring the path MTU cache (PMTUDISC_PROBE, as
/// QUIC stacks do): a datagram larger than the interface's MTU fails with EMSGSIZE instead of
/// leaving in IP fragments (RFC 8900), and the kernel draws no IPv4 identification per datagram
/// (the default, PMTUDISC_WANT, takes a shared atomic per send: 3-5 % of a relay's CPU). `on`
/// false leaves the system default. Elsewhere than Linux: nothing to do.
template <class Socket>
void set_dont_fragment(Socket& socket, bool v6, bool on, std::error_code& ec) noexcept
{
    ec = {};
#if defined(__linux__) && defined(IP_PMTUDISC_PROBE) && defined(IPV6_PMTUDISC_PROBE)
    if (!on)
        return;
    const int level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
    const int name = v6 ? IPV6_MTU_DISCOVER : IP_MTU_DISCOVER;
    const int value = v6 ? IPV6_PMTUDISC_PROBE : IP_PMTUDISC_PROBE;
    if (::setsockopt(socket.native_handle(), level, name, &value, sizeof value) != 0)
        ec = std::error_code(errno, asio::error::get_system_category());
#else
    (void)socket;
    (void)v6;
    (void)on;
#endif
}

} // namespace tlvcast::transport::detail
