// SPDX-License-Identifier: BSL-1.0
// Federated sites for the group profile's federation tests (federation_order.cpp,
// federation_catch_up.cpp): each site a relay engine with its members on a simulated network, bridged
// (federation/bridge.hpp) to a memory_link on one hub; a site's relay can restart.
#pragma once

#include "secure/sim_helpers.hpp"

#include <tlvcast/federation/auth.hpp>
#include <tlvcast/federation/bridge.hpp>
#include <tlvcast/federation/memory_link.hpp>
#include <tlvcast/profile/group.hpp>

#include <catch2/catch.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tlvcast::test::fed_sites {

namespace group = tlvcast::profile::group;
namespace tf = tlvcast::federation;

using net_t = test::secure_net<group::cipher>;
using engine_t = net_t::relay_engine;

inline group::options open_group()
{
    group::options o;
    o.policy = group::admission::open;
    return o;
}

// basic_relay's post_to_engine over a simulated site: posted work waits for run_posted(), which runs
// it on the site's engine at the site's time and puts what it sends on the site's wire.
struct sim_relay {
    net_t* net = nullptr;
    std::deque<std::function<void(engine_t&, time_point, datagram_batch&, std::vector<core::relay_event>&)>> posted;

    template <class F>
    void post_to_engine(F f)
    {
        posted.emplace_back(std::move(f));
    }
    void run_posted()
    {
        auto work = std::move(posted);
        posted.clear();
        for (auto& f : work) {
            datagram_batch out;
            std::vector<core::relay_event> events;
            f(net->relay(), net->now(), out, events);
            for (std::size_t i = 0; i < out.size(); ++i)
                net->inject(net->relay_address, out[i].to, out[i].bytes);
        }
    }
};

inline tf::federation_key shared_key()
{
    std::array<std::byte, tf::federation_key_size> b{};
    b.fill(std::byte{0x42});
    return tf::federation_key{std::span<const std::byte, tf::federation_key_size>(b)};
}

struct site {
    std::unique_ptr<net_t> net;
    sim_relay relay;
    std::unique_ptr<tf::memory_link> link;
    std::unique_ptr<tf::bridge<sim_relay, tf::memory_link>> bridge;
    std::uint8_t number;

    site(tf::memory_hub& hub, std::uint8_t n, std::size_t members, bool catch_up = false, tf::bridge_options opt = {})
        : net(std::make_unique<net_t>(relay_cipher(n))), relay{net.get(), {}}, number(n)
    {
        for (std::size_t m = 0; m < members; ++m)
            net->add_client(group::cipher(test::identity(std::uint8_t(1 + 10 * n + m)), open_group()));
        connect(hub, rid(n), catch_up, opt);
    }
    static group::cipher relay_cipher(std::uint8_t n) { return group::cipher(test::identity(std::uint8_t(200 + n)), open_group()); }
    // The relay's link and bridge, started: the engine's sink before any member.
    void connect(tf::memory_hub& hub, const tf::relay_id& id, bool catch_up, tf::bridge_options opt)
    {
        bridge.reset();
        link = std::make_unique<tf::memory_link>(hub, tf::memory_link::default_max_entries,
                                                 tf::memory_link::default_max_bytes, catch_up);
        bridge = std::make_unique<tf::bridge<sim_relay, tf::memory_link>>(relay, *link, id, shared_key(),
                                                                          tf::default_max_blob, opt);
        bridge->start();
        relay.run_posted();
    }
    // The relay process restarts (same identity, a new relay id, no session, no state); its members
    // keep running and notice at their next probe.
    void restart(tf::memory_hub& hub, std::uint8_t new_id, bool catch_up, tf::bridge_options opt = {})
    {
        bridge.reset();
        relay.posted.clear();
        net->restart_relay(relay_cipher(number));
        connect(hub, rid(new_id), catch_up, opt);
    }
    static tf::relay_id rid(std::uint8_t n)
    {
        tf::relay_id id{};
        id.fill(std::byte(n + 1));
        return id;
    }
    const auto& member(std::size_t i) { return net->client(i).cipher().group(); }
    std::uint64_t count(tf::federation_counter c) { return link->counters().get(c); }
};

struct federation {
    tf::memory_hub hub;
    std::vector<std::unique_ptr<site>> sites;

    federation(bool ordered, std::size_t members_each, bool racy = false) : hub(ordered, racy)
    {
        for (std::uint8_t s = 0; s < 2; ++s)
            sites.push_back(std::make_unique<site>(hub, s, members_each));
    }
    // Every site in 1 ms steps, in lockstep; then what each bridge was handed, on its strand.
    void run(duration d)
    {
        for (duration t{}; t < d; t += std::chrono::milliseconds(1)) {
            for (auto& s : sites)
                s->net->run_for(std::chrono::milliseconds(1));
            for (auto& s : sites)
                s->relay.run_posted();
        }
    }
    // Members 0..n of each site joined one after another: one group of all.
    void form(std::size_t n)
    {
        for (auto& s : sites)
            for (std::size_t i = 0; i < n; ++i) {
                s->net->start(i);
                run(std::chrono::milliseconds(300));
            }
        run(std::chrono::seconds(2));
    }
    // Every started member holds the same epoch, the same commit (and so the same chain) and
    // `members` entries.
    void require_one_group(std::size_t started_each, std::size_t members)
    {
        const auto& first = *sites[0]->member(0).current();
        for (std::size_t s = 0; s < sites.size(); ++s)
            for (std::size_t i = 0; i < started_each; ++i) {
                INFO("site " << s << " member " << i);
                const auto& m = sites[s]->member(i);
                REQUIRE(m.in_group());
                CHECK(m.current()->epoch == first.epoch);
                CHECK(m.current()->hash == first.hash);
                CHECK(m.current()->roster.size() == members);
            }
    }
    std::uint64_t total(tf::federation_counter c)
    {
        std::uint64_t n = 0;
        for (auto& s : sites)
            n += s->count(c);
        return n;
    }
};

// A blob as a relay hands it to a federation, and its origin.
struct captured {
    std::vector<std::byte> blob;
    crypto::fingerprint origin{};
};

// Stores `c` in the order as a key holder would (relay id `who` repeated, counter `seq`): sealed,
// continuing the last commit stored.
inline void store_as_key_holder(federation& f, const captured& c, std::uint8_t who, std::uint64_t seq = 1)
{
    tf::memory_link holder(f.hub);
    tf::envelope_auth<crypto::default_suite> auth(shared_key());
    std::vector<std::byte> out;
    std::error_code ec;
    tf::relay_id id{};
    id.fill(std::byte{who});
    const std::uint64_t after = f.hub.last_ordered_stored();
    tf::write_envelope(tf::envelope_kind::ordered, id, seq, after, c.origin, c.blob, out, ec);
    REQUIRE_FALSE(ec);
    auth.seal(out);
    REQUIRE(holder.publish_ordered(out, after));
    f.run(std::chrono::milliseconds(100));
}

} // namespace tlvcast::test::fed_sites
