// SPDX-License-Identifier: BSL-1.0
// Flow and congestion control in the deterministic simulation (secure profile, repairing
// Fragmenter): a sender on a 20%-loss hop stays within its window and does not flood; a receiver
// cut for 3 s ends as its relay's slow-receiver policy says (hold, drop), with memory bounded.
#include "core/repair_sim.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <string>

using namespace tlvcast;
using namespace tlvcast::test::repair_sim;

namespace {

using flow_frag = fragment::nack_fragmenter;
using flow_client = core::client_engine<sec, flow_frag>;
using flow_relay = core::relay_engine<sec, flow_frag>;
using flow_net = test::policy_net<flow_client, flow_relay>;

struct flow_run {
    std::unique_ptr<flow_net> net;
    std::vector<std::vector<std::string>> got;
    std::vector<std::size_t> unrecoverable;
    std::uint64_t would_block = 0, sent = 0, wire_bytes_from_sender = 0;
    std::size_t max_in_flight = 0, max_relay_buffered = 0, max_window = 0;
};

constexpr std::size_t flow_message = 1200;

// Client 0 sends as fast as its window lets it (up to 8 messages per virtual ms) for `seconds`;
// `loss` drops datagrams on client 0's hop both ways; client `cut` (if any) hears and says nothing
// from 0.5 s to 3.5 s.
flow_run run_flow(std::uint64_t seed, double loss, fragment::repair_limits relay_lim, std::optional<std::size_t> cut,
                  int seconds)
{
    flow_run r;
    sec rc = make_cipher(100, seed * 100);
    auto rf = make_fragmenter<flow_frag>(rc, seed * 1000, relay_lim);
    r.net = std::make_unique<flow_net>(std::make_unique<flow_relay>(std::move(rc), std::move(rf)),
                                       flow_net::options{seed, {}});
    core::client_options copt;
    copt.relay = flow_net::group;
    copt.trust = crypto::relay_trust::any();
    fragment::repair_limits client_lim; // block: the clients' default
    client_lim.send_window = relay_lim.send_window;
    for (std::size_t i = 0; i < 3; ++i) {
        sec c = make_cipher(static_cast<std::uint8_t>(i + 1), seed * 100 + i + 1);
        auto f = make_fragmenter<flow_frag>(c, seed * 1000 + i + 1, client_lim);
        r.net->add_client(std::make_unique<flow_client>(std::move(c), std::move(f), copt));
    }
    auto& net = *r.net;
    net.start_all();
    net.run_for(300ms);
    for (std::size_t i = 0; i < 3; ++i) {
        REQUIRE(net.client(i).current_state() == flow_client::state::established);
        (void)net.events(i);
    }
    const time_point start = net.now();
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    const endpoint sender = flow_net::client_address(0);
    net.tap = [&, sender](test::sim_datagram& d) {
        const bool cut_now = cut && net.now() >= start + 500ms && net.now() < start + 3500ms &&
                             (d.from == flow_net::client_address(*cut) || d.to == flow_net::client_address(*cut));
        if (cut_now)
            return false;
        if (d.from == sender)
            r.wire_bytes_from_sender += d.bytes.size();
        return !((d.from == sender || d.to == sender) && u(rng) < loss);
    };
    r.got.resize(3);
    r.unrecoverable.resize(3);
    const auto collect = [&] {
        for (std::size_t i = 0; i < 3; ++i)
            for (auto& e : net.events(i)) {
                if (e.what == core::client_event::kind::message)
                    r.got[i].push_back(e.text);
                else if (e.what == core::client_event::kind::unrecoverable)
                    ++r.unrecoverable[i];
            }
    };
    const auto& f0 = net.client(0).fragmenter();
    for (int ms = 0; ms < seconds * 1000; ++ms) {
        for (int k = 0; k < 8; ++k) {
            const std::string t = text_of(0, r.sent, flow_message);
            std::error_code ec;
            net.send(0, std::as_bytes(std::span(t)), ec);
            if (ec == errc::would_block) {
                ++r.would_block;
                break;
            }
            REQUIRE_FALSE(ec);
            ++r.sent;
        }
        r.max_in_flight = std::max(r.max_in_flight, f0.unacknowledged(flow_net::relay_address));
        r.max_in_flight = std::max(r.max_in_flight, f0.unacknowledged(flow_net::group));
        r.max_window = std::max(r.max_window, f0.window(flow_net::group));
        net.run_for(1ms);
        r.max_relay_buffered = std::max(r.max_relay_buffered, net.relay().fragmenter().buffered_bytes());
        collect();
    }
    net.run_for(15s); // repairs, tails, ACKs settle
    collect();
    return r;
}

// Each receiver's messages from client 0: in order, intact, no duplicate; returns how many.
std::size_t check_in_order(const std::vector<std::string>& got)
{
    std::size_t last = 0;
    bool first = true;
    for (const auto& text : got) {
        const std::size_t index = std::stoul(text.substr(text.find(':') + 1));
        REQUIRE(text == text_of(0, index, text.size()));
        REQUIRE((first || index > last));
        first = false;
        last = index;
    }
    return got.size();
}

fragment::repair_limits flow_limits(fragment::slow_receiver_policy p)
{
    fragment::repair_limits lim;
    lim.send_window = 256 * 1024;
    lim.slow_receiver = p;
    lim.slow_receiver_bytes = 512 * 1024;
    lim.slow_hold = 1s;
    return lim;
}

} // namespace

