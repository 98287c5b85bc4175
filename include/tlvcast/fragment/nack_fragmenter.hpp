// SPDX-License-Identifier: BSL-1.0
// The repairing Fragmenter: sequenced streams per destination, receiver NACKs, a bounded repair cache, tails.
#pragma once

#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/fragment/concepts.hpp>
#include <tlvcast/fragment/congestion.hpp>
#include <tlvcast/fragment/detail/repair_rx.hpp>
#include <tlvcast/fragment/detail/repair_tx.hpp>
#include <tlvcast/fragment/detail/slot_ring.hpp>
#include <tlvcast/fragment/fec/concepts.hpp>
#include <tlvcast/fragment/repair_limits.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/wire/fragment_header.hpp>
#include <tlvcast/wire/repair.hpp>
#include <tlvcast/wire/repair_parity.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tlvcast::fragment {

/// A Fragmenter that repairs loss (docs/PROTOCOL.md "Repair"), hop by hop. What an Inner
/// fragmenter splits (FRAGMENTs, or a whole message as one TLV) leaves in REPAIR_DATA datagrams
/// numbered per destination: each destination (a peer, or a multicast group) is one stream with a
/// random 32-bit id and seqs from 0, whose datagrams stay in a bounded cache. A receiver delivers
/// each stream in order and exactly once; a gap is NACKed to the stream's source after a random
/// back-off (receivers of a multicast stream that hear the repair first hold theirs), and again
/// with doubling intervals. The source retransmits to the stream's destination (for a group: once
/// for all, at most once per repair_holdoff) or, for what its cache dropped, sends REPAIR_GONE.
/// REPAIR_TAIL after a burst tells receivers what was sent, so a lost last datagram is NACKed too;
/// receivers of a unicast stream acknowledge what they delivered (REPAIR_ACK), which ends the tails
/// and frees the cache. A gap given up (GONE, or no answer for gap_timeout) is a repair_notice:
/// never a silent loss.
///
/// Messages complete in pop_message() (reassemble()/handle_control() return false), because one
/// repair can release many. Peers are endpoints as the engine names them; an endpoint without a
/// port names an unauthenticated source (a relay's forwarded datagrams outside records): it may
/// send data, tails and GONE marks, never a NACK that makes this instance send.
///
/// With a Parity codec (fec::cm256_codec; docs/PROTOCOL.md "FEC"), each stream is also cut into
/// blocks of limits().fec_k datagrams; fec_r REPAIR_PARITY datagrams follow each block, and a NACK
/// for a closed block is answered with fresh parity. A receiver missing no more of a block than it
/// has parity rebuilds the datagrams without a NACK; a rebuilt datagram takes exactly the path of
/// a received REPAIR_DATA.
///
/// Flow and congestion control (docs/DESIGN.md "Flow and congestion control"): an acknowledged
/// (unicast) stream has a window, the Congestion policy's (aimd_congestion: halved per loss event,
/// a NACK; grown by ACKs), between limits().min_window and send_window. What happens at the window
/// is limits().slow_receiver: a client's stream is not writable() (its engine refuses the send);
/// a relay holds its own ACKs to its senders (hold) or drops the destination from reliability
/// (drop; pop_slow()).
///
/// Not thread-safe: the engine that owns it serialises calls.
template <class Inner = seed_fragmenter, class Parity = fec::no_parity, class Congestion = aimd_congestion>
    requires fragmenter<Inner> && fec::parity_policy<Parity> && congestion_control<Congestion>
class basic_nack_fragmenter {
public:
    using limits_type = repair_limits;
    using stats_type = nack_fragmenter_stats;
    /// A relay splits a forwarded message once per destination (streams are per destination).
    static constexpr bool per_destination = true;
    /// The destination of one stream shared by unicast receivers: a relay splits a forwarded
    /// message to it once and sends each datagram, bare, to each of them (one ciphertext for all,
    /// cached once). Its receivers treat it as a group's stream (no ACKs, group back-off). It is
    /// asker_only from construction: NACKs are answered to the asker alone, since no other
    /// receiver would hear the repair. Nothing can be sent to 224.0.0.0:0: the caller copies
    /// datagrams addressed here to its receivers.
    static constexpr endpoint unicast_fanout{0xe0000000u, 0};

