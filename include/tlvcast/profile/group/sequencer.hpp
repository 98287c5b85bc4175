// SPDX-License-Identifier: BSL-1.0
// The relay's part of the group profile: it orders commits (the first valid-looking commit for the
// next epoch wins), keeps the recent ones with their welcome pages for members that missed them,
// and knows the roster's identities, without any key that opens or signs anything.
#pragma once

#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/profile/group/codec.hpp>
#include <tlvcast/profile/group/transition.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::profile::group {

/// Relay-side commit ordering. It checks everything a member checks that needs no key of the
/// group (transition.hpp: the chain, the committer's membership and signature, removals, updates,
/// key packages, the roster hash), so that no client can move the relay to an epoch the members
/// refuse; only admission (each member's own policy) and the sealed entries stay unchecked.
template <class Suite>
class sequencer {
public:
    sequencer(std::size_t max_members, std::size_t history) : max_members_(max_members), history_(history) {}

    std::uint64_t epoch() const noexcept { return epoch_; }
    /// The current roster, as the commits built it.
    const std::vector<member_entry>& roster() const noexcept { return roster_; }

    /// A commit sent by the member whose identity fingerprint is `sender`. Accepted when it names `sender`
    /// as committer and either continues the current epoch chain (epoch + 1, the current commit's
    /// hash as prev) or founds a group (epoch 1 adding only its committer) while no member of the
    /// current group is present (`present` tells, by fingerprint), and passes transition.hpp's
    /// checks; one that adds members also needs its welcome pages staged first. Errors:
    /// malformed, not_a_member, wrong_epoch, authentication_failed, not_ready (no welcome yet).
    /// `admit(key_package, certificate) -> std::error_code`, when given, is the relay's own admission
    /// check of a founder and of every addition (options::relay_admission): without it anyone who
    /// joined could found a group while no member is present, and hold the ordering.
    bool accept_commit(bytes value, const crypto::fingerprint& sender,
                       const std::function<bool(const crypto::fingerprint&)>& present, std::error_code& ec,
                       const std::function<std::error_code(const key_package_view&, std::optional<bytes>)>& admit = {})
    {
        // A live commit ends any replay: a founding kept aside by it is never adopted now (a
        // commit that continues it proves only that its signer continued it: review_catch_up2).
        deferred_.clear();
        return take_commit(value, sender, present, ec, admit, true, mode::live);
    }

    /// accept_commit()'s checks without applying the commit (same result and errors; nothing
    /// changes, staged welcome pages included): a federation that orders commits applies it later,
    /// when it comes back in the federation's order (docs/FEDERATION.md). O(roster), as accepting is.
    bool check_commit(bytes value, const crypto::fingerprint& sender,
                      const std::function<bool(const crypto::fingerprint&)>& present, std::error_code& ec,
                      const std::function<std::error_code(const key_package_view&, std::optional<bytes>)>& admit = {})
        const
    {
        // take_commit(..., false) writes nothing: one body for both keeps the checks identical.
        return const_cast<sequencer*>(this)->take_commit(value, sender, present, ec, admit, false, mode::live);
    }

    /// A commit of a federation's order that was stored before this relay started (catch-up:
    /// docs/FEDERATION.md), applied with accept_commit()'s checks but two: who was present then is
    /// not known, and an adding commit's welcome pages are not required (they were staged by the
    /// relays that ordered it; answer_sync() writes a joiner's pages from the roster). So a
    /// founding commit that would replace a group is not taken on its own word (the relays that ran
    /// then refused it if a member of that group lived): it is kept aside (the last four) and
    /// applied when a later replayed commit continues it (someone applied it); until then it is
    /// refused. It is forgotten when the group it would replace applies another commit (the
    /// relays were on that group, so they refused it) and when a live commit comes
    /// (accept_commit()). Errors: accept_commit()'s but not_ready.
    bool replay_commit(bytes value, const crypto::fingerprint& sender, std::error_code& ec,
                       const std::function<std::error_code(const key_package_view&, std::optional<bytes>)>& admit = {})
    {
        const auto present = [&](const crypto::fingerprint& fp) { return fp == sender; };
        return take_commit(value, sender, present, ec, admit, true, mode::replay);
    }

private:
    // live: a commit as it comes (accept_commit, check_commit); replay: from a federation's history
    // (replay_commit).
    enum class mode { live, replay };

