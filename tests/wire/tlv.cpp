// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/wire/tlv.hpp: tlv_reader, read_outer, check_origin, tlv_writer, tlv_appender.
#include <tlvcast/wire/tlv.hpp>

#include "wire/golden.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::wire;
using tlvcast::test::bytes;
using tlvcast::test::golden_vectors;

namespace {

// The origin the seed profile lets each type appear in, as an outer TLV or nested.
origin expected_origin(tlv_type t)
{
    switch (t) {
    case tlv_type::fragment:
    case tlv_type::register_public_key:
    case tlv_type::request_server_key:
    case tlv_type::keepalive:
        return origin::client;
    case tlv_type::encrypted_block:
        return origin::nested;
    default:
        return origin::relay;
    }
}

std::span<const std::byte> value_of(const std::vector<std::byte>& datagram) { return std::span(datagram).subspan(4); }

bool same(std::span<const std::byte> a, std::span<const std::byte> b) { return std::ranges::equal(a, b); }

// A datagram of one TLV whose header says `length` and whose value has exactly that many bytes.
std::vector<std::byte> tlv_of_length(std::uint16_t type, std::size_t length)
{
    std::vector<std::byte> d(4 + length, std::byte{0x5a});
    d[0] = static_cast<std::byte>(type >> 8);
    d[1] = static_cast<std::byte>(type);
    d[2] = static_cast<std::byte>(length >> 8);
    d[3] = static_cast<std::byte>(length);
    return d;
}

} // namespace

TEST_CASE("tlv: every golden datagram decodes to its type and value", "[wire][tlv]")
{
    for (const auto& g : golden_vectors()) {
        INFO(g.name);
        std::error_code ec = errc::malformed;
        const tlv t = read_outer(g.datagram, ec);
        REQUIRE_FALSE(ec);
        CHECK(t.type() == g.type);
        CHECK(t.raw_type == static_cast<std::uint16_t>(g.type));
        CHECK(t.wire_size() == g.datagram.size());
        // The value is a view into the datagram, not a copy.
        CHECK(t.value.data() == g.datagram.data() + 4);
        CHECK(same(t.value, value_of(g.datagram)));
        REQUIRE(t.info() != nullptr);
        CHECK(t.info()->type == g.type);
        CHECK(check_origin(t, expected_origin(g.type)) == std::error_code{});
    }
}

TEST_CASE("tlv: the issue's two examples byte for byte", "[wire][tlv]")
{
    const auto keepalive = bytes({0x00, 0x09, 0x00, 0x00});
    std::error_code ec;
    tlv t = read_outer(keepalive, ec);
    REQUIRE_FALSE(ec);
    CHECK(t.type() == tlv_type::keepalive);
    CHECK(t.value.empty());

    const auto frag = bytes({0x00, 0x01, 0x00, 0x0a, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x00, 0x03, 0x68, 0x69});
    t = read_outer(frag, ec);
    REQUIRE_FALSE(ec);
    CHECK(t.type() == tlv_type::fragment);
    CHECK(same(t.value, bytes({0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x00, 0x03, 0x68, 0x69})));
}

TEST_CASE("tlv: every golden datagram encodes to its exact bytes", "[wire][tlv]")
{
    for (const auto& g : golden_vectors()) {
        INFO(g.name);
        const auto value = value_of(g.datagram);
        std::error_code ec;

        SECTION("tlv_writer::put into an exact-size buffer")
        {
            std::vector<std::byte> out(g.datagram.size());
            tlv_writer w(out);
            w.put(g.type, value, ec);
            REQUIRE_FALSE(ec);
            CHECK(w.size() == g.datagram.size());
            CHECK(w.room() == 0);
            CHECK(out == g.datagram);
            CHECK(same(w.written(), g.datagram));
        }
        SECTION("tlv_writer begin/put_raw/end")
        {
            std::vector<std::byte> out(g.datagram.size());
            tlv_writer w(out);
            const std::size_t mark = w.begin(g.type, ec);
            REQUIRE_FALSE(ec);
            w.put_raw(value, ec);
            REQUIRE_FALSE(ec);
            w.end(mark, ec);
            REQUIRE_FALSE(ec);
            CHECK(out == g.datagram);
        }
        SECTION("tlv_appender::put")
        {
            std::vector<std::byte> out;
            tlv_appender a(out);
            a.put(static_cast<std::uint16_t>(g.type), value, ec);
            REQUIRE_FALSE(ec);
            CHECK(out == g.datagram);
            CHECK(&a.buffer() == &out);
        }
        SECTION("tlv_appender begin/put_raw/end")
        {
            std::vector<std::byte> out;
            tlv_appender a(out);
            const std::size_t mark = a.begin(g.type);
            a.put_raw(value);
            a.end(mark, ec);
            REQUIRE_FALSE(ec);
            CHECK(out == g.datagram);
        }
    }
}

