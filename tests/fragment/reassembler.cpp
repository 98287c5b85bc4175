// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/fragment/reassembler.hpp: ordering, duplicates, limits, timeouts, memory bounds.
#include <tlvcast/fragment/reassembler.hpp>

#include "fragment/helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <numeric>
#include <random>
#include <vector>

// The counting allocator for the whole test program.
#include "counting_new.hpp"

using namespace tlvcast;
using namespace tlvcast::fragment;
using namespace std::chrono_literals;
using tlvcast::test::fragment_value;
using tlvcast::test::peer;
using tlvcast::test::random_bytes;

namespace {

const time_point t0 = time_point{} + 1000s;

// The values of one message cut into pieces of the given sizes.
std::vector<std::vector<std::byte>> cut(std::uint32_t msg_id, const std::vector<std::byte>& message,
                                        const std::vector<std::size_t>& sizes)
{
    std::vector<std::vector<std::byte>> out;
    std::size_t at = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        out.push_back(fragment_value(msg_id, static_cast<std::uint16_t>(i), static_cast<std::uint16_t>(sizes.size()),
                                     std::span(message).subspan(at, sizes[i])));
        at += sizes[i];
    }
    REQUIRE(at == message.size());
    return out;
}

std::vector<std::vector<std::byte>> cut_even(std::uint32_t msg_id, const std::vector<std::byte>& message,
                                             std::size_t piece)
{
    std::vector<std::size_t> sizes;
    for (std::size_t at = 0; at < message.size(); at += piece)
        sizes.push_back(std::min(piece, message.size() - at));
    if (sizes.empty())
        sizes.push_back(0);
    return cut(msg_id, message, sizes);
}

// Every fragment received is accounted exactly once: stored or in one drop counter.
void check_accounting(const reassembler& r)
{
    const auto& s = r.stats();
    CHECK(s.fragments_received == s.fragments_accepted + s.duplicates + s.mismatches + s.malformed +
                                      s.fragment_limit_drops + s.message_too_large_drops + s.sender_busy_drops +
                                      s.full_messages_drops + s.full_bytes_drops);
}

void check_bounds(const reassembler& r)
{
    const auto& l = r.limits();
    REQUIRE(r.buffered_bytes() <= l.max_buffered_bytes);
    REQUIRE(r.messages_in_flight() <= l.max_messages_in_flight);
    REQUIRE(r.senders() <= l.max_messages_in_flight + l.max_idle_senders);
}

} // namespace

TEST_CASE("reassembler: in-order fragments complete only with the last", "[fragment][reassembler]")
{
    reassembler r;
    std::mt19937_64 rng(1);
    const auto original = random_bytes(rng, 600);
    const auto values = cut_even(0xabcdef01, original, 256);
    REQUIRE(values.size() == 3);
    std::vector<std::byte> message(5, std::byte{0x55}); // overwritten, not appended to
    std::error_code ec;
    CHECK_FALSE(r.reassemble(peer(1), values[0], t0, message, ec));
    CHECK(!ec);
    CHECK(r.in_flight(peer(1), 0xabcdef01));
    CHECK(r.buffered_bytes() == 256);
    CHECK(r.messages_in_flight() == 1);
    CHECK_FALSE(r.reassemble(peer(1), values[1], t0, message, ec));
    CHECK(!ec);
    CHECK(r.reassemble(peer(1), values[2], t0, message, ec));
    CHECK(!ec);
    CHECK(message == original);
    CHECK_FALSE(r.in_flight(peer(1), 0xabcdef01));
    CHECK(r.buffered_bytes() == 0);
    CHECK(r.messages_in_flight() == 0);
    CHECK(r.next_timer() == no_timer);
    CHECK(r.stats().messages_completed == 1);
    CHECK(r.stats().fragments_accepted == 3);
    check_accounting(r);
}

TEST_CASE("reassembler: one-fragment and empty messages", "[fragment][reassembler]")
{
    reassembler r;
    std::vector<std::byte> message(3, std::byte{1});
    std::error_code ec;
    CHECK(r.reassemble(peer(1), fragment_value(7, 0, 1, 0), t0, message, ec));
    CHECK(!ec);
    CHECK(message.empty());
    CHECK(r.reassemble(peer(1), fragment_value(8, 0, 1, 256, 0x42), t0, message, ec));
    CHECK(message == std::vector<std::byte>(256, std::byte{0x42}));
    CHECK(r.messages_in_flight() == 0);
    CHECK(r.buffered_bytes() == 0);
    CHECK(r.next_timer() == no_timer);
    // A message of empty fragments.
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(9, 1, 2, 0), t0, message, ec));
    CHECK(r.reassemble(peer(1), fragment_value(9, 0, 2, 0), t0, message, ec));
    CHECK(message.empty());
    CHECK(r.stats().messages_completed == 3);
}

