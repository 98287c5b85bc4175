// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/profile/secure/ (cipher.hpp and its parts): handshake bytes against independently computed vectors, every backend.
#include <tlvcast/profile/secure/cipher.hpp>

#include "secure/secure_sim.hpp"

#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/crypto/identity.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <unistd.h>

using namespace tlvcast;
using namespace std::chrono_literals;

namespace {

// Computed by tests/secure/vectors.py with Python's `cryptography` (not tlvcast); also in docs/PROTOCOL.md.
constexpr std::string_view v_hello = "0201f0b4fd8be480349293ab61f0505ebb5bafccdf8a4127de221e6ef3db20e03d29a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
constexpr std::string_view v_th = "9afed4f3974db22ad127bd5b7caf11a93b008fa3bb0ac2ddae3e59b64aaa9cf1";
constexpr std::string_view v_shared = "1dfbae63869aa0fde2f35ae8ff4950dd765aa10eea86868505195ddbb1ecd512";
constexpr std::string_view v_key_block =
    "a160a9ef2df841d1a41c88c41844bec9f21f3ca56e16f09424aa25a2d509c824f5507f58c350ecd1c64ec6886f5b510742c4006e3eb3"
    "32e927e59af8cc99a80601f34d6ad9d38ed5b38982412c9193d0fffbfc8419eaf281";
constexpr std::string_view v_server_hello =
    "000f0088b2b2b2b2b2b2b2b2d3337e4d4ee503a66976feb1fadf5bd21ba96fc2b1571b3e980d87cf497975102bc2800b3316e009209f"
    "fd757dab19ccf0ae84bc7ae90654e1e81712d270f65399fc1c202038f5d0a52db31268b90512ff25c691a1814d3c50c914573ef43293"
    "ca33714081bf865dbeaf741463d32ef56db1645dee60ff2db7f08b3e9ed6b506";
constexpr std::string_view v_client_auth =
    "00100078b2b2b2b2b2b2b2b221b69b258c9fa5a553d4cf5fa0be883e68a1c1944118719ec045722b5913b99f0f9a21043e4256a5d808"
    "d881e4099576456d3f0eed21ced2bf47d0d5c5eeb6866333b9ce56e828384f8f01f9e93d6a0a8559074c0b91bd1168accf17010d92d7"
    "7fb4d1ae060ce645f95322dd4ec107ad";
constexpr std::string_view v_accept = "00110025b2b2b2b2b2b2b2b20000000000000000c045fb08a9c25a68e816febfe5c410eb15bc272510";
constexpr std::string_view v_client_fp = "34750f98bd59fcfc946da45aaabe933be154a4b5094e1c4abf42866505f3c97e";
constexpr std::string_view v_relay_fp = "b6fc96191abd27af2a51ed32e9ccd9cca8e991d5969b9b42fedb39b9abcccde4";

std::string hex(std::span<const std::byte> b) { return crypto::to_hex(b); }

// A random_source whose call k fills its buffer with the byte tag + k (see vectors.py for what
// each call draws). Client tag 0xa0, relay tag 0xb0.
template <std::uint8_t Tag>
struct counting_random {
    int k = 0;
    void fill(std::span<std::byte> out) { std::fill(out.begin(), out.end(), static_cast<std::byte>(Tag + k++)); }
};
template <class Suite, class Aead>
using client_vec = profile::secure::basic_cipher<Suite, Aead, counting_random<0xa0>>;
template <class Suite, class Aead>
using relay_vec = profile::secure::basic_cipher<Suite, Aead, counting_random<0xb0>>;

template <class Suite>
crypto::ed25519_keypair id_from(std::uint8_t b)
{
    std::array<std::byte, 32> seed{};
    seed.fill(static_cast<std::byte>(b));
    return crypto::ed25519_from_seed<Suite>(seed);
}

// Runs the handshake by hand; returns every datagram on the wire (relay answers and client messages).
template <class Client, class Relay>
std::vector<std::vector<std::byte>> handshake(Client& client, Relay& relay, typename Client::client_session& s,
                                              std::optional<typename Relay::peer_session>& registered)
{
    std::vector<std::vector<std::byte>> wire_log;
    const endpoint from{0x0a000001u, 40000};
    const time_point now{};
    datagram_batch out;
    client.start_session(s, test::secure_group, now, out);
    for (int round = 0; round < 8 && !out.empty(); ++round) {
        datagram_batch next;
        for (std::size_t i = 0; i < out.size(); ++i) {
            std::vector<std::byte> bytes(out[i].bytes.begin(), out[i].bytes.end());
            wire_log.push_back(bytes);
            std::error_code ec;
            wire::tlv t = wire::read_outer(bytes, ec);
            REQUIRE_FALSE(ec);
            if (out[i].to == test::secure_group) {
                relay.relay_handshake(from, t, now, next, nullptr, registered, ec);
                REQUIRE_FALSE(ec);
            } else {
                std::vector<std::byte> inner, text;
                if (t.type() == wire::tlv_type::secure_record) {
                    client.unprotect(s, t.value, inner, ec);
                    REQUIRE_FALSE(ec);
                    t = wire::read_outer(inner, ec);
                }
                client.client_receive(s, t, now, crypto::relay_trust::any(), next, text, ec);
                REQUIRE_FALSE(ec);
            }
        }
        out = std::move(next);
    }
    return wire_log;
}

template <class Client, class Relay, class ClientSuite, class RelaySuite>
void check_vectors()
{
    Client client(id_from<ClientSuite>(0x01));
    Relay relay(id_from<RelaySuite>(0x64));
    CHECK(hex(client.identity_fingerprint()) == v_client_fp);
    CHECK(hex(relay.identity_fingerprint()) == v_relay_fp);
    typename Client::client_session s;
    std::optional<typename Relay::peer_session> registered;
    const auto log = handshake(client, relay, s, registered);
    // hello, cookie, hello+cookie, server hello, client auth, accept record
    REQUIRE(log.size() == 6);
    CHECK(hex(std::span(log[0]).subspan(4)) == v_hello);
    CHECK(hex(std::span(log[2]).subspan(4, 50)) == v_hello);
    CHECK(hex(log[3]) == v_server_hello);
    CHECK(hex(log[4]) == v_client_auth);
    CHECK(hex(log[5]) == v_accept);
    REQUIRE(registered);
    CHECK(hex(*relay.identity(*registered)) == v_client_fp);
    REQUIRE(client.established(s));
    CHECK(hex(s.current->peer) == v_relay_fp);

    // The key schedule on its own.
    std::vector<std::byte> hello_bytes(log[0].begin() + 4, log[0].end());
    const auto sh = std::span(log[3]).subspan(4);
    const auto th = Client::transcript_hash(hello_bytes, sh.first(8), sh.subspan(8, 32), sh.subspan(40, 32));
    CHECK(hex(th) == v_th);
    std::array<std::byte, 32> shared{};
    for (std::size_t i = 0; i < 32; ++i)
        shared[i] = static_cast<std::byte>(std::stoi(std::string(v_shared.substr(2 * i, 2)), nullptr, 16));
    const auto okm = Client::key_block(th, shared);
    CHECK(hex(okm.span()) == v_key_block);
}

} // namespace

