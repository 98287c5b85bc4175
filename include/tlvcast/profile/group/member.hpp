// SPDX-License-Identifier: BSL-1.0
// A group member's state machine: its key package, proposals it heard of, the commits it makes and
// applies, joining from a welcome, and the messages it seals and opens. No I/O, no clock.
#pragma once

#include <tlvcast/crypto/aead.hpp>
#include <tlvcast/crypto/secret.hpp>
#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/profile/group/admission.hpp>
#include <tlvcast/profile/group/codec.hpp>
#include <tlvcast/profile/group/epoch.hpp>
#include <tlvcast/profile/group/key_schedule.hpp>
#include <tlvcast/profile/group/options.hpp>
#include <tlvcast/profile/secure/detail/party.hpp>
#include <tlvcast/time.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

namespace tlvcast::profile::group {

/// What a member did, for tests, benchmarks and the programs' statistics.
struct member_counts {
    std::uint64_t commits_sent = 0, commits_applied = 0, commits_rejected = 0;
    std::uint64_t admission_refused = 0; ///< proposals refused by the admission policy
    std::uint64_t stale_key_packages = 0; ///< a key package not newer than the one in the roster
    std::uint64_t messages_sealed = 0, messages_opened = 0, messages_rejected = 0;
    std::uint64_t gaps = 0, sync_requests = 0;
};

/// One member. `party` (the secure profile's identity, randomness and counted public-key
/// operations) is shared with the cipher that owns both and outlives this object.
/// Protocol (docs/PROTOCOL.md, "Group profile"):
/// - The relay announces members (GROUP_PRESENCE, with their key packages): proposals.
/// - The committer (the lowest roster index not being removed; any member for its own update)
///   makes a commit: a fresh epoch secret sealed to every member's init key, signed; the relay
///   orders commits (the first for epoch e+1 wins) and echoes it to all; members apply it.
/// - A joiner gets the roster from the welcome pages and its secret from its entry.
/// - Messages: a per-sender hash ratchet per epoch, each message signed by its sender inside the AEAD.
template <class Suite, class Aead, class Random>
class member {
public:
    using party_type = secure::detail::party<Suite, Random>;
    using state = epoch_state<Suite>;

    member(party_type& me, options opt) : me_(&me), opt_(std::move(opt)), roster_(opt_.roster)
    {
        std::sort(roster_.begin(), roster_.end());
        new_init_key(opt_.key_package_seq, init_);
    }

    const options& settings() const noexcept { return opt_; }
    const member_counts& counts() const noexcept { return counts_; }
    bool in_group() const noexcept { return current_ != nullptr; }
    const state* current() const noexcept { return current_.get(); }
    /// This member's current init (X25519) public key and its key package's sequence number.
    const public_key& init_key() const noexcept { return init_.kp.public_key; }

    /// The GROUP_JOIN blob: mode, key package, and the admission certificate when configured.
    void write_join(std::vector<std::byte>& blob, std::error_code& ec) const
    {
        std::vector<std::byte> v;
        v.push_back(static_cast<std::byte>(opt_.mode));
        detail::append(v, init_.package);
        if (opt_.admission_certificate)
            detail::append(v, *opt_.admission_certificate);
        write_blob(wire::tlv_type::group_join, v, blob, ec);
    }

    /// The hop to the relay is up: without a group, propose a new one (the relay accepts it only
    /// when it has no live group).
    void start(time_point now)
    {
        if (!current_ && !pending_ && !group_seen_)
            commit(now);
    }

    /// Forgets the group (the relay lost its state, or this member left). Keys are wiped.
    void reset()
    {
        current_.reset();
        previous_.reset();
        pending_.reset();
        joining_.reset();
        adds_.clear();
        removes_.clear();
        updates_.clear();
        group_seen_ = false;
    }

    /// The relay forgot this member (it restarted, or the member moved to another relay): forget
    /// the group as reset() does and, if this member held one, take a newer key package (the
    /// update in flight, else a new init key at seq + 1). The group may live on at the other relays
    /// of a federation, whose members refuse a key package not newer than the roster's (a replay)
    /// and would never take this member back; a newer one is an update that re-keys it, and it joins
    /// from that commit (docs/FEDERATION.md, "Catch-up").
    void relay_lost()
    {
        const bool held = current_ != nullptr;
        reset();
        if (!held)
            return;
        if (next_init_) {
            init_ = std::move(*next_init_);
            next_init_.reset();
        } else if (init_.seq != std::numeric_limits<std::uint32_t>::max()) {
            new_init_key(init_.seq + 1, init_);
        }
    }

    /// Post-compromise security: a new init key, installed by this member's next commit (made now
    /// unless one is already waiting for the relay). Commits before it still use the old key.
    /// Nothing at the last seq (options::key_package_seq near 2^32): seq + 1 would wrap to a key
    /// package no member takes, and the commit carrying it would wait at the relay forever.
    void update(time_point now)
    {
        if (pending_ && pending_->installs_next_init)
            return; // the update already on its way to the relay is this one
        if (init_.seq == std::numeric_limits<std::uint32_t>::max())
            return;
        next_init_ = std::make_unique<init_material>();
        new_init_key(init_.seq + 1, *next_init_);
        if (current_ && !pending_)
            commit(now);
    }

    void on_presence(bytes value, time_point now, std::error_code& ec);
    void on_commit(bytes value, time_point now, std::error_code& ec);
    void on_welcome(bytes value, time_point now, std::error_code& ec);

