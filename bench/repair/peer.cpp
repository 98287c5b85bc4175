// SPDX-License-Identifier: BSL-1.0
// bench_repair_peer: one tlvcast client of the repair benchmark (bench/repair_vs_norm.sh), sender or receiver.
//
// A secure-profile (or --profile group: open admission, unicast delivery) core::basic_client over transport::asio_udp, with the repairing Fragmenter
// (fragment::nack_fragmenter) built as examples/common/reliability.hpp's make_fragmenter builds it
// for --reliability nack, talking to a real tlvcast-relay --reliability nack.
//   --send N --size S --rate R   register, then send N messages of S bytes at R messages/s
//                                (--rate 0: unpaced, every message handed to the client at once),
//                                starting once the file --go names exists (if given), then stay
//                                (serving the relay's NACKs) until SIGTERM or --seconds
//   --receive N --size S         register, print "ready", count messages until N distinct ones
//                                arrived or --seconds passed
//   --profile group [--members M]  group profile: "ready" once in an epoch of M members (default 4)
//   --multicast                  group profile: multicast delivery; the relay sends the data once to
//                                the data group 224.1.1.2:(--port + 1), which every member joins
//   --fec                        the repairing Fragmenter with Reed-Solomon parity, as tlvcast-relay
//                                --reliability nack+fec (a build with libcm256cc: TLVCAST_HAS_FEC)
// Message i: its number (8 bytes, little-endian), then bytes that depend on it; a receiver checks
// every byte, counts distinct intact messages, duplicates and order violations (a message numbered
// below one delivered before it), and the unrecoverable events. Times are CLOCK_MONOTONIC in ns,
// comparable between processes. Each prints one line of key=value at the end. Every loop is
// bounded by --seconds (default 60).
#include <tlvcast/core/client.hpp>
#include <tlvcast/fragment/nack_fragmenter.hpp>
#if TLVCAST_HAS_FEC
#include <tlvcast/fragment/fec/cm256_codec.hpp>
#endif
#include <tlvcast/fragment/seed_fragmenter.hpp>
#include <tlvcast/profile/group.hpp>
#include <tlvcast/profile/secure.hpp>
#include <tlvcast/transport/also_receiving.hpp>
#include <tlvcast/transport/asio_udp.hpp>
#include <tlvcast/wire/tlv.hpp>
#include <tlvcast/wire/types.hpp>

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace {

namespace core = tlvcast::core;
namespace fragment = tlvcast::fragment;
using udp = tlvcast::transport::asio_udp;
using steady = std::chrono::steady_clock;
#ifdef TLVCAST_HAS_OPENSSL
using secure_cipher = tlvcast::profile::secure::openssl_cipher; // the peers' own (either backend: the same bytes)
using group_cipher = tlvcast::profile::group::openssl_cipher;
#else
using secure_cipher = tlvcast::profile::secure::cryptopp_cipher;
using group_cipher = tlvcast::profile::group::cryptopp_cipher;
#endif

struct settings {
    bool send = false, group = false, fec = false, multicast = false;
    std::size_t members = 4; // group: the sender and the receivers, all in one epoch before the data
    std::size_t count = 0, size = 100;
    double rate = 0; // messages/s; 0: unpaced
    std::uint16_t port = 5007;
    double seconds = 60;
    std::string go; // sender: start sending once this file exists
};

std::int64_t now_ns()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch()).count();
}

void fill(std::vector<std::byte>& p, std::uint64_t seq)
{
    std::memcpy(p.data(), &seq, sizeof seq);
    for (std::size_t i = sizeof seq; i < p.size(); ++i)
        p[i] = static_cast<std::byte>(seq * 131 + i);
}

#if TLVCAST_HAS_FEC
using fec_fragmenter = fragment::basic_nack_fragmenter<fragment::seed_fragmenter, fragment::fec::cm256_codec>;
#endif

// As make_fragmenter (examples/common/reliability.hpp) for --reliability nack and nack+fec: fragments
// sized to the cipher's records, less REPAIR_DATA's header (and, with FEC, what a REPAIR_PARITY adds).
template <class Frag, class Cipher>
Frag make_fragmenter(const Cipher& c)
{
    constexpr bool fec = Frag::fec;
    fragment::repair_limits lim;
    lim.repair = true;
    lim.fec_k = fec ? lim.fec_k : 0;
    const std::size_t header = tlvcast::wire::tlv_header_size + tlvcast::wire::repair_header_size +
                               (fec ? tlvcast::wire::repair_parity_header_size + 2 - tlvcast::wire::repair_header_size : 0);
    return Frag(fragment::seed_fragmenter(fragment::limits{}, c.fragment_payload() - header, c.max_whole() - header), lim);
}

