// SPDX-License-Identifier: BSL-1.0
// basic_client: the client engine driven by a Transport on an Asio executor, with an async API.
#pragma once

#include <tlvcast/core/client_engine.hpp>
#include <tlvcast/core/detail/unique_function.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/transport/concepts.hpp>
#include <tlvcast/transport/send_queue.hpp>

#include <asio.hpp>

#include <algorithm>
#include <array>
#include <deque>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace tlvcast::core {

/// How the client driver reads its socket.
struct client_driver_options {
    /// With a Transport that takes many at once (transport::try_receiving_many): after each
    /// completed receive, bursts of up to receive_burst - 1 datagrams (one recvmmsg each) are
    /// handled before the outputs leave in one batch and the events are handed out; 1: one
    /// datagram per receive. Each buffer is as large as any datagram (64 KiB).
    std::size_t receive_burst = 16;
    /// Full bursts read in a row at most, before going back to the reactor (timers wait meanwhile).
    std::size_t receive_rounds = 8;
    /// async_close() first waits, at most this long, until the relay acknowledged what was sent
    /// (client_engine::unacknowledged() is 0), so that a program that sends and exits does not
    /// lose its tail; 0: close at once.
    duration close_linger = std::chrono::seconds(3);
    /// async_wait_writable() operations waiting at most; beyond, they complete with overloaded.
    std::size_t max_writable_waiters = 64;
};

/// A client of one relay. Transport, Cipher and Fragmenter are policies (see their concepts).
/// Asynchronous operations follow Asio: each takes a completion token (a callback, asio::use_future,
/// asio::use_awaitable, ...). All engine work runs on a strand of the transport's executor, so the
/// io_context may run on several threads. Keep the object alive until async_close() completed.
template <class Transport, class Cipher, class Fragmenter>
class basic_client {
    static_assert(transport::transport<Transport>,
                  "Transport does not model tlvcast::transport::transport (see transport/concepts.hpp)");

public:
    using engine_type = client_engine<Cipher, Fragmenter>;
    using executor_type = typename Transport::executor_type;

    basic_client(Transport transport, Cipher cipher, Fragmenter fragmenter = {}, client_options options = {},
                 client_driver_options driver = {})
        : transport_(std::move(transport)), strand_(asio::make_strand(transport_.get_executor())),
          timer_(strand_), engine_(std::move(cipher), std::move(fragmenter), std::move(options)),
          sender_(transport_, strand_), receive_rounds_(std::max<std::size_t>(driver.receive_rounds, 1)),
          close_linger_(driver.close_linger), max_writable_waiters_(driver.max_writable_waiters), linger_(strand_)
    {
        if constexpr (transport::try_receiving_many<Transport>) {
            const std::size_t n = std::max<std::size_t>(driver.receive_burst, 1) - 1;
            if (n != 0) // not zeroed: the kernel touches only the pages it writes
                burst_storage_.reset(new std::byte[n * burst_buffer_size]);
            for (std::size_t i = 0; i < n; ++i)
                burst_buffers_.emplace_back(burst_storage_.get() + i * burst_buffer_size, burst_buffer_size);
            burst_from_.resize(n);
            burst_sizes_.resize(n);
        }
    }

    executor_type get_executor() const { return transport_.get_executor(); }

