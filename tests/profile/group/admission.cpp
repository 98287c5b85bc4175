// SPDX-License-Identifier: BSL-1.0
// profile/group/admission.hpp, and what a malicious relay cannot do to a group: add a ghost under
// roster or admin admission, forge or re-attribute a message, forge a commit.
#include "profile/group/group_net.hpp"

#include <tlvcast/profile/group/admission.hpp>

#include <catch2/catch.hpp>

#include <sstream>

using namespace tlvcast;
using namespace tlvcast::test::group;

namespace {

bool has_member(const node& n, const crypto::fingerprint& fp)
{
    return n.m->in_group() && n.m->current()->index_of(fp).has_value();
}

// The relay injects a ghost: a real key package of an identity it controls, announced as if it
// had joined. Returns the group after the ghost's announcement.
group_net with_ghost(const options& member_opt, const options& ghost_opt)
{
    group_net g;
    g.add(1, member_opt, 11);
    g.add(2, member_opt, 12);
    g.add(9, ghost_opt, 19); // the relay's ghost
    g.join(0);
    g.join(1);
    g.join(2);
    g.tick(std::chrono::seconds(5)); // time to retry, sync, and for nothing more to happen
    return g;
}

options admin_options(const crypto::ed25519_keypair& admin, std::optional<std::uint32_t> certified)
{
    options o;
    o.policy = admission::admin;
    o.admin_key = admin.public_key;
    if (certified)
        o.admission_certificate = make_admission_certificate<suite>(admin, identity_of(*certified).public_key);
    return o;
}

} // namespace

TEST_CASE("group admission: a ghost is never given group secrets under roster", "[profile][group][admission]")
{
    const options o = roster_options({1, 2});
    group_net g = with_ghost(o, o);
    const auto ghost = g.nodes[2]->fp();
    CHECK_FALSE(g.nodes[2]->m->in_group());
    CHECK_FALSE(has_member(*g.nodes[0], ghost));
    CHECK_FALSE(has_member(*g.nodes[1], ghost));
    CHECK(g.nodes[0]->m->counts().admission_refused >= 1);
    CHECK(g.agree());
    g.send(0, "members only");
    CHECK(g.nodes[1]->inbox.size() == 1);
    CHECK(g.nodes[2]->inbox.empty());
}

TEST_CASE("group admission: a ghost is never given group secrets under admin", "[profile][group][admission]")
{
    const auto admin = identity_of(50);
    const auto mallory = identity_of(51); // a key that is not the admin's
    group_net g;
    g.add(1, admin_options(admin, 1), 11);
    g.add(2, admin_options(admin, 2), 12);
    options forged = admin_options(admin, std::nullopt);
    forged.admission_certificate = make_admission_certificate<suite>(mallory, identity_of(9).public_key);
    g.add(9, forged, 19);
    options stolen = admin_options(admin, std::nullopt); // a real certificate, for another identity
    stolen.admission_certificate = make_admission_certificate<suite>(admin, identity_of(1).public_key);
    g.add(8, stolen, 18);
    g.add(7, admin_options(admin, std::nullopt), 17); // no certificate at all
    for (std::size_t i = 0; i < 5; ++i)
        g.join(i);
    g.tick(std::chrono::seconds(5));
    REQUIRE(g.nodes[1]->m->in_group());
    CHECK(g.nodes[0]->m->current()->roster.size() == 2);
    for (std::size_t i = 2; i < 5; ++i)
        CHECK_FALSE(g.nodes[i]->m->in_group());
    CHECK(g.nodes[0]->m->counts().admission_refused >= 3);
}

TEST_CASE("group admission: open admission lets the relay add anyone (its documented weakness)",
          "[profile][group][admission]")
{
    options o;
    o.policy = admission::open;
    group_net g = with_ghost(o, o);
    CHECK(g.nodes[2]->m->in_group());
    CHECK(has_member(*g.nodes[0], g.nodes[2]->fp()));
    const auto& notes = g.nodes[0]->notices;
    const auto added = std::find_if(notes.begin(), notes.end(), [&](const notice& n) {
        return n.what == notice::kind::member_added && n.member == g.nodes[2]->fp();
    });
    REQUIRE(added != notes.end());
    CHECK_FALSE(added->roster_verified);
}

TEST_CASE("group admission: roster files", "[profile][group][admission]")
{
    const auto fp = crypto::fingerprint_of<suite>(identity_of(1).public_key);
    std::error_code ec;
    std::size_t bad = 0;
    std::istringstream good("# members\n\n" + crypto::to_hex(fp) + "  # alice\n");
    const auto r = read_roster(good, ec, bad);
    REQUIRE_FALSE(ec);
    REQUIRE(r.size() == 1);
    CHECK(r[0] == fp);
    std::istringstream broken(crypto::to_hex(fp) + "\nnot hex\n");
    CHECK(read_roster(broken, ec, bad).empty());
    CHECK(ec == errc::malformed);
    CHECK(bad == 2);
    std::istringstream many(crypto::to_hex(fp) + "\n" + crypto::to_hex(fp) + "\n");
    CHECK(read_roster(many, ec, bad, 1).empty());
    CHECK(ec == errc::message_too_large);
}

