// SPDX-License-Identifier: BSL-1.0
// RSA-2048 OAEP-SHA-256 throughput of the Crypto++ and OpenSSL backends on one core (items/s).
#include <tlvcast/crypto/default_backend.hpp>
#if defined(TLVCAST_HAS_OPENSSL)
#include <tlvcast/crypto/openssl_rsa.hpp>
#endif

#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <system_error>
#include <vector>

namespace {

template <class B>
const typename B::private_key& bench_key()
{
    static const typename B::private_key key = B::generate(2048);
    return key;
}

/// Public-key operation: encrypt one full 190-byte block.
template <class B>
void bm_encrypt(benchmark::State& state)
{
    const auto pub = B::public_of(bench_key<B>());
    const std::vector<std::byte> plain(190, std::byte{0x5A});
    std::vector<std::byte> cipher(B::modulus_bytes(pub));
    std::error_code ec;
    for (auto _ : state) {
        B::encrypt(pub, plain, cipher, ec);
        benchmark::DoNotOptimize(cipher.data());
    }
    if (ec)
        state.SkipWithError(ec.message().c_str());
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

/// Private-key operation: decrypt one block (what the relay does for every 190 bytes it receives).
template <class B>
void bm_decrypt(benchmark::State& state)
{
    const auto& priv = bench_key<B>();
    const std::vector<std::byte> plain(190, std::byte{0x5A});
    std::vector<std::byte> cipher(B::modulus_bytes(priv));
    std::vector<std::byte> out(190);
    std::error_code ec;
    B::encrypt(B::public_of(priv), plain, cipher, ec);
    std::size_t n = 0;
    for (auto _ : state) {
        n = B::decrypt(priv, cipher, out, ec);
        benchmark::DoNotOptimize(n);
    }
    if (ec || n != plain.size())
        state.SkipWithError("decrypt failed");
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

/// Importing a peer's SPKI PEM (the relay's cost per REGISTER_PUBLIC_KEY).
template <class B>
void bm_import_public_pem(benchmark::State& state)
{
    const std::string pem = B::export_public_pem(B::public_of(bench_key<B>()));
    const std::span<const std::byte> bytes{reinterpret_cast<const std::byte*>(pem.data()), pem.size()};
    std::error_code ec;
    for (auto _ : state) {
        auto key = B::import_public_pem(bytes, ec);
        benchmark::DoNotOptimize(key);
    }
    if (ec)
        state.SkipWithError(ec.message().c_str());
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

#if defined(TLVCAST_HAS_CRYPTOPP)
using tlvcast::crypto::cryptopp_rsa;
BENCHMARK_TEMPLATE(bm_decrypt, cryptopp_rsa)->Name("rsa2048_oaep_decrypt/cryptopp");
BENCHMARK_TEMPLATE(bm_encrypt, cryptopp_rsa)->Name("rsa2048_oaep_encrypt/cryptopp");
BENCHMARK_TEMPLATE(bm_import_public_pem, cryptopp_rsa)->Name("rsa2048_import_public_pem/cryptopp");
#endif
#if defined(TLVCAST_HAS_OPENSSL)
using tlvcast::crypto::openssl_rsa;
BENCHMARK_TEMPLATE(bm_decrypt, openssl_rsa)->Name("rsa2048_oaep_decrypt/openssl");
BENCHMARK_TEMPLATE(bm_encrypt, openssl_rsa)->Name("rsa2048_oaep_encrypt/openssl");
BENCHMARK_TEMPLATE(bm_import_public_pem, openssl_rsa)->Name("rsa2048_import_public_pem/openssl");
#endif

} // namespace
