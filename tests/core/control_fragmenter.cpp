// SPDX-License-Identifier: BSL-1.0
// A control_fragmenter (tests/core/ack_fragmenter.hpp) under the secure profile's record layer, in a seeded simulation.
#include "core/ack_fragmenter.hpp"

#include "core/policy_sim.hpp"

#include <tlvcast/core/client_engine.hpp>
#include <tlvcast/core/relay_engine.hpp>
#include <tlvcast/profile/secure/cipher.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <random>
#include <string>

using namespace tlvcast;
using namespace std::chrono_literals;

namespace {

using sec = profile::secure::basic_cipher<crypto::default_suite, crypto::default_aes256_gcm,
                                          crypto::seeded_random<crypto::default_suite>>;
using ack_client = core::client_engine<sec, test::ack_fragmenter>;
using ack_relay = core::relay_engine<sec, test::ack_fragmenter>;
using ack_net = test::policy_net<ack_client, ack_relay>;
using cstate = ack_client::state;

// Fixed identities and a seeded random source (ephemeral keys, randoms, session ids, the relay's
// cookie secret): the run depends on `seed` only.
sec make_cipher(std::uint8_t id, std::uint64_t seed)
{
    std::array<std::byte, 32> key_seed{};
    key_seed.fill(static_cast<std::byte>(id));
    return sec(crypto::ed25519_from_seed<crypto::default_suite>(key_seed), {},
               crypto::seeded_random<crypto::default_suite>(seed));
}

test::ack_fragmenter make_fragmenter(const sec& c, std::uint64_t seed, test::ack_fragmenter_options fopt)
{
    return test::ack_fragmenter(seed, c.fragment_payload(), c.max_whole(), fopt);
}

std::unique_ptr<ack_net> make_net(std::size_t n, std::uint64_t seed, transport::fault_options faults = {},
                                  core::client_options copt = {}, duration settle = 100ms,
                                  test::ack_fragmenter_options fopt = {})
{
    sec rcipher = make_cipher(100, seed * 100);
    auto rfrag = make_fragmenter(rcipher, seed * 1000, fopt);
    auto net = std::make_unique<ack_net>(std::make_unique<ack_relay>(std::move(rcipher), std::move(rfrag)),
                                         ack_net::options{seed, faults});
    copt.relay = ack_net::group;
    copt.trust = crypto::relay_trust::any();
    for (std::size_t i = 0; i < n; ++i) {
        sec c = make_cipher(static_cast<std::uint8_t>(i + 1), seed * 100 + i + 1);
        auto f = make_fragmenter(c, seed * 1000 + i + 1, fopt);
        net->add_client(std::make_unique<ack_client>(std::move(c), std::move(f), copt));
    }
    net->start_all();
    net->run_for(settle);
    return net;
}

std::string make_text(std::size_t sender, std::size_t size, std::size_t salt = 0)
{
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        s[i] = static_cast<char>('a' + (i * 7 + sender + salt) % 26);
    return s;
}

std::uint16_t outer_type(std::span<const std::byte> d) { return d.size() >= 2 ? wire::detail::load_u16(d.data()) : 0; }

bool is_record(std::span<const std::byte> d) { return outer_type(d) == static_cast<std::uint16_t>(wire::tlv_type::secure_record); }

// A SECURE_RECORD whose inner datagram is 8 bytes: TLV(ACK, msg_id). No other inner datagram of
// these runs has that size (KEEPALIVE and SECURE_CONNECT are 4, SECURE_ACCEPT 5, FRAGMENTs at
// least 12, SECURE_PRESENCE 43, and no test message is 4 bytes long).
bool is_ack_record(std::span<const std::byte> d)
{
    return is_record(d) && d.size() == wire::tlv_header_size + wire::secure_record_fixed_size + 8;
}

// Datagrams outside records may only be the handshake's.
bool handshake_or_record(std::span<const std::byte> d)
{
    using t = wire::tlv_type;
    const auto type = static_cast<t>(outer_type(d));
    return type == t::secure_record || type == t::secure_hello || type == t::secure_cookie ||
           type == t::secure_server_hello || type == t::secure_client_auth;
}

test::ack_fragmenter_stats total_stats(ack_net& net)
{
    test::ack_fragmenter_stats s = net.relay().fragmenter_stats();
    for (std::size_t i = 0; i < net.clients(); ++i) {
        const auto c = net.client(i).fragmenter().stats();
        s.tracked += c.tracked;
        s.acks_sent += c.acks_sent;
        s.acks_received += c.acks_received;
        s.acks_unmatched += c.acks_unmatched;
        s.retransmits += c.retransmits;
        s.gave_up += c.gave_up;
    }
    return s;
}

// (receiver, sender index, text) -> deliveries; `foreign` counts texts the claimed sender never sent.
struct delivery_log {
    std::map<std::tuple<std::size_t, std::size_t, std::string>, int> got;
    std::size_t foreign = 0;
};

void drain(ack_net& net, delivery_log& log, const std::map<std::pair<std::size_t, std::string>, int>& sent)
{
    for (std::size_t i = 0; i < net.clients(); ++i)
        for (const auto& e : net.events(i)) {
            if (e.what != core::client_event::kind::message)
                continue;
            const auto from = static_cast<std::size_t>(e.peer.port - 40000);
            if (from == i || !sent.count({from, e.text}))
                ++log.foreign;
            ++log.got[{i, from, e.text}];
        }
}

} // namespace