TEST_CASE("tlv: round trip of a sequence of every golden TLV", "[wire][tlv]")
{
    const auto vectors = golden_vectors();
    std::vector<std::byte> seq;
    tlv_appender a(seq);
    std::error_code ec;
    for (const auto& g : vectors) {
        a.put(g.type, value_of(g.datagram), ec);
        REQUIRE_FALSE(ec);
    }
    tlv_reader r(seq);
    tlv t;
    std::size_t offset = 0;
    for (const auto& g : vectors) {
        INFO(g.name);
        CHECK(r.offset() == offset);
        REQUIRE(r.next(t, ec));
        REQUIRE_FALSE(ec);
        CHECK(t.type() == g.type);
        CHECK(same(t.value, value_of(g.datagram)));
        offset += g.datagram.size();
    }
    CHECK(r.done());
    CHECK(r.remaining().empty());
    ec = errc::malformed;
    CHECK_FALSE(r.next(t, ec));
    CHECK_FALSE(ec); // the end is not an error, and next() clears a stale code
}

TEST_CASE("tlv: truncation at every byte position is the exact error", "[wire][tlv]")
{
    for (const auto& g : golden_vectors()) {
        INFO(g.name);
        for (std::size_t n = 0; n < g.datagram.size(); ++n) {
            INFO("prefix " << n);
            const auto prefix = std::span(g.datagram).first(n);
            const std::error_code want = n < 4 ? errc::truncated_header : errc::truncated_value;
            std::error_code ec;
            read_outer(prefix, ec);
            REQUIRE(ec == want);

            tlv_reader r(prefix);
            tlv t;
            if (n == 0) {
                // An empty buffer is a clean end for the reader; read_outer calls it truncated.
                REQUIRE_FALSE(r.next(t, ec));
                REQUIRE_FALSE(ec);
                continue;
            }
            REQUIRE_FALSE(r.next(t, ec));
            REQUIRE(ec == want);
            REQUIRE(r.offset() == 0); // stays at the offending TLV
            REQUIRE_FALSE(r.done());
        }
    }
}

TEST_CASE("tlv: truncation after a valid TLV leaves the reader at the bad one", "[wire][tlv]")
{
    auto data = bytes({0x00, 0x09, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0a, 0xde, 0xad});
    tlv_reader r(data);
    tlv t;
    std::error_code ec;
    REQUIRE(r.next(t, ec));
    CHECK(t.type() == tlv_type::keepalive);
    CHECK_FALSE(r.next(t, ec));
    CHECK(ec == errc::truncated_value);
    CHECK(r.offset() == 4);
    CHECK(r.remaining().size() == 6);
    // Asking again gives the same answer: the reader does not skip past an error.
    CHECK_FALSE(r.next(t, ec));
    CHECK(ec == errc::truncated_value);

    data.resize(6); // 2 bytes of the second header
    tlv_reader r2(data);
    REQUIRE(r2.next(t, ec));
    CHECK_FALSE(r2.next(t, ec));
    CHECK(ec == errc::truncated_header);
}

