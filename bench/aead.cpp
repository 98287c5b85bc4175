// SPDX-License-Identifier: BSL-1.0
// Secure-profile crypto cost: AEAD seal/open throughput (256 and 1,200-byte records), X25519 and Ed25519 ops/s.
#include <tlvcast/crypto/aead.hpp>
#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/crypto/identity.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <system_error>
#include <vector>

namespace {

namespace tc = tlvcast::crypto;

// Stops the benchmark loudly: a benchmark that measures a failing path would report nonsense.
void check(const std::error_code& ec)
{
    if (ec)
        std::abort();
}

std::array<std::byte, 32> bench_key()
{
    std::array<std::byte, 32> k{};
    for (std::size_t i = 0; i < k.size(); ++i)
        k[i] = static_cast<std::byte>(i * 13 + 1);
    return k;
}

// A 13-byte AAD, about the size of a record header.
constexpr std::size_t aad_size = 13;

template <class Aead>
void bm_seal(benchmark::State& state)
{
    const auto size = static_cast<std::size_t>(state.range(0));
    Aead a(bench_key());
    const std::array<std::byte, 12> iv{};
    std::vector<std::byte> pt(size, std::byte{0x42}), aad(aad_size, std::byte{1}), out(size + Aead::tag_size);
    std::uint64_t seq = 0;
    std::error_code ec;
    for (auto _ : state) {
        const auto nonce = tc::make_nonce(iv, seq++);
        a.seal(nonce, aad, pt, out, ec);
        check(ec);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations())); // records/s
}

template <class Aead>
void bm_open(benchmark::State& state)
{
    const auto size = static_cast<std::size_t>(state.range(0));
    Aead a(bench_key());
    const std::array<std::byte, 12> nonce{};
    std::vector<std::byte> pt(size, std::byte{0x42}), aad(aad_size, std::byte{1}), sealed(size + Aead::tag_size),
        out(size);
    std::error_code ec;
    a.seal(nonce, aad, pt, sealed, ec);
    check(ec);
    for (auto _ : state) {
        const std::size_t n = a.open(nonce, aad, sealed, out, ec);
        check(ec);
        benchmark::DoNotOptimize(n);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// A forged record: the cost a flood of garbage imposes on a receiver (tag check fails).
template <class Aead>
void bm_open_forged(benchmark::State& state)
{
    const auto size = static_cast<std::size_t>(state.range(0));
    Aead a(bench_key());
    const std::array<std::byte, 12> nonce{};
    std::vector<std::byte> sealed(size + Aead::tag_size, std::byte{0x17}), out(size);
    std::error_code ec;
    for (auto _ : state) {
        benchmark::DoNotOptimize(a.open(nonce, {}, sealed, out, ec));
        if (!ec)
            std::abort();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

template <class Suite>
void bm_x25519(benchmark::State& state)
{
    const auto a = tc::generate_x25519<Suite>();
    const auto b = tc::generate_x25519<Suite>();
    std::array<std::byte, 32> shared{};
    std::error_code ec;
    for (auto _ : state) {
        if (!Suite::x25519(a.private_key.span(), b.public_key, shared, ec))
            std::abort();
        benchmark::DoNotOptimize(shared.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

template <class Suite>
void bm_ed25519_sign(benchmark::State& state)
{
    const auto id = tc::generate_ed25519<Suite>();
    std::array<std::byte, 64> msg{}, sig{}; // a 64-byte transcript hash pair, say
    for (auto _ : state) {
        Suite::sign(id.private_key.span(), msg, sig);
        benchmark::DoNotOptimize(sig.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

template <class Suite>
void bm_ed25519_verify(benchmark::State& state)
{
    const auto id = tc::generate_ed25519<Suite>();
    std::array<std::byte, 64> msg{}, sig{};
    Suite::sign(id.private_key.span(), msg, sig);
    for (auto _ : state) {
        if (!Suite::verify(id.public_key, msg, sig))
            std::abort();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

} // namespace

#ifdef TLVCAST_HAS_CRYPTOPP
BENCHMARK_TEMPLATE(bm_seal, tc::cryptopp_aes256_gcm)->Arg(256)->Arg(1200);
BENCHMARK_TEMPLATE(bm_open, tc::cryptopp_aes256_gcm)->Arg(256)->Arg(1200);
BENCHMARK_TEMPLATE(bm_seal, tc::cryptopp_chacha20_poly1305)->Arg(256)->Arg(1200);
BENCHMARK_TEMPLATE(bm_open, tc::cryptopp_chacha20_poly1305)->Arg(256)->Arg(1200);
BENCHMARK_TEMPLATE(bm_open_forged, tc::cryptopp_aes256_gcm)->Arg(1200);
BENCHMARK_TEMPLATE(bm_open_forged, tc::cryptopp_chacha20_poly1305)->Arg(1200);
BENCHMARK_TEMPLATE(bm_x25519, tc::cryptopp_suite);
BENCHMARK_TEMPLATE(bm_ed25519_sign, tc::cryptopp_suite);
BENCHMARK_TEMPLATE(bm_ed25519_verify, tc::cryptopp_suite);
#endif
#ifdef TLVCAST_HAS_OPENSSL
BENCHMARK_TEMPLATE(bm_seal, tc::openssl_aes256_gcm)->Arg(256)->Arg(1200);
BENCHMARK_TEMPLATE(bm_open, tc::openssl_aes256_gcm)->Arg(256)->Arg(1200);
BENCHMARK_TEMPLATE(bm_seal, tc::openssl_chacha20_poly1305)->Arg(256)->Arg(1200);
BENCHMARK_TEMPLATE(bm_open, tc::openssl_chacha20_poly1305)->Arg(256)->Arg(1200);
BENCHMARK_TEMPLATE(bm_open_forged, tc::openssl_aes256_gcm)->Arg(1200);
BENCHMARK_TEMPLATE(bm_open_forged, tc::openssl_chacha20_poly1305)->Arg(1200);
BENCHMARK_TEMPLATE(bm_x25519, tc::openssl_suite);
BENCHMARK_TEMPLATE(bm_ed25519_sign, tc::openssl_suite);
BENCHMARK_TEMPLATE(bm_ed25519_verify, tc::openssl_suite);
#endif