TEST_CASE("control fragmenter: ACKs travel inside SECURE_RECORDs both ways, leave in the engine call that completed "
          "the message, and reach the sender's fragmenter",
          "[control][sim]")
{
    constexpr std::size_t n = 3;
    auto net = make_net(n, 1);
    for (std::size_t i = 0; i < n; ++i)
        REQUIRE(net->client(i).current_state() == cstate::established);
    // Messages each node's fragmenter had completed when its previous output was seen. A call
    // that completes a message always has output (the ACK), so every completion is seen.
    const auto completed = [&](const endpoint& node) -> std::uint64_t {
        if (node == ack_net::relay_address)
            return net->relay().fragmenter_stats().seed.reassembly.messages_completed;
        for (std::size_t i = 0; i < n; ++i)
            if (node == ack_net::client_address(i))
                return net->client(i).fragmenter().stats().seed.reassembly.messages_completed;
        FAIL("unknown node");
        return 0;
    };
    std::map<endpoint, std::uint64_t> completed_seen{{ack_net::relay_address, completed(ack_net::relay_address)}};
    for (std::size_t i = 0; i < n; ++i)
        completed_seen[ack_net::client_address(i)] = completed(ack_net::client_address(i));
    std::size_t handle_acks = 0, timer_acks = 0, calls_checked = 0;
    net->on_output = [&](const endpoint& node, test::sim_call call, const datagram_batch& out) {
        std::size_t acks = 0;
        for (std::size_t i = 0; i < out.size(); ++i) {
            CHECK(handshake_or_record(out[i].bytes)); // protected by both engines
            acks += is_ack_record(out[i].bytes) ? 1 : 0;
        }
        const std::uint64_t now_completed = completed(node);
        // No timer round trip: the ACK of each message this call completed is in this very batch
        // (no duplicates in this run, so no re-ACKs either).
        CHECK(acks == now_completed - completed_seen[node]);
        completed_seen[node] = now_completed;
        (call == test::sim_call::timer ? timer_acks : handle_acks) += acks;
        ++calls_checked;
    };
    const std::size_t sizes[] = {100, 1300, 5000, 20'000}; // 100 travels whole: no msg_id, no ACK
    std::map<std::pair<std::size_t, std::string>, int> sent;
    for (std::size_t from = 0; from < n; ++from)
        for (const std::size_t size : sizes) {
            std::error_code ec;
            const std::string text = make_text(from, size);
            net->send(from, wire::as_bytes(text), ec);
            REQUIRE_FALSE(ec);
            sent[{from, text}] = 1;
            net->run_for(20ms);
        }
    net->run_for(1s);
    delivery_log log;
    drain(*net, log, sent);
    CHECK(log.foreign == 0);
    for (const auto& [key, count] : sent)
        for (std::size_t to = 0; to < n; ++to)
            if (to != key.first)
                CHECK(log.got[{to, key.first, key.second}] == 1);

    // 3 fragmented messages per client: each is ACKed by the relay, and each delivery of it by
    // the recipient.
    const std::size_t fragmented = n * 3, deliveries = fragmented * (n - 1);
    for (std::size_t i = 0; i < n; ++i) {
        const auto s = net->client(i).fragmenter().stats();
        CHECK(s.tracked == 3);
        CHECK(s.acks_received == 3);
        CHECK(s.acks_sent == 3 * (n - 1));
        CHECK(net->client(i).fragmenter().waiting() == 0);
    }
    const auto rs = net->relay().fragmenter_stats();
    CHECK(rs.tracked == deliveries);
    CHECK(rs.acks_received == deliveries);
    CHECK(rs.acks_sent == fragmented);
    const auto all = total_stats(*net);
    CHECK(all.acks_unmatched == 0);
    CHECK(all.retransmits == 0);

    // On the wire: no ACK outside a record, one 8-byte-inner SECURE_RECORD per ACK sent.
    std::size_t ack_records = 0;
    for (const auto& d : net->sent) {
        CHECK(handshake_or_record(d.bytes));
        CHECK(outer_type(d.bytes) != test::ack_fragmenter::ack_type);
        ack_records += is_ack_record(d.bytes) ? 1 : 0;
    }
    CHECK(ack_records == all.acks_sent);
    // Every ACK left from handle(), the call that received the completing fragment; none waited
    // for on_timer().
    CHECK(calls_checked > 0);
    CHECK(timer_acks == 0);
    CHECK(handle_acks == all.acks_sent);
    CHECK(net->relay().counters().get(core::relay_counter::reassembly_dropped) == 0);
    CHECK(net->relay().counters().get(core::relay_counter::undecryptable) == 0);
}

TEST_CASE("control fragmenter: a lost ACK makes the sender retransmit from on_timer, inside records, without a "
          "second delivery",
          "[control][sim]")
{
    constexpr std::size_t n = 3;
    auto net = make_net(n, 2);
    bool dropped = false;
    net->tap = [&](test::sim_datagram& d) {
        if (!dropped && d.from == ack_net::relay_address && d.to == ack_net::client_address(0) && is_ack_record(d.bytes)) {
            dropped = true;
            return false;
        }
        return true;
    };
    std::vector<std::vector<std::byte>> retransmitted;
    std::vector<time_point> retransmitted_at;
    net->on_output = [&](const endpoint& node, test::sim_call call, const datagram_batch& out) {
        if (node == ack_net::client_address(0) && call == test::sim_call::timer)
            for (std::size_t i = 0; i < out.size(); ++i)
                if (!is_ack_record(out[i].bytes) && out[i].bytes.size() > 100) {
                    retransmitted.emplace_back(out[i].bytes.begin(), out[i].bytes.end());
                    retransmitted_at.push_back(net->now());
                }
    };
    const std::string text = make_text(0, 3000); // three FRAGMENTs
    const auto in_before = net->relay().counters().get(core::relay_counter::messages_in);
    const time_point sent_at = net->now();
    std::error_code ec;
    net->send(0, wire::as_bytes(text), ec);
    REQUIRE_FALSE(ec);
    // split() stamped the send: the fragmenter's next wake-up is the retransmission, not "now".
    CHECK(net->client(0).fragmenter().next_timer() == sent_at + 200ms);
    net->run_for(100ms);
    REQUIRE(dropped);
    CHECK(net->client(0).fragmenter().waiting() == 1);
    CHECK(retransmitted.empty());
    net->run_for(300ms); // past retransmit_after (200 ms)

    const auto s0 = net->client(0).fragmenter().stats();
    CHECK(s0.retransmits == 3);
    CHECK(s0.acks_received == 1);
    CHECK(net->client(0).fragmenter().waiting() == 0);
    REQUIRE(retransmitted.size() == 3);
    for (const auto& d : retransmitted)
        CHECK(is_record(d)); // the fragmenter's on_timer output went through the record layer
    for (const auto t : retransmitted_at)
        CHECK(t == sent_at + 200ms); // retransmit_after from the send itself
    // The relay had completed the message: the copies are duplicates, answered by a second ACK.
    CHECK(net->relay().fragmenter_stats().acks_sent == 2);
    CHECK(net->relay().fragmenter_stats().seed.reassembly.duplicates == 3);
    CHECK(net->relay().counters().get(core::relay_counter::messages_in) == in_before + 1);
    for (std::size_t i = 1; i < n; ++i) {
        std::size_t got = 0;
        for (const auto& e : net->events(i))
            got += e.what == core::client_event::kind::message && e.text == text ? 1 : 0;
        CHECK(got == 1);
    }
}

namespace {

transport::fault_options lossy()
{
    transport::fault_options f;
    f.drop = 0.05;
    f.duplicate = 0.10;
    f.reorder = 0.10;
    f.delay = 0.10;
    return f;
}

core::client_options patient()
{
    core::client_options o;
    o.register_timeout = 200ms;
    o.register_attempts = 20;
    return o;
}

// One seeded run with faults: fragmented messages from random senders. Returns what was sent.
std::map<std::pair<std::size_t, std::string>, int> faulty_run(ack_net& net, std::uint64_t seed, int rounds)
{
    std::mt19937_64 rng(seed);
    std::map<std::pair<std::size_t, std::string>, int> sent;
    for (int round = 0; round < rounds; ++round) {
        const std::size_t from = rng() % net.clients();
        if (net.client(from).current_state() != cstate::established)
            continue;
        const std::string text = make_text(from, 1200 + rng() % 6000, static_cast<std::size_t>(round));
        std::error_code ec;
        net.send(from, wire::as_bytes(text), ec);
        REQUIRE_FALSE(ec);
        sent[{from, text}] = 1;
        net.run_for(std::chrono::milliseconds(rng() % 30));
    }
    net.run_for(3s);
    return sent;
}

} // namespace

TEST_CASE("control fragmenter: with loss, duplication and reordering, over seeds, nothing is delivered twice or "
          "altered, and retransmission repairs loss",
          "[control][sim][faults]")
{
    std::uint64_t expected = 0, delivered = 0, retransmits = 0, acks = 0;
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
        CAPTURE(seed);
        auto net = make_net(3, seed, lossy(), patient(), 5s);
        const auto sent = faulty_run(*net, seed, 8);
        delivery_log log;
        drain(*net, log, sent);
        CHECK(log.foreign == 0);
        for (const auto& [key, count] : log.got)
            CHECK(count == 1);
        for (const auto& d : net->sent)
            CHECK(handshake_or_record(d.bytes));
        const auto all = total_stats(*net);
        std::uint64_t run_expected = 0, run_delivered = 0;
        for (const auto& [key, count] : sent)
            for (std::size_t to = 0; to < net->clients(); ++to)
                if (to != key.first && net->client(to).current_state() == cstate::established) {
                    ++run_expected;
                    run_delivered += log.got.count({to, key.first, key.second});
                }
        expected += run_expected;
        delivered += run_delivered;
        retransmits += all.retransmits;
        acks += all.acks_received;
    }
    CHECK(retransmits > 0);
    CHECK(acks > 0);
    CHECK(delivered == expected);

    // The same runs without retransmission lose messages: the repair above is the fragmenter's.
    std::uint64_t unrepaired = 0;
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
        auto net = make_net(3, seed, lossy(), patient(), 5s, {200ms, 0});
        const auto sent = faulty_run(*net, seed, 8);
        delivery_log log;
        drain(*net, log, sent);
        CHECK(log.foreign == 0);
        for (const auto& [key, count] : log.got) {
            CHECK(count == 1);
            unrepaired += static_cast<std::uint64_t>(count);
        }
    }
    CHECK(unrepaired < expected);
}

