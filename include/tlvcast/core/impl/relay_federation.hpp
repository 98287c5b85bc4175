// SPDX-License-Identifier: BSL-1.0
// relay_engine's federated input: a blob another relay published, delivered to this relay's members
// as if one of them had sent it. Included at the bottom of core/relay_engine.hpp.
#pragma once

#include <tlvcast/core/relay_engine.hpp>

namespace tlvcast::core {

template <class Cipher, class Fragmenter>
bool relay_engine<Cipher, Fragmenter>::handle_federated(const federated_blob& in, time_point now, datagram_batch& out,
                                                        std::vector<relay_event>& events)
{
    if constexpr (opaque && requires(std::error_code& ec) {
                      cipher_.classify_federated(in.presence, in.blob, in.origin, ec, in.ordered, in.history);
                  }) {
        const std::size_t before = out.size();
        std::error_code ec;
        if ((in.refresh && !in.presence) || (in.history && !in.ordered)) {
            counters_.add(relay_counter::refused);
            return false;
        }
        const crypto::message_kind kind =
            cipher_.classify_federated(in.presence, in.blob, in.origin, ec, in.ordered, in.history);
        if (ec) {
            counters_.add(relay_counter::refused);
            return false;
        }
        if (in.history || in.refresh) { // state only: no member is told
            if (kind == crypto::message_kind::ordered)
                fanout_.stale = true; // the roster changed
            return true;
        }
        if (kind == crypto::message_kind::join) {
            // Presence: to each member, inside its records, as the relay's own.
            for (auto& [ep, q] : peers_)
                if (send_blob(ep, *q.session, in.blob, now, out))
                    counters_.add(relay_counter::presence_sent);
        } else {
            counters_.add(relay_counter::messages_in);
            events.push_back({relay_event::kind::message, endpoint{}, in.blob.size(), in.origin});
            message_.assign(in.blob.begin(), in.blob.end());
            if (kind == crypto::message_kind::ordered)
                fanout_.stale = true; // a commit changes who is a member: it reaches the new roster
            forward_opaque(endpoint{}, nullptr, now, out); // no local sender: every member gets it
        }
        count_out(out, before);
        return true;
    } else {
        (void)in, (void)now, (void)out, (void)events;
        counters_.add(relay_counter::unexpected_type); // a Cipher that cannot check federated blobs
        return false;
    }
}

template <class Cipher, class Fragmenter>
std::size_t relay_engine<Cipher, Fragmenter>::republish_presence()
{
    std::size_t n = 0;
    if constexpr (opaque) {
        if (!federate_)
            return 0;
        for (auto& [ep, q] : peers_) {
            if (!q.connected)
                continue; // registered, not joined: nothing was announced
            std::error_code ec;
            cipher_.presence(*q.session, true, q.session.get(), ep, blob_, ec);
            const auto who = cipher_.identity(*q.session);
            if (ec || blob_.empty() || !who)
                continue;
            federated_blob b;
            b.presence = true;
            b.refresh = true;
            b.blob = blob_;
            b.origin = *who;
            federate_(b);
            ++n;
        }
    }
    return n;
}

} // namespace tlvcast::core
