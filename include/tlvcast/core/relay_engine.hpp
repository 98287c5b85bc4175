// relay_engine: the relay's protocol state machine, without I/O; thread-safe, public-key work unlocked.
#pragma once

#include <tlvcast/core/client_engine.hpp>
#include <tlvcast/core/events.hpp>
#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/fragment/concepts.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tlvcast::core {

/// The relay's settings; defaults follow the seed profile.
struct relay_options {
    duration client_timeout = 15s;  ///< silence after which a client is gone (3 keep-alive periods)
    std::size_t max_clients = 4096; ///< registrations beyond this are refused and counted
};

/// The relay's protocol engine over a Cipher (relay side) and a Fragmenter (reassembly).
/// Every member may be called from several threads at once: the peer table and the fragmenter sit
/// behind one mutex, held only for table work; opening a message and sealing it for each
/// recipient (the public-key work of the seed profile) run outside it, in parallel. handle() is
/// receive() (cheap) followed by deliver() (expensive) for drivers that keep them apart.
/// Outputs go to the caller's batch and event list, so each thread uses its own.
template <class Cipher, class Fragmenter>
class relay_engine {
    static_assert(crypto::relay_cipher<Cipher>,
                  "Cipher does not model tlvcast::crypto::relay_cipher (see crypto/concepts.hpp)");
    static_assert(fragment::fragmenter<Fragmenter>,
                  "Fragmenter does not model tlvcast::fragment::fragmenter (see fragment/concepts.hpp)");

public:
    using session_type = typename Cipher::peer_session;

    relay_engine(Cipher cipher, Fragmenter fragmenter, relay_options options = {})
        : cipher_(std::move(cipher)), fragmenter_(std::move(fragmenter)), opt_(options)
    {
    }

    /// A message that finished reassembly and waits to be opened and relayed (see receive()).
    struct inbound {
        endpoint from;
        std::shared_ptr<session_type> session;
        std::vector<std::byte> message; ///< reused between calls: keep one per thread
    };

    /// Handles one datagram from `from`: all of it (receive(), then deliver() when it completed a message).
    void handle(const endpoint& from, std::span<const std::byte> datagram, time_point now, datagram_batch& out,
                std::vector<relay_event>& events)
    {
        thread_local inbound job;
        if (receive(from, datagram, now, out, events, job))
            deliver(job, now, out, events);
    }

    /// The cheap stage: parsing, handshakes, keep-alives, record authentication and reassembly.
    /// Returns true when the datagram completed a message, left in `job` for deliver(). A driver
    /// runs this where datagrams arrive and hands only completed messages to its workers.
    bool receive(const endpoint& from, std::span<const std::byte> datagram, time_point now, datagram_batch& out,
                 std::vector<relay_event>& events, inbound& job)
    {
        const std::size_t before = out.size();
        counters_.add(relay_counter::datagrams_in);
        counters_.add(relay_counter::bytes_in, datagram.size());
        std::error_code ec;
        wire::tlv t = wire::read_outer(datagram, ec);
        bool complete = false;
        if (ec) {
            counters_.add(relay_counter::malformed);
        } else if (auto origin_ec = wire::check_origin(t, wire::origin::client)) {
            if (!try_handshake(from, t, now, out, events))
                counters_.add(origin_ec == errc::unknown_type ? relay_counter::unknown_type
                                                              : relay_counter::unexpected_type);
        } else if (is_record(t)) {
            complete = receive_record(from, t, now, job);
        } else if (!try_handshake(from, t, now, out, events)) {
            // With a record layer, FRAGMENT and KEEPALIVE count only inside authenticated records.
            if constexpr (Cipher::has_record_layer)
                counters_.add(relay_counter::unexpected_type);
            else
                complete = receive_record(from, t, now, job);
        }
        count_out(out, before);
        return complete;
    }

    /// The expensive stage: opens a completed message (the seed profile's private-key work) and
    /// seals it for every other client, or handles CONNECT / DISCONNECT. Thread-safe: run it on
    /// as many threads as there are cores.
    void deliver(inbound& job, time_point now, datagram_batch& out, std::vector<relay_event>& events)
    {
        const std::size_t before = out.size();
        deliver_message(job, now, out, events);
        count_out(out, before);
    }