TEST_CASE("control fragmenter: a seed replays the run bit for bit; another seed does not", "[control][sim][faults]")
{
    auto run = [](std::uint64_t seed) {
        auto net = make_net(3, seed, lossy(), patient(), 2s);
        (void)faulty_run(*net, seed, 6);
        return std::move(net->sent);
    };
    const auto a = run(4), b = run(4), c = run(5);
    REQUIRE(a.size() == b.size());
    std::size_t cookie_bearing = 0, records = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        // Every datagram, the cookies and the hellos that echo them included: the relay's cookie
        // secret comes from the cipher's random source too.
        CHECK(a[i].from == b[i].from);
        CHECK(a[i].to == b[i].to);
        CHECK(a[i].bytes == b[i].bytes);
        cookie_bearing += outer_type(a[i].bytes) == static_cast<std::uint16_t>(wire::tlv_type::secure_cookie) ? 1 : 0;
        records += is_record(a[i].bytes) ? 1 : 0;
    }
    CHECK(cookie_bearing > 0);
    CHECK(records > 0);
    // Another seed: other keys, randoms and session ids, so other bytes from the first hello on.
    REQUIRE_FALSE(c.empty());
    CHECK(a[0].bytes != c[0].bytes);
    std::size_t same = 0;
    for (std::size_t i = 0; i < std::min(a.size(), c.size()); ++i)
        same += a[i].bytes == c[i].bytes ? 1 : 0;
    CHECK(same < std::min(a.size(), c.size()) / 10);
}
