// SPDX-License-Identifier: BSL-1.0
// Sans-I/O network faults (drop, duplicate, reorder, delay) from a seed, for basic_faulty and simulations.
#pragma once

#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace tlvcast::transport {

/// What a faulty network does to datagrams. Probabilities are independent and in [0, 1].
struct fault_options {
    std::uint64_t seed = 1;  ///< the same seed and the same sends give the same faults
    double drop = 0.0;       ///< probability a datagram is lost
    double duplicate = 0.0;  ///< probability a datagram is delivered twice
    double reorder = 0.0;    ///< probability a datagram is held back and sent after the next one
    double delay = 0.0;      ///< probability a datagram is held for a random time in [0, max_delay]
    duration max_delay = std::chrono::milliseconds(20);
    /// A reordered datagram goes out after this time even when no other datagram follows it.
    duration reorder_timeout = std::chrono::milliseconds(50);
    /// Datagrams held at most (reordered or delayed); beyond it datagrams pass without hold (counted).
    std::size_t max_held = 256;
};

/// The faults chosen for one datagram.
struct fault_decision {
    bool drop = false;
    bool duplicate = false;
    bool reorder = false;
    duration delay{0}; ///< zero: not delayed
};

/// What a fault_queue did, by kind.
struct fault_counters {
    std::uint64_t submitted = 0;  ///< datagrams given to submit()
    std::uint64_t dropped = 0;
    std::uint64_t duplicated = 0;
    std::uint64_t reordered = 0;
    std::uint64_t delayed = 0;
    std::uint64_t hold_full = 0;  ///< datagrams that should have been held but max_held was reached
    std::uint64_t discarded = 0;  ///< held datagrams thrown away by clear()
};

/// The pure decision: from a seeded std::mt19937_64, chooses the faults of each datagram. Every call
/// draws the same number of values (five), so changing one probability does not shift the random
/// stream of the others, and the results are the same with every standard library (no
/// std::*_distribution, whose algorithms are implementation-defined). Not thread-safe.
class fault_model {
public:
    /// Throws std::invalid_argument for a probability outside [0, 1] or a negative duration.
    explicit fault_model(const fault_options& opt) : options_(opt), rng_(opt.seed)
    {
        for (const auto& [name, p] : {std::pair{"drop", opt.drop}, std::pair{"duplicate", opt.duplicate},
                                      std::pair{"reorder", opt.reorder}, std::pair{"delay", opt.delay}})
            if (!(p >= 0.0 && p <= 1.0))
                throw std::invalid_argument(std::string("tlvcast::fault_model: ") + name +
                                            " probability outside [0, 1]");
        if (opt.max_delay.count() < 0 || opt.reorder_timeout.count() < 0)
            throw std::invalid_argument("tlvcast::fault_model: negative duration");
    }

    /// Decides the faults of the next datagram. The datagram itself does not weigh today; it is
    /// an argument so that a model may (size- or content-dependent loss) without changing callers.
    fault_decision decide(std::span<const std::byte> datagram) noexcept
    {
        (void)datagram;
        const double u_drop = uniform(), u_dup = uniform(), u_reorder = uniform(), u_delay = uniform();
        const std::uint64_t amount = rng_();
        fault_decision d;
        d.drop = u_drop < options_.drop;
        d.duplicate = u_dup < options_.duplicate;
        d.reorder = u_reorder < options_.reorder;
        if (u_delay < options_.delay && options_.max_delay.count() > 0) {
            const auto span = static_cast<std::uint64_t>(options_.max_delay.count());
            d.delay = duration(static_cast<duration::rep>(amount % (span + 1)));
        }
        return d;
    }

    const fault_options& options() const noexcept { return options_; }

private:
    /// [0, 1) with 53 random bits.
    double uniform() noexcept { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

    fault_options options_;
    std::mt19937_64 rng_;
};

/// The sans-I/O faulty network: datagrams go in with the current time, datagrams due on the wire
/// come out in a datagram_batch, and next_wake() says when to call poll() again. basic_faulty drives
/// it with a steady_timer; a simulation drives it with a virtual clock and gets the same faults.
/// Memory is bounded by max_held datagrams. Not thread-safe.
class fault_queue {
public:
    /// Throws std::invalid_argument for invalid options (see fault_model).
    explicit fault_queue(const fault_options& opt) : model_(opt) {}

