// SPDX-License-Identifier: BSL-1.0
// Adversarial review of federation (docs/FEDERATION.md): an attacker that gets arbitrary (presence,
// blob, origin) triples to relay_engine::handle_federated. Since envelopes are authenticated
// (federation/auth.hpp: HMAC-SHA256 under the federation key, a per-relay counter), that attacker is
// a relay of the federation, i.e. a holder of the federation key: anyone with NATS publish rights
// alone is refused at the bridge before the engine sees anything, and a recorded envelope played
// again is refused too (tests/federation/auth.cpp shows both, counted). The [!shouldfail] findings
// below are what an authenticated relay can still do; they stay open. Each finding is a
// test: fixed in the library, or tagged [!shouldfail] with the finding named; then the pins of what
// held. Harness: the two-site simulation of federation.cpp (each relay's sink feeds the others'
// handle_federated), generalised to per-site relay options and member identities.
#include "profile/group/group_net.hpp"
#include "secure/sim_helpers.hpp"

#include <tlvcast/profile/group.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace tlvcast;
namespace group = tlvcast::profile::group;

namespace {

using net_t = test::secure_net<group::cipher>;
using suite = crypto::default_suite;

struct held {
    bool presence = false;
    std::vector<std::byte> blob;
    crypto::fingerprint origin{};
};

bool is(const std::vector<std::byte>& blob, wire::tlv_type t)
{
    return blob.size() >= 2 && wire::detail::load_u16(blob.data()) == static_cast<std::uint16_t>(t);
}

crypto::fingerprint fp_of(std::uint8_t id) { return crypto::fingerprint_of<suite>(test::identity(id).public_key); }

group::options open_group()
{
    group::options o;
    o.policy = group::admission::open;
    return o;
}

group::options roster_of(std::initializer_list<std::uint8_t> ids)
{
    group::options o;
    o.policy = group::admission::roster;
    for (const auto id : ids)
        o.roster.push_back(fp_of(id));
    return o;
}

struct site_spec {
    group::options relay = open_group();
    std::vector<std::uint8_t> members;
    group::options member = open_group();
};

struct fed {
    std::vector<std::unique_ptr<net_t>> nets;
    std::vector<std::vector<held>> published;
    std::vector<std::vector<std::vector<core::client_event>>> seen;
    bool linked = true;
    std::size_t refused_federated = 0;
    std::size_t last_out = 0;

    explicit fed(const std::vector<site_spec>& specs)
    {
        published.resize(specs.size());
        for (std::size_t s = 0; s < specs.size(); ++s) {
            nets.push_back(std::make_unique<net_t>(group::cipher(test::identity(std::uint8_t(200 + s)), specs[s].relay)));
            for (const auto id : specs[s].members)
                nets[s]->add_client(group::cipher(test::identity(id), specs[s].member));
            seen.emplace_back(specs[s].members.size());
            nets[s]->relay().set_federation([this, s](const core::federated_blob& b) {
                published[s].push_back({b.presence, {b.blob.begin(), b.blob.end()}, b.origin});
            });
        }
    }

    bool deliver(std::size_t to, const held& h)
    {
        datagram_batch out;
        std::vector<core::relay_event> events;
        const bool ok = nets[to]->relay().handle_federated({h.presence, h.blob, h.origin}, nets[to]->now(), out, events);
        last_out = out.size();
        for (std::size_t i = 0; i < out.size(); ++i)
            nets[to]->inject(nets[to]->relay_address, out[i].to, out[i].bytes);
        return ok;
    }
    // The attacker publishes: every relay receives it.
    void publish(const held& h)
    {
        for (std::size_t s = 0; s < nets.size(); ++s)
            deliver(s, h);
    }

