// SPDX-License-Identifier: BSL-1.0
// Codecs for the seed profile's address-carrying values: SENDER_INFO (10) and the presence notices (11, 12).
#pragma once

#include <tlvcast/endpoint.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/wire/detail/endian.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <span>
#include <system_error>

namespace tlvcast::wire {

/// Decodes the seed profile's IPv4(4)·port(2) pair; errc::truncated_header when under 6 bytes.
inline endpoint decode_address(std::span<const std::byte> value, std::error_code& ec) noexcept
{
    ec = {};
    if (value.size() < address_port_size) {
        ec = errc::truncated_header;
        return {};
    }
    return {detail::load_u32(value.data()), detail::load_u16(value.data() + 4)};
}

/// Writes IPv4(4)·port(2) into `out` (6 bytes). The seed wire format is frozen and has no room
/// for IPv6 (the secure profile's wire/address.hpp has). Errors: address_family for an IPv6
/// endpoint, buffer_too_small (nothing written).
inline void encode_address(std::span<std::byte> out, const endpoint& ep, std::error_code& ec) noexcept
{
    ec = {};
    if (!ep.is_v4()) {
        ec = errc::address_family;
        return;
    }
    if (out.size() < address_port_size) {
        ec = errc::buffer_too_small;
        return;
    }
    detail::store_u32(out.data(), ep.v4());
    detail::store_u16(out.data() + 4, ep.port);
}

/// A decoded presence value (CLIENT_CONNECTED / CLIENT_DISCONNECTED): exactly address and port.
/// Errors: truncated_header, malformed (trailing bytes).
inline endpoint decode_presence(std::span<const std::byte> value, std::error_code& ec) noexcept
{
    endpoint ep = decode_address(value, ec);
    if (!ec && value.size() != address_port_size)
        ec = errc::malformed;
    return ep;
}

/// A decoded SENDER_INFO value: the original sender and its one inner TLV (a view).
struct sender_info {
    endpoint sender;
    tlv inner;
};

/// Decodes SENDER_INFO: address, port, then exactly one complete inner TLV, which must be a type
/// allowed nested (RELAYED_MESSAGE in the seed profile). Errors: truncated_header, truncated_value,
/// length_out_of_range (from the inner TLV), unknown_type / unexpected_type for the inner type.
/// Bytes after the inner TLV are ignored, as after an outer TLV.
inline sender_info decode_sender_info(std::span<const std::byte> value, std::error_code& ec) noexcept
{
    sender_info si;
    si.sender = decode_address(value, ec);
    if (ec)
        return si;
    tlv_reader r(value.subspan(address_port_size));
    if (!r.next(si.inner, ec)) {
        if (!ec)
            ec = errc::truncated_header;
        return si;
    }
    ec = check_origin(si.inner, origin::nested);
    return si;
}

/// Appends a whole SENDER_INFO TLV (type 10) wrapping one inner TLV of `inner_type`.
/// Errors (nothing appended): value_too_large when the result would exceed 65,535 bytes,
/// address_family for an IPv6 sender. May throw std::bad_alloc.
inline void append_sender_info(tlv_appender& out, const endpoint& sender, tlv_type inner_type,
                               std::span<const std::byte> inner_value, std::error_code& ec)
{
    ec = {};
    if (inner_value.size() > max_value_size - address_port_size - tlv_header_size) {
        ec = errc::value_too_large;
        return;
    }
    std::byte addr[address_port_size];
    encode_address(addr, sender, ec);
    if (ec)
        return;
    const std::size_t mark = out.begin(tlv_type::sender_info);
    out.put_raw(addr);
    out.put(inner_type, inner_value, ec);
    out.end(mark, ec);
}

/// Appends a presence TLV (CLIENT_CONNECTED or CLIENT_DISCONNECTED) for `peer`. Errors (nothing
/// appended): unexpected_type for any other type, address_family for an IPv6 peer.
/// May throw std::bad_alloc.
inline void append_presence(tlv_appender& out, tlv_type type, const endpoint& peer, std::error_code& ec)
{
    if (type != tlv_type::client_connected && type != tlv_type::client_disconnected) {
        ec = errc::unexpected_type;
        return;
    }
    std::byte addr[address_port_size];
    encode_address(addr, peer, ec);
    if (ec)
        return;
    out.put(type, addr, ec);
}

} // namespace tlvcast::wire
