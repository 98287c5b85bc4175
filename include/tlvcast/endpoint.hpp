// endpoint: an IPv4 address and UDP port, the peer identity of the seed profile's wire format.
#pragma once

#include <array>
#include <charconv>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tlvcast {

/// An IPv4 address and port as carried on the wire (host byte order here).
/// A regular value type: comparable, hashable, trivially copyable.
struct endpoint {
    std::uint32_t address = 0; ///< IPv4 address, host byte order (127.0.0.1 == 0x7f000001)
    std::uint16_t port = 0;

    friend constexpr auto operator<=>(const endpoint&, const endpoint&) = default;

    /// The same address with port 0: the host, for limits per source address.
    constexpr endpoint without_port() const noexcept
    {
        endpoint e = *this;
        e.port = 0;
        return e;
    }

    /// "a.b.c.d:port"
    std::string to_string() const
    {
        std::string s;
        s.reserve(21);
        for (int shift = 24; shift >= 0; shift -= 8) {
            s += std::to_string((address >> shift) & 0xffu);
            s += shift ? '.' : ':';
        }
        s += std::to_string(port);
        return s;
    }

    /// Parses "a.b.c.d" (port 0) or "a.b.c.d:port"; nullopt when malformed.
    static std::optional<endpoint> parse(std::string_view text) noexcept
    {
        endpoint ep;
        const char* p = text.data();
        const char* end = p + text.size();
        for (int i = 0; i < 4; ++i) {
            unsigned octet = 0;
            auto [next, ec] = std::from_chars(p, end, octet);
            if (ec != std::errc{} || octet > 255 || next == p)
                return std::nullopt;
            ep.address = (ep.address << 8) | octet;
            p = next;
            if (i < 3) {
                if (p == end || *p != '.')
                    return std::nullopt;
                ++p;
            }
        }
        if (p != end) {
            if (*p != ':')
                return std::nullopt;
            ++p;
            auto [next, ec] = std::from_chars(p, end, ep.port);
            if (ec != std::errc{} || next != end || next == p)
                return std::nullopt;
        }
        return ep;
    }
};

} // namespace tlvcast

template <>
struct std::hash<tlvcast::endpoint> {
    std::size_t operator()(const tlvcast::endpoint& e) const noexcept
    {
        return std::hash<std::uint64_t>{}((std::uint64_t{e.address} << 16) | e.port);
    }
};
