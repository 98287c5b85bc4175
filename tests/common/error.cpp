// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/error.hpp: tlvcast::errc and its std::error_category.
#include <tlvcast/error.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <system_error>
#include <type_traits>

using tlvcast::errc;

namespace {
// The enumerators, typed in again (other layers add values; the scan below covers those too).
constexpr errc all_errc[] = {
    errc::truncated_header, errc::truncated_value, errc::length_out_of_range, errc::value_too_large,
    errc::buffer_too_small, errc::fragment_total_zero, errc::fragment_seq_out_of_range, errc::unknown_type,
    errc::unexpected_type, errc::malformed, errc::address_family, errc::bad_key, errc::decrypt_failed, errc::message_too_large,
    errc::authentication_failed, errc::replayed, errc::stale_session, errc::bad_cookie, errc::rate_limited,
    errc::identity_mismatch, errc::handshake_failed, errc::key_exhausted, errc::insecure_key_file, errc::fragment_limit,
    errc::reassembly_message_too_large, errc::reassembly_sender_busy, errc::reassembly_full,
    errc::fragment_mismatch, errc::duplicate_fragment, errc::reassembly_timeout, errc::not_registered,
    errc::no_relay, errc::not_ready, errc::shut_down, errc::too_many_peers, errc::reserved_text, errc::overloaded, errc::would_block,
};
} // namespace

TEST_CASE("error: the category's name", "[common][error]")
{
    CHECK(std::string(tlvcast::error_category().name()) == "tlvcast");
    // One instance per program.
    CHECK(&tlvcast::error_category() == &tlvcast::error_category());
}

TEST_CASE("error: values are stable", "[common][error]")
{
    STATIC_REQUIRE(static_cast<int>(errc::truncated_header) == 1);
    STATIC_REQUIRE(static_cast<int>(errc::truncated_value) == 2);
    STATIC_REQUIRE(static_cast<int>(errc::length_out_of_range) == 3);
    STATIC_REQUIRE(static_cast<int>(errc::value_too_large) == 4);
    STATIC_REQUIRE(static_cast<int>(errc::buffer_too_small) == 5);
    STATIC_REQUIRE(static_cast<int>(errc::fragment_total_zero) == 6);
    STATIC_REQUIRE(static_cast<int>(errc::fragment_seq_out_of_range) == 7);
    STATIC_REQUIRE(static_cast<int>(errc::malformed) == 10);
    STATIC_REQUIRE(static_cast<int>(errc::address_family) == 11);
    STATIC_REQUIRE(static_cast<int>(errc::bad_key) == 32);
    STATIC_REQUIRE(static_cast<int>(errc::fragment_limit) == 64);
    STATIC_REQUIRE(static_cast<int>(errc::not_registered) == 96);
}

TEST_CASE("error: every value has its own message", "[common][error]")
{
    const auto& cat = tlvcast::error_category();
    const std::string unknown = cat.message(0);
    CHECK(unknown == "unknown tlvcast error");
    std::set<std::string> seen;
    for (errc e : all_errc) {
        INFO("errc " << static_cast<int>(e));
        const std::string m = cat.message(static_cast<int>(e));
        CHECK_FALSE(m.empty());
        CHECK(m != unknown);
        CHECK(seen.insert(m).second); // distinct
        CHECK(std::error_code(e).message() == m);
    }
    CHECK(seen.size() == std::size(all_errc));
}

TEST_CASE("error: exact messages of the wire errors", "[common][error]")
{
    CHECK(std::error_code(errc::truncated_header).message() == "truncated TLV header");
    CHECK(std::error_code(errc::truncated_value).message() == "TLV value runs past the end of the buffer");
    CHECK(std::error_code(errc::length_out_of_range).message() ==
          "TLV value length outside the range allowed for its type");
    CHECK(std::error_code(errc::value_too_large).message() == "TLV value larger than 65535 bytes");
    CHECK(std::error_code(errc::buffer_too_small).message() == "output buffer too small");
    CHECK(std::error_code(errc::fragment_total_zero).message() == "fragment header with total == 0");
    CHECK(std::error_code(errc::fragment_seq_out_of_range).message() == "fragment header with seq >= total");
}

TEST_CASE("error: values outside every range are unknown", "[common][error]")
{
    const auto& cat = tlvcast::error_category();
    for (int v : {-1, 0, 1000, 100000}) {
        INFO("value " << v);
        CHECK(cat.message(v) == "unknown tlvcast error");
    }
}

TEST_CASE("error: no two values share a message, across every number in use", "[common][error]")
{
    // Catches a copy-pasted case label in a layer's newly added values, not only in the listed ones.
    const auto& cat = tlvcast::error_category();
    std::set<std::string> seen;
    std::size_t known = 0;
    for (int v = 0; v < 256; ++v) {
        const std::string m = cat.message(v);
        if (m == "unknown tlvcast error")
            continue;
        INFO("value " << v << ": " << m);
        CHECK(seen.insert(m).second);
        ++known;
    }
    CHECK(known >= std::size(all_errc));
}

TEST_CASE("error: errc converts to std::error_code in our category", "[common][error]")
{
    STATIC_REQUIRE(std::is_error_code_enum<errc>::value);
    std::error_code ec = errc::decrypt_failed; // implicit, through is_error_code_enum
    CHECK(ec);
    CHECK(ec.value() == static_cast<int>(errc::decrypt_failed));
    CHECK(&ec.category() == &tlvcast::error_category());
    CHECK(ec == errc::decrypt_failed);
    CHECK(ec != errc::bad_key);
    CHECK(make_error_code(errc::bad_key) == std::error_code(errc::bad_key));
    // Not equal to a std::errc with the same number: the categories differ.
    CHECK(std::error_code(errc::truncated_header) != std::make_error_code(static_cast<std::errc>(1)));
    ec.clear();
    CHECK_FALSE(ec);
}
