// SPDX-License-Identifier: BSL-1.0
// The Transport concepts: archetypes model them; near-misses do not; back-pressure is recognised.
#include <tlvcast/transport/concepts.hpp>

#include <tlvcast/transport/asio_udp.hpp>
#include <tlvcast/transport/memory.hpp>

#include <asio.hpp>
#include <catch2/catch.hpp>

#include <array>
#include <span>

using namespace tlvcast;

namespace {

// The smallest Transport: nothing arrives, sends succeed.
struct transport_archetype {
    using executor_type = asio::any_io_executor;
    executor_type ex;
    executor_type get_executor() const { return ex; }
    endpoint local_endpoint() const { return {}; }
    void send(const endpoint&, std::span<const std::byte>, std::error_code& ec) { ec = {}; }
    std::size_t send(const datagram_batch& b, std::error_code& ec)
    {
        ec = {};
        return b.size();
    }
    template <class Token>
    auto async_receive(std::span<std::byte>, endpoint&, Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code, std::size_t)>(
            [this](auto handler) {
                asio::post(ex, [h = std::move(handler)]() mutable { h(asio::error::operation_aborted, 0); });
            },
            token);
    }
    void close() {}
};

struct without_batch_send {
    using executor_type = asio::any_io_executor;
    executor_type get_executor() const { return {}; }
    endpoint local_endpoint() const { return {}; }
    void send(const endpoint&, std::span<const std::byte>, std::error_code&) {}
    template <class Token>
    void async_receive(std::span<std::byte>, endpoint&, Token&&)
    {
    }
    void close() {}
};

// The smallest Transport that also takes waiting datagrams without blocking, one or many at once
// (transport::try_receiving_many): nothing ever waits.
struct receive_many_archetype : transport_archetype {
    std::size_t try_receive(std::span<std::byte>, endpoint&, std::error_code& ec)
    {
        ec = asio::error::would_block;
        return 0;
    }
    std::size_t try_receive_many(std::span<const std::span<std::byte>>, std::span<endpoint>, std::span<std::size_t>,
                                 std::error_code& ec)
    {
        ec = asio::error::would_block;
        return 0;
    }
};

// Near-miss: takes many but not one (try_receiving_many refines try_receiving).
struct many_without_one : transport_archetype {
    std::size_t try_receive_many(std::span<const std::span<std::byte>>, std::span<endpoint>, std::span<std::size_t>,
                                 std::error_code&)
    {
        return 0;
    }
};

// Near-miss: says whether something came instead of how many datagrams.
struct many_returns_bool : transport_archetype {
    std::size_t try_receive(std::span<std::byte>, endpoint&, std::error_code&) { return 0; }
    bool try_receive_many(std::span<const std::span<std::byte>>, std::span<endpoint>, std::span<std::size_t>,
                          std::error_code&)
    {
        return false;
    }
};

// Near-miss: one buffer for the whole burst, no per-datagram sizes.
struct many_into_one_buffer : transport_archetype {
    std::size_t try_receive(std::span<std::byte>, endpoint&, std::error_code&) { return 0; }
    std::size_t try_receive_many(std::span<std::byte>, std::span<endpoint>, std::error_code&) { return 0; }
};

} // namespace

TEST_CASE("transport concept: receiving many is an optional refinement", "[concepts]")
{
    STATIC_REQUIRE(transport::try_receiving_many<receive_many_archetype>);
    STATIC_REQUIRE(transport::try_receiving_many<transport::asio_udp>);
    STATIC_REQUIRE(transport::try_receiving<transport::memory_transport>);
    STATIC_REQUIRE(transport::try_receiving_many<transport::memory_transport>);
    STATIC_REQUIRE_FALSE(transport::try_receiving_many<transport_archetype>);
    STATIC_REQUIRE_FALSE(transport::try_receiving_many<many_without_one>);
    STATIC_REQUIRE_FALSE(transport::try_receiving_many<many_returns_bool>);
    STATIC_REQUIRE_FALSE(transport::try_receiving_many<many_into_one_buffer>);

    receive_many_archetype t;
    std::array<std::byte, 16> a{}, b{};
    const std::array<std::span<std::byte>, 2> buffers{std::span<std::byte>(a), std::span<std::byte>(b)};
    std::array<endpoint, 2> from{};
    std::array<std::size_t, 2> sizes{};
    std::error_code ec;
    CHECK(t.try_receive_many(buffers, from, sizes, ec) == 0);
    CHECK(ec == asio::error::would_block);
}

TEST_CASE("transport concept: archetype and the real transports model it", "[concepts]")
{
    STATIC_REQUIRE(transport::transport<transport_archetype>);
    STATIC_REQUIRE(transport::transport<transport::asio_udp>);
    STATIC_REQUIRE(transport::transport<transport::memory_transport>);
    STATIC_REQUIRE_FALSE(transport::transport<without_batch_send>);

    asio::io_context io;
    transport_archetype t{io.get_executor()};
    std::array<std::byte, 16> buf{};
    endpoint from;
    std::error_code got;
    t.async_receive(std::span<std::byte>(buf), from, [&](std::error_code ec, std::size_t) { got = ec; });
    io.run();
    CHECK(got == asio::error::operation_aborted);
}

TEST_CASE("transport: back-pressure errors are told apart from failures", "[concepts]")
{
    CHECK(transport::is_backpressure(asio::error::would_block));
    CHECK(transport::is_backpressure(asio::error::no_buffer_space));
    CHECK(transport::is_backpressure(std::make_error_code(std::errc::operation_would_block)));
    CHECK_FALSE(transport::is_backpressure(asio::error::message_size));
    CHECK_FALSE(transport::is_backpressure(asio::error::connection_refused));
    CHECK_FALSE(transport::is_backpressure(std::error_code{}));
}
