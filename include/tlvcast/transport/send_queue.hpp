// SPDX-License-Identifier: BSL-1.0
// send_queue: sends batches without blocking; what a full socket buffer refuses waits in a bounded
// backlog that a short timer retries.
#pragma once

#include <tlvcast/datagram.hpp>
#include <tlvcast/transport/concepts.hpp>

#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <utility>
#include <vector>

namespace tlvcast::transport {

/// What a send_queue did, for the owner's counters.
struct send_report {
    std::size_t failed = 0;     ///< datagrams refused for good, or dropped because the backlog was full
    std::size_t backlogged = 0; ///< datagrams that waited for room in the socket buffer
};

/// A full socket buffer is back-pressure, not loss: the datagrams it refused wait, in order, in a
/// backlog of at most `max_bytes` that a timer retries every `retry` (no thread ever sleeps).
/// Everything runs on `Executor` (a strand of the owner): call send() from it only.
template <transport Transport, class Executor>
class send_queue {
public:
    static constexpr std::size_t default_max_bytes = 16u << 20;
    static constexpr std::chrono::microseconds default_retry{500};

    send_queue(Transport& t, Executor ex, std::size_t max_bytes = default_max_bytes,
               std::chrono::microseconds retry = default_retry)
        : transport_(t), timer_(ex), max_bytes_(max_bytes), retry_(retry)
    {
    }

    /// Sends `batch` (or queues it behind an earlier backlog). `on_report` is called from the
    /// executor with what later retries did.
    template <class Report>
    send_report send(const datagram_batch& batch, Report on_report)
    {
        send_report r;
        std::size_t sent = 0;
        if (backlog_.empty() && !batch.empty()) {
            std::error_code ec;
            sent = transport_.send(batch, ec);
            if (sent < batch.size() && !is_backpressure(ec)) {
                // One datagram refused for good: count it and send the rest.
                ++r.failed;
                for (++sent; sent < batch.size(); ++sent) {
                    transport_.send(batch[sent].to, batch[sent].bytes, ec);
                    if (ec && is_backpressure(ec))
                        break;
                    if (ec)
                        ++r.failed;
                }
            }
        }
        for (std::size_t i = sent; i < batch.size(); ++i) {
            const auto d = batch[i];
            if (bytes_ + d.bytes.size() > max_bytes_) {
                ++r.failed;
                continue;
            }
            bytes_ += d.bytes.size();
            backlog_.emplace_back(d.to, std::vector<std::byte>(d.bytes.begin(), d.bytes.end()));
            ++r.backlogged;
        }
        arm(std::move(on_report));
        return r;
    }

    bool idle() const noexcept { return backlog_.empty(); }
    std::size_t backlog_bytes() const noexcept { return bytes_; }
    /// Drops the backlog and stops retrying (on close).
    void cancel()
    {
        closed_ = true;
        timer_.cancel();
        backlog_.clear();
        bytes_ = 0;
    }

private:
    template <class Report>
    void arm(Report on_report)
    {
        if (backlog_.empty() || armed_ || closed_)
            return;
        armed_ = true;
        timer_.expires_after(retry_);
        timer_.async_wait([this, on_report = std::move(on_report)](std::error_code ec) mutable {
            armed_ = false;
            if (ec || closed_)
                return;
            send_report r;
            while (!backlog_.empty()) {
                std::error_code send_ec;
                transport_.send(backlog_.front().first, backlog_.front().second, send_ec);
                if (send_ec && is_backpressure(send_ec))
                    break;
                if (send_ec)
                    ++r.failed;
                bytes_ -= backlog_.front().second.size();
                backlog_.pop_front();
            }
            on_report(r);
            arm(std::move(on_report));
        });
    }

    Transport& transport_;
    asio::steady_timer timer_;
    std::size_t max_bytes_;
    std::chrono::microseconds retry_;
    std::deque<std::pair<endpoint, std::vector<std::byte>>> backlog_;
    std::size_t bytes_ = 0;
    bool armed_ = false, closed_ = false;
};

} // namespace tlvcast::transport
