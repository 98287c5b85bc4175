// SPDX-License-Identifier: BSL-1.0
// rsa_oaep: the seed profile's Cipher policy (RSA-2048, OAEP-SHA256, 190-byte chunks), over an RSA backend.
#pragma once

#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/crypto/key_file.hpp>
#include <tlvcast/crypto/rsa_backend.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/profile/seed/client_side.hpp>
#include <tlvcast/profile/seed/control.hpp>
#include <tlvcast/profile/seed/detail/rsa_blocks.hpp>
#include <tlvcast/profile/seed/relay_side.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tlvcast::profile::seed {

/// The seed profile's cryptography (docs/PROTOCOL.md "Seed profile", "Cryptography", "Registration", "Relay
/// behaviour"): the client registers its PEM key (4) and asks for the relay's (7, answered by 5);
/// messages are RSA-OAEP blocks of at most modulus-66 bytes, each in a type-3 TLV, to the relay's
/// key; the relay re-encrypts for each recipient into SENDER_INFO(RELAYED_MESSAGE). The profile's
/// control messages are the texts "CONNECT" and "DISCONNECT" (control.hpp), sealed like any
/// message: they are this policy's business alone. The seed profile proves no identity: a seed
/// client accepts any relay, as the prototype did. One instance holds this side's private key.
/// The work is done by the client half (client_side.hpp) and the relay half (relay_side.hpp).
/// seal/open/seal_relayed/presence are const and thread-safe.
template <crypto::rsa_backend Rsa>
class basic_rsa_oaep {
public:
    static constexpr bool has_record_layer = false;
    static constexpr crypto::forwarding forwarding = crypto::forwarding::reseal;
    /// The seed profile's control texts.
    static constexpr std::string_view connect_text = seed::connect_text;
    static constexpr std::string_view disconnect_text = seed::disconnect_text;
    /// The frozen wire names peers by IPv4 address: a client engine refuses to start towards an
    /// IPv6 group (errc::address_family), and the relay side refuses IPv6 sources.
    static constexpr bool ipv4_only = true;
    using backend_type = Rsa;
    using private_key = typename Rsa::private_key;
    using public_key = typename Rsa::public_key;
    /// The client's view of its relay (client_side.hpp).
    using client_session = seed::client_session<Rsa>;
    /// The relay's view of one client (relay_side.hpp).
    using peer_session = seed::peer_session<Rsa>;

    /// Uses `key` as this side's key pair. Throws std::invalid_argument for a key the profile cannot use.
    explicit basic_rsa_oaep(private_key key) : keys_(std::move(key)), client_(keys_.pem()), relay_(keys_.pem()) {}

    /// A fresh key pair (the profile's default: a new key each run).
    static basic_rsa_oaep generate(unsigned bits = 2048) { return basic_rsa_oaep(Rsa::generate(bits)); }

    /// Loads the PEM private key at `path`, or creates it there (mode 0600) when absent.
    static basic_rsa_oaep load_or_create(const std::filesystem::path& path, unsigned bits = 2048)
    {
        return load_or_create(path, {}, nullptr, bits);
    }
    /// The same, reading the key as `options` say and reporting a too-open file in `status` (key_file.hpp).
    static basic_rsa_oaep load_or_create(const std::filesystem::path& path, const crypto::key_file_options& options,
                                         crypto::key_file_status* status, unsigned bits = 2048)
    {
        if (std::filesystem::exists(path))
            return basic_rsa_oaep(Rsa::load_private_pem(path, options, status));
        auto key = Rsa::generate(bits);
        Rsa::save_private_pem(key, path);
        return basic_rsa_oaep(std::move(key));
    }

    /// Largest plaintext per RSA block (190 for RSA-2048).
    std::size_t chunk_size() const noexcept { return keys_.chunk_size(); }
    std::size_t block_size() const noexcept { return keys_.modulus(); }
    const std::string& public_pem() const noexcept { return keys_.pem(); }
    crypto::fingerprint public_fingerprint() const { return Rsa::fingerprint(keys_.public_of()); }

    // ---- client side ----

    /// A join (CONNECT) is sent again byte for byte on this schedule: nothing on the seed wire
    /// acknowledges it (client_side.hpp, connect_repeat). The client engine does the repeating.
    static constexpr crypto::retransmit_schedule join_repeat = connect_repeat;

    /// Appends REGISTER_PUBLIC_KEY and REQUEST_SERVER_KEY, one datagram each, to the relay; they
    /// go again on the timer until the relay answers (registration_retransmit).
    void start_session(client_session& s, const endpoint& relay, time_point now, datagram_batch& out) const
    {
        client_.start(s, relay, now, out);
    }

