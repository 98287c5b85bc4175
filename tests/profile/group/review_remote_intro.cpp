// SPDX-License-Identifier: BSL-1.0
// Adversarial review of baa5c96: a group relay keeps, in its remote set, the last GROUP_PRESENCE of
// each identity another relay of the federation announced as joined, and relay_engine::introduce()
// sends those of non-members to a newcomer (basic_cipher::remote_introductions), under the cap of
// the local introductions (join_room() - 1). Read as an attacker: a federation relay (a holder of the
// federation key, handle_federated with any triple), a local client, a remote joiner. Findings that
// stand are tagged [!shouldfail] with the attack, its impact and a proposed fix; holds say "Holds".
//
// Harnesses: site A is one engine_net (relay 200) fed federated blobs directly (as
// review_federation.cpp's fed::deliver); the two-site test links two engine_nets through what each
// relay publishes (as review_introduce.cpp's two_sites).
#include "profile/group/engine_net.hpp"
#include "profile/group/group_net.hpp"
#include "secure/sim_helpers.hpp"

#include <tlvcast/profile/group.hpp>
#include <tlvcast/profile/group/remote_set.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

using namespace tlvcast;
using namespace std::chrono_literals;

namespace {
namespace rri_review { // a name of its own: this file may share a unity translation unit

using net_t = test::group::engine_net;
using suite = crypto::default_suite;

struct fed_blob {
    bool presence = false;
    std::vector<std::byte> blob;
    crypto::fingerprint origin{};
};

crypto::fingerprint fp_of(std::uint8_t id) { return crypto::fingerprint_of<suite>(test::identity(id).public_key); }

profile::group::options open_group(std::size_t max_members = profile::group::options::default_max_members)
{
    profile::group::options o;
    o.policy = profile::group::admission::open;
    o.max_members = max_members;
    return o;
}

// The GROUP_PRESENCE a relay publishes for a session of test::identity(id) at `at`, joined with
// a key package of sequence `seq` (options::key_package_seq): a real, validly signed key
// package.
fed_blob joined_presence(std::uint8_t id, endpoint at, std::uint32_t seq = 0)
{
    test::group::party_t party(test::identity(id), profile::secure::options{},
                               test::group::forkable_random(1000u + id * 7u + seq));
    auto o = open_group();
    o.key_package_seq = seq;
    test::group::member_t m(party, o);
    std::vector<std::byte> join, blob;
    std::error_code ec;
    m.write_join(join, ec);
    REQUIRE_FALSE(ec);
    const auto fp = party.fingerprint();
    profile::group::write_presence(true, at, fp, std::span(join).subspan(4), blob, ec);
    REQUIRE_FALSE(ec);
    return {true, blob, fp};
}

// The departure a relay publishes when that session of test::identity(id) at `at` leaves.
fed_blob departure(std::uint8_t id, endpoint at)
{
    std::vector<std::byte> blob;
    std::error_code ec;
    profile::group::write_presence(false, at, fp_of(id), {}, blob, ec);
    REQUIRE_FALSE(ec);
    return {true, blob, fp_of(id)};
}

// handle_federated at `net`'s relay, what it sends put on the wire.
bool deliver(net_t& net, const fed_blob& h)
{
    datagram_batch out;
    std::vector<core::relay_event> events;
    const bool ok = net.relay().handle_federated({h.presence, h.blob, h.origin}, net.now(), out, events);
    for (std::size_t i = 0; i < out.size(); ++i)
        net.inject(net.relay_address, out[i].to, out[i].bytes);
    return ok;
}

std::uint64_t presences(net_t& net) { return net.relay().counters().get(core::relay_counter::presence_sent); }

const profile::group::member_entry* roster_entry(net_t& net, std::size_t client, std::uint8_t id)
{
    const auto* st = net.client(client).cipher().group().current();
    if (!st)
        return nullptr;
    const auto at = st->index_of(fp_of(id));
    return at ? &st->roster[*at] : nullptr;
}

// What closing client i puts on the wire (its GROUP_LEAVE), as if the net had flushed it.
void close_client(net_t& net, std::size_t i)
{
    datagram_batch b;
    net.client(i).close(net.now(), b);
    for (std::size_t k = 0; k < b.size(); ++k)
        net.inject(net.client_address(i), net.relay_address, b[k].bytes);
}

const endpoint site_b_1{0x0a000101, 4000}, site_b_2{0x0a000102, 4000}, site_c{0x0a000201, 4000};

// Two sites (relay 200 + s), each with one client of identity 1 + 10 * s, linked by what each
// relay publishes; counts, per site, the joined and left presences it published.
struct two_sites {
    std::vector<std::unique_ptr<net_t>> nets;
    std::vector<std::vector<fed_blob>> published{2};
    std::size_t joined_published[2]{}, left_published[2]{};

