// SPDX-License-Identifier: BSL-1.0
// A relay and n seed-profile clients over the in-memory transport, their io_context on a thread.
#pragma once

#include <tlvcast/core/client.hpp>
#include <tlvcast/core/relay.hpp>
#include <tlvcast/transport/memory.hpp>

#include "core/future_code.hpp"
#include "core/sim.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

namespace tlvcast::test {

using mem_client = core::basic_client<transport::memory_transport, seed::rsa_oaep, fragment::seed_fragmenter>;
using mem_relay = core::basic_relay<transport::memory_transport, seed::rsa_oaep, fragment::seed_fragmenter>;

struct fixture {
    asio::io_context io;
    transport::memory_hub hub;
    std::unique_ptr<mem_relay> relay;
    std::vector<std::unique_ptr<mem_client>> clients;
    std::thread runner;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};

    /// `relay_threads`: the seed relay's RSA workers (two reorder messages; one keeps a sender's order).
    explicit fixture(std::size_t n, core::client_options copt = {}, unsigned relay_threads = 2)
    {
        transport::memory_transport rt(hub, io, {test::relay_address});
        rt.join(test::group);
        relay = std::make_unique<mem_relay>(std::move(rt), seed::rsa_oaep(test::shared_key(0)),
                                            fragment::seed_fragmenter{}, core::relay_options{},
                                            core::relay_driver_options{relay_threads, 4096});
        relay->start();
        copt.relay = test::group;
        for (std::size_t i = 0; i < n; ++i)
            clients.push_back(std::make_unique<mem_client>(transport::memory_transport(hub, io),
                                                           seed::rsa_oaep(test::shared_key(i + 1)),
                                                           fragment::seed_fragmenter{}, copt));
        runner = std::thread([this] { io.run(); });
    }
    ~fixture()
    {
        for (auto& c : clients)
            code_of(c->async_close(asio::use_future));
        relay->async_stop(asio::use_future).get();
        work.reset();
        io.stop();
        runner.join();
    }
    // Next event of client i that is not presence/registration, waiting at most 10 s.
    core::client_event next_message(std::size_t i)
    {
        for (int k = 0; k < 50; ++k) {
            auto f = clients[i]->async_receive(asio::use_future);
            REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
            auto ev = f.get();
            if (ev.what == core::client_event::kind::message)
                return ev;
        }
        FAIL("no message event");
        return {};
    }
};

} // namespace tlvcast::test