    /// Applies the faults to one datagram sent at `now` and appends to `out` what goes out now:
    /// nothing (dropped or held), the datagram (twice when duplicated), followed by the datagrams
    /// held back for reordering.
    void submit(const endpoint& to, std::span<const std::byte> bytes, time_point now, datagram_batch& out)
    {
        ++counters_.submitted;
        const fault_decision d = model_.decide(bytes);
        if (d.drop) {
            ++counters_.dropped;
            return;
        }
        const int copies = d.duplicate ? 2 : 1;
        if (d.duplicate)
            ++counters_.duplicated;
        const bool want_hold = d.reorder || d.delay.count() > 0;
        if (want_hold && held_.size() + static_cast<std::size_t>(copies) <= model_.options().max_held) {
            const bool until_next = d.reorder && d.delay.count() == 0;
            const time_point due = until_next ? now + model_.options().reorder_timeout : now + d.delay;
            if (until_next)
                ++counters_.reordered;
            else
                ++counters_.delayed;
            for (int c = 0; c < copies; ++c)
                hold(to, bytes, due, until_next);
            return;
        }
        if (want_hold)
            ++counters_.hold_full;
        for (int c = 0; c < copies; ++c)
            out.push(to, bytes);
        release_reordered(out);
    }

    /// Appends to `out` the held datagrams due at `now` (earliest first, then in submission order).
    void poll(time_point now, datagram_batch& out)
    {
        sort_held();
        const auto first_later =
            std::find_if(held_.begin(), held_.end(), [now](const held_datagram& h) { return h.due > now; });
        for (auto it = held_.begin(); it != first_later; ++it)
            out.push(it->to, it->bytes);
        recycle(held_.begin(), first_later);
    }

    /// The earliest time a held datagram is due, or no_timer when nothing is held.
    time_point next_wake() const noexcept
    {
        time_point t = no_timer;
        for (const auto& h : held_)
            t = std::min(t, h.due);
        return t;
    }

    /// Datagrams held back now.
    std::size_t held() const noexcept { return held_.size(); }

    /// Throws the held datagrams away (counted as discarded).
    void clear() noexcept
    {
        counters_.discarded += held_.size();
        held_.clear();
    }

    const fault_counters& counters() const noexcept { return counters_; }
    const fault_options& options() const noexcept { return model_.options(); }

private:
    struct held_datagram {
        time_point due;
        std::uint64_t seq;
        bool until_next; // reordered: released right after the next datagram that goes out
        endpoint to;
        std::vector<std::byte> bytes;
    };

    void hold(const endpoint& to, std::span<const std::byte> bytes, time_point due, bool until_next)
    {
        std::vector<std::byte> copy;
        if (!spare_.empty()) {
            copy = std::move(spare_.back());
            spare_.pop_back();
        }
        copy.assign(bytes.begin(), bytes.end());
        held_.push_back({due, next_seq_++, until_next, to, std::move(copy)});
    }

    void release_reordered(datagram_batch& out)
    {
        if (std::none_of(held_.begin(), held_.end(), [](const held_datagram& h) { return h.until_next; }))
            return;
        sort_held();
        const auto mid = std::stable_partition(held_.begin(), held_.end(),
                                               [](const held_datagram& h) { return h.until_next; });
        for (auto it = held_.begin(); it != mid; ++it)
            out.push(it->to, it->bytes);
        recycle(held_.begin(), mid);
    }

    void sort_held()
    {
        std::sort(held_.begin(), held_.end(),
                  [](const held_datagram& a, const held_datagram& b) { return std::tie(a.due, a.seq) < std::tie(b.due, b.seq); });
    }

    void recycle(std::vector<held_datagram>::iterator first, std::vector<held_datagram>::iterator last)
    {
        for (auto it = first; it != last; ++it)
            if (spare_.size() < 32)
                spare_.push_back(std::move(it->bytes));
        held_.erase(first, last);
    }

    fault_model model_;
    fault_counters counters_;
    std::vector<held_datagram> held_;
    std::vector<std::vector<std::byte>> spare_;
    std::uint64_t next_seq_ = 0;
};

} // namespace tlvcast::transport
