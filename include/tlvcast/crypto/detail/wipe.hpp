// SPDX-License-Identifier: BSL-1.0
// Wiping secrets and comparing MACs without a crypto library: what every backend and derivation shares.
#pragma once

#include <cstddef>
#include <cstring>

#include <string.h> // explicit_bzero (glibc >= 2.25, musl, the BSDs)

namespace tlvcast::crypto::detail {

/// Sets `n` bytes at `p` to zero in a way the optimiser keeps (a plain memset of memory that is
/// about to die may be removed). Uses the C library's explicit_bzero, which exists for this, so that
/// every translation unit gets the same definition whichever crypto backends it was compiled with.
/// Never throws; `p` may be null when `n` is 0.
inline void secure_wipe(void* p, std::size_t n) noexcept
{
    if (n == 0)
        return;
#if defined(__linux__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__)
    ::explicit_bzero(p, n);
#else
    // No explicit_bzero: a volatile store per byte, then a compiler barrier, so neither can be elided.
    auto* v = static_cast<volatile unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = 0;
#if defined(__GNUC__) || defined(__clang__)
    __asm__ __volatile__("" : : "r"(p) : "memory");
#endif
#endif
}

/// True when the `n` bytes at `a` and `b` are equal, in time that depends only on `n` (no early
/// exit), for comparing MACs and tags. Never throws.
inline bool constant_time_equal(const void* a, const void* b, std::size_t n) noexcept
{
    const auto* x = static_cast<const unsigned char*>(a);
    const auto* y = static_cast<const unsigned char*>(b);
    unsigned acc = 0;
    for (std::size_t i = 0; i < n; ++i)
        acc |= static_cast<unsigned>(x[i] ^ y[i]);
#if defined(__GNUC__) || defined(__clang__)
    // Hide the accumulator's value from the optimiser so it cannot turn the loop into an early exit.
    __asm__ __volatile__("" : "+r"(acc));
#endif
    return acc == 0;
}

/// True when all `n` bytes at `p` are zero, in time independent of where a nonzero byte is.
inline bool all_zero(const void* p, std::size_t n) noexcept
{
    const auto* x = static_cast<const unsigned char*>(p);
    unsigned acc = 0;
    for (std::size_t i = 0; i < n; ++i)
        acc |= x[i];
#if defined(__GNUC__) || defined(__clang__)
    __asm__ __volatile__("" : "+r"(acc));
#endif
    return acc == 0;
}

} // namespace tlvcast::crypto::detail
