// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/profile/seed/rsa_oaep.hpp and its parts (client_side, relay_side, control,
// detail/rsa_blocks): registration, seal and open, the re-encryption into SENDER_INFO, presence, refusals.
#include <tlvcast/profile/seed/rsa_oaep.hpp>

#include <tlvcast/wire/sender_info.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

using namespace tlvcast;
using seed::rsa_oaep;

namespace {

// Key generation costs up to a second under sanitizers: every test shares three keys.
const crypto::default_rsa::private_key& key(std::size_t i)
{
    static const std::vector<crypto::default_rsa::private_key> keys = [] {
        std::vector<crypto::default_rsa::private_key> k;
        for (int n = 0; n < 3; ++n)
            k.push_back(crypto::default_rsa::generate(2048));
        return k;
    }();
    return keys.at(i);
}

const endpoint relay_ep{0x7f000001u, 5007};
const endpoint alice{0x0a000001u, 40001};
const endpoint bob{0x0a000002u, 40002};

std::span<const std::byte> text(std::string_view s) { return wire::as_bytes(s); }
std::string str(std::span<const std::byte> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

wire::tlv outer(std::span<const std::byte> datagram)
{
    std::error_code ec;
    const wire::tlv t = wire::read_outer(datagram, ec);
    REQUIRE_FALSE(ec);
    return t;
}

// One client registered with one relay, both sides' state kept for the test.
struct registered_pair {
    rsa_oaep client{key(1)};
    rsa_oaep relay{key(0)};
    rsa_oaep::client_session cs{};
    std::optional<rsa_oaep::peer_session> peer;

    registered_pair()
    {
        datagram_batch hello, answer;
        client.start_session(cs, relay_ep, time_point{}, hello);
        REQUIRE(hello.size() == 2);
        std::optional<rsa_oaep::peer_session> reg;
        std::error_code ec;
        for (std::size_t i = 0; i < hello.size(); ++i) {
            REQUIRE(relay.relay_handshake(alice, outer(hello[i].bytes), time_point{}, answer, nullptr, reg, ec));
            REQUIRE_FALSE(ec);
        }
        REQUIRE(reg.has_value());
        peer = reg;
        REQUIRE(answer.size() == 1);
        std::vector<std::byte> unused;
        const crypto::received r =
            client.client_receive(cs, outer(answer[0].bytes), time_point{}, {}, answer, unused, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(r.what == crypto::received::kind::established);
    }
};

} // namespace

TEST_CASE("seed rsa_oaep: registration sends 4 then 7, and 5 establishes the session", "[profile][seed]")
{
    rsa_oaep client(key(1)), relay(key(0));
    rsa_oaep::client_session cs{};
    datagram_batch hello;
    client.start_session(cs, relay_ep, time_point{}, hello);
    REQUIRE(hello.size() == 2);
    CHECK(hello[0].to == relay_ep);
    CHECK(outer(hello[0].bytes).type() == wire::tlv_type::register_public_key);
    CHECK(str(outer(hello[0].bytes).value) == client.public_pem());
    CHECK(outer(hello[1].bytes).type() == wire::tlv_type::request_server_key);
    CHECK_FALSE(client.established(cs));

    datagram_batch answer;
    std::optional<rsa_oaep::peer_session> reg;
    std::error_code ec;
    CHECK(relay.relay_handshake(alice, outer(hello[0].bytes), time_point{}, answer, nullptr, reg, ec));
    REQUIRE(reg.has_value());
    CHECK(reg->key_fingerprint == client.public_fingerprint());
    CHECK_FALSE(relay.identity(*reg).has_value()); // the seed profile proves no identity
    CHECK(answer.size() == 0);
    CHECK(relay.relay_handshake(alice, outer(hello[1].bytes), time_point{}, answer, nullptr, reg, ec));
    REQUIRE(answer.size() == 1);
    CHECK(answer[0].to == alice);

    std::vector<std::byte> unused;
    crypto::received r = client.client_receive(cs, outer(answer[0].bytes), time_point{}, {}, answer, unused, ec);
    REQUIRE_FALSE(ec);
    CHECK(r.what == crypto::received::kind::established);
    CHECK(r.identity == relay.public_fingerprint());
    CHECK_FALSE(r.relay_changed);
    CHECK(client.established(cs));

    // Another relay key that answers no request of ours: ignored (anyone can send one from the
    // relay's address, and taking it would make the client join again).
    rsa_oaep other(key(2));
    datagram_batch other_answer;
    CHECK(other.relay_handshake(alice, outer(hello[1].bytes), time_point{}, other_answer, nullptr, reg, ec));
    r = client.client_receive(cs, outer(other_answer[0].bytes), time_point{}, {}, other_answer, unused, ec);
    CHECK(r.what == crypto::received::kind::nothing);
    // At the next probe (our own request): accepted (the seed trusts any relay), reported as a change.
    datagram_batch probe;
    client.start_session(cs, relay_ep, time_point{}, probe);
    r = client.client_receive(cs, outer(other_answer[0].bytes), time_point{}, {}, other_answer, unused, ec);
    CHECK(r.what == crypto::received::kind::established);
    CHECK(r.relay_changed);
}

TEST_CASE("seed rsa_oaep: seal then open, in 190-byte chunks of type 3", "[profile][seed]")
{
    registered_pair p;
    std::vector<std::byte> blob, plain;
    std::error_code ec;
    for (const std::size_t size : {0u, 1u, 190u, 191u, 1000u}) {
        const std::string msg(size, 'x');
        p.client.seal(p.cs, crypto::message_kind::data, text(msg), blob, ec);
        REQUIRE_FALSE(ec);
        const std::size_t blocks = size == 0 ? 1 : (size + 189) / 190;
        CHECK(blob.size() == blocks * (wire::tlv_header_size + 256));
        CHECK(outer(blob).type() == wire::tlv_type::encrypted_block);
        CHECK(p.relay.open(*p.peer, blob, plain, ec) == crypto::message_kind::data);
        REQUIRE_FALSE(ec);
        CHECK(str(plain) == msg);
    }
    p.client.seal(p.cs, crypto::message_kind::join, {}, blob, ec);
    CHECK(p.relay.open(*p.peer, blob, plain, ec) == crypto::message_kind::join);
    CHECK(str(plain) == "CONNECT");
    p.client.seal(p.cs, crypto::message_kind::leave, {}, blob, ec);
    CHECK(p.relay.open(*p.peer, blob, plain, ec) == crypto::message_kind::leave);
    CHECK(str(plain) == "DISCONNECT");

    // A data message equal to a control text would be read as one: refused, nothing sealed.
    p.client.seal(p.cs, crypto::message_kind::data, text("CONNECT"), blob, ec);
    CHECK(ec == errc::reserved_text);
    CHECK(blob.empty());
    // Another relay's key cannot open it.
    p.client.seal(p.cs, crypto::message_kind::data, text("hello"), blob, ec);
    rsa_oaep(key(2)).open(*p.peer, blob, plain, ec);
    CHECK(ec == errc::decrypt_failed);
    // Not whole blocks: malformed.
    const std::vector<std::byte> truncated(blob.begin(), blob.end() - 1);
    p.relay.open(*p.peer, truncated, plain, ec);
    CHECK(ec);
}

TEST_CASE("seed rsa_oaep: seal before the relay's key is not_ready", "[profile][seed]")
{
    rsa_oaep client(key(1));
    rsa_oaep::client_session cs{};
    std::vector<std::byte> blob{std::byte{1}};
    std::error_code ec;
    client.seal(cs, crypto::message_kind::data, text("hi"), blob, ec);
    CHECK(ec == errc::not_ready);
    CHECK(blob.empty());
}

TEST_CASE("seed rsa_oaep: SENDER_INFO(RELAYED_MESSAGE) reaches the recipient once", "[profile][seed]")
{
    registered_pair p; // the recipient (bob's client) with its registration at the relay
    std::vector<std::byte> blob, got;
    std::error_code ec;
    p.relay.seal_relayed(*p.peer, *p.peer, bob, text("from bob"), blob, ec);
    REQUIRE_FALSE(ec);
    const wire::tlv t = outer(blob);
    CHECK(t.type() == wire::tlv_type::sender_info);
    CHECK(t.bytes().size() == blob.size()); // one TLV: travels as one datagram

    datagram_batch out;
    crypto::received r = p.client.client_receive(p.cs, t, time_point{}, {}, out, got, ec);
    REQUIRE_FALSE(ec);
    CHECK(r.what == crypto::received::kind::message);
    CHECK(r.peer == bob);
    CHECK(str(got) == "from bob");

    // The same ciphertext again is a duplicate or a replay: dropped before any RSA work.
    r = p.client.client_receive(p.cs, t, time_point{}, {}, out, got, ec);
    CHECK(ec == errc::replayed);
    CHECK(r.what == crypto::received::kind::nothing);

    // The seed wire names senders by IPv4 address only.
    const endpoint v6 = endpoint::from_v6({0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 40003);
    p.relay.seal_relayed(*p.peer, *p.peer, v6, text("x"), blob, ec);
    CHECK(ec == errc::address_family);
}

TEST_CASE("seed rsa_oaep: presence notices", "[profile][seed]")
{
    registered_pair p;
    std::vector<std::byte> blob, unused;
    std::error_code ec;
    datagram_batch out;
    for (const bool connected : {true, false}) {
        p.relay.presence(*p.peer, connected, nullptr, bob, blob, ec);
        REQUIRE_FALSE(ec);
        const crypto::received r = p.client.client_receive(p.cs, outer(blob), time_point{}, {}, out, unused, ec);
        REQUIRE_FALSE(ec);
        CHECK(r.what == (connected ? crypto::received::kind::peer_connected : crypto::received::kind::peer_disconnected));
        CHECK(r.peer == bob);
    }
}

TEST_CASE("seed rsa_oaep: an IPv6 client is refused at the handshake", "[profile][seed]")
{
    rsa_oaep client(key(1)), relay(key(0));
    rsa_oaep::client_session cs{};
    datagram_batch hello, answer;
    client.start_session(cs, relay_ep, time_point{}, hello);
    const endpoint v6 = endpoint::from_v6({0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}, 40004);
    std::optional<rsa_oaep::peer_session> reg;
    std::error_code ec;
    for (std::size_t i = 0; i < hello.size(); ++i) {
        CHECK(relay.relay_handshake(v6, outer(hello[i].bytes), time_point{}, answer, nullptr, reg, ec));
        CHECK(ec == errc::address_family);
    }
    CHECK_FALSE(reg.has_value());
    CHECK(answer.size() == 0);
}

TEST_CASE("seed control texts", "[profile][seed]")
{
    CHECK(seed::control_of(text("CONNECT")) == crypto::message_kind::join);
    CHECK(seed::control_of(text("DISCONNECT")) == crypto::message_kind::leave);
    CHECK_FALSE(seed::control_of(text("CONNECT ")).has_value());
    CHECK_FALSE(seed::control_of({}).has_value());
    std::error_code ec;
    CHECK(seed::control_plaintext(crypto::message_kind::data, text("DISCONNECT"), ec).size() == 10);
    CHECK(ec == errc::reserved_text);
    CHECK(seed::control_plaintext(crypto::message_kind::join, {}, ec).size() == 7);
    CHECK_FALSE(ec);
}
