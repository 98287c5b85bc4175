// SPDX-License-Identifier: BSL-1.0
// REPAIR_PARITY (type 38): one FEC parity symbol over a block of a repair stream, and the data
// symbols it is computed over (docs/PROTOCOL.md "Repair", "FEC").
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

namespace tlvcast::wire {

/// A block has at most this many data plus parity symbols (a GF(256) code): count + index < 256.
inline constexpr std::size_t repair_parity_max_symbols = 256;

/// REPAIR_PARITY: parity symbol `index` (0-based) of the block of datagrams [first, first +
/// count) of `stream`. `symbol` views the caller's buffer; every symbol of a block has one size.
struct repair_parity {
    std::uint32_t stream = 0;
    std::uint32_t first = 0;
    std::uint8_t count = 0;
    std::uint8_t index = 0;
    std::span<const std::byte> symbol;
};

/// Decodes a REPAIR_PARITY value. Errors: truncated_header (under 16 bytes), malformed (count 0,
/// count + index over 255, or a block past seq 0xfffffffe). Never reads outside `value`.
inline repair_parity decode_repair_parity(std::span<const std::byte> value, std::error_code& ec) noexcept
{
    ec = {};
    repair_parity p;
    if (value.size() < repair_parity_header_size + repair_parity_min_symbol) {
        ec = errc::truncated_header;
        return p;
    }
    p.stream = detail::load_u32(value.data());
    p.first = detail::load_u32(value.data() + 4);
    p.count = static_cast<std::uint8_t>(value[8]);
    p.index = static_cast<std::uint8_t>(value[9]);
    // No stream reaches seq 0xffffffff (a sender opens a new stream first).
    if (p.count == 0 || std::size_t{p.count} + p.index >= repair_parity_max_symbols ||
        std::uint64_t{p.first} + p.count > 0xffffffffu) {
        ec = errc::malformed;
        return p;
    }
    p.symbol = value.subspan(repair_parity_header_size);
    return p;
}

/// Appends a REPAIR_PARITY TLV whose symbol (`symbol_bytes` long) the caller then fills: returns
/// where. Error: value_too_large or malformed (bad count/index), nothing appended, empty span.
/// May throw std::bad_alloc.
inline std::span<std::byte> append_repair_parity(std::vector<std::byte>& out, std::uint32_t stream,
                                                 std::uint32_t first, std::uint8_t count, std::uint8_t index,
                                                 std::size_t symbol_bytes, std::error_code& ec)
{
    ec = {};
    const std::size_t length = repair_parity_header_size + symbol_bytes;
    if (length > max_value_size) {
        ec = errc::value_too_large;
        return {};
    }
    if (count == 0 || std::size_t{count} + index >= repair_parity_max_symbols ||
        symbol_bytes < repair_parity_min_symbol) {
        ec = errc::malformed;
        return {};
    }
    const std::size_t at = out.size();
    out.resize(at + tlv_header_size + length);
    std::byte* p = out.data() + at;
    detail::store_u16(p, static_cast<std::uint16_t>(tlv_type::repair_parity));
    detail::store_u16(p + 2, static_cast<std::uint16_t>(length));
    detail::store_u32(p + 4, stream);
    detail::store_u32(p + 8, first);
    p[12] = static_cast<std::byte>(count);
    p[13] = static_cast<std::byte>(index);
    return {p + tlv_header_size + repair_parity_header_size, symbol_bytes};
}

/// The data symbol of a datagram is its length (2 bytes, big-endian), the datagram, then zeros
/// up to the block's symbol size: 2 + the longest datagram of the block.
inline constexpr std::size_t data_symbol_size(std::size_t datagram_bytes) noexcept { return 2 + datagram_bytes; }

/// Writes `datagram`'s data symbol into `symbol` (at least data_symbol_size(datagram.size()) bytes).
inline void write_data_symbol(std::span<const std::byte> datagram, std::span<std::byte> symbol) noexcept
{
    detail::store_u16(symbol.data(), static_cast<std::uint16_t>(datagram.size()));
    std::copy(datagram.begin(), datagram.end(), symbol.begin() + 2);
    std::fill(symbol.begin() + 2 + static_cast<std::ptrdiff_t>(datagram.size()), symbol.end(), std::byte{0});
}

/// The datagram inside a (recovered) data symbol. Error: malformed (a length past the symbol, or
/// padding that is not zero: the symbol was not built from one datagram). A view into `symbol`.
inline std::span<const std::byte> read_data_symbol(std::span<const std::byte> symbol, std::error_code& ec) noexcept
{
    ec = {};
    if (symbol.size() < 2) {
        ec = errc::malformed;
        return {};
    }
    const std::size_t n = detail::load_u16(symbol.data());
    if (n > symbol.size() - 2 ||
        std::any_of(symbol.begin() + 2 + static_cast<std::ptrdiff_t>(n), symbol.end(), [](std::byte b) {
            return b != std::byte{0};
        })) {
        ec = errc::malformed;
        return {};
    }
    return symbol.subspan(2, n);
}

} // namespace tlvcast::wire
