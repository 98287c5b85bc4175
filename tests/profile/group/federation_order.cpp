// SPDX-License-Identifier: BSL-1.0
// One order for membership (docs/FEDERATION.md): two sites, each a relay engine with its members on a
// simulated network, each bridged (federation/bridge.hpp) to a memory_link on an ordered hub, which
// models a JetStream stream with expected-last-sequence publication. Commits made at both sites at
// once end in one epoch order at every member; the loser is counted as a conflict and gets in on
// the next epoch. Without the order (a plain hub) the same race splits the sites: the test's race is real.
#include "fed_sites.hpp"

#include <string>
#include <vector>

using namespace tlvcast;
namespace group = tlvcast::profile::group;
namespace tf = tlvcast::federation;

namespace fed_order = tlvcast::test::fed_sites;

TEST_CASE("federation order: commits made at two sites at once end in one epoch order, the loser on the next epoch",
          "[profile][group][federation][order]")
{
    fed_order::federation f(true, 3);
    f.form(2);
    f.require_one_group(2, 4);
    REQUIRE(f.sites[0]->net->relay().cipher().external_order());

    // Updates at both sites in the same millisecond, five times: both are applied, one after the other.
    std::uint64_t raced = 0;
    for (int round = 0; round < 5; ++round) {
        INFO("round " << round);
        const auto epoch = f.sites[0]->member(0).current()->epoch;
        const auto conflicts = f.total(tf::federation_counter::conflicts);
        for (auto& s : f.sites)
            s->net->client(1).cipher().update(s->net->now());
        f.run(std::chrono::seconds(3));
        f.require_one_group(2, 4);
        CHECK(f.sites[0]->member(0).current()->epoch == epoch + 2); // neither update was lost
        UNSCOPED_INFO("round " << round << ": conflicts " << f.total(tf::federation_counter::conflicts));
        raced += f.total(tf::federation_counter::conflicts) > conflicts ? 1 : 0;
    }
    // Most rounds race for one epoch (the two commits reach their relays in the same millisecond);
    // each one that did was counted once.
    CHECK(raced >= 3);
    CHECK(f.total(tf::federation_counter::conflicts) >= raced);
    // A member joins at each site at once: both are added, by commits in one order.
    for (auto& s : f.sites)
        s->net->start(2);
    f.run(std::chrono::seconds(4));
    f.require_one_group(3, 6);
    // No relay refused anything another published: every stored commit continued every relay's chain.
    CHECK(f.total(tf::federation_counter::refused) == 0);
    CHECK(f.total(tf::federation_counter::unauthenticated) == 0);

    // Messages still cross once.
    const std::string text = "after the races";
    std::error_code ec;
    f.sites[1]->net->send(0, std::as_bytes(std::span(text)), ec);
    REQUIRE_FALSE(ec);
    std::vector<std::size_t> got(6, 0);
    for (int ms = 0; ms < 500; ++ms) {
        f.run(std::chrono::milliseconds(1));
        for (std::size_t s = 0; s < 2; ++s)
            for (std::size_t i = 0; i < 3; ++i)
                for (const auto& e : f.sites[s]->net->events(i))
                    if (e.what == core::client_event::kind::message && e.text == text)
                        ++got[s * 3 + i];
    }
    CHECK(got == std::vector<std::size_t>{1, 1, 1, 0, 1, 1});
}

TEST_CASE("federation order: a store whose check races (nats-server 2.9) keeps both commits of a race; "
          "every relay drops the second alike and the order goes on", "[profile][group][federation][order]")
{
    fed_order::federation f(true, 3, true);
    f.form(2);
    f.require_one_group(2, 4);
    // The racy store keeps the loser of each race: with the expectation stuck before it (a commit
    // every relay refused), every later commit would conflict and the group would stop changing.
    for (int round = 0; round < 5; ++round) {
        INFO("round " << round);
        const auto epoch = f.sites[0]->member(0).current()->epoch;
        for (auto& s : f.sites)
            s->net->client(1).cipher().update(s->net->now());
        f.run(std::chrono::seconds(3));
        f.require_one_group(2, 4);
        CHECK(f.sites[0]->member(0).current()->epoch == epoch + 2);
    }
    // Each stored loser reached both relays and was dropped by both, counted as a conflict by its own.
    const auto late = f.total(tf::federation_counter::late_conflicts);
    CHECK(late >= 6); // most of the 5 rounds race (the test above), each seen at 2 relays
    CHECK(late % 2 == 0);
    CHECK(f.total(tf::federation_counter::conflicts) == late / 2);
    CHECK(f.total(tf::federation_counter::refused) == 0); // never reached an engine
    for (auto& s : f.sites)
        s->net->start(2);
    f.run(std::chrono::seconds(4));
    f.require_one_group(3, 6);
}

