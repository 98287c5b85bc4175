// SPDX-License-Identifier: BSL-1.0
// loadgen: the data-path benchmark's load generator, shared by the plain forwarder and tlvcast-relay.
//
// One sender and N receivers, each its own UDP socket, all on this one thread (pin it to its own
// core). The sender keeps at most `window` messages in flight (sent, not yet seen by every
// receiver: a closed loop) and sends what the window allows in one sendmmsg; receivers take what
// waits with recvmmsg until EAGAIN. Every message is checked at every receiver: its sequence
// number (in order, none missing) and all its bytes. --server secure: the sender and receivers are
// real tlvcast secure-profile clients (client_engine: handshake, records, AES-GCM) and a message is
// checked once the receiver's engine opened it; --server group: group-profile members (open
// admission, unicast delivery): the sender packs what the window allows with send_batch, and each
// receiver's engine opens and verifies (Ed25519) every batch; --server plain: bare datagrams for
// bench/datapath/forwarder.
// Prints one line: messages/s over the timed part, the server's CPU µs per message (read from
// /proc/PID/stat) and which side was saturated. Every loop is bounded by --seconds.
#include <tlvcast/core/client_engine.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>
#include <tlvcast/profile/group.hpp>
#include <tlvcast/profile/secure.hpp>
#include <tlvcast/transport/asio_udp.hpp>

#include "cpu.hpp"

#include <asio.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <poll.h>

namespace {

namespace core = tlvcast::core;
namespace transport = tlvcast::transport;
using tlvcast::datagram_batch;
using tlvcast::endpoint;
using steady = std::chrono::steady_clock;
using fragmenter = tlvcast::fragment::seed_fragmenter;
#ifdef TLVCAST_HAS_OPENSSL
using secure_cipher = tlvcast::profile::secure::openssl_cipher; // the relay's default backend
using group_cipher = tlvcast::profile::group::openssl_cipher;
#else
using secure_cipher = tlvcast::profile::secure::cryptopp_cipher;
using group_cipher = tlvcast::profile::group::cryptopp_cipher;
#endif
using tlvcast::bench::machine_cpu;
using tlvcast::bench::own_cpu;
using tlvcast::bench::server_cpu;

constexpr std::size_t receive_batch = transport::detail::max_receive_batch;
constexpr std::size_t max_drain_rounds = 64; // recvmmsg calls per socket per pass, at most

struct settings {
    bool secure = true; // secure or group: real clients
    bool group = false;
    bool batch = true; // group: the sender's window leaves in batches (--no-batch: one message per blob)
    std::size_t receivers = 1, size = 256, window = 128, warm_up = 20'000, messages = 200'000;
    std::uint16_t port = 5007;
    int server_pid = 0;
    double seconds = 60; // bound on the whole run
    bool spin = false;   // poll without sleeping while messages are in flight
};

// Message `seq`: the sequence number, then bytes that depend on it (a receiver checks them all).
void fill(std::vector<std::byte>& p, std::uint64_t seq)
{
    std::memcpy(p.data(), &seq, sizeof seq);
    for (std::size_t i = sizeof seq; i < p.size(); ++i)
        p[i] = static_cast<std::byte>(seq * 131 + i);
}

template <class Engine>
struct peer {
    transport::asio_udp socket;
    std::unique_ptr<Engine> eng; // secure and group only
    datagram_batch out;
    std::uint64_t got = 0; // messages checked, in order
    std::size_t connected = 0;
};

template <class Cipher>
class loadgen {
    using engine = core::client_engine<Cipher, fragmenter>;
    using peer = ::peer<engine>;
    static constexpr bool group = std::is_same_v<Cipher, group_cipher>;

public:
    loadgen(const settings& s, asio::io_context& io) : s_(s), payload_(s.size), expect_(s.size)
    {
        transport::asio_udp_options o;
        o.port = s.port;
        o.send_buffer_size = 4 << 20;
        dest_ = o.group_endpoint();
        core::client_options copt;
        copt.relay = dest_;
        copt.keepalive = std::chrono::hours(1); // nothing but the benchmark's messages once running
        copt.probe_interval = std::chrono::hours(1);
        copt.relay_timeout = std::chrono::hours(2);
        copt.trust = tlvcast::crypto::relay_trust::any(); // a fresh relay identity each run, in a private namespace
        for (std::size_t i = 0; i <= s.receivers; ++i) {
            peers_.push_back(std::make_unique<peer>(peer{transport::asio_udp::open_client(io, o), nullptr, {}, 0, 0}));
            if (s.secure) {
                Cipher c = make_cipher();
                fragmenter f(fragmenter::limits_type{}, c.fragment_payload(), c.max_whole());
                peers_.back()->eng = std::make_unique<engine>(std::move(c), std::move(f), copt);
            }
        }
        for (std::size_t i = 0; i < receive_batch; ++i)
            views_[i] = std::span<std::byte>(storage_.data() + i * 65536, 65536);
        deadline_ = steady::now() + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(s.seconds));
    }

