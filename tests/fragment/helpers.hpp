// SPDX-License-Identifier: BSL-1.0
// Shared helpers for the fragment tests: FRAGMENT values typed by hand, endpoints, random bytes, an allocation counter.
#pragma once

#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace tlvcast::test {

/// A FRAGMENT value laid out byte by byte (big-endian), independent of the library's encoder.
inline std::vector<std::byte> fragment_value(std::uint32_t msg_id, std::uint16_t seq, std::uint16_t total,
                                             std::span<const std::byte> payload)
{
    std::vector<std::byte> v;
    for (int shift = 24; shift >= 0; shift -= 8)
        v.push_back(static_cast<std::byte>((msg_id >> shift) & 0xffu));
    v.push_back(static_cast<std::byte>(seq >> 8));
    v.push_back(static_cast<std::byte>(seq & 0xffu));
    v.push_back(static_cast<std::byte>(total >> 8));
    v.push_back(static_cast<std::byte>(total & 0xffu));
    v.insert(v.end(), payload.begin(), payload.end());
    return v;
}

inline std::vector<std::byte> fragment_value(std::uint32_t msg_id, std::uint16_t seq, std::uint16_t total,
                                             std::size_t payload_size, std::uint8_t fill = 0xab)
{
    const std::vector<std::byte> payload(payload_size, std::byte{fill});
    return fragment_value(msg_id, seq, total, payload);
}

/// 10.0.x.y:port with a distinct address per n.
inline endpoint peer(std::uint32_t n, std::uint16_t port = 5000)
{
    return endpoint{0x0a000000u + n, port};
}

inline std::vector<std::byte> random_bytes(std::mt19937_64& rng, std::size_t n)
{
    std::vector<std::byte> v(n);
    for (auto& b : v)
        b = static_cast<std::byte>(rng() & 0xffu);
    return v;
}

/// The FRAGMENT value of one datagram of a batch (REQUIREs a well-formed outer FRAGMENT TLV).
inline std::span<const std::byte> value_of(std::span<const std::byte> datagram)
{
    std::error_code ec;
    const wire::tlv t = wire::read_outer(datagram, ec);
    if (ec || t.type() != wire::tlv_type::fragment || t.wire_size() != datagram.size())
        return {};
    return t.value;
}

/// Counts operator new calls of this program (tests/counting_new.hpp, which reassembler.cpp includes): the steady-state
/// tests assert that reassembly and splitting stop allocating once warmed up.
extern std::atomic<std::uint64_t> allocations;

} // namespace tlvcast::test
