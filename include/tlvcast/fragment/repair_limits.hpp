// SPDX-License-Identifier: BSL-1.0
// The repairing fragmenter's named limits, counters and notices.
#pragma once

#include <tlvcast/endpoint.hpp>
#include <tlvcast/fragment/reassembler.hpp>
#include <tlvcast/time.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace tlvcast::fragment {

/// What a sender does when an acknowledged stream's unacknowledged bytes reach its window
/// (docs/DESIGN.md "Flow and congestion control"; the relay's --slow-receiver).
enum class slow_receiver_policy {
    /// A client: the stream is not writable (the engine's send reports errc::would_block) until
    /// ACKs open the window. Nothing is queued.
    block,
    /// A relay: while a destination is over its window, the relay withholds its own ACKs to the
    /// senders it hears (their windows close: back-pressure: they go at its pace); a destination
    /// that stays over its window and acknowledges nothing new for slow_hold, or is still over it
    /// after slow_hold_max, is dropped from reliability as with `drop`.
    hold,
    /// A relay: a destination whose unacknowledged bytes exceed slow_receiver_bytes is dropped from
    /// reliability at once: its cache is released, it is reported (pop_slow()), and until it
    /// acknowledges the stream's end again what is sent to it is not cached (its NACKs get GONE).
    drop,
};