// The first 16 bytes of a fingerprint in hex, as tlvcast-relay's log names a client.
template <class Bytes>
std::string hex16(const Bytes& b)
{
    std::string s;
    char x[3];
    for (std::size_t i = 0; i < 16 && i < b.size(); ++i) {
        std::snprintf(x, sizeof x, "%02x", static_cast<unsigned>(static_cast<unsigned char>(b[i])));
        s += x;
    }
    return s;
}

// The data group of --multicast: 224.1.1.2, the port after the relay's.
tlvcast::transport::asio_udp_options data_group_options(const settings& s)
{
    tlvcast::transport::asio_udp_options o;
    o.group = asio::ip::make_address_v4("224.1.1.2");
    o.port = static_cast<std::uint16_t>(s.port + 1);
    o.send_buffer_size = 0;
    o.receive_buffer_size = 4 << 20;
    return o;
}

template <class Cipher, class Frag = fragment::nack_fragmenter, class Transport = udp>
class peer {
    using client = core::basic_client<Transport, Cipher, Frag>;
    static constexpr bool group = std::is_same_v<Cipher, group_cipher>;

public:
    peer(const settings& s, asio::io_context& io)
        : s_(s), io_(io), client_(open(io, s), make(s), make_fragmenter_for(s), options(s.port)), timer_(io),
          signals_(io, SIGTERM, SIGINT), payload_(s.size), expect_(s.size), seen_(s.count, false)
    {
        deadline_ = steady::now() + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(s.seconds));
    }

    void start()
    {
        signals_.async_wait([this](std::error_code ec, int) {
            if (!ec)
                finish("signal");
        });
        client_.async_register([this](std::error_code ec) {
            if (ec)
                throw std::runtime_error("registration failed: " + ec.message());
            receive();
            if (!group)
                on_ready();
        });
        watchdog();
    }

