// SPDX-License-Identifier: BSL-1.0
// loadgen: the data-path benchmark's load generator, shared by the plain forwarder and tlvcast-relay.
//
// One sender and N receivers, each its own UDP socket, all on this one thread (pin it to its own
// core). The sender keeps at most `window` messages in flight (sent, not yet seen by every
// receiver: a closed loop) and sends what the window allows in one sendmmsg; receivers take what
// waits with recvmmsg until EAGAIN. Every message is checked at every receiver: its sequence
// number (in order, none missing) and all its bytes. --server secure: the sender and receivers are
// real tlvcast secure-profile clients (client_engine: handshake, records, AES-GCM) and a message is
// checked once the receiver's engine opened it (with --batch the sender packs what the window lets
// through with send_batch: SECURE_BATCH records); --server group: group-profile members (open
// admission; --delivery unicast or multicast): the sender seals and signs every blob ahead
// (batched, or one message per blob with --no-batch) and hop-protects each in the loop; receivers
// compare every forwarded blob byte for byte with what was sealed; --open-receivers (default 1)
// of them also open a sample with their whole engine (every --open-every blobs, and the first and
// last of each phase), the others the warm-up's first blobs (bench/datapath/sealed.hpp says why
// and how); --server plain: bare datagrams for
// bench/datapath/forwarder.
// Prints one line: messages/s over the timed part, the server's CPU µs per message (read from
// /proc/PID/stat; --server-pid may be given several times: their sum, and each one's) and which side
// was saturated. --receiver-port P: the receivers register with the relay on port P, the sender
// with --port's (two federated relays, bench/federation_datapath.sh). --latency (group): receiver 1's delay
// from each timed blob's send to its arrival, p50/p99/max. Every loop is bounded by --seconds.
#include <tlvcast/core/client_engine.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>
#include <tlvcast/profile/group.hpp>
#include <tlvcast/profile/secure.hpp>
#include <tlvcast/transport/asio_udp.hpp>

#include "cpu.hpp"
#include "sealed.hpp"

#include <asio.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
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
using secure_cipher = tlvcast::profile::secure::openssl_cipher; // the load generator's own (the relay's: its --backend, default Crypto++)
#else
using secure_cipher = tlvcast::profile::secure::cryptopp_cipher;
#endif
// Group members: Crypto++ where built (the relay's backend is its own affair; members of both
// backends share a group): its HKDF needs no per-call fetch, and a member that skips to a sample
// steps its ratchet through every generation in between (2 HKDF each, twice: find and accept).
#ifdef TLVCAST_HAS_CRYPTOPP
using group_cipher = tlvcast::profile::group::cryptopp_cipher;
#else
using group_cipher = tlvcast::profile::group::openssl_cipher;
#endif
using tlvcast::bench::machine_cpu;
using tlvcast::bench::own_cpu;
using tlvcast::bench::server_cpu;

constexpr std::size_t receive_batch = transport::detail::max_receive_batch;
constexpr std::size_t max_drain_rounds = 64; // recvmmsg calls per socket per pass, at most
constexpr std::size_t first_opened = 16;     // group: blobs a non-sampling receiver opens (the warm-up's first)

