// SPDX-License-Identifier: BSL-1.0
// A deterministic engine-level network for the secure profile: one relay, N clients, a tap on every datagram.
#pragma once

#include <tlvcast/core/client_engine.hpp>
#include <tlvcast/core/relay_engine.hpp>
#include <tlvcast/profile/secure/cipher.hpp>
#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>

#include <algorithm>
#include <functional>
#include <optional>
#include <map>
#include <memory>
#include <vector>

namespace tlvcast::test {

inline constexpr endpoint secure_group{0xe0010101u, 5007};
inline constexpr endpoint secure_relay_address{0x7f000001u, 5007};
inline endpoint secure_client_address(std::size_t i)
{
    return {0x0a000001u + static_cast<std::uint32_t>(i), static_cast<std::uint16_t>(40000 + i)};
}

/// A datagram on the simulated wire.
struct wire_datagram {
    endpoint from, to;
    std::vector<std::byte> bytes;
    time_point at{}; ///< when it was put on the wire
};

/// A Fragmenter for the simulation: the seed fragmenter with the Cipher's sizes, or a repairing
/// one (fragment::per_destination) around it, whose inner fragments leave room for REPAIR_DATA.
/// `lim`: a repairing one's limits.
template <class Fragmenter>
Fragmenter make_sim_fragmenter(std::uint64_t seed, std::size_t payload, std::size_t whole,
                               const fragment::repair_limits& lim = {})
{
    if constexpr (fragment::per_destination<Fragmenter>) {
        constexpr std::size_t header = wire::tlv_header_size + wire::repair_header_size;
        return Fragmenter(fragment::seed_fragmenter(seed, {}, payload - header, whole - header), lim, seed * 31 + 7);
    } else {
        return Fragmenter(seed, {}, payload, whole);
    }
}

/// Clients use ClientCipher, the relay RelayCipher (both profile::secure::basic_cipher instantiations, possibly
/// different backends), all of them Fragmenter. Datagrams take 1 ms; `tap` sees each one as it is
/// delivered and may change it or drop it (return false). Run loops are bounded in virtual time and steps.
template <class ClientCipher, class RelayCipher = ClientCipher, class Fragmenter = fragment::seed_fragmenter>
class secure_net {
public:
    using client_engine = core::client_engine<ClientCipher, Fragmenter>;
    using relay_engine = core::relay_engine<RelayCipher, Fragmenter>;

    std::function<bool(wire_datagram&)> tap;
    /// The addresses on the simulated wire (IPv4 unless a test sets them before add_client).
    endpoint group = secure_group, relay_address = secure_relay_address;
    std::function<endpoint(std::size_t)> client_address = secure_client_address;
    std::vector<wire_datagram> sent; ///< every datagram put on the wire, in order
    /// A multicast data group and the clients that listen there (the group profile's multicast
    /// delivery): a datagram to it reaches each of them.
    std::optional<endpoint> data_group;
    std::vector<std::size_t> data_listeners;
    std::vector<core::relay_event> relay_events;
    /// Called with true just before and false just after each call into the relay engine: tests
    /// that count what the relay alone allocates.
    std::function<void(bool)> around_relay;

    /// `rlim`: the relay's repair limits (a repairing Fragmenter only).
    explicit secure_net(RelayCipher relay_cipher, core::relay_options ropt = {}, fragment::repair_limits rlim = {})
        : ropt_(ropt), rlim_(rlim)
    {
        restart_relay(std::move(relay_cipher));
    }

    /// Replaces the relay engine (a restarted relay process: it forgets every session).
    void restart_relay(RelayCipher cipher)
    {
        const std::size_t payload = cipher.fragment_payload(), whole = cipher.max_whole();
        relay_ = std::make_unique<relay_engine>(std::move(cipher), make_sim_fragmenter<Fragmenter>(7, payload, whole, rlim_),
                                                ropt_);
    }

    std::size_t add_client(ClientCipher cipher, core::client_options opt = {})
    {
        opt.relay = group;
        const std::size_t payload = cipher.fragment_payload(), whole = cipher.max_whole();
        clients_.push_back(std::make_unique<client_engine>(
            std::move(cipher), make_sim_fragmenter<Fragmenter>(100 + clients_.size(), payload, whole), std::move(opt)));
        return clients_.size() - 1;
    }

    /// Replaces client i's engine (its process restarted at the same address); start() it again.
    void replace_client(std::size_t i, ClientCipher cipher, core::client_options opt = {})
    {
        opt.relay = group;
        const std::size_t payload = cipher.fragment_payload(), whole = cipher.max_whole();
        clients_[i] = std::make_unique<client_engine>(
            std::move(cipher), make_sim_fragmenter<Fragmenter>(100 + clients_.size() + i, payload, whole),
            std::move(opt));
    }

