// SPDX-License-Identifier: BSL-1.0
// A group of members and the relay's sequencer, wired by hand: what the relay engine does with the
// group profile's blobs, without sockets, records or fragments, so that tests see every blob.
#pragma once

#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/crypto/identity.hpp>
#include <tlvcast/crypto/random.hpp>
#include <tlvcast/profile/group/member.hpp>
#include <tlvcast/profile/group/sequencer.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tlvcast::test::group {

using namespace tlvcast::profile::group;
using suite = crypto::default_suite;
using aead = crypto::default_aes256_gcm;

/// A random source that a test can fork: reseed() gives fresh bytes from then on (a member that
/// recovered from a compromise), while a replica left on the old seed replays the old stream.
struct forkable_random {
    explicit forkable_random(std::uint64_t seed) : r(std::make_unique<crypto::seeded_random<suite>>(seed)) {}
    void fill(std::span<std::byte> out) { r->fill(out); }
    void reseed(std::uint64_t seed) { r = std::make_unique<crypto::seeded_random<suite>>(seed); }
    std::unique_ptr<crypto::seeded_random<suite>> r;
};

using party_t = profile::secure::detail::party<suite, forkable_random>;
using member_t = member<suite, aead, forkable_random>;

inline crypto::ed25519_keypair identity_of(std::uint32_t n)
{
    std::array<std::byte, 32> seed{};
    for (int i = 0; i < 4; ++i)
        seed[static_cast<std::size_t>(i)] = static_cast<std::byte>(n >> (8 * i));
    seed[31] = std::byte{0x47};
    return crypto::ed25519_from_seed<suite>(seed);
}

struct received_message {
    crypto::fingerprint sender;
    std::string text;
};

struct node {
    std::unique_ptr<party_t> party;
    std::unique_ptr<member_t> m;
    bool present = false;
    std::vector<received_message> inbox;
    std::vector<notice> notices;
    std::vector<std::byte> join; // its GROUP_JOIN value
    crypto::fingerprint fp() const { return party->fingerprint(); }
};

/// The texts node `n` received, in order.
inline std::vector<std::string> inbox_texts(const node& n)
{
    std::vector<std::string> v;
    for (const auto& m : n.inbox)
        v.push_back(m.text);
    return v;
}

/// The relay's view: every blob it handled, in order (what a malicious relay holds).
struct group_net {
    sequencer<suite> seq{options::default_max_members, options::default_commit_history};
    std::vector<std::unique_ptr<node>> nodes;
    std::vector<std::vector<std::byte>> seen;
    time_point now{};
    /// Return false to drop a blob on its way from node `from` (test-controlled loss).
    std::function<bool(std::size_t from, const std::vector<std::byte>& blob)> pass = [](auto, const auto&) { return true; };
    std::size_t rejected_commits = 0;
    /// The relay's own admission check (options::relay_admission), when a test sets one.
    std::function<std::error_code(const key_package_view&, std::optional<bytes>)> relay_admit;

    node& add(std::uint32_t id, options opt, std::uint64_t seed)
    {
        auto n = std::make_unique<node>();
        n->party = std::make_unique<party_t>(identity_of(id), profile::secure::options{}, forkable_random(seed));
        n->m = std::make_unique<member_t>(*n->party, std::move(opt));
        nodes.push_back(std::move(n));
        return *nodes.back();
    }

    /// Node i registers and joins: the relay announces it (with its key package) to the others.
    void join(std::size_t i)
    {
        node& n = *nodes[i];
        std::vector<std::byte> blob;
        std::error_code ec;
        n.m->write_join(blob, ec);
        n.join.assign(blob.begin() + 4, blob.end());
        n.present = true;
        announce(i, true);
        n.m->start(now);
        pump();
    }

    /// Nodes first..last-1 join at once, announced to the members already in the group only (a
    /// large group's set-up for benchmarks: the real relay also tells the waiting joiners).
    void join_all(std::size_t first, std::size_t last)
    {
        for (std::size_t i = first; i < last; ++i) {
            node& n = *nodes[i];
            std::vector<std::byte> blob;
            std::error_code ec;
            n.m->write_join(blob, ec);
            n.join.assign(blob.begin() + 4, blob.end());
            std::vector<std::byte> p;
            write_presence(true, endpoint{0x0a000001u + static_cast<std::uint32_t>(i), 4000}, n.fp(), n.join, p, ec);
            for (std::size_t j = 0; j < nodes.size(); ++j)
                if (j != i && nodes[j]->present && nodes[j]->m->in_group())
                    deliver(j, p);
        }
        for (std::size_t i = first; i < last; ++i)
            nodes[i]->present = true;
        pump();
    }

