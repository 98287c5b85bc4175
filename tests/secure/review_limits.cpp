// SPDX-License-Identifier: BSL-1.0
// Adversarial review of the secure profile's AEAD key limits, SECURE_KEY_UPDATE and cipher timers
// (profile/secure/key_update.hpp, record_layer.hpp, client_handshake.hpp). Each test can fail: the
// first two failed before make_key_limits() checked the rekey fraction's arithmetic and the
// threshold it yields; the others pin properties an attacker would like to break.
#include <tlvcast/profile/secure/cipher.hpp>

#include "secure/sim_helpers.hpp"

#include <tlvcast/crypto/identity.hpp>
#include <tlvcast/crypto/random.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

using namespace tlvcast;
using namespace std::chrono_literals;

namespace {

using sec = profile::secure::cipher;
using net_type = test::secure_net<sec>;
using test::identity;
using test::is_type;
using test::count_sent;
using ek = core::client_event::kind;

std::unique_ptr<net_type> make_net(profile::secure::options ropt, profile::secure::options copt = {})
{
    auto net = std::make_unique<net_type>(sec(identity(100), ropt));
    net->add_client(sec(identity(1), copt));
    net->add_client(sec(identity(2), copt));
    net->start_all();
    net->run_for(100ms);
    for (std::size_t i = 0; i < 2; ++i)
        REQUIRE(net->client(i).current_state() == net_type::client_engine::state::established);
    (void)net->events(0);
    (void)net->events(1);
    return net;
}

std::size_t chat(net_type& net, int n)
{
    for (int i = 0; i < n; ++i) {
        const std::string text = "message " + std::to_string(i);
        std::error_code ec;
        net.send(0, wire::as_bytes(text), ec);
        CHECK_FALSE(ec);
        net.run_for(5ms);
    }
    net.run_for(100ms);
    const auto evs = net.events(1);
    return static_cast<std::size_t>(std::count_if(evs.begin(), evs.end(), [](const auto& e) { return e.what == ek::message; }));
}

// How many times on_timer() ran at one instant before next_timer() moved past it (a timer that
// stays in the past would make a driver spin).
template <class Engine, class... Extra>
int timer_runs_at(Engine& e, time_point now, Extra&... extra)
{
    datagram_batch out;
    int runs = 0;
    while (e.next_timer() <= now && runs < 100) {
        e.on_timer(now, out, extra...);
        ++runs;
    }
    return runs;
}

} // namespace

TEST_CASE("review limits: a rekey fraction with a huge denominator cannot overflow into an early or late threshold",
          "[secure][key_limits][review_limits]")
{
    // n/d just under 1 with d = 2^63: max % d * n overflowed 64 bits, and the threshold came out as 1
    // (a re-handshake after every record). It must be exact, or the options refused.
    profile::secure::options o;
    o.rekey_numerator = (std::uint64_t{1} << 63) - 1;
    o.rekey_denominator = std::uint64_t{1} << 63;
    bool refused = false;
    std::uint64_t rekey_at = 0;
    try {
        rekey_at = sec(identity(1), o).limits().rekey_at;
    } catch (const std::invalid_argument&) {
        refused = true;
    }
    if (!refused)
        CHECK(rekey_at == sec::max_records - 1);

    // ChaCha20-Poly1305's 2^36 limit with d = 2^40: the same overflow.
    o.rekey_numerator = (std::uint64_t{1} << 40) - 1;
    o.rekey_denominator = std::uint64_t{1} << 40;
    refused = false;
    try {
        rekey_at = profile::secure::chacha_cipher(identity(1), o).limits().rekey_at;
    } catch (const std::invalid_argument&) {
        refused = true;
    }
    if (!refused)
        CHECK(rekey_at == profile::secure::chacha_cipher::max_records - 1);

    // Denominators up to 2^32 stay exact.
    o.rekey_numerator = (std::uint64_t{1} << 32) - 1;
    o.rekey_denominator = std::uint64_t{1} << 32;
    const sec ok(identity(1), o);
    CHECK(ok.limits().rekey_at == sec::max_records - 1);
    CHECK(ok.limits().rekey_at < ok.limits().max_records);
}

