// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/profile/secure/ (cipher.hpp and its parts): the secure profile end to end over the engines, and its attacks.
#include <tlvcast/profile/secure/cipher.hpp>

#include "secure/secure_sim.hpp"

#include <tlvcast/profile/secure.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <unistd.h>

using namespace tlvcast;
using namespace std::chrono_literals;
using crypto::fingerprint;
using sec = profile::secure::cipher;
using net_type = test::secure_net<sec>;
using cstate = net_type::client_engine::state;

namespace {

// Ed25519 keys are cheap; fixed seeds keep failures reproducible.
crypto::ed25519_keypair identity(std::uint8_t n)
{
    std::array<std::byte, 32> seed{};
    seed.fill(static_cast<std::byte>(n));
    return crypto::ed25519_from_seed<crypto::default_suite>(seed);
}

fingerprint fp_of(std::uint8_t n) { return crypto::fingerprint_of<crypto::default_suite>(identity(n).public_key); }

std::string make_text(std::size_t sender, std::size_t size)
{
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        s[i] = static_cast<char>('a' + (i * 7 + sender) % 26);
    return s;
}

std::uint64_t rc(net_type& net, core::relay_counter c) { return net.relay().counters().get(c); }
std::uint64_t cc(net_type& net, std::size_t i, core::client_counter c) { return net.client(i).counters().get(c); }

// A network with `n` clients (identities 1..n) and a relay (identity 100), registered.
std::unique_ptr<net_type> make_net(std::size_t n, profile::secure::options copt = {})
{
    auto net = std::make_unique<net_type>(sec(identity(100)));
    for (std::size_t i = 0; i < n; ++i)
        net->add_client(sec(identity(static_cast<std::uint8_t>(i + 1)), copt));
    net->start_all();
    net->run_for(100ms);
    return net;
}

std::size_t count_kind(const std::vector<core::client_event>& evs, core::client_event::kind k)
{
    return static_cast<std::size_t>(std::count_if(evs.begin(), evs.end(), [&](const auto& e) { return e.what == k; }));
}

bool is_type(const test::wire_datagram& d, wire::tlv_type t)
{
    return d.bytes.size() >= 2 && wire::detail::load_u16(d.bytes.data()) == static_cast<std::uint16_t>(t);
}

} // namespace

