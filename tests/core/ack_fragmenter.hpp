// SPDX-License-Identifier: BSL-1.0
// A test control_fragmenter: the seed fragmenter plus ACKs sent as messages complete, and retransmission on a timer.
#pragma once

#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/fragment/concepts.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/wire/detail/endian.hpp>
#include <tlvcast/wire/fragment_header.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::test {

/// Counters of an ack_fragmenter: the seed fragmenter's, and its own.
struct ack_fragmenter_stats {
    fragment::seed_fragmenter_stats seed;
    std::uint64_t tracked = 0;       ///< fragmented messages sent that wait for an ACK
    std::uint64_t acks_sent = 0;     ///< ACK datagrams appended by reassemble()
    std::uint64_t acks_received = 0; ///< ACKs that matched a message waiting for one
    std::uint64_t acks_unmatched = 0;///< late or repeated ACKs
    std::uint64_t retransmits = 0;   ///< datagrams sent again by on_timer()
    std::uint64_t gave_up = 0;       ///< messages never acknowledged after max_retransmits
};

/// When an ack_fragmenter sends an unacknowledged message again, and how often.
struct ack_fragmenter_options {
    duration retransmit_after = std::chrono::milliseconds(200);
    unsigned max_retransmits = 3;
    /// A message completed before is ACKed again (its fragments came again: the ACK was lost) at
    /// most once per this long, so that one retransmission of n fragments costs one ACK, not n.
    duration reack_after = std::chrono::milliseconds(100);
};

/// Models fragment::control_fragmenter. split() and reassemble() are the seed fragmenter's. A
/// receiver ACKs every message it reassembles from reassemble()'s output batch, in the call that
/// completes it (and a message it already completed, when its fragments come again: the ACK was
/// lost); a sender keeps each fragmented message's datagrams, stamped with the time split() sent
/// them, until it is ACKed, and sends them again from on_timer() every `retransmit_after`, at most
/// `max_retransmits` times. Whole (unfragmented) messages carry no msg_id and are not tracked.
/// ACK = TLV(0x7f20, msg_id(4)), a type unknown to the type table. The engine carries both
/// through its record layer. Not thread-safe.
class ack_fragmenter {
public:
    using limits_type = fragment::limits;
    using stats_type = ack_fragmenter_stats;
    static constexpr std::uint16_t ack_type = 0x7f20;
    static constexpr std::size_t max_tracked = 1024; ///< messages waiting, and recent ACKs, at most (memory bound)

    using options = ack_fragmenter_options;

    ack_fragmenter(std::uint64_t seed, std::size_t fragment_size, std::size_t max_whole, options opt = {})
        : inner_(seed, {}, fragment_size, max_whole), opt_(opt)
    {
    }

    static constexpr bool handles(wire::tlv_type type) noexcept { return static_cast<std::uint16_t>(type) == ack_type; }

    /// The seed fragmenter's split; a fragmented message is kept until its ACK, its retransmission
    /// due `retransmit_after` after `now`, the time it left.
    void split(std::span<const std::byte> message, const endpoint& to, time_point now, datagram_batch& out,
               std::error_code& ec)
    {
        const std::size_t first = out.size();
        inner_.split(message, to, now, out, ec);
        if (ec || out.size() == first)
            return;
        std::error_code fec;
        const wire::tlv t = wire::read_outer(out[first].bytes, fec);
        if (fec || t.type() != wire::tlv_type::fragment)
            return; // whole: nothing to acknowledge
        const wire::fragment f = wire::decode_fragment(t.value, fec);
        if (fec)
            return;
        if (waiting_.size() >= max_tracked)
            waiting_.erase(waiting_.begin());
        pending& p = waiting_[f.msg_id];
        p.to = to;
        p.deadline = now + opt_.retransmit_after;
        p.tries = 0;
        p.datagrams.clear();
        for (std::size_t i = first; i < out.size(); ++i)
            p.datagrams.emplace_back(out[i].bytes.begin(), out[i].bytes.end());
        ++tracked_;
    }

