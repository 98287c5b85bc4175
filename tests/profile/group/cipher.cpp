// SPDX-License-Identifier: BSL-1.0
// profile/group/cipher.hpp: the group profile through the client and relay engines, on the
// deterministic simulated network (records, fragments, opaque forwarding, commit ordering).
#include "secure/sim_helpers.hpp"

#include <tlvcast/profile/group.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

using namespace tlvcast;
namespace group = tlvcast::profile::group;

namespace {

using net_t = test::secure_net<group::cipher>;

crypto::ed25519_keypair member_identity(std::uint8_t n)
{
    std::array<std::byte, 32> seed{};
    seed.fill(static_cast<std::byte>(n));
    return crypto::ed25519_from_seed<crypto::default_suite>(seed);
}

group::options roster_of(std::uint8_t members)
{
    group::options o;
    o.policy = group::admission::roster;
    for (std::uint8_t i = 1; i <= members; ++i)
        o.roster.push_back(crypto::fingerprint_of<crypto::default_suite>(member_identity(i).public_key));
    return o;
}

struct group_sim {
    net_t net;
    std::vector<std::vector<core::client_event>> seen;

    explicit group_sim(std::size_t n, group::options opt)
        : net(group::cipher(member_identity(200), opt))
    {
        for (std::size_t i = 0; i < n; ++i)
            net.add_client(group::cipher(member_identity(static_cast<std::uint8_t>(i + 1)), opt));
        seen.resize(n);
    }
    void run(duration d)
    {
        net.run_for(d);
        for (std::size_t i = 0; i < net.clients(); ++i)
            for (auto& ev : net.events(i))
                seen[i].push_back(std::move(ev));
    }
    const group::member<crypto::default_suite, crypto::default_aes256_gcm, crypto::os_random<crypto::default_suite>>&
    member(std::size_t i)
    {
        return net.client(i).cipher().group();
    }
    std::size_t messages(std::size_t i, const std::string& text) const
    {
        return static_cast<std::size_t>(std::count_if(seen[i].begin(), seen[i].end(), [&](const auto& e) {
            return e.what == core::client_event::kind::message && e.text == text;
        }));
    }
};

} // namespace

TEST_CASE("group cipher: five members through the relay engine, end to end", "[profile][group][engine]")
{
    group_sim g(5, roster_of(5));
    for (std::size_t i = 0; i < 5; ++i) {
        g.net.start(i);
        g.run(std::chrono::milliseconds(200));
    }
    g.run(std::chrono::seconds(2));
    for (std::size_t i = 0; i < 5; ++i) {
        INFO("member " << i);
        REQUIRE(g.member(i).in_group());
        CHECK(g.member(i).current()->roster.size() == 5);
        CHECK(g.member(i).current()->epoch == g.member(0).current()->epoch);
    }
    CHECK_FALSE(g.net.relay().cipher().group().in_group()); // the relay holds no group key
    const std::string secret = "only the members read this";
    std::error_code ec;
    g.net.send(2, std::as_bytes(std::span(secret)), ec);
    REQUIRE_FALSE(ec);
    g.run(std::chrono::milliseconds(200));
    for (std::size_t i = 0; i < 5; ++i)
        CHECK(g.messages(i, secret) == (i == 2 ? 0u : 1u));
    const auto ev = std::find_if(g.seen[0].begin(), g.seen[0].end(),
                                 [](const auto& e) { return e.what == core::client_event::kind::message; });
    REQUIRE(ev != g.seen[0].end());
    CHECK(ev->identity == crypto::fingerprint_of<crypto::default_suite>(member_identity(3).public_key));
    // Neither the relay nor anyone on the wire saw the text.
    for (const auto& d : g.net.sent)
        CHECK(std::search(d.bytes.begin(), d.bytes.end(), reinterpret_cast<const std::byte*>(secret.data()),
                          reinterpret_cast<const std::byte*>(secret.data()) + secret.size()) == d.bytes.end());
    // Epoch and membership events come from commits.
    const auto added = std::count_if(g.seen[0].begin(), g.seen[0].end(),
                                     [](const auto& e) { return e.what == core::client_event::kind::member_added; });
    CHECK(added == 4);
}