    two_sites()
    {
        for (std::size_t s = 0; s < 2; ++s) {
            nets.push_back(
                std::make_unique<net_t>(profile::group::cipher(test::identity(std::uint8_t(200 + s)), open_group())));
            nets[s]->add_client(profile::group::cipher(test::identity(std::uint8_t(1 + 10 * s)), open_group()));
            nets[s]->relay().set_federation([this, s](const core::federated_blob& b) {
                if (b.presence) {
                    std::error_code ec;
                    wire::tlv_reader r(b.blob);
                    wire::tlv t;
                    if (r.next(t, ec)) {
                        const auto pv = profile::group::read_presence(t.value, ec);
                        if (!ec)
                            ++(pv.joined ? joined_published : left_published)[s];
                    }
                }
                published[s].push_back({b.presence, {b.blob.begin(), b.blob.end()}, b.origin});
            });
        }
    }

    void run(duration d)
    {
        for (duration t{}; t < d; t += 1ms) {
            for (auto& n : nets)
                n->run_for(1ms);
            for (std::size_t s = 0; s < 2; ++s) {
                auto batch = std::move(published[s]);
                published[s].clear();
                for (const auto& h : batch)
                    deliver(*nets[1 - s], h);
            }
        }
    }
};

} // namespace rri_review
} // namespace

namespace rri = rri_review;

// ---- 1. memory ----