    /// The seed fragmenter's reassemble; a completed message, or a fragment of one completed
    /// before (at most once per reack_after), is ACKed to `from` at once, in `out`.
    bool reassemble(const endpoint& from, std::span<const std::byte> value, time_point now, datagram_batch& out,
                    std::vector<std::byte>& message, std::error_code& ec)
    {
        const bool done = inner_.reassemble(from, value, now, out, message, ec);
        if (value.size() >= wire::fragment_header_size) {
            const std::uint32_t id = wire::detail::load_u32(value.data());
            if (done || (ec == errc::duplicate_fragment && !inner_.reassembly().in_flight(from, id) &&
                         !recently_acked(from, id, now)))
                append_ack(from, id, now, out);
        }
        return done;
    }

    /// Retransmits what is due, runs reassembly timeouts.
    void on_timer(time_point now, datagram_batch& out)
    {
        inner_.on_timer(now, out);
        for (auto it = waiting_.begin(); it != waiting_.end();) {
            pending& p = it->second;
            if (p.deadline <= now) {
                if (p.tries >= opt_.max_retransmits) {
                    ++gave_up_;
                    it = waiting_.erase(it);
                    continue;
                }
                ++p.tries;
                p.deadline = now + opt_.retransmit_after;
                for (const auto& d : p.datagrams)
                    out.push(p.to, d);
                retransmits_ += p.datagrams.size();
            }
            ++it;
        }
    }

    /// The earliest retransmission or reassembly deadline.
    time_point next_timer() const noexcept
    {
        time_point t = inner_.next_timer();
        for (const auto& [id, p] : waiting_)
            t = std::min(t, p.deadline);
        return t;
    }

    /// An ACK from `from`: the message stops waiting. Errors: malformed (counted by the engine).
    bool handle_control(const endpoint&, const wire::tlv& t, time_point, datagram_batch&, std::vector<std::byte>&,
                        std::error_code& ec)
    {
        ec = {};
        if (t.value.size() != 4) {
            ec = errc::malformed;
            return false;
        }
        // By msg_id alone: a client's split() names the group, the relay ACKs from its own address.
        if (waiting_.erase(wire::detail::load_u32(t.value.data())))
            ++acks_received_;
        else
            ++acks_unmatched_;
        return false;
    }

    void forget(const endpoint& peer)
    {
        inner_.forget(peer);
        std::erase_if(waiting_, [&](const auto& kv) { return kv.second.to == peer; });
        std::erase_if(recent_acks_, [&](const auto& a) { return a.to == peer; });
    }

    stats_type stats() const noexcept
    {
        return {inner_.stats(), tracked_, acks_sent_, acks_received_, acks_unmatched_, retransmits_, gave_up_};
    }
    std::size_t waiting() const noexcept { return waiting_.size(); }

private:
    struct pending {
        endpoint to;
        time_point deadline;
        unsigned tries = 0;
        std::vector<std::vector<std::byte>> datagrams;
    };
    struct sent_ack {
        endpoint to;
        std::uint32_t msg_id;
        time_point at;
    };

    void append_ack(const endpoint& to, std::uint32_t id, time_point now, datagram_batch& out)
    {
        std::array<std::byte, 4> v{};
        wire::detail::store_u32(v.data(), id);
        const std::size_t m = out.mark();
        std::error_code ec;
        wire::tlv_appender(out.bytes()).put(ack_type, v, ec);
        out.commit(to, m);
        ++acks_sent_;
        if (recent_acks_.size() >= max_tracked)
            recent_acks_.pop_front();
        recent_acks_.push_back({to, id, now});
    }

    // Whether (to, id) was ACKed less than reack_after ago; forgets older ACKs (time only grows).
    bool recently_acked(const endpoint& to, std::uint32_t id, time_point now)
    {
        while (!recent_acks_.empty() && now - recent_acks_.front().at >= opt_.reack_after)
            recent_acks_.pop_front();
        return std::any_of(recent_acks_.begin(), recent_acks_.end(),
                           [&](const sent_ack& a) { return a.to == to && a.msg_id == id; });
    }

    fragment::seed_fragmenter inner_;
    options opt_;
    std::map<std::uint32_t, pending> waiting_;
    std::deque<sent_ack> recent_acks_;
    std::uint64_t tracked_ = 0, acks_sent_ = 0, acks_received_ = 0, acks_unmatched_ = 0, retransmits_ = 0, gave_up_ = 0;
};

static_assert(fragment::control_fragmenter<ack_fragmenter>, "ack_fragmenter must model fragment::control_fragmenter");
static_assert(!wire::find_type(ack_fragmenter::ack_type), "the ACK type must stay unknown to the type table");

} // namespace tlvcast::test
