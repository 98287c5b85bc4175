// SPDX-License-Identifier: BSL-1.0
// The Transport policy: moves datagrams for a driver, asynchronously, on an Asio executor.
#pragma once

#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>

#include <asio/error.hpp>

#include <concepts>
#include <cstddef>
#include <span>
#include <system_error>

namespace tlvcast::transport {

/// A Transport moves whole datagrams. Receiving is an Asio-style asynchronous operation taking a
/// completion token, with the signature void(std::error_code, std::size_t bytes); the sender's
/// endpoint is written to `from` before the handler runs. Sending is best effort and never waits
/// for the peer (UDP semantics): a failure is an error code, never an exception. send(batch) may
/// use one system call for many datagrams. close() cancels a pending receive with
/// asio::error::operation_aborted; the object stays destructible from any state.
template <class T>
concept transport = requires(T& t, const T& ct, const endpoint& to, std::span<const std::byte> data,
                             std::span<std::byte> buffer, endpoint& from, const datagram_batch& batch,
                             std::error_code& ec) {
    typename T::executor_type;
    { t.get_executor() } -> std::convertible_to<typename T::executor_type>;
    { ct.local_endpoint() } -> std::same_as<endpoint>;
    { t.send(to, data, ec) } -> std::same_as<void>;
    { t.send(batch, ec) } -> std::same_as<std::size_t>;
    t.async_receive(buffer, from, [](std::error_code, std::size_t) {});
    { t.close() } -> std::same_as<void>;
};

/// A Transport that can also take a datagram that is already waiting, without blocking:
/// try_receive returns its size and sender as async_receive would, or sets `ec` to
/// asio::error::would_block when nothing waits (other errors as async_receive's). A driver drains
/// a burst of datagrams this way after each completed receive, so that one pass through the
/// reactor, one engine pass and one batched send serve many datagrams. Call it only while no
/// async_receive is pending.
template <class T>
concept try_receiving = transport<T> && requires(T& t, std::span<std::byte> buffer, endpoint& from,
                                                 std::error_code& ec) {
    { t.try_receive(buffer, from, ec) } -> std::same_as<std::size_t>;
};

/// A Transport that takes many waiting datagrams in one call (one recvmmsg on Linux):
/// try_receive_many fills buffers[i], from[i] and sizes[i] for the first n datagrams and returns n
/// (0 with would_block when none waits). sizes[i] > buffers[i].size() marks a datagram that was
/// longer than its buffer (truncated, as message_size does for one). Same rule as try_receive:
/// only while no async_receive is pending.
template <class T>
concept try_receiving_many =
    try_receiving<T> && requires(T& t, std::span<const std::span<std::byte>> buffers, std::span<endpoint> from,
                                 std::span<std::size_t> sizes, std::error_code& ec) {
        { t.try_receive_many(buffers, from, sizes, ec) } -> std::same_as<std::size_t>;
    };

/// Whether a send failed only because the socket buffer is full (try again soon), rather than
/// for good. Asio's error codes have their own category, so both spellings are checked.
inline bool is_backpressure(const std::error_code& ec) noexcept
{
    return ec == asio::error::would_block || ec == asio::error::try_again || ec == asio::error::no_buffer_space ||
           ec == std::errc::operation_would_block || ec == std::errc::resource_unavailable_try_again ||
           ec == std::errc::no_buffer_space;
}

} // namespace tlvcast::transport
