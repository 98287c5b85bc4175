// SPDX-License-Identifier: BSL-1.0
// The group profile's adversarial review: one section per finding (each with the attack as a test,
// fixed or tagged [!mayfail] while open, see docs/SECURITY.md) and the pins of what held. One
// translation unit: each section includes the same heavy headers.
#include "profile/group/group_net.hpp"

#include <tlvcast/profile/group.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <random>

using namespace tlvcast;
using namespace tlvcast::test::group;

// ==== commit_size ====
// Security review: a commit too large for one blob.
// The designated committer puts every pending addition into one commit. A commit carries 48 bytes
// per member of the new roster plus 133 (197 with a certificate) per addition, and must fit one
// blob (65,535 bytes): from about 360 additions at once (about 266 with certificates) it does not.
// commit() then returned without a pending commit and kept every proposal, so each later presence
// or applied commit built (N X25519 agreements, a signature) and dropped the same oversized commit
// again, and nobody was ever added again. Many joiners at once (a group's start, a relay restart,
// or a relay under admission::open announcing ghosts) reach it.

TEST_CASE("group review: 400 joiners at once still end in one group", "[profile][group][review][state]")
{
    group_net g;
    options open;
    open.policy = admission::open;
    constexpr std::size_t n = 401;
    for (std::uint32_t id = 1; id <= n; ++id)
        g.add(id, open, 3000 + id);
    g.join(0);
    g.join_all(1, n);
    for (int i = 0; i < 4; ++i)
        g.tick(std::chrono::seconds(1));
    REQUIRE(g.nodes[0]->m->in_group());
    CHECK(g.nodes[0]->m->current()->roster.size() == n);
    CHECK(g.agree());
}

// ==== dead_founding ====
// Security review: a registered non-member founds a group while no member is present (a restarted
// relay, or every member's session lapsed at once) and the real group's epoch chain stalls.
//
// The relay accepts a founding commit from anyone when no member of its current roster holds a
// live joined session (sequencer.hpp accept_commit, `dead`). It has no admission policy of its own,
// so the founder can be an identity no member would admit. Afterwards:
// - the members' commits for their own group are wrong_epoch at the relay for as long as the
//   founder stays present (no update, no removal, no addition ever again);
// - after a relay restart, members that reset and try to found again see the outsider's founding
//   commit (forwarded to every registered peer, and in every GROUP_SYNC(0) answer), give up founding
//   (`group_seen_`) and wait forever to be added by a committer they would never admit.
// Not fixed here (it needs the relay to know the admission policy, and members to ignore groups
// whose founder fails theirs): see the report. Tagged [!mayfail] until then.

TEST_CASE("group review: an outsider's founding commit while the members are away stalls their chain",
          "[profile][group][review][dos][!mayfail]")
{
    group_net g = three();
    const auto epoch = g.nodes[0]->m->current()->epoch;
    // An outsider (on no member's roster), registered at the relay, founds while no member is present.
    options own;
    own.policy = admission::open;
    g.add(66, own, 6666);
    for (std::size_t i = 0; i < 3; ++i)
        g.nodes[i]->present = false; // every member's session lapsed for a moment
    g.join(3);
    REQUIRE(g.nodes[3]->m->in_group()); // the relay took the outsider's group
    CHECK(g.seq.epoch() == 1);
    for (std::size_t i = 0; i < 3; ++i)
        g.nodes[i]->present = true; // the members are back (their groups intact)
    const auto refused = g.rejected_commits;
    g.nodes[1]->m->update(g.now); // post-compromise security needs this commit ordered
    g.pump();
    g.tick(std::chrono::seconds(2));
    CHECK(g.rejected_commits == refused); // FAILS today: wrong_epoch at the relay, every retry
    CHECK(g.nodes[1]->m->current()->epoch == epoch + 1);
}

TEST_CASE("group review: after a relay restart an outsider that founds first keeps the members out for good",
          "[profile][group][review][dos][!mayfail]")
{
    group_net g = roster_group(3, 700);
    options own;
    own.policy = admission::open;
    g.add(66, own, 6666);
    // The relay restarted (fresh sequencer): the outsider reconnects first and founds.
    g.join(3);
    REQUIRE(g.seq.epoch() == 1);
    for (std::size_t i = 0; i < 3; ++i)
        g.join(i); // each member, reset by relay_restarted, tries to found and is refused
    for (int i = 0; i < 10; ++i)
        g.tick(std::chrono::seconds(1));
    // No member ever forms a group (they are not on the outsider's list of people to add: it is the
    // designated committer of the relay's group and never admits them; they never found again).
    bool any = false;
    for (std::size_t i = 0; i < 3; ++i)
        any = any || g.nodes[i]->m->in_group();
    CHECK(any); // FAILS today
}

