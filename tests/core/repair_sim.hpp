// SPDX-License-Identifier: BSL-1.0
// The repair simulation shared by tests/core/repair.cpp and repair_fec.cpp: the secure profile's
// engines over a repairing Fragmenter (with or without FEC), a lossy, duplicating, reordering
// network on a virtual clock; every message once, in order, intact, with bounded memory.
#pragma once

#include "core/policy_sim.hpp"

#include <tlvcast/core/client_engine.hpp>
#include <tlvcast/core/relay_engine.hpp>
#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/profile/secure/cipher.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace tlvcast::test::repair_sim {

using namespace std::chrono_literals;

using sec = profile::secure::basic_cipher<crypto::default_suite, crypto::default_aes256_gcm,
                                          crypto::seeded_random<crypto::default_suite>>;

inline sec make_cipher(std::uint8_t id, std::uint64_t seed)
{
    std::array<std::byte, 32> key_seed{};
    key_seed.fill(static_cast<std::byte>(id));
    return sec(crypto::ed25519_from_seed<crypto::default_suite>(key_seed), {},
               crypto::seeded_random<crypto::default_suite>(seed));
}

// The inner fragments leave room for REPAIR_DATA's 12 bytes in one record (and 4 more with FEC:
// REPAIR_PARITY is that much longer than the datagrams of its block).
template <class Frag>
Frag make_fragmenter(const sec& c, std::uint64_t seed, const fragment::repair_limits& lim)
{
    const std::size_t header = wire::tlv_header_size + wire::repair_header_size + (Frag::fec ? 4 : 0);
    return Frag(fragment::seed_fragmenter(seed, {}, c.fragment_payload() - header, c.max_whole() - header), lim,
                seed + 17);
}

// Loss, duplication and reordering from `lossy` on (registration first runs clean: repairing the
// handshake is not this Fragmenter's work).
struct lossy_tap {
    std::mt19937_64 rng;
    double loss = 0, dup = 0;
    bool on = false;
    std::uint64_t dropped = 0;
    bool operator()(test::sim_datagram&)
    {
        if (!on)
            return true;
        std::uniform_real_distribution<double> u(0, 1);
        if (u(rng) < loss) {
            ++dropped;
            return false;
        }
        return true;
    }
};

inline std::string text_of(std::size_t sender, std::size_t index, std::size_t size)
{
    std::string s = std::to_string(sender) + ":" + std::to_string(index) + ":";
    while (s.size() < size)
        s.push_back(static_cast<char>('a' + (s.size() * 7 + sender + index) % 26));
    return s;
}