    /// GROUP_MESSAGE carrying `message`, signed and sealed under this member's next generation.
    /// Errors: not_a_member, message_too_large, key_exhausted.
    void seal(bytes message, std::vector<std::byte>& blob, std::error_code& ec);
    /// As many of `messages` (a prefix, at least one) as fit in a blob of at most `budget` bytes,
    /// under one generation and one signature: a GROUP_BATCH, or a GROUP_MESSAGE when only the first
    /// fits. Returns how many it took (0 on error). Errors: seal()'s.
    std::size_t seal_batch(std::span<const bytes> messages, std::size_t budget, std::vector<std::byte>& blob,
                           std::error_code& ec);
    /// GROUP_PART carrying one part of a large message (`header` then `body`), signed and sealed
    /// as a GROUP_MESSAGE under its own label. Errors: seal()'s.
    void seal_part(bytes header, bytes body, std::vector<std::byte>& blob, std::error_code& ec);
    /// A GROUP_PART's value -> the sender's fingerprint and the part (header first). Errors: open()'s.
    std::optional<crypto::fingerprint> open_part(bytes value, std::vector<std::byte>& text, std::error_code& ec);
    /// A GROUP_MESSAGE's value -> the sender's fingerprint and `text`. Errors: not_a_member,
    /// wrong_epoch (a future epoch also asks the relay for missed commits), malformed, replayed,
    /// decrypt_failed, authentication_failed (bad signature).
    std::optional<crypto::fingerprint> open(bytes value, std::vector<std::byte>& text, std::error_code& ec);
    /// A GROUP_BATCH's value -> the sender's fingerprint and its messages, in the sender's order.
    /// Errors: open()'s.
    std::optional<crypto::fingerprint> open_batch(bytes value, std::vector<std::vector<std::byte>>& texts,
                                                  std::error_code& ec);

    /// Repeats an unconfirmed commit (with a GROUP_SYNC, in case only the echo was lost) and asks
    /// for missed commits, each at most once per options::retry.
    void on_timer(time_point now);
    time_point next_timer() const noexcept;

    /// The next blob this member wants sent to the relay (commits, welcome pages, GROUP_SYNC).
    bool poll_output(std::vector<std::byte>& blob)
    {
        if (outputs_.empty())
            return false;
        blob = std::move(outputs_.front());
        outputs_.pop_front();
        return true;
    }
    bool poll_notice(notice& n)
    {
        if (notices_.empty())
            return false;
        n = notices_.front();
        notices_.pop_front();
        return true;
    }

private:
    struct init_material {
        crypto::x25519_keypair kp;
        std::uint32_t seq = 0;
        std::vector<std::byte> package; // identity init seq signature
    };
    struct proposal {
        member_entry entry;
        std::optional<std::array<std::byte, cert_size>> cert;
        std::vector<std::byte> package;
    };
    struct pending_commit {
        std::vector<std::byte> blob;
        std::vector<std::vector<std::byte>> welcome;
        crypto::sha256_digest hash{};
        group_id gid{};
        std::uint64_t epoch = 0;
        std::vector<member_entry> roster;
        epoch_secret secret;
        bool installs_next_init = false;
        time_point sent{};
    };
    struct joining {
        std::vector<std::byte> commit; // the value of the commit that adds this member
        group_id gid{};
        std::uint64_t epoch = 0;
        std::vector<std::optional<member_entry>> roster; // from welcome pages
    };

    void new_init_key(std::uint32_t seq, init_material& m);
    void commit(time_point now);
    std::optional<std::vector<member_entry>> next_roster(const commit_view& c, std::error_code& ec);
    void install(const commit_view& c, const crypto::sha256_digest& hash, std::vector<member_entry> roster,
                 const epoch_secret& secret);
    bool open_entry(const commit_view& c, std::size_t index, const public_key& init, epoch_secret& secret);
    // Signs label || header || content, seals content || signature under the next generation.
    void seal_content(wire::tlv_type type, std::string_view label, bytes content, std::vector<std::byte>& blob,
                      std::error_code& ec);
    // Opens and verifies a message or batch; `content` is what the sender signed. `well_formed`
    // judges it before the generation is spent.
    template <class Check>
    std::optional<crypto::fingerprint> open_content(bytes value, std::string_view label, std::vector<std::byte>& content,
                                                    Check well_formed, std::error_code& ec);
    void try_join(time_point now);
    bool committer_is_me() const;
    void note(notice n)
    {
        if (notices_.size() < max_notices)
            notices_.push_back(n);
    }
    void want_sync(std::uint64_t from_epoch)
    {
        sync_from_ = from_epoch;
        sync_wanted_ = true;
    }
    void send_sync(time_point now);
    bool stale(const group_id& gid, std::uint64_t epoch) const noexcept
    {
        return held_ && held_->first == gid && epoch <= held_->second;
    }

    static constexpr std::size_t max_notices = 8192;

    party_type* me_;
    options opt_;
    std::vector<crypto::fingerprint> roster_; // opt_.roster, sorted
    member_counts counts_;
    init_material init_;
    std::unique_ptr<init_material> next_init_;
    std::unique_ptr<state> current_, previous_;
    std::unique_ptr<pending_commit> pending_;
    std::unique_ptr<joining> joining_;
    std::vector<proposal> adds_, updates_;
    std::vector<crypto::fingerprint> removes_;
    bool group_seen_ = false;
    /// The last epoch of a group this member held or was removed by (kept across reset()): a commit
    /// of that group at or below it can only be a replay (the relay keeps the commit that added this
    /// member, and this member may still hold the init key it sealed to), never a new addition.
    std::optional<std::pair<group_id, std::uint64_t>> held_;
    bool sync_wanted_ = false;
    std::uint64_t sync_from_ = 0;
    time_point last_sync_{};
    std::deque<std::vector<std::byte>> outputs_;
    std::deque<notice> notices_;
};

} // namespace tlvcast::profile::group

#include <tlvcast/profile/group/impl/member_commit.hpp>
#include <tlvcast/profile/group/impl/member_messages.hpp>
