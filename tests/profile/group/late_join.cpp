// SPDX-License-Identifier: BSL-1.0
// A member that joins a group relay's stream of many mid-way (the shared unicast stream, the data
// group) is told in its records where its part begins (relay_engine::tell_start): it asks for
// nothing sent before it joined and reports no loss. Without that, a young stream (below
// repair_limits::backfill) was read from seq 0 and repaired to the newcomer: stale commits of a
// group that had since died kept a founding member of a new group out of it (e2e_federation).
#include "profile/group/engine_net.hpp"
#include "secure/sim_helpers.hpp"

#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/profile/group.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::test::group;

namespace {
namespace late_join { // a name of its own: this file may share a unity translation unit

using net_t = test::secure_net<profile::group::cipher, profile::group::cipher, fragment::nack_fragmenter>;

struct outcome {
    std::size_t late_nacks = 0, late_unrecoverable = 0, late_messages = 0, roster = 0;
};

// Members 0..2 form a group and exchange 30 messages; then member 3 joins and gets one more.
outcome run(profile::group::delivery mode, bool seal)
{
    constexpr std::uint8_t members = 4;
    auto opt = engine_roster(members);
    opt.mode = mode;
    core::relay_options ropt;
    ropt.seal_unicast = seal;
    net_t net(profile::group::cipher(test::identity(200), engine_roster(members)), ropt);
    for (std::uint8_t i = 1; i <= members; ++i)
        net.add_client(profile::group::cipher(test::identity(i), opt));
    net.data_group = opt.data_group;
    if (mode == profile::group::delivery::multicast)
        net.data_listeners = {0, 1, 2, 3};
    start_and_chat(net, 3, 30);
    (void)net.events(3);
    net.start(3);
    net.run_for(std::chrono::seconds(1));
    const std::string text = "after";
    std::error_code ec;
    net.send(0, std::as_bytes(std::span(text)), ec);
    REQUIRE_FALSE(ec);
    net.run_for(std::chrono::seconds(2));

    outcome o;
    for (const auto& e : net.events(3)) {
        o.late_messages += e.what == core::client_event::kind::message && e.text == text;
        o.late_unrecoverable += e.what == core::client_event::kind::unrecoverable;
    }
    const auto& f = net.client(3).fragmenter().stats();
    o.late_nacks = f.nacks_sent;
    o.late_unrecoverable += f.unrecoverable;
    if (const auto* c = net.client(3).cipher().group().current())
        o.roster = c->roster.size();
    return o;
}

} // namespace late_join
} // namespace

TEST_CASE("late join: a member that joins a shared stream mid-way asks for nothing sent before it",
          "[profile][group][repair][fanout]")
{
    for (const auto mode : {profile::group::delivery::unicast, profile::group::delivery::multicast}) {
        INFO((mode == profile::group::delivery::unicast ? "shared unicast stream" : "data group"));
        const auto o = late_join::run(mode, false);
        CHECK(o.roster == 4);
        CHECK(o.late_messages == 1);
        CHECK(o.late_nacks == 0);
        CHECK(o.late_unrecoverable == 0);
    }
    // Sealed unicast streams are the member's own from seq 0: nothing to tell, nothing asked.
    const auto sealed = late_join::run(profile::group::delivery::unicast, true);
    CHECK(sealed.roster == 4);
    CHECK(sealed.late_messages == 1);
    CHECK(sealed.late_nacks == 0);
}