/// Limits of a repairing fragmenter (fragment::basic_nack_fragmenter). Sender side: a stream per
/// destination, whose datagrams are kept for repair. Receiver side: a stream per (source, stream
/// id), with the datagrams that arrived ahead of a gap. Every byte either side holds is bounded
/// by these, whatever arrives.
struct repair_limits {
    /// false: no repair at all (a program's --reliability none): the inner fragmenter's datagrams
    /// leave as they are, with no stream, cache or timer, and repair TLVs received are refused.
    bool repair = true;
    /// Sender: bytes of sent datagrams kept per stream for retransmission (oldest evicted first).
    std::size_t cache_bytes = std::size_t{8} * 1024 * 1024;
    /// Sender: the same, over all streams together (the oldest datagram of any stream goes first).
    std::size_t total_cache_bytes = std::size_t{64} * 1024 * 1024;
    /// Sender: a datagram is evicted this long after it was first sent.
    duration cache_age = std::chrono::seconds(10);
    /// Streams of each side (destinations sent to; sources heard): the least recently used goes.
    std::size_t max_streams = 4096;
    /// Receiver: streams kept per source (a sender that restarts opens a new one).
    std::size_t streams_per_source = 4;
    /// Receiver: datagrams beyond the next one due are held only this far ahead.
    std::uint32_t window = 8192;
    /// Receiver: bytes held ahead of a gap per stream (beyond them, datagrams are dropped and
    /// asked for again later).
    std::size_t held_bytes = std::size_t{8} * 1024 * 1024;
    /// Receiver: the same, over all streams together.
    std::size_t total_held_bytes = std::size_t{64} * 1024 * 1024;
    /// Receiver: a stream first heard at a seq below this is read from seq 0 (the first datagrams
    /// were lost); one first heard later is read from there on (a receiver that joined late).
    std::uint32_t backfill = 256;
    /// Receiver: true delivers each stream in its order. false (unordered): a datagram that holds
    /// a whole message is handed on as soon as it arrives, ahead of a gap still being repaired
    /// (lower latency under loss, as NORM delivers each object once it completes); it keeps its
    /// place in the stream and is never delivered again. A message in several datagrams still
    /// completes in stream order (its reassembly takes its parts in order), and so does what comes
    /// bare (a group's stream heard without its source's records: a spoof could take a place).
    bool ordered = true;
    /// Receiver: a gap in a unicast stream is NACKed after a random delay in [0, nack_backoff)
    /// (a little patience for a datagram that is only late).
    duration nack_backoff = std::chrono::milliseconds(2);
    /// Receiver: a gap in a multicast stream waits a random delay in [0, group_nack_backoff), so
    /// that of many receivers most hear the repair that the first NACK brought and hold their own
    /// (NORM's back-off, RFC 5740 section 5.3: a few round trips of the LAN).
    duration group_nack_backoff = std::chrono::milliseconds(40);
    /// Receiver: a gap still open is NACKed again after the repair round trip measured on its
    /// stream (RFC 6298's srtt + 4 rttvar, not below min_nack_interval), or after nack_interval
    /// until one was measured (and never later), doubling up to max_nack_interval (back to the
    /// first wait when the stream moved on since the last NACK). A multicast stream waits
    /// nack_interval: its source holds repairs for repair_holdoff and other receivers' NACKs.
    duration nack_interval = std::chrono::milliseconds(20);
    duration min_nack_interval = std::chrono::milliseconds(2);
    duration max_nack_interval = std::chrono::milliseconds(320);
    /// Receiver: a gap still open this long after it opened, while its source answers neither
    /// with the datagrams nor with REPAIR_GONE, is unrecoverable (an event) and skipped. Longer
    /// than cache_age: a live source answers GONE first.
    duration gap_timeout = std::chrono::seconds(12);
    /// Receiver: a unicast stream's delivery is acknowledged (REPAIR_ACK) this long after it moved
    /// on, so that one ACK covers a burst; a tail with nothing missing is acknowledged at once.
    /// Multicast streams are never acknowledged (no ACK implosion): their tails are counted.
    duration ack_delay = std::chrono::milliseconds(5);
    /// Sender: one datagram of a group's stream is retransmitted at most once per holdoff, however
    /// many NACKs ask; of a unicast stream (one receiver, pacing its NACKs by the round trip it
    /// measured), once per unicast_repair_holdoff.
    duration repair_holdoff = std::chrono::milliseconds(10);
    duration unicast_repair_holdoff = std::chrono::milliseconds(1);
    /// Sender: seqs looked at (and so datagrams retransmitted) for one NACK at most.
    std::size_t repairs_per_nack = 512;
    /// Sender: retransmitted bytes per stream and second, with a burst of repair_burst_bytes (a
    /// member's NACKs cannot make the relay flood a group with its whole cache).
    std::size_t repair_bytes_per_second = std::size_t{16} * 1024 * 1024;
    std::size_t repair_burst_bytes = std::size_t{2} * 1024 * 1024;
    /// Sender: of a stream whose repairs go to each asker alone (basic_nack_fragmenter::
    /// asker_only), askers with a budget of their own (the same rate and burst): one receiver's
    /// NACKs cannot spend another's repairs. Only budgets not yet refilled count; beyond this,
    /// askers share the stream's. The relay's max_clients by default.
    std::size_t askers_per_stream = 4096;
    /// Sender: REPAIR_TAIL (what was sent) follows the last datagram after this, then doubling
    /// up to max_tail_interval, so that a receiver that lost the end of a burst learns it: to a
    /// unicast destination until it acknowledged everything (or the cache aged out), to a
    /// multicast group `tails` times.
    duration tail_interval = std::chrono::milliseconds(10);
    duration max_tail_interval = std::chrono::seconds(1);
    unsigned tails = 6;
    /// Flow and congestion control of acknowledged (unicast) streams; a group's are not windowed.
    /// Sender: unacknowledged bytes per stream at most (the window is also the Congestion
    /// policy's, between min_window and this). A message is admitted while the stream is under its
    /// window, so in flight stays below window + one message.
    std::size_t send_window = std::size_t{1} * 1024 * 1024;
    /// Sender: the Congestion policy's floor and first window, and its additive step.
    std::size_t min_window = std::size_t{64} * 1024;
    std::size_t initial_window = std::size_t{64} * 1024;
    std::size_t segment_bytes = 1200;
    /// Sender: what a full window does (block for a client; hold or drop for a relay).
    slow_receiver_policy slow_receiver = slow_receiver_policy::block;
    /// Relay, hold: the longest a destination over its window withholds the relay's ACKs without
    /// acknowledging anything new. Meanwhile its tails come at least every slow_hold / 10 (never
    /// less than tail_interval apart): its senders are held, so only a tail can draw its ACK.
    /// 3 s: at 20% loss a NACK round fails 36% of the time and the NACK back-off reaches 320 ms, so a
    /// gap outlives 1 s (about 5 rounds) once in ~200 and 3 s (about 11 rounds) once in ~10^5.
    duration slow_hold = std::chrono::seconds(3);
    /// Relay, hold: the longest one hold lasts, progress or not (a member that acknowledges a
    /// datagram per slow_hold would otherwise set the whole group's pace for as long as it likes).
    duration slow_hold_max = std::chrono::seconds(30);
    /// Relay, hold: a group's stream (no ACKs, so no window) whose cache is within send_window of
    /// cache_bytes while its oldest datagram is younger than this holds the relay's ACKs to its
    /// senders, as a destination over its window does: a fast sender would otherwise push out
    /// what a member is still repairing (GONE) within milliseconds. It bounds a group's rate to
    /// about cache_bytes per group_hold_age (16 MB/s by default); a hold ends when the oldest
    /// datagram reached this age, or after slow_hold_max.
    duration group_hold_age = std::chrono::milliseconds(500);
    /// Relay, drop: unacknowledged bytes beyond which a destination is dropped from reliability.
    std::size_t slow_receiver_bytes = std::size_t{2} * 1024 * 1024;
    /// Both: a stream silent and idle this long is forgotten.
    duration idle = std::chrono::seconds(60);

