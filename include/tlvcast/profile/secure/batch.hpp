// SPDX-License-Identifier: BSL-1.0
// SECURE_BATCH and SECURE_DELIVER_BATCH's content: several small messages in one record, from a
// client to the relay and from the relay to each recipient, checked strictly before any is used.
#pragma once

#include <tlvcast/error.hpp>
#include <tlvcast/wire/detail/endian.hpp>
#include <tlvcast/wire/tlv.hpp>
#include <tlvcast/wire/types.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::profile::secure {

/// Most messages one batch may carry: a recipient queues them all as events at once, so this
/// bounds what one record adds to another client's event queue (the group profile's figure).
inline constexpr std::size_t max_batch_messages = 256;
/// count(2), then per entry length(2) and the message.
inline constexpr std::size_t batch_count_size = wire::secure_batch_count_size;
inline constexpr std::size_t batch_entry_overhead = wire::secure_batch_entry_overhead;
/// What the relay's SECURE_DELIVER_BATCH costs beyond its entries: TLV header, sender address and
/// identity, count. The client sizes its batch so that this one fits a datagram too.
inline constexpr std::size_t batch_delivered_fixed_size =
    wire::tlv_header_size + wire::secure_deliver_fixed_size + batch_count_size;
static_assert(max_batch_messages >= 2 && max_batch_messages <= 0xffff, "a batch's count is a u16 of at least 2");
static_assert(batch_delivered_fixed_size == 57, "docs/PROTOCOL.md: 4 + 19 + 32 + 2");

/// Why a batch value was refused (each is errc::malformed to the caller; tests and the fuzzer tell
/// them apart).
enum class batch_fault {
    none,
    short_count,       ///< fewer than 2 bytes: no count
    empty,             ///< count 0
    too_many,          ///< count over max_batch_messages
    truncated_length,  ///< an entry's length field cut short
    truncated_message, ///< an entry's length runs past the end
    trailing_bytes,    ///< bytes after the count-th entry
};

/// Checks a batch value (count(2), then exactly `count` entries length(2) message, nothing after)
/// without copying it. Returns batch_fault::none and sets `count` when it is well formed.
/// Thread-safe (reads its argument only).
inline batch_fault check_batch(std::span<const std::byte> value, std::size_t& count) noexcept
{
    count = 0;
    if (value.size() < batch_count_size)
        return batch_fault::short_count;
    const std::size_t n = wire::detail::load_u16(value.data());
    if (n == 0)
        return batch_fault::empty;
    if (n > max_batch_messages)
        return batch_fault::too_many;
    std::size_t pos = batch_count_size;
    for (std::size_t i = 0; i < n; ++i) {
        if (value.size() - pos < batch_entry_overhead)
            return batch_fault::truncated_length;
        const std::size_t len = wire::detail::load_u16(value.data() + pos);
        pos += batch_entry_overhead;
        if (len > value.size() - pos)
            return batch_fault::truncated_message;
        pos += len;
    }
    if (pos != value.size())
        return batch_fault::trailing_bytes;
    count = n;
    return batch_fault::none;
}

/// check_batch() as an error code: errc::malformed for any fault.
inline std::size_t check_batch(std::span<const std::byte> value, std::error_code& ec) noexcept
{
    std::size_t n = 0;
    ec = check_batch(value, n) == batch_fault::none ? std::error_code{} : make_error_code(errc::malformed);
    return n;
}

/// The messages of a batch value that check_batch() accepted, one view at a time, in order.
/// Cheap to copy; views point into the checked value.
class batch_cursor {
public:
    batch_cursor() = default;
    /// `value` must have passed check_batch().
    explicit batch_cursor(std::span<const std::byte> value) noexcept
        : rest_(value.subspan(batch_count_size)), left_(wire::detail::load_u16(value.data()))
    {
    }
    /// The next message; false after the last.
    bool next(std::span<const std::byte>& message) noexcept
    {
        if (left_ == 0)
            return false;
        const std::size_t len = wire::detail::load_u16(rest_.data());
        message = rest_.subspan(batch_entry_overhead, len);
        rest_ = rest_.subspan(batch_entry_overhead + len);
        --left_;
        return true;
    }
    std::size_t left() const noexcept { return left_; }

private:
    std::span<const std::byte> rest_;
    std::size_t left_ = 0;
};

/// The sizes of the messages of a batch value, in order; none when check_batch() refuses it.
inline void batch_sizes(std::span<const std::byte> value, std::vector<std::size_t>& sizes)
{
    sizes.clear();
    std::size_t n = 0;
    if (check_batch(value, n) != batch_fault::none)
        return;
    batch_cursor c(value);
    for (std::span<const std::byte> m; c.next(m);)
        sizes.push_back(m.size());
}

/// How many of `messages`, from the first, one batch carries when the relay's SECURE_DELIVER_BATCH
/// must stay within `budget` bytes (the largest blob that leaves in one datagram): at most
/// max_batch_messages, each shorter than 64 KiB. Thread-safe.
inline std::size_t batch_fit(std::span<const std::span<const std::byte>> messages, std::size_t budget) noexcept
{
    std::size_t size = batch_delivered_fixed_size, n = 0;
    for (const auto m : messages) {
        if (n == max_batch_messages || m.size() > 0xffff || size + batch_entry_overhead + m.size() > budget)
            break;
        size += batch_entry_overhead + m.size();
        ++n;
    }
    return n;
}

/// The client's blob SECURE_BATCH(count, entries) of all of `messages` (the caller fitted them:
/// batch_fit()). Errors: message_too_large (over one TLV, or over max_batch_messages; `blob` empty).
inline void write_batch(std::span<const std::span<const std::byte>> messages, std::vector<std::byte>& blob,
                        std::error_code& ec)
{
    ec = {};
    blob.clear();
    if (messages.empty() || messages.size() > max_batch_messages) {
        ec = errc::message_too_large;
        return;
    }
    wire::tlv_appender a(blob);
    const std::size_t mark = a.begin(wire::tlv_type::secure_batch);
    std::byte u16[2];
    wire::detail::store_u16(u16, static_cast<std::uint16_t>(messages.size()));
    a.put_raw(u16);
    for (const auto m : messages) {
        if (m.size() > 0xffff) {
            ec = errc::message_too_large;
            break;
        }
        wire::detail::store_u16(u16, static_cast<std::uint16_t>(m.size()));
        a.put_raw(u16);
        a.put_raw(m);
    }
    if (!ec)
        a.end(mark, ec);
    if (ec) {
        blob.clear();
        ec = errc::message_too_large;
    }
}

} // namespace tlvcast::profile::secure
