// SPDX-License-Identifier: BSL-1.0
// basic_relay: the relay engine driven by a Transport on a strand; expensive deliveries run as jobs
// on a worker pool.
#pragma once

#include <tlvcast/core/relay_engine.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/transport/concepts.hpp>
#include <tlvcast/transport/send_queue.hpp>

#include <asio.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <thread>
#include <vector>

namespace tlvcast::core {

/// How the relay driver uses the machine.
struct relay_driver_options {
    unsigned threads = 0;         ///< workers for expensive deliveries (crypto::cheap_delivery false); 0: one per core
    std::size_t max_queued = 4096; ///< deliveries waiting for a worker; beyond, dropped and counted (overloaded)
    /// Datagrams taken without waiting after each completed receive (transport::try_receiving)
    /// before their outputs leave in one batch: fewer reactor passes and send calls under load,
    /// and a bound on how long the strand keeps the timer and the jobs waiting.
    std::size_t receive_burst = 64;
    /// With a Transport that takes many at once (transport::try_receiving_many): full bursts read
    /// in a row before going back to the reactor, each burst's outputs sent in one batch; a short
    /// burst ends it sooner (the socket was empty). Bounds how long timers and jobs wait.
    std::size_t receive_rounds = 16;
};

/// A relay. The engine runs on a strand of the Transport's executor: receives, timers and the
/// completion of jobs. A Cipher whose delivery is expensive (the seed profile's RSA) has its
/// deliveries run as jobs on a pool of workers, one per core, which use no lock of the engine;
/// a cheap one delivers where the message arrived. Sends never block: a full socket buffer puts
/// the rest in a bounded backlog (transport::send_queue). The timer follows the engine's
/// next_timer(). Events go to the handler given to start(), on the strand.
template <class Transport, class Cipher, class Fragmenter>
class basic_relay {
    static_assert(transport::transport<Transport>,
                  "Transport does not model tlvcast::transport::transport (see transport/concepts.hpp)");

public:
    using engine_type = relay_engine<Cipher, Fragmenter>;
    using executor_type = typename Transport::executor_type;
    using event_handler = std::function<void(const relay_event&)>;

    basic_relay(Transport transport, Cipher cipher, Fragmenter fragmenter = {}, relay_options options = {},
                relay_driver_options driver = {})
        : transport_(std::move(transport)), strand_(asio::make_strand(transport_.get_executor())),
          engine_(std::move(cipher), std::move(fragmenter), with_jobs(options, driver)), timer_(strand_),
          sender_(transport_, strand_), receive_burst_(std::max<std::size_t>(driver.receive_burst, 1)),
          receive_rounds_(std::max<std::size_t>(driver.receive_rounds, 1))
    {
        if constexpr (transport::try_receiving_many<Transport>) {
            // Not zeroed: the kernel touches only the pages it writes.
            const std::size_t n = receive_burst_ - 1;
            burst_storage_.reset(new std::byte[n * burst_buffer_size]);
            for (std::size_t i = 0; i < n; ++i)
                burst_buffers_.emplace_back(burst_storage_.get() + i * burst_buffer_size, burst_buffer_size);
            burst_from_.resize(n);
            burst_sizes_.resize(n);
        }
        if constexpr (!crypto::cheap_delivery<Cipher> && engine_type::opaque == false)
            pool_.emplace(driver.threads ? driver.threads : std::max(1u, std::thread::hardware_concurrency()));
    }

    /// Stops without waiting for an io_context: call it only when no thread runs the transport's
    /// executor (or use async_stop()).
    ~basic_relay() { stop(); }

    executor_type get_executor() const { return transport_.get_executor(); }

    /// Starts receiving and the engine's timer. `on_event` may be empty.
    void start(event_handler on_event = {})
    {
        asio::dispatch(strand_, [this, h = std::move(on_event)]() mutable {
            on_event_ = std::move(h);
            running_ = true;
            receive();
            arm_timer();
        });
    }

