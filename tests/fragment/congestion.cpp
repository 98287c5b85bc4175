// SPDX-License-Identifier: BSL-1.0
// fragment/congestion.hpp: the Congestion concept (archetype, near-misses) and aimd_congestion's window.
#include <tlvcast/fragment/congestion.hpp>

#include <tlvcast/fragment/nack_fragmenter.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>

using namespace tlvcast;
using fragment::flow_state;
using fragment::repair_limits;

namespace {

// The smallest Congestion policy.
struct congestion_archetype {
    void start(flow_state&, const repair_limits&) const {}
    void on_ack(flow_state&, std::size_t, const repair_limits&) const {}
    bool on_loss(flow_state&, std::uint32_t, std::uint32_t, const repair_limits&) const { return false; }
    std::size_t window(const flow_state&, const repair_limits& lim) const { return lim.min_window; }
};

// Near-misses: each lacks one requirement, or has it with the wrong type.
struct cc_without_window {
    void start(flow_state&, const repair_limits&) const {}
    void on_ack(flow_state&, std::size_t, const repair_limits&) const {}
    bool on_loss(flow_state&, std::uint32_t, std::uint32_t, const repair_limits&) const { return false; }
};
struct cc_loss_without_result {
    void start(flow_state&, const repair_limits&) const {}
    void on_ack(flow_state&, std::size_t, const repair_limits&) const {}
    void on_loss(flow_state&, std::uint32_t, std::uint32_t, const repair_limits&) const {}
    std::size_t window(const flow_state&, const repair_limits& lim) const { return lim.min_window; }
};
struct cc_mutable_window { // window() must be callable on a const state and policy
    void start(flow_state&, const repair_limits&) const {}
    void on_ack(flow_state&, std::size_t, const repair_limits&) const {}
    bool on_loss(flow_state&, std::uint32_t, std::uint32_t, const repair_limits&) const { return false; }
    std::size_t window(flow_state&, const repair_limits& lim) { return lim.min_window; }
};
struct cc_not_default_constructible {
    explicit cc_not_default_constructible(int) {}
    void start(flow_state&, const repair_limits&) const {}
    void on_ack(flow_state&, std::size_t, const repair_limits&) const {}
    bool on_loss(flow_state&, std::uint32_t, std::uint32_t, const repair_limits&) const { return false; }
    std::size_t window(const flow_state&, const repair_limits& lim) const { return lim.min_window; }
};

repair_limits cc_limits()
{
    repair_limits lim;
    lim.send_window = 256 * 1024;
    lim.min_window = 8 * 1024;
    lim.initial_window = 32 * 1024;
    lim.segment_bytes = 1000;
    return lim;
}

} // namespace

TEST_CASE("congestion: the archetype models the concept, near-misses do not", "[fragment][congestion]")
{
    STATIC_REQUIRE(fragment::congestion_control<congestion_archetype>);
    STATIC_REQUIRE(fragment::congestion_control<fragment::aimd_congestion>);
    STATIC_REQUIRE(fragment::congestion_control<fragment::fixed_window>);
    STATIC_REQUIRE_FALSE(fragment::congestion_control<cc_without_window>);
    STATIC_REQUIRE_FALSE(fragment::congestion_control<cc_loss_without_result>);
    STATIC_REQUIRE_FALSE(fragment::congestion_control<cc_mutable_window>);
    STATIC_REQUIRE_FALSE(fragment::congestion_control<cc_not_default_constructible>);
    // A fragmenter over the archetype compiles and runs: its window is the archetype's.
    using over_archetype =
        fragment::basic_nack_fragmenter<fragment::seed_fragmenter, fragment::fec::no_parity, congestion_archetype>;
    over_archetype f(fragment::seed_fragmenter{}, cc_limits(), 1);
    datagram_batch out;
    std::error_code ec;
    const std::vector<std::byte> m(100, std::byte{1});
    const endpoint to(0x0a000002, 6000);
    f.split(m, to, time_point{}, out, ec);
    REQUIRE_FALSE(ec);
    CHECK(f.window(to) == cc_limits().min_window);
    CHECK(f.unacknowledged(to) == out[0].bytes.size());
}

TEST_CASE("congestion: aimd starts at initial_window, slow-starts to ssthresh, then grows a segment per window",
          "[fragment][congestion]")
{
    const repair_limits lim = cc_limits();
    const fragment::aimd_congestion cc;
    flow_state f;
    cc.start(f, lim);
    CHECK(cc.window(f, lim) == lim.initial_window);
    cc.on_ack(f, 10'000, lim); // slow start: one byte per byte acknowledged
    CHECK(cc.window(f, lim) == lim.initial_window + 10'000);
    // Never above send_window.
    for (int i = 0; i < 100; ++i)
        cc.on_ack(f, 64 * 1024, lim);
    CHECK(cc.window(f, lim) == lim.send_window);

    // After a loss: congestion avoidance, one segment per window's worth of ACKs.
    CHECK(cc.on_loss(f, 500, 400, lim));
    const std::size_t halved = cc.window(f, lim);
    CHECK(halved == lim.send_window / 2);
    cc.on_ack(f, halved, lim);
    CHECK(cc.window(f, lim) == halved + lim.segment_bytes);
}

TEST_CASE("congestion: aimd halves once per loss event, down to min_window", "[fragment][congestion]")
{
    const repair_limits lim = cc_limits();
    const fragment::aimd_congestion cc;
    flow_state f;
    cc.start(f, lim);
    const std::size_t w0 = cc.window(f, lim);
    REQUIRE(cc.on_loss(f, 100, 10, lim)); // sent up to 100, acknowledged to 10
    CHECK(cc.window(f, lim) == w0 / 2);
    // More NACKs before the ACK passes 100 are the same loss event.
    CHECK_FALSE(cc.on_loss(f, 120, 50, lim));
    CHECK_FALSE(cc.on_loss(f, 130, 99, lim));
    CHECK(cc.window(f, lim) == w0 / 2);
    // Past it, a new loss halves again; the floor holds whatever the losses.
    CHECK(cc.on_loss(f, 200, 100, lim));
    CHECK(cc.window(f, lim) == w0 / 4);
    for (std::uint32_t i = 0; i < 20; ++i)
        cc.on_loss(f, 300 + i * 10, 300 + i * 10, lim);
    CHECK(cc.window(f, lim) == lim.min_window);
}

TEST_CASE("congestion: fixed_window is send_window whatever is lost", "[fragment][congestion]")
{
    const repair_limits lim = cc_limits();
    const fragment::fixed_window cc;
    flow_state f;
    cc.start(f, lim);
    CHECK(cc.window(f, lim) == lim.send_window);
    CHECK_FALSE(cc.on_loss(f, 10, 0, lim));
    CHECK(cc.window(f, lim) == lim.send_window);
}
