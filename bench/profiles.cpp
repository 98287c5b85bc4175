// SPDX-License-Identifier: BSL-1.0
// Profiles side by side: a plain UDP forwarder, the secure relay and the seed relay, same harness, one run.
//
// Every row moves the same kind of traffic: one sender, N recipients (1 or 10), messages of 256 or
// 1,200 bytes, over memory_transport (default) or asio_udp in a private network namespace
// (TLVCAST_NETNS=1, see bench/netns_relay.sh --profiles). The sender's datagrams are built before
// timing; recipients only count what arrives (no decryption), on the io thread; the sender keeps a
// bounded number of datagrams in flight (a closed loop, as bench_relay). The rows:
//   plain/...                a forwarder without crypto (one thread: receive, send to N in one batch):
//                            the transport's and the thread layout's limit;
//   secure/<backend>/...     core::basic_relay with profile::secure::basic_cipher (AES-256-GCM);
//   seed/<backend>/...       core::basic_relay with basic_rsa_oaep (RSA-2048), short rows;
// and targets/<net>, which reads the rows above and reports the issue-4 target ratios as counters.
#include <tlvcast/core/client_engine.hpp>
#include <tlvcast/profile/seed/rsa_oaep.hpp>
#include <tlvcast/transport/send_queue.hpp>
#include <tlvcast/core/relay.hpp>
#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/profile/secure/cipher.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/transport/asio_udp.hpp>
#include <tlvcast/transport/concepts.hpp>
#include <tlvcast/transport/memory.hpp>

#ifdef TLVCAST_HAS_OPENSSL
#include <tlvcast/crypto/openssl_aead.hpp>
#include <tlvcast/crypto/openssl_rsa.hpp>
#include <tlvcast/crypto/openssl_suite.hpp>
#endif

#include <asio.hpp>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

#include <time.h>

