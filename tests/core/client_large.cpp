// SPDX-License-Identifier: BSL-1.0
// basic_client::async_send_large over the in-memory transport (secure profile, repairing Fragmenter):
// a 3 MiB message leaves in parts as the window opens, unchanged and uncopied, and arrives whole.
#include <tlvcast/core/client.hpp>
#include <tlvcast/core/relay.hpp>

#include "core/repair_sim.hpp"
#include "core/future_code.hpp"
#include "core/sim.hpp"

#include <tlvcast/transport/memory.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <future>
#include <thread>

using namespace tlvcast;
using namespace std::chrono_literals;
using test::code_of;

namespace {

using frag = fragment::nack_fragmenter;
using sec = test::repair_sim::sec;
using large_client = core::basic_client<transport::memory_transport, sec, frag>;
using large_relay = core::basic_relay<transport::memory_transport, sec, frag>;


} // namespace

TEST_CASE("client: async_send_large waits for the window and delivers one message", "[client][large]")
{
    asio::io_context io;
    transport::memory_hub hub;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    transport::memory_transport rt(hub, io, {test::relay_address});
    rt.join(test::group);
    sec rc = test::repair_sim::make_cipher(100, 1);
    fragment::repair_limits rlim;
    rlim.slow_receiver = fragment::slow_receiver_policy::hold;
    auto rf = test::repair_sim::make_fragmenter<frag>(rc, 7, rlim);
    large_relay relay(std::move(rt), std::move(rc), std::move(rf), core::relay_options{},
                      core::relay_driver_options{1, 4096});
    relay.start();
    core::client_options copt;
    copt.relay = test::group;
    copt.trust = crypto::relay_trust::any();
    std::vector<std::unique_ptr<large_client>> c;
    for (std::uint8_t i = 1; i <= 2; ++i) {
        sec cc = test::repair_sim::make_cipher(i, 10 + i);
        auto f = test::repair_sim::make_fragmenter<frag>(cc, 20 + i, {});
        c.push_back(std::make_unique<large_client>(transport::memory_transport(hub, io), std::move(cc), std::move(f),
                                                   copt));
    }
    std::thread runner([&] { io.run(); });
    for (auto& cl : c)
        REQUIRE_FALSE(code_of(cl->async_register(asio::use_future)));

    std::vector<std::byte> message(3 * 1024 * 1024 + 17);
    for (std::size_t i = 0; i < message.size(); ++i)
        message[i] = static_cast<std::byte>(i * 131 + i / 977);
    const std::vector<std::byte> original = message;
    auto sent = c[0]->async_send_large(message, asio::use_future);
    // One at a time: a second one while the first is under way is refused, the first goes on.
    auto second = c[0]->async_send_large(std::span(message).first(100'000), asio::use_future);
    CHECK(code_of(std::move(second)) == errc::overloaded);
    REQUIRE(sent.wait_for(30s) == std::future_status::ready);
    REQUIRE_FALSE(code_of(std::move(sent)));
    CHECK(message == original); // sealed from the caller's buffer, never written to
    core::client_event ev;
    for (int k = 0; k < 50; ++k) {
        auto f = c[1]->async_receive(asio::use_future);
        REQUIRE(f.wait_for(30s) == std::future_status::ready);
        ev = f.get();
        if (ev.what == core::client_event::kind::message)
            break;
    }
    REQUIRE(ev.what == core::client_event::kind::message);
    REQUIRE(ev.text.size() == original.size());
    CHECK(std::memcmp(ev.text.data(), original.data(), original.size()) == 0);
    // The window held it back on the way: back-pressure, not failure.
    std::promise<std::uint64_t> full;
    asio::post(io, [&] { full.set_value(c[0]->engine().counters().get(core::client_counter::window_full)); });
    CHECK(full.get_future().get() > 0);
    // Over the limit: refused before anything is sent.
    std::vector<std::byte> huge(core::default_max_large_message + 1);
    CHECK(code_of(c[0]->async_send_large(huge, asio::use_future)) == errc::message_too_large);

    for (auto& cl : c)
        code_of(cl->async_close(asio::use_future));
    relay.async_stop(asio::use_future).get();
    work.reset();
    io.stop();
    runner.join();
}
