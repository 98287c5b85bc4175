// SPDX-License-Identifier: BSL-1.0
// What a relay's federation counts: publications, receptions and every drop, by cause.
#pragma once

#include <tlvcast/core/events.hpp>

#include <array>
#include <string_view>

namespace tlvcast::federation {

enum class federation_counter {
    published,      ///< envelopes handed to NATS
    publish_errors, ///< envelopes NATS refused (disconnected beyond its reconnect buffer, say)
    queue_full,     ///< envelopes dropped because the outbound queue was full (back-pressure)
    received,       ///< envelopes received from NATS
    inbound_full,   ///< envelopes dropped because the inbound queue was full
    delivered,      ///< envelopes delivered to this relay's members
    malformed,      ///< envelopes that did not parse
    unauthenticated, ///< envelopes whose tag is not the federation key's (a NATS publisher without it, a byte changed)
    replayed,       ///< authenticated envelopes whose relay counter did not grow (a replay), or from one relay too many
    own,            ///< this relay's own envelopes come back (a loop NATS's no-echo should prevent)
    refused,        ///< envelopes the group profile refused (an outsider's message, a commit out of order)
    disconnects,    ///< times the NATS connection was lost
    reconnects,     ///< times it came back
    conflicts,      ///< commits the federation's order refused: another relay's commit came first (JetStream)
    late_conflicts, ///< commits the order stored though they conflict (its check raced), dropped at every relay alike
    misplaced,      ///< authenticated envelopes on the wrong subject: a commit for the order outside it, or another kind in it
    inbound_waits,  ///< receptions from a stream that waited for room in the inbound queue (nothing dropped: the stream keeps them)
    missed,         ///< stream sequences a reader never received: its limits removed them before it read them
    connect_retries, ///< failed attempts at the first connection (NATS down or not answering), each retried
    order_full,     ///< commits the commit stream refused because it is full (it removes none: DiscardNew)
    caught_up,      ///< commits stored before this relay started, replayed to rebuild the group's state (catch-up)
    presence_asked, ///< other relays' requests for this relay's presence, each answered (catch-up)
    presence_answers, ///< presence this relay published in those answers
};
inline constexpr std::array<std::string_view, 23> federation_counter_names{
    "published", "publish_errors", "queue_full", "received", "inbound_full", "delivered",
    "malformed", "unauthenticated", "replayed", "own", "refused", "disconnects", "reconnects",
    "conflicts", "late_conflicts", "misplaced", "inbound_waits", "missed", "connect_retries", "order_full",
    "caught_up", "presence_asked", "presence_answers",
};
using federation_counters = core::counters<federation_counter, federation_counter_names>;

} // namespace tlvcast::federation