    // FEC (only with a Parity codec: basic_nack_fragmenter<Inner, fec::cm256_codec>).
    /// Sender: data datagrams per FEC block (1..255; 0: no blocks, no parity). A block closes when
    /// it has fec_k datagrams, or, shorter, when the first tail after a burst is due.
    unsigned fec_k = 16;
    /// Sender: parity datagrams sent with each block as it closes (proactive; fec_k + fec_r <= 255).
    unsigned fec_r = 2;
    /// Sender: a NACK for datagrams of a closed block is answered with as many fresh parity
    /// datagrams (one parity repairs different losses at different receivers), at most
    /// fec_parity_answers times per block; after that, or when false, with the datagrams.
    bool fec_repair = true;
    unsigned fec_parity_answers = 2;
    /// Sender: closed blocks remembered per stream for parity answers (oldest forgotten first).
    std::size_t fec_blocks_kept = 64;
    /// Receiver: once a stream carried parity, a gap waits this much longer before its first NACK,
    /// so that the parity closing its block (sent with the first tail at the latest) can fill it.
    duration fec_wait = std::chrono::milliseconds(15);
    /// Receiver: per stream, blocks whose parity is held (oldest dropped first), the bytes of that
    /// parity, and the bytes of delivered datagrams kept to decode with (the newest 255 at most).
    std::size_t fec_blocks = 8;
    std::size_t fec_parity_bytes = std::size_t{1} * 1024 * 1024;
    std::size_t fec_recent_bytes = std::size_t{512} * 1024;
    /// Receiver: parity and kept datagrams over all streams together (beyond it, nothing new is kept).
    std::size_t fec_total_bytes = std::size_t{64} * 1024 * 1024;
};

/// A gap that could not be repaired: datagrams `first`..`last` of a stream from `peer` (the
/// sender's cache had dropped them, or every NACK went unanswered). Whatever messages they held
/// are lost; the engines report it as an event.
struct repair_notice {
    endpoint peer;
    std::uint64_t first = 0, last = 0;
};

/// A destination dropped from reliability (slow_receiver_policy::hold after slow_hold, or drop):
/// `bytes` unacknowledged were released from its cache; its NACKs for them get REPAIR_GONE.
struct slow_notice {
    endpoint peer;
    std::size_t bytes = 0;
    bool held = false; ///< true: dropped after a hold that did not help (policy hold)
};

