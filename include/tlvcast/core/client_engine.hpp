// SPDX-License-Identifier: BSL-1.0
// client_engine: the client's protocol state machine, without I/O (time and datagrams are inputs).
#pragma once

#include <tlvcast/core/detail/pipeline.hpp>
#include <tlvcast/core/events.hpp>
#include <tlvcast/core/large_message.hpp>
#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/crypto/retransmit.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/fragment/concepts.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tlvcast::core {

using namespace std::chrono_literals;

/// The seed profile's largest relayed text: the default message limit.
inline constexpr std::size_t default_max_message = 48'450;

/// The client's settings; every default is the seed profile's.
struct client_options {
    endpoint relay{0xe0010101u, 5007};      ///< where datagrams go: the group 224.1.1.1:5007
    duration register_timeout = 5s;         ///< wait for the relay's answer, per attempt
    unsigned register_attempts = 3;         ///< then registration fails with errc::no_relay
    duration keepalive = 5s;                ///< KEEPALIVE period
    duration probe_interval = 15s;          ///< re-handshake period (detects a restarted relay, renews keys)
    duration relay_timeout = 45s;           ///< no answer for this long: relay_lost
    std::size_t max_message = default_max_message; ///< largest message send() accepts
    large_limits large{};                   ///< large messages (send_large(), and their reassembly)
    std::size_t max_events = 4096;          ///< unread events kept; older ones are dropped and counted
    crypto::relay_trust trust{};            ///< which relay identities are accepted (profiles with identities)
};

/// One client's protocol engine over a Cipher (client side) and a Fragmenter. It never does I/O:
/// feed it datagrams (handle), the time (on_timer at next_timer()), and user requests (send,
/// close); it appends datagrams to send to a batch and queues events (poll_event).
/// Every datagram follows one pipeline: outbound, message -> Cipher::seal -> Fragmenter::split ->
/// record protect; inbound, record unprotect -> the Fragmenter (FRAGMENTs and its own control
/// TLVs) -> the Cipher. With opaque forwarding, what the relay forwards outside records (whole
/// blobs, bare FRAGMENTs) goes to the Fragmenter and Cipher::client_forwarded(), the end-to-end
/// check. Whatever a Fragmenter call appends (its split(), reassemble(), handle_control() and
/// on_timer() output: ACKs, NACKs, repairs) leaves in the same engine call, through the record
/// layer. Not thread-safe: drive it from one thread or strand.
template <class Cipher, class Fragmenter>
class client_engine {
    // A repairing Fragmenter takes a peer with a port for authenticated (its NACKs make it send):
    // only records make that true.
    static_assert(!fragment::per_destination<Fragmenter> || Cipher::has_record_layer,
                  "a repairing Fragmenter needs a Cipher with a record layer");

    static_assert(crypto::client_cipher<Cipher>,
                  "Cipher does not model tlvcast::crypto::client_cipher (see crypto/concepts.hpp)");
    static_assert(fragment::fragmenter<Fragmenter>,
                  "Fragmenter does not model tlvcast::fragment::fragmenter (see fragment/concepts.hpp)");

    // Opaque forwarding: the relay forwards other clients' blobs as they are, outside records.
    // Only the Cipher's end-to-end check can vouch for them, so they reach it through
    // client_forwarded(), never through client_receive() (which trusts the record layer).
    static constexpr bool opaque_forwarding = crypto::opaque_forwarding<Cipher>;

public:
    enum class state { idle, registering, established, failed, closed };

    /// Whether this profile carries large messages (send_large()): its Cipher seals parts.
    static constexpr bool large_messages = requires(const Cipher& c, const typename Cipher::client_session& s,
                                                    std::span<const std::byte> b, std::vector<std::byte>& blob,
                                                    std::error_code& ec) { c.seal_part(s, b, b, blob, ec); };

    client_engine(Cipher cipher, Fragmenter fragmenter, client_options options = {})
        : cipher_(std::move(cipher)), fragmenter_(std::move(fragmenter)), opt_(std::move(options)),
          large_rx_(opt_.large)
    {
        // The relay alone listens where this client sends, even on a multicast address.
        if constexpr (requires { fragmenter_.single_receiver(opt_.relay); })
            fragmenter_.single_receiver(opt_.relay);
        // A group member on unicast delivery hears no other member's NACKs or repairs: nothing to
        // wait for before its own.
        if constexpr (requires { fragmenter_.unicast_delivery(cipher_.unicast_delivery()); })
            fragmenter_.unicast_delivery(cipher_.unicast_delivery());
    }

