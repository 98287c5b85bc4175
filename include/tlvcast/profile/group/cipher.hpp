// SPDX-License-Identifier: BSL-1.0
// The group profile's Cipher policy: the secure profile's handshake and records on each hop, a
// member's end-to-end group state on the client, commit ordering on the relay.
#pragma once

#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/crypto/random.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/profile/group/admission.hpp>
#include <tlvcast/profile/group/codec.hpp>
#include <tlvcast/profile/group/live_set.hpp>
#include <tlvcast/profile/group/remote_set.hpp>
#include <tlvcast/profile/group/member.hpp>
#include <tlvcast/profile/group/options.hpp>
#include <tlvcast/profile/group/sequencer.hpp>
#include <tlvcast/profile/secure/cipher.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

namespace tlvcast::profile::group {

/// The group profile (docs/PROTOCOL.md, "Group profile"; docs/SECURITY.md says what the relay can
/// and cannot do). Each hop is the secure profile's (handshake, AEAD records). The relay forwards
/// GROUP_MESSAGE, GROUP_COMMIT and GROUP_WELCOME blobs unchanged (opaque forwarding): it holds no
/// key that opens or signs them. Commits are `ordered` (echoed to every member, the committer
/// included, in the relay's order); GROUP_SYNC is a `request` the relay answers from its recent
/// commits. One instance is one side: a client (one member) or a relay.
template <class Suite, class Aead, class Random = crypto::os_random<Suite>>
class basic_cipher {
    using hop_type = secure::basic_cipher<Suite, Aead, Random>;
    using member_type = member<Suite, Aead, Random>;

public:
    static constexpr bool has_record_layer = true;
    static constexpr wire::tlv_type record_type = wire::tlv_type::secure_record;
    static constexpr crypto::forwarding forwarding = crypto::forwarding::opaque;
    static constexpr bool cheap_delivery = true;
    using options = group::options;
    using client_session = typename hop_type::client_session;

    /// The relay's view of one member: its hop session and, once it joined, its GROUP_JOIN value.
    struct peer_session {
        typename hop_type::peer_session hop;
        mutable std::vector<std::byte> join;
        mutable std::shared_ptr<detail::live_set::token> live;
        mutable unsigned join_failures = 0; ///< GROUP_JOINs whose key package did not verify
        /// `join` came over from the session this one re-keyed: the same identity at the same address,
        /// which may be a process restarted in place. One GROUP_JOIN with a newer key package may
        /// replace it (then `rejoined` until the engine announced it: take_rejoin()).
        mutable bool join_carried = false;
        /// Its join is one the relay's own admission would not add (options::relay_admission):
        /// not introduced to joiners (relay_engine::introduce).
        mutable bool inadmissible = false;
        mutable bool rejoined = false;
        mutable std::uint64_t sync_epoch = 0; ///< the relay's epoch when sync_answers began counting
        mutable unsigned sync_answers = 0;
    };
    /// GROUP_SYNC answers per session and epoch (a member that lost an answer asks again; more is waste).
    static constexpr unsigned max_sync_answers = 8;
    /// GROUP_JOINs with a bad key package one session may send before the relay stops verifying.
    static constexpr unsigned max_join_failures = 4;

    /// Throws std::invalid_argument for max_members outside 1..max_members_limit, a zero retry,
    /// admin admission without an admin key, or what the secure profile refuses in opt.hop.
    explicit basic_cipher(crypto::ed25519_keypair identity, options opt = {}, Random rng = Random{})
        : hop_(std::move(identity), opt.hop, std::move(rng))
    {
        if (opt.max_members == 0 || opt.max_members > max_members_limit)
            throw std::invalid_argument("tlvcast::group: max_members must be in 1..1200");
        if (opt.retry <= duration::zero() || opt.commit_history == 0)
            throw std::invalid_argument("tlvcast::group: retry and commit_history must be positive");
        if (opt.policy == admission::admin && !opt.admin_key)
            throw std::invalid_argument("tlvcast::group: admin admission needs the admin's key");
        relay_roster_ = opt.roster;
        std::sort(relay_roster_.begin(), relay_roster_.end());
        member_ = std::make_unique<member_type>(hop_.party(), opt);
        sequencer_ = std::make_unique<sequencer<Suite>>(opt.max_members, opt.commit_history);
        live_ = std::make_shared<detail::live_set>();
    }

