// SPDX-License-Identifier: BSL-1.0
// basic_cipher's federated side: a blob another relay of the federation published, checked as a
// hostile datagram would be, and fed to this relay's sequencer so that every relay of the
// federation follows one commit chain (docs/FEDERATION.md). Included by profile/group/cipher.hpp.
#pragma once

#include <tlvcast/profile/group/cipher.hpp>

namespace tlvcast::profile::group {

template <class Suite, class Aead, class Random>
crypto::message_kind basic_cipher<Suite, Aead, Random>::classify_federated(bool presence, std::span<const std::byte> blob,
                                                                           const crypto::fingerprint& origin,
                                                                           std::error_code& ec, bool ordered,
                                                                           bool history) const
{
    using k = crypto::message_kind;
    wire::tlv_reader r(blob);
    wire::tlv t;
    if (!r.next(t, ec) || !r.done()) { // the type table bounds every value's length
        ec = errc::malformed;
        return k::data;
    }
    // Under an external order, commits come only through it and nothing else does: a commit beside
    // it would let one relay's members skip the order, and the order's sequence is commits only.
    const bool commit = !presence && t.type() == wire::tlv_type::group_commit;
    if ((ordered ? !(external_order_ && commit) : (external_order_ && commit)) || (history && !ordered)) {
        ec = errc::unexpected_type;
        return k::data;
    }
    if (presence) {
        // Relay-made: it speaks of `origin`, who joined or left at another relay.
        if (t.type() != wire::tlv_type::group_presence) {
            ec = errc::unexpected_type;
            return k::data;
        }
        const presence_view pv = read_presence(t.value, ec);
        if (ec)
            return k::data;
        if (pv.identity != origin || (pv.joined && !pv.join)) {
            ec = errc::identity_mismatch;
            return k::data;
        }
        if (pv.joined) {
            if (crypto::fingerprint_of<Suite>(pv.join->kp.entry.identity) != origin) {
                ec = errc::identity_mismatch;
                return k::data;
            }
            // Checked as a local join is: junk never reaches the members.
            if (!profile::group::detail::key_package_valid(hop_.party(), pv.join->kp)) {
                ec = errc::authentication_failed;
                return k::data;
            }
            // The remote set feeds the founding rule, and keeps the presence for the members who
            // register later (introductions()), unless this relay's own admission would refuse the
            // joiner. Full (anyone with NATS credentials can fill it with identities it made), this
            // joiner goes uncounted, but its presence still reaches the members: refusing it would
            // hide a real joiner from every committer here.
            const bool keep = !settings().relay_admission ||
                              admissible<Suite>(hop_.party(), settings(), relay_roster_, pv.join->kp.entry.identity,
                                                pv.join->cert);
            std::error_code full;
            remote_->joined(origin, pv.about, full, keep ? blob : std::span<const std::byte>{}, pv.join->kp.entry.seq);
        } else {
            remote_->left(origin, pv.about);
        }
        return k::join; // to each member, as the relay's own presence
    }
    switch (t.type()) {
    case wire::tlv_type::group_message:
    case wire::tlv_type::group_batch:
    case wire::tlv_type::group_part:
        if (!sequencer_->may_send(origin))
            ec = errc::not_a_member;
        return k::data;
    case wire::tlv_type::group_welcome: sequencer_->accept_welcome(t.value, origin, ec); return k::data;
    case wire::tlv_type::group_commit: {
        // The publishing relay saw `origin` commit from a live session; a founding commit is taken
        // only while no member of this relay's group is live anywhere this relay knows of.
        const auto present = [&](const crypto::fingerprint& fp) {
            return fp == origin || live_->contains(fp) || remote_->contains(fp);
        };
        // Stored before this relay started (catch-up): who was present then is unknown here, and
        // the welcome pages went by; the rest is checked as always (sequencer::replay_commit).
        if (!settings().relay_admission) {
            if (history)
                sequencer_->replay_commit(t.value, origin, ec);
            else
                sequencer_->accept_commit(t.value, origin, present, ec);
            return k::ordered;
        }
        // The relay's own admission applies to a founder or an addition wherever it committed:
        // otherwise a NATS publisher founds (or adds) what a local client could not.
        const auto admit = [this](const key_package_view& kp, std::optional<bytes> cert) -> std::error_code {
            if (admissible<Suite>(hop_.party(), settings(), relay_roster_, kp.entry.identity, cert))
                return {};
            return errc::admission_refused;
        };
        if (history)
            sequencer_->replay_commit(t.value, origin, ec, admit);
        else
            sequencer_->accept_commit(t.value, origin, present, ec, admit);
        return k::ordered;
    }
    default: ec = errc::unexpected_type; return k::data; // joins, leaves, syncs stay at their relay
    }
}

} // namespace tlvcast::profile::group