TEST_CASE("review limits: options whose rekey threshold is due at once are refused (no handshake storm)",
          "[secure][key_limits][review_limits]")
{
    // A session starts with seq 1 spent at the client (CLIENT_AUTH) and at the relay (ACCEPT):
    // a threshold of 0 or 1 made every new session due for new keys, so a client re-handshook
    // without end, without sending anything.
    profile::secure::options o;
    for (const std::uint64_t tiny : {1, 2}) {
        o.max_records_per_key = tiny;
        CHECK_THROWS_AS(sec(identity(1), o), std::invalid_argument);
    }
    o.max_records_per_key = 40;
    o.rekey_numerator = 1;
    o.rekey_denominator = 100; // 40 / 100 -> 0
    CHECK_THROWS_AS(sec(identity(1), o), std::invalid_argument);
    o.rekey_denominator = 4; // 10: fine
    CHECK(sec(identity(1), o).limits().rekey_at == 10);
    o.max_records_per_key = 4;
    o.rekey_numerator = 3; // 3: one record per key beyond the handshake's, then new keys
    CHECK(sec(identity(1), o).limits().rekey_at == 3);
}

TEST_CASE("review limits: SECURE_KEY_UPDATE cannot be forged, replayed or reused to force handshakes",
          "[secure][key_limits][review_limits]")
{
    profile::secure::options small;
    small.max_records_per_key = 40;
    auto net = make_net(small);
    // The relay's SECURE_KEY_UPDATEs toward client 1: a record whose inner TLV is empty (4 bytes):
    // 4 (record TLV header) + 16 (session id, seq) + 4 + 16 (tag) = 40 bytes.
    std::vector<std::vector<std::byte>> updates;
    net->tap = [&](test::wire_datagram& d) {
        if (d.to == test::secure_client_address(1) && is_type(d, wire::tlv_type::secure_record) && d.bytes.size() == 40)
            updates.push_back(d.bytes);
        return true;
    };
    CHECK(chat(*net, 60) == 60);
    REQUIRE_FALSE(updates.empty());
    const auto client1 = test::secure_client_address(1);
    const auto hellos = count_sent(*net, wire::tlv_type::secure_hello, client1);
    const auto auths = count_sent(*net, wire::tlv_type::secure_client_auth, client1);
    REQUIRE(auths >= 2); // it answered at least one update
    net->tap = nullptr;

    // Every captured update again (replays; the older ones name sessions that are no longer current).
    for (const auto& u : updates)
        net->inject(test::secure_relay_address, client1, u);
    // A bare SECURE_KEY_UPDATE outside a record, from the relay's address.
    const std::vector<std::byte> bare{std::byte{0}, std::byte{24}, std::byte{0}, std::byte{0}};
    net->inject(test::secure_relay_address, client1, bare);
    // A forged record under the current session with a fresh sequence number (an attacker on the
    // group sees session ids, not keys).
    auto forged = updates.back();
    const auto& cur = net->client(1).session().current;
    REQUIRE(cur);
    std::copy(cur->id.begin(), cur->id.end(), forged.begin() + 4);
    forged[4 + 8] = std::byte{0x7f}; // seq far ahead of the window
    net->inject(test::secure_relay_address, client1, forged);
    net->run_for(200ms);

    CHECK(count_sent(*net, wire::tlv_type::secure_hello, client1) == hellos);
    CHECK(count_sent(*net, wire::tlv_type::secure_client_auth, client1) == auths);
    CHECK(net->client(1).counters().get(core::client_counter::undecryptable) +
              net->client(1).counters().get(core::client_counter::duplicates) >=
          updates.size());
    CHECK(chat(*net, 5) == 5);
}

