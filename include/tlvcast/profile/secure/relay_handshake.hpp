// SPDX-License-Identifier: BSL-1.0
// The secure profile's relay handshake: cookies, the pending table (caps, eviction, expiry), CLIENT_AUTH.
#pragma once

#include <tlvcast/crypto/cookie.hpp>
#include <tlvcast/crypto/rate_limiter.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/profile/secure/detail/party.hpp>
#include <tlvcast/profile/secure/detail/pending_table.hpp>
#include <tlvcast/profile/secure/key_schedule.hpp>
#include <tlvcast/profile/secure/record.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/wire/types.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <system_error>
#include <unordered_map>
#include <utility>

namespace tlvcast::profile::secure {

/// SECURE_RECORD(seq 0, SECURE_ACCEPT(flags)): the relay's last handshake flight, 41 bytes.
inline constexpr std::size_t accept_record_size = record_overhead + wire::tlv_header_size + 1;
static_assert(accept_record_size < wire::tlv_header_size + wire::secure_client_auth_size,
              "a resent SECURE_ACCEPT must be smaller than the CLIENT_AUTH that draws it (no amplification)");

/// The relay's view of one client: its sessions (shared, so a re-handshake carries the last one
/// over for late records) and its verified identity.
template <class Aead>
struct peer_session {
    std::shared_ptr<session<Aead>> current;
    std::shared_ptr<session<Aead>> previous;
    crypto::fingerprint identity{};
    endpoint address; ///< where the client registered from (SECURE_KEY_UPDATE goes there)
    /// The handshake's last flights, for a client whose SECURE_ACCEPT was lost and that sends its
    /// SECURE_CLIENT_AUTH again: that value byte for byte, and the ACCEPT record it gets again
    /// (at most options::max_flight_resends times; engine thread only).
    std::array<std::byte, wire::secure_client_auth_size> client_auth{};
    std::array<std::byte, accept_record_size> accept{};
    mutable unsigned accept_resends = 0;
    time_point accepted{}; ///< the first SECURE_ACCEPT (resends follow the client's schedule)
};

/// The relay's handshake state: the cookie jar, the rate limiter and the pending table (handshakes
/// between SECURE_SERVER_HELLO and SECURE_CLIENT_AUTH). Single-threaded (the relay engine's thread).
template <class Suite, class Aead, class Random>
class relay_handshake {
public:
    using party = detail::party<Suite, Random>;
    using session_type = session<Aead>;
    using peer_type = peer_session<Aead>;
    static constexpr std::uint8_t aead_id = static_cast<std::uint8_t>(Aead::id);

    explicit relay_handshake(const crypto::rate_limits& limits) : limiter_(limits) {}

    std::size_t pending() const noexcept { return pending_.size(); }

