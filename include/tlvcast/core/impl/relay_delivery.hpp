// SPDX-License-Identifier: BSL-1.0
// relay_engine's delivery paths: reseal inline or as a job, opaque forward, one blob to one recipient
// (the fan-out to a Cipher's delivery groups and members: impl/relay_fanout.hpp).
// Included at the bottom of core/relay_engine.hpp, which declares these members.
#pragma once

#include <tlvcast/core/relay_engine.hpp>

namespace tlvcast::core {

template <class Cipher, class Fragmenter>
void relay_engine<Cipher, Fragmenter>::on_message(const endpoint& from, peer& p, time_point now, datagram_batch& out,
                                                  std::vector<relay_event>& events)
{
    if constexpr (opaque) {
        std::error_code ec;
        const crypto::message_kind kind = cipher_.classify(*p.session, message_, ec);
        if (ec) { // classify opens nothing: a refusal by the profile's rules, not a bad ciphertext
            counters_.add(relay_counter::refused);
            return;
        }
        counters_.add(relay_counter::messages_in);
        if (kind == crypto::message_kind::request) {
            if constexpr (requires { cipher_.answer(*p.session, message_, replies_, ec); }) {
                replies_.clear();
                cipher_.answer(*p.session, message_, replies_, ec);
                if (ec)
                    counters_.add(relay_counter::refused);
                for (const auto& r : replies_)
                    send_blob(from, *p.session, r, now, out);
            }
            return;
        }
        if (kind == crypto::message_kind::join || kind == crypto::message_kind::leave)
            return on_control(from, p.session, kind, now, out, events);
        if (kind == crypto::message_kind::proposed) { // the federation orders it: applied when it comes back
            if (const auto who = cipher_.identity(*p.session); who && federate_)
                federate_({false, message_, *who, true});
            return;
        }
        if (kind == crypto::message_kind::ordered)
            fanout_.stale = true; // a commit changes who is a member: it reaches the new roster
        events.push_back({relay_event::kind::message, from, message_.size(), cipher_.identity(*p.session)});
        forward_opaque(from, p.session.get(), now, out, kind == crypto::message_kind::ordered);
        if (federate_) // what the relay accepted goes to the other sites too, unchanged
            if (const auto who = cipher_.identity(*p.session))
                federate_({false, message_, *who});
    } else {
        if constexpr (crypto::cheap_delivery<Cipher>) {
            deliver_inline(from, p.session, now, out, events);
        } else {
            if (jobs_ >= opt_.max_jobs) {
                counters_.add(relay_counter::overloaded);
                return;
            }
            auto job = take_job();
            job->from = from;
            job->sender = p.session;
            job->blob.swap(message_);
            job->recipients.clear();
            for (const auto& [ep, q] : peers_)
                if (ep != from)
                    job->recipients.push_back({ep, q.session});
            ++jobs_;
            if (opt_.defer_jobs) {
                ready_.push_back(std::move(job));
            } else {
                job->run(cipher_);
                complete(std::move(job), now, out, events);
            }
        }
    }
}

template <class Cipher, class Fragmenter>
void relay_engine<Cipher, Fragmenter>::deliver_inline(const endpoint& from, const std::shared_ptr<session_type>& sender,
                                                      time_point now, datagram_batch& out,
                                                      std::vector<relay_event>& events)
{
    std::error_code ec;
    const crypto::message_kind kind = cipher_.open(*sender, message_, plaintext_, ec);
    if (ec) { // a blob that opened but does not parse (a bad batch, say) is malformed
        counters_.add(ec == errc::malformed ? relay_counter::malformed : relay_counter::undecryptable);
        return;
    }
    detail::message_sizes(cipher_, kind, plaintext_, sizes_);
    counters_.add(relay_counter::messages_in, sizes_.size());
    if (!crypto::forwarded_as_data(kind))
        return on_reseal_control(from, sender, kind, now, out, events);
    const auto who = cipher_.identity(*sender);
    for (const std::size_t size : sizes_) // a batch: one event per message, as if sent one by one
        events.push_back({relay_event::kind::message, from, size, who});
    for (auto& [ep, q] : peers_) {
        if (ep == from)
            continue;
        detail::seal_relayed(cipher_, kind, *q.session, *sender, from, plaintext_, blob_, ec);
        if (ec)
            counters_.add(relay_counter::send_errors);
        else if (send_blob(ep, *q.session, blob_, now, out))
            counters_.add(relay_counter::messages_relayed, sizes_.size());
    }
}

template <class Cipher, class Fragmenter>
void relay_engine<Cipher, Fragmenter>::finish_job(job_type& job, time_point now, datagram_batch& out,
                                                  std::vector<relay_event>& events)
{
    if (job.open_error) {
        counters_.add(job.open_error == errc::malformed ? relay_counter::malformed : relay_counter::undecryptable);
        return;
    }
    counters_.add(relay_counter::messages_in, job.sizes.size());
    if (!crypto::forwarded_as_data(job.kind))
        return on_reseal_control(job.from, job.sender, job.kind, now, out, events);
    const auto who = cipher_.identity(*job.sender);
    for (const std::size_t size : job.sizes)
        events.push_back({relay_event::kind::message, job.from, size, who});
    for (std::size_t i = 0; i < job.recipients.size(); ++i) {
        const auto& r = job.recipients[i];
        if (job.failed[i]) {
            counters_.add(relay_counter::send_errors);
            continue;
        }
        if (send_blob(r.to, *r.session, job.sealed[i], now, out))
            counters_.add(relay_counter::messages_relayed, job.sizes.size());
    }
}

template <class Cipher, class Fragmenter>
bool relay_engine<Cipher, Fragmenter>::send_blob(const endpoint& to, session_type& session,
                                                 std::span<const std::byte> blob, time_point now, datagram_batch& out)
{
    std::error_code ec;
    if constexpr (Cipher::has_record_layer) {
        split_.clear();
        fragmenter_.split(blob, to, now, split_, ec);
        std::error_code refused; // the rest of a message the record layer refused would not help
        for (std::size_t i = 0; i < split_.size(); ++i) {
            const auto d = split_[i];
            if (d.to != to)
                protect_to_peer(d, out);
            else if (!refused)
                detail::protect_one(cipher_, session, to, d.bytes, record_, out, refused);
        }
        if (!ec)
            ec = refused;
    } else {
        (void)session;
        fragmenter_.split(blob, to, now, out, ec);
    }
    if (ec)
        counters_.add(relay_counter::send_errors);
    return !ec;
}

template <class Cipher, class Fragmenter>
void relay_engine<Cipher, Fragmenter>::protect_split(datagram_batch& out)
{
    for (std::size_t i = 0; i < split_.size(); ++i)
        protect_to_peer(split_[i], out);
}

template <class Cipher, class Fragmenter>
void relay_engine<Cipher, Fragmenter>::protect_to_peer(const datagram_batch::entry& d, datagram_batch& out)
{
    std::error_code ec;
    const auto it = peers_.find(d.to);
    if constexpr (opaque && shared_unicast) {
        // The unicast peers' shared stream (a tail, parity): bare to each, as its datagrams.
        if (d.to == Fragmenter::unicast_fanout) {
            if (fanout_.stale)
                rebuild_fanout(out);
            fan_out(d.bytes, nullptr, out);
            return;
        }
    }
    if constexpr (opaque) {
        // To the delivery group (a repair, a tail): bare, as the forwarded datagrams it repairs.
        if (it == peers_.end() && d.to.is_multicast()) {
            out.push(d.to, d.bytes);
            return;
        }
    }
    if (it == peers_.end() || !detail::protect_one(cipher_, *it->second.session, d.to, d.bytes, record_, out, ec))
        counters_.add(relay_counter::send_errors);
}

template <class Cipher, class Fragmenter>
void relay_engine<Cipher, Fragmenter>::drain_fragmenter(time_point now, datagram_batch& out,
                                                        std::vector<relay_event>& events)
{
    if constexpr (fragment::queuing_fragmenter<Fragmenter>) {
        endpoint from;
        while (fragmenter_.pop_message(from, message_)) {
            const auto it = peers_.find(from);
            if (it == peers_.end())
                counters_.add(relay_counter::unregistered); // it left while its message was repaired
            else
                on_message(from, it->second, now, out, events);
        }
        fragment::repair_notice n;
        while (fragmenter_.pop_notice(n))
            counters_.add(relay_counter::unrecoverable);
        if constexpr (requires(fragment::slow_notice& sn) { fragmenter_.pop_slow(sn); }) {
            fragment::slow_notice sn;
            while (fragmenter_.pop_slow(sn)) {
                counters_.add(relay_counter::slow_receivers);
                relay_event e{relay_event::kind::slow_receiver, sn.peer, sn.bytes, std::nullopt};
                e.held = sn.held;
                events.push_back(std::move(e));
            }
        }
    } else {
        (void)now, (void)out, (void)events;
    }
}

template <class Cipher, class Fragmenter>
void relay_engine<Cipher, Fragmenter>::on_reseal_control(const endpoint& from, const std::shared_ptr<session_type>& sender,
                                                         crypto::message_kind kind, time_point now, datagram_batch& out,
                                                         std::vector<relay_event>& events)
{
    if (kind == crypto::message_kind::join || kind == crypto::message_kind::leave)
        on_control(from, sender, kind, now, out, events);
    else
        counters_.add(relay_counter::unexpected_type); // ordered and request need opaque forwarding
}

template <class Cipher, class Fragmenter>
void relay_engine<Cipher, Fragmenter>::forward_opaque(const endpoint& from, const session_type* sender, time_point now,
                                                      datagram_batch& out, bool to_sender)
{
    if constexpr (fragment::per_destination<Fragmenter>)
        return forward_per_destination(from, sender, now, out, to_sender);
    std::error_code ec;
    const std::size_t first = out.size();
    const std::size_t byte_mark = out.mark();
    split_.clear();
    fragmenter_.split(message_, from, now, out, ec);
    if constexpr (fragment::control_fragmenter<Fragmenter>)
        take_control(first, byte_mark, out);
    if (ec) {
        out.truncate(first, byte_mark); // nothing of a failed split goes to anyone
        counters_.add(relay_counter::send_errors);
        protect_split(out);
        return;
    }
    const std::size_t count = out.size() - first;
    bool first_recipient = true;
    const auto send_to = [&](const endpoint& to) {
        for (std::size_t i = 0; i < count; ++i) {
            if (first_recipient)
                out.retarget(first + i, to);
            else
                out.repeat(first + i, to);
        }
        first_recipient = false;
    };
    std::uint64_t relayed = 0;
    if constexpr (requires { cipher_.delivery_group(*sender); }) {
        // Peers that take forwarded blobs from a multicast group (the Cipher says which) get one copy
        // there between them; the rest get their own.
        if (fanout_.stale)
            rebuild_fanout(out);
        for (const endpoint& ep : fanout_.unicast)
            if (ep != from || to_sender) {
                ++relayed;
                send_to(ep);
            }
        const std::size_t grouped =
            fanout_.grouped - (!to_sender && sender && cipher_.delivery_group(*sender) ? 1 : 0);
        if (grouped != 0) {
            relayed += grouped;
            send_to(*fanout_.group);
        }
    } else {
        for (const auto& [ep, q] : peers_)
            if (ep != from || to_sender) {
                ++relayed;
                send_to(ep);
            }
    }
    counters_.add(relay_counter::messages_relayed, relayed); // one atomic add per message, not per peer
    if (first_recipient) // nobody to forward to
        out.truncate(first, byte_mark);
    protect_split(out);
}

template <class Cipher, class Fragmenter>
void relay_engine<Cipher, Fragmenter>::take_control(std::size_t first, std::size_t byte_mark, datagram_batch& out)
{
    const auto is_control = [](std::span<const std::byte> d) {
        std::error_code ec;
        const wire::tlv t = wire::read_outer(d, ec);
        return !ec && fragment::handles_control<Fragmenter>(t.type());
    };
    std::size_t i = first;
    while (i < out.size() && !is_control(out[i].bytes))
        ++i;
    if (i == out.size())
        return;
    moved_.clear();
    for (std::size_t j = first; j < out.size(); ++j)
        moved_.push(out[j].to, out[j].bytes);
    out.truncate(first, byte_mark);
    for (std::size_t j = 0; j < moved_.size(); ++j)
        (is_control(moved_[j].bytes) ? split_ : out).push(moved_[j].to, moved_[j].bytes);
}

} // namespace tlvcast::core
