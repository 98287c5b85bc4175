// SPDX-License-Identifier: BSL-1.0
// memory_transport: an in-process datagram network (memory_hub) with UDP semantics, for tests and benchmarks.
#pragma once

#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/transport/concepts.hpp>
#include <tlvcast/transport/detail/memory_mailbox.hpp>
#include <tlvcast/transport/limits.hpp>

#include <asio.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

namespace tlvcast::transport {

/// Settings of one memory_transport.
struct memory_options {
    /// The endpoint's address, IPv4 or IPv6; empty: the hub assigns the next free 127.0.0.x:port.
    std::optional<endpoint> address;
    /// Datagrams that may wait in the receive queue; more are dropped and counted (like SO_RCVBUF).
    std::size_t queue_limit = 1024;
};

/// An in-process network of memory_transport endpoints. A cheap handle: copies share one network,
/// which lives as long as the last hub handle or transport. Thread-safe.
class memory_hub {
public:
    memory_hub() : state_(std::make_shared<detail::memory_hub_state>()) {}

    /// Hub-wide counters. Thread-safe.
    memory_hub_stats stats() const
    {
        std::lock_guard lock(state_->mutex);
        return state_->stats;
    }

private:
    friend class memory_transport;
    std::shared_ptr<detail::memory_hub_state> state_;
};

/// A Transport endpoint on a memory_hub, with UDP semantics: send copies the bytes and returns at
/// once; delivery is asynchronous, posted to the receiver's executor; a full receive queue drops
/// (counted in stats()); datagrams over max_udp_payload are refused with asio::error::message_size;
/// a datagram to an unknown address is lost silently. A datagram sent to a group endpoint (see
/// join) reaches every member, the sender included if it joined.
/// Thread-safety: send, join, leave, stats and local_endpoint may be called from any thread;
/// async_receive and close from one thread at a time. At most one receive may be pending (a second
/// one completes with asio::error::already_started).
class memory_transport {
public:
    using executor_type = asio::any_io_executor;
    using options = memory_options;

    /// Attaches a new endpoint to `hub`, receiving on `ex`. Throws std::system_error
    /// (address_in_use) when the chosen address is taken.
    memory_transport(const memory_hub& hub, const executor_type& ex, const options& opt = {})
        : hub_(hub.state_), executor_(ex)
    {
        std::lock_guard lock(hub_->mutex);
        endpoint addr;
        if (opt.address) {
            addr = *opt.address;
            if (hub_->endpoints.contains(addr))
                throw std::system_error(std::make_error_code(std::errc::address_in_use),
                                        "tlvcast::memory_transport: " + addr.to_string() + " is taken");
        } else {
            do
                addr = detail::memory_hub_state::automatic(hub_->next_address++);
            while (hub_->endpoints.contains(addr));
        }
        mailbox_ = std::make_shared<detail::memory_mailbox>(addr, std::max<std::size_t>(opt.queue_limit, 1));
        hub_->endpoints.emplace(addr, mailbox_);
    }

    template <class ExecutionContext>
        requires std::is_convertible_v<ExecutionContext&, asio::execution_context&>
    memory_transport(const memory_hub& hub, ExecutionContext& ctx, const options& opt = {})
        : memory_transport(hub, executor_type(ctx.get_executor()), opt)
    {
    }

    memory_transport(memory_transport&&) noexcept = default;
    memory_transport& operator=(memory_transport&& other) noexcept
    {
        if (this != &other) {
            close();
            hub_ = std::move(other.hub_);
            mailbox_ = std::move(other.mailbox_);
            executor_ = std::move(other.executor_);
        }
        return *this;
    }
    ~memory_transport() { close(); }

    executor_type get_executor() const noexcept { return executor_; }

    /// This endpoint's address (kept after close).
    endpoint local_endpoint() const noexcept { return mailbox_ ? mailbox_->address : endpoint{}; }

    /// Joins the group `group`: datagrams sent to it are delivered here too. Thread-safe.
    void join(const endpoint& group)
    {
        if (!mailbox_)
            return;
        std::lock_guard lock(hub_->mutex);
        auto& members = hub_->groups[group];
        if (std::find(members.begin(), members.end(), mailbox_) == members.end())
            members.push_back(mailbox_);
    }