TEST_CASE("secure: three clients register and exchange messages of every size with verified identities", "[secure]")
{
    auto net = make_net(3);
    std::vector<std::vector<core::client_event>> evs(3);
    for (std::size_t i = 0; i < 3; ++i) {
        REQUIRE(net->client(i).current_state() == cstate::established);
        evs[i] = net->events(i);
        REQUIRE(!evs[i].empty());
        CHECK(evs[i][0].what == core::client_event::kind::registered);
        REQUIRE(evs[i][0].identity);
        CHECK(*evs[i][0].identity == fp_of(100));
    }
    CHECK(net->relay().client_count() == 3);
    CHECK(rc(*net, core::relay_counter::registrations) == 3);
    // Presence notices name the peer by its verified identity.
    for (std::size_t i = 0; i < 3; ++i)
        for (const auto& e : evs[i])
            if (e.what == core::client_event::kind::peer_connected) {
                REQUIRE(e.identity);
                const auto j = static_cast<std::size_t>(e.peer.port - 40000);
                CHECK(e.peer == test::secure_client_address(j));
                CHECK(*e.identity == fp_of(static_cast<std::uint8_t>(j + 1)));
            }
    CHECK(count_kind(evs[0], core::client_event::kind::peer_connected) == 2);

    const std::size_t sizes[] = {0, 1, 1184, 1185, 5000, 48'450};
    std::map<std::tuple<std::size_t, std::size_t, std::string>, int> got;
    for (std::size_t from = 0; from < 3; ++from)
        for (const std::size_t size : sizes) {
            const std::string text = make_text(from, size);
            std::error_code ec;
            net->send(from, wire::as_bytes(text), ec);
            REQUIRE_FALSE(ec);
            net->run_for(20ms);
        }
    net->run_for(1s);
    for (std::size_t to = 0; to < 3; ++to)
        for (const auto& e : net->events(to))
            if (e.what == core::client_event::kind::message) {
                const auto from = static_cast<std::size_t>(e.peer.port - 40000);
                REQUIRE(from < 3);
                REQUIRE(e.identity);
                CHECK(*e.identity == fp_of(static_cast<std::uint8_t>(from + 1)));
                ++got[{to, from, e.text}];
            }
    std::size_t expected = 0;
    for (std::size_t from = 0; from < 3; ++from)
        for (const std::size_t size : sizes)
            for (std::size_t to = 0; to < 3; ++to) {
                if (to == from)
                    continue;
                CHECK(got[{to, from, make_text(from, size)}] == 1);
                ++expected;
            }
    CHECK(got.size() == expected);
    CHECK(rc(*net, core::relay_counter::undecryptable) == 0);
    // Every datagram on the wire fits max_datagram.
    for (const auto& d : net->sent)
        CHECK(d.bytes.size() <= 1232);
    // Only the handshake did public-key work: no operation per message.
    const auto ops_before = net->relay().cipher().public_key_ops().total();
    std::error_code ec;
    net->send(0, wire::as_bytes(std::string("one more")), ec);
    net->run_for(100ms);
    CHECK(net->relay().cipher().public_key_ops().total() == ops_before);
}

namespace {

// Drives one client cipher and one relay cipher by hand (no engines) until the handshake settles.
// `intercept` may rewrite a client datagram before the relay sees it. Returns the relay's last error.
struct manual_handshake {
    manual_handshake(sec& c, sec& r) : client(c), relay(r) {}
    sec& client;
    sec& relay;
    sec::client_session s{};
    std::optional<sec::peer_session> registered;
    endpoint from{0x0a0000aau, 999};
    time_point now{};
    std::function<void(std::vector<std::byte>&)> intercept;
    std::error_code relay_ec, client_ec;
    crypto::received last{};

    void run(const sec::peer_session* current = nullptr)
    {
        datagram_batch out;
        client.start_session(s, test::secure_group, now, out);
        for (int round = 0; round < 8 && !out.empty(); ++round) {
            datagram_batch next;
            for (std::size_t i = 0; i < out.size(); ++i) {
                std::vector<std::byte> bytes(out[i].bytes.begin(), out[i].bytes.end());
                std::error_code ec;
                if (out[i].to == test::secure_group) {
                    if (intercept)
                        intercept(bytes);
                    const wire::tlv t = wire::read_outer(bytes, ec);
                    REQUIRE_FALSE(ec);
                    relay.relay_handshake(from, t, now, next, current, registered, relay_ec);
                } else {
                    wire::tlv t = wire::read_outer(bytes, ec);
                    REQUIRE_FALSE(ec);
                    std::vector<std::byte> inner, text;
                    if (t.type() == wire::tlv_type::secure_record) {
                        client.unprotect(s, t.value, inner, client_ec);
                        if (client_ec)
                            return;
                        t = wire::read_outer(inner, ec);
                    }
                    last = client.client_receive(s, t, now, crypto::relay_trust::any(), next, text, client_ec);
                    if (client_ec)
                        return;
                }
            }
            out = std::move(next);
        }
    }
};

std::vector<std::byte> tlv_bytes(wire::tlv_type type, std::span<const std::byte> value)
{
    std::vector<std::byte> v;
    std::error_code ec;
    wire::tlv_appender(v).put(type, value, ec);
    return v;
}

} // namespace

TEST_CASE("secure: by hand, the handshake yields matching sessions; key exhaustion stops sealing", "[secure]")
{
    sec client(identity(1)), relay(identity(100));
    manual_handshake h{client, relay};
    h.run();
    REQUIRE_FALSE(h.relay_ec);
    REQUIRE_FALSE(h.client_ec);
    REQUIRE(h.registered);
    REQUIRE(client.established(h.s));
    CHECK(h.last.what == crypto::received::kind::established);
    CHECK(*h.last.identity == fp_of(100));
    CHECK_FALSE(h.last.relay_changed);
    CHECK(relay.identity(*h.registered) == fp_of(1));
    CHECK(relay.pending_handshakes() == 0);

    // A record both ways.
    const auto keepalive = tlv_bytes(wire::tlv_type::keepalive, {});
    std::vector<std::byte> record, inner;
    std::error_code ec;
    client.protect(h.s, keepalive, record, ec);
    REQUIRE_FALSE(ec);
    CHECK(record.size() == keepalive.size() + sec::record_overhead);
    wire::tlv t = wire::read_outer(record, ec);
    relay.unprotect(*h.registered, t.value, inner, ec);
    REQUIRE_FALSE(ec);
    CHECK(inner == keepalive);
    relay.unprotect(*h.registered, t.value, inner, ec);
    CHECK(ec == errc::replayed);

    // At the AEAD's record limit the sender refuses (keys must be replaced first).
    h.s.current->next_seq = sec::max_records - 1;
    client.protect(h.s, keepalive, record, ec);
    CHECK_FALSE(ec);
    client.protect(h.s, keepalive, record, ec);
    CHECK(ec == errc::key_exhausted);
    sec::client_session fresh;
    client.protect(fresh, keepalive, record, ec);
    CHECK(ec == errc::not_ready);

    // A re-handshake of the same client carries the old session over for late records, and the
    // client sees relay_restarted only when the relay did not know it.
    manual_handshake again{client, relay};
    again.s = std::move(h.s);
    again.run(&*h.registered);
    REQUIRE(again.registered);
    CHECK(again.last.what == crypto::received::kind::established);
    CHECK_FALSE(again.last.relay_restarted);
    CHECK(again.registered->previous == h.registered->current);
    manual_handshake forgotten{client, relay};
    forgotten.s = std::move(again.s);
    forgotten.run(nullptr);
    CHECK(forgotten.last.relay_restarted);
    CHECK_FALSE(forgotten.last.relay_changed);
}

TEST_CASE("secure: every flipped byte of a record is rejected, both ways, and nothing is delivered", "[secure][attack]")
{
    auto net = make_net(3);
    for (std::size_t i = 0; i < 3; ++i)
        net->events(i);
    std::error_code ec;
    net->sent.clear();
    net->send(0, wire::as_bytes(std::string("hello")), ec);
    net->run_for(50ms);
    test::wire_datagram c2r, r2c;
    for (const auto& d : net->sent) {
        if (d.from == test::secure_client_address(0) && is_type(d, wire::tlv_type::secure_record))
            c2r = d;
        if (d.to == test::secure_client_address(1) && is_type(d, wire::tlv_type::secure_record))
            r2c = d;
    }
    REQUIRE(!c2r.bytes.empty());
    REQUIRE(!r2c.bytes.empty());
    for (std::size_t i = 0; i < 3; ++i)
        net->events(i);
    const auto messages_in = rc(*net, core::relay_counter::messages_in);
    const auto relayed = rc(*net, core::relay_counter::messages_relayed);

    for (std::size_t i = 0; i < c2r.bytes.size(); ++i) {
        auto bytes = c2r.bytes;
        bytes[i] ^= std::byte{0x01};
        const auto before = rc(*net, core::relay_counter::undecryptable);
        net->inject(c2r.from, test::secure_relay_address, bytes);
        net->run_for(2ms);
        if (i >= wire::tlv_header_size) // header flips are malformed or another type; the rest fail the AEAD
            CHECK(rc(*net, core::relay_counter::undecryptable) == before + 1);
    }
    for (std::size_t i = 0; i < r2c.bytes.size(); ++i) {
        auto bytes = r2c.bytes;
        bytes[i] ^= std::byte{0x80};
        const auto before =
            cc(*net, 1, core::client_counter::undecryptable) + cc(*net, 1, core::client_counter::duplicates);
        net->inject(test::secure_relay_address, r2c.to, bytes);
        net->run_for(2ms);
        if (i >= wire::tlv_header_size)
            // The original was delivered: a flipped copy that keeps its seq is refused by the window
            // (a duplicate) before any cryptography; any other flip fails the AEAD.
            CHECK(cc(*net, 1, core::client_counter::undecryptable) + cc(*net, 1, core::client_counter::duplicates) ==
                  before + 1);
    }
    CHECK(rc(*net, core::relay_counter::messages_in) == messages_in);
    CHECK(rc(*net, core::relay_counter::messages_relayed) == relayed);
    for (std::size_t i = 0; i < 3; ++i)
        for (const auto& e : net->events(i))
            CHECK(e.what != core::client_event::kind::message);
}

TEST_CASE("secure: replayed records are rejected, in the session and after a relay restart", "[secure][attack]")
{
    auto net = make_net(3);
    std::error_code ec;
    net->sent.clear();
    net->send(0, wire::as_bytes(std::string("pay 10 EUR")), ec);
    net->run_for(50ms);
    test::wire_datagram c2r, r2c;
    for (const auto& d : net->sent) {
        if (d.from == test::secure_client_address(0) && is_type(d, wire::tlv_type::secure_record))
            c2r = d;
        if (d.to == test::secure_client_address(1) && is_type(d, wire::tlv_type::secure_record))
            r2c = d;
    }
    REQUIRE(!c2r.bytes.empty());
    REQUIRE(!r2c.bytes.empty());
    for (std::size_t i = 0; i < 3; ++i)
        CHECK(count_kind(net->events(i), core::client_event::kind::message) == (i == 0 ? 0u : 1u));

    const auto undecryptable = rc(*net, core::relay_counter::undecryptable);
    const auto messages_in = rc(*net, core::relay_counter::messages_in);
    net->inject(c2r.from, test::secure_relay_address, c2r.bytes);
    net->inject(test::secure_relay_address, r2c.to, r2c.bytes);
    net->run_for(10ms);
    CHECK(rc(*net, core::relay_counter::undecryptable) == undecryptable + 1);
    CHECK(rc(*net, core::relay_counter::messages_in) == messages_in);
    CHECK(cc(*net, 1, core::client_counter::duplicates) == 1);
    CHECK(count_kind(net->events(1), core::client_event::kind::message) == 0);

    // The relay restarts with the same identity: it knows no session, old records are refused.
    net->restart_relay(sec(identity(100)));
    net->relay_events.clear();
    net->inject(c2r.from, test::secure_relay_address, c2r.bytes);
    net->run_for(10ms);
    CHECK(net->relay().counters().get(core::relay_counter::unregistered) >= 1);
    CHECK(net->relay().counters().get(core::relay_counter::messages_in) == 0);
    // Clients notice at their next probe (a new handshake that the relay marks "new client") and
    // join again by themselves; the relay's identity did not change, so no relay_changed.
    net->run_for(20s);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(net->client(i).current_state() == cstate::established);
        CHECK(count_kind(net->events(i), core::client_event::kind::relay_changed) == 0);
        CHECK(cc(*net, i, core::client_counter::re_registrations) == 1);
    }
    CHECK(net->relay().client_count() == 3);
    const auto stale_before = net->relay().counters().get(core::relay_counter::undecryptable);
    net->inject(c2r.from, test::secure_relay_address, c2r.bytes);
    net->inject(test::secure_relay_address, r2c.to, r2c.bytes);
    net->run_for(10ms);
    CHECK(net->relay().counters().get(core::relay_counter::undecryptable) == stale_before + 1); // stale_session
    for (const auto& e : net->relay_events) // only the clients' CONNECTs after re-registering
        CHECK(e.what != core::relay_event::kind::message);
    CHECK(count_kind(net->events(1), core::client_event::kind::message) == 0);
}