    /// Starts registration: appends the profile's handshake datagrams to `out`. A Cipher that
    /// declares `ipv4_only` (the seed profile) with an IPv6 relay address fails at once instead:
    /// state failed, a failed event with errc::address_family, nothing sent.
    void start(time_point now, datagram_batch& out)
    {
        const count_out counting{counters_, out};
        if (state_ != state::idle)
            return;
        if constexpr (requires { requires Cipher::ipv4_only; }) {
            // A profile whose wire names peers by IPv4 address cannot work through an IPv6 group.
            if (!opt_.relay.is_v4()) {
                state_ = state::failed;
                push_event({client_event::kind::failed, opt_.relay, {}, {}, errc::address_family});
                return;
            }
        }
        state_ = state::registering;
        attempts_ = 0;
        send_hello(now, out);
    }

    /// Handles one datagram from `from`; may append datagrams and queue events.
    void handle(const endpoint& from, std::span<const std::byte> datagram, time_point now, datagram_batch& out);

    /// Runs what is due at `now`: registration retries, keep-alives, probes, the Fragmenter's timers.
    void on_timer(time_point now, datagram_batch& out);

    /// The next time on_timer() has work, or no_timer.
    time_point next_timer() const;

    /// Seals, fragments and protects one message to the relay. Errors: not_ready (not registered),
    /// shut_down, message_too_large, would_block (the stream to the relay has its window of
    /// unacknowledged bytes: nothing sealed or sent; retry once writable()), and the cipher's (e.g.
    /// reserved_text).
    void send(std::span<const std::byte> message, time_point now, datagram_batch& out, std::error_code& ec);

    /// Sends the next parts of a large message (docs/PROTOCOL.md "Large messages"), up to
    /// options().large.max_message_bytes, without copying it first: each part (large.part_bytes)
    /// is sealed straight from `message`. The first call starts the message; each later call with
    /// the same message goes on where the last stopped, while the window to the relay lets parts
    /// through. Returns the bytes of `message` sent so far: message.size() when it all left (the
    /// next call starts a new message). Back-pressure, not failure: ec = would_block when the
    /// window stopped it (what left stays sent; call again once writable()). Receivers get it as
    /// one message event. Errors: not_ready, shut_down, message_too_large (over
    /// large.max_message_bytes), would_block, the Cipher's; unexpected_type for a message of
    /// another size while one is under way (cancel_large() first). Only for a Cipher with
    /// seal_part() (the secure and group profiles; the seed profile's wire has no parts).
    std::size_t send_large(std::span<const std::byte> message, time_point now, datagram_batch& out,
                           std::error_code& ec)
        requires large_messages
    {
        return send_parts(message, now, out, ec);
    }

    /// Gives up the large message under way (receivers drop what they have of it when the next one
    /// starts, or after their timeout). No effect when none is.
    void cancel_large() noexcept { large_tx_ = {}; }

    /// Bytes of the large message under way already sent (0 when none is).
    std::size_t large_progress() const noexcept { return large_tx_.offset; }

    /// The largest message send_batch() takes: options().max_message, or the Cipher's own
    /// max_message() when that is smaller.
    std::size_t message_limit() const noexcept
    {
        std::size_t limit = opt_.max_message;
        if constexpr (requires { cipher_.max_message(); })
            limit = std::min<std::size_t>(limit, cipher_.max_message());
        return limit;
    }

    /// Sends several messages. A Cipher with seal_batch(session, messages, blob, ec) packs as many
    /// as fit in one blob under one signature (the group profile: a recipient verifies once per
    /// batch); one with seal_batch(session, messages, budget, blob, ec) packs as many as fit in one
    /// datagram of this engine's Fragmenter (`budget`: detail::one_datagram_blob, the secure
    /// profile's SECURE_BATCH); any other sends them one by one. Nothing is sent unless every
    /// message is acceptable: within max_message and within the Cipher's own max_message() when it
    /// has one.
    /// Errors: send()'s (would_block: none sent); after a failure part way (the cipher's), the
    /// messages before it are sent.
    void send_batch(std::span<const std::span<const std::byte>> messages, time_point now, datagram_batch& out,
                    std::error_code& ec);

    /// Sends a data blob sealed earlier by this engine's Cipher (cipher().seal(session(), ...) or
    /// seal_batch): the rest of send()'s pipeline (split, protect), for a sender that seals and
    /// signs ahead of its send time (bench/datapath keeps signing out of its timed loop). The blob
    /// is not checked: sealing it was the caller's business. Errors: not_ready, shut_down, and
    /// the Fragmenter's and record layer's.
    void send_sealed(std::span<const std::byte> blob, time_point now, datagram_batch& out, std::error_code& ec);

    /// Removes the record layer of one datagram from the relay and hands back its inner TLV's
    /// bytes without acting on them: for a driver that checks what a relay forwarded against
    /// what was sent (bench/datapath). The record counts in the replay window as in handle(), so
    /// a datagram goes either here or to handle(), never both. Returns false on error: malformed,
    /// unexpected_type (not a record, or a Cipher without records), the record layer's
    /// (undecryptable, replayed).
    bool unprotect(std::span<const std::byte> datagram, std::vector<std::byte>& inner, std::error_code& ec);

