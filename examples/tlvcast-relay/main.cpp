// SPDX-License-Identifier: BSL-1.0
// tlvcast-relay: the relay on UDP multicast (secure, group or seed profile), printing events for people or as JSON lines.
#include "common/cli.hpp"
#include "common/federation.hpp"
#include "common/group.hpp"
#include "common/json.hpp"
#include "common/profile.hpp"
#include "common/relay_probe.hpp"
#include "common/reliability.hpp"
#include "common/relay_stats.hpp"
#include "tlvcast-relay/usage.hpp"

#include <tlvcast/version.hpp>

#include <asio.hpp>

#include <cstdio>
#include <exception>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace {

namespace ex = tlvcast::examples;
using namespace std::chrono_literals;

template <class Cipher>
using relay_type = tlvcast::core::basic_relay<tlvcast::transport::asio_udp, Cipher, ex::fragmenter_for<Cipher>>;

// The relay only reassembles (it never splits a secure client's message itself): its default
// limits must admit the largest message in the smallest fragments either profile uses.
static_assert(tlvcast::fragment::limits{}.max_message_bytes >= tlvcast::core::default_max_message);
static_assert(tlvcast::fragment::limits{}.max_fragments_per_message * 256 >= tlvcast::core::default_max_message);


struct settings : tlvcast::examples::common_settings {
    std::optional<tlvcast::duration> timeout;
    std::size_t max_clients = 4096;
    unsigned threads = 0;
    bool verbose = false; ///< -v: an event per relayed message
    tlvcast::duration stats_interval{}; ///< --stats-interval; zero: none
    std::string metrics_file;
    std::optional<ex::reliability> reliability_given;
    ex::reliability reliability = ex::reliability::none; ///< after parse: the profile's default when not given
    /// --slow-receiver: hold by default (a briefly slow client loses nothing; a dead one is dropped
    /// after slow_hold, 3 s).
    tlvcast::fragment::slow_receiver_policy slow_receiver = tlvcast::fragment::slow_receiver_policy::hold;
    bool slow_receiver_given = false;
    bool unordered = false; ///< --unordered: forward whole messages ahead of a gap (repair_limits::ordered)
    std::string roster_file, admin_key_file; ///< group: the relay's own admission check, when given
    ex::federation_settings federation;       ///< --federate and its options (docs/FEDERATION.md)
    bool federation_group_given = false;
    bool seal_unicast = false; ///< group: each unicast member's copy in its own records
};

settings parse(int argc, char** argv)
{
    settings s;
    ex::arg_reader args(argc, argv); // -v is --verbose
    std::string_view name;
    while (args.next(name)) {
        if (ex::read_common_option(name, args, s))
            continue;
        if (ex::read_federation_option(name, args, s.federation)) {
            s.federation_group_given = s.federation_group_given || name == "--federation-group";
            continue;
        }
        if (name == "--roster" || name == "--admin-key") {
            (name == "--roster" ? s.roster_file : s.admin_key_file) = std::string(args.value());
            if (s.group_option.empty())
                s.group_option = std::string(name);
            continue;
        }
        for (const auto member_option : ex::group_member_options)
            if (name == member_option)
                throw ex::usage_error("option " + std::string(name) +
                                      " is for the members (tlvcast-chat): the relay takes --roster or --admin-key "
                                      "alone, and opens no message");
        if (name == "--timeout")
            s.timeout = args.seconds(0.01, 86400);
        else if (name == "--max-clients")
            s.max_clients = static_cast<std::size_t>(args.integer(1, 1'000'000));
        else if (name == "--verbose") {
            args.no_value();
            s.verbose = true;
        } else if (name == "--stats-interval")
            s.stats_interval = args.seconds(0.01, 86400);
        else if (name == "--metrics-file")
            s.metrics_file = args.text();
        else if (name == "--threads")
            s.threads = static_cast<unsigned>(args.integer(0, 256));
        else if (name == "--reliability")
            s.reliability_given = ex::read_reliability(args);
        else if (name == "--slow-receiver") {
            s.slow_receiver = ex::read_slow_receiver(args);
            s.slow_receiver_given = true;
        } else if (name == "--unordered") {
            args.no_value();
            s.unordered = true;
        } else if (name == "--seal-unicast") {
            args.no_value();
            s.seal_unicast = true;
        } else
            args.unknown();
    }
    ex::check_common(s);
    ex::check_federation(s.federation, s.profile, s.federation_group_given);
    s.reliability = ex::check_reliability(s.reliability_given, s.profile);
    ex::check_unordered(s.unordered, s.reliability);
    if (s.slow_receiver_given && s.reliability == ex::reliability::none)
        throw ex::usage_error("option --slow-receiver needs --reliability nack or nack+fec");
    if (s.quiet && s.verbose)
        throw ex::usage_error("options --quiet and --verbose: one at a time");
    if (!s.roster_file.empty() && !s.admin_key_file.empty())
        throw ex::usage_error("options --roster and --admin-key: one admission policy at a time");
    if (s.seal_unicast && s.profile != ex::profile::group)
        throw ex::usage_error("option --seal-unicast is for the group profile (the secure relay seals every copy)");
    if (s.delivery)
        throw ex::usage_error("option --delivery is each member's choice (tlvcast-chat --delivery): the relay "
                              "serves unicast and multicast members at once, the multicast ones on --data-group");
    return s;
}

