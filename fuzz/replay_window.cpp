// SPDX-License-Identifier: BSL-1.0
// Fuzz harness: basic_replay_window against a set-based reference model, for three window sizes.
#include <tlvcast/crypto/replay_window.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <set>

namespace {

// The obvious model: every accepted number in a set, plus the highest. Accept iff nothing was accepted
// yet, or above the highest, or within Bits of it and never accepted.
template <std::size_t Bits>
struct model {
    std::set<std::uint64_t> seen;
    std::uint64_t top = 0;
    bool any = false;

    bool acceptable(std::uint64_t s) const { return !any || s > top || (top - s < Bits && !seen.count(s)); }
    void accept(std::uint64_t s)
    {
        seen.insert(s);
        if (!any || s > top)
            top = s;
        any = true;
        // Numbers older than the window can never matter again: keep the model's memory bounded.
        while (!seen.empty() && top - *seen.begin() >= Bits)
            seen.erase(seen.begin());
    }
};

template <std::size_t Bits>
struct pair_under_test {
    tlvcast::crypto::basic_replay_window<Bits> window;
    model<Bits> reference;

    void step(std::uint64_t s, bool do_accept)
    {
        const bool expected = reference.acceptable(s);
        if (static_cast<bool>(window.check(s)) == expected) {
            std::fprintf(stderr, "Bits=%zu check(%llu) disagrees with the model (top=%llu)\n", Bits,
                         static_cast<unsigned long long>(s), static_cast<unsigned long long>(reference.top));
            std::abort();
        }
        if (!do_accept)
            return;
        if (static_cast<bool>(window.accept(s)) == expected) {
            std::fprintf(stderr, "Bits=%zu accept(%llu) disagrees with the model\n", Bits,
                         static_cast<unsigned long long>(s));
            std::abort();
        }
        if (expected)
            reference.accept(s);
        if (window.empty() == reference.any || (reference.any && window.highest() != reference.top)) {
            std::fprintf(stderr, "Bits=%zu highest() disagrees with the model\n", Bits);
            std::abort();
        }
    }
};

// A sequence number chosen relative to the current highest so that the fuzzer reaches the edges.
std::uint64_t pick(FuzzedDataProvider& in, std::uint64_t top)
{
    constexpr auto max = std::numeric_limits<std::uint64_t>::max();
    switch (in.ConsumeIntegralInRange<int>(0, 6)) {
    case 0: return top + in.ConsumeIntegralInRange<std::uint64_t>(0, 70);                  // just ahead
    case 1: return top - std::min(top, in.ConsumeIntegralInRange<std::uint64_t>(0, 70));   // just behind
    case 2: { // around the window edges of all three sizes
        const std::uint64_t edges[] = {63, 64, 65, 127, 128, 129, 1023, 1024, 1025};
        const auto d = edges[in.ConsumeIntegralInRange<std::size_t>(0, 8)];
        return in.ConsumeBool() ? top - std::min(top, d) : top + d;
    }
    case 3: return top + in.ConsumeIntegralInRange<std::uint64_t>(0, 5000);                // jumps
    case 4: return in.ConsumeIntegral<std::uint64_t>();                                   // anywhere
    case 5: return max - in.ConsumeIntegralInRange<std::uint64_t>(0, 2000);               // the very top
    default: return in.ConsumeIntegralInRange<std::uint64_t>(0, 2000);                    // the very bottom
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    FuzzedDataProvider in(data, size);
    pair_under_test<64> small;
    pair_under_test<128> medium;
    pair_under_test<1024> large;
    while (in.remaining_bytes() > 0) {
        const bool do_accept = in.ConsumeIntegralInRange<int>(0, 3) != 0;
        // Drive the choice from the largest window's top; all three see the same number.
        const std::uint64_t s = pick(in, large.reference.top);
        small.step(s, do_accept);
        medium.step(s, do_accept);
        large.step(s, do_accept);
    }
    return 0;
}