struct scenario {
    std::uint64_t seed = 1;
    double loss = 0;
    std::size_t clients = 4;
    std::size_t per_sender = 30;
    std::vector<std::size_t> sizes{100, 20'000, 300, 1500};
    bool faults = true;                   ///< duplication, reordering and delay besides the loss
    std::optional<std::size_t> leaver;    ///< this client closes halfway through (after its repairs)
    std::optional<duration> probe;        ///< the clients' probe_interval (each probe is a re-handshake)
    fragment::repair_limits limits{};     ///< every node's (FEC: fec_k, fec_r)
    bool timing = false;                  ///< collect events every 1 ms and measure delivery times
};

struct outcome {
    std::size_t unrecoverable = 0;
    std::uint64_t dropped = 0, client_nacks = 0; ///< dropped: lost, delayed or reordered
    std::uint64_t lost = 0;                      ///< datagrams the tap dropped (loss events)
    fragment::nack_fragmenter_stats relay_stats;
    std::uint64_t nacks = 0;                     ///< NACKs sent by every node
    std::uint64_t repairs = 0;                   ///< retransmissions plus parity answers, every node
    std::uint64_t recovered = 0;                 ///< datagrams rebuilt from parity, every node
    std::uint64_t data = 0, parity = 0;          ///< REPAIR_DATA first sent; proactive parity sent
    std::vector<double> delivery_ms;             ///< per delivered message (scenario::timing)
};

inline std::uint64_t seeds()
{
    if (const char* s = std::getenv("TLVCAST_REPAIR_SIM_SEEDS"))
        return std::max<std::uint64_t>(1, std::strtoull(s, nullptr, 10));
    return 40;
}

template <class Frag>
outcome run(const scenario& sc)
{
    using rel_client = core::client_engine<sec, Frag>;
    using rel_relay = core::relay_engine<sec, Frag>;
    using rel_net = test::policy_net<rel_client, rel_relay>;
    const std::size_t clients = sc.clients;
    transport::fault_options faults;
    if (sc.faults && sc.loss > 0) {
        faults.duplicate = 0.02;
        faults.reorder = 0.05;
        faults.delay = 0.05;
        faults.max_delay = 15ms;
    }
    sec rc = make_cipher(100, sc.seed * 100);
    auto rf = make_fragmenter<Frag>(rc, sc.seed * 1000, sc.limits);
    auto net = std::make_unique<rel_net>(std::make_unique<rel_relay>(std::move(rc), std::move(rf)),
                                         typename rel_net::options{sc.seed, faults});
    core::client_options copt;
    copt.relay = rel_net::group;
    copt.trust = crypto::relay_trust::any();
    if (sc.probe)
        copt.probe_interval = *sc.probe;
    for (std::size_t i = 0; i < clients; ++i) {
        sec c = make_cipher(static_cast<std::uint8_t>(i + 1), sc.seed * 100 + i + 1);
        auto f = make_fragmenter<Frag>(c, sc.seed * 1000 + i + 1, sc.limits);
        net->add_client(std::make_unique<rel_client>(std::move(c), std::move(f), copt));
    }
    auto tap = std::make_shared<lossy_tap>();
    tap->rng.seed(sc.seed);
    tap->loss = sc.loss;
    net->tap = [tap](test::sim_datagram& d) { return (*tap)(d); };
    net->start_all();
    net->run_for(300ms);
    for (std::size_t i = 0; i < clients; ++i)
        REQUIRE(net->client(i).current_state() == rel_client::state::established);
    for (std::size_t i = 0; i < clients; ++i)
        (void)net->events(i);
    tap->on = true;

    std::vector<std::vector<std::string>> got(clients);
    std::vector<bool> open(clients, true);
    std::map<std::string, time_point> sent_at;
    outcome o;
    const auto collect = [&] {
        for (std::size_t i = 0; i < clients; ++i)
            for (auto& e : net->events(i)) {
                if (e.what == core::client_event::kind::message) {
                    if (sc.timing)
                        o.delivery_ms.push_back(
                            std::chrono::duration<double, std::milli>(net->now() - sent_at.at(e.text)).count());
                    got[i].push_back(e.text);
                }
                else if (e.what == core::client_event::kind::unrecoverable)
                    ++o.unrecoverable;
            }
    };
    // Bounded memory at every step: the relay holds at most a cache and a held window per stream.
    const auto& rlim = net->relay().fragmenter().limits();
    const auto check_bounds = [&] {
        const auto& f = net->relay().fragmenter();
        REQUIRE(f.tx_streams() <= clients);
        REQUIRE(f.rx_streams() <= clients * rlim.streams_per_source);
        REQUIRE(f.buffered_bytes() <= f.tx_streams() * rlim.cache_bytes +
                                           f.rx_streams() * (rlim.held_bytes + (Frag::fec ? rlim.fec_parity_bytes +
                                                                                                 rlim.fec_recent_bytes
                                                                                           : 0)));
    };
    for (std::size_t k = 0; k < sc.per_sender; ++k) {
        if (sc.leaver && k == sc.per_sender / 2) {
            // close() does not wait for repairs (no acknowledgements yet): what the leaver sent
            // must have been repaired before it goes, or the relay counts it unrecoverable.
            net->run_for(3s);
            net->close(*sc.leaver);
            open[*sc.leaver] = false;
        }
        for (std::size_t i = 0; i < clients; ++i) {
            if (!open[i])
                continue;
            const std::string t = text_of(i, k, sc.sizes[(k + i) % sc.sizes.size()]);
            std::error_code ec;
            if (sc.timing)
                sent_at[t] = net->now();
            net->send(i, std::as_bytes(std::span(t)), ec);
            // A full window (flow control) is back-pressure: wait for the relay's ACKs, boundedly.
            for (int waited = 0; ec == errc::would_block && waited < 30'000; ++waited) {
                net->run_for(1ms);
                net->send(i, std::as_bytes(std::span(t)), ec);
            }
            REQUIRE_FALSE(ec);
        }
        // Timing: events every virtual millisecond, so that a delivery time is exact to 1 ms.
        for (int ms = 0; ms < (sc.timing ? 20 : 1); ++ms) {
            net->run_for(sc.timing ? 1ms : 20ms);
            collect();
        }
        check_bounds();
    }
    for (int ms = 0; ms < (sc.timing ? 10'000 : 1); ++ms) {
        net->run_for(sc.timing ? 1ms : 10s);
        collect();
    }
    check_bounds();
    // Exactly once, in each sender's order, intact; complete for the members that stayed.
    const auto rs = net->relay().fragmenter_stats();
    INFO("relay: unrecoverable " << rs.unrecoverable << ", held dropped " << rs.held_dropped << ", reassembly dropped "
                                 << net->relay().counters().get(core::relay_counter::reassembly_dropped)
                                 << ", duplicates " << rs.duplicates << ", gone " << rs.gone_sent);
    for (std::size_t r = 0; r < clients; ++r) {
        const auto cs = net->client(r).fragmenter().stats();
        INFO("client " << r << ": unrecoverable " << cs.unrecoverable << ", gone sent " << cs.gone_sent
                       << ", reassembly dropped " << net->client(r).counters().get(core::client_counter::reassembly_dropped)
                       << ", timeouts " << cs.reassembly.timeouts << ", inner duplicates " << cs.reassembly.duplicates);
        std::map<std::size_t, std::size_t> next; // sender -> next index expected
        for (const auto& text : got[r]) {
            const std::size_t sender = std::stoul(text.substr(0, text.find(':')));
            const std::size_t index = std::stoul(text.substr(text.find(':') + 1));
            INFO("receiver " << r << " sender " << sender << " index " << index);
            REQUIRE(sender != r);
            REQUIRE(index == next[sender]);
            REQUIRE(text == text_of(sender, index, text.size()));
            ++next[sender];
        }
        if (o.unrecoverable == 0 && open[r])
            for (std::size_t s = 0; s < clients; ++s)
                if (s != r) {
                    INFO("receiver " << r << " from " << s);
                    CHECK(next[s] == (open[s] ? sc.per_sender : sc.per_sender / 2));
                }
    }
    o.relay_stats = net->relay().fragmenter_stats();
    // What can open a gap: a datagram lost, or one that arrived late (delayed or reordered).
    o.dropped = tap->dropped;
    const auto late = [&](const endpoint& ep) { return net->faults(ep).delayed + net->faults(ep).reordered; };
    o.dropped += late(rel_net::relay_address);
    for (std::size_t i = 0; i < clients; ++i)
        o.dropped += late(rel_net::client_address(i));
    o.lost = tap->dropped;
    const auto add = [&](const fragment::nack_fragmenter_stats& s) {
        o.nacks += s.nacks_sent;
        o.repairs += s.repairs_sent + s.parity_repairs_sent;
        o.recovered += s.fec_recovered;
        o.data += s.data_sent;
        o.parity += s.parity_sent;
    };
    add(o.relay_stats);
    for (std::size_t i = 0; i < clients; ++i) {
        o.client_nacks += net->client(i).fragmenter().stats().nacks_sent;
        add(net->client(i).fragmenter().stats());
    }
    return o;
}

} // namespace tlvcast::test::repair_sim