TEST_CASE("federation order: without it (a plain hub) the same race splits the sites",
          "[profile][group][federation][order]")
{
    fed_order::federation f(false, 2);
    f.form(2);
    f.require_one_group(2, 4);
    REQUIRE_FALSE(f.sites[0]->net->relay().cipher().external_order());
    for (auto& s : f.sites)
        s->net->client(1).cipher().update(s->net->now());
    f.run(std::chrono::seconds(3));
    // Each relay applied its own member's commit and refused the other's.
    CHECK(f.total(tf::federation_counter::refused) >= 2);
    CHECK(f.sites[0]->member(0).current()->hash != f.sites[1]->member(0).current()->hash);
}

TEST_CASE("federation order: commits only through the order, only commits there; junk on it stops nothing",
          "[profile][group][federation][order]")
{
    fed_order::federation f(true, 2);
    // A stranger on the hub (a NATS publisher without the federation key), there from the start.
    tf::memory_link stranger(f.hub);
    f.form(2);
    f.require_one_group(2, 4);
    auto& a = *f.sites[0];

    // It stores junk in the order, right after the last commit stored, as a racing publisher would.
    const std::vector<std::byte> junk(200, std::byte{0x5a});
    std::uint64_t last = 0;
    {
        std::vector<std::byte> buf;
        tf::reception r;
        while (stranger.poll(buf, r))
            if (r.ordered)
                last = r.seq;
        REQUIRE(last > 0);
        REQUIRE(stranger.publish_ordered(junk, last));
    }
    f.run(std::chrono::milliseconds(50));
    CHECK(f.total(tf::federation_counter::malformed) + f.total(tf::federation_counter::unauthenticated) == 2);
    // Commits carry on past it.
    const auto epoch = a.member(0).current()->epoch;
    a.net->client(0).cipher().update(a.net->now());
    f.run(std::chrono::seconds(2));
    f.require_one_group(2, 4);
    CHECK(a.member(0).current()->epoch == epoch + 1);
    CHECK(f.total(tf::federation_counter::conflicts) == 0);

    // An authenticated commit beside the order (a relay that does not order, or a key holder) is
    // refused, and so is anything else inside the order; the engine sends nothing for either.
    auto& b = *f.sites[1];
    std::vector<std::byte> commit_blob;
    std::vector<std::byte> message_blob;
    const std::string text = "x";
    std::error_code ec;
    std::vector<core::federated_blob> caught;
    std::vector<std::vector<std::byte>> bytes;
    a.net->relay().set_federation([&](const core::federated_blob& h) {
        bytes.emplace_back(h.blob.begin(), h.blob.end());
        caught.push_back({h.presence, {}, h.origin, h.ordered});
    }, true);
    a.net->send(0, std::as_bytes(std::span(text)), ec);
    a.net->client(1).cipher().update(a.net->now());
    a.net->run_for(std::chrono::milliseconds(20));
    for (std::size_t i = 0; i < caught.size(); ++i)
        (caught[i].ordered ? commit_blob : message_blob) = bytes[i];
    REQUIRE(!commit_blob.empty());
    REQUIRE(!message_blob.empty());
    const auto origin = [&](bool ordered) {
        for (const auto& c : caught)
            if (c.ordered == ordered)
                return c.origin;
        return crypto::fingerprint{};
    };
    const auto refused = [&](const std::vector<std::byte>& blob, const crypto::fingerprint& who, bool ordered) {
        datagram_batch out;
        std::vector<core::relay_event> events;
        const auto before = b.net->relay().counters().get(core::relay_counter::refused);
        CHECK_FALSE(b.net->relay().handle_federated({false, blob, who, ordered}, b.net->now(), out, events));
        CHECK(out.size() == 0);
        CHECK(b.net->relay().counters().get(core::relay_counter::refused) == before + 1);
    };
    refused(commit_blob, origin(true), false);  // a commit beside the order
    refused(message_blob, origin(false), true); // a message inside it
    // The same commit through the order is applied at b (it was only checked at a).
    datagram_batch out;
    std::vector<core::relay_event> events;
    CHECK(b.net->relay().handle_federated({false, commit_blob, origin(true), true}, b.net->now(), out, events));
    CHECK(out.size() > 0);
}
