// A test Cipher with opaque forwarding: an HMAC record layer on each client-relay hop, and data
// blobs authenticated end to end under a group key that the relay does not hold.
#pragma once

#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/crypto/detail/secure_session.hpp>
#include <tlvcast/crypto/replay_window.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/wire/sender_info.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <cryptopp/hmac.h>
#include <cryptopp/misc.h>
#include <cryptopp/sha.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string_view>
#include <vector>

namespace tlvcast::test {

/// The test profile's TLV types, in the unassigned high range: the type table knows none of them.
namespace opaque_type {
inline constexpr std::uint16_t hello = 0x7f00;    ///< client -> relay, outer: nonce(16) tag(16)
inline constexpr std::uint16_t record = 0x7f01;   ///< both ways, outer: sid(8) seq(8) inner tag(16)
inline constexpr std::uint16_t accept = 0x7f02;   ///< in a relay record: flags(1), bit 0: the relay did not know the client
inline constexpr std::uint16_t presence = 0x7f03; ///< in a relay record: connected(1) IPv4(4) port(2)
inline constexpr std::uint16_t data = 0x7f10;     ///< client blob, forwarded as it is: IPv4(4) port(2) epoch(4) seq(8) message tag(16)
inline constexpr std::uint16_t join = 0x7f11;     ///< client blob: empty
inline constexpr std::uint16_t leave = 0x7f12;    ///< client blob: empty
} // namespace opaque_type
static_assert(!wire::find_type(opaque_type::hello) && !wire::find_type(opaque_type::record) &&
                  !wire::find_type(opaque_type::accept) && !wire::find_type(opaque_type::presence) &&
                  !wire::find_type(opaque_type::data) && !wire::find_type(opaque_type::join) &&
                  !wire::find_type(opaque_type::leave),
              "the test profile's types must stay unknown to the type table");

using opaque_key = std::array<std::byte, 32>;

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
/// sender epoch. Single-threaded (cheap_delivery: the relay engine never hands it to a worker).
class opaque_cipher {
public:
    static constexpr bool has_record_layer = true;
    static constexpr wire::tlv_type record_type{opaque_type::record};
    static constexpr crypto::forwarding forwarding = crypto::forwarding::opaque;
    static constexpr bool cheap_delivery = true;
    static constexpr std::size_t tag_size = 16, record_overhead = 4 + 8 + 8 + tag_size;
    static constexpr std::size_t data_fixed = wire::address_port_size + 4 + 8 + tag_size;

    using sid_type = std::array<std::byte, 8>;
    using nonce_type = std::array<std::byte, 16>;

    /// One hop's keys, its send counter and its replay window.
    struct hop {
        sid_type sid{};
        opaque_key c2r{}, r2c{};
        std::uint64_t next_seq = 0;
        crypto::basic_replay_window<> window;
    };

    struct client_session {
        endpoint relay;
        bool handshaking = false;
        nonce_type nonce{};
        std::optional<hop> pending, current, previous;
        sid_type last_opened{};
        std::map<std::pair<endpoint, std::uint32_t>, crypto::basic_replay_window<>> seen; ///< per sender epoch
    };

    struct peer_session {
        std::shared_ptr<hop> current, previous; // shared: the handshake answers a repeated hello in place
        nonce_type nonce{};
        bool fresh = false; ///< the relay did not know the client when this session began
    };

    explicit opaque_cipher(opaque_options opt) : opt_(std::move(opt)), rng_(opt_.seed)
    {
        epoch_ = static_cast<std::uint32_t>(rng_());
    }

    const opaque_counts& counts() const noexcept { return counts_; }
    std::size_t fragment_payload() const noexcept { return opt_.max_datagram - record_overhead - 4 - 8; }
    std::size_t max_whole() const noexcept { return opt_.max_datagram - record_overhead; }

    // ---- client side ----

    void start_session(client_session& s, const endpoint& relay, time_point, datagram_batch& out)
    {
        s.relay = relay;
        s.pending.reset();
        random(s.nonce);
        s.handshaking = true;
        const auto tag = mac16(opt_.relay_key, {label("hello"), s.nonce});
        push(out, relay, opaque_type::hello, {s.nonce, tag});
    }

    bool established(const client_session& s) const noexcept { return s.current.has_value(); }

    /// A TLV from inside a relay record (the hop vouches for it): ACCEPT or PRESENCE. Anything
    /// else is ignored: data blobs never come inside records, and bare TLVs never reach here.
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