// Holds: the byte accounting of the kept presences (per session since the fix below: identity and
// the address its relay named). A session's newer presence replaces its older one (the old bytes
// subtracted first); an older key package's presence changes nothing; an empty one (refused by the
// relay's admission) keeps none; left() of one of two sessions keeps the other's, of the last one
// frees it; a presence that would pass the byte bound is not kept (the session is still counted);
// a full set keeps nothing new. No sequence brings presence_bytes() below 0 (it would wrap to
// ~2^64) or above the bound. With real presences (GROUP_PRESENCE is at most 1 + 19 + 32 + 197 bytes
// plus its TLV header) the 4096 identities hold about 1 MiB: the 4 MiB bound is never the binding
// one.
TEST_CASE("review remote intro: the remote set's presence bytes stay exact and bounded",
          "[profile][group][federation][review][remote_intro]")
{
    using profile::group::detail::remote_set;
    const auto fp = [](std::uint32_t n) {
        crypto::fingerprint f{};
        for (int i = 0; i < 4; ++i)
            f[static_cast<std::size_t>(i)] = static_cast<std::byte>(n >> (8 * i));
        return f;
    };
    const auto at = [](std::uint16_t port) { return endpoint{0x7f000001u, port}; };
    const auto blob = [](std::size_t n) { return std::vector<std::byte>(n, std::byte{0x5a}); };
    std::error_code ec;
    remote_set s(3, 1000);
    s.joined(fp(1), at(1), ec, blob(300), 1);
    REQUIRE(s.presence_bytes() == 300);
    s.joined(fp(1), at(1), ec, blob(200), 2); // the same session re-joined: replaced
    CHECK(s.presence_bytes() == 200);
    s.joined(fp(1), at(1), ec, blob(250), 1); // an older key package: nothing changes
    CHECK(s.presence_bytes() == 200);
    s.joined(fp(1), at(2), ec, blob(100), 3); // a second session
    CHECK(s.presence_bytes() == 300);
    s.joined(fp(1), at(2), ec, {}, 3); // refused by admission: none kept for it
    CHECK(s.presence_bytes() == 200);
    s.left(fp(1), at(2));
    CHECK(s.contains(fp(1)));
    CHECK(s.presence_bytes() == 200);
    s.left(fp(1), at(1));
    CHECK_FALSE(s.contains(fp(1)));
    CHECK(s.presence_bytes() == 0);
    s.left(fp(1), at(1)); // never announced now: nothing changes, no underflow
    CHECK(s.presence_bytes() == 0);

    s.joined(fp(2), at(1), ec, blob(600));
    s.joined(fp(3), at(1), ec, blob(500)); // 600 + 500 > 1000: counted, not kept
    CHECK(s.contains(fp(3)));
    CHECK(s.presence_bytes() == 600);
    s.joined(fp(2), at(1), ec, blob(900)); // replacing: 900 fits once the 600 are freed
    CHECK(s.presence_bytes() == 900);
    s.joined(fp(2), at(1), ec, blob(1001)); // too large: the old one is dropped, not kept beside
    CHECK(s.presence_bytes() == 0);
    s.joined(fp(4), at(1), ec, blob(10));
    CHECK(s.presence_bytes() == 10);
    s.joined(fp(5), at(1), ec, blob(10)); // full (3 identities): refused, nothing kept
    CHECK(ec == make_error_code(errc::overloaded));
    CHECK_FALSE(s.contains(fp(5)));
    CHECK(s.presence_bytes() == 10);
    std::size_t listed = 0, bytes = 0;
    s.for_each_presence([&](const crypto::fingerprint&, std::span<const std::byte> p) {
        ++listed;
        bytes += p.size();
        return true;
    });
    CHECK(listed == 1);
    CHECK(bytes == s.presence_bytes());

    // The default set filled with the largest real presences stays under its byte bound.
    remote_set full;
    const auto real_max = std::size_t{4} + wire::group_presence_fixed + wire::group_join_max;
    const auto big = blob(real_max);
    for (std::uint32_t i = 0; i < 5000; ++i)
        full.joined(fp(i), at(1), ec, big);
    CHECK(full.size() == remote_set::default_max_identities);
    CHECK(full.presence_bytes() == remote_set::default_max_identities * real_max);
    CHECK(full.presence_bytes() <= remote_set::default_max_presence_bytes);
}

// ---- 2. stale presences ----

