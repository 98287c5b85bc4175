// SPDX-License-Identifier: BSL-1.0
// A test Cipher with opaque forwarding: an HMAC record layer on each client-relay hop, and data
// blobs authenticated end to end under a group key that the relay does not hold.
#pragma once

#include "core/opaque_codec.hpp"

#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/crypto/replay_window.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/wire/sender_info.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <vector>

namespace tlvcast::test {

/// Settings of one opaque_cipher instance.
struct opaque_options {
    opaque_key relay_key{};              ///< shared by the relay and its clients: proves the hello and keys each hop
    std::optional<opaque_key> group_key; ///< clients only: authenticates data blobs end to end
    endpoint self{};                     ///< clients: the sender address their data blobs carry
    std::uint64_t seed = 1;              ///< randomness is an input: nonces, session ids, the sender epoch
    std::size_t max_datagram = 1232;
};

/// What an instance did, so that a test can prove what the relay never does.
struct opaque_counts {
    std::uint64_t hop_protect = 0, hop_unprotect = 0; ///< record layer (per hop)
    std::uint64_t classify = 0;                       ///< relay: blobs classified without opening
    std::uint64_t e2e_seal = 0, e2e_check = 0;        ///< end-to-end tags made and checked
    std::uint64_t open = 0, seal_relayed = 0;         ///< reseal members: never called with opaque forwarding
};

/// A test profile, not a secure one: the relay key is shared by every client, the handshake has no
/// forward secrecy, and the group key authenticates the group, not each sender. It does
/// authenticate every byte: a record is HMAC-SHA256 (truncated to 16 bytes) under its hop's key
/// with a replay window; a data blob is HMAC-SHA256 under the group key, with a replay window per
/// sender epoch (see opaque_codec.hpp). The handshake: the client's hello carries a nonce and its
/// tag under the relay key; the relay answers with an ACCEPT in the first record of the new
/// session, whose keys derive from the nonce and the record's session id.
/// Single-threaded (cheap_delivery: the relay engine never hands it to a worker).
class opaque_cipher {
public:
    static constexpr bool has_record_layer = true;
    static constexpr wire::tlv_type record_type{opaque_type::record};
    static constexpr crypto::forwarding forwarding = crypto::forwarding::opaque;
    static constexpr bool cheap_delivery = true;

    using hop = opaque_codec::hop;

    struct client_session {
        endpoint relay;
        bool handshaking = false;
        opaque_codec::nonce_type nonce{};
        std::optional<hop> pending, current, previous;
        opaque_codec::sid_type last_opened{};
        std::map<std::pair<endpoint, std::uint32_t>, crypto::basic_replay_window<>> seen; ///< per sender epoch
    };

    struct peer_session {
        std::shared_ptr<hop> current, previous; // shared: the handshake answers a repeated hello in place
        opaque_codec::nonce_type nonce{};
        bool fresh = false; ///< the relay did not know the client when this session began
    };

    explicit opaque_cipher(opaque_options opt) : opt_(std::move(opt)), rng_(opt_.seed)
    {
        epoch_ = static_cast<std::uint32_t>(rng_());
    }

    const opaque_counts& counts() const noexcept { return counts_; }
    /// The Fragmenter's sizes so that a FRAGMENT (12 bytes of headers) or a whole blob fits one record.
    std::size_t fragment_payload() const noexcept { return max_whole() - wire::tlv_header_size - wire::fragment_header_size; }
    std::size_t max_whole() const noexcept { return opt_.max_datagram - opaque_codec::record_overhead; }

    // ---- client side ----

    void start_session(client_session& s, const endpoint& relay, time_point, datagram_batch& out)
    {
        s.relay = relay;
        s.pending.reset();
        random(s.nonce);
        s.handshaking = true;
        const auto tag = opaque_codec::mac16(opt_.relay_key, {opaque_codec::label("hello"), s.nonce});
        opaque_codec::push_tlv(out, relay, opaque_type::hello, {s.nonce, tag});
    }

    bool established(const client_session& s) const noexcept { return s.current.has_value(); }

    /// A TLV from inside a relay record (the hop vouches for it): ACCEPT or PRESENCE. Anything
    /// else is ignored: data blobs never come inside records, and bare blobs never come here.
    crypto::received client_receive(client_session& s, const wire::tlv& t, time_point, const crypto::relay_trust&,
                                    datagram_batch&, std::vector<std::byte>&, std::error_code& ec) const
    {
        ec = {};
        crypto::received r;
        if (t.raw_type == opaque_type::accept && t.value.size() == 1) {
            if (!s.pending || s.pending->sid != s.last_opened)
                return r; // a late or repeated ACCEPT changes nothing
            const bool rekey = s.current.has_value();
            s.previous = std::move(s.current);
            s.current = std::move(s.pending);
            s.pending.reset();
            s.handshaking = false;
            r.what = crypto::received::kind::established;
            r.relay_restarted = rekey && (std::to_integer<unsigned>(t.value[0]) & 1u) != 0;
        } else if (t.raw_type == opaque_type::presence) {
            if (t.value.size() != 1 + wire::address_port_size || std::to_integer<unsigned>(t.value[0]) > 1) {
                ec = errc::malformed;
                return r;
            }
            r.peer = wire::decode_address(t.value.subspan(1), ec);
            r.what = t.value[0] == std::byte{1} ? crypto::received::kind::peer_connected
                                                : crypto::received::kind::peer_disconnected;
        }
        return r;
    }

