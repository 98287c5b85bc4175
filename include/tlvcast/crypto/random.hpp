// SPDX-License-Identifier: BSL-1.0
// The random_source policy: where a profile draws every random byte (keys, nonces, secrets, ids).
#pragma once

#include <tlvcast/crypto/secret.hpp>
#include <tlvcast/crypto/suite.hpp>

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string_view>

namespace tlvcast::crypto {

/// A source of random bytes: fill(out) writes out.size() bytes and never fails (a CSPRNG that
/// cannot be seeded throws at construction or first use, as Suite::random_bytes does). A profile
/// takes one as a policy so that randomness is an input: the OS in production, a seed in tests.
/// Not required to be thread-safe: one profile instance draws from it on one thread.
template <class R>
concept random_source = requires(R& r, std::span<std::byte> out) {
    { r.fill(out) } -> std::same_as<void>;
};

/// The default: the backend's CSPRNG (which the OS seeds). Stateless.
template <class Suite>
struct os_random {
    static_assert(suite<Suite>, "os_random: Suite must model tlvcast::crypto::suite");
    void fill(std::span<std::byte> out) { Suite::random_bytes(out); }
};

/// FOR TESTS AND SIMULATIONS ONLY: a deterministic stream from a seed, so that a run replays bit
/// for bit. Block i is HKDF-Expand(PRK, "tlvcast seeded random" || i as 8 bytes, 255 * 32) with
/// PRK = HKDF-Extract("tlvcast seeded random", seed): a real PRF of the suite, so the bytes look
/// random to the code under test, but anyone who knows the seed knows every key drawn from it.
/// Never use it where secrecy matters.
template <class Suite>
class seeded_random {
    static_assert(suite<Suite>, "seeded_random: Suite must model tlvcast::crypto::suite");

public:
    static constexpr std::string_view label = "tlvcast seeded random";

    explicit seeded_random(std::uint64_t seed)
    {
        std::array<std::byte, 8> s{};
        for (std::size_t i = 0; i < s.size(); ++i)
            s[i] = static_cast<std::byte>(seed >> (56 - 8 * i));
        prk_ = Suite::hkdf_extract(std::as_bytes(std::span(label)), s);
    }

    // Not copyable: a copy would replay the same stream (the same ephemeral keys, randoms and
    // session ids) wherever it is used. Movable: the moved-from generator is wiped and refuses to
    // draw (std::logic_error), so that it cannot replay what the moved-to one continues.
    seeded_random(const seeded_random&) = delete;
    seeded_random& operator=(const seeded_random&) = delete;
    seeded_random(seeded_random&& other) noexcept
        : prk_(other.prk_), block_(other.block_), used_(other.used_), counter_(other.counter_), live_(other.live_)
    {
        other.drop();
    }
    seeded_random& operator=(seeded_random&& other) noexcept
    {
        if (this != &other) {
            prk_ = other.prk_;
            block_ = other.block_;
            used_ = other.used_;
            counter_ = other.counter_;
            live_ = other.live_;
            other.drop();
        }
        return *this;
    }
    ~seeded_random() = default;

    /// Throws std::logic_error on a moved-from generator.
    void fill(std::span<std::byte> out)
    {
        if (!live_)
            throw std::logic_error("tlvcast: seeded_random used after it was moved from");
        while (!out.empty()) {
            if (used_ == block_.size())
                refill();
            const std::size_t n = std::min(out.size(), block_.size() - used_);
            std::copy_n(block_.span().begin() + static_cast<std::ptrdiff_t>(used_), n, out.begin());
            used_ += n;
            out = out.subspan(n);
        }
    }

private:
    void refill()
    {
        std::array<std::byte, label.size() + 8> info{};
        std::copy_n(std::as_bytes(std::span(label)).begin(), label.size(), info.begin());
        for (std::size_t i = 0; i < 8; ++i)
            info[label.size() + i] = static_cast<std::byte>(counter_ >> (56 - 8 * i));
        ++counter_;
        Suite::hkdf_expand(prk_.span(), info, block_.span());
        used_ = 0;
    }

    void drop() noexcept
    {
        prk_.wipe();
        block_.wipe();
        used_ = hkdf_sha256_max_output;
        counter_ = 0;
        live_ = false;
    }

    secret_bytes<sha256_size> prk_;
    secret_bytes<hkdf_sha256_max_output> block_;
    std::size_t used_ = hkdf_sha256_max_output;
    std::uint64_t counter_ = 0;
    bool live_ = true;
};

} // namespace tlvcast::crypto
