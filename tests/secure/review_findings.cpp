// SPDX-License-Identifier: BSL-1.0
// Security review (attacker's view): attacks on the secure profile that succeeded before their fixes;
// each failed first. See the comment in each for the fix.
#include "secure/review_helpers.hpp"

using namespace tlvcast;
using namespace tlvcast::review;
using namespace std::chrono_literals;

TEST_CASE("review: a flood of rogue SERVER_HELLOs does not evict unread message events", "[secure][review]")
{
    // A group member sees every hello (it goes to the multicast group) and answers it with
    // SERVER_HELLOs signed by its own key. Each one pushes a relay_refused event; the bounded
    // queue (max_events 4096) then drops the oldest unread events: other members' messages.
    auto net = rv_net(2);
    (void)net->events(0);
    std::error_code ec;
    const std::string text = "do not lose me";
    net->send(1, std::as_bytes(std::span(text)), ec);
    REQUIRE(!ec);
    net->run_for(100ms);
    bool fired = false;
    arm_rogue(*net, 5000, false, false, fired);
    net->run_for(15s);
    REQUIRE(fired);
    CHECK(net->client(0).current_state() == cstate::established);
    const auto evs = net->events(0);
    CHECK(rv_count(evs, ek::message) == 1);
    CHECK(net->client(0).counters().get(core::client_counter::events_dropped) == 0);
}

TEST_CASE("review: an identical rogue SERVER_HELLO replayed costs one verify and one event", "[secure][review]")
{
    auto net = rv_net(1);
    (void)net->events(0);
    const auto before = net->client(0).cipher().public_key_ops().ed25519_verify;
    bool fired = false;
    arm_rogue(*net, 1000, true, false, fired);
    net->run_for(15s);
    REQUIRE(fired);
    const auto verifies = net->client(0).cipher().public_key_ops().ed25519_verify - before;
    // One for the real relay's hello; the replays should be recognised without public-key work.
    CHECK(verifies <= 2);
    CHECK(rv_count(net->events(0), ek::relay_refused) <= 1);
}

TEST_CASE("review: a relay that comes back at another address with the same identity is accepted again",
          "[secure][review]")
{
    // client_engine::handle: "a relay may come back elsewhere, and only an authenticated session
    // moves the address". The ACCEPT of the new session arrives in a record from the new address,
    // and records from a stranger are dropped while established: the session is never promoted.
    auto net = rv_net(2);
    net->relay_address = endpoint{0x7f000002u, 5007};
    net->restart_relay(sec(identity(100)));
    net->run_for(60s);
    // The new relay's records (its SECURE_ACCEPT first) are counted as from a stranger and dropped.
    CHECK(net->client(0).counters().get(core::client_counter::from_stranger) == 0);
    CHECK(net->client(0).relay_address() == net->relay_address);
    (void)net->events(0);
    std::error_code ec;
    const std::string text = "moved";
    net->send(1, std::as_bytes(std::span(text)), ec);
    net->run_for(100ms);
    CHECK(rv_count(net->events(0), ek::message) == 1);
}

TEST_CASE("review: forged SECURE_COOKIEs do not turn the client into a reflector against the relay",
          "[secure][review]")
{
    // A group member sees the client's hello on the multicast group, so it knows client_random.
    // on_cookie answers every SECURE_COOKIE echoing it with a new hello: N forged cookies make the
    // client send N hellos to the relay, each answered with a valid cookie, which the client again
    // answers with a hello carrying that valid cookie: N handshakes (2 X25519 + 1 signature each)
    // charged to the client's own address, until the relay's per-source limit refuses the client.
    auto net = rv_net(1);
    (void)net->events(0);
    const std::size_t sent_before = net->sent.size();
    const auto relay_x_before = net->relay().cipher().public_key_ops().x25519;
    bool fired = false;
    net->tap = [&](test::wire_datagram& d) {
        if (!fired && d.from == test::secure_client_address(0) && is_type(d, wire::tlv_type::secure_hello) &&
            d.bytes.size() == 4 + wire::secure_hello_size) {
            fired = true;
            const auto& hello = net->client(0).session().hello;
            std::vector<std::byte> value(wire::secure_cookie_size, std::byte{0x42});
            value.insert(value.end(), hello.begin() + 34, hello.begin() + 50);
            std::vector<std::byte> tlv;
            std::error_code ec;
            wire::tlv_appender(tlv).put(wire::tlv_type::secure_cookie, value, ec);
            for (int i = 0; i < 200; ++i)
                net->inject(rogue_address, test::secure_client_address(0), tlv);
        }
        return true;
    };
    net->run_for(15s + 500ms);
    REQUIRE(fired);
    std::size_t hellos = 0;
    for (std::size_t i = sent_before; i < net->sent.size(); ++i)
        if (net->sent[i].from == test::secure_client_address(0) && is_type(net->sent[i], wire::tlv_type::secure_hello))
            ++hellos;
    CHECK(hellos <= 1 + sec::max_cookies_per_attempt);
    CHECK(net->relay().cipher().public_key_ops().x25519 - relay_x_before <= 4);
    CHECK(net->client(0).current_state() == cstate::established);
    CHECK(net->client(0).session().pending == nullptr); // the probe's re-handshake completed
}
