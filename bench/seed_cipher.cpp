// SPDX-License-Identifier: BSL-1.0
// Seed cipher throughput: rsa_oaep seal (client), open (relay) and seal_relayed per message size and backend.
#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/profile/seed/rsa_oaep.hpp>
#include <tlvcast/wire/tlv.hpp>

#ifdef TLVCAST_HAS_OPENSSL
#include <tlvcast/crypto/openssl_rsa.hpp>
#endif

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <system_error>
#include <vector>

namespace {

namespace crypto = tlvcast::crypto;
namespace seed = tlvcast::seed;
namespace wire = tlvcast::wire;

// The sizes: empty, one RSA-2048 block, a chat line, the largest seed message (255 blocks).
#define TLVCAST_SEED_SIZES Arg(0)->Arg(190)->Arg(1000)->Arg(48'450)

// Stops the benchmark loudly: a benchmark that measures a failing path would report nonsense.
void check(const std::error_code& ec)
{
    if (ec)
        std::abort();
}

std::vector<std::byte> message_of(std::size_t n)
{
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<std::byte>(i * 131 + 7);
    return v;
}

// Keys are generated once per backend (RSA-2048 generation takes a good fraction of a second),
// outside every timed loop: the relay's pair and one client's.
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
    // A client's view of the relay: the relay's public key, imported from its PEM as on the wire.
    static typename Cipher::client_session client_session()
    {
        typename Cipher::client_session s;
        std::error_code ec;
        s.relay_key = Cipher::backend_type::import_public_pem(wire::as_bytes(relay().public_pem()), ec);
        check(ec);
        return s;
    }
    // The relay's view of the client: the key the client registered.
    static typename Cipher::peer_session peer_session()
    {
        std::error_code ec;
        auto key = Cipher::backend_type::import_public_pem(wire::as_bytes(client().public_pem()), ec);
        check(ec);
        return {key, Cipher::backend_type::fingerprint(key)};
    }
};

void report(benchmark::State& state, std::size_t size)
{
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}

// Client side: the message blob (one RSA public-key operation per 190 bytes).
template <class Cipher>
void seal(benchmark::State& state)
{
    const auto size = static_cast<std::size_t>(state.range(0));
    const Cipher& client = keys<Cipher>::client();
    const auto session = keys<Cipher>::client_session();
    const auto plain = message_of(size);
    std::vector<std::byte> blob;
    std::error_code ec;
    for (auto _ : state) {
        client.seal(session, tlvcast::crypto::message_kind::data, plain, blob, ec);
        check(ec);
        benchmark::DoNotOptimize(blob.data());
    }
    report(state, size);
}

// Relay side: opening a client's blob (one RSA private-key operation per 190 bytes).
template <class Cipher>
void open(benchmark::State& state)
{
    const auto size = static_cast<std::size_t>(state.range(0));
    const Cipher& relay = keys<Cipher>::relay();
    const auto plain = message_of(size);
    std::vector<std::byte> blob, out;
    std::error_code ec;
    keys<Cipher>::client().seal(keys<Cipher>::client_session(), tlvcast::crypto::message_kind::data, plain, blob,
                                ec);
    check(ec);
    const auto peer = keys<Cipher>::peer_session();
    for (auto _ : state) {
        relay.open(peer, blob, out, ec);
        check(ec);
        benchmark::DoNotOptimize(out.data());
    }
    if (out != plain)
        state.SkipWithError("open() did not return the sealed plaintext");
    report(state, size);
}

// Relay side: re-encrypting an opened message for one recipient (public-key work, one datagram).
template <class Cipher>
void seal_relayed(benchmark::State& state)
{
    const auto size = static_cast<std::size_t>(state.range(0));
    const Cipher& relay = keys<Cipher>::relay();
    const auto plain = message_of(size);
    const auto peer = keys<Cipher>::peer_session();
    const tlvcast::endpoint sender{0x7f000001u, 40000};
    std::vector<std::byte> blob;
    std::error_code ec;
    for (auto _ : state) {
        relay.seal_relayed(peer, peer, sender, plain, blob, ec);
        check(ec);
        benchmark::DoNotOptimize(blob.data());
    }
    report(state, size);
}

#ifdef TLVCAST_HAS_CRYPTOPP
using cryptopp_cipher = seed::basic_rsa_oaep<crypto::cryptopp_rsa>;

BENCHMARK(seal<cryptopp_cipher>)->Name("cryptopp/seal")->TLVCAST_SEED_SIZES;
BENCHMARK(open<cryptopp_cipher>)->Name("cryptopp/open")->TLVCAST_SEED_SIZES;
BENCHMARK(seal_relayed<cryptopp_cipher>)->Name("cryptopp/seal_relayed")->TLVCAST_SEED_SIZES;
#endif

#ifdef TLVCAST_HAS_OPENSSL
using openssl_cipher = seed::basic_rsa_oaep<crypto::openssl_rsa>;

BENCHMARK(seal<openssl_cipher>)->Name("openssl/seal")->TLVCAST_SEED_SIZES;
BENCHMARK(open<openssl_cipher>)->Name("openssl/open")->TLVCAST_SEED_SIZES;
BENCHMARK(seal_relayed<openssl_cipher>)->Name("openssl/seal_relayed")->TLVCAST_SEED_SIZES;
#endif

} // namespace
