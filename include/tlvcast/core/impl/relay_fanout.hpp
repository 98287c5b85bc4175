// SPDX-License-Identifier: BSL-1.0
// relay_engine's fan-out of an opaque blob to its recipients: who they are (members by delivery
// mode, outsiders), and the unicast members' shared stream: one split, the same bytes to each,
// NACKed by them alone.
// Included at the bottom of core/relay_engine.hpp, which declares these members.
#pragma once

#include <tlvcast/core/relay_engine.hpp>
#include <tlvcast/wire/detail/endian.hpp>
#include <tlvcast/wire/repair.hpp>

namespace tlvcast::core {

template <class Cipher, class Fragmenter>
void relay_engine<Cipher, Fragmenter>::forward_per_destination(const endpoint& from, const session_type* sender,
                                                               time_point now, datagram_batch& out, bool to_sender)
{
    std::uint64_t relayed = 0;
    const auto to_peer = [&](const endpoint& ep) {
        if (ep == from && !to_sender)
            return;
        const auto it = peers_.find(ep);
        if (it != peers_.end() && send_blob(ep, *it->second.session, message_, now, out))
            ++relayed;
    };
    if constexpr (requires { cipher_.delivery_group(*sender); }) {
        if (fanout_.stale)
            rebuild_fanout(out);
        if (shares_stream()) {
            if (!fanout_.unicast.empty())
                relayed += shared_split(from, now, out, to_sender);
            for (const endpoint& ep : fanout_.outsiders) // never the shared stream: not its id either
                to_peer(ep);
        } else {
            for (const endpoint& ep : fanout_.unicast)
                to_peer(ep);
        }
        const std::size_t grouped =
            fanout_.grouped - (!to_sender && sender && cipher_.delivery_group(*sender) ? 1 : 0);
        if (grouped != 0) {
            std::error_code ec;
            split_.clear();
            fragmenter_.split(message_, *fanout_.group, now, split_, ec);
            if (ec)
                counters_.add(relay_counter::send_errors);
            else
                relayed += grouped;
            protect_split(out); // to the group: bare
        }
    } else {
        for (const auto& [ep, q] : peers_)
            to_peer(ep);
    }
    counters_.add(relay_counter::messages_relayed, relayed);
}

template <class Cipher, class Fragmenter>
std::size_t relay_engine<Cipher, Fragmenter>::shared_split(const endpoint& from, time_point now, datagram_batch& out,
                                                           bool to_sender)
{
    if constexpr (shared_unicast) {
        std::error_code ec;
        split_.clear();
        fragmenter_.split(message_, Fragmenter::unicast_fanout, now, split_, ec);
        if (ec) {
            counters_.add(relay_counter::send_errors);
            protect_split(out); // control the split appended, if any, still leaves
            return 0;
        }
        // With repair the sender gets its own message too, as from a multicast group: a stream
        // that skipped its seqs would look lossy to it.
        const bool echo = to_sender || fragmenter_.limits().repair;
        const endpoint* skip = echo ? nullptr : &from;
        std::size_t n = 0;
        bool echoed = false; // the sender was among them (counted as a recipient only with to_sender)
        for (std::size_t i = 0; i < split_.size(); ++i) {
            const auto d = split_[i];
            if (d.to == Fragmenter::unicast_fanout)
                n = fan_out(d.bytes, skip, out, &from, &echoed);
            else
                protect_to_peer(d, out);
        }
        return n - (echoed && !to_sender ? 1 : 0); // recipients, not echoes
    } else {
        (void)from, (void)now, (void)out, (void)to_sender;
        return 0;
    }
}

template <class Cipher, class Fragmenter>
std::size_t relay_engine<Cipher, Fragmenter>::fan_out(std::span<const std::byte> bytes, const endpoint* skip,
                                                      datagram_batch& out, const endpoint* sender, bool* to_sender)
{
    std::size_t first = out.size(), n = 0;
    for (const endpoint& ep : fanout_.unicast) {
        if (skip && ep == *skip)
            continue;
        if (sender && ep == *sender)
            *to_sender = true;
        if (n++ == 0)
            out.push(ep, bytes);
        else
            out.repeat(first, ep);
    }
    return n;
}

template <class Cipher, class Fragmenter>
void relay_engine<Cipher, Fragmenter>::rebuild_fanout(datagram_batch& out)
{
    fanout_.before.swap(fanout_.unicast);
    fanout_.unicast.clear();
    fanout_.outsiders.clear();
    fanout_.group.reset();
    fanout_.grouped = 0;
    for (const auto& [ep, q] : peers_) {
        if (const auto g = cipher_.delivery_group(*q.session)) {
            fanout_.group = *g;
            ++fanout_.grouped;
        } else if (shares_stream() && !is_member(*q.session)) {
            // Whoever hears the shared stream knows its id and next seq, which is enough to spoil
            // it for every member with one spoofed datagram: only the group's members hear it.
            fanout_.outsiders.push_back(ep);
        } else {
            fanout_.unicast.push_back(ep);
        }
    }
    fanout_.stale = false;
    if constexpr (shared_unicast) {
        if (!shares_stream())
            return;
        // Who hears the shared stream from now on (a joiner once a commit added it, a member at a
        // new address) starts where it stands, as told in its records (tell_start).
        std::sort(fanout_.before.begin(), fanout_.before.end());
        for (const endpoint& ep : fanout_.unicast)
            if (!std::binary_search(fanout_.before.begin(), fanout_.before.end(), ep))
                tell_start(ep, *peers_.at(ep).session, Fragmenter::unicast_fanout, out);
    } else {
        (void)out;
    }
}

template <class Cipher, class Fragmenter>
bool relay_engine<Cipher, Fragmenter>::is_member(const session_type& s) const
{
    if constexpr (requires { cipher_.is_member(s); })
        return cipher_.is_member(s);
    else
        return true;
}

template <class Cipher, class Fragmenter>
bool relay_engine<Cipher, Fragmenter>::refuse_shared_nack(const endpoint& from, const peer& p, const wire::tlv& t,
                                                          datagram_batch& out)
{
    if constexpr (opaque && shared_unicast && requires { cipher_.delivery_group(*p.session); }) {
        if (t.type() != wire::tlv_type::repair_nack || t.value.size() < 4 || !shares_stream())
            return false;
        const std::uint32_t id = wire::detail::load_u32(t.value.data());
        const auto shared = fragmenter_.stream_id(Fragmenter::unicast_fanout);
        if (!shared || *shared != id || (is_member(*p.session) && !cipher_.delivery_group(*p.session)))
            return false;
        // Answered exactly as a NACK of a stream the relay does not have (the Fragmenter's GONE of
        // everything, inside the asker's records): NACKs cannot probe for the shared stream's id,
        // nor learn its next seq from a TAIL.
        split_.clear();
        const std::size_t mark = split_.mark();
        wire::append_repair_gone(split_.bytes(), id, 0, 0xffffffffu);
        split_.commit(from, mark);
        protect_split(out);
        return true;
    } else {
        (void)from, (void)p, (void)t, (void)out;
        return false;
    }
}

} // namespace tlvcast::core