TEST_CASE("reassembler: any order, all permutations of small totals", "[fragment][reassembler]")
{
    std::mt19937_64 rng(2);
    for (std::size_t total = 1; total <= 6; ++total) {
        // Uneven sizes, including an empty piece, so that a misplaced piece shows.
        std::vector<std::size_t> sizes;
        for (std::size_t i = 0; i < total; ++i)
            sizes.push_back(i == 1 ? 0 : 3 + 5 * i);
        const std::size_t bytes = std::accumulate(sizes.begin(), sizes.end(), std::size_t{0});
        const auto original = random_bytes(rng, bytes);
        std::vector<std::size_t> order(total);
        std::iota(order.begin(), order.end(), std::size_t{0});
        reassembler r;
        std::uint32_t id = 100;
        std::vector<std::byte> message;
        int permutations = 0;
        do {
            CAPTURE(total, order);
            const auto values = cut(++id, original, sizes);
            for (std::size_t k = 0; k < total; ++k) {
                std::error_code ec;
                const bool done = r.reassemble(peer(3), values[order[k]], t0, message, ec);
                REQUIRE(!ec);
                REQUIRE(done == (k + 1 == total));
            }
            REQUIRE(message == original);
            ++permutations;
        } while (std::next_permutation(order.begin(), order.end()));
        int factorial = 1;
        for (std::size_t i = 2; i <= total; ++i)
            factorial *= static_cast<int>(i);
        CHECK(permutations == factorial);
        CHECK(r.buffered_bytes() == 0);
        check_accounting(r);
    }
}

TEST_CASE("reassembler: any order, random shuffles of large totals, interleaved senders", "[fragment][reassembler]")
{
    std::mt19937_64 rng(3);
    reassembler r;
    for (int round = 0; round < 10; ++round) {
        // Three senders, the same msg_id for all of them: keys are (sender, msg_id).
        struct item {
            endpoint from;
            std::vector<std::byte> value;
            std::size_t sender;
        };
        std::vector<std::vector<std::byte>> originals;
        std::vector<item> all;
        for (std::size_t s = 0; s < 3; ++s) {
            originals.push_back(random_bytes(rng, seed_max_blob_size - 1000 * s));
            for (auto& v : cut_even(0x5eed0000u + static_cast<std::uint32_t>(round), originals.back(), 256))
                all.push_back({peer(static_cast<std::uint32_t>(s)), std::move(v), s});
        }
        std::shuffle(all.begin(), all.end(), rng);
        std::vector<int> delivered(3, 0);
        std::vector<std::byte> message;
        for (const auto& it : all) {
            std::error_code ec;
            if (r.reassemble(it.from, it.value, t0, message, ec)) {
                CHECK(message == originals[it.sender]);
                ++delivered[it.sender];
            }
            REQUIRE(!ec);
            check_bounds(r);
        }
        CHECK(delivered == std::vector<int>{1, 1, 1});
    }
    CHECK(r.buffered_bytes() == 0);
    CHECK(r.messages_in_flight() == 0);
}