    /// SECURE_HELLO: a cookie (stateless), the stored SERVER_HELLO again (a duplicate), or a new
    /// pending handshake and its SERVER_HELLO.
    void on_hello(party& me, const endpoint& from, std::span<const std::byte> value, time_point now,
                  datagram_batch& out, std::error_code& ec)
    {
        const options& opt = me.settings();
        if (value.size() != wire::secure_hello_size && value.size() != wire::secure_hello_size + wire::secure_cookie_size) {
            ec = errc::malformed;
            return;
        }
        if (std::to_integer<unsigned>(value[0]) != version || std::to_integer<unsigned>(value[1]) != aead_id) {
            ec = errc::handshake_failed;
            return;
        }
        if (!jar_)
            jar_.emplace(now, opt.cookie_rotation, me.rng());
        const auto hello = value.first(wire::secure_hello_size);
        const crypto::sha256_digest context = Suite::sha256(hello);
        const auto cookie = value.subspan(wire::secure_hello_size);
        if (cookie.empty() || jar_->verify(cookie, from, context, now)) {
            // Stateless answer: one HMAC, nothing remembered, smaller than the hello (no amplification).
            const auto c = jar_->make(from, context, now);
            std::array<std::byte, wire::secure_cookie_message_size> msg{};
            std::copy(c.begin(), c.end(), msg.begin());
            const auto r_c = hello.subspan(2 + crypto::x25519_key_size, random_size);
            std::copy(r_c.begin(), r_c.end(), msg.begin() + wire::secure_cookie_size);
            detail::push_tlv(out, from, wire::tlv_type::secure_cookie, msg);
            return;
        }
        // A duplicate (a lost SERVER_HELLO, or a replay): the stored answer again, as DTLS
        // retransmits a flight. No key, no signature, no new entry; only the source that sent the
        // hello (its cookie proved the address) gets it.
        if (detail::pending_handshake* ph = pending_.duplicate(from, context)) {
            // At most max_flight_resends answers per handshake: a copied hello+cookie (whoever saw
            // it) draws a bounded number of SERVER_HELLOs, to the address the cookie proved.
            // And not faster than the client's own retransmissions: copies in a burst (a
            // spoofer's) cannot spend the answers that the client's later tries will need.
            if (ph->resends >= opt.max_flight_resends ||
                now < ph->sent + opt.retransmit.earliest_answer(ph->resends)) {
                ec = errc::rate_limited;
                return;
            }
            ++ph->resends;
            detail::push_tlv(out, from, wire::tlv_type::secure_server_hello, ph->server_hello);
            return;
        }
        const endpoint address = from.without_port();
        if (!limiter_.allow(address, now)) {
            ec = errc::rate_limited;
            return;
        }
        pending_.make_room(address, opt.max_pending_per_address, opt.max_pending);
        crypto::secret_bytes<crypto::x25519_key_size> e_priv;
        std::array<std::byte, crypto::x25519_key_size> e_pub{};
        me.make_ephemeral(e_priv, e_pub);
        crypto::secret_bytes<crypto::x25519_key_size> shared;
        if (!me.agree(e_priv, hello.subspan(2, crypto::x25519_key_size), shared)) {
            ec = errc::handshake_failed;
            return;
        }
        e_priv.wipe();
        session_id sid{};
        std::uint64_t key = 0;
        do {
            me.random(sid);
            key = detail::load_u64(sid.data());
        } while (pending_.contains(key));
        detail::pending_handshake ph;
        ph.from = from;
        ph.sent = now;
        ph.expires = now + opt.pending_expiry;
        ph.hello_hash = context;
        const auto& id = me.identity();
        ph.th = transcript_hash<Suite>(hello, sid, e_pub, id.public_key);
        me.sign(detail::signed_message(detail::label_relay, ph.th), ph.sig_r);
        ph.okm = key_block<Suite>(ph.th, shared.span());
        std::array<std::byte, wire::secure_server_hello_size> msg{};
        auto it = std::copy(sid.begin(), sid.end(), msg.begin());
        it = std::copy(e_pub.begin(), e_pub.end(), it);
        it = std::copy(id.public_key.begin(), id.public_key.end(), it);
        std::copy(ph.sig_r.begin(), ph.sig_r.end(), it);
        ph.server_hello = msg;
        pending_.insert(key, std::move(ph));
        detail::push_tlv(out, from, wire::tlv_type::secure_server_hello, msg);
    }

