// tlvcast-relay: the seed-profile relay on UDP multicast, printing events for people or as JSON lines.
#include "common/cli.hpp"
#include "common/json.hpp"

#include <tlvcast/seed.hpp>

#include <asio.hpp>

#include <cstdio>
#include <exception>
#include <iostream>
#include <optional>
#include <string>

namespace {

namespace ex = tlvcast::examples;
using namespace std::chrono_literals;

// The seed profile's wire format on OpenSSL 3 when the build has it (its RSA private-key
// operations are several times faster than Crypto++'s), else on Crypto++: peers cannot tell.
#ifdef TLVCAST_HAS_OPENSSL
using cipher_type = tlvcast::seed::openssl_cipher;
using relay_type = tlvcast::seed::openssl_relay;
#else
using cipher_type = tlvcast::seed::cipher;
using relay_type = tlvcast::seed::relay;
#endif

constexpr const char* usage = R"(usage: tlvcast-relay [options]

The seed-profile relay: binds the group's port, joins the group, registers clients' keys and
relays each message, re-encrypted, to every other registered client.

options:
  --group ADDR       multicast group (default 224.1.1.1)
  --port N           UDP port (default 5007)
  --iface ADDR       address of the interface that joins the group (default: the kernel's choice)
  --ttl N            multicast TTL, 0..255 (default 1)
  --keepalive S      the clients' keep-alive period in seconds (default 5); sets the default timeout
  --timeout S        silence after which a client is gone (default 3 x keepalive = 15)
  --max-clients N    registrations beyond this are refused (default 4096)
  --threads N        worker threads for the public-key work (default 0: one per core)
  --key FILE         load the PEM private key from FILE, or create it there (default: a fresh key)
  --json             one JSON object per line on stdout instead of text for people
  --help             this text

Seconds may have decimals (0.5). SIGINT or SIGTERM stops the relay and prints its counters.
JSON events: ready, registered, connected, disconnected, timeout (each with "peer":"ip:port"),
message ("from", "bytes"), and stats (every relay counter by name).
)";

struct settings {
    tlvcast::transport::asio_udp_options udp;
    std::optional<tlvcast::duration> keepalive, timeout;
    std::size_t max_clients = 4096;
    unsigned threads = 0;
    std::string key_file;
    bool json = false;
    bool help = false;
};

settings parse(int argc, char** argv)
{
    settings s;
    ex::arg_reader args(argc, argv);
    std::string_view name;
    while (args.next(name)) {
        if (name == "--help") {
            args.no_value();
            s.help = true;
        } else if (name == "--json") {
            args.no_value();
            s.json = true;
        } else if (name == "--group") {
            s.udp.group = args.ipv4();
            if (!s.udp.group.is_multicast())
                throw ex::usage_error("option --group: " + s.udp.group.to_string() + " is not a multicast address");
        } else if (name == "--port") {
            s.udp.port = static_cast<std::uint16_t>(args.integer(1, 65535));
        } else if (name == "--iface") {
            s.udp.interface_address = args.ipv4();
        } else if (name == "--ttl") {
            s.udp.ttl = static_cast<int>(args.integer(0, 255));
        } else if (name == "--keepalive") {
            s.keepalive = args.seconds(0.01, 86400);
        } else if (name == "--timeout") {
            s.timeout = args.seconds(0.01, 86400);
        } else if (name == "--max-clients") {
            s.max_clients = static_cast<std::size_t>(args.integer(1, 1'000'000));
        } else if (name == "--threads") {
            s.threads = static_cast<unsigned>(args.integer(0, 256));
        } else if (name == "--key") {
            s.key_file = args.text();
        } else {
            args.unknown();
        }
    }
    return s;
}

void print_event(const tlvcast::core::relay_event& e, bool json)
{
    using k = tlvcast::core::relay_event::kind;
    const char* what = e.what == k::registered     ? "registered"
                       : e.what == k::connected    ? "connected"
                       : e.what == k::disconnected ? "disconnected"
                       : e.what == k::timeout      ? "timeout"
                                                   : "message";
    const std::string peer = e.peer.to_string();
    if (json) {
        ex::json_object o;
        o.str("event", what);
        if (e.what == k::message)
            o.str("from", peer).num("bytes", e.bytes);
        else
            o.str("peer", peer);
        ex::print_line(o.text());
        return;
    }
    switch (e.what) {
    case k::registered: ex::print_line("key registered by " + peer); break;
    case k::connected: ex::print_line(peer + " connected"); break;
    case k::disconnected: ex::print_line(peer + " disconnected"); break;
    case k::timeout: ex::print_line(peer + " timed out"); break;
    case k::message: ex::print_line("message from " + peer + ", " + std::to_string(e.bytes) + " bytes, relayed"); break;
    }
}

void print_stats(const relay_type& relay, bool json)
{
    const auto values = relay.engine().counters().read();
    using counters = tlvcast::core::relay_counters;
    if (json) {
        ex::json_object o;
        o.str("event", "stats");
        for (std::size_t i = 0; i < values.size(); ++i)
            o.num(counters::name(i), values[i]);
        ex::print_line(o.text());
        return;
    }
    std::string line = "relay stats:";
    for (std::size_t i = 0; i < values.size(); ++i)
        if (values[i] != 0)
            line += " " + std::string(counters::name(i)) + "=" + std::to_string(values[i]);
    ex::print_line(line);
}

int run(const settings& s)
{
    const tlvcast::duration keepalive = s.keepalive.value_or(5s);
    const tlvcast::duration timeout = s.timeout.value_or(3 * keepalive);

    auto cipher = s.key_file.empty() ? cipher_type::generate()
                                     : cipher_type::load_or_create(s.key_file);
    asio::io_context io(1);
    relay_type relay(tlvcast::transport::asio_udp::bind_group(io, s.udp), std::move(cipher),
                               tlvcast::seed::fragmenter{}, tlvcast::core::relay_options{timeout, s.max_clients},
                               tlvcast::core::relay_driver_options{s.threads, 4096});

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code ec, int) {
        if (ec)
            return;
        relay.stop(); // waits for the workers: no event or counter changes after this
        print_stats(relay, s.json);
        io.stop();
    });

    const bool json = s.json;
    relay.start([json](const tlvcast::core::relay_event& e) { print_event(e, json); });
    if (json)
        ex::print_line(ex::json_object().str("event", "ready").text());
    else
        ex::print_line("relay listening on " + s.udp.group.to_string() + ":" + std::to_string(s.udp.port) +
                       " (client timeout " + ex::seconds_text(timeout) + ")");
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
        std::cerr << "tlvcast-relay: " << e.what() << "\n";
        return 2;
    }
    if (s.help) {
        std::cout << usage;
        return 0;
    }
    try {
        return run(s);
    } catch (const std::exception& e) {
        std::cerr << "tlvcast-relay: " << e.what() << "\n";
        return 1;
    }
}