    /// Times out silent clients (presence to the others) and stale partial messages.
    void on_timer(time_point now, datagram_batch& out, std::vector<relay_event>& events)
    {
        const std::size_t before = out.size();
        std::vector<recipient> gone;
        {
            std::lock_guard lock(mu_);
            for (auto it = peers_.begin(); it != peers_.end();) {
                if (now - it->second.last_seen >= opt_.client_timeout) {
                    // Only peers that announced themselves are announced gone: a registration
                    // flood that times out must not turn into a presence storm.
                    if (it->second.connected)
                        gone.emplace_back(it->first, it->second.session);
                    else
                        counters_.add(relay_counter::timeouts);
                    fragmenter_.forget(it->first);
                    it = peers_.erase(it);
                } else {
                    ++it;
                }
            }
            fragmenter_.on_timer(now, out);
        }
        for (const auto& [who, session] : gone) {
            counters_.add(relay_counter::timeouts);
            events.push_back({relay_event::kind::timeout, who, 0, cipher_.identity(*session)});
            announce(who, session.get(), false, out);
        }
        count_out(out, before);
    }

    /// When on_timer() next has work (client timeouts are checked at a quarter of their period).
    time_point next_timer() const
    {
        std::lock_guard lock(mu_);
        time_point t = fragmenter_.next_timer();
        for (const auto& [ep, p] : peers_)
            t = std::min(t, p.last_seen + opt_.client_timeout);
        return t;
    }

    std::size_t client_count() const
    {
        std::lock_guard lock(mu_);
        return peers_.size();
    }
    const relay_counters& counters() const noexcept { return counters_; }
    /// Lets a driver count what happens outside the engine (overload drops, failed sends).
    void note(relay_counter c, std::uint64_t n = 1) noexcept { counters_.add(c, n); }
    /// The fragmenter's own counters (read under the relay's lock).
    auto fragmenter_stats() const
    {
        std::lock_guard lock(mu_);
        return fragmenter_.stats();
    }
    const Cipher& cipher() const noexcept { return cipher_; }

private:
    struct peer {
        std::shared_ptr<session_type> session;
        time_point last_seen;
        bool connected = false;
    };
    using recipient = std::pair<endpoint, std::shared_ptr<session_type>>;

    void count_out(const datagram_batch& out, std::size_t before)
    {
        counters_.add(relay_counter::datagrams_out, out.size() - before);
        for (std::size_t i = before; i < out.size(); ++i)
            counters_.add(relay_counter::bytes_out, out[i].bytes.size());
    }

    static bool is_record(const wire::tlv& t) noexcept
    {
        if constexpr (Cipher::has_record_layer)
            return t.type() == Cipher::record_type;
        else
            return false;
    }

    bool try_handshake(const endpoint& from, const wire::tlv& t, time_point now, datagram_batch& out,
                       std::vector<relay_event>& events)
    {
        std::optional<session_type> registered;
        std::error_code ec;
        std::lock_guard lock(mu_);
        const auto known = peers_.find(from);
        const session_type* current = known != peers_.end() ? known->second.session.get() : nullptr;
        const std::size_t mark = out.size();
        const std::size_t byte_mark = out.mark();
        if (!cipher_.relay_handshake(from, t, now, out, current, registered, ec))
            return false;
        if (ec) {
            counters_.add(relay_counter::handshake_errors);
            return true;
        }
        if (registered) {
            auto it = peers_.find(from);
            if (it == peers_.end()) {
                if (peers_.size() >= opt_.max_clients) {
                    // Take back the cipher's answer: the client must not believe it registered.
                    out.truncate(mark, byte_mark);
                    counters_.add(relay_counter::clients_full);
                    return true;
                }
                it = peers_.emplace(from, peer{}).first;
                counters_.add(relay_counter::registrations);
                events.push_back({relay_event::kind::registered, from, 0, cipher_.identity(*registered)});
            }
            // A new session object: sealing threads still holding the old one finish with it.
            it->second.session = std::make_shared<session_type>(std::move(*registered));
            it->second.last_seen = now;
        } else if (auto it = peers_.find(from); it != peers_.end()) {
            it->second.last_seen = now;
        }
        return true;
    }