tlvcast::core::relay_options relay_options(const settings& s, tlvcast::duration timeout)
{
    tlvcast::core::relay_options o;
    o.client_timeout = timeout;
    o.max_clients = s.max_clients;
    o.seal_unicast = s.seal_unicast;
    return o;
}

// This relay's long-term key: loaded from its file, created there, or fresh for this run.
template <class Cipher>
Cipher make_cipher(const settings& s)
{
    if constexpr (ex::is_group<Cipher>) {
        // The hop's defaults, and where multicast members take forwarded blobs.
        namespace grp = tlvcast::profile::group;
        grp::options o;
        o.data_group = ex::data_group_endpoint(s);
        if (!s.roster_file.empty()) {
            o.relay_admission = true;
            o.policy = grp::admission::roster;
            o.roster = ex::read_roster_file(s.roster_file);
        } else if (!s.admin_key_file.empty()) {
            o.relay_admission = true;
            o.policy = grp::admission::admin;
            o.admin_key = ex::read_hex_file<32>(s.admin_key_file, "admin key");
        }
        return Cipher(ex::own_key<Cipher>(s, "tlvcast-relay"), std::move(o));
    }
    else if constexpr (ex::is_secure<Cipher>)
        return Cipher(ex::own_key<Cipher>(s, "tlvcast-relay"));
    else
        return ex::own_key<Cipher>(s, "tlvcast-relay");
}

// The line printed for event `e`.
std::string event_line(const tlvcast::core::relay_event& e, bool json)
{
    using k = tlvcast::core::relay_event::kind;
    const char* what = e.what == k::registered     ? "registered"
                       : e.what == k::connected    ? "connected"
                       : e.what == k::disconnected ? "disconnected"
                       : e.what == k::timeout      ? "timeout"
                       : e.what == k::slow_receiver ? "slow_receiver"
                                                   : "message";
    if (json) {
        auto o = ex::json_object::event(what);
        o.str("peer", e.peer.to_string());
        if (e.what == k::message || e.what == k::slow_receiver)
            o.num("bytes", e.bytes);
        if (e.what == k::slow_receiver)
            o.str("policy", e.held ? "hold" : "drop");
        if (e.identity)
            o.str("sender", ex::hex(*e.identity));
        return o.text();
    }
    // People see the address and, where the profile proves one, the short identity.
    const std::string peer = e.peer.to_string() + (e.identity ? " [" + ex::short_hex(*e.identity) + "]" : "");
    switch (e.what) {
    case k::registered: return "client registered: " + peer;
    case k::connected: return peer + " connected";
    case k::disconnected: return peer + " disconnected";
    case k::timeout: return peer + " timed out";
    case k::slow_receiver:
        return peer + " dropped from reliability (slow receiver, " + (e.held ? "hold" : "drop") + "): " +
               std::to_string(e.bytes) + " unacknowledged bytes released";
    case k::message: break;
    }
    return "message from " + peer + ", " + std::to_string(e.bytes) + " bytes, relayed";
}

