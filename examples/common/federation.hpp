// SPDX-License-Identifier: BSL-1.0
// tlvcast-relay's federation options (--federate, --federation-key, --federation-creds,
// --federation-tls-*, --federation-group) and the
// names its federation counters carry in the stats. docs/FEDERATION.md, docs/CLI.md.
#pragma once

#include "common/cli.hpp"
#include "common/profile.hpp"

#include <tlvcast/federation/auth.hpp>
#include <tlvcast/federation/counters.hpp>
#include <tlvcast/federation/envelope.hpp>
#include <tlvcast/federation/tls.hpp>

#include <array>
#include <iostream>
#include <cstddef>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#if TLVCAST_HAS_NATS
#include "common/json.hpp"

#include <tlvcast/federation/bridge.hpp>
#include <tlvcast/federation/nats_link.hpp>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#endif

namespace tlvcast::examples {

#if TLVCAST_HAS_NATS
inline constexpr bool have_nats = true;
#else
inline constexpr bool have_nats = false;
#endif

struct federation_settings {
    std::vector<std::string> servers; ///< --federate: empty, no federation
    std::string credentials_file;     ///< --federation-creds
    std::string tls_ca, tls_cert, tls_key, tls_hostname; ///< --federation-tls-ca/-cert/-key/-hostname
    std::string key_file;             ///< --federation-key: the key the federation's relays share
    bool insecure = false;            ///< --federation-insecure: no key (anyone who can publish is a relay)
    std::string group = "default";    ///< --federation-group: the subject's last token
    bool jetstream = false;           ///< --federation-jetstream: through a stream, stored before delivered
    bool send_asap = false;           ///< --federation-send-asap: each envelope written at once
    int replicas = 3;                 ///< --federation-replicas: the stream's
    bool enabled() const noexcept { return !servers.empty(); }
};

/// The stats names of the federation counters: federation_<name>.
inline constexpr std::array<std::string_view, federation::federation_counters::size> federation_stat_names{
    "federation_published", "federation_publish_errors", "federation_queue_full", "federation_received",
    "federation_inbound_full", "federation_delivered", "federation_malformed", "federation_unauthenticated",
    "federation_replayed", "federation_own",
    "federation_refused", "federation_disconnects", "federation_reconnects", "federation_conflicts",
    "federation_late_conflicts", "federation_misplaced",
    "federation_inbound_waits", "federation_missed", "federation_connect_retries",
    "federation_order_full", "federation_caught_up", "federation_presence_asked", "federation_presence_answers",
};

/// Reads a federation option into `f`; false when `name` is not one.
inline bool read_federation_option(std::string_view name, arg_reader& args, federation_settings& f)
{
    if (name == "--federate") {
        const std::string_view v = args.value();
        f.servers.clear();
        std::size_t start = 0;
        for (;;) { // nats://HOST:PORT[,nats://HOST:PORT...]
            const std::size_t comma = v.find(',', start);
            const std::string_view url = v.substr(start, comma == std::string_view::npos ? v.npos : comma - start);
            if (!(url.starts_with("nats://") || url.starts_with("tls://")) || url.size() <= 7 ||
                url.find_first_of(" \t") != url.npos)
                throw usage_error("option --federate: '" + std::string(url) +
                                  "' is not nats://HOST:PORT (or tls://HOST:PORT); several: comma-separated");
            f.servers.emplace_back(url);
            if (comma == std::string_view::npos)
                break;
            start = comma + 1;
        }
        return true;
    }
    if (name == "--federation-key") {
        f.key_file = std::string(args.value());
        return true;
    }
    if (name == "--federation-insecure") {
        args.no_value();
        f.insecure = true;
        return true;
    }
    if (name == "--federation-creds") {
        f.credentials_file = std::string(args.value());
        return true;
    }
    // An empty value ("$UNSET") would silently mean no TLS: refused.
    const auto tls_file = [&](std::string& to) {
        to = std::string(args.value());
        if (to.empty())
            throw usage_error("option " + std::string(name) + " needs a non-empty value");
        return true;
    };
    if (name == "--federation-tls-ca")
        return tls_file(f.tls_ca);
    if (name == "--federation-tls-cert")
        return tls_file(f.tls_cert);
    if (name == "--federation-tls-key")
        return tls_file(f.tls_key);
    if (name == "--federation-tls-hostname")
        return tls_file(f.tls_hostname);
    if (name == "--federation-group") {
        f.group = std::string(args.value());
        return true;
    }
    if (name == "--federation-jetstream") {
        args.no_value();
        f.jetstream = true;
        return true;
    }
    if (name == "--federation-send-asap") {
        args.no_value();
        f.send_asap = true;
        return true;
    }
    if (name == "--federation-replicas") {
        f.replicas = static_cast<int>(args.integer(1, 5));
        return true;
    }
    return false;
}

/// The checks once every option is read.
inline void check_federation(const federation_settings& f, profile p, bool group_given)
{
    if (!f.enabled()) {
        if (!f.credentials_file.empty() || group_given || f.jetstream || f.send_asap || !f.key_file.empty() || f.insecure ||
            !f.tls_ca.empty() || !f.tls_cert.empty() || !f.tls_key.empty() || !f.tls_hostname.empty())
            throw usage_error("options --federation-creds, --federation-group, --federation-jetstream, --federation-send-asap, "
                              "--federation-key, --federation-insecure and --federation-tls-* need --federate");
        return;
    }
    if (f.tls_cert.empty() != f.tls_key.empty())
        throw usage_error("options --federation-tls-cert and --federation-tls-key go together (the relay's "
                          "certificate chain and its private key, PEM)");
    if (p != profile::group)
        throw usage_error("option --federate needs the group profile (--profile group): only its blobs travel "
                          "opaquely between relays");
    if (!have_nats)
        throw usage_error("option --federate: this build has no NATS federation (configure with libnats-dev "
                          "installed, TLVCAST_WITH_NATS=ON)");
    if (f.key_file.empty() == !f.insecure)
        throw usage_error(f.insecure ? "options --federation-key and --federation-insecure: one at a time"
                                     : "option --federate needs --federation-key FILE (32 random bytes, raw or hex, "
                                       "the same at every relay of the federation), or --federation-insecure to let "
                                       "anyone who can publish on the NATS subject act as a relay");
    bool ok = !f.group.empty() && f.group.size() <= 64;
    for (const char c : f.group)
        ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
    if (!ok)
        throw usage_error("option --federation-group: '" + f.group + "' is not 1..64 of A-Z a-z 0-9 _ -");
}

/// A fresh relay id for this process (std::random_device: the OS's randomness).
inline federation::relay_id new_relay_id()
{
    std::random_device rd;
    federation::relay_id id{};
    for (std::size_t i = 0; i < id.size(); i += 4) {
        const auto w = rd();
        for (std::size_t j = 0; j < 4; ++j)
            id[i + j] = static_cast<std::byte>(w >> (8 * j));
    }
    return id;
}

/// The federation key for `f`: read from --federation-key (a file group or others may access is
/// refused under --strict-perms, else warned about on stderr), or, under --federation-insecure, the
/// all-zero key everyone knows, with a warning. Throws std::system_error; the key is never printed.
inline federation::federation_key load_federation_key(const federation_settings& f, bool strict_permissions,
                                                      std::string_view program)
{
    if (f.insecure) {
        std::cerr << program << ": warning: --federation-insecure: federation envelopes are sealed under a "
                                "well-known key; anyone who can publish on the NATS subject acts as a relay\n";
        return {};
    }
    crypto::key_file_status status;
    auto key = federation::read_federation_key_file(f.key_file, {.strict_permissions = strict_permissions}, &status);
    if (status.too_open)
        std::cerr << program << ": warning: " << crypto::key_file_warning(f.key_file, status) << "\n";
    return key;
}

#if TLVCAST_HAS_NATS
/// A relay's federation (--federate): the NATS link, the bridge between it and the running relay,
/// and the connection's changes printed on the io thread (the `federation` event). Construct it once
/// the relay started; it must be destroyed before the relay, once io.run() returned.
template <class Relay>
class relay_federation {
public:
    relay_federation(asio::io_context& io, Relay& relay, const federation_settings& f, const federation::relay_id& id,
                     const federation::federation_key& key, bool json, bool quiet)
        : link_(options(f)), bridge_(relay, link_, id, key, federation::default_max_blob, bridge_options(f))
    {
        bridge_.start();
        link_.set_on_state([&io, json, quiet](bool up, const std::string& server) {
            asio::post(io, [up, server, json, quiet] {
                if (json)
                    print_line(json_object::event("federation")
                                   .str("state", up ? "connected" : "disconnected")
                                   .str("server", server)
                                   .text());
                else if (!quiet)
                    print_line(std::string("federation: ") + (up ? "connected to " : "lost ") + server);
            });
        });
    }

