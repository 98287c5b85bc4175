// basic_relay: the relay engine driven by a Transport, with its public-key work on a thread pool.
#pragma once

#include <tlvcast/core/relay_engine.hpp>
#include <tlvcast/transport/concepts.hpp>

#include <asio.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace tlvcast::core {

/// How the relay driver uses the machine.
struct relay_driver_options {
    unsigned threads = 0;             ///< workers for datagram handling; 0: one per core
    std::size_t max_queued = 4096;    ///< datagrams waiting for a worker; beyond, dropped and counted
};

/// A relay: receives on the Transport's executor, where the engine's cheap stage runs (parsing,
/// handshakes, reassembly); each completed message goes to a worker pool where it is opened and
/// re-sealed for its recipients in parallel, and the worker sends the results. A Cipher whose
/// delivery is cheap (crypto::cheap_delivery: symmetric work only) delivers on the receiving thread
/// instead: a hand-off would cost more than the work. The Transport's send() must be safe to call from several threads at once while a
/// receive is pending (both tlvcast transports are). Events go to the handler given to start(),
/// called from worker threads one at a time.
template <class Transport, class Cipher, class Fragmenter>
class basic_relay {
    static_assert(transport::transport<Transport>,
                  "Transport does not model tlvcast::transport::transport (see transport/concepts.hpp)");

public:
    using engine_type = relay_engine<Cipher, Fragmenter>;
    using event_handler = std::function<void(const relay_event&)>;

    basic_relay(Transport transport, Cipher cipher, Fragmenter fragmenter = {}, relay_options options = {},
                relay_driver_options driver = {})
        : transport_(std::move(transport)), engine_(std::move(cipher), std::move(fragmenter), options),
          driver_(driver),
          pool_(driver.threads ? driver.threads : std::max(1u, std::thread::hardware_concurrency())),
          timer_(transport_.get_executor()),
          tick_(std::clamp<duration>(options.client_timeout / 4, std::chrono::milliseconds(10), std::chrono::seconds(1)))
    {
    }

    ~basic_relay() { stop(); }

    /// Starts receiving and the timeout timer. `on_event` may be empty.
    void start(event_handler on_event = {})
    {
        on_event_ = std::move(on_event);
        running_ = true;
        receive();
        arm_timer();
    }

    /// Stops receiving, cancels the timer, closes the transport and waits for the workers. Idempotent.
    /// Call it from the transport's executor, while its io_context runs, or after it stopped for good.
    void stop()
    {
        if (stopped_.exchange(true))
            return;
        running_ = false;
        // Workers first: they send on the transport, which must stay open until they are done.
        pool_.join();
        transport::close_on_executor(transport_, [this] { timer_.cancel(); });
    }

    const engine_type& engine() const noexcept { return engine_; }
    const Transport& transport() const noexcept { return transport_; }

private:
    using inbound = typename engine_type::inbound;

    std::unique_ptr<inbound> take_job()
    {
        std::lock_guard lock(free_mu_);
        if (free_.empty())
            return std::make_unique<inbound>();
        auto j = std::move(free_.back());
        free_.pop_back();
        return j;
    }
    void give_back(std::unique_ptr<inbound> j)
    {
        std::lock_guard lock(free_mu_);
        if (free_.size() < driver_.max_queued)
            free_.push_back(std::move(j));
    }

    // Cheap work stays on the receiving thread; only completed messages go to the workers, so a
    // fragment that does not complete a message costs no thread hand-off.
    void receive()
    {
        if (!running_)
            return;
        transport_.async_receive(std::span<std::byte>(buffer_), from_, [this](std::error_code ec, std::size_t n) {
            if (ec == asio::error::operation_aborted || !running_)
                return;
            if (!ec) {
                if (!pending_)
                    pending_ = take_job();
                const time_point now = clock::now();
                if (engine_.receive(from_, std::span<const std::byte>(buffer_.data(), n), now, io_out_, io_events_,
                                    *pending_)) {
                    if constexpr (crypto::cheap_delivery<Cipher>)
                        engine_.deliver(*pending_, now, io_out_, io_events_);
                    else
                        dispatch(std::move(pending_));
                }
                finish(io_out_, io_events_);
            }
            receive();
        });
    }

    void dispatch(std::unique_ptr<inbound> j)
    {
        if (queued_.load(std::memory_order_relaxed) >= driver_.max_queued) {
            engine_.note(relay_counter::overloaded);
            give_back(std::move(j));
            return;
        }
        queued_.fetch_add(1, std::memory_order_relaxed);
        asio::post(pool_, [this, j = std::move(j)]() mutable {
            thread_local datagram_batch out;
            thread_local std::vector<relay_event> events;
            engine_.deliver(*j, clock::now(), out, events);
            finish(out, events);
            give_back(std::move(j));
            queued_.fetch_sub(1, std::memory_order_relaxed);
        });
    }

    void finish(datagram_batch& out, std::vector<relay_event>& events)
    {
        if (!out.empty()) {
            // A worker may wait a little for a full socket buffer; the bounded queue in front of
            // the workers sheds sustained overload.
            std::error_code ec;
            const std::size_t sent = transport::send_waiting(transport_, out, ec);
            if (sent < out.size())
                engine_.note(relay_counter::send_errors, out.size() - sent);
            out.clear();
        }
        if (!events.empty()) {
            if (on_event_) {
                std::lock_guard lock(event_mu_);
                for (const auto& e : events)
                    on_event_(e);
            }
            events.clear();
        }
    }


    void arm_timer()
    {
        timer_.expires_after(tick_);
        timer_.async_wait([this](std::error_code ec) {
            if (ec || !running_)
                return;
            datagram_batch out;
            std::vector<relay_event> events;
            engine_.on_timer(clock::now(), out, events);
            finish(out, events);
            arm_timer();
        });
    }

    Transport transport_;
    engine_type engine_;
    relay_driver_options driver_;
    asio::thread_pool pool_;
    asio::steady_timer timer_;
    duration tick_;
    event_handler on_event_;
    std::mutex event_mu_, free_mu_;
    std::vector<std::unique_ptr<inbound>> free_;
    // Used by the receiving side only (one receive at a time).
    std::vector<std::byte> buffer_ = std::vector<std::byte>(65536);
    endpoint from_{};
    std::unique_ptr<inbound> pending_;
    datagram_batch io_out_;
    std::vector<relay_event> io_events_;
    std::atomic<std::size_t> queued_{0};
    std::atomic<bool> running_{false}, stopped_{false};
};

} // namespace tlvcast::core
