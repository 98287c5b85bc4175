// SPDX-License-Identifier: BSL-1.0
// Tests for the secure profile's AEAD key limits (profile/secure/key_update.hpp, record.hpp,
// cipher.hpp): rekeying before the record limit, from the client and at the relay's request, and
// the integrity limit on failed opens. Small limits in options stand in for 2^23 and 2^36.
#include <tlvcast/profile/secure/cipher.hpp>

#include "secure/sim_helpers.hpp"

#include <tlvcast/crypto/identity.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

using namespace tlvcast;
using namespace std::chrono_literals;

namespace {

using sec = profile::secure::cipher;
using net_type = test::secure_net<sec>;
using test::identity;
using test::is_type;
using test::count_sent;
using ek = core::client_event::kind;

std::unique_ptr<net_type> make_net(profile::secure::options ropt, profile::secure::options copt0,
                                   profile::secure::options copt1 = {})
{
    auto net = std::make_unique<net_type>(sec(identity(100), ropt));
    net->add_client(sec(identity(1), copt0));
    net->add_client(sec(identity(2), copt1));
    net->start_all();
    net->run_for(100ms);
    for (std::size_t i = 0; i < 2; ++i)
        REQUIRE(net->client(i).current_state() == net_type::client_engine::state::established);
    (void)net->events(0);
    (void)net->events(1);
    return net;
}

// Client 0 sends `n` numbered messages, one every 5 ms; returns what client 1 received, in order.
std::vector<std::string> chat(net_type& net, int n)
{
    for (int i = 0; i < n; ++i) {
        const std::string text = "message " + std::to_string(i);
        std::error_code ec;
        net.send(0, wire::as_bytes(text), ec);
        CHECK_FALSE(ec);
        net.run_for(5ms);
    }
    net.run_for(100ms);
    std::vector<std::string> got;
    for (const auto& e : net.events(1))
        if (e.what == ek::message)
            got.push_back(e.text);
    return got;
}

std::vector<std::string> expected(int n)
{
    std::vector<std::string> v;
    for (int i = 0; i < n; ++i)
        v.push_back("message " + std::to_string(i));
    return v;
}

} // namespace

TEST_CASE("secure key limits: limits come from the AEAD, options lower them, never raise them", "[secure][limits]")
{
    const sec a(identity(1));
    CHECK(a.limits().max_records == crypto::aes_gcm_max_records_per_key);
    CHECK(a.limits().max_failed_opens == crypto::aes_gcm_max_failed_opens_per_key);
    CHECK(a.limits().rekey_at == crypto::aes_gcm_max_records_per_key / 4 * 3);
    profile::secure::options o;
    o.max_records_per_key = 40;
    o.max_failed_opens_per_key = 5;
    const sec b(identity(1), o);
    CHECK(b.limits().max_records == 40);
    CHECK(b.limits().rekey_at == 30);
    CHECK(b.limits().max_failed_opens == 5);
    o.max_records_per_key = crypto::aes_gcm_max_records_per_key + 1;
    CHECK_THROWS_AS(sec(identity(1), o), std::invalid_argument);
    o.max_records_per_key = 40;
    o.rekey_numerator = 4;
    CHECK_THROWS_AS(sec(identity(1), o), std::invalid_argument);
}

TEST_CASE("secure key limits: a client re-handshakes past 3/4 of its record limit; no message is lost",
          "[secure][limits]")
{
    profile::secure::options small;
    small.max_records_per_key = 40;
    auto net = make_net({}, small);
    const int n = 150;
    CHECK(chat(*net, n) == expected(n));
    // Each key sealed at most 40 records: 150 messages took at least three more handshakes.
    CHECK(count_sent(*net, wire::tlv_type::secure_client_auth, test::secure_client_address(0)) >= 4);
    CHECK(net->client(0).counters().get(core::client_counter::send_errors) == 0);
    CHECK(net->client(0).session().current->next_seq <= 40);
    CHECK(net->relay().counters().get(core::relay_counter::undecryptable) == 0);
}