    /// Announces departure (the profile's leave message) when registered, then stops: later input
    /// is ignored.
    void close(time_point now, datagram_batch& out)
    {
        const count_out counting{counters_, out};
        if (state_ == state::established) {
            std::error_code ec;
            send_message(crypto::message_kind::leave, {}, now, out, ec);
        }
        state_ = state::closed;
    }

    /// Whether send() would pass the flow control now: the stream to the relay is under its
    /// window (always true with a Fragmenter without flow control). No side effect.
    bool writable() const noexcept
    {
        if constexpr (requires { fragmenter_.unacknowledged(opt_.relay); })
            return fragmenter_.unacknowledged(opt_.relay) == 0 ||
                   fragmenter_.unacknowledged(opt_.relay) < fragmenter_.window(opt_.relay);
        else
            return true;
    }

    /// Bytes sent to the relay that it has not acknowledged yet (0 without flow control): what a
    /// close would lose. It falls to 0 as ACKs arrive, or as the repair cache gives them up.
    std::size_t unacknowledged() const noexcept
    {
        if constexpr (requires { fragmenter_.unacknowledged(opt_.relay); })
            return fragmenter_.unacknowledged(opt_.relay);
        else
            return 0;
    }

    /// Pops the oldest unread event; false when there is none.
    bool poll_event(client_event& ev)
    {
        if (events_.empty())
            return false;
        ev = std::move(events_.front());
        events_.pop_front();
        return true;
    }

    state current_state() const noexcept { return state_; }
    /// The relay's unicast address once it answered.
    std::optional<endpoint> relay_address() const noexcept { return relay_source_; }
    const client_counters& counters() const noexcept { return counters_; }
    /// Lets a driver count what happens outside the engine (send retries and failures).
    void note(client_counter c, std::uint64_t n = 1) noexcept { counters_.add(c, n); }
    /// Lets a driver add a relay trusted meanwhile (e.g. another client wrote the known-relays file).
    crypto::relay_trust& trust() noexcept { return opt_.trust; }
    const Cipher& cipher() const noexcept { return cipher_; }
    const typename Cipher::client_session& session() const noexcept { return session_; }
    const Fragmenter& fragmenter() const noexcept { return fragmenter_; }
    /// The reassembly of large messages from other senders (its gauges and counters).
    const large_reassembler& large_reassembly() const noexcept { return large_rx_; }

private:
    // Whether the Cipher has a handshake under way (a Cipher that cannot say has none).
    bool handshake_under_way() const noexcept
    {
        if constexpr (requires { cipher_.handshaking(session_); })
            return cipher_.handshaking(session_);
        else
            return false;
    }

    // Counts the datagrams a public entry point appended, whatever path appended them.
    struct count_out {
        client_counters& c;
        const datagram_batch& out;
        std::size_t before = out.size();
        ~count_out() { c.add(client_counter::datagrams_out, out.size() - before); }
    };

    // Flow control: false and would_block when the window to the relay is full (counted).
    bool check_window(std::error_code& ec)
    {
        if constexpr (requires { fragmenter_.writable(opt_.relay); }) {
            if (!fragmenter_.writable(opt_.relay)) {
                counters_.add(client_counter::window_full);
                ec = errc::would_block;
                return false;
            }
        }
        return true;
    }

    static bool is_record(const wire::tlv& t) noexcept
    {
        if constexpr (Cipher::has_record_layer)
            return t.type() == Cipher::record_type;
        else
            return false;
    }

    void push_event(client_event ev)
    {
        if (events_.size() >= opt_.max_events) {
            events_.pop_front();
            counters_.add(client_counter::events_dropped);
        }
        events_.push_back(std::move(ev));
    }

    // ---- inbound (impl/client_inbound.hpp) ----

    void handle_datagram(const endpoint& from, std::span<const std::byte> datagram, time_point now, datagram_batch& out);

    // An inner TLV: from inside a record, or outer without a record layer, or a reassembled blob.
    void dispatch(const endpoint& from, const wire::tlv& t, time_point now, datagram_batch& out, bool reassembled);

    void on_reassembled(const endpoint& from, time_point now, datagram_batch& out);

    // A blob the relay forwarded outside records, whole or in bare FRAGMENTs. Bare FRAGMENTs are
    // reassembled under the relay's address without its port (no UDP sender has port 0), apart
    // from those that came in records: an unauthenticated fragment never completes a blob that
    // the record layer vouches for. Only messages come this way. The Fragmenter's answers to them
    // (addressed to that key, which no socket can reach) go to the relay, inside records.
    void forwarded(const endpoint& from, const wire::tlv& t, time_point now, datagram_batch& out);

