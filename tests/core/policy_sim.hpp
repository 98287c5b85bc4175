// SPDX-License-Identifier: BSL-1.0
// A deterministic network of one relay engine and N client engines of any policies, on a virtual
// clock, with seeded per-node faults and a view of every engine call's output (test helper).
#pragma once

#include <tlvcast/core/events.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/transport/fault_model.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace tlvcast::test {

/// A datagram on the simulated wire.
struct sim_datagram {
    endpoint from, to;
    std::vector<std::byte> bytes;
};

/// The engine call that produced a batch (see policy_net::on_output).
enum class sim_call { start, handle, timer, send, close };

/// ClientEngine and RelayEngine are core::client_engine / core::relay_engine instantiations; the
/// test builds the engines (so that it picks every policy and seed) and hands them over. Datagrams
/// to `group` reach the relay. Every node's output passes through its own transport::fault_queue
/// (seeded from options::seed), then takes `latency`. Run loops are bounded in virtual time and
/// steps. Not thread-safe.
template <class ClientEngine, class RelayEngine>
class policy_net {
public:
    static constexpr endpoint group{0xe0010101u, 5007};
    static constexpr endpoint relay_address{0x7f000001u, 5007};
    static endpoint client_address(std::size_t i)
    {
        return {0x0a000001u + static_cast<std::uint32_t>(i), static_cast<std::uint16_t>(40000 + i)};
    }

    struct options {
        std::uint64_t seed = 1;
        transport::fault_options faults{}; ///< faults.seed is replaced per node
        duration latency = std::chrono::milliseconds(1);
    };

    /// Sees each datagram as it is delivered; may change it, or drop it by returning false.
    std::function<bool(sim_datagram&)> tap;
    /// Sees what one engine call appended (before faults): the batch itself, so a test can look at
    /// how its entries share bytes.
    std::function<void(const endpoint& node, sim_call, const datagram_batch&)> on_output;
    std::vector<sim_datagram> sent; ///< every datagram put on the wire (after faults), in order
    std::vector<core::relay_event> relay_events;

    policy_net(std::unique_ptr<RelayEngine> relay, options opt) : opt_(opt), relay_(std::move(relay))
    {
        queues_.emplace(relay_address, make_queue(0));
    }

    std::size_t add_client(std::unique_ptr<ClientEngine> engine)
    {
        clients_.push_back(std::move(engine));
        queues_.emplace(client_address(clients_.size() - 1), make_queue(clients_.size()));
        return clients_.size() - 1;
    }

    RelayEngine& relay() { return *relay_; }
    ClientEngine& client(std::size_t i) { return *clients_[i]; }
    std::size_t clients() const { return clients_.size(); }
    time_point now() const { return now_; }
    /// The faults applied so far to node `ep`'s output.
    const transport::fault_counters& faults(const endpoint& ep) const { return queues_.at(ep).counters(); }

    void start_all()
    {
        for (std::size_t i = 0; i < clients_.size(); ++i) {
            clients_[i]->start(now_, out_);
            flush(client_address(i), sim_call::start);
        }
    }
    void send(std::size_t i, std::span<const std::byte> message, std::error_code& ec)
    {
        clients_[i]->send(message, now_, out_, ec);
        flush(client_address(i), sim_call::send);
    }
    /// client_engine::send_large (the next parts of a large message, while the window lets them).
    std::size_t send_large(std::size_t i, std::span<const std::byte> message, std::error_code& ec)
    {
        const std::size_t n = clients_[i]->send_large(message, now_, out_, ec);
        flush(client_address(i), sim_call::send);
        return n;
    }
    void close(std::size_t i)
    {
        clients_[i]->close(now_, out_);
        flush(client_address(i), sim_call::close);
    }
    /// A process restarted in place: client i's engine is replaced by `engine` (unread events of
    /// the old one are lost: poll them first) and started. Its address and its fault queue stay,
    /// so what the old process sent and the network still holds arrives as it would.
    void rejoin(std::size_t i, std::unique_ptr<ClientEngine> engine)
    {
        clients_[i] = std::move(engine);
        clients_[i]->start(now_, out_);
        flush(client_address(i), sim_call::start);
    }
    /// Puts a datagram on the wire as if `from` had sent it (spoofing included), without faults.
    void inject(const endpoint& from, const endpoint& to, std::span<const std::byte> bytes)
    {
        wire_.emplace(std::pair{now_ + opt_.latency, seq_++}, sim_datagram{from, to, {bytes.begin(), bytes.end()}});
    }

