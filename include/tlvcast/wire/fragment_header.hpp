// SPDX-License-Identifier: BSL-1.0
// Codec for the FRAGMENT (type 1) value: msg_id(4) seq(u16 BE) total(u16 BE) payload.
#pragma once

#include <tlvcast/error.hpp>
#include <tlvcast/wire/detail/endian.hpp>
#include <tlvcast/wire/tlv.hpp>
#include <tlvcast/wire/types.hpp>

#include <array>
#include <cstdint>
#include <span>
#include <system_error>

namespace tlvcast::wire {

/// A decoded fragment value; `payload` views the caller's buffer.
struct fragment {
    std::uint32_t msg_id = 0;
    std::uint16_t seq = 0;
    std::uint16_t total = 0;
    std::span<const std::byte> payload;
};

/// Decodes a FRAGMENT value. Errors: truncated_header (under 8 bytes), fragment_total_zero,
/// fragment_seq_out_of_range. Never reads outside `value`.
inline fragment decode_fragment(std::span<const std::byte> value, std::error_code& ec) noexcept
{
    ec = {};
    fragment f;
    if (value.size() < fragment_header_size) {
        ec = errc::truncated_header;
        return f;
    }
    f.msg_id = detail::load_u32(value.data());
    f.seq = detail::load_u16(value.data() + 4);
    f.total = detail::load_u16(value.data() + 6);
    if (f.total == 0)
        ec = errc::fragment_total_zero;
    else if (f.seq >= f.total)
        ec = errc::fragment_seq_out_of_range;
    else
        f.payload = value.subspan(fragment_header_size);
    return f;
}

/// Writes the 8-byte header into `out` (which must hold 8 bytes). Errors: buffer_too_small,
/// fragment_total_zero, fragment_seq_out_of_range (nothing written).
inline void encode_fragment_header(std::span<std::byte> out, std::uint32_t msg_id, std::uint16_t seq,
                                      std::uint16_t total, std::error_code& ec) noexcept
{
    ec = {};
    if (total == 0)
        ec = errc::fragment_total_zero;
    else if (seq >= total)
        ec = errc::fragment_seq_out_of_range;
    else if (out.size() < fragment_header_size)
        ec = errc::buffer_too_small;
    if (ec)
        return;
    detail::store_u32(out.data(), msg_id);
    detail::store_u16(out.data() + 4, seq);
    detail::store_u16(out.data() + 6, total);
}

/// The largest fragment payload one FRAGMENT TLV can carry (65,535 - 8 header bytes).
inline constexpr std::size_t max_fragment_payload = max_value_size - fragment_header_size;

/// Writes a whole FRAGMENT TLV (header, fragment header, payload) into a fixed buffer. Errors:
/// fragment_total_zero, fragment_seq_out_of_range, value_too_large (payload over 65,527 bytes),
/// buffer_too_small; on any error nothing is written. Never allocates or throws.
inline void write_fragment(tlv_writer& out, std::uint32_t msg_id, std::uint16_t seq, std::uint16_t total,
                           std::span<const std::byte> payload, std::error_code& ec) noexcept
{
    std::array<std::byte, fragment_header_size> header;
    encode_fragment_header(header, msg_id, seq, total, ec);
    if (ec)
        return;
    if (payload.size() > max_fragment_payload) {
        ec = errc::value_too_large;
        return;
    }
    // Checked up front so that a failure leaves no half-written TLV behind.
    if (out.room() < tlv_header_size + fragment_header_size + payload.size()) {
        ec = errc::buffer_too_small;
        return;
    }
    const std::size_t mark = out.begin(tlv_type::fragment, ec);
    out.put_raw(header, ec);
    out.put_raw(payload, ec);
    out.end(mark, ec);
}

/// Appends a whole FRAGMENT TLV to a growable buffer. Errors: fragment_total_zero,
/// fragment_seq_out_of_range, value_too_large (nothing appended). May throw std::bad_alloc.
inline void append_fragment(tlv_appender& out, std::uint32_t msg_id, std::uint16_t seq, std::uint16_t total,
                            std::span<const std::byte> payload, std::error_code& ec)
{
    std::array<std::byte, fragment_header_size> header;
    encode_fragment_header(header, msg_id, seq, total, ec);
    if (ec)
        return;
    if (payload.size() > max_fragment_payload) {
        ec = errc::value_too_large;
        return;
    }
    const std::size_t mark = out.begin(tlv_type::fragment);
    out.put_raw(header);
    out.put_raw(payload);
    out.end(mark, ec);
}

} // namespace tlvcast::wire