    void to_cipher(const endpoint& from, const wire::tlv& t, time_point now, datagram_batch& out);

    void to_cipher_forwarded(const wire::tlv& t, time_point now);
    // The forwarded blob completed in reassembled_, to the Cipher as forwarded.
    void forwarded_blob(time_point now);
    // The rest of a blob that carried several messages (Cipher::poll_message).
    void poll_messages(time_point now);
    // Fragmenter output addressed to a key without a port goes to the relay.
    void to_relay(datagram_batch& b) const noexcept;
    // Messages a queuing Fragmenter completed (a repair can release several) and the gaps it gave up.
    void drain_fragmenter(time_point now, datagram_batch& out);

    void on_message(const crypto::received& r, time_point now);
    // send_large's work (impl/client_large.hpp; defined unconstrained: a constrained out-of-line
    // member definition is one that clang 14 cannot match to its declaration).
    std::size_t send_parts(std::span<const std::byte> message, time_point now, datagram_batch& out,
                           std::error_code& ec);
    // One part of a large message (r.part): to large_rx_, a message event when it completes.
    void on_part(const crypto::received& r, time_point now);
    // large_rx_'s timeouts and a departed peer's partial message, counted in large_dropped.
    void large_timer(time_point now);
    void large_forget(const endpoint& peer);
    void count_large(std::uint64_t dropped_before);

    void count_cipher_error(const std::error_code& ec);

    // ---- registration and the outbound pipeline (impl/client_registration.hpp) ----

    void send_hello(time_point now, datagram_batch& out);

    void on_established(const endpoint& from, const crypto::received& r, time_point now, datagram_batch& out);

    // The join message. A Cipher whose relay cannot acknowledge a join declares
    // `Cipher::join_repeat` (a crypto::retransmit_schedule): its datagrams are kept and sent again
    // byte for byte on that schedule (repeat_join, from on_timer), as a relay that got them once
    // drops the copies. Only without a record layer: a repeated record is a replay.
    void send_join(time_point now, datagram_batch& out);
    void repeat_join(time_point now, datagram_batch& out);

    // A relay proved an identity that the trust settings or the current session refuse. The
    // datagram is dropped (a forged hello must not end a session); the user is told.
    void on_refused(const endpoint& from, const crypto::received& r);

    // The outbound pipeline: seal -> split -> protect. Without a record layer the Fragmenter
    // splits straight into `out` (no copy).
    void send_message(crypto::message_kind kind, std::span<const std::byte> message, time_point now,
                      datagram_batch& out, std::error_code& ec);
    // split -> protect of `blob` (blob_, or a blob sealed ahead).
    void send_blob(std::span<const std::byte> blob, time_point now, datagram_batch& out, std::error_code& ec);

    // A Cipher with blobs of its own to send (a group profile's commits) offers
    // poll_output(session, blob); one with things to report offers poll_notice(session, received).
    // Both are drained after every engine call that may have produced them.
    void drain_cipher(time_point now, datagram_batch& out);
    void on_notice(const crypto::received& r);

    void send_control(wire::tlv_type type, datagram_batch& out);

    void protect_all(const datagram_batch& inner, datagram_batch& out);

    [[no_unique_address]] Cipher cipher_;
    [[no_unique_address]] Fragmenter fragmenter_;
    client_options opt_;
    typename Cipher::client_session session_{};
    state state_ = state::idle;
    unsigned attempts_ = 0;
    time_point deadline_{}, next_keepalive_{}, next_probe_{}, last_heard_{};
    bool relay_lost_ = false;
    std::optional<endpoint> relay_source_;
    std::optional<crypto::fingerprint> refused_identity_;
    std::deque<client_event> events_;
    client_counters counters_;
    // Reused buffers: no allocation per datagram once they have grown.
    std::vector<std::byte> blob_, text_, scratch_, record_, reassembled_;
    datagram_batch split_;
    datagram_batch join_flight_; // the last join's datagrams (Cipher::join_repeat)
    crypto::retransmit_timer join_timer_;
    // Large messages: the one being sent (its id, size and what left), and reassembly.
    struct large_send {
        bool active = false;
        std::uint32_t id = 0;
        std::size_t size = 0, offset = 0;
    } large_tx_;
    std::uint32_t large_ids_ = 0;
    large_reassembler large_rx_;
    std::string large_done_;
};

} // namespace tlvcast::core

#include <tlvcast/core/impl/client_inbound.hpp>
#include <tlvcast/core/impl/client_registration.hpp>
#include <tlvcast/core/impl/client_timers.hpp>
#include <tlvcast/core/impl/client_large.hpp>
#include <tlvcast/core/impl/client_outbound.hpp>
