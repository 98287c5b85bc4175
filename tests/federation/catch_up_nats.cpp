// SPDX-License-Identifier: BSL-1.0
// Catch-up over a real nats-server (nats_options::catch_up): the commits' consumer reads the commit
// stream from its first commit, and what was stored before the link started comes as history.
#include "order_nats.hpp"

#if TLVCAST_HAS_NATS

namespace {
namespace catch_up_nats { // a name of its own: the file may share a unity translation unit

using namespace review_order2_nats;

nats_options catching_up(const test::nats_server& s, const char* name)
{
    nats_options o = options(s, name);
    o.catch_up = true;
    return o;
}

} // namespace catch_up_nats
} // namespace

TEST_CASE("catch-up (nats): a relay that starts after the group's commits replays them, then commits in step",
          "[federation][order][catch_up][nats]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    using namespace catch_up_nats;
    test::nats_server server;
    two_relays t(options(server, "relay-a"), options(server, "relay-b"));
    REQUIRE(wait_until([&] { return t.la.order_was_empty().has_value() && t.lb.order_was_empty().has_value(); }));
    for (int round = 0; round < 3; ++round) {
        const unsigned epoch = t.ra.engine.epoch;
        t.ra.engine.commit(1);
        // Both: relay a applies its own commit when the order hands it back, maybe after b did
        // (the fresh-clone test's ASan run under a concurrent build: a at 2 when b was at 3).
        REQUIRE(t.run_until([&] { return t.ra.engine.epoch == epoch + 1 && t.rb.engine.epoch == epoch + 1; },
                            std::chrono::seconds(10)));
    }
    REQUIRE(t.ra.engine.epoch == 3);
    // Messages stored meanwhile are no history: a late relay reads those from its start only.
    t.la.publish(bytes_of("before"));

    late_relay late(catching_up(server, "relay-late"), 3);
    REQUIRE(wait_until(
        [&] {
            late.r.run();
            return late.r.engine.epoch == 3;
        },
        std::chrono::seconds(20)));
    CHECK(late.r.engine.applied == t.ra.engine.applied);
    CHECK(late.r.engine.history == 3);
    CHECK(late.l.counters().get(federation_counter::caught_up) == 3);
    CHECK(late.l.counters().get(federation_counter::missed) == 0);

    // In step: its commit is stored and applied everywhere, as live (not history).
    late.r.engine.commit(3);
    REQUIRE(t.run_until(
        [&] {
            late.r.run();
            return t.ra.engine.epoch == 4 && t.rb.engine.epoch == 4 && late.r.engine.epoch == 4;
        },
        std::chrono::seconds(10)));
    CHECK(late.l.counters().get(federation_counter::conflicts) == 0);
    CHECK(late.r.engine.history == 3);
    CHECK(late.r.engine.applied == t.ra.engine.applied);
}

TEST_CASE("catch-up (nats): on an empty order a relay that catches up is in step at once",
          "[federation][order][catch_up][nats]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    using namespace catch_up_nats;
    test::nats_server server;
    late_relay first(catching_up(server, "relay-first"), 1);
    REQUIRE(wait_until([&] { return first.l.order_was_empty() == std::optional<bool>(true); }));
    first.r.engine.commit(1);
    REQUIRE(wait_until(
        [&] {
            first.r.run();
            return first.r.engine.epoch == 1;
        },
        std::chrono::seconds(10)));
    CHECK(first.r.engine.history == 0);
    CHECK(first.l.counters().get(federation_counter::conflicts) == 0);
}

#endif
