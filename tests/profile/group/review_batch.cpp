// SPDX-License-Identifier: BSL-1.0
// The adversarial review of GROUP_BATCH: each finding as a test (a regression test once fixed) and pins of what held.
#include "profile/group/group_net.hpp"
#include "profile/group/engine_net.hpp"
#include "secure/sim_helpers.hpp"

#include <tlvcast/profile/group.hpp>
#include <tlvcast/profile/group/batch.hpp>
#include <tlvcast/profile/secure.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::test::group;

namespace {

std::vector<std::string> numbered(std::size_t n, const std::string& prefix)
{
    std::vector<std::string> v;
    for (std::size_t i = 0; i < n; ++i)
        v.push_back(prefix + " " + std::to_string(i));
    return v;
}

std::vector<std::byte> value_copy(const std::vector<std::byte>& blob)
{
    std::error_code ec;
    const wire::tlv t = wire::read_outer(blob, ec);
    return {t.value.begin(), t.value.end()};
}

// ---- engine level: the group profile through client_engine and relay_engine ----

// Three members through the engines; `copt` for every client.
struct sim {
    engine_net net;
    std::vector<std::vector<core::client_event>> seen;

    explicit sim(core::client_options copt = {}) : net(profile::group::cipher(test::identity(200), engine_roster(3)))
    {
        for (std::uint8_t i = 1; i <= 3; ++i)
            net.add_client(profile::group::cipher(test::identity(i), engine_roster(3)), copt);
        seen.resize(3);
        for (std::size_t i = 0; i < 3; ++i) {
            net.start(i);
            run(std::chrono::milliseconds(200));
        }
    }
    void run(duration d)
    {
        net.run_for(d);
        for (std::size_t i = 0; i < net.clients(); ++i)
            for (auto& ev : net.events(i))
                seen[i].push_back(std::move(ev));
    }
    std::vector<std::string> texts(std::size_t i) const
    {
        std::vector<std::string> v;
        for (const auto& e : seen[i])
            if (e.what == core::client_event::kind::message)
                v.push_back(e.text);
        return v;
    }
    std::uint64_t counter(std::size_t i, core::client_counter c) { return net.client(i).counters().get(c); }
    void send_batch(std::size_t i, const std::vector<std::string>& texts, std::error_code& ec)
    {
        std::vector<std::span<const std::byte>> views;
        for (const auto& t : texts)
            views.push_back(std::as_bytes(std::span(t)));
        net.send_batch(i, views, ec);
    }
};

} // namespace

// ==== batch_reserve ====
// Finding (low): member::seal_batch reserved `budget` bytes for the entries, whatever the messages'
// size. A batch is at most one blob (65,539 bytes), but a caller that passes a larger budget ("no
// limit": SIZE_MAX, or a jumbo max_datagram) got std::length_error thrown out of a noexcept-style
// API, or an allocation of the whole budget for two short messages. It now caps the budget first.

TEST_CASE("group review batch: a budget beyond one blob is capped to one blob",
          "[profile][group][review][batch]")
{
    group_net g = three();
    const std::string a = "alpha", b = "beta";
    const std::vector<bytes> views{std::as_bytes(std::span(a)), std::as_bytes(std::span(b))};
    std::vector<std::byte> blob;
    std::error_code ec;
    std::size_t n = 0;
    CHECK_NOTHROW(n = g.nodes[0]->m->seal_batch(views, SIZE_MAX, blob, ec));
    REQUIRE_FALSE(ec);
    REQUIRE(n == 2);
    CHECK(blob.size() == batch_fixed_size + 2 * batch_entry_overhead + a.size() + b.size());
    g.route(0, blob);
    CHECK(inbox_texts(*g.nodes[1]) == std::vector<std::string>{a, b});
}

// ==== batch_all_or_nothing ====
// Finding (low): client_engine::send_batch promises "nothing is sent unless every message is
// acceptable", but checked only client_options::max_message. A client that raises max_message above
// the group profile's own limit (max_message_size, 65,425 bytes) and batches a message between the
// two sent the messages before it, then returned message_too_large: the caller cannot tell how many
// went out, and sending the batch again (without the large one) delivers the first ones twice,
// each under a fresh generation (no replay check catches it). The engine now also asks a Cipher
// that has one for its own limit (max_message()) before it sends anything.