    /// Leaves the group `group` (nothing when not a member). Thread-safe.
    void leave(const endpoint& group)
    {
        if (!mailbox_)
            return;
        std::lock_guard lock(hub_->mutex);
        if (auto it = hub_->groups.find(group); it != hub_->groups.end()) {
            std::erase(it->second, mailbox_);
            if (it->second.empty())
                hub_->groups.erase(it);
        }
    }

    /// Sends a copy of `data` to `to` (an endpoint or a group). Errors: message_size over
    /// max_udp_payload, bad_descriptor after close. Never blocks on the receiver. Thread-safe.
    void send(const endpoint& to, std::span<const std::byte> data, std::error_code& ec)
    {
        ec.clear();
        if (!mailbox_ || is_closed()) {
            ec = asio::error::bad_descriptor;
            return;
        }
        if (data.size() > max_udp_payload) {
            ec = asio::error::message_size;
            return;
        }
        const endpoint from = mailbox_->address;
        // Deliveries run under the hub lock (hub then mailbox, never the reverse): a group send
        // needs no copy of the member list, and a closing member cannot be half-removed meanwhile.
        std::lock_guard lock(hub_->mutex);
        ++hub_->stats.sent;
        if (auto g = hub_->groups.find(to); g != hub_->groups.end()) {
            for (const auto& member : g->second)
                member->deliver(from, data);
            return;
        }
        if (auto it = hub_->endpoints.find(to); it != hub_->endpoints.end())
            it->second->deliver(from, data);
        else
            ++hub_->stats.no_route;
    }

    /// Sends every datagram of the batch; returns how many were accepted, `ec` is the first error
    /// (an oversized datagram is skipped, the rest still go). Thread-safe.
    std::size_t send(const datagram_batch& batch, std::error_code& ec)
    {
        ec.clear();
        std::size_t sent = 0;
        for (std::size_t i = 0; i < batch.size(); ++i) {
            std::error_code one;
            const auto e = batch[i];
            send(e.to, e.bytes, one);
            if (!one)
                ++sent;
            else if (!ec)
                ec = one;
            if (one == asio::error::bad_descriptor)
                break;
        }
        return sent;
    }

    /// Receives one datagram into `buffer` and its sender into `from`; completes with
    /// void(std::error_code, std::size_t) on the handler's executor, never inside this call.
    /// Errors: message_size (datagram longer than `buffer`, truncated copy delivered),
    /// operation_aborted (close() while pending), bad_descriptor (already closed),
    /// already_started (another receive pending).
    template <asio::completion_token_for<void(std::error_code, std::size_t)> Token>
    auto async_receive(std::span<std::byte> buffer, endpoint& from, Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code, std::size_t)>(
            [this](auto handler, std::span<std::byte> buf, endpoint* out) {
                this->start_receive(std::move(handler), buf, out);
            },
            token, buffer, &from);
    }

    /// Takes the oldest queued datagram at once (transport::try_receiving); would_block when the
    /// queue is empty, bad_descriptor when closed, message_size as async_receive.
    std::size_t try_receive(std::span<std::byte> buffer, endpoint& from, std::error_code& ec)
    {
        ec.clear();
        if (!mailbox_) {
            ec = asio::error::bad_descriptor;
            return 0;
        }
        std::lock_guard lock(mailbox_->mutex);
        ++mailbox_->stats.receive_calls;
        return take_one(buffer, from, ec);
    }

