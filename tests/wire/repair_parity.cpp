// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/wire/repair_parity.hpp: REPAIR_PARITY byte for byte, its refusals,
// and the data symbols (length, datagram, zero padding) parity is computed over.
#include <tlvcast/wire/repair_parity.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::wire;

namespace {

std::vector<std::byte> parity_bytes_of(std::initializer_list<unsigned> v)
{
    std::vector<std::byte> out;
    for (unsigned x : v)
        out.push_back(static_cast<std::byte>(x));
    return out;
}

} // namespace

TEST_CASE("repair_parity: appended byte for byte as docs/PROTOCOL.md lays it out", "[wire][repair]")
{
    std::vector<std::byte> out;
    std::error_code ec;
    const auto sym = append_repair_parity(out, 0x41020304u, 0x00000010u, 8, 1, 6, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(sym.size() == 6);
    for (std::size_t i = 0; i < sym.size(); ++i)
        sym[i] = static_cast<std::byte>(0xa0 + i);
    CHECK(out == parity_bytes_of({0x00, 38, 0x00, 16, 0x41, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x10, 8, 1, 0xa0, 0xa1,
                                  0xa2, 0xa3, 0xa4, 0xa5}));
    const tlv t = read_outer(out, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(t.type() == tlv_type::repair_parity);
    const repair_parity p = decode_repair_parity(t.value, ec);
    REQUIRE_FALSE(ec);
    CHECK(p.stream == 0x41020304u);
    CHECK(p.first == 16);
    CHECK(p.count == 8);
    CHECK(p.index == 1);
    CHECK(p.symbol.data() == t.value.data() + 10); // a view, not a copy
    CHECK(p.symbol.size() == 6);
}

TEST_CASE("repair_parity: refusals are error codes", "[wire][repair]")
{
    std::error_code ec;
    auto value = parity_bytes_of({0, 0, 0, 1, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0});
    decode_repair_parity(value, ec);
    CHECK(ec == errc::truncated_header); // 15 bytes: one short of a header and the smallest symbol
    value.push_back(std::byte{0});
    decode_repair_parity(value, ec);
    CHECK_FALSE(ec);
    value[8] = std::byte{0}; // count 0
    decode_repair_parity(value, ec);
    CHECK(ec == errc::malformed);
    value[8] = std::byte{200}, value[9] = std::byte{56}; // 200 + 56 = 256 symbols: one too many
    decode_repair_parity(value, ec);
    CHECK(ec == errc::malformed);
    value[9] = std::byte{55};
    decode_repair_parity(value, ec);
    CHECK_FALSE(ec);
    value[4] = value[5] = value[6] = value[7] = std::byte{0xff}; // a block past the last seq
    decode_repair_parity(value, ec);
    CHECK(ec == errc::malformed);

    std::vector<std::byte> out;
    CHECK(append_repair_parity(out, 1, 0, 0, 0, 10, ec).empty());
    CHECK(ec == errc::malformed);
    CHECK(append_repair_parity(out, 1, 0, 8, 0, 65530, ec).empty());
    CHECK(ec == errc::value_too_large);
    CHECK(out.empty());
}

TEST_CASE("repair_parity: data symbols carry the length and zero padding, and are checked", "[wire][repair]")
{
    const auto datagram = parity_bytes_of({0, 9, 0, 1, 0x77});
    std::vector<std::byte> sym(data_symbol_size(datagram.size()) + 3, std::byte{0xee});
    write_data_symbol(datagram, sym);
    CHECK(sym == parity_bytes_of({0, 5, 0, 9, 0, 1, 0x77, 0, 0, 0}));
    std::error_code ec;
    const auto back = read_data_symbol(sym, ec);
    REQUIRE_FALSE(ec);
    CHECK(std::vector<std::byte>(back.begin(), back.end()) == datagram);
    CHECK(back.data() == sym.data() + 2);

    sym[9] = std::byte{1}; // padding that is not zero: not a symbol of one datagram
    read_data_symbol(sym, ec);
    CHECK(ec == errc::malformed);
    sym[9] = std::byte{0};
    sym[1] = std::byte{9}; // a length past the symbol
    read_data_symbol(sym, ec);
    CHECK(ec == errc::malformed);
    read_data_symbol(std::span<const std::byte>(sym.data(), 1), ec);
    CHECK(ec == errc::malformed);
}