#ifdef TLVCAST_HAS_CRYPTOPP
using cpp_gcm = profile::secure::basic_cipher<crypto::cryptopp_suite, crypto::cryptopp_aes256_gcm>;
using cpp_chacha = profile::secure::basic_cipher<crypto::cryptopp_suite, crypto::cryptopp_chacha20_poly1305>;

TEST_CASE("secure vectors: Crypto++ produces the independently computed handshake bytes", "[secure][vectors]")
{
    check_vectors<client_vec<crypto::cryptopp_suite, crypto::cryptopp_aes256_gcm>,
                  relay_vec<crypto::cryptopp_suite, crypto::cryptopp_aes256_gcm>, crypto::cryptopp_suite,
                  crypto::cryptopp_suite>();
}
#endif

#ifdef TLVCAST_HAS_OPENSSL
using ossl_gcm = profile::secure::basic_cipher<crypto::openssl_suite, crypto::openssl_aes256_gcm>;
using ossl_chacha = profile::secure::basic_cipher<crypto::openssl_suite, crypto::openssl_chacha20_poly1305>;

TEST_CASE("secure vectors: OpenSSL produces the independently computed handshake bytes", "[secure][vectors]")
{
    check_vectors<client_vec<crypto::openssl_suite, crypto::openssl_aes256_gcm>,
                  relay_vec<crypto::openssl_suite, crypto::openssl_aes256_gcm>, crypto::openssl_suite,
                  crypto::openssl_suite>();
}
#endif