    void run(duration d)
    {
        for (duration t{}; t < d; t += std::chrono::milliseconds(1)) {
            for (auto& n : nets)
                n->run_for(std::chrono::milliseconds(1));
            for (std::size_t s = 0; linked && s < nets.size(); ++s) {
                auto batch = std::move(published[s]);
                published[s].clear();
                for (const held& h : batch)
                    for (std::size_t to = 0; to < nets.size(); ++to)
                        if (to != s && !deliver(to, h))
                            ++refused_federated;
            }
            for (std::size_t s = 0; s < nets.size(); ++s)
                for (std::size_t i = 0; i < nets[s]->clients(); ++i)
                    for (auto& ev : nets[s]->events(i))
                        seen[s][i].push_back(std::move(ev));
        }
    }

    const auto& member(std::size_t s, std::size_t i) { return nets[s]->client(i).cipher().group(); }
    bool in_roster(std::size_t s, std::size_t i, std::uint8_t id)
    {
        const auto* st = member(s, i).current();
        if (!st)
            return false;
        return std::any_of(st->roster.begin(), st->roster.end(),
                           [&](const group::member_entry& e) { return e.identity == test::identity(id).public_key; });
    }
    std::size_t messages(std::size_t s, std::size_t i, const std::string& text) const
    {
        return static_cast<std::size_t>(std::count_if(seen[s][i].begin(), seen[s][i].end(), [&](const auto& e) {
            return e.what == core::client_event::kind::message && e.text == text;
        }));
    }
    std::uint64_t refused(std::size_t s) { return nets[s]->relay().counters().get(core::relay_counter::refused); }
};

// One member alone at its own (unlinked) relay: what it publishes is the attacker's material (an
// outsider's founding commit, its presence, its messages), all validly signed by the outsider.
struct outsider {
    fed f;
    explicit outsider(std::uint8_t id) : f({site_spec{open_group(), {id}, open_group()}})
    {
        f.linked = false;
        f.nets[0]->start(0);
        f.run(std::chrono::milliseconds(200));
    }
    held first(bool presence, wire::tlv_type type)
    {
        for (const held& h : f.published[0])
            if (h.presence == presence && is(h.blob, type))
                return h;
        FAIL("no such publication");
        return {};
    }
};

// A presence blob as a relay writes it, for `party` (any identity the attacker made), joined.
held ghost_presence(std::uint32_t id)
{
    test::group::party_t party(test::group::identity_of(id), profile::secure::options{},
                               test::group::forkable_random(id));
    test::group::member_t m(party, open_group());
    std::vector<std::byte> join, blob;
    std::error_code ec;
    m.write_join(join, ec);
    REQUIRE_FALSE(ec);
    const auto fp = party.fingerprint();
    group::write_presence(true, endpoint{0x0a000001, 4000}, fp, std::span(join).subspan(4), blob, ec);
    REQUIRE_FALSE(ec);
    return {true, blob, fp};
}

// A departure of `fp`'s session at `about` (its relay's presences, which every relay and NATS
// subscriber reads, name each session's address).
held departure(const crypto::fingerprint& fp, const endpoint& about = endpoint{0x0a000001, 4000})
{
    std::vector<std::byte> blob;
    std::error_code ec;
    group::write_presence(false, about, fp, {}, blob, ec);
    REQUIRE_FALSE(ec);
    return {true, blob, fp};
}

} // namespace

// ==== fed_admission ====
// Finding (high, fixed): a federated founding commit skipped the relay's own admission
// (options::relay_admission). cipher_relay.hpp passes `admit` to the sequencer for a local commit;
// cipher_federation.hpp did not. So "with relay admission, an outsider cannot found while the
// members are away" (review.cpp) did not hold against a NATS publisher: before the members came
// (epoch 0) or while none was present, an outsider's self-signed founding commit, with origin =
// itself (the publishing relay "vouches" for any origin), became the relay's group; announcing the
// outsider's presence then kept it "live" forever, so the real members' founding commits were
// wrong_epoch at that relay and they never formed a group there.