    /// A blob the relay forwarded outside records (the proposed client_engine rule calls this):
    /// shown only when its end-to-end tag verifies and it is no replay. Errors: unexpected_type
    /// (not a data blob, or our own), not_ready (no group key), malformed, authentication_failed,
    /// replayed.
    crypto::received client_forwarded(client_session& s, const wire::tlv& t, time_point, std::vector<std::byte>& text,
                                      std::error_code& ec) const
    {
        ec = {};
        crypto::received r;
        if (t.raw_type != opaque_type::data || !opt_.group_key) {
            ec = t.raw_type != opaque_type::data ? errc::unexpected_type : errc::not_ready;
            return r;
        }
        ++counts_.e2e_check;
        const opaque_codec::data_view v = opaque_codec::open_data(*opt_.group_key, t.value, ec);
        if (ec)
            return r;
        if (v.sender == opt_.self) {
            ec = errc::unexpected_type;
            return r;
        }
        if (s.seen.size() >= max_senders && !s.seen.count({v.sender, v.epoch}))
            s.seen.erase(s.seen.begin()); // bounded memory; a test profile may forget
        if ((ec = s.seen[{v.sender, v.epoch}].accept(v.seq)))
            return r;
        text.assign(v.message.begin(), v.message.end());
        r.what = crypto::received::kind::message;
        r.peer = v.sender;
        return r;
    }

    /// data: the message under the group key's tag; join and leave: empty blobs (the hop record
    /// authenticates them to the relay, which consumes them). Errors: not_ready, message_too_large.
    void seal(const client_session& s, crypto::message_kind kind, std::span<const std::byte> message,
              std::vector<std::byte>& blob, std::error_code& ec) const
    {
        ec = {};
        blob.clear();
        if (!s.current || (kind == crypto::message_kind::data && !opt_.group_key)) {
            ec = errc::not_ready;
            return;
        }
        if (kind != crypto::message_kind::data) {
            wire::tlv_appender(blob).put(kind == crypto::message_kind::join ? opaque_type::join : opaque_type::leave,
                                         {}, ec);
            return;
        }
        ++counts_.e2e_seal;
        opaque_codec::seal_data(*opt_.group_key, opt_.self, epoch_, e2e_seq_++, message, blob, ec);
    }

    void protect(client_session& s, std::span<const std::byte> inner, std::vector<std::byte>& record,
                 std::error_code& ec) const
    {
        if (!s.current) {
            ec = errc::not_ready;
            return;
        }
        ++counts_.hop_protect;
        opaque_codec::seal_record(*s.current, s.current->c2r, inner, record, ec);
    }

    /// A relay record's value: under the current, pending or previous session, or (during a
    /// handshake) a new session derived from our nonce and the record's session id.
    void unprotect(client_session& s, std::span<const std::byte> value, std::vector<std::byte>& inner,
                   std::error_code& ec) const
    {
        ++counts_.hop_unprotect;
        ec = {};
        if (value.size() < opaque_codec::record_overhead - wire::tlv_header_size) {
            ec = errc::malformed;
            return;
        }
        const auto sid = opaque_codec::read_sid(value);
        for (auto* h : {&s.current, &s.pending, &s.previous})
            if (*h && (*h)->sid == sid) {
                opaque_codec::open_record(**h, (*h)->r2c, value, inner, ec);
                if (!ec)
                    s.last_opened = sid;
                return;
            }
        if (!s.handshaking) {
            ec = errc::stale_session;
            return;
        }
        hop candidate = opaque_codec::derive_hop(opt_.relay_key, s.nonce, sid);
        opaque_codec::open_record(candidate, candidate.r2c, value, inner, ec);
        if (ec)
            return;
        s.pending = std::move(candidate);
        s.last_opened = sid;
    }

    // ---- relay side ----