    // accept_commit() when `apply`, else check_commit(), which must then change nothing.
    bool take_commit(bytes value, const crypto::fingerprint& sender,
                     const std::function<bool(const crypto::fingerprint&)>& present, std::error_code& ec,
                     const std::function<std::error_code(const key_package_view&, std::optional<bytes>)>& admit,
                     bool apply, mode how)
    {
        const bool replay = how != mode::live;
        const commit_view c = read_commit(value, max_members_, ec);
        if (ec)
            return false;
        // A joined client names itself.
        if (Suite::sha256(c.committer) != sender || !present(sender)) {
            ec = errc::not_a_member;
            return false;
        }
        const auto verify = [](std::span<const std::byte> pub, std::span<const std::byte> msg,
                               std::span<const std::byte> sig) {
            return Suite::verify(pub.first<32>(), msg, sig.first<signature_size>());
        };
        const bool founding = c.epoch == 1 && c.removed.empty() && c.updated.empty() && c.added.size() == 1 &&
                              fingerprint_of_key(c.added[0].kp.entry.identity) == sender && c.entry_count() == 1 &&
                              std::all_of(c.prev.begin(), c.prev.end(), [](std::byte b) { return b == std::byte{0}; });
        const bool next = epoch_ != 0 && c.epoch == epoch_ + 1 && c.gid == gid_ &&
                          std::equal(hash_.begin(), hash_.end(), c.prev.begin());
        const bool dead = epoch_ == 0 ||
                          std::none_of(roster_.begin(), roster_.end(), [&](const member_entry& e) {
                              return present(fingerprint_of_key(e.identity));
                          });
        // A founding commit's own checks: signed, its key package signed and usable, its roster
        // hash, the relay's admission of its founder.
        const auto founding_refused = [&]() -> std::error_code {
            const std::vector<member_entry> self{c.added[0].kp.entry};
            const auto h = roster_hash<Suite>(self);
            if (!commit_signed(verify, c) || !key_package_signed(verify, c.added[0].kp) ||
                !init_key_usable<Suite>(c.added[0].kp.entry.init) || !std::equal(h.begin(), h.end(), c.roster_hash.begin()))
                return errc::authentication_failed;
            return admit ? admit(c.added[0].kp, c.committer_cert) : std::error_code{};
        };
        if (founding && how == mode::replay && epoch_ != 0 && dead) {
            // It would replace the group on its own word: kept aside until a commit continues it.
            // Only one that passes its own checks (junk would push real ones out: review 3, C).
            if (const std::error_code refused = founding_refused()) {
                ec = refused;
                return false;
            }
            if (apply) {
                if (deferred_.size() == max_deferred)
                    deferred_.pop_front();
                deferred_.push_back({std::vector<std::byte>(value.begin(), value.end()), sender, Suite::sha256(value), c.gid});
            }
            ec = errc::wrong_epoch;
            return false;
        }
        const auto continued = std::find_if(deferred_.begin(), deferred_.end(), [&](const deferred& d) {
            return c.epoch == 2 && c.gid == d.gid && std::equal(d.hash.begin(), d.hash.end(), c.prev.begin());
        });
        if (!next && !founding && apply && how == mode::replay && continued != deferred_.end()) {
            // It continues a founding kept aside: someone applied that one; so does this relay,
            // both or neither. Signed by that founding's founder (its one member) first: junk
            // costs a signature check, not an adoption (review 3, D). Replayed on a fresh
            // sequencer, where the founding founds: it replaces all the state there is, and
            // nothing is copied.
            if (sender != continued->sender || !commit_signed(verify, c)) {
                ec = errc::authentication_failed;
                return false;
            }
            sequencer trial{max_members_, history_};
            if (!trial.take_commit(continued->value, continued->sender, present, ec, admit, true, how) ||
                !trial.take_commit(value, sender, present, ec, admit, true, how))
                return false;
            *this = std::move(trial);
            return true;
        }
        if (!(next || (founding && dead))) {
            ec = errc::wrong_epoch;
            return false;
        }
        std::optional<std::vector<member_entry>> roster;
        if (founding) {
            if (const std::error_code refused = founding_refused()) {
                ec = refused;
                return false;
            }
            roster = std::vector<member_entry>{c.added[0].kp.entry};
        } else {
            roster = next_roster<Suite>(roster_, c, max_members_, verify,
                                        [](const public_key& k) { return init_key_usable<Suite>(k); },
                                        [&](const add_view& a) { return admit ? admit(a.kp, a.cert) : std::error_code{}; },
                                        ec);
            if (!roster)
                return false;
        }
        // A commit that adds members is ordered only with its welcome pages in hand (sent before
        // it): a joiner can then always fetch them with GROUP_SYNC, however many were lost.
        std::vector<std::vector<std::byte>> pages;
        if (!founding && !c.added.empty() && !replay) {
            const auto it = std::find_if(staged_.begin(), staged_.end(), [&](const staging& st) {
                return st.sender == sender && st.gid == c.gid && st.epoch == c.epoch;
            });
            if (it == staged_.end() || !covers(it->pages, *roster)) {
                ec = errc::not_ready;
                return false;
            }
            if (apply)
                pages = std::move(it->pages);
        }
        if (!apply)
            return true;
        deferred_.clear(); // the group it would replace went on, or another took its place
        if (founding)
            history_log_.clear();
        staged_.clear();
        roster_ = std::move(*roster);
        previous_fingerprints_.clear();
        if (!founding)
            previous_fingerprints_.swap(fingerprints_);
        fingerprints_.clear();
        for (const auto& e : roster_)
            fingerprints_.push_back(fingerprint_of_key(e.identity));
        std::sort(fingerprints_.begin(), fingerprints_.end());
        epoch_ = c.epoch;
        gid_ = c.gid;
        hash_ = Suite::sha256(value);
        history_log_.push_back({c.epoch, std::vector<std::byte>(value.begin(), value.end()), std::move(pages), sender,
                                roster_});
        if (history_log_.size() > history_)
            history_log_.pop_front();
        return true;
    }

public:
    /// Whether `fp` is an identity of the current roster.
    bool is_member(const crypto::fingerprint& fp) const
    {
        return std::binary_search(fingerprints_.begin(), fingerprints_.end(), fp);
    }

