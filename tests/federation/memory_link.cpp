// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/federation/memory_link.hpp and concepts.hpp: the link archetype and its
// near misses; a hub delivers to every link but the publisher, bounded.
#include <tlvcast/federation/memory_link.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <system_error>
#include <vector>

using namespace tlvcast::federation;

namespace {

// The archetype: the least a type needs to model `link`.
struct archetype {
    bool publish(std::span<const std::byte>) { return false; }
    bool poll(std::vector<std::byte>&) { return false; }
    void set_notify(std::function<void()>) {}
    federation_counters& counters() { return c; }
    federation_counters c;
};
static_assert(federation_link<archetype>);

// Near misses: each lacks one requirement.
struct publish_returns_void {
    void publish(std::span<const std::byte>) {}
    bool poll(std::vector<std::byte>&) { return false; }
    void set_notify(std::function<void()>) {}
    federation_counters& counters() { return c; }
    federation_counters c;
};
static_assert(!federation_link<publish_returns_void>);
struct no_poll {
    bool publish(std::span<const std::byte>) { return false; }
    void set_notify(std::function<void()>) {}
    federation_counters& counters() { return c; }
    federation_counters c;
};
static_assert(!federation_link<no_poll>);
struct no_notify {
    bool publish(std::span<const std::byte>) { return false; }
    bool poll(std::vector<std::byte>&) { return false; }
    federation_counters& counters() { return c; }
    federation_counters c;
};
static_assert(!federation_link<no_notify>);
struct counters_by_value {
    bool publish(std::span<const std::byte>) { return false; }
    bool poll(std::vector<std::byte>&) { return false; }
    void set_notify(std::function<void()>) {}
    federation_counters counters() { return {}; }
};
static_assert(!federation_link<counters_by_value>);

std::vector<std::byte> bytes(std::size_t n, int v) { return std::vector<std::byte>(n, std::byte(v)); }

// A commit for the order that continues `after` (unsealed: the link reads the position without the key).
std::vector<std::byte> commit(std::uint64_t after)
{
    std::vector<std::byte> out;
    std::error_code ec;
    write_envelope(envelope_kind::ordered, relay_id{}, after + 1, after, tlvcast::crypto::fingerprint{}, bytes(3, 1),
                   out, ec);
    REQUIRE_FALSE(ec);
    return out;
}

} // namespace

TEST_CASE("memory_link: a publication reaches every other link, never its publisher", "[federation][link]")
{
    memory_hub hub;
    memory_link a(hub), b(hub), c(hub);
    int notified = 0;
    b.set_notify([&] { ++notified; });
    CHECK(a.publish(bytes(5, 1)));
    std::vector<std::byte> out;
    CHECK_FALSE(a.poll(out)); // no echo
    REQUIRE(b.poll(out));
    CHECK(out == bytes(5, 1));
    REQUIRE(c.poll(out));
    CHECK(notified == 1);
    CHECK(a.counters().get(federation_counter::published) == 1);
    CHECK(b.counters().get(federation_counter::received) == 1);
    b.set_notify({});
    CHECK(a.publish(bytes(1, 2)));
    CHECK(notified == 1);
}

TEST_CASE("memory_link: a full inbound queue drops and counts", "[federation][link]")
{
    memory_hub hub;
    memory_link a(hub), b(hub, 2, 1000);
    for (int i = 0; i < 5; ++i)
        a.publish(bytes(10, i));
    CHECK(b.counters().get(federation_counter::received) == 5);
    CHECK(b.counters().get(federation_counter::inbound_full) == 3);
    std::vector<std::byte> out;
    REQUIRE(b.poll(out));
    CHECK(out == bytes(10, 0));
    REQUIRE(b.poll(out));
    CHECK(out == bytes(10, 1));
    CHECK_FALSE(b.poll(out));
}