    /// Stops receiving, lets the jobs that run finish (their results are dropped), closes the
    /// transport. Completes once nothing of the relay runs any more: then no event or counter
    /// changes. Signature: void(std::error_code). Idempotent.
    template <class Token>
    auto async_stop(Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code)>(
            [this](auto handler) {
                asio::dispatch(strand_, [this, h = std::move(handler)]() mutable {
                    shut_down();
                    stop_waiters_.push_back(
                        [h = std::move(h)]() mutable { std::move(h)(std::error_code{}); });
                    maybe_stopped();
                });
            },
            token);
    }

    /// The synchronous stop, for when no thread runs the transport's executor (before io.run() or
    /// after it returned): joins the workers and closes the transport. Idempotent.
    void stop()
    {
        if (pool_)
            pool_->join();
        shut_down();
    }

    /// Runs `f(engine, now, out, events)` on the strand while the relay runs, then sends the
    /// datagrams it appended and reports its events: how work from outside the UDP path (the
    /// federation's receptions, docs/FEDERATION.md) reaches the engine. Thread-safe; after stop()
    /// nothing runs.
    template <class F>
    void post_to_engine(F f)
    {
        asio::post(strand_, [this, f = std::move(f)]() mutable {
            if (!running_)
                return;
            f(engine_, clock::now(), out_, events_);
            flush();
        });
    }

    /// The engine, for counters: read them from any thread (they are atomic); everything else
    /// from the strand, or when the relay is stopped.
    const engine_type& engine() const noexcept { return engine_; }
    const Transport& transport() const noexcept { return transport_; }

private:
    static relay_options with_jobs(relay_options o, const relay_driver_options& d)
    {
        o.defer_jobs = true;
        o.max_jobs = d.max_queued;
        return o;
    }

    void shut_down()
    {
        if (closed_)
            return;
        running_ = false;
        closed_ = true;
        timer_.cancel();
        sender_.cancel();
        transport_.close();
    }

    void maybe_stopped()
    {
        if (!closed_ || in_flight_ != 0)
            return;
        auto waiters = std::move(stop_waiters_);
        stop_waiters_.clear();
        for (auto& w : waiters)
            w();
    }

    void receive()
    {
        if (!running_)
            return;
        transport_.async_receive(std::span<std::byte>(buffer_), from_,
                                 asio::bind_executor(strand_, [this](std::error_code ec, std::size_t n) {
                                     if (!running_)
                                         return;
                                     if (!ec) {
                                         engine_.handle(from_, std::span<const std::byte>(buffer_.data(), n),
                                                        clock::now(), out_, events_);
                                         drain();
                                         run_jobs();
                                         flush();
                                     }
                                     // A transient error (ICMP port unreachable) must not stop receiving.
                                     if (ec != asio::error::operation_aborted)
                                         receive();
                                 }));
    }

    // Handles what already waits in the transport. Where the Transport takes many at once: bursts
    // of receive_burst - 1 (one recvmmsg each) until one comes back short, at most receive_rounds;
    // a full burst's outputs leave (one batch send) before the next is read, the last one's when
    // the caller flushes. Else up to receive_burst datagrams one by one.
    void drain()
    {
        if constexpr (transport::try_receiving_many<Transport>) {
            if (burst_buffers_.empty())
                return; // receive_burst 1: one datagram per receive
            for (std::size_t round = 0; round < receive_rounds_ && running_; ++round) {
                std::error_code ec;
                const std::size_t n = transport_.try_receive_many(burst_buffers_, burst_from_, burst_sizes_, ec);
                const time_point now = clock::now(); // one reading per burst: they arrived together
                for (std::size_t i = 0; i < n && running_; ++i)
                    if (burst_sizes_[i] <= burst_buffers_[i].size()) // else truncated: dropped, as message_size
                        engine_.handle(burst_from_[i],
                                       std::span<const std::byte>(burst_buffers_[i].data(), burst_sizes_[i]), now,
                                       out_, events_);
                // Short (would_block included): the socket was empty a moment ago. A full burst
                // leaves before the next is read, so outputs never wait on more input.
                if (n < burst_buffers_.size() || !running_)
                    return;
                run_jobs();
                flush();
            }
        } else if constexpr (transport::try_receiving<Transport>) {
            for (std::size_t i = 1; i < receive_burst_ && running_; ++i) {
                std::error_code ec;
                const std::size_t n = transport_.try_receive(std::span<std::byte>(buffer_), from_, ec);
                if (ec == asio::error::would_block || ec == asio::error::try_again)
                    return;
                if (!ec)
                    engine_.handle(from_, std::span<const std::byte>(buffer_.data(), n), clock::now(), out_,
                                   events_);
                else if (ec != asio::error::message_size && ec != asio::error::connection_refused)
                    return; // closed or failing: the pending receive reports it
            }
        }
    }