TEST_CASE("secure key limits: the relay asks for a key update toward a client; it never reaches key_exhausted",
          "[secure][limits]")
{
    profile::secure::options small;
    small.max_records_per_key = 40;
    auto net = make_net(small, {});
    const int n = 150;
    CHECK(chat(*net, n) == expected(n));
    // Client 1 only receives: its handshakes after the first answer the relay's SECURE_KEY_UPDATEs.
    CHECK(count_sent(*net, wire::tlv_type::secure_client_auth, test::secure_client_address(1)) >= 4);
    CHECK(net->relay().counters().get(core::relay_counter::send_errors) == 0);
    CHECK(net->client(1).counters().get(core::client_counter::undecryptable) == 0);
}

TEST_CASE("secure key limits: failed opens past the integrity limit kill the key, counted; a new handshake follows",
          "[secure][limits]")
{
    profile::secure::options small;
    small.max_failed_opens_per_key = 5;

    SECTION("at the client")
    {
        auto net = make_net({}, {}, small);
        // Records from the relay to client 1 with a fresh sequence number and a broken tag.
        std::vector<std::byte> forged;
        net->tap = [&](test::wire_datagram& d) {
            if (forged.empty() && d.to == test::secure_client_address(1) && is_type(d, wire::tlv_type::secure_record))
                forged = d.bytes;
            return true;
        };
        CHECK(chat(*net, 3) == expected(3));
        REQUIRE_FALSE(forged.empty());
        const auto before = net->client(1).counters().get(core::client_counter::undecryptable);
        const auto auths = count_sent(*net, wire::tlv_type::secure_client_auth, test::secure_client_address(1));
        const auto old_session = net->client(1).session().current->id;
        for (std::uint8_t i = 0; i < 8; ++i) {
            auto f = forged;
            f[4 + 8 + 7] = static_cast<std::byte>(200 + i); // seq: unused, inside the window
            f.back() ^= std::byte{1};
            net->inject(test::secure_relay_address, test::secure_client_address(1), f);
        }
        net->run_for(20ms);
        CHECK(net->client(1).counters().get(core::client_counter::undecryptable) >= before + 8);
        // The dead key made the client re-handshake; messages flow under the new one.
        CHECK(count_sent(*net, wire::tlv_type::secure_client_auth, test::secure_client_address(1)) == auths + 1);
        CHECK(net->client(1).session().current->id != old_session);
        CHECK(chat(*net, 5) == expected(5));
    }
    SECTION("at the relay")
    {
        auto net = make_net(small, {});
        std::vector<std::byte> forged;
        net->tap = [&](test::wire_datagram& d) {
            if (forged.empty() && d.from == test::secure_client_address(0) && is_type(d, wire::tlv_type::secure_record))
                forged = d.bytes;
            return true;
        };
        CHECK(chat(*net, 3) == expected(3));
        REQUIRE_FALSE(forged.empty());
        const auto before = net->relay().counters().get(core::relay_counter::undecryptable);
        const auto auths = count_sent(*net, wire::tlv_type::secure_client_auth, test::secure_client_address(0));
        for (std::uint8_t i = 0; i < 8; ++i) {
            auto f = forged;
            f[4 + 8 + 7] = static_cast<std::byte>(200 + i);
            f.back() ^= std::byte{1};
            net->inject(test::secure_client_address(0), test::secure_relay_address, f);
        }
        net->run_for(20ms);
        CHECK(net->relay().counters().get(core::relay_counter::undecryptable) >= before + 8);
        // The relay asked client 0 for new keys (SECURE_KEY_UPDATE), and it answered.
        CHECK(count_sent(*net, wire::tlv_type::secure_client_auth, test::secure_client_address(0)) == auths + 1);
        CHECK(chat(*net, 5) == expected(5));
    }
}
