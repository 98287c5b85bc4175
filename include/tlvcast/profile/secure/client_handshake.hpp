// SPDX-License-Identifier: BSL-1.0
// The secure profile's client handshake: SECURE_HELLO, the cookie answer, SERVER_HELLO checks, CLIENT_AUTH.
#pragma once

#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/crypto/retransmit.hpp>
#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/profile/secure/detail/party.hpp>
#include <tlvcast/profile/secure/key_schedule.hpp>
#include <tlvcast/profile/secure/options.hpp>
#include <tlvcast/profile/secure/record.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/wire/types.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <system_error>
#include <utility>

namespace tlvcast::profile::secure {

/// Per handshake attempt, at most: cookies answered (anyone on the group sees the hello and can
/// forge cookies; the relay's pending table dedupes the hellos they draw, so this bounds the
/// traffic, and stays high enough that forged cookies ahead of the relay's cannot stall the
/// attempt), and refused identities reported as events. Every distinct SERVER_HELLO is verified (a
/// cap would let forged ones crowd out the relay's); a byte-identical repeat is dropped before verifying.
inline constexpr unsigned max_cookies_per_attempt = 16;
inline constexpr unsigned max_refusals_reported = 4;

/// The client's state: the handshake in progress, then its sessions. Movable, not copyable.
template <class Aead>
struct client_session {
    using session_type = session<Aead>;
    endpoint relay;           ///< where handshake replies go (the address given to start_session)
    bool handshaking = false; ///< an ephemeral key waits for SECURE_COOKIE / SERVER_HELLO
    time_point expires{};     ///< the handshake's key material is wiped then (options::pending_expiry)
    crypto::secret_bytes<crypto::x25519_key_size> ephemeral;
    std::array<std::byte, wire::secure_hello_size> hello{};
    std::unique_ptr<session_type> pending;  ///< keys derived, SECURE_ACCEPT not yet received
    std::unique_ptr<session_type> current;  ///< the session records are sealed under
    std::unique_ptr<session_type> previous; ///< kept to open late records of the last session
    session_id last_opened{};               ///< session of the last record unprotect() opened
    bool first_use = false;                 ///< the pending session's relay was trusted on first use
    // This attempt's budgets (see max_cookies_per_attempt).
    unsigned cookies = 0, server_hellos = 0, refusals = 0;
    std::array<crypto::sha256_digest, 4> recent_server_hellos{}; ///< digests of the last ones verified
    // The last flight sent (one TLV: SECURE_HELLO, with or without the cookie, or
    // SECURE_CLIENT_AUTH), sent again on `retransmit` until its answer arrives (options::retransmit).
    wire::tlv_type flight_type = wire::tlv_type::secure_hello;
    std::array<std::byte, wire::secure_client_auth_size> flight{};
    std::size_t flight_size = 0;
    crypto::retransmit_timer retransmit;
};
static_assert(wire::secure_client_auth_size >= wire::secure_hello_size + wire::secure_cookie_size,
              "client_session::flight holds every client flight");

/// The client's handshake steps over one party (its identity and randomness). Stateless itself.
template <class Suite, class Aead, class Random>
struct client_handshake {
    using party = detail::party<Suite, Random>;
    using session_type = session<Aead>;
    using state = client_session<Aead>;
    static constexpr std::uint8_t aead_id = static_cast<std::uint8_t>(Aead::id);

    /// A new ephemeral key and random; appends SECURE_HELLO without a cookie to `relay`.
    static void start(party& me, state& s, const endpoint& relay, time_point now, datagram_batch& out)
    {
        s.relay = relay;
        s.pending.reset();
        s.expires = now + me.settings().pending_expiry;
        std::array<std::byte, crypto::x25519_key_size> e_pub{};
        me.make_ephemeral(s.ephemeral, e_pub);
        s.hello[0] = std::byte{version};
        s.hello[1] = std::byte{aead_id};
        std::copy(e_pub.begin(), e_pub.end(), s.hello.begin() + 2);
        me.random(std::span(s.hello).subspan(2 + crypto::x25519_key_size, random_size));
        s.handshaking = true;
        s.cookies = s.server_hellos = s.refusals = 0;
        s.recent_server_hellos = {};
        send_flight(me, s, wire::tlv_type::secure_hello, s.hello, now, out);
    }

