// SPDX-License-Identifier: BSL-1.0
// Relay throughput: messages per second through core::basic_relay to 1..30 recipients, memory transport and UDP.
//
// One sender and N recipients register with a relay (REGISTER_PUBLIC_KEY from their own endpoints);
// the sender's sealed FRAGMENT datagrams are built before timing, and recipients only count what
// arrives, so both cores are left to the relay. Each iteration sends K messages, keeping at most
// about 64 datagrams in flight (a closed loop: an open-loop flood would only measure queue drops),
// and waits until every recipient has counted K. Alongside: one core's rate of RSA-2048
// private-key operations, the relay's unit of work, so that the ratio (counter vs_1core) is visible.
#include <tlvcast/core/relay.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>
#include <tlvcast/profile/seed/rsa_oaep.hpp>
#include <tlvcast/transport/asio_udp.hpp>
#include <tlvcast/transport/memory.hpp>
#include <tlvcast/wire/tlv.hpp>
#include <tlvcast/wire/types.hpp>

#ifdef TLVCAST_HAS_OPENSSL
#include <tlvcast/crypto/openssl_rsa.hpp>
#endif

#include <asio.hpp>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <future>
#include <limits>
#include <memory>
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
namespace seed = tlvcast::seed;
namespace transport = tlvcast::transport;
namespace wire = tlvcast::wire;
using tlvcast::endpoint;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using fragmenter = tlvcast::fragment::seed_fragmenter;

constexpr std::int64_t iterations = 5;                 // timed batches per benchmark
constexpr auto wait_limit = std::chrono::seconds(30);  // per batch: beyond, the run is reported as failed
constexpr std::size_t in_flight_datagrams = 64;        // fits the default UDP receive buffer with room
constexpr std::uint16_t udp_port = 25'007;             // inside the private namespace: nothing else there

// Stops the benchmark loudly: a benchmark that measures a failing path would report nonsense.
void check(const std::error_code& ec)
{
    if (ec)
        std::abort();
}

// Keys are generated once per backend, outside every timed loop: the relay's pair, and one client
// pair whose public key the sender and every recipient register (the relay's work per recipient
// does not depend on which key it encrypts to).
template <class Cipher>
struct keys {
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
    static typename Cipher::client_session client_session()
    {
        typename Cipher::client_session s;
        std::error_code ec;
        s.relay_key = Cipher::backend_type::import_public_pem(wire::as_bytes(relay().public_pem()), ec);
        check(ec);
        return s;
    }
};

// A client's blob of `size` bytes, distinct per `n` (the first bytes hold n).
template <class Cipher>
std::vector<std::byte> sealed(std::size_t size, std::uint64_t n, const typename Cipher::client_session& s)
{
    std::vector<std::byte> plain(size, std::byte{0x5a}), blob;
    std::memcpy(plain.data(), &n, std::min(size, sizeof n));
    std::error_code ec;
    keys<Cipher>::client().seal(s, tlvcast::crypto::message_kind::data, plain, blob, ec);
    check(ec);
    return blob;
}

// ---- one core's private-key rate ----

// Opening one 190-byte block (the relay's work per small message, minus the re-encryption); with 2
// threads, the most two cores give: the ceiling of the relay's rate on this machine.
template <class Cipher>
void rsa_private_op(benchmark::State& state)
{
    const Cipher& relay = keys<Cipher>::relay();
    const auto blob = sealed<Cipher>(190, 1, keys<Cipher>::client_session());
    const typename Cipher::peer_session peer{};
    std::vector<std::byte> out;
    std::error_code ec;
    for (auto _ : state) {
        relay.open(peer, blob, out, ec);
        check(ec);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations());
}