TEST_CASE("secure: records reordered within the window are each accepted once", "[secure]")
{
    auto net = make_net(3);
    for (std::size_t i = 0; i < 3; ++i)
        net->events(i);
    // Hold client 0's records and the relay's records to client 1, then deliver them in reverse.
    std::vector<test::wire_datagram> held_up, held_down;
    bool hold_up = true, hold_down = true;
    net->tap = [&](test::wire_datagram& d) {
        if (!is_type(d, wire::tlv_type::secure_record))
            return true;
        if (hold_up && d.from == test::secure_client_address(0)) {
            held_up.push_back(d);
            return false;
        }
        if (hold_down && d.to == test::secure_client_address(1)) {
            held_down.push_back(d);
            return false;
        }
        return true;
    };
    const std::string text = make_text(0, 6000);
    std::error_code ec;
    net->send(0, wire::as_bytes(text), ec);
    REQUIRE_FALSE(ec);
    net->run_for(10ms);
    REQUIRE(held_up.size() == 6);
    hold_up = false;
    for (auto it = held_up.rbegin(); it != held_up.rend(); ++it)
        net->inject(it->from, it->to, it->bytes);
    net->run_for(10ms);
    REQUIRE(held_down.size() == 6);
    hold_down = false;
    for (auto it = held_down.rbegin(); it != held_down.rend(); ++it)
        net->inject(it->from, it->to, it->bytes);
    net->run_for(10ms);
    CHECK(rc(*net, core::relay_counter::messages_in) >= 1);
    CHECK(rc(*net, core::relay_counter::undecryptable) == 0);
    auto evs = net->events(1);
    REQUIRE(count_kind(evs, core::client_event::kind::message) == 1);
    CHECK(std::find_if(evs.begin(), evs.end(), [&](auto& e) { return e.text == text; }) != evs.end());
    CHECK(count_kind(net->events(2), core::client_event::kind::message) == 1);
    CHECK(cc(*net, 1, core::client_counter::undecryptable) == 0);
    // And once more: all duplicates now.
    for (const auto& d : held_down)
        net->inject(d.from, d.to, d.bytes);
    net->run_for(10ms);
    CHECK(cc(*net, 1, core::client_counter::duplicates) == held_down.size());
    CHECK(count_kind(net->events(1), core::client_event::kind::message) == 0);
}