    const federation::federation_counters& counters() noexcept { return link_.counters(); }
    const std::string& subject() const noexcept { return link_.subject(); }

private:
    static federation::nats_options options(const federation_settings& f)
    {
        federation::nats_options o;
        o.servers = f.servers;
        o.credentials_file = f.credentials_file;
        o.tls_ca_file = f.tls_ca;
        o.tls_cert_file = f.tls_cert;
        o.tls_key_file = f.tls_key;
        o.tls_hostname = f.tls_hostname;
        o.group = f.group;
        o.jetstream = f.jetstream;
        o.catch_up = f.jetstream; // a relay that (re)starts rebuilds the group's state from the order
        o.send_asap = f.send_asap;
        o.stream.replicas = f.replicas;
        return o;
    }

    // Catch-up (docs/FEDERATION.md): the other relays' presence asked for at start, and, with the
    // order, no local commit offered until their answers had time to come.
    static federation::bridge_options bridge_options(const federation_settings& f)
    {
        federation::bridge_options b;
        b.ask_presence = true;
        if (f.jetstream)
            b.settle = default_settle;
        return b;
    }
    static constexpr std::chrono::milliseconds default_settle{2000};

    federation::nats_link link_; // before the bridge: destroyed after it
    federation::bridge<Relay, federation::nats_link> bridge_;
};
#endif

} // namespace tlvcast::examples
