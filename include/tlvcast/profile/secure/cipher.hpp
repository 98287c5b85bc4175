// SPDX-License-Identifier: BSL-1.0
// The secure profile's Cipher policy: the handshakes, message blobs and record layer tied together.
#pragma once

#include <tlvcast/crypto/aead.hpp>
#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/crypto/hex.hpp>
#include <tlvcast/crypto/identity.hpp>
#include <tlvcast/crypto/key_file.hpp>
#include <tlvcast/crypto/random.hpp>
#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/profile/secure/batch.hpp>
#include <tlvcast/profile/secure/client_handshake.hpp>
#include <tlvcast/profile/secure/detail/batch_inbox.hpp>
#include <tlvcast/profile/secure/detail/party.hpp>
#include <tlvcast/profile/secure/key_schedule.hpp>
#include <tlvcast/profile/secure/key_update.hpp>
#include <tlvcast/profile/secure/messages.hpp>
#include <tlvcast/profile/secure/options.hpp>
#include <tlvcast/profile/secure/record.hpp>
#include <tlvcast/profile/secure/record_layer.hpp>
#include <tlvcast/profile/secure/relay_handshake.hpp>
#include <tlvcast/wire/fragment_header.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace tlvcast::profile::secure {

/// The secure profile's Cipher policy (docs/PROTOCOL.md, "Secure profile"): a SIGMA-style handshake
/// (ephemeral X25519, Ed25519 identities, stateless cookie first), then every datagram is an AEAD
/// record (`Aead`: AES-256-GCM or ChaCha20-Poly1305) with a 64-bit sequence number and a 1024-wide
/// replay window. `Suite` provides X25519, Ed25519, SHA-256 and HKDF. `Random` (a
/// crypto::random_source) is where every random byte of the profile comes from: ephemeral keys,
/// client randoms, session ids and the cookie secret; the backend's CSPRNG by default, a
/// crypto::seeded_random in tests and simulations, which then replay bit for bit from their seed.
/// It is a template parameter, owned by the instance: no indirect call per draw, no lifetime to
/// manage, and a production type cannot be handed a test generator by a stray option.
/// One instance is one side's identity. Client-side calls are driven by one client_engine (not
/// thread-safe); on the relay, relay_handshake() runs on the engine's thread and open(),
/// unprotect(), seal_relayed(), presence() and identity() are thread-safe for any sessions.
template <class Suite, class Aead, class Random = crypto::os_random<Suite>>
class basic_cipher {
    static_assert(crypto::suite<Suite>, "basic_cipher: Suite must model tlvcast::crypto::suite");
    static_assert(crypto::aead<Aead>, "basic_cipher: Aead must model tlvcast::crypto::aead");
    static_assert(crypto::random_source<Random>, "basic_cipher: Random must model tlvcast::crypto::random_source");
    using client_steps = client_handshake<Suite, Aead, Random>;
    using relay_steps = secure::relay_handshake<Suite, Aead, Random>;

public:
    static constexpr bool has_record_layer = true;
    static constexpr wire::tlv_type record_type = wire::tlv_type::secure_record;
    static constexpr crypto::forwarding forwarding = crypto::forwarding::reseal;
    /// Delivery is AEAD work only: a relay does it where the message arrived (see crypto::cheap_delivery).
    static constexpr bool cheap_delivery = true;
    using options = secure::options;
    using session_type = session<Aead>;
    using client_session = secure::client_session<Aead>;
    using peer_session = secure::peer_session<Aead>;
    /// The `aead` byte of SECURE_HELLO: 1 = AES-256-GCM, 2 = ChaCha20-Poly1305.
    static constexpr std::uint8_t aead_id = static_cast<std::uint8_t>(Aead::id);
    /// Records a sender seals under one key before errc::key_exhausted (see aead.hpp); an instance
    /// may lower it (options::max_records_per_key, see limits()).
    static constexpr std::uint64_t max_records = Aead::max_records_per_key;
    static constexpr std::size_t record_overhead = secure::record_overhead;
    static constexpr unsigned max_cookies_per_attempt = secure::max_cookies_per_attempt;
    static constexpr unsigned max_refusals_reported = secure::max_refusals_reported;