TEST_CASE("group relay: with relay admission, an outsider cannot found while the members are away",
          "[profile][group][review][dos]")
{
    // The relay applies the roster too (options::relay_admission): the outsider's founding is refused.
    for (const bool restart : {false, true}) {
        CAPTURE(restart);
        group_net g;
        const options roster = roster_options({1, 2, 3});
        g.relay_admit = [roster](const key_package_view& kp, std::optional<bytes>) -> std::error_code {
            const auto fp = crypto::fingerprint_of<suite>(kp.entry.identity);
            return std::find(roster.roster.begin(), roster.roster.end(), fp) != roster.roster.end()
                       ? std::error_code{}
                       : make_error_code(errc::admission_refused);
        };
        for (std::uint32_t id = 1; id <= 3; ++id)
            g.add(id, roster, 700 + id);
        options own;
        own.policy = admission::open;
        g.add(66, own, 6666);
        if (!restart) {
            for (std::size_t i = 0; i < 3; ++i)
                g.join(i);
            for (std::size_t i = 0; i < 3; ++i)
                g.nodes[i]->present = false; // every member's session lapsed for a moment
        }
        g.join(3); // the outsider tries to found
        CHECK_FALSE(g.nodes[3]->m->in_group());
        for (std::size_t i = 0; i < 3; ++i) {
            if (restart)
                g.join(i);
            else
                g.nodes[i]->present = true;
        }
        g.nodes[1]->m->update(g.now);
        g.pump();
        for (int i = 0; i < 4; ++i)
            g.tick(std::chrono::seconds(1));
        for (std::size_t i = 0; i < 3; ++i)
            CHECK(g.nodes[i]->m->in_group());
        CHECK(g.agree());
        CHECK_FALSE(g.nodes[3]->m->in_group());
    }
}

// ==== message_flood ====
// Security review: GROUP_MESSAGE from a registered client that is no member of the group.
// The relay forwarded every GROUP_MESSAGE from any registered session to every peer. A non-member
// sees the clear header fields of forwarded traffic (group_id, epoch, sender indices, generations),
// so it can send 110-byte forgeries naming a real sender and generation next + max_skip: each one
// makes every member derive max_skip + 1 message keys (2 HKDF-Expand each, ~2,000 HMACs) before
// the AEAD fails. The relay knows the roster's identities (it tracks them from the commits it
// orders), so it now forwards GROUP_MESSAGE only from an identity of the current or previous roster.

namespace {

using relay_cipher = profile::group::cipher;

relay_cipher::peer_session session_of(const crypto::fingerprint& fp)
{
    relay_cipher::peer_session p;
    p.hop.identity = fp;
    return p;
}

crypto::message_kind classify(relay_cipher& relay, const crypto::fingerprint& who, const std::vector<std::byte>& blob,
                              std::error_code& ec)
{
    const auto p = session_of(who);
    return relay.classify(p, blob, ec);
}

// A forged GROUP_MESSAGE: a real header (group, epoch, sender 0) at generation `g`, random body.
std::vector<std::byte> forged_message(const epoch_state<suite>& s, std::uint32_t g)
{
    std::vector<std::byte> v;
    profile::group::detail::append(v, s.gid);
    profile::group::detail::put_be(v, s.epoch, 8);
    profile::group::detail::put_be(v, 0, 2);
    profile::group::detail::put_be(v, g, 4);
    v.resize(v.size() + 80, std::byte{0x5a});
    std::vector<std::byte> blob;
    std::error_code ec;
    write_blob(wire::tlv_type::group_message, v, blob, ec);
    return blob;
}

} // namespace

TEST_CASE("group review: a forged message max_skip ahead costs a member max_skip ratchet steps",
          "[profile][group][review][cpu]")
{
    // Documents the cost the relay-side gate below keeps non-members from imposing (the relay itself
    // can still impose it: it is outside the trust base for availability).
    group_net g = three();
    member_t& victim = *g.nodes[1]->m;
    const auto& s = *victim.current();
    const auto cost = [&](std::uint32_t generation, int n) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < n; ++i) {
            const auto blob = forged_message(s, generation);
            std::error_code ec;
            std::vector<std::byte> text;
            CHECK_FALSE(victim.open(wire::read_outer(blob, ec).value, text, ec));
            CHECK(ec == errc::decrypt_failed);
        }
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / n;
    };
    const double near = cost(0, 200), far = cost(options::default_max_skip, 200);
    WARN("forged message at generation 0: " << near * 1e6 << " us; at max_skip: " << far * 1e6 << " us");
    CHECK(far > 20 * near); // orders of magnitude: the amplification is real
    CHECK(s.chains[0].next_generation() == 0); // and nothing moved
}