    /// `inner` cuts messages (its fragment size must leave 12 bytes of a datagram for the
    /// REPAIR_DATA header); `seed` draws stream ids and back-offs (reproducible in simulations).
    /// Whether this instance does FEC (a Parity codec).
    static constexpr bool fec = fec::has_parity<Parity>;

    explicit basic_nack_fragmenter(Inner inner = Inner{}, const repair_limits& lim = {},
                                   std::uint64_t seed = detail::random_seed(), Parity parity = Parity{})
        : inner_(std::move(inner)), lim_(lim), rng_(seed), parity_(std::move(parity))
    {
        if (fec && (lim_.fec_k > 255 || lim_.fec_k + lim_.fec_r > 255))
            throw std::invalid_argument("repair_limits: fec_k + fec_r must be at most 255");
        // A zero wait doubles to zero: a gap would be NACKed at every call until gap_timeout.
        if (lim_.repair && !(lim_.min_nack_interval > duration{0} && lim_.min_nack_interval <= lim_.nack_interval &&
              lim_.nack_interval <= lim_.max_nack_interval))
            throw std::invalid_argument("repair_limits: 0 < min_nack_interval <= nack_interval <= max_nack_interval");
    }

    static constexpr bool handles(wire::tlv_type type) noexcept
    {
        return type == wire::tlv_type::repair_data || type == wire::tlv_type::repair_nack ||
               type == wire::tlv_type::repair_tail || type == wire::tlv_type::repair_gone ||
               type == wire::tlv_type::repair_ack || type == wire::tlv_type::repair_start ||
               (fec && type == wire::tlv_type::repair_parity);
    }

    /// Appends `message`'s datagrams to `to`, each in a REPAIR_DATA of `to`'s stream, and caches
    /// them. Errors: the inner fragmenter's (nothing appended).
    void split(std::span<const std::byte> message, const endpoint& to, time_point now, datagram_batch& out,
               std::error_code& ec)
    {
        if (!lim_.repair)
            return inner_.split(message, to, now, out, ec);
        scratch_.clear();
        inner_.split(message, to, now, scratch_, ec);
        if (ec)
            return;
        detail::tx_stream& s = tx_for(to, now);
        for (std::size_t i = 0; i < scratch_.size(); ++i) {
            if (s.next == detail::rx_stream::max_seq) { // a new stream rather than a seq that wraps
                by_id_.erase(s.id);
                total_cache_ -= s.cache_bytes;
                unhold(s);
                open_stream(s, to, now);
            }
            if (s.shed) { // dropped from reliability: sent, numbered, not kept (its NACKs get GONE)
                uncached_.clear();
                wire::append_repair_data(uncached_, s.id, s.next, scratch_[i].bytes, ec);
                if (ec)
                    return;
                out.push(to, uncached_);
                s.acked = ++s.next; // nothing of it will be repaired: not in flight
                ++stats_.data_sent;
                ++stats_.uncached_sent;
                continue;
            }
            detail::tx_stream::cached& c = s.cache.push_back();
            c.seq = s.next;
            c.sent = now;
            c.repaired = time_point::min();
            wire::append_repair_data(c.datagram, s.id, s.next, scratch_[i].bytes, ec);
            if (ec) {
                s.cache.pop_back(); // an inner datagram over 65,527 bytes: a misconfigured inner fragment size
                return;
            }
            out.push(to, c.datagram);
            if (!group_stream(s.id))
                s.in_flight += c.datagram.size();
            s.cache_bytes += c.datagram.size();
            total_cache_ += c.datagram.size();
            ++s.next;
            ++stats_.data_sent;
            if constexpr (fec)
                if (fec_on() && s.next - s.fec.block_first >= lim_.fec_k)
                    close_block(s, now, out);
        }
        std::size_t evicted = 0;
        stats_.cache_evictions += s.evict(now, lim_, evicted);
        total_cache_ -= evicted;
        bound_total_cache();
        if (!group_stream(s.id) && !s.shed)
            check_slow(s, now);
        else if (group_stream(s.id) && lim_.slow_receiver == slow_receiver_policy::hold && group_full(s, now) &&
                 s.over_since == time_point::min()) {
            s.over_since = s.held_since = now;
            ++holding_;
            ++stats_.group_holds;
            wake(std::min(s.cache.front().sent + lim_.group_hold_age, now + lim_.slow_hold_max));
        }
        s.tail_due = now + lim_.tail_interval;
        s.tails_sent = 0;
        ++stats_.messages_split;
        wake(s.tail_due);
    }

