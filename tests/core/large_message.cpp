// SPDX-License-Identifier: BSL-1.0
#include <tlvcast/core/large_message.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <vector>

using namespace tlvcast;
using namespace std::chrono_literals;
using core::large_reassembler;

namespace {

std::vector<std::byte> part(std::uint32_t id, std::uint32_t total, std::uint32_t offset, std::size_t n, char fill = 'x')
{
    const auto h = wire::encode_large_part_header(id, total, offset);
    std::vector<std::byte> v(h.begin(), h.end());
    for (std::size_t i = 0; i < n; ++i)
        v.push_back(static_cast<std::byte>(fill + static_cast<char>((offset + i) % 7)));
    return v;
}

const core::large_sender alice{{0x0a000001u, 1000}, std::nullopt};
const core::large_sender bob{{0x0a000002u, 1000}, std::nullopt};
const time_point t0{};

core::large_limits small_limits()
{
    core::large_limits lim;
    lim.max_message_bytes = 1000;
    lim.max_total_bytes = 1500;
    lim.max_senders = 2;
    lim.timeout = 1s;
    return lim;
}

} // namespace

TEST_CASE("large_reassembler: parts in order make the message, with no copy but the append", "[core][large]")
{
    large_reassembler r(small_limits());
    std::string out;
    std::error_code ec;
    CHECK_FALSE(r.add(alice, part(1, 250, 0, 100), t0, out, ec));
    CHECK_FALSE(ec);
    CHECK(r.reserved_bytes() == 250);
    CHECK(r.in_flight() == 1);
    CHECK_FALSE(r.add(alice, part(1, 250, 100, 100), t0, out, ec));
    REQUIRE(r.add(alice, part(1, 250, 200, 50), t0, out, ec));
    CHECK_FALSE(ec);
    REQUIRE(out.size() == 250);
    for (std::size_t i = 0; i < out.size(); ++i)
        REQUIRE(out[i] == static_cast<char>('x' + static_cast<char>(i % 7)));
    CHECK(r.reserved_bytes() == 0);
    CHECK(r.in_flight() == 0);
    CHECK(r.stats().messages_completed == 1);
    // One part is the whole message: nothing kept. An empty message is one empty part.
    REQUIRE(r.add(bob, part(2, 10, 0, 10), t0, out, ec));
    CHECK(out.size() == 10);
    REQUIRE(r.add(bob, part(3, 0, 0, 0), t0, out, ec));
    CHECK(out.empty());
    CHECK(r.in_flight() == 0);
}

TEST_CASE("large_reassembler: a header claiming 4 GiB or more than the limit is a counted drop, no memory",
          "[core][large]")
{
    large_reassembler r(small_limits());
    std::string out;
    std::error_code ec;
    CHECK_FALSE(r.add(alice, part(1, 0xffffffffu, 0, 100), t0, out, ec));
    CHECK(ec == errc::reassembly_message_too_large);
    CHECK_FALSE(r.add(alice, part(1, 1001, 0, 100), t0, out, ec));
    CHECK(ec == errc::reassembly_message_too_large);
    CHECK(r.stats().too_large == 2);
    CHECK(r.reserved_bytes() == 0);
    // Its later parts have no message: orphans.
    CHECK_FALSE(r.add(alice, part(1, 1001, 100, 100), t0, out, ec));
    CHECK(ec == errc::unexpected_type);
    CHECK(r.stats().orphans == 1);
    CHECK_FALSE(r.add(alice, std::vector<std::byte>(5), t0, out, ec));
    CHECK(ec == errc::truncated_header);
    CHECK(r.stats().malformed == 1);
    CHECK(r.stats().parts_received == 4);
}