TEST_CASE("group review: the relay forwards GROUP_MESSAGE only from the roster's identities",
          "[profile][group][review][malicious]")
{
    group_net g = three(); // the members; their blobs are replayed into a real relay cipher below
    relay_cipher relay(relay_cipher::generate(), options{});
    std::error_code ec;
    // The members' sessions at the relay, joined (so the group is live: no stray founding commit
    // of a member that started after the group existed is taken).
    std::vector<relay_cipher::peer_session> sessions;
    for (const auto& n : g.nodes)
        sessions.push_back(session_of(n->fp()));
    for (std::size_t i = 0; i < g.nodes.size(); ++i) {
        std::vector<std::byte> join;
        write_blob(wire::tlv_type::group_join, g.nodes[i]->join, join, ec);
        REQUIRE(relay.classify(sessions[i], join, ec) == crypto::message_kind::join);
        REQUIRE_FALSE(ec);
    }
    // Feed the relay the commits and pages it saw (each from its committer).
    for (const auto& b : g.seen) {
        const wire::tlv t = wire::read_outer(b, ec);
        if (t.type() != wire::tlv_type::group_commit && t.type() != wire::tlv_type::group_welcome)
            continue;
        const auto c = t.type() == wire::tlv_type::group_commit ? read_commit(t.value, 1000, ec) : commit_view{};
        const crypto::fingerprint committer = t.type() == wire::tlv_type::group_commit
                                                  ? crypto::fingerprint_of<suite>(c.committer.first<32>())
                                                  : g.nodes[0]->fp(); // every page here is node 0's
        (void)classify(relay, committer, b, ec);
    }
    REQUIRE(relay.ordering().epoch() == 3);
    // A member's real message is forwarded.
    std::vector<std::byte> real;
    const std::string text = "member text";
    g.nodes[1]->m->seal(std::as_bytes(std::span(text)), real, ec);
    REQUIRE_FALSE(ec);
    CHECK(classify(relay, g.nodes[1]->fp(), real, ec) == crypto::message_kind::data);
    CHECK_FALSE(ec);
    // A registered non-member's forgery is not.
    const auto outsider = crypto::fingerprint_of<suite>(identity_of(777).public_key);
    const auto forged = forged_message(*g.nodes[1]->m->current(), options::default_max_skip);
    (void)classify(relay, outsider, forged, ec);
    CHECK(ec == errc::not_a_member);
    // A member removed by the last commit may still have messages of its last epoch in flight.
    const auto removed_fp = g.nodes[2]->fp();
    std::vector<std::byte> late;
    g.nodes[2]->m->seal(std::as_bytes(std::span(text)), late, ec);
    g.pass = [&](std::size_t, const std::vector<std::byte>& b) {
        std::error_code e;
        const wire::tlv t = wire::read_outer(b, e);
        if (t.type() == wire::tlv_type::group_commit)
            (void)classify(relay, crypto::fingerprint_of<suite>(read_commit(t.value, 1000, e).committer.first<32>()), b, e);
        return true;
    };
    g.leave(2);
    REQUIRE(relay.ordering().epoch() == 4);
    CHECK(classify(relay, removed_fp, late, ec) == crypto::message_kind::data);
    CHECK_FALSE(ec);
}

// ==== offline_queue ====
// Security review: what a member queues for the relay while its hop is down.
// The client engine drains member::poll_output only while the hop is established; member::on_timer
// queued the pending commit, its welcome pages and a GROUP_SYNC again every options::retry
// regardless. An on-path attacker that blocks the relay's answers (or a relay that is away) made a
// committer's queue grow without bound: for a 1,000-member group, ~116 KB every 500 ms.

TEST_CASE("group review: a member's queue for the relay stays bounded while nothing is sent",
          "[profile][group][review][memory]")
{
    group_net g = three();
    member_t& m = *g.nodes[1]->m;
    m.update(g.now); // a pending commit
    // ... and the hop goes down: nothing is polled from here on.
    time_point t = g.now;
    for (int i = 0; i < 2000; ++i) { // ~17 minutes of retries
        t += std::chrono::milliseconds(500);
        m.on_timer(t);
    }
    std::size_t queued = 0, bytes = 0;
    std::vector<std::byte> blob;
    while (m.poll_output(blob)) {
        ++queued;
        bytes += blob.size();
    }
    INFO("queued " << queued << " blobs, " << bytes << " bytes");
    CHECK(queued <= 4); // one copy of the commit (and pages) and one GROUP_SYNC is all that helps
}

TEST_CASE("group review (pin): after the hop comes back the queued commit still goes out and is applied",
          "[profile][group][review][memory]")
{
    group_net g = three();
    member_t& m = *g.nodes[1]->m;
    const auto e = m.current()->epoch;
    m.update(g.now);
    time_point t = g.now;
    for (int i = 0; i < 50; ++i) {
        t += std::chrono::milliseconds(500);
        m.on_timer(t);
    }
    g.now = t;
    g.pump(); // the hop is up again: the queue drains to the relay
    CHECK(m.current()->epoch == e + 1);
    CHECK(g.agree());
    g.tick(std::chrono::seconds(1));
    g.send(1, "back");
    CHECK(g.nodes[0]->inbox.back().text == "back");
}

// ==== pins ====
// Security review: promises attacked and not broken, pinned so that they stay so.