    /// A bare FRAGMENT (a peer without repair): the inner fragmenter's reassembly.
    bool reassemble(const endpoint& from, std::span<const std::byte> value, time_point now, datagram_batch& out,
                    std::vector<std::byte>& message, std::error_code& ec)
    {
        return inner_.reassemble(from, value, now, out, message, ec);
    }

    /// REPAIR_DATA, _NACK, _TAIL or _GONE from `from`. Always returns false: messages complete in
    /// pop_message(). Errors (counted drops): malformed, duplicate_fragment, not_registered (a
    /// NACK for no stream of ours, or from a source that may not ask).
    bool handle_control(const endpoint& from, const wire::tlv& t, time_point now, datagram_batch& out,
                        std::vector<std::byte>& message, std::error_code& ec)
    {
        (void)message;
        ec = {};
        if (!lim_.repair) {
            ec = errc::unexpected_type;
            return false;
        }
        switch (t.type()) {
        case wire::tlv_type::repair_data: on_data(from, t.value, now, ec); break;
        case wire::tlv_type::repair_nack: on_nack(from, t.value, now, out, ec); break;
        case wire::tlv_type::repair_ack: on_ack(from, t.value, now, out, ec); break;
        case wire::tlv_type::repair_parity:
            if (fec_on())
                on_parity(from, t.value, now, ec);
            else
                ec = errc::unexpected_type;
            break;
        default: on_mark(from, t, now, ec); break;
        }
        if (ec == errc::malformed || ec == errc::truncated_header)
            ++stats_.malformed;
        return false;
    }

    /// Declares that only one peer listens on `to` even though it is a multicast address (a
    /// client sends to its relay through the relay's group): its stream is acknowledged and its
    /// NACKs are not delayed as a group's are. Call before the first split() to `to`.
    void single_receiver(const endpoint& to) { single_receiver_ = to; }

    /// Declares `to` a destination whose datagrams the caller copies to several receivers that
    /// each NACK for themselves (unicast_fanout is one from construction): its stream's repairs,
    /// and a REPAIR_TAIL, answer a NACK to the asker alone (the returned datagrams are addressed
    /// to it), paid from a repair budget per asker (limits().askers_per_stream of them); a NACK
    /// never re-arms the tails sent to `to`. Takes effect when `to`'s stream next opens.
    void asker_only(const endpoint& to)
    {
        if (std::find(asker_only_.begin(), asker_only_.end(), to) == asker_only_.end())
            asker_only_.push_back(to);
    }

    /// Declares that this receiver gets every group stream by unicast fan-out (its source sends
    /// them to an asker_only() destination, as a group relay does for members that chose unicast
    /// delivery): it hears no other receiver's NACK, and a repair comes to the asker alone, so there
    /// is nothing to suppress. Its group streams' NACKs are then timed as a unicast stream's
    /// (nack_backoff, the measured round trip); they are still not acknowledged (not windowed).
    void unicast_delivery(bool on) noexcept { unicast_delivery_ = on; }

    /// The id of the stream open to `to`, if any (a caller that copies it to several receivers can
    /// tell their NACKs of it from others').
    std::optional<std::uint32_t> stream_id(const endpoint& to) const
    {
        const auto it = tx_.find(to);
        return it == tx_.end() ? std::nullopt : std::optional<std::uint32_t>(it->second.id);
    }

    /// The next message completed, in each stream's order, with the peer it came from.
    bool pop_message(endpoint& from, std::vector<std::byte>& message)
    {
        if (ready_.empty())
            return false;
        from = ready_.front().from;
        message.swap(ready_.front().message); // the caller's old buffer stays here for the next one
        ready_.pop_front();
        return true;
    }

    /// Whether a message to `to` may be split now: false while its acknowledged stream has its
    /// window or more unacknowledged (counted in window_full). Streams to groups, streams not yet
    /// opened and a fragmenter without repair are always writable. A relay's split() never waits.
    bool writable(const endpoint& to) noexcept
    {
        if (!lim_.repair)
            return true;
        const auto it = tx_.find(to);
        if (it == tx_.end() || group_stream(it->second.id) || it->second.in_flight < window_of(it->second))
            return true;
        ++stats_.window_full;
        return false;
    }