TEST_CASE("group cipher: a member that leaves is removed, and the rest carry on", "[profile][group][engine]")
{
    group_sim g(3, roster_of(3));
    for (std::size_t i = 0; i < 3; ++i) {
        g.net.start(i);
        g.run(std::chrono::milliseconds(200));
    }
    REQUIRE(g.member(2).in_group());
    const auto e = g.member(0).current()->epoch;
    datagram_batch out;
    g.net.client(2).close(g.net.now(), out);
    for (std::size_t i = 0; i < out.size(); ++i)
        g.net.inject(test::secure_client_address(2), g.net.relay_address, out[i].bytes);
    g.run(std::chrono::seconds(1));
    REQUIRE(g.member(0).current()->epoch == e + 1);
    CHECK(g.member(0).current()->roster.size() == 2);
    CHECK(g.member(1).current()->roster.size() == 2);
    const std::string text = "after the leave";
    std::error_code ec;
    g.net.send(1, std::as_bytes(std::span(text)), ec);
    g.run(std::chrono::milliseconds(200));
    CHECK(g.messages(0, text) == 1);
    CHECK(g.messages(2, text) == 0);
}

TEST_CASE("group cipher: multicast delivery sends one datagram per message for all members",
          "[profile][group][engine]")
{
    for (const auto mode : {group::delivery::unicast, group::delivery::multicast}) {
        CAPTURE(static_cast<int>(mode));
        group::options opt = roster_of(5);
        opt.mode = mode;
        group_sim g(5, opt);
        g.net.data_group = opt.data_group;
        if (mode == group::delivery::multicast)
            g.net.data_listeners = {0, 1, 2, 3, 4};
        for (std::size_t i = 0; i < 5; ++i) {
            g.net.start(i);
            g.run(std::chrono::milliseconds(200));
        }
        g.run(std::chrono::seconds(1));
        for (std::size_t i = 0; i < 5; ++i)
            REQUIRE(g.member(i).current()->roster.size() == 5);
        const std::size_t before = g.net.sent.size();
        const std::string text = "one ciphertext for all";
        std::error_code ec;
        g.net.send(0, std::as_bytes(std::span(text)), ec);
        g.run(std::chrono::milliseconds(100));
        std::size_t from_relay = 0, to_group = 0;
        for (std::size_t k = before; k < g.net.sent.size(); ++k) {
            const auto& d = g.net.sent[k];
            if (d.from != g.net.relay_address || !test::is_type(d, wire::tlv_type::group_message))
                continue;
            ++from_relay;
            to_group += d.to == opt.data_group;
        }
        for (std::size_t i = 1; i < 5; ++i)
            CHECK(g.messages(i, text) == 1);
        CHECK(g.messages(0, text) == 0); // its own copy from the group is dropped as a duplicate
        if (mode == group::delivery::multicast) {
            CHECK(from_relay == 1);
            CHECK(to_group == 1);
        } else {
            CHECK(from_relay == 4);
            CHECK(to_group == 0);
        }
    }
}

TEST_CASE("group cipher: send_batch packs messages into one datagram per recipient, each one an event",
          "[profile][group][engine]")
{
    group_sim g(3, roster_of(3));
    for (std::size_t i = 0; i < 3; ++i) {
        g.net.start(i);
        g.run(std::chrono::milliseconds(200));
    }
    REQUIRE(g.member(2).current()->roster.size() == 3);
    std::vector<std::string> texts;
    for (int i = 0; i < 30; ++i)
        texts.push_back("batched message number " + std::to_string(i) + std::string(16, '.'));
    std::vector<std::span<const std::byte>> views;
    for (const auto& t : texts)
        views.push_back(std::as_bytes(std::span(t)));
    const std::size_t before = g.net.sent.size();
    std::error_code ec;
    g.net.send_batch(1, views, ec);
    REQUIRE_FALSE(ec);
    g.run(std::chrono::milliseconds(100));
    std::size_t batches = 0;
    for (std::size_t k = before; k < g.net.sent.size(); ++k) {
        const auto& d = g.net.sent[k];
        CHECK_FALSE((d.from == g.net.relay_address && test::is_type(d, wire::tlv_type::group_message)));
        batches += d.from == g.net.relay_address && test::is_type(d, wire::tlv_type::group_batch);
    }
    CHECK(batches == 2 * 2); // 30 messages of about 42 bytes: two datagrams, to each of two members
    for (const std::size_t i : {std::size_t{0}, std::size_t{2}}) {
        std::vector<std::string> got;
        for (const auto& e : g.seen[i])
            if (e.what == core::client_event::kind::message) {
                got.push_back(e.text);
                CHECK(e.identity == crypto::fingerprint_of<crypto::default_suite>(member_identity(2).public_key));
            }
        CHECK(got == texts);
        CHECK(g.net.client(i).counters().get(core::client_counter::messages_received) == 30);
    }
    CHECK(g.net.client(1).counters().get(core::client_counter::messages_sent) == 30);
    // All or nothing on the sizes the engine refuses.
    const std::string huge(core::default_max_message + 1, 'h');
    views.push_back(std::as_bytes(std::span(huge)));
    const auto sent_before = g.net.sent.size();
    g.net.send_batch(1, views, ec);
    CHECK(ec == errc::message_too_large);
    CHECK(g.net.sent.size() == sent_before);
}

