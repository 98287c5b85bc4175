// SPDX-License-Identifier: BSL-1.0
// Large messages in the group profile (GROUP_PART, end to end: the relay forwards each part
// unopened): 1 sender and 3 receivers, unicast and multicast delivery, under loss; intact, once.
#include "profile/group/engine_net.hpp"
#include "secure/sim_helpers.hpp"

#include <tlvcast/core/large_message.hpp>
#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/profile/group.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::test::group;
using namespace std::chrono_literals;

namespace {

using large_net = test::secure_net<profile::group::cipher, profile::group::cipher, fragment::nack_fragmenter>;

std::vector<std::byte> pattern(std::size_t size, std::uint64_t seed)
{
    std::vector<std::byte> v(size);
    std::mt19937_64 rng(seed);
    for (std::size_t i = 0; i < size; i += 8) {
        const std::uint64_t x = rng();
        std::memcpy(v.data() + i, &x, std::min<std::size_t>(8, size - i));
    }
    return v;
}

struct outcome {
    std::size_t relay_peak = 0; ///< the relay's repair caches, held datagrams and reassembly
};

outcome run(profile::group::delivery mode, double loss, std::uint64_t seed, std::size_t size)
{
    constexpr std::uint8_t members = 4;
    auto opt = engine_roster(members);
    opt.mode = mode;
    fragment::repair_limits rlim;
    rlim.slow_receiver = fragment::slow_receiver_policy::hold; // tlvcast-relay's default
    large_net net(profile::group::cipher(test::identity(200), engine_roster(members)), {}, rlim);
    add_members(net, opt, members);
    std::mt19937_64 rng(seed);
    bool lossy = false;
    net.tap = [&](test::wire_datagram&) {
        return !lossy || std::uniform_real_distribution<double>(0, 1)(rng) >= loss;
    };
    for (std::size_t i = 0; i < members; ++i) {
        net.start(i);
        net.run_for(200ms);
    }
    net.run_for(1s);
    for (std::size_t i = 0; i < members; ++i) {
        REQUIRE(net.client(i).cipher().group().current());
        (void)net.events(i);
    }
    lossy = true;
    const auto message = pattern(size, seed);
    outcome o;
    const auto sample = [&] {
        const auto& f = net.relay().fragmenter();
        o.relay_peak = std::max(o.relay_peak, f.buffered_bytes() + f.inner().reassembly().buffered_bytes());
    };
    std::error_code ec;
    std::size_t sent = 0;
    for (int step = 0; step < 600'000 && sent < message.size(); ++step) {
        sent = net.send_large(0, message, ec);
        REQUIRE((!ec || ec == errc::would_block));
        sample();
        if (ec == errc::would_block)
            net.run_for(1ms);
    }
    REQUIRE(sent == message.size());
    std::vector<int> got(members, 0);
    std::size_t done = 0;
    for (int ms = 0; ms < 120'000 && done < members - 1; ++ms) {
        net.run_for(1ms);
        sample();
        for (std::size_t i = 1; i < members; ++i)
            for (auto& e : net.events(i)) {
                if (e.what == core::client_event::kind::unrecoverable)
                    FAIL("member " << i << " lost datagrams " << e.from << ".." << e.to);
                if (e.what != core::client_event::kind::message)
                    continue;
                INFO("member " << i);
                REQUIRE(got[i] == 0); // exactly once
                REQUIRE(e.text.size() == message.size());
                REQUIRE(std::memcmp(e.text.data(), message.data(), message.size()) == 0);
                REQUIRE(e.identity); // the sender's verified identity
                ++got[i];
                ++done;
            }
    }
    CHECK(done == members - 1);
    for (const auto& e : net.events(0)) // the sender's own parts are not delivered to it
        CHECK(e.what != core::client_event::kind::message);
    for (std::size_t i = 1; i < members; ++i)
        CHECK(net.client(i).counters().get(core::client_counter::large_dropped) == 0);
    return o;
}

} // namespace

TEST_CASE("group large: a 4 MiB message to 3 members, unicast and multicast delivery, 5% and 20% loss",
          "[profile][group][large]")
{
    constexpr std::size_t size = 4 * 1024 * 1024;
    for (const auto mode : {profile::group::delivery::unicast, profile::group::delivery::multicast})
        for (const double loss : {0.05, 0.2}) {
            INFO("mode " << static_cast<int>(mode) << " loss " << loss);
            const outcome o = run(mode, loss, 3, size);
            // The members' stream (shared, or the data group's) is not acknowledged: the relay keeps
            // what it forwarded for cache_age, once for all members (never a copy per member).
            CHECK(o.relay_peak < size + fragment::repair_limits{}.send_window);
        }
}

TEST_CASE("group large: a 16 MiB message to 3 members at 5% loss", "[profile][group][large]")
{
    constexpr std::size_t size = 16 * 1024 * 1024;
    const outcome o = run(profile::group::delivery::unicast, 0.05, 4, size);
    // Bounded by the named limits, not by the message: the shared stream's cache_bytes, what is held
    // ahead of a gap from the sender (within its window) and one part being reassembled.
    const fragment::repair_limits lim;
    CHECK(o.relay_peak <= lim.cache_bytes + lim.send_window + 2 * core::large_limits{}.part_bytes);
    CHECK(o.relay_peak < size * 3 / 4);
}
