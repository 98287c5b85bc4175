// SPDX-License-Identifier: BSL-1.0
// Second adversarial review of federation catch-up (the founding kept aside, 696d5ff), with real
// group engines (fed_sites.hpp): a key holder's continuation of a founding the replay kept aside.
// (The review's own tests were lost with its session; these re-state its finding 1.)
#include "fed_sites.hpp"

#include <vector>

namespace tlvcast::test::fed_sites {
namespace review_catch_up2_profile { // a name of its own: the file may share a unity translation unit

using fed = federation;

// An outsider (identity `a`) founds a group at a relay of its own, not federated with the group,
// and adds `b`: the first two commits, validly signed, as that relay hands them to a federation.
std::vector<captured> outsider_chain(std::uint8_t a, std::uint8_t b)
{
    net_t net(group::cipher(test::identity(251), open_group()));
    net.add_client(group::cipher(test::identity(a), open_group()));
    net.add_client(group::cipher(test::identity(b), open_group()));
    std::vector<captured> got;
    net.relay().set_federation([&](const core::federated_blob& fb) {
        if (!fb.presence && got.size() < 2 && fb.blob.size() >= 2 &&
            wire::detail::load_u16(fb.blob.data()) == static_cast<std::uint16_t>(wire::tlv_type::group_commit))
            got.push_back({std::vector<std::byte>(fb.blob.begin(), fb.blob.end()), fb.origin});
    });
    net.start(0);
    net.run_for(std::chrono::milliseconds(300));
    net.start(1);
    net.run_for(std::chrono::milliseconds(600));
    REQUIRE(got.size() == 2);
    return got;
}

// Finding 1 (medium, fixed): the replay keeps the outsider's founding X aside; once the relay runs,
// the key holder stores X's continuation Y; the relay adopted X and Y from the live order and left
// the group every running relay is on (they refused both), alone.
TEST_CASE("review catch-up 2: a live continuation of a founding the replay kept aside is refused",
          "[profile][group][federation][catch_up][review_catch_up2]")
{
    fed f(true, 2);
    f.form(2);
    f.require_one_group(2, 4);
    const auto& seq0 = f.sites[0]->net->relay().cipher().ordering();
    const std::uint64_t epoch = seq0.epoch();
    const auto chain = outsider_chain(66, 67);

    store_as_key_holder(f, chain[0], 0x79, 1);
    CHECK(f.sites[0]->count(tf::federation_counter::refused) == 1);

    tf::bridge_options ask;
    ask.ask_presence = true;
    f.sites[1]->restart(f.hub, 9, true, ask);
    f.run(std::chrono::seconds(3)); // replayed, settled: X kept aside
    const auto& seq1 = f.sites[1]->net->relay().cipher().ordering();
    REQUIRE(seq1.epoch() == seq0.epoch());

    store_as_key_holder(f, chain[1], 0x79, 2);
    CHECK(seq0.epoch() == epoch); // refused by the running relay
    CHECK(seq1.epoch() == seq0.epoch()); // and by the one that caught up
    CHECK(seq1.roster() == seq0.roster());
    f.run(std::chrono::seconds(5));
    const auto* s0 = f.sites[0]->member(0).current();
    const auto* s1 = f.sites[1]->member(0).current();
    REQUIRE(s0);
    REQUIRE(s1);
    CHECK(s1->hash == s0->hash); // one group
}

} // namespace review_catch_up2_profile
} // namespace tlvcast::test::fed_sites
