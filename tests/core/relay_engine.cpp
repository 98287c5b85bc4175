// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/core/relay_engine.hpp: the per-source client cap, presence on state
// transitions only, and delivery jobs run away from the engine.
#include <tlvcast/core/relay_engine.hpp>

#include "core/sim.hpp"

#include <catch2/catch.hpp>

#include <string_view>

using namespace tlvcast;

namespace {

// A seed client's datagrams, made by hand: registration (4, 7) and sealed messages as FRAGMENTs.
struct hand_client {
    endpoint address;
    seed::rsa_oaep cipher;
    seed::rsa_oaep::client_session session{};
    fragment::seed_fragmenter fragmenter;

    hand_client(endpoint a, std::size_t key, std::uint64_t seed)
        : address(a), cipher(test::shared_key(key)), fragmenter(seed)
    {
    }

    void register_with(test::seed_relay_engine& relay, time_point now, std::vector<core::relay_event>& events)
    {
        datagram_batch hello, replies;
        cipher.start_session(session, test::group, now, hello);
        for (std::size_t i = 0; i < hello.size(); ++i)
            relay.handle(address, hello[i].bytes, now, replies, events);
        // The relay's SERVER_PUBLIC_KEY establishes the session.
        std::vector<std::byte> text;
        std::error_code ec;
        for (std::size_t i = 0; i < replies.size(); ++i)
            if (replies[i].to == address)
                cipher.client_receive(session, wire::read_outer(replies[i].bytes, ec), now, crypto::relay_trust{},
                                      replies, text, ec);
    }

    // Sends one sealed message of `kind`; returns what the relay sent.
    datagram_batch send(test::seed_relay_engine& relay, crypto::message_kind kind, std::string_view text,
                        time_point now, std::vector<core::relay_event>& events)
    {
        std::vector<std::byte> blob;
        std::error_code ec;
        cipher.seal(session, kind, wire::as_bytes(text), blob, ec);
        REQUIRE_FALSE(ec);
        datagram_batch frags, out;
        fragmenter.split(blob, test::group, now, frags, ec);
        REQUIRE_FALSE(ec);
        for (std::size_t i = 0; i < frags.size(); ++i)
            relay.handle(address, frags[i].bytes, now, out, events);
        return out;
    }
};

std::size_t count_type(const datagram_batch& b, wire::tlv_type type)
{
    std::size_t n = 0;
    std::error_code ec;
    for (std::size_t i = 0; i < b.size(); ++i)
        if (wire::read_outer(b[i].bytes, ec).type() == type && !ec)
            ++n;
    return n;
}

} // namespace

TEST_CASE("relay_engine: one host cannot fill the client table from many ports", "[core][relay]")
{
    core::relay_options opt;
    opt.max_clients_per_source = 2;
    test::seed_relay_engine relay(seed::rsa_oaep(test::shared_key(0)), fragment::seed_fragmenter(1), opt);
    std::vector<core::relay_event> events;
    const time_point now{};
    for (std::uint16_t port = 40000; port < 40003; ++port) {
        hand_client c({0x0a000001u, port}, 1, port);
        c.register_with(relay, now, events);
    }
    CHECK(relay.client_count() == 2);
    CHECK(relay.counters().get(core::relay_counter::source_full) == 1);
    // Another host still gets in.
    hand_client other({0x0a000002u, 40000}, 2, 9);
    other.register_with(relay, now, events);
    CHECK(relay.client_count() == 3);
    // A client that leaves frees its place for the host.
    hand_client first({0x0a000001u, 40000}, 1, 10);
    first.session = {};
    first.register_with(relay, now, events); // re-registers the same endpoint: no new place taken
    CHECK(relay.client_count() == 3);
    first.send(relay, crypto::message_kind::leave, {}, now, events);
    CHECK(relay.client_count() == 2);
    hand_client late({0x0a000001u, 40005}, 1, 11);
    late.register_with(relay, now, events);
    CHECK(relay.client_count() == 3);
}

