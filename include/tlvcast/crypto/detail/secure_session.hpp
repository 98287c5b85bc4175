// Internals of the secure profile: labels, byte helpers, one session's keys and record sealing/opening.
#pragma once

#include <tlvcast/crypto/aead.hpp>
#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/crypto/replay_window.hpp>
#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/wire/detail/endian.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace tlvcast::crypto::detail {

// 2: SECURE_DELIVER and SECURE_PRESENCE carry family-tagged IPv4 or IPv6 addresses (1 carried IPv4 only).
inline constexpr std::uint8_t secure_version = 2;
inline constexpr std::size_t secure_session_id_size = 8;
inline constexpr std::size_t secure_random_size = 16;
inline constexpr std::size_t secure_key_block_size = 2 * aead_key_size + 2 * aead_nonce_size; // 88
/// A whole record's overhead: TLV header, session_id, seq, tag.
inline constexpr std::size_t secure_record_overhead = wire::tlv_header_size + 8 + 8 + aead_tag_size; // 36

// PROTOCOL.md "Handshake": ASCII labels without a terminator.
inline constexpr std::string_view secure_label_th = "tlvcast secure v1";
inline constexpr std::string_view secure_label_relay = "tlvcast secure v1 relay";
inline constexpr std::string_view secure_label_client = "tlvcast secure v1 client";
inline constexpr std::string_view secure_label_keys = "tlvcast secure v1 keys";

using session_id = std::array<std::byte, secure_session_id_size>;

constexpr std::uint64_t load_u64(const std::byte* p) noexcept
{
    return (std::uint64_t{wire::detail::load_u32(p)} << 32) | wire::detail::load_u32(p + 4);
}

constexpr void store_u64(std::byte* p, std::uint64_t v) noexcept
{
    wire::detail::store_u32(p, static_cast<std::uint32_t>(v >> 32));
    wire::detail::store_u32(p + 4, static_cast<std::uint32_t>(v));
}

inline std::span<const std::byte> label_bytes(std::string_view s) noexcept { return std::as_bytes(std::span(s)); }

inline void append(std::vector<std::byte>& v, std::span<const std::byte> bytes)
{
    v.insert(v.end(), bytes.begin(), bytes.end());
}

/// th = SHA-256("tlvcast secure v1" || hello || session_id || e_r || id_r).
template <class Suite>
sha256_digest secure_transcript(std::span<const std::byte> hello, std::span<const std::byte> sid,
                                std::span<const std::byte> relay_ephemeral, std::span<const std::byte> relay_identity)
{
    std::vector<std::byte> t;
    t.reserve(secure_label_th.size() + hello.size() + sid.size() + 64);
    append(t, label_bytes(secure_label_th));
    append(t, hello);
    append(t, sid);
    append(t, relay_ephemeral);
    append(t, relay_identity);
    return Suite::sha256(t);
}

/// k_c2r || k_r2c || iv_c2r || iv_r2c = HKDF-Expand(HKDF-Extract(th, shared), "tlvcast secure v1 keys", 88).
template <class Suite>
secret_bytes<secure_key_block_size> secure_key_block(std::span<const std::byte, sha256_size> th,
                                                      std::span<const std::byte, x25519_key_size> shared)
{
    secret_bytes<secure_key_block_size> okm;
    hkdf<Suite>(th, shared, label_bytes(secure_label_keys), okm.span()); // the PRK is wiped inside
    return okm;
}

/// One direction pair of record keys (a session), with its counters. The client owns its sessions
/// alone; the relay shares them between threads, so tx and rx each have a mutex (held by the
/// caller around seal_record / open_record).
template <class Aead>
struct secure_session {
    session_id id{};
    Aead tx, rx;
    std::array<std::byte, aead_nonce_size> tx_iv{}, rx_iv{};
    std::uint64_t next_seq = 0;  ///< guarded by tx_mu on the relay
    replay_window window;        ///< guarded by rx_mu on the relay
    fingerprint peer{};          ///< the other side's verified identity
    std::mutex tx_mu, rx_mu;

    /// `client_side` picks which half of the key block this side sends with.
    secure_session(const session_id& sid, const secret_bytes<secure_key_block_size>& okm, bool client_side,
                   std::uint64_t first_seq, const fingerprint& peer_identity)
        : id(sid), tx(key(okm, client_side ? 0 : 1)), rx(key(okm, client_side ? 1 : 0)), next_seq(first_seq),
          peer(peer_identity)
    {
        const auto b = okm.span();
        const auto c2r = b.subspan(2 * aead_key_size, aead_nonce_size);
        const auto r2c = b.subspan(2 * aead_key_size + aead_nonce_size, aead_nonce_size);
        std::copy(c2r.begin(), c2r.end(), (client_side ? tx_iv : rx_iv).begin());
        std::copy(r2c.begin(), r2c.end(), (client_side ? rx_iv : tx_iv).begin());
    }

    static std::span<const std::byte, aead_key_size> key(const secret_bytes<secure_key_block_size>& okm, int which)
    {
        return okm.span().subspan(static_cast<std::size_t>(which) * aead_key_size).template first<aead_key_size>();
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
        const std::size_t value_size = 16 + inner.size() + aead_tag_size;
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
        store_u64(p + 12, seq);
        const auto nonce = make_nonce(tx_iv, seq);
        tx.seal(nonce, std::span<const std::byte>(p + 4, 16), inner,
                std::span<std::byte>(p + 20, inner.size() + aead_tag_size), ec);
        if (ec)
            dst.resize(at);
    }

    /// Opens a record value whose session_id is ours into `out`: replay check, AEAD open (AAD =
    /// session_id || seq), then the window moves. Errors: replayed, malformed, authentication_failed.
    void open_record(std::span<const std::byte> value, std::vector<std::byte>& out, std::error_code& ec)
    {
        out.clear();
        if (value.size() < 16 + aead_tag_size) {
            ec = errc::malformed;
            return;
        }
        const std::uint64_t seq = load_u64(value.data() + 8);
        if (auto e = window.check(seq)) {
            ec = e;
            return;
        }
        const auto sealed = value.subspan(16);
        out.resize(sealed.size() - aead_tag_size);
        const auto nonce = make_nonce(rx_iv, seq);
        rx.open(nonce, value.first(16), sealed, out, ec);
        if (ec) {
            out.clear();
            return;
        }
        ec = window.accept(seq);
    }
};

} // namespace tlvcast::crypto::detail