TEST_CASE("federation review: relay admission applies to federated founding commits",
          "[profile][group][federation][review]")
{
    site_spec spec;
    spec.relay = roster_of({1, 2});
    spec.relay.relay_admission = true;
    spec.members = {1, 2};
    spec.member = roster_of({1, 2});
    fed g({spec});
    outsider o(66);
    const held founding = o.first(false, wire::tlv_type::group_commit);
    const held presence = o.first(true, wire::tlv_type::group_presence);
    // Before any member came: the outsider's group is refused, as a local outsider's is.
    const auto before = g.refused(0);
    CHECK_FALSE(g.deliver(0, founding));
    CHECK(g.refused(0) == before + 1);
    g.deliver(0, presence); // it claims to be live somewhere
    for (std::size_t i = 0; i < 2; ++i) {
        g.nets[0]->start(i);
        g.run(std::chrono::milliseconds(300));
    }
    g.run(std::chrono::seconds(2));
    REQUIRE(g.member(0, 0).in_group());
    CHECK(g.member(0, 0).current()->roster.size() == 2);
    CHECK_FALSE(g.in_roster(0, 0, 66));
    CHECK(g.member(0, 1).in_group());
}

// ==== fed_welcome_poison ====
// Finding (high, open): a welcome page's federated `origin` is believed. The sequencer stages the
// next epoch's pages per sender and caps them per sender (one page for up to 963 members), and a
// commit that adds members is ordered only if the staged pages of its committer cover the new roster
// (`covers` also fails on any staged page whose total differs). Locally the sender is the
// authenticated session, so only the committer can stage its own pages. Federated, anyone names the
// committer as origin: one junk page for (gid, epoch + 1) staged before the real ones (the gid and
// epoch are in every commit, which every relay forwards) makes the real page refused (cap) and the
// adding commit not_ready at that relay. That relay then refuses every later commit too (the chain
// moved on elsewhere): its site is cut off from the group until its members re-join, and the joiner
// there is never added. Re-sent after each commit, it stalls every addition at every relay.
// Not a one-line fix (pages carry no signature; the staging must not trust the federated origin,
// e.g. stage federated pages per publisher and take any set that covers the roster, bounded).
// Since envelope authentication only a key-holding relay can do it (a NATS publisher's page is
// refused as unauthenticated): tagged [!shouldfail] as a relay's power.

TEST_CASE("federation review: a federation relay's welcome page in the committer's name stalls an addition elsewhere",
          "[profile][group][federation][review][dos][!shouldfail]")
{
    fed g({site_spec{open_group(), {1}, open_group()}, site_spec{open_group(), {11}, open_group()}});
    g.nets[0]->start(0);
    g.run(std::chrono::milliseconds(500));
    REQUIRE(g.member(0, 0).in_group());
    const auto* st = g.member(0, 0).current();
    // Three made-up entries: a page of a roster of 3 (the real one will have 2).
    std::vector<group::member_entry> junk(3);
    for (std::size_t i = 0; i < junk.size(); ++i)
        junk[i].identity[0] = std::byte(i + 1);
    const auto pages = group::write_welcome(st->gid, st->epoch + 1, junk, group::welcome_page_entries);
    REQUIRE(pages.size() == 1);
    CHECK(g.deliver(1, {false, pages[0], fp_of(1)})); // staged at site 1's relay in member 1's name
    g.nets[1]->start(0);
    g.run(std::chrono::seconds(3));
    CHECK(g.member(0, 0).current()->roster.size() == 2); // member 1 added 11 (its relay took it)
    CHECK(g.member(1, 0).in_group());                    // FAILS: site 1's relay refused the commit
    CHECK(g.refused_federated == 0);
}

// ==== fed_departure ====
// Finding (medium, open): anyone with NATS publish rights can forge a member's departure. A
// departure presence is checked only for `identity == origin` (no key package, nothing signed: a
// relay's presence is the relay's word), and every relay forwards it to its members, whose committer
// removes the member (docs/SECURITY.md: a relay announcing a false departure removes a member).
// Federation hands that power to every NATS credential, at every site, for every member of the
// group, including members of sites whose relays are honest. docs/FEDERATION.md says a publisher's
// presence claims affect "only who founds a group and what members see as presence": it understates
// this. Envelope authentication now takes it from NATS credentials (unauthenticated) and from
// replays of recorded presence (the relay counter); a key-holding relay can still claim any
// member's departure, since presence is the relay's word and the key is shared by all relays
// (per-member signed departures would be needed): tagged [!shouldfail] as a relay's power.