    /// Where `receiver`, added now to the group stream to `to`, begins (a relay's member that joins
    /// its shared unicast stream or its data group mid-way): appends the REPAIR_START for that
    /// receiver's records (it then asks for nothing before: nack_receive.hpp, on_mark), and keeps
    /// it: a NACK of `receiver` from seq 0 is answered with it again. False when the stream has sent
    /// nothing yet (the receiver starts at 0 anyway), or without repair.
    bool append_start(const endpoint& to, const endpoint& receiver, std::vector<std::byte>& out)
    {
        const auto it = tx_.find(to);
        if (!lim_.repair || it == tx_.end() || it->second.next == 0 || !group_stream(it->second.id))
            return false;
        detail::tx_stream& s = it->second;
        if (s.starts.size() < lim_.askers_per_stream || s.starts.contains(receiver))
            s.starts[receiver] = s.next;
        wire::append_repair_start(out, s.id, s.next);
        return true;
    }

    /// Bytes sent to `to` and not yet acknowledged (0 for a group, or no stream).
    std::size_t unacknowledged(const endpoint& to) const noexcept
    {
        const auto it = tx_.find(to);
        return it == tx_.end() ? 0 : it->second.in_flight;
    }

    /// The current window of the stream to `to` (the Congestion policy's; 0 for no stream or a group).
    std::size_t window(const endpoint& to) const noexcept
    {
        const auto it = tx_.find(to);
        return it == tx_.end() || group_stream(it->second.id) ? 0 : window_of(it->second);
    }

    /// The next destination dropped from reliability (slow_receiver hold or drop).
    bool pop_slow(slow_notice& n)
    {
        if (slow_.empty())
            return false;
        n = slow_.front();
        slow_.pop_front();
        return true;
    }

    /// Destinations over their window under the hold policy (ACKs are withheld while any is).
    std::size_t holding() const noexcept { return holding_; }

    /// The next gap given up.
    bool pop_notice(repair_notice& n)
    {
        if (notices_.empty())
            return false;
        n = notices_.front();
        notices_.pop_front();
        return true;
    }

    /// NACKs due, gaps given up, tails, cache evictions, idle streams, the inner reassembler's timeouts.
    void on_timer(time_point now, datagram_batch& out);

    time_point next_timer() const noexcept { return std::min(next_, inner_.next_timer()); }

    /// Forgets every stream to and from `peer`.
    void forget(const endpoint& peer);


    stats_type stats() const noexcept
    {
        stats_type s = stats_;
        s.reassembly = inner_.stats().reassembly;
        return s;
    }

    const repair_limits& limits() const noexcept { return lim_; }
    const Inner& inner() const noexcept { return inner_; }
    /// Streams held (gauges): to destinations, from sources.
    std::size_t tx_streams() const noexcept { return tx_.size(); }
    std::size_t rx_streams() const noexcept { return rx_.size(); }
    /// Bytes held for repair and ahead of gaps.
    std::size_t buffered_bytes() const noexcept { return total_cache_ + total_held_ + total_fec_; }

private:
    /// A stream heard: its source as the engine named it (without a port for a group's stream),
    /// and its id.
    using rx_key = std::pair<endpoint, std::uint32_t>;
    using tx_map = std::unordered_map<endpoint, detail::tx_stream>;

    // Receiving (impl/nack_receive.hpp).
    rx_key key_of(const endpoint& from, std::uint32_t id) const noexcept;
    detail::rx_stream* rx_for(const rx_key& key, time_point now, bool create);
    void remember_evicted(const rx_key& key, const detail::rx_stream& s);
    void on_data(const endpoint& from, std::span<const std::byte> value, time_point now, std::error_code& ec);
    void on_mark(const endpoint& from, const wire::tlv& t, time_point now, std::error_code& ec);
    void deliver(const endpoint& source, detail::rx_stream& s, std::uint32_t seq, std::span<const std::byte> datagram,
                 time_point now);
    void drain(const endpoint& source, detail::rx_stream& s, time_point now);
    static bool is_fragment_datagram(std::span<const std::byte> datagram) noexcept;
    void push_ready(const endpoint& source, std::span<const std::byte> message);
    void give_up(const endpoint& source, detail::rx_stream& s, std::uint32_t end, time_point now);
    // The message `s` was in the middle of can no longer complete: its fragments leave the inner
    // reassembler now (with an Inner that forgets one message; else give_up forgets the source).
    void cut_partial(const endpoint& source, detail::rx_stream& s);
    void nack(const rx_key& key, detail::rx_stream& s, time_point now, datagram_batch& out);
    void rx_timer(const rx_key& key, detail::rx_stream& s, time_point now, datagram_batch& out);

