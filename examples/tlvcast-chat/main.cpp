// SPDX-License-Identifier: BSL-1.0
// tlvcast-chat: a chat client (secure, group or seed profile); each line of standard input is one message to the group.
#include "common/cli.hpp"
#include "common/group.hpp"
#include "common/json.hpp"
#include "common/profile.hpp"
#include "common/reliability.hpp"

#include <tlvcast/transport/also_receiving.hpp>
#include <tlvcast/trust/known_relays.hpp>

#include <tlvcast/version.hpp>

#include <asio.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>

namespace {

namespace ex = tlvcast::examples;
using namespace std::chrono_literals;

template <class Cipher, class Transport = tlvcast::transport::asio_udp>
using client_type = tlvcast::core::basic_client<Transport, Cipher, ex::fragmenter_for<Cipher>>;
/// A multicast member's transport: sends through its own socket, receives from it and from the
/// data group (group profile, --delivery multicast).
using multicast_transport = tlvcast::transport::also_receiving<tlvcast::transport::asio_udp>;

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

In the group profile the hop to the relay is the secure profile's (the same relay trust options),
and the members encrypt end to end: the relay orders their commits and forwards their messages,
and cannot read them. Who is in the group comes from the members' verified commits, never from
the relay: each member admits only the identities its --admission policy accepts. Lines typed
before this member is in the group wait until it is (at most --register-timeout x
--register-attempts after the end of input; then they are reported as send_failed).

options:
  --profile P               secure (default: X25519/Ed25519 handshake, AEAD records), group (the
                            secure profile's hops, end-to-end group encryption between members) or
                            seed (RSA-OAEP)
  --backend B               )" TLVCAST_EXAMPLES_BACKEND_HELP R"(
  --identity FILE           secure, group: load this client's Ed25519 identity (PKCS#8 PEM) from FILE,
                            or create it there (mode 0600) (default: a fresh identity each run)
  --relay-fingerprint HEX   secure, group: accept only the relay whose identity has this fingerprint (64 hex digits)
  --known-relays FILE       secure, group: the known-relays file for trust on first use (default above)
  --accept-any-relay        secure, group: accept any relay identity (no protection against a rogue relay)
  --admission A             group: whom this member admits: roster (default: the fingerprints in
                            --roster), admin (identities with a certificate from --admin-key) or
                            open (anyone the relay announces: a malicious relay can add a member)
  --roster FILE             group: one identity fingerprint (64 hex digits) per line, '#' comments;
                            needed by --admission roster; with the other policies it only marks
                            members as on the roster ("verified")
  --admin-key FILE          group, --admission admin (needed): the admin's Ed25519 PUBLIC key, 64 hex
                            digits on one line ('#' comments), as the admin's --print-identity shows it
  --admission-cert FILE     group, --admission admin (needed): this member's certificate, 128 hex
                            digits ('#' comments), made by the admin with --certify
  --delivery D              group: how this member receives what the relay forwards (messages,
                            commits, welcome pages): multicast (the relay sends each blob once to
                            --data-group for all multicast members; this member listens there too,
                            with a second socket on the --iface, --ttl and loopback settings of
                            --group) or unicast (its own copy from the relay). Default: multicast
                            when this host can join the data group, else unicast (said on stderr);
                            give unicast where the network does not carry multicast. Members of one
                            group may mix both modes
  --data-group ADDR:PORT    group, multicast delivery: the data group to listen on, the relay's
                            --data-group. Multicast, of --group's family, with a port other than
                            --port (it is bound with SO_REUSEADDR, so members on one host share it);
                            IPv6 in brackets: [ff15::2]:5008. Default 224.1.1.2:5008 for an IPv4
                            --group, [ff15::2]:5008 for an IPv6 one
  --print-identity          secure, group: print the public key and fingerprint of --identity FILE
                            (created when absent) and exit: "public key: HEX" and "fingerprint: HEX"
  --certify HEX             group: with the admin's --identity FILE, print the admission certificate
                            (128 hex digits) of the member whose public key is HEX (64 hex digits) and exit
  --key FILE                seed: load the RSA private key (PEM) from FILE, or create it there (default: a fresh key)
  --strict-perms            refuse a key file that group or others may access (default: load it with a warning)
  --group ADDR              multicast group, IPv4 or IPv6 (default 224.1.1.1; e.g. ff15::1, ff02::1%v0);
                            IPv6 needs the secure or group profile
  --port N                  UDP port (default 5007)
  --iface IF                the interface that sends to the group, by name (v0) or by one of its
                            addresses (10.0.0.1, fd00::1) (default: the kernel's choice)
  --ttl N                   multicast TTL or IPv6 hop limit, 0..255 (default 1)
  --keepalive S             keep-alive period in seconds (default 5)
  --probe S                 re-announce the key this often, to find a restarted relay (default 3 x keepalive)
  --register-timeout S      wait for the relay's answer, per attempt (default 5)
  --register-attempts N     attempts before giving up (default 3)
  --linger S                listening time after the end of input (default 0.3)
  --reliability R           )" TLVCAST_EXAMPLES_RELIABILITY_HELP R"(
  --json                    one JSON object per line on stdout instead of text for people
  -h, --help                this text
  --version                 the version, then exit

Exit status: 0 at the end of input or on SIGINT or SIGTERM, 1 no relay answered (or only refused
ones) or a failure at start (a socket, a key file), 2 a usage error.

Seconds may have decimals (0.5). JSON events: registered ("local", "fingerprint": the relay's,
"self": this client's; group profile: "delivery", and "data_group" for multicast), message
("from", "sender", "text"), connected and disconnected ("peer", "sender"), relay_lost,
relay_changed ("relay"), relay_refused ("relay", "fingerprint": what it offered), relay_trusted
("relay", "fingerprint"), send_failed and error ("error"). "sender" is the verified identity
fingerprint of the client at "from"/"peer" (secure profile only; the seed profile proves no
identity). Fingerprints are 64 hex digits: SHA-256 of the Ed25519 public key (secure,
group), or of the RSA public key's DER SubjectPublicKeyInfo (seed); people's output shows their
first 32 (128 bits).
Group profile: message ("sender": the fingerprint whose signature the message carries, end to end;
"text"; no "from": the relay's address says nothing), epoch ("n", "members": a new epoch of the
group's keys and its member count), member_added ("fingerprint", "verified": true when it is on
this member's --roster), member_removed ("fingerprint"; this client's own: it is out of the group),
gap ("sender", "from", "to": that sender's messages from..to did not arrive). There are no
connected/disconnected events: presence is what the group's commits say. People's output marks
each member as on the roster, admin-certified, or UNVERIFIED (open admission, not on the roster).
With --json, --print-identity prints identity ("public_key", "fingerprint") and --certify
certificate ("public_key", "fingerprint", "certificate").
Addresses are "ip:port", or "[ipv6]:port". "local" is this client's address as the relay sees it,
as well as the client can know it: the source address the kernel picks for the group's route
through the --iface interface (found with a connected UDP socket, which sends nothing), with the
socket's port. In a loopback-only network namespace whose group route has no source address that
is 0.0.0.0, and the relay indeed sees 0.0.0.0:port. Invalid UTF-8 in a message is shown as U+FFFD in JSON.

Example over IPv6, the interface by name:
  tlvcast-chat --group ff15::1 --port 5007 --iface v0 --relay-fingerprint HEX

Group profile, roster admission (each member lists the others' fingerprints):
  tlvcast-chat --profile group --identity me.key --print-identity      # give the fingerprint to the others
  tlvcast-chat --profile group --identity me.key --roster roster.txt --relay-fingerprint HEX
Group profile, admin admission:
  tlvcast-chat --profile group --identity admin.key --print-identity   # "public key: ..." -> admin.pub
  tlvcast-chat --profile group --identity admin.key --certify MEMBER_PUBLIC_KEY > member.cert
  tlvcast-chat --profile group --identity me.key --admission admin --admin-key admin.pub \
               --admission-cert member.cert --relay-fingerprint HEX
)";

struct settings : tlvcast::examples::common_settings {
    tlvcast::duration register_timeout = 5s, linger = 300ms;
    std::optional<tlvcast::duration> probe;
    unsigned register_attempts = 3;
    std::string known_relays;
    std::optional<tlvcast::crypto::fingerprint> relay_fingerprint;
    bool accept_any_relay = false;
    ex::group_member_settings group;
    tlvcast::profile::group::options group_options; ///< read from the files by main
    std::optional<std::array<std::byte, 32>> certify;
    bool print_identity = false;
    bool delivery_chosen = false; ///< no --delivery: multicast if this host can join the data group
    std::optional<ex::reliability> reliability_given;
    ex::reliability reliability = ex::reliability::none; ///< after parse: the profile's default when not given
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
        if (ex::read_group_member_option(name, args, s.group))
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
        else if (name == "--certify")
            s.certify = ex::read_public_key(args);
        else if (name == "--print-identity") {
            args.no_value();
            s.print_identity = true;
        } else if (name == "--reliability")
            s.reliability_given = ex::read_reliability(args);
        else
            args.unknown();
    }
    s.reliability = ex::check_reliability(s.reliability_given, s.profile);
    // A chatting group member without --delivery tries multicast first (main() falls back).
    if (s.profile == ex::profile::group && !s.delivery && !s.certify && !s.print_identity) {
        s.delivery = tlvcast::profile::group::delivery::multicast;
        s.delivery_chosen = true;
    }
    const bool multicast = s.delivery == tlvcast::profile::group::delivery::multicast;
    ex::check_common(s, multicast);
    if (s.data_group_given && !multicast)
        throw ex::usage_error("option --data-group is where a multicast member listens: not with --delivery "
                              "unicast");
    if (multicast && (s.certify || s.print_identity))
        throw ex::usage_error(std::string("option --delivery is for chatting, not with ") +
                              (s.certify ? "--certify" : "--print-identity"));
    if (s.certify && s.print_identity)
        throw ex::usage_error("options --certify and --print-identity: one at a time");
    if (s.certify && s.profile != ex::profile::group)
        throw ex::usage_error("option --certify makes group admission certificates: use it with --profile group");
    if (s.print_identity && s.profile == ex::profile::seed)
        throw ex::usage_error("option --print-identity is for the secure and group profiles' identities");
    if ((s.certify || s.print_identity) && s.identity_file.empty())
        throw ex::usage_error(std::string(s.certify ? "option --certify needs the admin's --identity FILE"
                                                    : "option --print-identity needs --identity FILE"));
    if (s.profile != ex::profile::group && !s.group.first_option.empty())
        throw ex::usage_error("option " + s.group.first_option + " is for the group profile (--profile group)");
    if (s.profile == ex::profile::group && !s.certify && !s.print_identity)
        ex::check_group_member(s.group);
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
    if constexpr (ex::is_group<Cipher>) {
        auto identity = ex::own_key<Cipher>(s, "tlvcast-chat");
        ex::check_certificate<typename ex::group_traits<Cipher>::suite>(s.group_options, identity, s.group.cert_file);
        return Cipher(std::move(identity), s.group_options);
    } else if constexpr (ex::is_secure<Cipher>)
        return Cipher(ex::own_key<Cipher>(s, "tlvcast-chat"));
    else
        return ex::own_key<Cipher>(s, "tlvcast-chat");
}

// --print-identity and --certify: one line (or one JSON object) on stdout, then exit 0.
template <class Cipher>
int one_shot(const settings& s)
{
    using suite = typename ex::group_traits<Cipher>::suite;
    const auto identity = ex::own_key<Cipher>(s, "tlvcast-chat");
    if (s.print_identity) {
        const std::string pub = tlvcast::crypto::to_hex(identity.public_key);
        const std::string fp = ex::hex(tlvcast::crypto::fingerprint_of<suite>(identity.public_key));
        if (s.json)
            ex::print_line(
                ex::json_object().str("event", "identity").str("public_key", pub).str("fingerprint", fp).text());
        else
            ex::print_line("public key: " + pub + "\nfingerprint: " + fp);
        return 0;
    }
    const auto cert = tlvcast::profile::group::make_admission_certificate<suite>(identity, *s.certify);
    const std::string hex = tlvcast::crypto::to_hex(cert);
    if (s.json)
        ex::print_line(ex::json_object()
                           .str("event", "certificate")
                           .str("public_key", tlvcast::crypto::to_hex(*s.certify))
                           .str("fingerprint", ex::hex(tlvcast::crypto::fingerprint_of<suite>(*s.certify)))
                           .str("certificate", hex)
                           .text());
    else
        ex::print_line(hex);
    return 0;
}

/// The chat session: everything runs on the io_context's one thread, except the stdin reader.
/// `Transport`: asio_udp, or multicast_transport for a multicast member of the group profile.
template <class Cipher, class Transport = tlvcast::transport::asio_udp>
class chat {
public:
    // The fragmenter is built from the cipher before the cipher moves into the client (taking it
    // by rvalue reference here moves nothing while the arguments are evaluated).
    // The secure client's fragments must each fit one record: their size comes from the cipher.
    chat(const settings& s, Cipher cipher) : chat(s, std::move(cipher), ex::make_fragmenter(cipher, s.reliability)) {}

private:
    chat(const settings& s, Cipher&& cipher, ex::fragmenter_for<Cipher> f)
        : s_(s), self_(ex::own_fingerprint(cipher)),
          client_(open_transport(io_, s), std::move(cipher), std::move(f), client_options(s)),
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
    // The client's socket; a multicast member also binds the data group's port and joins it.
    static Transport open_transport(asio::io_context& io, const settings& s)
    {
        using tlvcast::transport::asio_udp;
        if constexpr (std::is_same_v<Transport, multicast_transport>)
            return Transport(asio_udp::open_client(io, s.udp), asio_udp::bind_group(io, ex::data_udp_options(s)));
        else
            return asio_udp::open_client(io, s.udp);
    }

    // The socket this client sends from (the first one of a multicast member), to read only.
    const tlvcast::transport::asio_udp& own_socket() const
    {
        if constexpr (std::is_same_v<Transport, multicast_transport>)
            return client_.transport().primary();
        else
            return client_.transport();
    }

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
            if constexpr (group) {
                o.str("delivery", multicast ? "multicast" : "unicast");
                if (multicast)
                    o.str("data_group", ex::address_port_text(s_.data_group->address, s_.data_group->port));
            }
            ex::print_line(o.text());
        } else {
            ex::print_line("* registered as " + local + " [" + ex::short_hex(self_) + "] with the relay at " + relay +
                           (e.identity ? " [" + ex::short_hex(*e.identity) + "]" : ""));
            if (multicast)
                ex::print_line("* receiving the group's messages on the data group " +
                               ex::address_port_text(s_.data_group->address, s_.data_group->port));
        }
        if (!reader_.joinable())
            reader_ = std::thread([this] { read_input(); });
    }

    // This client's address as the relay sees it (see --help): the source address the kernel picks
    // towards the group through the interface (a connected UDP socket sends nothing).
    std::string local_address()
    {
        std::error_code ec;
        tlvcast::endpoint local = own_socket().group_source(ec);
        if (ec) {
            // No route to tell: a relay on this host's loopback sees 127.0.0.1.
            local = own_socket().local_endpoint();
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
                if (e.what == k::epoch)
                    on_epoch();
                else if (e.what == k::member_removed && e.identity == self_)
                    in_group_ = false; // removed: lines wait again until a commit brings it back
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
                o.str("event", "message");
                if (!group) // the group's messages come from members, not from an address
                    o.str("from", peer);
                sender(o, e).str("text", e.text);
                break;
            case k::epoch: o.str("event", "epoch").num("n", e.epoch).num("members", e.members); break;
            case k::member_added:
                o.str("event", "member_added").str("fingerprint", fingerprint(e)).boolean("verified", e.verified);
                break;
            case k::member_removed: o.str("event", "member_removed").str("fingerprint", fingerprint(e)); break;
            case k::gap:
                o.str("event", "gap").str("sender", fingerprint(e)).num("from", e.from).num("to", e.to);
                break;
            case k::unrecoverable:
                o.str("event", "unrecoverable").str("peer", peer).num("from", e.from).num("to", e.to);
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
        if constexpr (group)
            return print_group(e);
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
        case k::epoch:
        case k::member_added:
        case k::member_removed:
        case k::gap: return; // group profile only
        case k::unrecoverable: ex::print_line(lost_text(e)); break;
        }
    }

    // The group profile for people: members by their fingerprints' first 128 bits, each marked as
    // on this member's roster, admin-certified or UNVERIFIED (the relay's address says nothing).
    void print_group(const tlvcast::core::client_event& e) const
    {
        using k = tlvcast::core::client_event::kind;
        const std::string who = e.identity ? "[" + ex::short_hex(*e.identity) + "]" : "[?]";
        const std::string relay = e.peer.to_string();
        switch (e.what) {
        case k::registered:
        case k::failed: return;
        case k::message: ex::print_line("<" + who + " " + standing(e) + "> " + e.text); break;
        case k::epoch:
            ex::print_line("* epoch " + std::to_string(e.epoch) + ": " + std::to_string(e.members) +
                           (e.members == 1 ? " member" : " members"));
            break;
        case k::member_added: ex::print_line("* " + who + " joined the group (" + standing(e) + ")"); break;
        case k::member_removed:
            ex::print_line(e.identity == self_ ? "* this client is no longer in the group"
                                               : "* " + who + " left the group");
            break;
        case k::gap:
            ex::print_line("* messages " + std::to_string(e.from) + ".." + std::to_string(e.to) + " from " + who +
                           " are missing");
            break;
        case k::unrecoverable: ex::print_line(lost_text(e)); break;
        case k::peer_connected:
        case k::peer_disconnected: return; // not in this profile: presence comes from commits
        case k::relay_lost: ex::print_line("* the relay at " + relay + " stopped answering; still trying"); break;
        case k::relay_changed: ex::print_line("* a new relay answered from " + relay + "; registered again"); break;
        case k::relay_refused: ex::print_line("* REFUSED a relay at " + relay + ": not the trusted identity"); break;
        case k::relay_trusted: ex::print_line("* trusting the relay at " + relay + " from now on (first use)"); break;
        }
    }

    // A stretch of datagrams that the repair layer gave up on (--reliability nack).
    static std::string lost_text(const tlvcast::core::client_event& e)
    {
        return "* datagrams " + std::to_string(e.from) + ".." + std::to_string(e.to) + " from " + e.peer.to_string() +
               " were lost for good (not repaired in time): messages in them are missing";
    }

    // How this member knows a group member: on its roster, by the admin's certificate (checked by
    // the library before the member was admitted), or not at all (open admission).
    std::string standing(const tlvcast::core::client_event& e) const
    {
        namespace grp = tlvcast::profile::group;
        const auto& roster = s_.group_options.roster;
        const bool listed = e.what == tlvcast::core::client_event::kind::member_added
                                ? e.verified
                                : e.identity && std::find(roster.begin(), roster.end(), *e.identity) != roster.end();
        if (listed)
            return "on the roster";
        if (s_.group_options.policy == grp::admission::admin)
            return "admin-certified";
        return "UNVERIFIED";
    }

    static std::string fingerprint(const tlvcast::core::client_event& e)
    {
        return e.identity ? ex::hex(*e.identity) : std::string();
    }

    static ex::json_object& sender(ex::json_object& o, const tlvcast::core::client_event& e)
    {
        if (e.identity)
            o.str("sender", ex::hex(*e.identity));
        return o;
    }

    // On its own thread: blocking reads. Lines that arrive while the io thread is busy leave together
    // (a group member signs them once per datagram, send_batch); at most max_pending wait here.
    void read_input()
    {
        std::string line;
        while (std::getline(std::cin, line)) {
            std::unique_lock lock(input_mutex_);
            input_room_.wait(lock, [this] { return pending_.size() < max_pending; });
            const bool first = pending_.empty();
            pending_.push_back(std::move(line));
            lock.unlock();
            if (first)
                asio::post(io_, [this] { drain_input(); });
        }
        asio::post(io_, [this] {
            input_done_ = true;
            finish_input();
        });
    }

    void drain_input()
    {
        std::vector<std::string> lines;
        {
            const std::lock_guard lock(input_mutex_);
            lines.swap(pending_);
        }
        input_room_.notify_one();
        send(lines);
    }

    void send(const std::vector<std::string>& lines)
    {
        if (closing_)
            return;
        const auto done = [this](std::error_code ec) {
            if (ec)
                send_failed(ec.message());
        };
        if constexpr (!group) {
            for (const auto& line : lines)
                client_.async_send(std::string_view(line), done);
            return;
        } else {
            if (!in_group_) {
                // Not in the group (yet): nothing could be sealed; the lines wait for the next epoch.
                for (const auto& line : lines) {
                    if (waiting_.size() < max_waiting)
                        waiting_.push_back(line);
                    else
                        send_failed("not in the group yet (" + std::to_string(max_waiting) + " lines already wait)");
                }
                return;
            }
            // A batch is refused whole if one line is too long: such a line goes alone, and fails alone.
            std::vector<std::vector<std::byte>> batch;
            const auto flush = [&] {
                if (!batch.empty())
                    client_.async_send_batch(std::move(batch), done);
                batch.clear();
            };
            for (const auto& line : lines) {
                const auto bytes = tlvcast::wire::as_bytes(line);
                if (line.size() > max_message_) {
                    flush();
                    client_.async_send(bytes, done);
                } else {
                    batch.emplace_back(bytes.begin(), bytes.end());
                }
            }
            flush();
        }
    }

    void send_failed(const std::string& why) const
    {
        if (s_.json)
            ex::print_line(ex::json_object().str("event", "send_failed").str("error", why).text());
        else
            std::cerr << "tlvcast-chat: message not sent: " << why << "\n";
    }

    // Group profile: this member is in the group at this epoch; the lines that waited leave in order.
    void on_epoch()
    {
        in_group_ = true;
        if (!waiting_.empty() && !closing_) {
            const std::vector<std::string> lines(waiting_.begin(), waiting_.end());
            waiting_.clear();
            send(lines);
        }
        if (awaiting_group_) {
            awaiting_group_ = false;
            finish_input();
        }
    }

    void finish_input()
    {
        if (closing_)
            return;
        if (group && !waiting_.empty()) {
            // The input ended before this member got into the group: wait for it, boundedly.
            awaiting_group_ = true;
            linger_.expires_after(s_.register_timeout * s_.register_attempts);
            linger_.async_wait([this](std::error_code ec) {
                if (ec == asio::error::operation_aborted || closing_)
                    return;
                for (; !waiting_.empty(); waiting_.pop_front())
                    send_failed("not in the group: no epoch within " +
                                ex::seconds_text(s_.register_timeout * s_.register_attempts) + " of the end of input");
                close(); // nothing waits any more
            });
            return;
        }
        // Keep listening a little: replies to our last lines may still be on their way.
        linger_.expires_after(s_.linger);
        linger_.async_wait([this](std::error_code) { close(); });
    }

    void close()
    {
        if (closing_)
            return;
        closing_ = true;
        for (; !waiting_.empty(); waiting_.pop_front()) // a signal came before the group did
            send_failed("not in the group when the chat closed");
        linger_.cancel();
        signals_.cancel();
        client_.async_close([this](std::error_code) { work_.reset(); });
    }

    static constexpr bool group = ex::is_group<Cipher>;
    static constexpr bool multicast = std::is_same_v<Transport, multicast_transport>;
    static constexpr std::size_t max_waiting = 1024;
    static constexpr std::size_t max_pending = 1024; ///< lines read ahead of the io thread

    const settings& s_;
    tlvcast::crypto::fingerprint self_;
    asio::io_context io_{1};
    client_type<Cipher, Transport> client_;
    asio::signal_set signals_;
    asio::steady_timer linger_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    std::thread reader_;
    bool closing_ = false;
    bool input_done_ = false;
    std::mutex input_mutex_; // pending_, shared with the reader thread
    std::condition_variable input_room_;
    std::vector<std::string> pending_;
    static constexpr std::size_t max_message_ = tlvcast::core::default_max_message; // client_options() keeps it
    bool in_group_ = false;       // group profile: an epoch event came, and no removal since
    bool awaiting_group_ = false; // the input ended while lines wait for the group
    std::deque<std::string> waiting_;
    int exit_code_ = 0;
};

// Whether this host can bind and join the data group (a route for it, an interface that carries
// multicast). Says why not on stderr: the member then receives by unicast.
bool data_group_joinable(const settings& s)
{
    try {
        asio::io_context io;
        tlvcast::transport::asio_udp::bind_group(io, ex::data_udp_options(s));
        return true;
    } catch (const std::exception& e) {
        std::cerr << "tlvcast-chat: multicast delivery unavailable (the data group "
                  << ex::address_port_text(s.data_group->address, s.data_group->port) << ": " << e.what()
                  << "): receiving by unicast\n";
        return false;
    }
}

} // namespace

int main(int argc, char** argv)
{
    settings s;
    try {
        s = parse(argc, argv);
    } catch (const ex::usage_error& e) {
        std::cerr << "tlvcast-chat: " << e.what() << " (see --help)\n";
        return 2;
    }
    if (s.help) {
        std::cout << usage;
        return 0;
    }
    if (s.version) {
        std::cout << "tlvcast-chat " TLVCAST_VERSION_STRING "\n";
        return 0;
    }
    try {
        if (s.print_identity || s.certify) // the identity file is the same in the secure and group profiles
            return ex::with_cipher(ex::profile::group, s.backend, [&](auto c) {
                using cipher_type = typename decltype(c)::type;
                if constexpr (ex::is_group<cipher_type>)
                    return one_shot<cipher_type>(s);
                else
                    return 1; // not reached: the group profile was asked for
            });
        namespace grp = tlvcast::profile::group;
        if (s.delivery_chosen && !data_group_joinable(s)) // the default: multicast where it works
            s.delivery = grp::delivery::unicast;
        const bool multicast = s.delivery == grp::delivery::multicast;
        if (s.profile == ex::profile::group) {
            s.group_options =
                ex::load_group_options(s.group, multicast ? grp::delivery::multicast : grp::delivery::unicast,
                                       multicast ? std::optional(ex::data_group_endpoint(s)) : std::nullopt);
            s.group_options.key_package_seq = ex::next_key_package_seq(s.identity_file);
        }
        return ex::with_cipher(s.profile, s.backend, [&](auto c) {
            using cipher_type = typename decltype(c)::type;
            if constexpr (ex::is_group<cipher_type>) {
                if (multicast) {
                    chat<cipher_type, multicast_transport> session(s, make_cipher<cipher_type>(s));
                    return session.run();
                }
            }
            chat<cipher_type> session(s, make_cipher<cipher_type>(s));
            return session.run();
        });
    } catch (const std::exception& e) {
        std::cerr << "tlvcast-chat: " << e.what() << "\n";
        return 1;
    }
}
