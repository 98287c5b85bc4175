// SPDX-License-Identifier: BSL-1.0
// The Parity policy of the repairing fragmenter: an erasure codec over blocks of equal-size symbols.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

namespace tlvcast::fragment::fec {

/// One symbol of a block given to a codec's decode(): `data` points at the block's symbol size
/// in bytes; `index` < k for the data symbol of that position, k + j for parity symbol j.
struct symbol {
    std::byte* data = nullptr;
    std::uint8_t index = 0;
};

/// A Parity policy (docs/PROTOCOL.md "Repair", "FEC") is a systematic erasure code over blocks of
/// k data symbols of `symbol_bytes` each (the block's data datagrams, padded to one size):
/// - C::max_symbols: k plus the highest parity index + 1 is at most this (256 for GF(256)).
/// - encode(data, symbol_bytes, first, out, ec): writes parity symbols first, first + 1, ... (as
///   many as `out` holds symbols) of the block whose k = data.size() data symbols are `data`.
///   The same (block, index) always gives the same bytes, so that parity sent later as repair
///   ("fresh" indices) combines with parity sent before. Errors: malformed (bad sizes or indices),
///   nothing written.
/// - decode(blocks, symbol_bytes, ec): `blocks` holds exactly k symbols, data or parity, with
///   distinct indices; on success every parity entry is overwritten with the data symbol it
///   stands for and its index becomes that data index. Errors: malformed (bad sizes, indices or
///   duplicates), fec_unrecoverable (the codec failed). Never reads or writes outside the symbols.
/// No I/O, no allocation per call once constructed beyond reused scratch; not thread-safe.
template <class C>
concept parity_codec = requires(C& c, std::span<const std::byte* const> data, std::size_t symbol_bytes,
                                unsigned first, std::span<std::byte> out, std::span<symbol> blocks,
                                std::error_code& ec) {
    { C::max_symbols } -> std::convertible_to<std::size_t>;
    { c.encode(data, symbol_bytes, first, out, ec) } -> std::same_as<void>;
    { c.decode(blocks, symbol_bytes, ec) } -> std::same_as<void>;
};

/// The default Parity policy: no FEC (the fragmenter neither sends nor accepts REPAIR_PARITY).
struct no_parity {};

/// Whether P is a codec (FEC on) rather than no_parity.
template <class P>
inline constexpr bool has_parity = parity_codec<P>;

/// What a basic_nack_fragmenter's Parity may be: no_parity or a parity_codec.
template <class P>
concept parity_policy = std::same_as<P, no_parity> || parity_codec<P>;

} // namespace tlvcast::fragment::fec