TEST_CASE("group review batch: send_batch sends nothing when a message is over the profile's own limit",
          "[profile][group][review][batch][engine]")
{
    core::client_options copt;
    copt.max_message = 70'000; // above what a GROUP_MESSAGE carries
    sim g(copt);
    REQUIRE(g.net.client(2).cipher().group().current()->roster.size() == 3);
    auto batch = numbered(5, "small");
    batch.push_back(std::string(max_message_size + 1, 'L'));
    const std::size_t before = g.net.sent.size();
    std::error_code ec;
    g.send_batch(1, batch, ec);
    CHECK(ec == errc::message_too_large);
    CHECK(g.net.sent.size() == before); // all or nothing
    CHECK(g.counter(1, core::client_counter::messages_sent) == 0);
    // The caller drops the large one and sends again: each message arrives once.
    batch.pop_back();
    g.send_batch(1, batch, ec);
    REQUIRE_FALSE(ec);
    g.run(std::chrono::milliseconds(100));
    CHECK(g.texts(0) == batch);
    CHECK(g.texts(2) == batch);
}

// ==== pins: what held ====

TEST_CASE("group review batch (pin): a failed batch leaves nothing behind for the next blob's events",
          "[profile][group][review][batch][engine]")
{
    sim g;
    // The relay (on path) damages the second batch on its way to member 0 only.
    int batches_to_0 = 0;
    g.net.tap = [&](test::wire_datagram& d) {
        if (d.from == g.net.relay_address && d.to == g.net.client_address(0) &&
            test::is_type(d, wire::tlv_type::group_batch) && ++batches_to_0 == 2)
            d.bytes[60] ^= std::byte{1};
        return true;
    };
    const auto first = numbered(5, "first"), second = numbered(7, "second");
    std::error_code ec;
    g.send_batch(1, first, ec);
    g.run(std::chrono::milliseconds(50));
    g.send_batch(1, second, ec);
    g.run(std::chrono::milliseconds(50));
    const std::string after = "after";
    g.net.send(1, std::as_bytes(std::span(after)), ec);
    g.run(std::chrono::milliseconds(50));
    REQUIRE(batches_to_0 == 2);
    auto want = first;
    want.push_back(after);
    CHECK(g.texts(0) == want);
    CHECK(g.counter(0, core::client_counter::messages_received) == want.size());
    CHECK(g.counter(0, core::client_counter::undecryptable) == 1);
    // Member 2 got everything, once.
    auto all = first;
    all.insert(all.end(), second.begin(), second.end());
    all.push_back(after);
    CHECK(g.texts(2) == all);
    // The lost batch is one generation in member 0's gap event.
    std::size_t gaps = 0;
    for (const auto& e : g.seen[0])
        if (e.what == core::client_event::kind::gap) {
            ++gaps;
            CHECK(e.from == 1);
            CHECK(e.to == 1);
        }
    CHECK(gaps == 1);
}

TEST_CASE("group review batch (pin): reordered batches open from the skipped keys, each once",
          "[profile][group][review][batch]")
{
    group_net g = three();
    node& r = *g.nodes[1];
    g.pass = [](std::size_t, const auto&) { return false; }; // the relay holds node 0's blobs
    std::vector<std::vector<std::byte>> blobs;
    for (const char* p : {"A", "B", "C"}) {
        REQUIRE(g.send_batch(0, numbered(4, p)) == 1);
        blobs.push_back(g.seen.back());
    }
    std::error_code ec;
    std::vector<std::vector<std::byte>> out;
    const auto first_text = [&] { return std::string(reinterpret_cast<const char*>(out[0].data()), out[0].size()); };
    const auto open = [&](std::size_t i) { return r.m->open_batch(value_copy(blobs[i]), out, ec).has_value(); };
    REQUIRE(open(2)); // C first: generations 0 and 1 are skipped
    CHECK(out.size() == 4);
    CHECK(first_text() == "C 0");
    REQUIRE(r.m->counts().gaps == 1);
    REQUIRE(open(0));
    CHECK(first_text() == "A 0");
    REQUIRE(open(1));
    CHECK(first_text() == "B 0");
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK_FALSE(open(i));
        CHECK(ec == errc::replayed);
        CHECK(out.empty());
    }
    CHECK(r.m->counts().messages_opened == 12);
    CHECK(r.m->counts().gaps == 1);
}

TEST_CASE("group review batch (pin): a signed batch of exactly max_batch_messages, in fragments' size, opens",
          "[profile][group][review][batch]")
{
    group_net g = three();
    // A member packs the most entries a batch may hold, each 250 bytes: 64 KiB, far beyond a datagram.
    std::vector<std::byte> content;
    const std::string entry(250, 'e');
    for (std::size_t i = 0; i < max_batch_messages; ++i)
        append_batch_entry(content, std::as_bytes(std::span(entry)));
    REQUIRE(content.size() + message_header_size + signature_size + crypto::aead_tag_size <= 0xffff);
    const auto blob = forge_signed(*g.nodes[0], wire::tlv_type::group_batch, labels::batch, content, 0);
    std::error_code ec;
    std::vector<std::vector<std::byte>> out;
    REQUIRE(g.nodes[1]->m->open_batch(value_copy(blob), out, ec));
    CHECK(out.size() == max_batch_messages);
    // One more entry, still within a blob, is refused after the signature, and spends its generation.
    append_batch_entry(content, {});
    const auto over = forge_signed(*g.nodes[0], wire::tlv_type::group_batch, labels::batch, content, 1);
    CHECK_FALSE(g.nodes[1]->m->open_batch(value_copy(over), out, ec));
    CHECK(ec == errc::malformed);
    CHECK(out.empty());
    CHECK(g.nodes[1]->m->current()->chains[0].next_generation() == 2);
}