    void leave(std::size_t i)
    {
        nodes[i]->present = false;
        announce(i, false);
        pump();
    }

    void announce(std::size_t i, bool joined)
    {
        std::vector<std::byte> blob;
        std::error_code ec;
        write_presence(joined, endpoint{0x0a000001u + static_cast<std::uint32_t>(i), 4000}, nodes[i]->fp(),
                       nodes[i]->join, blob, ec);
        for (std::size_t j = 0; j < nodes.size(); ++j)
            if (j != i && nodes[j]->present)
                deliver(j, blob);
    }

    void send(std::size_t i, const std::string& text)
    {
        std::vector<std::byte> blob;
        std::error_code ec;
        nodes[i]->m->seal(std::as_bytes(std::span(text)), blob, ec);
        if (!ec)
            route(i, blob);
    }

    /// Node i sends `texts` in as few blobs of at most `budget` bytes as seal_batch makes; returns
    /// how many blobs that was.
    std::size_t send_batch(std::size_t i, const std::vector<std::string>& texts, std::size_t budget = 1196)
    {
        std::vector<bytes> views;
        for (const auto& t : texts)
            views.push_back(std::as_bytes(std::span(t)));
        std::size_t blobs = 0;
        for (std::size_t at = 0; at < views.size();) {
            std::vector<std::byte> blob;
            std::error_code ec;
            const std::size_t n = nodes[i]->m->seal_batch(std::span(views).subspan(at), budget, blob, ec);
            if (ec || n == 0)
                break;
            route(i, blob);
            at += n;
            ++blobs;
        }
        return blobs;
    }

    /// Runs every member's timer at `now` and moves what they send until nothing moves.
    void tick(duration d)
    {
        now += d;
        for (auto& n : nodes)
            if (n->present)
                n->m->on_timer(now);
        pump();
    }

    void pump()
    {
        for (int round = 0; round < 1000; ++round) {
            bool moved = false;
            for (std::size_t i = 0; i < nodes.size(); ++i) {
                std::vector<std::byte> blob;
                while (nodes[i]->present && nodes[i]->m->poll_output(blob)) {
                    moved = true;
                    route(i, blob);
                }
            }
            if (!moved)
                return;
        }
    }

    void route(std::size_t from, const std::vector<std::byte>& blob)
    {
        seen.push_back(blob);
        if (!pass(from, blob))
            return;
        std::error_code ec;
        wire::tlv t = wire::read_outer(blob, ec);
        if (ec)
            return;
        const auto present = [this](const crypto::fingerprint& fp) {
            for (auto& n : nodes)
                if (n->present && n->fp() == fp)
                    return true;
            return false;
        };
        switch (t.type()) {
        case wire::tlv_type::group_commit:
            if (!seq.accept_commit(t.value, nodes[from]->fp(), present, ec, relay_admit)) {
                ++rejected_commits;
                return;
            }
            for (std::size_t j = 0; j < nodes.size(); ++j)
                if (nodes[j]->present)
                    deliver(j, blob);
            return;
        case wire::tlv_type::group_welcome:
            if (!seq.accept_welcome(t.value, nodes[from]->fp(), ec))
                return;
            break;
        case wire::tlv_type::group_sync: {
            std::vector<std::vector<std::byte>> replies;
            seq.answer_sync(profile::group::detail::get_be(t.value, 8), replies);
            for (const auto& r : replies)
                deliver(from, r);
            return;
        }
        default: break;
        }
        for (std::size_t j = 0; j < nodes.size(); ++j)
            if (j != from && nodes[j]->present)
                deliver(j, blob);
    }

