// SPDX-License-Identifier: BSL-1.0
// Security review: GROUP_MESSAGE from a registered client that is no member of the group.
// The relay forwarded every GROUP_MESSAGE from any registered session to every peer. A non-member
// sees the clear header fields of forwarded traffic (group_id, epoch, sender indices, generations),
// so it can send 110-byte forgeries naming a real sender and generation next + max_skip: each one
// makes every member derive max_skip + 1 message keys (2 HKDF-Expand each, ~2,000 HMACs) before
// the AEAD fails. The relay knows the roster's identities (it tracks them from the commits it
// orders), so it now forwards GROUP_MESSAGE only from an identity of the current or previous roster.
#include "profile/group/group_net.hpp"

#include <tlvcast/profile/group.hpp>

#include <catch2/catch.hpp>

#include <chrono>

using namespace tlvcast;
using namespace tlvcast::test::group;

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
