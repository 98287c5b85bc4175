// SPDX-License-Identifier: BSL-1.0
// A deterministic network of one relay engine and N client engines on a virtual clock (test helper).
#pragma once

#include <tlvcast/core/client_engine.hpp>
#include <tlvcast/core/relay_engine.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>
#include <tlvcast/profile/seed/rsa_oaep.hpp>
#include <tlvcast/transport/fault_model.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace tlvcast::test {

using seed_client_engine = core::client_engine<seed::rsa_oaep, fragment::seed_fragmenter>;
using seed_relay_engine = core::relay_engine<seed::rsa_oaep, fragment::seed_fragmenter>;

/// RSA keys are slow to make: every test shares a few.
inline const crypto::default_rsa::private_key& shared_key(std::size_t i)
{
    static std::vector<crypto::default_rsa::private_key> keys;
    while (keys.size() <= i)
        keys.push_back(crypto::default_rsa::generate(2048));
    return keys[i];
}

inline constexpr endpoint group{0xe0010101u, 5007};
inline constexpr endpoint relay_address{0x7f000001u, 5007};
inline endpoint client_address(std::size_t i) { return {0x0a000001u + static_cast<std::uint32_t>(i), static_cast<std::uint16_t>(40000 + i)}; }

/// Every datagram takes `latency` plus the faults of its sender's fault_queue. Datagrams to the
/// group reach the relay. The run loop is bounded in virtual time and in steps.
class sim_network {
public:
    struct options {
        std::size_t clients = 3;
        std::uint64_t seed = 1;
        transport::fault_options faults{};
        core::client_options client{};
        core::relay_options relay{};
        duration latency = std::chrono::milliseconds(1);
    };

    explicit sim_network(const options& opt) : opt_(opt)
    {
        auto frag = [&](std::uint64_t salt) { return fragment::seed_fragmenter(opt.seed * 1000 + salt); };
        relay_ = std::make_unique<seed_relay_engine>(seed::rsa_oaep(shared_key(0)), frag(0), opt.relay);
        queues_.emplace(relay_address, make_queue(0));
        for (std::size_t i = 0; i < opt.clients; ++i) {
            auto copt = opt.client;
            copt.relay = group;
            clients_.push_back(std::make_unique<seed_client_engine>(seed::rsa_oaep(shared_key(i + 1)), frag(i + 1), copt));
            queues_.emplace(client_address(i), make_queue(i + 1));
        }
    }

    /// Sees each datagram as it is delivered (after the fault model); false drops it.
    std::function<bool(const endpoint& from, const endpoint& to, std::span<const std::byte> bytes)> tap;
    /// Datagrams the tap saw, in order.
    std::size_t tapped = 0;

    seed_relay_engine& relay() { return *relay_; }
    seed_client_engine& client(std::size_t i) { return *clients_[i]; }
    std::size_t clients() const { return clients_.size(); }
    time_point now() const { return now_; }
    std::vector<core::relay_event>& relay_events() { return relay_events_; }

    void start_all()
    {
        for (std::size_t i = 0; i < clients_.size(); ++i) {
            clients_[i]->start(now_, out_);
            flush(client_address(i));
        }
    }

    void send(std::size_t i, std::span<const std::byte> message, std::error_code& ec)
    {
        clients_[i]->send(message, now_, out_, ec);
        flush(client_address(i));
    }

    void close(std::size_t i)
    {
        clients_[i]->close(now_, out_);
        flush(client_address(i));
    }

    /// Delivers datagrams and runs timers until `until` (virtual), at most `max_steps` events.
    void run_until(time_point until, std::size_t max_steps = 1'000'000)
    {
        for (std::size_t step = 0; step < max_steps; ++step) {
            const time_point t = next_event();
            if (t > until)
                break;
            now_ = std::max(now_, t);
            step_once();
        }
        now_ = std::max(now_, until);
    }
    void run_for(duration d) { run_until(now_ + d); }

    /// Replaces the relay by a new one with key `key_index` (a restart: it knows no client).
    void restart_relay(std::size_t key_index)
    {
        relay_ = std::make_unique<seed_relay_engine>(seed::rsa_oaep(shared_key(key_index)),
                                                     fragment::seed_fragmenter(opt_.seed * 1000 + 999), opt_.relay);
    }

    /// Drops all traffic to and from client `i` from now on (a killed process).
    void kill(std::size_t i) { dead_.push_back(client_address(i)); }

private:
    struct in_flight {
        endpoint from, to;
        std::vector<std::byte> bytes;
    };

    transport::fault_queue make_queue(std::uint64_t salt)
    {
        auto f = opt_.faults;
        f.seed = opt_.seed * 7919 + salt;
        return transport::fault_queue(f);
    }

    bool is_dead(const endpoint& ep) const { return std::find(dead_.begin(), dead_.end(), ep) != dead_.end(); }

    // Puts what a node just sent through its faults and onto the wire.
    void flush(const endpoint& from)
    {
        datagram_batch wire;
        auto& q = queues_.at(from);
        for (std::size_t i = 0; i < out_.size(); ++i)
            q.submit(out_[i].to, out_[i].bytes, now_, wire);
        out_.clear();
        put_on_wire(from, wire);
    }

    void put_on_wire(const endpoint& from, const datagram_batch& wire)
    {
        if (is_dead(from))
            return;
        for (std::size_t i = 0; i < wire.size(); ++i) {
            const auto e = wire[i];
            wire_.emplace(std::pair{now_ + opt_.latency, seq_++},
                          in_flight{from, e.to == group ? relay_address : e.to, {e.bytes.begin(), e.bytes.end()}});
        }
    }

    time_point next_event() const
    {
        time_point t = no_timer;
        if (!wire_.empty())
            t = wire_.begin()->first.first;
        t = std::min(t, relay_->next_timer());
        for (std::size_t i = 0; i < clients_.size(); ++i)
            if (!is_dead(client_address(i)))
                t = std::min(t, clients_[i]->next_timer());
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
            in_flight d = std::move(wire_.begin()->second);
            wire_.erase(wire_.begin());
            if (is_dead(d.to))
                continue;
            ++tapped;
            if (tap && !tap(d.from, d.to, d.bytes))
                continue;
            if (d.to == relay_address) {
                relay_->handle(d.from, d.bytes, now_, out_, relay_events_);
                flush(relay_address);
            } else {
                for (std::size_t i = 0; i < clients_.size(); ++i)
                    if (client_address(i) == d.to) {
                        clients_[i]->handle(d.from, d.bytes, now_, out_);
                        flush(d.to);
                    }
            }
        }
        if (relay_->next_timer() <= now_) {
            relay_->on_timer(now_, out_, relay_events_);
            flush(relay_address);
        }
        for (std::size_t i = 0; i < clients_.size(); ++i)
            if (!is_dead(client_address(i)) && clients_[i]->next_timer() <= now_) {
                clients_[i]->on_timer(now_, out_);
                flush(client_address(i));
            }
    }

    options opt_;
    time_point now_{};
    std::unique_ptr<seed_relay_engine> relay_;
    std::vector<std::unique_ptr<seed_client_engine>> clients_;
    std::map<endpoint, transport::fault_queue> queues_;
    std::map<std::pair<time_point, std::uint64_t>, in_flight> wire_;
    std::uint64_t seq_ = 0;
    datagram_batch out_;
    std::vector<core::relay_event> relay_events_;
    std::vector<endpoint> dead_;
};

} // namespace tlvcast::test