TEST_CASE("secure: a pinned client refuses a rogue relay before sending anything authenticated", "[secure][attack]")
{
    core::client_options copt;
    copt.trust = crypto::relay_trust::pin(fp_of(100));
    net_type net(sec(identity(200))); // the rogue: another identity
    net.add_client(sec(identity(1)), copt);
    net.start_all();
    // The refused hello is dropped and shown; the client fails only when its attempts run out.
    net.run_for(100ms);
    CHECK(net.client(0).current_state() == cstate::registering);
    CHECK(count_kind(net.events(0), core::client_event::kind::relay_refused) == 1);
    net.run_for(20s);
    CHECK(net.client(0).current_state() == cstate::failed);
    const auto evs = net.events(0);
    REQUIRE(!evs.empty());
    CHECK(evs.back().what == core::client_event::kind::failed);
    CHECK(evs.back().error == errc::identity_mismatch);
    for (const auto& d : net.sent)
        if (d.from == test::secure_client_address(0)) {
            CHECK_FALSE(is_type(d, wire::tlv_type::secure_record));
            CHECK_FALSE(is_type(d, wire::tlv_type::fragment));
            CHECK_FALSE(is_type(d, wire::tlv_type::secure_client_auth));
        }
    CHECK(net.relay().client_count() == 0);

    // The right relay is accepted.
    net_type good(sec(identity(100)));
    good.add_client(sec(identity(1)), copt);
    good.start_all();
    good.run_for(100ms);
    CHECK(good.client(0).current_state() == cstate::established);
}