TEST_CASE("tlv: a length past the end is truncated_value, however far", "[wire][tlv]")
{
    for (unsigned length : {1u, 5u, 255u, 256u, 0x7fffu, 0xfffeu, 0xffffu}) {
        INFO("length " << length);
        // Unknown type 0x1234 so that the type table cannot be what rejects it.
        std::vector<std::byte> d(4 + length - 1);
        d[0] = std::byte{0x12};
        d[1] = std::byte{0x34};
        d[2] = static_cast<std::byte>(length >> 8);
        d[3] = static_cast<std::byte>(length);
        std::error_code ec;
        read_outer(d, ec);
        CHECK(ec == errc::truncated_value);
    }
}

TEST_CASE("tlv: lengths just outside each table row are length_out_of_range", "[wire][tlv]")
{
    for (const auto& row : type_table) {
        const auto type = static_cast<std::uint16_t>(row.type);
        INFO(row.name);
        std::error_code ec;
        // The bounds themselves are accepted.
        for (std::size_t length : {std::size_t{row.min_length}, std::size_t{row.max_length}}) {
            const auto d = tlv_of_length(type, length);
            const tlv t = read_outer(d, ec);
            CHECK_FALSE(ec);
            CHECK(t.value.size() == length);
        }
        if (row.min_length > 0) {
            const auto d = tlv_of_length(type, row.min_length - 1u);
            read_outer(d, ec);
            CHECK(ec == errc::length_out_of_range);
            tlv_reader r(d);
            tlv t;
            CHECK_FALSE(r.next(t, ec));
            CHECK(ec == errc::length_out_of_range);
            CHECK(r.offset() == 0);
        }
        if (row.max_length < max_value_size) {
            const auto d = tlv_of_length(type, row.max_length + 1u);
            read_outer(d, ec);
            CHECK(ec == errc::length_out_of_range);
        }
    }
}

TEST_CASE("tlv: a KEEPALIVE with a value is rejected", "[wire][tlv]")
{
    const auto d = bytes({0x00, 0x09, 0x00, 0x01, 0xff});
    std::error_code ec;
    read_outer(d, ec);
    CHECK(ec == errc::length_out_of_range);
}

TEST_CASE("tlv: bytes after the outer TLV are ignored", "[wire][tlv]")
{
    auto d = bytes({0x00, 0x0b, 0x00, 0x06, 0xc0, 0xa8, 0x01, 0x07, 0x13, 0x8f, 0xaa, 0xbb, 0xcc});
    std::error_code ec;
    const tlv t = read_outer(d, ec);
    REQUIRE_FALSE(ec);
    CHECK(t.type() == tlv_type::client_connected);
    CHECK(t.value.size() == 6);
}

TEST_CASE("tlv: unknown types are returned, not rejected; check_origin tells", "[wire][tlv]")
{
    for (std::uint16_t type : {std::uint16_t{0}, std::uint16_t{2}, std::uint16_t{8}, std::uint16_t{45},
                               std::uint16_t{63}, std::uint16_t{64}, std::uint16_t{0xffff}}) {
        INFO("type " << type);
        const auto d = tlv_of_length(type, 3);
        std::error_code ec;
        const tlv t = read_outer(d, ec);
        REQUIRE_FALSE(ec);
        CHECK(t.raw_type == type);
        CHECK(t.info() == nullptr);
        CHECK(check_origin(t, origin::client) == errc::unknown_type);
        CHECK(check_origin(t, origin::nested) == errc::unknown_type);
    }
}

TEST_CASE("tlv: check_origin enforces who may send each type", "[wire][tlv]")
{
    std::error_code ec;
    const auto keepalive = bytes({0x00, 0x09, 0x00, 0x00});
    const tlv k = read_outer(keepalive, ec);
    CHECK(check_origin(k, origin::client) == std::error_code{});
    CHECK(check_origin(k, origin::relay) == errc::unexpected_type);
    CHECK(check_origin(k, origin::nested) == errc::unexpected_type);

    const auto block = tlv_of_length(3, 256);
    const tlv b = read_outer(block, ec);
    CHECK(check_origin(b, origin::nested) == std::error_code{});
    CHECK(check_origin(b, origin::client) == errc::unexpected_type);
    CHECK(check_origin(b, origin::relay) == errc::unexpected_type);

    const auto relayed = tlv_of_length(6, 256);
    const tlv m = read_outer(relayed, ec);
    CHECK(check_origin(m, origin::relay) == std::error_code{});
    CHECK(check_origin(m, origin::nested) == std::error_code{});
    CHECK(check_origin(m, origin::client) == errc::unexpected_type);
}

