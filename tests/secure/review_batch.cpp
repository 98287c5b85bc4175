// SPDX-License-Identifier: BSL-1.0
// Security review of the secure profile's batches (SECURE_BATCH 43, SECURE_DELIVER_BATCH 44), as an
// attacker on the path or a malicious member: replayed and re-addressed batch records, entries that
// imitate other TLVs or name another member, a batch built past the client's fit, the most messages
// a count allows, and a repaired batch whose original record turns up late.
#include <tlvcast/profile/secure/batch.hpp>
#include <tlvcast/profile/secure/messages.hpp>

#include "secure/batch_fixture.hpp"
#include "secure/sim_helpers.hpp"

#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/profile/secure/cipher.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

using namespace tlvcast;
using namespace std::chrono_literals;

namespace {

using rb_sec = profile::secure::cipher;
using rb_view = std::span<const std::byte>;

std::string rb_text(std::span<const std::byte> b)
{
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Client i's message events (all of them), each checked to come from client `sender` with its identity.
template <class Net>
std::vector<std::string> rb_texts_from(Net& net, std::size_t i, std::size_t sender)
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

// Records from `from` to `to` in net.sent from index `mark` on.
template <class Net>
std::vector<test::wire_datagram> rb_records(const Net& net, std::size_t mark, const endpoint& from, const endpoint& to)
{
    std::vector<test::wire_datagram> v;
    for (std::size_t i = mark; i < net.sent.size(); ++i) {
        const auto& d = net.sent[i];
        if (d.from == from && d.to == to && test::is_type(d, wire::tlv_type::secure_record))
            v.push_back(d);
    }
    return v;
}

const endpoint rb_stranger{0x0a0000feu, 41000};

} // namespace

TEST_CASE("review batch: a captured batch record replayed, or re-sent from another member's or a stranger's "
          "address, delivers nothing more and is attributed to nobody",
          "[review][secure][batch]")
{
    auto net = test::established_secure_net<fragment::seed_fragmenter>(4);
    const auto sent = test::numbered(5, 16, "r");
    const std::size_t mark = net->sent.size();
    std::error_code ec;
    net->send_batch(0, test::byte_views(sent), ec);
    REQUIRE_FALSE(ec);
    const auto up = rb_records(*net, mark, test::secure_client_address(0), test::secure_relay_address);
    REQUIRE(up.size() == 1); // one record for the whole batch
    net->run_for(50ms);
    for (std::size_t i = 1; i < 4; ++i)
        CHECK(rb_texts_from(*net, i, 0) == sent);
    const auto down = rb_records(*net, mark, test::secure_relay_address, test::secure_client_address(1));
    REQUIRE(down.size() == 1);

    const auto& relay = net->relay().counters();
    const auto in = relay.get(core::relay_counter::messages_in);
    const auto relayed = relay.get(core::relay_counter::messages_relayed);
    const auto undecryptable = relay.get(core::relay_counter::undecryptable);
    const auto unregistered = relay.get(core::relay_counter::unregistered);
    const auto dup1 = net->client(1).counters().get(core::client_counter::duplicates);
    const auto events_before = net->relay_events.size();

    // The same record again, from its sender's address: the record layer's replay window.
    net->inject(test::secure_client_address(0), test::secure_relay_address, up[0].bytes);
    // From member 1's address: member 1's session cannot open it (never delivered as member 1's).
    net->inject(test::secure_client_address(1), test::secure_relay_address, up[0].bytes);
    // From an address the relay does not know.
    net->inject(rb_stranger, test::secure_relay_address, up[0].bytes);
    // The relay's SECURE_DELIVER_BATCH to member 1, again, and to member 2 (another member's key).
    net->inject(test::secure_relay_address, test::secure_client_address(1), down[0].bytes);
    net->inject(test::secure_relay_address, test::secure_client_address(2), down[0].bytes);
    net->run_for(50ms);

    CHECK(relay.get(core::relay_counter::messages_in) == in);
    CHECK(relay.get(core::relay_counter::messages_relayed) == relayed);
    CHECK(relay.get(core::relay_counter::undecryptable) == undecryptable + 2);
    CHECK(relay.get(core::relay_counter::unregistered) == unregistered + 1);
    CHECK(net->client(1).counters().get(core::client_counter::duplicates) == dup1 + 1);
    CHECK(net->client(2).counters().get(core::client_counter::undecryptable) >= 1);
    for (std::size_t i = events_before; i < net->relay_events.size(); ++i)
        CHECK(net->relay_events[i].what != core::relay_event::kind::message);
    for (std::size_t i = 0; i < 4; ++i) {
        INFO("client " << i);
        const auto evs = net->events(i);
        CHECK(std::none_of(evs.begin(), evs.end(),
                           [](const auto& e) { return e.what == core::client_event::kind::message; }));
    }
}

TEST_CASE("review batch: entries that imitate a SECURE_DELIVER naming another member, a nested SECURE_BATCH or a "
          "SECURE_DELIVER_BATCH are opaque text from their real sender",
          "[review][secure][batch]")
{
    auto net = test::established_secure_net<fragment::seed_fragmenter>(3);
    std::error_code ec;
    // A SECURE_DELIVER as the relay would write it for member 1's message "spoofed".
    std::vector<std::byte> as_deliver;
    const std::string spoof = "spoofed";
    profile::secure::messages::deliver(test::secure_client_address(1), net->client(1).cipher().identity_fingerprint(),
                                       std::as_bytes(std::span(spoof.data(), spoof.size())), as_deliver, ec);
    REQUIRE_FALSE(ec);
    // A whole SECURE_BATCH of two messages, and the same as member 1's SECURE_DELIVER_BATCH.
    const std::vector<std::string> inner{"inner one", "inner two"};
    std::vector<std::byte> as_batch, as_deliver_batch;
    profile::secure::write_batch(test::byte_views(inner), as_batch, ec);
    REQUIRE_FALSE(ec);
    profile::secure::messages::deliver(test::secure_client_address(1), net->client(1).cipher().identity_fingerprint(),
                                       rb_view(as_batch).subspan(wire::tlv_header_size), as_deliver_batch, ec,
                                       wire::tlv_type::secure_deliver_batch);
    REQUIRE_FALSE(ec);
    const std::vector<std::string> sent{rb_text(as_deliver), rb_text(as_batch), rb_text(as_deliver_batch), ""};
    const auto in = net->relay().counters().get(core::relay_counter::messages_in);
    net->send_batch(0, test::byte_views(sent), ec);
    REQUIRE_FALSE(ec);
    net->run_for(50ms);
    // rb_texts_from checks every event's sender and identity: client 0's, never client 1's.
    CHECK(rb_texts_from(*net, 1, 0) == sent);
    CHECK(rb_texts_from(*net, 2, 0) == sent);
    CHECK(net->relay().counters().get(core::relay_counter::messages_in) == in + sent.size());
    CHECK(net->client(1).counters().get(core::client_counter::malformed) == 0);
}

TEST_CASE("review batch: a batch built past the client's fit (a whole record) is fragmented by the relay: every "
          "datagram within max_datagram, each message once, no more than its size again per recipient",
          "[review][secure][batch]")
{
    auto net = test::established_secure_net<fragment::seed_fragmenter>(3);
    const std::size_t max_whole = net->client(0).cipher().max_whole();
    const std::size_t max_datagram = net->client(0).cipher().settings().max_datagram;
    // Two entries that make the client's SECURE_BATCH exactly max_whole: it leaves whole, one
    // record of max_datagram; the relay's SECURE_DELIVER_BATCH is 51 bytes over.
    const std::size_t len = (max_whole - wire::tlv_header_size - 2 - 4) / 2;
    std::vector<std::string> sent{std::string(len, 'x'), std::string(len, 'y')};
    std::vector<std::byte> blob;
    std::error_code ec;
    profile::secure::write_batch(test::byte_views(sent), blob, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(blob.size() == max_whole);
    const std::size_t mark = net->sent.size();
    const auto errors = net->relay().counters().get(core::relay_counter::send_errors);
    net->send_sealed(0, blob, ec);
    REQUIRE_FALSE(ec);
    const auto up = rb_records(*net, mark, test::secure_client_address(0), test::secure_relay_address);
    REQUIRE(up.size() == 1);
    CHECK(up[0].bytes.size() == max_datagram);
    net->run_for(50ms);
    for (std::size_t i = 1; i < 3; ++i) {
        INFO("recipient " << i);
        CHECK(rb_texts_from(*net, i, 0) == sent);
        const auto down = rb_records(*net, mark, test::secure_relay_address, test::secure_client_address(i));
        CHECK(down.size() == 2); // two FRAGMENTs
        std::size_t bytes = 0;
        for (const auto& d : down) {
            CHECK(d.bytes.size() <= max_datagram);
            bytes += d.bytes.size();
        }
        // 51 bytes of sender, a second record and two FRAGMENT headers: far less than twice the input.
        CHECK(bytes <= up[0].bytes.size() + 200);
    }
    CHECK(net->relay().counters().get(core::relay_counter::send_errors) == errors);
    CHECK(net->client(1).counters().get(core::client_counter::reassembly_dropped) == 0);
}

TEST_CASE("review batch: the most messages a count allows (256, empty) cost the relay one record per recipient of "
          "about the batch's size; 257 are refused whole",
          "[review][secure][batch]")
{
    using profile::secure::max_batch_messages;
    auto net = test::established_secure_net<fragment::seed_fragmenter>(3);
    const std::vector<std::string> sent(max_batch_messages, std::string());
    std::vector<std::byte> blob;
    std::error_code ec;
    profile::secure::write_batch(test::byte_views(sent), blob, ec);
    REQUIRE_FALSE(ec);
    CHECK(blob.size() == wire::tlv_header_size + 2 + 2 * max_batch_messages);
    std::size_t mark = net->sent.size();
    const auto in = net->relay().counters().get(core::relay_counter::messages_in);
    net->relay_events.clear();
    net->send_sealed(0, blob, ec);
    REQUIRE_FALSE(ec);
    const auto up = rb_records(*net, mark, test::secure_client_address(0), test::secure_relay_address);
    REQUIRE(up.size() == 1);
    net->run_for(50ms);
    for (std::size_t i = 1; i < 3; ++i) {
        INFO("recipient " << i);
        CHECK(rb_texts_from(*net, i, 0) == sent);
        const auto down = rb_records(*net, mark, test::secure_relay_address, test::secure_client_address(i));
        REQUIRE(down.size() == 1);
        CHECK(down[0].bytes.size() == up[0].bytes.size() + wire::secure_deliver_fixed_size);
    }
    CHECK(net->relay().counters().get(core::relay_counter::messages_in) == in + max_batch_messages);
    CHECK(std::count_if(net->relay_events.begin(), net->relay_events.end(), [](const auto& e) {
              return e.what == core::relay_event::kind::message;
          }) == static_cast<std::ptrdiff_t>(max_batch_messages));

    // One more entry: nothing of it leaves the relay.
    const std::vector<std::string> over(max_batch_messages + 1, std::string());
    std::vector<std::byte> value{std::byte{0x01}, std::byte{0x01}};
    value.resize(2 + 2 * over.size(), std::byte{0});
    blob.clear();
    wire::tlv_appender(blob).put(wire::tlv_type::secure_batch, value, ec);
    REQUIRE_FALSE(ec);
    const auto malformed = net->relay().counters().get(core::relay_counter::malformed);
    mark = net->sent.size();
    net->send_sealed(0, blob, ec);
    REQUIRE_FALSE(ec);
    net->run_for(50ms);
    CHECK(net->relay().counters().get(core::relay_counter::malformed) == malformed + 1);
    for (std::size_t i = 1; i < 3; ++i) {
        CHECK(rb_records(*net, mark, test::secure_relay_address, test::secure_client_address(i)).empty());
        CHECK(rb_texts_from(*net, i, 0).empty());
    }
    // A count of 0xffff over two bytes of entries: refused on its count, whatever follows.
    value = {std::byte{0xff}, std::byte{0xff}, std::byte{0}, std::byte{0}};
    blob.clear();
    wire::tlv_appender(blob).put(wire::tlv_type::secure_batch, value, ec);
    REQUIRE_FALSE(ec);
    net->send_sealed(0, blob, ec);
    REQUIRE_FALSE(ec);
    net->run_for(50ms);
    CHECK(net->relay().counters().get(core::relay_counter::malformed) == malformed + 2);
    CHECK(net->relay().counters().get(core::relay_counter::messages_in) == in + max_batch_messages);
}

TEST_CASE("review batch: repaired at the relay, a lost batch's original record turning up late is not delivered "
          "twice",
          "[review][secure][batch]")
{
    auto net = test::established_secure_net<fragment::nack_fragmenter>(3);
    const auto sent = test::numbered(20, 20, "r");
    std::error_code ec;
    net->send(0, std::as_bytes(std::span("before", 6)), ec);
    REQUIRE_FALSE(ec);
    net->run_for(20ms);
    const std::size_t mark = net->sent.size();
    net->send_batch(0, test::byte_views(sent), ec);
    REQUIRE_FALSE(ec);
    const auto up = rb_records(*net, mark, test::secure_client_address(0), test::secure_relay_address);
    REQUIRE(up.size() == 1);
    const auto lost = up[0].bytes;
    int dropped = 0;
    net->tap = [&](test::wire_datagram& d) {
        if (dropped == 0 && d.bytes == lost) {
            ++dropped;
            return false;
        }
        return true;
    };
    net->run_for(3s);
    REQUIRE(dropped == 1);
    auto want = sent;
    want.insert(want.begin(), "before");
    for (std::size_t i = 1; i < 3; ++i)
        CHECK(rb_texts_from(*net, i, 0) == want);
    const auto in = net->relay().counters().get(core::relay_counter::messages_in);
    const auto undecryptable = net->relay().counters().get(core::relay_counter::undecryptable);
    const auto dups = net->relay().fragmenter().stats().duplicates;
    // The original record, never seen by the relay, passes the replay window: the repair layer
    // must know its REPAIR_DATA.
    net->inject(test::secure_client_address(0), test::secure_relay_address, lost);
    net->run_for(1s);
    CHECK(net->relay().counters().get(core::relay_counter::undecryptable) == undecryptable); // it got that far
    CHECK(net->relay().fragmenter().stats().duplicates == dups + 1);
    CHECK(net->relay().counters().get(core::relay_counter::messages_in) == in);
    for (std::size_t i = 1; i < 3; ++i)
        CHECK(rb_texts_from(*net, i, 0).empty());
}

TEST_CASE("review batch: repaired to a recipient, the relay's lost SECURE_DELIVER_BATCH turning up late is not "
          "handed out twice",
          "[review][secure][batch]")
{
    auto net = test::established_secure_net<fragment::nack_fragmenter>(3);
    const auto sent = test::numbered(20, 20, "r");
    std::error_code ec;
    net->send(0, std::as_bytes(std::span("before", 6)), ec);
    REQUIRE_FALSE(ec);
    net->run_for(20ms);
    std::vector<std::byte> lost;
    net->tap = [&](test::wire_datagram& d) {
        // The relay's first large record to client 2 after the send: the batch (20 x 22 bytes).
        if (lost.empty() && d.from == test::secure_relay_address && d.to == test::secure_client_address(2) &&
            test::is_type(d, wire::tlv_type::secure_record) && d.bytes.size() > 400) {
            lost = d.bytes;
            return false;
        }
        return true;
    };
    net->send_batch(0, test::byte_views(sent), ec);
    REQUIRE_FALSE(ec);
    net->run_for(3s);
    REQUIRE_FALSE(lost.empty());
    auto want = sent;
    want.insert(want.begin(), "before");
    CHECK(rb_texts_from(*net, 1, 0) == want);
    CHECK(rb_texts_from(*net, 2, 0) == want);
    const auto received = net->client(2).counters().get(core::client_counter::messages_received);
    const auto undecryptable = net->client(2).counters().get(core::client_counter::undecryptable);
    const auto replayed = net->client(2).counters().get(core::client_counter::duplicates);
    const auto dups = net->client(2).fragmenter().stats().duplicates;
    net->inject(test::secure_relay_address, test::secure_client_address(2), lost);
    net->run_for(1s);
    // The record layer let it through (never seen); the repair layer knew it.
    CHECK(net->client(2).counters().get(core::client_counter::undecryptable) == undecryptable);
    CHECK(net->client(2).counters().get(core::client_counter::duplicates) == replayed);
    CHECK(net->client(2).fragmenter().stats().duplicates == dups + 1);
    CHECK(rb_texts_from(*net, 2, 0).empty());
    CHECK(net->client(2).counters().get(core::client_counter::messages_received) == received);
}

TEST_CASE("review batch: a client whose session is not established sends no batch", "[review][secure][batch]")
{
    auto net = test::established_secure_net<fragment::seed_fragmenter>(2);
    const std::size_t late = net->add_client(rb_sec(test::identity(9)));
    const auto sent = test::numbered(3, 8, "r");
    std::error_code ec;
    net->send_batch(late, test::byte_views(sent), ec);
    CHECK(ec == errc::not_ready);
    net->start(late);
    const std::size_t mark = net->sent.size();
    net->send_batch(late, test::byte_views(sent), ec); // its hello is out, no answer yet
    CHECK(ec == errc::not_ready);
    CHECK(rb_records(*net, mark, test::secure_client_address(late), test::secure_relay_address).empty());
    net->run_for(300ms);
    REQUIRE(net->client(late).current_state() ==
            test::secure_net<rb_sec, rb_sec, fragment::seed_fragmenter>::client_engine::state::established);
    (void)net->events(0);
    net->send_batch(late, test::byte_views(sent), ec);
    REQUIRE_FALSE(ec);
    net->run_for(50ms);
    CHECK(rb_texts_from(*net, 0, late) == sent);
}

TEST_CASE("review batch: an IPv6 sender's batches, sized by the client, still fit one datagram per recipient and "
          "name the IPv6 sender",
          "[review][secure][batch][ipv6]")
{
    using net6_type = test::secure_net<rb_sec>;
    net6_type net(rb_sec(test::identity(100)));
    net.group = *endpoint::parse("[ff15::1]:5007");
    net.relay_address = *endpoint::parse("[fd00::1]:5007");
    net.client_address = [](std::size_t i) {
        return i == 0 ? *endpoint::parse("[fd00::2]:40000") : endpoint{0x0a000002u, static_cast<std::uint16_t>(40000 + i)};
    };
    net.add_client(rb_sec(test::identity(1)));
    net.add_client(rb_sec(test::identity(2)));
    net.start_all();
    net.run_for(300ms);
    REQUIRE(net.client(0).current_state() == net6_type::client_engine::state::established);
    REQUIRE(net.client(1).current_state() == net6_type::client_engine::state::established);
    (void)net.events(1);
    const auto sent = test::numbered(100, 30, "r");
    const std::size_t mark = net.sent.size();
    std::error_code ec;
    net.send_batch(0, test::byte_views(sent), ec);
    REQUIRE_FALSE(ec);
    net.run_for(50ms);
    const std::size_t up = rb_records(net, mark, net.client_address(0), net.relay_address).size();
    CHECK(up == 3);
    const auto down = rb_records(net, mark, net.relay_address, net.client_address(1));
    CHECK(down.size() == up); // never a FRAGMENT: the 19-byte tagged address is the same for IPv6
    for (const auto& d : down)
        CHECK(d.bytes.size() <= net.client(0).cipher().settings().max_datagram);
    std::vector<std::string> got;
    for (const auto& e : net.events(1))
        if (e.what == core::client_event::kind::message) {
            CHECK(e.peer == net.client_address(0));
            CHECK(e.identity == net.client(0).cipher().identity_fingerprint());
            got.push_back(e.text);
        }
    CHECK(got == sent);
}

TEST_CASE("review batch: a batch larger than a datagram, both ways in FRAGMENTs under the repairing Fragmenter, one "
          "fragment to a recipient lost and turning up late: every message once, in order",
          "[review][secure][batch]")
{
    auto net = test::established_secure_net<fragment::nack_fragmenter>(3);
    const auto sent = test::numbered(10, 490, "r"); // about 4,950 bytes: several FRAGMENTs to the relay and from it
    std::vector<std::byte> blob;
    std::error_code ec;
    profile::secure::write_batch(test::byte_views(sent), blob, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(blob.size() > 4 * net->client(0).cipher().max_whole());
    std::vector<std::byte> lost;
    int large_to_2 = 0;
    net->tap = [&](test::wire_datagram& d) {
        // The relay's second large record to client 2: a FRAGMENT in the middle of the batch.
        if (lost.empty() && d.from == test::secure_relay_address && d.to == test::secure_client_address(2) &&
            test::is_type(d, wire::tlv_type::secure_record) && d.bytes.size() > 1000 && ++large_to_2 == 2) {
            lost = d.bytes;
            return false;
        }
        return true;
    };
    const auto in = net->relay().counters().get(core::relay_counter::messages_in);
    const std::size_t mark = net->sent.size();
    net->send_sealed(0, blob, ec);
    REQUIRE_FALSE(ec);
    CHECK(rb_records(*net, mark, test::secure_client_address(0), test::secure_relay_address).size() >= 5);
    net->run_for(3s);
    REQUIRE_FALSE(lost.empty());
    CHECK(rb_texts_from(*net, 1, 0) == sent);
    CHECK(rb_texts_from(*net, 2, 0) == sent);
    CHECK(net->relay().counters().get(core::relay_counter::messages_in) == in + sent.size());
    CHECK(net->client(2).fragmenter().stats().nacks_sent >= 1);
    const auto dups = net->client(2).fragmenter().stats().duplicates;
    net->inject(test::secure_relay_address, test::secure_client_address(2), lost);
    net->run_for(1s);
    CHECK(rb_texts_from(*net, 2, 0).empty());
    CHECK(net->client(2).fragmenter().stats().duplicates == dups + 1);
    CHECK(net->client(2).counters().get(core::client_counter::malformed) == 0);
}

TEST_CASE("review batch: what one batch adds to a recipient's event queue stays within max_events (the oldest are "
          "dropped and counted)",
          "[review][secure][batch]")
{
    using net_t = test::secure_net<rb_sec>;
    net_t net(rb_sec(test::identity(100)));
    net.add_client(rb_sec(test::identity(1)));
    core::client_options small;
    small.max_events = 100;
    net.add_client(rb_sec(test::identity(2)), small);
    net.start_all();
    net.run_for(300ms);
    REQUIRE(net.client(1).current_state() == net_t::client_engine::state::established);
    (void)net.events(1);
    std::vector<std::string> sent;
    for (std::size_t i = 0; i < profile::secure::max_batch_messages; ++i)
        sent.push_back(std::to_string(i));
    std::vector<std::byte> blob;
    std::error_code ec;
    profile::secure::write_batch(test::byte_views(sent), blob, ec);
    REQUIRE_FALSE(ec);
    const auto dropped = net.client(1).counters().get(core::client_counter::events_dropped);
    net.send_sealed(0, blob, ec);
    REQUIRE_FALSE(ec);
    net.run_for(50ms);
    CHECK(net.client(1).counters().get(core::client_counter::messages_received) >= sent.size());
    CHECK(net.client(1).counters().get(core::client_counter::events_dropped) == dropped + sent.size() - 100);
    const auto got = rb_texts_from(net, 1, 0);
    CHECK(got == std::vector<std::string>(sent.end() - 100, sent.end()));
}
