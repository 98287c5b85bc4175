// SPDX-License-Identifier: BSL-1.0
// The Link concept: what the federation bridge needs of a messaging system (NATS, or the in-memory
// hub of the tests) to carry envelopes between relays.
#pragma once

#include <tlvcast/federation/counters.hpp>

#include <concepts>
#include <cstddef>
#include <functional>
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

} // namespace tlvcast::federation
