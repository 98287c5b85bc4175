// SPDX-License-Identifier: BSL-1.0
// msg_id generation for the seed fragmenter: a seeded bijection over a counter.
#pragma once

#include <cstdint>
#include <random>

namespace tlvcast::fragment::detail {

/// SplitMix64 (Steele, Lea, Flood 2014): expands one 64-bit seed into well-mixed key words.
constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept
{
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/// Produces msg_ids as permute(counter++), where permute is a bijection on 32-bit words keyed by
/// the seed. Why not draw from a PRNG: a bijection over a counter never repeats an id within 2^32
/// messages of one instance, so a receiver's memory of recently completed msg_ids (which drops
/// repeats as duplicates) can never mistake a new message for an old one. The ids still look
/// random on the wire (the profile's "random 4-byte msg_id"); they are not secret, and nothing
/// in the profile needs them to be. Deterministic for a given seed. Not thread-safe.
class permuted_counter {
public:
    constexpr explicit permuted_counter(std::uint64_t seed) noexcept
    {
        std::uint64_t state = seed;
        const std::uint64_t a = splitmix64(state);
        const std::uint64_t b = splitmix64(state);
        counter_ = static_cast<std::uint32_t>(a);
        k0_ = static_cast<std::uint32_t>(a >> 32);
        k1_ = static_cast<std::uint32_t>(b);
        k2_ = static_cast<std::uint32_t>(b >> 32);
    }

    /// The next msg_id: differs from each of the previous 2^32 - 1 ids of this instance.
    constexpr std::uint32_t next() noexcept { return permute(counter_++); }

private:
    // Every step is invertible on 32-bit words (xor with a key, xor-shift right, multiplication by
    // an odd constant: the "lowbias32" mixer of C. Wellons with keys in between), so the whole
    // map is a permutation.
    constexpr std::uint32_t permute(std::uint32_t x) const noexcept
    {
        x ^= k0_;
        x ^= x >> 16;
        x *= 0x7feb352dU;
        x ^= x >> 15;
        x ^= k1_;
        x *= 0x846ca68bU;
        x ^= x >> 16;
        return x ^ k2_;
    }

    std::uint32_t counter_ = 0, k0_ = 0, k1_ = 0, k2_ = 0;
};

/// A 64-bit seed from std::random_device, for fragmenters built without one.
inline std::uint64_t random_seed()
{
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) ^ std::uint64_t{rd()};
}

} // namespace tlvcast::fragment::detail