// CPU time used by this thread or by the whole process (all threads), in seconds.
double cpu_seconds(clockid_t clock)
{
    timespec ts{};
    ::clock_gettime(clock, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct private_rate {
    double per_second;     // operations per second of wall time
    double cpu_per_op;     // CPU seconds per operation (unaffected by other processes' load)
};

// The same rate over 0.3 s of opens, measured in each relay benchmark's set-up (so under the same
// machine load as that run), for the vs_1core counter.
template <class Cipher>
private_rate single_core_private_rate()
{
    const Cipher& relay = keys<Cipher>::relay();
    const auto blob = sealed<Cipher>(190, 2, keys<Cipher>::client_session());
    const typename Cipher::peer_session peer{};
    std::vector<std::byte> out;
    std::error_code ec;
    relay.open(peer, blob, out, ec); // warm-up: thread-local generator, caches
    const auto start = steady::now();
    const double cpu_start = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    std::uint64_t n = 0;
    std::chrono::duration<double> spent{};
    do {
        relay.open(peer, blob, out, ec);
        check(ec);
        ++n;
        spent = steady::now() - start;
    } while (spent < 300ms);
    const double cpu = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - cpu_start;
    return {static_cast<double>(n) / spent.count(), cpu / static_cast<double>(n)};
}

// ---- the two networks ----

// In-process: queues large enough that nothing is dropped (the check below proves it).
struct memory_net {
    using transport_type = transport::memory_transport;
    static constexpr bool needs_namespace = false;

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

    transport::asio_udp_options options = [] {
        transport::asio_udp_options o;
        o.port = udp_port;
        return o;
    }();

    transport_type make_relay(asio::io_context& ctx) { return transport_type::bind_group(ctx, options); }
    transport_type make_client(asio::io_context& ctx) { return transport_type::open_client(ctx, options); }
    endpoint destination() const { return options.group_endpoint(); }
    // The kernel's drops cannot be read per socket here: they show up as missing deliveries.
    static std::uint64_t drops(const transport_type&) { return 0; }
};

// A recipient that only counts the relayed datagrams it receives (SENDER_INFO), on the io thread.
template <class Transport>
struct counting_receiver {
    explicit counting_receiver(Transport t) : transport(std::move(t)) {}

    void start()
    {
        transport.async_receive(std::span<std::byte>(buffer), from, [this](std::error_code ec, std::size_t n) {
            if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
                return;
            if (!ec) {
                std::error_code parse;
                const wire::tlv t = wire::read_outer(std::span<const std::byte>(buffer).first(n), parse);
                auto& c = !parse && t.type() == wire::tlv_type::sender_info ? relayed : other;
                c.fetch_add(1, std::memory_order_relaxed);
            }
            start();
        });
    }

    Transport transport;
    std::vector<std::byte> buffer = std::vector<std::byte>(65'536);
    endpoint from;
    std::atomic<std::uint64_t> relayed{0}, other{0};
};

// Sends one datagram, retrying briefly while a socket buffer is full. Returns false on any other error.
template <class Transport>
bool send_one(Transport& t, const endpoint& to, std::span<const std::byte> bytes, steady::time_point deadline)
{
    for (;;) {
        std::error_code ec;
        t.send(to, bytes, ec);
        if (!ec)
            return true;
        if ((ec != asio::error::would_block && ec != asio::error::no_buffer_space) || steady::now() > deadline)
            return false;
        std::this_thread::sleep_for(50us);
    }
}

// ---- the relay benchmark ----

// Arguments: message size in bytes, number of recipients.
template <class Cipher, class Net>
void relay_throughput(benchmark::State& state)
{
    using transport_type = typename Net::transport_type;
    using relay_type = core::basic_relay<transport_type, Cipher, fragmenter>;
    using receiver = counting_receiver<transport_type>;

    if constexpr (Net::needs_namespace) {
        const char* netns = std::getenv("TLVCAST_NETNS");
        if (!netns || std::string(netns) != "1") {
            state.SkipWithError("needs a private network namespace: run bench/netns_relay.sh");
            for (auto _ : state) {
            }
            return;
        }
    }
    const auto size = static_cast<std::size_t>(state.range(0));
    const auto n_recipients = static_cast<std::size_t>(state.range(1));
    const std::size_t batch = size <= 190 ? 512 : 96; // messages per timed iteration (~0.2-1 s each)

    Net net;
    const endpoint to = net.destination();

    // The sender's datagrams, all distinct messages (the reassembler drops recently completed msg_ids).
    const auto session = keys<Cipher>::client_session();
    fragmenter split;
    tlvcast::datagram_batch datagrams;
    std::vector<std::size_t> first; // index of each message's first datagram; one past the end last
    for (std::size_t m = 0; m < batch * iterations; ++m) {
        first.push_back(datagrams.size());
        std::error_code ec;
        split.split(sealed<Cipher>(size, m, session), to, tlvcast::time_point{}, datagrams, ec);
        check(ec);
    }
    first.push_back(datagrams.size());
    const std::size_t per_message = first[1] - first[0];
    const std::size_t window = std::max<std::size_t>(4, in_flight_datagrams / per_message);
    const private_rate one_core = single_core_private_rate<Cipher>();

    std::vector<std::byte> hello;
    {
        std::error_code ec;
        wire::tlv_appender(hello).put(wire::tlv_type::register_public_key,
                                      wire::as_bytes(keys<Cipher>::client().public_pem()), ec);
        check(ec);
    }

    asio::io_context ctx;
    auto work = asio::make_work_guard(ctx);
    core::relay_options relay_opt;
    relay_opt.client_timeout = std::chrono::hours(1); // recipients stay silent for the whole run
    core::relay_driver_options driver;
    driver.threads = 0;             // one worker per core
    driver.max_queued = 1 << 16;    // the window keeps far fewer waiting; overloaded must stay 0
    std::optional<relay_type> relay;
    std::vector<std::unique_ptr<receiver>> recipients;
    std::optional<transport_type> sender;
    try {
        relay.emplace(net.make_relay(ctx), keys<Cipher>::relay(), fragmenter{}, relay_opt, driver);
        for (std::size_t i = 0; i < n_recipients; ++i)
            recipients.push_back(std::make_unique<receiver>(net.make_client(ctx)));
        sender.emplace(net.make_client(ctx));
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        for (auto _ : state) {
        }
        return;
    }
    relay->start();
    for (auto& r : recipients)
        r->start();
    std::thread io([&ctx] { ctx.run(); });

    // Runs `f` on the io thread and waits: sockets with a pending receive are used there only.
    auto on_io = [&ctx](auto f) {
        std::promise<void> done;
        asio::post(ctx, [&] {
            f();
            done.set_value();
        });
        done.get_future().wait();
    };
    auto min_relayed = [&recipients] {
        std::uint64_t m = std::numeric_limits<std::uint64_t>::max();
        for (const auto& r : recipients)
            m = std::min(m, r->relayed.load(std::memory_order_relaxed));
        return m;
    };

    // Registration: everyone sends REGISTER_PUBLIC_KEY, again every 0.5 s, for at most 5 s.
    const auto registered_by = steady::now() + 5s;
    bool registered = false;
    while (!registered && steady::now() < registered_by) {
        on_io([&] {
            std::error_code ec;
            for (auto& r : recipients)
                r->transport.send(to, hello, ec);
            sender->send(to, hello, ec);
        });
        for (int i = 0; i < 50 && !registered; ++i) {
            std::this_thread::sleep_for(10ms);
            registered = relay->engine().client_count() == n_recipients + 1;
        }
    }

    std::string failure = registered ? "" : "registration did not complete in 5 s";
    std::uint64_t messages = 0;
    std::chrono::duration<double> busy{};
    double cpu = 0; // the whole process's CPU time in the timed batches: relay, recipients, sender
    std::size_t next = 0;
    for (auto _ : state) {
        if (!failure.empty())
            break;
        const std::uint64_t base = min_relayed();
        const auto start = steady::now();
        const double cpu_start = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
        const auto deadline = start + wait_limit;
        std::size_t sent = 0;
        while (failure.empty() && (sent < batch || min_relayed() < base + batch)) {
            if (sent < batch && sent - (min_relayed() - base) < window) {
                const std::size_t m = next++ % (first.size() - 1);
                for (std::size_t d = first[m]; d < first[m + 1]; ++d) {
                    if (!send_one(*sender, to, datagrams[d].bytes, deadline)) {
                        failure = "the sender's transport refused a datagram";
                        break;
                    }
                }
                ++sent;
                continue;
            }
            if (steady::now() > deadline)
                failure = "not every recipient counted every message within 30 s (lost)";
            else
                std::this_thread::sleep_for(200us); // sleep, not spin: the relay needs both cores
        }
        busy += steady::now() - start;
        cpu += cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
        messages += batch;
    }

    relay->async_stop(asio::use_future).get(); // while the io thread runs
    on_io([&] {
        for (auto& r : recipients)
            r->transport.close();
        sender->close();
    });
    work.reset();
    ctx.stop();
    io.join();

    // No message lost: nothing refused or dropped anywhere, and every recipient got every message once.
    const auto& c = relay->engine().counters();
    std::uint64_t dropped = Net::drops(relay->transport()), stray = 0;
    for (const auto& r : recipients) {
        dropped += Net::drops(r->transport);
        stray += r->other.load();
        if (failure.empty() && r->relayed.load() != messages)
            failure = "a recipient counted " + std::to_string(r->relayed.load()) + " of " + std::to_string(messages);
    }
    if (failure.empty()) {
        if (c.get(core::relay_counter::undecryptable) != 0)
            failure = "relay: undecryptable messages";
        else if (c.get(core::relay_counter::overloaded) != 0)
            failure = "relay: overloaded (datagrams dropped before a worker)";
        else if (c.get(core::relay_counter::send_errors) != 0)
            failure = "relay: send errors";
        else if (c.get(core::relay_counter::reassembly_dropped) != 0)
            failure = "relay: reassembly dropped fragments";
        else if (c.get(core::relay_counter::messages_relayed) != messages * n_recipients)
            failure = "relay: messages_relayed does not match";
        else if (dropped != 0)
            failure = "memory transport: receive queue full";
        else if (stray != 0)
            failure = "a recipient received something other than SENDER_INFO";
    }
    if (!failure.empty()) {
        state.SkipWithError(failure.c_str());
        return;
    }

    const double rate = static_cast<double>(messages) / busy.count();
    state.SetItemsProcessed(static_cast<std::int64_t>(messages));
    state.counters["deliveries/s"] =
        benchmark::Counter(static_cast<double>(messages * n_recipients), benchmark::Counter::kIsRate);
    state.counters["1core_priv/s"] = one_core.per_second;
    state.counters["vs_1core"] = rate / one_core.per_second;
    // Load-independent view: private-key CPU time per message (one op per 190-byte block) over all
    // CPU time spent per message.
    // On 2 otherwise idle cores the relay can reach at most 2 x cpu_eff x the single-core rate / blocks.
    const double cpu_per_message = cpu / static_cast<double>(messages);
    state.counters["cpu_ms/msg"] = cpu_per_message * 1e3;
    const std::size_t blocks = std::max<std::size_t>(1, (size + 189) / 190); // private-key ops per message
    state.counters["cpu_eff"] = static_cast<double>(blocks) * one_core.cpu_per_op / cpu_per_message;
    state.counters["dgrams/msg"] = static_cast<double>(per_message);
}

void relay_args(benchmark::internal::Benchmark* b)
{
    b->ArgNames({"bytes", "recipients"})
        ->ArgsProduct({{190, 1000}, {1, 3, 10, 30}})
        ->Iterations(iterations)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
}

#ifdef TLVCAST_HAS_CRYPTOPP
using cryptopp_cipher = seed::basic_rsa_oaep<crypto::cryptopp_rsa>;

BENCHMARK(rsa_private_op<cryptopp_cipher>)->Name("cryptopp/rsa_private_op")->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK(relay_throughput<cryptopp_cipher, memory_net>)->Name("cryptopp/relay/memory")->Apply(relay_args);
BENCHMARK(relay_throughput<cryptopp_cipher, udp_net>)->Name("cryptopp/relay/udp")->Apply(relay_args);
#endif

#ifdef TLVCAST_HAS_OPENSSL
using openssl_cipher = seed::basic_rsa_oaep<crypto::openssl_rsa>;

BENCHMARK(rsa_private_op<openssl_cipher>)->Name("openssl/rsa_private_op")->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK(relay_throughput<openssl_cipher, memory_net>)->Name("openssl/relay/memory")->Apply(relay_args);
BENCHMARK(relay_throughput<openssl_cipher, udp_net>)->Name("openssl/relay/udp")->Apply(relay_args);
#endif

} // namespace
