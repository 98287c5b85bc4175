// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/federation/detail/nats_stream.hpp (a build with libnats) that need no
// server: the stream sequence a commit's hint header carries, as anyone who may publish writes it.
// The streams themselves are tested over a nats-server in nats_link.cpp and the reviews.
#if TLVCAST_HAS_NATS
#include <tlvcast/federation/detail/nats_stream.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>

using tlvcast::federation::detail::parse_seq;

TEST_CASE("nats_stream: a header's stream sequence is 1 to 20 decimal digits, else refused", "[federation][nats]")
{
    CHECK(parse_seq("0") == std::optional<std::uint64_t>(0));
    CHECK(parse_seq("42") == std::optional<std::uint64_t>(42));
    CHECK(parse_seq("18446744073709551615") == std::optional<std::uint64_t>(UINT64_MAX));
    CHECK(parse_seq("00000000000000000042") == std::optional<std::uint64_t>(42)); // 20 digits
    for (const char* bad : {"", "18446744073709551616", "000000000000000000042", "-1", "+1", " 1", "1 ", "0x10",
                            "1e3", "12a", "\xd9\xa1"})
        CHECK_FALSE(parse_seq(bad).has_value());
    CHECK_FALSE(parse_seq(nullptr).has_value());
}
#endif