/// Counters of a repairing fragmenter.
struct nack_fragmenter_stats {
    std::uint64_t messages_split = 0;      ///< split() calls that succeeded
    std::uint64_t data_sent = 0;           ///< REPAIR_DATA datagrams first sent
    std::uint64_t data_received = 0;       ///< REPAIR_DATA datagrams received (duplicates included)
    std::uint64_t duplicates = 0;          ///< REPAIR_DATA already delivered or held
    std::uint64_t delivered_early = 0;     ///< whole messages handed on ahead of a gap (repair_limits::ordered false)
    std::uint64_t nacks_sent = 0;          ///< REPAIR_NACKs sent
    std::uint64_t nacks_received = 0;      ///< REPAIR_NACKs received for a known stream
    std::uint64_t nacks_refused = 0;       ///< NACKs for an unknown stream, from a stranger or without a port
    std::uint64_t repairs_sent = 0;        ///< datagrams retransmitted
    std::uint64_t repairs_suppressed = 0;  ///< asked again within repair_holdoff: not re-sent
    std::uint64_t repairs_rate_limited = 0; ///< NACKs cut short by repair_bytes_per_second
    std::uint64_t retransmitted_bytes = 0; ///< bytes of the datagrams retransmitted
    std::uint64_t gone_sent = 0;           ///< REPAIR_GONEs sent (asked for what the cache dropped)
    std::uint64_t starts_resent = 0;       ///< NACKs from 0 below a receiver's start answered with its REPAIR_START again
    std::uint64_t starts_after_ack = 0;    ///< NACKs below what a unicast destination acknowledged (a process restarted there) answered with REPAIR_START
    std::uint64_t tails_sent = 0;          ///< REPAIR_TAILs sent
    std::uint64_t acks_sent = 0;           ///< REPAIR_ACKs sent
    std::uint64_t acks_received = 0;       ///< REPAIR_ACKs from a unicast stream's destination
    std::uint64_t acked_datagrams = 0;     ///< datagrams released from a cache by an ACK
    std::uint64_t unrecoverable = 0;       ///< gaps given up (notices)
    std::uint64_t unrecoverable_datagrams = 0; ///< datagrams in them
    std::uint64_t held_dropped = 0;        ///< datagrams beyond the window or held bytes: dropped
    std::uint64_t cache_evictions = 0;     ///< datagrams evicted from a sender's cache
    std::uint64_t streams_evicted = 0;     ///< streams forgotten to stay within max_streams
    std::uint64_t streams_resumed = 0;     ///< evicted streams heard again, resumed where they were
    std::uint64_t malformed = 0;           ///< repair TLVs that did not decode
    std::uint64_t refused = 0;             ///< GONEs and new streams' TAILs from an unauthenticated source
    std::uint64_t parity_sent = 0;         ///< REPAIR_PARITY sent proactively, as blocks closed
    std::uint64_t parity_repairs_sent = 0; ///< REPAIR_PARITY sent to answer NACKs (fresh indices)
    std::uint64_t parity_received = 0;     ///< REPAIR_PARITY received and kept
    std::uint64_t parity_unneeded = 0;     ///< REPAIR_PARITY for a block already whole, or a duplicate index
    std::uint64_t parity_dropped = 0;      ///< REPAIR_PARITY refused: malformed, unknown stream, bounds, size mismatch
    std::uint64_t fec_recovered = 0;       ///< datagrams rebuilt from parity (then checked as received ones)
    std::uint64_t fec_decode_failed = 0;   ///< decodes that failed or rebuilt a symbol that is not a datagram
    std::uint64_t window_full = 0;         ///< writable() refusals: a stream at its window (back-pressure)
    std::uint64_t window_decreases = 0;    ///< loss events that shrank a window (Congestion policy)
    std::uint64_t slow_holds = 0;          ///< destinations that went over their window under hold
    std::uint64_t group_holds = 0;         ///< holds for a group's stream whose cache was full of young datagrams
    std::uint64_t acks_withheld = 0;       ///< ACKs postponed while holding (hold)
    std::uint64_t slow_dropped = 0;        ///< destinations dropped from reliability (slow_notice)
    std::uint64_t slow_released_bytes = 0; ///< cache bytes those drops released
    std::uint64_t uncached_sent = 0;       ///< datagrams sent uncached to a dropped destination
    reassembly_stats reassembly;           ///< the inner reassembler's
};

} // namespace tlvcast::fragment