TEST_CASE("reassembler: duplicates are dropped, counted, and never deliver twice", "[fragment][reassembler]")
{
    reassembler r;
    std::mt19937_64 rng(4);
    const auto original = random_bytes(rng, 1000);
    const auto values = cut_even(77, original, 256);
    std::vector<std::byte> message;
    std::error_code ec;

    CHECK_FALSE(r.reassemble(peer(1), values[2], t0, message, ec));
    CHECK_FALSE(r.reassemble(peer(1), values[0], t0, message, ec));
    // A duplicate with a different payload must not replace the first copy.
    auto forged = values[0];
    forged.back() ^= std::byte{0xff};
    CHECK_FALSE(r.reassemble(peer(1), forged, t0, message, ec));
    CHECK(ec == errc::duplicate_fragment);
    CHECK_FALSE(r.reassemble(peer(1), values[2], t0, message, ec));
    CHECK(ec == errc::duplicate_fragment);
    CHECK(r.buffered_bytes() == 256 + 256); // values[0] and values[2]
    CHECK_FALSE(r.reassemble(peer(1), values[1], t0, message, ec));
    CHECK(r.reassemble(peer(1), values[3], t0, message, ec));
    CHECK(message == original);

    // Late duplicates of the completed message: every one of them is dropped.
    for (const auto& v : values) {
        CHECK_FALSE(r.reassemble(peer(1), v, t0, message, ec));
        CHECK(ec == errc::duplicate_fragment);
    }
    CHECK(r.messages_in_flight() == 0);
    CHECK(r.buffered_bytes() == 0);

    // And for one-fragment messages.
    CHECK(r.reassemble(peer(1), fragment_value(78, 0, 1, 5), t0, message, ec));
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(78, 0, 1, 5), t0, message, ec));
    CHECK(ec == errc::duplicate_fragment);
    // The same msg_id from another sender is another message.
    CHECK(r.reassemble(peer(2), fragment_value(78, 0, 1, 5), t0, message, ec));
    CHECK(!ec);

    CHECK(r.stats().duplicates == 2 + 4 + 1);
    CHECK(r.stats().messages_completed == 3);
    check_accounting(r);
}

TEST_CASE("reassembler: the memory of completed msg_ids is bounded per sender, oldest forgotten", "[fragment][reassembler]")
{
    limits lim;
    lim.completed_ids_per_sender = 4;
    reassembler r(lim);
    std::vector<std::byte> message;
    std::error_code ec;
    for (std::uint32_t id = 1; id <= 6; ++id)
        REQUIRE(r.reassemble(peer(1), fragment_value(id, 0, 1, 1), t0, message, ec));
    // 3..6 remembered; 1 and 2 evicted, so they would be taken as new messages.
    for (std::uint32_t id = 3; id <= 6; ++id) {
        CHECK_FALSE(r.reassemble(peer(1), fragment_value(id, 0, 1, 1), t0, message, ec));
        CHECK(ec == errc::duplicate_fragment);
    }
    CHECK(r.reassemble(peer(1), fragment_value(2, 0, 1, 1), t0, message, ec));
    // Completing 2 again pushed 3 out.
    CHECK(r.reassemble(peer(1), fragment_value(3, 0, 1, 1), t0, message, ec));
}

TEST_CASE("reassembler: idle senders' memories are bounded, least recently active forgotten", "[fragment][reassembler]")
{
    limits lim;
    lim.max_idle_senders = 3;
    reassembler r(lim);
    std::vector<std::byte> message;
    std::error_code ec;
    for (std::uint32_t s = 1; s <= 3; ++s)
        REQUIRE(r.reassemble(peer(s), fragment_value(10, 0, 1, 1), t0, message, ec));
    // Sender 1 becomes the most recently active; sender 2 is now the oldest.
    REQUIRE(r.reassemble(peer(1), fragment_value(11, 0, 1, 1), t0, message, ec));
    // A sender with a message in flight is not idle and is not counted against max_idle_senders.
    CHECK_FALSE(r.reassemble(peer(9), fragment_value(1, 0, 2, 1), t0, message, ec));
    CHECK(r.senders() == 4);
    REQUIRE(r.reassemble(peer(4), fragment_value(10, 0, 1, 1), t0, message, ec));
    CHECK(r.stats().idle_senders_evicted == 1);
    CHECK(r.senders() == 4);
    CHECK(r.reassemble(peer(2), fragment_value(10, 0, 1, 1), t0, message, ec)); // forgotten: new again
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(10, 0, 1, 1), t0, message, ec));
    CHECK(ec == errc::duplicate_fragment);
    CHECK(r.in_flight(peer(9), 1)); // never evicted
}

TEST_CASE("reassembler: a total that disagrees is fragment_mismatch", "[fragment][reassembler]")
{
    reassembler r;
    std::vector<std::byte> message;
    std::error_code ec;
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(5, 0, 3, 10, 1), t0, message, ec));
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(5, 1, 4, 10, 9), t0, message, ec));
    CHECK(ec == errc::fragment_mismatch);
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(5, 0, 1, 10, 9), t0, message, ec));
    CHECK(ec == errc::fragment_mismatch);
    CHECK(r.buffered_bytes() == 10);
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(5, 1, 3, 10, 2), t0, message, ec));
    CHECK(r.reassemble(peer(1), fragment_value(5, 2, 3, 10, 3), t0, message, ec));
    std::vector<std::byte> expected;
    for (const std::byte b : {std::byte{1}, std::byte{2}, std::byte{3}})
        expected.insert(expected.end(), 10, b);
    CHECK(message == expected);
    CHECK(r.stats().mismatches == 2);
    check_accounting(r);
}

