// SPDX-License-Identifier: BSL-1.0
// basic_batcher: small messages gathered for a latency bound, then sent as one batch
// (client_engine::send_batch: a profile with seal_batch packs them into shared datagrams).
#pragma once

#include <tlvcast/core/detail/batch_buffer.hpp>
#include <tlvcast/core/detail/unique_function.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/time.hpp>

#include <asio.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace tlvcast::core {

/// When a batch leaves.
struct batch_options {
    /// A message waits at most this long for others; duration::max(): only when full or flushed.
    duration latency = std::chrono::milliseconds(1);
    /// A batch leaves at once when its messages reach this many bytes (the group profile packs
    /// about 1,200 bytes of messages into one datagram: a few datagrams' worth leaves full ones).
    std::size_t full_bytes = 8 * 1024;
    /// Bounds on what waits: a batch being sent and one gathering, each of at most these.
    std::size_t max_bytes = 64 * 1024;
    std::size_t max_messages = 1024;
};

/// What a batcher did (relaxed atomics: read them from any thread).
struct batch_counters {
    std::atomic<std::uint64_t> batches{0};      ///< batches handed to the client
    std::atomic<std::uint64_t> messages{0};     ///< messages in them
    std::atomic<std::uint64_t> window_waits{0}; ///< batches that waited for the flow-control window
    std::atomic<std::uint64_t> refused{0};      ///< posts refused: would_block (full) or too large
    std::atomic<std::uint64_t> failed{0};       ///< messages of batches the client refused (shut down, say)
};

/// Gathers the messages posted to it and sends them through `Client` (basic_client) in batches:
/// when `full_bytes` are waiting, when the oldest waited `latency`, or on async_flush(). A batch
/// that finds the window to the relay full waits for it (async_wait_writable), never drops: what
/// async_post() accepted is sent unless the client closes. All work runs on a strand of the
/// client's executor. Keep it alive until async_flush() completed and its handlers ran.
template <class Client>
class basic_batcher {
public:
    explicit basic_batcher(Client& client, batch_options opt = {})
        : client_(client), opt_(opt), limit_(std::min(client.engine().message_limit(), opt.max_bytes)),
          strand_(asio::make_strand(client.get_executor())), timer_(strand_),
          gathering_(opt.max_bytes, opt.max_messages), sending_(opt.max_bytes, opt.max_messages)
    {
    }
    basic_batcher(const basic_batcher&) = delete;
    basic_batcher& operator=(const basic_batcher&) = delete;

    /// Copies `message` into the batch being gathered. Completes at once: no error (it will be
    /// sent), message_too_large (over the client's message_limit() or max_bytes), would_block (a
    /// batch is being sent and the next is full: wait with async_flush() and post again).
    /// Signature: void(std::error_code).
    template <class Token>
    auto async_post(std::span<const std::byte> message, Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code)>(
            [this](auto handler, std::vector<std::byte> copy) {
                asio::dispatch(strand_, [this, copy = std::move(copy), h = std::move(handler)]() mutable {
                    complete(std::move(h), post(copy));
                });
            },
            token, std::vector<std::byte>(message.begin(), message.end()));
    }
    template <class Token>
    auto async_post(std::string_view text, Token&& token)
    {
        return async_post(std::as_bytes(std::span(text.data(), text.size())), std::forward<Token>(token));
    }

    /// Sends what waits now, and completes once everything posted before it was handed to the
    /// client, with the first error of those batches (e.g. shut_down). Signature: void(std::error_code).
    template <class Token>
    auto async_flush(Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code)>(
            [this](auto handler) {
                asio::dispatch(strand_, [this, h = std::move(handler)]() mutable {
                    if (done_ >= posted_)
                        return complete(std::move(h), std::exchange(error_, {}));
                    flushes_.push_back({posted_, [this, h = std::move(h)](std::error_code ec) mutable {
                                            complete(std::move(h), ec);
                                        }});
                    send_next(true);
                });
            },
            token);
    }

    const batch_counters& counters() const noexcept { return counters_; }

private:
    // A handler runs on its own executor (the strand when it has none), never inside this call.
    template <class Handler>
    void complete(Handler h, std::error_code ec)
    {
        auto ex = asio::get_associated_executor(h, strand_);
        asio::post(ex, [h = std::move(h), ec]() mutable { std::move(h)(ec); });
    }

    std::error_code post(std::span<const std::byte> m)
    {
        if (m.size() > limit_) {
            counters_.refused.fetch_add(1, std::memory_order_relaxed);
            return make_error_code(errc::message_too_large);
        }
        if (!gathering_.append(m)) {
            send_next(true); // a full batch that waited only for the one being sent
            if (!gathering_.append(m)) {
                counters_.refused.fetch_add(1, std::memory_order_relaxed);
                return make_error_code(errc::would_block);
            }
        }
        ++posted_;
        if (gathering_.size() == 1 && opt_.latency != duration::max()) {
            timer_.expires_after(opt_.latency);
            timer_.async_wait([this](std::error_code ec) {
                if (!ec) { // the bound passed: this batch goes now, or as soon as the one before is sent
                    due_ = true;
                    send_next(true);
                }
            });
        }
        if (gathering_.full(opt_.full_bytes))
            send_next(true);
        return {};
    }

    // Starts sending what was gathered when `due` or full, unless a batch is under way (then the
    // end of that one calls again).
    void send_next(bool due)
    {
        if (in_flight_ || gathering_.empty() || !(due || gathering_.full(opt_.full_bytes)))
            return;
        due_ = false;
        timer_.cancel();
        std::swap(gathering_, sending_);
        in_flight_ = true;
        send_batch();
    }
    void send_batch()
    {
        client_.async_send_batch(sending_.views(), asio::bind_executor(strand_, [this](std::error_code ec) {
                                     if (ec == errc::would_block) { // the window: wait, then the same batch
                                         counters_.window_waits.fetch_add(1, std::memory_order_relaxed);
                                         client_.async_wait_writable(asio::bind_executor(strand_, [this](std::error_code w) {
                                             if (w)
                                                 return sent(w);
                                             send_batch();
                                         }));
                                         return;
                                     }
                                     sent(ec);
                                 }));
    }
    void sent(std::error_code ec)
    {
        const std::size_t n = sending_.size();
        (ec ? counters_.failed : counters_.messages).fetch_add(n, std::memory_order_relaxed);
        if (!ec)
            counters_.batches.fetch_add(1, std::memory_order_relaxed);
        if (ec && !error_)
            error_ = ec;
        done_ += n;
        sending_.clear();
        in_flight_ = false;
        while (!flushes_.empty() && flushes_.front().upto <= done_) {
            auto h = std::move(flushes_.front().handler);
            flushes_.pop_front();
            h(std::exchange(error_, {}));
        }
        send_next(due_ || !flushes_.empty());
    }

    struct flush_waiter {
        std::uint64_t upto;
        detail::unique_function<void(std::error_code)> handler;
    };

    Client& client_;
    batch_options opt_;
    std::size_t limit_; // the largest message taken: the client's (fixed by its options) and max_bytes
    asio::strand<typename Client::executor_type> strand_;
    asio::steady_timer timer_;
    detail::batch_buffer gathering_, sending_;
    bool in_flight_ = false, due_ = false; // due_: the gathering batch's latency bound passed
    std::uint64_t posted_ = 0, done_ = 0; // messages accepted, and sent or failed
    std::error_code error_;               // the first failure not yet reported to a flush
    std::deque<flush_waiter> flushes_;
    batch_counters counters_;
};

} // namespace tlvcast::core