TEST_CASE("secure: trust on first use reports the relay to remember and refuses a changed key", "[secure][attack]")
{
    {
        net_type net(sec(identity(100)));
        net.add_client(sec(identity(1))); // default trust: tofu, nothing known
        net.start_all();
        net.run_for(100ms);
        CHECK(net.client(0).current_state() == cstate::established);
        const auto evs = net.events(0);
        const auto it = std::find_if(evs.begin(), evs.end(),
                                     [](const auto& e) { return e.what == core::client_event::kind::relay_trusted; });
        REQUIRE(it != evs.end());
        CHECK(*it->identity == fp_of(100));
        CHECK(count_kind(evs, core::client_event::kind::relay_trusted) == 1);
    }
    core::client_options copt;
    copt.trust.known[test::secure_group] = fp_of(100);
    {
        net_type again(sec(identity(100)));
        again.add_client(sec(identity(2)), copt);
        again.start_all();
        again.run_for(100ms);
        CHECK(again.client(0).current_state() == cstate::established);
        CHECK(count_kind(again.events(0), core::client_event::kind::relay_trusted) == 0);
    }
    {
        net_type rogue(sec(identity(200)));
        rogue.add_client(sec(identity(1)), copt);
        rogue.start_all();
        rogue.run_for(20s);
        CHECK(rogue.client(0).current_state() == cstate::failed);
        const auto evs = rogue.events(0);
        REQUIRE(!evs.empty());
        CHECK(evs.back().error == errc::identity_mismatch);
        for (const auto& d : rogue.sent)
            if (d.from == test::secure_client_address(0)) {
                CHECK_FALSE(is_type(d, wire::tlv_type::secure_record));
                CHECK_FALSE(is_type(d, wire::tlv_type::secure_client_auth));
            }
    }
    {
        // A damaged entry for the address fails closed.
        core::client_options broken;
        broken.trust.known[test::secure_group] = std::nullopt;
        net_type net(sec(identity(100)));
        net.add_client(sec(identity(1)), broken);
        net.start_all();
        net.run_for(20s);
        CHECK(net.client(0).current_state() == cstate::failed);
    }
}

