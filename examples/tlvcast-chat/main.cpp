// SPDX-License-Identifier: BSL-1.0
// tlvcast-chat: a chat client (secure or seed profile); each line of standard input is one message to the group.
#include "common/cli.hpp"
#include "common/json.hpp"
#include "common/profile.hpp"

#include <tlvcast/trust/known_relays.hpp>

#include <asio.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace {

namespace ex = tlvcast::examples;
using namespace std::chrono_literals;

using fragmenter = tlvcast::fragment::seed_fragmenter;
template <class Cipher>
using client_type = tlvcast::core::basic_client<tlvcast::transport::asio_udp, Cipher, fragmenter>;

constexpr const char* usage = R"(usage: tlvcast-chat [options] < lines

A chat client: registers with the relay through the multicast group, sends each line of standard
input as one message (an empty line is an empty message), and prints what the others say. At the
end of input it keeps listening for --linger seconds, sends DISCONNECT and exits 0. SIGINT or
SIGTERM leave the same way at once. It exits 1 when no relay answers, or when only refused relays
answer: identity other than --relay-fingerprint, or than the one the known-relays file recorded.

In the secure profile (the default) the relay proves its Ed25519 identity, and senders' identities
are shown as attested by the relay. By default the relay is trusted on first use: its fingerprint
is recorded in the known-relays file ($TLVCAST_KNOWN_RELAYS, else ~/.config/tlvcast/known_relays),
and a relay with another identity at the same address is refused and shown, and gets nothing. A
session never accepts another relay identity on a re-handshake. Pin with --relay-fingerprint (the
fingerprint tlvcast-relay prints); --accept-any-relay turns the check off (no protection).