TEST_CASE("large_reassembler: inconsistent offsets, ids or totals drop the message", "[core][large]")
{
    large_reassembler r(small_limits());
    std::string out;
    std::error_code ec;
    const auto start = [&] {
        REQUIRE_FALSE(r.add(alice, part(1, 300, 0, 100), t0, out, ec));
        REQUIRE_FALSE(ec);
    };
    start(); // overlap: offset behind what arrived
    CHECK_FALSE(r.add(alice, part(1, 300, 50, 100), t0, out, ec));
    CHECK(ec == errc::fragment_mismatch);
    CHECK(r.in_flight() == 0);
    CHECK(r.reserved_bytes() == 0);
    start(); // a hole: offset ahead
    CHECK_FALSE(r.add(alice, part(1, 300, 150, 100), t0, out, ec));
    CHECK(ec == errc::fragment_mismatch);
    start(); // another total
    CHECK_FALSE(r.add(alice, part(1, 301, 100, 100), t0, out, ec));
    CHECK(ec == errc::fragment_mismatch);
    start(); // another id
    CHECK_FALSE(r.add(alice, part(2, 300, 100, 100), t0, out, ec));
    CHECK(ec == errc::fragment_mismatch);
    CHECK(r.stats().mismatches == 4);
    CHECK(r.in_flight() == 0);
    CHECK(r.reserved_bytes() == 0);
    // After a mismatch the rest of that message is orphaned, never completed wrongly.
    CHECK_FALSE(r.add(alice, part(2, 300, 200, 100), t0, out, ec));
    CHECK(r.stats().orphans == 1);
    CHECK(r.stats().messages_completed == 0);
}

TEST_CASE("large_reassembler: concurrent messages of one sender, senders and bytes are bounded", "[core][large]")
{
    large_reassembler r(small_limits());
    std::string out;
    std::error_code ec;
    // A second message from one sender ends the first (parts come in order): one at a time each.
    REQUIRE_FALSE(r.add(alice, part(1, 500, 0, 100), t0, out, ec));
    for (std::uint32_t id = 2; id < 50; ++id)
        REQUIRE_FALSE(r.add(alice, part(id, 500, 0, 100), t0, out, ec));
    CHECK(r.stats().interleaved == 48);
    CHECK(r.in_flight() == 1);
    CHECK(r.reserved_bytes() == 500);
    // Declared bytes are budgeted: 500 + 1000 fills max_total_bytes exactly.
    REQUIRE_FALSE(r.add(bob, part(9, 1000, 0, 100), t0, out, ec));
    CHECK_FALSE(ec);
    CHECK(r.reserved_bytes() == 1500);
    const core::large_sender carol{{0x0a000003u, 1000}, std::nullopt};
    CHECK_FALSE(r.add(carol, part(5, 10, 0, 5), t0, out, ec));
    CHECK(ec == errc::reassembly_sender_busy); // max_senders = 2
    CHECK(r.stats().busy == 1);
    large_reassembler budget(small_limits());
    REQUIRE_FALSE(budget.add(alice, part(1, 1000, 0, 100), t0, out, ec));
    CHECK_FALSE(budget.add(bob, part(2, 501, 0, 100), t0, out, ec));
    CHECK(ec == errc::reassembly_full);
    CHECK(budget.stats().over_budget == 1);
    CHECK(budget.reserved_bytes() == 1000);
}

TEST_CASE("large_reassembler: timeouts and forget release what a message reserved", "[core][large]")
{
    large_reassembler r(small_limits());
    std::string out;
    std::error_code ec;
    REQUIRE_FALSE(r.add(alice, part(1, 500, 0, 100), t0, out, ec));
    REQUIRE_FALSE(r.add(bob, part(1, 500, 0, 100), t0 + 500ms, out, ec));
    CHECK(r.next_timer() == t0 + 1s);
    CHECK(r.on_timer(t0 + 999ms) == 0);
    CHECK(r.on_timer(t0 + 1s) == 1);
    CHECK(r.in_flight() == 1);
    CHECK(r.reserved_bytes() == 500);
    CHECK(r.next_timer() == t0 + 1500ms);
    r.forget(bob.peer);
    CHECK(r.in_flight() == 0);
    CHECK(r.reserved_bytes() == 0);
    CHECK(r.next_timer() == no_timer);
    CHECK(r.stats().timeouts == 1);
    CHECK(r.stats().forgotten == 1);
}

TEST_CASE("large_reassembler: senders are told apart by identity as well as address", "[core][large]")
{
    large_reassembler r(small_limits());
    std::string out;
    std::error_code ec;
    crypto::fingerprint a{}, b{};
    b[0] = std::byte{1};
    const core::large_sender ga{{}, a}, gb{{}, b};
    REQUIRE_FALSE(r.add(ga, part(1, 200, 0, 100), t0, out, ec));
    REQUIRE_FALSE(r.add(gb, part(1, 200, 0, 100), t0, out, ec));
    CHECK(r.stats().interleaved == 0);
    REQUIRE(r.add(ga, part(1, 200, 100, 100), t0, out, ec));
    REQUIRE(r.add(gb, part(1, 200, 100, 100), t0, out, ec));
}
