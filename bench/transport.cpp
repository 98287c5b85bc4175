// SPDX-License-Identifier: BSL-1.0
// Transport throughput: in-memory datagrams/s; UDP on 127.0.0.1, single sends vs sendmmsg batches of 32.
#include <tlvcast/transport/asio_udp.hpp>
#include <tlvcast/transport/memory.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>
#include <functional>
#include <vector>

namespace {

using tlvcast::datagram_batch;
using tlvcast::endpoint;
namespace tt = tlvcast::transport;

constexpr std::size_t burst = 32;          // datagrams per iteration
constexpr std::size_t datagram_size = 256; // bytes each

/// Memory transport: a burst of sends, then the receiver's async_receive loop drains it.
void bm_memory(benchmark::State& state)
{
    asio::io_context io;
    tt::memory_hub hub;
    tt::memory_transport tx(hub, io);
    tt::memory_options big;
    big.queue_limit = 4096;
    tt::memory_transport rx(hub, io, big);
    const std::vector<std::byte> payload(datagram_size, std::byte{0x5a});
    std::vector<std::byte> buf(tt::max_udp_payload);
    endpoint from;
    std::size_t received = 0;
    std::function<void(std::error_code, std::size_t)> on_receive = [&](std::error_code ec, std::size_t) {
        if (ec)
            return;
        ++received;
        rx.async_receive(buf, from, on_receive);
    };
    rx.async_receive(buf, from, on_receive);
    const endpoint to = rx.local_endpoint();
    std::error_code ec;
    for (auto _ : state) {
        const std::size_t target = received + burst;
        for (std::size_t i = 0; i < burst; ++i)
            tx.send(to, payload, ec);
        while (received < target && !ec)
            io.poll();
    }
    if (ec || rx.stats().dropped_queue_full != 0)
        state.SkipWithError("memory transport lost datagrams");
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * burst));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * burst * datagram_size));
    rx.close();
    io.poll();
}

/// Drains `n` datagrams from a client-side socket synchronously (it is non-blocking: spins on
/// would_block, bounded). Returns how many arrived.
std::size_t drain(tt::asio_udp& rx, std::size_t n, std::vector<std::byte>& buf)
{
    asio::ip::udp::endpoint from;
    std::size_t got = 0;
    for (std::size_t spins = 0; got < n && spins < 1'000'000; ++spins) {
        std::error_code ec;
        rx.socket().receive_from(asio::buffer(buf), from, 0, ec);
        if (!ec)
            ++got;
    }
    return got;
}

/// UDP over 127.0.0.1: `burst` datagrams per iteration, one send(2) each (range(0) == 0) or one
/// sendmmsg(2) for all (range(0) == 1). The receiver drains them with plain recvfrom.
void bm_udp(benchmark::State& state)
{
    const bool batched = state.range(0) == 1;
    asio::io_context io;
    auto tx = tt::asio_udp::open_client(io);
    auto rx = tt::asio_udp::open_client(io);
    const endpoint to{0x7f000001, rx.local_endpoint().port}; // loopback only
    const std::vector<std::byte> payload(datagram_size, std::byte{0x5a});
    datagram_batch batch;
    for (std::size_t i = 0; i < burst; ++i)
        batch.push(to, payload);
    std::vector<std::byte> buf(tt::max_udp_payload);
    std::size_t lost = 0;
    for (auto _ : state) {
        std::error_code ec;
        if (batched) {
            tx.send(batch, ec);
        } else {
            for (std::size_t i = 0; i < burst; ++i)
                tx.send(to, payload, ec);
        }
        lost += burst - drain(rx, burst, buf);
    }
    state.counters["lost"] = static_cast<double>(lost);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * burst));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * burst * datagram_size));
}

/// The send side alone: `burst` datagrams per iteration to a loopback port whose socket is
/// drained only every 64 iterations (2,048 x 256 B fit its 4 MiB buffer), so the figure is the
/// sender's system-call cost.
void bm_udp_send_only(benchmark::State& state)
{
    const bool batched = state.range(0) == 1;
    asio::io_context io;
    auto tx = tt::asio_udp::open_client(io);
    auto rx = tt::asio_udp::open_client(io);
    const endpoint to{0x7f000001, rx.local_endpoint().port};
    const std::vector<std::byte> payload(datagram_size, std::byte{0x5a});
    datagram_batch batch;
    for (std::size_t i = 0; i < burst; ++i)
        batch.push(to, payload);
    std::vector<std::byte> buf(tt::max_udp_payload);
    std::size_t n = 0;
    for (auto _ : state) {
        std::error_code ec;
        if (batched) {
            tx.send(batch, ec);
        } else {
            for (std::size_t i = 0; i < burst; ++i)
                tx.send(to, payload, ec);
        }
        if (++n % 64 == 0) {
            state.PauseTiming();
            drain(rx, 64 * burst, buf);
            state.ResumeTiming();
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * burst));
}

} // namespace

// Bounded iteration counts: every run sends a known number of datagrams, to 127.0.0.1 or in memory only.
BENCHMARK(bm_memory)->Iterations(20'000);
BENCHMARK(bm_udp)->Arg(0)->Arg(1)->ArgName("sendmmsg")->Iterations(5'000);
BENCHMARK(bm_udp_send_only)->Arg(0)->Arg(1)->ArgName("sendmmsg")->Iterations(5'120);
