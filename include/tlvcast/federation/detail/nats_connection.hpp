// SPDX-License-Identifier: BSL-1.0
// libnats's connection options for the NATS link (federation/nats_link.hpp): what nats_options
// says, and the link's callbacks.
#pragma once

#include <tlvcast/federation/nats_options.hpp>

#include <nats/nats.h>

#include <vector>

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

/// Sets `no` for `o`'s TLS settings (nothing when it has none). libnats reads the files here, so a
/// bad one fails now; what failed is in `what`.
inline natsStatus set_tls_options(natsOptions* no, const nats_options& o, const char*& what)
{
    if (!o.tls())
        return NATS_OK;
    what = "TLS";
    natsStatus s = natsOptions_SetSecure(no, true);
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
