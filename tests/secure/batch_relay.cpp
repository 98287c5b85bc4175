// SPDX-License-Identifier: BSL-1.0
// The secure profile's batches through the engines (client_engine::send_batch -> relay_engine ->
// recipients): one record each way per batch, order and sender kept, under both Fragmenters and
// loss; what the relay refuses, counted.
#include <tlvcast/profile/secure/batch.hpp>

#include "secure/batch_fixture.hpp"
#include "secure/sim_helpers.hpp"

#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/profile/secure/cipher.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace tlvcast;
using namespace std::chrono_literals;

namespace {

using sec = profile::secure::cipher;
using view = std::span<const std::byte>;

// The message events of client i, checked to come from client `sender`.
template <class Net>
std::vector<std::string> texts_from(Net& net, std::size_t i, std::size_t sender)
{
    std::vector<std::string> v;
    const auto who = net.client(sender).cipher().identity_fingerprint();
    for (const auto& e : net.events(i)) {
        if (e.what != core::client_event::kind::message)
            continue;
        CHECK(e.peer == test::secure_client_address(sender));
        CHECK(e.identity == who);
        v.push_back(e.text);
    }
    return v;
}

template <class Net>
std::size_t records(const Net& net, const endpoint& from, const endpoint& to)
{
    return static_cast<std::size_t>(std::count_if(net.sent.begin(), net.sent.end(), [&](const auto& d) {
        return d.from == from && (to == endpoint{} || d.to == to) && test::is_type(d, wire::tlv_type::secure_record);
    }));
}

} // namespace

TEMPLATE_TEST_CASE("secure batch relay: one record in, one per recipient out; every message once, in order, with its sender",
                   "[secure][batch]", fragment::seed_fragmenter, fragment::nack_fragmenter)
{
    auto net = test::established_secure_net<TestType>(4);
    // 100 messages of 30 bytes: 35 fill a datagram (1,184 or 1,196 bytes once the relay adds 57),
    // so three batches, each one record in and one per recipient out.
    const auto sent = test::numbered(100, 30);
    const auto in = net->relay().counters().get(core::relay_counter::messages_in);
    const auto relayed = net->relay().counters().get(core::relay_counter::messages_relayed);
    net->relay_events.clear();
    net->sent.clear();
    std::error_code ec;
    net->send_batch(0, test::byte_views(sent), ec);
    REQUIRE_FALSE(ec);
    CHECK(net->client(0).counters().get(core::client_counter::messages_sent) >= sent.size());
    // Only the batches leave at once: three records to the relay (records of the repair layer,
    // ACKs and tails, follow later).
    CHECK(records(*net, test::secure_client_address(0), {}) == 3);
    net->run_for(3ms);
    for (std::size_t i = 1; i < 4; ++i) // the relay's batches fit one datagram too: never a FRAGMENT
        CHECK(records(*net, test::secure_relay_address, test::secure_client_address(i)) == 3);
    net->run_for(500ms);
    for (std::size_t i = 1; i < 4; ++i)
        CHECK(texts_from(*net, i, 0) == sent);
    CHECK(texts_from(*net, 0, 0).empty()); // no echo to the sender
    // The relay counts and reports messages, not blobs: as if they had come one by one.
    CHECK(net->relay().counters().get(core::relay_counter::messages_in) == in + sent.size());
    CHECK(net->relay().counters().get(core::relay_counter::messages_relayed) == relayed + 3 * sent.size());
    std::size_t reported = 0;
    for (const auto& e : net->relay_events)
        if (e.what == core::relay_event::kind::message) {
            CHECK(e.peer == test::secure_client_address(0));
            CHECK(e.bytes == sent[reported].size());
            ++reported;
        }
    CHECK(reported == sent.size());
    CHECK(net->relay().counters().get(core::relay_counter::malformed) == 0);
    if constexpr (fragment::per_destination<TestType>) {
        CHECK(net->client(0).fragmenter().stats().data_sent >= 1);
        CHECK(net->client(1).fragmenter().stats().duplicates == 0);
    }
}

TEMPLATE_TEST_CASE("secure batch relay: many messages take several batches; a large one goes alone; order kept",
                   "[secure][batch]", fragment::seed_fragmenter, fragment::nack_fragmenter)
{
    auto net = test::established_secure_net<TestType>(3);
    auto sent = test::numbered(600, 12); // more than max_batch_messages fit in bytes; several batches
    sent.insert(sent.begin() + 300, std::string(1150, 'L'));  // too large to share a datagram
    sent.insert(sent.begin() + 301, std::string(3000, 'H'));  // larger than a datagram: fragmented
    sent.insert(sent.begin() + 302, "after the large ones");
    net->sent.clear();
    std::error_code ec;
    net->send_batch(0, test::byte_views(sent), ec);
    REQUIRE_FALSE(ec);
    const std::size_t out = records(*net, test::secure_client_address(0), {});
    CHECK(out >= 5);     // 600 x 14 bytes: at least 8 KiB of batches, and the large ones
    CHECK(out <= 14);    // never one record per message
    net->run_for(2s);
    CHECK(texts_from(*net, 1, 0) == sent);
    CHECK(texts_from(*net, 2, 0) == sent);
}