    /// Uses `identity` as this side's Ed25519 identity and draws from `rng`. Throws
    /// std::invalid_argument for a max_datagram too small for the handshake and a record, or
    /// invalid rate limits.
    explicit basic_cipher(crypto::ed25519_keypair identity, options opt = {}, Random rng = Random{})
    {
        if (opt.max_datagram < 256 || opt.max_datagram > 65'507)
            throw std::invalid_argument("tlvcast::secure: max_datagram must be in 256..65507");
        if (opt.max_pending == 0 || opt.max_pending_per_address == 0 || opt.pending_expiry <= duration::zero())
            throw std::invalid_argument(
                "tlvcast::secure: max_pending, max_pending_per_address and pending_expiry must be positive");
        // now + pending_expiry must not overflow: duration::max() ("never") made every expiry time
        // negative, so both sides wiped each handshake at once and none ever completed.
        if (opt.pending_expiry > std::chrono::hours(24) || opt.cookie_rotation > std::chrono::hours(24))
            throw std::invalid_argument("tlvcast::secure: pending_expiry and cookie_rotation must be at most 24 hours");
        if (!opt.retransmit.valid() || opt.retransmit.max > opt.pending_expiry)
            throw std::invalid_argument(
                "tlvcast::secure: retransmit needs 0 < initial <= max <= pending_expiry");
        limits_ = make_key_limits<Aead>(opt);
        relay_ = std::make_unique<relay_steps>(opt.handshake_limits);
        updates_ = std::make_unique<key_update_queue<Aead>>();
        inbox_ = std::make_unique<detail::batch_inbox>();
        me_ = std::make_unique<detail::party<Suite, Random>>(std::move(identity), std::move(opt), std::move(rng));
    }

    /// A fresh identity from the backend's CSPRNG (identities are long-lived: never from `Random`).
    static crypto::ed25519_keypair generate() { return crypto::generate_ed25519<Suite>(); }

    /// Loads the identity (PKCS#8 PEM) at `path`, or creates it there (mode 0600) when absent (see
    /// crypto::load_or_create_identity: `status` reports a too-open file, which `options` may refuse).
    /// Prints nothing. Throws std::system_error when the file is unusable.
    static crypto::ed25519_keypair load_or_create_identity(const std::filesystem::path& path,
                                                           const crypto::key_file_options& options = {},
                                                           crypto::key_file_status* status = nullptr)
    {
        return crypto::load_or_create_identity<Suite>(path, options, status);
    }

    /// 64 lowercase hex digits; and back (nullopt unless exactly 64 hex digits).
    static std::string to_hex(const crypto::fingerprint& fp) { return crypto::to_hex(fp); }
    static std::optional<crypto::fingerprint> from_hex(std::string_view hex) { return crypto::from_hex<32>(hex); }

    /// SHA-256 of this side's public key.
    const crypto::fingerprint& identity_fingerprint() const noexcept { return me_->fingerprint(); }
    const std::array<std::byte, crypto::ed25519_public_size>& public_key() const noexcept
    {
        return me_->identity().public_key;
    }
    const options& settings() const noexcept { return me_->settings(); }

    /// The fragment payload a Fragmenter must use so that each FRAGMENT fits one record in
    /// max_datagram: max_datagram - 36 (record) - 12 (FRAGMENT TLV and header); 1184 by default.
    std::size_t fragment_payload() const noexcept
    {
        return settings().max_datagram - record_overhead - wire::tlv_header_size - wire::fragment_header_size;
    }
    /// The largest blob that travels whole in one record (a Fragmenter's max_whole): 1196 by default.
    std::size_t max_whole() const noexcept { return settings().max_datagram - record_overhead; }

    /// The key usage limits this instance enforces.
    const key_limits& limits() const noexcept { return limits_; }

    /// This side's identity, randomness and counted public-key operations, for a profile built on
    /// this one (the group profile): it shares them rather than holding a second identity.
    detail::party<Suite, Random>& party() const noexcept { return *me_; }

    /// Public-key operations so far (tests count them to prove cheap rejection).
    pk_counts public_key_ops() const noexcept { return me_->counts(); }
    /// Handshakes waiting for SECURE_CLIENT_AUTH (call on the relay engine's thread, or when it is idle).
    std::size_t pending_handshakes() const noexcept { return relay_->pending(); }

    // ---- client side ----

    /// Starts a (re-)handshake: a new ephemeral key and random; appends SECURE_HELLO without a cookie
    /// to `relay`. A handshake already in progress (keys derived, no SECURE_ACCEPT yet) is abandoned.
    void start_session(client_session& s, const endpoint& relay, time_point now, datagram_batch& out) const
    {
        client_steps::start(*me_, s, relay, now, out);
    }

    /// Client timer: sends the handshake's last flight again when its answer is late
    /// (options::retransmit, appended to `out`), wipes a handshake that outlived
    /// options::pending_expiry (its ephemeral key and unconfirmed session keys), and starts a
    /// re-handshake when the current session sealed past the rekey threshold or its receive key
    /// died. The engine calls it.
    void on_timer(client_session& s, time_point now, datagram_batch& out) const
    {
        client_steps::on_timer(*me_, s, limits_, now, out);
    }
    /// When the client's on_timer has work (at once when new keys are due, else the next
    /// retransmission or the handshake's expiry), or no_timer.
    time_point next_timer(const client_session& s) const noexcept { return client_steps::next_timer(s, limits_); }

    bool established(const client_session& s) const noexcept { return s.current != nullptr; }
    /// A handshake is under way: its flight is being sent again, or its keys wait for SECURE_ACCEPT
    /// (the relay may already seal under them). A probe then has nothing to add.
    bool handshaking(const client_session& s) const noexcept { return s.handshaking || s.pending != nullptr; }

    /// Handles one TLV from the relay: SECURE_COOKIE and SECURE_SERVER_HELLO outside records
    /// (appending the client's answer to `out`), SECURE_ACCEPT, SECURE_PRESENCE, SECURE_DELIVER
    /// and SECURE_DELIVER_BATCH (its first message; poll_message() the rest) from inside records,
    /// and SECURE_KEY_UPDATE (a re-handshake starts, appended to `out`).
    /// Seed-profile types are ignored (they are unauthenticated here).
    /// A SERVER_HELLO whose identity `trust` refuses, or (on a re-handshake) that is not the current
    /// session's relay, gets no answer: kind::relay_refused, and the handshake stays open for the
    /// real relay's answer. Errors: handshake_failed, authentication_failed (bad relay
    /// signature), malformed.
    crypto::received client_receive(client_session& s, const wire::tlv& t, time_point now, const crypto::relay_trust& trust,
                                    datagram_batch& out, std::vector<std::byte>& text, std::error_code& ec) const
    {
        ec = {};
        switch (t.type()) {
        case wire::tlv_type::secure_cookie: client_steps::on_cookie(*me_, s, t.value, now, out, ec); return {};
        case wire::tlv_type::secure_server_hello:
            return client_steps::on_server_hello(*me_, s, t.value, trust, now, out, ec);
        case wire::tlv_type::secure_accept: return client_steps::on_accept(s, t.value);
        case wire::tlv_type::secure_presence: return messages::read_presence(t.value, ec);
        case wire::tlv_type::secure_deliver: return messages::read_deliver(t.value, text, ec);
        case wire::tlv_type::secure_deliver_part: return messages::read_deliver_part(t.value, text, ec);
        case wire::tlv_type::secure_deliver_batch: return inbox_->take(t.value, text, ec);
        case wire::tlv_type::secure_batch: ec = errc::unexpected_type; return {}; // a client's blob, never the relay's
        case wire::tlv_type::secure_key_update: client_steps::on_key_update(*me_, s, now, out); return {};
        default: return {}; // seed types (5, 6, 10, 11, 12) and the rest: never trusted here
        }
    }

    /// The message blob: SECURE_MESSAGE(message), SECURE_CONNECT or SECURE_DISCONNECT; the record
    /// layer encrypts it. Errors: message_too_large (over 65,535 bytes).
    void seal(const client_session&, crypto::message_kind kind, std::span<const std::byte> message,
              std::vector<std::byte>& blob, std::error_code& ec) const
    {
        messages::seal(kind, message, blob, ec);
    }

    /// Several data messages in one blob: SECURE_BATCH with as many of `messages`, from the first,
    /// as fit when the relay's SECURE_DELIVER_BATCH of them must stay within `budget` bytes (the
    /// largest blob the Fragmenter sends in one datagram; 0 or more than max_whole(): max_whole()),
    /// at most max_batch_messages. When fewer than two fit, the first goes alone as SECURE_MESSAGE
    /// (a message too large for a batch is sent as usual). Returns how many it took (0 on error).
    /// Errors: message_too_large.
    std::size_t seal_batch(const client_session&, std::span<const std::span<const std::byte>> messages,
                           std::size_t budget, std::vector<std::byte>& blob, std::error_code& ec) const
    {
        return messages::seal_batch(messages, budget == 0 ? max_whole() : std::min(budget, max_whole()), blob, ec);
    }

    /// The messages of the last SECURE_DELIVER_BATCH after the first (client_receive() returned
    /// that one), in the sender's order, each with the batch's sender; false when none is left.
    bool poll_message(client_session&, crypto::received& r, std::vector<std::byte>& text) const
    {
        return inbox_->next(r, text);
    }

    /// The blob of one part of a large message: SECURE_PART(header, bytes). Errors: message_too_large.
    void seal_part(const client_session&, std::span<const std::byte> header, std::span<const std::byte> bytes,
                   std::vector<std::byte>& blob, std::error_code& ec) const
    {
        messages::seal_part(header, bytes, blob, ec);
    }

    /// Seals one inner datagram (a FRAGMENT or KEEPALIVE TLV) as a whole SECURE_RECORD into `record`
    /// under the current session. Errors: not_ready (no session), key_exhausted, message_too_large.
    void protect(client_session& s, std::span<const std::byte> inner, std::vector<std::byte>& record,
                 std::error_code& ec) const
    {
        record.clear();
        records::protect(s, inner, record, limits_, ec);
    }
    /// protect(), appending the record to `dst` (the engines' outgoing batch: sealed in place, no
    /// copy); on error `dst` is unchanged. `inner` must not view `dst`.
    void protect_append(client_session& s, std::span<const std::byte> inner, std::vector<std::byte>& dst,
                        std::error_code& ec) const
    {
        records::protect(s, inner, dst, limits_, ec);
    }

    /// A record's value -> the inner TLV bytes, under whichever of the current, pending or previous
    /// sessions it names. Errors: stale_session (no such session), replayed, authentication_failed,
    /// malformed, key_exhausted (that session's receive key failed authentication
    /// max_failed_opens times: dead; on_timer re-handshakes).
    void unprotect(client_session& s, std::span<const std::byte> value, std::vector<std::byte>& inner,
                   std::error_code& ec) const
    {
        records::unprotect(s, value, inner, limits_, ec);
    }

    // ---- relay side ----

    /// SECURE_HELLO (13) and SECURE_CLIENT_AUTH (16); false for other types. Runs on the engine's
    /// thread. A hello without a valid cookie is answered with SECURE_COOKIE and costs one HMAC, no
    /// state. A hello+cookie already pending from the same source is answered with the stored
    /// SECURE_SERVER_HELLO (no new key or signature). A new handshake over the pending caps evicts
    /// the oldest entry (its keys wiped); expired entries are wiped on the timer (on_timer) and
    /// whenever the relay handles a handshake TLV. Errors: malformed, handshake_failed (version, aead, low-order key),
    /// rate_limited (address, prefix or global), stale_session (unknown or expired session, or
    /// another source), authentication_failed (client auth does not open or verify).
    bool relay_handshake(const endpoint& from, const wire::tlv& t, time_point now, datagram_batch& out,
                         const peer_session* current, std::optional<peer_session>& registered, std::error_code& ec)
    {
        ec = {};
        if (t.type() == wire::tlv_type::secure_hello) {
            relay_->expire(now);
            relay_->on_hello(*me_, from, t.value, now, out, ec);
            return true;
        }
        if (t.type() == wire::tlv_type::secure_client_auth) {
            relay_->expire(now);
            relay_->on_client_auth(*me_, from, t.value, now, out, current, registered, limits_.max_records, ec);
            return true;
        }
        return false;
    }

    /// Relay timer: wipes expired pending handshakes without waiting for the next handshake
    /// datagram. The engine calls it from on_timer, on its thread.
    /// Also sends the SECURE_KEY_UPDATE requests that protect() and unprotect() queued.
    void on_timer(time_point now, datagram_batch& out)
    {
        relay_->expire(now);
        updates_->send(out, limits_.max_records);
    }
    /// When the relay's on_timer has work (at once for a queued key update, else the oldest
    /// pending handshake's expiry), or no_timer.
    time_point next_timer() const
    {
        return updates_->empty() ? relay_->next_expiry() : time_point{};
    }

    /// A client's blob (it came in authenticated records): SECURE_MESSAGE -> data and its
    /// plaintext, SECURE_BATCH -> batch and its checked value, SECURE_PART -> part,
    /// SECURE_CONNECT -> join, SECURE_DISCONNECT -> leave. Errors: malformed. Thread-safe.
    crypto::message_kind open(const peer_session&, std::span<const std::byte> blob, std::vector<std::byte>& plaintext,
                              std::error_code& ec) const
    {
        return messages::open(blob, plaintext, ec);
    }

    /// Opens a record from peer `p` (current or previous session). Errors as the client's unprotect.
    /// A current session whose receive key just died asks the client for new keys
    /// (SECURE_KEY_UPDATE on the next on_timer). Thread-safe: each session's receive state is
    /// behind its own mutex.
    void unprotect(const peer_session& p, std::span<const std::byte> value, std::vector<std::byte>& inner,
                   std::error_code& ec) const
    {
        records::unprotect(p, value, inner, limits_, *updates_, ec);
    }

    /// The blob SECURE_DELIVER(sender, sender's identity, message) for any recipient (the record
    /// layer protects it per recipient). Errors: message_too_large. Thread-safe.
    void seal_relayed(const peer_session&, const peer_session& sender_session, const endpoint& sender,
                      std::span<const std::byte> plaintext, std::vector<std::byte>& blob, std::error_code& ec) const
    {
        messages::deliver(sender, sender_session.identity, plaintext, blob, ec);
    }

    /// The blob SECURE_DELIVER_PART(sender, sender's identity, part) for a part open() returned
    /// (message_kind::part). Errors: message_too_large. Thread-safe.
    void seal_relayed_part(const peer_session&, const peer_session& sender_session, const endpoint& sender,
                           std::span<const std::byte> part, std::vector<std::byte>& blob, std::error_code& ec) const
    {
        messages::deliver(sender, sender_session.identity, part, blob, ec, wire::tlv_type::secure_deliver_part);
    }

    /// The blob SECURE_DELIVER_BATCH(sender, sender's identity, batch) for a batch open() returned
    /// (message_kind::batch: its value, already checked), one per recipient. Errors:
    /// message_too_large. Thread-safe.
    void seal_relayed_batch(const peer_session&, const peer_session& sender_session, const endpoint& sender,
                            std::span<const std::byte> batch, std::vector<std::byte>& blob, std::error_code& ec) const
    {
        messages::deliver(sender, sender_session.identity, batch, blob, ec, wire::tlv_type::secure_deliver_batch);
    }

    /// The sizes of the messages of a batch open() returned, in order (the relay counts and reports
    /// each). Thread-safe.
    void batch_sizes(std::span<const std::byte> batch, std::vector<std::size_t>& sizes) const
    {
        secure::batch_sizes(batch, sizes);
    }

    /// The blob SECURE_PRESENCE(connected, about, about's identity). Thread-safe.
    void presence(const peer_session&, bool connected, const peer_session* about_session, const endpoint& about,
                  std::vector<std::byte>& blob, std::error_code& ec) const
    {
        messages::presence(connected, about, about_session ? about_session->identity : crypto::fingerprint{}, blob, ec);
    }

    /// Seals one inner datagram to peer `p` as a whole SECURE_RECORD under its current session.
    /// Past the rekey threshold it queues a SECURE_KEY_UPDATE for the client (again every
    /// rekey_step records until new keys arrive), so the record limit is never reached while the
    /// client answers. Errors: not_ready (no session), key_exhausted, message_too_large.
    void protect(peer_session& p, std::span<const std::byte> inner, std::vector<std::byte>& record,
                 std::error_code& ec) const
    {
        record.clear();
        records::protect(p, inner, record, limits_, *updates_, ec);
    }
    /// protect(), appending to `dst` (see the client side's).
    void protect_append(peer_session& p, std::span<const std::byte> inner, std::vector<std::byte>& dst,
                        std::error_code& ec) const
    {
        records::protect(p, inner, dst, limits_, *updates_, ec);
    }

    /// The client's verified identity fingerprint.
    std::optional<crypto::fingerprint> identity(const peer_session& p) const noexcept { return p.identity; }

    // ---- the key schedule, exposed for test vectors ----

    /// th of PROTOCOL.md "Handshake".
    static crypto::sha256_digest transcript_hash(std::span<const std::byte> hello, std::span<const std::byte> sid,
                                                 std::span<const std::byte> relay_ephemeral,
                                                 std::span<const std::byte> relay_identity)
    {
        return secure::transcript_hash<Suite>(hello, sid, relay_ephemeral, relay_identity);
    }
    /// k_c2r || k_r2c || iv_c2r || iv_r2c.
    static crypto::secret_bytes<key_block_size> key_block(std::span<const std::byte, crypto::sha256_size> th,
                                                          std::span<const std::byte, crypto::x25519_key_size> shared)
    {
        return secure::key_block<Suite>(th, shared);
    }

private:
    key_limits limits_;
    std::unique_ptr<key_update_queue<Aead>> updates_;
    std::unique_ptr<detail::party<Suite, Random>> me_;
    std::unique_ptr<relay_steps> relay_;
    std::unique_ptr<detail::batch_inbox> inbox_; // client side: the batch being handed out
};

/// The secure profile with AES-256-GCM on the default backend (default_backend.hpp).
using cipher = basic_cipher<crypto::default_suite, crypto::default_aes256_gcm>;
/// The secure profile with ChaCha20-Poly1305 on the default backend (for CPUs without AES instructions).
using chacha_cipher = basic_cipher<crypto::default_suite, crypto::default_chacha20_poly1305>;

static_assert(crypto::client_cipher<cipher> && crypto::relay_cipher<cipher>,
              "basic_cipher must model both cipher concepts");

} // namespace tlvcast::profile::secure