    /// Registers with the relay (retrying as the options say). Completes with no error once the
    /// relay answered, or errc::no_relay. Signature: void(std::error_code).
    template <class Token>
    auto async_register(Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code)>(
            [this](auto handler) {
                asio::dispatch(strand_, [this, h = wrap<std::error_code>(std::move(handler))]() mutable {
                    if (closed_)
                        return h(make_error_code(errc::shut_down));
                    if (engine_.current_state() == engine_type::state::established)
                        return h(std::error_code{});
                    register_handler_ = std::move(h);
                    if (engine_.current_state() == engine_type::state::idle) {
                        engine_.start(clock::now(), out_);
                        pump();
                        start_receive();
                    }
                });
            },
            token);
    }

    /// Sends one message (its bytes are copied before this returns). Completes once its datagrams
    /// were handed to the transport. Errors: not_ready, message_too_large, reserved_text, shut_down,
    /// would_block (the window to the relay is full: nothing was sent or queued; wait with
    /// async_wait_writable() and send again).
    template <class Token>
    auto async_send(std::span<const std::byte> message, Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code)>(
            [this](auto handler, std::vector<std::byte> copy) {
                asio::dispatch(strand_, [this, copy = std::move(copy),
                                         h = wrap<std::error_code>(std::move(handler))]() mutable {
                    std::error_code ec;
                    engine_.send(copy, clock::now(), out_, ec);
                    pump();
                    h(ec);
                });
            },
            token, std::vector<std::byte>(message.begin(), message.end()));
    }
    template <class Token>
    auto async_send(std::string_view text, Token&& token)
    {
        return async_send(wire::as_bytes(text), std::forward<Token>(token));
    }

    /// Sends several messages at once (copied before this returns): a profile that can packs them
    /// under one signature per datagram (client_engine::send_batch). Completes as async_send.
    template <class Token>
    auto async_send_batch(std::vector<std::vector<std::byte>> messages, Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code)>(
            [this](auto handler, std::vector<std::vector<std::byte>> batch) {
                asio::dispatch(strand_, [this, batch = std::move(batch),
                                         h = wrap<std::error_code>(std::move(handler))]() mutable {
                    const std::vector<std::span<const std::byte>> views(batch.begin(), batch.end());
                    send_batch_now(views, std::move(h));
                });
            },
            token, std::move(messages));
    }

    /// async_send_batch() without copying: the caller keeps every byte `messages` views (and the
    /// views) alive and unchanged until completion, as for asio::async_write (basic_batcher does).
    template <class Token>
    auto async_send_batch(std::span<const std::span<const std::byte>> messages, Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code)>(
            [this, messages](auto handler) {
                asio::dispatch(strand_, [this, messages, h = wrap<std::error_code>(std::move(handler))]() mutable {
                    send_batch_now(messages, std::move(h));
                });
            },
            token);
    }

    /// Sends one large message (client_engine::send_large: up to 16 MiB by default, in parts),
    /// without copying it: the caller keeps `message` alive and unchanged until completion, as for
    /// asio::async_write. A full window is waited for (async_wait_writable), never an error.
    /// Completes once every part was handed to the transport. One at a time: errc::overloaded while
    /// another is under way. Errors: send_large's but would_block, shut_down (closed meanwhile:
    /// receivers drop what they got of it). Profiles with large messages only. Signature:
    /// void(std::error_code).
    template <class Token>
    auto async_send_large(std::span<const std::byte> message, Token&& token)
        requires engine_type::large_messages
    {
        return asio::async_initiate<Token, void(std::error_code)>(
            [this, message](auto handler) {
                asio::dispatch(strand_, [this, message, h = wrap<std::error_code>(std::move(handler))]() mutable {
                    if (sending_large_)
                        return h(make_error_code(errc::overloaded));
                    sending_large_ = true;
                    send_large_step(message, std::move(h));
                });
            },
            token);
    }

    /// Completes when a send would pass the flow control (client_engine::writable()): at once when
    /// it does, else once the relay's ACKs opened the window. Errors: shut_down (closed meanwhile),
    /// overloaded (more than max_writable_waiters wait). Signature: void(std::error_code).
    template <class Token>
    auto async_wait_writable(Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code)>(
            [this](auto handler) {
                asio::dispatch(strand_, [this, h = wrap<std::error_code>(std::move(handler))]() mutable {
                    if (closed_)
                        return h(make_error_code(errc::shut_down));
                    if (engine_.writable())
                        return h(std::error_code{});
                    if (writable_waiters_.size() >= max_writable_waiters_)
                        return h(make_error_code(errc::overloaded));
                    writable_waiters_.push_back(std::move(h));
                });
            },
            token);
    }

    /// Waits for the next event (message, presence, registration...). Signature:
    /// void(std::error_code, client_event); errc::shut_down after close.
    template <class Token>
    auto async_receive(Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code, client_event)>(
            [this](auto handler) {
                asio::dispatch(strand_, [this, h = wrap<std::error_code, client_event>(std::move(handler))]() mutable {
                    receivers_.push_back(std::move(h));
                    deliver();
                });
            },
            token);
    }

    /// Waits (at most close_linger) until the relay acknowledged everything sent, or the repair
    /// layer gave it up; then announces departure (the profile's leave message) when registered,
    /// stops the timer and closes the transport; pending operations complete with errc::shut_down.
    /// Signature: void(std::error_code).
    template <class Token>
    auto async_close(Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code)>(
            [this](auto handler) {
                asio::dispatch(strand_, [this, h = wrap<std::error_code>(std::move(handler))]() mutable {
                    close_handlers_.push_back(std::move(h));
                    if (closed_)
                        return finish_close();
                    if (lingering_)
                        return;
                    if (engine_.unacknowledged() == 0 || close_linger_ <= duration::zero() ||
                        engine_.current_state() != engine_type::state::established)
                        return finish_close();
                    // Bounded: the ACKs (checked in pump) or the linger timer, whichever first.
                    lingering_ = true;
                    linger_.expires_after(close_linger_);
                    linger_.async_wait([this](std::error_code) { finish_close(); });
                });
            },
            token);
    }

    /// The engine, for state and counters. Read it from the strand, or when the io_context is idle.
    const engine_type& engine() const noexcept { return engine_; }
    const Transport& transport() const noexcept { return transport_; }