    /// SECURE_CLIENT_AUTH: opens and verifies it against its pending entry; sets `registered` and
    /// appends SECURE_RECORD(seq 0, SECURE_ACCEPT).
    void on_client_auth(party& me, const endpoint& from, std::span<const std::byte> value,
                        time_point now, datagram_batch& out, const peer_type* current,
                        std::optional<peer_type>& registered, std::uint64_t max_records, std::error_code& ec)
    {
        const session_id sid = detail::read_session_id(value);
        const std::uint64_t key = detail::load_u64(sid.data());
        detail::pending_handshake* found = pending_.find(key);
        if (!found && resend_accept(me, from, value, current, now, out))
            return;
        if (!found || found->from != from || found->expires <= now) {
            ec = errc::stale_session;
            return;
        }
        detail::pending_handshake& ph = *found;
        auto s = std::make_shared<session_type>(sid, ph.okm, false, 0, crypto::fingerprint{});
        std::array<std::byte, 16> aad{};
        std::copy(sid.begin(), sid.end(), aad.begin());
        std::array<std::byte, crypto::ed25519_public_size + crypto::ed25519_signature_size> auth{};
        s->rx.open(crypto::make_nonce(s->rx_iv, 0), aad, value.subspan(session_id_size), auth, ec);
        if (ec)
            return; // the pending entry stays: a forgery must not cancel a real handshake
        const auto id_c = std::span<const std::byte>(auth).first(crypto::ed25519_public_size);
        if (!me.verify(id_c, detail::client_signed_message(ph.th, ph.sig_r, id_c),
                       std::span<const std::byte>(auth).subspan(crypto::ed25519_public_size))) {
            ec = errc::authentication_failed;
            return;
        }
        (void)s->window.accept(0); // seq 0 is spent
        s->peer = crypto::fingerprint_of<Suite>(id_c.first<crypto::ed25519_public_size>());
        pending_.erase(key); // its keys wiped

        peer_type p;
        p.identity = s->peer;
        p.address = from;
        p.current = s;
        if (current && current->identity == p.identity) {
            // The same client re-keyed: its last session still opens records already in flight.
            p.previous = current->current;
        }
        // SECURE_RECORD(seq 0, SECURE_ACCEPT(flags)): bit 0 when this relay did not know the client.
        const std::array<std::byte, 5> accept{std::byte{0}, std::byte{20}, std::byte{0}, std::byte{1},
                                              static_cast<std::byte>(current == nullptr ? 1 : 0)};
        const std::size_t m = out.mark();
        {
            std::lock_guard lock(s->tx_mu);
            s->seal_record(accept, out.bytes(), max_records, ec);
        }
        if (ec)
            return;
        if (out.bytes().size() - m != p.accept.size()) { // cannot happen: the record's size is fixed
            out.rollback(m);
            ec = errc::handshake_failed;
            return;
        }
        std::copy(out.bytes().begin() + static_cast<std::ptrdiff_t>(m), out.bytes().end(), p.accept.begin());
        std::copy(value.begin(), value.end(), p.client_auth.begin());
        p.accepted = now;
        out.commit(from, m);
        registered.emplace(std::move(p));
    }

    /// When the oldest live pending entry expires, or no_timer.
    time_point next_expiry() const { return pending_.next_expiry(); }

    /// Drops expired pending entries, their keys wiped.
    void expire(time_point now) { pending_.expire(now); }

private:
    // A SECURE_CLIENT_AUTH that the current session of `from` was registered with, byte for byte:
    // the client did not get our SECURE_ACCEPT and sends its last flight again, so ours goes again
    // (RFC 9147 §5.8: the receiver of a repeated flight retransmits its own). The stored record,
    // not a new seal: no key use, no state, 41 bytes for 124, and only to the session's address.
    static bool resend_accept(party& me, const endpoint& from, std::span<const std::byte> value,
                              const peer_type* current, time_point now, datagram_batch& out)
    {
        if (!current || !current->current || current->address != from ||
            !std::equal(value.begin(), value.end(), current->client_auth.begin(), current->client_auth.end()))
            return false;
        const auto& opt = me.settings();
        if (current->accept_resends >= opt.max_flight_resends ||
            now < current->accepted + opt.retransmit.earliest_answer(current->accept_resends))
            return true; // answered enough, or faster than the client retransmits: dropped quietly
        ++current->accept_resends;
        out.push(from, current->accept);
        return true;
    }

    std::optional<crypto::basic_cookie_jar<Suite, Random>> jar_;
    crypto::rate_limiter limiter_;
    detail::pending_table pending_;
};

} // namespace tlvcast::profile::secure
