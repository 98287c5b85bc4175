// SPDX-License-Identifier: BSL-1.0
// basic_faulty: a Transport decorator that drops, duplicates, reorders and delays what it sends.
#pragma once

#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/transport/concepts.hpp>
#include <tlvcast/transport/fault_model.hpp>
#include <tlvcast/transport/memory.hpp>

#include <asio.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <system_error>
#include <utility>

namespace tlvcast::transport {

/// Wraps a Transport and applies a seeded fault_queue to everything sent through it (receiving is
/// passed through untouched: put a basic_faulty on each side to make both directions lossy).
/// Held datagrams (delayed or reordered) go out from a steady_timer on the transport's executor.
/// Faults are invisible to the sender, as on a real network: a dropped datagram counts as sent.
/// Thread-safety: none of its own; use it from the executor's thread (the timer runs there).
template <class Transport>
class basic_faulty {
    static_assert(tlvcast::transport::transport<Transport>,
                  "basic_faulty<Transport>: Transport must model tlvcast::transport::transport");

public:
    using executor_type = typename Transport::executor_type;
    using next_layer_type = Transport;

    /// Builds the wrapped transport in place from `args`. Throws std::invalid_argument for invalid
    /// fault options, and whatever the transport's constructor throws.
    template <class... Args>
    explicit basic_faulty(const fault_options& faults, Args&&... args)
        : impl_(std::make_shared<impl>(faults, std::forward<Args>(args)...))
    {
    }

    basic_faulty(basic_faulty&&) noexcept = default;
    basic_faulty& operator=(basic_faulty&&) noexcept = default;
    ~basic_faulty()
    {
        if (impl_)
            impl_->timer.cancel();
    }

    executor_type get_executor() { return impl_->next.get_executor(); }
    endpoint local_endpoint() const { return impl_->next.local_endpoint(); }

    /// Submits one datagram to the faults; what goes out now is sent through the wrapped transport.
    /// `ec` is the wrapped transport's error for the datagrams sent now.
    void send(const endpoint& to, std::span<const std::byte> data, std::error_code& ec)
    {
        impl& s = *impl_;
        if (s.closed) {
            ec = asio::error::bad_descriptor;
            return;
        }
        s.out.clear();
        s.queue.submit(to, data, clock::now(), s.out);
        flush(ec);
    }

    /// Submits every datagram of the batch, then sends what is due in one batch. Returns
    /// batch.size() when the wrapped transport reported no error, otherwise the count it accepted
    /// (at most batch.size()), an approximation since faults change the number of datagrams.
    std::size_t send(const datagram_batch& batch, std::error_code& ec)
    {
        impl& s = *impl_;
        if (s.closed) {
            ec = asio::error::bad_descriptor;
            return 0;
        }
        s.out.clear();
        const time_point now = clock::now();
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const auto e = batch[i];
            s.queue.submit(e.to, e.bytes, now, s.out);
        }
        const std::size_t sent = flush(ec);
        return ec ? std::min(sent, batch.size()) : batch.size();
    }

    /// The wrapped transport's receive, unchanged.
    template <asio::completion_token_for<void(std::error_code, std::size_t)> Token>
    auto async_receive(std::span<std::byte> buffer, endpoint& from, Token&& token)
    {
        return impl_->next.async_receive(buffer, from, std::forward<Token>(token));
    }

    /// Discards held datagrams (counted), stops the timer and closes the wrapped transport; later
    /// sends fail with asio::error::bad_descriptor.
    void close()
    {
        impl_->closed = true;
        impl_->timer.cancel();
        impl_->armed = no_timer;
        impl_->queue.clear();
        impl_->next.close();
    }

    /// What the faults did so far.
    const fault_counters& counters() const noexcept { return impl_->queue.counters(); }
    /// Datagrams held back now.
    std::size_t held() const noexcept { return impl_->queue.held(); }
    /// Errors of the wrapped transport when held datagrams went out from the timer (no caller to tell).
    std::uint64_t late_send_errors() const noexcept { return impl_->late_send_errors; }

    next_layer_type& next_layer() noexcept { return impl_->next; }
    const next_layer_type& next_layer() const noexcept { return impl_->next; }

private:
    using timer_type = asio::basic_waitable_timer<clock, asio::wait_traits<clock>, executor_type>;

    // The state lives on the heap so that a timer handler finishing after the wrapper died (or
    // moved) finds out through its weak_ptr instead of touching freed memory.
    struct impl {
        template <class... Args>
        explicit impl(const fault_options& faults, Args&&... args)
            : queue(faults), next(std::forward<Args>(args)...), timer(next.get_executor())
        {
        }
        fault_queue queue;
        Transport next;
        timer_type timer;
        datagram_batch out;
        time_point armed = no_timer; // when the pending timer wait fires, no_timer when none
        std::uint64_t late_send_errors = 0;
        bool closed = false;
    };

    std::size_t flush(std::error_code& ec)
    {
        ec.clear();
        std::size_t sent = 0;
        if (!impl_->out.empty())
            sent = impl_->next.send(impl_->out, ec);
        schedule(impl_);
        return sent;
    }

    static void schedule(const std::shared_ptr<impl>& s)
    {
        const time_point wake = s->queue.next_wake();
        if (wake == no_timer || wake >= s->armed)
            return;
        s->armed = wake;
        s->timer.expires_at(wake); // cancels an earlier wait, whose handler then does nothing
        s->timer.async_wait([weak = std::weak_ptr<impl>(s)](std::error_code ec) {
            if (ec == asio::error::operation_aborted)
                return;
            const auto self = weak.lock();
            if (!self)
                return;
            self->armed = no_timer;
            self->out.clear();
            self->queue.poll(clock::now(), self->out);
            if (!self->out.empty()) {
                std::error_code send_ec;
                self->next.send(self->out, send_ec);
                if (send_ec)
                    ++self->late_send_errors;
            }
            schedule(self);
        });
    }

    std::shared_ptr<impl> impl_;
};

/// A faulty in-process network endpoint: the usual test and simulation set-up.
using faulty_memory_transport = basic_faulty<memory_transport>;

static_assert(transport<faulty_memory_transport>, "basic_faulty<T> must itself model tlvcast::transport::transport");

} // namespace tlvcast::transport