TEST_CASE("tlv: an empty datagram", "[wire][tlv]")
{
    std::error_code ec;
    read_outer({}, ec);
    CHECK(ec == errc::truncated_header);
    tlv_reader r({});
    CHECK(r.done());
    tlv t;
    CHECK_FALSE(r.next(t, ec));
    CHECK_FALSE(ec);
}

TEST_CASE("tlv: the largest value, 65,535 bytes", "[wire][tlv]")
{
    const std::vector<std::byte> value(max_value_size, std::byte{0x11});
    std::vector<std::byte> out(4 + max_value_size);
    tlv_writer w(out);
    std::error_code ec;
    w.put(std::uint16_t{0x4242}, value, ec);
    REQUIRE_FALSE(ec);
    CHECK(out[2] == std::byte{0xff});
    CHECK(out[3] == std::byte{0xff});
    const tlv t = read_outer(out, ec);
    REQUIRE_FALSE(ec);
    CHECK(t.value.size() == max_value_size);

    std::vector<std::byte> grown;
    tlv_appender a(grown);
    a.put(std::uint16_t{0x4242}, value, ec);
    REQUIRE_FALSE(ec);
    CHECK(grown == out);
}

TEST_CASE("tlv: a value of 65,536 bytes is value_too_large, nothing written", "[wire][tlv]")
{
    const std::vector<std::byte> value(max_value_size + 1, std::byte{0x22});
    std::error_code ec;

    SECTION("tlv_writer::put")
    {
        std::vector<std::byte> out(4 + value.size() + 16, std::byte{0xee});
        tlv_writer w(out);
        w.put(tlv_type::fragment, value, ec);
        CHECK(ec == errc::value_too_large);
        CHECK(w.size() == 0);
        CHECK(std::all_of(out.begin(), out.end(), [](std::byte b) { return b == std::byte{0xee}; }));
    }
    SECTION("tlv_writer begin/put_raw/end")
    {
        std::vector<std::byte> out(4 + value.size());
        tlv_writer w(out);
        const auto mark = w.begin(tlv_type::fragment, ec);
        REQUIRE_FALSE(ec);
        w.put_raw(value, ec);
        REQUIRE_FALSE(ec);
        w.end(mark, ec);
        CHECK(ec == errc::value_too_large);
    }
    SECTION("tlv_appender::put")
    {
        std::vector<std::byte> out = bytes({1, 2, 3});
        tlv_appender a(out);
        a.put(tlv_type::fragment, value, ec);
        CHECK(ec == errc::value_too_large);
        CHECK(out == bytes({1, 2, 3}));
    }
    SECTION("tlv_appender begin/put_raw/end")
    {
        std::vector<std::byte> out;
        tlv_appender a(out);
        const auto mark = a.begin(tlv_type::fragment);
        a.put_raw(value);
        a.end(mark, ec);
        CHECK(ec == errc::value_too_large);
    }
}

TEST_CASE("tlv: writer buffer too small at every size", "[wire][tlv]")
{
    for (const auto& g : golden_vectors()) {
        INFO(g.name);
        const auto value = value_of(g.datagram);
        for (std::size_t n = 0; n < g.datagram.size(); ++n) {
            INFO("buffer " << n);
            std::vector<std::byte> out(n, std::byte{0xee});
            tlv_writer w(out);
            std::error_code ec;
            w.put(g.type, value, ec);
            REQUIRE(ec == errc::buffer_too_small);
            REQUIRE(w.size() == 0);
            REQUIRE(std::all_of(out.begin(), out.end(), [](std::byte b) { return b == std::byte{0xee}; }));

            // The in-place path fails at the header or at the value, never past the buffer.
            tlv_writer w2(out);
            const auto mark = w2.begin(g.type, ec);
            if (n < 4) {
                REQUIRE(ec == errc::buffer_too_small);
                REQUIRE(mark == tlv_writer::no_mark);
                w2.end(mark, ec);
                REQUIRE(ec == errc::buffer_too_small);
            } else {
                REQUIRE_FALSE(ec);
                w2.put_raw(value, ec);
                REQUIRE(ec == errc::buffer_too_small);
                REQUIRE(w2.size() == 4);
            }
        }
    }
}

