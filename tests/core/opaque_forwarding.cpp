// SPDX-License-Identifier: BSL-1.0
// Opaque forwarding through the engines: a test Cipher (tests/core/opaque_cipher.hpp) in a seeded simulation.
#include "core/opaque_cipher.hpp"

#include "core/policy_sim.hpp"

#include <tlvcast/core/client_engine.hpp>
#include <tlvcast/core/relay_engine.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

using namespace tlvcast;
using namespace std::chrono_literals;

namespace {

using opaque_client = core::client_engine<test::opaque_cipher, fragment::seed_fragmenter>;
using opaque_relay = core::relay_engine<test::opaque_cipher, fragment::seed_fragmenter>;
using opaque_net = test::policy_net<opaque_client, opaque_relay>;
using cstate = opaque_client::state;

test::opaque_key key_of(std::uint8_t n)
{
    test::opaque_key k{};
    k.fill(static_cast<std::byte>(n));
    return k;
}

// A relay and `n` clients, started; registration runs for `settle`.
std::unique_ptr<opaque_net> make_net(std::size_t n, std::uint64_t seed, transport::fault_options faults = {},
                                     core::client_options copt = {}, duration settle = 100ms)
{
    test::opaque_options ro;
    ro.relay_key = key_of(1);
    ro.seed = seed * 100;
    test::opaque_cipher rc(ro);
    const std::size_t payload = rc.fragment_payload(), whole = rc.max_whole();
    auto relay = std::make_unique<opaque_relay>(std::move(rc), fragment::seed_fragmenter(seed * 1000, {}, payload, whole));
    auto net = std::make_unique<opaque_net>(std::move(relay), opaque_net::options{seed, faults});
    copt.relay = opaque_net::group;
    for (std::size_t i = 0; i < n; ++i) {
        test::opaque_options co;
        co.relay_key = key_of(1);
        co.group_key = key_of(2);
        co.self = opaque_net::client_address(i);
        co.seed = seed * 100 + i + 1;
        net->add_client(std::make_unique<opaque_client>(
            test::opaque_cipher(co), fragment::seed_fragmenter(seed * 1000 + i + 1, {}, payload, whole), copt));
    }
    net->start_all();
    net->run_for(settle);
    return net;
}

std::string make_text(std::size_t sender, std::size_t size)
{
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        s[i] = static_cast<char>('a' + (i * 7 + sender) % 26);
    return s;
}

std::uint16_t outer_type(std::span<const std::byte> d)
{
    return d.size() >= 2 ? wire::detail::load_u16(d.data()) : 0;
}

// The blob that whole datagrams or FRAGMENT datagrams (any order) of one message carry.
std::vector<std::byte> blob_of(const std::vector<std::vector<std::byte>>& datagrams)
{
    std::map<std::uint16_t, std::vector<std::byte>> parts;
    for (const auto& d : datagrams) {
        std::error_code ec;
        const wire::tlv t = wire::read_outer(d, ec);
        REQUIRE_FALSE(ec);
        if (t.type() != wire::tlv_type::fragment)
            return {t.bytes().begin(), t.bytes().end()};
        const wire::fragment f = wire::decode_fragment(t.value, ec);
        REQUIRE_FALSE(ec);
        parts[f.seq].assign(f.payload.begin(), f.payload.end());
    }
    std::vector<std::byte> blob;
    for (const auto& [seq, p] : parts)
        blob.insert(blob.end(), p.begin(), p.end());
    return blob;
}

// What the relay's output for one forwarded message looked like, taken while its batch was alive.
struct forward_view {
    std::size_t entries = 0;
    std::map<const std::byte*, std::set<endpoint>> recipients_by_buffer; // one buffer per datagram, many recipients
    std::size_t distinct_sizes_per_buffer_violations = 0;
    std::vector<std::byte> blob;
};

// Watches the sender's records (their inner datagrams: the hop MAC does not hide them) and the
// relay's bare forwarded datagrams.
struct forward_watch {
    std::vector<std::vector<std::byte>> sender_inner;
    std::vector<forward_view> forwards;