namespace {

std::vector<std::byte> value_of(const std::vector<std::byte>& blob)
{
    std::error_code ec;
    const wire::tlv t = wire::read_outer(blob, ec);
    return {t.value.begin(), t.value.end()};
}

std::vector<std::byte> last_of(const group_net& g, wire::tlv_type type)
{
    for (auto it = g.seen.rbegin(); it != g.seen.rend(); ++it) {
        std::error_code ec;
        if (wire::read_outer(*it, ec).type() == type)
            return *it;
    }
    return {};
}

std::vector<std::byte> welcome_value(std::uint64_t epoch, std::size_t first, std::size_t total, std::size_t n)
{
    std::vector<std::byte> v(16, std::byte{7});
    profile::group::detail::put_be(v, epoch, 8);
    profile::group::detail::put_be(v, first, 2);
    profile::group::detail::put_be(v, total, 2);
    v.resize(v.size() + n * roster_entry_size, std::byte{1});
    return v;
}

} // namespace

TEST_CASE("group review (pin): read_welcome refuses first + n past total, total past max_members, epoch 0",
          "[profile][group][review][parser]")
{
    std::error_code ec;
    (void)read_welcome(welcome_value(1, 0xffff, 0xffff, 1), 1000, ec); // first + n overflows 16 bits
    CHECK(ec == errc::malformed);
    (void)read_welcome(welcome_value(1, 999, 1000, 2), 1000, ec);
    CHECK(ec == errc::malformed);
    (void)read_welcome(welcome_value(1, 0, 1001, 1), 1000, ec);
    CHECK(ec == errc::malformed);
    (void)read_welcome(welcome_value(0, 0, 1, 1), 1000, ec);
    CHECK(ec == errc::malformed);
    auto odd = welcome_value(1, 0, 2, 1);
    odd.push_back(std::byte{0});
    (void)read_welcome(odd, 1000, ec);
    CHECK(ec == errc::malformed);
    const auto ok = read_welcome(welcome_value(1, 998, 1000, 2), 1000, ec);
    CHECK_FALSE(ec);
    CHECK(ok.entries.size() == 2);
}

TEST_CASE("group review (pin): read_commit survives every truncation and byte flip; members apply none",
          "[profile][group][review][parser]")
{
    group_net g = three();
    g.nodes[0]->m->update(g.now);
    std::vector<std::byte> commit;
    g.pass = [&](std::size_t, const std::vector<std::byte>& b) {
        std::error_code ec;
        if (wire::read_outer(b, ec).type() == wire::tlv_type::group_commit)
            commit = value_of(b);
        return false;
    };
    g.pump();
    REQUIRE_FALSE(commit.empty());
    member_t& m = *g.nodes[1]->m;
    const auto epoch = m.current()->epoch;
    std::error_code ec;
    for (std::size_t n = 0; n < commit.size(); ++n) {
        (void)read_commit(std::span(commit).first(n), 1000, ec);
        CHECK(ec == errc::malformed);
    }
    std::mt19937 rng(5);
    for (std::size_t i = 0; i < commit.size(); ++i) {
        auto bad = commit;
        bad[i] ^= static_cast<std::byte>(1 + rng() % 255);
        m.on_commit(bad, g.now, ec);
        CHECK(ec);
        CHECK(m.current()->epoch == epoch);
        // Counts at the 2-byte fields, set to 0xffff (past max_members) or to 1,200 (the limit).
    }
    for (const std::size_t at : {std::size_t{89}, std::size_t{91}}) { // n_removed, n_updated
        for (const std::uint16_t count : {std::uint16_t{0xffff}, std::uint16_t{1200}}) {
            auto bad = commit;
            bad[at] = static_cast<std::byte>(count >> 8);
            bad[at + 1] = static_cast<std::byte>(count);
            (void)read_commit(bad, 1000, ec);
            CHECK(ec == errc::malformed);
        }
    }
    m.on_commit(commit, g.now, ec); // the real one still applies
    CHECK_FALSE(ec);
    CHECK(m.current()->epoch == epoch + 1);
}

TEST_CASE("group review (pin): GROUP_PRESENCE and GROUP_JOIN of every length between the legal ones are refused",
          "[profile][group][review][parser]")
{
    group_net g = three();
    std::vector<std::byte> join;
    std::error_code ec;
    g.nodes[0]->m->write_join(join, ec);
    std::vector<std::byte> presence;
    write_presence(true, endpoint{0x0a000009u, 4000}, g.nodes[0]->fp(), value_of(join), presence, ec);
    const auto v = value_of(presence);
    for (std::size_t n = 1; n <= v.size(); ++n) {
        const auto p = read_presence(std::span(v).first(n), ec);
        if (n == v.size()) {
            CHECK_FALSE(ec);
            CHECK(p.join);
        } else if (ec == std::error_code{}) {
            CHECK_FALSE(p.joined); // only the 52-byte departure (kind 0) parses, and kind is 1 here
        }
    }
    for (std::size_t n = 1; n < v.size() - wire::group_presence_fixed; ++n) {
        (void)read_join(std::span(v).subspan(wire::group_presence_fixed, n), ec);
        CHECK(ec == errc::malformed);
    }
}