    static crypto::ed25519_keypair generate() { return hop_type::generate(); }
    const crypto::fingerprint& identity_fingerprint() const noexcept { return hop_.identity_fingerprint(); }
    const options& settings() const noexcept { return member_->settings(); }
    /// Whether the relay's streams reach this member by unicast fan-out (its repairs to it alone).
    bool unicast_delivery() const noexcept { return settings().mode == delivery::unicast; }
    std::size_t fragment_payload() const noexcept { return hop_.fragment_payload(); }
    std::size_t max_whole() const noexcept { return hop_.max_whole(); }
    secure::pk_counts public_key_ops() const noexcept { return hop_.public_key_ops(); }
    /// The member (client side): its epoch, roster and counts.
    const member_type& group() const noexcept { return *member_; }
    /// The relay's ordering state.
    const sequencer<Suite>& ordering() const noexcept { return *sequencer_; }
    /// Post-compromise security: a new init key, committed by this member (client side).
    void update(time_point now) const { member_->update(now); }

    // ---- client side ----

    void start_session(client_session& s, const endpoint& relay, time_point now, datagram_batch& out) const
    {
        hop_.start_session(s, relay, now, out);
    }
    bool established(const client_session& s) const noexcept { return hop_.established(s); }
    bool handshaking(const client_session& s) const noexcept { return hop_.handshaking(s); }
    void on_timer(client_session& s, time_point now, datagram_batch& out) const
    {
        hop_.on_timer(s, now, out);
        member_->on_timer(now);
    }
    time_point next_timer(const client_session& s) const noexcept
    {
        return std::min(hop_.next_timer(s), member_->next_timer());
    }

    /// The hop's TLVs, GROUP_PRESENCE (a proposal: the member list shown to people comes from
    /// commits, never from the relay), and the commits and welcome pages that answer GROUP_SYNC.
    /// A relay that restarted lost the group: it is founded again.
    crypto::received client_receive(client_session& s, const wire::tlv& t, time_point now,
                                    const crypto::relay_trust& trust, datagram_batch& out,
                                    std::vector<std::byte>& text, std::error_code& ec) const
    {
        ec = {};
        switch (t.type()) {
        case wire::tlv_type::group_presence: member_->on_presence(t.value, now, ec); return {};
        // The relay's answers to GROUP_SYNC come inside records; members check them end to end
        // exactly as forwarded ones.
        case wire::tlv_type::group_commit: member_->on_commit(t.value, now, ec); return {};
        case wire::tlv_type::group_welcome: member_->on_welcome(t.value, now, ec); return {};
        // A relay with a repairing Fragmenter sends a unicast member its forwarded blobs inside
        // records (a stream of its own): opened end to end exactly as forwarded ones.
        case wire::tlv_type::group_message:
        case wire::tlv_type::group_batch:
        case wire::tlv_type::group_part: return client_forwarded(s, t, now, text, ec);
        case wire::tlv_type::secure_deliver:
        case wire::tlv_type::secure_deliver_part:
        case wire::tlv_type::secure_deliver_batch:
        case wire::tlv_type::secure_presence: return {}; // the secure profile's, never this one's
        default: break;
        }
        crypto::received r = hop_.client_receive(s, t, now, trust, out, text, ec);
        if (r.what == crypto::received::kind::established) {
            if (r.relay_restarted || r.relay_changed)
                member_->relay_lost();
            member_->start(now);
        }
        return r;
    }

    /// data: GROUP_MESSAGE (signed, sealed under this member's ratchet); join: GROUP_JOIN (this
    /// member's key package); leave: GROUP_LEAVE. Errors: not_a_member (no group yet),
    /// message_too_large.
    void seal(const client_session&, crypto::message_kind kind, std::span<const std::byte> message,
              std::vector<std::byte>& blob, std::error_code& ec) const
    {
        ec = {};
        if (kind == crypto::message_kind::data)
            member_->seal(message, blob, ec);
        else if (kind == crypto::message_kind::join)
            member_->write_join(blob, ec);
        else
            write_blob(wire::tlv_type::group_leave, {}, blob, ec);
    }

