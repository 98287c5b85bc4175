// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/profile/secure/ (cipher.hpp and its parts), relay side under handshake floods (issue 7): replayed
// hello+cookie pairs, one host on many ports, the per-address pending cap and eviction.
#include <tlvcast/profile/secure/cipher.hpp>

#include "secure/secure_sim.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <optional>
#include <vector>

using namespace tlvcast;
using namespace std::chrono_literals;
using sec = profile::secure::cipher;

namespace {

crypto::ed25519_keypair identity(std::uint8_t n)
{
    std::array<std::byte, 32> seed{};
    seed.fill(static_cast<std::byte>(n));
    return crypto::ed25519_from_seed<crypto::default_suite>(seed);
}

std::vector<std::byte> bytes_of(const datagram_batch& b, std::size_t i) { return {b[i].bytes.begin(), b[i].bytes.end()}; }

bool is_type(std::span<const std::byte> d, wire::tlv_type t)
{
    return d.size() >= 2 && wire::detail::load_u16(d.data()) == static_cast<std::uint16_t>(t);
}

// One client's handshake with `relay`, driven by hand; the relay's time is `now`.
struct hs {
    hs(sec& c, sec& r, endpoint f) : client(c), relay(r), from(f) {}

    sec& client;
    sec& relay;
    endpoint from;
    sec::client_session s{};
    std::error_code ec;