    /// Whether `fp` may send GROUP_MESSAGE: an identity of the current roster or of the one before
    /// (a member removed by the last commit may have messages of its last epoch in flight, which
    /// the others still open). Anyone else's would only cost the members work: a forged header
    /// `max_skip` generations ahead makes each derive that many message keys before it fails.
    bool may_send(const crypto::fingerprint& fp) const
    {
        return is_member(fp) ||
               std::binary_search(previous_fingerprints_.begin(), previous_fingerprints_.end(), fp);
    }

    /// A welcome page from `sender`: for the next epoch, staged until that sender's commit comes
    /// (which it must precede; only a member of the current roster can commit, so only a member's
    /// pages are staged: a registered outsider can neither evict a committer's pages nor have its
    /// own forwarded to joiners); for a kept commit, accepted when it is its committer's and lists
    /// that epoch's roster entries exactly (a forged page would only make joiners fail). Forwarded
    /// when true. Errors: malformed, wrong_epoch, not_a_member.
    bool accept_welcome(bytes value, const crypto::fingerprint& sender, std::error_code& ec)
    {
        const welcome_view w = read_welcome(value, max_members_, ec);
        if (ec)
            return false;
        if (epoch_ != 0 && w.gid == gid_ && w.epoch == epoch_ + 1) {
            if (!is_member(sender)) {
                ec = errc::not_a_member;
                return false;
            }
            auto it = std::find_if(staged_.begin(), staged_.end(),
                                   [&](const staging& st) { return st.sender == sender && st.epoch == w.epoch; });
            if (it == staged_.end()) {
                if (staged_.size() == max_staged)
                    staged_.erase(staged_.begin());
                staged_.push_back({w.gid, w.epoch, sender, {}});
                it = staged_.end() - 1;
            }
            const bool known = std::any_of(it->pages.begin(), it->pages.end(), [&](const auto& p) {
                return std::equal(p.begin(), p.end(), value.begin(), value.end());
            });
            if (known)
                return false; // a repeat: forwarded the first time
            if (it->pages.size() >= (max_members_ + welcome_page_entries - 1) / welcome_page_entries) {
                ec = errc::malformed;
                return false;
            }
            it->pages.emplace_back(value.begin(), value.end());
            return true;
        }
        for (auto& h : history_log_)
            if (h.epoch == w.epoch && w.gid == gid_) {
                if (h.committer != sender) {
                    ec = errc::not_a_member;
                    return false;
                }
                if (w.total != h.roster.size() ||
                    !std::equal(w.entries.begin(), w.entries.end(), h.roster.begin() + static_cast<std::ptrdiff_t>(w.first))) {
                    ec = errc::malformed;
                    return false;
                }
                const bool known = std::any_of(h.welcome.begin(), h.welcome.end(), [&](const auto& p) {
                    return std::equal(p.begin(), p.end(), value.begin(), value.end());
                });
                if (!known && h.welcome.size() < (w.total + welcome_page_entries - 1) / welcome_page_entries)
                    h.welcome.emplace_back(value.begin(), value.end());
                return true;
            }
        ec = errc::wrong_epoch;
        return false;
    }