    /// The blob of one part of a large message: GROUP_PART (signed and sealed as GROUP_MESSAGE,
    /// under its own label). Errors: seal()'s.
    void seal_part(const client_session&, std::span<const std::byte> header, std::span<const std::byte> body,
                   std::vector<std::byte>& blob, std::error_code& ec) const
    {
        ec = {};
        member_->seal_part(header, body, blob, ec);
    }

    /// The largest data message seal() takes: one GROUP_MESSAGE's worth (client_engine::send_batch
    /// checks it before it sends anything).
    static constexpr std::size_t max_message() noexcept { return ::tlvcast::profile::group::max_message_size; }

    /// Several data messages, as many as fit in one record (max_whole()), under one signature: a
    /// recipient verifies once per batch. Returns how many it took (0 on error). Errors: seal()'s.
    std::size_t seal_batch(const client_session&, std::span<const std::span<const std::byte>> messages,
                           std::vector<std::byte>& blob, std::error_code& ec) const
    {
        return member_->seal_batch(messages, hop_.max_whole(), blob, ec);
    }

    void protect(client_session& s, std::span<const std::byte> inner, std::vector<std::byte>& record,
                 std::error_code& ec) const
    {
        hop_.protect(s, inner, record, ec);
    }
    void protect_append(client_session& s, std::span<const std::byte> inner, std::vector<std::byte>& dst,
                        std::error_code& ec) const
    {
        hop_.protect_append(s, inner, dst, ec);
    }
    void unprotect(client_session& s, std::span<const std::byte> value, std::vector<std::byte>& inner,
                   std::error_code& ec) const
    {
        hop_.unprotect(s, value, inner, ec);
    }

    /// What the relay forwarded: commits, welcome pages and messages, each checked end to end.
    crypto::received client_forwarded(client_session&, const wire::tlv& t, time_point now,
                                      std::vector<std::byte>& text, std::error_code& ec) const
    {
        ec = {};
        crypto::received r;
        switch (t.type()) {
        case wire::tlv_type::group_commit: member_->on_commit(t.value, now, ec); break;
        case wire::tlv_type::group_welcome: member_->on_welcome(t.value, now, ec); break;
        case wire::tlv_type::group_message:
            if (const auto who = member_->open(t.value, text, ec)) {
                r.what = crypto::received::kind::message;
                r.identity = *who;
            }
            break;
        case wire::tlv_type::group_part:
            if (const auto who = member_->open_part(t.value, text, ec)) {
                r.what = crypto::received::kind::message;
                r.identity = *who;
                r.part = true;
            }
            break;
        case wire::tlv_type::group_batch:
            inbox_->next = 0;
            if (const auto who = member_->open_batch(t.value, inbox_->texts, ec)) {
                inbox_->from = *who;
                poll_message(r, text);
            }
            break;
        default: ec = errc::unexpected_type;
        }
        return r;
    }

    /// The messages of the last GROUP_BATCH after the first (client_forwarded() returned that one).
    bool poll_message(client_session&, crypto::received& r, std::vector<std::byte>& text) const
    {
        return poll_message(r, text);
    }

    bool poll_output(client_session&, std::vector<std::byte>& blob) const { return member_->poll_output(blob); }

    bool poll_notice(client_session&, crypto::received& r) const
    {
        notice n;
        if (!member_->poll_notice(n))
            return false;
        using k = crypto::received::kind;
        r = {};
        r.what = n.what == notice::kind::epoch          ? k::epoch
                 : n.what == notice::kind::member_added ? k::member_added
                 : n.what == notice::kind::gap          ? k::gap
                                                        : k::member_removed;
        if (n.what != notice::kind::epoch)
            r.identity = n.member;
        r.number = n.epoch;
        r.members = n.members;
        r.verified = n.roster_verified;
        r.from = n.from;
        r.to = n.to;
        return true;
    }

    // ---- relay side ----

    bool relay_handshake(const endpoint& from, const wire::tlv& t, time_point now, datagram_batch& out,
                         const peer_session* current, std::optional<peer_session>& registered, std::error_code& ec)
    {
        std::optional<typename hop_type::peer_session> hop;
        const bool mine = hop_.relay_handshake(from, t, now, out, current ? &current->hop : nullptr, hop, ec);
        if (hop) {
            registered.emplace();
            registered->hop = std::move(*hop);
            if (current && current->hop.identity == registered->hop.identity) { // a re-key keeps the membership
                registered->join = current->join;
                registered->live = current->live;
                registered->join_carried = !current->join.empty();
                registered->inadmissible = current->inadmissible;
            }
        }
        return mine;
    }
    void on_timer(time_point now, datagram_batch& out) { hop_.on_timer(now, out); }
    time_point next_timer() const { return hop_.next_timer(); }

