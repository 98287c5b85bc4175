// SPDX-License-Identifier: BSL-1.0
// The seed profile's client side: registration (4, 7), the relay's key (5), relayed messages and presence.
#pragma once

#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/crypto/retransmit.hpp>
#include <tlvcast/crypto/rsa_backend.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/profile/seed/control.hpp>
#include <tlvcast/profile/seed/detail/recent_ids.hpp>
#include <tlvcast/profile/seed/detail/rsa_blocks.hpp>
#include <tlvcast/wire/sender_info.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace tlvcast::profile::seed {

/// Registration under loss (the wire stays the prototype's, byte for byte). REGISTER_PUBLIC_KEY (4)
/// and REQUEST_SERVER_KEY (7) go again on this schedule until SERVER_PUBLIC_KEY (5) arrives. A 5
/// answers the 7 and says nothing of the 4, so after a first (or changed) relay key the 4 alone
/// goes on, on the same schedule, until the relay shows that it holds our key: it sends
/// SENDER_INFO, RELAYED_MESSAGE and presence (10, 6, 11, 12) to registered clients only.
inline constexpr crypto::retransmit_schedule registration_retransmit{std::chrono::milliseconds(250),
                                                                     std::chrono::seconds(1), 6};
/// CONNECT: nothing on the seed wire tells a client that its CONNECT arrived (the relay announces
/// it to the others only), so the client engine sends the CONNECT's datagrams again, byte for byte,
/// on this schedule (basic_rsa_oaep::join_repeat): 1 + tries copies in 5.75 s (fragments of different
/// copies complete one another; at 20% loss a two-fragment CONNECT is lost for good with 2 x 0.2^copies:
/// 5 copies lost one of 20 clients' CONNECTs in about 1% of e2e_loss runs, 8 copies about 1 in 10^4
/// runs). The same msg_id and
/// ciphertext: a tlvcast relay drops a copy of a msg_id it completed (unless a registration copy
/// made it forget the address's streams: one more RSA decryption) and announces a join once
/// (state transitions only); a relay that announces every CONNECT (the prototype) tells the others
/// again for each copy that completes.
inline constexpr crypto::retransmit_schedule connect_repeat{std::chrono::milliseconds(250), std::chrono::seconds(1),
                                                            7};
static_assert(registration_retransmit.valid() && connect_repeat.valid());
static_assert(registration_retransmit.span() < std::chrono::seconds(5), "within one register_timeout (5 s)");

/// The client's view of its relay: the relay's key once type 5 arrived, and the first 16 bytes of
/// recent relayed ciphertexts. OAEP is randomised, so the same bytes again can only be a network
/// duplicate or a replay: dropped (errc::replayed) without a private-key operation.
template <crypto::rsa_backend Rsa>
struct client_session {
    std::optional<typename Rsa::public_key> relay_key;
    crypto::fingerprint relay_fingerprint{};
    detail::recent_ids seen;
    /// Registration under loss (registration_retransmit): where it goes, what is repeated (both
    /// 4 and 7 until a 5 arrives, then the 4 alone until the relay shows it holds our key).
    endpoint relay;
    enum class phase { idle, awaiting_key, confirming } registration = phase::idle;
    crypto::retransmit_timer retransmit;
};

namespace detail {

/// The client half of basic_rsa_oaep (rsa_oaep.hpp documents each call). It holds the prebuilt
/// registration datagrams; the key pair comes in from the policy on each call.
template <crypto::rsa_backend Rsa>
class client_side {
public:
    using session = client_session<Rsa>;

    /// Prebuilds REGISTER_PUBLIC_KEY(pem) and REQUEST_SERVER_KEY, sent on every (re)start.
    explicit client_side(std::string_view pem)
    {
        std::error_code ec;
        wire::tlv_appender a(hello_);
        a.put(wire::tlv_type::register_public_key, wire::as_bytes(pem), ec);
        split_ = hello_.size();
        a.put(wire::tlv_type::request_server_key, {}, ec);
    }

    void start(session& s, const endpoint& relay, time_point now, datagram_batch& out) const
    {
        s.relay = relay;
        s.registration = session::phase::awaiting_key;
        s.retransmit.arm(now, registration_retransmit);
        send_registration(s, out);
    }

    /// Sends the registration again when its answer (or the proof that the relay holds our key) is late.
    void on_timer(session& s, time_point now, datagram_batch& out) const
    {
        if (s.retransmit.fire(now))
            send_registration(s, out);
    }
    time_point next_timer(const session& s) const noexcept { return s.retransmit.next(); }