TEST_CASE("group review (pin): a member removed while its own update is pending never installs it",
          "[profile][group][review][state]")
{
    group_net g = three();
    std::vector<std::vector<std::byte>> held;
    g.pass = [&](std::size_t from, const std::vector<std::byte>& b) {
        if (from == 2)
            held.push_back(b);
        return from != 2;
    };
    g.nodes[2]->m->update(g.now); // node 2's update commit is withheld by the relay
    g.pump();
    REQUIRE_FALSE(held.empty());
    g.announce(2, false); // and node 0 removes node 2 first
    g.pump();
    REQUIRE_FALSE(g.nodes[2]->m->in_group());
    // The relay now echoes node 2's stale commit (and replays it to everyone).
    for (std::size_t j = 0; j < 3; ++j)
        for (const auto& b : held)
            g.deliver(j, b);
    CHECK_FALSE(g.nodes[2]->m->in_group());
    CHECK(g.nodes[0]->m->current()->roster.size() == 2);
    CHECK(g.agree());
    // And the relay's sequencer refused it too (it is not the next epoch any more).
    std::error_code ec;
    for (const auto& b : held)
        if (wire::read_outer(b, ec).type() == wire::tlv_type::group_commit) {
            CHECK_FALSE(g.seq.accept_commit(value_of(b), g.nodes[2]->fp(), [](const auto&) { return true; }, ec));
            CHECK(ec == errc::wrong_epoch);
        }
}

TEST_CASE("group review (pin): two committers racing for the same epoch end in one group",
          "[profile][group][review][state]")
{
    group_net g = three();
    std::vector<std::pair<std::size_t, std::vector<std::byte>>> held;
    g.pass = [&](std::size_t from, const std::vector<std::byte>& b) {
        held.emplace_back(from, b);
        return false;
    };
    g.nodes[1]->m->update(g.now);
    g.nodes[2]->m->update(g.now);
    g.pump();
    REQUIRE(held.size() == 2);
    g.pass = [](auto, const auto&) { return true; };
    // The relay orders node 2's first, then node 1's (refused), in reverse of sending.
    g.route(held[1].first, held[1].second);
    g.route(held[0].first, held[0].second);
    g.pump();
    g.tick(std::chrono::seconds(1));
    g.tick(std::chrono::seconds(1));
    CHECK(g.agree());
    CHECK(g.nodes[0]->m->current()->epoch == 5); // both updates, one after the other
    g.send(1, "after the race");
    CHECK(g.nodes[2]->inbox.back().text == "after the race");
}

TEST_CASE("group review (pin): commits delivered out of order are applied in order after GROUP_SYNC",
          "[profile][group][review][state]")
{
    group_net g = three();
    std::vector<std::vector<std::byte>> to_node2;
    for (int k = 0; k < 3; ++k) {
        g.nodes[2]->present = false; // node 2 misses three updates
        g.nodes[k % 2]->m->update(g.now);
        g.pump();
        to_node2.push_back(last_of(g, wire::tlv_type::group_commit));
        g.nodes[2]->present = true;
    }
    // The relay delivers them newest first.
    std::error_code ec;
    for (auto it = to_node2.rbegin(); it != to_node2.rend(); ++it)
        g.deliver(2, *it);
    g.tick(std::chrono::seconds(1)); // it asked for a sync; the relay answers
    CHECK(g.agree());
    CHECK(g.nodes[2]->m->current()->epoch == g.nodes[0]->m->current()->epoch);
}

TEST_CASE("group review (pin): under roster admission a joiner refuses a group that holds a ghost",
          "[profile][group][review][admission]")
{
    // The relay cannot sign as a member, but a joiner checks every member anyway under roster: a
    // group whose roster holds an identity outside the joiner's list gives it no secret.
    group_net g;
    options open;
    open.policy = admission::open;
    g.add(1, open, 801);          // a member with open admission adds whoever the relay announces
    g.add(1000, open, 802);       // the relay's ghost
    g.add(3, roster_options({1, 3}), 803); // the joiner lists 1 and 3 only
    g.join(0);
    g.join(1);
    REQUIRE(g.nodes[0]->m->current()->roster.size() == 2);
    g.join(2);
    CHECK_FALSE(g.nodes[2]->m->in_group());
    CHECK(g.nodes[2]->m->counts().commits_rejected > 0);
}

// ==== pk_amplification ====
// Security review: public-key operations one cheap datagram forces, at the relay and at a member.

