// SPDX-License-Identifier: BSL-1.0
// Tests for profile/secure/client_handshake.hpp and relay_handshake.hpp: the client's signature
// covers its own identity key id_c ("tlvcast secure v1 client" || th || sig_r || id_c).
#include <tlvcast/profile/secure/cipher.hpp>

#include "secure/secure_sim.hpp"

#include <tlvcast/crypto/identity.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <optional>
#include <vector>

using namespace tlvcast;

namespace {

using sec = profile::secure::cipher;
using suite = crypto::default_suite;
constexpr endpoint client_addr{0x0a000001u, 40000};

crypto::ed25519_keypair id_from(std::uint8_t b)
{
    std::array<std::byte, 32> seed{};
    seed.fill(static_cast<std::byte>(b));
    return crypto::ed25519_from_seed<suite>(seed);
}

// A handshake run by hand up to the client's CLIENT_AUTH, which is held back.
struct held_auth {
    sec client{id_from(1)};
    sec relay{id_from(100)};
    sec::client_session s;
    std::vector<std::byte> server_hello; // value
    std::vector<std::byte> client_auth;  // value
    crypto::sha256_digest th{};

    held_auth()
    {
        const time_point now{};
        datagram_batch out;
        client.start_session(s, test::secure_group, now, out);
        std::optional<sec::peer_session> none;
        for (int round = 0; round < 6 && !out.empty() && client_auth.empty(); ++round) {
            datagram_batch next;
            for (std::size_t i = 0; i < out.size(); ++i) {
                std::error_code ec;
                const wire::tlv t = wire::read_outer(out[i].bytes, ec);
                REQUIRE_FALSE(ec);
                if (t.type() == wire::tlv_type::secure_client_auth) {
                    client_auth.assign(t.value.begin(), t.value.end());
                } else if (out[i].to == test::secure_group) {
                    relay.relay_handshake(client_addr, t, now, next, nullptr, none, ec);
                    REQUIRE_FALSE(ec);
                } else {
                    if (t.type() == wire::tlv_type::secure_server_hello)
                        server_hello.assign(t.value.begin(), t.value.end());
                    std::vector<std::byte> text;
                    client.client_receive(s, t, now, crypto::relay_trust::any(), next, text, ec);
                    REQUIRE_FALSE(ec);
                }
            }
            out = std::move(next);
        }
        REQUIRE(server_hello.size() == wire::secure_server_hello_size);
        REQUIRE(client_auth.size() == wire::secure_client_auth_size);
        REQUIRE(s.pending);
        const auto sh = std::span<const std::byte>(server_hello);
        th = sec::transcript_hash(s.hello, sh.first(8), sh.subspan(8, 32), sh.subspan(40, 32));
    }

    std::span<const std::byte> sig_r() const { return std::span<const std::byte>(server_hello).subspan(72, 64); }

    std::array<std::byte, 16> aad() const
    {
        std::array<std::byte, 16> a{};
        std::copy_n(client_auth.begin(), 8, a.begin());
        return a;
    }

    // id_c || sig_c, opened with the client's own send key.
    std::array<std::byte, 96> open_auth()
    {
        std::array<std::byte, 96> plain{};
        std::error_code ec;
        s.pending->tx.open(crypto::make_nonce(s.pending->tx_iv, 0), aad(),
                           std::span<const std::byte>(client_auth).subspan(8), plain, ec);
        REQUIRE_FALSE(ec);
        return plain;
    }

    // A CLIENT_AUTH value carrying `id_c` and `sig`, sealed correctly under the session keys.
    std::vector<std::byte> forge(std::span<const std::byte> id_c, std::span<const std::byte> sig)
    {
        std::array<std::byte, 96> plain{};
        std::copy(id_c.begin(), id_c.end(), plain.begin());
        std::copy(sig.begin(), sig.end(), plain.begin() + 32);
        std::vector<std::byte> value(client_auth.begin(), client_auth.begin() + 8);
        value.resize(wire::secure_client_auth_size);
        std::error_code ec;
        s.pending->tx.seal(crypto::make_nonce(s.pending->tx_iv, 0), aad(), plain,
                           std::span<std::byte>(value).subspan(8), ec);
        REQUIRE_FALSE(ec);
        return value;
    }