// Fixed (remote_set keyed by session: identity and address). Was a finding (medium): a session announced twice is counted twice, so its one departure never frees
// it, and its presence is introduced to every later newcomer for good. relay_engine::on_control
// announces (and federates) the join again when a process restarts in place with a newer key
// package (take_rejoin): the other relays' remote_set::joined() counts a second session for that
// identity; the session's departure (GROUP_LEAVE or timeout: one announce(false)) decrements once.
// Before baa5c96 this kept the identity "present" for the founding rule only; now its last presence
// is also sent to every newcomer (forever: nothing else removes it), and under open admission the
// newcomer adds it - a departed identity becomes a member whose key package's init key died with
// its process. A hostile remote client can do it on purpose (restart in place up to 64 times: 64
// counted). Measured: site B publishes 2 joined presences and 1 departure for one session; site A's
// later founder is then sent 1 presence of the departed identity and adds it (roster 2 instead of
// 1). Proposed fix: key the remote set by session (identity and the presence's address), replacing
// a session's presence on a re-announcement instead of counting it again; a departure removes that
// session (and its presence).
TEST_CASE("review remote intro: a remote session re-announced after a restart in place is not introduced after it left",
          "[profile][group][federation][review][remote_intro]")
{
    rri::two_sites g;
    auto& b = *g.nets[1];
    int allow = 1; // records of site B's client let through: its GROUP_JOIN, not its founding commit
    b.tap = [&](test::wire_datagram& d) {
        if (d.from == b.client_address(0) && test::is_type(d, wire::tlv_type::secure_record))
            return allow-- > 0;
        return true;
    };
    b.start(0);
    g.run(50ms);
    REQUIRE_FALSE(b.client(0).cipher().group().in_group());
    auto restarted = rri::open_group();
    restarted.key_package_seq = 5;
    b.replace_client(0, profile::group::cipher(test::identity(11), restarted));
    const auto registrations = b.relay().counters().get(core::relay_counter::registrations);
    allow = 1; // the new process's GROUP_JOIN only
    b.start(0);
    g.run(100ms);
    REQUIRE(b.relay().counters().get(core::relay_counter::registrations) == registrations); // a re-key
    REQUIRE_FALSE(b.client(0).cipher().group().in_group());
    allow = 1'000'000;
    rri::close_client(b, 0); // the one session leaves for good
    g.run(100ms);
    INFO("site B published " << g.joined_published[1] << " joined, " << g.left_published[1] << " left");
    REQUIRE(g.left_published[1] == 1);

    auto& a = *g.nets[0];
    const std::uint64_t before = rri::presences(a);
    a.start(0);
    g.run(2s);
    REQUIRE(a.client(0).cipher().group().in_group());
    INFO("presences sent at site A for its founder: " << rri::presences(a) - before);
    CHECK(rri::presences(a) - before == 0);        // was: FAILED before the fix
    CHECK(rri::roster_entry(a, 0, 11) == nullptr); // was: FAILED before the fix
}

// Fixed (per-session presences; the live session's newest is introduced). Was a finding (medium): the presence kept is the last one announced for the identity, whichever of its
// sessions announced it; the departure of that session leaves it in place while another session of
// the identity lives. One identity may be live at two sites (or two addresses at one): session 1
// (address X, key package seq 1) joins, then session 2 (address Y, seq 2); session 2 leaves. A
// newcomer is introduced to the departed session 2's key package, and the founder adds the identity
// with it: the live session 1 holds no private init key for it and cannot read the welcome (it
// stays out while the roster counts it a member, and it is no longer introduced since it is a
// member). Measured: the founder's roster entry for the identity has seq 2 (the departed
// session's). Proposed fix: keep the presence per session (identity and address); a departure drops
// that session's presence, and introduce() sends the presence of a live session (the latest one).
TEST_CASE("review remote intro: the presence of a departed session is not introduced while another session lives",
          "[profile][group][federation][review][remote_intro]")
{
    rri::net_t a(profile::group::cipher(test::identity(200), rri::open_group()));
    a.add_client(profile::group::cipher(test::identity(1), rri::open_group()));
    REQUIRE(rri::deliver(a, rri::joined_presence(50, rri::site_b_1, 1)));
    REQUIRE(rri::deliver(a, rri::joined_presence(50, rri::site_c, 2)));
    REQUIRE(rri::deliver(a, rri::departure(50, rri::site_c)));
    a.start(0);
    a.run_for(2s);
    REQUIRE(a.client(0).cipher().group().in_group());
    const auto* e = rri::roster_entry(a, 0, 50);
    REQUIRE(e != nullptr); // introduced and added (open admission)
    CHECK(e->seq == 1);    // was: FAILED before the fix
}

