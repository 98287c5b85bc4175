// SPDX-License-Identifier: BSL-1.0
// Containers for key material that wipe themselves: fixed-size secret_bytes and the growable secret_buffer.
#pragma once

#include <tlvcast/crypto/detail/wipe.hpp>

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace tlvcast::crypto {

/// N bytes of key material, wiped (detail::secure_wipe, which the compiler may not elide) when
/// destroyed or overwritten. Copies are independent and each wipes itself. Not thread-safe.
template <std::size_t N>
class secret_bytes {
public:
    secret_bytes() noexcept = default;
    explicit secret_bytes(std::span<const std::byte, N> bytes) noexcept { assign(bytes); }
    secret_bytes(const secret_bytes& other) noexcept { assign(other.span()); }
    secret_bytes& operator=(const secret_bytes& other) noexcept
    {
        assign(other.span());
        return *this;
    }
    ~secret_bytes() { wipe(); }

    std::span<const std::byte, N> span() const noexcept { return bytes_; }
    std::span<std::byte, N> span() noexcept { return bytes_; }
    static constexpr std::size_t size() noexcept { return N; }

    /// Sets every byte to zero in a way the optimiser keeps.
    void wipe() noexcept { detail::secure_wipe(bytes_.data(), N); }

private:
    void assign(std::span<const std::byte, N> bytes) noexcept
    {
        for (std::size_t i = 0; i < N; ++i)
            bytes_[i] = bytes[i];
    }

    std::array<std::byte, N> bytes_{};
};

/// An allocator that wipes memory before giving it back, so that a std::vector of key material
/// leaves nothing behind when it grows, shrinks or dies (Crypto++'s SecBlock and OpenSSL's
/// OPENSSL_clear_free do the same for their own buffers).
template <class T>
struct wiping_allocator {
    using value_type = T;
    wiping_allocator() noexcept = default;
    template <class U>
    wiping_allocator(const wiping_allocator<U>&) noexcept
    {
    }
    T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
    void deallocate(T* p, std::size_t n) noexcept
    {
        detail::secure_wipe(p, n * sizeof(T));
        std::allocator<T>{}.deallocate(p, n);
    }
    template <class U>
    friend bool operator==(const wiping_allocator&, const wiping_allocator<U>&) noexcept
    {
        return true;
    }
};

/// A growable buffer for key material (a key file's text, a DER private key): wiped when freed.
using secret_buffer = std::vector<char, wiping_allocator<char>>;

} // namespace tlvcast::crypto
