// SPDX-License-Identifier: BSL-1.0
// Codec for one part of a large message (SECURE_PART, SECURE_DELIVER_PART, GROUP_PART):
// msg_id(4) total(4) offset(4), then the part's bytes.
#pragma once

#include <tlvcast/error.hpp>
#include <tlvcast/wire/detail/endian.hpp>
#include <tlvcast/wire/types.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

namespace tlvcast::wire {

/// A decoded part header; `bytes` views the caller's buffer.
struct large_part {
    std::uint32_t msg_id = 0;
    std::uint32_t total = 0;  ///< the whole message's bytes (the wire allows up to 4 GiB; limits decide)
    std::uint32_t offset = 0; ///< where `bytes` begin in the message
    std::span<const std::byte> bytes;
};

/// Decodes a part. Errors: truncated_header (under 12 bytes), malformed (offset + bytes past
/// total). Never reads outside `value`.
inline large_part decode_large_part(std::span<const std::byte> value, std::error_code& ec) noexcept
{
    ec = {};
    large_part p;
    if (value.size() < large_part_header_size) {
        ec = errc::truncated_header;
        return p;
    }
    p.msg_id = detail::load_u32(value.data());
    p.total = detail::load_u32(value.data() + 4);
    p.offset = detail::load_u32(value.data() + 8);
    const std::size_t n = value.size() - large_part_header_size;
    if (p.offset > p.total || n > p.total - p.offset) {
        ec = errc::malformed;
        return p;
    }
    p.bytes = value.subspan(large_part_header_size);
    return p;
}

/// The 12-byte header of a part.
inline std::array<std::byte, large_part_header_size> encode_large_part_header(std::uint32_t msg_id, std::uint32_t total,
                                                                              std::uint32_t offset) noexcept
{
    std::array<std::byte, large_part_header_size> h{};
    detail::store_u32(h.data(), msg_id);
    detail::store_u32(h.data() + 4, total);
    detail::store_u32(h.data() + 8, offset);
    return h;
}

} // namespace tlvcast::wire