private:
    static Transport open(asio::io_context& io, const settings& s)
    {
        tlvcast::transport::asio_udp_options o;
        o.port = s.port;
        o.send_buffer_size = 4 << 20;
        if constexpr (std::is_same_v<Transport, udp>)
            return udp::open_client(io, o);
        else // --multicast: its own socket, and the data group's
            return Transport(udp::open_client(io, o), udp::bind_group(io, data_group_options(s)));
    }
    static Cipher make(const settings& s)
    {
        if constexpr (group) {
            tlvcast::profile::group::options o;
            o.policy = tlvcast::profile::group::admission::open;
            if (s.multicast) {
                o.mode = tlvcast::profile::group::delivery::multicast;
                o.data_group = data_group_options(s).group_endpoint();
            }
            return Cipher(Cipher::generate(), o);
        } else {
            (void)s;
            return Cipher(Cipher::generate());
        }
    }
    static Frag make_fragmenter_for(const settings& s)
    {
        // The fragment sizes depend only on the profile, not on the key: a throw-away cipher tells them.
        const Cipher c = make(s);
        return make_fragmenter<Frag>(c);
    }
    static core::client_options options(std::uint16_t port)
    {
        core::client_options o;
        o.relay = tlvcast::transport::asio_udp_options{}.group_endpoint();
        o.relay.port = port;
        o.trust = tlvcast::crypto::relay_trust::any(); // a fresh relay identity each run, in a private namespace
        return o;
    }

    // Registered (group: and in an epoch of every member): the script may go on.
    void on_ready()
    {
        std::printf("ready\n");
        std::fflush(stdout);
        if (s_.send)
            wait_go();
    }

    // The sender starts once --go's file exists (the script installs the loss after registration).
    void wait_go()
    {
        if (!s_.go.empty() && !std::filesystem::exists(s_.go)) {
            timer_.expires_after(std::chrono::milliseconds(1));
            timer_.async_wait([this](std::error_code ec) {
                if (!ec)
                    wait_go();
            });
            return;
        }
        first_ns_ = now_ns();
        t0_ = steady::now();
        tick();
    }

    // The sender: every message due by now (all of them when unpaced), one at a time, then again in
    // 1 ms. A full window (would_block: nothing was sent) is waited for and the same message sent
    // again, as an application must: the sender is held by the flow control, nothing is dropped.
    void tick()
    {
        std::size_t due = s_.count;
        if (s_.rate > 0) {
            const double t = std::chrono::duration<double>(steady::now() - t0_).count();
            due = std::min(s_.count, static_cast<std::size_t>(t * s_.rate) + 1);
        }
        if (sent_ < due) {
            fill(payload_, sent_);
            client_.async_send(std::span<const std::byte>(payload_), [this](std::error_code ec) {
                if (ec == tlvcast::errc::would_block) {
                    client_.async_wait_writable([this](std::error_code wec) {
                        if (!wec)
                            tick();
                        else
                            ++send_errors_;
                    });
                    return;
                }
                send_errors_ += ec ? 1 : 0;
                ++sent_;
                last_ns_ = now_ns();
                asio::post(io_, [this] { tick(); }); // not recursive: async_send may complete inline
            });
            return;
        }
        if (sent_ < s_.count) {
            timer_.expires_after(std::chrono::milliseconds(1));
            timer_.async_wait([this](std::error_code ec) {
                if (!ec)
                    tick();
            });
        }
    }

    void receive()
    {
        client_.async_receive([this](std::error_code ec, core::client_event ev) {
            if (ec)
                return;
            if (trace_ && ev.what != core::client_event::kind::message)
                std::fprintf(stderr, "trace t_ms=%lld event=%d epoch=%llu members=%zu from=%llu to=%llu error=%s who=%s\n",
                             static_cast<long long>((now_ns() - trace_t0_) / 1'000'000), static_cast<int>(ev.what),
                             static_cast<unsigned long long>(ev.epoch), ev.members,
                             static_cast<unsigned long long>(ev.from), static_cast<unsigned long long>(ev.to),
                             ev.error.message().c_str(), ev.identity ? hex16(*ev.identity).c_str() : "-");
            if (ev.what == core::client_event::kind::message && !s_.send)
                on_message(std::as_bytes(std::span(ev.text)));
            else if (ev.what == core::client_event::kind::unrecoverable)
                ++unrecoverable_;
            else if (ev.what == core::client_event::kind::epoch && group && !in_epoch_ && ev.members >= s_.members) {
                in_epoch_ = true;
                on_ready();
            }
            if (!s_.send && distinct_ == s_.count)
                return finish("complete");
            receive();
        });
    }

    void on_message(std::span<const std::byte> m)
    {
        std::uint64_t seq = UINT64_MAX;
        if (m.size() >= sizeof seq)
            std::memcpy(&seq, m.data(), sizeof seq);
        if (seq >= s_.count || m.size() != s_.size) {
            ++damaged_;
            return;
        }
        fill(expect_, seq);
        if (!std::equal(m.begin(), m.end(), expect_.begin())) {
            ++damaged_;
            return;
        }
        const auto t = now_ns();
        if (first_ns_ == 0)
            first_ns_ = t;
        last_ns_ = t;
        if (delivered_ > 0 && seq < highest_)
            ++out_of_order_;
        highest_ = std::max(highest_, seq);
        ++delivered_;
        if (seen_[seq])
            ++duplicates_;
        else {
            seen_[seq] = true;
            ++distinct_;
        }
    }

    void watchdog()
    {
        if (steady::now() >= deadline_)
            return finish("time limit");
        timer2_.expires_after(std::chrono::milliseconds(100));
        timer2_.async_wait([this](std::error_code ec) {
            if (!ec)
                watchdog();
        });
    }

    void finish(const char* why)
    {
        if (done_)
            return;
        done_ = true;
        const auto st = client_.engine().fragmenter().stats();
        if (s_.send)
            std::printf("tlvcast sender: sent=%zu send_errors=%zu first_send_ns=%lld last_send_ns=%lld end=%s "
                        "data_sent=%llu nacks_received=%llu retransmissions=%llu retransmitted_bytes=%llu "
                        "parity_sent=%llu parity_repairs_sent=%llu\n",
                        sent_, send_errors_, static_cast<long long>(first_ns_), static_cast<long long>(last_ns_), why,
                        static_cast<unsigned long long>(st.data_sent), static_cast<unsigned long long>(st.nacks_received),
                        static_cast<unsigned long long>(st.repairs_sent),
                        static_cast<unsigned long long>(st.retransmitted_bytes),
                        static_cast<unsigned long long>(st.parity_sent),
                        static_cast<unsigned long long>(st.parity_repairs_sent));
        else
            std::printf("tlvcast receiver: expected=%zu distinct=%zu delivered=%zu duplicates=%zu out_of_order=%zu "
                        "damaged=%zu unrecoverable=%zu first_ns=%lld last_ns=%lld end=%s nacks_sent=%llu "
                        "repair_duplicates=%llu\n",
                        s_.count, distinct_, delivered_, duplicates_, out_of_order_, damaged_, unrecoverable_,
                        static_cast<long long>(first_ns_), static_cast<long long>(last_ns_), why,
                        static_cast<unsigned long long>(st.nacks_sent), static_cast<unsigned long long>(st.duplicates));
        std::fflush(stdout);
        if constexpr (group)
            if (trace_) { // who this member is (the relay's log names it so) and where it got to
                const auto& m = client_.engine().cipher().group();
                const auto& c = m.counts();
                std::fprintf(stderr,
                             "trace finish me=%s in_group=%d epoch=%llu members=%zu commits_sent=%llu "
                             "commits_applied=%llu commits_rejected=%llu sync_requests=%llu admission_refused=%llu "
                             "send_retries=%llu send_errors=%llu\n",
                             hex16(client_.engine().cipher().identity_fingerprint()).c_str(), m.in_group() ? 1 : 0,
                             static_cast<unsigned long long>(m.current() ? m.current()->epoch : 0),
                             m.current() ? m.current()->roster.size() : std::size_t{0},
                             static_cast<unsigned long long>(c.commits_sent),
                             static_cast<unsigned long long>(c.commits_applied),
                             static_cast<unsigned long long>(c.commits_rejected),
                             static_cast<unsigned long long>(c.sync_requests),
                             static_cast<unsigned long long>(c.admission_refused),
                             static_cast<unsigned long long>(
                                 client_.engine().counters().get(core::client_counter::send_retries)),
                             static_cast<unsigned long long>(
                                 client_.engine().counters().get(core::client_counter::send_errors)));
            }
        // No leave message: the relay's stats are read after every peer is done.
        io_.stop();
    }

    settings s_;
    asio::io_context& io_;
    client client_;
    asio::steady_timer timer_, timer2_{io_};
    asio::signal_set signals_;
    std::vector<std::byte> payload_, expect_;
    std::vector<bool> seen_;
    steady::time_point t0_, deadline_;
    std::size_t sent_ = 0, send_errors_ = 0, distinct_ = 0, delivered_ = 0, duplicates_ = 0, out_of_order_ = 0,
                damaged_ = 0, unrecoverable_ = 0;
    std::uint64_t highest_ = 0;
    std::int64_t first_ns_ = 0, last_ns_ = 0;
    bool done_ = false, in_epoch_ = false;
    // TLVCAST_BENCH_TRACE=1: every event but a message to stderr, to see where a run stalled (with
    // the identity it names), and at the end, in the group profile, who this member is and its counts.
    const bool trace_ = std::getenv("TLVCAST_BENCH_TRACE") != nullptr;
    const std::int64_t trace_t0_ = now_ns();
};

