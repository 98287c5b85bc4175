// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/wire/fragment_header.hpp: the FRAGMENT value codec and FRAGMENT TLV writers.
#include <tlvcast/wire/fragment_header.hpp>

#include "wire/golden.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::wire;
using tlvcast::test::bytes;

namespace {
bool same(std::span<const std::byte> a, std::span<const std::byte> b) { return std::ranges::equal(a, b); }

bool all_ee(const std::vector<std::byte>& v)
{
    return std::all_of(v.begin(), v.end(), [](std::byte b) { return b == std::byte{0xee}; });
}

// msg_id, seq, total as laid out on the wire (typed by hand, big-endian).
std::vector<std::byte> header_bytes(std::uint32_t id, std::uint16_t seq, std::uint16_t total)
{
    const unsigned s = seq, t = total;
    return bytes({id >> 24, (id >> 16) & 0xffu, (id >> 8) & 0xffu, id & 0xffu, s >> 8, s & 0xffu, t >> 8, t & 0xffu});
}
} // namespace

TEST_CASE("fragment_header: the issue's golden FRAGMENT decodes", "[wire][fragment_header]")
{
    const auto d = test::fragment_hi(); // 00 01 00 0a de ad be ef 00 01 00 03 68 69
    std::error_code ec;
    const tlv t = read_outer(d, ec);
    REQUIRE_FALSE(ec);
    const fragment f = decode_fragment(t.value, ec);
    REQUIRE_FALSE(ec);
    CHECK(f.msg_id == 0xdeadbeefu);
    CHECK(f.seq == 1);
    CHECK(f.total == 3);
    CHECK(same(f.payload, bytes({0x68, 0x69})));
    CHECK(f.payload.data() == d.data() + 12); // a view, not a copy
}

TEST_CASE("fragment_header: every golden FRAGMENT decodes to its hand-written fields", "[wire][fragment_header]")
{
    struct want {
        std::string_view name;
        std::uint32_t id;
        std::uint16_t seq, total;
        std::size_t payload;
    };
    const want wants[] = {
        {"fragment_hi", 0xdeadbeef, 1, 3, 2},
        {"fragment_empty", 0x01020304, 0, 1, 0},
        {"fragment_full", 0xa1b2c3d4, 0, 2, 256},
    };
    const auto vectors = test::golden_vectors();
    for (const auto& w : wants) {
        INFO(w.name);
        const auto it = std::find_if(vectors.begin(), vectors.end(), [&](const auto& g) { return g.name == w.name; });
        REQUIRE(it != vectors.end());
        std::error_code ec;
        const tlv t = read_outer(it->datagram, ec);
        REQUIRE_FALSE(ec);
        const fragment f = decode_fragment(t.value, ec);
        REQUIRE_FALSE(ec);
        CHECK(f.msg_id == w.id);
        CHECK(f.seq == w.seq);
        CHECK(f.total == w.total);
        CHECK(f.payload.size() == w.payload);

        // And back: both writers rebuild the datagram exactly.
        std::vector<std::byte> out(it->datagram.size());
        tlv_writer wr(out);
        write_fragment(wr, f.msg_id, f.seq, f.total, f.payload, ec);
        REQUIRE_FALSE(ec);
        CHECK(out == it->datagram);

        std::vector<std::byte> grown;
        tlv_appender a(grown);
        append_fragment(a, f.msg_id, f.seq, f.total, f.payload, ec);
        REQUIRE_FALSE(ec);
        CHECK(grown == it->datagram);
    }
}

TEST_CASE("fragment_header: encode_fragment_header writes big-endian fields", "[wire][fragment_header]")
{
    std::array<std::byte, 8> out{};
    std::error_code ec;
    encode_fragment_header(out, 0xdeadbeef, 1, 3, ec);
    REQUIRE_FALSE(ec);
    CHECK(same(out, bytes({0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x00, 0x03})));
    encode_fragment_header(out, 0x00000001, 0xfffe, 0xffff, ec);
    REQUIRE_FALSE(ec);
    CHECK(same(out, bytes({0x00, 0x00, 0x00, 0x01, 0xff, 0xfe, 0xff, 0xff})));
}

TEST_CASE("fragment_header: truncation at every byte of the header", "[wire][fragment_header]")
{
    const auto value = header_bytes(0xdeadbeef, 1, 3);
    for (std::size_t n = 0; n < value.size(); ++n) {
        INFO("prefix " << n);
        std::error_code ec;
        const fragment f = decode_fragment(std::span(value).first(n), ec);
        CHECK(ec == errc::truncated_header);
        CHECK(f.payload.empty());
    }
    std::error_code ec;
    const fragment f = decode_fragment(value, ec);
    CHECK_FALSE(ec);
    CHECK(f.payload.empty());
}

TEST_CASE("fragment_header: total == 0 is an error", "[wire][fragment_header]")
{
    std::error_code ec;
    for (std::uint16_t seq : {std::uint16_t{0}, std::uint16_t{1}, std::uint16_t{0xffff}}) {
        INFO("seq " << seq);
        const auto value = tlvcast::test::cat(header_bytes(7, seq, 0), bytes({1, 2, 3}));
        const fragment f = decode_fragment(value, ec);
        CHECK(ec == errc::fragment_total_zero);
        CHECK(f.payload.empty());

        std::vector<std::byte> out(8, std::byte{0xee});
        encode_fragment_header(out, 7, seq, 0, ec);
        CHECK(ec == errc::fragment_total_zero);
        CHECK(all_ee(out));
    }
    // Also through a whole datagram: the TLV layer accepts it, the header codec refuses it.
    const auto d = bytes({0x00, 0x01, 0x00, 0x08, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x00});
    const tlv t = read_outer(d, ec);
    REQUIRE_FALSE(ec);
    decode_fragment(t.value, ec);
    CHECK(ec == errc::fragment_total_zero);
}

