// The Transport policy: moves datagrams for a driver, asynchronously, on an Asio executor.
#pragma once

#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>

#include <asio/dispatch.hpp>
#include <asio/error.hpp>

#include <concepts>
#include <cstddef>
#include <span>
#include <system_error>
#include <thread>
#include <chrono>
#include <future>
#include <memory>

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

/// Whether a send failed only because the socket buffer is full (try again soon), rather than
/// for good. Asio's error codes have their own category, so both spellings are checked.
inline bool is_backpressure(const std::error_code& ec) noexcept
{
    return ec == asio::error::would_block || ec == asio::error::try_again || ec == asio::error::no_buffer_space ||
           ec == std::errc::operation_would_block || ec == std::errc::resource_unavailable_try_again ||
           ec == std::errc::no_buffer_space;
}

/// Sends a batch from a thread that may wait (a worker): a full socket buffer is back-pressure, not
/// loss, so the rest is retried every 200 us for at most `max_wait`. Returns how many datagrams
/// were handed over; `ec` is the last error. (Assumes no datagram is refused for itself.)
template <transport T>
std::size_t send_waiting(T& t, const datagram_batch& batch, std::error_code& ec,
                         std::chrono::microseconds max_wait = std::chrono::milliseconds(100))
{
    constexpr std::chrono::microseconds pause(200);
    std::size_t sent = t.send(batch, ec);
    for (auto waited = std::chrono::microseconds(0); sent < batch.size() && is_backpressure(ec) && waited < max_wait;
         waited += pause) {
        std::this_thread::sleep_for(pause);
        for (ec = {}; sent < batch.size() && !ec; ++sent)
            t.send(batch[sent].to, batch[sent].bytes, ec);
        if (ec)
            --sent;
    }
    return sent;
}

/// Runs `before` and closes `t` on the transport's executor, from any thread; when that executor's
/// io_context does not run (2 s), does it here, since nothing else can touch the transport then.
template <transport T, class F>
void close_on_executor(T& t, F before)
{
    auto done = std::make_shared<std::promise<void>>();
    auto closed = done->get_future();
    asio::dispatch(t.get_executor(), [&t, before, done]() mutable {
        before();
        t.close();
        done->set_value();
    });
    if (closed.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
        before();
        t.close();
    }
}

} // namespace tlvcast::transport
