// tlvcast-chat: a seed-profile chat client; each line of standard input is one message to the group.
#include "common/cli.hpp"
#include "common/json.hpp"

#include <tlvcast/seed.hpp>

#include <asio.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace {

namespace ex = tlvcast::examples;
using namespace std::chrono_literals;

// The seed profile's wire format on OpenSSL 3 when the build has it (its RSA private-key
// operations are several times faster than Crypto++'s), else on Crypto++: peers cannot tell.
#ifdef TLVCAST_HAS_OPENSSL
using cipher_type = tlvcast::seed::openssl_cipher;
using client_type = tlvcast::seed::openssl_client;
#else
using cipher_type = tlvcast::seed::cipher;
using client_type = tlvcast::seed::client;
#endif

constexpr const char* usage = R"(usage: tlvcast-chat [options] < lines

A seed-profile chat client: registers with the relay through the multicast group, sends each line
of standard input as one message (an empty line is an empty message), and prints what the others
say. At the end of input it keeps listening for --linger seconds, sends DISCONNECT and exits 0.
SIGINT or SIGTERM leave the same way at once. It exits 1 when no relay answers.

options:
  --group ADDR              multicast group (default 224.1.1.1)
  --port N                  UDP port (default 5007)
  --iface ADDR              address of the interface that sends to the group (default: the kernel's choice)
  --ttl N                   multicast TTL, 0..255 (default 1)
  --keepalive S             keep-alive period in seconds (default 5)
  --probe S                 re-announce the key this often, to find a restarted relay (default 3 x keepalive)
  --register-timeout S      wait for the relay's answer, per attempt (default 5)
  --register-attempts N     attempts before giving up (default 3)
  --linger S                listening time after the end of input (default 0.3)
  --key FILE                load the PEM private key from FILE, or create it there (default: a fresh key)
  --json                    one JSON object per line on stdout instead of text for people
  --help                    this text

Seconds may have decimals (0.5). JSON events: registered ("local"), message ("from", "text"),
connected and disconnected ("peer"), relay_lost and relay_changed ("relay"), send_failed and
error ("error"). Addresses are "ip:port". "local" is this client's address as the relay sees it,
as well as the client can know it: the --iface address when given, otherwise the source address
the kernel picks for the group's route (found with a connected UDP socket, which sends nothing),
with the socket's port. In a loopback-only network namespace whose group route has no source
address that is 0.0.0.0, and the relay indeed sees 0.0.0.0:port. Invalid UTF-8 in a message is shown as U+FFFD in JSON.
)";

struct settings {
    tlvcast::transport::asio_udp_options udp;
    tlvcast::duration keepalive = 5s, register_timeout = 5s, linger = 300ms;
    std::optional<tlvcast::duration> probe;
    unsigned register_attempts = 3;
    std::string key_file;
    bool json = false;
    bool help = false;
};

settings parse(int argc, char** argv)
{
    settings s;
    // A 48,450-byte message is ~260 datagrams handed to the kernel at once: the default send
    // buffer (about 200 KiB) would refuse its tail. Capped by net.core.wmem_max.
    s.udp.send_buffer_size = 4 << 20;
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
        } else if (name == "--probe") {
            s.probe = args.seconds(0.01, 86400);
        } else if (name == "--register-timeout") {
            s.register_timeout = args.seconds(0.01, 3600);
        } else if (name == "--register-attempts") {
            s.register_attempts = static_cast<unsigned>(args.integer(1, 1000));
        } else if (name == "--linger") {
            s.linger = args.seconds(0, 3600);
        } else if (name == "--key") {
            s.key_file = args.text();
        } else {
            args.unknown();
        }
    }
    return s;
}

