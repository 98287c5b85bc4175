// secure: the secure profile's Cipher policy (X25519 + Ed25519 handshake, AEAD records), per docs/PROTOCOL.md.
#pragma once

#include <tlvcast/crypto/aead.hpp>
#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/crypto/cookie.hpp>
#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/crypto/detail/secure_known_relays.hpp>
#include <tlvcast/crypto/detail/secure_session.hpp>
#include <tlvcast/crypto/identity.hpp>
#include <tlvcast/crypto/key_file.hpp>
#include <tlvcast/crypto/rate_limiter.hpp>
#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/wire/fragment_header.hpp>
#include <tlvcast/wire/address.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <system_error>
#include <unordered_map>
#include <vector>

namespace tlvcast::crypto {

/// Settings of a basic_secure instance (client and relay sides share the type).
struct secure_options {
    /// Largest datagram either side sends (1280-byte IPv6 minimum MTU less IPv6 and UDP headers).
    std::size_t max_datagram = 1232;
    /// Relay: how often the cookie secret rotates (a cookie verifies for one to two periods).
    duration cookie_rotation = std::chrono::seconds(30);
    /// Relay defaults: new handshakes (hellos with a valid cookie, not a retransmission) per second
    /// and burst, per IP address (any port), per network prefix (/24, /64) and in total.
    static constexpr double default_address_rate = 20.0, default_address_burst = 40.0;
    static constexpr double default_prefix_rate = 50.0, default_prefix_burst = 100.0;
    static constexpr double default_global_rate = 2000.0, default_global_burst = 4000.0;
    static constexpr std::size_t default_max_sources = 4096;
    static constexpr std::size_t default_max_pending = 1024;
    static constexpr std::size_t default_max_pending_per_address = 32;
    static_assert(default_address_rate <= default_prefix_rate && default_prefix_rate <= default_global_rate);
    static_assert(default_max_pending_per_address < default_max_pending);
    /// Relay: handshake limits. The relay keys the per-source bucket by IP address
    /// (endpoint::without_port()): one host on many ports is one source.
    rate_limits handshake_limits{default_address_rate, default_address_burst, default_global_rate,
                                 default_global_burst,  default_max_sources,   default_prefix_rate,
                                 default_prefix_burst};
    /// Relay: handshakes between SECURE_SERVER_HELLO and SECURE_CLIENT_AUTH, at most, at most per IP
    /// address, and for how long. A new handshake over either cap evicts the oldest entry (of that
    /// address, else of the table) instead of being refused.
    std::size_t max_pending = default_max_pending;
    std::size_t max_pending_per_address = default_max_pending_per_address;
    duration pending_expiry = std::chrono::seconds(10);
    /// Tests only: the source of ephemeral keys, randoms and session ids (the OS CSPRNG when empty).
    std::function<void(std::span<std::byte>)> random_for_tests;
};

/// Public-key operations an instance performed (for tests and monitoring); relaxed atomics.
struct secure_pk_counts {
    std::uint64_t x25519 = 0;       ///< key generations and agreements
    std::uint64_t ed25519_sign = 0;
    std::uint64_t ed25519_verify = 0;
    std::uint64_t total() const noexcept { return x25519 + ed25519_sign + ed25519_verify; }
};

/// The secure profile's Cipher policy (docs/PROTOCOL.md, "Secure profile"): a SIGMA-style handshake
/// (ephemeral X25519, Ed25519 identities, stateless cookie first), then every datagram is an AEAD
/// record (`Aead`: AES-256-GCM or ChaCha20-Poly1305) with a 64-bit sequence number and a 1024-wide
/// replay window. `Suite` provides X25519, Ed25519, SHA-256, HKDF and randomness.
/// One instance is one side's identity. Client-side calls are driven by one client_engine (not
/// thread-safe); on the relay, relay_handshake() runs under the engine's lock and open(),
/// unprotect(), seal_relayed(), presence() and identity() are thread-safe for any sessions.
template <class Suite, class Aead>
class basic_secure {
    static_assert(suite<Suite>, "basic_secure: Suite must model tlvcast::crypto::suite");
    static_assert(aead<Aead>, "basic_secure: Aead must model tlvcast::crypto::aead");

public:
    static constexpr bool has_record_layer = true;
    static constexpr wire::tlv_type record_type = wire::tlv_type::secure_record;
    static constexpr crypto::forwarding forwarding = crypto::forwarding::reseal;
    /// Delivery is AEAD work only: a relay does it where the message arrived (see crypto::cheap_delivery).
    static constexpr bool cheap_delivery = true;
    using options = secure_options;
    using session_type = detail::secure_session<Aead>;
    /// The `aead` byte of SECURE_HELLO: 1 = AES-256-GCM, 2 = ChaCha20-Poly1305.
    static constexpr std::uint8_t aead_id = static_cast<std::uint8_t>(Aead::id);
    /// Records a sender seals under one key before errc::key_exhausted (see aead.hpp).
    static constexpr std::uint64_t max_records = Aead::max_records_per_key;
    static constexpr std::size_t record_overhead = detail::secure_record_overhead;
    /// Per handshake attempt, at most: cookies answered (anyone on the group sees the hello and can
    /// forge cookies; the relay's pending table dedupes the hellos they draw, so this bounds the
    /// traffic, and stays high enough that forged cookies ahead of the relay's cannot stall the
    /// attempt), and refused identities reported as events. Every distinct SERVER_HELLO is
    /// verified (a cap would let forged ones crowd out the relay's); a byte-identical repeat is
    /// dropped before verifying.
    static constexpr unsigned max_cookies_per_attempt = 16;
    static constexpr unsigned max_refusals_reported = 4;