    // Sending (impl/nack_send.hpp).
    detail::tx_stream& tx_for(const endpoint& to, time_point now);
    void open_stream(detail::tx_stream& s, const endpoint& to, time_point now); // a new id, seq 0
    void erase_tx(typename tx_map::iterator it);
    void bound_total_cache();
    detail::tx_stream* tx_by_id(std::uint32_t id, const endpoint& from);
    void on_nack(const endpoint& from, std::span<const std::byte> value, time_point now, datagram_batch& out,
                 std::error_code& ec);
    std::uint32_t message_start(detail::tx_stream& s, std::uint32_t seq);
    void on_ack(const endpoint& from, std::span<const std::byte> value, time_point now, datagram_batch& out,
                std::error_code& ec);
    /// REPAIR_GONEs of what a shed released, sent with that many of the destination's next ACKs,
    /// within gone_window of the first: a receiver that forgot the stream later and hears it anew
    /// past backfill must not take them for its own loss.
    static constexpr unsigned gone_reminders = 8;
    static constexpr duration gone_window = std::chrono::seconds(1);
    // Flow control (impl/nack_flow.hpp).
    std::size_t window_of(const detail::tx_stream& s) const noexcept { return congestion_.window(s.flow, lim_); }
    void check_slow(detail::tx_stream& s, time_point now);
    void shed(detail::tx_stream& s, bool held);
    void unhold(detail::tx_stream& s) noexcept;
    void flow_timer(detail::tx_stream& s, time_point now);
    /// A group's stream whose cache is nearly full of datagrams younger than group_hold_age.
    bool group_full(const detail::tx_stream& s, time_point now) const noexcept
    {
        return !s.cache.empty() && s.cache_bytes + lim_.send_window >= lim_.cache_bytes &&
               now - s.cache.front().sent < lim_.group_hold_age;
    }
    bool acks_held() const noexcept { return holding_ > 0; }
    void tx_timer(detail::tx_stream& s, time_point now, datagram_batch& out);

    // FEC (impl/nack_fec.hpp; a Parity codec only).
    void close_block(detail::tx_stream& s, time_point now, datagram_batch& out);
    void send_parity(detail::tx_stream& s, fec::detail::tx_block& b, unsigned n, datagram_batch& out);
    std::size_t answer_with_parity(detail::tx_stream& s, time_point now, datagram_batch& out);
    void on_parity(const endpoint& from, std::span<const std::byte> value, time_point now, std::error_code& ec);
    void try_recover(const endpoint& from, std::uint32_t id, detail::rx_stream& s, time_point now);
    void keep_recent(detail::rx_stream& s, std::uint32_t seq, std::vector<std::byte>&& datagram);
    void release_fec(detail::rx_stream& s) noexcept { total_fec_ -= s.fec.bytes(); }

