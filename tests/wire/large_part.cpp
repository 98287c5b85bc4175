// SPDX-License-Identifier: BSL-1.0
#include <tlvcast/wire/large_part.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <vector>

using namespace tlvcast;

namespace {
std::vector<std::byte> value(std::uint32_t id, std::uint32_t total, std::uint32_t offset, std::size_t n)
{
    const auto h = wire::encode_large_part_header(id, total, offset);
    std::vector<std::byte> v(h.begin(), h.end());
    v.resize(v.size() + n, std::byte{0x5a});
    return v;
}
} // namespace

TEST_CASE("large_part: the header is msg_id, total, offset, big-endian", "[wire][large]")
{
    const auto h = wire::encode_large_part_header(0x01020304u, 0x00100000u, 0x0000f000u);
    const std::array<std::byte, 12> want{std::byte{1}, std::byte{2}, std::byte{3},    std::byte{4},
                                         std::byte{0}, std::byte{0x10}, std::byte{0}, std::byte{0},
                                         std::byte{0}, std::byte{0},    std::byte{0xf0}, std::byte{0}};
    CHECK(h == want);
    std::error_code ec;
    const auto v = value(7, 100, 40, 60);
    const auto p = wire::decode_large_part(v, ec);
    REQUIRE_FALSE(ec);
    CHECK(p.msg_id == 7);
    CHECK(p.total == 100);
    CHECK(p.offset == 40);
    CHECK(p.bytes.size() == 60);
    CHECK(p.bytes.data() == v.data() + 12); // a view, not a copy
}

TEST_CASE("large_part: truncated and inconsistent headers are errors", "[wire][large]")
{
    std::error_code ec;
    const auto v = value(7, 100, 40, 60);
    (void)wire::decode_large_part(std::span(v).first(11), ec);
    CHECK(ec == errc::truncated_header);
    (void)wire::decode_large_part(value(7, 100, 41, 60), ec); // one byte past its total
    CHECK(ec == errc::malformed);
    (void)wire::decode_large_part(value(7, 100, 101, 0), ec); // offset past total
    CHECK(ec == errc::malformed);
    (void)wire::decode_large_part(value(7, 0xffffffffu, 0xfffffff0u, 32), ec); // no 32-bit wrap
    CHECK(ec == errc::malformed);
    (void)wire::decode_large_part(value(7, 0xffffffffu, 0, 100), ec); // 4 GiB claimed: the limits judge
    CHECK_FALSE(ec);
    (void)wire::decode_large_part(value(7, 0, 0, 0), ec); // an empty message
    CHECK_FALSE(ec);
}