options:
  --profile P               secure (default: X25519/Ed25519 handshake, AEAD records) or seed (RSA-OAEP)
  --backend B               )" TLVCAST_EXAMPLES_BACKEND_HELP R"(
  --identity FILE           secure: load this client's Ed25519 identity from FILE, or create it there
                            (mode 0600) (default: a fresh identity each run)
  --relay-fingerprint HEX   secure: accept only the relay whose identity has this fingerprint (64 hex digits)
  --known-relays FILE       secure: the known-relays file for trust on first use (default above)
  --accept-any-relay        secure: accept any relay identity (no protection against a rogue relay)
  --key FILE                seed: load the RSA private key (PEM) from FILE, or create it there (default: a fresh key)
  --strict-perms            refuse a key file that group or others may access (default: load it with a warning)
  --group ADDR              multicast group, IPv4 or IPv6 (default 224.1.1.1; e.g. ff15::1, ff02::1%v0);
                            IPv6 needs the secure profile
  --port N                  UDP port (default 5007)
  --iface IF                the interface that sends to the group, by name (v0) or by one of its
                            addresses (10.0.0.1, fd00::1) (default: the kernel's choice)
  --ttl N                   multicast TTL or IPv6 hop limit, 0..255 (default 1)
  --keepalive S             keep-alive period in seconds (default 5)
  --probe S                 re-announce the key this often, to find a restarted relay (default 3 x keepalive)
  --register-timeout S      wait for the relay's answer, per attempt (default 5)
  --register-attempts N     attempts before giving up (default 3)
  --linger S                listening time after the end of input (default 0.3)
  --json                    one JSON object per line on stdout instead of text for people
  --help                    this text

Seconds may have decimals (0.5). JSON events: registered ("local", "fingerprint": the relay's,
"self": this client's), message ("from", "sender", "text"), connected and disconnected ("peer",
"sender"), relay_lost, relay_changed ("relay"), relay_refused ("relay", "fingerprint": what it
offered), relay_trusted ("relay", "fingerprint"), send_failed and error ("error"). "sender" is the
verified identity fingerprint of the client at "from"/"peer" (secure profile only; the seed profile
proves no identity). Fingerprints are 64 hex digits: SHA-256 of the Ed25519 public key (secure), or
of the RSA public key's DER SubjectPublicKeyInfo (seed); people's output shows their first 32 (128 bits).
Addresses are "ip:port", or "[ipv6]:port". "local" is this client's address as the relay sees it,
as well as the client can know it: the source address the kernel picks for the group's route
through the --iface interface (found with a connected UDP socket, which sends nothing), with the
socket's port. In a loopback-only network namespace whose group route has no source address that
is 0.0.0.0, and the relay indeed sees 0.0.0.0:port. Invalid UTF-8 in a message is shown as U+FFFD in JSON.

Example over IPv6, the interface by name:
  tlvcast-chat --group ff15::1 --port 5007 --iface v0 --relay-fingerprint HEX
)";

struct settings : tlvcast::examples::common_settings {
    tlvcast::duration register_timeout = 5s, linger = 300ms;
    std::optional<tlvcast::duration> probe;
    unsigned register_attempts = 3;
    std::string known_relays;
    std::optional<tlvcast::crypto::fingerprint> relay_fingerprint;
    bool accept_any_relay = false;
};

// The default known-relays file: $TLVCAST_KNOWN_RELAYS, else ~/.config/tlvcast/known_relays.
std::string default_known_relays()
{
    if (const char* p = std::getenv("TLVCAST_KNOWN_RELAYS"); p && *p)
        return p;
    const char* home = std::getenv("HOME");
    if (!home || !*home)
        return {};
    const std::filesystem::path dir = std::filesystem::path(home) / ".config" / "tlvcast";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    return (dir / "known_relays").string();
}

settings parse(int argc, char** argv)
{
    settings s;
    // A 48,450-byte message is ~260 datagrams handed to the kernel at once: the default send
    // buffer (about 200 KiB) would refuse its tail. Capped by net.core.wmem_max.
    s.udp.send_buffer_size = 4 << 20;
    ex::arg_reader args(argc, argv);
    std::string_view name;
    while (args.next(name)) {
        if (ex::read_common_option(name, args, s))
            continue;
        if (name == "--probe")
            s.probe = args.seconds(0.01, 86400);
        else if (name == "--register-timeout")
            s.register_timeout = args.seconds(0.01, 3600);
        else if (name == "--register-attempts")
            s.register_attempts = static_cast<unsigned>(args.integer(1, 1000));
        else if (name == "--linger")
            s.linger = args.seconds(0, 3600);
        else if (name == "--relay-fingerprint")
            s.relay_fingerprint = ex::read_fingerprint(args);
        else if (name == "--known-relays")
            s.known_relays = args.text();
        else if (name == "--accept-any-relay")
            s.accept_any_relay = true;
        else
            args.unknown();
    }
    ex::check_common(s);
    if (s.profile == ex::profile::seed && (s.relay_fingerprint || !s.known_relays.empty() || s.accept_any_relay))
        throw ex::usage_error("options --identity, --relay-fingerprint, --known-relays and --accept-any-relay are "
                              "for the secure profile");
    if (s.profile != ex::profile::seed && !s.relay_fingerprint && !s.accept_any_relay && s.known_relays.empty())
        s.known_relays = default_known_relays();
    return s;
}

// This client's key: loaded from its file (see ex::own_key), created there, or fresh for this run.
template <class Cipher>
Cipher make_cipher(const settings& s)
{
    if constexpr (ex::is_secure<Cipher>)
        return Cipher(ex::own_key<Cipher>(s, "tlvcast-chat"));
    else
        return ex::own_key<Cipher>(s, "tlvcast-chat");
}

// The secure client's fragments must each fit one record: their size comes from the cipher.
template <class Cipher>
fragmenter make_fragmenter(const Cipher& c)
{
    if constexpr (ex::is_secure<Cipher>)
        return fragmenter(tlvcast::fragment::limits{}, c.fragment_payload(), c.max_whole());
    else
        return fragmenter{};
}

/// The chat session: everything runs on the io_context's one thread, except the stdin reader.
template <class Cipher>
class chat {
public:
    // The fragmenter is built from the cipher before the cipher moves into the client (taking it
    // by rvalue reference here moves nothing while the arguments are evaluated).
    chat(const settings& s, Cipher cipher) : chat(s, std::move(cipher), make_fragmenter(cipher)) {}

private:
    chat(const settings& s, Cipher&& cipher, fragmenter f)
        : s_(s), self_(ex::own_fingerprint(cipher)),
          client_(tlvcast::transport::asio_udp::open_client(io_, s.udp), std::move(cipher), std::move(f),
                  client_options(s)),
          signals_(io_, SIGINT, SIGTERM), linger_(io_), work_(io_.get_executor())
    {
    }

public:
    /// Registers, then chats until the end of input or a signal. Returns the exit status.
    int run()
    {
        signals_.async_wait([this](std::error_code ec, int) {
            if (!ec)
                close();
        });
        client_.async_register([this](std::error_code ec) { on_registered(ec); });
        io_.run();
        if (reader_.joinable()) {
            if (!input_done_) {
                // A signal ended the session while the reader blocks on stdin: leave without waiting.
                std::fflush(stdout);
                std::_Exit(exit_code_);
            }
            reader_.join();
        }
        return exit_code_;
    }

private:
    static tlvcast::core::client_options client_options(const settings& s)
    {
        tlvcast::core::client_options o;
        o.relay = s.udp.group_endpoint();
        o.register_timeout = s.register_timeout;
        o.register_attempts = s.register_attempts;
        o.keepalive = s.keepalive;
        o.probe_interval = s.probe.value_or(3 * s.keepalive);
        o.relay_timeout = 9 * s.keepalive; // the library's default ratio (45 s for 5 s)
        if (s.relay_fingerprint) {
            o.trust = tlvcast::crypto::relay_trust::pin(*s.relay_fingerprint);
        } else if (s.accept_any_relay) {
            o.trust = tlvcast::crypto::relay_trust::any();
        } else if (!s.known_relays.empty()) {
            std::error_code ec;
            tlvcast::trust::load_known_relays(s.known_relays, o.trust, ec);
            if (ec)
                throw std::runtime_error("cannot read the known-relays file " + s.known_relays + ": " + ec.message());
        }
        return o;
    }

    void on_registered(std::error_code ec)
    {
        if (ec) {
            if (ec != tlvcast::errc::shut_down)
                fail(ec, "cannot register");
            close();
            return;
        }
        // The engine's registered event (first in line) carries the relay's fingerprint: it is
        // reported, and the input read, when receive() hands it out.
        receive();
    }

    // Trust on first use: the store keeps the relay's identity for the address this client sends to.
    void remember(const tlvcast::core::client_event& e)
    {
        if (s_.known_relays.empty() || !e.identity)
            return;
        std::error_code ec;
        tlvcast::trust::remember_relay(s_.known_relays, s_.udp.group_endpoint(), *e.identity, ec);
        if (ec)
            fail(ec, "cannot record the relay in " + s_.known_relays);
    }

    // Registration failed (no relay, or only refused ones): an error event, exit status 1.
    void fail(std::error_code ec, std::string_view context)
    {
        const std::string what =
            ec == tlvcast::errc::no_relay ? "no relay answered on " + s_.udp.group_endpoint().to_string() : ec.message();
        if (s_.json)
            ex::print_line(ex::json_object().str("event", "error").str("error", what).text());
        else
            std::cerr << "tlvcast-chat: " << context << ": " << what << "\n";
        exit_code_ = 1;
    }

    void on_registered_event(const tlvcast::core::client_event& e)
    {
        const std::string local = local_address();
        const std::string relay = e.peer.to_string();
        if (s_.json) {
            ex::json_object o;
            o.str("event", "registered").str("local", local);
            if (e.identity)
                o.str("fingerprint", ex::hex(*e.identity));
            o.str("self", ex::hex(self_));
            ex::print_line(o.text());
        } else {
            ex::print_line("* registered as " + local + " [" + ex::short_hex(self_) + "] with the relay at " + relay +
                           (e.identity ? " [" + ex::short_hex(*e.identity) + "]" : ""));
        }
        if (!reader_.joinable())
            reader_ = std::thread([this] { read_input(); });
    }

    // This client's address as the relay sees it (see --help): the source address the kernel picks
    // towards the group through the interface (a connected UDP socket sends nothing).
    std::string local_address()
    {
        std::error_code ec;
        tlvcast::endpoint local = client_.transport().group_source(ec);
        if (ec) {
            // No route to tell: a relay on this host's loopback sees 127.0.0.1.
            local = client_.transport().local_endpoint();
            const auto relay = client_.engine().relay_address();
            if (relay && relay->is_v4() && (relay->v4() >> 24) == 127)
                local = {0x7f000001u, local.port};
        }
        // May be 0.0.0.0: Linux picks no source for a multicast route on a loopback-only host
        // (127.0.0.1 has host scope), and the relay then sees 0.0.0.0 too.
        return local.to_string();
    }

    void receive()
    {
        client_.async_receive([this](std::error_code ec, tlvcast::core::client_event e) {
            if (ec)
                return; // shut_down: the session is over
            using k = tlvcast::core::client_event::kind;
            if (e.what == k::registered) {
                on_registered_event(e);
            } else if (e.what == k::relay_trusted) {
                remember(e);
                print(e);
            } else if (e.what == k::failed) {
                fail(e.error, "relay refused");
                close();
                return;
            } else {
                print(e);
            }
            receive();
        });
    }

    void print(const tlvcast::core::client_event& e) const
    {
        using k = tlvcast::core::client_event::kind;
        if (s_.json) {
            const std::string peer = e.peer.to_string();
            ex::json_object o;
            switch (e.what) {
            case k::registered: return; // reported by on_registered_event
            case k::failed: return;     // reported by fail()
            case k::message:
                o.str("event", "message").str("from", peer);
                sender(o, e).str("text", e.text);
                break;
            case k::peer_connected: sender(o.str("event", "connected").str("peer", peer), e); break;
            case k::peer_disconnected: sender(o.str("event", "disconnected").str("peer", peer), e); break;
            case k::relay_lost: o.str("event", "relay_lost").str("relay", peer); break;
            case k::relay_changed: o.str("event", "relay_changed").str("relay", peer); break;
            case k::relay_refused:
                o.str("event", "relay_refused").str("relay", peer).str("fingerprint", ex::hex(*e.identity));
                break;
            case k::relay_trusted:
                o.str("event", "relay_trusted").str("relay", peer).str("fingerprint", ex::hex(*e.identity));
                break;
            }
            ex::print_line(o.text());
            return;
        }
        // People see the address and, where the profile proves it, the sender's short identity.
        const std::string peer = e.peer.to_string() + (e.identity ? " [" + ex::short_hex(*e.identity) + "]" : "");
        switch (e.what) {
        case k::registered: return;
        case k::message: ex::print_line("<" + peer + "> " + e.text); break;
        case k::peer_connected: ex::print_line("* " + peer + " joined"); break;
        case k::peer_disconnected: ex::print_line("* " + peer + " left"); break;
        case k::relay_lost: ex::print_line("* the relay at " + peer + " stopped answering; still trying"); break;
        case k::relay_changed: ex::print_line("* a new relay answered from " + peer + "; registered again"); break;
        case k::relay_refused: ex::print_line("* REFUSED a relay at " + peer + ": not the trusted identity"); break;
        case k::relay_trusted: ex::print_line("* trusting the relay at " + peer + " from now on (first use)"); break;
        case k::failed: return;
        }
    }

    static ex::json_object& sender(ex::json_object& o, const tlvcast::core::client_event& e)
    {
        if (e.identity)
            o.str("sender", ex::hex(*e.identity));
        return o;
    }

    // On its own thread: blocking reads; each line is handed to the io_context in order.
    void read_input()
    {
        std::string line;
        while (std::getline(std::cin, line))
            asio::post(io_, [this, l = std::move(line)] { send(l); });
        asio::post(io_, [this] {
            input_done_ = true;
            finish_input();
        });
    }

    void send(const std::string& line)
    {
        if (closing_)
            return;
        client_.async_send(std::string_view(line), [this](std::error_code ec) {
            if (!ec)
                return;
            if (s_.json)
                ex::print_line(ex::json_object().str("event", "send_failed").str("error", ec.message()).text());
            else
                std::cerr << "tlvcast-chat: message not sent: " << ec.message() << "\n";
        });
    }

    void finish_input()
    {
        if (closing_)
            return;
        // Keep listening a little: replies to our last lines may still be on their way.
        linger_.expires_after(s_.linger);
        linger_.async_wait([this](std::error_code) { close(); });
    }

    void close()
    {
        if (closing_)
            return;
        closing_ = true;
        linger_.cancel();
        signals_.cancel();
        client_.async_close([this](std::error_code) { work_.reset(); });
    }

    const settings& s_;
    tlvcast::crypto::fingerprint self_;
    asio::io_context io_{1};
    client_type<Cipher> client_;
    asio::signal_set signals_;
    asio::steady_timer linger_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    std::thread reader_;
    bool closing_ = false;
    bool input_done_ = false;
    int exit_code_ = 0;
};

} // namespace

int main(int argc, char** argv)
{
    settings s;
    try {
        s = parse(argc, argv);
    } catch (const ex::usage_error& e) {
        std::cerr << "tlvcast-chat: " << e.what() << "\n";
        return 2;
    }
    if (s.help) {
        std::cout << usage;
        return 0;
    }
    try {
        return ex::with_cipher(s.profile, s.backend, [&](auto c) {
            using cipher_type = typename decltype(c)::type;
            chat<cipher_type> session(s, make_cipher<cipher_type>(s));
            return session.run();
        });
    } catch (const std::exception& e) {
        std::cerr << "tlvcast-chat: " << e.what() << "\n";
        return 1;
    }
}