// At the relay: classify() verifies the key package of every GROUP_JOIN, also on a session that
// already joined (where a repeat is never announced again). A registered client can send one
// ~150-byte record after another, each with a flipped signature byte: one Ed25519 verification
// each, without limit. Not fixed here (a repeat must still be honoured after an update changed the
// key package, so it needs a per-session limit on re-verification); see the report.
TEST_CASE("group review: a joined session's repeated GROUP_JOINs cost the relay no verification",
          "[profile][group][review][cpu]")
{
    profile::group::cipher relay(profile::group::cipher::generate(), options{});
    party_t attacker(identity_of(31337), profile::secure::options{}, forkable_random(1));
    member_t m(attacker, options{});
    std::vector<std::byte> join;
    std::error_code ec;
    m.write_join(join, ec);
    profile::group::cipher::peer_session p;
    p.hop.identity = attacker.fingerprint();
    REQUIRE(relay.classify(p, join, ec) == crypto::message_kind::join);
    REQUIRE_FALSE(ec);
    const auto before = relay.public_key_ops().ed25519_verify;
    for (int i = 0; i < 100; ++i) {
        auto bad = join;
        bad.back() ^= static_cast<std::byte>(1 + i % 255); // the signature's last byte
        (void)relay.classify(p, bad, ec);
    }
    for (int i = 0; i < 100; ++i) // the same join again, as a waiting member repeats it: free and accepted
        CHECK(relay.classify(p, join, ec) == crypto::message_kind::join);
    CHECK_FALSE(ec);
    // A session that never joined: bad key packages are verified at most max_join_failures times.
    profile::group::cipher::peer_session q;
    q.hop.identity = attacker.fingerprint();
    for (int i = 0; i < 100; ++i) {
        auto bad = join;
        bad.back() ^= static_cast<std::byte>(1 + i % 255);
        (void)relay.classify(q, bad, ec);
    }
    CHECK(ec == errc::rate_limited);
    const auto spent = relay.public_key_ops().ed25519_verify - before;
    WARN("100 repeated GROUP_JOINs on one joined session: " << spent << " Ed25519 verifications at the relay");
    CHECK(spent <= profile::group::cipher::max_join_failures);
}

// At a member: what the relay's datagrams cost (the relay is outside the trust base for
// availability, so this is the bound, not a bug): a presence 2 (X25519 low-order check + key
// package), a commit 1 before anything else is checked (its signature) and at most
// 2 x max_members more for additions (key package + init check) plus admission, a message 1
// (only after its AEAD opened: forgeries cost none).
TEST_CASE("group review (pin): public-key operations per hostile blob at a member are bounded",
          "[profile][group][review][cpu]")
{
    group_net g = three();
    party_t& victim = *g.nodes[1]->party;
    member_t& m = *g.nodes[1]->m;
    std::error_code ec;
    // A presence for a non-roster identity with a valid key package: refused after 2 operations.
    party_t ghost(identity_of(5555), profile::secure::options{}, forkable_random(2));
    member_t gm(ghost, options{});
    std::vector<std::byte> join, presence;
    gm.write_join(join, ec);
    const std::vector<std::byte> jv(join.begin() + 4, join.end());
    write_presence(true, endpoint{0x0a000063u, 4000}, ghost.fingerprint(), jv, presence, ec);
    auto before = victim.counts().total();
    m.on_presence(wire::read_outer(presence, ec).value, g.now, ec);
    CHECK(ec == errc::admission_refused);
    CHECK(victim.counts().total() - before <= 2);
    // A forged message at max_skip: no public-key operation at all.
    std::vector<std::byte> real;
    const std::string text = "x";
    g.nodes[0]->m->seal(std::as_bytes(std::span(text)), real, ec);
    auto value = std::vector<std::byte>(real.begin() + 4, real.end());
    value.back() ^= std::byte{1};
    before = victim.counts().total();
    std::vector<std::byte> out;
    CHECK_FALSE(m.open(value, out, ec));
    CHECK(victim.counts().total() == before);
}

// ==== stale_rejoin ====
// Security review: a removed member must not be put back into an epoch it was removed from.
// The relay keeps the commit that added a member (and its welcome pages) for GROUP_SYNC; the member
// kept the init key that commit sealed to, so replaying that commit with its pages (or just answering
// the removed member's own GROUP_SYNC(0)) re-installed the old epoch: a removed member believed it
// was in the group again, sealed messages under an old epoch secret (readable by every member of that
// old epoch, including members removed since) and cycled through removals every 4 x retry.

namespace {

// The relay's view of commits and welcome pages of `epoch` (value bytes, as forwarded).
std::vector<std::vector<std::byte>> blobs_of_epoch(const group_net& g, std::uint64_t epoch)
{
    std::vector<std::vector<std::byte>> out;
    for (const auto& b : g.seen) {
        std::error_code ec;
        const wire::tlv t = wire::read_outer(b, ec);
        if (ec)
            continue;
        if (t.type() == wire::tlv_type::group_welcome && profile::group::detail::get_be(t.value.subspan(16), 8) == epoch)
            out.push_back(b);
        if (t.type() == wire::tlv_type::group_commit && profile::group::detail::get_be(t.value.subspan(17), 8) == epoch)
            out.push_back(b);
    }
    return out;
}

} // namespace

