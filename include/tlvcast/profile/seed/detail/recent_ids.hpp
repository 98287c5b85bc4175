// SPDX-License-Identifier: BSL-1.0
// A bounded set of the most recent 128-bit ids, forgetting the oldest when full: the seed client
// drops relayed ciphertexts it saw recently (the seed wire carries no message id).
#pragma once

#include <array>
#include <cstddef>
#include <cstring>
#include <deque>
#include <set>
#include <span>

namespace tlvcast::profile::seed::detail {

class recent_ids {
public:
    using id = std::array<std::byte, 16>;

    recent_ids() = default;
    explicit recent_ids(std::size_t capacity) : capacity_(capacity) {}

    static id make(std::span<const std::byte> bytes) noexcept
    {
        id v{};
        std::memcpy(v.data(), bytes.data(), std::min(bytes.size(), v.size()));
        return v;
    }
    bool contains(const id& v) const { return set_.count(v) != 0; }
    void insert(const id& v)
    {
        if (!set_.insert(v).second)
            return;
        order_.push_back(v);
        if (order_.size() > capacity_) {
            set_.erase(order_.front());
            order_.pop_front();
        }
    }

private:
    std::size_t capacity_ = 4096;
    std::set<id> set_;
    std::deque<id> order_;
};

} // namespace tlvcast::profile::seed::detail