    /// Hands one blob to node j as its cipher would, and collects what it reports.
    void deliver(std::size_t j, const std::vector<std::byte>& blob)
    {
        node& n = *nodes[j];
        std::error_code ec;
        const wire::tlv t = wire::read_outer(blob, ec);
        if (ec)
            return;
        switch (t.type()) {
        case wire::tlv_type::group_presence: n.m->on_presence(t.value, now, ec); break;
        case wire::tlv_type::group_commit: n.m->on_commit(t.value, now, ec); break;
        case wire::tlv_type::group_welcome: n.m->on_welcome(t.value, now, ec); break;
        case wire::tlv_type::group_message: {
            std::vector<std::byte> text;
            if (const auto who = n.m->open(t.value, text, ec))
                n.inbox.push_back({*who, std::string(reinterpret_cast<const char*>(text.data()), text.size())});
            break;
        }
        case wire::tlv_type::group_batch: {
            std::vector<std::vector<std::byte>> texts;
            if (const auto who = n.m->open_batch(t.value, texts, ec))
                for (const auto& text : texts)
                    n.inbox.push_back({*who, std::string(reinterpret_cast<const char*>(text.data()), text.size())});
            break;
        }
        default: break;
        }
        notice x;
        while (n.m->poll_notice(x))
            n.notices.push_back(x);
    }

    /// Whether every present member holds the same epoch and roster.
    bool agree() const
    {
        const epoch_state<suite>* ref = nullptr;
        for (const auto& n : nodes) {
            if (!n->present || !n->m->in_group())
                continue;
            const auto* s = n->m->current();
            if (!ref)
                ref = s;
            else if (s->epoch != ref->epoch || s->gid != ref->gid || s->roster != ref->roster)
                return false;
        }
        return true;
    }
};

// What a member that signs whatever it likes can put on the wire: `content` signed under `label`
// and sealed under generation next + `ahead` of the sender's chain (which is left as it was).
inline std::vector<std::byte> forge_signed(const node& sender, wire::tlv_type type, std::string_view label, bytes content,
                                           std::uint32_t ahead)
{
    const auto& s = *sender.m->current();
    auto chain = s.chains[s.me];
    std::error_code ec;
    auto step = chain.next(ec);
    for (std::uint32_t i = 0; i < ahead; ++i)
        step = chain.next(ec);
    const auto& [generation, key] = *step;
    std::vector<std::byte> header;
    profile::group::detail::append(header, s.gid);
    profile::group::detail::put_be(header, s.epoch, 8);
    profile::group::detail::put_be(header, s.me, 2);
    profile::group::detail::put_be(header, generation, 4);
    std::vector<std::byte> sealed(content.begin(), content.end());
    sealed.resize(content.size() + signature_size);
    sender.party->sign(profile::group::detail::message_to_sign(label, header, content),
                       std::span(sealed).subspan(content.size()).first<signature_size>());
    std::vector<std::byte> value = header;
    value.resize(header.size() + sealed.size() + crypto::aead_tag_size);
    aead(key.span().first<crypto::aead_key_size>())
        .seal(key.span().subspan<crypto::aead_key_size, crypto::aead_nonce_size>(), header, sealed,
              std::span(value).subspan(header.size()), ec);
    std::vector<std::byte> blob;
    write_blob(type, value, blob, ec);
    return blob;
}

/// Options for a roster-admitted group whose roster lists identities `ids`.
inline options roster_options(std::initializer_list<std::uint32_t> ids)
{
    options o;
    o.policy = admission::roster;
    for (const auto id : ids)
        o.roster.push_back(crypto::fingerprint_of<suite>(identity_of(id).public_key));
    return o;
}

/// Members 1..n, all on everyone's roster, member `id` drawing from seed `seed_base + id`; none joined.
inline group_net roster_group(std::uint32_t n, std::uint64_t seed_base)
{
    options o;
    o.policy = admission::roster;
    for (std::uint32_t id = 1; id <= n; ++id)
        o.roster.push_back(crypto::fingerprint_of<suite>(identity_of(id).public_key));
    group_net g;
    for (std::uint32_t id = 1; id <= n; ++id)
        g.add(id, o, seed_base + id);
    return g;
}

/// Members 1, 2 and 3, all on the roster, joined in that order (epoch 3).
inline group_net three()
{
    group_net g = roster_group(3, 100);
    for (std::size_t i = 0; i < 3; ++i)
        g.join(i);
    return g;
}

} // namespace tlvcast::test::group