    // Hands waiting jobs to the workers; each comes back to the strand to complete.
    void run_jobs()
    {
        // An opaque-forwarding Cipher has no open/seal_relayed: its engine never makes jobs.
        if constexpr (Cipher::forwarding == crypto::forwarding::reseal)
            run_jobs_reseal();
    }

    void run_jobs_reseal()
        requires(Cipher::forwarding == crypto::forwarding::reseal)
    {
        std::unique_ptr<typename engine_type::job_type> job;
        while (engine_.poll_job(job)) {
            ++in_flight_;
            // The guard keeps the io_context running until the job is back on the strand.
            asio::post(*pool_, [this, j = std::move(job),
                                guard = asio::prefer(transport_.get_executor(),
                                                     asio::execution::outstanding_work.tracked)]() mutable {
                j->run(engine_.cipher());
                asio::post(strand_, [this, j = std::move(j), guard = std::move(guard)]() mutable {
                    --in_flight_;
                    if (running_) {
                        engine_.complete(std::move(j), clock::now(), out_, events_);
                        flush();
                    }
                    maybe_stopped();
                });
            });
        }
    }

    void flush()
    {
        if (!out_.empty()) {
            const auto r = sender_.send(out_, [this](const transport::send_report& later) { count(later); });
            count(r);
            out_.clear();
        }
        if (!events_.empty()) {
            if (on_event_)
                for (const auto& e : events_)
                    on_event_(e);
            events_.clear();
        }
        arm_timer();
    }

    void count(const transport::send_report& r)
    {
        if (r.failed)
            engine_.note(relay_counter::send_errors, r.failed);
        if (r.backlogged)
            engine_.note(relay_counter::send_backlogged, r.backlogged);
    }

    void arm_timer()
    {
        if (!running_)
            return;
        const time_point next = engine_.next_timer();
        if (next == no_timer || next == armed_for_)
            return;
        armed_for_ = next;
        timer_.expires_at(next);
        timer_.async_wait(asio::bind_executor(strand_, [this](std::error_code ec) {
            if (ec || !running_)
                return;
            armed_for_ = no_timer;
            engine_.on_timer(clock::now(), out_, events_);
            flush();
        }));
    }

    Transport transport_;
    asio::strand<executor_type> strand_;
    engine_type engine_;
    asio::basic_waitable_timer<clock, asio::wait_traits<clock>, asio::strand<executor_type>> timer_;
    transport::send_queue<Transport, asio::strand<executor_type>> sender_;
    std::optional<asio::thread_pool> pool_;
    event_handler on_event_;
    std::vector<std::function<void()>> stop_waiters_;
    std::vector<std::byte> buffer_ = std::vector<std::byte>(65536);
    endpoint from_{};
    datagram_batch out_;
    std::vector<relay_event> events_;
    time_point armed_for_ = no_timer;
    std::size_t receive_burst_, receive_rounds_;
    // The burst's receive buffers (transport::try_receiving_many), each as large as any datagram.
    static constexpr std::size_t burst_buffer_size = 65536;
    std::unique_ptr<std::byte[]> burst_storage_;
    std::vector<std::span<std::byte>> burst_buffers_;
    std::vector<endpoint> burst_from_;
    std::vector<std::size_t> burst_sizes_;
    std::size_t in_flight_ = 0;
    bool running_ = false, closed_ = false;
};

} // namespace tlvcast::core