TEST_CASE("review limits: a client's re-handshake for new keys stays with the session's relay",
          "[secure][key_limits][review_limits]")
{
    // Client 0 nears its record limit; a second relay identity answers its re-handshake first
    // (it sees the hello on the group). The client must not move to it, TOFU or not.
    profile::secure::options small;
    small.max_records_per_key = 40;
    auto net = std::make_unique<net_type>(sec(identity(100)));
    net->add_client(sec(identity(1), small));
    net->add_client(sec(identity(2)));
    net->start_all();
    net->run_for(100ms);
    const auto relay_fp = net->client(0).session().current->peer;
    // A rogue relay (a whole relay engine with another identity) answers every hello of client 0.
    net_type::relay_engine rogue(sec(identity(66)), fragment::seed_fragmenter(9, {}, 1000, 1100));
    std::size_t rogue_answers = 0;
    std::vector<core::relay_event> rogue_events;
    net->tap = [&](test::wire_datagram& d) {
        if (d.from == test::secure_client_address(0) && d.to == test::secure_relay_address &&
            (is_type(d, wire::tlv_type::secure_hello) || is_type(d, wire::tlv_type::secure_client_auth))) {
            datagram_batch out;
            rogue.handle(d.from, d.bytes, net->now(), out, rogue_events);
            for (std::size_t i = 0; i < out.size(); ++i) {
                net->inject(endpoint{0x0a0000feu, 5007}, out[i].to, out[i].bytes);
                ++rogue_answers;
            }
        }
        return true;
    };
    CHECK(chat(*net, 60) == 60);
    CHECK(rogue_answers > 0);
    REQUIRE(net->client(0).session().current);
    CHECK(net->client(0).session().current->peer == relay_fp);
    CHECK(net->client(0).session().current->next_seq <= 40);
    CHECK(rogue.counters().get(core::relay_counter::registrations) == 0);
}

TEST_CASE("review limits: the cipher timers never stay in the past (no spinning driver)",
          "[secure][key_limits][review_limits]")
{
    profile::secure::options small;
    small.max_failed_opens_per_key = 3;
    small.max_records_per_key = 40;
    auto net = make_net(small, small);
    // Kill client 1's receive key and the relay's receive key from client 0 with forged records.
    std::vector<std::byte> to_client, to_relay;
    net->tap = [&](test::wire_datagram& d) {
        if (is_type(d, wire::tlv_type::secure_record)) {
            if (to_client.empty() && d.to == test::secure_client_address(1))
                to_client = d.bytes;
            if (to_relay.empty() && d.from == test::secure_client_address(0))
                to_relay = d.bytes;
        }
        return true;
    };
    CHECK(chat(*net, 3) == 3);
    net->tap = nullptr;
    REQUIRE_FALSE(to_client.empty());
    REQUIRE_FALSE(to_relay.empty());
    for (std::uint8_t i = 0; i < 5; ++i) {
        auto a = to_client, b = to_relay;
        a[4 + 8 + 7] = b[4 + 8 + 7] = static_cast<std::byte>(150 + i);
        a.back() ^= std::byte{1};
        b.back() ^= std::byte{1};
        // Handed straight to the engines: nothing runs their timers in between.
        datagram_batch out;
        net->client(1).handle(test::secure_relay_address, a, net->now(), out);
        net->relay().handle(test::secure_client_address(0), b, net->now(), out, net->relay_events);
    }
    REQUIRE(net->client(1).session().current->receive_key_dead(3));
    // Both have work now (a re-handshake, a SECURE_KEY_UPDATE); one run of on_timer does it.
    CHECK(net->client(1).next_timer() <= net->now());
    CHECK(net->relay().next_timer() <= net->now());
    CHECK(timer_runs_at(net->client(1), net->now()) == 1);
    CHECK(timer_runs_at(net->relay(), net->now(), net->relay_events) == 1);
    // Past every handshake's expiry with nobody answering: still one run per instant.
    const time_point later = net->now() + 11s;
    CHECK(timer_runs_at(net->client(1), later) <= 1);
    CHECK(timer_runs_at(net->relay(), later, net->relay_events) <= 1);
    CHECK(net->client(1).next_timer() > later);
    CHECK(net->relay().next_timer() > later);
}

