// SPDX-License-Identifier: BSL-1.0
// The two erasure codecs Debian packages, side by side (issue 9, FEC): cm256cc (Cauchy MDS
// Reed-Solomon over GF(256)) and lcrq (RaptorQ, RFC 6330). Per block of k symbols of 1200 bytes
// with r repair symbols: encode throughput, decode throughput with r data symbols erased, and
// whether the decode gave back the data (checked byte for byte every iteration; a failure is
// counted, not hidden). Built only when both libraries are found (bench/CMakeLists.txt).
#if defined(__x86_64__) && !defined(USE_SSSE3)
#define USE_SSSE3 // Debian's libcm256cc is built with it on amd64: gf256_ctx's layout depends on it
#endif
#include <cm256cc/cm256.h>
extern "C" {
#include <lcrq.h>
}

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

namespace {

constexpr int symbol_bytes = 1200;

std::vector<std::uint8_t> block_of(int k)
{
    std::vector<std::uint8_t> d(static_cast<std::size_t>(k) * symbol_bytes);
    std::mt19937 rng(7);
    for (auto& b : d)
        b = static_cast<std::uint8_t>(rng());
    return d;
}

/// The `r` data symbols erased in iteration `it`: a fresh random pattern each time (seeded).
std::vector<int> erasures(int k, int r, std::mt19937& rng)
{
    std::vector<int> all(static_cast<std::size_t>(k));
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), rng);
    all.resize(static_cast<std::size_t>(r));
    std::sort(all.begin(), all.end());
    return all;
}

void set_counters(benchmark::State& state, int k, std::uint64_t failures, std::uint64_t decodes)
{
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * k * symbol_bytes);
    state.counters["failed"] = static_cast<double>(failures);
    state.counters["decodes"] = static_cast<double>(decodes);
}

// cm256: r recovery blocks from k originals.
void cm256_encode(benchmark::State& state)
{
    const int k = static_cast<int>(state.range(0)), r = static_cast<int>(state.range(1));
    auto codec = std::make_unique<CM256>(); // 140 KB of tables: never on the stack
    if (!codec->isInitialized())
        return state.SkipWithError("cm256 did not initialise");
    auto data = block_of(k);
    std::vector<std::uint8_t> parity(static_cast<std::size_t>(r) * symbol_bytes);
    std::vector<CM256::cm256_block> blocks(static_cast<std::size_t>(k));
    for (int i = 0; i < k; ++i)
        blocks[static_cast<std::size_t>(i)] = {data.data() + static_cast<std::size_t>(i) * symbol_bytes,
                                               static_cast<unsigned char>(i)};
    const CM256::cm256_encoder_params p{k, r, symbol_bytes};
    for (auto _ : state) {
        if (codec->cm256_encode(p, blocks.data(), parity.data()) != 0)
            return state.SkipWithError("cm256_encode failed");
        benchmark::DoNotOptimize(parity.data());
    }
    set_counters(state, k, 0, 0);
}

// cm256: k-r originals and r recovery blocks in, the r erased originals out, compared.
void cm256_decode(benchmark::State& state)
{
    const int k = static_cast<int>(state.range(0)), r = static_cast<int>(state.range(1));
    auto codec = std::make_unique<CM256>();
    auto data = block_of(k);
    std::vector<std::uint8_t> parity(static_cast<std::size_t>(r) * symbol_bytes);
    std::vector<CM256::cm256_block> blocks(static_cast<std::size_t>(k));
    const auto at = [&](int i) { return data.data() + static_cast<std::size_t>(i) * symbol_bytes; };
    for (int i = 0; i < k; ++i)
        blocks[static_cast<std::size_t>(i)] = {at(i), static_cast<unsigned char>(i)};
    const CM256::cm256_encoder_params p{k, r, symbol_bytes};
    if (codec->cm256_encode(p, blocks.data(), parity.data()) != 0)
        return state.SkipWithError("cm256_encode failed");
    std::vector<std::uint8_t> work(parity.size());
    std::mt19937 rng(11);
    std::uint64_t failures = 0, decodes = 0;
    for (auto _ : state) {
        const auto lost = erasures(k, r, rng);
        std::memcpy(work.data(), parity.data(), work.size()); // decoding overwrites the recovery blocks
        for (int i = 0; i < k; ++i)
            blocks[static_cast<std::size_t>(i)] = {at(i), static_cast<unsigned char>(i)};
        for (int j = 0; j < r; ++j)
            blocks[static_cast<std::size_t>(lost[static_cast<std::size_t>(j)])] = {
                work.data() + static_cast<std::size_t>(j) * symbol_bytes, static_cast<unsigned char>(k + j)};
        bool ok = codec->cm256_decode(p, blocks.data()) == 0;
        for (int j = 0; ok && j < r; ++j) {
            const auto& b = blocks[static_cast<std::size_t>(lost[static_cast<std::size_t>(j)])];
            ok = std::memcmp(b.Block, at(b.Index), symbol_bytes) == 0;
        }
        failures += !ok;
        ++decodes;
    }
    set_counters(state, k, failures, decodes);
}