    /// GROUP_SYNC(epoch): each kept commit after `epoch` (as a GROUP_COMMIT blob), oldest first.
    /// For epoch 0 (a member waiting to join): the latest commit only, preceded by welcome pages of
    /// its roster as the relay holds it (pages are checked against the commit's roster hash, so the
    /// relay gains nothing by writing them): every commit has an entry for every member, so a joiner
    /// can join from the latest one however many it missed.
    void answer_sync(std::uint64_t from, std::vector<std::vector<std::byte>>& replies) const
    {
        std::error_code ec;
        if (from == 0) {
            if (history_log_.empty())
                return;
            const kept& h = history_log_.back();
            for (auto& page : write_welcome(gid_, h.epoch, h.roster, welcome_page_entries))
                replies.push_back(std::move(page));
            replies.emplace_back();
            write_blob(wire::tlv_type::group_commit, h.commit, replies.back(), ec);
            return;
        }
        for (const auto& h : history_log_) {
            if (h.epoch <= from)
                continue;
            replies.emplace_back();
            write_blob(wire::tlv_type::group_commit, h.commit, replies.back(), ec);
        }
    }

private:
    static crypto::fingerprint fingerprint_of_key(const public_key& k) { return crypto::fingerprint_of<Suite>(k); }

    // Whether the welcome page values that match `roster` cover all of it.
    static bool covers(const std::vector<std::vector<std::byte>>& pages, const std::vector<member_entry>& roster)
    {
        std::vector<bool> seen(roster.size(), false);
        std::size_t n = 0;
        for (const auto& p : pages) {
            std::error_code ec;
            const welcome_view w = read_welcome(p, max_members_limit, ec);
            if (ec || w.total != roster.size())
                return false;
            const bool matches = std::equal(w.entries.begin(), w.entries.end(),
                                            roster.begin() + static_cast<std::ptrdiff_t>(w.first));
            for (std::size_t i = 0; matches && i < w.entries.size(); ++i)
                if (!seen[w.first + i]) {
                    seen[w.first + i] = true;
                    ++n;
                }
        }
        return n == roster.size();
    }

    struct staging {
        group_id gid{};
        std::uint64_t epoch = 0;
        crypto::fingerprint sender{};
        std::vector<std::vector<std::byte>> pages;
    };
    static constexpr std::size_t max_staged = 4; // committers racing for the next epoch

    struct kept {
        std::uint64_t epoch = 0;
        std::vector<std::byte> commit;               // the value
        std::vector<std::vector<std::byte>> welcome; // page values
        crypto::fingerprint committer{};
        std::vector<member_entry> roster;            // after this commit
    };

    std::size_t max_members_, history_;
    std::uint64_t epoch_ = 0;
    group_id gid_{};
    crypto::sha256_digest hash_{};
    std::vector<member_entry> roster_;
    std::vector<crypto::fingerprint> fingerprints_;          // of roster_, sorted
    std::vector<crypto::fingerprint> previous_fingerprints_; // of the roster before, sorted
    std::deque<kept> history_log_;
    std::vector<staging> staged_;
    struct deferred {
        std::vector<std::byte> value;
        crypto::fingerprint sender{};
        crypto::sha256_digest hash{};
        group_id gid{};
    };
    // replay_commit(): founding commits kept aside (racing founders each stored one; the one a
    // later commit continues is taken).
    static constexpr std::size_t max_deferred = 4;
    std::deque<deferred> deferred_;
};

} // namespace tlvcast::profile::group
