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
};

namespace detail {
// A reception as a bounded_queue tag: the sequence (below 2^62), then stale and ordered in the low bits.
constexpr std::uint64_t tag_of(const reception& r) noexcept
{
    return r.seq << 2 | (r.stale ? 2 : 0) | (r.ordered ? 1 : 0);
}
constexpr reception reception_of(std::uint64_t tag) noexcept { return {tag >> 2, (tag & 1) != 0, (tag & 2) != 0}; }

/// The order's check once more, where it is read: a commit stored with an expectation below the
/// sequence of an ordered message stored before it conflicts, and was stored only because the
/// store's own check raced (nats-server 2.9's clustered streams can store two publications that
/// expected the same last sequence: nats-io/nats-server#4320). Every reader of the order sees the
/// same messages in the same order and so drops the same ones. Fed every ordered message, junk
/// included (the store counts it too). A reader that missed a message judges a later one against an
/// older sequence: it may keep what others drop, never drop what others keep.
class order_guard {
public:
    /// Whether the ordered message at `seq`, stored with `expected` (none: not said), is stale.
    bool stale(std::optional<std::uint64_t> expected, std::uint64_t seq) noexcept
    {
        const bool late = expected && *expected < last_;
        if (seq > last_)
            last_ = seq;
        return late;
    }

private:
    std::uint64_t last_ = 0; // the last ordered message's sequence
};
} // namespace detail

/// A federation_link that can also order the group's commits (docs/FEDERATION.md, "One order for
/// membership"): one sequence of commits that every relay, the publisher's included, receives in
/// the same order, where a commit is stored only if nothing was stored after what its publisher saw.
/// - `orders_commits() -> bool`: whether it does now (the NATS link: in JetStream mode only);
/// - `publish_ordered(bytes, expected) -> bool`: queues a commit for the order, to be stored only
///   if the last ordered reception is still the one at sequence `expected` (0: none yet); else it is
///   dropped and counted as a conflict. Never blocks; thread-safe;
/// - `poll(out, r) -> bool`: poll() with the reception's position (`r`), ordered receptions
///   included, the link's own publications on the order too.
template <class L>
concept ordering_link = federation_link<L> && requires(L& l, std::span<const std::byte> bytes,
                                                       std::vector<std::byte>& out, reception& r) {
    { l.orders_commits() } -> std::same_as<bool>;
    { l.publish_ordered(bytes, std::uint64_t{}) } -> std::same_as<bool>;
    { l.poll(out, r) } -> std::same_as<bool>;
};

} // namespace tlvcast::federation