    /// Client timer: the registration datagrams again when the relay's answer is late, then the
    /// key alone until the relay shows that it holds it (client_side.hpp). The engine calls it.
    void on_timer(client_session& s, time_point now, datagram_batch& out) const { client_.on_timer(s, now, out); }
    /// When on_timer has work, or no_timer.
    time_point next_timer(const client_session& s) const noexcept { return client_.next_timer(s); }

    bool established(const client_session& s) const noexcept { return s.relay_key.has_value(); }

    /// Handles SERVER_PUBLIC_KEY, SENDER_INFO, RELAYED_MESSAGE and the presence notices. Errors:
    /// malformed, decrypt_failed, unexpected_type (SENDER_INFO around another type), replayed (a
    /// relayed ciphertext seen recently).
    crypto::received client_receive(client_session& s, const wire::tlv& t, time_point now,
                                    const crypto::relay_trust& /*trust*/, datagram_batch& /*out*/,
                                    std::vector<std::byte>& text, std::error_code& ec) const
    {
        return client_.receive(keys_, s, t, now, text, ec);
    }

    /// The message blob: one type-3 TLV per chunk, each encrypted to the relay's key; an empty
    /// message is one empty chunk. join and leave seal the control texts. Errors: not_ready before
    /// the relay's key is known; reserved_text for a data message equal to a control text.
    void seal(const client_session& s, crypto::message_kind kind, std::span<const std::byte> message,
              std::vector<std::byte>& blob, std::error_code& ec) const
    {
        client_.seal(keys_, s, kind, message, blob, ec);
    }

    // ---- relay side ----

    /// REGISTER_PUBLIC_KEY registers `from`; REQUEST_SERVER_KEY is answered with SERVER_PUBLIC_KEY.
    /// Error: address_family when `from` is IPv6 (nothing registered or answered: the seed wire
    /// cannot name such a peer to the others).
    bool relay_handshake(const endpoint& from, const wire::tlv& t, time_point, datagram_batch& out,
                         const peer_session* /*current*/, std::optional<peer_session>& registered,
                         std::error_code& ec) const
    {
        return relay_.handshake(from, t, out, registered, ec);
    }

    /// Decrypts a reassembled blob of type-3 TLVs with this relay's key; the control texts are
    /// join and leave. Errors: malformed, decrypt_failed. Thread-safe.
    crypto::message_kind open(const peer_session&, std::span<const std::byte> blob, std::vector<std::byte>& plaintext,
                              std::error_code& ec) const
    {
        return relay_.open(keys_, blob, plaintext, ec);
    }

    /// The blob SENDER_INFO(sender, RELAYED_MESSAGE(blocks to the recipient's key)), one TLV that
    /// travels as one datagram. Errors: message_too_large (over 255 blocks), address_family for an
    /// IPv6 sender. Thread-safe.
    void seal_relayed(const peer_session& p, const peer_session& /*sender_session*/, const endpoint& sender,
                      std::span<const std::byte> plaintext, std::vector<std::byte>& blob, std::error_code& ec) const
    {
        relay_.seal_relayed(keys_, p, sender, plaintext, blob, ec);
    }

    /// The blob CLIENT_CONNECTED or CLIENT_DISCONNECTED about `about`. Error: address_family for an
    /// IPv6 `about` (the blob stays empty).
    void presence(const peer_session&, bool connected, const peer_session* /*about_session*/, const endpoint& about,
                  std::vector<std::byte>& blob, std::error_code& ec) const
    {
        relay_.presence(connected, about, blob, ec);
    }

    /// The seed profile proves no identity: peers are known by address only.
    std::optional<crypto::fingerprint> identity(const peer_session&) const noexcept { return std::nullopt; }

private:
    detail::rsa_blocks<Rsa> keys_; // first: its constructor checks the key before the halves use it
    detail::client_side<Rsa> client_;
    detail::relay_side<Rsa> relay_;
};

/// The seed profile on the default backend (crypto/default_backend.hpp).
using rsa_oaep = basic_rsa_oaep<crypto::default_rsa>;

static_assert(crypto::client_cipher<rsa_oaep> && crypto::relay_cipher<rsa_oaep>,
              "rsa_oaep must model tlvcast::crypto::client_cipher and relay_cipher");

} // namespace tlvcast::profile::seed

namespace tlvcast {
/// The short name: `tlvcast::seed::rsa_oaep`, and with profile/seed.hpp `tlvcast::seed::client`, `relay`, `cipher`.
namespace seed = profile::seed;
} // namespace tlvcast
