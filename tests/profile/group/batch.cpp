// SPDX-License-Identifier: BSL-1.0
// profile/group/batch.hpp and member::seal_batch/open_batch: several messages under one generation
// and one signature, and what a recipient refuses.
#include "profile/group/group_net.hpp"

#include <tlvcast/profile/group/batch.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::test::group;

namespace {

std::vector<std::string> texts(std::size_t n, std::size_t size, char base = 'a')
{
    std::vector<std::string> v;
    for (std::size_t i = 0; i < n; ++i)
        v.push_back(std::string(size, static_cast<char>(base + static_cast<char>(i % 26))) + std::to_string(i));
    return v;
}

} // namespace

TEST_CASE("group batch: read_batch splits what append_batch_entry wrote, and refuses the rest", "[profile][group]")
{
    std::vector<std::byte> content;
    const std::string a = "first", b, c(300, 'c');
    for (const auto& m : {a, b, c})
        append_batch_entry(content, std::as_bytes(std::span(m)));
    std::vector<std::vector<std::byte>> out;
    std::error_code ec;
    read_batch(content, out, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(out.size() == 3);
    CHECK(out[1].empty());
    CHECK(out[2].size() == 300);
    for (std::size_t cut = 0; cut < content.size(); ++cut) { // every truncation but the entry boundaries
        read_batch(std::span(content).first(cut), out, ec);
        const bool boundary = cut == 2 + a.size() || cut == 2 + a.size() + 2;
        INFO("cut " << cut);
        CHECK(static_cast<bool>(ec) == !boundary);
        if (ec)
            CHECK(out.empty());
    }
    std::vector<std::byte> many;
    for (std::size_t i = 0; i <= max_batch_messages; ++i)
        append_batch_entry(many, {});
    read_batch(std::span(many).first(2 * max_batch_messages), out, ec);
    CHECK_FALSE(ec);
    read_batch(many, out, ec);
    CHECK(ec == errc::malformed);
}

TEST_CASE("group batch: batch_fit keeps to the budget and to max_batch_messages", "[profile][group]")
{
    const std::string m40(40, 'x');
    std::vector<bytes> views(300, std::as_bytes(std::span(m40)));
    CHECK(batch_fit(views, 1196) == (1196 - batch_fixed_size) / 42);
    CHECK(batch_fit(views, batch_fixed_size + 41) == 0);
    const std::string empty;
    std::vector<bytes> empties(300, std::as_bytes(std::span(empty)));
    CHECK(batch_fit(empties, 0xffff) == max_batch_messages);
}

TEST_CASE("group batch: one blob, one signature, every message in the sender's order", "[profile][group]")
{
    group_net g = three();
    const auto sent = texts(20, 40);
    const auto verifies_before = g.nodes[1]->party->counts().ed25519_verify;
    const std::size_t before = g.seen.size();
    CHECK(g.send_batch(0, sent) == 1);
    REQUIRE(g.seen.size() == before + 1);
    std::error_code ec;
    CHECK(wire::read_outer(g.seen.back(), ec).type() == wire::tlv_type::group_batch);
    CHECK(g.seen.back().size() <= 1196);
    CHECK(inbox_texts(*g.nodes[1]) == sent);
    CHECK(inbox_texts(*g.nodes[2]) == sent);
    CHECK(g.nodes[1]->inbox[0].sender == g.nodes[0]->fp());
    CHECK(g.nodes[1]->party->counts().ed25519_verify - verifies_before == 1);
    CHECK(g.nodes[0]->m->counts().messages_sealed == 20);
    CHECK(g.nodes[1]->m->counts().messages_opened == 20);
    g.send(0, "then one alone"); // the next generation: no gap
    CHECK(g.nodes[1]->inbox.back().text == "then one alone");
    CHECK(g.nodes[1]->m->counts().gaps == 0);
}

TEST_CASE("group batch: the budget splits a batch; a message that fits with no other goes alone", "[profile][group]")
{
    group_net g = three();
    std::vector<std::string> sent = texts(10, 300);
    sent.push_back(std::string(5000, 'L'));
    for (const auto& t : texts(3, 10, 'p'))
        sent.push_back(t);
    const std::size_t before = g.seen.size();
    const std::size_t blobs = g.send_batch(1, sent);
    std::vector<wire::tlv_type> types;
    for (std::size_t i = before; i < g.seen.size(); ++i) {
        std::error_code ec;
        types.push_back(wire::read_outer(g.seen[i], ec).type());
        if (types.back() == wire::tlv_type::group_batch)
            CHECK(g.seen[i].size() <= 1196);
    }
    using t = wire::tlv_type;
    // 3 + 3 + 3 of 302 bytes fill 1,196; the tenth fits with no other, nor does the 5,000-byte one.
    CHECK(types == std::vector{t::group_batch, t::group_batch, t::group_batch, t::group_message, t::group_message,
                               t::group_batch});
    CHECK(blobs == types.size());
    CHECK(inbox_texts(*g.nodes[0]) == sent);
    CHECK(inbox_texts(*g.nodes[2]) == sent);
}

TEST_CASE("group batch (malicious relay): relabelled, altered and replayed batches are refused",
          "[profile][group][malicious]")
{
    group_net g = three();
    node& r = *g.nodes[2];
    g.pass = [](std::size_t, const auto&) { return false; }; // the relay keeps what node 0 sends
    g.send_batch(0, texts(5, 40));
    g.send(0, "single");
    const std::vector<std::byte> batch = g.seen[g.seen.size() - 2], single = g.seen.back();
    std::error_code ec;
    std::vector<std::vector<std::byte>> out;
    std::vector<std::byte> text;
    // The AEAD does not cover the TLV type; the signature's label does.
    auto relabel = [](std::vector<std::byte> b, wire::tlv_type t) {
        b[1] = static_cast<std::byte>(static_cast<std::uint16_t>(t));
        return b;
    };
    const auto as_single = relabel(batch, wire::tlv_type::group_message);
    CHECK_FALSE(r.m->open(wire::read_outer(as_single, ec).value, text, ec));
    CHECK(ec == errc::authentication_failed);
    const auto as_batch = relabel(single, wire::tlv_type::group_batch);
    CHECK_FALSE(r.m->open_batch(wire::read_outer(as_batch, ec).value, out, ec));
    CHECK(ec == errc::authentication_failed);
    CHECK(out.empty());
    auto flipped = batch;
    flipped[60] ^= std::byte{1};
    CHECK_FALSE(r.m->open_batch(wire::read_outer(flipped, ec).value, out, ec));
    CHECK(ec == errc::decrypt_failed);
    // None of that spent a generation: the genuine ones still open, once.
    REQUIRE(r.m->open_batch(wire::read_outer(batch, ec).value, out, ec));
    CHECK(out.size() == 5);
    CHECK(r.m->open(wire::read_outer(single, ec).value, text, ec));
    CHECK_FALSE(r.m->open_batch(wire::read_outer(batch, ec).value, out, ec));
    CHECK(ec == errc::replayed);
    CHECK(r.m->counts().gaps == 0);
}

TEST_CASE("group batch (malicious member): a batch its sender signed that does not parse is refused, once",
          "[profile][group][malicious]")
{
    group_net g = three();
    node& r = *g.nodes[1];
    std::vector<std::byte> truncated;
    append_batch_entry(truncated, std::as_bytes(std::span(std::string_view("ok"))));
    truncated.push_back(std::byte{0});
    truncated.push_back(std::byte{9});
    std::vector<std::byte> too_many;
    for (std::size_t i = 0; i <= max_batch_messages; ++i)
        append_batch_entry(too_many, {});
    std::uint32_t ahead = 0;
    for (const auto* content : {&truncated, &too_many}) {
        const auto blob = forge_signed(*g.nodes[0], wire::tlv_type::group_batch, labels::batch, *content, ahead++);
        std::error_code ec;
        std::vector<std::vector<std::byte>> out;
        CHECK_FALSE(r.m->open_batch(wire::read_outer(blob, ec).value, out, ec));
        CHECK(ec == errc::malformed);
        CHECK(out.empty());
        // Its generation is spent: the same blob again is a replay, not another verification.
        CHECK_FALSE(r.m->open_batch(wire::read_outer(blob, ec).value, out, ec));
        CHECK(ec == errc::replayed);
    }
    CHECK(r.inbox.empty());
    CHECK(r.m->counts().gaps == 0);
    // The sender signed both, so generation 0 is its own: a second message under it is a replay.
    g.send(0, "real");
    CHECK(r.inbox.empty());
    CHECK(g.nodes[2]->inbox.size() == 1);
}