TEST_CASE("review limits: a cipher, and the random source it owns, cannot be copied (no repeated ephemerals)",
          "[secure][random][review_limits]")
{
    using seeded = crypto::seeded_random<crypto::default_suite>;
    using seeded_cipher = profile::secure::basic_cipher<crypto::default_suite, crypto::default_aes256_gcm, seeded>;
    // Checked at run time, so that a copyable type fails this test rather than the build.
    CHECK_FALSE(std::is_copy_constructible_v<sec>);
    CHECK_FALSE(std::is_copy_assignable_v<sec>);
    CHECK_FALSE(std::is_copy_constructible_v<seeded_cipher>);
    CHECK_FALSE(std::is_copy_assignable_v<seeded_cipher>);
    // A seeded generator handed to two ciphers by copy gave both the same stream: the same
    // ephemeral keys, client randoms, session ids and cookie secrets on two parties. Move it, or
    // seed each.
    CHECK_FALSE(std::is_copy_constructible_v<seeded>);
    CHECK_FALSE(std::is_copy_assignable_v<seeded>);
    CHECK(std::is_nothrow_move_constructible_v<seeded>);

    // A moved-from generator does not replay the stream the moved-to one continues: it refuses.
    seeded a(5);
    std::array<std::byte, 32> x{}, y{};
    a.fill(x);
    seeded b(std::move(a));
    b.fill(x);
    CHECK_THROWS_AS(a.fill(y), std::logic_error); // NOLINT(bugprone-use-after-move): the point of the test
    seeded fresh(5);
    fresh.fill(y);
    fresh.fill(y);
    CHECK(x == y); // the moved-to generator continued the stream

    // Two sessions of one client: fresh ephemeral keys and randoms each time.
    seeded_cipher c(identity(1), {}, seeded(9));
    seeded_cipher::client_session s;
    datagram_batch out;
    c.start_session(s, test::secure_relay_address, {}, out);
    const auto first = s.hello;
    c.start_session(s, test::secure_relay_address, {}, out);
    CHECK(first != s.hello);
    CHECK(!std::equal(first.begin() + 2, first.begin() + 34, s.hello.begin() + 2));
}

namespace {

std::vector<std::byte> datagram(const datagram_batch& b, std::size_t i) { return {b[i].bytes.begin(), b[i].bytes.end()}; }

// One handshake against `relay`, driven by hand from `from` at time `now`.
struct manual_handshake {
    sec& client;
    sec& relay;
    endpoint from;
    sec::client_session s{};