settings parse(int argc, char** argv)
{
    settings s;
    bool role = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                throw std::invalid_argument("option " + a + " needs a value");
            return argv[++i];
        };
        if (a == "--send" || a == "--receive") {
            s.send = a == "--send";
            s.count = std::stoul(value());
            role = true;
        } else if (a == "--size") s.size = std::max<std::size_t>(std::stoul(value()), 8);
        else if (a == "--rate") s.rate = std::stod(value());
        else if (a == "--port") s.port = static_cast<std::uint16_t>(std::stoul(value()));
        else if (a == "--seconds") s.seconds = std::stod(value());
        else if (a == "--go") s.go = value();
        else if (a == "--profile") {
            const std::string v = value();
            if (v != "secure" && v != "group")
                throw std::invalid_argument("--profile is secure or group");
            s.group = v == "group";
        } else if (a == "--members") s.members = std::stoul(value());
        else if (a == "--fec") s.fec = true;
        else if (a == "--multicast") s.multicast = true;
        else
            throw std::invalid_argument("unknown option " + a + " (see the comment at the top of bench/repair/peer.cpp)");
    }
    if (!role)
        throw std::invalid_argument("--send N or --receive N");
    return s;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        const settings s = parse(argc, argv);
        asio::io_context io;
        if (s.fec) {
#if TLVCAST_HAS_FEC
            if (s.group)
                throw std::invalid_argument("--fec: the secure profile only here");
            peer<secure_cipher, fec_fragmenter> p(s, io);
            p.start();
            io.run();
#else
            throw std::invalid_argument("--fec: built without libcm256cc (TLVCAST_HAS_FEC)");
#endif
        } else if (s.group && s.multicast) {
            peer<group_cipher, fragment::nack_fragmenter, tlvcast::transport::also_receiving<udp>> p(s, io);
            p.start();
            io.run();
        } else if (s.group) {
            peer<group_cipher> p(s, io);
            p.start();
            io.run();
        } else {
            peer<secure_cipher> p(s, io);
            p.start();
            io.run();
        }
        // The client is not closed (no leave message): end here rather than tear down its pending operations.
        std::fflush(stdout);
        std::_Exit(0);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_repair_peer: %s\n", e.what());
        return 1;
    }
}