// Prints the relay's events on the io thread. Message events (--verbose only) go to stdout's
// buffer, which is flushed once the relay's current batch of events is done (a handler posted
// behind it): one write per batch instead of one per message. The rare events flush at once.
class event_printer {
public:
    event_printer(asio::io_context& io, bool json, bool verbose, bool quiet)
        : io_(io), json_(json), verbose_(verbose), quiet_(quiet)
    {
    }

    void operator()(const tlvcast::core::relay_event& e)
    {
        if (e.what != tlvcast::core::relay_event::kind::message) {
            if (!quiet_)
                ex::print_line(event_line(e, json_));
            return;
        }
        if (!verbose_)
            return;
        const std::string line = event_line(e, json_);
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fputc('\n', stdout);
        if (!flush_posted_) {
            flush_posted_ = true;
            asio::post(io_, [this] {
                flush_posted_ = false;
                std::fflush(stdout);
            });
        }
    }

private:
    asio::io_context& io_;
    bool json_, verbose_, quiet_;
    bool flush_posted_ = false;
};

// The stats reporter's settings, from the command line.
ex::relay_stats_reporter::options stats_options(const settings& s)
{
    ex::relay_stats_reporter::options o;
    o.json = s.json;
    o.quiet = s.quiet;
    o.interval = s.stats_interval;
    o.metrics_file = s.metrics_file;
    o.group = s.udp.group.to_string();
    o.port = s.udp.port;
    return o;
}

// Says on stderr (and as a warning event) that another relay answers where this one will.
void warn_other_relay(const settings& s)
{
    const auto other = ex::probe_other_relay(s.udp, 250ms);
    if (!other)
        return;
    const std::string where = ex::address_port_text(s.udp.group, s.udp.port);
    const std::string what = "another relay already answers on " + where + " (from " + other->to_string() +
                             "): each client registers with whichever answers first";
    std::cerr << "tlvcast-relay: warning: " << what << "\n";
    if (s.json)
        ex::print_line(ex::json_object::event("warning").str("warning", what).str("relay", other->to_string()).text());
}

template <class Cipher>
int run(const settings& s)
{
    const tlvcast::duration keepalive = s.keepalive;
    const tlvcast::duration timeout = s.timeout.value_or(3 * keepalive);
    // Read before anything starts: a bad key file stops the relay here, with the file's name only.
    const tlvcast::federation::federation_key federation_key =
        s.federation.enabled() ? ex::load_federation_key(s.federation, s.strict_permissions, "tlvcast-relay")
                               : tlvcast::federation::federation_key{};
    // The CA file alone, not the system's store besides (before any thread: it sets the environment).
    if (!s.federation.tls_ca.empty())
        tlvcast::federation::trust_only_ca_file(s.federation.tls_ca);

    // From here on SIGUSR1 and SIGHUP report the stats (once started) instead of killing the relay.
    asio::io_context io(1);
    const relay_type<Cipher>* running = nullptr;
    const tlvcast::federation::federation_counters* federated = nullptr; // with --federate
    ex::relay_stats_reporter stats(io, stats_options(s), [&running, &federated] {
        // On the io thread, the relay's only one: the strand's peer table and Fragmenter are not
        // being changed (workers only reseal).
        const auto& engine = running->engine();
        ex::relay_reading r{engine.counters().read(), engine.client_count(),
                            ex::repair_counters(engine.fragmenter_stats())};
        if (federated) { // atomic counters: the NATS threads may be counting right now
            const auto f = federated->read();
            for (std::size_t i = 0; i < f.size(); ++i)
                r.fragmenter.emplace_back(ex::federation_stat_names[i], f[i]);
        }
        return r;
    });
    warn_other_relay(s);

    auto cipher = make_cipher<Cipher>(s);
    const std::string fingerprint = ex::hex(ex::own_fingerprint(cipher));
    // Secure deliveries leave whole in one record when they fit, else in record-sized fragments
    // (repaired with --reliability nack); the seed relay's SENDER_INFO always leaves whole (the
    // fragmenter knows it from the type table).
    auto frag = ex::make_fragmenter(cipher, s.reliability, s.slow_receiver, !s.unordered);
    relay_type<Cipher> relay(tlvcast::transport::asio_udp::bind_group(io, s.udp), std::move(cipher), std::move(frag),
                             relay_options(s, timeout),
                             tlvcast::core::relay_driver_options{s.threads, 4096});
    running = &relay;
    stats.start(); // a metrics file that cannot be written stops the relay here (exit status 1)

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code ec, int) {
        if (ec)
            return;
        // Completes once no worker runs: no event or counter changes after it.
        relay.async_stop([&](std::error_code) {
            stats.finish();
            io.stop();
        });
    });

    // Stays alive until io.run() returns; the relay calls it on the io thread only.
    event_printer printer(io, s.json, s.verbose, s.quiet);
    relay.start([&printer](const tlvcast::core::relay_event& e) { printer(e); });
    // Federation: a NATS link and the bridge between it and the running relay (docs/FEDERATION.md).
    // Declared after the relay: destroyed first, once io.run() returned.
    const tlvcast::federation::relay_id relay_id = ex::new_relay_id();
    std::string federation_subject;
