// SPDX-License-Identifier: BSL-1.0
// Refusing to run outside a private namespace: the checks the multicast tests make before any socket.
#pragma once

#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tlvcast::transport::test {

/// For a veth interface of this namespace, the index of its peer (its ethtool statistic
/// "peer_ifindex"); 0 for any other interface or when ethtool cannot tell. (/sys/class/net shows
/// the namespace that mounted /sys, not ours, so it cannot answer this.)
inline std::uint64_t veth_peer_index(const std::string& name)
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return 0;
    std::uint64_t peer = 0;
    auto ethtool = [&](void* data) {
        ifreq ifr{};
        std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
        ifr.ifr_data = static_cast<char*>(data);
        return ::ioctl(fd, SIOCETHTOOL, &ifr) == 0;
    };
    ethtool_drvinfo info{};
    info.cmd = ETHTOOL_GDRVINFO;
    if (ethtool(&info) && std::string(info.driver) == "veth" && info.n_stats > 0 && info.n_stats < 1024) {
        const std::size_t n = info.n_stats;
        std::vector<std::uint8_t> strings(sizeof(ethtool_gstrings) + n * ETH_GSTRING_LEN);
        auto* gs = reinterpret_cast<ethtool_gstrings*>(strings.data());
        gs->cmd = ETHTOOL_GSTRINGS;
        gs->string_set = ETH_SS_STATS;
        gs->len = static_cast<std::uint32_t>(n);
        std::vector<std::uint64_t> stats(sizeof(ethtool_stats) / 8 + n);
        auto* st = reinterpret_cast<ethtool_stats*>(stats.data());
        st->cmd = ETHTOOL_GSTATS;
        st->n_stats = static_cast<std::uint32_t>(n);
        if (ethtool(gs) && ethtool(st))
            for (std::size_t i = 0; i < n; ++i)
                if (std::strncmp(reinterpret_cast<const char*>(gs->data + i * ETH_GSTRING_LEN), "peer_ifindex",
                                 ETH_GSTRING_LEN) == 0)
                    peer = st->data[i];
    }
    ::close(fd);
    return peer;
}

/// True when this process sees no interface but the loopback and, with `veth` (tests/netns.sh
/// NETNS_VETH=1), the veth pair v0/v1 whose ends are each other's peers, both here: a private
/// namespace, where joining a group and sending multicast cannot reach a real network.
inline bool in_private_netns(bool veth = false)
{
    struct if_nameindex* list = ::if_nameindex(); // "struct": the function has the same name
    if (!list)
        return false;
    std::set<std::string> names;
    for (const struct if_nameindex* i = list; i->if_index != 0; ++i)
        names.insert(i->if_name);
    ::if_freenameindex(list);
    if (!veth)
        return names == std::set<std::string>{"lo"};
    const unsigned v0 = ::if_nametoindex("v0"), v1 = ::if_nametoindex("v1");
    return names == std::set<std::string>{"lo", "v0", "v1"} && v0 != 0 && v1 != 0 && veth_peer_index("v0") == v1 &&
           veth_peer_index("v1") == v0;
}

} // namespace tlvcast::transport::test
