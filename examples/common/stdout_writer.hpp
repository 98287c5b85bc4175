// SPDX-License-Identifier: BSL-1.0
// stdout written by a thread of its own, for a program whose network must not wait on its reader.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace tlvcast::examples {

/// While one exists, print_line() (json.hpp) queues its lines here and a thread writes them. A chat
/// that printed a 4 MiB message into a pipe read slowly blocked its io thread there: no ACK left it
/// for seconds and the relay dropped it as a slow receiver, losing the next message. Bounded: a line
/// waits while `max_bytes` are queued (a longer one is taken into an empty queue), so a reader that
/// stops still stops the program, as a blocking write did. Lines keep their order. At most one.
class stdout_writer {
public:
    static constexpr std::size_t default_max_bytes = std::size_t{64} * 1024 * 1024;

    explicit stdout_writer(std::size_t max_bytes = default_max_bytes) : max_bytes_(max_bytes), thread_([this] { run(); })
    {
        active_.store(this);
    }
    ~stdout_writer()
    {
        active_.store(nullptr);
        {
            const std::lock_guard lock(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join(); // after writing everything queued
    }
    stdout_writer(const stdout_writer&) = delete;
    stdout_writer& operator=(const stdout_writer&) = delete;

    /// The writer in use, or nullptr.
    static stdout_writer* active() noexcept { return active_.load(); }

    void push(std::string_view line)
    {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return queued_ == 0 || queued_ + line.size() <= max_bytes_; });
        queue_.emplace_back(line);
        queued_ += line.size();
        cv_.notify_all();
    }

    /// Waits until every line queued so far is written and flushed.
    void drain()
    {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return queued_ == 0 && !writing_; });
    }

private:
    void run()
    {
        std::unique_lock lock(mu_);
        for (;;) {
            cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
            if (queue_.empty())
                return; // stopped, everything written
            std::string line = std::move(queue_.front());
            queue_.pop_front();
            writing_ = true;
            const bool last = queue_.empty();
            lock.unlock();
            std::fwrite(line.data(), 1, line.size(), stdout);
            std::fputc('\n', stdout);
            if (last)
                std::fflush(stdout); // a reader sees each burst at once
            lock.lock();
            queued_ -= line.size();
            writing_ = false;
            cv_.notify_all();
        }
    }
    inline static std::atomic<stdout_writer*> active_{nullptr};
    const std::size_t max_bytes_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::string> queue_;
    std::size_t queued_ = 0;
    bool writing_ = false, stop_ = false;
    std::thread thread_; // last: starts once the members above exist
};

} // namespace tlvcast::examples