    /// The hello: a new session (ACCEPT in its first record), or the same answer again for a
    /// repeated hello. Errors: malformed, authentication_failed (no proof of the relay key).
    bool relay_handshake(const endpoint& from, const wire::tlv& t, time_point, datagram_batch& out,
                         const peer_session* current, std::optional<peer_session>& registered, std::error_code& ec)
    {
        ec = {};
        if (t.raw_type != opaque_type::hello)
            return false;
        opaque_codec::nonce_type nonce{};
        if (t.value.size() != nonce.size() + opaque_codec::tag_size) {
            ec = errc::malformed;
            return true;
        }
        std::copy_n(t.value.begin(), nonce.size(), nonce.begin());
        if (!opaque_codec::tags_equal(opaque_codec::mac16(opt_.relay_key, {opaque_codec::label("hello"), nonce}),
                                      t.value.last(opaque_codec::tag_size))) {
            ec = errc::authentication_failed;
            return true;
        }
        if (current && current->nonce == nonce) {
            send_accept(*current, from, out, ec);
            return true;
        }
        opaque_codec::sid_type sid{};
        random(sid);
        peer_session p;
        p.current = std::make_shared<hop>(opaque_codec::derive_hop(opt_.relay_key, nonce, sid));
        p.previous = current ? current->current : nullptr;
        p.nonce = nonce;
        p.fresh = current == nullptr;
        send_accept(p, from, out, ec);
        if (!ec)
            registered.emplace(std::move(p));
        return true;
    }

    /// The blob's kind from its type, without any key. Errors: malformed.
    crypto::message_kind classify(const peer_session&, std::span<const std::byte> blob, std::error_code& ec) const
    {
        ++counts_.classify;
        ec = {};
        wire::tlv_reader r(blob);
        wire::tlv t;
        if (r.next(t, ec) && r.done()) {
            if (t.raw_type == opaque_type::data && t.value.size() >= opaque_codec::data_fixed)
                return crypto::message_kind::data;
            if (t.raw_type == opaque_type::join && t.value.empty())
                return crypto::message_kind::join;
            if (t.raw_type == opaque_type::leave && t.value.empty())
                return crypto::message_kind::leave;
        }
        ec = errc::malformed;
        return crypto::message_kind::data;
    }

    void presence(const peer_session&, bool connected, const peer_session*, const endpoint& about,
                  std::vector<std::byte>& blob, std::error_code& ec) const
    {
        blob.clear();
        std::array<std::byte, 1 + wire::address_port_size> v{std::byte{static_cast<unsigned char>(connected)}};
        wire::encode_address(std::span(v).subspan(1), about, ec);
        if (!ec)
            wire::tlv_appender(blob).put(opaque_type::presence, v, ec);
    }

    std::optional<crypto::fingerprint> identity(const peer_session&) const noexcept { return std::nullopt; }

    void unprotect(peer_session& p, std::span<const std::byte> value, std::vector<std::byte>& inner,
                   std::error_code& ec) const
    {
        ++counts_.hop_unprotect;
        ec = {};
        if (value.size() < opaque_codec::record_overhead - wire::tlv_header_size) {
            ec = errc::malformed;
            return;
        }
        const auto sid = opaque_codec::read_sid(value);
        for (const auto* h : {&p.current, &p.previous})
            if (*h && (*h)->sid == sid)
                return opaque_codec::open_record(**h, (*h)->c2r, value, inner, ec);
        ec = errc::stale_session;
    }

    void protect(peer_session& p, std::span<const std::byte> inner, std::vector<std::byte>& record,
                 std::error_code& ec) const
    {
        ++counts_.hop_protect;
        opaque_codec::seal_record(*p.current, p.current->r2c, inner, record, ec);
    }

    /// Reseal members, present only to count that the relay engine never calls them.
    crypto::message_kind open(const peer_session&, std::span<const std::byte>, std::vector<std::byte>&,
                              std::error_code& ec) const
    {
        ++counts_.open;
        ec = errc::unexpected_type;
        return crypto::message_kind::data;
    }
    void seal_relayed(const peer_session&, const peer_session&, const endpoint&, std::span<const std::byte>,
                      std::vector<std::byte>&, std::error_code& ec) const
    {
        ++counts_.seal_relayed;
        ec = errc::unexpected_type;
    }

private:
    static constexpr std::size_t max_senders = 1024;

    void send_accept(const peer_session& p, const endpoint& to, datagram_batch& out, std::error_code& ec)
    {
        std::vector<std::byte> inner;
        const std::array<std::byte, 1> flags{std::byte{static_cast<unsigned char>(p.fresh ? 1 : 0)}};
        wire::tlv_appender(inner).put(opaque_type::accept, flags, ec);
        ++counts_.hop_protect;
        opaque_codec::seal_record(*p.current, p.current->r2c, inner, scratch_, ec);
        if (!ec)
            out.push(to, scratch_);
    }

    template <std::size_t N>
    void random(std::array<std::byte, N>& out)
    {
        for (std::size_t i = 0; i < N; i += 8) {
            const std::uint64_t v = rng_();
            for (std::size_t j = 0; j < 8 && i + j < N; ++j)
                out[i + j] = static_cast<std::byte>(v >> (8 * j));
        }
    }

    opaque_options opt_;
    std::mt19937_64 rng_;
    std::uint32_t epoch_ = 0;
    mutable std::uint64_t e2e_seq_ = 0;
    mutable opaque_counts counts_;
    std::vector<std::byte> scratch_;
};

static_assert(crypto::client_cipher<opaque_cipher> && crypto::relay_cipher<opaque_cipher>,
              "the test cipher must model both cipher concepts");

} // namespace tlvcast::test