    /// Takes up to buffers.size() queued datagrams at once (transport::try_receiving_many), as
    /// recvmmsg does: sizes[i] > buffers[i].size() marks a truncated one. would_block when none
    /// waits, bad_descriptor when closed.
    std::size_t try_receive_many(std::span<const std::span<std::byte>> buffers, std::span<endpoint> from,
                                 std::span<std::size_t> sizes, std::error_code& ec)
    {
        ec.clear();
        if (!mailbox_) {
            ec = asio::error::bad_descriptor;
            return 0;
        }
        std::lock_guard lock(mailbox_->mutex);
        ++mailbox_->stats.receive_calls;
        const std::size_t most = std::min({buffers.size(), from.size(), sizes.size()});
        std::size_t n = 0;
        for (; n < most; ++n) {
            std::error_code one;
            const std::size_t whole = mailbox_->queue.empty() ? 0 : mailbox_->queue.front().bytes.size();
            take_one(buffers[n], from[n], one);
            if (one && one != asio::error::message_size) {
                if (n == 0)
                    ec = one;
                break;
            }
            sizes[n] = whole;
        }
        return n;
    }

private:
    // The oldest queued datagram into `buffer` (mailbox locked by the caller).
    std::size_t take_one(std::span<std::byte> buffer, endpoint& from, std::error_code& ec)
    {
        ec.clear();
        if (mailbox_->closed) {
            ec = asio::error::bad_descriptor;
            return 0;
        }
        if (mailbox_->queue.empty()) {
            ec = asio::error::would_block;
            return 0;
        }
        auto d = std::move(mailbox_->queue.front());
        mailbox_->queue.pop_front();
        ++mailbox_->stats.received;
        const std::size_t n = std::min(buffer.size(), d.bytes.size());
        if (n != 0)
            std::memcpy(buffer.data(), d.bytes.data(), n);
        if (d.bytes.size() > buffer.size())
            ec = asio::error::message_size;
        from = d.from;
        if (mailbox_->spare.size() < 64)
            mailbox_->spare.push_back(std::move(d.bytes));
        return n;
    }

public:
    /// Leaves the hub: a pending receive completes with operation_aborted, later sends fail with
    /// bad_descriptor, datagrams sent here are lost. Idempotent; never throws.
    void close() noexcept
    {
        if (!mailbox_)
            return;
        hub_->erase(mailbox_);
        detail::memory_receive_op* op = nullptr;
        {
            std::lock_guard lock(mailbox_->mutex);
            mailbox_->closed = true;
            mailbox_->queue.clear();
            op = std::exchange(mailbox_->pending, nullptr);
        }
        if (op)
            op->complete(asio::error::operation_aborted, 0);
    }

    /// Receive-side counters. Thread-safe.
    memory_stats stats() const
    {
        if (!mailbox_)
            return {};
        std::lock_guard lock(mailbox_->mutex);
        return mailbox_->stats;
    }

private:
    bool is_closed() const
    {
        std::lock_guard lock(mailbox_->mutex);
        return mailbox_->closed;
    }

    template <class Handler>
    void start_receive(Handler&& handler, std::span<std::byte> buffer, endpoint* from)
    {
        using op_type = detail::memory_receive_op_impl<std::decay_t<Handler>>;
        auto* op = new op_type(std::move(handler), executor_, buffer, from);
        if (!mailbox_) {
            op->complete(asio::error::bad_descriptor, 0);
            return;
        }
        std::unique_lock lock(mailbox_->mutex);
        ++mailbox_->stats.receive_calls;
        if (mailbox_->closed) {
            lock.unlock();
            op->complete(asio::error::bad_descriptor, 0);
            return;
        }
        if (mailbox_->pending) {
            lock.unlock();
            op->complete(asio::error::already_started, 0);
            return;
        }
        if (mailbox_->queue.empty()) {
            mailbox_->pending = op;
            return;
        }
        auto d = std::move(mailbox_->queue.front());
        mailbox_->queue.pop_front();
        ++mailbox_->stats.received;
        const auto [ec, n] = op->fill(d.from, d.bytes);
        // A few recycled buffers make steady traffic allocation-free without hoarding memory.
        if (mailbox_->spare.size() < 64)
            mailbox_->spare.push_back(std::move(d.bytes));
        lock.unlock();
        op->complete(ec, n);
    }

    std::shared_ptr<detail::memory_hub_state> hub_;
    std::shared_ptr<detail::memory_mailbox> mailbox_;
    executor_type executor_;
};

static_assert(transport<memory_transport>, "memory_transport must model tlvcast::transport::transport");
static_assert(try_receiving_many<memory_transport>);

} // namespace tlvcast::transport