    std::error_code to_relay(const std::vector<std::byte>& value, std::optional<sec::peer_session>& registered)
    {
        std::vector<std::byte> dgram;
        std::error_code ec;
        wire::tlv_appender(dgram).put(wire::tlv_type::secure_client_auth, value, ec);
        const wire::tlv t = wire::read_outer(dgram, ec);
        datagram_batch out;
        relay.relay_handshake(client_addr, t, time_point{}, out, nullptr, registered, ec);
        return ec;
    }
};

std::array<std::byte, 64> sign(const crypto::ed25519_keypair& k, const std::vector<std::byte>& m)
{
    std::array<std::byte, 64> sig{};
    suite::sign(k.private_key.span(), m, sig);
    return sig;
}

} // namespace

TEST_CASE("secure transcript: the client's signature covers id_c", "[secure][transcript]")
{
    held_auth h;
    const auto plain = h.open_auth();
    const auto id_c = std::span<const std::byte>(plain).first(32);
    const auto sig_c = std::span<const std::byte>(plain).subspan(32);
    CHECK(std::equal(id_c.begin(), id_c.end(), id_from(1).public_key.begin()));
    // It verifies over th || sig_r || id_c, and not over th || sig_r alone.
    CHECK(suite::verify(id_c.first<32>(), profile::secure::detail::client_signed_message(h.th, h.sig_r(), id_c),
                        sig_c.first<64>()));
    CHECK_FALSE(suite::verify(id_c.first<32>(),
                              profile::secure::detail::signed_message(profile::secure::detail::label_client, h.th,
                                                                      h.sig_r()),
                              sig_c.first<64>()));
}

TEST_CASE("secure transcript: a CLIENT_AUTH whose signature leaves out id_c, or names another id_c, is refused",
          "[secure][transcript]")
{
    held_auth h;
    const auto a = id_from(1), b = id_from(2);
    std::optional<sec::peer_session> registered;
    const auto before = h.relay.public_key_ops().ed25519_verify;

    // The transcript without id_c (what a client signed before id_c was added), by the real key.
    const auto old_sig = sign(a, profile::secure::detail::signed_message(profile::secure::detail::label_client, h.th,
                                                                         h.sig_r()));
    CHECK(h.to_relay(h.forge(a.public_key, old_sig), registered) == errc::authentication_failed);
    CHECK_FALSE(registered);

    // The real signature spliced under another identity, and B's signature naming A.
    const auto real = h.open_auth();
    CHECK(h.to_relay(h.forge(b.public_key, std::span<const std::byte>(real).subspan(32)), registered) ==
          errc::authentication_failed);
    const auto b_for_a = sign(b, profile::secure::detail::client_signed_message(h.th, h.sig_r(), a.public_key));
    CHECK(h.to_relay(h.forge(a.public_key, b_for_a), registered) == errc::authentication_failed);
    const auto b_for_b = sign(b, profile::secure::detail::client_signed_message(h.th, h.sig_r(), a.public_key));
    CHECK(h.to_relay(h.forge(b.public_key, b_for_b), registered) == errc::authentication_failed);
    CHECK_FALSE(registered);
    CHECK(h.relay.public_key_ops().ed25519_verify == before + 4);

    // The failures did not cancel the handshake: the client's own CLIENT_AUTH registers it as A.
    CHECK_FALSE(h.to_relay(h.client_auth, registered));
    REQUIRE(registered);
    CHECK(*h.relay.identity(*registered) == crypto::fingerprint_of<suite>(a.public_key));
}