struct settings {
    bool secure = true; // secure or group: real clients
    bool group = false;
    bool batch = true; // group: several messages per blob (--no-batch: one message per blob)
    bool secure_batch = false; // secure: the sender packs what the window allows with send_batch (--batch)
    bool multicast = false; // group: members take forwarded blobs from the data group (--delivery multicast)
    std::size_t open_every = 64; // group: every how many blobs a sampling receiver opens with its whole engine
    std::size_t open_receivers = 1; // group: receivers that sample (the others open the warm-up's first blobs)
    bool timed_open = true; // group: samples in the timed part too (--no-timed-open: its first 16 blobs only)
    std::size_t receivers = 1, size = 256, window = 128, warm_up = 20'000, messages = 200'000;
    std::uint16_t port = 5007, receiver_port = 0; // receiver_port: 0, the same relay as the sender
    std::vector<int> server_pids;
    bool latency = false; // group: receiver 1's per-blob delay
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
    std::optional<transport::asio_udp> data; // group, multicast: the data group's socket
    tlvcast::bench::receiver_check check;     // group: what arrived against the sealed plan
    bool samples = false;                      // group: opens rule_'s sample, else the first blobs only
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
            if (i == 1 && s.receiver_port != 0) { // the receivers' relay: another one, federated
                o.port = s.receiver_port;
                copt.relay = o.group_endpoint();
            }
            peers_.push_back(std::make_unique<peer>(peer{transport::asio_udp::open_client(io, o), nullptr, {}, 0, 0, std::nullopt, {}, i != 0 && i <= s.open_receivers}));
            if (group && s.multicast && i != 0) { // every receiver's socket on the data group gets its copy
                transport::asio_udp_options d = o;
                const auto g = tlvcast::profile::group::options{}.data_group;
                d.group = asio::ip::address_v4(g.v4());
                d.port = g.port;
                peers_.back()->data.emplace(transport::asio_udp::bind_group(io, d));
            }
            if (s.secure) {
                Cipher c = make_cipher(s);
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
                if constexpr (group) { // and the group holds every member: one group, one epoch
                    const auto& m = p->eng->cipher().group();
                    if (!m.in_group() || m.current()->roster.size() != peers_.size())
                        return false;
                    const auto& first = peers_[0]->eng->cipher().group();
                    if (!first.in_group() || first.current()->hash != m.current()->hash)
                        return false;
                }
            }
            return true;
        };
        const auto start = [&](peer& p) {
            if (s_.secure)
                p.eng->start(tlvcast::clock::now(), p.out);
            else
                p.out.push(dest_, std::as_bytes(std::span("R", 1)));
            flush(p);
        };
        std::size_t first = 0;
        if constexpr (group) {
            // Two federated relays (--receiver-port): the sender founds the group before the
            // receivers come, at the other relay. On plain NATS subjects two relays that each
            // founded a group at once would stay apart (one order needs --federation-jetstream).
            if (s_.receiver_port != 0) {
                start(*peers_[0]);
                const auto by = steady::now() + std::chrono::seconds(10);
                while (!peers_[0]->eng->cipher().group().in_group()) {
                    if (steady::now() > by)
                        throw std::runtime_error("set-up: the sender founded no group in 10 s");
                    pump(20);
                    if (const auto now = tlvcast::clock::now(); now >= peers_[0]->eng->next_timer()) {
                        peers_[0]->eng->on_timer(now, peers_[0]->out);
                        flush(*peers_[0]);
                    }
                }
                first = 1;
            }
        }
        for (std::size_t i = first; i < peers_.size(); ++i)
            start(*peers_[i]);
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
        if constexpr (group)
            return run_sealed(count);
        const std::uint64_t end = sent_ + count;
        for (;;) {
            const std::uint64_t low = lowest();
            if (low >= end)
                return;
            auto& sender = *peers_[0];
            if (s_.secure_batch && sent_ < end && sent_ - low < s_.window)
                send_batch(sender, std::min<std::uint64_t>(end, low + s_.window));
            while (sent_ < end && sent_ - low < s_.window) {
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

    // Group: seals and signs messages [0, total) ahead, in blobs that never span the start of a
    // phase (`phases`: the message numbers where the warm-up and the timed part start).
    void prepare(std::uint64_t total, const std::vector<std::uint64_t>& phases)
    {
        auto& e = *peers_[0]->eng;
        std::vector<std::vector<std::byte>> texts(max_per_blob, std::vector<std::byte>(s_.size));
        std::vector<std::span<const std::byte>> views;
        for (std::uint64_t m = 0; m < total;) {
            std::uint64_t stop = total;
            for (const auto b : phases)
                if (b > m)
                    stop = std::min(stop, b);
            const std::size_t take = s_.batch ? static_cast<std::size_t>(std::min<std::uint64_t>(max_per_blob, stop - m)) : 1;
            views.clear();
            for (std::size_t i = 0; i < take; ++i) {
                fill(texts[i], m + i);
                views.push_back(texts[i]);
            }
            std::vector<std::byte> blob;
            std::error_code ec;
            std::size_t n = 1;
            if constexpr (group) {
                if (s_.batch)
                    n = e.cipher().seal_batch(e.session(), views, blob, ec);
                else
                    e.cipher().seal(e.session(), tlvcast::crypto::message_kind::data, views[0], blob, ec);
            }
            if (ec || n == 0)
                throw std::runtime_error("the sender's cipher refused to seal: " + ec.message());
            plan_.add(std::move(blob), n);
            m += n;
        }
        sent_at_.assign(plan_.size(), steady::time_point{});
        timed_from_ = plan_.blob_at(phases.back());
        rule_.every = s_.open_every;
        for (const auto b : phases)
            rule_.boundaries.push_back(plan_.blob_at(b));
        rule_.boundaries.push_back(plan_.size());
        if (!s_.timed_open)
            rule_.quiet_from = plan_.blob_at(phases.back());
    }

    // Summed over the receivers: blobs compared byte for byte, opened by the engine, other datagrams.
    std::array<std::uint64_t, 3> checked() const
    {
        std::array<std::uint64_t, 3> c{};
        for (std::size_t i = 1; i < peers_.size(); ++i) {
            c[0] += peers_[i]->check.compared;
            c[1] += peers_[i]->check.opened;
            c[2] += peers_[i]->check.other;
        }
        return c;
    }
    std::size_t blobs() const { return plan_.size(); }
    /// Group, --latency: receiver 1's delays (µs) of the timed part's blobs, sorted.
    std::vector<double> latencies()
    {
        std::sort(latency_us_.begin(), latency_us_.end());
        return latency_us_;
    }

private:
    static constexpr std::size_t max_per_blob = 64; // messages offered to seal_batch (it packs what fits: 25 of 40 bytes)

    // Secure --batch: messages [sent_, stop) through send_batch, as core::basic_batcher hands them
    // over: SECURE_BATCH records of one datagram each (what does not share one goes alone).
    template <class Peer>
    void send_batch(Peer& sender, std::uint64_t stop)
    {
        batch_texts_.resize(std::max<std::size_t>(batch_texts_.size(), static_cast<std::size_t>(stop - sent_)),
                            std::vector<std::byte>(s_.size));
        batch_views_.clear();
        for (std::uint64_t m = sent_; m < stop; ++m) {
            auto& t = batch_texts_[static_cast<std::size_t>(m - sent_)];
            fill(t, m);
            batch_views_.push_back(t);
        }
        std::error_code ec;
        sender.eng->send_batch(batch_views_, tlvcast::clock::now(), sender.out, ec);
        if (ec)
            throw std::runtime_error("the sender's engine refused a batch: " + ec.message());
        sent_ = stop;
    }

    // Group: the sealed blobs leave through the window; the sender only hop-protects each one.
    void run_sealed(std::size_t count)
    {
        const std::uint64_t end = sent_ + count;
        std::size_t k = plan_.blob_at(sent_);
        for (;;) {
            const std::uint64_t low = lowest();
            if (low >= end)
                return;
            auto& sender = *peers_[0];
            while (sent_ < end && (sent_ == low || plan_.end_of(k) - low <= s_.window)) {
                std::error_code ec;
                if (s_.latency)
                    sent_at_[k] = steady::now();
                sender.eng->send_sealed(plan_.blobs[k], tlvcast::clock::now(), sender.out, ec);
                if (ec)
                    throw std::runtime_error("the sender's engine refused a sealed blob: " + ec.message());
                sent_ = plan_.end_of(k++);
            }
            flush(sender);
            pump(s_.spin ? 0 : 100);
        }
    }

    // Group: a forwarded blob compared with the plan (true), or left to the member's engine (false:
    // a sampled blob). `bare`: from the data group.
    bool compare_forwarded(peer& p, std::span<const std::byte> d, bool bare)
    {
        if (plan_.size() == 0 || (p.samples ? rule_.full(p.check.next) : p.check.next < first_opened))
            return false;
        std::span<const std::byte> blob = d;
        std::error_code ec;
        if (!bare) {
            // Unicast: bare (the relay's default shared stream) or inside the hop record
            // (tlvcast-relay --seal-unicast).
            if (p.eng->unprotect(d, inner_, ec))
                blob = inner_;
            else if (ec != tlvcast::errc::unexpected_type)
                throw std::runtime_error("a receiver could not open its hop record: " + ec.message());
        }
        const tlvcast::wire::tlv t = tlvcast::wire::read_outer(blob, ec);
        if (ec || (t.type() != tlvcast::wire::tlv_type::group_message && t.type() != tlvcast::wire::tlv_type::group_batch))
            ++p.check.other;
        else
            p.check.compare(plan_, blob);
        return true;
    }

    static Cipher make_cipher(const settings& s)
    {
        if constexpr (group) {
            tlvcast::profile::group::options o;
            o.policy = tlvcast::profile::group::admission::open;
            o.mode = s.multicast ? tlvcast::profile::group::delivery::multicast : tlvcast::profile::group::delivery::unicast;
            return Cipher(Cipher::generate(), o);
        } else {
            (void)s;
            return Cipher(Cipher::generate());
        }
    }

    std::uint64_t lowest() const
    {
        std::uint64_t m = UINT64_MAX;
        for (std::size_t i = 1; i < peers_.size(); ++i)
            m = std::min(m, group ? peers_[i]->check.got : peers_[i]->got);
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
        fds_.clear();
        for (auto& p : peers_) {
            fds_.push_back({p->socket.socket().native_handle(), POLLIN, 0});
            if (p->data)
                fds_.push_back({p->data->socket().native_handle(), POLLIN, 0});
        }
        if (::poll(fds_.data(), fds_.size(), ms) <= 0)
            return;
        std::size_t f = 0;
        for (std::size_t i = 0; i < peers_.size(); ++i) {
            peer& p = *peers_[i];
            if (fds_[f++].revents & POLLIN)
                drain(p, i == 0, p.socket, false);
            if (p.data && (fds_[f++].revents & POLLIN))
                drain(p, false, *p.data, true);
        }
    }

    // `bare`: the data group's socket (group, multicast), whose datagrams are forwarded blobs as they are.
    void drain(peer& p, bool is_sender, transport::asio_udp& socket, bool bare)
    {
        for (std::size_t round = 0; round < max_drain_rounds; ++round) {
            std::error_code ec;
            const std::size_t n = socket.try_receive_many(views_, from_, sizes_, ec);
            const auto now = tlvcast::clock::now();
            for (std::size_t i = 0; i < n; ++i) {
                const std::span<const std::byte> d(views_[i].data(), std::min(sizes_[i], views_[i].size()));
                if (!s_.secure) {
                    if (!is_sender && d.size() != 1)
                        check(p, d);
                    continue;
                }
                const std::size_t before = p.check.next;
                if (group && !is_sender && compare_forwarded(p, d, bare)) {
                    note_arrivals(p, before);
                    continue;
                }
                p.eng->handle(from_[i], d, now, p.out);
                core::client_event ev;
                while (p.eng->poll_event(ev)) {
                    if (ev.what == core::client_event::kind::peer_connected)
                        ++p.connected;
                    else if (ev.what == core::client_event::kind::message && !is_sender) {
                        if (group) {
                            const std::size_t was = p.check.next;
                            p.check.opened_message(plan_, std::as_bytes(std::span(ev.text)), expect_, fill);
                            note_arrivals(p, was);
                        } else
                            check(p, std::as_bytes(std::span(ev.text)));
                    }
                }
            }
            if (!p.out.empty())
                flush(p);
            if (n < receive_batch)
                return; // would_block or a short batch: nothing more waits
        }
    }

    // --latency: the blobs receiver 1 completed since `before` (timed part only).
    void note_arrivals(const peer& p, std::size_t before)
    {
        if (!s_.latency || &p != peers_[1].get())
            return;
        const auto now = steady::now();
        for (std::size_t k = std::max(before, timed_from_); k < p.check.next; ++k)
            latency_us_.push_back(std::chrono::duration<double, std::micro>(now - sent_at_[k]).count());
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
    std::vector<std::vector<std::byte>> batch_texts_; // secure --batch: the messages of one send_batch
    std::vector<std::span<const std::byte>> batch_views_;
    tlvcast::bench::sealed_plan plan_; // group: every blob the sender sends, sealed ahead
    tlvcast::bench::sample_rule rule_; // group: which blobs receivers open with their engine
    std::vector<std::byte> inner_;     // group, unicast: a forwarded record's inner blob
    std::vector<pollfd> fds_;
    std::vector<steady::time_point> sent_at_; // group, --latency: each blob's send
    std::vector<double> latency_us_;
    std::size_t timed_from_ = 0;              // group: the timed part's first blob
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
        else if (a == "--server-pid") s.server_pids.push_back(std::stoi(value()));
        else if (a == "--receiver-port") s.receiver_port = static_cast<std::uint16_t>(std::stoul(value()));
        else if (a == "--latency") s.latency = true;
        else if (a == "--seconds") s.seconds = std::stod(value());
        else if (a == "--spin") s.spin = true;
        else if (a == "--no-batch") s.batch = false;
        else if (a == "--batch") s.secure_batch = true;
        else if (a == "--delivery") {
            const std::string v = value();
            if (v != "unicast" && v != "multicast")
                throw std::invalid_argument("--delivery is unicast or multicast");
            s.multicast = v == "multicast";
        } else if (a == "--open-receivers") s.open_receivers = std::stoul(value());
        else if (a == "--no-timed-open") s.timed_open = false;
        else if (a == "--open-every") {
            // A member's ratchet skips at most max_skip generations: a sample further on would not open.
            s.open_every = std::stoul(value());
            if (s.open_every == 0 || s.open_every > tlvcast::profile::group::options::default_max_skip)
                throw std::invalid_argument("--open-every is 1..1024 (the members' max_skip)");
        }
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
    if (s.group)
        g.prepare(s.warm_up + s.messages, {0, s.warm_up});
    g.run(s.warm_up);
    const auto t0 = steady::now();
    std::vector<double> each0;
    for (const int pid : s.server_pids)
        each0.push_back(server_cpu(pid));
    const double own0 = own_cpu();
    const auto machine0 = machine_cpu();
    g.run(s.messages);
    const double wall = std::chrono::duration<double>(steady::now() - t0).count();
    double server = 0;
    std::string each; // with several servers: each one's µs per message
    for (std::size_t i = 0; i < s.server_pids.size(); ++i) {
        const double d = server_cpu(s.server_pids[i]) - each0[i];
        server += d;
        if (s.server_pids.size() > 1)
            each += (each.empty() ? "" : ",") + std::to_string(d / static_cast<double>(s.messages) * 1e6).substr(0, 5);
    }
    const double own = own_cpu() - own0;
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
                s.group ? "group" : s.secure ? (s.secure_batch ? "secure-batch" : "secure") : "plain", s.receivers, s.size, s.window, s.messages,
                static_cast<double>(s.messages) / wall, server / static_cast<double>(s.messages) * 1e6, su * 100,
                lu * 100, bound, machine[0] / all * 100, machine[1] / all * 100, machine[2] / all * 100,
                machine[3] / all * 100, std::max(0.0, machine[0] / all * cores - su - lu));
    if (!each.empty())
        std::printf("servers' cpu_us_per_msg each (--server-pid order): %s\n", each.c_str());
    if (s.latency && s.group) {
        const auto l = g.latencies();
        if (!l.empty()) {
            const auto at = [&](double q) { return l[std::min(l.size() - 1, static_cast<std::size_t>(q * static_cast<double>(l.size())))]; };
            std::printf("latency_us receiver1 blobs=%zu p50=%.1f p90=%.1f p99=%.1f max=%.1f\n", l.size(), at(0.5), at(0.9),
                        at(0.99), l.back());
        }
    }
    if (s.group && !s.timed_open)
        std::printf("group: --no-timed-open: the timed part's blobs after its first %zu were compared, not opened\n",
                    first_opened);
    if (s.group) { // over the warm-up and the timed part: every blob was checked one way or the other
        const auto c = g.checked();
        std::printf("group: delivery=%s %s blobs=%zu (messages per blob %.2f) receivers compared=%llu opened=%llu "
                    "(receivers 1..%zu: every %zuth, first and last of each phase; the others: the first %zu) other=%llu\n",
                    s.multicast ? "multicast" : "unicast", s.batch ? "batched" : "one-per-blob", g.blobs(),
                    static_cast<double>(s.warm_up + s.messages) / static_cast<double>(g.blobs()),
                    static_cast<unsigned long long>(c[0]), static_cast<unsigned long long>(c[1]),
                    std::min(s.open_receivers, s.receivers), s.open_every, first_opened,
                    static_cast<unsigned long long>(c[2]));
    }
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