    /// SECURE_COOKIE: the hello again, with the cookie. Errors: handshake_failed (not an answer to
    /// our hello), rate_limited (over max_cookies_per_attempt).
    static void on_cookie(party& me, state& s, std::span<const std::byte> value, time_point now, datagram_batch& out,
                          std::error_code& ec)
    {
        const auto echoed = value.subspan(wire::secure_cookie_size);
        const auto mine = std::span(s.hello).subspan(2 + crypto::x25519_key_size, random_size);
        if (!s.handshaking || !std::equal(echoed.begin(), echoed.end(), mine.begin(), mine.end())) {
            ec = errc::handshake_failed;
            return;
        }
        // The cookie we already answer with (the relay's answer to a retransmitted hello, or a
        // replay): the timer sends that flight again, a copy of the cookie draws nothing.
        const auto cookie = value.first(wire::secure_cookie_size);
        if (s.flight_size == wire::secure_hello_size + wire::secure_cookie_size &&
            std::equal(cookie.begin(), cookie.end(), s.flight.begin() + wire::secure_hello_size)) {
            ec = errc::replayed;
            return;
        }
        if (++s.cookies > max_cookies_per_attempt) {
            ec = errc::rate_limited;
            return;
        }
        std::array<std::byte, wire::secure_hello_size + wire::secure_cookie_size> hello{};
        std::copy(s.hello.begin(), s.hello.end(), hello.begin());
        std::copy_n(value.begin(), wire::secure_cookie_size, hello.begin() + wire::secure_hello_size);
        send_flight(me, s, wire::tlv_type::secure_hello, hello, now, out);
    }

    /// SECURE_SERVER_HELLO: verify sig_r, check the relay's identity, derive keys, answer with
    /// SECURE_CLIENT_AUTH. A refused identity gets no answer (kind::relay_refused).
    static crypto::received on_server_hello(party& me, state& s, std::span<const std::byte> value,
                                            const crypto::relay_trust& trust, time_point now, datagram_batch& out,
                                            std::error_code& ec)
    {
        if (!s.handshaking) {
            ec = errc::handshake_failed;
            return {};
        }
        // A byte-identical repeat (a replay, a network duplicate) is dropped before verifying.
        const crypto::sha256_digest digest = Suite::sha256(value);
        if (std::find(s.recent_server_hellos.begin(), s.recent_server_hellos.end(), digest) !=
            s.recent_server_hellos.end()) {
            ec = errc::replayed;
            return {};
        }
        ++s.server_hellos;
        s.recent_server_hellos[s.server_hellos % s.recent_server_hellos.size()] = digest;
        const auto sid = value.first(session_id_size);
        const auto e_r = value.subspan(8, crypto::x25519_key_size);
        const auto id_r = value.subspan(40, crypto::ed25519_public_size);
        const auto sig_r = value.subspan(72, crypto::ed25519_signature_size);
        const crypto::sha256_digest th = transcript_hash<Suite>(s.hello, sid, e_r, id_r);
        if (!me.verify(id_r, detail::signed_message(detail::label_relay, th), sig_r)) {
            ec = errc::authentication_failed;
            return {};
        }
        const crypto::fingerprint fp = crypto::fingerprint_of<Suite>(id_r.template first<crypto::ed25519_public_size>());
        // Session continuity: a re-handshake must present the current session's relay, whatever
        // the trust settings say; a first handshake asks them. A refused hello is no answer: the
        // handshake stays open for the real relay, and the refused one gets nothing.
        using verdict = crypto::relay_trust::verdict;
        const auto v = s.current ? (s.current->peer == fp ? verdict::trusted : verdict::refused)
                                 : trust.check(s.relay, fp);
        if (v == verdict::refused) {
            if (++s.refusals > max_refusals_reported) {
                ec = errc::identity_mismatch; // counted, not reported again
                return {};
            }
            crypto::received r;
            r.what = crypto::received::kind::relay_refused;
            r.identity = fp;
            return r;
        }
        crypto::secret_bytes<crypto::x25519_key_size> shared;
        if (!me.agree(s.ephemeral, e_r, shared)) {
            ec = errc::handshake_failed;
            return {};
        }
        s.first_use = v == verdict::first_use;
        s.handshaking = false;
        s.ephemeral.wipe();
        const auto okm = key_block<Suite>(th, shared.span());
        shared.wipe();
        s.pending = std::make_unique<session_type>(detail::read_session_id(sid), okm, true, 0, fp);
        // SECURE_CLIENT_AUTH: sid || AEAD_c2r(seq 0, aad = sid || 0)(id_c || sig_c), sig_c over th || sig_r || id_c.
        const auto& id = me.identity();
        std::array<std::byte, crypto::ed25519_public_size + crypto::ed25519_signature_size> auth{};
        std::copy(id.public_key.begin(), id.public_key.end(), auth.begin());
        me.sign(detail::client_signed_message(th, sig_r, id.public_key),
                std::span(auth).template subspan<crypto::ed25519_public_size, crypto::ed25519_signature_size>());
        std::array<std::byte, wire::secure_client_auth_size> msg{};
        std::copy(sid.begin(), sid.end(), msg.begin());
        std::array<std::byte, 16> aad{};
        std::copy(sid.begin(), sid.end(), aad.begin());
        const auto nonce = crypto::make_nonce(s.pending->tx_iv, 0);
        s.pending->tx.seal(nonce, aad, auth, std::span(msg).subspan(session_id_size), ec);
        s.pending->next_seq = 1; // seq 0 was the client auth
        if (ec)
            return {};
        send_flight(me, s, wire::tlv_type::secure_client_auth, msg, now, out);
        return {};
    }

