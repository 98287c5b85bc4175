// SPDX-License-Identifier: BSL-1.0
// tlvcast-relay: the relay on UDP multicast (secure, group or seed profile), printing events for people or as JSON lines.
#include "common/cli.hpp"
#include "common/group.hpp"
#include "common/json.hpp"
#include "common/profile.hpp"
#include "common/reliability.hpp"

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

constexpr const char* usage = R"(usage: tlvcast-relay [options]

The relay: binds the group's port, joins the group, registers clients and relays each message,
re-encrypted, to every other registered client. In the secure profile (the default) clients
authenticate it by its Ed25519 identity: give them the fingerprint it prints at start.
In the group profile the members encrypt end to end: the relay orders the members' commits and
forwards their messages unchanged, and cannot read them. The members decide who is in the group;
given --roster or --admin-key, the relay also refuses to order a commit that adds anyone that
policy refuses (so an outsider cannot found a group while the members are away).

options:
  --profile P        secure (default: X25519/Ed25519 handshake, AEAD records), group (the secure
                     profile's hops, end-to-end group encryption between members) or seed (RSA-OAEP)
  --backend B        )" TLVCAST_EXAMPLES_BACKEND_HELP R"(
  --identity FILE    secure, group: load the Ed25519 identity (PKCS#8 PEM) from FILE, or create it there
                     with mode 0600 on first start (default: a fresh identity each run)
  --roster FILE      group: order only commits whose additions are in this roster file (one
                     fingerprint per line, as the members' --roster; default: no check)
  --admin-key FILE   group: order only commits whose additions carry a certificate by this admin
                     key (64 hex digits, as the members' --admin-key); not with --roster
  --data-group ADDR:PORT  group: where the relay sends each forwarded blob (message, commit,
                     welcome page) ONCE for all the members that joined with --delivery multicast
                     (the others get their own unicast copy; each member chooses, the relay serves
                     both). Multicast, of --group's family, with a port other than --port; IPv6 in
                     brackets: [ff15::2]:5008. Default 224.1.1.2:5008 for an IPv4 --group,
                     [ff15::2]:5008 for an IPv6 one. The members must listen on the same one (their
                     --data-group). Sent with the --iface and --ttl of --group.
  --key FILE         seed: load the RSA private key (PEM) from FILE, or create it there (default: a fresh key)
  --strict-perms     refuse a key file that group or others may access (default: load it with a warning)
  --group ADDR       multicast group, IPv4 or IPv6 (default 224.1.1.1; e.g. ff15::1, ff02::1%v0);
                     IPv6 needs the secure or group profile
  --port N           UDP port (default 5007)
  --iface IF         the interface that joins the group, by name (v0) or by one of its addresses
                     (10.0.0.1, fd00::1) (default: the kernel's choice)
  --ttl N            multicast TTL or IPv6 hop limit, 0..255 (default 1)
  --keepalive S      the clients' keep-alive period in seconds (default 5); sets the default timeout
  --timeout S        silence after which a client is gone (default 3 x keepalive = 15)
  --max-clients N    registrations beyond this are refused (default 4096)
  --threads N        worker threads for the public-key work (default 0: one per core)
  --reliability R    )" TLVCAST_EXAMPLES_RELIABILITY_HELP R"(
  --json             one JSON object per line on stdout instead of text for people
  -v, --verbose      also print an event per relayed message (off by default: a line per message
                     costs more than relaying it; written in batches when on)
  -h, --help         this text
  --version          the version, then exit

Exit status: 0 stopped by SIGINT or SIGTERM, 1 a failure at start (a socket, a key file), 2 a
usage error.

Seconds may have decimals (0.5). SIGINT or SIGTERM stops the relay and prints its counters.
At start it prints its fingerprint (64 hex digits): SHA-256 of its Ed25519 public key (secure),
or of its RSA public key's DER SubjectPublicKeyInfo (seed: for information only, seed
clients cannot pin it).
JSON events: ready ("fingerprint", "profile", "backend"; group profile: "data_group"), registered,
connected, disconnected, timeout (each with "peer":"ip:port" or "[ipv6]:port"), message ("from",
"bytes"; with --verbose only), and stats (every relay counter by name). In the secure and group profiles the client
events also carry "sender": the client's verified identity fingerprint. In the group profile a
message event is any blob the relay forwarded or ordered (a member's encrypted message, commit or
welcome page; "bytes" is its encrypted size). People's output shows fingerprints by their first 32
hex digits (128 bits).

Example over IPv6, the interface by name:
  tlvcast-relay --group ff15::1 --port 5007 --iface v0 --identity relay.pem
)";

struct settings : tlvcast::examples::common_settings {
    std::optional<tlvcast::duration> timeout;
    std::size_t max_clients = 4096;
    unsigned threads = 0;
    bool verbose = false; ///< -v: an event per relayed message
    std::optional<ex::reliability> reliability_given;
    ex::reliability reliability = ex::reliability::none; ///< after parse: the profile's default when not given
    std::string roster_file, admin_key_file; ///< group: the relay's own admission check, when given
};

settings parse(int argc, char** argv)
{
    settings s;
    ex::arg_reader args(argc, argv); // -v is --verbose
    std::string_view name;
    while (args.next(name)) {
        if (ex::read_common_option(name, args, s))
            continue;
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
        } else if (name == "--threads")
            s.threads = static_cast<unsigned>(args.integer(0, 256));
        else if (name == "--reliability")
            s.reliability_given = ex::read_reliability(args);
        else
            args.unknown();
    }
    ex::check_common(s);
    s.reliability = ex::check_reliability(s.reliability_given, s.profile);
    if (!s.roster_file.empty() && !s.admin_key_file.empty())
        throw ex::usage_error("options --roster and --admin-key: one admission policy at a time");
    if (s.delivery)
        throw ex::usage_error("option --delivery is each member's choice (tlvcast-chat --delivery): the relay "
                              "serves unicast and multicast members at once, the multicast ones on --data-group");
    return s;
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
                                                   : "message";
    if (json) {
        const std::string peer = e.peer.to_string();
        ex::json_object o;
        o.str("event", what);
        if (e.what == k::message)
            o.str("from", peer).num("bytes", e.bytes);
        else
            o.str("peer", peer);
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
    case k::message: break;
    }
    return "message from " + peer + ", " + std::to_string(e.bytes) + " bytes, relayed";
}

// Prints the relay's events on the io thread. Message events (--verbose only) go to stdout's
// buffer, which is flushed once the relay's current batch of events is done (a handler posted
// behind it): one write per batch instead of one per message. The rare events flush at once.
class event_printer {
public:
    event_printer(asio::io_context& io, bool json, bool verbose) : io_(io), json_(json), verbose_(verbose) {}

    void operator()(const tlvcast::core::relay_event& e)
    {
        if (e.what != tlvcast::core::relay_event::kind::message) {
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
    bool json_, verbose_;
    bool flush_posted_ = false;
};

template <class Relay>
void print_stats(const Relay& relay, bool json)
{
    const auto values = relay.engine().counters().read();
    using counters = tlvcast::core::relay_counters;
    const auto repair = ex::repair_counters(relay.engine().fragmenter_stats());
    if (json) {
        ex::json_object o;
        o.str("event", "stats");
        for (std::size_t i = 0; i < values.size(); ++i)
            o.num(counters::name(i), values[i]);
        for (const auto& [name, value] : repair)
            o.num(name, value);
        ex::print_line(o.text());
        return;
    }
    std::string line = "relay stats:";
    for (std::size_t i = 0; i < values.size(); ++i)
        if (values[i] != 0)
            line += " " + std::string(counters::name(i)) + "=" + std::to_string(values[i]);
    for (const auto& [name, value] : repair)
        if (value != 0)
            line += " " + std::string(name) + "=" + std::to_string(value);
    ex::print_line(line);
}

template <class Cipher>
int run(const settings& s)
{
    const tlvcast::duration keepalive = s.keepalive;
    const tlvcast::duration timeout = s.timeout.value_or(3 * keepalive);

    auto cipher = make_cipher<Cipher>(s);
    const std::string fingerprint = ex::hex(ex::own_fingerprint(cipher));
    // Secure deliveries leave whole in one record when they fit, else in record-sized fragments
    // (repaired with --reliability nack); the seed relay's SENDER_INFO always leaves whole (the
    // fragmenter knows it from the type table).
    auto frag = ex::make_fragmenter(cipher, s.reliability);
    asio::io_context io(1);
    relay_type<Cipher> relay(tlvcast::transport::asio_udp::bind_group(io, s.udp), std::move(cipher), std::move(frag),
                             tlvcast::core::relay_options{timeout, s.max_clients},
                             tlvcast::core::relay_driver_options{s.threads, 4096});

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code ec, int) {
        if (ec)
            return;
        // Completes once no worker runs: no event or counter changes after it.
        relay.async_stop([&](std::error_code) {
            print_stats(relay, s.json);
            io.stop();
        });
    });

    // Stays alive until io.run() returns; the relay calls it on the io thread only.
    event_printer printer(io, s.json, s.verbose);
    relay.start([&printer](const tlvcast::core::relay_event& e) { printer(e); });
    const bool json = s.json;
    const std::string data_group =
        ex::is_group<Cipher> ? ex::address_port_text(s.data_group->address, s.data_group->port) : std::string();
    if (json) {
        ex::json_object o;
        o.str("event", "ready")
            .str("fingerprint", fingerprint)
            .str("profile", ex::profile_name(s.profile))
            .str("backend", ex::backend_name(s.backend))
            .str("reliability", ex::reliability_name(s.reliability));
        if (!data_group.empty())
            o.str("data_group", data_group);
        ex::print_line(o.text());
    } else {
        ex::print_line("relay listening on " + s.udp.group_endpoint().to_string() + " (" +
                       ex::profile_name(s.profile) + " profile, " + ex::backend_name(s.backend) +
                       ", reliability " + ex::reliability_name(s.reliability) + ", client timeout " +
                       ex::seconds_text(timeout) + ")");
        if (!data_group.empty())
            ex::print_line("multicast members' data group: " + data_group);
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
        std::cout << usage;
        return 0;
    }
    if (s.version) {
        std::cout << "tlvcast-relay " TLVCAST_VERSION_STRING "\n";
        return 0;
    }
    try {
        return ex::with_cipher(s.profile, s.backend, [&](auto c) { return run<typename decltype(c)::type>(s); });
    } catch (const std::exception& e) {
        std::cerr << "tlvcast-relay: " << e.what() << "\n";
        return 1;
    }
}
