// SPDX-License-Identifier: BSL-1.0
// asio_udp_options: the settings of an asio_udp socket, and conversions between tlvcast and Asio endpoints.
#pragma once

#include <tlvcast/endpoint.hpp>

#include <asio/ip/address.hpp>
#include <asio/ip/udp.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>

namespace tlvcast::transport {

/// Converts an endpoint to Asio's: IPv4 as address_v4, IPv6 as address_v6 with its scope id.
inline asio::ip::udp::endpoint to_asio_endpoint(const endpoint& e)
{
    if (e.is_v4())
        return {asio::ip::address_v4(e.v4()), e.port};
    return {asio::ip::address_v6(e.v6(), e.scope_id()), e.port};
}

/// The same for a socket of `protocol`: an IPv6 socket names an IPv4 destination v4-mapped.
inline asio::ip::udp::endpoint to_asio_endpoint(const endpoint& e, const asio::ip::udp& protocol)
{
    if (protocol == asio::ip::udp::v6())
        return {asio::ip::address_v6(e.v6(), e.scope_id()), e.port};
    return to_asio_endpoint(e);
}

/// Converts Asio's endpoint to ours. A v4-mapped IPv6 address (an IPv4 peer of a dual-stack
/// socket) becomes the IPv4 endpoint it is.
inline endpoint from_asio_endpoint(const asio::ip::udp::endpoint& e) noexcept
{
    const auto a = e.address();
    if (a.is_v4())
        return {a.to_v4().to_uint(), e.port()};
    const auto v6 = a.to_v6();
    return endpoint::from_v6(v6.to_bytes(), e.port(), static_cast<std::uint32_t>(v6.scope_id()));
}

/// Settings of an asio_udp socket. Every field has a working default.
struct asio_udp_options {
    /// The multicast group: IPv4 (224.0.0.0/4) or IPv6 (ff00::/8: ff15::/16 site-local, ff02::/16
    /// link-local, ...). The socket's family follows it.
    asio::ip::address group = asio::ip::make_address_v4("224.1.1.1");
    std::uint16_t port = 5007; ///< the group's UDP port
    /// The interface that joins the group and sends multicast, by address (of either family) or
    /// by name (`interface_name`, "v0"); not both. Neither lets the kernel choose from its routing
    /// table. An IPv6 link-local group (ff02::/16) usually needs one.
    asio::ip::address interface_address = asio::ip::address_v4::any();
    std::string interface_name;
    int ttl = 1;                                     ///< multicast TTL / hop limit, 0..255 (1: this link only)
    bool loopback = true;                            ///< IP(V6)_MULTICAST_LOOP: deliver to this host too
    std::size_t receive_buffer_size = 4 << 20;       ///< SO_RCVBUF request (capped by rmem_max); 0: system default
    std::size_t send_buffer_size = 0;                ///< SO_SNDBUF request (capped by wmem_max); 0: system default
    /// Sends with the Don't Fragment bit (Linux: IP(V6)_PMTUDISC_PROBE). The profiles' datagrams
    /// fit any link of MTU >= 1280 (max_datagram 1232 by default); one over the interface's MTU is
    /// refused with message_size and skipped (a counted send failure), never sent in IP fragments
    /// that one lost piece would void. false: the system's default (fragments, path MTU discovery),
    /// for a max_datagram above the links' MTU.
    bool dont_fragment = true;

    /// The group as a tlvcast endpoint, where clients send.
    endpoint group_endpoint() const noexcept
    {
        if (group.is_v4())
            return {group.to_v4().to_uint(), port};
        const auto g = group.to_v6();
        return endpoint::from_v6(g.to_bytes(), port, static_cast<std::uint32_t>(g.scope_id()));
    }

    /// Sets the interface from text: an address ("fd00::1", "10.0.0.1") or else a name ("v0").
    /// The name is checked when a socket opens.
    void set_interface(const std::string& name_or_address)
    {
        std::error_code ec;
        const auto a = asio::ip::make_address(name_or_address, ec);
        interface_address = ec ? asio::ip::address(asio::ip::address_v4::any()) : a;
        interface_name = ec ? name_or_address : std::string();
    }
};

} // namespace tlvcast::transport
