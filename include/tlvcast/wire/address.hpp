// SPDX-License-Identifier: BSL-1.0
// The secure profile's address codec: family(1) address(16) port(2), for IPv4 and IPv6 alike.
#pragma once

#include <tlvcast/endpoint.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/wire/detail/endian.hpp>
#include <tlvcast/wire/types.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

namespace tlvcast::wire {

/// The family byte of a tagged address: the IP version number.
enum class address_family : std::uint8_t {
    v4 = 4, ///< the 16 address bytes are ::ffff:a.b.c.d (v4-mapped)
    v6 = 6, ///< the 16 address bytes are an IPv6 address that is not v4-mapped
};

static_assert(tagged_address_size == 1 + 16 + 2, "a tagged address is family(1) address(16) port(2)");

/// Writes family(1)·address(16)·port(2) into `out` (tagged_address_size bytes): family 4 with the
/// v4-mapped address for IPv4, family 6 for IPv6. A scope id is not written: it names an
/// interface of the sender's host and means nothing to the receiver. Error: buffer_too_small
/// (nothing written). Thread-safe.
inline void encode_tagged_address(std::span<std::byte> out, const endpoint& ep, std::error_code& ec) noexcept
{
    ec = {};
    if (out.size() < tagged_address_size) {
        ec = errc::buffer_too_small;
        return;
    }
    const auto family = ep.is_v4() ? address_family::v4 : address_family::v6;
    out[0] = static_cast<std::byte>(family);
    std::transform(ep.v6().begin(), ep.v6().end(), out.begin() + 1,
                   [](std::uint8_t b) { return static_cast<std::byte>(b); });
    detail::store_u16(out.data() + 17, ep.port);
}

/// Reads a tagged address from the first tagged_address_size bytes of `in` (bytes after it are the
/// caller's). Each endpoint has exactly one encoding, so the decoder refuses the others. Errors:
/// truncated_header (under 19 bytes); malformed for a family other than 4 and 6, family 4 whose
/// address is not v4-mapped, or family 6 with a v4-mapped address. Thread-safe.
inline endpoint decode_tagged_address(std::span<const std::byte> in, std::error_code& ec) noexcept
{
    ec = {};
    if (in.size() < tagged_address_size) {
        ec = errc::truncated_header;
        return {};
    }
    endpoint::v6_bytes address{};
    std::transform(in.begin() + 1, in.begin() + 17, address.begin(),
                   [](std::byte b) { return std::to_integer<std::uint8_t>(b); });
    const endpoint ep = endpoint::from_v6(address, detail::load_u16(in.data() + 17));
    const auto family = std::to_integer<std::uint8_t>(in[0]);
    const bool consistent = (family == static_cast<std::uint8_t>(address_family::v4) && ep.is_v4()) ||
                            (family == static_cast<std::uint8_t>(address_family::v6) && !ep.is_v4());
    if (!consistent) {
        ec = errc::malformed;
        return {};
    }
    return ep;
}

} // namespace tlvcast::wire