TEST_CASE("group cipher: the relay's fan-out follows members that join and leave, in a mixed group",
          "[profile][group][engine]")
{
    // Members 0 and 1 on multicast, 2 and 3 on unicast; 3 sends after each change.
    group::options uni = roster_of(4), multi = roster_of(4);
    multi.mode = group::delivery::multicast;
    group_sim g(0, uni);
    for (std::size_t i = 0; i < 4; ++i)
        g.net.add_client(group::cipher(member_identity(static_cast<std::uint8_t>(i + 1)), i < 2 ? multi : uni));
    g.seen.resize(4);
    g.net.data_group = multi.data_group;
    g.net.data_listeners = {0, 1};
    for (std::size_t i = 0; i < 4; ++i) {
        g.net.start(i);
        g.run(std::chrono::milliseconds(200));
    }
    g.run(std::chrono::seconds(1));
    REQUIRE(g.member(3).current()->roster.size() == 4);
    struct copies {
        std::size_t group = 0, unicast = 0;
        bool operator==(const copies&) const = default;
    };
    const auto send_from_3 = [&](const std::string& text) {
        const std::size_t before = g.net.sent.size();
        std::error_code ec;
        g.net.send(3, std::as_bytes(std::span(text)), ec);
        REQUIRE_FALSE(ec);
        g.run(std::chrono::milliseconds(100));
        copies c;
        for (std::size_t k = before; k < g.net.sent.size(); ++k) {
            const auto& d = g.net.sent[k];
            if (d.from == g.net.relay_address && test::is_type(d, wire::tlv_type::group_message))
                ++(d.to == multi.data_group ? c.group : c.unicast);
        }
        return c;
    };
    const auto leave = [&](std::size_t i) {
        datagram_batch out;
        g.net.client(i).close(g.net.now(), out);
        for (std::size_t k = 0; k < out.size(); ++k)
            g.net.inject(test::secure_client_address(i), g.net.relay_address, out[k].bytes);
        g.run(std::chrono::seconds(1));
    };
    CHECK(send_from_3("all four") == copies{1, 1});
    CHECK(g.messages(0, "all four") == 1);
    CHECK(g.messages(1, "all four") == 1);
    CHECK(g.messages(2, "all four") == 1);
    leave(1);
    CHECK(send_from_3("without 1") == copies{1, 1});
    CHECK(g.messages(0, "without 1") == 1);
    leave(0);
    CHECK(send_from_3("no multicast member left") == copies{0, 1});
    CHECK(g.messages(2, "no multicast member left") == 1);
    leave(2);
    CHECK(send_from_3("alone") == copies{0, 0});
}

TEST_CASE("group cipher: a member that restarts with its identity while its old session lives gets back in",
          "[profile][group][engine]")
{
    // The founder (index 0, the designated committer: the next member must commit for it) and another.
    for (const std::size_t who : {std::size_t{0}, std::size_t{2}}) {
        CAPTURE(who);
        group_sim g(3, roster_of(3));
        for (std::size_t i = 0; i < 3; ++i) {
            g.net.start(i);
            g.run(std::chrono::milliseconds(200));
        }
        REQUIRE(g.member(0).current()->roster.size() == 3);
        // Its process dies without a word; the same identity comes back from a new socket.
        g.net.tap = [&](test::wire_datagram& d) {
            return d.from != test::secure_client_address(who) && d.to != test::secure_client_address(who);
        };
        group::options again = roster_of(3);
        again.key_package_seq = 1000; // above the seq its first process used (the programs: the clock)
        g.net.add_client(group::cipher(member_identity(static_cast<std::uint8_t>(who + 1)), again));
        g.seen.resize(4);
        g.net.start(3);
        g.run(std::chrono::seconds(40)); // past the relay's client_timeout (15 s) for the old session
        const std::size_t other = who == 0 ? 1 : 0;
        REQUIRE(g.member(3).in_group());
        CHECK(g.member(3).current()->roster.size() == 3);
        CHECK(g.member(other).current()->epoch == g.member(3).current()->epoch);
        const std::string text = "welcome back";
        std::error_code ec;
        g.net.send(other, std::as_bytes(std::span(text)), ec);
        g.run(std::chrono::milliseconds(200));
        CHECK(g.messages(3, text) == 1);
        CHECK(g.messages(who == 2 ? 1 : 2, text) == 1);
        const auto removed = std::count_if(g.seen[other].begin(), g.seen[other].end(), [](const auto& e) {
            return e.what == core::client_event::kind::member_removed;
        });
        CHECK(removed == 0);
    }
}
