// SPDX-License-Identifier: BSL-1.0
// The secure profile's record layer: sizes, one session's keys, and sealing/opening SECURE_RECORDs.
#pragma once

#include <tlvcast/crypto/aead.hpp>
#include <tlvcast/crypto/replay_window.hpp>
#include <tlvcast/crypto/secret.hpp>
#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/wire/detail/endian.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::profile::secure {

/// 2: SECURE_DELIVER and SECURE_PRESENCE carry family-tagged IPv4 or IPv6 addresses (1 carried IPv4 only).
inline constexpr std::uint8_t version = 2;
inline constexpr std::size_t session_id_size = 8;
inline constexpr std::size_t random_size = 16;
inline constexpr std::size_t key_block_size = 2 * crypto::aead_key_size + 2 * crypto::aead_nonce_size; // 88
/// A whole record's overhead: TLV header, session_id, seq, tag.
inline constexpr std::size_t record_overhead = wire::tlv_header_size + 8 + 8 + crypto::aead_tag_size; // 36

using session_id = std::array<std::byte, session_id_size>;

namespace detail {

constexpr std::uint64_t load_u64(const std::byte* p) noexcept
{
    return (std::uint64_t{wire::detail::load_u32(p)} << 32) | wire::detail::load_u32(p + 4);
}

constexpr void store_u64(std::byte* p, std::uint64_t v) noexcept
{
    wire::detail::store_u32(p, static_cast<std::uint32_t>(v >> 32));
    wire::detail::store_u32(p + 4, static_cast<std::uint32_t>(v));
}

} // namespace detail

/// One direction pair of record keys (a session), with its counters. The client owns its sessions
/// alone; the relay shares them between threads, so tx and rx each have a mutex (held by the
/// caller around seal_record / open_record).
template <class Aead>
struct session {
    session_id id{};
    Aead tx, rx;
    std::array<std::byte, crypto::aead_nonce_size> tx_iv{}, rx_iv{};
    std::uint64_t next_seq = 0;  ///< guarded by tx_mu on the relay
    crypto::replay_window window; ///< guarded by rx_mu on the relay
    crypto::fingerprint peer{};   ///< the other side's verified identity
    std::uint64_t failed_opens = 0;  ///< authentication failures under rx (guarded by rx_mu on the relay)
    std::uint64_t updates_asked = 0; ///< relay: SECURE_KEY_UPDATEs queued for this session (guarded by tx_mu)
    bool dead_reported = false;      ///< relay: a dead receive key was reported (guarded by rx_mu)
    std::mutex tx_mu, rx_mu;

    /// `client_side` picks which half of the key block this side sends with.
    session(const session_id& sid, const crypto::secret_bytes<key_block_size>& okm, bool client_side,
            std::uint64_t first_seq, const crypto::fingerprint& peer_identity)
        : id(sid), tx(key(okm, client_side ? 0 : 1)), rx(key(okm, client_side ? 1 : 0)), next_seq(first_seq),
          peer(peer_identity)
    {
        const auto b = okm.span();
        const auto c2r = b.subspan(2 * crypto::aead_key_size, crypto::aead_nonce_size);
        const auto r2c = b.subspan(2 * crypto::aead_key_size + crypto::aead_nonce_size, crypto::aead_nonce_size);
        std::copy(c2r.begin(), c2r.end(), (client_side ? tx_iv : rx_iv).begin());
        std::copy(r2c.begin(), r2c.end(), (client_side ? rx_iv : tx_iv).begin());
    }

    static std::span<const std::byte, crypto::aead_key_size> key(const crypto::secret_bytes<key_block_size>& okm,
                                                                 int which)
    {
        return okm.span()
            .subspan(static_cast<std::size_t>(which) * crypto::aead_key_size)
            .template first<crypto::aead_key_size>();
    }

    /// Appends SECURE_RECORD(id, next seq, AEAD(inner)) to `dst`. Errors: key_exhausted at
    /// `limit` records, message_too_large. `inner` must not view `dst`.
    void seal_record(std::span<const std::byte> inner, std::vector<std::byte>& dst, std::uint64_t limit,
                     std::error_code& ec)
    {
        if (next_seq >= limit) {
            ec = errc::key_exhausted;
            return;
        }
        const std::size_t value_size = 16 + inner.size() + crypto::aead_tag_size;
        if (value_size > wire::max_value_size) {
            ec = errc::message_too_large;
            return;
        }
        const std::uint64_t seq = next_seq++;
        const std::size_t at = dst.size();
        dst.resize(at + wire::tlv_header_size + value_size);
        std::byte* p = dst.data() + at;
        wire::detail::store_u16(p, static_cast<std::uint16_t>(wire::tlv_type::secure_record));
        wire::detail::store_u16(p + 2, static_cast<std::uint16_t>(value_size));
        std::copy(id.begin(), id.end(), p + 4);
        detail::store_u64(p + 12, seq);
        const auto nonce = crypto::make_nonce(tx_iv, seq);
        tx.seal(nonce, std::span<const std::byte>(p + 4, 16), inner,
                std::span<std::byte>(p + 20, inner.size() + crypto::aead_tag_size), ec);
        if (ec)
            dst.resize(at);
    }

    /// Whether rx has failed authentication `max_failed` times: it opens nothing any more.
    bool receive_key_dead(std::uint64_t max_failed) const noexcept { return failed_opens >= max_failed; }

    /// Opens a record value whose session_id is ours into `out`: replay check, AEAD open (AAD =
    /// session_id || seq), then the window moves. Each authentication failure counts toward
    /// `max_failed` (the AEAD's integrity limit); from then on every record fails with
    /// key_exhausted without an open. Errors: replayed, malformed, authentication_failed, key_exhausted.
    void open_record(std::span<const std::byte> value, std::vector<std::byte>& out, std::uint64_t max_failed,
                     std::error_code& ec)
    {
        out.clear();
        if (receive_key_dead(max_failed)) {
            ec = errc::key_exhausted;
            return;
        }
        if (value.size() < 16 + crypto::aead_tag_size) {
            ec = errc::malformed;
            return;
        }
        const std::uint64_t seq = detail::load_u64(value.data() + 8);
        if (auto e = window.check(seq)) {
            ec = e;
            return;
        }
        const auto sealed = value.subspan(16);
        out.resize(sealed.size() - crypto::aead_tag_size);
        const auto nonce = crypto::make_nonce(rx_iv, seq);
        rx.open(nonce, value.first(16), sealed, out, ec);
        if (ec) {
            if (ec == errc::authentication_failed)
                ++failed_opens;
            out.clear();
            return;
        }
        ec = window.accept(seq);
    }
};

} // namespace tlvcast::profile::secure
