// SPDX-License-Identifier: BSL-1.0
// Codecs for the repairing fragmenter's TLVs (types 33-37): REPAIR_DATA, _NACK, _TAIL, _GONE and _ACK.
#pragma once

#include <tlvcast/error.hpp>
#include <tlvcast/wire/detail/endian.hpp>
#include <tlvcast/wire/tlv.hpp>
#include <tlvcast/wire/types.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::wire {

/// REPAIR_DATA: one datagram of a sender's stream to one destination. `datagram` (one TLV: a
/// FRAGMENT or a whole message) views the caller's buffer.
struct repair_data {
    std::uint32_t stream = 0;
    std::uint32_t seq = 0;
    std::span<const std::byte> datagram;
};

/// One NACK range: `count` (>= 1) datagrams from `first` on.
struct repair_range {
    std::uint32_t first = 0;
    std::uint16_t count = 0;
};

/// REPAIR_TAIL (`value` = next: every seq below it was sent), REPAIR_ACK (`value` = next: every
/// seq below it was delivered) and REPAIR_GONE (`value` = how many datagrams from `first`).
struct repair_mark {
    std::uint32_t stream = 0;
    std::uint32_t first = 0;
    std::uint32_t value = 0;
};

/// Decodes a REPAIR_DATA value. Errors: truncated_header (under 8 bytes), malformed (the rest is
/// not exactly one TLV). Never reads outside `value`.
inline repair_data decode_repair_data(std::span<const std::byte> value, std::error_code& ec) noexcept
{
    ec = {};
    repair_data d;
    if (value.size() < repair_header_size) {
        ec = errc::truncated_header;
        return d;
    }
    d.stream = detail::load_u32(value.data());
    d.seq = detail::load_u32(value.data() + 4);
    d.datagram = value.subspan(repair_header_size);
    tlv_reader r(d.datagram);
    tlv t;
    if (!r.next(t, ec) || !r.done()) {
        ec = errc::malformed;
        d.datagram = {};
    }
    return d;
}

/// Appends a REPAIR_DATA TLV around `datagram` (which must not view `out`). Error:
/// value_too_large (nothing appended). May throw std::bad_alloc.
inline void append_repair_data(std::vector<std::byte>& out, std::uint32_t stream, std::uint32_t seq,
                               std::span<const std::byte> datagram, std::error_code& ec)
{
    ec = {};
    const std::size_t length = repair_header_size + datagram.size();
    if (length > max_value_size) {
        ec = errc::value_too_large;
        return;
    }
    const std::size_t at = out.size();
    out.resize(at + tlv_header_size + length);
    std::byte* p = out.data() + at;
    detail::store_u16(p, static_cast<std::uint16_t>(tlv_type::repair_data));
    detail::store_u16(p + 2, static_cast<std::uint16_t>(length));
    detail::store_u32(p + 4, stream);
    detail::store_u32(p + 8, seq);
    std::copy(datagram.begin(), datagram.end(), p + tlv_header_size + repair_header_size);
}

/// Decodes a REPAIR_NACK value into `ranges` (cleared first). Errors: truncated_header,
/// malformed (a length that is not 4 + 6k with 1 <= k <= 64, or a range of count 0).
inline std::uint32_t decode_repair_nack(std::span<const std::byte> value, std::vector<repair_range>& ranges,
                                        std::error_code& ec)
{
    ec = {};
    ranges.clear();
    if (value.size() < 4) {
        ec = errc::truncated_header;
        return 0;
    }
    const std::size_t body = value.size() - 4;
    if (body == 0 || body % repair_range_size != 0 || body / repair_range_size > repair_max_ranges) {
        ec = errc::malformed;
        return 0;
    }
    for (std::size_t at = 4; at < value.size(); at += repair_range_size) {
        const repair_range r{detail::load_u32(value.data() + at), detail::load_u16(value.data() + at + 4)};
        if (r.count == 0) {
            ec = errc::malformed;
            ranges.clear();
            return 0;
        }
        ranges.push_back(r);
    }
    return detail::load_u32(value.data());
}

