// SPDX-License-Identifier: BSL-1.0
// basic_cipher's relay side: what a member's blob is (without opening it), GROUP_SYNC's answers and
// GROUP_PRESENCE. Included at the bottom of profile/group/cipher.hpp, which declares these members.
#pragma once

#include <tlvcast/profile/group/cipher.hpp>

namespace tlvcast::profile::group {

template <class Suite, class Aead, class Random>
crypto::message_kind basic_cipher<Suite, Aead, Random>::classify(const peer_session& p, std::span<const std::byte> blob,
                                                                 std::error_code& ec) const
{
    using k = crypto::message_kind;
    wire::tlv_reader r(blob);
    wire::tlv t;
    if (!r.next(t, ec) || !r.done()) {
        ec = errc::malformed;
        return k::data;
    }
    switch (t.type()) {
    case wire::tlv_type::group_message:
    case wire::tlv_type::group_batch:
    case wire::tlv_type::group_part:
        if (!sequencer_->may_send(p.hop.identity))
            ec = errc::not_a_member; // not forwarded: an outsider's would only cost the members work
        return k::data;
    case wire::tlv_type::group_welcome: sequencer_->accept_welcome(t.value, p.hop.identity, ec); return k::data;
    case wire::tlv_type::group_leave: return k::leave;
    case wire::tlv_type::group_sync: return k::request;
    case wire::tlv_type::group_commit: {
        // Members live at other relays of a federation count too: none may found a second group.
        const auto present = [this](const crypto::fingerprint& fp) {
            return live_->contains(fp) || remote_->contains(fp);
        };
        const auto admit = [this](const key_package_view& kp, std::optional<bytes> cert) -> std::error_code {
            if (admissible<Suite>(hop_.party(), settings(), relay_roster_, kp.entry.identity, cert))
                return {};
            return errc::admission_refused;
        };
        using admit_fn = std::function<std::error_code(const key_package_view&, std::optional<bytes>)>;
        const admit_fn admission = settings().relay_admission ? admit_fn(admit) : admit_fn{};
        if (external_order_) { // the same checks, applied only in the federation's order
            sequencer_->check_commit(t.value, p.hop.identity, present, ec, admission);
            return k::proposed;
        }
        sequencer_->accept_commit(t.value, p.hop.identity, present, ec, admission);
        return k::ordered;
    }
    case wire::tlv_type::group_join: {
        // A session joins once: the same join again (a member that waits repeats it) costs
        // nothing, another one is refused, and failed verifications are capped per session. Except
        // once over a join carried across a re-key: a process restarted in place (same identity,
        // same address) re-keys the old session and joins with its new key package, which must be
        // newer than the carried one (an old one replayed must not roll the member's key back).
        if (!p.join.empty()) {
            if (!p.join_carried && !std::equal(p.join.begin(), p.join.end(), t.value.begin(), t.value.end()))
                ec = errc::replayed;
            if (!p.join_carried || std::equal(p.join.begin(), p.join.end(), t.value.begin(), t.value.end()))
                return k::join;
        }
        if (p.join_failures >= max_join_failures) {
            ec = errc::rate_limited;
            return k::join;
        }
        const join_view j = read_join(t.value, ec);
        if (ec)
            return k::join;
        if (crypto::fingerprint_of<Suite>(j.kp.entry.identity) != p.hop.identity) {
            ec = errc::identity_mismatch;
            return k::join;
        }
        if (p.join_carried) { // before the signature: the member signs as many old ones as it likes
            std::error_code old_ec;
            const join_view old = read_join(p.join, old_ec);
            if (old_ec || j.kp.entry.seq <= old.kp.entry.seq) {
                ec = errc::replayed;
                return k::join;
            }
        }
        if (!profile::group::detail::key_package_valid(hop_.party(), j.kp)) {
            ++p.join_failures;
            ec = errc::authentication_failed;
            return k::join;
        }
        if (p.join_carried) {
            p.join_carried = false; // once: another join after this one is refused as before
            p.rejoined = true;
            p.live.reset(); // the old process's key package is not live any more
        }
        p.join.assign(t.value.begin(), t.value.end());
        p.inadmissible = settings().relay_admission &&
                         !admissible<Suite>(hop_.party(), settings(), relay_roster_, j.kp.entry.identity, j.cert);
        if (!p.live)
            p.live = std::make_shared<detail::live_set::token>(live_, p.hop.identity, j.kp.entry.seq, j.kp.entry.init);
        return k::join;
    }
    default: ec = errc::unexpected_type; return k::data;
    }
}

template <class Suite, class Aead, class Random>
void basic_cipher<Suite, Aead, Random>::answer(const peer_session& p, std::span<const std::byte> blob,
                                               std::vector<std::vector<std::byte>>& replies,
                                               std::error_code& ec) const
{
    std::error_code rec;
    const wire::tlv t = wire::read_outer(blob, rec);
    ec = {};
    if (rec || t.type() != wire::tlv_type::group_sync) {
        ec = errc::malformed;
        return;
    }
    if (p.join.empty()) {
        ec = errc::not_a_member;
        return;
    }
    if (p.sync_epoch != sequencer_->epoch()) {
        p.sync_epoch = sequencer_->epoch();
        p.sync_answers = 0;
    }
    if (p.sync_answers >= max_sync_answers) {
        ec = errc::rate_limited;
        return;
    }
    ++p.sync_answers;
    const std::uint64_t from = profile::group::detail::get_be(t.value, 8);
    // A joiner (epoch 0) is not told of a group none of whose members lives anywhere this relay
    // knows of: it would give up founding a group of its own (the founding rule lets it) and wait
    // for ever to be added by nobody (a relay that caught up a dead group from the federation's
    // order, while its founding waited for the relay to settle: docs/FEDERATION.md "Catch-up").
    if (from == 0) {
        const auto& roster = sequencer_->roster();
        const bool alive = std::any_of(roster.begin(), roster.end(), [this](const member_entry& e) {
            const crypto::fingerprint fp = crypto::fingerprint_of<Suite>(e.identity);
            return live_->contains(fp) || remote_->contains(fp);
        });
        if (!alive)
            return;
    }
    sequencer_->answer_sync(from, replies);
}

template <class Suite, class Aead, class Random>
void basic_cipher<Suite, Aead, Random>::presence(const peer_session&, bool connected,
                                                 const peer_session* about_session, const endpoint& about,
                                                 std::vector<std::byte>& blob, std::error_code& ec) const
{
    const crypto::fingerprint fp = about_session ? about_session->hop.identity : crypto::fingerprint{};
    if (!connected && about_session && about_session->live) {
        auto& t = *about_session->live;
        if (!t.quiet) {
            t.retire(); // gone: it speaks for its identity no longer
            // The identity stays while another live session holds the roster's key (the same
            // process from another address, or a restart already committed) or a newer one (a
            // restart whose update is on its way); members refuse one that is not newer.
            const member_entry* listed = nullptr;
            for (const member_entry& e : sequencer_->roster())
                if (crypto::fingerprint_of<Suite>(e.identity) == fp)
                    listed = &e;
            const auto newest = live_->newest(fp);
            t.quiet = listed ? live_->holds(fp, listed->init) || (newest && *newest > listed->seq)
                             : newest && *newest > t.seq();
        }
        if (*t.quiet) {
            ec = {};
            blob.clear();
            return;
        }
    }
    write_presence(connected && about_session, about, fp,
                   about_session ? std::span<const std::byte>(about_session->join) : std::span<const std::byte>{},
                   blob, ec);
}

} // namespace tlvcast::profile::group
