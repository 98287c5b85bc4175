// SPDX-License-Identifier: BSL-1.0
// The repair simulation shared by tests/core/repair.cpp and repair_fec.cpp: the secure profile's
// engines over a repairing Fragmenter (with or without FEC), a lossy, duplicating, reordering
// network on a virtual clock; every message once, in order (or in any order, unordered), intact,
// with bounded memory.
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
#include <numeric>
#include <optional>
#include <random>
#include <set>
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
    /// The leaver comes back this many rounds after it closed: a new engine (a process restarted in
    /// place) at the same address with the same identity, a new session and a fresh Fragmenter.
    std::optional<std::size_t> rejoin_after;
    std::optional<duration> probe;        ///< the clients' probe_interval (each probe is a re-handshake)
    fragment::repair_limits limits{};     ///< every node's (FEC: fec_k, fec_r)
    bool timing = false;                  ///< collect events every 1 ms and measure delivery times
};

struct outcome {
    std::size_t unrecoverable = 0;
    bool restart_kept_stream = false; ///< the relay kept its stream to the restarted member
    std::uint64_t dropped = 0, client_nacks = 0; ///< dropped: lost, delayed or reordered
    std::uint64_t lost = 0;                      ///< datagrams the tap dropped (loss events)
    fragment::nack_fragmenter_stats relay_stats;
    std::uint64_t nacks = 0;                     ///< NACKs sent by every node
    std::uint64_t repairs = 0;                   ///< retransmissions plus parity answers, every node
    std::uint64_t recovered = 0;                 ///< datagrams rebuilt from parity, every node
    std::uint64_t data = 0, parity = 0;          ///< REPAIR_DATA first sent; proactive parity sent
    std::uint64_t early = 0;                     ///< messages delivered ahead of a gap, every node (unordered)
    std::vector<double> delivery_ms;             ///< per delivered message (scenario::timing)
};