/// Appends a REPAIR_NACK TLV for `ranges` (1..64 of them, each count >= 1; not checked beyond
/// the count of ranges: error malformed, nothing appended). May throw std::bad_alloc.
inline void append_repair_nack(std::vector<std::byte>& out, std::uint32_t stream, std::span<const repair_range> ranges,
                               std::error_code& ec)
{
    ec = {};
    if (ranges.empty() || ranges.size() > repair_max_ranges) {
        ec = errc::malformed;
        return;
    }
    const std::size_t length = 4 + ranges.size() * repair_range_size;
    const std::size_t at = out.size();
    out.resize(at + tlv_header_size + length);
    std::byte* p = out.data() + at;
    detail::store_u16(p, static_cast<std::uint16_t>(tlv_type::repair_nack));
    detail::store_u16(p + 2, static_cast<std::uint16_t>(length));
    detail::store_u32(p + 4, stream);
    p += tlv_header_size + 4;
    for (const auto& r : ranges) {
        detail::store_u32(p, r.first);
        detail::store_u16(p + 4, r.count);
        p += repair_range_size;
    }
}

/// Decodes REPAIR_TAIL, REPAIR_ACK or REPAIR_START (8 bytes: stream, next) or REPAIR_GONE (12 bytes:
/// stream, first, count >= 1). Error: malformed (wrong length for `type`, or a GONE of count 0).
inline repair_mark decode_repair_mark(tlv_type type, std::span<const std::byte> value, std::error_code& ec) noexcept
{
    ec = {};
    repair_mark m;
    const bool pair =
        type == tlv_type::repair_tail || type == tlv_type::repair_ack || type == tlv_type::repair_start;
    const std::size_t want = pair ? repair_header_size : repair_header_size + 4;
    if (value.size() != want || (!pair && type != tlv_type::repair_gone)) {
        ec = errc::malformed;
        return m;
    }
    m.stream = detail::load_u32(value.data());
    if (pair) {
        m.value = detail::load_u32(value.data() + 4);
    } else {
        m.first = detail::load_u32(value.data() + 4);
        m.value = detail::load_u32(value.data() + 8);
        if (m.value == 0)
            ec = errc::malformed;
    }
    return m;
}

/// Appends REPAIR_TAIL(stream, next), REPAIR_ACK(stream, next) or REPAIR_GONE(stream, first,
/// count). May throw std::bad_alloc.
inline void append_repair_pair(std::vector<std::byte>& out, tlv_type type, std::uint32_t stream, std::uint32_t next)
{
    std::array<std::byte, repair_header_size> v;
    detail::store_u32(v.data(), stream);
    detail::store_u32(v.data() + 4, next);
    std::error_code ec;
    tlv_appender(out).put(type, v, ec); // cannot fail: 8 bytes
}
inline void append_repair_tail(std::vector<std::byte>& out, std::uint32_t stream, std::uint32_t next)
{
    append_repair_pair(out, tlv_type::repair_tail, stream, next);
}
inline void append_repair_ack(std::vector<std::byte>& out, std::uint32_t stream, std::uint32_t next)
{
    append_repair_pair(out, tlv_type::repair_ack, stream, next);
}
inline void append_repair_start(std::vector<std::byte>& out, std::uint32_t stream, std::uint32_t next)
{
    append_repair_pair(out, tlv_type::repair_start, stream, next);
}

inline void append_repair_gone(std::vector<std::byte>& out, std::uint32_t stream, std::uint32_t first,
                               std::uint32_t count)
{
    std::array<std::byte, repair_header_size + 4> v;
    detail::store_u32(v.data(), stream);
    detail::store_u32(v.data() + 4, first);
    detail::store_u32(v.data() + 8, count);
    std::error_code ec;
    tlv_appender(out).put(tlv_type::repair_gone, v, ec); // cannot fail: 12 bytes
}

} // namespace tlvcast::wire
