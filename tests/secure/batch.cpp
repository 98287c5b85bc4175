// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/profile/secure/batch.hpp and the cipher's batch calls: SECURE_BATCH
// and SECURE_DELIVER_BATCH written, checked field by field, and handed out in order.
#include <tlvcast/profile/secure/batch.hpp>

#include "secure/batch_fixture.hpp"
#include "secure/sim_helpers.hpp"

#include <tlvcast/crypto/hex.hpp>
#include <tlvcast/profile/secure/cipher.hpp>
#include <tlvcast/profile/secure/messages.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::profile::secure;
using view = std::span<const std::byte>;

namespace {

view as_span(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

// A batch value built by hand: count, then (length, fill) entries, then `extra` bytes.
std::vector<std::byte> raw_batch(std::uint16_t count, const std::vector<std::uint16_t>& lengths, std::size_t extra = 0)
{
    std::vector<std::byte> v(2);
    wire::detail::store_u16(v.data(), count);
    for (const auto len : lengths) {
        const std::size_t at = v.size();
        v.resize(at + 2 + len, std::byte{0x6d});
        wire::detail::store_u16(v.data() + at, len);
    }
    v.resize(v.size() + extra, std::byte{0x00});
    return v;
}

batch_fault fault_of(const std::vector<std::byte>& v)
{
    std::size_t n = 0;
    return check_batch(v, n);
}

// A SECURE_DELIVER_BATCH value: 10.0.0.1:40000, identity 0x11 x 32, then `batch`.
std::vector<std::byte> deliver_value(view batch)
{
    std::vector<std::byte> blob;
    std::error_code ec;
    crypto::fingerprint id{};
    id.fill(std::byte{0x11});
    messages::deliver(test::secure_client_address(0), id, batch, blob, ec, wire::tlv_type::secure_deliver_batch);
    REQUIRE_FALSE(ec);
    return {blob.begin() + wire::tlv_header_size, blob.end()};
}

} // namespace

TEST_CASE("secure batch: write_batch's blob checks, and its cursor gives every message in order", "[secure][batch]")
{
    const std::vector<std::string> sent{"first", "", std::string(300, 'c'), "last"};
    const auto v = test::byte_views(sent);
    std::vector<std::byte> blob;
    std::error_code ec;
    write_batch(v, blob, ec);
    REQUIRE_FALSE(ec);
    const wire::tlv t = wire::read_outer(blob, ec);
    REQUIRE_FALSE(ec);
    CHECK(t.type() == wire::tlv_type::secure_batch);
    CHECK(blob.size() == wire::tlv_header_size + 2 + 4 * 2 + 5 + 300 + 4);
    CHECK(check_batch(t.value, ec) == sent.size());
    REQUIRE_FALSE(ec);
    batch_cursor c(t.value);
    std::vector<std::string> got;
    for (view m; c.next(m);)
        got.emplace_back(reinterpret_cast<const char*>(m.data()), m.size());
    CHECK(got == sent);
    CHECK(c.left() == 0);

    std::vector<view> none;
    write_batch(none, blob, ec);
    CHECK(ec == errc::message_too_large);
    std::vector<view> too_many(max_batch_messages + 1, view{});
    write_batch(too_many, blob, ec);
    CHECK(ec == errc::message_too_large);
    CHECK(blob.empty());
}

TEST_CASE("secure batch: each field is checked: count, lengths, empty, too many, trailing bytes", "[secure][batch]")
{
    CHECK(fault_of(raw_batch(2, {3, 0})) == batch_fault::none);
    CHECK(fault_of({}) == batch_fault::short_count);
    CHECK(fault_of({std::byte{1}}) == batch_fault::short_count);
    CHECK(fault_of(raw_batch(0, {})) == batch_fault::empty);
    CHECK(fault_of(raw_batch(0, {}, 4)) == batch_fault::empty);
    CHECK(fault_of(raw_batch(max_batch_messages + 1, std::vector<std::uint16_t>(max_batch_messages + 1, 0))) ==
          batch_fault::too_many);
    CHECK(fault_of(raw_batch(max_batch_messages, std::vector<std::uint16_t>(max_batch_messages, 0))) ==
          batch_fault::none);
    CHECK(fault_of(raw_batch(3, {1, 1})) == batch_fault::truncated_length);      // a count above the entries
    CHECK(fault_of(raw_batch(2, {1, 1}, 1)) == batch_fault::trailing_bytes);     // one stray byte
    CHECK(fault_of(raw_batch(1, {1, 1})) == batch_fault::trailing_bytes);        // a count below the entries
    auto cut = raw_batch(2, {4, 4});
    cut.resize(cut.size() - 1);
    CHECK(fault_of(cut) == batch_fault::truncated_message);
    auto half_length = raw_batch(2, {4});
    half_length.push_back(std::byte{0});
    CHECK(fault_of(half_length) == batch_fault::truncated_length);

    // Every prefix of a good batch is refused (none ends on its last entry), with malformed.
    const auto good = raw_batch(3, {5, 0, 7});
    for (std::size_t n = 0; n < good.size(); ++n) {
        INFO("prefix " << n);
        std::error_code ec;
        CHECK(check_batch(view(good).first(n), ec) == 0);
        CHECK(ec == errc::malformed);
    }
}

TEST_CASE("secure batch: batch_sizes lists each message's size, and nothing for a refused batch", "[secure][batch]")
{
    std::vector<std::size_t> sizes{99};
    batch_sizes(raw_batch(3, {5, 0, 300}), sizes);
    CHECK(sizes == std::vector<std::size_t>{5, 0, 300});
    batch_sizes(raw_batch(2, {5, 0}, 1), sizes);
    CHECK(sizes.empty());
    batch_sizes(raw_batch(0, {}), sizes);
    CHECK(sizes.empty());
}

TEST_CASE("secure batch: batch_fit keeps the relay's blob within the budget and max_batch_messages", "[secure][batch]")
{
    const std::string m40(40, 'x');
    std::vector<view> v(400, as_span(m40));
    CHECK(batch_fit(v, 1196) == (1196 - batch_delivered_fixed_size) / 42);
    CHECK(batch_fit(v, batch_delivered_fixed_size + 41) == 0);
    CHECK(batch_fit(v, batch_delivered_fixed_size + 42) == 1);
    const std::string empty;
    std::vector<view> empties(400, as_span(empty));
    CHECK(batch_fit(empties, 0xffff) == max_batch_messages);
    // What it fits, the relay's SECURE_DELIVER_BATCH holds within the budget.
    const std::size_t n = batch_fit(v, 1196);
    std::vector<std::byte> blob;
    std::error_code ec;
    write_batch(std::span<const view>(v).first(n), blob, ec);
    REQUIRE_FALSE(ec);
    CHECK(deliver_value(view(blob).subspan(wire::tlv_header_size)).size() + wire::tlv_header_size <= 1196);
}

TEST_CASE("secure batch: the wire bytes of PROTOCOL.md's example", "[secure][batch]")
{
    // SECURE_BATCH of "hi", "" and "tlv"; the relay's SECURE_DELIVER_BATCH from 10.0.0.1:40000,
    // identity 11 x 32 (docs/PROTOCOL.md "Batches: SECURE_BATCH").
    const std::vector<std::string> sent{"hi", "", "tlv"};
    std::vector<std::byte> blob;
    std::error_code ec;
    write_batch(test::byte_views(sent), blob, ec);
    REQUIRE_FALSE(ec);
    CHECK(crypto::to_hex(blob) == "002b000d00030002686900000003746c76");
    std::vector<std::byte> relayed;
    crypto::fingerprint id{};
    id.fill(std::byte{0x11});
    messages::deliver(test::secure_client_address(0), id, view(blob).subspan(wire::tlv_header_size), relayed, ec,
                      wire::tlv_type::secure_deliver_batch);
    REQUIRE_FALSE(ec);
    CHECK(crypto::to_hex(relayed) ==
          "002c0040" "04" "00000000000000000000ffff0a000001" "9c40"
          "1111111111111111111111111111111111111111111111111111111111111111"
          "00030002686900000003746c76");
}

TEST_CASE("secure batch: the cipher packs what fits, sends a lone or too large message alone", "[secure][batch]")
{
    const profile::secure::cipher c(test::identity(1));
    const profile::secure::cipher::client_session s{};
    std::vector<std::byte> blob;
    std::error_code ec;
    const std::vector<std::string> small(100, std::string(40, 's'));
    auto v = test::byte_views(small);
    const std::size_t n = c.seal_batch(s, v, 0, blob, ec); // 0: the record's max_whole()
    REQUIRE_FALSE(ec);
    CHECK(n == (c.max_whole() - batch_delivered_fixed_size) / 42);
    CHECK(wire::read_outer(blob, ec).type() == wire::tlv_type::secure_batch);
    CHECK(blob.size() + wire::secure_deliver_fixed_size <= c.max_whole());
    // A smaller budget (the Fragmenter's datagram) takes fewer.
    CHECK(c.seal_batch(s, v, 600, blob, ec) == (600 - batch_delivered_fixed_size) / 42);
    CHECK(c.seal_batch(s, v, 100'000, blob, ec) == n); // never past the record
    // One message, or a first one too large to share: SECURE_MESSAGE, alone.
    const std::string big(1100, 'B');
    std::vector<view> mixed{as_span(big), v[0], v[1]};
    CHECK(c.seal_batch(s, mixed, 0, blob, ec) == 1);
    CHECK(wire::read_outer(blob, ec).type() == wire::tlv_type::secure_message);
    CHECK(blob.size() == wire::tlv_header_size + big.size());
    CHECK(c.seal_batch(s, std::span(v).first(1), 0, blob, ec) == 1);
    CHECK(wire::read_outer(blob, ec).type() == wire::tlv_type::secure_message);
    CHECK(c.seal_batch(s, std::span(v).first(0), 0, blob, ec) == 0);
}

TEST_CASE("secure batch: the relay opens a batch as one, the client hands out each message with its sender",
          "[secure][batch]")
{
    profile::secure::cipher client(test::identity(1));
    const profile::secure::cipher relay(test::identity(100));
    profile::secure::cipher::client_session s{};
    const profile::secure::cipher::peer_session p{};
    const std::vector<std::string> sent{"one", "", "three", std::string(200, '4')};
    std::vector<std::byte> blob, plaintext, relayed, text;
    std::error_code ec;
    REQUIRE(client.seal_batch(s, test::byte_views(sent), 0, blob, ec) == sent.size());
    CHECK(relay.open(p, blob, plaintext, ec) == crypto::message_kind::batch);
    REQUIRE_FALSE(ec);
    relay.seal_relayed_batch(p, p, test::secure_client_address(3), plaintext, relayed, ec);
    REQUIRE_FALSE(ec);
    datagram_batch out;
    const wire::tlv t = wire::read_outer(relayed, ec);
    REQUIRE(t.type() == wire::tlv_type::secure_deliver_batch);
    crypto::received r = client.client_receive(s, t, {}, {}, out, text, ec);
    REQUIRE_FALSE(ec);
    std::vector<std::string> got;
    do {
        CHECK(r.what == crypto::received::kind::message);
        CHECK(r.peer == test::secure_client_address(3));
        CHECK_FALSE(r.part);
        got.emplace_back(reinterpret_cast<const char*>(text.data()), text.size());
    } while (client.poll_message(s, r, text));
    CHECK(got == sent);
    CHECK_FALSE(client.poll_message(s, r, text)); // exactly once
    CHECK(out.size() == 0);

    // A client's SECURE_BATCH never comes from the relay; a relay never takes a delivered batch.
    const wire::tlv own = wire::read_outer(blob, ec);
    r = client.client_receive(s, own, {}, {}, out, text, ec);
    CHECK(ec == errc::unexpected_type);
    CHECK(r.what == crypto::received::kind::nothing);
    relay.open(p, relayed, plaintext, ec);
    CHECK(ec == errc::malformed);
}

TEST_CASE("secure batch: a malformed batch is refused whole, at the relay and at the client", "[secure][batch]")
{
    profile::secure::cipher client(test::identity(1));
    const profile::secure::cipher relay(test::identity(100));
    profile::secure::cipher::client_session s{};
    const profile::secure::cipher::peer_session p{};
    const std::vector<std::vector<std::byte>> bad{
        raw_batch(0, {}, 2), raw_batch(max_batch_messages + 1, std::vector<std::uint16_t>(max_batch_messages + 1, 0)),
        raw_batch(3, {1, 1}), raw_batch(2, {1, 1}, 1), raw_batch(1, {2, 2})};
    for (std::size_t i = 0; i < bad.size(); ++i) {
        INFO("batch " << i);
        std::vector<std::byte> blob, plaintext, text;
        std::error_code ec;
        wire::tlv_appender(blob).put(wire::tlv_type::secure_batch, bad[i], ec);
        REQUIRE_FALSE(ec);
        relay.open(p, blob, plaintext, ec);
        CHECK(ec == errc::malformed);
        CHECK(plaintext.empty());
        // The same content from the relay: nothing handed out, not even the first message.
        const auto value = deliver_value(bad[i]);
        blob.clear();
        wire::tlv_appender(blob).put(wire::tlv_type::secure_deliver_batch, value, ec);
        datagram_batch out;
        crypto::received r = client.client_receive(s, wire::read_outer(blob, ec), {}, {}, out, text, ec);
        CHECK(ec == errc::malformed);
        CHECK(r.what == crypto::received::kind::nothing);
        CHECK_FALSE(client.poll_message(s, r, text));
    }
    // A bad sender address refuses the batch too (family 5).
    auto value = deliver_value(raw_batch(1, {1}));
    value[0] = std::byte{5};
    std::vector<std::byte> blob, text;
    std::error_code ec;
    wire::tlv_appender(blob).put(wire::tlv_type::secure_deliver_batch, value, ec);
    datagram_batch out;
    crypto::received r = client.client_receive(s, wire::read_outer(blob, ec), {}, {}, out, text, ec);
    CHECK(ec);
    CHECK_FALSE(client.poll_message(s, r, text));
}
