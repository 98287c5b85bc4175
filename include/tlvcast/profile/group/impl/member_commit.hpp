// SPDX-License-Identifier: BSL-1.0
// member's membership side: proposals, making a commit, checking and applying one, joining.
// Included at the bottom of profile/group/member.hpp, which declares these members.
#pragma once

#include <tlvcast/profile/group/member.hpp>
#include <tlvcast/profile/group/transition.hpp>

#include <algorithm>

namespace tlvcast::profile::group {

template <class Suite, class Aead, class Random>
void member<Suite, Aead, Random>::new_init_key(std::uint32_t seq, init_material& m)
{
    me_->make_ephemeral(m.kp.private_key, m.kp.public_key);
    m.seq = seq;
    m.package.clear();
    detail::append(m.package, me_->identity().public_key);
    detail::append(m.package, m.kp.public_key);
    detail::put_be(m.package, seq, 4);
    std::vector<std::byte> msg;
    detail::append(msg, detail::bytes_of(labels::key_package));
    detail::append(msg, m.package);
    std::array<std::byte, signature_size> sig{};
    me_->sign(msg, sig);
    detail::append(m.package, sig);
}

namespace detail {
template <class Party>
bool key_package_valid(Party& me, const key_package_view& kp)
{
    return key_package_signed([&](auto pub, auto msg, auto sig) { return me.verify(pub, msg, sig); }, kp);
}
} // namespace detail

template <class Suite, class Aead, class Random>
void member<Suite, Aead, Random>::on_presence(bytes value, time_point now, std::error_code& ec)
{
    const presence_view p = read_presence(value, ec);
    if (ec)
        return;
    const auto same = [](const crypto::fingerprint& fp) {
        return [&fp](const proposal& q) { return crypto::fingerprint_of<Suite>(q.entry.identity) == fp; };
    };
    if (!p.joined) {
        std::erase_if(adds_, same(p.identity));
        std::erase_if(updates_, same(p.identity));
        // Also one that this member's commit in flight adds: it left before that commit came back,
        // and would stay on the roster (review_introduce.cpp). install() forgets it if that commit fails.
        const bool added_by_pending =
            pending_ && std::any_of(pending_->roster.begin(), pending_->roster.end(), [&](const member_entry& e) {
                return crypto::fingerprint_of<Suite>(e.identity) == p.identity;
            });
        if (((current_ && current_->index_of(p.identity)) || added_by_pending) &&
            std::find(removes_.begin(), removes_.end(), p.identity) == removes_.end())
            removes_.push_back(p.identity);
    } else {
        const join_view& j = *p.join;
        if (j.kp.entry.identity == me_->identity().public_key)
            return;
        crypto::secret_bytes<crypto::x25519_key_size> shared;
        if (!me_->agree(init_.kp.private_key, j.kp.entry.init, shared)) { // of low order
            ec = errc::malformed;
            return;
        }
        if (!detail::key_package_valid(*me_, j.kp)) {
            ec = errc::authentication_failed;
            return;
        }
        if (!admissible<Suite>(*me_, opt_, roster_, j.kp.entry.identity, j.cert)) {
            ++counts_.admission_refused;
            ec = errc::admission_refused;
            return;
        }
        proposal q{j.kp.entry, std::nullopt, std::vector<std::byte>(j.kp.all.begin(), j.kp.all.end())};
        if (j.cert) {
            q.cert.emplace();
            std::copy(j.cert->begin(), j.cert->end(), q.cert->begin());
        }
        const crypto::fingerprint fp = crypto::fingerprint_of<Suite>(j.kp.entry.identity);
        const bool leaving = std::find(removes_.begin(), removes_.end(), fp) != removes_.end();
        const auto index = current_ ? current_->index_of(fp) : std::nullopt;
        if (index && !leaving) {
            // Already a member: a newer key package is an update; an older or equal one is refused
            // (a relay replaying an old key package must not roll a member back to a stolen key),
            // also against an update already proposed (a restarted member has several newer ones).
            const auto pending = std::find_if(updates_.begin(), updates_.end(), same(fp));
            if (j.kp.entry.seq <= current_->roster[*index].seq ||
                (pending != updates_.end() && j.kp.entry.seq <= pending->entry.seq)) {
                ++counts_.stale_key_packages;
                ec = errc::replayed;
                return;
            }
            std::erase_if(adds_, same(fp));
            std::erase_if(updates_, same(fp));
            updates_.push_back(std::move(q));
        } else {
            std::erase_if(adds_, same(fp));
            std::erase_if(updates_, same(fp));
            if (adds_.size() < opt_.max_members)
                adds_.push_back(std::move(q)); // new, or re-joining after it left: removed, then added
        }
    }
    if (current_)
        commit(now);
}

template <class Suite, class Aead, class Random>
bool member<Suite, Aead, Random>::committer_is_me() const
{
    // Passed over: members on their way out, and members whose identity joined again with a newer
    // key package (a process that restarted: the one that held the index is gone).
    const auto replaced = [this](const crypto::fingerprint& fp) {
        return std::any_of(updates_.begin(), updates_.end(),
                           [&](const proposal& q) { return crypto::fingerprint_of<Suite>(q.entry.identity) == fp; });
    };
    for (std::size_t i = 0; i < current_->roster.size(); ++i) {
        const crypto::fingerprint& fp = current_->fingerprints[i];
        if (std::find(removes_.begin(), removes_.end(), fp) == removes_.end() && !replaced(fp))
            return i == current_->me;
    }
    return false;
}

template <class Suite, class Aead, class Random>
void member<Suite, Aead, Random>::commit(time_point now)
{
    if (pending_ || (!current_ && group_seen_))
        return;
    auto p = std::make_unique<pending_commit>();
    std::vector<std::uint16_t> removed;
    std::vector<std::pair<std::uint16_t, const std::vector<std::byte>*>> updated;
    std::vector<const proposal*> added;
    crypto::sha256_digest prev{};
    const std::vector<std::byte> own_package = next_init_ ? next_init_->package : init_.package;
    if (!current_) {
        if (next_init_) { // an update before any group: the founding key package is the new one
            init_ = std::move(*next_init_);
            next_init_.reset();
        }
        me_->random(p->gid);
        p->epoch = 1;
        p->roster.push_back({me_->identity().public_key, init_.kp.public_key, init_.seq});
    } else {
        const state& s = *current_;
        const bool designated = committer_is_me();
        if (!designated && !next_init_)
            return;
        p->gid = s.gid;
        p->epoch = s.epoch + 1;
        prev = s.hash;
        if (next_init_)
            updated.emplace_back(s.me, &next_init_->package);
        if (designated) {
            for (std::size_t i = 0; i < s.roster.size(); ++i)
                if (std::find(removes_.begin(), removes_.end(), s.fingerprints[i]) != removes_.end())
                    removed.push_back(static_cast<std::uint16_t>(i));
            // Others' updates while the commit stays within one blob (the rest wait for the next).
            const std::size_t fixed = wire::group_commit_min + removed.size() * 2 + s.roster.size() * entry_size +
                                      (opt_.admission_certificate ? cert_size : 0);
            for (const auto& q : updates_)
                if (const auto i = s.index_of_key(q.entry.identity);
                    i && *i != s.me && std::find(removed.begin(), removed.end(), *i) == removed.end() &&
                    fixed + (updated.size() + 1) * (2 + key_package_size) <= 0xffff)
                    updated.emplace_back(*i, &q.package);
        }
        for (std::size_t i = 0; i < s.roster.size(); ++i) {
            if (std::find(removed.begin(), removed.end(), i) != removed.end())
                continue;
            member_entry e = s.roster[i];
            for (const auto& [index, package] : updated)
                if (index == i)
                    e = read_key_package(*package).entry;
            p->roster.push_back(e);
        }
        // A commit is one blob of at most 65,535 bytes: 48 per member, 133 (+ 64) per addition, so
        // many additions go in several commits (the rest stay proposals for the next one).
        std::size_t size = wire::group_commit_min + removed.size() * 2 + updated.size() * (2 + key_package_size) +
                           p->roster.size() * entry_size + (opt_.admission_certificate ? cert_size : 0);
        if (designated)
            for (const auto& q : adds_) {
                const std::size_t cost = entry_size + key_package_size + 1 + (q.cert ? cert_size : 0);
                if (p->roster.size() >= opt_.max_members || size + cost > 0xffff)
                    break;
                const bool present = std::any_of(p->roster.begin(), p->roster.end(),
                                                 [&](const member_entry& e) { return e.identity == q.entry.identity; });
                if (!present) {
                    added.push_back(&q);
                    p->roster.push_back(q.entry);
                    size += cost;
                }
            }
        if (removed.empty() && updated.empty() && added.empty())
            return;
    }
    epoch_secret secret;
    me_->random(secret.span());
    crypto::secret_bytes<crypto::x25519_key_size> eph_priv;
    public_key eph{};
    me_->make_ephemeral(eph_priv, eph);

    std::vector<std::byte> v;
    v.reserve(300 + p->roster.size() * entry_size + added.size() * (key_package_size + 65));
    v.push_back(std::byte{1});
    detail::append(v, p->gid);
    detail::put_be(v, p->epoch, 8);
    detail::append(v, prev);
    const std::size_t context_end = v.size();
    detail::append(v, me_->identity().public_key);
    detail::put_be(v, removed.size(), 2);
    for (const auto i : removed)
        detail::put_be(v, i, 2);
    detail::put_be(v, updated.size(), 2);
    for (const auto& [index, package] : updated) {
        detail::put_be(v, index, 2);
        detail::append(v, *package);
    }
    detail::put_be(v, p->epoch == 1 ? 1 : added.size(), 2);
    if (p->epoch == 1) {
        detail::append(v, own_package);
        v.push_back(std::byte{0});
    }
    for (const proposal* q : added) {
        detail::append(v, q->package);
        v.push_back(static_cast<std::byte>(q->cert ? 1 : 0));
        if (q->cert)
            detail::append(v, *q->cert);
    }
    detail::append(v, roster_hash<Suite>(p->roster));
    detail::append(v, eph);
    detail::put_be(v, p->roster.size(), 2);
    const std::vector<std::byte> context(v.begin() + 1, v.begin() + static_cast<std::ptrdiff_t>(context_end));
    std::array<std::byte, entry_size> sealed{};
    for (const member_entry& m : p->roster) {
        crypto::secret_bytes<crypto::x25519_key_size> shared;
        if (!me_->agree(eph_priv, m.init, shared)) {
            // A low-order init key (checked before, so this is a defence in depth): the proposal
            // that brought it is dropped and the commit redone; a roster member's cannot be.
            const std::size_t before = adds_.size() + updates_.size();
            std::erase_if(adds_, [&](const proposal& q) { return q.entry.init == m.init; });
            std::erase_if(updates_, [&](const proposal& q) { return q.entry.init == m.init; });
            if (adds_.size() + updates_.size() == before)
                return;
            return commit(now);
        }
        const message_key k = entry_key<Suite>(context, shared.span(), eph, m.init);
        std::error_code ec;
        Aead(k.span().template first<crypto::aead_key_size>())
            .seal(k.span().template subspan<crypto::aead_key_size, crypto::aead_nonce_size>(), {}, secret.span(),
                  sealed, ec);
        detail::append(v, sealed);
    }
    v.push_back(static_cast<std::byte>(opt_.admission_certificate ? 1 : 0));
    if (opt_.admission_certificate)
        detail::append(v, *opt_.admission_certificate);
    std::vector<std::byte> msg;
    detail::append(msg, detail::bytes_of(labels::commit));
    detail::append(msg, v);
    std::array<std::byte, signature_size> sig{};
    me_->sign(msg, sig);
    detail::append(v, sig);

    std::error_code ec;
    write_blob(wire::tlv_type::group_commit, v, p->blob, ec);
    if (ec)
        return; // cannot happen under max_members_limit
    p->hash = Suite::sha256(v);
    p->secret = secret;
    p->installs_next_init = next_init_ != nullptr;
    p->sent = now;
    if (!added.empty())
        p->welcome = write_welcome(p->gid, p->epoch, p->roster, welcome_page_entries);
    for (const auto& page : p->welcome) // before the commit: the relay orders it only with them
        outputs_.push_back(page);
    outputs_.push_back(p->blob);
    ++counts_.commits_sent;
    pending_ = std::move(p);
}

} // namespace tlvcast::profile::group

#include <tlvcast/profile/group/impl/member_apply.hpp>