// Finding (low/medium, design): a remote joiner whose departure never arrives (its relay crashed or
// was cut off, the core-NATS departure lost) is introduced to every newcomer for good: remote
// entries have no lifetime, while a silent local session is timed out after client_timeout (15 s).
// Measured: after 10 minutes without a word from the federation, a newcomer is still sent the
// presence and (open admission) adds the identity. Proposed fix: give remote entries a lifetime
// (refreshed by the announcing relay, e.g. a periodic re-announcement or a relay heartbeat, and
// dropped with the relay's other entries when it is silent), or introduce only presences younger
// than client_timeout.
TEST_CASE("review remote intro: a remote joiner whose departure was lost is introduced for good",
          "[profile][group][federation][review][remote_intro][!shouldfail]")
{
    rri::net_t a(profile::group::cipher(test::identity(200), rri::open_group()));
    a.add_client(profile::group::cipher(test::identity(1), rri::open_group()));
    REQUIRE(rri::deliver(a, rri::joined_presence(50, rri::site_b_1)));
    a.run_for(600s); // no word from site B; its departure was lost
    const std::uint64_t before = rri::presences(a);
    a.start(0);
    a.run_for(2s);
    REQUIRE(a.client(0).cipher().group().in_group());
    CHECK(rri::presences(a) - before == 0);        // FAILS: 1
    CHECK(rri::roster_entry(a, 0, 50) == nullptr); // FAILS: added
}

// Holds: a departure removes the kept presence once every announced session left: one session, one
// departure: nothing introduced. (The control for the stale-presence findings above.)
TEST_CASE("review remote intro: a remote joiner that left is not introduced",
          "[profile][group][federation][review][remote_intro]")
{
    rri::net_t a(profile::group::cipher(test::identity(200), rri::open_group()));
    a.add_client(profile::group::cipher(test::identity(1), rri::open_group()));
    REQUIRE(rri::deliver(a, rri::joined_presence(50, rri::site_b_1)));
    REQUIRE(rri::deliver(a, rri::joined_presence(51, rri::site_b_2)));
    REQUIRE(rri::deliver(a, rri::departure(50, rri::site_b_1)));
    const std::uint64_t before = rri::presences(a);
    a.start(0);
    a.run_for(2s);
    REQUIRE(a.client(0).cipher().group().in_group());
    CHECK(rri::presences(a) - before == 1); // 51 only
    CHECK(rri::roster_entry(a, 0, 50) == nullptr);
    CHECK(rri::roster_entry(a, 0, 51) != nullptr);
}

// ---- 3. admission, self, members ----

// Holds: with the relay's own roster admission, a presence the relay would refuse is not kept and
// not introduced, even though it is validly signed and forwarded; an admissible one is (exactly one
// presence for the newcomer). The relay's roster is fixed at construction, so a kept presence
// cannot become inadmissible later.
TEST_CASE("review remote intro: under relay admission a refused remote joiner is not introduced",
          "[profile][group][federation][review][remote_intro]")
{
    profile::group::options opt;
    opt.policy = profile::group::admission::roster;
    opt.relay_admission = true;
    opt.roster = {rri::fp_of(1), rri::fp_of(50)};
    rri::net_t a(profile::group::cipher(test::identity(200), opt));
    a.add_client(profile::group::cipher(test::identity(1), opt));
    REQUIRE(rri::deliver(a, rri::joined_presence(77, rri::site_b_1))); // off the roster: forwarded only
    REQUIRE(rri::deliver(a, rri::joined_presence(50, rri::site_b_2)));
    const std::uint64_t before = rri::presences(a);
    a.start(0);
    a.run_for(2s);
    REQUIRE(a.client(0).cipher().group().in_group());
    CHECK(rri::presences(a) - before == 1);
    CHECK(a.client(0).cipher().group().counts().admission_refused == 0); // 77 never reached it
    CHECK(rri::roster_entry(a, 0, 50) != nullptr);
}

