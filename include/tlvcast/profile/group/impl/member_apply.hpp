// SPDX-License-Identifier: BSL-1.0
// member's receiving side of membership: checking and applying commits, joining from a welcome,
// asking for missed commits. Included by impl/member_commit.hpp.
#pragma once

#include <tlvcast/profile/group/member.hpp>
#include <tlvcast/profile/group/transition.hpp>

#include <algorithm>

namespace tlvcast::profile::group {

namespace detail {
template <class Party>
bool commit_signature_valid(Party& me, const commit_view& c)
{
    return commit_signed([&](auto pub, auto msg, auto sig) { return me.verify(pub, msg, sig); }, c);
}
} // namespace detail

// The roster after `c`, checked against the current epoch (transition.hpp), with this member's
// admission policy for additions.
template <class Suite, class Aead, class Random>
std::optional<std::vector<member_entry>> member<Suite, Aead, Random>::next_roster(const commit_view& c,
                                                                                  std::error_code& ec)
{
    const auto verify = [this](auto pub, auto msg, auto sig) { return me_->verify(pub, msg, sig); };
    const auto admit = [this](const add_view& a) -> std::error_code {
        if (admissible<Suite>(*me_, opt_, roster_, a.kp.entry.identity, a.cert))
            return {};
        ++counts_.admission_refused;
        return errc::admission_refused;
    };
    const auto usable = [this](const public_key& init) {
        crypto::secret_bytes<crypto::x25519_key_size> shared;
        return me_->agree(init_.kp.private_key, init, shared);
    };
    return group::next_roster<Suite>(current_->roster, c, opt_.max_members, verify, usable, admit, ec);
}

template <class Suite, class Aead, class Random>
bool member<Suite, Aead, Random>::open_entry(const commit_view& c, std::size_t index, const public_key& init,
                                             epoch_secret& secret)
{
    const init_material* m = init == init_.kp.public_key                          ? &init_
                             : next_init_ && init == next_init_->kp.public_key ? next_init_.get()
                                                                               : nullptr;
    crypto::secret_bytes<crypto::x25519_key_size> shared;
    if (!m || index >= c.entry_count() || !me_->agree(m->kp.private_key, c.ephemeral, shared))
        return false;
    const message_key k = entry_key<Suite>(c.context, shared.span(), c.ephemeral, init);
    std::error_code ec;
    const std::size_t n = Aead(k.span().template first<crypto::aead_key_size>())
                              .open(k.span().template subspan<crypto::aead_key_size, crypto::aead_nonce_size>(), {},
                                    c.entry(index), secret.span(), ec);
    return !ec && n == secret_size;
}

template <class Suite, class Aead, class Random>
void member<Suite, Aead, Random>::install(const commit_view& c, const crypto::sha256_digest& hash,
                                          std::vector<member_entry> roster, const epoch_secret& secret)
{
    std::uint16_t me = 0;
    for (std::size_t i = 0; i < roster.size(); ++i)
        if (roster[i].identity == me_->identity().public_key)
            me = static_cast<std::uint16_t>(i);
    auto next = std::make_unique<state>(c.gid, c.epoch, hash, std::move(roster), me, secret);
    // Who came and went, in O(N log N): a joiner of a 1,000-member group reports 999 additions.
    std::vector<crypto::fingerprint> before = current_ ? current_->fingerprints : std::vector<crypto::fingerprint>{};
    std::vector<crypto::fingerprint> after = next->fingerprints;
    std::sort(before.begin(), before.end());
    std::sort(after.begin(), after.end());
    for (std::size_t i = 0; i < next->roster.size(); ++i) {
        const auto& fp = next->fingerprints[i];
        if (i == me || std::binary_search(before.begin(), before.end(), fp))
            continue;
        const bool listed = std::binary_search(roster_.begin(), roster_.end(), fp);
        note({notice::kind::member_added, c.epoch, next->roster.size(), fp, listed});
    }
    if (current_)
        for (const auto& fp : current_->fingerprints)
            if (!std::binary_search(after.begin(), after.end(), fp))
                note({notice::kind::member_removed, c.epoch, next->roster.size(), fp});
    note({notice::kind::epoch, c.epoch, next->roster.size()});
    if (next_init_ && next->roster[me].init == next_init_->kp.public_key) {
        init_ = std::move(*next_init_);
        next_init_.reset();
    }
    const state& n = *next;
    std::erase_if(adds_, [&](const proposal& q) { return n.index_of_key(q.entry.identity).has_value(); });
    std::erase_if(updates_, [&](const proposal& q) {
        const auto i = n.index_of_key(q.entry.identity);
        return !i || n.roster[*i].seq >= q.entry.seq;
    });
    std::erase_if(removes_, [&](const crypto::fingerprint& fp) { return !n.index_of(fp).has_value(); });
    held_.emplace(c.gid, c.epoch);
    previous_ = std::move(current_);
    current_ = std::move(next);
    pending_.reset();
    joining_.reset();
    group_seen_ = true;
    ++counts_.commits_applied;
}

template <class Suite, class Aead, class Random>
void member<Suite, Aead, Random>::on_commit(bytes value, time_point now, std::error_code& ec)
{
    const commit_view c = read_commit(value, opt_.max_members, ec);
    if (ec) {
        ++counts_.commits_rejected;
        return;
    }
    const crypto::sha256_digest hash = Suite::sha256(value);
    if (pending_ && hash == pending_->hash) { // this member's commit, ordered by the relay
        std::vector<member_entry> roster = std::move(pending_->roster);
        const epoch_secret secret = pending_->secret;
        install(c, hash, std::move(roster), secret);
        return commit(now);
    }
    if (current_ && c.gid != current_->gid && c.epoch > 0) {
        // The relay's group is another one (ours died there: this member was timed out, or the
        // relay lost it). Its commit that holds this member wins once it checks out in try_join.
        const bool adds_me = std::any_of(c.added.begin(), c.added.end(), [&](const add_view& a) {
            return a.kp.entry.identity == me_->identity().public_key;
        });
        const bool have_pages = joining_ && joining_->gid == c.gid && joining_->epoch == c.epoch;
        if (!adds_me && !have_pages) {
            ec = errc::wrong_epoch;
            return;
        }
    }
    if (!current_ || c.gid != current_->gid) {
        group_seen_ = true;
        pending_.reset(); // another group exists: this member's creation lost
        if (stale(c.gid, c.epoch))
            return; // an epoch of a group this member already held or was removed from: a replay
        // A joiner joins from the commit that added it, or from any later one whose welcome pages
        // it holds (the relay answers GROUP_SYNC(0) with the latest commit and its roster).
        const bool adds_me = std::any_of(c.added.begin(), c.added.end(), [&](const add_view& a) {
            return a.kp.entry.identity == me_->identity().public_key && a.kp.entry.init == init_.kp.public_key;
        });
        const bool have_pages = joining_ && joining_->gid == c.gid && joining_->epoch == c.epoch;
        if (!adds_me && !have_pages)
            return;
        if (!have_pages) {
            if (joining_ && joining_->epoch > c.epoch)
                return; // already working on a later epoch
            joining_ = std::make_unique<joining>();
            joining_->gid = c.gid;
            joining_->epoch = c.epoch;
        }
        joining_->commit.assign(value.begin(), value.end());
        return try_join(now);
    }
    const state& s = *current_;
    if (c.epoch <= s.epoch) {
        ec = hash == s.hash ? errc::replayed : errc::wrong_epoch;
        return;
    }
    if (c.epoch > s.epoch + 1 || c.gid != s.gid || !std::equal(s.hash.begin(), s.hash.end(), c.prev.begin())) {
        if (c.gid == s.gid && c.epoch > s.epoch + 1)
            want_sync(s.epoch);
        else
            ++counts_.commits_rejected;
        ec = errc::wrong_epoch;
        return;
    }
    auto roster = next_roster(c, ec);
    if (!roster) {
        ++counts_.commits_rejected;
        return;
    }
    const auto mine = std::find_if(roster->begin(), roster->end(), [&](const member_entry& e) {
        return e.identity == me_->identity().public_key;
    });
    if (mine == roster->end()) { // removed: nothing of the new epoch is for this member
        note({notice::kind::removed, c.epoch, roster->size(), me_->fingerprint()});
        reset();
        held_.emplace(c.gid, c.epoch);
        group_seen_ = true;
        return;
    }
    epoch_secret secret;
    if (!open_entry(c, static_cast<std::size_t>(mine - roster->begin()), mine->init, secret)) {
        ++counts_.commits_rejected;
        ec = errc::decrypt_failed;
        return;
    }
    install(c, hash, std::move(*roster), secret);
    commit(now); // proposals this commit did not cover, if this member is the committer
}

template <class Suite, class Aead, class Random>
void member<Suite, Aead, Random>::on_welcome(bytes value, time_point now, std::error_code& ec)
{
    const welcome_view w = read_welcome(value, opt_.max_members, ec);
    if (ec || stale(w.gid, w.epoch) || (current_ && current_->gid == w.gid))
        return;
    if (joining_ && (joining_->gid != w.gid || joining_->epoch != w.epoch)) {
        if (joining_->gid == w.gid && w.epoch < joining_->epoch)
            return; // an older epoch than the one this member is joining
        joining_.reset(); // a later epoch (or another group): start over from it
    }
    if (!joining_) {
        joining_ = std::make_unique<joining>();
        joining_->gid = w.gid;
        joining_->epoch = w.epoch;
    }
    auto& r = joining_->roster;
    if (r.empty())
        r.resize(w.total);
    if (r.size() != w.total) {
        ec = errc::malformed;
        return;
    }
    for (std::size_t i = 0; i < w.entries.size(); ++i)
        r[w.first + i] = w.entries[i];
    try_join(now);
}

// A joiner cannot check the commit against an epoch it never held: it checks what it can. The
// roster hashes to the signed value; the committer is in it and signed; the committer (and, under
// admission::roster, every member) passes this member's own admission policy; its entry opens.
template <class Suite, class Aead, class Random>
void member<Suite, Aead, Random>::try_join(time_point)
{
    if (!joining_ || joining_->commit.empty() || joining_->roster.empty() ||
        std::any_of(joining_->roster.begin(), joining_->roster.end(), [](const auto& e) { return !e; }))
        return;
    std::error_code ec;
    const commit_view c = read_commit(joining_->commit, opt_.max_members, ec);
    std::vector<member_entry> roster;
    for (const auto& e : joining_->roster)
        roster.push_back(*e);
    const auto h = roster_hash<Suite>(roster);
    public_key committer{};
    std::copy(c.committer.begin(), c.committer.end(), committer.begin());
    const auto mine = std::find_if(roster.begin(), roster.end(), [&](const member_entry& e) {
        return e.identity == me_->identity().public_key;
    });
    bool ok = !ec && std::equal(h.begin(), h.end(), c.roster_hash.begin()) && roster.size() == c.entry_count() &&
              mine != roster.end() && mine->init == init_.kp.public_key &&
              std::any_of(roster.begin(), roster.end(), [&](const member_entry& e) { return e.identity == committer; }) &&
              admissible<Suite>(*me_, opt_, roster_, committer, c.committer_cert) && detail::commit_signature_valid(*me_, c);
    if (ok && opt_.policy == admission::roster)
        ok = std::all_of(roster.begin(), roster.end(),
                         [&](const member_entry& e) { return admissible<Suite>(*me_, opt_, roster_, e.identity, {}); });
    epoch_secret secret;
    if (ok)
        ok = open_entry(c, static_cast<std::size_t>(mine - roster.begin()), mine->init, secret);
    if (!ok) {
        ++counts_.commits_rejected;
        joining_.reset();
        return;
    }
    if (current_ && current_->gid != c.gid) { // leaving a group the relay no longer holds
        current_.reset();
        previous_.reset();
        adds_.clear();
        updates_.clear();
        removes_.clear();
    }
    install(c, Suite::sha256(joining_->commit), std::move(roster), secret);
}

template <class Suite, class Aead, class Random>
void member<Suite, Aead, Random>::send_sync(time_point now)
{
    std::vector<std::byte> v;
    detail::put_be(v, sync_from_, 8);
    std::vector<std::byte> blob;
    std::error_code ec;
    write_blob(wire::tlv_type::group_sync, v, blob, ec);
    outputs_.push_back(std::move(blob));
    sync_wanted_ = false;
    last_sync_ = now;
    ++counts_.sync_requests;
}

template <class Suite, class Aead, class Random>
void member<Suite, Aead, Random>::on_timer(time_point now)
{
    // What is still queued was not sent (the hop is down): queuing it again would only grow the
    // queue, by a commit and its welcome pages every retry, for as long as the relay is away.
    const bool idle = outputs_.empty();
    if (pending_ && now - pending_->sent >= opt_.retry) {
        if (idle) {
            for (const auto& page : pending_->welcome)
                outputs_.push_back(page);
            outputs_.push_back(pending_->blob);
        }
        pending_->sent = now;
        want_sync(current_ ? current_->epoch : 0);
    }
    if (!current_ && group_seen_ && !pending_ && now - last_sync_ >= 4 * opt_.retry) {
        // Waiting to be added: the welcome, or this member's own GROUP_JOIN, may have been lost
        // (a relay ignores a join from a member it already announced).
        want_sync(0);
        std::vector<std::byte> join;
        std::error_code ec;
        write_join(join, ec);
        if (!ec && idle)
            outputs_.push_back(std::move(join));
    }
    if (sync_wanted_ && now - last_sync_ >= opt_.retry) {
        if (idle)
            send_sync(now);
        else
            last_sync_ = now; // nothing went out since the last one: ask again after the next retry
    }
}

template <class Suite, class Aead, class Random>
time_point member<Suite, Aead, Random>::next_timer() const noexcept
{
    time_point t = no_timer;
    if (pending_)
        t = std::min(t, pending_->sent + opt_.retry);
    if (!current_ && group_seen_ && !pending_)
        t = std::min(t, last_sync_ + 4 * opt_.retry);
    if (sync_wanted_)
        t = std::min(t, last_sync_ + opt_.retry);
    return t;
}

} // namespace tlvcast::profile::group