    bool group_destination(const endpoint& to) const noexcept
    {
        return to.is_multicast() && !(single_receiver_ && *single_receiver_ == to);
    }
    std::uint32_t fresh_id(const endpoint& to)
    {
        std::uint32_t id;
        do
            id = (static_cast<std::uint32_t>(rng_()) & 0x3fffffffu) | (group_destination(to) ? 0x80000000u : 0u) |
                 (fec_stream() ? fec_stream_bit : 0u);
        while (by_id_.contains(id));
        return id;
    }
    /// Stream ids of multicast destinations have the top bit set: their receivers back off longer.
    static bool group_stream(std::uint32_t id) noexcept { return (id & 0x80000000u) != 0; }
    /// Stream ids of streams that carry proactive parity have bit 30 set: their receivers give the
    /// parity closing a block fec_wait before a first NACK.
    static constexpr std::uint32_t fec_stream_bit = 0x40000000u;
    bool fec_stream() const noexcept { return fec_on() && lim_.fec_r > 0; }
    /// FEC at run time: a Parity codec and fec_k > 0 (0 turns it off both ways: no blocks, no
    /// datagrams kept to decode with, REPAIR_PARITY refused).
    bool fec_on() const noexcept { return fec && lim_.fec_k > 0; }
    /// Whether a received stream's NACKs wait for other receivers' (a group's heard by multicast).
    bool group_timing(std::uint32_t id) const noexcept { return group_stream(id) && !unicast_delivery_; }
    duration backoff(std::uint32_t id)
    {
        // At least one tick: a NACK is never due at the instant the gap opened (the timer then
        // always lies ahead of the call that armed it).
        const auto span = (group_timing(id) ? lim_.group_nack_backoff : lim_.nack_backoff).count();
        return duration{1 + (span <= 1 ? 0 : static_cast<duration::rep>(rng_() % static_cast<std::uint64_t>(span)))};
    }
    void wake(time_point t) noexcept { next_ = std::min(next_, t); }
    /// A gap's first NACK waits longer on a stream that carries parity (its block may close first).
    duration gap_backoff(std::uint32_t id)
    {
        return backoff(id) + (fec && (id & fec_stream_bit) != 0 ? lim_.fec_wait : duration{0});
    }


    Inner inner_;
    repair_limits lim_;
    std::mt19937_64 rng_;
    [[no_unique_address]] Parity parity_;
    [[no_unique_address]] Congestion congestion_;
    std::deque<slow_notice> slow_;               ///< drained by the engine after every call
    std::vector<std::byte> uncached_;            ///< a REPAIR_DATA to a dropped destination
    std::size_t holding_ = 0;                    ///< streams over their window (hold)
    std::vector<std::byte> symbols_;             ///< a block's symbols, encoded or decoded (FEC)
    std::vector<const std::byte*> symbol_ptrs_;
    std::vector<fec::symbol> decode_;
    std::vector<std::byte> rebuilt_;             ///< a rebuilt REPAIR_DATA value
    std::size_t total_fec_ = 0;                  ///< FEC bytes of all rx streams (fec_total_bytes)
    bool recovering_ = false;                    ///< inside try_recover: rebuilt data does not recurse
    tx_map tx_;
    std::unordered_map<std::uint32_t, endpoint> by_id_;
    std::map<rx_key, detail::rx_stream> rx_;
    /// What an evicted stream had delivered (rx_for): `next`, and the seqs past it delivered early.
    /// At most max_streams of them (the oldest goes), each with max_early_remembered early seqs.
    struct evicted_rx {
        std::uint32_t next = 0, late_start = 0;
        bool start_gone_reported = false, anchored = false;
        std::vector<std::uint32_t> early;
        std::uint64_t stamp = 0; ///< when it was evicted (the oldest goes first)
    };
    static constexpr std::size_t max_early_remembered = 256;
    std::map<rx_key, evicted_rx> evicted_;
    std::uint64_t evicted_stamp_ = 0;
    struct ready_message {
        endpoint from;
        std::vector<std::byte> message;
    };
    detail::slot_ring<ready_message, &ready_message::message> ready_; // buffers reused with the caller's
    std::deque<repair_notice> notices_;
    datagram_batch scratch_;
    std::vector<std::byte> message_;
    std::vector<wire::repair_range> ranges_;
    time_point next_ = no_timer;
    std::size_t total_cache_ = 0, total_held_ = 0; ///< over all streams (total_cache_bytes, total_held_bytes)
    std::optional<endpoint> single_receiver_;
    bool unicast_delivery_ = false;              ///< group streams reach this receiver by unicast fan-out
    std::vector<endpoint> asker_only_{unicast_fanout}; ///< destinations of asker_only streams
    stats_type stats_;
};

/// The repairing fragmenter over the seed fragmenter's FRAGMENTs.
using nack_fragmenter = basic_nack_fragmenter<>;

static_assert(control_fragmenter<nack_fragmenter> && queuing_fragmenter<nack_fragmenter> &&
              per_destination<nack_fragmenter>);

} // namespace tlvcast::fragment

#include <tlvcast/fragment/impl/nack_receive.hpp>
#include <tlvcast/fragment/impl/nack_send.hpp>
#include <tlvcast/fragment/impl/nack_flow.hpp>
#include <tlvcast/fragment/impl/nack_fec.hpp>
