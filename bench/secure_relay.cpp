// SPDX-License-Identifier: BSL-1.0
// The secure relay's cost per message, engine only (no sockets): one client sends, N clients
// receive; the relay opens each record and reseals the blob once per recipient. One message per
// record, or as many per record as one SECURE_BATCH datagram holds (send_batch, as
// core::basic_batcher sends them): CPU time per message is what batching divides.
#include "secure/secure_sim.hpp"

#include <tlvcast/core/detail/pipeline.hpp>
#include <tlvcast/profile/secure/cipher.hpp>

#include <benchmark/benchmark.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace tlvcast;

namespace {

using sec = profile::secure::cipher;
using net_type = test::secure_net<sec>;

crypto::ed25519_keypair identity_of(std::size_t n)
{
    std::array<std::byte, 32> seed{};
    seed[0] = static_cast<std::byte>(n);
    seed[1] = static_cast<std::byte>(n >> 8);
    seed[2] = std::byte{0x55};
    return crypto::ed25519_from_seed<crypto::default_suite>(seed);
}

// recipients + 1 clients registered through the simulated relay.
std::unique_ptr<net_type> registered(std::size_t recipients)
{
    auto net = std::make_unique<net_type>(sec(identity_of(999)));
    for (std::size_t i = 0; i <= recipients; ++i)
        net->add_client(sec(identity_of(i)));
    net->start_all();
    net->run_for(std::chrono::seconds(1));
    for (std::size_t i = 0; i <= recipients; ++i)
        if (net->client(i).current_state() != net_type::client_engine::state::established)
            throw std::runtime_error("bench_secure_relay: a client did not register");
    return net;
}

// Client 0's records for the relay, sealed ahead (the sender's cost): about 2048 messages of
// `size` bytes, one per record or a batch per record. Returns the records and messages per record.
std::pair<std::vector<std::vector<std::byte>>, std::size_t> records_of(net_type& net, std::size_t size, bool batched)
{
    const std::string text(size, 'x');
    const std::span<const std::byte> one = std::as_bytes(std::span(text));
    std::size_t per_record = 1;
    if (batched) { // how many one datagram holds: probed once on a scratch blob
        const std::vector<std::span<const std::byte>> many(profile::secure::max_batch_messages, one);
        std::vector<std::byte> blob;
        std::error_code ec;
        const auto& c = net.client(0);
        per_record = c.cipher().seal_batch(c.session(), many, core::detail::one_datagram_blob(c.fragmenter()), blob, ec);
        if (ec || per_record < 2)
            throw std::runtime_error("bench_secure_relay: no batch");
    }
    const std::vector<std::span<const std::byte>> views(per_record, one);
    std::vector<std::vector<std::byte>> records;
    datagram_batch out;
    for (std::size_t made = 0; made < 2048; made += per_record) {
        out.clear();
        std::error_code ec;
        if (batched)
            net.client(0).send_batch(views, net.now(), out, ec);
        else
            net.client(0).send(one, net.now(), out, ec);
        if (ec || out.size() != 1)
            throw std::runtime_error("bench_secure_relay: a send is not one record");
        records.emplace_back(out[0].bytes.begin(), out[0].bytes.end());
    }
    return {std::move(records), per_record};
}

// The relay engine handling client 0's records; items are messages.
void run_relay(benchmark::State& state, net_type& net, std::size_t size, bool batched)
{
    auto [records, per_record] = records_of(net, size, batched);
    std::size_t next = 0, datagrams = 0;
    datagram_batch out;
    std::vector<core::relay_event> events;
    const endpoint from = test::secure_client_address(0);
    for (auto _ : state) {
        if (next == records.size()) {
            state.PauseTiming();
            records = records_of(net, size, batched).first;
            next = 0;
            state.ResumeTiming();
        }
        out.clear();
        events.clear();
        net.relay().handle(from, records[next++], net.now(), out, events);
        datagrams += out.size();
    }
    const auto messages = static_cast<double>(state.iterations() * per_record);
    state.SetItemsProcessed(static_cast<std::int64_t>(messages));
    state.counters["datagrams_per_msg"] = static_cast<double>(datagrams) / messages;
    state.counters["msgs_per_record"] = static_cast<double>(per_record);
}

// 40-byte messages one per record: what batching is compared with.
void BM_secure_relay(benchmark::State& state)
{
    const auto net = registered(static_cast<std::size_t>(state.range(0)));
    run_relay(state, *net, 40, false);
}
BENCHMARK(BM_secure_relay)->ArgNames({"recipients"})->Arg(1)->Arg(10);

} // namespace

// Issue 9's batching target for the secure profile: 40-byte messages packed by send_batch into
// SECURE_BATCH records of one datagram each, resealed once per recipient per batch.
void BM_secure_relay_batched(benchmark::State& state)
{
    const auto net = registered(static_cast<std::size_t>(state.range(0)));
    run_relay(state, *net, 40, true);
}
BENCHMARK(BM_secure_relay_batched)->ArgNames({"recipients"})->Arg(1)->Arg(10);
