// SPDX-License-Identifier: BSL-1.0
// The Link concept: what the federation bridge needs of a messaging system (NATS, or the in-memory
// hub of the tests) to carry envelopes between relays.
#pragma once

#include <tlvcast/federation/counters.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace tlvcast::federation {

/// A federation_link carries the envelopes of one federated group between relays, in both directions:
/// - `publish(bytes) -> bool` hands an envelope to the other relays and never blocks (false: it
///   was dropped, and the link counted why: queue_full, say); thread-safe.
/// - `poll(out) -> bool` takes the next envelope another relay published, without waiting
///   (false: none); called from the relay's strand only.
/// - `set_notify(f)`: f() is called, from any thread, when poll() may have something; an empty f
///   stops the calls (and waits for one that runs).
/// - `counters()`: the link's federation_counters (the bridge adds its own drops to them).
/// A link never hands a relay its own publications back (NATS: no-echo); the bridge checks anyway.
template <class L>
concept federation_link = requires(L& l, std::span<const std::byte> bytes, std::vector<std::byte>& out,
                        std::function<void()> notify) {
    { l.publish(bytes) } -> std::same_as<bool>;
    { l.poll(out) } -> std::same_as<bool>;
    l.set_notify(std::move(notify));
    { l.counters() } -> std::same_as<federation_counters&>;
};

/// Where a reception came from, for a link that orders commits.
struct reception {
    std::uint64_t seq = 0; ///< its position in the federation's order (a stream sequence); 0: none
    bool ordered = false;  ///< it came through the order of commits (JetStream: subject tlvcast.c.<group>)
    /// An ordered reception that was stored although another commit was stored after the one its
    /// publisher expected: the order's own check missed the conflict (detail::order_guard).
    bool stale = false;
    /// Stream sequences right before this one that the reader never received: they left the store
    /// (its size or age limit) before it read them (counted: federation_counter::missed). What they
    /// held, a commit perhaps, is unknown: the relay is not in step with the order from here on
    /// (bridge.hpp), and its order_guard took the last of them for a commit.
    bool gap = false;
    /// An ordered reception stored before this link started (a link that catches up reads the order
    /// from its first commit): the relay rebuilds the group's state from it and forwards it to no
    /// member (docs/FEDERATION.md, "Catch-up").
    bool history = false;
};

namespace detail {
// A reception as a bounded_queue tag: the sequence (below 2^60), then history, gap, stale and
// ordered in the low bits.
constexpr std::uint64_t tag_of(const reception& r) noexcept
{
    return r.seq << 4 | (r.history ? 8 : 0) | (r.gap ? 4 : 0) | (r.stale ? 2 : 0) | (r.ordered ? 1 : 0);
}
constexpr reception reception_of(std::uint64_t tag) noexcept
{
    return {tag >> 4, (tag & 1) != 0, (tag & 2) != 0, (tag & 4) != 0, (tag & 8) != 0};
}

/// The order's check once more, where it is read: a commit whose relay continued a position below
/// the sequence of an ordered message stored before it conflicts, and was stored only because the
/// store's own check missed it (nats-server 2.9's clustered streams can store two publications that
/// expected the same last sequence: nats-io/nats-server#4320; and anyone may store a copy of an old
/// commit). A commit's position (`after`) is its relay's word under the federation key
/// (envelope_kind::ordered), not the store's header, which any publisher writes. Every reader of the
/// order sees the same messages in the same order and so drops the same ones. Fed every ordered
/// message, junk included (the store counts it too). A reader that missed messages (they left the
/// store before it read them) tells missed(): the last of them is taken for a commit, so that it
/// never keeps what others drop (its own commit, stored after the store lost the one before it,
/// would fork it); it may drop what they keep (after a gap of group messages only, the next commit),
/// and is then out of step until catch-up: a stream's limits remove the oldest first, so nothing
/// left in the store says what the gap held (review_order3.cpp). A commit that continues a position
/// past every ordered message a reader saw (it started after them) is left to the engine's chain
/// check: refusing it here kept late relays out of step for one junk message (review_order4.cpp).
class order_guard {
public:
    /// Sequences up to `last_missed` were stored and never received.
    void missed(std::uint64_t last_missed) noexcept { stale(std::nullopt, last_missed); }

    /// Whether the ordered message at `seq` that continues `after` (none: not a commit) is stale.
    /// Judging the last-judged sequence again gives the same answer (a link that fetches it again).
    bool stale(std::optional<std::uint64_t> after, std::uint64_t seq) noexcept
    {
        if (seq > last_) {
            before_ = last_;
            last_ = seq;
        }
        return after && *after < (seq == last_ ? before_ : last_);
    }

private:
    std::uint64_t last_ = 0, before_ = 0; // the last ordered message's sequence, the one before it
};

/// What a commit the store refused as a conflict may still be: when the store's last commit is
/// below the one the relay continues (0: none), that commit left the store (its age or size limit)
/// and nothing newer came: the same commit is offered again, expecting what the store has.
constexpr std::optional<std::uint64_t> expectation_after_conflict(std::uint64_t expected, std::uint64_t stored_last) noexcept
{
    if (stored_last < expected)
        return stored_last;
    return std::nullopt;
}
} // namespace detail

/// A federation_link that can also order the group's commits (docs/FEDERATION.md, "One order for
/// membership"): one sequence of commits that every relay, the publisher's included, receives in
/// the same order, where a commit is stored only if nothing was stored after what its publisher saw.
/// - `orders_commits() -> bool`: whether it does now (the NATS link: in JetStream mode only);
/// - `publish_ordered(bytes, expected) -> bool`: queues a commit for the order (an envelope of kind
///   ordered whose `after` is `expected`), to be stored only if the last ordered reception is still
///   the one at sequence `expected` (0: none yet), or when that one left the store (its limits) with
///   nothing ordered after it; else it is dropped and counted as a conflict. Never blocks; thread-safe;
/// - `poll(out, r) -> bool`: poll() with the reception's position (`r`), ordered receptions
///   included, the link's own publications on the order too;
/// - `order_was_empty() -> std::optional<bool>`: whether the order held no commit when the link
///   started reading it (none: not known yet). A relay whose first reception is not the order's
///   beginning is not in step with it until it applied a commit from it (bridge.hpp).
template <class L>
concept ordering_link = federation_link<L> && requires(L& l, std::span<const std::byte> bytes,
                                                       std::vector<std::byte>& out, reception& r) {
    { l.orders_commits() } -> std::same_as<bool>;
    { l.order_was_empty() } -> std::same_as<std::optional<bool>>;
    { l.publish_ordered(bytes, std::uint64_t{}) } -> std::same_as<bool>;
    { l.poll(out, r) } -> std::same_as<bool>;
};

} // namespace tlvcast::federation
