// SPDX-License-Identifier: BSL-1.0
// memory_transport's insides: a mailbox per endpoint (bounded queue, one pending receive) and the hub's routing table.
#pragma once

#include <tlvcast/endpoint.hpp>

#include <asio.hpp>
#include <asio/experimental/append.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tlvcast::transport {

// The counters are public (memory.hpp's stats() return them); they live here because the
// mailbox and the hub state keep them.
/// Receive-side counters of one memory_transport.
struct memory_stats {
    std::uint64_t received = 0;           ///< datagrams handed to async_receive or a try_receive
    std::uint64_t dropped_queue_full = 0; ///< datagrams lost because the receive queue was full
    std::uint64_t receive_calls = 0;      ///< async_receive, try_receive and try_receive_many calls
};

/// Hub-wide counters.
struct memory_hub_stats {
    std::uint64_t sent = 0;     ///< datagrams accepted by send (a group send counts once)
    std::uint64_t no_route = 0; ///< datagrams to an address nobody holds (silently lost, as on UDP)
};

namespace detail {

/// A receive waiting for a datagram; completes through the handler's associated executor.
class memory_receive_op {
public:
    memory_receive_op(std::span<std::byte> buffer, endpoint* from) noexcept : buffer_(buffer), from_(from) {}
    virtual ~memory_receive_op() = default;
    /// Posts the completion and deletes this object. Thread-safe (called by any sender thread).
    virtual void complete(std::error_code ec, std::size_t n) = 0;

    /// Copies one datagram into the caller's buffer; returns the completion's error and size.
    std::pair<std::error_code, std::size_t> fill(const endpoint& from, std::span<const std::byte> bytes) noexcept
    {
        *from_ = from;
        const std::size_t n = std::min(bytes.size(), buffer_.size());
        if (n != 0)
            std::memcpy(buffer_.data(), bytes.data(), n);
        // As asio_udp on Linux: a datagram longer than the buffer is reported, not passed off as whole.
        if (bytes.size() > buffer_.size())
            return {asio::error::message_size, n};
        return {std::error_code{}, n};
    }

private:
    std::span<std::byte> buffer_;
    endpoint* from_;
};

template <class Handler>
class memory_receive_op_impl final : public memory_receive_op {
public:
    memory_receive_op_impl(Handler&& h, const asio::any_io_executor& ex, std::span<std::byte> buffer, endpoint* from)
        : memory_receive_op(buffer, from), handler_(std::move(h)),
          work_(asio::prefer(ex, asio::execution::outstanding_work.tracked))
    {
    }

    void complete(std::error_code ec, std::size_t n) override
    {
        // Move everything out first: the handler may start the next receive, which allocates anew.
        Handler handler = std::move(handler_);
        asio::any_io_executor work = std::move(work_);
        delete this;
        // post (never an inline call): the handler runs on its associated executor, as Asio's own
        // operations do, whichever thread delivered the datagram.
        asio::post(work, asio::experimental::append(std::move(handler), ec, n));
    }

private:
    Handler handler_;
    asio::any_io_executor work_; // keeps the io_context's run() alive while the receive is pending
};

/// One endpoint's receive side: a bounded queue and at most one pending receive.
struct memory_mailbox {
    struct datagram {
        endpoint from;
        std::vector<std::byte> bytes;
    };

    memory_mailbox(endpoint addr, std::size_t limit) : address(addr), queue_limit(limit) {}
    ~memory_mailbox() { delete pending; }
    memory_mailbox(const memory_mailbox&) = delete;
    memory_mailbox& operator=(const memory_mailbox&) = delete;

    /// Hands a datagram to the pending receive, or queues a copy, or drops it when the queue is full.
    void deliver(const endpoint& from, std::span<const std::byte> bytes)
    {
        std::unique_lock lock(mutex);
        if (closed)
            return;
        if (memory_receive_op* op = std::exchange(pending, nullptr)) {
            ++stats.received;
            lock.unlock();
            const auto [ec, n] = op->fill(from, bytes);
            op->complete(ec, n);
            return;
        }
        if (queue.size() >= queue_limit) {
            ++stats.dropped_queue_full;
            return;
        }
        std::vector<std::byte> copy;
        if (!spare.empty()) {
            copy = std::move(spare.back());
            spare.pop_back();
        }
        copy.assign(bytes.begin(), bytes.end());
        queue.push_back({from, std::move(copy)});
    }

    const endpoint address;
    const std::size_t queue_limit;
    std::mutex mutex;
    std::deque<datagram> queue;              // guarded by mutex
    std::vector<std::vector<std::byte>> spare; // recycled datagram buffers, guarded by mutex
    memory_receive_op* pending = nullptr;    // owned; guarded by mutex
    memory_stats stats;                      // guarded by mutex
    bool closed = false;                     // guarded by mutex
};

/// The routing table shared by a hub and its transports.
struct memory_hub_state {
    std::mutex mutex;
    std::unordered_map<endpoint, std::shared_ptr<memory_mailbox>> endpoints;      // guarded by mutex
    std::unordered_map<endpoint, std::vector<std::shared_ptr<memory_mailbox>>> groups; // guarded by mutex
    std::uint32_t next_address = 0;                                              // guarded by mutex
    memory_hub_stats stats;                                                      // guarded by mutex

    /// The n-th automatic address: 127.0.0.1:49152, 127.0.0.1:49153, ... then 127.0.0.2:49152, ...
    static endpoint automatic(std::uint32_t n) noexcept
    {
        constexpr std::uint32_t ports = 65536 - 49152;
        return {0x7f000001u + n / ports, static_cast<std::uint16_t>(49152 + n % ports)};
    }

    void erase(const std::shared_ptr<memory_mailbox>& mb)
    {
        std::lock_guard lock(mutex);
        if (auto it = endpoints.find(mb->address); it != endpoints.end() && it->second == mb)
            endpoints.erase(it);
        for (auto it = groups.begin(); it != groups.end();) {
            std::erase(it->second, mb);
            it = it->second.empty() ? groups.erase(it) : std::next(it);
        }
    }
};

} // namespace detail

} // namespace tlvcast::transport
