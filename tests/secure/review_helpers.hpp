// SPDX-License-Identifier: BSL-1.0
// Helpers for the security review tests of the secure profile (review.cpp, review_failing.cpp):
// rogue SERVER_HELLOs signed for a client's current hello, and a registered network.
#pragma once

#include <tlvcast/profile/secure/cipher.hpp>

#include "secure/sim_helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace tlvcast::review {

using namespace std::chrono_literals;

using sec = profile::secure::cipher;
using net_type = test::secure_net<sec>;
using cstate = net_type::client_engine::state;
using ek = core::client_event::kind;

using test::identity;
using test::is_type;

inline std::size_t rv_count(const std::vector<core::client_event>& evs, ek k)
{
    return static_cast<std::size_t>(std::count_if(evs.begin(), evs.end(), [&](const auto& e) { return e.what == k; }));
}

// A SERVER_HELLO for the client's current hello, correctly signed by `key` (a rogue relay or a
// group member: the hello goes to the multicast group, so every member sees it). `bad_sig` flips a
// signature bit (a forgery that does not verify).
inline std::vector<std::byte> rogue_server_hello(const sec::client_session& s, const crypto::ed25519_keypair& key,
                                          std::uint64_t n, bool bad_sig = false)
{
    std::array<std::byte, 8> sid{};
    for (int i = 0; i < 8; ++i)
        sid[static_cast<std::size_t>(i)] = static_cast<std::byte>(n >> (8 * i));
    std::array<std::byte, 32> e_r{std::byte{9}};
    const auto th = sec::transcript_hash(s.hello, sid, e_r, key.public_key);
    std::vector<std::byte> m;
    for (char c : profile::secure::detail::label_relay)
        m.push_back(static_cast<std::byte>(c));
    m.insert(m.end(), th.begin(), th.end());
    std::array<std::byte, 64> sig{};
    crypto::default_suite::sign(key.private_key.span(), m, sig);
    if (bad_sig)
        sig[5] ^= std::byte{1};
    std::vector<std::byte> value;
    value.insert(value.end(), sid.begin(), sid.end());
    value.insert(value.end(), e_r.begin(), e_r.end());
    value.insert(value.end(), key.public_key.begin(), key.public_key.end());
    value.insert(value.end(), sig.begin(), sig.end());
    std::vector<std::byte> out;
    std::error_code ec;
    wire::tlv_appender(out).put(wire::tlv_type::secure_server_hello, value, ec);
    REQUIRE(!ec);
    return out;
}

inline std::unique_ptr<net_type> rv_net(std::size_t n)
{
    auto net = std::make_unique<net_type>(sec(identity(100)));
    for (std::size_t i = 0; i < n; ++i)
        net->add_client(sec(identity(static_cast<std::uint8_t>(i + 1))));
    net->start_all();
    net->run_for(100ms);
    for (std::size_t i = 0; i < n; ++i)
        REQUIRE(net->client(i).current_state() == cstate::established);
    return net;
}

inline const endpoint rogue_address{0x0a0000feu, 5007};

// Arms a tap: when client 0's next cookie-less hello (the probe's re-handshake) reaches the relay,
// `count` rogue SERVER_HELLOs answer it (distinct session ids unless `same`).
inline void arm_rogue(net_type& net, std::size_t count, bool same, bool bad_sig, bool& fired)
{
    net.tap = [&net, count, same, bad_sig, &fired](test::wire_datagram& d) {
        if (!fired && d.from == test::secure_client_address(0) && is_type(d, wire::tlv_type::secure_hello) &&
            d.bytes.size() == 4 + wire::secure_hello_size) {
            fired = true;
            const auto rogue = identity(200);
            const auto one = rogue_server_hello(net.client(0).session(), rogue, 1, bad_sig);
            for (std::size_t i = 0; i < count; ++i)
                net.inject(rogue_address, test::secure_client_address(0),
                           same ? one : rogue_server_hello(net.client(0).session(), rogue, i + 1, bad_sig));
        }
        return true;
    };
}

inline std::size_t client_auths_from(const net_type& net, std::size_t i)
{
    return static_cast<std::size_t>(std::count_if(net.sent.begin(), net.sent.end(), [&](const auto& d) {
        return d.from == test::secure_client_address(i) && is_type(d, wire::tlv_type::secure_client_auth);
    }));
}

} // namespace tlvcast::review