struct rq_deleter {
    void operator()(rq_t* p) const noexcept { rq_free(p); }
};
using rq_ptr = std::unique_ptr<rq_t, rq_deleter>;

std::uint32_t esi_of(rq_pid_t pid) { return rq_pid2esi(pid); }

// lcrq: a context per block (RaptorQ's precode is per block), the intermediate symbols, then r
// repair symbols (ESI k.. : the ones a sender would add).
void lcrq_encode(benchmark::State& state)
{
    const int k = static_cast<int>(state.range(0)), r = static_cast<int>(state.range(1));
    auto data = block_of(k);
    std::vector<std::uint8_t> parity(static_cast<std::size_t>(r) * symbol_bytes);
    for (auto _ : state) {
        rq_ptr rq(rq_init(data.size(), symbol_bytes));
        if (!rq || rq_encode(rq.get(), data.data(), data.size()) != 0)
            return state.SkipWithError("rq_encode failed");
        for (int j = 0; j < r; ++j) {
            rq_pid_t pid = rq_pidsetesi(0u, static_cast<std::uint32_t>(k + j));
            rq_symbol(rq.get(), &pid, parity.data() + static_cast<std::size_t>(j) * symbol_bytes, RQ_REPAIR);
        }
        benchmark::DoNotOptimize(parity.data());
    }
    set_counters(state, k, 0, 0);
}

// lcrq: k-r source symbols and r repair symbols (exactly k: RaptorQ is not MDS, so a decode
// can fail; counted), decoded into the whole block and compared.
void lcrq_decode(benchmark::State& state)
{
    const int k = static_cast<int>(state.range(0)), r = static_cast<int>(state.range(1));
    auto data = block_of(k);
    std::vector<std::uint8_t> parity(static_cast<std::size_t>(r) * symbol_bytes);
    {
        rq_ptr rq(rq_init(data.size(), symbol_bytes));
        if (!rq || rq_encode(rq.get(), data.data(), data.size()) != 0)
            return state.SkipWithError("rq_encode failed");
        for (int j = 0; j < r; ++j) {
            rq_pid_t pid = rq_pidsetesi(0u, static_cast<std::uint32_t>(k + j));
            rq_symbol(rq.get(), &pid, parity.data() + static_cast<std::size_t>(j) * symbol_bytes, RQ_REPAIR);
            if (esi_of(pid) != static_cast<std::uint32_t>(k + j))
                return state.SkipWithError("rq_symbol changed the ESI asked for");
        }
    }
    std::vector<std::uint8_t> enc(data.size());
    std::vector<std::uint32_t> esi(static_cast<std::size_t>(k));
    std::vector<std::uint8_t> dec;
    std::mt19937 rng(11);
    std::uint64_t failures = 0, decodes = 0;
    for (auto _ : state) {
        const auto lost = erasures(k, r, rng);
        std::size_t n = 0;
        for (int i = 0, l = 0; i < k; ++i) {
            if (l < r && lost[static_cast<std::size_t>(l)] == i) {
                ++l;
                continue;
            }
            std::memcpy(enc.data() + n * symbol_bytes, data.data() + static_cast<std::size_t>(i) * symbol_bytes,
                        symbol_bytes);
            esi[n++] = static_cast<std::uint32_t>(i);
        }
        for (int j = 0; j < r; ++j, ++n) {
            std::memcpy(enc.data() + n * symbol_bytes, parity.data() + static_cast<std::size_t>(j) * symbol_bytes,
                        symbol_bytes);
            esi[n] = static_cast<std::uint32_t>(k + j);
        }
        rq_ptr rq(rq_init(data.size(), symbol_bytes));
        dec.assign(static_cast<std::size_t>(rq_KP(rq.get())) * symbol_bytes, 0);
        const bool ok = rq_decode(rq.get(), dec.data(), enc.data(), esi.data(), static_cast<std::uint32_t>(n)) == 0 &&
                        std::memcmp(dec.data(), data.data(), data.size()) == 0;
        failures += !ok;
        ++decodes;
    }
    set_counters(state, k, failures, decodes);
}

void shapes(benchmark::internal::Benchmark* b)
{
    for (int k : {8, 16, 32, 64})
        for (int r : {2, 4, 8})
            b->Args({k, r});
    b->ArgNames({"k", "r"});
}

BENCHMARK(cm256_encode)->Apply(shapes);
BENCHMARK(lcrq_encode)->Apply(shapes);
BENCHMARK(cm256_decode)->Apply(shapes);
BENCHMARK(lcrq_decode)->Apply(shapes);

} // namespace
