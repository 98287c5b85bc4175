// SPDX-License-Identifier: BSL-1.0
// tlvcast-chat: a chat client (secure, group or seed profile); each line of standard input is one message to the group.
#include "common/chat_output.hpp"
#include "common/cli.hpp"
#include "common/group.hpp"
#include "common/json.hpp"
#include "common/profile.hpp"
#include "common/reliability.hpp"
#include "tlvcast-chat/options.hpp"
#include "tlvcast-chat/usage.hpp"

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
using settings = ex::chat_settings; // examples/tlvcast-chat/options.hpp

template <class Cipher, class Transport = tlvcast::transport::asio_udp>
using client_type = tlvcast::core::basic_client<Transport, Cipher, ex::fragmenter_for<Cipher>>;
/// A multicast member's transport: sends through its own socket, receives from it and from the
/// data group (group profile, --delivery multicast).
using multicast_transport = tlvcast::transport::also_receiving<tlvcast::transport::asio_udp>;


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
                ex::json_object::event("identity").str("public_key", pub).str("fingerprint", fp).text());
        else
            ex::print_line("public key: " + pub + "\nfingerprint: " + fp);
        return 0;
    }
    const auto cert = tlvcast::profile::group::make_admission_certificate<suite>(identity, *s.certify);
    const std::string hex = tlvcast::crypto::to_hex(cert);
    if (s.json)
        ex::print_line(ex::json_object::event("certificate")
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
    chat(const settings& s, Cipher cipher) : chat(s, std::move(cipher), ex::make_fragmenter(cipher, s.reliability, tlvcast::fragment::slow_receiver_policy::block, !s.unordered)) {}

private:
    chat(const settings& s, Cipher&& cipher, ex::fragmenter_for<Cipher> f)
        : s_(s), self_(ex::own_fingerprint(cipher)), out_(s.json, s.quiet, group, self_, s.group_options),
          client_(open_transport(io_, s), std::move(cipher), std::move(f), client_options(s)),
          signals_(io_, SIGINT, SIGTERM), linger_(io_), work_(io_.get_executor())
    {
    }

    // -v: every counter of the client, and of its repair layer, on stderr (not an event: stdout
    // keeps the schema's lines only).
    void print_counters() const
    {
        const auto& engine = client_.engine();
        const auto values = engine.counters().read();
        std::string line = "tlvcast-chat stats:";
        for (std::size_t i = 0; i < values.size(); ++i)
            line += " " + std::string(tlvcast::core::client_counters::name(i)) + "=" + std::to_string(values[i]);
        for (const auto& [name, value] : ex::repair_counters(engine.fragmenter().stats()))
            line += " " + std::string(name) + "=" + std::to_string(value);
        std::cerr << line << "\n";
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
        if (s_.verbose)
            print_counters();
        if (reader_.joinable()) {
            if (!input_done_) {
                // A signal ended the session while the reader blocks on stdin: leave without waiting
                // for it, once the lines printed so far are out.
                if (auto* w = ex::stdout_writer::active())
                    w->drain();
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
        out_.error(context, what);
        exit_code_ = 1;
    }

    void on_registered_event(const tlvcast::core::client_event& e)
    {
        out_.registered(local_address(), e,
                        multicast ? ex::address_port_text(s_.data_group->address, s_.data_group->port) : "");
        if (!reader_.joinable() && !s_.listen) // --listen: receive only, until a signal
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
                out_.event(e);
            } else if (e.what == k::failed) {
                fail(e.error, "relay refused");
                close();
                return;
            } else {
                out_.event(e);
                if (e.what == k::epoch)
                    on_epoch();
                else if (e.what == k::member_removed && e.identity == self_)
                    in_group_ = false; // removed: lines wait again until a commit brings it back
            }
            receive();
        });
    }

    // On its own thread: blocking reads. Lines that arrive while the io thread is busy leave together
    // (send_batch: a group member signs them once per datagram, a secure client seals them in one
    // SECURE_BATCH record); at most max_pending wait here.
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
            // Lines wait in pending_ (and the reader with them) while the outbox is full: the
            // window to the relay is the back-pressure, nothing grows without bound.
            if (outbox_.size() >= max_pending)
                return; // flush_outbox() drains again once it made room
            lines.swap(pending_);
        }
        input_room_.notify_one();
        send(lines);
    }

    void send(const std::vector<std::string>& lines)
    {
        if (closing_)
            return;
        if constexpr (!group) {
            outbox_.insert(outbox_.end(), lines.begin(), lines.end());
            flush_outbox();
            return;
        } else {
            if (!in_group_) {
                // Not in the group (yet): nothing could be sealed; the lines wait for the next epoch.
                for (const auto& line : lines) {
                    if (waiting_.size() < max_waiting)
                        waiting_.push_back(line);
                    else
                        out_.send_failed("not in the group yet (" + std::to_string(max_waiting) +
                                         " lines already wait)");
                }
                return;
            }
            outbox_.insert(outbox_.end(), lines.begin(), lines.end());
            flush_outbox();
        }
    }

    // Sends the outbox in order, one send (a line, or a batch of lines) at a time: each waits
    // for the previous one's result, and a full window (would_block) waits on the executor until
    // the relay's ACKs open it, then the same lines go again. Never sleeps, never drops a line.
    void flush_outbox()
    {
        if (sending_ || awaiting_window_ || closing_ || outbox_.empty())
            return;
        sending_ = true;
        std::size_t n = 1;
        const auto done = [this](std::size_t count) {
            return [this, count](std::error_code ec) {
                sending_ = false;
                if (ec == tlvcast::errc::would_block && !closing_) {
                    awaiting_window_ = true; // one wait at a time: new lines queue behind it
                    client_.async_wait_writable([this](std::error_code wec) {
                        awaiting_window_ = false;
                        if (wec && wec != tlvcast::errc::shut_down)
                            out_.send_failed(wec.message());
                        if (!wec)
                            flush_outbox();
                    });
                    return;
                }
                if (ec)
                    out_.send_failed(ec.message());
                outbox_.erase(outbox_.begin(),
                              outbox_.begin() + static_cast<std::ptrdiff_t>(std::min(count, outbox_.size())));
                drain_input(); // room again for the reader's lines (this also sends the next)
                flush_outbox();
                if (outbox_.empty() && !sending_ && input_done_ && awaiting_outbox_) {
                    awaiting_outbox_ = false;
                    finish_input();
                }
            };
        };
        if constexpr (batches) {
            // A batch is refused whole if one line is too long: such a line goes alone, and fails alone.
            std::vector<std::vector<std::byte>> batch;
            for (n = 0; n < outbox_.size() && n < max_batch && outbox_[n].size() <= max_message_; ++n) {
                const auto bytes = tlvcast::wire::as_bytes(outbox_[n]);
                batch.emplace_back(bytes.begin(), bytes.end());
            }
            if (n == 0)
                return send_one(done(1));
            client_.async_send_batch(std::move(batch), done(n));
        } else {
            send_one(done(1));
        }
    }

    // The outbox's first line alone. A line over one message's limit is a large message (in parts,
    // up to 16 MiB) where the profile has them: the outbox keeps it alive and unchanged until done.
    template <class Done>
    void send_one(Done done)
    {
        using engine_type = typename decltype(client_)::engine_type;
        if constexpr (engine_type::large_messages)
            if (outbox_.front().size() > max_message_)
                return client_.async_send_large(tlvcast::wire::as_bytes(outbox_.front()), std::move(done));
        client_.async_send(tlvcast::wire::as_bytes(outbox_.front()), std::move(done));
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
                    out_.send_failed("not in the group: no epoch within " +
                                ex::seconds_text(s_.register_timeout * s_.register_attempts) + " of the end of input");
                close(); // nothing waits any more
            });
            return;
        }
        if (!outbox_.empty() || sending_ || awaiting_window_) { // lines still wait for the window: finish after them
            awaiting_outbox_ = true;
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
            out_.send_failed("not in the group when the chat closed");
        // Lines that waited for the window (a send under way reports its own result).
        for (std::size_t i = sending_ ? 1 : 0; i < outbox_.size(); ++i)
            out_.send_failed("not sent: the chat closed while the send window was full");
        outbox_.resize(sending_ && !outbox_.empty() ? 1 : 0);
        linger_.cancel();
        signals_.cancel();
        client_.async_close([this](std::error_code) { work_.reset(); });
    }

    static constexpr bool group = ex::is_group<Cipher>;
    static constexpr bool multicast = std::is_same_v<Transport, multicast_transport>;
    static constexpr std::size_t max_waiting = 1024;
    static constexpr std::size_t max_pending = 1024; ///< lines read ahead of the io thread
    static constexpr std::size_t max_batch = 64;     ///< lines per send_batch
    /// The secure and group profiles pack lines into shared datagrams; the seed profile's wire has no batch.
    static constexpr bool batches = ex::is_secure<Cipher>;

    const settings& s_;
    tlvcast::crypto::fingerprint self_;
    ex::chat_output out_;
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
    std::deque<std::string> outbox_; ///< lines accepted, in order, waiting for their send or the window
    bool sending_ = false;           ///< a send of outbox_'s front is under way
    bool awaiting_window_ = false;   ///< an async_wait_writable is under way
    bool awaiting_outbox_ = false;   ///< the input ended while the outbox was not empty
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
        if (!s.quiet)
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
        s = ex::parse_chat_options(argc, argv);
    } catch (const ex::usage_error& e) {
        std::cerr << "tlvcast-chat: " << e.what() << " (see --help)\n";
        return 2;
    }
    if (s.help) {
        std::cout << ex::chat_usage;
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
        // Events are printed by a thread of their own: a slow reader of stdout must not hold the
        // client's io thread (its ACKs and keep-alives), or the relay takes it for a slow receiver.
        const ex::stdout_writer writer;
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
        if (s.json)
            ex::print_line(ex::json_object::event("error").str("error", e.what()).text());
        return 1;
    }
}