TEST_CASE("relay_engine: presence is announced on state transitions only", "[core][relay]")
{
    test::seed_relay_engine relay(seed::rsa_oaep(test::shared_key(0)), fragment::seed_fragmenter(1));
    std::vector<core::relay_event> events;
    const time_point now{};
    hand_client a({0x0a000001u, 40000}, 1, 1), b({0x0a000002u, 40000}, 2, 2);
    a.register_with(relay, now, events);
    b.register_with(relay, now, events);
    CHECK(count_type(a.send(relay, crypto::message_kind::join, {}, now, events), wire::tlv_type::client_connected) == 1);
    // A second CONNECT from a client already connected changes nothing: no announcement.
    CHECK(count_type(a.send(relay, crypto::message_kind::join, {}, now, events), wire::tlv_type::client_connected) == 0);
    CHECK(relay.counters().get(core::relay_counter::presence_sent) == 1);
    // Leaving is announced once; a second DISCONNECT comes from an unknown client.
    CHECK(count_type(a.send(relay, crypto::message_kind::leave, {}, now, events), wire::tlv_type::client_disconnected) == 1);
    CHECK(count_type(a.send(relay, crypto::message_kind::leave, {}, now, events), wire::tlv_type::client_disconnected) == 0);
    // A client that registered but never joined leaves without an announcement.
    hand_client c({0x0a000003u, 40000}, 3, 3);
    c.register_with(relay, now, events);
    CHECK(count_type(c.send(relay, crypto::message_kind::leave, {}, now, events), wire::tlv_type::client_disconnected) == 0);
    CHECK(relay.counters().get(core::relay_counter::presence_sent) == 2);
}

TEST_CASE("relay_engine: deferred delivery jobs run away from the engine and complete on it", "[core][relay]")
{
    core::relay_options opt;
    opt.defer_jobs = true;
    opt.max_jobs = 2;
    test::seed_relay_engine relay(seed::rsa_oaep(test::shared_key(0)), fragment::seed_fragmenter(1), opt);
    std::vector<core::relay_event> events;
    const time_point now{};
    hand_client a({0x0a000001u, 40000}, 1, 1), b({0x0a000002u, 40000}, 2, 2);
    a.register_with(relay, now, events);
    b.register_with(relay, now, events);
    // Nothing is opened on the engine's thread: the message waits as a job.
    CHECK(a.send(relay, crypto::message_kind::data, "hello", now, events).empty());
    CHECK(a.send(relay, crypto::message_kind::data, "again", now, events).empty());
    CHECK(relay.jobs() == 2);
    a.send(relay, crypto::message_kind::data, "dropped", now, events);
    CHECK(relay.counters().get(core::relay_counter::overloaded) == 1);
    std::unique_ptr<test::seed_relay_engine::job_type> j1, j2, none;
    REQUIRE(relay.poll_job(j1));
    REQUIRE(relay.poll_job(j2));
    CHECK_FALSE(relay.poll_job(none));
    // The recipient leaves while the jobs run: its session stays alive in the job.
    b.send(relay, crypto::message_kind::leave, {}, now, events);
    j2->run(relay.cipher());
    j1->run(relay.cipher());
    datagram_batch out;
    relay.complete(std::move(j1), now, out, events);
    relay.complete(std::move(j2), now, out, events);
    CHECK(relay.jobs() == 0);
    // Sealed for b as it was when the message completed.
    REQUIRE(out.size() == 2);
    std::error_code ec;
    std::vector<std::byte> text;
    const auto r = b.cipher.client_receive(b.session, wire::read_outer(out[0].bytes, ec), now, crypto::relay_trust{},
                                           out, text, ec);
    REQUIRE_FALSE(ec);
    CHECK(r.what == crypto::received::kind::message);
    CHECK(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()) == "hello");
}
