// SPDX-License-Identifier: BSL-1.0
// libnats's connection options for the NATS link (federation/nats_link.hpp): what nats_options
// says, and the link's callbacks.
#pragma once

#include <tlvcast/federation/nats_options.hpp>

#include <nats/nats.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace tlvcast::federation::detail {

/// The link's connection callbacks, each called with `closure`.
struct connection_callbacks {
    natsConnectionHandler disconnected, reconnected, closed;
    void* closure;
};

/// Sets `no` for `o`: its servers, name and credentials; no echo (a connection never receives its
/// own publications: no loops); reconnection forever, `reconnect_wait` apart, with
/// `reconnect_buffer` bytes kept meanwhile; a silent node noticed by its unanswered pings
/// (`ping_interval`, `max_pings_out`). A failed first connection is not retried by libnats: the link
/// retries it (nats_link::connect_first: libnats 3.4's own retry gives up for good after a
/// handshake that timed out).
inline natsStatus set_connection_options(natsOptions* no, const nats_options& o, const connection_callbacks& cb)
{
    std::vector<const char*> urls;
    for (const auto& s : o.servers)
        urls.push_back(s.c_str());
    natsStatus s = natsOptions_SetServers(no, urls.data(), static_cast<int>(urls.size()));
    if (s == NATS_OK)
        s = natsOptions_SetName(no, o.client_name.c_str());
    if (s == NATS_OK)
        s = natsOptions_SetNoEcho(no, true);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(no, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(no, o.reconnect_wait.count());
    if (s == NATS_OK)
        s = natsOptions_SetReconnectBufSize(no, o.reconnect_buffer);
    if (s == NATS_OK)
        s = natsOptions_SetPingInterval(no, o.ping_interval.count());
    if (s == NATS_OK)
        s = natsOptions_SetMaxPingsOut(no, o.max_pings_out);
    if (s == NATS_OK && o.send_asap)
        s = natsOptions_SetSendAsap(no, true);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(no, cb.disconnected, cb.closure);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(no, cb.reconnected, cb.closure);
    if (s == NATS_OK) // the last callback libnats makes
        s = natsOptions_SetClosedCB(no, cb.closed, cb.closure);
    if (s == NATS_OK && !o.credentials_file.empty())
        s = natsOptions_SetUserCredentialsFromFiles(no, o.credentials_file.c_str(), nullptr);
    return s;
}

/// Whether a server URL's host is an IP address (scheme, user info, port and IPv6 brackets aside).
inline bool url_host_is_ip(std::string_view url)
{
    if (const auto scheme = url.find("://"); scheme != std::string_view::npos)
        url.remove_prefix(scheme + 3);
    url = url.substr(0, url.find('/'));
    if (const auto at = url.rfind('@'); at != std::string_view::npos)
        url.remove_prefix(at + 1);
    std::string host;
    if (!url.empty() && url.front() == '[')
        host = std::string(url.substr(1, url.find(']') - 1));
    else
        host = std::string(url.substr(0, url.find(':')));
    in6_addr a6{};
    in_addr a4{};
    return ::inet_pton(AF_INET, host.c_str(), &a4) == 1 || ::inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

/// Sets `no` for `o`'s TLS settings (nothing when it has none). libnats reads the files here, so a
/// bad one fails now; what failed is in `what`.
inline natsStatus set_tls_options(natsOptions* no, const nats_options& o, const char*& what)
{
    if (!o.tls())
        return NATS_OK;
    what = "TLS";
    natsStatus s = natsOptions_SetSecure(no, true);
    // A server's INFO, with the other servers of its cluster, comes before TLS: a man in the middle
    // adds servers of his own. libnats verifies a discovered server against the name of the URL it
    // came from when that is a DNS name, but for an IP address against the discovered host itself,
    // which he chose (tests/federation/review_tls.cpp). With an IP address listed and no expected
    // name, only the listed servers.
    const bool ip_listed = std::any_of(o.servers.begin(), o.servers.end(), [](const std::string& u) { return url_host_is_ip(u); });
    if (s == NATS_OK && o.tls_hostname.empty() && ip_listed)
        s = natsOptions_SetIgnoreDiscoveredServers(no, true);
    if (s == NATS_OK && !o.tls_ca_file.empty()) {
        what = "the TLS CA file";
        s = natsOptions_LoadCATrustedCertificates(no, o.tls_ca_file.c_str());
    }
    if (s == NATS_OK && !o.tls_cert_file.empty()) {
        what = "the TLS certificate or key file";
        s = natsOptions_LoadCertificatesChain(no, o.tls_cert_file.c_str(), o.tls_key_file.c_str());
    }
    if (s == NATS_OK && !o.tls_hostname.empty()) {
        what = "the TLS host name";
        s = natsOptions_SetExpectedHostname(no, o.tls_hostname.c_str());
    }
    return s;
}

} // namespace tlvcast::federation::detail