// Holds: the newcomer is not told of its own identity live at another site, and a member (here the
// remote joiner the founder added) is not introduced to a later newcomer. Site A: the remote joiner
// 50 and (another session of) identity 1 are kept; 1 registers and founds: told of 50 only (1
// presence) and adds it. Then 2 registers: it is introduced to no one (50 and 1 are members now):
// the only presence is the announcement of 2's join to client 0.
TEST_CASE("review remote intro: a newcomer is told neither of itself nor of members",
          "[profile][group][federation][review][remote_intro]")
{
    rri::net_t a(profile::group::cipher(test::identity(200), rri::open_group()));
    a.add_client(profile::group::cipher(test::identity(1), rri::open_group()));
    a.add_client(profile::group::cipher(test::identity(2), rri::open_group()));
    REQUIRE(rri::deliver(a, rri::joined_presence(1, rri::site_b_1)));
    REQUIRE(rri::deliver(a, rri::joined_presence(50, rri::site_b_2)));
    std::uint64_t before = rri::presences(a);
    a.start(0);
    a.run_for(2s);
    REQUIRE(a.client(0).cipher().group().in_group());
    CHECK(rri::presences(a) - before == 1); // 50, not 1 itself
    REQUIRE(rri::roster_entry(a, 0, 50) != nullptr);
    before = rri::presences(a);
    a.start(1);
    a.run_for(2s);
    REQUIRE(a.client(1).cipher().group().in_group());
    CHECK(rri::presences(a) - before == 1); // 2's announcement to client 0; neither 50 nor 1
    CHECK(a.client(0).cipher().group().current()->roster.size() == 3);
}

// ---- 4. amplification ----

// Holds: however many remote joiners a federation relay announces (30 ghosts here, up to 4096
// kept), a newcomer is sent at most the room left in the group less itself (max_members 4: 3), and
// a repeated GROUP_JOIN on its session draws none again. Each new registration draws them again (as
// for local joiners, review_introduce.cpp "each new registration ... draws the burst again"): with
// the default max_members (1000) that is up to 999 presences (~0.3 MB of records) per handshake,
// without any session of the attacker's at this relay - noted in the report, bounded by join_room.
TEST_CASE("review remote intro: remote introductions are capped by the room left in the group",
          "[profile][group][federation][review][remote_intro]")
{
    constexpr std::size_t max_members = 4;
    rri::net_t a(profile::group::cipher(test::identity(200), rri::open_group(max_members)));
    a.add_client(profile::group::cipher(test::identity(1), rri::open_group(max_members)));
    for (std::uint8_t id = 50; id < 80; ++id)
        REQUIRE(rri::deliver(a, rri::joined_presence(id, endpoint{0x0a000100u + id, 4000})));
    const std::uint64_t before = rri::presences(a);
    a.start(0);
    a.run_for(5s); // its GROUP_JOIN repeats do not draw them again
    REQUIRE(a.client(0).cipher().group().in_group());
    CHECK(rri::presences(a) - before == max_members - 1);
    CHECK(a.client(0).cipher().group().current()->roster.size() <= max_members);
}

// ---- 5. duplicates ----

// Fixed (each kept presence carries the remote set's announcement stamp; a peer records the stamp at
// its last handshake, and introduce() skips what came after). Was a finding (low, cost): a remote
// joiner's presence that arrives after the newcomer registered but
// before its GROUP_JOIN was accepted reaches it twice: handle_federated forwards it to every
// registered peer, and introduce() (at the join) sends the kept one again. The local introductions
// skip joins announced after the newcomer registered (peer::announced > registered, the fix of
// review_introduce "a joiner already told of a join is not told of it again"); the remote ones
// carry no such order. The window is one handshake-to-join round trip, or a retry interval (500 ms)
// when the GROUP_JOIN is lost; each duplicate costs the newcomer an X25519 and an Ed25519
// verification. Measured: the federated presence handled just before the newcomer's first
// GROUP_JOIN reaches the relay: 2 presences of 50 to it instead of 1. Proposed fix: stamp each kept
// presence with the relay's announcement order (peer_order_, as peer::announced) and introduce only
// those kept before the newcomer registered.
TEST_CASE("review remote intro: a remote presence forwarded before the newcomer's join is not introduced again",
          "[profile][group][federation][review][remote_intro]")
{
    rri::net_t a(profile::group::cipher(test::identity(200), rri::open_group()));
    a.add_client(profile::group::cipher(test::identity(1), rri::open_group()));
    std::uint64_t before = 0, at_join = 0;
    bool done = false;
    a.tap = [&](test::wire_datagram& d) {
        if (!done && d.from == a.client_address(0) && d.to == a.relay_address &&
            test::is_type(d, wire::tlv_type::secure_record)) {
            done = true;
            before = rri::presences(a);
            CHECK(rri::deliver(a, rri::joined_presence(50, rri::site_b_1))); // to the registered newcomer
            at_join = rri::presences(a);
        }
        return true;
    };
    a.start(0);
    a.run_for(2s);
    REQUIRE(done);
    REQUIRE(a.client(0).cipher().group().in_group());
    REQUIRE(at_join - before == 1); // forwarded to it as it registered
    INFO("presences for 50 sent to the newcomer: " << rri::presences(a) - before);
    CHECK(rri::presences(a) - before == 1); // was: FAILED before the fix (2)
    CHECK(rri::roster_entry(a, 0, 50) != nullptr);
}