    // Registers every peer with the server (secure: until every engine is established).
    void set_up()
    {
        auto ready = [&] {
            for (auto& p : peers_) {
                if (p->eng->current_state() != engine::state::established)
                    return false;
                if constexpr (group) { // and the group holds every member
                    const auto& m = p->eng->cipher().group();
                    if (!m.in_group() || m.current()->roster.size() != peers_.size())
                        return false;
                }
            }
            return true;
        };
        for (auto& p : peers_) {
            if (s_.secure)
                p->eng->start(tlvcast::clock::now(), p->out);
            else
                p->out.push(dest_, std::as_bytes(std::span("R", 1)));
            flush(*p);
        }
        // The plain forwarder answers nothing: its registrations are done once the 'R's arrived.
        const auto by = steady::now() + std::chrono::seconds(s_.secure ? 30 : 1);
        // Established means registered at the relay: from then on it relays to this peer. The
        // presence notices that follow are not waited for (they are not what is measured).
        while (s_.secure ? !ready() : steady::now() < by) {
            if (steady::now() > by) {
                std::string state;
                for (auto& p : peers_)
                    state += " " + std::to_string(static_cast<int>(p->eng->current_state())) + "/" +
                             std::to_string(p->connected);
                throw std::runtime_error("set-up (registration, the group) did not complete in 30 s; state/connected:" +
                                         state);
            }
            pump(20);
            if (s_.secure) // registration retries, as a client's driver runs them
                for (auto& p : peers_)
                    if (const auto now = tlvcast::clock::now(); now >= p->eng->next_timer()) {
                        p->eng->on_timer(now, p->out);
                        flush(*p);
                    }
        }
    }

    // Sends messages [sent_, sent_ + count) through the window and waits until every receiver checked them.
    void run(std::size_t count)
    {
        const std::uint64_t end = sent_ + count;
        for (;;) {
            const std::uint64_t low = lowest();
            if (low >= end)
                return;
            auto& sender = *peers_[0];
            if (group && s_.batch) { // what the window allows leaves in batches, one signature each
                batch_.clear();
                while (sent_ < end && sent_ - low < s_.window) {
                    fill(payload_, sent_++);
                    batch_.push_back(payload_);
                }
                if (!batch_.empty()) {
                    views_out_.assign(batch_.begin(), batch_.end());
                    std::error_code ec;
                    sender.eng->send_batch(views_out_, tlvcast::clock::now(), sender.out, ec);
                    if (ec)
                        throw std::runtime_error("the sender's engine refused a batch: " + ec.message());
                }
            }
            while ((!group || !s_.batch) && sent_ < end && sent_ - low < s_.window) {
                fill(payload_, sent_++);
                if (s_.secure) {
                    std::error_code ec;
                    sender.eng->send(payload_, tlvcast::clock::now(), sender.out, ec);
                    if (ec)
                        throw std::runtime_error("the sender's engine refused a message: " + ec.message());
                } else {
                    sender.out.push(dest_, payload_);
                }
            }
            flush(sender);
            // Busy polling (--spin) keeps the load generator's own wake-ups out of the loop's latency.
            pump(s_.spin ? 0 : 100);
        }
    }

