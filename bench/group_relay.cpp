// SPDX-License-Identifier: BSL-1.0
// The group relay's cost per message, engine only (no sockets): one member sends, N members
// receive, by unicast (one copy per recipient, no crypto per recipient) or by multicast (one
// datagram to the data group for all). CPU time per message is what the relay engine spends on
// one sender record: open the hop record, classify the blob, forward.
#include "secure/secure_sim.hpp"

#include <tlvcast/profile/group.hpp>

#include <benchmark/benchmark.h>

#include <memory>
#include <utility>
#include <stdexcept>
#include <string>

using namespace tlvcast;
namespace group = tlvcast::profile::group;

namespace {

using suite = crypto::default_suite;
using cipher = group::basic_cipher<suite, crypto::default_aes256_gcm, crypto::seeded_random<suite>>;

crypto::ed25519_keypair identity_of(std::size_t n)
{
    std::array<std::byte, 32> seed{};
    seed[0] = static_cast<std::byte>(n);
    seed[1] = static_cast<std::byte>(n >> 8);
    seed[2] = std::byte{0x77};
    return crypto::ed25519_from_seed<suite>(seed);
}

using net_type = test::secure_net<cipher>;

// A group of recipients + 1 members, formed through the simulated relay.
std::unique_ptr<net_type> formed_group(std::size_t recipients, bool multicast)
{
    group::options opt;
    opt.policy = group::admission::open;
    opt.mode = multicast ? group::delivery::multicast : group::delivery::unicast;
    auto net = std::make_unique<net_type>(cipher(identity_of(999), opt, crypto::seeded_random<suite>(1)));
    net->data_group = opt.data_group;
    for (std::size_t i = 0; i <= recipients; ++i) {
        net->add_client(cipher(identity_of(i), opt, crypto::seeded_random<suite>(10 + i)));
        if (multicast)
            net->data_listeners.push_back(i);
    }
    for (std::size_t i = 0; i <= recipients; ++i) {
        net->start(i);
        net->run_for(std::chrono::milliseconds(50));
    }
    net->run_for(std::chrono::seconds(2));
    for (std::size_t i = 0; i <= recipients; ++i)
        if (!net->client(i).cipher().group().in_group() ||
            net->client(i).cipher().group().current()->roster.size() != recipients + 1)
            throw std::runtime_error("bench_group_relay: the group did not form");
    return net;
}

// Sender 0's records for the relay, made ahead (sealing and signing is the sender's cost): about
// 2048 messages of `size` bytes, one per record, or as many per record as one GROUP_BATCH datagram
// holds (send_batch, as core::basic_batcher sends them). Returns the records and messages per record.
std::pair<std::vector<std::vector<std::byte>>, std::size_t> records_of(net_type& net, std::size_t size, bool batched)
{
    const std::string text(size, 'x');
    const std::span<const std::byte> one = std::as_bytes(std::span(text));
    std::size_t per_record = 1;
    if (batched) { // how many one datagram holds: probed once on a scratch blob
        const std::vector<std::span<const std::byte>> many(256, one);
        std::vector<std::byte> blob;
        std::error_code ec;
        per_record = net.client(0).cipher().seal_batch(net.client(0).session(), many, blob, ec);
        if (ec || per_record < 2)
            throw std::runtime_error("bench_group_relay: no batch");
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
            throw std::runtime_error("bench_group_relay: a send is not one record");
        records.emplace_back(out[0].bytes.begin(), out[0].bytes.end());
    }
    return {std::move(records), per_record};
}

// The relay engine handling sender 0's records; items are messages.
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

void BM_group_relay(benchmark::State& state)
{
    const auto net = formed_group(static_cast<std::size_t>(state.range(0)), state.range(1) != 0);
    run_relay(state, *net, 256, false);
}
BENCHMARK(BM_group_relay)
    ->ArgNames({"recipients", "multicast"})
    ->Args({1, 0})
    ->Args({10, 0})
    ->Args({30, 0})
    ->Args({1, 1})
    ->Args({10, 1})
    ->Args({30, 1});

} // namespace

// Issue 9's batching target: 40-byte messages through the relay, packed by send_batch (as
// core::basic_batcher sends them) into GROUP_BATCH records of one datagram each.
void BM_group_relay_batched(benchmark::State& state)
{
    const auto net = formed_group(static_cast<std::size_t>(state.range(0)), state.range(1) != 0);
    run_relay(state, *net, 40, true);
}
BENCHMARK(BM_group_relay_batched)->ArgNames({"recipients", "multicast"})->Args({1, 0})->Args({10, 0})->Args({10, 1});