    /// Wipes a handshake that outlived pending_expiry: the ephemeral key, and keys derived for a
    /// session the relay never confirmed. The sessions in use stay: a re-handshake's pending
    /// session under which a record from the relay already opened is confirmed (only the relay,
    /// after verifying our CLIENT_AUTH, seals under it; its SECURE_ACCEPT was lost) and becomes
    /// current instead of being wiped while the relay sends under it.
    static void expire(state& s, time_point now)
    {
        if ((!s.handshaking && !s.pending) || now < s.expires)
            return;
        s.retransmit.stop();
        s.handshaking = false;
        s.ephemeral.wipe();
        if (s.pending && s.current && !s.pending->window.empty()) {
            s.previous = std::move(s.current);
            s.current = std::move(s.pending);
            return;
        }
        s.pending.reset(); // its Aead objects wipe their key schedules
    }

    /// New keys are due: the current session sealed past the rekey threshold, or its receive key
    /// is dead (integrity limit), and no handshake is under way.
    static bool rekey_due(const state& s, const key_limits& lim) noexcept
    {
        return s.current && !s.handshaking && !s.pending &&
               (s.current->next_seq >= lim.rekey_at || s.current->receive_key_dead(lim.max_failed_opens));
    }

    /// The client's timer: expiry, then a re-handshake when new keys are due (the same handshake
    /// as a probe's: the relay's identity must stay the session's).
    static void on_timer(party& me, state& s, const key_limits& lim, time_point now, datagram_batch& out)
    {
        expire(s, now);
        // The answer to our last flight is late: lost, ours or the relay's. The same bytes again;
        // the relay answers a repeated flight with its stored answer (no new state, no key).
        if (s.retransmit.fire(now))
            detail::push_tlv(out, s.relay, s.flight_type, std::span(s.flight).first(s.flight_size));
        if (rekey_due(s, lim))
            start(me, s, s.relay, now, out);
    }

    /// When on_timer() has work: at once when new keys are due, else the next retransmission or
    /// the handshake's expiry.
    static time_point next_timer(const state& s, const key_limits& lim) noexcept
    {
        if (rekey_due(s, lim))
            return time_point{};
        return std::min(s.retransmit.next(), s.handshaking || s.pending ? s.expires : no_timer);
    }

    /// SECURE_KEY_UPDATE (inside a record of the current session): the relay nears its record limit
    /// toward us; answer with a new handshake unless one is under way.
    static void on_key_update(party& me, state& s, time_point now, datagram_batch& out)
    {
        if (!s.current || s.current->id != s.last_opened || s.handshaking || s.pending)
            return;
        start(me, s, s.relay, now, out);
    }

    /// SECURE_ACCEPT (inside a record): promotes the pending session.
    static crypto::received on_accept(state& s, std::span<const std::byte> value)
    {
        // Only an ACCEPT that came in a record of the pending session promotes it: a late or
        // duplicated ACCEPT of an older session changes nothing.
        if (!s.pending || s.pending->id != s.last_opened)
            return {};
        const bool re_handshake = s.current != nullptr;
        s.retransmit.stop(); // the last flight arrived
        s.previous = std::move(s.current);
        s.current = std::move(s.pending);
        crypto::received r;
        r.what = crypto::received::kind::established;
        r.identity = s.current->peer;
        // The flag is the (authenticated) relay's word that it did not know this client: it
        // restarted. Its identity cannot have changed (on_server_hello holds it).
        r.relay_restarted = re_handshake && (std::to_integer<unsigned>(value[0]) & 1u) != 0;
        r.first_use = std::exchange(s.first_use, false);
        return r;
    }

private:
    // Sends one flight (a TLV to the relay) and keeps it for the retransmission timer.
    static void send_flight(party& me, state& s, wire::tlv_type type, std::span<const std::byte> value, time_point now,
                            datagram_batch& out)
    {
        s.flight_type = type;
        s.flight_size = value.size();
        std::copy(value.begin(), value.end(), s.flight.begin());
        s.retransmit.arm(now, me.settings().retransmit);
        detail::push_tlv(out, s.relay, type, value);
    }
};

} // namespace tlvcast::profile::secure
