// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/core/batcher.hpp with the secure profile: what basic_batcher gathers
// leaves in shared datagrams (SECURE_BATCH), arrives whole and in order, through the repairing
// Fragmenter the programs use, over the in-memory transport.
#include <tlvcast/core/batcher.hpp>

#include "core/future_code.hpp"
#include "core/sim.hpp"

#include <tlvcast/core/client.hpp>
#include <tlvcast/core/relay.hpp>
#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/profile/secure/cipher.hpp>
#include <tlvcast/transport/memory.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace tlvcast;
using namespace std::chrono_literals;
using test::code_of;

namespace {

using sec = profile::secure::cipher;
using frag = fragment::nack_fragmenter;
using sec_client = core::basic_client<transport::memory_transport, sec, frag>;
using sec_relay = core::basic_relay<transport::memory_transport, sec, frag>;

crypto::ed25519_keypair identity(std::uint8_t n)
{
    std::array<std::byte, 32> seed{};
    seed.fill(static_cast<std::byte>(n));
    return crypto::ed25519_from_seed<crypto::default_suite>(seed);
}

// The programs' Fragmenter (examples/common/reliability.hpp, --reliability nack): fragments and
// whole blobs leave room in each record for REPAIR_DATA's header.
frag make_frag(const sec& c)
{
    constexpr std::size_t header = wire::tlv_header_size + wire::repair_header_size;
    return frag(fragment::seed_fragmenter(fragment::limits{}, c.fragment_payload() - header, c.max_whole() - header));
}

// A secure relay and n clients over the in-memory transport; clients 0 and 1 registered.
struct secure_members {
    asio::io_context io;
    transport::memory_hub hub;
    std::unique_ptr<sec_relay> relay;
    std::vector<std::unique_ptr<sec_client>> clients;
    std::thread runner;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};

    explicit secure_members(std::size_t n = 2)
    {
        transport::memory_transport rt(hub, io, {test::relay_address});
        rt.join(test::group);
        sec rc(identity(100));
        frag rf = make_frag(rc);
        relay = std::make_unique<sec_relay>(std::move(rt), std::move(rc), std::move(rf));
        relay->start();
        core::client_options copt;
        copt.relay = test::group;
        for (std::size_t i = 0; i < n; ++i) {
            sec c(identity(static_cast<std::uint8_t>(i + 1)));
            frag f = make_frag(c);
            clients.push_back(std::make_unique<sec_client>(transport::memory_transport(hub, io), std::move(c),
                                                           std::move(f), copt));
        }
        runner = std::thread([this] { io.run(); });
        for (std::size_t i = 0; i < 2; ++i)
            REQUIRE_FALSE(code_of(clients[i]->async_register(asio::use_future)));
    }
    ~secure_members()
    {
        for (auto& c : clients)
            code_of(c->async_close(asio::use_future));
        relay->async_stop(asio::use_future).get();
        work.reset();
        io.stop();
        runner.join();
    }
    // The sender's REPAIR_DATA datagrams so far, read on the io_context's one thread (the engine's).
    std::uint64_t data_sent()
    {
        std::promise<std::uint64_t> p;
        asio::post(io, [&] { p.set_value(clients[0]->engine().fragmenter().stats().data_sent); });
        return p.get_future().get();
    }
    // The next `n` message events of client i (each within 10 s), checked to come from client 0.
    std::vector<std::string> messages(std::size_t i, std::size_t n)
    {
        std::vector<std::string> v;
        while (v.size() < n) {
            auto f = clients[i]->async_receive(asio::use_future);
            REQUIRE(f.wait_for(10s) == std::future_status::ready);
            const auto ev = f.get();
            if (ev.what != core::client_event::kind::message)
                continue;
            CHECK(ev.identity == clients[0]->engine().cipher().identity_fingerprint());
            v.push_back(ev.text);
        }
        return v;
    }
};

} // namespace

TEST_CASE("batcher, secure profile: 200 small posts leave in a few shared datagrams, all in order",
          "[batcher][client][secure]")
{
    secure_members fx;
    core::batch_options o;
    o.latency = duration::max(); // only on the flush: one batch of 200
    core::basic_batcher<sec_client> b(*fx.clients[0], o);
    std::vector<std::string> sent;
    for (int i = 0; i < 200; ++i)
        sent.push_back("msg " + std::to_string(i));
    const auto data_before = fx.data_sent();
    for (const auto& m : sent)
        REQUIRE_FALSE(code_of(b.async_post(std::string_view(m), asio::use_future)));
    REQUIRE_FALSE(code_of(b.async_flush(asio::use_future)));
    CHECK(fx.messages(1, sent.size()) == sent);
    CHECK(b.counters().batches == 1);
    CHECK(b.counters().messages == 200);
    // 200 entries of 7..9 bytes: about 2 KiB, two datagrams of 1,184 bytes, not 200.
    const auto data = fx.data_sent() - data_before;
    CHECK(data >= 2);
    CHECK(data <= 3);
    CHECK(fx.relay->engine().counters().get(core::relay_counter::malformed) == 0);
}

TEST_CASE("batcher, secure profile: a post too large to share a datagram goes alone, between the others",
          "[batcher][client][secure]")
{
    secure_members fx;
    core::batch_options o;
    o.latency = 5ms;
    core::basic_batcher<sec_client> b(*fx.clients[0], o);
    const std::vector<std::string> sent{"a", "b", std::string(1500, 'L'), "c", std::string(1180, 'M'), "d"};
    for (const auto& m : sent)
        REQUIRE_FALSE(code_of(b.async_post(std::string_view(m), asio::use_future)));
    REQUIRE_FALSE(code_of(b.async_flush(asio::use_future)));
    CHECK(fx.messages(1, sent.size()) == sent);
}