TEST_CASE("federation review: a federation relay's forged departure removes a present member",
          "[profile][group][federation][review][dos][!shouldfail]")
{
    fed g({site_spec{open_group(), {1, 2}, open_group()}, site_spec{open_group(), {11}, open_group()}});
    for (std::size_t s = 0; s < 2; ++s)
        for (std::size_t i = 0; i < g.nets[s]->clients(); ++i) {
            g.nets[s]->start(i);
            g.run(std::chrono::milliseconds(300));
        }
    g.run(std::chrono::seconds(1));
    REQUIRE(g.member(1, 0).in_group());
    REQUIRE(g.member(1, 0).current()->roster.size() == 3);
    const auto epoch = g.member(1, 0).current()->epoch;
    g.publish(departure(fp_of(2), g.nets[0]->client_address(1))); // member 2 is alive and well at site 0
    g.run(std::chrono::milliseconds(500));
    CHECK(g.in_roster(0, 0, 2)); // FAILS: its committer removed it
    CHECK(g.member(0, 0).current()->epoch == epoch);
}

// ==== fed_remote_flood ====
// Finding (medium, fixed): the remote set (4096 identities) is a shared pool any NATS publisher can
// fill with identities it made (each a self-signed key package: cheap). Once full, classify_federated
// refused every new remote joiner's presence (overloaded) instead of only not counting it: a real
// member joining at another site was never announced at this site, so a committer here never added
// it. Now the presence is forwarded either way; the set only feeds the founding rule.

