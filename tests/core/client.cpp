// SPDX-License-Identifier: BSL-1.0
// basic_client and basic_relay over the in-memory transport: callbacks, futures and coroutines.
#include <tlvcast/core/client.hpp>
#include <tlvcast/core/relay.hpp>

#include "core/client_fixture.hpp"
#include "core/future_code.hpp"

#include <tlvcast/transport/memory.hpp>

#include <catch2/catch.hpp>

#include <future>
#include <thread>

using namespace tlvcast;
using namespace std::chrono_literals;
using test::code_of;

using test::fixture;

TEST_CASE("client: register and exchange with use_future", "[client]")
{
    fixture fx(3);
    for (auto& c : fx.clients)
        REQUIRE_FALSE(code_of(c->async_register(asio::use_future)));
    const std::string text = "héllo, wörld ✓";
    REQUIRE_FALSE(code_of(fx.clients[0]->async_send(text, asio::use_future)));
    for (std::size_t i = 1; i < 3; ++i) {
        const auto ev = fx.next_message(i);
        CHECK(ev.text == text);
        CHECK(ev.peer == fx.clients[0]->transport().local_endpoint());
    }
}

TEST_CASE("client: callbacks", "[client]")
{
    fixture fx(2);
    std::promise<std::error_code> registered;
    fx.clients[0]->async_register([&](std::error_code ec) { registered.set_value(ec); });
    REQUIRE_FALSE(registered.get_future().get());
    REQUIRE_FALSE(code_of(fx.clients[1]->async_register(asio::use_future)));
    std::promise<std::error_code> sent;
    fx.clients[1]->async_send(std::string(1000, 'x'), [&](std::error_code ec) { sent.set_value(ec); });
    REQUIRE_FALSE(sent.get_future().get());
    CHECK(fx.next_message(0).text == std::string(1000, 'x'));
}

TEST_CASE("client: C++20 coroutines", "[client]")
{
    fixture fx(2);
    auto result = asio::co_spawn(
        fx.io,
        [&]() -> asio::awaitable<std::string> {
            co_await fx.clients[0]->async_register(asio::use_awaitable);
            co_await fx.clients[1]->async_register(asio::use_awaitable);
            co_await fx.clients[0]->async_send(std::string_view("from a coroutine"), asio::use_awaitable);
            for (;;) {
                auto ev = co_await fx.clients[1]->async_receive(asio::use_awaitable);
                if (ev.what == core::client_event::kind::message)
                    co_return ev.text;
            }
        },
        asio::use_future);
    REQUIRE(result.wait_for(20s) == std::future_status::ready);
    CHECK(result.get() == "from a coroutine");
}

TEST_CASE("client: no relay gives errc::no_relay after the retries", "[client]")
{
    asio::io_context io;
    transport::memory_hub hub;
    core::client_options opt;
    opt.relay = test::group;
    opt.register_timeout = 50ms;
    opt.register_attempts = 3;
    test::mem_client c(transport::memory_transport(hub, io), seed::rsa_oaep(test::shared_key(1)), {}, opt);
    std::error_code result;
    c.async_register([&](std::error_code ec) { result = ec; });
    io.run_for(2s);
    CHECK(result == errc::no_relay);
    CHECK(c.engine().counters().get(core::client_counter::registration_attempts) == 3);
}

TEST_CASE("client: sending before registration and oversized messages are errors", "[client]")
{
    fixture fx(1);
    CHECK(code_of(fx.clients[0]->async_send(std::string_view("early"), asio::use_future)) == errc::not_ready);
    REQUIRE_FALSE(code_of(fx.clients[0]->async_register(asio::use_future)));
    CHECK(code_of(fx.clients[0]->async_send(std::string(48'451, 'x'), asio::use_future)) == errc::message_too_large);
    CHECK(code_of(fx.clients[0]->async_send(std::string_view("CONNECT"), asio::use_future)) == errc::reserved_text);
}

// Issue 12: the driver takes what waits in bursts (try_receive_many) after each completed receive,
// instead of one reactor pass per datagram. The io_context runs only here, so the count is exact.
TEST_CASE("client: datagrams that wait are taken in bursts, not one receive each", "[client]")
{
    asio::io_context io;
    transport::memory_hub hub;
    transport::memory_transport rt(hub, io, {test::relay_address});
    rt.join(test::group);
    test::mem_relay relay(std::move(rt), seed::rsa_oaep(test::shared_key(0)), fragment::seed_fragmenter{},
                    core::relay_options{}, core::relay_driver_options{1, 64});
    relay.start();
    core::client_options copt;
    copt.relay = test::group;
    core::client_driver_options dopt;
    dopt.receive_burst = 16;
    test::mem_client client(transport::memory_transport(hub, io), seed::rsa_oaep(test::shared_key(1)),
                      fragment::seed_fragmenter{}, copt, dopt);
    bool registered = false;
    client.async_register([&](std::error_code ec) { registered = !ec; });
    for (int i = 0; i < 200 && !registered; ++i)
        io.run_for(10ms);
    REQUIRE(registered);
    io.run_for(20ms); // what registration set off

    // 40 datagrams wait before the client's thread runs again: its pending receive (counted
    // before) takes the first, then bursts of 15, 15 and 9 (short: the socket is empty), then one
    // new receive waits: 4 calls, where a receive per datagram made 40.
    transport::memory_transport spoofer(hub, io);
    const auto calls = client.transport().stats().receive_calls;
    const auto bad = client.engine().counters().get(core::client_counter::malformed);
    const std::array<std::byte, 1> junk{std::byte{0x7f}};
    for (int i = 0; i < 40; ++i) {
        std::error_code ec;
        spoofer.send(client.transport().local_endpoint(), junk, ec);
        REQUIRE_FALSE(ec);
    }
    for (int i = 0; i < 100 && client.engine().counters().get(core::client_counter::malformed) < bad + 40; ++i)
        io.run_for(5ms);
    CHECK(client.engine().counters().get(core::client_counter::malformed) == bad + 40);
    CHECK(client.transport().stats().receive_calls - calls == 4);

    std::promise<void> closed;
    client.async_close([&](std::error_code) { closed.set_value(); });
    relay.async_stop([](std::error_code) {});
    io.run_for(100ms);
}