    relay_engine& relay() { return *relay_; }
    client_engine& client(std::size_t i) { return *clients_[i]; }
    std::size_t clients() const { return clients_.size(); }
    time_point now() const { return now_; }

    void start(std::size_t i)
    {
        clients_[i]->start(now_, out_);
        flush(client_address(i));
    }
    void start_all()
    {
        for (std::size_t i = 0; i < clients_.size(); ++i)
            start(i);
    }
    void send(std::size_t i, std::span<const std::byte> message, std::error_code& ec)
    {
        clients_[i]->send(message, now_, out_, ec);
        flush(client_address(i));
    }
    /// client_engine::send_large (the next parts of a large message, while the window lets them).
    std::size_t send_large(std::size_t i, std::span<const std::byte> message, std::error_code& ec)
    {
        const std::size_t n = clients_[i]->send_large(message, now_, out_, ec);
        flush(client_address(i));
        return n;
    }
    void send_batch(std::size_t i, std::span<const std::span<const std::byte>> messages, std::error_code& ec)
    {
        clients_[i]->send_batch(messages, now_, out_, ec);
        flush(client_address(i));
    }
    /// client_engine::send_sealed: a blob the test wrote, sent through client i's pipeline as its own.
    void send_sealed(std::size_t i, std::span<const std::byte> blob, std::error_code& ec)
    {
        clients_[i]->send_sealed(blob, now_, out_, ec);
        flush(client_address(i));
    }
    /// Puts a datagram on the wire as if `from` had sent it (spoofing included).
    void inject(const endpoint& from, const endpoint& to, std::span<const std::byte> bytes)
    {
        wire_.emplace(std::pair{now_ + latency, seq_++}, wire_datagram{from, to, {bytes.begin(), bytes.end()}, now_});
    }

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

    static constexpr duration latency = std::chrono::milliseconds(1);

private:
    void flush(const endpoint& from)
    {
        for (std::size_t i = 0; i < out_.size(); ++i) {
            const auto e = out_[i];
            const endpoint to = e.to == group ? relay_address : e.to;
            wire_datagram d{from, to, {e.bytes.begin(), e.bytes.end()}, now_};
            sent.push_back(d);
            wire_.emplace(std::pair{now_ + latency, seq_++}, std::move(d));
        }
        out_.clear();
    }

    time_point next_event() const
    {
        time_point t = no_timer;
        if (!wire_.empty())
            t = wire_.begin()->first.first;
        t = std::min(t, relay_->next_timer());
        for (const auto& c : clients_)
            t = std::min(t, c->next_timer());
        return t;
    }

    void step_once()
    {
        while (!wire_.empty() && wire_.begin()->first.first <= now_) {
            wire_datagram d = std::move(wire_.begin()->second);
            wire_.erase(wire_.begin());
            if (tap && !tap(d))
                continue;
            if (d.to == relay_address) {
                if (around_relay)
                    around_relay(true);
                relay_->handle(d.from, d.bytes, now_, out_, relay_events);
                if (around_relay)
                    around_relay(false);
                flush(relay_address);
                continue;
            }
            for (std::size_t i = 0; i < clients_.size(); ++i) {
                const bool listens = data_group && d.to == *data_group &&
                                     std::find(data_listeners.begin(), data_listeners.end(), i) != data_listeners.end();
                if (client_address(i) == d.to || listens) {
                    clients_[i]->handle(d.from, d.bytes, now_, out_);
                    flush(client_address(i));
                }
            }
        }
        if (relay_->next_timer() <= now_) {
            if (around_relay)
                around_relay(true);
            relay_->on_timer(now_, out_, relay_events);
            if (around_relay)
                around_relay(false);
            flush(relay_address);
        }
        for (std::size_t i = 0; i < clients_.size(); ++i)
            if (clients_[i]->next_timer() <= now_) {
                clients_[i]->on_timer(now_, out_);
                flush(client_address(i));
            }
    }

    core::relay_options ropt_;
    fragment::repair_limits rlim_;
    time_point now_{};
    std::unique_ptr<relay_engine> relay_;
    std::vector<std::unique_ptr<client_engine>> clients_;
    std::map<std::pair<time_point, std::uint64_t>, wire_datagram> wire_;
    std::uint64_t seq_ = 0;
    datagram_batch out_;
};

} // namespace tlvcast::test
