// Tests for include/tlvcast/crypto/secure.hpp: the secure profile end to end over the engines, and its attacks.
#include <tlvcast/crypto/secure.hpp>

#include "secure/secure_sim.hpp"

#include <tlvcast/secure.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <string>

using namespace tlvcast;
using namespace std::chrono_literals;
using crypto::fingerprint;
using sec = crypto::secure;
using net_type = test::secure_net<sec>;
using cstate = net_type::client_engine::state;

namespace {

// Ed25519 keys are cheap; fixed seeds keep failures reproducible.
crypto::ed25519_keypair identity(std::uint8_t n)
{
    std::array<std::byte, 32> seed{};
    seed.fill(static_cast<std::byte>(n));
    return crypto::cryptopp_suite::ed25519_from_seed(seed);
}

fingerprint fp_of(std::uint8_t n) { return crypto::cryptopp_suite::fingerprint(identity(n).public_key); }

std::string make_text(std::size_t sender, std::size_t size)
{
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        s[i] = static_cast<char>('a' + (i * 7 + sender) % 26);
    return s;
}

std::uint64_t rc(net_type& net, core::relay_counter c) { return net.relay().counters().get(c); }
std::uint64_t cc(net_type& net, std::size_t i, core::client_counter c) { return net.client(i).counters().get(c); }

// A network with `n` clients (identities 1..n) and a relay (identity 100), registered.
std::unique_ptr<net_type> make_net(std::size_t n, crypto::secure_options copt = {})
{
    auto net = std::make_unique<net_type>(sec(identity(100)));
    for (std::size_t i = 0; i < n; ++i)
        net->add_client(sec(identity(static_cast<std::uint8_t>(i + 1)), copt));
    net->start_all();
    net->run_for(100ms);
    return net;
}

std::size_t count_kind(const std::vector<core::client_event>& evs, core::client_event::kind k)
{
    return static_cast<std::size_t>(std::count_if(evs.begin(), evs.end(), [&](const auto& e) { return e.what == k; }));
}

bool is_type(const test::wire_datagram& d, wire::tlv_type t)
{
    return d.bytes.size() >= 2 && wire::detail::load_u16(d.bytes.data()) == static_cast<std::uint16_t>(t);
}

} // namespace

TEST_CASE("secure: three clients register and exchange messages of every size with verified identities", "[secure]")
{
    auto net = make_net(3);
    std::vector<std::vector<core::client_event>> evs(3);
    for (std::size_t i = 0; i < 3; ++i) {
        REQUIRE(net->client(i).current_state() == cstate::established);
        evs[i] = net->events(i);
        REQUIRE(!evs[i].empty());
        CHECK(evs[i][0].what == core::client_event::kind::registered);
        REQUIRE(evs[i][0].identity);
        CHECK(*evs[i][0].identity == fp_of(100));
    }
    CHECK(net->relay().client_count() == 3);
    CHECK(rc(*net, core::relay_counter::registrations) == 3);
    // Presence notices name the peer by its verified identity.
    for (std::size_t i = 0; i < 3; ++i)
        for (const auto& e : evs[i])
            if (e.what == core::client_event::kind::peer_connected) {
                REQUIRE(e.identity);
                const auto j = static_cast<std::size_t>(e.peer.port - 40000);
                CHECK(e.peer == test::secure_client_address(j));
                CHECK(*e.identity == fp_of(static_cast<std::uint8_t>(j + 1)));
            }
    CHECK(count_kind(evs[0], core::client_event::kind::peer_connected) == 2);

    const std::size_t sizes[] = {0, 1, 1184, 1185, 5000, 48'450};
    std::map<std::tuple<std::size_t, std::size_t, std::string>, int> got;
    for (std::size_t from = 0; from < 3; ++from)
        for (const std::size_t size : sizes) {
            const std::string text = make_text(from, size);
            std::error_code ec;
            net->send(from, wire::as_bytes(text), ec);
            REQUIRE_FALSE(ec);
            net->run_for(20ms);
        }
    net->run_for(1s);
    for (std::size_t to = 0; to < 3; ++to)
        for (const auto& e : net->events(to))
            if (e.what == core::client_event::kind::message) {
                const auto from = static_cast<std::size_t>(e.peer.port - 40000);
                REQUIRE(from < 3);
                REQUIRE(e.identity);
                CHECK(*e.identity == fp_of(static_cast<std::uint8_t>(from + 1)));
                ++got[{to, from, e.text}];
            }
    std::size_t expected = 0;
    for (std::size_t from = 0; from < 3; ++from)
        for (const std::size_t size : sizes)
            for (std::size_t to = 0; to < 3; ++to) {
                if (to == from)
                    continue;
                CHECK(got[{to, from, make_text(from, size)}] == 1);
                ++expected;
            }
    CHECK(got.size() == expected);
    CHECK(rc(*net, core::relay_counter::undecryptable) == 0);
    // Every datagram on the wire fits max_datagram.
    for (const auto& d : net->sent)
        CHECK(d.bytes.size() <= 1232);
    // Only the handshake did public-key work: no operation per message.
    const auto ops_before = net->relay().cipher().public_key_ops().total();
    std::error_code ec;
    net->send(0, wire::as_bytes(std::string("one more")), ec);
    net->run_for(100ms);
    CHECK(net->relay().cipher().public_key_ops().total() == ops_before);
}
