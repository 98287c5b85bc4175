// SPDX-License-Identifier: BSL-1.0
// The group profile's batches through the engines under the repairing Fragmenter (the programs'
// default): a full GROUP_BATCH fits one datagram of the sender's Fragmenter (its REPAIR_DATA header
// included); one sized only to the record would go as two FRAGMENTs.
#include "profile/group/engine_net.hpp"
#include "secure/sim_helpers.hpp"

#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/profile/group.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::test::group;
using namespace std::chrono_literals;

namespace {

using nack_net = test::secure_net<profile::group::cipher, profile::group::cipher, fragment::nack_fragmenter>;

} // namespace

TEST_CASE("group batch (engines, nack): full batches leave one datagram each, every message once and in order",
          "[profile][group][batch]")
{
    constexpr std::uint8_t members = 2;
    auto opt = engine_roster(members);
    nack_net net(profile::group::cipher(test::identity(200), engine_roster(members)));
    add_members(net, opt, members);
    for (std::size_t i = 0; i < members; ++i) {
        net.start(i);
        net.run_for(200ms);
    }
    net.run_for(1s);
    for (std::size_t i = 0; i < members; ++i) {
        REQUIRE(net.client(i).cipher().group().current());
        (void)net.events(i);
    }
    std::vector<std::string> lines;
    for (int i = 0; i < 200; ++i) {
        std::string s = "line " + std::to_string(i) + " ";
        s.resize(40, static_cast<char>('a' + i % 26));
        lines.push_back(std::move(s));
    }
    std::vector<std::span<const std::byte>> views;
    for (const auto& s : lines)
        views.push_back(std::as_bytes(std::span(s.data(), s.size())));
    const auto out_before = net.client(0).counters().get(core::client_counter::datagrams_out);
    std::error_code ec;
    net.send_batch(0, views, ec);
    REQUIRE_FALSE(ec);
    const auto datagrams = net.client(0).counters().get(core::client_counter::datagrams_out) - out_before;
    // 200 messages of 40 bytes: 25 to a datagram, 8 datagrams (measured); batches that did not fit
    // the Fragmenter's datagram would go as 2 FRAGMENTs each (16 or more).
    INFO(datagrams << " datagrams for 200 messages");
    CHECK(datagrams <= 10);
    net.run_for(500ms);
    std::vector<std::string> got;
    for (const auto& e : net.events(1))
        if (e.what == core::client_event::kind::message)
            got.emplace_back(reinterpret_cast<const char*>(e.text.data()), e.text.size());
    CHECK(got == lines);
}
