// SPDX-License-Identifier: BSL-1.0
// The group relay's cost per message, engine only (no sockets): one member sends, N members
// receive, by unicast (one copy per recipient, no crypto per recipient) or by multicast (one
// datagram to the data group for all). CPU time per message is what the relay engine spends on
// one sender record: open the hop record, classify the blob, forward.
#include "secure/secure_sim.hpp"

#include <tlvcast/profile/group.hpp>

#include <benchmark/benchmark.h>

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

void BM_group_relay(benchmark::State& state)
{
    const auto recipients = static_cast<std::size_t>(state.range(0));
    const bool multicast = state.range(1) != 0;
    const std::size_t size = 256;
    group::options opt;
    opt.policy = group::admission::open;
    opt.mode = multicast ? group::delivery::multicast : group::delivery::unicast;
    test::secure_net<cipher> net(cipher(identity_of(999), opt, crypto::seeded_random<suite>(1)));
    net.data_group = opt.data_group;
    for (std::size_t i = 0; i <= recipients; ++i) {
        net.add_client(cipher(identity_of(i), opt, crypto::seeded_random<suite>(10 + i)));
        if (multicast)
            net.data_listeners.push_back(i);
    }
    for (std::size_t i = 0; i <= recipients; ++i) {
        net.start(i);
        net.run_for(std::chrono::milliseconds(50));
    }
    net.run_for(std::chrono::seconds(2));
    for (std::size_t i = 0; i <= recipients; ++i)
        if (!net.client(i).cipher().group().in_group() ||
            net.client(i).cipher().group().current()->roster.size() != recipients + 1)
            throw std::runtime_error("bench_group_relay: the group did not form");

    // Records of sender 0 for the relay, made ahead (sealing and signing is the sender's cost).
    const std::string text(size, 'x');
    std::vector<std::vector<std::byte>> records;
    const auto refill = [&] {
        records.clear();
        datagram_batch out;
        for (int k = 0; k < 2048; ++k) {
            out.clear();
            std::error_code ec;
            net.client(0).send(std::as_bytes(std::span(text)), net.now(), out, ec);
            if (ec || out.size() != 1)
                throw std::runtime_error("bench_group_relay: a message is not one record");
            records.emplace_back(out[0].bytes.begin(), out[0].bytes.end());
        }
    };
    refill();
    std::size_t next = 0, datagrams = 0;
    datagram_batch out;
    std::vector<core::relay_event> events;
    const endpoint from = test::secure_client_address(0);
    for (auto _ : state) {
        if (next == records.size()) {
            state.PauseTiming();
            refill();
            next = 0;
            state.ResumeTiming();
        }
        out.clear();
        events.clear();
        net.relay().handle(from, records[next++], net.now(), out, events);
        datagrams += out.size();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["datagrams_per_msg"] = static_cast<double>(datagrams) / static_cast<double>(state.iterations());
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
