// SPDX-License-Identifier: BSL-1.0
// datagram_batch: outgoing datagrams built back to back in one reusable buffer.
#pragma once

#include <tlvcast/endpoint.hpp>

#include <cstddef>
#include <span>
#include <vector>

namespace tlvcast {

/// The output of every engine and fragmenter: datagrams with their destinations. Build a datagram
/// in place by appending to bytes() (e.g. with wire::tlv_appender) after mark(), then commit() it.
/// clear() keeps the capacity, so a reused batch stops allocating. Not thread-safe.
class datagram_batch {
public:
    struct entry {
        endpoint to;
        std::span<const std::byte> bytes;
    };

    std::vector<std::byte>& bytes() noexcept { return bytes_; }
    std::size_t mark() const noexcept { return bytes_.size(); }

    /// Makes the bytes appended since `mark` one datagram to `to`.
    void commit(const endpoint& to, std::size_t mark)
    {
        index_.push_back({to, mark, bytes_.size() - mark});
    }
    /// Drops what was appended since `mark` (a datagram abandoned half-built).
    void rollback(std::size_t mark) { bytes_.resize(mark); }

    /// Drops every datagram committed after the first `count` and the bytes after `byte_mark`
    /// (both taken with size() and mark() before the datagrams to take back were appended).
    void truncate(std::size_t count, std::size_t byte_mark)
    {
        index_.resize(count);
        bytes_.resize(byte_mark);
    }

    /// Sends datagram `i` to `to` instead.
    void retarget(std::size_t i, const endpoint& to) noexcept { index_[i].to = to; }
    /// Appends one more datagram to `to` that views the same bytes as datagram `i` (no copy): how
    /// one payload goes to many destinations.
    void repeat(std::size_t i, const endpoint& to)
    {
        const record r = index_[i];
        index_.push_back({to, r.offset, r.length});
    }

    /// Appends a copy of a finished datagram.
    void push(const endpoint& to, std::span<const std::byte> datagram)
    {
        const std::size_t m = mark();
        bytes_.insert(bytes_.end(), datagram.begin(), datagram.end());
        commit(to, m);
    }

    std::size_t size() const noexcept { return index_.size(); }
    bool empty() const noexcept { return index_.empty(); }
    entry operator[](std::size_t i) const noexcept
    {
        const auto& r = index_[i];
        return {r.to, std::span<const std::byte>(bytes_).subspan(r.offset, r.length)};
    }
    void clear() noexcept
    {
        bytes_.clear();
        index_.clear();
    }

private:
    struct record {
        endpoint to;
        std::size_t offset, length;
    };
    std::vector<std::byte> bytes_;
    std::vector<record> index_;
};

} // namespace tlvcast