    /// The client's state: the handshake in progress, then its sessions. Movable, not copyable.
    struct client_session {
        endpoint relay;                   ///< where handshake replies go (the address given to start_session)
        bool handshaking = false;         ///< an ephemeral key waits for SECURE_COOKIE / SERVER_HELLO
        secret_bytes<x25519_key_size> ephemeral;
        std::array<std::byte, wire::secure_hello_size> hello{};
        std::unique_ptr<session_type> pending;  ///< keys derived, SECURE_ACCEPT not yet received
        std::unique_ptr<session_type> current;  ///< the session records are sealed under
        std::unique_ptr<session_type> previous; ///< kept to open late records of the last session
        detail::session_id last_opened{};       ///< session of the last record unprotect() opened
        bool first_use = false;                 ///< the pending session's relay was trusted on first use
        // This attempt's budgets (see max_cookies_per_attempt).
        unsigned cookies = 0, server_hellos = 0, refusals = 0;
        std::array<sha256_digest, 4> recent_server_hellos{}; ///< digests of the last ones verified
    };

    /// The relay's view of one client: its sessions (shared, so a re-handshake carries the last one
    /// over for late records) and its verified identity.
    struct peer_session {
        std::shared_ptr<session_type> current;
        std::shared_ptr<session_type> previous;
        fingerprint identity{};
    };