// The relay's gate (classify) for GROUP_BATCH is GROUP_MESSAGE's: an identity of the roster, else
// not forwarded. Replays the members' commits into a real relay cipher, as review.cpp does.
TEST_CASE("group review batch (pin): the relay forwards GROUP_BATCH only from the roster's identities",
          "[profile][group][review][batch][malicious]")
{
    group_net g = three();
    profile::group::cipher relay(profile::group::cipher::generate(), options{});
    const auto session = [](const crypto::fingerprint& fp) {
        profile::group::cipher::peer_session p;
        p.hop.identity = fp;
        return p;
    };
    std::error_code ec;
    // The members' sessions, joined and kept (the relay sees the group as live).
    std::vector<profile::group::cipher::peer_session> sessions;
    for (std::size_t i = 0; i < g.nodes.size(); ++i) {
        sessions.push_back(session(g.nodes[i]->fp()));
        std::vector<std::byte> join;
        write_blob(wire::tlv_type::group_join, g.nodes[i]->join, join, ec);
        REQUIRE(relay.classify(sessions.back(), join, ec) == crypto::message_kind::join);
    }
    for (const auto& b : g.seen) {
        const wire::tlv t = wire::read_outer(b, ec);
        if (t.type() == wire::tlv_type::group_commit) {
            const auto c = read_commit(t.value, 1000, ec);
            (void)relay.classify(session(crypto::fingerprint_of<suite>(c.committer.first<32>())), b, ec);
        } else if (t.type() == wire::tlv_type::group_welcome) {
            (void)relay.classify(session(g.nodes[0]->fp()), b, ec); // node 0 committed every epoch here
        }
    }
    REQUIRE(relay.ordering().epoch() == 3);
    g.pass = [](std::size_t, const auto&) { return false; };
    REQUIRE(g.send_batch(1, numbered(3, "member")) == 1);
    const auto real = g.seen.back();
    CHECK(relay.classify(sessions[1], real, ec) == crypto::message_kind::data);
    CHECK_FALSE(ec);
    // The same bytes from a registered outsider: refused.
    (void)relay.classify(session(crypto::fingerprint_of<suite>(identity_of(777).public_key)), real, ec);
    CHECK(ec == errc::not_a_member);
    // A truncated batch (below GROUP_BATCH's 112 bytes) is malformed before any roster check.
    auto cut = real;
    cut.resize(4 + wire::group_message_min + 1);
    cut[2] = std::byte{0};
    cut[3] = static_cast<std::byte>(wire::group_message_min + 1);
    (void)relay.classify(sessions[1], cut, ec);
    CHECK(ec == errc::malformed);
}

// A Cipher without seal_batch (the secure profile) gets send_batch one message at a time: the
// engine's other branch, which no other test instantiates.
TEST_CASE("group review batch (pin): send_batch without a batching Cipher sends each message, all or nothing",
          "[profile][group][review][batch][engine]")
{
    using sec = profile::secure::cipher;
    test::secure_net<sec> net(sec(test::identity(100)));
    for (std::uint8_t i = 1; i <= 2; ++i)
        net.add_client(sec(test::identity(i)));
    net.start_all();
    net.run_for(std::chrono::milliseconds(100));
    (void)net.events(1);
    const auto texts = numbered(4, "one by one");
    std::vector<std::span<const std::byte>> views;
    for (const auto& t : texts)
        views.push_back(std::as_bytes(std::span(t)));
    const std::string huge(core::default_max_message + 1, 'h');
    auto too_big = views;
    too_big.push_back(std::as_bytes(std::span(huge)));
    std::error_code ec;
    const std::size_t before = net.sent.size();
    net.send_batch(0, too_big, ec);
    CHECK(ec == errc::message_too_large);
    CHECK(net.sent.size() == before);
    net.send_batch(0, views, ec);
    REQUIRE_FALSE(ec);
    net.run_for(std::chrono::milliseconds(100));
    std::vector<std::string> got;
    for (const auto& e : net.events(1))
        if (e.what == core::client_event::kind::message)
            got.push_back(e.text);
    CHECK(got == texts);
    CHECK(net.client(0).counters().get(core::client_counter::messages_sent) == texts.size());
}