TEST_CASE("secure: a client claiming another's identity is refused", "[secure][attack]")
{
    sec attacker(identity(66)), relay(identity(100));
    manual_handshake h{attacker, relay};
    const auto victim = identity(1).public_key;
    h.intercept = [&](std::vector<std::byte>& bytes) {
        if (!is_type(test::wire_datagram{{}, {}, bytes}, wire::tlv_type::secure_client_auth))
            return;
        // Open our own client auth, put the victim's public key in it, keep our signature, reseal.
        auto& p = *h.s.pending;
        std::array<std::byte, 16> aad{};
        std::copy_n(bytes.begin() + 4, 8, aad.begin());
        std::array<std::byte, 96> auth{};
        std::error_code ec;
        const auto sealed = std::span<const std::byte>(bytes).subspan(12);
        p.tx.open(crypto::make_nonce(p.tx_iv, 0), aad, sealed, auth, ec);
        REQUIRE_FALSE(ec);
        std::copy(victim.begin(), victim.end(), auth.begin());
        std::array<std::byte, 112> resealed{};
        p.tx.seal(crypto::make_nonce(p.tx_iv, 0), aad, auth, resealed, ec);
        REQUIRE_FALSE(ec);
        std::copy(resealed.begin(), resealed.end(), bytes.begin() + 12);
    };
    h.run();
    CHECK(h.relay_ec == errc::authentication_failed);
    CHECK_FALSE(h.registered);
    CHECK_FALSE(attacker.established(h.s));
}

TEST_CASE("secure: forged presence and forged sender info are not shown", "[secure][attack]")
{
    auto net = make_net(2);
    for (std::size_t i = 0; i < 2; ++i)
        net->events(i);
    const std::array<std::byte, 6> who{std::byte{10}, std::byte{9}, std::byte{9}, std::byte{9}, std::byte{0x1f},
                                       std::byte{0x90}};
    // Plain seed-profile presence from the relay's address.
    net->inject(test::secure_relay_address, test::secure_client_address(0),
                tlv_bytes(wire::tlv_type::client_connected, who));
    // An unauthenticated SECURE_PRESENCE outside a record.
    std::array<std::byte, wire::secure_presence_size> presence{};
    presence[0] = std::byte{1};
    std::error_code ec;
    wire::encode_tagged_address(std::span(presence).subspan(1), endpoint{0x0a090909u, 8080}, ec);
    REQUIRE_FALSE(ec);
    net->inject(test::secure_relay_address, test::secure_client_address(0),
                tlv_bytes(wire::tlv_type::secure_presence, presence));
    // The same inside a record with a made-up session.
    std::vector<std::byte> fake(16 + 43 + 16, std::byte{0x42});
    net->inject(test::secure_relay_address, test::secure_client_address(0),
                tlv_bytes(wire::tlv_type::secure_record, fake));
    // A record from another address than the relay's is opened like any (a relay may move): forged.
    net->inject(test::secure_client_address(1), test::secure_client_address(0),
                tlv_bytes(wire::tlv_type::secure_record, fake));
    // SENDER_INFO(RELAYED_MESSAGE) from another client, and from the relay's address.
    std::vector<std::byte> si(6 + 4 + 256, std::byte{0x41});
    std::copy(who.begin(), who.end(), si.begin());
    wire::detail::store_u16(si.data() + 6, 6);
    wire::detail::store_u16(si.data() + 8, 256);
    net->inject(test::secure_client_address(1), test::secure_client_address(0), tlv_bytes(wire::tlv_type::sender_info, si));
    net->inject(test::secure_relay_address, test::secure_client_address(0), tlv_bytes(wire::tlv_type::sender_info, si));
    net->run_for(10ms);
    for (const auto& e : net->events(0)) {
        CHECK(e.what != core::client_event::kind::message);
        CHECK(e.what != core::client_event::kind::peer_connected);
    }
    CHECK(cc(*net, 0, core::client_counter::unexpected_type) == 1);
    CHECK(cc(*net, 0, core::client_counter::undecryptable) == 2);
    CHECK(cc(*net, 0, core::client_counter::from_stranger) == 0); // records speak for themselves
    CHECK(net->client(0).current_state() == cstate::established);
}

