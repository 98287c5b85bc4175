// SPDX-License-Identifier: BSL-1.0
// relay_engine's peer table: registration, authenticated records, inbound dispatch, join/leave, presence.
// Included at the bottom of core/relay_engine.hpp, which declares these members.
#pragma once

#include <tlvcast/core/relay_engine.hpp>

namespace tlvcast::core {

template <class Cipher, class Fragmenter>
bool relay_engine<Cipher, Fragmenter>::try_handshake(const endpoint& from, const wire::tlv& t, time_point now,
                                                     datagram_batch& out, std::vector<relay_event>& events)
{
    std::optional<session_type> registered;
    std::error_code ec;
    const auto known = peers_.find(from);
    const session_type* current = known != peers_.end() ? known->second.session.get() : nullptr;
    const std::size_t mark = out.size();
    const std::size_t byte_mark = out.mark();
    if (!cipher_.relay_handshake(from, t, now, out, current, registered, ec))
        return false;
    if (ec) {
        counters_.add(relay_counter::handshake_errors);
        return true;
    }
    if (registered) {
        auto it = peers_.find(from);
        if (it == peers_.end()) {
            const bool full = peers_.size() >= opt_.max_clients;
            if (full || !take_source(from)) {
                // Take back the cipher's answer: the client must not believe it registered.
                out.truncate(mark, byte_mark);
                counters_.add(full ? relay_counter::clients_full : relay_counter::source_full);
                return true;
            }
            it = peers_.emplace(from, peer{}).first;
            if (peers_.size() == 1)
                next_sweep_ = now + sweep_period();
            counters_.add(relay_counter::registrations);
            events.push_back({relay_event::kind::registered, from, 0, cipher_.identity(*registered)});
        }
        // Another identity took this endpoint over (a dead member's port reused): the member that
        // held it is gone, as if it had left; the newcomer announces itself when it joins.
        std::shared_ptr<session_type> replaced;
        if (it->second.session && it->second.connected &&
            cipher_.identity(*it->second.session) != cipher_.identity(*registered)) {
            replaced = std::move(it->second.session);
            it->second.connected = false;
        }
        // A new session object: a job still holding the old one finishes with it. When another
        // identity took the address over, the Fragmenter forgets every stream of it: the newcomer
        // must not be repaired with what was sent to the member before. The same identity's
        // streams go on across its re-handshakes (probes, rekeys), so nothing in flight is lost
        // (docs/SECURITY.md: a member restarted at the same address may get again what its
        // previous run was sent in the last cache_age).
        const bool same_client = it->second.session && !replaced &&
                                 cipher_.identity(*it->second.session) == cipher_.identity(*registered);
        it->second.session = std::make_shared<session_type>(std::move(*registered));
        if (!same_client)
            fragmenter_.forget(from);
        // Every handshake: a process restarted in place (the same identity) heard none of the
        // announcements its previous run did (a re-key's redundant introductions are bounded).
        it->second.registered = ++peer_order_;
        if constexpr (requires { cipher_.remote_stamp(); })
            it->second.remote_seen = cipher_.remote_stamp();
        fanout_.stale = true;
        it->second.last_seen = now;
        if (replaced) {
            events.push_back({relay_event::kind::disconnected, from, 0, cipher_.identity(*replaced)});
            announce(from, replaced.get(), false, now, out);
        }
    }
    // Other handshake datagrams do not keep a session alive: anyone can send them from its
    // address (a cookie-less hello, a copied CLIENT_AUTH), and a session whose client gave up
    // (its acceptance lost) must time out. Registered clients are heard in keep-alives and records.
    return true;
}

template <class Cipher, class Fragmenter>
void relay_engine<Cipher, Fragmenter>::receive_record(const endpoint& from, const wire::tlv& outer, time_point now,
                                                      datagram_batch& out, std::vector<relay_event>& events)
{
    if constexpr (Cipher::has_record_layer) {
        const auto it = peers_.find(from);
        if (it == peers_.end()) {
            counters_.add(relay_counter::unregistered);
            return;
        }
        std::error_code ec;
        cipher_.unprotect(*it->second.session, outer.value, record_, ec);
        if (ec) {
            counters_.add(relay_counter::undecryptable);
            return;
        }
        const wire::tlv t = wire::read_outer(record_, ec);
        if (ec) {
            counters_.add(relay_counter::malformed);
            return;
        }
        it->second.last_seen = now;
        dispatch(from, it->second, t, now, out, events, false);
    }
}

template <class Cipher, class Fragmenter>
void relay_engine<Cipher, Fragmenter>::dispatch(const endpoint& from, peer& p, const wire::tlv& t, time_point now,
                                                datagram_batch& out, std::vector<relay_event>& events, bool reassembled)
{
    std::error_code ec;
    bool complete = false;
    switch (detail::route_of<Fragmenter>(t.type())) {
    case detail::route::keepalive: return;
    case detail::route::fragment:
        if (reassembled)
            break;
        split_.clear();
        complete = fragmenter_.reassemble(from, t.value, now, split_, message_, ec);
        // Its answer (an ACK, a NACK) leaves now, before on_message() may reuse split_.
        protect_split(out);
        if (ec)
            counters_.add(relay_counter::reassembly_dropped);
        if (complete)
            on_message(from, p, now, out, events);
        drain_fragmenter(now, out, events);
        return;
    case detail::route::fragmenter_control:
        if (reassembled) // no repair inside a repaired message
            break;
        if (refuse_shared_nack(from, p, t, out)) {
            counters_.add(relay_counter::reassembly_dropped); // as the Fragmenter's refusal is
            return;
        }
        if constexpr (fragment::control_fragmenter<Fragmenter>) {
            split_.clear();
            complete = fragmenter_.handle_control(from, t, now, split_, message_, ec);
            protect_split(out);
            if (ec)
                counters_.add(relay_counter::reassembly_dropped);
            else if (complete)
                on_message(from, p, now, out, events);
            drain_fragmenter(now, out, events);
        }
        return;
    case detail::route::cipher:
        // A message small enough to travel whole.
        if (reassembled)
            break;
        message_.assign(t.bytes().begin(), t.bytes().end());
        on_message(from, p, now, out, events);
        return;
    }
    counters_.add(relay_counter::unexpected_type);
}

template <class Cipher, class Fragmenter>
void relay_engine<Cipher, Fragmenter>::on_control(const endpoint& from, std::shared_ptr<session_type> session,
                                                  crypto::message_kind kind, time_point now, datagram_batch& out,
                                                  std::vector<relay_event>& events)
{
    fanout_.stale = true; // a join may choose a delivery group; a leave removes a peer
    auto it = peers_.find(from);
    // A job that completes after its sender registered again speaks for the old session only.
    if (it != peers_.end() && it->second.session != session)
        it = peers_.end();
    if (kind == crypto::message_kind::join) {
        if (it == peers_.end())
            return;
        if (it->second.connected) {
            // A process restarted in place joined again with a newer key package (the Cipher
            // replaced the join its session carried over the re-key): the members must hear of it.
            // A new process knows none of its streams: it is told where its part begins, of the
            // data group, or of the shared unicast stream when the plan lists it already (else
            // rebuild_fanout tells it, as any newcomer to the plan).
            if constexpr (requires { cipher_.take_rejoin(*session); })
                if (cipher_.take_rejoin(*session)) {
                    if constexpr (requires { cipher_.delivery_group(*session); }) {
                        if (const auto g = cipher_.delivery_group(*session)) {
                            tell_start(from, *session, *g, out);
                        } else if constexpr (shared_unicast) {
                            const auto& u = fanout_.unicast;
                            if (shares_stream() && std::find(u.begin(), u.end(), from) != u.end())
                                tell_start(from, *session, Fragmenter::unicast_fanout, out);
                        }
                    }
                    announce(from, session.get(), true, now, out);
                    it->second.announced = ++peer_order_;
                }
            return;
        }
        it->second.connected = true;
        it->second.announced = ++peer_order_;
        events.push_back({relay_event::kind::connected, from, 0, cipher_.identity(*session)});
        if constexpr (requires { cipher_.delivery_group(*session); })
            if (const auto g = cipher_.delivery_group(*session)) // the shared stream: rebuild_fanout
                tell_start(from, *session, *g, out);
        announce(from, session.get(), true, now, out);
        introduce(from, *session, it->second, now, out);
    } else {
        if (it == peers_.end())
            return;
        const bool was_connected = it->second.connected;
        peers_.erase(it);
        fragmenter_.forget(from);
        release_source(from);
        events.push_back({relay_event::kind::disconnected, from, 0, cipher_.identity(*session)});
        if (was_connected)
            announce(from, session.get(), false, now, out);
    }
}

template <class Cipher, class Fragmenter>
void relay_engine<Cipher, Fragmenter>::tell_start(const endpoint& member, session_type& session, const endpoint& stream,
                                                  datagram_batch& out)
{
    // A member that joins a stream of many mid-way (the shared unicast stream, a data group) learns
    // in its records where its part begins (REPAIR_START): it would otherwise read a young stream
    // from seq 0 and be repaired what was sent before it joined (stale commits of a dead group, say).
    if constexpr (opaque && requires(std::vector<std::byte>& v) { fragmenter_.append_start(stream, member, v); }) {
        std::vector<std::byte> mark;
        std::error_code ec;
        if (fragmenter_.append_start(stream, member, mark) &&
            !detail::protect_one(cipher_, session, member, mark, record_, out, ec))
            counters_.add(relay_counter::send_errors);
    } else {
        (void)member, (void)session, (void)stream, (void)out;
    }
}

template <class Cipher, class Fragmenter>
void relay_engine<Cipher, Fragmenter>::introduce(const endpoint& to, session_type& session, const peer& p,
                                                 time_point now, datagram_batch& out)
{
    // A join is announced once, to the peers registered then. One that registers later may become
    // the member that must add it (the founder, when the earlier joiner's founding commit lost the
    // race to its own), and nothing else would tell it: the waiting joiner's repeated GROUP_JOIN is
    // the same join, which the relay does not announce twice. Only for a Cipher that knows its
    // members (the group profile); members are skipped: their joins are in the roster already.
    // At most as many as the group has room for (a join drew one presence per parked session),
    // and none the relay's own admission refuses.
    if constexpr (requires { cipher_.introducible(session); cipher_.join_room(); }) {
        std::size_t room = cipher_.join_room(); // the newcomer's own place among them
        room = room > 0 ? room - 1 : 0;
        introduced_.clear();
        for (auto& [ep, q] : peers_) {
            if (room == 0)
                break;
            if (ep == to || !q.connected || q.announced > p.registered || !cipher_.introducible(*q.session))
                continue; // (announced after `to` registered: it heard of it then)
            --room;
            if (const auto who = cipher_.identity(*q.session))
                introduced_.push_back(*who);
            std::error_code ec;
            cipher_.presence(session, true, q.session.get(), ep, blob_, ec);
            if (!ec && blob_.empty())
                continue;
            if (!ec && send_blob(to, session, blob_, now, out))
                counters_.add(relay_counter::presence_sent);
            else if (ec)
                counters_.add(relay_counter::send_errors);
        }
        // The joiners another relay of the federation announced, as their relay's presence: this
        // newcomer may be the member that must add them (a remote joiner's founding commit lost
        // the race to its own; tests/profile/group/review_introduce.cpp). Under the same cap.
        if constexpr (requires {
                          cipher_.remote_introductions(std::uint64_t{}, [](const crypto::fingerprint&, std::span<const std::byte>) {
                              return true;
                          });
                      }) {
            // Not itself, and not an identity the local ones introduced (one place under the cap
            // per identity: tests/profile/group/review_remote_intro.cpp).
            const auto self = cipher_.identity(session);
            cipher_.remote_introductions(p.remote_seen, [&](const crypto::fingerprint& fp, std::span<const std::byte> presence) {
                if (room == 0)
                    return false;
                if ((self && fp == *self) || std::find(introduced_.begin(), introduced_.end(), fp) != introduced_.end())
                    return true;
                --room;
                if (send_blob(to, session, presence, now, out))
                    counters_.add(relay_counter::presence_sent);
                return true;
            });
        }
    } else {
        (void)to, (void)session, (void)p, (void)now, (void)out;
    }
}

template <class Cipher, class Fragmenter>
void relay_engine<Cipher, Fragmenter>::announce(const endpoint& about, const session_type* about_session,
                                                bool connected, time_point now, datagram_batch& out)
{
    std::error_code ec;
    if constexpr (opaque) {
        // The other sites hear of this member too (the group profile's presence names no recipient).
        if (federate_ && about_session) {
            cipher_.presence(*about_session, connected, about_session, about, blob_, ec);
            const auto who = cipher_.identity(*about_session);
            if (!ec && !blob_.empty() && who)
                federate_({true, blob_, *who});
        }
    }
    for (auto& [ep, q] : peers_) {
        if (ep == about)
            continue;
        cipher_.presence(*q.session, connected, about_session, about, blob_, ec);
        if (!ec && blob_.empty()) // the profile has nothing to say about this one
            continue;
        if (!ec && send_blob(ep, *q.session, blob_, now, out))
            counters_.add(relay_counter::presence_sent);
        else if (ec)
            counters_.add(relay_counter::send_errors);
    }
}

} // namespace tlvcast::core
