// SPDX-License-Identifier: BSL-1.0
// Large messages (up to 16 MiB): named limits, and the receiver's bounded streaming reassembly of parts.
#pragma once

#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/wire/large_part.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <utility>

namespace tlvcast::core {

/// Aeron's largest message, and tlvcast's default for a large message.
inline constexpr std::size_t default_max_large_message = std::size_t{16} * 1024 * 1024;

/// Limits of large messages (docs/PROTOCOL.md "Large messages"). A large message travels as parts,
/// each an ordinary message blob of at most part_bytes: the relay and the repairing Fragmenter
/// hold parts, never a whole large message; only the final receiver holds one, within these.
struct large_limits {
    /// Sender: bytes of the message per part (one blob each: at most 65,413 in the group profile,
    /// 65,472 in the secure profile, whose relay adds SECURE_DELIVER's 51 bytes).
    std::size_t part_bytes = 60 * 1024;
    /// Both: the largest message (a part that declares more is dropped).
    std::size_t max_message_bytes = default_max_large_message;
    /// Receiver: bytes of the messages being reassembled, over all senders (counted as declared
    /// when a message's first part arrives: its buffer is reserved once, never regrown).
    std::size_t max_total_bytes = std::size_t{64} * 1024 * 1024;
    /// Receiver: senders with a message being reassembled at once; each has at most one (its parts
    /// arrive in order: a new message's first part ends an older one, counted as interleaved).
    std::size_t max_senders = 64;
    /// Receiver: a message with no new part for this long is dropped.
    duration timeout = std::chrono::seconds(30);
};

static_assert(large_limits{}.part_bytes + wire::large_part_header_size + wire::secure_deliver_fixed_size <= 0xffff,
              "a part must fit one SECURE_DELIVER_PART value");
static_assert(large_limits{}.max_total_bytes >= large_limits{}.max_message_bytes,
              "the default limits must admit one message of the largest size");

/// Counters of a large_reassembler. Every part counts in parts_received and, unless it was kept
/// or completed a message, in exactly one drop counter.
struct large_stats {
    std::uint64_t parts_received = 0;
    std::uint64_t messages_completed = 0;
    std::uint64_t malformed = 0;    ///< a part header that does not decode, or bytes past its total
    std::uint64_t too_large = 0;    ///< a first part declaring more than max_message_bytes
    std::uint64_t over_budget = 0;  ///< a first part whose total does not fit max_total_bytes
    std::uint64_t busy = 0;         ///< a first part from a new sender beyond max_senders
    std::uint64_t orphans = 0;      ///< a later part of no message in reassembly (its start was dropped or lost)
    std::uint64_t mismatches = 0;   ///< a part whose id, total or offset disagrees with its message (both dropped)
    // Messages dropped before they completed (not part drops):
    std::uint64_t interleaved = 0;  ///< ended by a new message's first part from the same sender
    std::uint64_t timeouts = 0;     ///< no part for limits().timeout
    std::uint64_t forgotten = 0;    ///< their sender left (forget())
};

/// Who sent a part: its verified identity when the profile proves one (the group profile names
/// senders only so), else its address.
struct large_sender {
    endpoint peer;
    std::optional<crypto::fingerprint> identity;
    friend auto operator<=>(const large_sender&, const large_sender&) = default;
};

/// Reassembles large messages from their parts, in each sender's order (the repairing Fragmenter
/// delivers each sender's blobs once and in order; the relay forwards them in that order). A part
/// must continue its sender's message exactly where it stopped; anything else is a counted drop.
/// Memory is bounded whatever arrives: at most max_senders messages, whose declared totals sum to
/// at most max_total_bytes; a message's buffer is reserved once at its first part (never regrown,
/// so never copied), and parts are appended to it: the only copy of the message on this side.
/// Not thread-safe: the engine that owns it serialises calls.
class large_reassembler {
public:
    using limits_type = large_limits;

    explicit large_reassembler(const large_limits& lim = {}) : lim_(lim) {}