TEST_CASE("group relay: cannot forge, alter or re-attribute a message", "[profile][group][malicious]")
{
    group_net g = three();
    std::vector<std::byte> blob;
    std::error_code ec;
    const std::string text = "from node 0";
    g.nodes[0]->m->seal(std::as_bytes(std::span(text)), blob, ec);
    REQUIRE_FALSE(ec);
    member_t& r = *g.nodes[2]->m;
    const auto try_open = [&](std::vector<std::byte> b) {
        std::vector<std::byte> out;
        const wire::tlv t = wire::read_outer(b, ec);
        return r.open(t.value, out, ec).has_value();
    };
    auto moved = blob; // re-attributed to sender 1
    moved[4 + 25] = std::byte{1};
    CHECK_FALSE(try_open(moved));
    CHECK(ec == errc::decrypt_failed);
    auto flipped = blob;
    flipped.back() ^= std::byte{1};
    CHECK_FALSE(try_open(flipped));
    CHECK(ec == errc::decrypt_failed);
    CHECK(try_open(blob)); // the real one still opens: the forgeries changed nothing
    CHECK_FALSE(try_open(blob));
    CHECK(ec == errc::replayed);
    // The plaintext appears in no blob the relay handled.
    for (const auto& b : g.seen)
        CHECK(std::search(b.begin(), b.end(), reinterpret_cast<const std::byte*>(text.data()),
                          reinterpret_cast<const std::byte*>(text.data()) + text.size()) == b.end());
}

TEST_CASE("group member: another member, holding every chain key, still cannot speak as a sender",
          "[profile][group][malicious]")
{
    group_net g = three();
    const auto& s1 = *g.nodes[1]->m->current();
    ratchet<suite> chain0 = s1.chains[0]; // node 1's copy of node 0's chain
    std::error_code ec;
    auto step = chain0.next(ec);
    REQUIRE(step);
    const auto& [generation, key] = *step;
    std::vector<std::byte> header;
    profile::group::detail::append(header, s1.gid);
    profile::group::detail::put_be(header, s1.epoch, 8);
    profile::group::detail::put_be(header, 0, 2);
    profile::group::detail::put_be(header, generation, 4);
    const std::string text = "not really from node 0";
    std::vector<std::byte> content(reinterpret_cast<const std::byte*>(text.data()),
                                   reinterpret_cast<const std::byte*>(text.data()) + text.size());
    std::array<std::byte, 64> sig{};
    g.nodes[1]->party->sign(profile::group::detail::message_to_sign(labels::message, header, content), sig); // its own key
    profile::group::detail::append(content, sig);
    std::vector<std::byte> value = header;
    value.resize(header.size() + content.size() + 16);
    aead(key.span().first<32>()).seal(key.span().subspan<32, 12>(), header, content, std::span(value).subspan(header.size()), ec);
    REQUIRE_FALSE(ec);
    std::vector<std::byte> out;
    CHECK_FALSE(g.nodes[2]->m->open(value, out, ec));
    CHECK(ec == errc::authentication_failed);
}

TEST_CASE("group relay: cannot forge a commit, replay one, or fork the chain", "[profile][group][malicious]")
{
    group_net g = three();
    const auto epoch = g.nodes[1]->m->current()->epoch;
    // Replays of every commit the relay saw change nothing.
    for (const auto& b : g.seen) {
        std::error_code ec;
        const wire::tlv t = wire::read_outer(b, ec);
        if (t.type() == wire::tlv_type::group_commit)
            g.nodes[1]->m->on_commit(t.value, g.now, ec);
    }
    CHECK(g.nodes[1]->m->current()->epoch == epoch);
    // A founding member of another group (the relay's own identity) cannot take over.
    group_net other;
    options open;
    open.policy = admission::open;
    other.add(1000, open, 77);
    other.join(0);
    for (const auto& b : other.seen) {
        std::error_code ec;
        const wire::tlv t = wire::read_outer(b, ec);
        if (t.type() == wire::tlv_type::group_commit) {
            g.nodes[1]->m->on_commit(t.value, g.now, ec);
            CHECK(ec == errc::wrong_epoch);
        }
    }
    // The next epoch's commit, re-signed by the relay's own key: as itself, or naming a member.
    std::vector<std::byte> next;
    g.pass = [&](std::size_t, const std::vector<std::byte>& b) {
        std::error_code ec;
        if (wire::read_outer(b, ec).type() != wire::tlv_type::group_commit)
            return true;
        next = b;
        return false; // withheld: the relay tampers with it instead
    };
    g.nodes[0]->m->update(g.now);
    g.pump();
    REQUIRE_FALSE(next.empty());
    const auto relay = identity_of(1000);
    const auto resign = [&](std::vector<std::byte> b, bool as_relay) {
        if (as_relay)
            std::copy(relay.public_key.begin(), relay.public_key.end(), b.begin() + 4 + 57);
        std::vector<std::byte> msg;
        profile::group::detail::append(msg, profile::group::detail::bytes_of(labels::commit));
        msg.insert(msg.end(), b.begin() + 4, b.end() - 64);
        std::array<std::byte, 64> sig{};
        suite::sign(relay.private_key.span(), msg, sig);
        std::copy(sig.begin(), sig.end(), b.end() - 64);
        return b;
    };
    std::error_code ec;
    const auto as_relay = resign(next, true);
    g.nodes[1]->m->on_commit(wire::read_outer(as_relay, ec).value, g.now, ec);
    CHECK(ec == errc::not_a_member);
    const auto as_member = resign(next, false);
    g.nodes[1]->m->on_commit(wire::read_outer(as_member, ec).value, g.now, ec);
    CHECK(ec == errc::authentication_failed);
    CHECK(g.nodes[1]->m->current()->epoch == epoch);
    g.nodes[1]->m->on_commit(wire::read_outer(next, ec).value, g.now, ec); // the real one still applies
    CHECK_FALSE(ec);
    CHECK(g.nodes[1]->m->current()->epoch == epoch + 1);
}
