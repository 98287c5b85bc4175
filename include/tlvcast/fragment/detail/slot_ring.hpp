// SPDX-License-Identifier: BSL-1.0
// A FIFO whose slots, and the buffers they own, are reused: the repair cache's storage.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace tlvcast::fragment::detail {

/// A first-in first-out ring of `T`, each with a byte buffer (the member `Buffer`). pop_front() leaves
/// the slot and its buffer's capacity for a later push_back(), so a stream that sends and evicts at
/// the same pace allocates nothing once warmed up (issue 12's steady state). What the free slots
/// keep is bounded: at most `max_spare_bytes` of buffer capacity (beyond it a popped buffer is
/// released), and the ring halves when it is less than an eighth full.
template <class T, std::vector<std::byte> T::*Buffer = &T::datagram>
class slot_ring {
public:
    /// Buffer capacity the free slots may keep: a few dozen MTU-sized datagrams.
    static constexpr std::size_t max_spare_bytes = 64 * 1024;

    bool empty() const noexcept { return count_ == 0; }
    std::size_t size() const noexcept { return count_; }
    T& front() noexcept { return slots_[head_]; }
    const T& front() const noexcept { return slots_[head_]; }
    T& operator[](std::size_t i) noexcept { return slots_[(head_ + i) % slots_.size()]; }
    const T& operator[](std::size_t i) const noexcept { return slots_[(head_ + i) % slots_.size()]; }

    /// Appends a slot and returns it: a reused `T` with an empty buffer that keeps its capacity.
    /// The caller sets every field.
    T& push_back()
    {
        if (count_ == slots_.size())
            resize(std::max<std::size_t>(min_slots, slots_.size() * 2));
        T& slot = (*this)[count_++];
        spare_bytes_ -= std::min(spare_bytes_, (slot.*Buffer).capacity());
        (slot.*Buffer).clear();
        return slot;
    }

    /// Takes back the last push_back() (a write into it failed); its buffer stays for reuse.
    void pop_back() noexcept
    {
        --count_;
        spare_bytes_ += ((*this)[count_].*Buffer).capacity();
    }

    void pop_front()
    {
        T& slot = slots_[head_];
        if (spare_bytes_ + (slot.*Buffer).capacity() > max_spare_bytes)
            std::vector<std::byte>().swap((slot.*Buffer));
        else
            spare_bytes_ += (slot.*Buffer).capacity();
        head_ = (head_ + 1) % slots_.size();
        --count_;
        if (slots_.size() > min_slots && count_ < slots_.size() / 8)
            resize(slots_.size() / 2);
    }

private:
    static constexpr std::size_t min_slots = 16;

    // Moves the live slots to the front of a ring of `n` (>= count_), then as many free ones as fit.
    void resize(std::size_t n)
    {
        std::vector<T> next(n);
        const std::size_t keep = std::min(n, slots_.size());
        spare_bytes_ = 0;
        for (std::size_t i = 0; i < keep; ++i) {
            next[i] = std::move(slots_[(head_ + i) % slots_.size()]);
            if (i >= count_)
                spare_bytes_ += (next[i].*Buffer).capacity();
        }
        slots_ = std::move(next);
        head_ = 0;
    }

    std::vector<T> slots_;
    std::size_t head_ = 0;
    std::size_t count_ = 0;
    std::size_t spare_bytes_ = 0; ///< capacity held by the free slots' buffers
};

} // namespace tlvcast::fragment::detail