TEST_CASE("reassembler: malformed headers are counted and change nothing", "[fragment][reassembler]")
{
    reassembler r;
    std::vector<std::byte> message(4, std::byte{9});
    std::error_code ec;
    CHECK_FALSE(r.reassemble(peer(1), {}, t0, message, ec));
    CHECK(ec == errc::truncated_header);
    const auto whole = fragment_value(1, 0, 1, 0);
    CHECK_FALSE(r.reassemble(peer(1), std::span(whole).first(7), t0, message, ec));
    CHECK(ec == errc::truncated_header);
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(1, 0, 0, 3), t0, message, ec));
    CHECK(ec == errc::fragment_total_zero);
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(1, 2, 2, 3), t0, message, ec));
    CHECK(ec == errc::fragment_seq_out_of_range);
    CHECK(r.stats().malformed == 4);
    CHECK(message == std::vector<std::byte>(4, std::byte{9}));
    CHECK(r.senders() == 0);
    check_accounting(r);
}

TEST_CASE("reassembler: fragment_limit on the declared total, before anything is stored", "[fragment][reassembler]")
{
    limits lim;
    lim.max_fragments_per_message = 4;
    reassembler r(lim);
    std::vector<std::byte> message;
    std::error_code ec;
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(1, 0, 5, 10), t0, message, ec));
    CHECK(ec == errc::fragment_limit);
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(1, 0, 65'535, 10), t0, message, ec));
    CHECK(ec == errc::fragment_limit);
    CHECK(r.messages_in_flight() == 0);
    CHECK(r.senders() == 0);
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(1, 3, 4, 10), t0, message, ec));
    CHECK(!ec);
    CHECK(r.stats().fragment_limit_drops == 2);

    // The defaults admit the largest seed message and refuse one fragment more than the limit.
    reassembler d;
    CHECK_FALSE(d.reassemble(peer(1), fragment_value(1, 0, 259, 256), t0, message, ec));
    CHECK(!ec);
    CHECK_FALSE(d.reassemble(peer(1), fragment_value(2, 0, 261, 256), t0, message, ec));
    CHECK(ec == errc::fragment_limit);
}

TEST_CASE("reassembler: max_message_bytes, for one fragment and as fragments add up", "[fragment][reassembler]")
{
    limits lim;
    lim.max_message_bytes = 100;
    reassembler r(lim);
    std::vector<std::byte> message;
    std::error_code ec;
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(1, 0, 1, 101), t0, message, ec));
    CHECK(ec == errc::reassembly_message_too_large);
    CHECK(r.reassemble(peer(1), fragment_value(2, 0, 1, 100), t0, message, ec));

    // An honest message of another sender, in flight throughout.
    CHECK_FALSE(r.reassemble(peer(2), fragment_value(9, 0, 2, 50), t0, message, ec));

    CHECK_FALSE(r.reassemble(peer(1), fragment_value(3, 0, 3, 60), t0, message, ec));
    CHECK(!ec);
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(3, 1, 3, 40), t0, message, ec));
    CHECK(!ec);
    CHECK(r.buffered_bytes() == 150);
    // 101 bytes would not fit: the fragment is dropped, and so is the message that cannot complete.
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(3, 2, 3, 1), t0, message, ec));
    CHECK(ec == errc::reassembly_message_too_large);
    CHECK_FALSE(r.in_flight(peer(1), 3));
    CHECK(r.buffered_bytes() == 50);
    CHECK(r.stats().message_too_large_drops == 2);
    CHECK(r.stats().abandoned == 1);

    CHECK(r.reassemble(peer(2), fragment_value(9, 1, 2, 50), t0, message, ec));
    CHECK(message.size() == 100);
    check_accounting(r);
}