// Fixed (introduce() skips in its remote pass the identities its local pass told of). Was a finding (low): one identity joined here (a non-member waiting) and at another site is introduced
// to the newcomer twice (the local session's presence, then the kept remote one): the remote pass
// skips members and the newcomer itself, not identities the local pass introduced already. Each
// copy takes a place under the cap (join_room() - 1). With room for two and the duplicate first in
// fingerprint order (remote_set::for_each_presence's order), the other remote joiner is never
// introduced: the race baa5c96 fixes comes back for it (it waits until something else adds it). An
// identity holder can place itself so on purpose (two sessions, one per site), and anyone may pick
// identities whose fingerprints sort first. Measured (max_members 3): 3 presences for the founder's
// join (its announce to the local dup, the dup twice), the other remote joiner not added. Proposed
// fix: in introduce(), skip in the remote pass identities the local pass introduced (or introduce
// one presence per identity), and count the cap per identity.
TEST_CASE("review remote intro: an identity joined here and elsewhere takes one place under the cap",
          "[profile][group][federation][review][remote_intro]")
{
    constexpr std::size_t max_members = 3; // the founder's introductions: room for 2
    // dup: joined here and at site B; other: joined at site B only, after dup in fingerprint order
    const bool order = rri::fp_of(60) < rri::fp_of(70);
    const std::uint8_t dup = order ? 60 : 70, other = order ? 70 : 60;
    rri::net_t a(profile::group::cipher(test::identity(200), rri::open_group(max_members)));
    a.add_client(profile::group::cipher(test::identity(dup), rri::open_group(max_members)));
    a.add_client(profile::group::cipher(test::identity(1), rri::open_group(max_members)));
    int records = 0;
    a.tap = [&](test::wire_datagram& d) {
        if (d.from == a.client_address(0) && test::is_type(d, wire::tlv_type::secure_record))
            return ++records == 1; // dup's GROUP_JOIN only: it never founds
        return true;
    };
    a.start(0);
    a.run_for(50ms);
    REQUIRE_FALSE(a.client(0).cipher().group().in_group());
    REQUIRE(rri::deliver(a, rri::joined_presence(dup, rri::site_b_1)));
    REQUIRE(rri::deliver(a, rri::joined_presence(other, rri::site_b_2)));
    const std::uint64_t before = rri::presences(a);
    a.start(1);
    a.run_for(2s);
    REQUIRE(a.client(1).cipher().group().in_group());
    INFO("presences sent for the founder's join: " << rri::presences(a) - before << " (1 is its announce to dup)");
    CHECK(rri::roster_entry(a, 1, dup) != nullptr);
    CHECK(rri::roster_entry(a, 1, other) != nullptr); // was: FAILED before the fix
}