    void unprotect(const peer_session& p, std::span<const std::byte> value, std::vector<std::byte>& inner,
                   std::error_code& ec) const
    {
        hop_.unprotect(p.hop, value, inner, ec);
    }
    void protect(peer_session& p, std::span<const std::byte> inner, std::vector<std::byte>& record,
                 std::error_code& ec) const
    {
        hop_.protect(p.hop, inner, record, ec);
    }
    void protect_append(peer_session& p, std::span<const std::byte> inner, std::vector<std::byte>& dst,
                        std::error_code& ec) const
    {
        hop_.protect_append(p.hop, inner, dst, ec);
    }
    std::optional<crypto::fingerprint> identity(const peer_session& p) const noexcept { return p.hop.identity; }

    /// Once after a GROUP_JOIN replaced the one carried over a re-key (a process restarted in place):
    /// the engine announces the session again, so that the members update its key package.
    bool take_rejoin(const peer_session& p) const noexcept { return std::exchange(p.rejoined, false); }

    /// Where forwarded blobs reach `p`: the data group when it joined asking for multicast (one
    /// datagram there serves every such member), else nullopt (its own unicast copy).
    std::optional<endpoint> delivery_group(const peer_session& p) const noexcept
    {
        if (!p.join.empty() && p.join[0] == static_cast<std::byte>(delivery::multicast))
            return member_->settings().data_group;
        return std::nullopt;
    }

    /// Whether `p` is a member of the group as this relay ordered it: its identity is on the
    /// roster of the last commit, or of the one before (a member removed by the last commit still
    /// hears that commit and what its last epoch has in flight). Only members hear the relay's
    /// shared unicast stream (relay_engine); a registered session that is not on the roster
    /// (joined or not) gets its forwarded blobs inside its own records.
    bool is_member(const peer_session& p) const { return sequencer_->may_send(p.hop.identity); }

    /// Whether a joiner should be told of `p` (relay_engine::introduce): it joined, is no member,
    /// and the relay's own admission (if on) would add it.
    bool introducible(const peer_session& p) const { return !p.join.empty() && !p.inadmissible && !is_member(p); }
    /// `f(identity, presence)` for each joiner another relay of the federation announced whose
    /// presence is kept (detail::remote_set), who is no member, and whose last announcement is not
    /// past `up_to` (remote_stamp() when the newcomer registered: it was forwarded what came after):
    /// what a member registering here later is told besides the local joiners
    /// (relay_engine::introduce), until `f` returns false.
    template <class F>
    void remote_introductions(std::uint64_t up_to, F f) const
    {
        remote_->for_each_presence(
            [&](const crypto::fingerprint& fp, std::span<const std::byte> presence) {
                return sequencer_->may_send(fp) || f(fp, presence);
            },
            up_to);
    }
    /// The remote announcements taken so far (remote_introductions()).
    std::uint64_t remote_stamp() const noexcept { return remote_->stamp(); }
    /// How many more members the group may take (max_members less the roster): introductions to
    /// one joiner stop there, since no commit could add more (a join would otherwise draw a
    /// presence, and the joiner's public-key checks, for every parked session).
    std::size_t join_room() const noexcept
    {
        const std::size_t n = sequencer_->roster().size();
        return settings().max_members > n ? settings().max_members - n : 0;
    }

    /// A member's blob, without opening it: messages (from an identity of the current or previous
    /// roster) and welcome pages are forwarded; a commit is
    /// ordered when it continues the epoch chain (sequencer); a join must carry the key package
    /// of the identity its session proved. Errors: malformed, identity_mismatch,
    /// authentication_failed (key package signature), wrong_epoch, not_a_member, unexpected_type.
    crypto::message_kind classify(const peer_session& p, std::span<const std::byte> blob, std::error_code& ec) const;