    /// A blob the relay forwarded outside records: shown only when its end-to-end tag verifies
    /// and it is not a replay. Errors: unexpected_type (not a data blob, or our own),
    /// malformed, authentication_failed, replayed, not_ready (no group key).
    crypto::received client_forwarded(client_session& s, const wire::tlv& t, time_point, std::vector<std::byte>& text,
                                      std::error_code& ec) const
    {
        ec = {};
        crypto::received r;
        if (t.raw_type != opaque_type::data) {
            ec = errc::unexpected_type;
            return r;
        }
        if (!opt_.group_key) {
            ec = errc::not_ready;
            return r;
        }
        if (t.value.size() < data_fixed) {
            ec = errc::malformed;
            return r;
        }
        ++counts_.e2e_check;
        const auto body = t.value.first(t.value.size() - tag_size);
        if (!equal(mac16(*opt_.group_key, {label("data"), body}), t.value.last(tag_size))) {
            ec = errc::authentication_failed;
            return r;
        }
        const endpoint sender = wire::decode_address(body, ec);
        if (sender == opt_.self) {
            ec = errc::unexpected_type;
            return r;
        }
        const std::uint32_t epoch = wire::detail::load_u32(body.data() + wire::address_port_size);
        const std::uint64_t seq = crypto::detail::load_u64(body.data() + wire::address_port_size + 4);
        if (s.seen.size() >= max_senders && !s.seen.count({sender, epoch}))
            s.seen.erase(s.seen.begin()); // bounded memory; a test profile may forget
        if (auto replay = s.seen[{sender, epoch}].accept(seq)) {
            ec = replay;
            return r;
        }
        const auto msg = body.subspan(wire::address_port_size + 4 + 8);
        text.assign(msg.begin(), msg.end());
        r.what = crypto::received::kind::message;
        r.peer = sender;
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
        wire::tlv_appender a(blob);
        if (kind != crypto::message_kind::data) {
            a.put(kind == crypto::message_kind::join ? opaque_type::join : opaque_type::leave, {}, ec);
            return;
        }
        if (message.size() > wire::max_value_size - data_fixed) {
            ec = errc::message_too_large;
            return;
        }
        ++counts_.e2e_seal;
        std::array<std::byte, wire::address_port_size + 4 + 8> head{};
        wire::encode_address(head, opt_.self, ec);
        wire::detail::store_u32(head.data() + wire::address_port_size, epoch_);
        crypto::detail::store_u64(head.data() + wire::address_port_size + 4, e2e_seq_++);
        const std::size_t mark = a.begin(opaque_type::data);
        a.put_raw(head);
        a.put_raw(message);
        const auto tag = mac16(*opt_.group_key, {label("data"), std::span<const std::byte>(blob).subspan(mark + 4)});
        a.put_raw(tag);
        a.end(mark, ec);
    }

    void protect(client_session& s, std::span<const std::byte> inner, std::vector<std::byte>& record,
                 std::error_code& ec) const
    {
        if (!s.current) {
            ec = errc::not_ready;
            return;
        }
        seal_record(*s.current, s.current->c2r, inner, record, ec);
    }

    /// A relay record's value: under the current, previous or pending session, or (during a
    /// handshake) a new session derived from our nonce and the record's sid.
    void unprotect(client_session& s, std::span<const std::byte> value, std::vector<std::byte>& inner,
                   std::error_code& ec) const
    {
        ec = {};
        if (value.size() < 8 + 8 + tag_size) {
            ec = errc::malformed;
            return;
        }
        const sid_type sid = read_sid(value);
        for (auto* h : {&s.current, &s.pending, &s.previous})
            if (*h && (*h)->sid == sid) {
                open_record(**h, (*h)->r2c, value, inner, ec);
                if (!ec)
                    s.last_opened = sid;
                return;
            }
        if (!s.handshaking) {
            ec = errc::stale_session;
            return;
        }
        hop candidate = derive(s.nonce, sid);
        open_record(candidate, candidate.r2c, value, inner, ec);
        if (ec)
            return;
        s.pending = std::move(candidate);
        s.last_opened = sid;
    }

    // ---- relay side ----

    bool relay_handshake(const endpoint& from, const wire::tlv& t, time_point, datagram_batch& out,
                         const peer_session* current, std::optional<peer_session>& registered, std::error_code& ec)
    {
        ec = {};
        if (t.raw_type != opaque_type::hello)
            return false;
        if (t.value.size() != 16 + tag_size) {
            ec = errc::malformed;
            return true;
        }
        nonce_type nonce{};
        std::copy_n(t.value.begin(), nonce.size(), nonce.begin());
        if (!equal(mac16(opt_.relay_key, {label("hello"), nonce}), t.value.last(tag_size))) {
            ec = errc::authentication_failed;
            return true;
        }
        if (current && current->nonce == nonce) { // a repeated hello: the same session answers again
            send_accept(*current, from, out, ec);
            return true;
        }
        sid_type sid{};
        random(sid);
        peer_session p;
        p.current = std::make_shared<hop>(derive(nonce, sid));
        p.previous = current ? current->current : nullptr;
        p.nonce = nonce;
        p.fresh = current == nullptr;
        send_accept(p, from, out, ec);
        if (!ec)
            registered.emplace(std::move(p));
        return true;
    }

