// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/federation/memory_link.hpp and concepts.hpp: the link archetype and its
// near misses; a hub delivers to every link but the publisher, bounded.
#include <tlvcast/federation/memory_link.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <functional>
#include <span>
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