/// The chat session: everything runs on the io_context's one thread, except the stdin reader.
class chat {
public:
    chat(const settings& s, cipher_type cipher)
        : s_(s), client_(tlvcast::transport::asio_udp::open_client(io_, s.udp), std::move(cipher),
                         tlvcast::seed::fragmenter{}, client_options(s)),
          signals_(io_, SIGINT, SIGTERM), linger_(io_), work_(io_.get_executor())
    {
    }

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
        return o;
    }

    void on_registered(std::error_code ec)
    {
        if (ec) {
            if (ec != tlvcast::errc::shut_down) {
                const std::string what = ec == tlvcast::errc::no_relay ? "no relay answered on " +
                                                                             s_.udp.group.to_string() + ":" +
                                                                             std::to_string(s_.udp.port)
                                                                       : ec.message();
                if (s_.json)
                    ex::print_line(ex::json_object().str("event", "error").str("error", what).text());
                else
                    std::cerr << "tlvcast-chat: cannot register: " << what << "\n";
                exit_code_ = 1;
            }
            close();
            return;
        }
        const std::string local = local_address();
        const std::string relay = client_.engine().relay_address().value_or(tlvcast::endpoint{}).to_string();
        if (s_.json)
            ex::print_line(ex::json_object().str("event", "registered").str("local", local).text());
        else
            ex::print_line("* registered as " + local + " with the relay at " + relay);
        receive();
        reader_ = std::thread([this] { read_input(); });
    }

    // This client's address as the relay sees it (see --help): the --iface address, else the source
    // address the kernel would pick towards the group (a connected UDP socket sends nothing).
    std::string local_address()
    {
        const std::uint16_t port = client_.transport().local_endpoint().port;
        asio::ip::address_v4 ip = s_.udp.interface_address;
        bool known = !ip.is_unspecified();
        if (!known) {
            std::error_code ec;
            asio::ip::udp::socket probe(io_);
            probe.open(asio::ip::udp::v4(), ec);
            if (!ec)
                probe.connect({s_.udp.group, s_.udp.port}, ec);
            if (!ec) {
                const auto ep = probe.local_endpoint(ec);
                if (!ec && ep.address().is_v4()) {
                    // May be 0.0.0.0: Linux picks no source for a multicast route on a loopback-only
                    // host (127.0.0.1 has host scope), and the relay then sees 0.0.0.0 too.
                    ip = ep.address().to_v4();
                    known = true;
                }
            }
        }
        if (!known) {
            const auto relay = client_.engine().relay_address();
            if (relay && (relay->address >> 24) == 127)
                ip = asio::ip::address_v4::loopback();
        }
        return tlvcast::endpoint{ip.to_uint(), port}.to_string();
    }

    void receive()
    {
        client_.async_receive([this](std::error_code ec, tlvcast::core::client_event e) {
            if (ec)
                return; // shut_down: the session is over
            print(e);
            receive();
        });
    }

    void print(const tlvcast::core::client_event& e) const
    {
        using k = tlvcast::core::client_event::kind;
        const std::string peer = e.peer.to_string();
        if (s_.json) {
            ex::json_object o;
            switch (e.what) {
            case k::registered: return; // reported once, by on_registered
            case k::message: o.str("event", "message").str("from", peer).str("text", e.text); break;
            case k::peer_connected: o.str("event", "connected").str("peer", peer); break;
            case k::peer_disconnected: o.str("event", "disconnected").str("peer", peer); break;
            case k::relay_lost: o.str("event", "relay_lost").str("relay", peer); break;
            case k::relay_changed: o.str("event", "relay_changed").str("relay", peer); break;
            case k::failed: o.str("event", "error").str("error", e.error.message()); break;
            }
            ex::print_line(o.text());
            return;
        }
        switch (e.what) {
        case k::registered: return;
        case k::message: ex::print_line("<" + peer + "> " + e.text); break;
        case k::peer_connected: ex::print_line("* " + peer + " joined"); break;
        case k::peer_disconnected: ex::print_line("* " + peer + " left"); break;
        case k::relay_lost: ex::print_line("* the relay at " + peer + " stopped answering; still trying"); break;
        case k::relay_changed: ex::print_line("* a new relay answered from " + peer + "; registered again"); break;
        case k::failed: ex::print_line("* error: " + e.error.message()); break;
        }
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
    asio::io_context io_{1};
    client_type client_;
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
        auto cipher = s.key_file.empty() ? cipher_type::generate()
                                         : cipher_type::load_or_create(s.key_file);
        chat session(s, std::move(cipher));
        return session.run();
    } catch (const std::exception& e) {
        std::cerr << "tlvcast-chat: " << e.what() << "\n";
        return 1;
    }
}