    void attach(opaque_net& net, const endpoint& sender)
    {
        net.on_output = [this, sender](const endpoint& node, test::sim_call call, const datagram_batch& out) {
            if (node == sender && call == test::sim_call::send)
                for (std::size_t i = 0; i < out.size(); ++i) {
                    const auto b = out[i].bytes;
                    REQUIRE(outer_type(b) == test::opaque_type::record);
                    sender_inner.emplace_back(b.begin() + 20, b.end() - 16); // TLV header, sid, seq | tag
                }
            if (node != opaque_net::relay_address || call != test::sim_call::handle)
                return;
            forward_view v;
            std::map<const std::byte*, std::size_t> size_of;
            std::vector<std::vector<std::byte>> datagrams;
            for (std::size_t i = 0; i < out.size(); ++i) {
                const auto e = out[i];
                const auto type = outer_type(e.bytes);
                if (type != test::opaque_type::data && type != static_cast<std::uint16_t>(wire::tlv_type::fragment))
                    continue; // records (presence, accept)
                ++v.entries;
                auto [it, fresh] = size_of.emplace(e.bytes.data(), e.bytes.size());
                if (!fresh && it->second != e.bytes.size())
                    ++v.distinct_sizes_per_buffer_violations;
                if (fresh)
                    datagrams.emplace_back(e.bytes.begin(), e.bytes.end());
                v.recipients_by_buffer[e.bytes.data()].insert(e.to);
            }
            if (v.entries == 0)
                return;
            v.blob = blob_of(datagrams);
            forwards.push_back(std::move(v));
        };
    }
};

std::uint64_t rc(opaque_net& net, core::relay_counter c) { return net.relay().counters().get(c); }
std::uint64_t cc(opaque_net& net, std::size_t i, core::client_counter c) { return net.client(i).counters().get(c); }

} // namespace

TEST_CASE("opaque forwarding: the test cipher models both cipher concepts with opaque forwarding", "[opaque]")
{
    STATIC_REQUIRE(crypto::client_cipher<test::opaque_cipher>);
    STATIC_REQUIRE(crypto::relay_cipher<test::opaque_cipher>);
    STATIC_REQUIRE(opaque_relay::opaque);
}

TEST_CASE("opaque forwarding: clients register through the test record layer and see presence", "[opaque][sim]")
{
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
        CAPTURE(seed);
        auto net = make_net(4, seed);
        CHECK(net->relay().client_count() == 4);
        for (std::size_t i = 0; i < 4; ++i) {
            REQUIRE(net->client(i).current_state() == cstate::established);
            std::set<endpoint> peers;
            for (const auto& e : net->events(i))
                if (e.what == core::client_event::kind::peer_connected)
                    peers.insert(e.peer);
            // Presence travels inside records: every client hears of the three others.
            CHECK(peers.size() == 3);
        }
        // Handshake TLVs of unknown types reached the relay's cipher (try_handshake after unknown_type).
        CHECK(rc(*net, core::relay_counter::registrations) == 4);
        CHECK(rc(*net, core::relay_counter::unknown_type) == 0);
    }
}