    std::uint64_t sent() const { return sent_; }

private:
    static Cipher make_cipher()
    {
        if constexpr (group) {
            tlvcast::profile::group::options o;
            o.policy = tlvcast::profile::group::admission::open;
            return Cipher(Cipher::generate(), o);
        } else {
            return Cipher(Cipher::generate());
        }
    }

    std::uint64_t lowest() const
    {
        std::uint64_t m = UINT64_MAX;
        for (std::size_t i = 1; i < peers_.size(); ++i)
            m = std::min(m, peers_[i]->got);
        return m;
    }

    void check_deadline() const
    {
        if (steady::now() > deadline_)
            throw std::runtime_error("time limit reached: messages lost or the server stalled (received " +
                                     std::to_string(lowest()) + " of " + std::to_string(sent_) + ")");
    }

    // Sends a peer's batch; a full socket buffer waits for POLLOUT (bounded by the deadline).
    void flush(peer& p)
    {
        std::size_t done = 0;
        while (done < p.out.size()) {
            datagram_batch rest;
            const datagram_batch* b = &p.out;
            if (done != 0) {
                for (std::size_t i = done; i < p.out.size(); ++i)
                    rest.push(p.out[i].to, p.out[i].bytes);
                b = &rest;
            }
            std::error_code ec;
            done += p.socket.send(*b, ec);
            if (ec && !transport::is_backpressure(ec))
                throw std::runtime_error("send: " + ec.message());
            if (ec) {
                pollfd w{p.socket.socket().native_handle(), POLLOUT, 0};
                ::poll(&w, 1, 10);
                check_deadline();
            }
        }
        p.out.clear();
    }

    // Waits up to `ms` for datagrams, then takes everything waiting on every socket.
    void pump(int ms)
    {
        check_deadline();
        std::vector<pollfd> fds;
        for (auto& p : peers_)
            fds.push_back({p->socket.socket().native_handle(), POLLIN, 0});
        if (::poll(fds.data(), fds.size(), ms) <= 0)
            return;
        for (std::size_t i = 0; i < peers_.size(); ++i)
            if (fds[i].revents & POLLIN)
                drain(*peers_[i], i == 0);
    }

    void drain(peer& p, bool is_sender)
    {
        for (std::size_t round = 0; round < max_drain_rounds; ++round) {
            std::error_code ec;
            const std::size_t n = p.socket.try_receive_many(views_, from_, sizes_, ec);
            const auto now = tlvcast::clock::now();
            for (std::size_t i = 0; i < n; ++i) {
                const std::span<const std::byte> d(views_[i].data(), std::min(sizes_[i], views_[i].size()));
                if (!s_.secure) {
                    if (!is_sender && d.size() != 1)
                        check(p, d);
                    continue;
                }
                p.eng->handle(from_[i], d, now, p.out);
                core::client_event ev;
                while (p.eng->poll_event(ev)) {
                    if (ev.what == core::client_event::kind::peer_connected)
                        ++p.connected;
                    else if (ev.what == core::client_event::kind::message && !is_sender)
                        check(p, std::as_bytes(std::span(ev.text)));
                }
            }
            if (!p.out.empty())
                flush(p);
            if (n < receive_batch)
                return; // would_block or a short batch: nothing more waits
        }
    }

    void check(peer& p, std::span<const std::byte> m)
    {
        fill(expect_, p.got);
        if (m.size() != expect_.size() || !std::equal(m.begin(), m.end(), expect_.begin()))
            throw std::runtime_error("a receiver got a message other than #" + std::to_string(p.got) +
                                     " (lost, reordered or damaged)");
        ++p.got;
    }

