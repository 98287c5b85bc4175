// SPDX-License-Identifier: BSL-1.0
// Benchmarks of the seed fragmenter: split and reassemble throughput for 190 B, 1 KiB and 48 KiB messages.
#include <tlvcast/fragment/seed_fragmenter.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace {

using namespace tlvcast;

std::vector<std::byte> message_of(std::size_t n)
{
    std::vector<std::byte> m(n);
    std::mt19937 rng(1);
    for (auto& b : m)
        b = static_cast<std::byte>(rng() & 0xffu);
    return m;
}

const endpoint to{0xe0010101u, 5007};

// split() into a reused batch, as an engine does per message.
void split(benchmark::State& state)
{
    const auto message = message_of(static_cast<std::size_t>(state.range(0)));
    fragment::seed_fragmenter f(1);
    datagram_batch out;
    std::error_code ec;
    for (auto _ : state) {
        out.clear();
        f.split(message, to, time_point{}, out, ec);
        benchmark::DoNotOptimize(out.bytes().data());
    }
    if (ec)
        state.SkipWithError("split failed");
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message.size()));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["fragments"] = static_cast<double>(out.size());
}

// reassemble() of every fragment of one message per iteration, in order (arg 1 == 0) or in a
// shuffled order (arg 1 == 1). Each iteration rewrites the msg_id so that it is a new message.
void reassemble(benchmark::State& state)
{
    const auto message = message_of(static_cast<std::size_t>(state.range(0)));
    fragment::seed_fragmenter tx(1);
    datagram_batch out;
    std::error_code ec;
    tx.split(message, to, time_point{}, out, ec);
    std::vector<std::vector<std::byte>> values;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const auto d = out[i].bytes.subspan(wire::tlv_header_size);
        values.emplace_back(d.begin(), d.end());
    }
    if (state.range(1) != 0)
        std::shuffle(values.begin(), values.end(), std::mt19937(2));

    fragment::reassembler rx;
    std::vector<std::byte> result;
    std::uint32_t id = 0;
    std::int64_t delivered = 0;
    for (auto _ : state) {
        ++id;
        for (auto& v : values) {
            wire::detail::store_u32(v.data(), id);
            delivered += rx.reassemble(to, v, time_point{}, result, ec);
        }
        benchmark::DoNotOptimize(result.data());
    }
    if (delivered != static_cast<std::int64_t>(state.iterations()) || result != message)
        state.SkipWithError("reassembly failed");
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message.size()));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["fragments"] = static_cast<double>(values.size());
}

} // namespace

BENCHMARK(split)->Arg(190)->Arg(1024)->Arg(48 * 1024);
BENCHMARK(reassemble)->ArgNames({"bytes", "shuffled"})->ArgsProduct({{190, 1024, 48 * 1024}, {0, 1}});
