// SPDX-License-Identifier: BSL-1.0
// The group profile's registration under loss: its hop is the secure profile's handshake
// (profile/group/cipher.hpp delegates start_session, on_timer and relay_handshake to it), so lost
// flights are sent again and a lost acceptance is answered again, and the members still form
// their group within the first registration attempt.
#include "profile/group/engine_net.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace tlvcast;
using namespace std::chrono_literals;

TEST_CASE("group registration: each member's CLIENT_AUTH and acceptance lost, the group still forms",
          "[profile][group][loss]")
{
    const auto opt = test::group::engine_roster(3);
    test::group::engine_net net(profile::group::cipher(test::identity(200), opt));
    for (std::uint8_t i = 1; i <= 3; ++i)
        net.add_client(profile::group::cipher(test::identity(i), opt));
    // The first CLIENT_AUTH of each member, and then the relay's first acceptance to each.
    std::map<endpoint, int> auths, accepts;
    net.tap = [&](test::wire_datagram& d) {
        if (test::is_type(d, wire::tlv_type::secure_client_auth))
            return ++auths[d.from] > 1;
        if (d.from == net.relay_address && test::is_type(d, wire::tlv_type::secure_record) &&
            d.bytes.size() == profile::secure::accept_record_size)
            return ++accepts[d.to] > 1;
        return true;
    };
    for (std::size_t i = 0; i < 3; ++i)
        net.start(i);
    net.run_for(4s); // within the first attempt (5 s)
    CHECK(net.relay().client_count() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        INFO("member " << i);
        CHECK(auths[net.client_address(i)] >= 2);
        CHECK(accepts[net.client_address(i)] >= 2);
        CHECK(net.client(i).counters().get(core::client_counter::registration_attempts) == 1);
        REQUIRE(net.client(i).cipher().group().in_group());
        CHECK(net.client(i).cipher().group().current()->roster.size() == 3);
    }
}