TEST_CASE("reassembler: max_messages_per_sender is reassembly_sender_busy", "[fragment][reassembler]")
{
    limits lim;
    lim.max_messages_per_sender = 3;
    reassembler r(lim);
    std::vector<std::byte> message;
    std::error_code ec;
    for (std::uint32_t id = 1; id <= 3; ++id)
        REQUIRE_FALSE(r.reassemble(peer(1), fragment_value(id, 0, 2, 10), t0, message, ec));
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(4, 0, 2, 10), t0, message, ec));
    CHECK(ec == errc::reassembly_sender_busy);
    CHECK_FALSE(r.in_flight(peer(1), 4));
    // One-fragment messages need no buffer and still pass; other senders too.
    CHECK(r.reassemble(peer(1), fragment_value(5, 0, 1, 10), t0, message, ec));
    CHECK_FALSE(r.reassemble(peer(2), fragment_value(4, 0, 2, 10), t0, message, ec));
    CHECK(!ec);
    // The busy sender's messages are undisturbed and complete; then it has room again.
    CHECK(r.reassemble(peer(1), fragment_value(2, 1, 2, 10), t0, message, ec));
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(4, 0, 2, 10), t0, message, ec));
    CHECK(!ec);
    CHECK(r.stats().sender_busy_drops == 1);
    check_accounting(r);
}

TEST_CASE("reassembler: max_messages_in_flight and max_buffered_bytes are reassembly_full", "[fragment][reassembler]")
{
    std::vector<std::byte> message;
    std::error_code ec;
    SECTION("messages")
    {
        limits lim;
        lim.max_messages_in_flight = 4;
        reassembler r(lim);
        for (std::uint32_t s = 1; s <= 4; ++s)
            REQUIRE_FALSE(r.reassemble(peer(s), fragment_value(1, 0, 2, 10), t0, message, ec));
        CHECK_FALSE(r.reassemble(peer(5), fragment_value(1, 0, 2, 10), t0, message, ec));
        CHECK(ec == errc::reassembly_full);
        CHECK(r.stats().full_messages_drops == 1);
        CHECK(r.senders() == 4); // the refused sender left no state
        for (std::uint32_t s = 1; s <= 4; ++s) {
            CHECK(r.reassemble(peer(s), fragment_value(1, 1, 2, 10), t0, message, ec));
            CHECK(message.size() == 20);
        }
        check_accounting(r);
    }
    SECTION("bytes")
    {
        limits lim;
        lim.max_buffered_bytes = 100;
        reassembler r(lim);
        REQUIRE_FALSE(r.reassemble(peer(1), fragment_value(1, 0, 3, 60), t0, message, ec));
        REQUIRE_FALSE(r.reassemble(peer(2), fragment_value(1, 0, 2, 30), t0, message, ec));
        // A new message's first fragment over the budget.
        CHECK_FALSE(r.reassemble(peer(3), fragment_value(1, 0, 2, 11), t0, message, ec));
        CHECK(ec == errc::reassembly_full);
        // A further fragment of a message in flight over the budget: dropped, the message kept.
        CHECK_FALSE(r.reassemble(peer(1), fragment_value(1, 1, 3, 11), t0, message, ec));
        CHECK(ec == errc::reassembly_full);
        CHECK(r.in_flight(peer(1), 1));
        CHECK(r.stats().full_bytes_drops == 2);
        CHECK_FALSE(r.reassemble(peer(1), fragment_value(1, 1, 3, 10), t0, message, ec));
        CHECK(!ec);
        CHECK(r.buffered_bytes() == 100);
        // Completing a message frees its bytes for the others.
        CHECK(r.reassemble(peer(2), fragment_value(1, 1, 2, 0), t0, message, ec));
        CHECK(r.reassemble(peer(1), fragment_value(1, 2, 3, 30), t0, message, ec));
        CHECK(message.size() == 100);
        CHECK(r.buffered_bytes() == 0);
        check_accounting(r);
    }
}