TEST_CASE("secure: a hello flood from spoofed sources costs no public-key operation", "[secure][attack]")
{
    net_type net(sec(identity(100)));
    std::array<std::byte, 50> hello{};
    hello[0] = std::byte{profile::secure::version};
    hello[1] = std::byte{1};
    for (std::uint32_t i = 0; i < 10'000; ++i) {
        hello[2] = static_cast<std::byte>(i);
        hello[3] = static_cast<std::byte>(i >> 8);
        const endpoint spoofed{0x0b000000u + i, static_cast<std::uint16_t>(1024 + i % 60000)};
        net.inject(spoofed, test::secure_relay_address, tlv_bytes(wire::tlv_type::secure_hello, hello));
    }
    net.run_for(50ms);
    CHECK(net.relay().cipher().public_key_ops().total() == 0);
    CHECK(net.relay().cipher().pending_handshakes() == 0);
    std::size_t cookies = 0;
    for (const auto& d : net.sent) {
        REQUIRE(d.from == test::secure_relay_address);
        CHECK(is_type(d, wire::tlv_type::secure_cookie));
        CHECK(d.bytes.size() < 4 + hello.size()); // no amplification
        ++cookies;
    }
    CHECK(cookies == 10'000);
    // Honest clients still register.
    net.add_client(sec(identity(1)));
    net.add_client(sec(identity(2)));
    net.start_all();
    net.run_for(100ms);
    CHECK(net.client(0).current_state() == cstate::established);
    CHECK(net.client(1).current_state() == cstate::established);
}

TEST_CASE("secure: valid-cookie hellos beyond the per-address rate limit are refused; a full pending table evicts the oldest",
          "[secure][attack]")
{
    profile::secure::options ropt;
    ropt.max_pending = 50;
    ropt.max_pending_per_address = 1000; // this test is about the table; handshake_flood.cpp tests the per-address cap
    sec relay(identity(100), ropt), client(identity(1));
    time_point now{};
    std::optional<sec::peer_session> reg;
    std::error_code ec;
    // A fresh hello with a valid cookie from one address on port `port` (distinct hellos: no retransmission).
    auto fresh_hello = [&](std::uint16_t port) {
        const endpoint src{0x0a000001u, port};
        sec::client_session s;
        datagram_batch out, replies;
        client.start_session(s, test::secure_group, now, out);
        relay.relay_handshake(src, wire::read_outer(out[0].bytes, ec), now, replies, nullptr, reg, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(replies.size() == 1);
        std::vector<std::byte> text;
        out.clear();
        client.client_receive(s, wire::read_outer(replies[0].bytes, ec), now, crypto::relay_trust::any(), out, text, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(out.size() == 1); // the hello with its cookie
        return std::pair{src, std::vector<std::byte>(out[0].bytes.begin(), out[0].bytes.end())};
    };
    std::uint16_t port = 4000;
    std::size_t answered = 0, limited = 0;
    for (int i = 0; i < 60; ++i) {
        const auto [src, with_cookie] = fresh_hello(port++);
        datagram_batch replies;
        relay.relay_handshake(src, wire::read_outer(with_cookie, ec), now, replies, nullptr, reg, ec);
        if (ec == errc::rate_limited)
            ++limited;
        else if (!ec && replies.size() == 1 && is_type({{}, {}, {replies[0].bytes.begin(), replies[0].bytes.end()}},
                                                       wire::tlv_type::secure_server_hello))
            ++answered;
    }
    CHECK(answered == 40); // the per-address burst, whatever the ports
    CHECK(limited == 20);
    CHECK(relay.pending_handshakes() == 40);
    // Later the bucket refills; the pending table (50) stays bounded by evicting its oldest entries.
    now += 10s - 1ms;
    answered = 0;
    for (int i = 0; i < 20; ++i) {
        const auto [src, with_cookie] = fresh_hello(port++);
        datagram_batch replies;
        relay.relay_handshake(src, wire::read_outer(with_cookie, ec), now, replies, nullptr, reg, ec);
        answered += !ec ? 1 : 0;
    }
    CHECK(answered == 20);
    CHECK(relay.pending_handshakes() == 50);
    // Entries expire after pending_expiry: the 30 left from the start go.
    now += 1s;
    const auto [src, with_cookie] = fresh_hello(port++);
    datagram_batch replies;
    relay.relay_handshake(src, wire::read_outer(with_cookie, ec), now, replies, nullptr, reg, ec);
    CHECK_FALSE(ec);
    CHECK(relay.pending_handshakes() == 21);
}

TEST_CASE("secure: IPv6 clients are named by their IPv6 address in presence and deliveries", "[secure][ipv6]")
{
    net_type net(sec(identity(100)));
    net.group = *endpoint::parse("[ff15::1]:5007");
    net.relay_address = *endpoint::parse("[fd00::1]:5007");
    // One IPv6 client and one IPv4 client (a relay serves both families on a dual-stack socket).
    net.client_address = [](std::size_t i) {
        return i == 0 ? *endpoint::parse("[fd00::1]:40000") : endpoint{0x0a000002u, 40001};
    };
    net.add_client(sec(identity(1)));
    net.add_client(sec(identity(2)));
    net.start_all();
    net.run_for(100ms);
    REQUIRE(net.client(0).current_state() == cstate::established);
    REQUIRE(net.client(1).current_state() == cstate::established);
    const auto ev1 = net.events(1);
    REQUIRE(count_kind(ev1, core::client_event::kind::peer_connected) == 1);
    for (const auto& e : ev1)
        if (e.what == core::client_event::kind::peer_connected) {
            CHECK(e.peer == net.client_address(0));
            CHECK(e.peer.to_string() == "[fd00::1]:40000");
            CHECK(e.identity == fp_of(1));
        }
    net.events(0);

    std::error_code ec;
    for (std::size_t from = 0; from < 2; ++from) {
        // One record, and a delivery the relay must fragment (its SECURE_DELIVER is 51 bytes longer).
        for (const std::size_t size : {std::size_t{5}, std::size_t{5000}}) {
            net.send(from, wire::as_bytes(make_text(from, size)), ec);
            REQUIRE_FALSE(ec);
        }
    }
    net.run_for(200ms);
    for (std::size_t to = 0; to < 2; ++to) {
        const std::size_t from = 1 - to;
        std::vector<std::size_t> sizes;
        for (const auto& e : net.events(to))
            if (e.what == core::client_event::kind::message) {
                CHECK(e.peer == net.client_address(from));
                CHECK(e.identity == fp_of(static_cast<std::uint8_t>(from + 1)));
                CHECK(e.text == make_text(from, e.text.size()));
                sizes.push_back(e.text.size());
            }
        CHECK(sizes == std::vector<std::size_t>{5, 5000});
    }
    // The relay's records really carry family 6 and the 16 address bytes: find the tagged
    // address of client 0 in the relay's view (its events) and in nothing malformed on the way.
    CHECK(cc(net, 0, core::client_counter::malformed) == 0);
    CHECK(cc(net, 1, core::client_counter::malformed) == 0);
    bool saw_v6 = false;
    for (const auto& e : net.relay_events)
        saw_v6 = saw_v6 || (e.what == core::relay_event::kind::message && e.peer == net.client_address(0));
    CHECK(saw_v6);
}

TEST_CASE("secure: send_sealed sends what seal made ahead; unprotect hands back a record's inner TLV once",
          "[secure]")
{
    auto net = make_net(2);
    REQUIRE(net->client(0).current_state() == cstate::established);
    const std::string text = make_text(0, 300);
    std::vector<std::byte> blob;
    std::error_code ec;
    net->client(0).cipher().seal(net->client(0).session(), crypto::message_kind::data, wire::as_bytes(text), blob, ec);
    REQUIRE_FALSE(ec);
    datagram_batch out;
    net->client(0).send_sealed(blob, net->now(), out, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(out.size() == 1);

    // The relay takes it as any record of client 0's and re-seals it for client 1.
    datagram_batch relayed;
    std::vector<core::relay_event> events;
    net->relay().handle(test::secure_client_address(0), out[0].bytes, net->now(), relayed, events);
    REQUIRE(relayed.size() == 1);
    CHECK(relayed[0].to == test::secure_client_address(1));
    const std::vector<std::byte> record(relayed[0].bytes.begin(), relayed[0].bytes.end());

    std::vector<std::byte> inner;
    REQUIRE(net->client(1).unprotect(record, inner, ec));
    REQUIRE_FALSE(ec);
    const wire::tlv t = wire::read_outer(inner, ec);
    REQUIRE_FALSE(ec);
    CHECK(t.type() == wire::tlv_type::secure_deliver);
    CHECK(std::search(inner.begin(), inner.end(), wire::as_bytes(text).begin(), wire::as_bytes(text).end()) !=
          inner.end());
    // The replay window counted it: the same record through handle() is a duplicate, no message.
    datagram_batch ignored;
    net->client(1).handle(test::secure_relay_address, record, net->now(), ignored);
    CHECK(cc(*net, 1, core::client_counter::duplicates) == 1);
    CHECK(count_kind(net->events(1), core::client_event::kind::message) == 0);
    // Not a record: refused as such, nothing consumed.
    std::vector<std::byte> keepalive;
    wire::tlv_appender(keepalive).put(wire::tlv_type::keepalive, {}, ec);
    REQUIRE_FALSE(ec);
    CHECK_FALSE(net->client(1).unprotect(keepalive, inner, ec));
    CHECK(ec == errc::unexpected_type);

    // Before registration there is nothing to send under.
    net_type fresh(sec(identity(100)));
    fresh.add_client(sec(identity(7)));
    fresh.client(0).send_sealed(blob, fresh.now(), out, ec);
    CHECK(ec == errc::not_ready);
}