    crypto::received receive(const rsa_blocks<Rsa>& keys, session& s, const wire::tlv& t, time_point now,
                             std::vector<std::byte>& text, std::error_code& ec) const
    {
        using kind = crypto::received::kind;
        ec = {};
        crypto::received r;
        switch (t.type()) {
        case wire::tlv_type::server_public_key: {
            typename Rsa::public_key key = Rsa::import_public_pem(t.value, ec);
            if (ec)
                return r;
            const crypto::fingerprint fp = Rsa::fingerprint(key);
            // A new key we did not ask for (anyone can send one from the relay's address) is not
            // taken: it would make us join again, and repeat the join, for each forged key. A
            // restarted relay is found by our own requests (start, and every probe).
            if (s.relay_key && fp != s.relay_fingerprint && s.registration != session::phase::awaiting_key)
                return r;
            r.what = kind::established;
            r.identity = fp;
            r.relay_changed = s.relay_key && fp != s.relay_fingerprint;
            // A relay we did not know (first contact, or a new key: it restarted) must hold our
            // key before our CONNECT can count: the 4 goes on until it shows that. A probe's answer
            // from the same relay ends the registration flight (the relay had our key already).
            if (s.registration == session::phase::awaiting_key) {
                if (!s.relay_key || r.relay_changed) {
                    s.registration = session::phase::confirming;
                    s.retransmit.arm(now, registration_retransmit);
                } else {
                    s.registration = session::phase::idle;
                    s.retransmit.stop();
                }
            }
            s.relay_key = std::move(key);
            s.relay_fingerprint = fp;
            return r;
        }
        case wire::tlv_type::sender_info: {
            // The relay names the sender in SENDER_INFO around the RELAYED_MESSAGE it re-encrypted.
            const wire::sender_info si = wire::decode_sender_info(t.value, ec);
            if (ec)
                return r;
            if (si.inner.type() != wire::tlv_type::relayed_message) {
                ec = errc::unexpected_type;
                return r;
            }
            if (decrypt_fresh(keys, s, si.inner.value, text, ec)) {
                r.what = kind::message;
                r.peer = si.sender;
                registered(s); // encrypted to our key: the relay holds it
            }
            return r;
        }
        case wire::tlv_type::relayed_message:
            if (decrypt_fresh(keys, s, t.value, text, ec)) {
                r.what = kind::message;
                registered(s);
            }
            return r;
        case wire::tlv_type::client_connected:
        case wire::tlv_type::client_disconnected:
            r.peer = wire::decode_presence(t.value, ec);
            if (!ec) {
                r.what = t.type() == wire::tlv_type::client_connected ? kind::peer_connected : kind::peer_disconnected;
                // Sent to registered clients only. Unauthenticated, as everything on the seed
                // wire: a forged one ends the repeats early, which is all it can do.
                if (s.relay_key)
                    registered(s);
            }
            return r;
        default: return r; // other relay types: ignored, as the profile says
        }
    }

    void seal(const rsa_blocks<Rsa>& keys, const session& s, crypto::message_kind kind,
              std::span<const std::byte> message, std::vector<std::byte>& blob, std::error_code& ec) const
    {
        ec = {};
        blob.clear();
        if (!s.relay_key) {
            ec = errc::not_ready;
            return;
        }
        const std::span<const std::byte> plaintext = control_plaintext(kind, message, ec);
        if (ec)
            return;
        wire::tlv_appender a(blob);
        const std::size_t blocks = keys.blocks_for(plaintext.size());
        for (std::size_t b = 0; b < blocks; ++b) {
            const std::size_t mark = a.begin(wire::tlv_type::encrypted_block);
            keys.append_block(*s.relay_key, plaintext, b, blob, ec);
            if (ec)
                return;
            a.end(mark, ec);
        }
    }

private:
    // The relay holds our key: the registration flight is over.
    static void registered(session& s) noexcept
    {
        if (s.registration == session::phase::confirming) {
            s.registration = session::phase::idle;
            s.retransmit.stop();
        }
    }

    // This phase's datagrams: 4 and 7 while the relay's key is awaited, then 4 alone.
    void send_registration(const session& s, datagram_batch& out) const
    {
        const std::span<const std::byte> hello(hello_);
        if (s.registration == session::phase::idle)
            return;
        out.push(s.relay, hello.first(split_));
        if (s.registration == session::phase::awaiting_key)
            out.push(s.relay, hello.subspan(split_));
    }

    // Decrypts a RELAYED_MESSAGE value unless its ciphertext was seen recently.
    static bool decrypt_fresh(const rsa_blocks<Rsa>& keys, session& s, std::span<const std::byte> value,
                              std::vector<std::byte>& text, std::error_code& ec)
    {
        const auto id = recent_ids::make(value);
        if (s.seen.contains(id)) {
            ec = errc::replayed;
            return false;
        }
        keys.decrypt_concatenated(value, text, ec);
        if (ec)
            return false;
        s.seen.insert(id); // only after decryption: forged bytes cannot block a real message
        return true;
    }

    std::vector<std::byte> hello_; // REGISTER_PUBLIC_KEY then REQUEST_SERVER_KEY, one datagram each
    std::size_t split_ = 0;
};

} // namespace detail
} // namespace tlvcast::profile::seed
