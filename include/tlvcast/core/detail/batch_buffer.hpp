// SPDX-License-Identifier: BSL-1.0
// The messages a batcher gathers: one contiguous buffer with bounded bytes and count, reused.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace tlvcast::core::detail {

/// Messages appended back to back into storage reserved once; views() sees them in order. No
/// allocation once it held max_bytes (the views' vector grows to max_messages once).
class batch_buffer {
public:
    batch_buffer(std::size_t max_bytes, std::size_t max_messages)
        : max_bytes_(max_bytes), max_messages_(max_messages)
    {
        bytes_.reserve(max_bytes);
        ends_.reserve(max_messages);
    }

    /// False (nothing changed) when `m` does not fit in what is left.
    bool append(std::span<const std::byte> m)
    {
        if (ends_.size() >= max_messages_ || m.size() > max_bytes_ - bytes_.size())
            return false;
        bytes_.insert(bytes_.end(), m.begin(), m.end());
        ends_.push_back(bytes_.size());
        return true;
    }
    /// Whether no further message (even an empty one) fits, or the bytes reached `full_bytes`.
    bool full(std::size_t full_bytes) const noexcept
    {
        return ends_.size() >= max_messages_ || bytes_.size() >= full_bytes || bytes_.size() >= max_bytes_;
    }
    bool empty() const noexcept { return ends_.empty(); }
    std::size_t size() const noexcept { return ends_.size(); }
    std::size_t bytes() const noexcept { return bytes_.size(); }

    /// The messages, viewing this buffer: valid until it changes.
    std::span<const std::span<const std::byte>> views()
    {
        views_.clear();
        std::size_t begin = 0;
        for (const std::size_t end : ends_) {
            views_.emplace_back(bytes_.data() + begin, end - begin);
            begin = end;
        }
        return views_;
    }
    void clear() noexcept
    {
        bytes_.clear();
        ends_.clear();
    }

private:
    std::size_t max_bytes_, max_messages_;
    std::vector<std::byte> bytes_;
    std::vector<std::size_t> ends_; // where each message ends in bytes_
    std::vector<std::span<const std::byte>> views_;
};

} // namespace tlvcast::core::detail
