// SPDX-License-Identifier: BSL-1.0
// The FEC codec: Cauchy MDS Reed-Solomon over GF(256) from Debian's libcm256cc (bench/fec.cpp chose it).
#pragma once

#if !defined(TLVCAST_HAS_FEC)
#error "fragment/fec/cm256_codec.hpp needs libcm256cc: link tlvcast::fec (scripts/setup.sh installs libcm256cc-dev)"
#endif

#include <tlvcast/error.hpp>
#include <tlvcast/fragment/fec/concepts.hpp>

#if defined(__x86_64__) && !defined(USE_SSSE3)
// Debian builds libcm256cc with USE_SSSE3 on amd64, and gf256_ctx's layout (inside CM256) depends on it.
#define USE_SSSE3
#define TLVCAST_DEFINED_USE_SSSE3
#endif
#include <cm256cc/cm256.h>
#if defined(TLVCAST_DEFINED_USE_SSSE3)
#undef USE_SSSE3
#undef TLVCAST_DEFINED_USE_SSSE3
#endif

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::fragment::fec {

/// A parity_codec over cm256cc. MDS: any k of a block's k + r symbols rebuild it, whatever r.
/// Parity symbol j is row k + j of a Cauchy matrix that does not depend on how many rows are
/// made, so a later "fresh" index combines with those sent before. Holds cm256's 140 KB of
/// tables, built on the heap at the first encode or decode (an instance that never codes, as in a
/// program run without FEC, costs nothing; cm256cc prints one line to stderr when it builds them).
/// Never throws but std::bad_alloc; tables that cannot be built make every call fail (malformed).
class cm256_codec {
public:
    /// Data plus parity symbols of one block (GF(256)).
    static constexpr std::size_t max_symbols = 256;
    /// cm256 takes the symbol size as an int; a datagram is at most 65,535 bytes plus the length prefix.
    static constexpr std::size_t max_symbol_bytes = 65537;

    cm256_codec() = default;

    void encode(std::span<const std::byte* const> data, std::size_t symbol_bytes, unsigned first,
                std::span<std::byte> out, std::error_code& ec)
    {
        ec = {};
        const std::size_t k = data.size();
        if (!ready() || k == 0 || symbol_bytes == 0 || symbol_bytes > max_symbol_bytes || out.size() % symbol_bytes != 0 ||
            out.empty() || k + first + out.size() / symbol_bytes > max_symbols) {
            ec = errc::malformed;
            return;
        }
        const std::size_t count = out.size() / symbol_bytes;
        for (std::size_t i = 0; i < k; ++i)
            // cm256 reads the originals only; its block type has no const.
            originals_[i] = {const_cast<std::byte*>(data[i]), static_cast<unsigned char>(i)};
        // cm256 makes rows k..k+R-1 in one call: rows below `first` go to scratch, the rest to `out`.
        const auto params = CM256::cm256_encoder_params{static_cast<int>(k), static_cast<int>(first + count),
                                                        static_cast<int>(symbol_bytes)};
        std::byte* dest = out.data();
        if (first > 0) {
            scratch_.resize((first + count) * symbol_bytes);
            dest = scratch_.data();
        }
        if (cm_->cm256_encode(params, originals_.data(), dest) != 0) {
            ec = errc::malformed;
            return;
        }
        if (first > 0)
            std::copy_n(scratch_.data() + first * symbol_bytes, count * symbol_bytes, out.data());
    }

    void decode(std::span<symbol> blocks, std::size_t symbol_bytes, std::error_code& ec)
    {
        ec = {};
        const std::size_t k = blocks.size();
        if (!ready() || k == 0 || k >= max_symbols || symbol_bytes == 0 || symbol_bytes > max_symbol_bytes) {
            ec = errc::malformed;
            return;
        }
        std::array<bool, max_symbols> seen{};
        unsigned highest = 0;
        for (std::size_t i = 0; i < k; ++i) {
            const symbol& b = blocks[i];
            if (!b.data || seen[b.index]) {
                ec = errc::malformed;
                return;
            }
            seen[b.index] = true;
            highest = std::max<unsigned>(highest, b.index);
            originals_[i] = {b.data, b.index};
        }
        // cm256 checks indices against OriginalCount + RecoveryCount: the highest parity row used.
        const int recovery = highest >= k ? static_cast<int>(highest + 1 - k) : 1;
        const auto params = CM256::cm256_encoder_params{static_cast<int>(k), recovery, static_cast<int>(symbol_bytes)};
        if (cm_->cm256_decode(params, originals_.data()) != 0) {
            ec = errc::fec_unrecoverable;
            return;
        }
        for (std::size_t i = 0; i < k; ++i) {
            blocks[i].data = static_cast<std::byte*>(originals_[i].Block);
            blocks[i].index = originals_[i].Index;
        }
    }

private:
    bool ready()
    {
        if (!cm_)
            cm_ = std::make_unique<CM256>();
        return cm_->isInitialized();
    }

    std::unique_ptr<CM256> cm_;
    std::array<CM256::cm256_block, max_symbols> originals_{};
    std::vector<std::byte> scratch_;
};

static_assert(parity_codec<cm256_codec>);

} // namespace tlvcast::fragment::fec