    // Authenticates (with a record layer) and reassembles; true when `job` holds a whole message.
    bool receive_record(const endpoint& from, const wire::tlv& outer, time_point now, inbound& job)
    {
        thread_local std::vector<std::byte> record;
        std::shared_ptr<session_type> session;
        wire::tlv t = outer;
        {
            std::lock_guard lock(mu_);
            auto it = peers_.find(from);
            if (it == peers_.end()) {
                counters_.add(relay_counter::unregistered);
                return false;
            }
            session = it->second.session;
        }
        if constexpr (Cipher::has_record_layer) {
            // Authenticate before anything else touches state: forgeries cost symmetric work only.
            std::error_code ec;
            cipher_.unprotect(*session, outer.value, record, ec);
            if (ec) {
                counters_.add(relay_counter::undecryptable);
                return false;
            }
            t = wire::read_outer(record, ec);
            if (ec) {
                counters_.add(relay_counter::malformed);
                return false;
            }
        }
        bool complete = false;
        std::error_code ec;
        {
            std::lock_guard lock(mu_);
            auto it = peers_.find(from);
            if (it == peers_.end()) { // left meanwhile
                counters_.add(relay_counter::unregistered);
                return false;
            }
            it->second.last_seen = now;
            if (t.type() == wire::tlv_type::keepalive)
                return false;
            if (t.type() != wire::tlv_type::fragment) {
                counters_.add(relay_counter::unexpected_type);
                return false;
            }
            complete = fragmenter_.reassemble(from, t.value, now, job.message, ec);
        }
        if (ec)
            counters_.add(relay_counter::reassembly_dropped);
        if (complete) {
            job.from = from;
            job.session = std::move(session);
        }
        return complete;
    }

    void deliver_message(inbound& job, time_point, datagram_batch& out, std::vector<relay_event>& events)
    {
        thread_local std::vector<std::byte> plaintext;
        const endpoint from = job.from;
        const std::shared_ptr<session_type> session = std::move(job.session);
        std::error_code ec;
        cipher_.open(*session, job.message, plaintext, ec);
        if (ec) {
            counters_.add(relay_counter::undecryptable);
            return;
        }
        counters_.add(relay_counter::messages_in);
        const std::string_view text(reinterpret_cast<const char*>(plaintext.data()), plaintext.size());
        if (text == connect_text) {
            {
                std::lock_guard lock(mu_);
                if (auto it = peers_.find(from); it != peers_.end())
                    it->second.connected = true;
            }
            events.push_back({relay_event::kind::connected, from, 0, cipher_.identity(*session)});
            announce(from, session.get(), true, out);
        } else if (text == disconnect_text) {
            {
                std::lock_guard lock(mu_);
                peers_.erase(from);
                fragmenter_.forget(from);
            }
            events.push_back({relay_event::kind::disconnected, from, 0, cipher_.identity(*session)});
            announce(from, session.get(), false, out);
        } else {
            events.push_back({relay_event::kind::message, from, plaintext.size(), cipher_.identity(*session)});
            thread_local std::vector<recipient> to;
            recipients(from, to);
            for (auto& [ep, s] : to) {
                cipher_.seal_relayed(*s, *session, from, plaintext, ep, out, ec);
                counters_.add(ec ? relay_counter::send_errors : relay_counter::messages_relayed);
            }
            to.clear();
        }
    }

    // Every registered client but `except`, with a reference on its session (copied under the lock).
    void recipients(const endpoint& except, std::vector<recipient>& to) const
    {
        to.clear();
        std::lock_guard lock(mu_);
        to.reserve(peers_.size());
        for (const auto& [ep, p] : peers_)
            if (ep != except)
                to.emplace_back(ep, p.session);
    }

    void announce(const endpoint& about, const session_type* about_session, bool connected, datagram_batch& out)
    {
        thread_local std::vector<recipient> to;
        recipients(about, to);
        std::error_code ec;
        for (auto& [ep, s] : to) {
            cipher_.presence(*s, connected, about_session, about, ep, out, ec);
            counters_.add(ec ? relay_counter::send_errors : relay_counter::presence_sent);
        }
        to.clear();
    }

    Cipher cipher_;
    mutable std::mutex mu_;
    Fragmenter fragmenter_;                     // guarded by mu_
    std::unordered_map<endpoint, peer> peers_;  // guarded by mu_
    relay_options opt_;
    relay_counters counters_;
};

} // namespace tlvcast::core
