// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/fragment/fec/concepts.hpp: the smallest Parity codec, near misses, and
// a repairing fragmenter over it (no libcm256cc needed).
#include <tlvcast/fragment/fec/concepts.hpp>
#include <tlvcast/fragment/nack_fragmenter.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <span>
#include <system_error>

using namespace tlvcast;
using fragment::fec::parity_codec;
using fragment::fec::parity_policy;
using fragment::fec::symbol;

namespace {

// The archetype: the least a type needs to model parity_codec (a code of nothing: always fails).
struct parity_archetype {
    static constexpr std::size_t max_symbols = 2;
    void encode(std::span<const std::byte* const>, std::size_t, unsigned, std::span<std::byte>, std::error_code& ec)
    {
        ec = errc::malformed;
    }
    void decode(std::span<symbol>, std::size_t, std::error_code& ec) { ec = errc::fec_unrecoverable; }
};
static_assert(parity_codec<parity_archetype> && parity_policy<parity_archetype>);
static_assert(parity_policy<fragment::fec::no_parity> && !parity_codec<fragment::fec::no_parity>);
static_assert(!parity_policy<int>);

// Near misses: each lacks one requirement, and the concept notices.
struct no_max_symbols {
    void encode(std::span<const std::byte* const>, std::size_t, unsigned, std::span<std::byte>, std::error_code&) {}
    void decode(std::span<symbol>, std::size_t, std::error_code&) {}
};
struct decode_returns_bool : parity_archetype {
    bool decode(std::span<symbol>, std::size_t, std::error_code&) { return false; }
};
struct encode_without_error_code {
    static constexpr std::size_t max_symbols = 2;
    void encode(std::span<const std::byte* const>, std::size_t, unsigned, std::span<std::byte>) {}
    void decode(std::span<symbol>, std::size_t, std::error_code&) {}
};
struct encode_without_first_index {
    static constexpr std::size_t max_symbols = 2;
    void encode(std::span<const std::byte* const>, std::size_t, std::span<std::byte>, std::error_code&) {}
    void decode(std::span<symbol>, std::size_t, std::error_code&) {}
};
static_assert(!parity_codec<no_max_symbols>);
static_assert(!parity_codec<decode_returns_bool>);
static_assert(!parity_codec<encode_without_error_code>);
static_assert(!parity_codec<encode_without_first_index>);

using over_archetype = fragment::basic_nack_fragmenter<fragment::seed_fragmenter, parity_archetype>;
static_assert(fragment::control_fragmenter<over_archetype> && over_archetype::fec);
static_assert(!fragment::nack_fragmenter::fec && !fragment::nack_fragmenter::handles(wire::tlv_type::repair_parity));

} // namespace

TEST_CASE("fec concepts: a fragmenter over a codec that always fails still delivers, by NACKs", "[fec][concepts]")
{
    fragment::repair_limits lim;
    lim.fec_k = 2;
    lim.fec_r = 1;
    over_archetype sender(fragment::seed_fragmenter(1, {}, 200), lim, 1);
    over_archetype receiver(fragment::seed_fragmenter(2, {}, 200), lim, 2);
    CHECK(over_archetype::handles(wire::tlv_type::repair_parity));
    const endpoint a(0x0a000001, 5000), b(0x0a000002, 5000);
    datagram_batch out;
    std::error_code ec;
    const std::vector<std::byte> m(50, std::byte{7});
    for (int i = 0; i < 2; ++i)
        sender.split(m, b, time_point{}, out, ec);
    REQUIRE_FALSE(ec);
    CHECK(out.size() == 2); // the encoder failed: no parity datagram, nothing half-written
    CHECK(sender.stats().parity_sent == 0);
    std::vector<std::byte> msg;
    datagram_batch replies;
    for (std::size_t i = 0; i < out.size(); ++i)
        receiver.handle_control(a, wire::read_outer(out[i].bytes, ec), time_point{}, replies, msg, ec);
    endpoint from;
    int got = 0;
    while (receiver.pop_message(from, msg))
        ++got;
    CHECK(got == 2);
}
