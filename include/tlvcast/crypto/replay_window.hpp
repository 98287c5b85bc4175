// SPDX-License-Identifier: BSL-1.0
// Anti-replay sliding window over 64-bit record sequence numbers (RFC 4303 section 3.4.3 semantics).
#pragma once

#include <tlvcast/error.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <system_error>

namespace tlvcast::crypto {

/// Remembers which of the last `Bits` sequence numbers (up to the highest accepted one) were accepted.
/// A number is acceptable when it is above the highest accepted one, or inside the window
/// [highest - Bits + 1, highest] and not yet accepted; anything older is refused as replayed. The
/// first number accepted may be any value. Receivers use it as RFC 4303 3.4.3 prescribes:
///     if (auto ec = window.check(seq)) drop(ec);   // cheap, before any cryptography
///     open/authenticate the record ...             // a forgery must not move the window
///     window.accept(seq);                          // only now
/// Sequence numbers are the full 64-bit counter carried in the record (no ESN inference); a sender
/// rekeys long before 2^64. Memory is Bits/8 bytes; accept() costs O(1 + jump/64) word operations, so
/// O(1) amortised per sequence number. Not thread-safe (one window per sender per session).
template <std::size_t Bits = 1024>
class basic_replay_window {
    static_assert(Bits >= 64 && Bits % 64 == 0, "basic_replay_window: Bits must be a multiple of 64, at least 64");

public:
    /// How many sequence numbers, ending at the highest accepted, the window remembers.
    static constexpr std::size_t window_size = Bits;

    /// Would `seq` be accepted? Pure. Returns errc::replayed for a number already accepted or older
    /// than the window; an empty error code otherwise.
    std::error_code check(std::uint64_t seq) const noexcept
    {
        if (!any_ || seq > top_)
            return {};
        if (top_ - seq >= Bits || test(seq))
            return errc::replayed;
        return {};
    }

    /// Records `seq` as received, sliding the window forward when `seq` is the new highest. Call it
    /// only once the record has authenticated. Returns errc::replayed (and changes nothing) when
    /// check(seq) would refuse it, so that a racing duplicate is still caught.
    std::error_code accept(std::uint64_t seq) noexcept
    {
        if (auto ec = check(seq))
            return ec;
        if (!any_) {
            any_ = true;
            top_ = seq;
            bitmap_.fill(0);
        } else if (seq > top_) {
            const std::uint64_t jump = seq - top_;
            if (jump >= Bits)
                bitmap_.fill(0); // everything remembered fell out of the window
            else
                clear(position(top_ + 1), static_cast<std::size_t>(jump));
            top_ = seq;
        }
        bitmap_[position(seq) / 64] |= std::uint64_t{1} << (position(seq) % 64);
        return {};
    }

    /// True until the first accept().
    bool empty() const noexcept { return !any_; }
    /// The highest accepted sequence number (0 while empty()).
    std::uint64_t highest() const noexcept { return top_; }
    /// Forgets everything (for a new key: sequence numbers restart with it).
    void reset() noexcept
    {
        bitmap_.fill(0);
        top_ = 0;
        any_ = false;
    }

private:
    static constexpr std::size_t words = Bits / 64;

    // A ring of Bits bits: sequence number s lives at bit s mod Bits. Inside the window the mapping is
    // one-to-one because the window spans exactly Bits consecutive numbers.
    static constexpr std::size_t position(std::uint64_t seq) noexcept { return static_cast<std::size_t>(seq % Bits); }

    bool test(std::uint64_t seq) const noexcept
    {
        return (bitmap_[position(seq) / 64] >> (position(seq) % 64)) & 1u;
    }

    // Clears `count` (< Bits) consecutive ring positions from `start`, a word at a time. Words never
    // straddle the wrap because Bits is a multiple of 64.
    void clear(std::size_t start, std::size_t count) noexcept
    {
        while (count != 0) {
            const std::size_t bit = start % 64;
            const std::size_t n = std::min<std::size_t>(64 - bit, count);
            const std::uint64_t mask = n == 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << n) - 1) << bit;
            bitmap_[start / 64] &= ~mask;
            start = (start + n) % Bits;
            count -= n;
        }
    }

    std::array<std::uint64_t, words> bitmap_{};
    std::uint64_t top_ = 0;
    bool any_ = false;
};

/// The window the secure profile uses: 1024 records, as DTLS implementations commonly keep (RFC 4303
/// asks for at least 32 and recommends 64; datagrams reordered by a relay need more).
using replay_window = basic_replay_window<>;

} // namespace tlvcast::crypto
