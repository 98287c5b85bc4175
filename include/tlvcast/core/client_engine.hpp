// client_engine: the client's protocol state machine, without I/O (time and datagrams are inputs).
#pragma once

#include <tlvcast/core/events.hpp>
#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/fragment/concepts.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tlvcast::core {

using namespace std::chrono_literals;

/// The client's settings; every default is the seed profile's.
struct client_options {
    endpoint relay{0xe0010101u, 5007};      ///< where datagrams go: the group 224.1.1.1:5007
    duration register_timeout = 5s;         ///< wait for the relay's answer, per attempt
    unsigned register_attempts = 3;         ///< then registration fails with errc::no_relay
    duration keepalive = 5s;                ///< KEEPALIVE period
    duration probe_interval = 15s;          ///< re-announce the key and ask the relay's (detects a restarted relay)
    duration relay_timeout = 45s;           ///< no answer for this long: relay_lost
    std::size_t max_message = 48'450;       ///< the seed profile's largest relayed text
    std::size_t max_events = 4096;          ///< unread events kept; older ones are dropped and counted
};

/// The seed profile's control texts, sent as ordinary sealed messages.
inline constexpr std::string_view connect_text = "CONNECT";
inline constexpr std::string_view disconnect_text = "DISCONNECT";

/// One client's protocol engine over a Cipher (client side) and a Fragmenter. It never does I/O:
/// feed it datagrams (handle), the time (on_timer at next_timer()), and user requests (send,
/// close); it appends datagrams to send to a batch and queues events (poll_event).
/// Not thread-safe: drive it from one thread or strand.
template <class Cipher, class Fragmenter>
class client_engine {
    static_assert(crypto::client_cipher<Cipher>,
                  "Cipher does not model tlvcast::crypto::client_cipher (see crypto/concepts.hpp)");
    static_assert(fragment::fragmenter<Fragmenter>,
                  "Fragmenter does not model tlvcast::fragment::fragmenter (see fragment/concepts.hpp)");

public:
    enum class state { idle, registering, established, failed, closed };

    client_engine(Cipher cipher, Fragmenter fragmenter, client_options options = {})
        : cipher_(std::move(cipher)), fragmenter_(std::move(fragmenter)), opt_(options)
    {
    }

    /// Starts registration: appends the profile's handshake datagrams to `out`.
    void start(time_point now, datagram_batch& out)
    {
        const count_out counting{counters_, out};
        if (state_ != state::idle)
            return;
        state_ = state::registering;
        attempts_ = 0;
        send_hello(now, out);
    }

    /// Handles one datagram from `from`; may append datagrams (CONNECT after registration) and queue events.
    void handle(const endpoint& from, std::span<const std::byte> datagram, time_point now, datagram_batch& out)
    {
        const count_out counting{counters_, out};
        counters_.add(client_counter::datagrams_in);
        if (state_ == state::closed || state_ == state::idle)
            return;
        // Once a relay answered, only its address is trusted to speak for it.
        if (relay_source_ && from != *relay_source_ && state_ == state::established) {
            counters_.add(client_counter::from_stranger);
            return;
        }
        handle_tlvs(from, datagram, now, out, /*depth=*/0);
    }

    /// Runs what is due at `now`: registration retries, keep-alives, probes, reassembly timeouts.
    void on_timer(time_point now, datagram_batch& out)
    {
        const count_out counting{counters_, out};
        if (state_ == state::registering && now >= deadline_) {
            if (attempts_ < opt_.register_attempts) {
                send_hello(now, out);
            } else {
                state_ = state::failed;
                push_event({client_event::kind::failed, opt_.relay, {}, {}, errc::no_relay});
            }
        }
        if (state_ == state::established) {
            if (now >= next_keepalive_) {
                send_control(wire::tlv_type::keepalive, out);
                next_keepalive_ = now + opt_.keepalive;
            }
            if (now >= next_probe_) {
                cipher_.start_session(session_, opt_.relay, now, out);
                        next_probe_ = now + opt_.probe_interval;
            }
            if (!relay_lost_ && now - last_heard_ >= opt_.relay_timeout) {
                relay_lost_ = true;
                push_event({client_event::kind::relay_lost, relay_source_.value_or(opt_.relay), {}, {}, {}});
            }
        }
        fragmenter_.on_timer(now, out);
    }

    /// The next time on_timer() has work, or no_timer.
    time_point next_timer() const
    {
        time_point t = fragmenter_.next_timer();
        if (state_ == state::registering)
            t = std::min(t, deadline_);
        if (state_ == state::established) {
            t = std::min({t, next_keepalive_, next_probe_});
            if (!relay_lost_)
                t = std::min(t, last_heard_ + opt_.relay_timeout);
        }
        return t;
    }