namespace {

namespace core = tlvcast::core;
namespace crypto = tlvcast::crypto;
namespace profile = tlvcast::profile;
namespace seed = tlvcast::seed;
namespace transport = tlvcast::transport;
using tlvcast::datagram_batch;
using tlvcast::endpoint;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using fragmenter = tlvcast::fragment::seed_fragmenter;

constexpr std::int64_t iterations = 3;                 // timed batches per row
constexpr std::size_t warm_up = 4;                     // untimed messages first (also measures datagrams out)
constexpr auto wait_limit = std::chrono::seconds(30);  // per batch: beyond, the row fails
constexpr std::size_t in_flight_datagrams = 64;        // fits the default UDP receive buffers with room
constexpr std::uint16_t udp_port = 25'009;             // inside the private namespace: nothing else there

// CPU time of the whole process (all threads), in seconds.
double process_cpu_seconds()
{
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// ---- results shared with the targets rows ----

struct row_result {
    double per_second;  // messages relayed per second, wall time
    double cpu_per_msg; // process CPU seconds per message (independent of other processes' load)
};

std::map<std::string, row_result>& results()
{
    static std::map<std::string, row_result> r;
    return r;
}

std::string key(const std::string& profile, const std::string& net, std::size_t size, std::size_t n)
{
    return profile + "/" + net + "/" + std::to_string(size) + "/" + std::to_string(n);
}

// ---- the two networks ----

// In-process: queues large enough that nothing is dropped (checked after each row).
struct memory_net {
    using transport_type = transport::memory_transport;
    static constexpr bool needs_namespace = false;
    static constexpr const char* name = "memory";

    transport::memory_hub hub;
    endpoint relay_address{0x0a000001u, 5007};

    transport_type make_relay(asio::io_context& ctx) { return transport_type(hub, ctx, {relay_address, 1 << 20}); }
    transport_type make_client(asio::io_context& ctx) { return transport_type(hub, ctx, {std::nullopt, 1 << 16}); }
    endpoint destination() const { return relay_address; }
    static std::uint64_t drops(const transport_type& t) { return t.stats().dropped_queue_full; }
};

// Real sockets on the loopback of a private namespace; clients send to the group, as deployed.
struct udp_net {
    using transport_type = transport::asio_udp;
    static constexpr bool needs_namespace = true;
    static constexpr const char* name = "udp";

    transport::asio_udp_options options = [] {
        transport::asio_udp_options o;
        o.port = udp_port;
        return o;
    }();

    transport_type make_relay(asio::io_context& ctx) { return transport_type::bind_group(ctx, options); }
    transport_type make_client(asio::io_context& ctx) { return transport_type::open_client(ctx, options); }
    endpoint destination() const { return options.group_endpoint(); }
    // The kernel's drops cannot be read per socket here: they show up as missing arrivals.
    static std::uint64_t drops(const transport_type&) { return 0; }
};

// ---- the plain forwarder ----

// Counters of the forwarder, as the relay's (relaxed atomics, any thread).
struct forwarder_counters {
    std::atomic<std::uint64_t> forwarded{0}, send_errors{0}, overloaded{0};
};

// The limit without crypto, in this process: one thread (the transport's executor) receives a
// datagram, then takes what else waits (recvmmsg bursts until one comes back short, as the relay's
// driver does), and sends every datagram to every registered recipient but its source in one batch
// send per burst (a full socket buffer waits in a send_queue backlog). A 1-byte datagram 'R'
// registers its source. The same forwarder out of process, with blocking recvmmsg: bench/datapath.
template <class Transport>
class plain_forwarder {
public:
    plain_forwarder(Transport t, unsigned /*threads*/, std::size_t /*max_queued*/)
        : transport_(std::move(t)), sender_(transport_, transport_.get_executor())
    {
        for (std::size_t i = 0; i < burst; ++i)
            views_[i] = std::span<std::byte>(storage_.data() + i * max_datagram, max_datagram);
    }

    void start()
    {
        running_ = true;
        receive();
    }

    /// Closes the transport on its executor; completes there. Signature void(std::error_code).
    template <class Token>
    auto async_stop(Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code)>(
            [this](auto handler) {
                asio::dispatch(transport_.get_executor(), [this, h = std::move(handler)]() mutable {
                    running_ = false;
                    sender_.cancel();
                    transport_.close();
                    std::move(h)(std::error_code{});
                });
            },
            token);
    }

    /// Readable from any thread.
    std::size_t client_count() const { return registered_.load(std::memory_order_relaxed); }
    const forwarder_counters& counters() const noexcept { return counters_; }
    const Transport& transport() const noexcept { return transport_; }

private:
    static constexpr std::size_t burst = 64;           // datagrams per recvmmsg, as the relay's driver
    static constexpr std::size_t max_rounds = 16;      // bursts before going back to the reactor
    static constexpr std::size_t max_datagram = 65'536; // any datagram fits

    void receive()
    {
        if (!running_)
            return;
        transport_.async_receive(std::span<std::byte>(buffer_), from_, [this](std::error_code ec, std::size_t n) {
            if (ec == asio::error::operation_aborted || !running_)
                return;
            if (!ec)
                on_datagram(from_, std::span<const std::byte>(buffer_.data(), n));
            drain();
            flush();
            receive();
        });
    }

    void drain()
    {
        if constexpr (transport::try_receiving_many<Transport>) {
            for (std::size_t round = 0; round < max_rounds && running_; ++round) {
                std::error_code ec;
                const std::size_t n = transport_.try_receive_many(views_, from_many_, sizes_, ec);
                for (std::size_t i = 0; i < n; ++i)
                    if (sizes_[i] <= max_datagram)
                        on_datagram(from_many_[i], std::span<const std::byte>(views_[i].data(), sizes_[i]));
                if (n < burst)
                    return;
                flush();
            }
        } else if constexpr (transport::try_receiving<Transport>) {
            for (std::size_t i = 1; i < burst && running_; ++i) {
                std::error_code ec;
                const std::size_t n = transport_.try_receive(std::span<std::byte>(buffer_), from_, ec);
                if (ec)
                    return;
                on_datagram(from_, std::span<const std::byte>(buffer_.data(), n));
            }
        }
    }

    void on_datagram(const endpoint& from, std::span<const std::byte> d)
    {
        if (d.size() == 1 && d[0] == std::byte{'R'}) {
            if (std::find(clients_.begin(), clients_.end(), from) == clients_.end()) {
                clients_.push_back(from);
                registered_.store(clients_.size(), std::memory_order_relaxed);
            }
            return;
        }
        // One copy of the payload; every other recipient's entry views it (datagram_batch::repeat).
        std::size_t first = out_.size();
        for (const endpoint& e : clients_) {
            if (e == from)
                continue;
            if (first == out_.size())
                out_.push(e, d);
            else
                out_.repeat(first, e);
        }
    }

    void flush()
    {
        if (out_.empty())
            return;
        const auto r = sender_.send(out_, [this](const transport::send_report& later) { count(later); });
        counters_.forwarded.fetch_add(out_.size() - r.failed, std::memory_order_relaxed);
        count(r);
        out_.clear();
    }

    void count(const transport::send_report& r)
    {
        counters_.send_errors.fetch_add(r.failed, std::memory_order_relaxed);
    }

    Transport transport_;
    transport::send_queue<Transport, typename Transport::executor_type> sender_;
    std::vector<endpoint> clients_;
    std::vector<std::byte> buffer_ = std::vector<std::byte>(65'536);
    endpoint from_{};
    std::vector<std::byte> storage_ = std::vector<std::byte>(burst * max_datagram);
    std::array<std::span<std::byte>, burst> views_;
    std::array<endpoint, burst> from_many_;
    std::array<std::size_t, burst> sizes_;
    datagram_batch out_;
    forwarder_counters counters_;
    std::atomic<std::size_t> registered_{0};
    bool running_ = false;
};

// ---- the profiles ----

// Seed keys are generated once per backend (RSA-2048 generation is slow): the relay's pair and one
// client pair that the sender and every recipient use (the relay's work does not depend on which
// key it encrypts to).
template <class Cipher>
struct seed_keys {
    static const Cipher& relay()
    {
        static const Cipher c = Cipher::generate();
        return c;
    }
    static const Cipher& client()
    {
        static const Cipher c = Cipher::generate();
        return c;
    }
};

template <class Cipher>
struct seed_profile {
    using cipher_type = Cipher;
    static Cipher relay_cipher() { return seed_keys<Cipher>::relay(); }
    static Cipher client_cipher() { return seed_keys<Cipher>::client(); }
    static fragmenter client_fragmenter(const Cipher&) { return fragmenter{}; }
    static std::size_t batch(std::size_t size, std::size_t) { return size <= 256 ? 200 : 100; } // ~1000 private ops/s
};

template <class Cipher>
struct secure_profile {
    using cipher_type = Cipher;
    static Cipher relay_cipher() { return Cipher(Cipher::generate()); }
    static Cipher client_cipher() { return Cipher(Cipher::generate()); }
    // Every fragment fits one record in max_datagram (see tlvcast/profile/secure/cipher.hpp).
    static fragmenter client_fragmenter(const Cipher& c)
    {
        return fragmenter(fragmenter::limits_type{}, c.fragment_payload(), c.max_whole());
    }
    static std::size_t batch(std::size_t, std::size_t n) { return n == 1 ? 20000 : 5000; }
};

struct plain_profile {
    using cipher_type = seed::rsa_oaep; // unused: names a type for the relay's alias only
    static std::size_t batch(std::size_t, std::size_t n) { return n == 1 ? 20000 : 5000; }
};

struct no_engine {};

// A client socket: during set-up it runs a client_engine (registration, CONNECT, presence);
// once `counting` is set (on the io thread) it only counts arrivals.
template <class Transport, class Engine>
struct bench_client {
    explicit bench_client(Transport t, std::unique_ptr<Engine> e = nullptr)
        : transport(std::move(t)), engine(std::move(e))
    {
    }

    void start()
    {
        transport.async_receive(std::span<std::byte>(buffer), from, [this](std::error_code ec, std::size_t n) {
            if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
                return;
            if (!ec) {
                if (counting || std::is_same_v<Engine, no_engine>) {
                    arrived.fetch_add(1, std::memory_order_relaxed);
                } else if constexpr (!std::is_same_v<Engine, no_engine>) {
                    engine->handle(from, std::span<const std::byte>(buffer.data(), n), tlvcast::clock::now(), out);
                    flush();
                }
            }
            start();
        });
    }
    // Sends what the engine produced (io thread, or before the io thread runs).
    void flush()
    {
        std::error_code ec;
        if (!out.empty())
            transport.send(out, ec);
        out.clear();
    }

    Transport transport;
    std::unique_ptr<Engine> engine;
    datagram_batch out;
    std::vector<std::byte> buffer = std::vector<std::byte>(65'536);
    endpoint from;
    bool counting = false; // io thread only
    std::atomic<std::uint64_t> arrived{0};
};

// Sends one datagram, retrying briefly while a socket buffer is full. False on any other error.
template <class Transport>
bool send_one(Transport& t, const endpoint& to, std::span<const std::byte> bytes, steady::time_point deadline)
{
    for (;;) {
        std::error_code ec;
        t.send(to, bytes, ec);
        if (!ec)
            return true;
        if (!transport::is_backpressure(ec) || steady::now() > deadline)
            return false;
        std::this_thread::sleep_for(50us);
    }
}

// A message of `size` bytes, distinct per `n` (the first bytes hold n; the rest is not 'R').
std::vector<std::byte> payload(std::size_t size, std::uint64_t n)
{
    std::vector<std::byte> p(size, std::byte{0x5a});
    std::memcpy(p.data(), &n, std::min(size, sizeof n));
    return p;
}

void skip(benchmark::State& state, const std::string& why)
{
    state.SkipWithError(why.c_str());
    for (auto _ : state) {
    }
}

bool netns_allowed()
{
    const char* netns = std::getenv("TLVCAST_NETNS");
    return netns && std::string(netns) == "1";
}

// ---- the benchmark ----

// Arguments: message size in bytes, number of recipients. Profile: plain_profile, or
// seed_profile<C> / secure_profile<C> (relayed by core::basic_relay).
template <class Profile, class Net>
void profile_row(benchmark::State& state, std::string result_key)
{
    constexpr bool plain = std::is_same_v<Profile, plain_profile>;
    using transport_type = typename Net::transport_type;

    if (Net::needs_namespace && !netns_allowed())
        return skip(state, "needs a private network namespace: run bench/netns_relay.sh --profiles");
    const auto size = static_cast<std::size_t>(state.range(0));
    const auto n_recipients = static_cast<std::size_t>(state.range(1));
    const std::size_t batch = Profile::batch(size, n_recipients);
    const std::size_t total = warm_up + batch * static_cast<std::size_t>(iterations);

    Net net;
    const endpoint to = net.destination();
    asio::io_context ctx;
    auto work = asio::make_work_guard(ctx);

    using relay_cipher = typename Profile::cipher_type;
    using engine_type = std::conditional_t<plain, no_engine, core::client_engine<relay_cipher, fragmenter>>;
    using client_type = bench_client<transport_type, engine_type>;
    using relay_type = std::conditional_t<plain, plain_forwarder<transport_type>,
                                          core::basic_relay<transport_type, relay_cipher, fragmenter>>;

    // Either relay, built from the net in place (neither is movable once started).
    struct relay_holder {
        relay_holder(Net& n, asio::io_context& c) : r(make(n, c)) {}
        static relay_type make(Net& n, asio::io_context& c)
        {
            if constexpr (plain) {
                return relay_type(n.make_relay(c), 0, 1 << 16);
            } else {
                core::relay_options ropt;
                ropt.client_timeout = std::chrono::hours(1); // recipients stay silent for the whole run
                core::relay_driver_options driver;
                driver.threads = 0;          // one worker per core
                driver.max_queued = 1 << 16; // the window keeps far fewer waiting; overloaded must stay 0
                auto rc = Profile::relay_cipher();
                auto f = Profile::client_fragmenter(rc); // the relay splits as its clients do
                return relay_type(n.make_relay(c), std::move(rc), std::move(f), ropt, driver);
            }
        }
        relay_type r;
    };
    std::optional<relay_holder> holder;
    std::vector<std::unique_ptr<client_type>> clients; // [0] is the sender
    core::client_options copt;
    copt.relay = to;
    copt.keepalive = std::chrono::hours(1); // nothing but relayed messages during the timed loop
    copt.probe_interval = std::chrono::hours(1);
    copt.relay_timeout = std::chrono::hours(2);
    std::string failure;
    try {
        holder.emplace(net, ctx);
        for (std::size_t i = 0; i < n_recipients + 1; ++i) {
            std::unique_ptr<engine_type> engine;
            if constexpr (!plain) {
                auto c = Profile::client_cipher();
                auto f = Profile::client_fragmenter(c);
                engine = std::make_unique<engine_type>(std::move(c), std::move(f), copt);
            }
            clients.push_back(std::make_unique<client_type>(net.make_client(ctx), std::move(engine)));
        }
    } catch (const std::exception& e) {
        return skip(state, e.what());
    }
    relay_type& relay = holder->r;
    relay.start();
    for (auto& c : clients)
        c->start();
    std::thread io([&ctx] { ctx.run(); });

    // Runs `f` on the io thread and waits: clients with a pending receive are used there only.
    auto on_io = [&ctx](auto f) {
        std::promise<void> done;
        asio::post(ctx, [&] {
            f();
            done.set_value();
        });
        done.get_future().wait();
    };
    auto counter = [&relay](core::relay_counter c) -> std::uint64_t {
        if constexpr (plain) {
            (void)relay; // the forwarder has no relay counters
            return 0;
        } else {
            return relay.engine().counters().get(c);
        }
    };

    // Set-up: registration (and for the relays CONNECT, presence), bounded to 10 s.
    const std::uint64_t presence_expected = n_recipients * (n_recipients + 1);
    {
        const auto by = steady::now() + 10s;
        bool ok = false;
        bool first = true;
        while (!ok && steady::now() < by) {
            on_io([&] {
                for (auto& c : clients) {
                    if constexpr (plain) {
                        std::error_code ec;
                        const std::byte r{'R'};
                        c->transport.send(to, std::span(&r, 1), ec);
                    } else {
                        if (first)
                            c->engine->start(tlvcast::clock::now(), c->out);
                        else
                            c->engine->on_timer(tlvcast::clock::now(), c->out);
                        c->flush();
                    }
                }
            });
            first = false;
            for (int i = 0; i < 50 && !ok; ++i) {
                std::this_thread::sleep_for(10ms);
                std::size_t registered = 0;
                if constexpr (plain)
                    registered = relay.client_count();
                else
                    registered = counter(core::relay_counter::registrations);
                ok = registered == n_recipients + 1;
                if constexpr (!plain)
                    ok = ok && counter(core::relay_counter::messages_in) >= n_recipients + 1 &&
                         counter(core::relay_counter::presence_sent) >= presence_expected;
            }
        }
        if (!ok)
            failure = "set-up (registration, CONNECT, presence) did not complete in 10 s";
    }
    std::this_thread::sleep_for(50ms); // the last presence notices arrive
    on_io([&] {
        for (auto& c : clients) {
            c->counting = true;
            c->arrived = 0;
        }
    });

    // The sender's datagrams, built now: every message distinct, in order (records' sequence numbers).
    datagram_batch datagrams;
    std::vector<std::size_t> first; // index of each message's first datagram; one past the end last
    for (std::size_t m = 0; failure.empty() && m < total; ++m) {
        first.push_back(datagrams.size());
        const auto p = payload(size, m);
        if constexpr (plain) {
            datagrams.push(to, p);
        } else {
            std::error_code ec;
            clients[0]->engine->send(p, tlvcast::clock::now(), datagrams, ec);
            if (ec)
                failure = "the sender's engine refused a message: " + ec.message();
        }
    }
    first.push_back(datagrams.size());
    const std::size_t per_message = first.size() > 1 ? first[1] - first[0] : 1;

    auto min_arrived = [&clients] {
        std::uint64_t m = std::numeric_limits<std::uint64_t>::max();
        for (std::size_t i = 1; i < clients.size(); ++i)
            m = std::min(m, clients[i]->arrived.load(std::memory_order_relaxed));
        return m;
    };
    std::size_t next = 0;
    // Sends messages [next, next + count) with at most `window` messages not yet seen by every
    // recipient (`out_per_message` datagrams each), and waits for all. False with `failure` set.
    auto run = [&](std::size_t count, std::size_t out_per_message, std::size_t window) {
        const std::uint64_t base = min_arrived();
        const auto deadline = steady::now() + wait_limit;
        std::size_t sent = 0;
        while (failure.empty()) {
            const std::uint64_t seen = (min_arrived() - base) / out_per_message;
            if (sent == count && seen >= count)
                return true;
            if (sent < count && sent - seen < window) {
                const std::size_t m = next++;
                for (std::size_t d = first[m]; d < first[m + 1]; ++d)
                    if (!send_one(clients[0]->transport, to, datagrams[d].bytes, deadline)) {
                        failure = "the sender's transport refused a datagram";
                        return false;
                    }
                ++sent;
                continue;
            }
            if (steady::now() > deadline)
                failure = "not every recipient counted every message within 30 s (lost)";
            else
                std::this_thread::sleep_for(100us); // sleep, not spin: the relay needs both cores
        }
        return false;
    };

    // Warm-up: one message at a time, to learn how many datagrams each recipient gets per message.
    std::size_t out_per_message = 1;
    if (failure.empty()) {
        for (std::size_t w = 0; w < warm_up && failure.empty(); ++w)
            run(1, 1, 1);
        std::this_thread::sleep_for(20ms);
        const std::uint64_t got = clients[1]->arrived.load();
        out_per_message = static_cast<std::size_t>(got / warm_up);
        if (out_per_message == 0 || got % warm_up != 0)
            failure = "warm-up: " + std::to_string(got) + " datagrams for " + std::to_string(warm_up) + " messages";
    }
    const std::size_t window = std::max<std::size_t>(4, in_flight_datagrams / std::max(per_message, out_per_message));

    std::uint64_t messages = 0;
    std::chrono::duration<double> busy{};
    double cpu = 0;
    for (auto _ : state) {
        if (!failure.empty())
            break;
        const auto start = steady::now();
        const double cpu_start = process_cpu_seconds();
        run(batch, out_per_message, window);
        busy += steady::now() - start;
        cpu += process_cpu_seconds() - cpu_start;
        messages += batch;
    }

    relay.async_stop(asio::use_future).get(); // while the io thread runs
    on_io([&] {
        for (auto& c : clients)
            c->transport.close();
    });
    work.reset();
    ctx.stop();
    io.join();

    // No message lost: every recipient got every message's datagrams, nothing refused or dropped.
    const std::uint64_t all = messages + warm_up;
    std::uint64_t dropped = Net::drops(relay.transport());
    for (std::size_t i = 0; i < clients.size(); ++i) {
        dropped += Net::drops(clients[i]->transport);
        const std::uint64_t want = i == 0 ? 0 : all * out_per_message;
        if (failure.empty() && clients[i]->arrived.load() != want)
            failure = "client " + std::to_string(i) + " counted " + std::to_string(clients[i]->arrived.load()) +
                      " datagrams of " + std::to_string(want);
    }
    if (failure.empty()) {
        if constexpr (plain) {
            const auto& c = relay.counters();
            if (c.overloaded.load() != 0)
                failure = "forwarder: overloaded";
            else if (c.send_errors.load() != 0)
                failure = "forwarder: send errors";
            else if (c.forwarded.load() != all * n_recipients)
                failure = "forwarder: forwarded count does not match";
        } else {
            if (counter(core::relay_counter::undecryptable) != 0)
                failure = "relay: undecryptable";
            else if (counter(core::relay_counter::overloaded) != 0)
                failure = "relay: overloaded (dropped before a worker)";
            else if (counter(core::relay_counter::send_errors) != 0)
                failure = "relay: send errors";
            else if (counter(core::relay_counter::reassembly_dropped) != 0)
                failure = "relay: reassembly dropped fragments";
            else if (counter(core::relay_counter::messages_relayed) != all * n_recipients)
                failure = "relay: messages_relayed does not match";
        }
        if (failure.empty() && dropped != 0)
            failure = "memory transport: a receive queue was full";
    }
    if (!failure.empty())
        return state.SkipWithError(failure.c_str());

    const double rate = static_cast<double>(messages) / busy.count();
    const double cpu_per_msg = cpu / static_cast<double>(messages);
    results()[result_key] = {rate, cpu_per_msg};
    state.SetItemsProcessed(static_cast<std::int64_t>(messages));
    state.counters["deliveries/s"] =
        benchmark::Counter(static_cast<double>(messages * n_recipients), benchmark::Counter::kIsRate);
    state.counters["cpu_us/msg"] = cpu_per_msg * 1e6;
    state.counters["dgrams_in/msg"] = static_cast<double>(per_message);
    state.counters["dgrams_out/msg"] = static_cast<double>(out_per_message * n_recipients);
}

// ---- the targets ----

// Reads the rows of `net` that ran before it (same process) and reports, for 256-byte messages to
// 1 recipient: secure/plain (target >= 0.5), secure/seed (>= 30) per backend, and seed
// OpenSSL/Crypto++ (>= 3); each by wall-clock rate, and by CPU per message (`_cpu`: the same ratio
// of CPU time per message, which other processes' load does not change).
void targets(benchmark::State& state, std::string net)
{
    const auto& r = results();
    auto get = [&](const std::string& profile) -> const row_result* {
        const auto it = r.find(key(profile, net, 256, 1));
        return it == r.end() ? nullptr : &it->second;
    };
    for (auto _ : state) {
    }
    auto ratio = [&](const std::string& name, const std::string& a, const std::string& b) {
        const row_result* x = get(a);
        const row_result* y = get(b);
        if (!x || !y)
            return;
        state.counters[name] = x->per_second / y->per_second;
        state.counters[name + "_cpu"] = y->cpu_per_msg / x->cpu_per_msg;
    };
    ratio("cryptopp_secure/plain", "secure/cryptopp", "plain");
    ratio("cryptopp_secure/seed", "secure/cryptopp", "seed/cryptopp");
    ratio("openssl_secure/plain", "secure/openssl", "plain");
    ratio("openssl_secure/seed", "secure/openssl", "seed/openssl");
    ratio("seed_openssl/cryptopp", "seed/openssl", "seed/cryptopp");
    if (state.counters.empty())
        state.SkipWithError("no 256-byte, 1-recipient rows ran before this one in this process");
}

// ---- registration, in run order: per net, plain, secure, seed, then the targets ----

template <class Profile, class Net>
void add_rows(const std::string& profile)
{
    for (const std::int64_t size : {256, 1200})
        for (const std::int64_t n : {1, 10}) {
            const std::string name = profile + "/" + Net::name;
            const std::string k = key(profile, Net::name, static_cast<std::size_t>(size), static_cast<std::size_t>(n));
            benchmark::RegisterBenchmark(name.c_str(), [k](benchmark::State& s) { profile_row<Profile, Net>(s, k); })
                ->ArgNames({"bytes", "recipients"})
                ->Args({size, n})
                ->Iterations(iterations)
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
        }
}

template <class Net>
void add_net()
{
    add_rows<plain_profile, Net>("plain");
#ifdef TLVCAST_HAS_CRYPTOPP
    add_rows<secure_profile<profile::secure::basic_cipher<crypto::cryptopp_suite, crypto::cryptopp_aes256_gcm>>, Net>(
        "secure/cryptopp");
#endif
#ifdef TLVCAST_HAS_OPENSSL
    add_rows<secure_profile<profile::secure::basic_cipher<crypto::openssl_suite, crypto::openssl_aes256_gcm>>, Net>(
        "secure/openssl");
#endif
#ifdef TLVCAST_HAS_CRYPTOPP
    add_rows<seed_profile<seed::basic_rsa_oaep<crypto::cryptopp_rsa>>, Net>("seed/cryptopp");
#endif
#ifdef TLVCAST_HAS_OPENSSL
    add_rows<seed_profile<seed::basic_rsa_oaep<crypto::openssl_rsa>>, Net>("seed/openssl");
#endif
    const std::string name = std::string("targets/") + Net::name;
    benchmark::RegisterBenchmark(name.c_str(), [](benchmark::State& s) { targets(s, Net::name); })->Iterations(1);
}

const bool registered = [] {
    add_net<memory_net>();
    add_net<udp_net>();
    return true;
}();

} // namespace
