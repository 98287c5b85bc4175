// SPDX-License-Identifier: BSL-1.0
// The group relay's unicast fan-out: one shared stream whose datagrams go, the same bytes and bare,
// to every unicast member (no crypto or copy per recipient), repaired to the asker alone; and the
// sealed alternative (relay_options::seal_unicast), a stream per member inside its records.
#include "profile/group/engine_net.hpp"
#include "secure/sim_helpers.hpp"

#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/profile/group.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::test::group;

namespace {

using fanout_net = test::secure_net<profile::group::cipher, profile::group::cipher, fragment::nack_fragmenter>;
constexpr std::uint8_t fanout_members = 4;

// A roster group of four unicast members, formed without loss.
struct fanout_group {
    fanout_net net;
    explicit fanout_group(bool seal)
        : net(profile::group::cipher(test::identity(200), engine_roster(fanout_members)), options(seal))
    {
        const auto opt = engine_roster(fanout_members); // delivery::unicast by default
        for (std::uint8_t i = 1; i <= fanout_members; ++i)
            net.add_client(profile::group::cipher(test::identity(i), opt));
        for (std::size_t i = 0; i < fanout_members; ++i) {
            net.start(i);
            net.run_for(std::chrono::milliseconds(200));
        }
        net.run_for(std::chrono::seconds(1));
        for (std::size_t i = 0; i < fanout_members; ++i) {
            REQUIRE(net.client(i).cipher().group().current());
            REQUIRE(net.client(i).cipher().group().current()->roster.size() == fanout_members);
            (void)net.events(i);
        }
        net.sent.clear();
    }
    static core::relay_options options(bool seal)
    {
        core::relay_options o;
        o.seal_unicast = seal;
        return o;
    }
    std::vector<std::string> messages(std::size_t i)
    {
        std::vector<std::string> v;
        for (auto& e : net.events(i))
            if (e.what == core::client_event::kind::message)
                v.push_back(e.text);
        return v;
    }
};

wire::tlv_type fanout_outer_type(const test::wire_datagram& d)
{
    std::error_code ec;
    const wire::tlv t = wire::read_outer(d.bytes, ec);
    REQUIRE_FALSE(ec);
    return t.type();
}

// The relay's datagrams to member i of one outer type: bare REPAIR_DATA, or records.
std::vector<std::vector<std::byte>> fanout_to(const fanout_net& net, std::size_t i, wire::tlv_type type)
{
    std::vector<std::vector<std::byte>> v;
    for (const auto& d : net.sent)
        if (d.from == net.relay_address && d.to == test::secure_client_address(i) && fanout_outer_type(d) == type)
            v.push_back(d.bytes);
    return v;
}

constexpr auto fanout_bare = wire::tlv_type::repair_data;
constexpr auto fanout_record = profile::group::cipher::record_type;

} // namespace

TEST_CASE("group unicast fan-out: the same fanout_bare bytes to every member, the sender's echo included",
          "[profile][group][fanout]")
{
    for (const std::size_t size : {std::size_t{100}, std::size_t{20'000}}) {
        INFO("size " << size);
        fanout_group f(false);
        const auto data_before = f.net.relay().fragmenter_stats().data_sent;
        const auto relayed_before = f.net.relay().counters().get(core::relay_counter::messages_relayed);
        const std::string text(size, 'x');
        std::error_code ec;
        f.net.send(0, std::as_bytes(std::span(text)), ec);
        REQUIRE_FALSE(ec);
        f.net.run_for(std::chrono::milliseconds(50));
        const auto first = fanout_to(f.net, 1, fanout_bare);
        REQUIRE(first.size() >= (size > 1000 ? 2u : 1u));
        // Every member, the sender too (its stream has no gap), got exactly these bytes, bare; the
        // recipients no record at all (nothing sealed for them).
        for (std::size_t i = 0; i < fanout_members; ++i) {
            INFO("member " << i);
            CHECK(fanout_to(f.net, i, fanout_bare) == first);
            if (i != 0)
                CHECK(fanout_to(f.net, i, fanout_record).empty());
        }
        for (std::size_t i = 1; i < fanout_members; ++i)
            CHECK(f.messages(i) == std::vector<std::string>{text});
        CHECK(f.messages(0).empty()); // its own echo is not delivered
        // One stream for all: the relay's fragmenter sent each datagram once (per message, not per member).
        CHECK(f.net.relay().fragmenter_stats().data_sent - data_before == first.size());
        CHECK(f.net.relay().counters().get(core::relay_counter::messages_relayed) - relayed_before == 3);
    }
}

TEST_CASE("group unicast fan-out, seal_unicast: each member its own stream inside its records",
          "[profile][group][fanout]")
{
    fanout_group f(true);
    const std::string text(100, 'y');
    std::error_code ec;
    f.net.send(0, std::as_bytes(std::span(text)), ec);
    REQUIRE_FALSE(ec);
    f.net.run_for(std::chrono::milliseconds(50));
    std::set<std::vector<std::byte>> seen;
    for (std::size_t i = 1; i < fanout_members; ++i) {
        const auto d = fanout_to(f.net, i, fanout_record);
        REQUIRE(d.size() == 1);
        CHECK(fanout_to(f.net, i, fanout_bare).empty());
        seen.insert(d[0]);
        CHECK(f.messages(i) == std::vector<std::string>{text});
    }
    CHECK(seen.size() == fanout_members - 1); // sealed per member: no two alike
    CHECK(fanout_to(f.net, 0, fanout_bare).empty()); // no echo to the sender
}

TEST_CASE("group unicast fan-out: a lost datagram is repaired to the asker alone, inside its record",
          "[profile][group][fanout][repair]")
{
    fanout_group f(false);
    bool dropped = false;
    f.net.tap = [&](test::wire_datagram& d) {
        if (!dropped && d.from == f.net.relay_address && d.to == test::secure_client_address(2) &&
            fanout_outer_type(d) == wire::tlv_type::repair_data) {
            dropped = true;
            return false;
        }
        return true;
    };
    const std::string text(20'000, 'z');
    std::error_code ec;
    f.net.send(0, std::as_bytes(std::span(text)), ec);
    REQUIRE_FALSE(ec);
    f.net.run_for(std::chrono::seconds(2));
    REQUIRE(dropped);
    CHECK(f.messages(2) == std::vector<std::string>{text});
    CHECK(f.messages(1) == std::vector<std::string>{text});
    CHECK(f.messages(3) == std::vector<std::string>{text});
    // The repair went to member 2 alone, in a record; members 1 and 3 got the same bare datagrams
    // once and no record; member 2 the same (the one lost is in net.sent: it was sent, then dropped).
    const auto to1 = fanout_to(f.net, 1, fanout_bare);
    CHECK(fanout_to(f.net, 3, fanout_bare) == to1);
    CHECK(fanout_to(f.net, 1, fanout_record).empty());
    CHECK(fanout_to(f.net, 3, fanout_record).empty());
    CHECK(fanout_to(f.net, 2, fanout_bare) == to1);
    CHECK(fanout_to(f.net, 2, fanout_record).size() >= 1);
    CHECK(f.net.relay().fragmenter_stats().repairs_sent >= 1);
}