TEST_CASE("flow sim: a sender on a 20%-loss hop stays within its window and does not flood", "[core][flow][sim]")
{
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        INFO("seed " << seed);
        const auto lim = flow_limits(fragment::slow_receiver_policy::hold);
        flow_run r = run_flow(seed, 0.2, lim, std::nullopt, 3);
        const auto& cs = r.net->client(0).fragmenter().stats();
        const double goodput = static_cast<double>(check_in_order(r.got[1]) * flow_message) / 3.0;
        WARN("seed " << seed << ": sent " << r.sent << " messages, goodput " << goodput / 1e6
                     << " MB/s, wire bytes from the sender / goodput bytes "
                     << static_cast<double>(r.wire_bytes_from_sender) / (goodput * 3.0) << ", max in flight "
                     << r.max_in_flight << " (window max " << r.max_window << "), window decreases "
                     << cs.window_decreases << ", would_block " << r.would_block << ", retransmitted "
                     << cs.retransmitted_bytes);
        // In flight: never more than the window and one message (a message is admitted under it).
        CHECK(r.max_in_flight <= lim.send_window + 2 * flow_message);
        CHECK(r.max_window <= lim.send_window);
        // The loss halved the window, and the window, not the sender's appetite, set the pace.
        CHECK(cs.window_decreases > 0);
        CHECK(r.would_block > 0);
        CHECK(r.sent < 3u * 1000u * 8u);
        // Everything accepted arrived, once and in order, at both receivers.
        CHECK(r.got[1].size() == r.sent);
        CHECK(r.got[2].size() == r.sent);
        CHECK(r.unrecoverable[1] + r.unrecoverable[2] == 0);
        // Not a flood: what the sender put on the wire stays within twice what got through
        // (20% loss each way costs about 1.25x plus NACK answers and headers).
        CHECK(static_cast<double>(r.wire_bytes_from_sender) < 2.0 * goodput * 3.0);
    }
}

TEST_CASE("flow sim: hold withholds the sender's ACKs while a receiver is cut, then drops it", "[core][flow][sim]")
{
    const auto lim = flow_limits(fragment::slow_receiver_policy::hold);
    flow_run r = run_flow(7, 0.0, lim, std::size_t{2}, 5);
    auto& net = *r.net;
    const auto& rs = net.relay().fragmenter_stats();
    std::size_t slow_events = 0;
    for (const auto& e : net.relay_events)
        if (e.what == core::relay_event::kind::slow_receiver) {
            ++slow_events;
            CHECK(e.peer == flow_net::client_address(2));
            CHECK(e.held);
        }
    WARN("hold: sent " << r.sent << ", would_block " << r.would_block << ", ACK rounds withheld "
                       << rs.acks_withheld << ", slow events " << slow_events << ", receiver 2 got "
                       << r.got[2].size() << " with " << r.unrecoverable[2] << " unrecoverable, relay buffered max "
                       << r.max_relay_buffered);
    CHECK(slow_events == 1);
    CHECK(rs.slow_holds >= 1);
    CHECK(rs.acks_withheld > 0);
    CHECK(net.relay().counters().get(core::relay_counter::slow_receivers) == 1);
    // The sender was held (would_block), then went on: receiver 1 has everything, in order.
    CHECK(r.would_block > 0);
    CHECK(check_in_order(r.got[1]) == r.sent);
    // Receiver 2 lost what the relay released, explicitly, and has the rest in order.
    check_in_order(r.got[2]);
    CHECK(r.unrecoverable[2] >= 1);
    CHECK(r.got[2].size() < r.sent);
    CHECK(r.got[2].size() > 0);
    // Memory bounded throughout: the relay held at most a window and a message per stream.
    CHECK(r.max_relay_buffered <= 3 * (lim.send_window + 64 * 1024));
}

TEST_CASE("flow sim: drop sheds a cut receiver without holding the sender", "[core][flow][sim]")
{
    const auto lim = flow_limits(fragment::slow_receiver_policy::drop);
    flow_run r = run_flow(8, 0.0, lim, std::size_t{2}, 5);
    auto& net = *r.net;
    const auto& rs = net.relay().fragmenter_stats();
    std::size_t slow_events = 0;
    for (const auto& e : net.relay_events)
        if (e.what == core::relay_event::kind::slow_receiver) {
            ++slow_events;
            CHECK(e.peer == flow_net::client_address(2));
            CHECK_FALSE(e.held);
            CHECK(e.bytes > lim.slow_receiver_bytes);
        }
    WARN("drop: sent " << r.sent << ", would_block " << r.would_block << ", slow events " << slow_events
                       << ", receiver 2 got " << r.got[2].size() << " with " << r.unrecoverable[2]
                       << " unrecoverable, relay buffered max " << r.max_relay_buffered);
    CHECK(slow_events == 1);
    CHECK(rs.acks_withheld == 0);
    CHECK(rs.uncached_sent > 0);
    CHECK(check_in_order(r.got[1]) == r.sent);
    check_in_order(r.got[2]);
    CHECK(r.unrecoverable[2] >= 1);
    CHECK(r.got[2].size() < r.sent);
    CHECK(r.max_relay_buffered <= 3 * (lim.slow_receiver_bytes + 64 * 1024));
}