    std::vector<std::byte> to_relay(std::span<const std::byte> d, time_point now)
    {
        datagram_batch replies;
        std::optional<sec::peer_session> reg;
        std::error_code ec;
        relay.relay_handshake(from, wire::read_outer(d, ec), now, replies, nullptr, reg, ec);
        REQUIRE_FALSE(ec);
        return replies.size() == 1 ? datagram(replies, 0) : std::vector<std::byte>{};
    }
    std::vector<std::byte> to_client(std::span<const std::byte> d, time_point now)
    {
        datagram_batch out;
        std::vector<std::byte> text;
        std::error_code ec;
        client.client_receive(s, wire::read_outer(d, ec), now, crypto::relay_trust::any(), out, text, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(out.size() == 1);
        return datagram(out, 0);
    }
    // Up to SECURE_SERVER_HELLO: the relay holds a pending entry.
    std::vector<std::byte> open(time_point now)
    {
        datagram_batch out;
        client.start_session(s, test::secure_group, now, out);
        const auto cookie = to_relay(datagram(out, 0), now);
        return to_relay(to_client(cookie, now), now);
    }
    void finish(std::span<const std::byte> server_hello, time_point now) { (void)to_relay(to_client(server_hello, now), now); }
};

template <class F>
std::chrono::nanoseconds time_of(F&& f)
{
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::steady_clock::now() - t0;
}

} // namespace

TEST_CASE("review limits: completed handshakes leave no stale prefix that next_timer() scans on every call",
          "[secure][expiry][review_limits]")
{
    // The relay's pending FIFO kept the records of completed handshakes until the next handshake
    // TLV or timer. An attacker holds one handshake open, completes many behind it, then completes
    // the first: next_timer(), which the driver calls after every datagram, then walked the whole
    // stale FIFO each time (hash lookups per record) until a handshake TLV arrived.
    profile::secure::options ropt;
    ropt.handshake_limits = crypto::rate_limits{1e9, 1e9, 1e9, 1e9, 4096, 0.0, 0.0};
    sec relay(identity(100), ropt), client(identity(1));
    const time_point now{};
    manual_handshake first{client, relay, endpoint{0x0a000001u, 1000}};
    const auto first_sh = first.open(now);
    REQUIRE(relay.pending_handshakes() == 1);
    manual_handshake others{client, relay, endpoint{0x0a000002u, 1000}};
    constexpr int stale = 1000;
    for (int i = 0; i < stale; ++i)
        others.finish(others.open(now), now);
    REQUIRE(relay.pending_handshakes() == 1);

    constexpr int calls = 20'000;
    time_point sink{};
    const auto before = time_of([&] {
        for (int i = 0; i < calls; ++i)
            sink = std::max(sink, relay.next_timer());
    });
    first.finish(first_sh, now); // the live front entry completes: only stale records remain
    REQUIRE(relay.pending_handshakes() == 0);
    CHECK(relay.next_timer() == no_timer);
    const auto after = time_of([&] {
        for (int i = 0; i < calls; ++i)
            sink = std::max(sink, relay.next_timer());
    });
    // O(1) both times when the FIFO is trimmed; about `stale` times slower per call otherwise.
    INFO("before " << before.count() << " ns, after " << after.count() << " ns for " << calls << " calls");
    CHECK(after < 20 * before + std::chrono::milliseconds(5));
}

TEST_CASE("review limits: a lost SECURE_ACCEPT does not cut the client off when its pending handshake expires",
          "[secure][expiry][review_limits]")
{
    // Client 1's probe re-handshake completes at the relay, which seals under the new session at
    // once; its SECURE_ACCEPT is lost. The client opens those records under its pending session.
    // The expiry timer then wiped that session although the relay uses it: every record toward the
    // client was refused (stale_session) until the next probe.
    auto net = make_net({});
    bool dropped = false;
    net->tap = [&](test::wire_datagram& d) {
        // SECURE_ACCEPT: a record with a 5-byte inner TLV, 41 bytes on the wire.
        if (!dropped && d.to == test::secure_client_address(1) && is_type(d, wire::tlv_type::secure_record) &&
            d.bytes.size() == 41) {
            dropped = true;
            return false;
        }
        return true;
    };
    std::size_t sent = 0, received = 0;
    // 30 s of chat, one message every 100 ms: the probe at 15 s loses its ACCEPT; the pending
    // session expires at 25 s; the next probe comes at 30 s.
    for (int i = 0; i < 300; ++i) {
        const std::string text = "tick " + std::to_string(i);
        std::error_code ec;
        net->send(0, wire::as_bytes(text), ec);
        if (!ec)
            ++sent;
        net->run_for(100ms);
        for (const auto& e : net->events(1))
            received += e.what == ek::message ? 1 : 0;
    }
    net->run_for(200ms);
    for (const auto& e : net->events(1))
        received += e.what == ek::message ? 1 : 0;
    REQUIRE(dropped);
    CHECK(sent == 300);
    CHECK(received == sent);
    CHECK(net->client(1).counters().get(core::client_counter::undecryptable) == 0);
}

TEST_CASE("review limits: a pending_expiry meant as 'never' cannot overflow into handshakes that never complete",
          "[secure][expiry][review_limits]")
{
    // duration::max() as pending_expiry: now + pending_expiry overflowed (negative expiry times),
    // the relay found every CLIENT_AUTH stale and the client wiped its hello on its first timer.
    // Refused at construction, or working: never silently broken.
    for (const bool at_relay : {true, false}) {
        profile::secure::options o;
        o.pending_expiry = duration::max();
        bool refused = false;
        std::unique_ptr<net_type> net;
        try {
            net = std::make_unique<net_type>(sec(identity(100), at_relay ? o : profile::secure::options{}));
            net->add_client(sec(identity(1), at_relay ? profile::secure::options{} : o));
        } catch (const std::invalid_argument&) {
            refused = true;
        }
        if (refused)
            continue;
        net->run_for(10ms); // the clock is past zero, as a real one always is
        net->start_all();
        net->run_for(2s);
        CHECK(net->client(0).current_state() == net_type::client_engine::state::established);
    }
    profile::secure::options fine;
    fine.pending_expiry = std::chrono::hours(1);
    CHECK_NOTHROW(sec(identity(1), fine));
}
