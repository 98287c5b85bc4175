// SPDX-License-Identifier: BSL-1.0
// A simulated link for the repairing fragmenter's tests: one sender, n receivers, independent loss,
// duplication and reordering per receiver, a virtual clock (nack_fragmenter.cpp, fec_multicast.cpp).
#pragma once

#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/wire/repair.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

namespace tlvcast::test {

inline const endpoint sender_ep(0x0a000001, 5000);
inline const endpoint group_ep(0xe0010102, 5008);

template <class F = fragment::nack_fragmenter>
F make(std::uint64_t seed, fragment::repair_limits lim = {})
{
    return F(fragment::seed_fragmenter(seed, {}, 200), lim, seed * 7 + 1);
}

inline std::vector<std::byte> message_of(std::uint32_t i, std::size_t size)
{
    std::vector<std::byte> m(size + 4);
    for (std::size_t k = 0; k < m.size(); ++k)
        m[k] = std::byte(static_cast<unsigned char>(i * 31 + k));
    m[0] = std::byte(i >> 24), m[1] = std::byte(i >> 16), m[2] = std::byte(i >> 8), m[3] = std::byte(i);
    return m;
}

inline std::uint32_t index_of(const std::vector<std::byte>& m)
{
    return std::to_integer<std::uint32_t>(m[0]) << 24 | std::to_integer<std::uint32_t>(m[1]) << 16 |
           std::to_integer<std::uint32_t>(m[2]) << 8 | std::to_integer<std::uint32_t>(m[3]);
}

// One sender, `n` receivers on one stream (to the group when n > 1, else unicast); each datagram
// is lost, duplicated or delayed independently per receiver. F: the repairing fragmenter, with or
// without a Parity codec.
template <class F = fragment::nack_fragmenter>
struct basic_lossy_link {
    struct in_flight {
        time_point at;
        endpoint from, to;
        std::vector<std::byte> bytes;
    };
    std::mt19937_64 rng;
    double loss, dup;
    F sender;
    std::vector<F> receivers;
    std::vector<endpoint> receiver_eps;
    std::vector<std::vector<std::vector<std::byte>>> got;
    std::vector<fragment::repair_notice> notices;
    std::vector<in_flight> wire;
    time_point now{};
    std::uint64_t nacks_on_wire = 0;
    std::uint64_t loss_events = 0; ///< multicast sends that one receiver or more lost
    unsigned jitter_ms = 3; ///< delays of 1..jitter_ms ms: more than 1 reorders

    basic_lossy_link(std::uint64_t seed, std::size_t n, double loss_, double dup_ = 0, fragment::repair_limits lim = {})
        : rng(seed), loss(loss_), dup(dup_), sender(make<F>(seed, lim))
    {
        for (std::size_t i = 0; i < n; ++i) {
            receivers.push_back(make<F>(seed + 100 + i, lim));
            receiver_eps.emplace_back(0x0a000100 + static_cast<std::uint32_t>(i), 6000);
            got.emplace_back();
        }
    }
    endpoint dest() const { return receivers.size() > 1 ? group_ep : receiver_eps[0]; }

    void post(const endpoint& from, const datagram_batch& out)
    {
        std::uniform_real_distribution<double> u(0, 1);
        for (std::size_t i = 0; i < out.size(); ++i) {
            const auto e = out[i];
            std::vector<endpoint> targets;
            if (e.to == group_ep)
                targets = receiver_eps;
            else if (e.to == sender_ep.without_port()) // as the engines do: a key without a port is the source
                targets.push_back(sender_ep);
            else
                targets.push_back(e.to);
            bool lost = false;
            for (const auto& t : targets) {
                if (t == sender_ep) {
                    std::error_code ec;
                    if (wire::read_outer(e.bytes, ec).type() == wire::tlv_type::repair_nack)
                        ++nacks_on_wire;
                }
                if (u(rng) < loss) {
                    lost = true;
                    continue;
                }
                const int copies = u(rng) < dup ? 2 : 1;
                for (int c = 0; c < copies; ++c)
                    wire.push_back({now + std::chrono::milliseconds(1 + rng() % jitter_ms), from, t,
                                    std::vector<std::byte>(e.bytes.begin(), e.bytes.end())});
            }
            loss_events += lost && e.to == group_ep;
        }
    }

    F& at(const endpoint& ep, std::size_t& index)
    {
        if (ep == sender_ep)
            return sender;
        index = static_cast<std::size_t>(std::find(receiver_eps.begin(), receiver_eps.end(), ep) - receiver_eps.begin());
        return receivers[index];
    }

    void deliver_one(const in_flight& d)
    {
        std::size_t index = 0;
        auto& f = at(d.to, index);
        datagram_batch out;
        std::vector<std::byte> message;
        std::error_code ec;
        const wire::tlv t = wire::read_outer(d.bytes, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(F::handles(t.type()));
        CHECK_FALSE(f.handle_control(d.from, t, now, out, message, ec));
        post(d.to, out);
        drain(f, index, d.to);
    }

    void drain(F& f, std::size_t index, const endpoint& self)
    {
        if (self == sender_ep)
            return;
        endpoint from;
        std::vector<std::byte> m;
        while (f.pop_message(from, m)) {
            // A group's stream is named by its source's address without a port (unauthenticated).
            CHECK(from == (receivers.size() > 1 ? sender_ep.without_port() : sender_ep));
            got[index].push_back(m);
        }
        fragment::repair_notice n;
        while (f.pop_notice(n))
            notices.push_back(n);
    }

    // Runs the clock until nothing is in flight and no timer is due within `horizon`.
    void run(duration limit = std::chrono::seconds(30))
    {
        const time_point end = now + limit;
        while (now < end) {
            time_point t = sender.next_timer();
            for (auto& r : receivers)
                t = std::min(t, r.next_timer());
            for (const auto& d : wire)
                t = std::min(t, d.at);
            if (t == no_timer || t > end)
                return;
            now = std::max(now, t);
            std::vector<in_flight> due;
            for (auto it = wire.begin(); it != wire.end();)
                if (it->at <= now)
                    due.push_back(std::move(*it)), it = wire.erase(it);
                else
                    ++it;
            std::shuffle(due.begin(), due.end(), rng); // reordering
            for (const auto& d : due)
                deliver_one(d);
            datagram_batch out;
            if (sender.next_timer() <= now) {
                sender.on_timer(now, out);
                post(sender_ep, out);
            }
            for (std::size_t i = 0; i < receivers.size(); ++i)
                if (receivers[i].next_timer() <= now) {
                    out.clear();
                    receivers[i].on_timer(now, out);
                    post(receiver_eps[i], out);
                    drain(receivers[i], i, receiver_eps[i]);
                }
        }
    }

    void send(std::uint32_t i, std::size_t size)
    {
        datagram_batch out;
        std::error_code ec;
        const auto m = message_of(i, size);
        sender.split(m, dest(), now, out, ec);
        REQUIRE_FALSE(ec);
        post(sender_ep, out);
    }
};
using lossy_link = basic_lossy_link<>;

template <class F>
void check_exactly_once_in_order(const basic_lossy_link<F>& l, std::uint32_t count)
{
    for (std::size_t r = 0; r < l.got.size(); ++r) {
        INFO("receiver " << r);
        REQUIRE(l.got[r].size() == count);
        for (std::uint32_t i = 0; i < count; ++i)
            REQUIRE(index_of(l.got[r][i]) == i);
    }
}

} // namespace tlvcast::test