TEST_CASE("opaque forwarding: the relay forwards one unchanged payload to every recipient, without any open or seal",
          "[opaque][sim]")
{
    constexpr std::size_t n = 4;
    auto net = make_net(n, 7);
    const auto hop_protect_before = net->relay().cipher().counts().hop_protect;
    const std::size_t sizes[] = {0, 1, 1158, 1159, 5000, 48'450}; // 1158: the largest whole blob
    for (const std::size_t size : sizes) {
        CAPTURE(size);
        const std::size_t from = size % n;
        forward_watch watch;
        watch.attach(*net, opaque_net::client_address(from));
        std::error_code ec;
        const std::string text = make_text(from, size);
        net->send(from, wire::as_bytes(text), ec);
        REQUIRE_FALSE(ec);
        net->run_for(50ms);
        net->on_output = nullptr;

        REQUIRE(watch.forwards.size() == 1); // the handle() that completed the message
        const forward_view& v = watch.forwards[0];
        const std::size_t datagrams = watch.sender_inner.size();
        CHECK(datagrams == (size <= 1158 ? 1 : (size + 38 + 1183) / 1184));
        // One buffer per datagram of the message, each viewed by the n - 1 other clients' entries.
        CHECK(v.entries == datagrams * (n - 1));
        CHECK(v.recipients_by_buffer.size() == datagrams);
        CHECK(v.distinct_sizes_per_buffer_violations == 0);
        std::set<endpoint> others;
        for (std::size_t i = 0; i < n; ++i)
            if (i != from)
                others.insert(opaque_net::client_address(i));
        for (const auto& [buffer, to] : v.recipients_by_buffer)
            CHECK(to == others);
        // Unchanged: the forwarded blob is the sender's blob, byte for byte.
        CHECK(v.blob == blob_of(watch.sender_inner));
        // And every other client shows it once, from its sender.
        for (std::size_t i = 0; i < n; ++i) {
            std::size_t got = 0;
            for (const auto& e : net->events(i))
                got += e.what == core::client_event::kind::message && e.text == text &&
                               e.peer == opaque_net::client_address(from)
                           ? 1
                           : 0;
            CHECK(got == (i == from ? 0 : 1));
        }
    }
    const auto& counts = net->relay().cipher().counts();
    CHECK(counts.open == 0);
    CHECK(counts.seal_relayed == 0);
    CHECK(counts.e2e_seal == 0);
    CHECK(counts.e2e_check == 0);
    CHECK(counts.hop_protect == hop_protect_before); // no record work per recipient
    CHECK(counts.classify == rc(*net, core::relay_counter::messages_in));
    CHECK(rc(*net, core::relay_counter::messages_relayed) == std::size(sizes) * (n - 1));
    CHECK(rc(*net, core::relay_counter::undecryptable) == 0);
}

TEST_CASE("opaque forwarding: every flipped byte of a client record, and a replayed one, is dropped by the relay",
          "[opaque][attack]")
{
    auto net = make_net(3, 3);
    std::vector<std::byte> record;
    net->tap = [&](test::sim_datagram& d) {
        if (d.from == opaque_net::client_address(0) && d.to == opaque_net::relay_address && record.empty() &&
            d.bytes.size() > 100)
            record = d.bytes;
        return true;
    };
    std::error_code ec;
    net->send(0, wire::as_bytes(make_text(0, 300)), ec);
    REQUIRE_FALSE(ec);
    net->run_for(50ms);
    REQUIRE_FALSE(record.empty());
    const auto in_before = rc(*net, core::relay_counter::messages_in);
    const auto classify_before = net->relay().cipher().counts().classify;
    std::vector<core::relay_event> events;
    for (std::size_t i = 0; i < record.size(); ++i) {
        auto forged = record;
        forged[i] ^= std::byte{0x01};
        datagram_batch out;
        net->relay().handle(opaque_net::client_address(0), forged, net->now(), out, events);
        CHECK(out.empty());
    }
    datagram_batch out;
    const auto undecryptable = rc(*net, core::relay_counter::undecryptable);
    net->relay().handle(opaque_net::client_address(0), record, net->now(), out, events); // replay
    CHECK(out.empty());
    CHECK(rc(*net, core::relay_counter::undecryptable) == undecryptable + 1);
    CHECK(rc(*net, core::relay_counter::messages_in) == in_before);
    CHECK(net->relay().cipher().counts().classify == classify_before);
    CHECK(events.empty());
}

namespace {

// (receiver, sender, text) -> deliveries; `foreign` counts texts the claimed sender never sent.
struct delivery_log {
    std::map<std::tuple<std::size_t, endpoint, std::string>, int> got;
    std::size_t foreign = 0;
};

using sent_set = std::map<std::pair<endpoint, std::string>, int>;

void drain(opaque_net& net, delivery_log& log, const sent_set& sent)
{
    for (std::size_t i = 0; i < net.clients(); ++i)
        for (const auto& e : net.events(i)) {
            if (e.what != core::client_event::kind::message)
                continue;
            if (!sent.count({e.peer, e.text}) || e.peer == opaque_net::client_address(i))
                ++log.foreign;
            ++log.got[{i, e.peer, e.text}];
        }
}

// Messages of sizes around the whole/fragment boundary and up to 41 FRAGMENTs, from random senders.
sent_set random_messages(opaque_net& net, std::uint64_t seed, int rounds)
{
    static const std::size_t sizes[] = {0, 1, 200, 1150, 1160, 3000, 10'000, 48'000};
    std::mt19937_64 rng(seed);
    sent_set sent;
    for (int round = 0; round < rounds; ++round) {
        const std::size_t from = rng() % net.clients();
        if (net.client(from).current_state() != cstate::established)
            continue;
        std::string text = make_text(from, sizes[rng() % std::size(sizes)]);
        text.insert(0, std::to_string(round) + ":");
        std::error_code ec;
        net.send(from, wire::as_bytes(text), ec);
        REQUIRE_FALSE(ec);
        sent[{opaque_net::client_address(from), text}] = 1;
        net.run_for(std::chrono::milliseconds(rng() % 30));
    }
    net.run_for(2s);
    return sent;
}

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

} // namespace

TEST_CASE("opaque forwarding: over seeds, every message reaches every other client exactly once and unchanged",
          "[opaque][sim]")
{
    for (std::uint64_t seed = 1; seed <= 8; ++seed) {
        CAPTURE(seed);
        auto net = make_net(4, seed);
        const auto sent = random_messages(*net, seed, 8);
        delivery_log log;
        drain(*net, log, sent);
        CHECK(log.foreign == 0);
        for (const auto& [key, count] : sent)
            for (std::size_t i = 0; i < net->clients(); ++i)
                if (opaque_net::client_address(i) != key.first)
                    CHECK(log.got[{i, key.first, key.second}] == 1);
        const auto& counts = net->relay().cipher().counts();
        CHECK(counts.open + counts.seal_relayed + counts.e2e_seal + counts.e2e_check == 0);
        CHECK(rc(*net, core::relay_counter::messages_relayed) == sent.size() * 3);
        for (std::size_t i = 0; i < net->clients(); ++i) {
            CHECK(cc(*net, i, core::client_counter::undecryptable) == 0);
            CHECK(cc(*net, i, core::client_counter::unknown_type) == 0);
            CHECK(cc(*net, i, core::client_counter::unexpected_type) == 0);
        }
    }
}

TEST_CASE("opaque forwarding: with loss, duplication and reordering, over seeds, nothing is delivered twice, altered "
          "or misattributed",
          "[opaque][sim][faults]")
{
    std::size_t delivered = 0, duplicates_dropped = 0;
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
        CAPTURE(seed);
        auto net = make_net(4, seed, lossy(), patient(), 5s);
        const auto sent = random_messages(*net, seed, 8);
        delivery_log log;
        drain(*net, log, sent);
        CHECK(log.foreign == 0);
        for (const auto& [key, count] : log.got) {
            CHECK(count == 1);
            delivered += static_cast<std::size_t>(count);
        }
        for (std::size_t i = 0; i < net->clients(); ++i) {
            CHECK(cc(*net, i, core::client_counter::undecryptable) == 0);
            duplicates_dropped += cc(*net, i, core::client_counter::duplicates);
        }
        const auto& counts = net->relay().cipher().counts();
        CHECK(counts.open + counts.seal_relayed + counts.e2e_seal + counts.e2e_check == 0);
    }
    CHECK(delivered > 0);
    CHECK(duplicates_dropped > 0); // the duplicated forwarded blobs met the end-to-end replay window
}

