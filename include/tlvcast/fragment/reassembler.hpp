// SPDX-License-Identifier: BSL-1.0
// Bounded reassembly of FRAGMENT values into messages, keyed by (sender, msg_id); time is an input.
#pragma once

#include <tlvcast/endpoint.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/wire/fragment_header.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <unordered_map>
#include <vector>

namespace tlvcast::fragment {

/// The largest message blob of the seed profile: 255 RSA-OAEP blocks of 256 bytes, each in a
/// 4-byte type-3 TLV header (48,450 bytes of text, docs/PROTOCOL.md "Seed profile" "Limits").
inline constexpr std::size_t seed_max_blob_size = 255 * (256 + 4);

/// Reassembly limits of one instance. The defaults admit the largest seed-profile message
/// (66,300 bytes = 259 fragments of 256) with one fragment to spare, and bound memory to about
/// 16 MiB of payload plus fixed per-message overhead. Every limit must be at least 1 (checked at
/// construction).
struct limits {
    /// Largest `total` a fragment may declare (at most 65,535, the wire's own limit).
    std::size_t max_fragments_per_message = 260;
    /// Largest reassembled message, in payload bytes (260 full fragments of 256 bytes).
    std::size_t max_message_bytes = 260 * 256;
    /// Incomplete messages one sender may have at once.
    std::size_t max_messages_per_sender = 16;
    /// Incomplete messages of all senders together.
    std::size_t max_messages_in_flight = 1024;
    /// Payload bytes buffered in incomplete messages of all senders together.
    std::size_t max_buffered_bytes = std::size_t{16} * 1024 * 1024;
    /// An incomplete message is dropped this long after its first fragment arrived.
    duration timeout = std::chrono::seconds(10);
    /// Completed msg_ids remembered per sender, so that late duplicates do not deliver twice.
    std::size_t completed_ids_per_sender = 32;
    /// Senders with nothing in flight whose completed msg_ids are still remembered (oldest forgotten
    /// first). Senders with messages in flight are bounded by max_messages_in_flight.
    std::size_t max_idle_senders = 4096;
    /// Buffers of finished messages kept for reuse (so steady-state reassembly does not allocate).
    std::size_t pooled_buffers = 16;
};

static_assert(limits{}.max_message_bytes >= seed_max_blob_size,
              "the default limits must admit the largest seed-profile message");
static_assert(limits{}.max_fragments_per_message >= (seed_max_blob_size + 255) / 256,
              "the default limits must admit the largest seed-profile message in 256-byte fragments");

/// Counters of a reassembler. Every call to reassemble() counts once in fragments_received and,
/// unless it was stored, once in exactly one of the drop counters.
struct reassembly_stats {
    std::uint64_t fragments_received = 0;  ///< calls to reassemble()
    std::uint64_t fragments_accepted = 0;  ///< fragments stored or completing a message
    std::uint64_t messages_completed = 0;  ///< messages delivered
    std::uint64_t duplicates = 0;          ///< errc::duplicate_fragment (incl. late ones of completed messages)
    std::uint64_t mismatches = 0;          ///< errc::fragment_mismatch
    std::uint64_t malformed = 0;           ///< bad fragment headers (wire errors)
    std::uint64_t fragment_limit_drops = 0;    ///< errc::fragment_limit
    std::uint64_t message_too_large_drops = 0; ///< errc::reassembly_message_too_large
    std::uint64_t sender_busy_drops = 0;       ///< errc::reassembly_sender_busy
    std::uint64_t full_messages_drops = 0;     ///< errc::reassembly_full: max_messages_in_flight
    std::uint64_t full_bytes_drops = 0;        ///< errc::reassembly_full: max_buffered_bytes
    std::uint64_t timeouts = 0;            ///< incomplete messages dropped by on_timer()
    std::uint64_t abandoned = 0;           ///< incomplete messages dropped because they outgrew max_message_bytes
    std::uint64_t forgotten = 0;           ///< incomplete messages dropped by forget()
    std::uint64_t idle_senders_evicted = 0; ///< senders whose completed-id memory was dropped for room
};

/// Reassembles messages from FRAGMENT values (docs/PROTOCOL.md "Seed profile", type 1) under per-instance limits.
///
/// Messages are keyed by (sender endpoint, msg_id); fragments may arrive in any order. Memory is
/// bounded whatever arrives: every limit is checked before a fragment is stored, bytes are
/// accounted as they arrive (never from a fragment's claims), and an incomplete message times out
/// `limits::timeout` after its first fragment. When a limit is hit the NEW fragment is dropped;
/// messages already in flight are never evicted to make room.
///
/// Heap use is at most about 2 x buffered_bytes() (vector growth) plus, per message in flight,
/// 8 bytes per declared fragment, plus `pooled_buffers` reusable buffers, plus the per-sender
/// memory of completed msg_ids.
///
/// Not thread-safe: one instance belongs to one engine, which serialises calls. Copyable and movable.
class reassembler {
public:
    using limits_type = ::tlvcast::fragment::limits;
    using stats_type = reassembly_stats;

    /// A reassembler with the default limits.
    reassembler() : reassembler(limits_type{}) {}
    /// Throws std::invalid_argument when a limit is zero or out of range (a set-up error).
    explicit reassembler(const limits_type& lim);