    /// GROUP_SYNC(epoch): the kept commits after it (the latest with welcome pages for a member not
    /// yet in). Only for a session that joined, and at most max_sync_answers times per session and
    /// epoch of the relay's group (an answer is O(N) bytes for a 12-byte request). Errors:
    /// malformed, not_a_member, rate_limited.
    void answer(const peer_session& p, std::span<const std::byte> blob, std::vector<std::vector<std::byte>>& replies,
                std::error_code& ec) const;

    /// GROUP_PRESENCE: `about` joined (with its key package) or left. Nothing (an empty blob) for
    /// the departure of a session whose identity is live in another one holding the roster's key
    /// package or a newer one (the same process from another address, or a process that restarted:
    /// members remove by identity, and that key package replaced the old one). A restart whose key
    /// package is not newer was refused by the members: the old entry must go.
    void presence(const peer_session&, bool connected, const peer_session* about_session, const endpoint& about,
                  std::vector<std::byte>& blob, std::error_code& ec) const;

    /// A blob another relay of the federation published (docs/FEDERATION.md): a member's blob
    /// (`presence` false) that `origin` sent there, or that relay's presence about `origin`.
    /// Checked as a member's own would be (messages from the roster, welcome pages and commits
    /// through this relay's sequencer, so that every relay follows one commit chain); presence
    /// updates the remote set. Returns how to deliver it: data (to every member), ordered (a
    /// commit: to every member) or join (presence: to each member). Errors: classify()'s, and
    /// identity_mismatch (presence about someone else), overloaded (the remote set is full).
    /// `ordered`: the blob came through the federation's order of commits (set_external_order).
    /// Under an external order a commit is taken only from there (anything else there is refused,
    /// unexpected_type), and then applied as this relay's own would be. `history` (ordered only): a
    /// commit stored in that order before this relay started, replayed to rebuild the group's state
    /// (sequencer::replay_commit).
    crypto::message_kind classify_federated(bool presence, std::span<const std::byte> blob,
                                            const crypto::fingerprint& origin, std::error_code& ec,
                                            bool ordered = false, bool history = false) const;

    /// Commits are ordered by a federation (a JetStream stream: docs/FEDERATION.md, "One order for
    /// membership") rather than by this relay: classify() checks a member's commit without applying
    /// it and returns message_kind::proposed; the commit is applied when classify_federated() gets it
    /// back in the federation's order, as every other relay of the federation applies it. Set once,
    /// before the relay serves (relay_engine::set_federation does).
    void set_external_order(bool on) noexcept { external_order_ = on; }
    bool external_order() const noexcept { return external_order_; }

private:
    // A GROUP_BATCH's messages, handed out one at a time.
    struct inbox {
        std::vector<std::vector<std::byte>> texts;
        std::size_t next = 0;
        crypto::fingerprint from{};
    };
    bool poll_message(crypto::received& r, std::vector<std::byte>& text) const
    {
        if (inbox_->next == inbox_->texts.size())
            return false;
        r = {};
        r.what = crypto::received::kind::message;
        r.identity = inbox_->from;
        text.swap(inbox_->texts[inbox_->next++]);
        if (inbox_->next == inbox_->texts.size()) {
            inbox_->texts.clear();
            inbox_->next = 0;
        }
        return true;
    }

    hop_type hop_;
    std::unique_ptr<member_type> member_;
    std::unique_ptr<inbox> inbox_ = std::make_unique<inbox>();
    std::unique_ptr<sequencer<Suite>> sequencer_;
    std::shared_ptr<detail::live_set> live_;
    std::unique_ptr<detail::remote_set> remote_ = std::make_unique<detail::remote_set>();
    std::vector<crypto::fingerprint> relay_roster_; // options::roster, sorted (relay_admission)
    bool external_order_ = false;                   // set_external_order
};

/// The group profile with AES-256-GCM on the default backend.
using cipher = basic_cipher<crypto::default_suite, crypto::default_aes256_gcm>;
/// The group profile with ChaCha20-Poly1305 on the default backend.
using chacha_cipher = basic_cipher<crypto::default_suite, crypto::default_chacha20_poly1305>;

static_assert(crypto::client_cipher<cipher> && crypto::relay_cipher<cipher>,
              "group::basic_cipher must model both cipher concepts");

} // namespace tlvcast::profile::group

#include <tlvcast/profile/group/impl/cipher_federation.hpp>
#include <tlvcast/profile/group/impl/cipher_relay.hpp>