TEST_CASE("group review: a removed member is not put back into the epoch that added it (relay replay)",
          "[profile][group][review][malicious]")
{
    group_net g = three();
    const std::uint64_t added_in = 3; // node 2 was added by commit 3
    REQUIRE(g.nodes[2]->m->current()->epoch == added_in);
    const auto replay = blobs_of_epoch(g, added_in);
    REQUIRE(replay.size() == 2); // one welcome page and the commit
    // The relay announces node 2's departure while node 2 still hears the relay: it is removed.
    g.announce(2, false);
    g.pump();
    REQUIRE(g.nodes[0]->m->current()->epoch == added_in + 1);
    REQUIRE_FALSE(g.nodes[2]->m->in_group());
    // The relay replays the welcome page and the commit that once added node 2.
    for (const auto& b : replay)
        g.deliver(2, b);
    CHECK_FALSE(g.nodes[2]->m->in_group());
    if (g.nodes[2]->m->in_group()) {
        // What it would do there: seal under epoch 3's secret, which node 0 still opens (previous
        // epoch) and which every member of epoch 3 could read, removed ones included.
        std::error_code ec;
        std::vector<std::byte> blob;
        const std::string text = "sent after my removal";
        g.nodes[2]->m->seal(std::as_bytes(std::span(text)), blob, ec);
        CHECK(g.nodes[2]->m->current()->epoch == added_in);
    }
}

TEST_CASE("group review: a removed member's GROUP_SYNC(0) does not re-install an old epoch (honest relay)",
          "[profile][group][review]")
{
    group_net g = three();
    g.announce(2, false);
    g.pump();
    REQUIRE_FALSE(g.nodes[2]->m->in_group());
    const auto applied = g.nodes[2]->m->counts().commits_applied;
    g.nodes[2]->notices.clear();
    for (int i = 0; i < 6; ++i)
        g.tick(std::chrono::seconds(1)); // it asks for GROUP_SYNC(0) every 4 x retry: the relay answers
    CHECK(g.nodes[2]->m->counts().sync_requests > 0);
    CHECK(g.nodes[2]->m->counts().commits_applied == applied); // no epoch re-installed
    CHECK(g.nodes[2]->notices.empty()); // and no phantom epoch / removed events
    CHECK_FALSE(g.nodes[2]->m->in_group());
    CHECK(g.agree());
}

TEST_CASE("group review (pin): a removed member that joins again is added with a fresh key and reads again",
          "[profile][group][review]")
{
    group_net g = three();
    g.announce(2, false);
    g.pump();
    REQUIRE_FALSE(g.nodes[2]->m->in_group());
    // It joins again (a new GROUP_JOIN with the key package it now holds).
    g.nodes[2]->present = false;
    g.join(2);
    REQUIRE(g.nodes[2]->m->in_group());
    CHECK(g.agree());
    g.send(0, "welcome back");
    REQUIRE_FALSE(g.nodes[2]->inbox.empty());
    CHECK(g.nodes[2]->inbox.back().text == "welcome back");
}

// ==== sync_amplification ====
// Security review: GROUP_SYNC(0) from any registered client.
// The relay answers every GROUP_SYNC, from any registered session (member, joiner or outsider), with
// each kept commit after the epoch asked for and, for epoch 0, their welcome pages: up to
// commit_history x (a commit of 48 bytes a member + its pages of 68 bytes a member). One 12-byte
// blob from an outsider costs the relay that much sealing and egress, as often as it asks; it also
// hands an outsider the roster's identity keys and every commit's clear fields (metadata that
// SECURITY.md lists as the relay's view only). Not fixed here: a per-session limit (one answer
// per retry interval) and answering epoch 0 only to sessions that sent GROUP_JOIN would bound it.

TEST_CASE("group review: one GROUP_SYNC(0) from an outsider draws the relay's whole history",
          "[profile][group][review][dos][!mayfail]")
{
    group_net g;
    options open;
    open.policy = admission::open;
    constexpr std::size_t n = 60;
    for (std::uint32_t id = 1; id <= n; ++id)
        g.add(id, open, 1000 + id);
    g.join(0);
    g.join_all(1, n); // one commit adds 59
    for (int k = 0; k < 8; ++k) {
        g.nodes[1 + k]->m->update(g.now);
        g.pump();
    }
    REQUIRE(g.agree());
    profile::group::cipher relay(profile::group::cipher::generate(), options{});
    // The relay's sequencer holds the same history as g.seq; measure g.seq's answer directly.
    std::vector<std::vector<std::byte>> replies;
    g.seq.answer_sync(0, replies);
    std::size_t bytes = 0;
    for (const auto& r : replies)
        bytes += r.size();
    const std::size_t request = 4 + 8;
    WARN("GROUP_SYNC(0): " << request << " bytes in, " << replies.size() << " blobs and " << bytes
                           << " bytes out (x" << bytes / request << "), for a " << n << "-member group");
    // Now bounded per session (below), but an answer stays O(N): a joiner needs the roster.

    CHECK(bytes < 100 * request); // FAILS today
}