TEST_CASE("secure batch relay: under loss the repairing Fragmenter delivers each message of a lost batch once",
          "[secure][batch]")
{
    auto net = test::established_secure_net<fragment::nack_fragmenter>(3);
    const auto sent = test::numbered(40, 20);
    int dropped = 0;
    net->tap = [&](test::wire_datagram& d) {
        // The relay's first record to client 2 after the send: the batch.
        if (dropped == 0 && d.from == test::secure_relay_address && d.to == test::secure_client_address(2) &&
            test::is_type(d, wire::tlv_type::secure_record)) {
            ++dropped;
            return false;
        }
        return true;
    };
    std::error_code ec;
    net->send(0, std::as_bytes(std::span("before", 6)), ec);
    net->send_batch(0, test::byte_views(sent), ec);
    REQUIRE_FALSE(ec);
    net->run_for(3s);
    CHECK(dropped == 1);
    auto want = sent;
    want.insert(want.begin(), "before");
    CHECK(texts_from(*net, 1, 0) == want);
    CHECK(texts_from(*net, 2, 0) == want);
    CHECK(net->client(2).fragmenter().stats().nacks_sent >= 1);
}

TEST_CASE("secure batch relay: a malformed batch is refused whole and counted; nobody receives any of it",
          "[secure][batch]")
{
    using profile::secure::max_batch_messages;
    auto net = test::established_secure_net<fragment::seed_fragmenter>(3);
    const auto entry = [](std::vector<std::byte>& v, std::uint16_t len) {
        v.push_back(std::byte{0});
        v.push_back(static_cast<std::byte>(len));
        v.resize(v.size() + len, std::byte{0x41});
    };
    std::vector<std::vector<std::byte>> bad;
    bad.push_back({std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}}); // count 0
    bad.push_back({std::byte{0}, std::byte{3}});                             // a count, no entry (too short a value)
    bad.emplace_back(std::vector<std::byte>{std::byte{0}, std::byte{3}});    // count 3, two entries
    entry(bad.back(), 1), entry(bad.back(), 1);
    bad.emplace_back(std::vector<std::byte>{std::byte{0}, std::byte{1}}); // count 1, an entry past the end
    entry(bad.back(), 9);
    bad.back().resize(bad.back().size() - 1);
    bad.emplace_back(std::vector<std::byte>{std::byte{0}, std::byte{1}}); // a trailing byte
    entry(bad.back(), 2);
    bad.back().push_back(std::byte{7});
    bad.emplace_back(std::vector<std::byte>{std::byte{1}, std::byte{1}}); // 257 entries
    for (std::size_t i = 0; i <= max_batch_messages; ++i)
        entry(bad.back(), 0);
    const auto in = net->relay().counters().get(core::relay_counter::messages_in);
    std::uint64_t refused = 0;
    for (std::size_t i = 0; i < bad.size(); ++i) {
        INFO("batch " << i);
        std::vector<std::byte> blob;
        std::error_code ec;
        wire::tlv_appender(blob).put(wire::tlv_type::secure_batch, bad[i], ec);
        net->send_sealed(0, blob, ec);
        REQUIRE_FALSE(ec);
        net->run_for(20ms);
        const auto malformed = net->relay().counters().get(core::relay_counter::malformed);
        CHECK(malformed == refused + 1);
        refused = malformed;
    }
    // A client may not send the relay's type either.
    std::vector<std::byte> blob, value(wire::secure_deliver_fixed_size + 4);
    value[0] = std::byte{4};
    std::error_code ec;
    wire::tlv_appender(blob).put(wire::tlv_type::secure_deliver_batch, value, ec);
    net->send_sealed(0, blob, ec);
    net->run_for(20ms);
    CHECK(net->relay().counters().get(core::relay_counter::malformed) == refused + 1);
    CHECK(net->relay().counters().get(core::relay_counter::messages_in) == in);
    for (std::size_t i = 1; i < 3; ++i)
        CHECK(texts_from(*net, i, 0).empty());
    // The session is intact: a good batch still goes through.
    const auto sent = test::numbered(3, 5);
    net->send_batch(0, test::byte_views(sent), ec);
    net->run_for(20ms);
    CHECK(texts_from(*net, 1, 0) == sent);
}

TEST_CASE("secure batch relay: a batch too large to reseal (over one TLV with the sender) is counted, sent to nobody",
          "[secure][batch]")
{
    auto net = test::established_secure_net<fragment::seed_fragmenter>(3);
    // Two entries of 32,740 bytes: a 65,486-byte value, a TLV the client may send (in FRAGMENTs),
    // but 51 bytes more of sender and identity do not fit one.
    const std::vector<std::string> big(2, std::string(32'740, 'Z'));
    std::vector<std::byte> blob;
    std::error_code ec;
    profile::secure::write_batch(test::byte_views(big), blob, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(blob.size() - wire::tlv_header_size + wire::secure_deliver_fixed_size > 0xffff);
    const auto errors = net->relay().counters().get(core::relay_counter::send_errors);
    net->send_sealed(0, blob, ec);
    REQUIRE_FALSE(ec);
    net->run_for(200ms);
    CHECK(net->relay().counters().get(core::relay_counter::send_errors) == errors + 2); // each recipient
    for (std::size_t i = 1; i < 3; ++i)
        CHECK(texts_from(*net, i, 0).empty());
    // What a client's send_batch builds never gets there: 32,740 bytes go alone.
    net->send_batch(0, test::byte_views(big), ec);
    REQUIRE_FALSE(ec);
    net->run_for(500ms);
    CHECK(texts_from(*net, 1, 0) == big);
}