#if TLVCAST_HAS_NATS
    std::optional<ex::relay_federation<relay_type<Cipher>>> federation;
    if constexpr (ex::is_group<Cipher>) {
        if (s.federation.enabled()) {
            federation.emplace(io, relay, s.federation, relay_id, federation_key, s.json, s.quiet);
            federation_subject = federation->subject();
            federated = &federation->counters();
        }
    }
#endif
    const std::string data_group =
        ex::is_group<Cipher> ? ex::address_port_text(s.data_group->address, s.data_group->port) : std::string();
    if (s.json) {
        auto o = ex::json_object::event("ready");
        o.str("relay_fingerprint", fingerprint)
            .str("profile", ex::profile_name(s.profile))
            .str("backend", ex::backend_name(s.backend))
            .str("reliability", ex::reliability_name(s.reliability))
            .str("slow_receiver", ex::slow_receiver_name(s.slow_receiver))
            .str("group", s.udp.group.to_string())
            .num("port", s.udp.port);
        if (!data_group.empty())
            o.str("data_group", data_group);
        if (!federation_subject.empty())
            o.str("federation", federation_subject).str("relay_id", tlvcast::crypto::to_hex(relay_id));
        ex::print_line(o.text());
    } else if (!s.quiet) {
        ex::print_line("relay listening on " + s.udp.group_endpoint().to_string() + " (" +
                       ex::profile_name(s.profile) + " profile, " + ex::backend_name(s.backend) +
                       ", reliability " + ex::reliability_name(s.reliability) + ", client timeout " +
                       ex::seconds_text(timeout) + ")");
        if (!data_group.empty())
            ex::print_line("multicast members' data group: " + data_group);
        if (!federation_subject.empty())
            ex::print_line("federated over NATS (" + std::to_string(s.federation.servers.size()) +
                           " server(s)) on " + federation_subject + ", relay id " + tlvcast::crypto::to_hex(relay_id));
        ex::print_line(std::string(s.profile != ex::profile::seed ? "relay identity" : "relay RSA key") +
                       " fingerprint: " + fingerprint);
    }
    io.run();
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    settings s;
    try {
        s = parse(argc, argv);
    } catch (const ex::usage_error& e) {
        std::cerr << "tlvcast-relay: " << e.what() << " (see --help)\n";
        return 2;
    }
    if (s.help) {
        std::cout << ex::relay_usage;
        return 0;
    }
    if (s.version) {
        std::cout << "tlvcast-relay " TLVCAST_VERSION_STRING "\n";
        return 0;
    }
    try {
        const int status =
            ex::with_cipher(s.profile, s.backend, [&](auto c) { return run<typename decltype(c)::type>(s); });
#if TLVCAST_HAS_NATS
        if (s.federation.enabled())
            nats_CloseAndWait(2000); // libnats's threads and globals: nothing left for a leak checker
#endif
        return status;
    } catch (const std::exception& e) {
        std::cerr << "tlvcast-relay: " << e.what() << "\n";
        if (s.json)
            ex::print_line(ex::json_object::event("error").str("error", e.what()).text());
        return 1;
    }
}