// Outcomes of several runs added up, with their delivery times (scenario::timing).
struct totals {
    std::uint64_t lost = 0, nacks = 0, repairs = 0, recovered = 0, unrecoverable = 0, data = 0, parity = 0, early = 0;
    std::vector<double> ms;
    void add(const outcome& o)
    {
        lost += o.lost, nacks += o.nacks, repairs += o.repairs, recovered += o.recovered;
        unrecoverable += o.unrecoverable;
        data += o.data, parity += o.parity, early += o.early;
        ms.insert(ms.end(), o.delivery_ms.begin(), o.delivery_ms.end());
    }
    double quantile(double q)
    {
        std::sort(ms.begin(), ms.end());
        return ms.empty() ? 0 : ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ms.size())))];
    }
    double mean() const { return ms.empty() ? 0 : std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size()); }
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
    // Unordered delivery is checked as once each, complete: not with a member that restarts (the
    // second run's "from where it joined" needs each sender's order).
    REQUIRE((sc.limits.ordered || !sc.leaver));
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
    // Client i's identity is make_cipher's id i + 1 in every run of it; `run` draws its session
    // and stream ids (0: the first run, 50: a restart).
    const auto make_client = [&](std::size_t i, std::uint64_t run) {
        sec c = make_cipher(static_cast<std::uint8_t>(i + 1), sc.seed * 100 + run + i + 1);
        auto f = make_fragmenter<Frag>(c, sc.seed * 1000 + run + i + 1, sc.limits);
        return std::make_unique<rel_client>(std::move(c), std::move(f), copt);
    };
    for (std::size_t i = 0; i < clients; ++i)
        net->add_client(make_client(i, 0));
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

    // What each receiver got, per run of it: got[clients] is the restarted leaver's second run.
    std::vector<std::vector<std::string>> got(clients + 1);
    std::vector<std::vector<std::size_t>> sent(clients); // the indices each sender sent, in order
    std::vector<bool> open(clients, true);
    bool restarted = false;
    // The relay's stream to the leaver when it restarted, if the relay still had one: its leave
    // was lost, so the relay took the new session for the same member's re-handshake.
    std::optional<std::uint32_t> kept_stream;
    std::size_t restarted_at = 0; // the first round the restarted leaver took part in, registered
    std::map<std::string, time_point> sent_at;
    outcome o;
    const auto collect = [&] {
        for (std::size_t i = 0; i < clients; ++i)
            for (auto& e : net->events(i)) {
                if (e.what == core::client_event::kind::message) {
                    if (sc.timing)
                        o.delivery_ms.push_back(
                            std::chrono::duration<double, std::milli>(net->now() - sent_at.at(e.text)).count());
                    got[restarted && i == *sc.leaver ? clients : i].push_back(e.text);
                }
                else if (e.what == core::client_event::kind::unrecoverable) {
                    // The restarted leaver reads a stream the relay kept from its first run from
                    // seq 0 (backfill): what that run acknowledged comes as a REPAIR_START, not a
                    // loss (it was 111 notices in 3,000 seeds before).
                    ++o.unrecoverable;
                }
            }
    };
    const auto add = [&](const fragment::nack_fragmenter_stats& s) {
        o.nacks += s.nacks_sent;
        o.repairs += s.repairs_sent + s.parity_repairs_sent;
        o.recovered += s.fec_recovered;
        o.data += s.data_sent;
        o.parity += s.parity_sent;
        o.early += s.delivered_early;
    };
    const auto add_client = [&](const rel_client& c) {
        o.client_nacks += c.fragmenter().stats().nacks_sent;
        add(c.fragmenter().stats());
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
        if (sc.leaver && sc.rejoin_after && k == sc.per_sender / 2 + *sc.rejoin_after) {
            collect(); // the first run's last events
            add_client(net->client(*sc.leaver));
            kept_stream = net->relay().fragmenter().stream_id(rel_net::client_address(*sc.leaver));
            net->rejoin(*sc.leaver, make_client(*sc.leaver, 50));
            restarted = true;
            // Its handshake runs under the same loss (resent by the Cipher, register_attempts times):
            // bounded by those attempts' timeouts.
            for (int waited = 0; waited < 2000 && net->client(*sc.leaver).current_state() ==
                                                      rel_client::state::registering; ++waited) {
                net->run_for(10ms);
                collect();
            }
            REQUIRE(net->client(*sc.leaver).current_state() == rel_client::state::established);
            open[*sc.leaver] = true;
            restarted_at = k;
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
            sent[i].push_back(k);
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
    for (std::size_t g = 0; g < got.size(); ++g) {
        const bool second_run = g == clients;
        if (second_run && !restarted)
            continue;
        const std::size_t r = second_run ? *sc.leaver : g;
        const auto cs = net->client(r).fragmenter().stats();
        INFO("client " << r << (second_run ? " (restarted at round " + std::to_string(restarted_at) + ")" : "")
                       << ": unrecoverable " << cs.unrecoverable << ", gone sent " << cs.gone_sent
                       << ", reassembly dropped " << net->client(r).counters().get(core::client_counter::reassembly_dropped)
                       << ", timeouts " << cs.reassembly.timeouts << ", inner duplicates " << cs.reassembly.duplicates);
        // sender -> where in sent[sender] the next one is due. A first run reads each sender from
        // its first message; the second run from the first it got: what the relay completed once
        // the new session registered, or earlier, what the cache of a stream it kept still held.
        std::map<std::size_t, std::size_t> next, first;
        std::map<std::size_t, std::set<std::size_t>> seen; // unordered: what each sender's came
        for (const auto& text : got[g]) {
            const std::size_t sender = std::stoul(text.substr(0, text.find(':')));
            const std::size_t index = std::stoul(text.substr(text.find(':') + 1));
            INFO("receiver " << r << " sender " << sender << " index " << index);
            REQUIRE(sender != r);
            REQUIRE(text == text_of(sender, index, text.size()));
            const auto& s = sent[sender];
            if (!sc.limits.ordered) { // once each, any order: `next` counts them
                REQUIRE(std::find(s.begin(), s.end(), index) != s.end());
                REQUIRE(seen[sender].insert(index).second);
                ++next[sender];
                continue;
            }
            if (second_run && !next.contains(sender)) {
                const auto at = std::find(s.begin(), s.end(), index);
                REQUIRE(at != s.end());
                first[sender] = next[sender] = static_cast<std::size_t>(at - s.begin());
            }
            REQUIRE(next[sender] < s.size());
            REQUIRE(index == s[next[sender]]);
            ++next[sender];
        }
        const bool stayed = !sc.leaver || r != *sc.leaver;
        if (o.unrecoverable == 0 && (stayed || second_run))
            for (std::size_t s = 0; s < clients; ++s)
                if (s != r) {
                    INFO("receiver " << r << " from " << s);
                    // A member that stayed: everything each sender sent while it was open. The
                    // restarted one: up to each sender's last, from no later than the first sent
                    // once it was registered again.
                    CHECK(next[s] == sent[s].size());
                    if (second_run) {
                        const auto after = std::find_if(sent[s].begin(), sent[s].end(),
                                                        [&](std::size_t i) { return i >= restarted_at; });
                        CHECK(first.contains(s));
                        CHECK(first[s] <= static_cast<std::size_t>(after - sent[s].begin()));
                    }
                }
    }
    o.restart_kept_stream = kept_stream.has_value();
    o.relay_stats = net->relay().fragmenter_stats();
    // What can open a gap: a datagram lost, or one that arrived late (delayed or reordered).
    o.dropped = tap->dropped;
    const auto late = [&](const endpoint& ep) { return net->faults(ep).delayed + net->faults(ep).reordered; };
    o.dropped += late(rel_net::relay_address);
    for (std::size_t i = 0; i < clients; ++i)
        o.dropped += late(rel_net::client_address(i));
    o.lost = tap->dropped;
    add(o.relay_stats);
    for (std::size_t i = 0; i < clients; ++i)
        add_client(net->client(i));
    return o;
}

} // namespace tlvcast::test::repair_sim