    /// Uses `identity` as this side's Ed25519 identity. Throws std::invalid_argument for a
    /// max_datagram too small for the handshake and a record, or invalid rate limits.
    explicit basic_secure(ed25519_keypair identity, options opt = {})
        : identity_(std::move(identity)), fingerprint_(fingerprint_of<Suite>(identity_.public_key)),
          opt_(std::move(opt)), relay_(std::make_unique<relay_state>(opt_.handshake_limits)),
          counts_(std::make_unique<atomic_counts>())
    {
        if (opt_.max_datagram < 256 || opt_.max_datagram > 65'507)
            throw std::invalid_argument("tlvcast::secure: max_datagram must be in 256..65507");
        if (opt_.max_pending == 0 || opt_.max_pending_per_address == 0 || opt_.pending_expiry <= duration::zero())
            throw std::invalid_argument(
                "tlvcast::secure: max_pending, max_pending_per_address and pending_expiry must be positive");
    }

    /// A fresh identity from the CSPRNG.
    static ed25519_keypair generate() { return generate_ed25519<Suite>(); }

    /// Loads the identity (PKCS#8 PEM) at `path`, or creates it there (mode 0600) when absent (see
    /// crypto::load_or_create_identity: `status` reports a too-open file, which `options` may refuse).
    /// Prints nothing. Throws std::system_error when the file is unusable.
    static ed25519_keypair load_or_create_identity(const std::filesystem::path& path,
                                                   const key_file_options& options = {},
                                                   key_file_status* status = nullptr)
    {
        return crypto::load_or_create_identity<Suite>(path, options, status);
    }

    /// 64 lowercase hex digits; and back (nullopt unless exactly 64 hex digits).
    static std::string to_hex(const fingerprint& fp) { return crypto::to_hex(fp); }
    static std::optional<fingerprint> from_hex(std::string_view hex) { return detail::fingerprint_from_hex(hex); }

    /// SHA-256 of this side's public key.
    const fingerprint& identity_fingerprint() const noexcept { return fingerprint_; }
    const std::array<std::byte, ed25519_public_size>& public_key() const noexcept { return identity_.public_key; }
    const options& settings() const noexcept { return opt_; }

    /// The fragment payload a Fragmenter must use so that each FRAGMENT fits one record in
    /// max_datagram: max_datagram - 36 (record) - 12 (FRAGMENT TLV and header); 1184 by default.
    std::size_t fragment_payload() const noexcept
    {
        return opt_.max_datagram - record_overhead - wire::tlv_header_size - wire::fragment_header_size;
    }
    /// The largest blob that travels whole in one record (a Fragmenter's max_whole): 1196 by default.
    std::size_t max_whole() const noexcept { return opt_.max_datagram - record_overhead; }

    /// Public-key operations so far (tests count them to prove cheap rejection).
    secure_pk_counts public_key_ops() const noexcept
    {
        return {counts_->x25519.load(std::memory_order_relaxed), counts_->sign.load(std::memory_order_relaxed),
                counts_->verify.load(std::memory_order_relaxed)};
    }
    /// Handshakes waiting for SECURE_CLIENT_AUTH (call under the relay's lock, or when it is idle).
    std::size_t pending_handshakes() const noexcept { return relay_->pending.size(); }

    // ---- client side ----

    /// Starts a (re-)handshake: a new ephemeral key and random; appends SECURE_HELLO without a cookie
    /// to `relay`. A handshake already in progress (keys derived, no SECURE_ACCEPT yet) is abandoned.
    void start_session(client_session& s, const endpoint& relay, time_point, datagram_batch& out) const
    {
        s.relay = relay;
        s.pending.reset();
        std::array<std::byte, x25519_key_size> e_pub{};
        make_ephemeral(s.ephemeral, e_pub);
        s.hello[0] = std::byte{detail::secure_version};
        s.hello[1] = std::byte{aead_id};
        std::copy(e_pub.begin(), e_pub.end(), s.hello.begin() + 2);
        random(std::span(s.hello).subspan(2 + x25519_key_size, detail::secure_random_size));
        s.handshaking = true;
        s.cookies = s.server_hellos = s.refusals = 0;
        s.recent_server_hellos = {};
        push_tlv(out, relay, wire::tlv_type::secure_hello, s.hello);
    }

    bool established(const client_session& s) const noexcept { return s.current != nullptr; }

    /// Handles one TLV from the relay: SECURE_COOKIE and SECURE_SERVER_HELLO outside records
    /// (appending the client's answer to `out`), SECURE_ACCEPT, SECURE_PRESENCE and SECURE_DELIVER
    /// from inside records. Seed-profile types are ignored (they are unauthenticated here).
    /// A SERVER_HELLO whose identity `trust` refuses, or (on a re-handshake) that is not the current
    /// session's relay, gets no answer: kind::relay_refused, and the handshake stays open for the
    /// real relay's answer. Errors: handshake_failed, authentication_failed (bad relay
    /// signature), malformed.
    received client_receive(client_session& s, const wire::tlv& t, time_point, const relay_trust& trust,
                            datagram_batch& out, std::vector<std::byte>& text, std::error_code& ec) const
    {
        ec = {};
        switch (t.type()) {
        case wire::tlv_type::secure_cookie: on_cookie(s, t.value, out, ec); return {};
        case wire::tlv_type::secure_server_hello: return on_server_hello(s, t.value, trust, out, ec);
        case wire::tlv_type::secure_accept: return on_accept(s, t.value);
        case wire::tlv_type::secure_presence: {
            received r;
            const auto kind = std::to_integer<unsigned>(t.value[0]);
            if (kind > 1) {
                ec = errc::malformed;
                return r;
            }
            r.peer = wire::decode_tagged_address(t.value.subspan(1), ec);
            if (ec)
                return {};
            r.identity = read_fingerprint(t.value.subspan(1 + wire::tagged_address_size));
            r.what = kind == 1 ? received::kind::peer_connected : received::kind::peer_disconnected;
            return r;
        }
        case wire::tlv_type::secure_deliver: {
            received r;
            r.peer = wire::decode_tagged_address(t.value, ec);
            if (ec)
                return {};
            r.identity = read_fingerprint(t.value.subspan(wire::tagged_address_size));
            const auto msg = t.value.subspan(wire::secure_deliver_fixed_size);
            text.assign(msg.begin(), msg.end());
            r.what = received::kind::message;
            return r;
        }
        default: return {}; // seed types (5, 6, 10, 11, 12) and the rest: never trusted here
        }
    }

    /// The message blob: SECURE_MESSAGE(message), SECURE_CONNECT or SECURE_DISCONNECT; the record
    /// layer encrypts it. Errors: message_too_large (over 65,535 bytes).
    void seal(const client_session&, message_kind kind, std::span<const std::byte> message,
              std::vector<std::byte>& blob, std::error_code& ec) const
    {
        ec = {};
        blob.clear();
        const auto type = kind == message_kind::join    ? wire::tlv_type::secure_connect
                          : kind == message_kind::leave ? wire::tlv_type::secure_disconnect
                                                        : wire::tlv_type::secure_message;
        wire::tlv_appender(blob).put(type, kind == message_kind::data ? message : std::span<const std::byte>{}, ec);
        if (ec)
            ec = errc::message_too_large;
    }

    /// Seals one inner datagram (a FRAGMENT or KEEPALIVE TLV) as a whole SECURE_RECORD into `record`
    /// under the current session. Errors: not_ready (no session), key_exhausted, message_too_large.
    void protect(client_session& s, std::span<const std::byte> inner, std::vector<std::byte>& record,
                 std::error_code& ec) const
    {
        ec = {};
        record.clear();
        if (!s.current) {
            ec = errc::not_ready;
            return;
        }
        s.current->seal_record(inner, record, max_records, ec);
    }

    /// A record's value -> the inner TLV bytes, under whichever of the current, pending or previous
    /// sessions it names. Errors: stale_session (no such session), replayed, authentication_failed, malformed.
    void unprotect(client_session& s, std::span<const std::byte> value, std::vector<std::byte>& inner,
                   std::error_code& ec) const
    {
        ec = {};
        inner.clear();
        if (value.size() < wire::secure_record_fixed_size) {
            ec = errc::malformed;
            return;
        }
        const auto id = read_session_id(value);
        session_type* session = nullptr;
        for (auto* p : {s.current.get(), s.pending.get(), s.previous.get()})
            if (p && p->id == id) {
                session = p;
                break;
            }
        if (!session) {
            ec = errc::stale_session;
            return;
        }
        session->open_record(value, inner, ec);
        if (!ec)
            s.last_opened = id;
    }

    // ---- relay side ----

    /// SECURE_HELLO (13) and SECURE_CLIENT_AUTH (16); false for other types. Runs under the
    /// engine's lock. A hello without a valid cookie is answered with SECURE_COOKIE and costs one
    /// HMAC, no state. A hello+cookie already pending from the same source is answered with the
    /// stored SECURE_SERVER_HELLO (no new key or signature). A new handshake over the pending caps
    /// evicts the oldest entry (its keys wiped); expired entries are wiped whenever the relay
    /// handles a handshake TLV (no timer). Errors: malformed, handshake_failed (version, aead,
    /// low-order key), rate_limited (address, prefix or global), stale_session (unknown or expired session,
    /// or another source), authentication_failed (client auth does not open or verify).
    bool relay_handshake(const endpoint& from, const wire::tlv& t, time_point now, datagram_batch& out,
                         const peer_session* current, std::optional<peer_session>& registered,
                         std::error_code& ec)
    {
        ec = {};
        if (t.type() == wire::tlv_type::secure_hello || t.type() == wire::tlv_type::secure_client_auth)
            expire_pending(now);
        if (t.type() == wire::tlv_type::secure_hello) {
            on_hello(from, t.value, now, out, ec);
            return true;
        }
        if (t.type() == wire::tlv_type::secure_client_auth) {
            on_client_auth(from, t.value, now, out, current, registered, ec);
            return true;
        }
        return false;
    }

    /// A client's blob (it came in authenticated records): SECURE_MESSAGE -> data and its
    /// plaintext, SECURE_CONNECT -> join, SECURE_DISCONNECT -> leave. Errors: malformed. Thread-safe.
    message_kind open(const peer_session&, std::span<const std::byte> blob, std::vector<std::byte>& plaintext,
                      std::error_code& ec) const
    {
        ec = {};
        plaintext.clear();
        wire::tlv_reader r(blob);
        wire::tlv t;
        if (!r.next(t, ec) || !r.done()) {
            ec = errc::malformed;
            return message_kind::data;
        }
        switch (t.type()) {
        case wire::tlv_type::secure_message: plaintext.assign(t.value.begin(), t.value.end()); return message_kind::data;
        case wire::tlv_type::secure_connect: return message_kind::join;
        case wire::tlv_type::secure_disconnect: return message_kind::leave;
        default: ec = errc::malformed; return message_kind::data;
        }
    }

    /// Opens a record from peer `p` (current or previous session). Errors as the client's unprotect.
    /// Thread-safe: each session's receive state is behind its own mutex.
    void unprotect(const peer_session& p, std::span<const std::byte> value, std::vector<std::byte>& inner,
                   std::error_code& ec) const
    {
        ec = {};
        inner.clear();
        if (value.size() < wire::secure_record_fixed_size) {
            ec = errc::malformed;
            return;
        }
        const auto id = read_session_id(value);
        for (const auto* sp : {&p.current, &p.previous}) {
            if (*sp && (*sp)->id == id) {
                std::lock_guard lock((*sp)->rx_mu);
                (*sp)->open_record(value, inner, ec);
                return;
            }
        }
        ec = errc::stale_session;
    }

    /// The blob SECURE_DELIVER(sender, sender's identity, message) for any recipient (the record
    /// layer protects it per recipient). Errors: message_too_large. Thread-safe.
    void seal_relayed(const peer_session&, const peer_session& sender_session, const endpoint& sender,
                      std::span<const std::byte> plaintext, std::vector<std::byte>& blob, std::error_code& ec) const
    {
        ec = {};
        blob.clear();
        std::array<std::byte, wire::tagged_address_size> addr{};
        wire::encode_tagged_address(addr, sender, ec);
        if (ec)
            return;
        wire::tlv_appender a(blob);
        const std::size_t mark = a.begin(wire::tlv_type::secure_deliver);
        a.put_raw(addr);
        a.put_raw(sender_session.identity);
        a.put_raw(plaintext);
        a.end(mark, ec);
        if (ec)
            ec = errc::message_too_large;
    }

    /// The blob SECURE_PRESENCE(connected, about, about's identity). Thread-safe.
    void presence(const peer_session&, bool connected, const peer_session* about_session, const endpoint& about,
                  std::vector<std::byte>& blob, std::error_code& ec) const
    {
        ec = {};
        blob.clear();
        std::array<std::byte, wire::tagged_address_size> addr{};
        wire::encode_tagged_address(addr, about, ec);
        if (ec)
            return;
        wire::tlv_appender a(blob);
        const std::size_t mark = a.begin(wire::tlv_type::secure_presence);
        const std::byte kind{static_cast<unsigned char>(connected ? 1 : 0)};
        a.put_raw(std::span(&kind, 1));
        a.put_raw(addr);
        const fingerprint none{};
        a.put_raw(about_session ? about_session->identity : none);
        a.end(mark, ec);
    }

    /// Seals one inner datagram to peer `p` as a whole SECURE_RECORD under its current session.
    /// Errors: not_ready (no session), key_exhausted, message_too_large.
    void protect(peer_session& p, std::span<const std::byte> inner, std::vector<std::byte>& record,
                 std::error_code& ec) const
    {
        ec = {};
        record.clear();
        if (!p.current) {
            ec = errc::not_ready;
            return;
        }
        std::lock_guard lock(p.current->tx_mu);
        p.current->seal_record(inner, record, max_records, ec);
    }

    /// The client's verified identity fingerprint.
    std::optional<fingerprint> identity(const peer_session& p) const noexcept { return p.identity; }

    // ---- the key schedule, exposed for test vectors ----

    /// th of PROTOCOL.md "Handshake".
    static sha256_digest transcript_hash(std::span<const std::byte> hello, std::span<const std::byte> sid,
                                         std::span<const std::byte> relay_ephemeral,
                                         std::span<const std::byte> relay_identity)
    {
        return detail::secure_transcript<Suite>(hello, sid, relay_ephemeral, relay_identity);
    }
    /// k_c2r || k_r2c || iv_c2r || iv_r2c.
    static secret_bytes<detail::secure_key_block_size> key_block(std::span<const std::byte, sha256_size> th,
                                                                  std::span<const std::byte, x25519_key_size> shared)
    {
        return detail::secure_key_block<Suite>(th, shared);
    }

private:
    struct pending_handshake {
        endpoint from;
        time_point expires;
        std::uint64_t serial = 0;  ///< order of creation (the FIFO's entries name it)
        sha256_digest hello_hash{}; ///< SHA-256 of the SECURE_HELLO (without cookie)
        sha256_digest th{};
        std::array<std::byte, ed25519_signature_size> sig_r{};
        std::array<std::byte, wire::secure_server_hello_size> server_hello{}; ///< retransmitted for a duplicate
        secret_bytes<detail::secure_key_block_size> okm;
    };
    using duplicate_key = std::pair<endpoint, sha256_digest>; // (source, hash of its hello)
    struct fifo_entry {
        std::uint64_t key;    // session id key into `pending`
        std::uint64_t serial; // stale when the entry under `key` has another serial (or is gone)
    };
    // Relay-only state, touched only by relay_handshake (under the engine's lock).
    struct relay_state {
        explicit relay_state(const rate_limits& l) : limiter(l) {}
        std::optional<basic_cookie_jar<Suite>> jar;
        rate_limiter limiter;
        std::unordered_map<std::uint64_t, pending_handshake> pending;
        std::map<duplicate_key, std::uint64_t> by_hello;        // -> key into `pending`
        std::unordered_map<endpoint, std::size_t> per_address; // pending entries per IP address
        std::deque<fifo_entry> fifo;                            // creation order = expiry order
        std::uint64_t next_serial = 0;
    };

    // Removes one pending entry and its indexes; its key material is wiped.
    void drop_pending(typename std::unordered_map<std::uint64_t, pending_handshake>::iterator it)
    {
        relay_state& rs = *relay_;
        pending_handshake& ph = it->second;
        ph.okm.wipe();
        rs.by_hello.erase(duplicate_key{ph.from, ph.hello_hash});
        const auto a = rs.per_address.find(ph.from.without_port());
        if (a != rs.per_address.end() && --a->second == 0)
            rs.per_address.erase(a);
        rs.pending.erase(it);
    }

    // The live entry a FIFO entry names, or end().
    auto live(const fifo_entry& f)
    {
        relay_state& rs = *relay_;
        const auto it = rs.pending.find(f.key);
        return it != rs.pending.end() && it->second.serial == f.serial ? it : rs.pending.end();
    }

    // Drops expired entries (and completed ones' FIFO records) from the front of the FIFO. A clock
    // that goes back expires nothing; entries are created in expiry order otherwise.
    void expire_pending(time_point now)
    {
        relay_state& rs = *relay_;
        while (!rs.fifo.empty()) {
            const auto it = live(rs.fifo.front());
            if (it != rs.pending.end()) {
                if (it->second.expires > now)
                    break;
                drop_pending(it);
            }
            rs.fifo.pop_front();
        }
    }

    // Evicts the oldest pending entry of `address` (any port), or of the table when `address` is null.
    void evict_oldest(const endpoint* address)
    {
        relay_state& rs = *relay_;
        for (auto f = rs.fifo.begin(); f != rs.fifo.end(); ++f) {
            const auto it = live(*f);
            if (it == rs.pending.end() || (address && it->second.from.without_port() != *address))
                continue;
            drop_pending(it);
            rs.fifo.erase(f);
            return;
        }
    }
    struct atomic_counts {
        std::atomic<std::uint64_t> x25519{0}, sign{0}, verify{0};
    };

    void random(std::span<std::byte> out) const
    {
        if (opt_.random_for_tests)
            opt_.random_for_tests(out);
        else
            Suite::random_bytes(out);
    }

    // X25519(priv, 9): the public key of a private key drawn from random() (so tests can fix it).
    void make_ephemeral(secret_bytes<x25519_key_size>& priv, std::array<std::byte, x25519_key_size>& pub) const
    {
        static constexpr std::array<std::byte, x25519_key_size> base_point{std::byte{9}};
        std::error_code ec;
        do {
            random(priv.span());
            counts_->x25519.fetch_add(1, std::memory_order_relaxed);
        } while (!Suite::x25519(priv.span(), base_point, pub, ec)); // all-zero private: draw again
    }

    bool agree(const secret_bytes<x25519_key_size>& priv, std::span<const std::byte> peer,
               secret_bytes<x25519_key_size>& shared) const
    {
        counts_->x25519.fetch_add(1, std::memory_order_relaxed);
        std::error_code ec;
        return Suite::x25519(priv.span(), peer.first<x25519_key_size>(), shared.span(), ec);
    }

    void sign(std::span<const std::byte> message, std::span<std::byte, ed25519_signature_size> sig) const
    {
        counts_->sign.fetch_add(1, std::memory_order_relaxed);
        Suite::sign(identity_.private_key.span(), message, sig);
    }

    bool verify(std::span<const std::byte> pub, std::span<const std::byte> message,
                std::span<const std::byte> sig) const
    {
        counts_->verify.fetch_add(1, std::memory_order_relaxed);
        return Suite::verify(pub.first<ed25519_public_size>(), message, sig.first<ed25519_signature_size>());
    }

    static fingerprint read_fingerprint(std::span<const std::byte> at) noexcept
    {
        fingerprint fp{};
        std::copy_n(at.begin(), fp.size(), fp.begin());
        return fp;
    }
    static detail::session_id read_session_id(std::span<const std::byte> at) noexcept
    {
        detail::session_id id{};
        std::copy_n(at.begin(), id.size(), id.begin());
        return id;
    }

    static void push_tlv(datagram_batch& out, const endpoint& to, wire::tlv_type type, std::span<const std::byte> value)
    {
        const std::size_t m = out.mark();
        std::error_code ec;
        wire::tlv_appender(out.bytes()).put(type, value, ec);
        out.commit(to, m);
    }

    static std::vector<std::byte> signed_message(std::string_view label, std::span<const std::byte> a,
                                                 std::span<const std::byte> b = {})
    {
        std::vector<std::byte> m;
        m.reserve(label.size() + a.size() + b.size());
        detail::append(m, detail::label_bytes(label));
        detail::append(m, a);
        detail::append(m, b);
        return m;
    }

    // ---- client handshake ----

    void on_cookie(client_session& s, std::span<const std::byte> value, datagram_batch& out, std::error_code& ec) const
    {
        const auto echoed = value.subspan(wire::secure_cookie_size);
        const auto mine = std::span(s.hello).subspan(2 + x25519_key_size, detail::secure_random_size);
        if (!s.handshaking || !std::equal(echoed.begin(), echoed.end(), mine.begin(), mine.end())) {
            ec = errc::handshake_failed; // not an answer to our hello
            return;
        }
        if (++s.cookies > max_cookies_per_attempt) {
            ec = errc::rate_limited;
            return;
        }
        std::array<std::byte, wire::secure_hello_size + wire::secure_cookie_size> hello{};
        std::copy(s.hello.begin(), s.hello.end(), hello.begin());
        std::copy_n(value.begin(), wire::secure_cookie_size, hello.begin() + wire::secure_hello_size);
        push_tlv(out, s.relay, wire::tlv_type::secure_hello, hello);
    }

    received on_server_hello(client_session& s, std::span<const std::byte> value, const relay_trust& trust,
                             datagram_batch& out, std::error_code& ec) const
    {
        if (!s.handshaking) {
            ec = errc::handshake_failed;
            return {};
        }
        // A byte-identical repeat (a replay, a network duplicate) is dropped before verifying.
        const sha256_digest digest = Suite::sha256(value);
        if (std::find(s.recent_server_hellos.begin(), s.recent_server_hellos.end(), digest) !=
            s.recent_server_hellos.end()) {
            ec = errc::replayed;
            return {};
        }
        ++s.server_hellos;
        s.recent_server_hellos[s.server_hellos % s.recent_server_hellos.size()] = digest;
        const auto sid = value.first(detail::secure_session_id_size);
        const auto e_r = value.subspan(8, x25519_key_size);
        const auto id_r = value.subspan(40, ed25519_public_size);
        const auto sig_r = value.subspan(72, ed25519_signature_size);
        const sha256_digest th = transcript_hash(s.hello, sid, e_r, id_r);
        if (!verify(id_r, signed_message(detail::secure_label_relay, th), sig_r)) {
            ec = errc::authentication_failed;
            return {};
        }
        const fingerprint fp = fingerprint_of<Suite>(id_r.template first<ed25519_public_size>());
        // Session continuity: a re-handshake must present the current session's relay, whatever
        // the trust settings say; a first handshake asks them. A refused hello is no answer: the
        // handshake stays open for the real relay, and the refused one gets nothing.
        const auto verdict = s.current ? (s.current->peer == fp ? relay_trust::verdict::trusted
                                                                : relay_trust::verdict::refused)
                                       : trust.check(s.relay, fp);
        if (verdict == relay_trust::verdict::refused) {
            if (++s.refusals > max_refusals_reported) {
                ec = errc::identity_mismatch; // counted, not reported again
                return {};
            }
            received r;
            r.what = received::kind::relay_refused;
            r.identity = fp;
            return r;
        }
        secret_bytes<x25519_key_size> shared;
        if (!agree(s.ephemeral, e_r, shared)) {
            ec = errc::handshake_failed;
            return {};
        }
        s.first_use = verdict == relay_trust::verdict::first_use;
        s.handshaking = false;
        s.ephemeral.wipe();
        const auto okm = key_block(th, shared.span());
        s.pending = std::make_unique<session_type>(read_session_id(sid), okm, true, 0, fp);
        // SECURE_CLIENT_AUTH: sid || AEAD_c2r(seq 0, aad = sid || 0)(id_c || sig_c).
        std::array<std::byte, ed25519_public_size + ed25519_signature_size> auth{};
        std::copy(identity_.public_key.begin(), identity_.public_key.end(), auth.begin());
        sign(signed_message(detail::secure_label_client, th, sig_r),
             std::span(auth).template subspan<ed25519_public_size, ed25519_signature_size>());
        std::array<std::byte, wire::secure_client_auth_size> msg{};
        std::copy(sid.begin(), sid.end(), msg.begin());
        std::array<std::byte, 16> aad{};
        std::copy(sid.begin(), sid.end(), aad.begin());
        const auto nonce = make_nonce(s.pending->tx_iv, 0);
        s.pending->tx.seal(nonce, aad, auth, std::span(msg).subspan(detail::secure_session_id_size), ec);
        s.pending->next_seq = 1; // seq 0 was the client auth
        if (ec)
            return {};
        push_tlv(out, s.relay, wire::tlv_type::secure_client_auth, msg);
        return {};
    }

    received on_accept(client_session& s, std::span<const std::byte> value) const
    {
        // Only an ACCEPT that came in a record of the pending session promotes it: a late or
        // duplicated ACCEPT of an older session changes nothing.
        if (!s.pending || s.pending->id != s.last_opened)
            return {};
        const bool re_handshake = s.current != nullptr;
        s.previous = std::move(s.current);
        s.current = std::move(s.pending);
        received r;
        r.what = received::kind::established;
        r.identity = s.current->peer;
        // The flag is the (authenticated) relay's word that it did not know this client: it
        // restarted. Its identity cannot have changed (on_server_hello holds it).
        r.relay_restarted = re_handshake && (std::to_integer<unsigned>(value[0]) & 1u) != 0;
        r.first_use = std::exchange(s.first_use, false);
        return r;
    }

    // ---- relay handshake ----

    void on_hello(const endpoint& from, std::span<const std::byte> value, time_point now, datagram_batch& out,
                  std::error_code& ec)
    {
        if (value.size() != wire::secure_hello_size && value.size() != wire::secure_hello_size + wire::secure_cookie_size) {
            ec = errc::malformed;
            return;
        }
        if (std::to_integer<unsigned>(value[0]) != detail::secure_version ||
            std::to_integer<unsigned>(value[1]) != aead_id) {
            ec = errc::handshake_failed;
            return;
        }
        relay_state& rs = *relay_;
        if (!rs.jar)
            rs.jar.emplace(now, opt_.cookie_rotation);
        const auto hello = value.first(wire::secure_hello_size);
        const sha256_digest context = Suite::sha256(hello);
        const auto cookie = value.subspan(wire::secure_hello_size);
        if (cookie.empty() || rs.jar->verify(cookie, from, context, now)) {
            // Stateless answer: one HMAC, nothing remembered, smaller than the hello (no amplification).
            const auto c = rs.jar->make(from, context, now);
            std::array<std::byte, wire::secure_cookie_message_size> msg{};
            std::copy(c.begin(), c.end(), msg.begin());
            const auto r_c = hello.subspan(2 + x25519_key_size, detail::secure_random_size);
            std::copy(r_c.begin(), r_c.end(), msg.begin() + wire::secure_cookie_size);
            push_tlv(out, from, wire::tlv_type::secure_cookie, msg);
            return;
        }
        // A duplicate (a lost SERVER_HELLO, or a replay): the stored answer again, as DTLS
        // retransmits a flight. No key, no signature, no new entry; only the source that sent the
        // hello (its cookie proved the address) gets it.
        const duplicate_key dup{from, context};
        if (const auto d = rs.by_hello.find(dup); d != rs.by_hello.end()) {
            push_tlv(out, from, wire::tlv_type::secure_server_hello, rs.pending.at(d->second).server_hello);
            return;
        }
        const endpoint address = from.without_port();
        if (!rs.limiter.allow(address, now)) {
            ec = errc::rate_limited;
            return;
        }
        // Over a cap, the oldest entry goes (of this address first): a full table never refuses.
        if (const auto a = rs.per_address.find(address);
            a != rs.per_address.end() && a->second >= opt_.max_pending_per_address)
            evict_oldest(&address);
        if (rs.pending.size() >= opt_.max_pending)
            evict_oldest(nullptr);
        secret_bytes<x25519_key_size> e_priv;
        std::array<std::byte, x25519_key_size> e_pub{};
        make_ephemeral(e_priv, e_pub);
        secret_bytes<x25519_key_size> shared;
        if (!agree(e_priv, hello.subspan(2, x25519_key_size), shared)) {
            ec = errc::handshake_failed;
            return;
        }
        detail::session_id sid{};
        std::uint64_t key = 0;
        do {
            random(sid);
            key = detail::load_u64(sid.data());
        } while (rs.pending.count(key) != 0);
        pending_handshake ph;
        ph.from = from;
        ph.expires = now + opt_.pending_expiry;
        ph.serial = rs.next_serial++;
        ph.hello_hash = context;
        ph.th = transcript_hash(hello, sid, e_pub, identity_.public_key);
        sign(signed_message(detail::secure_label_relay, ph.th), ph.sig_r);
        ph.okm = key_block(ph.th, shared.span());
        std::array<std::byte, wire::secure_server_hello_size> msg{};
        auto it = std::copy(sid.begin(), sid.end(), msg.begin());
        it = std::copy(e_pub.begin(), e_pub.end(), it);
        it = std::copy(identity_.public_key.begin(), identity_.public_key.end(), it);
        std::copy(ph.sig_r.begin(), ph.sig_r.end(), it);
        ph.server_hello = msg;
        rs.fifo.push_back({key, ph.serial});
        rs.by_hello.emplace(dup, key);
        ++rs.per_address[address];
        rs.pending.emplace(key, std::move(ph));
        push_tlv(out, from, wire::tlv_type::secure_server_hello, msg);
    }

    void on_client_auth(const endpoint& from, std::span<const std::byte> value, time_point now, datagram_batch& out,
                        const peer_session* current, std::optional<peer_session>& registered, std::error_code& ec)
    {
        relay_state& rs = *relay_;
        const detail::session_id sid = read_session_id(value);
        const auto it = rs.pending.find(detail::load_u64(sid.data()));
        if (it == rs.pending.end() || it->second.from != from || it->second.expires <= now) {
            ec = errc::stale_session;
            return;
        }
        pending_handshake& ph = it->second;
        auto session = std::make_shared<session_type>(sid, ph.okm, false, 0, fingerprint{});
        std::array<std::byte, 16> aad{};
        std::copy(sid.begin(), sid.end(), aad.begin());
        std::array<std::byte, ed25519_public_size + ed25519_signature_size> auth{};
        session->rx.open(make_nonce(session->rx_iv, 0), aad, value.subspan(detail::secure_session_id_size), auth, ec);
        if (ec)
            return; // the pending entry stays: a forgery must not cancel a real handshake
        const auto id_c = std::span<const std::byte>(auth).first(ed25519_public_size);
        if (!verify(id_c, signed_message(detail::secure_label_client, ph.th, ph.sig_r),
                    std::span<const std::byte>(auth).subspan(ed25519_public_size))) {
            ec = errc::authentication_failed;
            return;
        }
        (void)session->window.accept(0); // seq 0 is spent
        session->peer = fingerprint_of<Suite>(id_c.first<ed25519_public_size>());
        drop_pending(it); // its FIFO record goes stale

        peer_session p;
        p.identity = session->peer;
        p.current = session;
        if (current && current->identity == p.identity) {
            // The same client re-keyed: its last session still opens records already in flight.
            p.previous = current->current;
        }
        // SECURE_RECORD(seq 0, SECURE_ACCEPT(flags)): bit 0 when this relay did not know the client.
        const std::array<std::byte, 5> accept{std::byte{0}, std::byte{20}, std::byte{0}, std::byte{1},
                                              static_cast<std::byte>(current == nullptr ? 1 : 0)};
        const std::size_t m = out.mark();
        {
            std::lock_guard lock(session->tx_mu);
            session->seal_record(accept, out.bytes(), max_records, ec);
        }
        if (ec)
            return;
        out.commit(from, m);
        registered.emplace(std::move(p));
    }

    ed25519_keypair identity_;
    fingerprint fingerprint_;
    options opt_;
    std::unique_ptr<relay_state> relay_;
    std::unique_ptr<atomic_counts> counts_;
};

/// The secure profile with AES-256-GCM on the default backend (default_backend.hpp).
using secure = basic_secure<default_suite, default_aes256_gcm>;
/// The secure profile with ChaCha20-Poly1305 on the default backend (for CPUs without AES instructions).
using secure_chacha = basic_secure<default_suite, default_chacha20_poly1305>;

static_assert(client_cipher<secure> && relay_cipher<secure>, "basic_secure must model both cipher concepts");

} // namespace tlvcast::crypto