    /// Seals and fragments one message to the relay. Errors: not_ready (not registered),
    /// message_too_large, reserved_text ("CONNECT"/"DISCONNECT"), and the cipher's.
    void send(std::span<const std::byte> message, time_point now, datagram_batch& out, std::error_code& ec)
    {
        const count_out counting{counters_, out};
        ec = {};
        if (state_ != state::established) {
            ec = state_ == state::closed ? errc::shut_down : errc::not_ready;
            return;
        }
        if (message.size() > opt_.max_message) {
            ec = errc::message_too_large;
            return;
        }
        if (is_reserved(message)) {
            ec = errc::reserved_text;
            return;
        }
        send_sealed(message, now, out, ec);
        if (!ec)
            counters_.add(client_counter::messages_sent);
    }

    /// Announces departure (DISCONNECT) when registered, then stops: later input is ignored.
    void close(time_point now, datagram_batch& out)
    {
        const count_out counting{counters_, out};
        if (state_ == state::established) {
            std::error_code ec;
            send_sealed(wire::as_bytes(disconnect_text), now, out, ec);
        }
        state_ = state::closed;
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
    const Cipher& cipher() const noexcept { return cipher_; }
    const typename Cipher::client_session& session() const noexcept { return session_; }
    const Fragmenter& fragmenter() const noexcept { return fragmenter_; }

private:
    static bool is_reserved(std::span<const std::byte> m)
    {
        const std::string_view s(reinterpret_cast<const char*>(m.data()), m.size());
        return s == connect_text || s == disconnect_text;
    }

    void send_hello(time_point now, datagram_batch& out)
    {
        ++attempts_;
        counters_.add(client_counter::registration_attempts);
        deadline_ = now + opt_.register_timeout;
        cipher_.start_session(session_, opt_.relay, now, out);
    }

    // Counts the datagrams a public entry point appended, whatever path appended them.
    struct count_out {
        client_counters& c;
        const datagram_batch& out;
        std::size_t before = out.size();
        ~count_out() { c.add(client_counter::datagrams_out, out.size() - before); }
    };

    void send_control(wire::tlv_type type, datagram_batch& out)
    {
        std::error_code ec;
        scratch_.clear();
        wire::tlv_appender(scratch_).put(type, {}, ec);
        emit(scratch_, out);
    }

    // Appends one datagram to the relay, through the record layer when the profile has one.
    void emit(std::span<const std::byte> datagram, datagram_batch& out)
    {
        if constexpr (Cipher::has_record_layer) {
            std::error_code ec;
            cipher_.protect(session_, datagram, record_, ec);
            if (ec)
                return;
            out.push(opt_.relay, record_);
        } else {
            out.push(opt_.relay, datagram);
        }
    }

    void send_sealed(std::span<const std::byte> message, time_point, datagram_batch& out, std::error_code& ec)
    {
        cipher_.seal(session_, message, blob_, ec);
        if (ec)
            return;
        if constexpr (Cipher::has_record_layer) {
            split_.clear();
            fragmenter_.split(blob_, opt_.relay, split_, ec);
            for (std::size_t i = 0; !ec && i < split_.size(); ++i)
                emit(split_[i].bytes, out);
        } else {
            fragmenter_.split(blob_, opt_.relay, out, ec);
        }
    }

    // One outer TLV from the relay. Records (with a record layer) and reassembled fragments carry
    // one more TLV inside; depth bounds that nesting.
    void handle_tlvs(const endpoint& from, std::span<const std::byte> bytes, time_point now, datagram_batch& out,
                     int depth)
    {
        std::error_code ec;
        const wire::tlv t = wire::read_outer(bytes, ec);
        if (ec) {
            counters_.add(client_counter::malformed);
            return;
        }
        if (is_record(t)) {
            if constexpr (Cipher::has_record_layer) {
                if (depth > 0) {
                    counters_.add(client_counter::unexpected_type);
                    return;
                }
                std::vector<std::byte> inner;
                inner.swap(record_);
                cipher_.unprotect(session_, t.value, inner, ec);
                if (ec)
                    counters_.add(ec == errc::replayed ? client_counter::duplicates : client_counter::undecryptable);
                else
                    handle_tlvs(from, inner, now, out, depth + 1);
                inner.swap(record_);
            }
            return;
        }
        if (t.type() == wire::tlv_type::fragment) {
            // Fragmented input (the prototype lacked it): the reassembled blob is one relay TLV.
            // Under a record layer, only fragments that came inside a record count.
            constexpr int fragment_depth = Cipher::has_record_layer ? 1 : 0;
            if (depth != fragment_depth) {
                counters_.add(client_counter::unexpected_type);
                return;
            }
            if (!fragmenter_.reassemble(from, t.value, now, reassembled_, ec)) {
                if (ec)
                    counters_.add(client_counter::reassembly_dropped);
                return;
            }
            std::vector<std::byte> blob;
            blob.swap(reassembled_);
            handle_tlvs(from, blob, now, out, depth + 1);
            blob.swap(reassembled_);
            return;
        }
        if (depth == 0) {
            if (auto origin_ec = wire::check_origin(t, wire::origin::relay)) {
                counters_.add(origin_ec == errc::unknown_type ? client_counter::unknown_type
                                                              : client_counter::unexpected_type);
                return;
            }
        }
        const crypto::received r = cipher_.client_receive(session_, t, now, out, text_, ec);
        if (ec == errc::identity_mismatch) {
            // Not the relay we were told to trust: stop before any message is sent to it.
            state_ = state::failed;
            push_event({client_event::kind::failed, from, {}, {}, ec});
            return;
        }
        if (ec) {
            counters_.add(ec == errc::replayed ? client_counter::duplicates
                          : ec == errc::decrypt_failed || ec == errc::authentication_failed ? client_counter::undecryptable
                                                                                            : client_counter::malformed);
            return;
        }
        using k = crypto::received::kind;
        switch (r.what) {
        case k::nothing: return;
        case k::relay_key: on_relay_key(from, r, now, out); return;
        case k::message:
            last_heard_ = now;
            counters_.add(client_counter::messages_received);
            push_event({client_event::kind::message, r.peer,
                        std::string(reinterpret_cast<const char*>(text_.data()), text_.size()), r.identity, {}});
            return;
        case k::peer_connected:
        case k::peer_disconnected:
            last_heard_ = now;
            counters_.add(client_counter::presence_received);
            push_event({r.what == k::peer_connected ? client_event::kind::peer_connected
                                                    : client_event::kind::peer_disconnected,
                        r.peer, {}, r.identity, {}});
            return;
        }
    }

    static bool is_record(const wire::tlv& t) noexcept
    {
        if constexpr (Cipher::has_record_layer)
            return t.type() == Cipher::record_type;
        else
            return false;
    }

    void on_relay_key(const endpoint& from, const crypto::received& r, time_point now, datagram_batch& out)
    {
        last_heard_ = now;
        if (state_ == state::registering) {
            establish(from, r.identity, now, out);
            return;
        }
        if (state_ != state::established)
            return;
        if (r.relay_changed || relay_lost_) {
            // A restarted relay has forgotten us. The probe that got this answer registered us again
            // (the profile's start_session); announce ourselves again, without user action.
            counters_.add(client_counter::re_registrations);
            push_event({client_event::kind::relay_changed, from, {}, r.identity, {}});
            relay_lost_ = false;
            relay_source_ = from;
            std::error_code ec;
            send_sealed(wire::as_bytes(connect_text), now, out, ec);
        }
    }

    void establish(const endpoint& from, const std::optional<crypto::fingerprint>& relay_identity, time_point now,
                   datagram_batch& out)
    {
        state_ = state::established;
        relay_source_ = from;
        relay_lost_ = false;
        next_keepalive_ = now + opt_.keepalive;
        next_probe_ = now + opt_.probe_interval;
        push_event({client_event::kind::registered, from, {}, relay_identity, {}});
        std::error_code ec;
        send_sealed(wire::as_bytes(connect_text), now, out, ec);
    }

    void push_event(client_event ev)
    {
        if (events_.size() >= opt_.max_events) {
            events_.pop_front();
            counters_.add(client_counter::events_dropped);
        }
        events_.push_back(std::move(ev));
    }

    [[no_unique_address]] Cipher cipher_;
    [[no_unique_address]] Fragmenter fragmenter_;
    client_options opt_;
    typename Cipher::client_session session_{};
    state state_ = state::idle;
    unsigned attempts_ = 0;
    time_point deadline_{}, next_keepalive_{}, next_probe_{}, last_heard_{};
    bool relay_lost_ = false;
    std::optional<endpoint> relay_source_;
    std::deque<client_event> events_;
    client_counters counters_;
    // Reused buffers: no allocation per datagram once they have grown.
    std::vector<std::byte> blob_, text_, scratch_, record_, reassembled_;
    datagram_batch split_;
};

} // namespace tlvcast::core
