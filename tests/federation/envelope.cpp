// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/federation/envelope.hpp: round trips, and every malformed shape refused.
#include <tlvcast/federation/envelope.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <system_error>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::federation;

namespace {

relay_id some_relay()
{
    relay_id id{};
    for (std::size_t i = 0; i < id.size(); ++i)
        id[i] = std::byte(i + 1);
    return id;
}

crypto::fingerprint some_origin()
{
    crypto::fingerprint fp{};
    for (std::size_t i = 0; i < fp.size(); ++i)
        fp[i] = std::byte(0xa0 + i);
    return fp;
}

} // namespace

TEST_CASE("envelope: what is written reads back as views into the buffer", "[federation][envelope]")
{
    const std::vector<std::byte> blob{std::byte{1}, std::byte{2}, std::byte{3}};
    for (const auto kind : {envelope_kind::member_blob, envelope_kind::presence, envelope_kind::presence_request,
                            envelope_kind::presence_answer}) {
        std::vector<std::byte> out;
        std::error_code ec;
        write_envelope(kind, some_relay(), 7, 0, some_origin(), blob, out, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(out.size() == envelope_overhead + blob.size());
        const envelope_view v = read_envelope(out, ec);
        REQUIRE_FALSE(ec);
        CHECK(v.kind == kind);
        CHECK(v.relay == some_relay());
        CHECK(v.counter == 7);
        CHECK(v.authenticated.size() == out.size() - envelope_tag);
        CHECK(v.tag.data() == out.data() + out.size() - envelope_tag);
        CHECK(v.origin == some_origin());
        CHECK(v.blob.data() == out.data() + envelope_header); // no copy
        CHECK(std::vector<std::byte>(v.blob.begin(), v.blob.end()) == blob);
        CHECK(v.after == 0);
        CHECK_FALSE(ordered_after(out)); // not a commit for the order
    }
}

TEST_CASE("envelope: a commit for the order carries the position it continues, under the tag",
          "[federation][envelope]")
{
    const std::vector<std::byte> blob{std::byte{4}};
    for (const std::uint64_t after : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{0x0102030405060708}, UINT64_MAX}) {
        std::vector<std::byte> out;
        std::error_code ec;
        write_envelope(envelope_kind::ordered, some_relay(), 9, after, some_origin(), blob, out, ec);
        REQUIRE_FALSE(ec);
        const envelope_view v = read_envelope(out, ec);
        REQUIRE_FALSE(ec);
        CHECK(v.kind == envelope_kind::ordered);
        CHECK(v.after == after);
        CHECK(v.counter == 9);
        CHECK(v.origin == some_origin());
        CHECK(ordered_after(out) == after);
        // The position is inside what the tag covers.
        CHECK(v.authenticated.size() == out.size() - envelope_tag);
        CHECK(std::to_integer<unsigned>(out[35]) == (after & 0xff));
    }
    // Only the ordered kind may say where it goes: written or read.
    for (const auto kind : {envelope_kind::member_blob, envelope_kind::presence}) {
        std::vector<std::byte> out;
        std::error_code ec;
        write_envelope(kind, some_relay(), 9, 5, some_origin(), blob, out, ec);
        CHECK(ec == errc::malformed);
        CHECK(out.empty());
        write_envelope(kind, some_relay(), 9, 0, some_origin(), blob, out, ec);
        REQUIRE_FALSE(ec);
        out[30] = std::byte{1};
        read_envelope(out, ec);
        CHECK(ec == errc::malformed);
        CHECK_FALSE(ordered_after(out));
    }
    // Junk says nothing.
    CHECK_FALSE(ordered_after(std::vector<std::byte>(200, std::byte{3})));
    CHECK_FALSE(ordered_after({}));
}

TEST_CASE("envelope: malformed input gets an error code, never a crash", "[federation][envelope]")
{
    const std::vector<std::byte> blob(100, std::byte{7});
    std::vector<std::byte> good;
    std::error_code ec;
    write_envelope(envelope_kind::member_blob, some_relay(), 7, 0, some_origin(), blob, good, ec);
    REQUIRE_FALSE(ec);

    // Every truncation of the header and tag.
    for (std::size_t n = 0; n < envelope_overhead; ++n) {
        read_envelope(std::span(good).first(n), ec);
        CHECK(ec == errc::truncated_header);
    }
    // A header and a tag and nothing between.
    read_envelope(std::span(good).first(envelope_overhead), ec);
    CHECK(ec == errc::malformed);
    auto bad = good;
    bad[0] = std::byte{'X'};
    read_envelope(bad, ec);
    CHECK(ec == errc::malformed);
    bad = good;
    for (const auto version : {1, 2}) { // 1: unauthenticated; 2: no position for commits
        bad[2] = std::byte(version);
        read_envelope(bad, ec);
        CHECK(ec == errc::unexpected_type);
    }
    for (const auto kind : {0, 6, 255}) {
        bad = good;
        bad[3] = std::byte(kind);
        read_envelope(bad, ec);
        CHECK(ec == errc::unexpected_type);
    }
    // Over the limit: refused when read and when written.
    read_envelope(good, ec, blob.size() - 1);
    CHECK(ec == errc::message_too_large);
    read_envelope(good, ec, blob.size());
    CHECK_FALSE(ec);
    std::vector<std::byte> out{std::byte{9}};
    write_envelope(envelope_kind::member_blob, some_relay(), 7, 0, some_origin(), blob, out, ec, blob.size() - 1);
    CHECK(ec == errc::message_too_large);
    CHECK(out.empty());
    write_envelope(envelope_kind::member_blob, some_relay(), 7, 0, some_origin(), {}, out, ec);
    CHECK(ec == errc::malformed);
}
