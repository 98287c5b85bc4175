// SPDX-License-Identifier: BSL-1.0
// also_receiving: a Transport that sends through one Transport and receives from two, e.g. a
// client's own socket plus a socket on a multicast data group that a relay sends to once for all.
#pragma once

#include <tlvcast/endpoint.hpp>
#include <tlvcast/transport/concepts.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/associated_executor.hpp>
#include <asio/bind_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

namespace tlvcast::transport {

/// Sends through `Primary`; async_receive completes with the next datagram from either `Primary`
/// or `Secondary`. Both sockets keep one receive pending into a buffer of their own, so a datagram
/// is copied once into the caller's buffer; a datagram that arrived while no receive was asked for
/// waits (one per socket) for the next call. One receive at a time, as for any Transport. close()
/// closes both; the pending receive then completes with operation_aborted. Both must share an
/// executor (they are driven from the caller's strand).
template <transport Primary, transport Secondary = Primary>
class also_receiving {
public:
    using executor_type = typename Primary::executor_type;

    also_receiving(Primary primary, Secondary secondary)
        : primary_(std::move(primary)), secondary_(std::move(secondary)), state_(std::make_shared<state>())
    {
    }

    executor_type get_executor() { return primary_.get_executor(); }
    endpoint local_endpoint() const { return primary_.local_endpoint(); }
    void send(const endpoint& to, std::span<const std::byte> data, std::error_code& ec) { primary_.send(to, data, ec); }
    std::size_t send(const datagram_batch& batch, std::error_code& ec) { return primary_.send(batch, ec); }

    template <class Token>
    auto async_receive(std::span<std::byte> buffer, endpoint& from, Token&& token)
    {
        return asio::async_initiate<Token, void(std::error_code, std::size_t)>(
            [this](auto handler, std::span<std::byte> buf, endpoint* out_from) {
                // Everything runs on the handler's executor (the caller's strand): the inner
                // receives complete there too, so the shared state needs no lock.
                state_->ex = asio::get_associated_executor(handler, get_executor());
                auto h = std::make_shared<decltype(handler)>(std::move(handler));
                state_->waiting = [h, ex = state_->ex](std::error_code ec, std::size_t n) {
                    asio::post(ex, [h, ec, n]() mutable { (*h)(ec, n); }); // never inline
                };
                state_->buffer = buf;
                state_->from = out_from;
                if (!deliver(state_)) {
                    arm(primary_, state_, 0);
                    arm(secondary_, state_, 1);
                }
            },
            token, buffer, &from);
    }

    void close()
    {
        state_->closed = true;
        primary_.close();
        secondary_.close();
    }

    Primary& primary() noexcept { return primary_; }
    const Primary& primary() const noexcept { return primary_; }
    Secondary& secondary() noexcept { return secondary_; }
    const Secondary& secondary() const noexcept { return secondary_; }

private:
    struct slot {
        std::vector<std::byte> buf = std::vector<std::byte>(65536);
        endpoint from;
        std::error_code ec;
        std::size_t n = 0;
        bool pending = false, ready = false;
    };
    struct state {
        std::array<slot, 2> slots;
        std::function<void(std::error_code, std::size_t)> waiting;
        asio::any_io_executor ex;
        std::span<std::byte> buffer;
        endpoint* from = nullptr;
        bool closed = false;
        std::size_t turn = 0; // which socket's datagram goes first when both wait: alternate
    };

    // Hands a waiting datagram (or error) to the waiting receive; false when none waits.
    static bool deliver(const std::shared_ptr<state>& st)
    {
        if (!st->waiting)
            return false;
        for (std::size_t k = 0; k < 2; ++k) {
            slot& s = st->slots[(st->turn + k) % 2];
            if (!s.ready)
                continue;
            st->turn = (st->turn + k + 1) % 2;
            s.ready = false;
            std::size_t n = s.n;
            std::error_code ec = s.ec;
            if (!ec) {
                if (n > st->buffer.size()) {
                    ec = asio::error::message_size;
                    n = st->buffer.size();
                }
                std::copy_n(s.buf.begin(), n, st->buffer.begin());
                *st->from = s.from;
            }
            auto done = std::move(st->waiting);
            st->waiting = nullptr;
            done(ec, n);
            return true;
        }
        return false;
    }

    template <class T>
    static void arm(T& t, const std::shared_ptr<state>& st, std::size_t which)
    {
        slot& s = st->slots[which];
        if (s.pending || s.ready || st->closed)
            return;
        s.pending = true;
        t.async_receive(std::span<std::byte>(s.buf), s.from,
                        asio::bind_executor(st->ex, [st, which](std::error_code ec, std::size_t n) {
                            slot& r = st->slots[which];
                            r.pending = false;
                            r.ready = true;
                            r.ec = ec;
                            r.n = n;
                            deliver(st);
                        }));
    }

    Primary primary_;
    Secondary secondary_;
    std::shared_ptr<state> state_;
};

} // namespace tlvcast::transport
