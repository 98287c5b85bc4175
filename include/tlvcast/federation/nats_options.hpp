// SPDX-License-Identifier: BSL-1.0
// The NATS link's settings (federation/nats_link.hpp, which includes this) and the group names it
// takes. docs/FEDERATION.md.
#pragma once

#include <tlvcast/federation/detail/nats_stream.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tlvcast::federation {

/// The NATS link's settings; every limit a named default.
struct nats_options {
    std::vector<std::string> servers;   ///< nats://HOST:PORT (or tls://): any node of the cluster
    std::string credentials_file;       ///< a NATS .creds file (user JWT and seed); empty: none
    /// TLS to the servers. Any of these set, or a tls:// URL, makes every connection TLS (never a
    /// plain one, whatever a server's INFO says). The server's certificate is always verified:
    /// against `tls_ca_file` (PEM) and the system's store (libnats 3.4 adds the file to it;
    /// trust_only_ca_file() in federation/tls.hpp leaves the file alone), for `tls_hostname`, else
    /// for each URL's host (an IP address or a DNS name in its SAN). With an IP address in a URL and no
    /// `tls_hostname`, the link connects only to the listed servers (libnats would verify a server
    /// that another names, before TLS, unverified, for its own host).
    std::string tls_ca_file;
    std::string tls_cert_file, tls_key_file; ///< this relay's certificate chain and key (PEM, unencrypted): both or neither
    std::string tls_hostname;
    bool tls() const noexcept
    {
        if (!tls_ca_file.empty() || !tls_cert_file.empty() || !tls_key_file.empty() || !tls_hostname.empty())
            return true;
        for (const auto& url : servers) { // libnats 3.4 ignores the scheme: a tls:// URL alone was plain
            std::string scheme = url.substr(0, 6);
            for (auto& c : scheme)
                c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
            if (scheme == "tls://")
                return true;
        }
        return false;
    }
    std::string group = "default";      ///< the federated group's name: subject tlvcast.g.<group> (commits: tlvcast.c.<group>)
    std::string client_name = "tlvcast-relay";
    static constexpr std::size_t default_max_queued = 4096;             ///< envelopes each way
    static constexpr std::size_t default_max_queued_bytes = 64u << 20;  ///< bytes each way
    std::size_t max_outbound = default_max_queued, max_outbound_bytes = default_max_queued_bytes;
    std::size_t max_inbound = default_max_queued, max_inbound_bytes = default_max_queued_bytes;
    std::chrono::milliseconds reconnect_wait{250}; ///< between attempts, forever (a relay outlives NATS outages)
    /// The first connection (NATS down or not answering at a relay's start) is tried forever too,
    /// `reconnect_wait` apart at first, doubling up to this (each failure counted: connect_retries).
    static constexpr std::chrono::milliseconds default_connect_backoff_max{4'000};
    /// The first connection's tries are never closer than this, whatever reconnect_wait says.
    static constexpr std::chrono::milliseconds min_connect_wait{100};
    std::chrono::milliseconds connect_backoff_max = default_connect_backoff_max;
    /// Each envelope written to NATS at once, instead of by libnats's flusher thread, which sleeps
    /// 1 ms before each write to gather more (bench/federation_datapath.sh: one blob in flight, the
    /// hop's p50 134-143 µs against 1.0 ms; 128 in flight, 69-72k against 80-133k messages/s and
    /// 1.7-2.3 times the CPU per message in both relays and nats-server). Off: throughput.
    bool send_asap = false;
    int reconnect_buffer = 8 << 20; ///< bytes libnats keeps for the server while reconnecting
    /// A node that stops answering without closing the connection (a cut link, a frozen host) is
    /// noticed after `max_pings_out` unanswered pings, `ping_interval` apart: about 10 to 15 s here,
    /// against libnats's 2 minutes at least, during which core NATS publications are lost.
    static constexpr std::chrono::milliseconds default_ping_interval{5'000};
    static constexpr int default_max_pings_out = 2;
    std::chrono::milliseconds ping_interval = default_ping_interval;
    int max_pings_out = default_max_pings_out;
    /// Carry the group through a JetStream stream (TLVCAST_<group>, `stream` limits) instead of
    /// plain subjects: every publication is stored (R3 by default) before it counts as published,
    /// and an ordered consumer delivers what was stored since this link started, in order, across
    /// the death of a node. Commits then go through the stream's order (ordering_link): subject
    /// tlvcast.c.<group>, stored only after the last commit the relay saw. docs/FEDERATION.md,
    /// "JetStream" and "One order for membership".
    bool jetstream = false;
    /// JetStream: the commits' consumer starts at the commit stream's first commit, and what was
    /// stored before this link started comes as history (reception::history): the relay rebuilds
    /// the group's state from it, so that a relay that restarts or starts late is in step with the
    /// order (docs/FEDERATION.md, "Catch-up"). Off: it reads what is stored from its start on.
    bool catch_up = false;
    detail::stream_limits stream;
    /// How long an envelope is retried before it counts as a publish error (a stream leader's
    /// election after a node died takes seconds; meanwhile the others wait in the bounded queue).
    static constexpr std::chrono::milliseconds default_publish_retry{30'000};
    std::chrono::milliseconds publish_retry = default_publish_retry;
    /// JetStream: how long a reception waits for room in the inbound queue before it is dropped
    /// (counted inbound_full). Waiting holds libnats's delivery back, and the stream keeps the rest:
    /// a relay slowed by a flood of junk still gets every commit. A strand stopped this long is stuck.
    static constexpr std::chrono::milliseconds default_inbound_wait{30'000};
    std::chrono::milliseconds inbound_wait = default_inbound_wait;
};

/// Whether `name` may be a group's subject token: 1..64 of [A-Za-z0-9_-] (no NATS wildcard or dot).
inline bool valid_group_name(std::string_view name) noexcept
{
    if (name.empty() || name.size() > 64)
        return false;
    for (const char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    return true;
}

} // namespace tlvcast::federation
