// SPDX-License-Identifier: BSL-1.0
// Multicast set-up of one UDP socket, IPv4 or IPv6: the interface by name or address, the join, the outbound interface.
#pragma once

#include <asio.hpp>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace tlvcast::transport::detail {

/// The interface a socket joins its group on and sends multicast through. `index` 0 with no
/// `v4_address` leaves the choice to the kernel (its routing table).
struct multicast_interface {
    unsigned index = 0;                            ///< if_nametoindex(3) value, 0 for none
    std::optional<asio::ip::address_v4> v4_address; ///< an IPv4 group's interface given by address: used as is
    std::string text;                              ///< how the user named it, for error messages
};

/// The index of the interface holding `address` (getifaddrs(3)). A link-local IPv6 address with a
/// scope id must also match that scope. Error: address_not_available when no interface has it.
inline unsigned interface_index_of(const asio::ip::address& address, std::error_code& ec) noexcept
{
    ec = {};
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
        ec = std::error_code(errno, asio::error::get_system_category());
        return 0;
    }
    unsigned index = 0;
    for (const ifaddrs* i = list; i != nullptr && index == 0; i = i->ifa_next) {
        if (i->ifa_addr == nullptr)
            continue;
        if (i->ifa_addr->sa_family == AF_INET && address.is_v4()) {
            sockaddr_in sa;
            std::memcpy(&sa, i->ifa_addr, sizeof sa);
            if (ntohl(sa.sin_addr.s_addr) == address.to_v4().to_uint())
                index = ::if_nametoindex(i->ifa_name);
        } else if (i->ifa_addr->sa_family == AF_INET6 && address.is_v6()) {
            sockaddr_in6 sa;
            std::memcpy(&sa, i->ifa_addr, sizeof sa);
            const auto want = address.to_v6();
            const auto bytes = want.to_bytes();
            if (std::memcmp(&sa.sin6_addr, bytes.data(), bytes.size()) == 0 &&
                (want.scope_id() == 0 || want.scope_id() == sa.sin6_scope_id))
                index = ::if_nametoindex(i->ifa_name);
        }
    }
    ::freeifaddrs(list);
    if (index == 0)
        ec = std::error_code(EADDRNOTAVAIL, asio::error::get_system_category());
    return index;
}

/// Resolves the interface given by `name` (non-empty) or by `address` (not unspecified) for a
/// group of the given family. An IPv4 group's interface given by an IPv4 address is used as is,
/// as IP_ADD_MEMBERSHIP takes it; any other choice becomes an interface index. Errors:
/// invalid_argument when both are given, no_such_device for an unknown name,
/// address_not_available for an address no interface holds.
inline multicast_interface resolve_interface(const std::string& name, const asio::ip::address& address,
                                             bool v6_group, std::error_code& ec)
{
    ec = {};
    multicast_interface iface;
    const bool by_address = !address.is_unspecified();
    if (!name.empty() && by_address) {
        iface.text = name + " and " + address.to_string() + " at once (give a name or an address)";
        ec = std::make_error_code(std::errc::invalid_argument);
        return iface;
    }
    if (!name.empty()) {
        iface.text = name;
        iface.index = ::if_nametoindex(name.c_str());
        if (iface.index == 0)
            ec = asio::error::no_such_device;
    } else if (by_address) {
        iface.text = address.to_string();
        if (!v6_group && address.is_v4())
            iface.v4_address = address.to_v4();
        else
            iface.index = interface_index_of(address, ec);
    } else {
        iface.text = "the kernel's choice";
    }
    return iface;
}

/// Joins `group` on `iface`. Errors: the kernel's; operation_not_supported for an IPv4 group on
/// an interface index outside Linux (which has ip_mreqn).
template <class Socket>
void join_group(Socket& socket, const asio::ip::address& group, const multicast_interface& iface, std::error_code& ec)
{
    namespace mc = asio::ip::multicast;
    ec = {};
    if (group.is_v6()) {
        socket.set_option(mc::join_group(group.to_v6(), iface.index), ec);
    } else if (iface.v4_address || iface.index == 0) {
        socket.set_option(mc::join_group(group.to_v4(), iface.v4_address.value_or(asio::ip::address_v4::any())), ec);
    } else {
#if defined(__linux__)
        ip_mreqn req{};
        req.imr_multiaddr.s_addr = htonl(group.to_v4().to_uint());
        req.imr_ifindex = static_cast<int>(iface.index);
        if (::setsockopt(socket.native_handle(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &req, sizeof req) != 0)
            ec = std::error_code(errno, asio::error::get_system_category());
#else
        ec = asio::error::operation_not_supported;
#endif
    }
}

/// Sends multicast through `iface` (nothing for the kernel's choice). Errors: the kernel's.
template <class Socket>
void set_outbound_interface(Socket& socket, bool v6, const multicast_interface& iface, std::error_code& ec)
{
    namespace mc = asio::ip::multicast;
    ec = {};
    if (v6) {
        if (iface.index != 0)
            socket.set_option(mc::outbound_interface(iface.index), ec);
    } else if (iface.v4_address) {
        socket.set_option(mc::outbound_interface(*iface.v4_address), ec);
    } else if (iface.index != 0) {
#if defined(__linux__)
        ip_mreqn req{};
        req.imr_ifindex = static_cast<int>(iface.index);
        if (::setsockopt(socket.native_handle(), IPPROTO_IP, IP_MULTICAST_IF, &req, sizeof req) != 0)
            ec = std::error_code(errno, asio::error::get_system_category());
#else
        ec = asio::error::operation_not_supported;
#endif
    }
}

/// Linux delivers to a wildcard-bound socket the traffic of every group that any socket of the
/// host joined on its port; this turns that off, so only the socket's own groups arrive
/// (IP_MULTICAST_ALL, IPV6_MULTICAST_ALL since Linux 4.20). Elsewhere: nothing to do.
template <class Socket>
void only_joined_groups(Socket& socket, bool v6, std::error_code& ec) noexcept
{
    ec = {};
#if defined(__linux__)
    const int off = 0;
    int level = IPPROTO_IP, name = 0;
#if defined(IP_MULTICAST_ALL)
    name = IP_MULTICAST_ALL;
#endif
    if (v6) {
        level = IPPROTO_IPV6;
#if defined(IPV6_MULTICAST_ALL)
        name = IPV6_MULTICAST_ALL;
#else
        name = 0;
#endif
    }
    if (name != 0 && ::setsockopt(socket.native_handle(), level, name, &off, sizeof off) != 0 &&
        !(v6 && errno == ENOPROTOOPT)) // a kernel before 4.20 has no IPV6_MULTICAST_ALL: a filter less
        ec = std::error_code(errno, asio::error::get_system_category());
#else
    (void)socket;
    (void)v6;
#endif
}

} // namespace tlvcast::transport::detail