TEST_CASE("tlv: a failed begin() cannot overwrite an earlier TLV", "[wire][tlv]")
{
    std::vector<std::byte> backing(8, std::byte{0xee});
    const auto out = std::span(backing).first(6);
    tlv_writer w(out);
    std::error_code ec;
    w.put(std::uint16_t{0x0102}, bytes({0xaa, 0xbb}), ec);
    REQUIRE_FALSE(ec);
    const auto mark = w.begin(tlv_type::keepalive, ec);
    REQUIRE(ec == errc::buffer_too_small);
    w.end(mark, ec); // a caller that ignored the error
    CHECK(ec == errc::buffer_too_small);
    CHECK(backing == bytes({0x01, 0x02, 0x00, 0x02, 0xaa, 0xbb, 0xee, 0xee}));
    // A stale mark that would put the header inside the last four bytes is refused too.
    w.end(3, ec);
    CHECK(ec == errc::buffer_too_small);
    CHECK(backing == bytes({0x01, 0x02, 0x00, 0x02, 0xaa, 0xbb, 0xee, 0xee}));

    std::vector<std::byte> grown;
    tlv_appender a(grown);
    a.end(0, ec);
    CHECK(ec == errc::buffer_too_small);
    CHECK(grown.empty());
}

TEST_CASE("tlv: nested building without copies", "[wire][tlv]")
{
    // SENDER_INFO{192.168.1.7:5007, RELAYED_MESSAGE{256 bytes}} built with begin/end into a fixed buffer.
    const auto want = tlvcast::test::sender_info_relayed();
    std::vector<std::byte> out(want.size());
    tlv_writer w(out);
    std::error_code ec;
    const auto outer = w.begin(tlv_type::sender_info, ec);
    w.put_raw(bytes({0xc0, 0xa8, 0x01, 0x07, 0x13, 0x8f}), ec);
    w.put(tlv_type::relayed_message, tlvcast::test::counting_bytes(256), ec);
    REQUIRE_FALSE(ec);
    w.end(outer, ec);
    REQUIRE_FALSE(ec);
    CHECK(out == want);
}

TEST_CASE("tlv: a successful call clears an earlier error", "[wire][tlv]")
{
    std::vector<std::byte> out(4);
    tlv_writer w(out);
    std::error_code ec = errc::malformed;
    w.put(tlv_type::keepalive, {}, ec);
    CHECK_FALSE(ec);
    CHECK(out == bytes({0x00, 0x09, 0x00, 0x00}));

    std::vector<std::byte> grown;
    tlv_appender a(grown);
    ec = errc::malformed;
    a.put(tlv_type::request_server_key, {}, ec);
    CHECK_FALSE(ec);
    CHECK(grown == bytes({0x00, 0x07, 0x00, 0x00}));
}

TEST_CASE("tlv: appender reuse keeps capacity", "[wire][tlv]")
{
    std::vector<std::byte> buf;
    buf.reserve(1024);
    const auto* before = buf.data();
    std::error_code ec;
    for (int i = 0; i < 3; ++i) {
        buf.clear();
        tlv_appender a(buf);
        a.put(tlv_type::encrypted_block, tlvcast::test::counting_bytes(256), ec);
        REQUIRE_FALSE(ec);
        CHECK(buf.size() == 260);
        CHECK(buf.data() == before);
    }
}

TEST_CASE("tlv: as_bytes views strings and arrays", "[wire][tlv]")
{
    const std::string s = "hi";
    const auto b = as_bytes(s);
    REQUIRE(b.size() == 2);
    CHECK(b[0] == std::byte{0x68});
    CHECK(b[1] == std::byte{0x69});
    const std::array<std::uint8_t, 3> arr{1, 2, 3};
    CHECK(as_bytes(arr).size() == 3);
}