    /// Delivers datagrams and runs timers for `d` of virtual time, at most `max_steps` events.
    void run_for(duration d, std::size_t max_steps = 2'000'000)
    {
        const time_point until = now_ + d;
        for (std::size_t step = 0; step < max_steps; ++step) {
            const time_point t = next_event();
            if (t > until)
                break;
            now_ = std::max(now_, t);
            step_once();
        }
        now_ = std::max(now_, until);
    }

    /// Events of client i since the last call.
    std::vector<core::client_event> events(std::size_t i)
    {
        std::vector<core::client_event> v;
        core::client_event ev;
        while (clients_[i]->poll_event(ev))
            v.push_back(std::move(ev));
        return v;
    }

private:
    transport::fault_queue make_queue(std::uint64_t salt) const
    {
        auto f = opt_.faults;
        f.seed = opt_.seed * 7919 + salt;
        return transport::fault_queue(f);
    }

    // What a node just appended: shown to on_output, then through its faults onto the wire.
    void flush(const endpoint& from, sim_call call)
    {
        if (on_output && !out_.empty())
            on_output(from, call, out_);
        datagram_batch wire;
        auto& q = queues_.at(from);
        for (std::size_t i = 0; i < out_.size(); ++i)
            q.submit(out_[i].to, out_[i].bytes, now_, wire);
        out_.clear();
        put_on_wire(from, wire);
    }

    void put_on_wire(const endpoint& from, const datagram_batch& wire)
    {
        for (std::size_t i = 0; i < wire.size(); ++i) {
            const auto e = wire[i];
            sim_datagram d{from, e.to == group ? relay_address : e.to, {e.bytes.begin(), e.bytes.end()}};
            sent.push_back(d);
            wire_.emplace(std::pair{now_ + opt_.latency, seq_++}, std::move(d));
        }
    }

    time_point next_event() const
    {
        time_point t = no_timer;
        if (!wire_.empty())
            t = wire_.begin()->first.first;
        t = std::min(t, relay_->next_timer());
        for (const auto& c : clients_)
            t = std::min(t, c->next_timer());
        for (const auto& [ep, q] : queues_)
            t = std::min(t, q.next_wake());
        return t;
    }

    void step_once()
    {
        for (auto& [ep, q] : queues_) {
            datagram_batch wire;
            q.poll(now_, wire);
            put_on_wire(ep, wire);
        }
        while (!wire_.empty() && wire_.begin()->first.first <= now_) {
            sim_datagram d = std::move(wire_.begin()->second);
            wire_.erase(wire_.begin());
            if (tap && !tap(d))
                continue;
            if (d.to == relay_address) {
                relay_->handle(d.from, d.bytes, now_, out_, relay_events);
                flush(relay_address, sim_call::handle);
                continue;
            }
            for (std::size_t i = 0; i < clients_.size(); ++i)
                if (client_address(i) == d.to) {
                    clients_[i]->handle(d.from, d.bytes, now_, out_);
                    flush(d.to, sim_call::handle);
                }
        }
        if (relay_->next_timer() <= now_) {
            relay_->on_timer(now_, out_, relay_events);
            flush(relay_address, sim_call::timer);
        }
        for (std::size_t i = 0; i < clients_.size(); ++i)
            if (clients_[i]->next_timer() <= now_) {
                clients_[i]->on_timer(now_, out_);
                flush(client_address(i), sim_call::timer);
            }
    }

    options opt_;
    time_point now_{};
    std::unique_ptr<RelayEngine> relay_;
    std::vector<std::unique_ptr<ClientEngine>> clients_;
    std::map<endpoint, transport::fault_queue> queues_;
    std::map<std::pair<time_point, std::uint64_t>, sim_datagram> wire_;
    std::uint64_t seq_ = 0;
    datagram_batch out_;
};

} // namespace tlvcast::test