    /// Takes one part's value (header and bytes) from `from`, at `now`. Returns true when it
    /// completes a message: then `message` holds it (moved out: no copy). Errors (counted drops):
    /// truncated_header, malformed, reassembly_message_too_large, reassembly_full (max_total_bytes),
    /// reassembly_sender_busy (max_senders), fragment_mismatch (the message is dropped too),
    /// unexpected_type (an orphan part).
    bool add(const large_sender& from, std::span<const std::byte> value, time_point now, std::string& message,
             std::error_code& ec)
    {
        ec = {};
        ++stats_.parts_received;
        const wire::large_part p = wire::decode_large_part(value, ec);
        if (ec) {
            ++stats_.malformed;
            return false;
        }
        auto it = rx_.find(from);
        if (p.offset == 0) {
            if (it != rx_.end()) { // in order: the older one can no longer complete
                ++stats_.interleaved;
                drop(it);
                it = rx_.end();
            }
            return start(from, p, now, message, ec);
        }
        if (it == rx_.end()) {
            ++stats_.orphans;
            ec = errc::unexpected_type;
            return false;
        }
        partial& m = it->second;
        if (p.msg_id != m.id || p.total != m.total || p.offset != m.data.size()) {
            ++stats_.mismatches;
            drop(it);
            ec = errc::fragment_mismatch;
            return false;
        }
        m.data.append(reinterpret_cast<const char*>(p.bytes.data()), p.bytes.size());
        m.last = now;
        return finish(it, message);
    }

    /// Drops messages that had no part for limits().timeout; returns how many.
    std::size_t on_timer(time_point now)
    {
        std::size_t n = 0;
        for (auto it = rx_.begin(); it != rx_.end();) {
            if (now - it->second.last >= lim_.timeout) {
                ++n;
                drop(it++);
            } else {
                ++it;
            }
        }
        stats_.timeouts += n;
        return n;
    }

    /// The earliest deadline, or no_timer (a scan of at most max_senders entries).
    time_point next_timer() const noexcept
    {
        time_point t = no_timer;
        for (const auto& [k, m] : rx_)
            t = std::min(t, m.last + lim_.timeout);
        return t;
    }

    /// Drops the message being reassembled from every sender at `peer` (it left).
    void forget(const endpoint& peer)
    {
        for (auto it = rx_.begin(); it != rx_.end();)
            if (it->first.peer == peer) {
                ++stats_.forgotten;
                drop(it++);
            } else {
                ++it;
            }
    }

    const large_stats& stats() const noexcept { return stats_; }
    const large_limits& limits() const noexcept { return lim_; }
    /// Bytes reserved for messages being reassembled (<= limits().max_total_bytes).
    std::size_t reserved_bytes() const noexcept { return reserved_; }
    /// Messages being reassembled (<= limits().max_senders).
    std::size_t in_flight() const noexcept { return rx_.size(); }

private:
    struct partial {
        std::uint32_t id = 0;
        std::uint32_t total = 0;
        time_point last{};
        std::string data;
    };
    using map_type = std::map<large_sender, partial>;

    bool start(const large_sender& from, const wire::large_part& p, time_point now, std::string& message,
               std::error_code& ec)
    {
        if (p.total > lim_.max_message_bytes) {
            ++stats_.too_large;
            ec = errc::reassembly_message_too_large;
            return false;
        }
        if (p.bytes.size() == p.total) { // one part: nothing kept
            message.assign(reinterpret_cast<const char*>(p.bytes.data()), p.bytes.size());
            ++stats_.messages_completed;
            return true;
        }
        if (rx_.size() >= lim_.max_senders) {
            ++stats_.busy;
            ec = errc::reassembly_sender_busy;
            return false;
        }
        if (p.total > lim_.max_total_bytes - reserved_) {
            ++stats_.over_budget;
            ec = errc::reassembly_full;
            return false;
        }
        partial& m = rx_[from];
        m.id = p.msg_id;
        m.total = p.total;
        m.last = now;
        m.data.reserve(p.total);
        reserved_ += p.total;
        m.data.assign(reinterpret_cast<const char*>(p.bytes.data()), p.bytes.size());
        return false;
    }

    bool finish(map_type::iterator it, std::string& message)
    {
        if (it->second.data.size() < it->second.total)
            return false;
        reserved_ -= it->second.total;
        message = std::move(it->second.data);
        rx_.erase(it);
        ++stats_.messages_completed;
        return true;
    }

    void drop(map_type::iterator it)
    {
        reserved_ -= it->second.total;
        rx_.erase(it);
    }

    large_limits lim_;
    large_stats stats_;
    map_type rx_;
    std::size_t reserved_ = 0;
};

} // namespace tlvcast::core