TEST_CASE("reassembler: timeouts with a virtual clock", "[fragment][reassembler][timer]")
{
    limits lim;
    lim.timeout = 10s;
    reassembler r(lim);
    std::vector<std::byte> message;
    std::error_code ec;
    CHECK(r.next_timer() == no_timer);
    CHECK(r.on_timer(t0) == 0);
    REQUIRE_FALSE(r.reassemble(peer(1), fragment_value(1, 0, 2, 10), t0, message, ec));
    REQUIRE_FALSE(r.reassemble(peer(2), fragment_value(1, 0, 2, 10), t0 + 3s, message, ec));
    REQUIRE_FALSE(r.reassemble(peer(3), fragment_value(1, 0, 2, 10), t0 + 5s, message, ec));
    // Progress does not extend a deadline: the timeout runs from the first fragment.
    REQUIRE_FALSE(r.reassemble(peer(1), fragment_value(2, 0, 3, 10), t0 + 6s, message, ec));
    REQUIRE_FALSE(r.reassemble(peer(1), fragment_value(2, 1, 3, 10), t0 + 9s, message, ec));
    CHECK(r.next_timer() == t0 + 10s);
    CHECK(r.on_timer(t0 + 10s - 1ns) == 0);
    CHECK(r.on_timer(t0 + 10s) == 1);
    CHECK_FALSE(r.in_flight(peer(1), 1));
    CHECK(r.next_timer() == t0 + 13s);
    // Completing a message removes its deadline.
    CHECK(r.reassemble(peer(2), fragment_value(1, 1, 2, 10), t0 + 12s, message, ec));
    CHECK(r.next_timer() == t0 + 15s);
    CHECK(r.on_timer(t0 + 100s) == 2);
    CHECK(r.next_timer() == no_timer);
    CHECK(r.stats().timeouts == 3);
    CHECK(r.messages_in_flight() == 0);
    CHECK(r.buffered_bytes() == 0);
    CHECK(r.senders() == 1); // only sender 2 remembers a completed msg_id

    // A late fragment of a timed-out message starts afresh (the old one was never delivered).
    CHECK_FALSE(r.reassemble(peer(1), fragment_value(1, 1, 2, 10), t0 + 101s, message, ec));
    CHECK(!ec);
    CHECK(r.in_flight(peer(1), 1));
    CHECK(r.next_timer() == t0 + 111s);

    // A clock that steps back never makes a deadline earlier than one already queued.
    CHECK_FALSE(r.reassemble(peer(4), fragment_value(1, 0, 2, 10), t0 + 50s, message, ec));
    CHECK(r.next_timer() == t0 + 111s);
    CHECK(r.on_timer(t0 + 111s) == 2);
    check_accounting(r);
}

TEST_CASE("reassembler: forget drops one peer's state only", "[fragment][reassembler]")
{
    reassembler r;
    std::vector<std::byte> message;
    std::error_code ec;
    for (std::uint32_t id = 1; id <= 3; ++id) {
        REQUIRE_FALSE(r.reassemble(peer(1), fragment_value(id, 0, 2, 10), t0, message, ec));
        REQUIRE_FALSE(r.reassemble(peer(2), fragment_value(id, 0, 2, 10), t0, message, ec));
    }
    REQUIRE(r.reassemble(peer(1), fragment_value(50, 0, 1, 10), t0, message, ec));
    r.forget(peer(1));
    CHECK(r.messages_in_flight() == 3);
    CHECK(r.buffered_bytes() == 30);
    CHECK(r.stats().forgotten == 3);
    CHECK(r.senders() == 1);
    for (std::uint32_t id = 1; id <= 3; ++id) {
        CHECK_FALSE(r.in_flight(peer(1), id));
        CHECK(r.in_flight(peer(2), id));
    }
    // Its completed msg_ids are forgotten too.
    CHECK(r.reassemble(peer(1), fragment_value(50, 0, 1, 10), t0, message, ec));
    // Forgetting an idle sender or an unknown one.
    r.forget(peer(1));
    CHECK(r.senders() == 1);
    r.forget(peer(77));
    CHECK(r.next_timer() == t0 + limits{}.timeout);
    r.forget(peer(2));
    CHECK(r.senders() == 0);
    CHECK(r.messages_in_flight() == 0);
    CHECK(r.buffered_bytes() == 0);
    CHECK(r.next_timer() == no_timer);
    // State is reusable afterwards.
    CHECK_FALSE(r.reassemble(peer(2), fragment_value(1, 0, 2, 10), t0, message, ec));
    CHECK(r.reassemble(peer(2), fragment_value(1, 1, 2, 10), t0, message, ec));
}