// Measured (accepted as for local joiners; review_introduce "each new registration of the same
// attacker draws the burst again"): the kept remote presences are sent again at each new
// registration. A local client that closes and handshakes again draws, each round, one presence per
// kept remote non-member (up to join_room() - 1: 999 with the default max_members), without the
// attacker holding any session here and for as long as the entries live (see the stale-presence
// findings: possibly forever). 200 ghosts kept: 200 presences per round, 3 rounds.
TEST_CASE("review remote intro: each new registration draws the kept remote presences again",
          "[profile][group][federation][review][remote_intro]")
{
    profile::group::options members;
    members.policy = profile::group::admission::roster; // the attacker's client refuses them all
    members.roster = {rri::fp_of(1)};
    rri::net_t a(profile::group::cipher(test::identity(200), rri::open_group()));
    a.add_client(profile::group::cipher(test::identity(1), members));
    constexpr std::uint32_t ghosts = 200;
    for (std::uint32_t i = 0; i < ghosts; ++i) {
        test::group::party_t party(test::group::identity_of(5000 + i), profile::secure::options{},
                                   test::group::forkable_random(5000 + i));
        test::group::member_t m(party, rri::open_group());
        std::vector<std::byte> join, blob;
        std::error_code ec;
        m.write_join(join, ec);
        REQUIRE_FALSE(ec);
        profile::group::write_presence(true, endpoint{0x0b000000u + i, 4000}, party.fingerprint(),
                                       std::span(join).subspan(4), blob, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(rri::deliver(a, {true, blob, party.fingerprint()}));
    }
    for (int round = 0; round < 3; ++round) {
        if (round > 0) {
            rri::close_client(a, 0);
            a.run_for(50ms);
            a.replace_client(0, profile::group::cipher(test::identity(1), members));
        }
        const std::uint64_t before = rri::presences(a);
        const auto refused = a.client(0).cipher().group().counts().admission_refused;
        a.start(0);
        a.run_for(1s);
        INFO("round " << round);
        CHECK(rri::presences(a) - before == ghosts);
        if (round == 0) { // (later rounds: the relay's group lists 1 already; it founds no new one)
            REQUIRE(a.client(0).cipher().group().in_group());
            CHECK(a.client(0).cipher().group().counts().admission_refused - refused == ghosts);
        }
    }
}

// Fixed (a session's older key package changes nothing). Was a finding (low; a federation relay's power): the kept presence is the last one received, not the
// newest key package. A relay of the federation re-publishes an identity's older presence (key
// package seq 1, recorded earlier) after its newer one (seq 5, same session): the remote set
// replaces the newer by the older, and every later newcomer is introduced to the old key package
// (whose init key the identity's process may have dropped: a restart in place) and adds it with it.
// Members refuse a key package not newer than the roster's (member_counts::stale_key_packages); the
// remote set applies no such order. Before baa5c96 the replay reached the members registered then;
// now it persists for every later newcomer. Proposed fix: in remote_set::joined(), keep a presence
// only if its key package seq is not older than the kept one's for the same session (identity and
// address).
TEST_CASE("review remote intro: an older key package replayed over a newer one is not introduced",
          "[profile][group][federation][review][remote_intro]")
{
    rri::net_t a(profile::group::cipher(test::identity(200), rri::open_group()));
    a.add_client(profile::group::cipher(test::identity(1), rri::open_group()));
    const auto old_package = rri::joined_presence(50, rri::site_b_1, 1);
    REQUIRE(rri::deliver(a, old_package));
    REQUIRE(rri::deliver(a, rri::departure(50, rri::site_b_1)));
    REQUIRE(rri::deliver(a, rri::joined_presence(50, rri::site_b_1, 5))); // restarted: seq 5
    REQUIRE(rri::deliver(a, old_package));                                // replayed by a relay
    a.start(0);
    a.run_for(2s);
    REQUIRE(a.client(0).cipher().group().in_group());
    const auto* e = rri::roster_entry(a, 0, 50);
    REQUIRE(e != nullptr);
    CHECK(e->seq == 5); // was: FAILED before the fix
}