TEST_CASE("fragment_header: seq >= total is an error", "[wire][fragment_header]")
{
    struct seq_total {
        std::uint16_t seq, total;
    };
    for (auto [seq, total] : {seq_total{1, 1}, seq_total{3, 3}, seq_total{4, 3}, seq_total{0xffff, 0xffff},
                              seq_total{0xffff, 1}}) {
        INFO("seq " << seq << " total " << total);
        std::error_code ec;
        decode_fragment(header_bytes(1, seq, total), ec);
        CHECK(ec == errc::fragment_seq_out_of_range);

        std::vector<std::byte> out(8, std::byte{0xee});
        encode_fragment_header(out, 1, seq, total, ec);
        CHECK(ec == errc::fragment_seq_out_of_range);
        CHECK(all_ee(out));
    }
    // The edges that are valid.
    for (auto [seq, total] : {seq_total{0, 1}, seq_total{2, 3}, seq_total{0xfffe, 0xffff}}) {
        std::error_code ec;
        const fragment f = decode_fragment(header_bytes(1, seq, total), ec);
        CHECK_FALSE(ec);
        CHECK(f.seq == seq);
        CHECK(f.total == total);
    }
}

TEST_CASE("fragment_header: encode into a buffer too small at every size", "[wire][fragment_header]")
{
    for (std::size_t n = 0; n < fragment_header_size; ++n) {
        INFO("buffer " << n);
        // A span of the first n bytes of a larger array: a write past n would show in the rest.
        std::vector<std::byte> backing(16, std::byte{0xee});
        std::error_code ec;
        encode_fragment_header(std::span(backing).first(n), 0xdeadbeef, 1, 3, ec);
        CHECK(ec == errc::buffer_too_small);
        CHECK(all_ee(backing));
    }
}

TEST_CASE("fragment_header: write_fragment into a buffer too small at every size", "[wire][fragment_header]")
{
    const auto want = test::fragment_hi();
    const auto payload = bytes({0x68, 0x69});
    for (std::size_t n = 0; n < want.size(); ++n) {
        INFO("buffer " << n);
        std::vector<std::byte> out(n, std::byte{0xee});
        tlv_writer w(out);
        std::error_code ec;
        write_fragment(w, 0xdeadbeef, 1, 3, payload, ec);
        CHECK(ec == errc::buffer_too_small);
        CHECK(w.size() == 0);
        CHECK(all_ee(out));
    }
}

TEST_CASE("fragment_header: writers refuse invalid headers and oversized payloads", "[wire][fragment_header]")
{
    std::vector<std::byte> out(70000, std::byte{0xee});
    tlv_writer w(out);
    std::vector<std::byte> grown;
    tlv_appender a(grown);
    std::error_code ec;

    write_fragment(w, 1, 0, 0, {}, ec);
    CHECK(ec == errc::fragment_total_zero);
    append_fragment(a, 1, 0, 0, {}, ec);
    CHECK(ec == errc::fragment_total_zero);
    write_fragment(w, 1, 2, 2, {}, ec);
    CHECK(ec == errc::fragment_seq_out_of_range);
    append_fragment(a, 1, 2, 2, {}, ec);
    CHECK(ec == errc::fragment_seq_out_of_range);

    const std::vector<std::byte> too_big(max_fragment_payload + 1);
    write_fragment(w, 1, 0, 1, too_big, ec);
    CHECK(ec == errc::value_too_large);
    append_fragment(a, 1, 0, 1, too_big, ec);
    CHECK(ec == errc::value_too_large);
    CHECK(w.size() == 0);
    CHECK(grown.empty());
    CHECK(all_ee(out));

    // 65,527 bytes of payload is the most: the TLV's length field reads ff ff.
    const std::vector<std::byte> biggest(max_fragment_payload, std::byte{0x33});
    write_fragment(w, 1, 0, 1, biggest, ec);
    REQUIRE_FALSE(ec);
    CHECK(w.size() == 4 + 65535);
    CHECK(out[2] == std::byte{0xff});
    CHECK(out[3] == std::byte{0xff});
    append_fragment(a, 1, 0, 1, biggest, ec);
    REQUIRE_FALSE(ec);
    CHECK(same(grown, w.written()));
}

TEST_CASE("fragment_header: round trip over many field values", "[wire][fragment_header]")
{
    std::uint32_t id = 0x12345678;
    for (std::uint32_t total : {1u, 2u, 3u, 255u, 256u, 0x7fffu, 0xffffu}) {
        for (std::uint32_t seq : {0u, 1u, total / 2, total - 1}) {
            if (seq >= total)
                continue;
            id = id * 1664525u + 1013904223u;
            const auto payload = test::counting_bytes(seq % 300, total);
            std::vector<std::byte> d;
            tlv_appender a(d);
            std::error_code ec;
            append_fragment(a, id, static_cast<std::uint16_t>(seq), static_cast<std::uint16_t>(total), payload, ec);
            REQUIRE_FALSE(ec);
            const tlv t = read_outer(d, ec);
            REQUIRE_FALSE(ec);
            REQUIRE(t.type() == tlv_type::fragment);
            const fragment f = decode_fragment(t.value, ec);
            REQUIRE_FALSE(ec);
            CHECK(f.msg_id == id);
            CHECK(f.seq == seq);
            CHECK(f.total == total);
            CHECK(same(f.payload, payload));
        }
    }
}
