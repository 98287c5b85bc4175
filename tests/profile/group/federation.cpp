// SPDX-License-Identifier: BSL-1.0
// profile/group/impl/cipher_federation.hpp with core's federation hooks (relay_engine's sink and
// handle_federated): two sites, each a relay engine with its members on its own simulated network,
// joined by what each relay's sink hands out (as federation/bridge.hpp does over NATS). One group,
// one epoch chain, messages once at every member; hostile federated input refused and counted.
#include "secure/sim_helpers.hpp"

#include <tlvcast/profile/group.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

using namespace tlvcast;
namespace group = tlvcast::profile::group;

namespace {

using net_t = test::secure_net<group::cipher>;

struct held { // a federated_blob's bytes, kept until the other site takes it
    bool presence = false;
    std::vector<std::byte> blob;
    crypto::fingerprint origin{};
};

group::options open_group()
{
    group::options o;
    o.policy = group::admission::open;
    return o;
}

// Sites 0, 1, ...; site s's members are identities base+10*s, base+10*s+1, ...
struct sites {
    std::vector<std::unique_ptr<net_t>> nets;
    std::vector<std::vector<held>> published; // by the site that published
    std::vector<std::vector<std::vector<core::client_event>>> seen;
    bool linked = true; ///< false: what relays publish stays in `published`
    std::size_t refused_federated = 0; ///< handle_federated's refusals of what the other site published
    std::size_t last_out = 0;          ///< datagrams the last deliver() sent

    sites(std::size_t n_sites, std::size_t members_each, std::uint8_t base = 1)
    {
        published.resize(n_sites);
        for (std::size_t s = 0; s < n_sites; ++s) {
            nets.push_back(std::make_unique<net_t>(group::cipher(test::identity(std::uint8_t(200 + s)), open_group())));
            for (std::size_t m = 0; m < members_each; ++m)
                nets[s]->add_client(group::cipher(test::identity(std::uint8_t(base + 10 * s + m)), open_group()));
            seen.emplace_back(members_each);
            nets[s]->relay().set_federation([this, s](const core::federated_blob& b) {
                published[s].push_back({b.presence, {b.blob.begin(), b.blob.end()}, b.origin});
            });
        }
    }

    // Hands `h` to site `to`'s relay; what it sends goes on that site's wire. Returns its verdict.
    bool deliver(std::size_t to, const held& h)
    {
        datagram_batch out;
        std::vector<core::relay_event> events;
        const bool ok = nets[to]->relay().handle_federated({h.presence, h.blob, h.origin}, nets[to]->now(), out, events);
        last_out = out.size();
        for (std::size_t i = 0; i < out.size(); ++i)
            nets[to]->inject(nets[to]->relay_address, out[i].to, out[i].bytes);
        return ok;
    }

    // Runs every site in 1 ms steps, in lockstep; each site's publications reach the others.
    void run(duration d)
    {
        for (duration t{}; t < d; t += std::chrono::milliseconds(1)) {
            for (auto& n : nets)
                n->run_for(std::chrono::milliseconds(1));
            for (std::size_t s = 0; linked && s < nets.size(); ++s) { // unlinked: publications stay for the test
                auto batch = std::move(published[s]);
                published[s].clear();
                for (const held& h : batch)
                    for (std::size_t to = 0; to < nets.size(); ++to)
                        if (to != s && !deliver(to, h))
                            ++refused_federated;
            }
            for (std::size_t s = 0; s < nets.size(); ++s)
                for (std::size_t i = 0; i < nets[s]->clients(); ++i)
                    for (auto& ev : nets[s]->events(i))
                        seen[s][i].push_back(std::move(ev));
        }
    }

    const auto& member(std::size_t s, std::size_t i) { return nets[s]->client(i).cipher().group(); }
    std::size_t messages(std::size_t s, std::size_t i, const std::string& text) const
    {
        return static_cast<std::size_t>(std::count_if(seen[s][i].begin(), seen[s][i].end(), [&](const auto& e) {
            return e.what == core::client_event::kind::message && e.text == text;
        }));
    }
};

} // namespace

