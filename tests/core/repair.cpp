// SPDX-License-Identifier: BSL-1.0
// The secure profile's engines with the repairing Fragmenter (fragment::nack_fragmenter), in a
// seeded simulation with loss, duplication and reordering: every message once, in order.
#include "core/policy_sim.hpp"

#include <tlvcast/core/client_engine.hpp>
#include <tlvcast/core/relay_engine.hpp>
#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/profile/secure/cipher.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace tlvcast;
using namespace std::chrono_literals;

namespace {

using sec = profile::secure::basic_cipher<crypto::default_suite, crypto::default_aes256_gcm,
                                          crypto::seeded_random<crypto::default_suite>>;
using frag = fragment::nack_fragmenter;
using rel_client = core::client_engine<sec, frag>;
using rel_relay = core::relay_engine<sec, frag>;
using rel_net = test::policy_net<rel_client, rel_relay>;

sec make_cipher(std::uint8_t id, std::uint64_t seed)
{
    std::array<std::byte, 32> key_seed{};
    key_seed.fill(static_cast<std::byte>(id));
    return sec(crypto::ed25519_from_seed<crypto::default_suite>(key_seed), {},
               crypto::seeded_random<crypto::default_suite>(seed));
}

// The inner fragments leave room for REPAIR_DATA's 12 bytes in one record.
frag make_fragmenter(const sec& c, std::uint64_t seed)
{
    constexpr std::size_t header = wire::tlv_header_size + wire::repair_header_size;
    return frag(fragment::seed_fragmenter(seed, {}, c.fragment_payload() - header, c.max_whole() - header), {},
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

std::string text_of(std::size_t sender, std::size_t index, std::size_t size)
{
    std::string s = std::to_string(sender) + ":" + std::to_string(index) + ":";
    while (s.size() < size)
        s.push_back(static_cast<char>('a' + (s.size() * 7 + sender + index) % 26));
    return s;
}

struct outcome {
    std::size_t unrecoverable = 0;
    frag::stats_type relay_stats;
};

outcome run(std::uint64_t seed, double loss, std::size_t clients, std::size_t per_sender,
            const std::vector<std::size_t>& sizes)
{
    transport::fault_options faults;
    faults.duplicate = loss > 0 ? 0.02 : 0;
    faults.reorder = loss > 0 ? 0.05 : 0;
    sec rc = make_cipher(100, seed * 100);
    auto rf = make_fragmenter(rc, seed * 1000);
    auto net = std::make_unique<rel_net>(std::make_unique<rel_relay>(std::move(rc), std::move(rf)),
                                         rel_net::options{seed, faults});
    core::client_options copt;
    copt.relay = rel_net::group;
    copt.trust = crypto::relay_trust::any();
    for (std::size_t i = 0; i < clients; ++i) {
        sec c = make_cipher(static_cast<std::uint8_t>(i + 1), seed * 100 + i + 1);
        auto f = make_fragmenter(c, seed * 1000 + i + 1);
        net->add_client(std::make_unique<rel_client>(std::move(c), std::move(f), copt));
    }
    auto tap = std::make_shared<lossy_tap>();
    tap->rng.seed(seed);
    tap->loss = loss;
    net->tap = [tap](test::sim_datagram& d) { return (*tap)(d); };
    net->start_all();
    net->run_for(300ms);
    for (std::size_t i = 0; i < clients; ++i)
        REQUIRE(net->client(i).current_state() == rel_client::state::established);
    for (std::size_t i = 0; i < clients; ++i)
        (void)net->events(i);
    tap->on = true;

    std::vector<std::vector<std::string>> got(clients);
    outcome o;
    const auto collect = [&] {
        for (std::size_t i = 0; i < clients; ++i)
            for (auto& e : net->events(i)) {
                if (e.what == core::client_event::kind::message)
                    got[i].push_back(e.text);
                else if (e.what == core::client_event::kind::unrecoverable)
                    ++o.unrecoverable;
            }
    };
    for (std::size_t k = 0; k < per_sender; ++k) {
        for (std::size_t i = 0; i < clients; ++i) {
            const std::string t = text_of(i, k, sizes[(k + i) % sizes.size()]);
            std::error_code ec;
            net->send(i, std::as_bytes(std::span(t)), ec);
            REQUIRE_FALSE(ec);
        }
        net->run_for(20ms);
        collect();
    }
    net->run_for(10s);
    collect();
    // Exactly once, in each sender's order, intact.
    for (std::size_t r = 0; r < clients; ++r) {
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
        if (o.unrecoverable == 0)
            for (std::size_t s = 0; s < clients; ++s)
                if (s != r)
                    CHECK(next[s] == per_sender);
    }
    o.relay_stats = net->relay().fragmenter_stats();
    return o;
}

} // namespace

TEST_CASE("repair: secure profile, 1 relay and 4 clients, every message once and in order at 0, 5 and 20% loss",
          "[core][repair]")
{
    for (const double loss : {0.0, 0.05, 0.2}) {
        for (std::uint64_t seed = 1; seed <= 3; ++seed) {
            INFO("loss " << loss << " seed " << seed);
            const outcome o = run(seed, loss, 4, 30, {100, 20'000, 300, 1500});
            CHECK(o.unrecoverable == 0);
            if (seed == 1)
                WARN("loss " << loss << ": relay repairs " << o.relay_stats.repairs_sent << ", NACKs sent "
                             << o.relay_stats.nacks_sent << ", received " << o.relay_stats.nacks_received
                             << ", duplicates " << o.relay_stats.duplicates);
            if (loss == 0)
                CHECK(o.relay_stats.repairs_sent == 0);
            else
                CHECK(o.relay_stats.repairs_sent > 0);
        }
    }
}