    // SECURE_HELLO with a valid cookie (a fresh ephemeral key unless `again`).
    std::vector<std::byte> hello_with_cookie(time_point now)
    {
        datagram_batch out, replies;
        client.start_session(s, test::secure_group, now, out);
        std::optional<sec::peer_session> reg;
        relay.relay_handshake(from, wire::read_outer(bytes_of(out, 0), ec), now, replies, nullptr, reg, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(replies.size() == 1);
        out.clear();
        std::vector<std::byte> text;
        client.client_receive(s, wire::read_outer(bytes_of(replies, 0), ec), now, crypto::relay_trust::any(), out,
                              text, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(out.size() == 1);
        return bytes_of(out, 0);
    }

    // Sends `hello` to the relay: its reply (empty when refused; ec says why).
    std::vector<std::byte> send(std::span<const std::byte> datagram, time_point now,
                                std::optional<sec::peer_session>* reg_out = nullptr,
                                const sec::peer_session* current = nullptr)
    {
        datagram_batch replies;
        std::optional<sec::peer_session> reg;
        std::error_code pec;
        const auto t = wire::read_outer(datagram, pec);
        REQUIRE_FALSE(pec);
        relay.relay_handshake(from, t, now, replies, current, reg, ec);
        if (reg_out)
            *reg_out = std::move(reg);
        return replies.size() == 1 ? bytes_of(replies, 0) : std::vector<std::byte>{};
    }

    // Answers a SERVER_HELLO: the CLIENT_AUTH datagram.
    std::vector<std::byte> client_auth(std::span<const std::byte> server_hello, time_point now)
    {
        datagram_batch out;
        std::vector<std::byte> text;
        std::error_code cec;
        client.client_receive(s, wire::read_outer(server_hello, cec), now, crypto::relay_trust::any(), out, text, cec);
        REQUIRE_FALSE(cec);
        REQUIRE(out.size() == 1);
        return bytes_of(out, 0);
    }

    // The whole handshake at `now`: the registered session, or nullopt.
    std::optional<sec::peer_session> join(time_point now, const sec::peer_session* current = nullptr)
    {
        const auto hello = hello_with_cookie(now);
        const auto sh = send(hello, now, nullptr, current);
        if (ec || !is_type(sh, wire::tlv_type::secure_server_hello))
            return std::nullopt;
        std::optional<sec::peer_session> reg;
        (void)send(client_auth(sh, now), now, &reg, current);
        if (ec)
            return std::nullopt;
        return reg;
    }
};

} // namespace

TEST_CASE("handshake flood: 200 replays of one hello+cookie cost one handshake; the first ones get the same "
          "SERVER_HELLO, then nothing",
          "[secure][attack][dos]")
{
    sec relay(identity(100)), client(identity(1));
    hs h{client, relay, endpoint{0x0a000001u, 4000}};
    const time_point now{};
    const auto hello = h.hello_with_cookie(now);
    const auto before = relay.public_key_ops().total();
    const auto first = h.send(hello, now);
    REQUIRE_FALSE(h.ec);
    REQUIRE(is_type(first, wire::tlv_type::secure_server_hello));
    const auto one = relay.public_key_ops().total() - before;
    CHECK(one == 3); // 2 X25519 + 1 signature
    // A repeated flight is answered with the stored one (DTLS), at most max_flight_resends times
    // per handshake and no faster than the client's own retransmissions: a copied hello+cookie,
    // every 50 ms until the entry expires, draws a bounded number of 140-byte answers.
    std::size_t same = 0, silent = 0;
    for (int i = 0; i < 200; ++i) {
        const auto again = h.send(hello, now + std::chrono::milliseconds(i * 50));
        same += again == first ? 1 : 0;
        silent += again.empty() && h.ec == errc::rate_limited ? 1 : 0;
    }
    const auto total = relay.public_key_ops().total() - before;
    std::printf("handshake flood replay: %zu/200 identical SERVER_HELLOs, %llu public-key ops for 201 hellos\n",
                same, static_cast<unsigned long long>(total));
    CHECK(same == relay.settings().max_flight_resends);
    CHECK(silent == 200 - same);
    CHECK(total == one);
    CHECK(relay.pending_handshakes() == 1);
    // The retransmitted answer completes the handshake.
    std::optional<sec::peer_session> reg;
    (void)h.send(h.client_auth(first, now + 2s), now + 2s, &reg);
    CHECK_FALSE(h.ec);
    CHECK(reg.has_value());
    CHECK(relay.pending_handshakes() == 0);
}

TEST_CASE("handshake flood: one host on 6 ports at 120 hellos/s each for 30 s does not stop 20 honest joins and rekeys",
          "[secure][attack][dos]")
{
    sec relay(identity(100));
    // The attacker: one address (11.0.0.1), 6 source ports, each alternating fresh hellos and
    // replays of its last one, every one with a valid cookie.
    std::vector<sec> attacker_ciphers;
    for (int p = 0; p < 6; ++p)
        attacker_ciphers.emplace_back(identity(static_cast<std::uint8_t>(200 + p)));
    std::vector<hs> attackers;
    for (int p = 0; p < 6; ++p)
        attackers.push_back(hs{attacker_ciphers[static_cast<std::size_t>(p)], relay,
                               endpoint{0x0b000001u, static_cast<std::uint16_t>(6000 + p)}});
    std::vector<std::vector<std::byte>> last(6);
    // 20 honest clients on other addresses (10.0.1.x); client i joins at 1 + i s and rekeys 9 s later.
    std::vector<sec> honest_ciphers;
    for (int i = 0; i < 20; ++i)
        honest_ciphers.emplace_back(identity(static_cast<std::uint8_t>(1 + i)));
    std::vector<hs> honest;
    for (int i = 0; i < 20; ++i)
        honest.push_back(hs{honest_ciphers[static_cast<std::size_t>(i)], relay,
                            endpoint{0x0a000101u + static_cast<std::uint32_t>(i), 40000}});
    std::vector<std::optional<sec::peer_session>> sessions(20);
    std::size_t joins = 0, joins_ok = 0, rekeys = 0, rekeys_ok = 0, attack_hellos = 0, attack_answered = 0;

    const auto tick = std::chrono::microseconds(1'000'000 / 120);
    const time_point start{};
    std::uint64_t attacker_ops = 0;
    for (int k = 0; k < 120 * 30; ++k) {
        const time_point now = start + k * tick;
        for (std::size_t p = 0; p < 6; ++p) {
            if (k % 2 == 0 || last[p].empty())
                last[p] = attackers[p].hello_with_cookie(now);
            const auto before = relay.public_key_ops().total();
            const auto r = attackers[p].send(last[p], now);
            attacker_ops += relay.public_key_ops().total() - before;
            ++attack_hellos;
            attack_answered += r.empty() ? 0 : 1;
        }
        for (std::size_t i = 0; i < 20; ++i) {
            const time_point join_at = start + std::chrono::seconds(1 + i);
            if (now <= join_at && now + tick > join_at) {
                ++joins;
                sessions[i] = honest[i].join(now);
                joins_ok += sessions[i] ? 1 : 0;
            }
            if (now <= join_at + 9s && now + tick > join_at + 9s) {
                ++rekeys;
                const sec::peer_session* cur = sessions[i] ? &*sessions[i] : nullptr;
                auto again = honest[i].join(now, cur);
                rekeys_ok += again ? 1 : 0;
                if (again)
                    sessions[i] = std::move(again);
            }
        }
        REQUIRE(relay.pending_handshakes() <= relay.settings().max_pending);
    }
    std::printf("handshake flood 6 ports x 120/s x 30 s: %zu attack hellos, %zu answered, %llu relay public-key "
                "ops for them; honest joins %zu/%zu, rekeys %zu/%zu; pending at end %zu\n",
                attack_hellos, attack_answered, static_cast<unsigned long long>(attacker_ops), joins_ok, joins,
                rekeys_ok, rekeys, relay.pending_handshakes());
    CHECK(joins == 20);
    CHECK(rekeys == 20);
    CHECK(joins_ok == 20);
    CHECK(rekeys_ok == 20);
    // The host is held to its per-address budget: burst plus rate over 30 s, 3 operations each.
    const auto& l = relay.settings().handshake_limits;
    CHECK(attacker_ops <= 3 * static_cast<std::uint64_t>(l.per_source_burst + 30 * l.per_source_rate + 1));
}

TEST_CASE("handshake flood: pending entries are capped per address, the oldest is evicted, expired ones go",
          "[secure][attack][dos]")
{
    profile::secure::options ropt;
    ropt.max_pending = 8;
    ropt.max_pending_per_address = 4;
    sec relay(identity(100), ropt);
    std::vector<sec> ciphers;
    for (int i = 0; i < 16; ++i)
        ciphers.emplace_back(identity(static_cast<std::uint8_t>(1 + i)));
    // Six handshakes from one address (ports 1..6): only its four newest are kept.
    std::vector<hs> a;
    for (int i = 0; i < 6; ++i)
        a.push_back(hs{ciphers[static_cast<std::size_t>(i)], relay,
                       endpoint{0x0a000001u, static_cast<std::uint16_t>(1 + i)}});
    time_point now{};
    std::vector<std::vector<std::byte>> sh(16);
    for (std::size_t i = 0; i < 6; ++i) {
        now += 1ms;
        sh[i] = a[i].send(a[i].hello_with_cookie(now), now);
        REQUIRE_FALSE(a[i].ec); // never refused: the address's oldest makes room
        REQUIRE(is_type(sh[i], wire::tlv_type::secure_server_hello));
        CHECK(relay.pending_handshakes() == std::min<std::size_t>(i + 1, 4));
    }
    // Two more addresses, four each: the table (8) is full, the oldest entries (address A's) go.
    std::vector<hs> others;
    for (std::size_t i = 6; i < 14; ++i)
        others.push_back(hs{ciphers[i], relay,
                            endpoint{0x0a000100u + static_cast<std::uint32_t>(i < 10 ? 1 : 2), static_cast<std::uint16_t>(i)}});
    for (std::size_t j = 0; j < others.size(); ++j) {
        now += 1ms;
        sh[6 + j] = others[j].send(others[j].hello_with_cookie(now), now);
        REQUIRE_FALSE(others[j].ec);
        CHECK(relay.pending_handshakes() <= 8);
    }
    CHECK(relay.pending_handshakes() == 8);
    // Every entry from A was evicted (two by A's own cap, four by the full table): its CLIENT_AUTHs are stale.
    for (std::size_t i = 0; i < 6; ++i) {
        std::optional<sec::peer_session> reg;
        (void)a[i].send(a[i].client_auth(sh[i], now), now, &reg);
        CHECK(a[i].ec == errc::stale_session);
        CHECK_FALSE(reg);
    }
    // The newest eight complete.
    for (std::size_t j = 0; j < others.size(); ++j) {
        std::optional<sec::peer_session> reg;
        (void)others[j].send(others[j].client_auth(sh[6 + j], now), now, &reg);
        CHECK_FALSE(others[j].ec);
        CHECK(reg);
    }
    CHECK(relay.pending_handshakes() == 0);
    // Expiry: entries older than pending_expiry are dropped when the table is next touched.
    hs late1{ciphers[14], relay, endpoint{0x0a000301u, 1}}, late2{ciphers[15], relay, endpoint{0x0a000302u, 1}};
    const auto s1 = late1.send(late1.hello_with_cookie(now), now);
    REQUIRE(is_type(s1, wire::tlv_type::secure_server_hello));
    CHECK(relay.pending_handshakes() == 1);
    now += ropt.pending_expiry + 1ms;
    (void)late2.send(late2.hello_with_cookie(now), now);
    CHECK(relay.pending_handshakes() == 1); // late1's expired and went; late2's is the one
    std::optional<sec::peer_session> reg;
    (void)late1.send(late1.client_auth(s1, now), now, &reg);
    CHECK(late1.ec == errc::stale_session);
}