private:
    // On the strand: both async_send_batch()s.
    void send_batch_now(std::span<const std::span<const std::byte>> messages,
                        detail::unique_function<void(std::error_code)> h)
    {
        std::error_code ec;
        engine_.send_batch(messages, clock::now(), out_, ec);
        pump();
        h(ec);
    }

    // One round of a large message: the parts the window lets through; then a wait for the window
    // (a writable waiter that posts the next round), or the end.
    void send_large_step(std::span<const std::byte> message, detail::unique_function<void(std::error_code)> h)
    {
        std::error_code ec = closed_ ? make_error_code(errc::shut_down) : std::error_code{};
        if (!ec)
            engine_.send_large(message, clock::now(), out_, ec);
        pump();
        if (ec == errc::would_block && !closed_) {
            writable_waiters_.push_back([this, message, h = std::move(h)](std::error_code wec) mutable {
                if (wec)
                    return end_large(std::move(h), wec);
                asio::post(strand_, [this, message, h = std::move(h)]() mutable { send_large_step(message, std::move(h)); });
            });
            return;
        }
        end_large(std::move(h), ec == errc::would_block ? make_error_code(errc::shut_down) : ec);
    }
    void end_large(detail::unique_function<void(std::error_code)> h, std::error_code ec)
    {
        if (ec)
            engine_.cancel_large();
        sending_large_ = false;
        h(ec);
    }

    void finish_close()
    {
        if (!closed_) {
            lingering_ = false;
            linger_.cancel();
            engine_.close(clock::now(), out_);
            flush();
            closed_ = true;
            timer_.cancel();
            sender_.cancel();
            transport_.close();
            if (register_handler_)
                register_handler_(make_error_code(errc::shut_down));
            for (auto& w : writable_waiters_)
                w(make_error_code(errc::shut_down));
            writable_waiters_.clear();
            deliver();
        }
        for (auto& h : close_handlers_)
            h(std::error_code{});
        close_handlers_.clear();
    }

    // Stores a handler so that it later runs on its own associated executor, never inline. No
    // separate work guard is kept: the client's own pending receive keeps its io_context running
    // until close, and a guard copy outliving the handler would destroy a use_future promise on
    // another thread than the one that set it.
    template <class... Args, class Handler>
    detail::unique_function<void(Args...)> wrap(Handler handler)
    {
        return [this, h = std::move(handler)](Args... args) mutable {
            auto ex = asio::get_associated_executor(h, strand_);
            asio::post(ex, [h = std::move(h), ... a = std::move(args)]() mutable { std::move(h)(std::move(a)...); });
        };
    }

    void start_receive()
    {
        if (closed_)
            return;
        transport_.async_receive(std::span<std::byte>(buffer_), from_,
                                 asio::bind_executor(strand_, [this](std::error_code ec, std::size_t n) {
                                     if (closed_)
                                         return;
                                     if (!ec) {
                                         engine_.handle(from_, std::span<const std::byte>(buffer_.data(), n),
                                                        clock::now(), out_);
                                         drain();
                                         pump();
                                     }
                                     // A transient error (e.g. ICMP port unreachable) must not stop receiving.
                                     if (ec != asio::error::operation_aborted)
                                         start_receive();
                                 }));
    }

    // Handles what already waits, in bursts (one try_receive_many each) until one comes back
    // short, at most receive_rounds_; a full burst's outputs leave before the next is read, the
    // last one's (and every event) in the caller's pump().
    void drain()
    {
        if constexpr (transport::try_receiving_many<Transport>) {
            for (std::size_t round = 0; round < receive_rounds_ && !burst_buffers_.empty() && !closed_; ++round) {
                std::error_code ec;
                const std::size_t n = transport_.try_receive_many(burst_buffers_, burst_from_, burst_sizes_, ec);
                const time_point now = clock::now(); // one reading per burst: they arrived together
                for (std::size_t i = 0; i < n; ++i)
                    if (burst_sizes_[i] <= burst_buffers_[i].size()) // else truncated: dropped
                        engine_.handle(burst_from_[i],
                                       std::span<const std::byte>(burst_buffers_[i].data(), burst_sizes_[i]), now,
                                       out_);
                if (n < burst_buffers_.size())
                    return;
                flush();
            }
        }
    }
    // After every engine call: send its datagrams, hand out its events, re-arm the timer.
    void pump()
    {
        flush();
        client_event ev;
        while (engine_.poll_event(ev)) {
            if (register_handler_ && (ev.what == client_event::kind::registered || ev.what == client_event::kind::failed))
                register_handler_(ev.error);
            if (events_.size() >= max_buffered_events)
                events_.pop_front();
            events_.push_back(std::move(ev));
        }
        deliver();
        if (!writable_waiters_.empty() && engine_.writable()) {
            auto waiters = std::move(writable_waiters_);
            writable_waiters_.clear();
            for (auto& w : waiters)
                w(std::error_code{});
        }
        if (lingering_ && engine_.unacknowledged() == 0)
            return finish_close();
        arm_timer();
    }

    // Sends what the engine produced. A full socket buffer (a large message is hundreds of
    // datagrams at once) is back-pressure: the rest waits in the send queue's bounded backlog, so
    // nothing accepted by async_send is dropped while the backlog has room.
    void flush()
    {
        if (out_.empty())
            return;
        count(sender_.send(out_, [this](const transport::send_report& r) { count(r); }));
        out_.clear();
    }

    void count(const transport::send_report& r)
    {
        if (r.failed)
            engine_.note(client_counter::send_errors, r.failed);
        if (r.backlogged)
            engine_.note(client_counter::send_retries, r.backlogged);
    }

    void deliver()
    {
        while (!receivers_.empty() && (!events_.empty() || closed_)) {
            auto h = std::move(receivers_.front());
            receivers_.pop_front();
            if (events_.empty()) {
                h(make_error_code(errc::shut_down), client_event{});
            } else {
                h(std::error_code{}, std::move(events_.front()));
                events_.pop_front();
            }
        }
    }

    void arm_timer()
    {
        if (closed_)
            return;
        const time_point next = engine_.next_timer();
        if (next == no_timer || next == armed_for_)
            return;
        armed_for_ = next;
        timer_.expires_at(next);
        timer_.async_wait(asio::bind_executor(strand_, [this](std::error_code ec) {
            if (ec || closed_)
                return;
            armed_for_ = no_timer;
            engine_.on_timer(clock::now(), out_);
            pump();
        }));
    }

    static constexpr std::size_t max_buffered_events = 4096;

    Transport transport_;
    asio::strand<executor_type> strand_;
    asio::basic_waitable_timer<clock, asio::wait_traits<clock>, asio::strand<executor_type>> timer_;
    engine_type engine_;
    transport::send_queue<Transport, asio::strand<executor_type>> sender_;
    datagram_batch out_;
    std::array<std::byte, 65536> buffer_{};
    std::size_t receive_rounds_;
    // The bursts' receive buffers (transport::try_receiving_many), each as large as any datagram.
    static constexpr std::size_t burst_buffer_size = 65536;
    std::unique_ptr<std::byte[]> burst_storage_;
    std::vector<std::span<std::byte>> burst_buffers_;
    std::vector<endpoint> burst_from_;
    std::vector<std::size_t> burst_sizes_;
    endpoint from_{};
    time_point armed_for_ = no_timer;
    bool closed_ = false;
    detail::unique_function<void(std::error_code)> register_handler_;
    std::deque<detail::unique_function<void(std::error_code, client_event)>> receivers_;
    std::deque<client_event> events_;
    duration close_linger_;
    std::size_t max_writable_waiters_;
    asio::basic_waitable_timer<clock, asio::wait_traits<clock>, asio::strand<executor_type>> linger_;
    bool lingering_ = false;
    bool sending_large_ = false; ///< an async_send_large is under way
    std::vector<detail::unique_function<void(std::error_code)>> writable_waiters_, close_handlers_;
};

} // namespace tlvcast::core