TEST_CASE("federation review: a full remote set does not hide a real joiner from the committer",
          "[profile][group][federation][review][dos]")
{
    const auto members = roster_of({1, 11});
    fed g({site_spec{open_group(), {1}, members}, site_spec{open_group(), {11}, members}});
    g.nets[1]->start(0); // 11 founds at site 1: the committer is there
    g.run(std::chrono::milliseconds(500));
    REQUIRE(g.member(1, 0).in_group());
    for (std::uint32_t id = 10'000; id < 10'000 + group::detail::remote_set::default_max_identities; ++id)
        REQUIRE(g.deliver(1, ghost_presence(id)));
    CHECK(g.deliver(1, ghost_presence(20'000))); // one more ghost: still forwarded (not counted)
    g.run(std::chrono::milliseconds(500));
    g.nets[0]->start(0); // 1 joins at site 0
    g.run(std::chrono::seconds(3));
    CHECK(g.member(1, 0).current()->roster.size() == 2);
    CHECK(g.member(0, 0).in_group());
}

// ==== fed_origin ====
// Finding (low, open): a federated message's origin is believed for the "roster members only" rule
// (cipher_relay.hpp refuses an outsider's GROUP_MESSAGE because a forged header `max_skip`
// generations ahead makes each member derive that many keys before it fails). Federated, an outsider
// names any roster member as origin and the relay forwards its blob to every member. Members still
// refuse it (signature, wrong group), so nothing is forged; it is the CPU-cost amplification the
// local rule exists to stop, and relay_event::message names the claimed origin. The relay cannot
// check the blob's sender without keys. Since envelope authentication only a key-holding relay can
// name the origin (NATS publishers are refused): tagged [!shouldfail] as a relay's power.

TEST_CASE("federation review: an outsider's message a federation relay sends under a member's name is not forwarded",
          "[profile][group][federation][review][dos][!shouldfail]")
{
    fed g({site_spec{open_group(), {1}, open_group()}, site_spec{open_group(), {11}, open_group()}});
    for (std::size_t s = 0; s < 2; ++s) {
        g.nets[s]->start(0);
        g.run(std::chrono::milliseconds(400));
    }
    REQUIRE(g.member(1, 0).in_group());
    outsider o(66);
    const std::string text = "from an outsider";
    std::error_code ec;
    o.f.nets[0]->send(0, std::as_bytes(std::span(text)), ec);
    REQUIRE_FALSE(ec);
    o.f.run(std::chrono::milliseconds(100));
    const held msg = o.first(false, wire::tlv_type::group_message);
    CHECK_FALSE(g.deliver(0, msg));                        // held: origin is the outsider itself
    CHECK_FALSE(g.deliver(0, {false, msg.blob, fp_of(11)})); // FAILS: origin claimed as member 11
    g.run(std::chrono::milliseconds(200));
    CHECK(g.messages(0, 0, text) == 0); // held: the member refuses it
}

// ==== what held ====

TEST_CASE("federation review: forged and replayed commits and welcome pages do not move a relay",
          "[profile][group][federation][review]")
{
    fed g({site_spec{open_group(), {1, 2}, open_group()}, site_spec{open_group(), {11}, open_group()}});
    g.linked = true;
    g.nets[0]->start(0);
    g.run(std::chrono::milliseconds(300));
    // Capture everything site 0 publishes from now on.
    std::vector<held> log;
    g.nets[0]->relay().set_federation([&](const core::federated_blob& b) {
        log.push_back({b.presence, {b.blob.begin(), b.blob.end()}, b.origin});
        g.published[0].push_back({b.presence, {b.blob.begin(), b.blob.end()}, b.origin});
    });
    g.nets[0]->start(1);
    g.run(std::chrono::milliseconds(300));
    g.nets[1]->start(0);
    g.run(std::chrono::seconds(1));
    REQUIRE(g.member(1, 0).current()->roster.size() == 3);
    const auto epoch = g.member(1, 0).current()->epoch;
    CHECK(g.refused_federated == 0);
    // Every captured commit and welcome page again, under its true origin and under every member's.
    outsider o(66);
    std::vector<held> replays = log;
    replays.push_back(o.first(false, wire::tlv_type::group_commit));
    for (const held& h : log)
        for (const auto id : {1, 2, 11, 66})
            replays.push_back({h.presence, h.blob, fp_of(std::uint8_t(id))});
    for (const held& h : replays) {
        if (h.presence)
            continue;
        g.publish(h);
    }
    g.run(std::chrono::seconds(1));
    for (std::size_t s = 0; s < 2; ++s)
        for (std::size_t i = 0; i < g.nets[s]->clients(); ++i) {
            INFO("site " << s << " member " << i);
            CHECK(g.member(s, i).current()->epoch == epoch);
            CHECK(g.member(s, i).current()->roster.size() == 3);
            CHECK_FALSE(g.in_roster(s, i, 66));
        }
    // And the group still works across sites.
    const std::string text = "still one group";
    std::error_code ec;
    g.nets[1]->send(0, std::as_bytes(std::span(text)), ec);
    g.run(std::chrono::milliseconds(300));
    CHECK(g.messages(0, 0, text) == 1);
    CHECK(g.messages(0, 1, text) == 1);
}

TEST_CASE("federation review: under roster admission a ghost announced over NATS is never added",
          "[profile][group][federation][review]")
{
    const auto members = roster_of({1, 11});
    fed g({site_spec{open_group(), {1}, members}, site_spec{open_group(), {11}, members}});
    for (std::size_t s = 0; s < 2; ++s) {
        g.nets[s]->start(0);
        g.run(std::chrono::milliseconds(400));
    }
    g.run(std::chrono::seconds(1));
    REQUIRE(g.member(1, 0).current()->roster.size() == 2);
    const auto epoch = g.member(1, 0).current()->epoch;
    const held ghost = ghost_presence(77);
    g.publish(ghost);
    g.publish({true, ghost.blob, fp_of(1)}); // re-attributed: refused
    g.run(std::chrono::seconds(2));
    for (std::size_t s = 0; s < 2; ++s) {
        CHECK(g.member(s, 0).current()->epoch == epoch);
        CHECK(g.member(s, 0).current()->roster.size() == 2);
    }
}

TEST_CASE("federation review: nothing received from the federation goes back to it",
          "[profile][group][federation][review]")
{
    fed g({site_spec{open_group(), {1}, open_group()}, site_spec{open_group(), {11}, open_group()}});
    g.linked = false;
    g.nets[0]->start(0);
    g.run(std::chrono::milliseconds(300));
    const auto from0 = g.published[0];
    REQUIRE(!from0.empty());
    g.published[1].clear();
    for (int round = 0; round < 3; ++round)
        for (const held& h : from0)
            g.deliver(1, h);
    g.run(std::chrono::milliseconds(10)); // the relay's own timers, nothing more
    CHECK(g.published[1].empty());        // no re-publication: no loop, no amplification
}

// ==== fed_fork ====
// Finding (high, open): with relay admission off (the default, and the only mode tlvcast-relay
// offers: it takes no roster), a NATS publisher cuts any site that has no live roster member of its
// own (its members not added yet, or all away) off the group for good. A federated departure needs
// no proof (fed_departure), so it empties that relay's remote set of the group's members; the
// founding rule then finds the group "dead" there, and the attacker's own founding commit (origin =
// itself, which present() always counts) becomes that relay's group. Every later commit of the real
// group is wrong_epoch there: a member that joins at that site is added by the real committer, but
// its relay refuses the commit, and it never reaches the group. A local outsider needs a session at
// that relay and a moment when no member is live (review.cpp, dead_founding); here it needs neither,
// and it reaches every relay at once. A relay that starts late (epoch 0) takes the outsider's
// founding without even the departures. Needs the planned JetStream ordering (one chain for all
// relays) or relays that authenticate each other. Envelope authentication leaves this to the
// federation's own relays (a NATS publisher is refused); relay admission (--roster/--admin-key)
// stops the founding: tagged [!shouldfail] as a relay's power.

TEST_CASE("federation review: a federation relay's forged departures and founding split a site off the group",
          "[profile][group][federation][review][dos][!shouldfail]")
{
    fed g({site_spec{open_group(), {1, 2}, open_group()}, site_spec{open_group(), {11}, open_group()}});
    for (std::size_t i = 0; i < 2; ++i) {
        g.nets[0]->start(i);
        g.run(std::chrono::milliseconds(300));
    }
    g.run(std::chrono::milliseconds(500));
    REQUIRE(g.member(0, 0).current()->roster.size() == 2);
    // Site 1's relay follows the chain and counts 1 and 2 as live remotely; it has no member yet.
    outsider o(66);
    const held founding = o.first(false, wire::tlv_type::group_commit);
    CHECK_FALSE(g.deliver(1, founding)); // held: the group is live (remotely)
    g.deliver(1, departure(fp_of(1), g.nets[0]->client_address(0))); // the sessions' own addresses
    g.deliver(1, departure(fp_of(2), g.nets[0]->client_address(1)));
    CHECK_FALSE(g.deliver(1, founding)); // FAILS: site 1's relay now follows the outsider's group
    g.nets[1]->start(0);                 // 11 comes and is announced to the committer at site 0
    g.run(std::chrono::seconds(3));
    CHECK(g.member(0, 0).current()->roster.size() == 3); // the committer added 11
    REQUIRE(g.member(1, 0).in_group()); // in a group of its own (it founded at its relay, "dead" again)
    CHECK(g.member(1, 0).current()->gid == g.member(0, 0).current()->gid); // FAILS: two groups
    CHECK(g.member(1, 0).current()->roster.size() == 3);                    // FAILS
    CHECK(g.refused_federated == 0); // FAILS: the relays refuse each other's commits
}

TEST_CASE("federation review: mutated federated blobs never crash a relay, and a refused one sends nothing",
          "[profile][group][federation][review]")
{
    fed g({site_spec{open_group(), {1, 2}, open_group()}, site_spec{open_group(), {11}, open_group()}});
    std::vector<held> log;
    for (std::size_t s = 0; s < 2; ++s)
        g.nets[s]->relay().set_federation([&, s](const core::federated_blob& b) {
            log.push_back({b.presence, {b.blob.begin(), b.blob.end()}, b.origin});
            g.published[s].push_back(log.back());
        });
    for (std::size_t s = 0; s < 2; ++s)
        for (std::size_t i = 0; i < g.nets[s]->clients(); ++i) {
            g.nets[s]->start(i);
            g.run(std::chrono::milliseconds(300));
        }
    const std::string text = "seed";
    std::error_code ec;
    g.nets[0]->send(0, std::as_bytes(std::span(text)), ec);
    g.run(std::chrono::milliseconds(300));
    REQUIRE(g.member(1, 0).current()->roster.size() == 3);
    REQUIRE(log.size() >= 6);
    const auto epoch = g.member(1, 0).current()->epoch;
    std::mt19937 rng(20261201);
    const crypto::fingerprint origins[] = {fp_of(1), fp_of(2), fp_of(11), fp_of(66), {}};
    std::size_t accepted = 0;
    for (int n = 0; n < 20'000; ++n) {
        held h = log[rng() % log.size()];
        switch (rng() % 5) {
        case 0: h.blob[rng() % h.blob.size()] ^= std::byte(1u << (rng() % 8)); break; // a bit
        case 1: h.blob.resize(rng() % h.blob.size()); break;                          // cut
        case 2: h.blob.push_back(std::byte(rng())); break;                            // trailing
        case 3: // the TLV length
            if (h.blob.size() >= 4)
                h.blob[2 + rng() % 2] = std::byte(rng());
            break;
        default: h.presence = !h.presence; break;
        }
        if (rng() % 3 == 0)
            h.origin = origins[rng() % std::size(origins)];
        const bool ok = g.deliver(rng() % 2, h);
        if (!ok)
            CHECK(g.last_out == 0);
        accepted += ok ? 1 : 0;
        if (n % 1000 == 0)
            g.run(std::chrono::milliseconds(20));
    }
    g.run(std::chrono::milliseconds(500));
    CHECK(accepted > 0); // the harness reaches the accepting paths
    for (std::size_t s = 0; s < 2; ++s)
        for (std::size_t i = 0; i < g.nets[s]->clients(); ++i) {
            INFO("site " << s << " member " << i);
            CHECK(g.member(s, i).current()->epoch == epoch);
            CHECK(g.member(s, i).current()->roster.size() == 3);
        }
}

// ==== fed_open_ghost ====
// Finding (medium, documentation, open): under admission::open the members trust the relay's
// announcements (docs/SECURITY.md: the relay can add anyone). Federated, every relay forwards a
// presence any NATS publisher made, so anyone holding the federation's credentials has that power
// over every site: announce an identity it controls, have it added by the committer, and (with
// subscribe rights on the subject, which every relay needs) read the group from then on.
// docs/FEDERATION.md says "a federated relay can read no more than a local one"; true, but anyone
// with NATS credentials is now "a relay". Roster or admin admission stops it (pinned above).
// Envelope authentication narrows "anyone with NATS credentials" to "any key-holding relay", which is
// what open admission already trusts of a local relay. Tagged [!shouldfail] as a relay's power.

TEST_CASE("federation review: under open admission a federation relay's ghost is not added",
          "[profile][group][federation][review][confidentiality][!shouldfail]")
{
    fed g({site_spec{open_group(), {1}, open_group()}, site_spec{open_group(), {11}, open_group()}});
    for (std::size_t s = 0; s < 2; ++s) {
        g.nets[s]->start(0);
        g.run(std::chrono::milliseconds(400));
    }
    g.run(std::chrono::seconds(1));
    REQUIRE(g.member(0, 0).current()->roster.size() == 2);
    const held ghost = ghost_presence(77);
    g.publish(ghost);
    g.run(std::chrono::seconds(1));
    const auto& roster = g.member(0, 0).current()->roster;
    const bool added = std::any_of(roster.begin(), roster.end(), [&](const group::member_entry& e) {
        return crypto::fingerprint_of<suite>(e.identity) == ghost.origin;
    });
    CHECK_FALSE(added); // FAILS: the ghost is on the roster; the next epoch secret is sealed to it
}
