// SPDX-License-Identifier: BSL-1.0
// The group profile over the repairing Fragmenter: the relay's unicast streams (in records) and its
// multicast stream (bare, to the data group) are repaired under loss; every message once, in order.
#include "profile/group/engine_net.hpp"
#include "secure/sim_helpers.hpp"

#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/profile/group.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::test::group;

namespace {

using repair_net = test::secure_net<profile::group::cipher, profile::group::cipher, fragment::nack_fragmenter>;

std::string text_of(std::size_t sender, std::size_t index, std::size_t size)
{
    std::string s = std::to_string(sender) + ":" + std::to_string(index) + ":";
    while (s.size() < size)
        s.push_back(static_cast<char>('a' + (s.size() * 7 + sender + index) % 26));
    return s;
}

struct result {
    std::size_t unrecoverable = 0, to_group = 0;
    fragment::nack_fragmenter::stats_type relay;
};

// `members` members of a roster group; once the group has formed without loss, each sends
// `per_member` messages of the sizes given while the network drops `loss` of all datagrams.
result run(profile::group::delivery mode, double loss, std::uint64_t seed, std::size_t per_member,
           const std::vector<std::size_t>& sizes)
{
    constexpr std::uint8_t members = 4;
    auto opt = engine_roster(members);
    opt.mode = mode;
    repair_net net(profile::group::cipher(test::identity(200), engine_roster(members)));
    add_members(net, opt, members);
    std::mt19937_64 rng(seed);
    bool lossy = false;
    result r;
    net.tap = [&](test::wire_datagram& d) {
        r.to_group += lossy && d.to == opt.data_group;
        return !lossy || std::uniform_real_distribution<double>(0, 1)(rng) >= loss;
    };
    for (std::size_t i = 0; i < members; ++i) {
        net.start(i);
        net.run_for(std::chrono::milliseconds(200));
    }
    net.run_for(std::chrono::seconds(1));
    for (std::size_t i = 0; i < members; ++i) {
        REQUIRE(net.client(i).cipher().group().current());
        REQUIRE(net.client(i).cipher().group().current()->roster.size() == members);
        (void)net.events(i);
    }
    lossy = true;
    std::vector<std::vector<std::string>> got(members);
    const auto collect = [&] {
        for (std::size_t i = 0; i < members; ++i)
            for (auto& e : net.events(i)) {
                if (e.what == core::client_event::kind::message)
                    got[i].push_back(e.text);
                r.unrecoverable += e.what == core::client_event::kind::unrecoverable;
            }
    };
    for (std::size_t k = 0; k < per_member; ++k) {
        for (std::size_t i = 0; i < members; ++i) {
            const std::string t = text_of(i, k, sizes[(k + i) % sizes.size()]);
            std::error_code ec;
            net.send(i, std::as_bytes(std::span(t)), ec);
            // A full window (flow control) is back-pressure: wait for the relay's ACKs, boundedly.
            for (int waited = 0; ec == errc::would_block && waited < 30'000; ++waited) {
                net.run_for(std::chrono::milliseconds(1));
                net.send(i, std::as_bytes(std::span(t)), ec);
            }
            REQUIRE_FALSE(ec);
        }
        net.run_for(std::chrono::milliseconds(30));
        collect();
    }
    net.run_for(std::chrono::seconds(10));
    collect();
    for (std::size_t m = 0; m < members; ++m) {
        std::map<std::size_t, std::size_t> next;
        for (const auto& text : got[m]) {
            const std::size_t sender = std::stoul(text.substr(0, text.find(':')));
            const std::size_t index = std::stoul(text.substr(text.find(':') + 1));
            INFO("member " << m << " sender " << sender << " index " << index);
            REQUIRE(sender != m); // its own copy from the group is not delivered
            REQUIRE(index == next[sender]);
            REQUIRE(text == text_of(sender, index, text.size()));
            ++next[sender];
        }
        for (std::size_t s = 0; s < members; ++s)
            if (s != m) {
                INFO("member " << m << " from " << s);
                CHECK(next[s] == per_member);
            }
    }
    r.relay = net.relay().fragmenter_stats();
    return r;
}

} // namespace

TEST_CASE("group repair: unicast and multicast delivery, every message once and in order at 5 and 20% loss",
          "[profile][group][repair]")
{
    for (const auto mode : {profile::group::delivery::unicast, profile::group::delivery::multicast})
        for (const double loss : {0.05, 0.2})
            for (std::uint64_t seed = 1; seed <= 2; ++seed) {
                INFO("mode " << static_cast<int>(mode) << " loss " << loss << " seed " << seed);
                const result r = run(mode, loss, seed, 15, {100, 20'000, 400});
                CHECK(r.unrecoverable == 0);
                CHECK(r.relay.repairs_sent > 0);
                if (mode == profile::group::delivery::multicast)
                    CHECK(r.to_group > 0);
                else
                    CHECK(r.to_group == 0);
            }
}