TEST_CASE("memory_link: an ordered hub's limits remove messages, never commits; full of commits it refuses "
          "the next one, counted", "[federation][link][order]")
{
    memory_hub hub(true, false, 2, 2); // 2 messages, 2 commits
    memory_link a(hub), b(hub);
    REQUIRE(a.publish_ordered(commit(0), 0)); // seq 1
    for (int i = 0; i < 4; ++i)
        a.publish(bytes(3, std::uint8_t(i))); // seq 2..5: 2 and 3 leave the store
    hub.expire(10); // the age limit: every message goes, the commit stays
    CHECK(hub.last_ordered_stored() == 1);
    REQUIRE(a.publish_ordered(commit(1), 1)); // seq 6
    CHECK(hub.commits_full());
    CHECK_FALSE(b.publish_ordered(commit(6), 6)); // in step, and refused: the store removes no commit
    CHECK(b.counters().get(federation_counter::order_full) == 1);
    CHECK(b.counters().get(federation_counter::conflicts) == 0);
    CHECK(hub.last_ordered_stored() == 6);
    std::vector<std::byte> out;
    reception r;
    std::size_t commits = 0;
    while (b.poll(out, r)) {
        CHECK_FALSE(r.gap); // what the limits removed was read before; and no commit is missing
        commits += r.ordered ? 1 : 0;
    }
    CHECK(commits == 2);
}

TEST_CASE("memory_link: an ordered hub stores a commit only at its expectation; a racy one stores it, "
          "marked stale at every reader", "[federation][link][order]")
{
    for (const bool racy : {false, true}) {
        INFO("racy " << racy);
        memory_hub hub(true, racy);
        memory_link a(hub), b(hub);
        CHECK(a.publish_ordered(commit(0), 0)); // seq 1
        CHECK(a.publish(bytes(3, 2)));           // seq 2: not ordered, moves no expectation
        // b had not seen seq 1: it expects none. A correct store refuses it; a racy one keeps it.
        CHECK(b.publish_ordered(commit(0), 0) == racy);
        const std::uint64_t last = racy ? 3 : 1;
        CHECK(b.publish_ordered(commit(last), last)); // after the last ordered one: stored
        CHECK(b.counters().get(federation_counter::conflicts) == (racy ? 0u : 1u)); // a racy store says "stored"
        for (memory_link* l : {&a, &b}) {
            std::vector<std::byte> out;
            std::vector<reception> got;
            reception r;
            while (l->poll(out, r))
                got.push_back(r);
            REQUIRE(got.size() == (racy ? 4u : 3u));
            CHECK((got[0].ordered && !got[0].stale && got[0].seq == 1));
            CHECK((!got[1].ordered && !got[1].stale));
            if (racy)
                CHECK((got[2].ordered && got[2].stale && got[2].seq == 3)); // continues 0, after seq 1
            CHECK((got.back().ordered && !got.back().stale)); // expected the stale one: it is the last
        }
    }
}

TEST_CASE("order_guard: stale only below an ordered sequence seen before; a reader told it missed some takes "
          "the last for a commit", "[federation][link][order]")
{
    detail::order_guard g;
    CHECK_FALSE(g.stale(0, 5));            // the first seen: nothing to judge it by
    CHECK_FALSE(g.stale(5, 9));            // expected the last: fine
    CHECK(g.stale(5, 10));                 // expected 5, but 9 came before: stale
    CHECK_FALSE(g.stale(10, 11));          // a stale one still moved the last (the store counts it)
    CHECK_FALSE(g.stale(std::nullopt, 12)); // no expectation said (junk): not judged, counted
    CHECK(g.stale(11, 13));
    CHECK_FALSE(g.stale(20, 21));          // a later expectation than seen: this reader missed one
    CHECK_FALSE(g.stale(21, 30));
    CHECK_FALSE(g.stale(30, 31));
    // A reader told it missed sequences takes the last for a commit: it drops what continues an older one.
    g.missed(40);
    CHECK(g.stale(31, 41));
    CHECK_FALSE(g.stale(41, 42));
    // The tag carries all five.
    for (const reception r : {reception{7, true, true, false, false}, reception{7, true, false, true, false},
                              reception{7, true, false, false, true}, reception{(1ull << 60) - 1, false, false, true, false},
                              reception{(1ull << 60) - 1, true, true, false, true}}) {
        const reception back = detail::reception_of(detail::tag_of(r));
        CHECK((back.seq == r.seq && back.ordered == r.ordered && back.stale == r.stale && back.gap == r.gap &&
               back.history == r.history));
    }
}