    /// Takes the VALUE of one FRAGMENT TLV (msg_id, seq, total, payload) from `from`, received at
    /// `now`. Returns true when it completes a message: the whole message is then in `message`
    /// (overwritten; its capacity is reused). Returns false otherwise; `ec` then says why the
    /// fragment was dropped, or is clear when it was stored. Errors (each counted): the wire errors
    /// of decode_fragment (truncated_header, fragment_total_zero, fragment_seq_out_of_range),
    /// fragment_limit, reassembly_message_too_large, reassembly_sender_busy, reassembly_full,
    /// fragment_mismatch, duplicate_fragment (also for a late fragment of a recently completed
    /// message). Never throws on bad input (may throw std::bad_alloc).
    bool reassemble(const endpoint& from, std::span<const std::byte> fragment_value, time_point now,
                    std::vector<std::byte>& message, std::error_code& ec);

    /// Drops incomplete messages whose deadline is at or before `now`; returns how many. O(1) per
    /// message dropped plus O(1).
    std::size_t on_timer(time_point now);

    /// The earliest deadline of an incomplete message, or tlvcast::no_timer when there is none.
    time_point next_timer() const noexcept { return head_ == npos ? no_timer : messages_[head_].deadline; }

    /// Drops everything known about `peer`: incomplete messages (counted as forgotten) and its
    /// memory of completed msg_ids.
    void forget(const endpoint& peer);

    /// Drops one incomplete message of `peer` (counted as forgotten), if there is one with this
    /// msg_id; the peer's other messages and its memory of completed msg_ids stay.
    void forget(const endpoint& peer, std::uint32_t msg_id);

    /// Whether a message from `from` with this msg_id is incomplete and buffered.
    bool in_flight(const endpoint& from, std::uint32_t msg_id) const noexcept;

    const stats_type& stats() const noexcept { return stats_; }
    const limits_type& limits() const noexcept { return limits_; }
    /// Payload bytes held by incomplete messages (<= limits().max_buffered_bytes).
    std::size_t buffered_bytes() const noexcept { return buffered_; }
    /// Incomplete messages (<= limits().max_messages_in_flight).
    std::size_t messages_in_flight() const noexcept { return in_flight_; }
    /// Senders with state: messages in flight or remembered completed msg_ids
    /// (<= max_messages_in_flight + max_idle_senders).
    std::size_t senders() const noexcept { return sender_index_.size(); }

private:
    static constexpr std::uint32_t npos = 0xffffffffU;

    // Where one fragment's payload sits in message_state::data (offset == npos: not received yet).
    struct slot {
        std::uint32_t offset = npos;
        std::uint32_t length = 0;
    };

    // One incomplete message. Payloads are appended to `data` in arrival order (so memory grows
    // only with what arrives) and put in seq order once, on completion.
    struct message_state {
        std::uint32_t msg_id = 0;
        std::uint16_t total = 0;
        std::uint16_t received = 0;
        std::uint32_t sender = npos; // index into senders_
        time_point deadline{};
        std::uint32_t prev = npos, next = npos; // deadline list; `next` links the free list too
        bool pooled = false; // free and still holding its buffers' capacity
        std::vector<std::byte> data;
        std::vector<slot> slots;
    };

    struct sender_state {
        endpoint peer{};
        std::vector<std::uint32_t> messages;  // indices into messages_ (at most max_messages_per_sender)
        std::vector<std::uint32_t> completed; // ring of recent msg_ids
        std::size_t completed_next = 0;
        std::uint32_t idle_prev = npos, idle_next = npos; // idle list; `idle_next` links the free list too
        bool idle = false;
    };

    bool add_fragment(std::uint32_t m, const wire::fragment& f, std::vector<std::byte>& message,
                      std::error_code& ec);
    std::uint32_t open_message(std::uint32_t s, const wire::fragment& f, time_point now);
    void store(message_state& m, const wire::fragment& f);
    void release_message(std::uint32_t m);
    void settle_sender(std::uint32_t s);
    std::uint32_t find_sender(const endpoint& peer) const noexcept;
    std::uint32_t find_message(std::uint32_t s, std::uint32_t msg_id) const noexcept;
    std::uint32_t ensure_sender(const endpoint& peer);
    void erase_sender(std::uint32_t s);
    bool was_completed(std::uint32_t s, std::uint32_t msg_id) const noexcept;
    void remember_completed(std::uint32_t s, std::uint32_t msg_id);
    void unlink_deadline(std::uint32_t m) noexcept;
    void unlink_idle(std::uint32_t s) noexcept;

    limits_type limits_;
    stats_type stats_{};
    std::size_t buffered_ = 0;
    std::size_t in_flight_ = 0;
    std::size_t pooled_ = 0;

    // Incomplete messages live in an arena and are linked by index, so a reassembler copies and
    // moves by value and reuses message buffers without allocating.
    std::vector<message_state> messages_;
    std::uint32_t free_messages_ = npos, free_tail_ = npos; // free list: pooled first, then emptied
    // Deadline order: with one timeout for all, creation order is deadline order, so a FIFO list
    // gives O(1) insert, removal and expiry (no O(n) scan, no stale heap entries).
    std::uint32_t head_ = npos, tail_ = npos;

    std::vector<sender_state> senders_;
    std::uint32_t free_senders_ = npos;
    std::unordered_map<endpoint, std::uint32_t> sender_index_;
    // Senders with nothing in flight, least recently active first (eviction order).
    std::uint32_t idle_head_ = npos, idle_tail_ = npos;
    std::size_t idle_count_ = 0;
};

} // namespace tlvcast::fragment

#include <tlvcast/fragment/impl/reassembler.hpp>
#include <tlvcast/fragment/impl/reassembler_senders.hpp>