TEST_CASE("reassembler: hostile input cannot grow memory past the limits", "[fragment][reassembler][hostile]")
{
    reassembler r; // the defaults: these are the limits a relay runs with
    const auto& lim = r.limits();
    std::vector<std::byte> message;
    std::error_code ec;
    // An honest sender's message, started before the flood and finished after it.
    REQUIRE_FALSE(r.reassemble(peer(0xffff, 1), fragment_value(1, 0, 2, 100, 1), t0, message, ec));

    SECTION("65,535-part claims")
    {
        for (std::uint32_t id = 0; id < 5000; ++id) {
            CHECK_FALSE(r.reassemble(peer(1), fragment_value(id, static_cast<std::uint16_t>(id % 65'535), 65'535, 256),
                                     t0, message, ec));
            REQUIRE(ec == errc::fragment_limit);
        }
        CHECK(r.buffered_bytes() == 100);
        CHECK(r.messages_in_flight() == 1);
    }
    SECTION("thousands of msg_ids from one sender")
    {
        for (std::uint32_t id = 0; id < 5000; ++id) {
            r.reassemble(peer(1), fragment_value(id, 0, 260, 256), t0, message, ec);
            check_bounds(r);
        }
        CHECK(r.messages_in_flight() == 1 + lim.max_messages_per_sender);
        CHECK(r.buffered_bytes() == 100 + lim.max_messages_per_sender * 256);
        CHECK(r.stats().sender_busy_drops == 5000 - lim.max_messages_per_sender);
    }
    SECTION("thousands of senders, each claiming the largest message and never finishing it")
    {
        std::vector<std::byte> value = fragment_value(7, 0, 260, 256);
        for (std::uint32_t s = 1; s <= 3000; ++s) {
            for (std::uint16_t seq = 0; seq < 259; ++seq) {
                value[4] = static_cast<std::byte>(seq >> 8);
                value[5] = static_cast<std::byte>(seq & 0xff);
                REQUIRE_FALSE(r.reassemble(peer(s), value, t0 + std::chrono::milliseconds(s), message, ec));
            }
            check_bounds(r);
        }
        CHECK(r.buffered_bytes() <= lim.max_buffered_bytes);
        CHECK(r.buffered_bytes() > lim.max_buffered_bytes - 256);
        CHECK(r.messages_in_flight() <= lim.max_messages_in_flight);
        CHECK(r.stats().full_bytes_drops + r.stats().full_messages_drops > 0);
        // Time clears the flood, and the honest message (first in) goes first.
        CHECK(r.on_timer(t0 + lim.timeout) == 1);
        const std::size_t rest = r.messages_in_flight();
        CHECK(r.on_timer(t0 + lim.timeout + 4s) == rest);
        CHECK(r.stats().timeouts == rest + 1);
        CHECK(r.messages_in_flight() == 0);
        CHECK(r.buffered_bytes() == 0);
        return;
    }
    SECTION("thousands of senders with one-fragment messages")
    {
        for (std::uint32_t s = 1; s <= 20'000; ++s) {
            REQUIRE(r.reassemble(peer(s), fragment_value(s, 0, 1, 16), t0, message, ec));
            check_bounds(r);
        }
        CHECK(r.senders() == lim.max_idle_senders + 1); // + the honest sender, in flight
    }
    CHECK(r.reassemble(peer(0xffff, 1), fragment_value(1, 1, 2, 100, 1), t0, message, ec));
    CHECK(message.size() == 200);
    check_accounting(r);
}

TEST_CASE("reassembler: hostile random input with small limits keeps every bound", "[fragment][reassembler][hostile]")
{
    limits lim;
    lim.max_fragments_per_message = 8;
    lim.max_message_bytes = 300;
    lim.max_messages_per_sender = 2;
    lim.max_messages_in_flight = 6;
    lim.max_buffered_bytes = 700;
    lim.timeout = 1s;
    lim.completed_ids_per_sender = 2;
    lim.max_idle_senders = 5;
    reassembler r(lim);
    std::mt19937_64 rng(5);
    std::vector<std::byte> message;
    time_point now = t0;
    for (int i = 0; i < 200'000; ++i) {
        const auto total = static_cast<std::uint16_t>(1 + rng() % 10);
        const auto seq = static_cast<std::uint16_t>(rng() % (total + 1));
        const auto value = fragment_value(static_cast<std::uint32_t>(rng() % 6), seq, total, rng() % 120);
        std::error_code ec;
        const bool done = r.reassemble(peer(static_cast<std::uint32_t>(rng() % 12)), value, now, message, ec);
        REQUIRE((done ? !ec : true));
        if (done)
            REQUIRE(message.size() <= lim.max_message_bytes);
        check_bounds(r);
        now += std::chrono::milliseconds(rng() % 50);
        if (rng() % 8 == 0) {
            r.on_timer(now);
            REQUIRE(r.next_timer() > now);
        }
        if (rng() % 500 == 0)
            r.forget(peer(static_cast<std::uint32_t>(rng() % 12)));
    }
    check_accounting(r);
    CHECK(r.stats().messages_completed > 1000);
    r.on_timer(no_timer - 1ns);
    CHECK(r.messages_in_flight() == 0);
    CHECK(r.buffered_bytes() == 0);
}

TEST_CASE("reassembler: limits are checked at construction", "[fragment][reassembler]")
{
    auto with = [](auto change) {
        limits lim;
        change(lim);
        return lim;
    };
    CHECK_NOTHROW(reassembler(limits{}));
    CHECK_THROWS_AS(reassembler(with([](limits& l) { l.max_fragments_per_message = 0; })), std::invalid_argument);
    CHECK_THROWS_AS(reassembler(with([](limits& l) { l.max_fragments_per_message = 65'536; })), std::invalid_argument);
    CHECK_THROWS_AS(reassembler(with([](limits& l) { l.max_message_bytes = 0; })), std::invalid_argument);
    CHECK_THROWS_AS(reassembler(with([](limits& l) { l.max_messages_per_sender = 0; })), std::invalid_argument);
    CHECK_THROWS_AS(reassembler(with([](limits& l) { l.max_messages_in_flight = 0; })), std::invalid_argument);
    CHECK_THROWS_AS(reassembler(with([](limits& l) { l.max_buffered_bytes = 0; })), std::invalid_argument);
    CHECK_THROWS_AS(reassembler(with([](limits& l) { l.timeout = duration::zero(); })), std::invalid_argument);
    CHECK_THROWS_AS(reassembler(with([](limits& l) { l.completed_ids_per_sender = 0; })), std::invalid_argument);
    CHECK_THROWS_AS(reassembler(with([](limits& l) { l.max_idle_senders = 0; })), std::invalid_argument);
}

TEST_CASE("reassembler: copies are independent", "[fragment][reassembler]")
{
    reassembler a;
    std::vector<std::byte> message;
    std::error_code ec;
    REQUIRE_FALSE(a.reassemble(peer(1), fragment_value(1, 0, 2, 10, 1), t0, message, ec));
    reassembler b = a;
    CHECK(a.reassemble(peer(1), fragment_value(1, 1, 2, 10, 2), t0, message, ec));
    CHECK(b.in_flight(peer(1), 1));
    CHECK(b.reassemble(peer(1), fragment_value(1, 1, 2, 10, 3), t0, message, ec));
    CHECK(message[19] == std::byte{3});
    reassembler c = std::move(b);
    CHECK_FALSE(c.reassemble(peer(1), fragment_value(1, 1, 2, 10, 3), t0, message, ec));
    CHECK(ec == errc::duplicate_fragment);
}

TEST_CASE("reassembler: the steady state does not allocate", "[fragment][reassembler][alloc]")
{
    reassembler r;
    std::mt19937_64 rng(6);
    std::vector<std::vector<std::vector<std::byte>>> messages;
    for (std::uint32_t id = 0; id < 40; ++id) {
        auto values = cut_even(id, random_bytes(rng, 200 + id * 1500), 256);
        std::shuffle(values.begin(), values.end(), rng);
        messages.push_back(std::move(values));
    }
    std::vector<std::byte> message;
    std::error_code ec;
    auto run = [&](std::uint32_t id_base, int round) {
        int done = 0;
        for (const auto& values : messages)
            for (const auto& v : values) {
                auto copy = v; // the id changes per round (late duplicates otherwise)
                copy[0] = static_cast<std::byte>(id_base);
                copy[1] = static_cast<std::byte>(round);
                done += r.reassemble(peer(static_cast<std::uint32_t>(round % 3)), copy, t0, message, ec);
            }
        return done;
    };
    // Warm-up: every sender known, pooled buffers at full size, the caller's buffer grown.
    for (int round = 0; round < 6; ++round)
        REQUIRE(run(1, round) == 40);
    // Measure only reassemble(): the copies of the values are made beforehand.
    std::vector<std::vector<std::byte>> feed;
    for (const auto& values : messages)
        for (const auto& v : values) {
            feed.push_back(v);
            feed.back()[0] = std::byte{2};
        }
    const auto before = test::allocations.load();
    int done = 0;
    for (const auto& v : feed)
        done += r.reassemble(peer(0), v, t0, message, ec);
    CHECK(test::allocations.load() == before);
    CHECK(done == 40);
}