    settings s_;
    endpoint dest_;
    std::vector<std::unique_ptr<peer>> peers_; // [0] sends, the others receive
    std::vector<std::byte> payload_, expect_;
    std::vector<std::vector<std::byte>> batch_;         // group: the window's messages
    std::vector<std::span<const std::byte>> views_out_; // and views of them for send_batch
    std::uint64_t sent_ = 0;
    steady::time_point deadline_;
    std::vector<std::byte> storage_ = std::vector<std::byte>(receive_batch * 65536);
    std::array<std::span<std::byte>, receive_batch> views_;
    std::array<endpoint, receive_batch> from_;
    std::array<std::size_t, receive_batch> sizes_;
};

settings parse(int argc, char** argv)
{
    settings s;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                throw std::invalid_argument("option " + a + " needs a value");
            return argv[++i];
        };
        if (a == "--server") {
            const std::string v = value();
            if (v != "secure" && v != "plain" && v != "group")
                throw std::invalid_argument("--server is secure, group or plain");
            s.secure = v != "plain";
            s.group = v == "group";
        } else if (a == "--receivers") s.receivers = std::stoul(value());
        else if (a == "--size") s.size = std::max<std::size_t>(std::stoul(value()), 8);
        else if (a == "--window") s.window = std::max<std::size_t>(std::stoul(value()), 1);
        else if (a == "--warm-up") s.warm_up = std::stoul(value());
        else if (a == "--messages") s.messages = std::max<std::size_t>(std::stoul(value()), 1);
        else if (a == "--port") s.port = static_cast<std::uint16_t>(std::stoul(value()));
        else if (a == "--server-pid") s.server_pid = std::stoi(value());
        else if (a == "--seconds") s.seconds = std::stod(value());
        else if (a == "--spin") s.spin = true;
        else if (a == "--no-batch") s.batch = false;
        else
            throw std::invalid_argument("unknown option " + a + " (see the comment at the top of loadgen.cpp)");
    }
    return s;
}

// Set-up, warm-up, then the timed messages; prints the one line.
template <class Cipher>
int measure(const settings& s, asio::io_context& io)
{
    loadgen<Cipher> g(s, io);
    g.set_up();
    g.run(s.warm_up);
    const auto t0 = steady::now();
    const double server0 = server_cpu(s.server_pid), own0 = own_cpu();
    const auto machine0 = machine_cpu();
    g.run(s.messages);
    const double wall = std::chrono::duration<double>(steady::now() - t0).count();
    const double server = server_cpu(s.server_pid) - server0, own = own_cpu() - own0;
    const double su = server / wall, lu = own / wall;
    auto machine = machine_cpu();
    double all = 0;
    for (std::size_t i = 0; i < machine.size(); ++i)
        all += machine[i] -= machine0[i];
    all = std::max(all, 1.0);
    // Other processes' CPU: a figure taken while they ran is not comparable (bench/datapath.sh).
    const double cores = static_cast<double>(::sysconf(_SC_NPROCESSORS_ONLN));
    // Saturated: busy more than 90% of the wall time (one core each).
    const char* bound = su > 0.9 ? "server" : lu > 0.9 ? "loadgen" : "neither (latency)";
    std::printf("server=%s receivers=%zu size=%zu window=%zu messages=%zu msgs_per_s=%.0f server_cpu_us_per_msg=%.2f "
                "server_busy=%.0f%% loadgen_busy=%.0f%% bound=%s machine: busy=%.0f%% softirq=%.0f%% steal=%.0f%% idle=%.0f%% "
                "others=%.2f cores\n",
                s.group ? "group" : s.secure ? "secure" : "plain", s.receivers, s.size, s.window, s.messages,
                static_cast<double>(s.messages) / wall, server / static_cast<double>(s.messages) * 1e6, su * 100,
                lu * 100, bound, machine[0] / all * 100, machine[1] / all * 100, machine[2] / all * 100,
                machine[3] / all * 100, std::max(0.0, machine[0] / all * cores - su - lu));
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        const settings s = parse(argc, argv);
        asio::io_context io; // owns the sockets; never run (this program polls them itself)
        return s.group ? measure<group_cipher>(s, io) : measure<secure_cipher>(s, io);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "loadgen: %s\n", e.what());
        return 1;
    }
}