TEST_CASE("opaque forwarding: a seed replays the run bit for bit", "[opaque][sim][faults]")
{
    auto run = [](std::uint64_t seed) {
        auto net = make_net(4, seed, lossy(), patient(), 2s);
        (void)random_messages(*net, seed, 6);
        return std::move(net->sent);
    };
    const auto a = run(3), b = run(3);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        CHECK(a[i].from == b[i].from);
        CHECK(a[i].to == b[i].to);
        CHECK(a[i].bytes == b[i].bytes);
    }
}

TEST_CASE("opaque forwarding: clients show a forwarded blob only when its end-to-end check passes", "[opaque][attack]")
{
    auto net = make_net(3, 9);
    std::vector<std::byte> whole;
    std::vector<std::vector<std::byte>> fragments;
    net->tap = [&](test::sim_datagram& d) {
        if (d.from == opaque_net::relay_address && d.to == opaque_net::client_address(1)) {
            const auto type = outer_type(d.bytes);
            if (type == test::opaque_type::data && whole.empty())
                whole = d.bytes;
            if (type == static_cast<std::uint16_t>(wire::tlv_type::fragment))
                fragments.push_back(d.bytes);
        }
        return true;
    };
    std::error_code ec;
    net->send(0, wire::as_bytes(make_text(0, 500)), ec);
    net->send(0, wire::as_bytes(make_text(0, 3000)), ec);
    REQUIRE_FALSE(ec);
    net->run_for(50ms);
    net->tap = nullptr;
    REQUIRE_FALSE(whole.empty());
    REQUIRE(fragments.size() == 3);
    (void)net->events(1);
    auto& client = net->client(1);
    const auto relay = opaque_net::relay_address;
    datagram_batch out;
    auto shown = [&] {
        std::size_t messages = 0;
        for (const auto& e : net->events(1))
            messages += e.what != core::client_event::kind::peer_disconnected ? 1 : 0;
        return messages;
    };

    // Every flipped byte of a whole forwarded blob.
    const auto received = cc(*net, 1, core::client_counter::messages_received);
    for (std::size_t i = 0; i < whole.size(); ++i) {
        auto forged = whole;
        forged[i] ^= std::byte{0x01};
        client.handle(relay, forged, net->now(), out);
    }
    CHECK(shown() == 0);
    CHECK(cc(*net, 1, core::client_counter::undecryptable) >= whole.size() - 8); // all but type and length bytes
    // The genuine blob again (a replay), and from another address.
    const auto dup = cc(*net, 1, core::client_counter::duplicates);
    client.handle(relay, whole, net->now(), out);
    CHECK(cc(*net, 1, core::client_counter::duplicates) == dup + 1);
    const auto strangers = cc(*net, 1, core::client_counter::from_stranger);
    client.handle(endpoint{0x0a0000feu, 6666}, whole, net->now(), out);
    CHECK(cc(*net, 1, core::client_counter::from_stranger) == strangers + 1);
    // Bare FRAGMENTs under a fresh msg_id: with one payload byte flipped the blob fails its tag;
    // unflipped it is a replay.
    for (const bool flip : {true, false}) {
        for (std::size_t k = 0; k < fragments.size(); ++k) {
            auto f = fragments[k];
            wire::detail::store_u32(f.data() + 4, flip ? 0xdead0001u : 0xdead0002u);
            if (flip && k == 1)
                f[100] ^= std::byte{0x80};
            client.handle(relay, f, net->now(), out);
        }
    }
    CHECK(shown() == 0);
    CHECK(cc(*net, 1, core::client_counter::duplicates) == dup + 2);
    // A well-formed presence TLV outside a record is not the record layer's word: refused.
    std::vector<std::byte> presence;
    const std::array<std::byte, 7> value{std::byte{1}, std::byte{10}, std::byte{0}, std::byte{0}, std::byte{9},
                                         std::byte{0x1a}, std::byte{0x0a}};
    wire::tlv_appender(presence).put(test::opaque_type::presence, value, ec);
    const auto malformed = cc(*net, 1, core::client_counter::malformed);
    client.handle(relay, presence, net->now(), out);
    CHECK(cc(*net, 1, core::client_counter::malformed) == malformed + 1);
    CHECK(cc(*net, 1, core::client_counter::presence_received) == 2); // the two genuine ones, at registration
    CHECK(shown() == 0);
    CHECK(cc(*net, 1, core::client_counter::messages_received) == received);
    CHECK(out.empty());
}