    crypto::message_kind classify(const peer_session&, std::span<const std::byte> blob, std::error_code& ec) const
    {
        ++counts_.classify;
        ec = {};
        wire::tlv_reader r(blob);
        wire::tlv t;
        if (r.next(t, ec) && r.done()) {
            if (t.raw_type == opaque_type::data && t.value.size() >= data_fixed)
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
        ec = {};
        if (value.size() < 8 + 8 + tag_size) {
            ec = errc::malformed;
            return;
        }
        const sid_type sid = read_sid(value);
        for (const auto* h : {&p.current, &p.previous})
            if (*h && (*h)->sid == sid)
                return open_record(**h, (*h)->c2r, value, inner, ec);
        ec = errc::stale_session;
    }

    void protect(peer_session& p, std::span<const std::byte> inner, std::vector<std::byte>& record,
                 std::error_code& ec) const
    {
        seal_record(*p.current, p.current->r2c, inner, record, ec);
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

    static std::span<const std::byte> label(std::string_view s) noexcept { return std::as_bytes(std::span(s)); }

    static opaque_key hmac(std::span<const std::byte> key, std::initializer_list<std::span<const std::byte>> parts)
    {
        CryptoPP::HMAC<CryptoPP::SHA256> h(reinterpret_cast<const CryptoPP::byte*>(key.data()), key.size());
        for (const auto p : parts)
            if (!p.empty())
                h.Update(reinterpret_cast<const CryptoPP::byte*>(p.data()), p.size());
        opaque_key d{};
        h.Final(reinterpret_cast<CryptoPP::byte*>(d.data()));
        return d;
    }
    static std::array<std::byte, tag_size> mac16(const opaque_key& key,
                                                 std::initializer_list<std::span<const std::byte>> parts)
    {
        const auto d = hmac(key, parts);
        std::array<std::byte, tag_size> t{};
        std::copy_n(d.begin(), t.size(), t.begin());
        return t;
    }
    static bool equal(std::span<const std::byte, tag_size> a, std::span<const std::byte> b)
    {
        return b.size() == tag_size && CryptoPP::VerifyBufsEqual(reinterpret_cast<const CryptoPP::byte*>(a.data()),
                                                                 reinterpret_cast<const CryptoPP::byte*>(b.data()),
                                                                 tag_size);
    }

    hop derive(const nonce_type& nonce, const sid_type& sid) const
    {
        const auto k = hmac(opt_.relay_key, {label("session"), nonce, sid});
        hop h;
        h.sid = sid;
        h.c2r = hmac(k, {label("c2r")});
        h.r2c = hmac(k, {label("r2c")});
        return h;
    }

    static sid_type read_sid(std::span<const std::byte> value) noexcept
    {
        sid_type sid{};
        std::copy_n(value.begin(), sid.size(), sid.begin());
        return sid;
    }

    // record = TLV(record, sid || seq || inner || HMAC(key, sid || seq || inner)[:16]).
    void seal_record(hop& h, const opaque_key& key, std::span<const std::byte> inner, std::vector<std::byte>& record,
                     std::error_code& ec) const
    {
        ++counts_.hop_protect;
        ec = {};
        record.clear();
        if (inner.size() > wire::max_value_size - (record_overhead - 4)) {
            ec = errc::message_too_large;
            return;
        }
        std::array<std::byte, 16> head{};
        std::copy(h.sid.begin(), h.sid.end(), head.begin());
        crypto::detail::store_u64(head.data() + 8, h.next_seq++);
        wire::tlv_appender a(record);
        const std::size_t mark = a.begin(opaque_type::record);
        a.put_raw(head);
        a.put_raw(inner);
        a.put_raw(mac16(key, {head, inner}));
        a.end(mark, ec);
    }

    // Replay check first (cheap), then the tag; the window moves only for an authentic record.
    void open_record(hop& h, const opaque_key& key, std::span<const std::byte> value, std::vector<std::byte>& inner,
                     std::error_code& ec) const
    {
        ++counts_.hop_unprotect;
        inner.clear();
        const std::uint64_t seq = crypto::detail::load_u64(value.data() + 8);
        if ((ec = h.window.check(seq)))
            return;
        const auto body = value.first(value.size() - tag_size);
        if (!equal(mac16(key, {body}), value.last(tag_size))) {
            ec = errc::authentication_failed;
            return;
        }
        (void)h.window.accept(seq);
        inner.assign(body.begin() + 16, body.end());
    }

    void send_accept(const peer_session& p, const endpoint& to, datagram_batch& out, std::error_code& ec)
    {
        const std::array<std::byte, 5> accept{std::byte{0x7f}, std::byte{0x02}, std::byte{0}, std::byte{1},
                                              std::byte{static_cast<unsigned char>(p.fresh ? 1 : 0)}};
        seal_record(*p.current, p.current->r2c, accept, scratch_, ec);
        if (!ec)
            out.push(to, scratch_);
    }

    static void push(datagram_batch& out, const endpoint& to, std::uint16_t type,
                     std::initializer_list<std::span<const std::byte>> parts)
    {
        const std::size_t m = out.mark();
        wire::tlv_appender a(out.bytes());
        const std::size_t mark = a.begin(type);
        for (const auto p : parts)
            a.put_raw(p);
        std::error_code ec;
        a.end(mark, ec);
        out.commit(to, m);
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
static_assert(opaque_cipher::forwarding == crypto::forwarding::opaque);

} // namespace tlvcast::test