TEST_CASE("federation: members at two relays are one group, and every message reaches each once",
          "[profile][group][federation]")
{
    sites g(2, 2);
    for (std::size_t s = 0; s < 2; ++s)
        for (std::size_t i = 0; i < 2; ++i) {
            g.nets[s]->start(i);
            g.run(std::chrono::milliseconds(300));
        }
    g.run(std::chrono::seconds(2));
    const auto epoch = g.member(0, 0).current()->epoch;
    for (std::size_t s = 0; s < 2; ++s)
        for (std::size_t i = 0; i < 2; ++i) {
            INFO("site " << s << " member " << i);
            REQUIRE(g.member(s, i).in_group());
            CHECK(g.member(s, i).current()->roster.size() == 4);
            CHECK(g.member(s, i).current()->epoch == epoch);
        }
    // 100 bytes and 20 KB from a member of each site.
    const std::string small(100, 's'), big = std::string(20'000, 'b') + "end";
    std::error_code ec;
    g.nets[1]->send(1, std::as_bytes(std::span(small)), ec);
    REQUIRE_FALSE(ec);
    g.nets[0]->send(0, std::as_bytes(std::span(big)), ec);
    REQUIRE_FALSE(ec);
    g.run(std::chrono::milliseconds(500));
    for (std::size_t s = 0; s < 2; ++s)
        for (std::size_t i = 0; i < 2; ++i) {
            INFO("site " << s << " member " << i);
            CHECK(g.messages(s, i, small) == (s == 1 && i == 1 ? 0u : 1u));
            CHECK(g.messages(s, i, big) == (s == 0 && i == 0 ? 0u : 1u));
        }
    // Nothing one relay published was refused by the other: they follow one chain.
    CHECK(g.refused_federated == 0);
}

TEST_CASE("federation: hostile input from the federation is refused and counted, never delivered",
          "[profile][group][federation]")
{
    sites g(2, 1);
    g.nets[0]->start(0);
    g.run(std::chrono::milliseconds(300));
    g.nets[1]->start(0);
    g.run(std::chrono::seconds(1));
    REQUIRE(g.member(1, 0).in_group());
    REQUIRE(g.member(1, 0).current()->roster.size() == 2);
    auto& relay = g.nets[0]->relay();
    const auto refused = [&] { return relay.counters().get(core::relay_counter::refused); };
    const crypto::fingerprint stranger = crypto::fingerprint_of<crypto::default_suite>(test::identity(99).public_key);
    const crypto::fingerprint member1 = crypto::fingerprint_of<crypto::default_suite>(test::identity(11).public_key);
    CHECK(g.refused_federated == 0);

    // Captured from site 1: a real message of member 1, and its presence.
    g.linked = false;
    const std::string text = "hello from site 1";
    std::error_code ec;
    g.nets[1]->send(0, std::as_bytes(std::span(text)), ec);
    g.run(std::chrono::milliseconds(100));
    REQUIRE(!g.published[1].empty());
    const held message = g.published[1].back();
    REQUIRE_FALSE(message.presence);

    std::uint64_t n = refused();
    const auto refuse = [&](const held& h) {
        CHECK_FALSE(g.deliver(0, h));
        CHECK(g.last_out == 0); // nothing of it left the relay
        CHECK(refused() == ++n);
    };
    refuse({false, {}, member1});                                     // empty
    refuse({false, std::vector<std::byte>(7, std::byte{0xff}), member1}); // not a TLV
    auto truncated = message;
    truncated.blob.resize(truncated.blob.size() / 2);
    refuse(truncated);                                                // cut short
    auto trailing = message;
    trailing.blob.push_back(std::byte{0});
    refuse(trailing);                                                 // bytes after the TLV
    refuse({false, message.blob, stranger});                          // a message from no member
    refuse({true, message.blob, member1});                            // a message posing as presence
    // A founding commit of another group (an isolated site) while this group lives.
    sites lone(1, 1, 50);
    lone.linked = false;
    lone.nets[0]->start(0);
    lone.run(std::chrono::milliseconds(100));
    const auto commit = std::find_if(lone.published[0].begin(), lone.published[0].end(),
                                     [](const held& h) { return !h.presence; });
    REQUIRE(commit != lone.published[0].end());
    refuse(*commit);
    // Its presence, claimed for someone else.
    const auto presence = std::find_if(lone.published[0].begin(), lone.published[0].end(),
                                       [](const held& h) { return h.presence; });
    REQUIRE(presence != lone.published[0].end());
    refuse({true, presence->blob, member1});
    g.run(std::chrono::milliseconds(100));
    CHECK(g.messages(0, 0, text) == 0);
    // The real message still passes, once.
    CHECK(g.deliver(0, message));
    CHECK(g.last_out > 0);
    g.run(std::chrono::milliseconds(100));
    CHECK(g.messages(0, 0, text) == 1);
}