#if defined(TLVCAST_HAS_CRYPTOPP) && defined(TLVCAST_HAS_OPENSSL)
TEST_CASE("secure vectors: OpenSSL and Crypto++ interoperate on the same bytes", "[secure][vectors]")
{
    check_vectors<client_vec<crypto::cryptopp_suite, crypto::cryptopp_aes256_gcm>,
                  relay_vec<crypto::openssl_suite, crypto::openssl_aes256_gcm>, crypto::cryptopp_suite,
                  crypto::openssl_suite>();
    check_vectors<client_vec<crypto::openssl_suite, crypto::openssl_aes256_gcm>,
                  relay_vec<crypto::cryptopp_suite, crypto::cryptopp_aes256_gcm>, crypto::openssl_suite,
                  crypto::cryptopp_suite>();
}

namespace {
template <class ClientCipher, class RelayCipher, class ClientSuite, class RelaySuite>
void cross_backend_chat()
{
    test::secure_net<ClientCipher, RelayCipher> net(RelayCipher(id_from<RelaySuite>(100)));
    for (std::uint8_t i = 1; i <= 2; ++i)
        net.add_client(ClientCipher(id_from<ClientSuite>(i)));
    net.start_all();
    net.run_for(100ms);
    const std::string texts[] = {"", "x", std::string(1185, 'y'), std::string(5000, 'z')};
    for (const auto& t : texts) {
        std::error_code ec;
        net.send(0, wire::as_bytes(t), ec);
        REQUIRE_FALSE(ec);
        net.run_for(20ms);
    }
    std::vector<std::string> got;
    for (const auto& e : net.events(1))
        if (e.what == core::client_event::kind::message) {
            got.push_back(e.text);
            REQUIRE(e.identity);
            CHECK(*e.identity == crypto::fingerprint_of<ClientSuite>(id_from<ClientSuite>(1).public_key));
        }
    REQUIRE(got.size() == std::size(texts));
    for (std::size_t i = 0; i < got.size(); ++i)
        CHECK(got[i] == texts[i]);
    CHECK(net.relay().counters().get(core::relay_counter::undecryptable) == 0);
}
} // namespace

TEST_CASE("secure: Crypto++ clients and an OpenSSL relay (and the reverse) talk, both AEADs", "[secure][backends]")
{
    cross_backend_chat<cpp_gcm, ossl_gcm, crypto::cryptopp_suite, crypto::openssl_suite>();
    cross_backend_chat<ossl_gcm, cpp_gcm, crypto::openssl_suite, crypto::cryptopp_suite>();
    cross_backend_chat<cpp_chacha, ossl_chacha, crypto::cryptopp_suite, crypto::openssl_suite>();
    cross_backend_chat<ossl_chacha, cpp_chacha, crypto::openssl_suite, crypto::cryptopp_suite>();
}
#endif

TEST_CASE("secure: a client and relay of different AEADs do not register", "[secure]")
{
    test::secure_net<profile::secure::chacha_cipher, profile::secure::cipher> net(profile::secure::cipher(id_from<crypto::default_suite>(100)));
    net.add_client(profile::secure::chacha_cipher(id_from<crypto::default_suite>(1)));
    net.start_all();
    net.run_for(1s);
    CHECK(net.client(0).current_state() != decltype(net)::client_engine::state::established);
    CHECK(net.relay().counters().get(core::relay_counter::handshake_errors) >= 1);
    CHECK(net.relay().cipher().public_key_ops().total() == 0);
}

TEST_CASE("secure: identity files are created once (mode 0600) and loaded back", "[secure]")
{
    const auto path = std::filesystem::temp_directory_path() / ("tlvcast_secure_id_" + std::to_string(::getpid()) + ".pem");
    std::filesystem::remove(path);
    const auto a = profile::secure::cipher::load_or_create_identity(path);
    const auto perms = std::filesystem::status(path).permissions();
    CHECK((perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all)) ==
          std::filesystem::perms::none);
    const auto b = profile::secure::cipher::load_or_create_identity(path);
    CHECK(a.public_key == b.public_key);
    const profile::secure::cipher c(b);
    CHECK(profile::secure::cipher::from_hex(profile::secure::cipher::to_hex(c.identity_fingerprint())) == c.identity_fingerprint());
    CHECK_FALSE(profile::secure::cipher::from_hex("zz"));
    std::filesystem::remove(path);
}
