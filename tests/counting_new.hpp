// SPDX-License-Identifier: BSL-1.0
// A counting global operator new for one test program: include it in exactly one of its files.
// Steady-state tests read tlvcast::test::allocations before and after a run of datagrams.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace tlvcast::test {
/// operator new calls of this program so far.
inline std::atomic<std::uint64_t> allocations{0};
} // namespace tlvcast::test

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete" // new is malloc here, so free is its match
#endif

// Plain malloc underneath, so that the sanitizers still see every block; every unaligned form, so
// that no block crosses between this allocator and the sanitizer's.
inline void* tlvcast_counted_alloc(std::size_t n) noexcept
{
    tlvcast::test::allocations.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n ? n : 1);
}
inline void* tlvcast_counted_new(std::size_t n)
{
    if (void* p = tlvcast_counted_alloc(n))
        return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t n) { return tlvcast_counted_new(n); }
void* operator new[](std::size_t n) { return tlvcast_counted_new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return tlvcast_counted_alloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return tlvcast_counted_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