TEST_CASE("group relay: GROUP_SYNC is answered only to joined sessions, a bounded number of times per epoch",
          "[profile][group][review][dos]")
{
    profile::group::cipher relay(profile::group::cipher::generate(), options{});
    std::vector<std::byte> sync;
    std::error_code ec;
    write_blob(wire::tlv_type::group_sync, std::vector<std::byte>(8, std::byte{0}), sync, ec);
    profile::group::cipher::peer_session outsider;
    outsider.hop.identity = crypto::fingerprint_of<suite>(identity_of(4242).public_key);
    std::vector<std::vector<std::byte>> out;
    relay.answer(outsider, sync, out, ec);
    CHECK(ec == errc::not_a_member);
    CHECK(out.empty());
    // A joined session: answered up to max_sync_answers times in one epoch, then refused.
    party_t joiner(identity_of(4243), profile::secure::options{}, forkable_random(3));
    member_t m(joiner, options{});
    std::vector<std::byte> join;
    m.write_join(join, ec);
    profile::group::cipher::peer_session p;
    p.hop.identity = joiner.fingerprint();
    REQUIRE(relay.classify(p, join, ec) == crypto::message_kind::join);
    unsigned answered = 0;
    for (int i = 0; i < 50; ++i) {
        relay.answer(p, sync, out, ec);
        answered += !ec;
    }
    CHECK(answered == profile::group::cipher::max_sync_answers);
    CHECK(ec == errc::rate_limited);
}

// ==== welcome_staging ====
// Security review: welcome pages for the next epoch from a registered client that is not a member.
// The relay staged (and forwarded) a GROUP_WELCOME for epoch + 1 from anyone, in a table of 4
// entries evicted oldest first. Non-members (4 cheap identities) could evict the committer's staged
// pages between its pages and its commit, so the commit was refused (not_ready) and every addition
// stalled; their pages, forwarded to a waiting joiner, also overwrote the roster it was assembling.

namespace {

// A well-formed welcome page for (gid, epoch) listing `n` made-up entries out of `total`.
std::vector<std::byte> fake_page(const group_id& gid, std::uint64_t epoch, std::size_t total, std::uint8_t fill)
{
    std::vector<member_entry> roster(total);
    for (auto& e : roster) {
        e.identity.fill(std::byte{fill});
        e.init.fill(std::byte{fill});
    }
    auto pages = write_welcome(gid, epoch, roster, welcome_page_entries);
    return pages.front();
}

} // namespace

TEST_CASE("group review: non-members' welcome pages cannot evict the committer's staged pages",
          "[profile][group][review][sequencer]")
{
    // Members 1..4 on everyone's roster; 4 joins while 1 (the designated committer) commits.
    group_net g = roster_group(4, 500);
    for (std::size_t i = 0; i < 3; ++i)
        g.join(i);
    REQUIRE(g.nodes[0]->m->current()->epoch == 3);
    std::vector<std::vector<std::byte>> held;
    g.pass = [&](std::size_t from, const std::vector<std::byte>& b) {
        if (from == 0)
            held.push_back(b);
        return from != 0;
    };
    g.join(3);
    REQUIRE(held.size() == 2); // one welcome page, then the commit
    const group_id gid = g.nodes[0]->m->current()->gid;
    std::error_code ec;
    // The committer's page reaches the relay.
    REQUIRE(g.seq.accept_welcome(wire::read_outer(held[0], ec).value, g.nodes[0]->fp(), ec));
    // Four registered non-members each send a page for the next epoch.
    std::size_t forwarded = 0;
    for (std::uint32_t a = 0; a < 4; ++a) {
        const auto attacker = crypto::fingerprint_of<suite>(identity_of(900 + a).public_key);
        const auto page = fake_page(gid, 4, 4, static_cast<std::uint8_t>(0x10 + a));
        if (g.seq.accept_welcome(wire::read_outer(page, ec).value, attacker, ec))
            ++forwarded;
    }
    CHECK(forwarded == 0); // not staged and not forwarded: they are no member
    const auto present = [&](const crypto::fingerprint&) { return true; };
    CHECK(g.seq.accept_commit(wire::read_outer(held[1], ec).value, g.nodes[0]->fp(), present, ec));
    CHECK_FALSE(ec);
    CHECK(g.seq.epoch() == 4);
}

TEST_CASE("group review (pin): the committer's own pages are still staged, repeated and kept for GROUP_SYNC",
          "[profile][group][review][sequencer]")
{
    group_net g = roster_group(4, 600);
    for (std::size_t i = 0; i < 4; ++i)
        g.join(i);
    CHECK(g.agree());
    REQUIRE(g.nodes[3]->m->in_group());
    CHECK(g.nodes[3]->m->current()->epoch == 4);
    // A member (not the committer) sending a page for a kept epoch is refused.
    const group_id gid = g.nodes[0]->m->current()->gid;
    std::error_code ec;
    const auto page = fake_page(gid, 4, 4, 0x33);
    CHECK_FALSE(g.seq.accept_welcome(wire::read_outer(page, ec).value, g.nodes[1]->fp(), ec));
    CHECK(ec == errc::not_a_member);
}
