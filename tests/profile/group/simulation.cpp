// SPDX-License-Identifier: BSL-1.0
// The group profile on the deterministic simulated network, over many seeds: members join, send,
// leave and crash under loss, duplication and reordering. Safety: no member accepts a message it
// should not (forged, misattributed, repeated, or from an epoch it was not in); once the network
// is quiet, all members agree on the epoch and the roster.
// TLVCAST_GROUP_SIM_SEEDS=N runs N seeds (default 16; `scripts/soak.sh sim` runs 10,000).
#include "secure/secure_sim.hpp"

#include <tlvcast/profile/group.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>

using namespace tlvcast;
namespace group = tlvcast::profile::group;

namespace {

using suite = crypto::default_suite;
using seeded_cipher = group::basic_cipher<suite, crypto::default_aes256_gcm, crypto::seeded_random<suite>>;
using net_t = test::secure_net<seeded_cipher>;

crypto::ed25519_keypair identity_of(std::size_t n)
{
    std::array<std::byte, 32> seed{};
    seed[0] = static_cast<std::byte>(n);
    seed[1] = std::byte{0x5a};
    return crypto::ed25519_from_seed<suite>(seed);
}

std::uint64_t seeds()
{
    if (const char* s = std::getenv("TLVCAST_GROUP_SIM_SEEDS"))
        return std::max<std::uint64_t>(1, std::strtoull(s, nullptr, 10));
    return 16;
}

// What was sent: by text, the sender and the roster of the epoch it was sealed in.
struct sent_message {
    std::size_t sender;
    std::set<crypto::fingerprint> roster;
};

} // namespace

TEST_CASE("group simulation: joins, leaves and crashes under loss, duplication and reordering",
          "[profile][group][sim]")
{
    constexpr std::size_t members = 5;
    const std::uint64_t n_seeds = seeds();
    std::size_t delivered = 0, converged = 0;
    for (std::uint64_t seed = 1; seed <= n_seeds; ++seed) {
        CAPTURE(seed);
        group::options opt;
        opt.policy = group::admission::roster;
        std::vector<crypto::fingerprint> fps;
        for (std::size_t i = 0; i < members; ++i) {
            fps.push_back(crypto::fingerprint_of<suite>(identity_of(i + 1).public_key));
            opt.roster.push_back(fps.back());
        }
        core::relay_options ropt;
        ropt.client_timeout = std::chrono::seconds(2);
        net_t net(seeded_cipher(identity_of(100), opt, crypto::seeded_random<suite>(seed)), ropt);
        core::client_options copt;
        copt.keepalive = std::chrono::milliseconds(500);
        for (std::size_t i = 0; i < members; ++i)
            net.add_client(seeded_cipher(identity_of(i + 1), opt, crypto::seeded_random<suite>(seed * 100 + i)), copt);

        std::mt19937_64 rng(seed);
        std::uniform_real_distribution<double> u(0.0, 1.0);
        bool lossy = true;
        std::size_t crashed = members; // none yet
        const double loss = 0.03 + 0.05 * u(rng), dup = 0.03, reorder = 0.05;
        net.tap = [&](test::wire_datagram& d) {
            if (crashed < members &&
                (d.from == test::secure_client_address(crashed) || d.to == test::secure_client_address(crashed)))
                return false;
            if (!lossy)
                return true;
            const double x = u(rng);
            if (x < loss)
                return false;
            if (x < loss + dup)
                net.inject(d.from, d.to, d.bytes);
            else if (x < loss + dup + reorder) {
                net.inject(d.from, d.to, d.bytes); // one millisecond late: after later datagrams
                return false;
            }
            return true;
        };

        std::map<std::string, sent_message> sent;
        std::vector<std::set<std::string>> got(members);
        std::vector<bool> open(members, false);
        std::size_t counter = 0;
        const auto step = [&](duration d) {
            net.run_for(d);
            for (std::size_t i = 0; i < members; ++i)
                for (const auto& ev : net.events(i)) {
                    if (ev.what != core::client_event::kind::message)
                        continue;
                    const auto it = sent.find(ev.text);
                    REQUIRE(it != sent.end());                       // nothing forged
                    REQUIRE(ev.identity == fps[it->second.sender]);  // nor misattributed
                    REQUIRE(it->second.roster.count(fps[i]) == 1);   // only to that epoch's members
                    REQUIRE(got[i].insert(ev.text).second);          // once
                    ++delivered;
                }
            for (std::size_t i = 0; i < members; ++i) {
                if (!open[i] || i == crashed)
                    continue;
                const auto& m = net.client(i).cipher().group();
                if (!m.in_group() || u(rng) < 0.5)
                    continue;
                const std::string text = "s" + std::to_string(seed) + "-m" + std::to_string(i) + "-" +
                                         std::to_string(counter++);
                std::set<crypto::fingerprint> roster(m.current()->fingerprints.begin(), m.current()->fingerprints.end());
                sent.emplace(text, sent_message{i, roster});
                std::error_code ec;
                net.send(i, std::as_bytes(std::span(text)), ec);
            }
        };
        // Members arrive at random moments; one leaves politely; one crashes.
        std::vector<int> start_at(members);
        for (auto& s : start_at)
            s = static_cast<int>(u(rng) * 10);
        for (int t = 0; t < 60; ++t) {
            for (std::size_t i = 0; i < members; ++i)
                if (start_at[i] == t) {
                    net.start(i);
                    open[i] = true;
                }
            if (t == 30) {
                datagram_batch out;
                net.client(members - 1).close(net.now(), out);
                for (std::size_t k = 0; k < out.size(); ++k)
                    net.inject(test::secure_client_address(members - 1), net.relay_address, out[k].bytes);
                open[members - 1] = false;
            }
            if (t == 40)
                crashed = static_cast<std::size_t>(u(rng) * (members - 1));
            step(std::chrono::milliseconds(100));
        }
        lossy = false;
        for (int t = 0; t < 40; ++t)
            step(std::chrono::milliseconds(250)); // quiet: commits repaired by GROUP_SYNC
        // Agreement with the ordering point: every live client that the relay's roster holds is
        // in the group, at the relay's epoch, with the relay's roster. (A client the relay timed
        // out without its knowing stays behind, outside that roster, until it re-registers.)
        const auto& order = net.relay().cipher().ordering();
        bool all = order.epoch() > 0;
        for (std::size_t i = 0; i < members; ++i) {
            if (!open[i] || i == crashed)
                continue;
            const bool listed = std::any_of(order.roster().begin(), order.roster().end(),
                                            [&](const group::member_entry& e) {
                                                return crypto::fingerprint_of<suite>(e.identity) == fps[i];
                                            });
            if (!listed) {
                all = false;
                continue;
            }
            CAPTURE(i);
            const auto& m = net.client(i).cipher().group();
            REQUIRE(m.in_group());
            CHECK(m.current()->epoch == order.epoch());
            CHECK(m.current()->roster == order.roster());
        }
        if (all)
            ++converged;
        CHECK_FALSE(net.relay().cipher().group().in_group());
    }
    CHECK(delivered > 0);
    // Liveness under loss is not promised (a lost announcement leaves a joiner waiting; issue
    // "reliable delivery" repairs it), but most runs must end with every live member in the group.
    CHECK(converged * 2 >= n_seeds);
    WARN("group simulation: " << n_seeds << " seeds, " << delivered << " deliveries, " << converged
                              << " runs with every live member in the group");
}
