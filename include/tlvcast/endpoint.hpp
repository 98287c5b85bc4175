// SPDX-License-Identifier: BSL-1.0
// endpoint: an IPv4 or IPv6 address, a UDP port and an IPv6 scope id: how every layer names a peer.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <charconv>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tlvcast {

/// An IPv4 or IPv6 address, a port and, for IPv6, a scope id (the interface index that a
/// link-local address needs; 0 for none). IPv4 is stored v4-mapped (::ffff:a.b.c.d, RFC 4291
/// 2.5.5.2), so 1.2.3.4 and ::ffff:1.2.3.4 are the same value. Which family a profile can carry
/// on its wire is the profile's business: the seed profile carries IPv4 only (wire/sender_info.hpp),
/// the secure profile both (wire/address.hpp).
/// A regular value type: trivially copyable, hashable, ordered by address, then port, then scope.
/// Thread-safety: a value; const members may be called from any thread.
class endpoint {
public:
    /// An IPv6 address in network byte order.
    using v6_bytes = std::array<std::uint8_t, 16>;
    /// An upper bound on the length of to_string(): "[" IPv6 text "%" scope "]:" port.
    static constexpr std::size_t max_text_size = 1 + 45 + 1 + 10 + 2 + 5;

    /// 0.0.0.0:0.
    constexpr endpoint() noexcept = default;

    /// An IPv4 address in host byte order (127.0.0.1 == 0x7f000001) and a port. Not explicit:
    /// `endpoint{0x7f000001, 5007}` and `{address, port}` read as they did when endpoint was IPv4 only.
    constexpr endpoint(std::uint32_t v4_host_order, std::uint16_t port_number) noexcept
        : addr_{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, static_cast<std::uint8_t>(v4_host_order >> 24),
                static_cast<std::uint8_t>(v4_host_order >> 16), static_cast<std::uint8_t>(v4_host_order >> 8),
                static_cast<std::uint8_t>(v4_host_order)},
          port(port_number)
    {
    }

    /// An IPv6 address, a port and a scope id. A v4-mapped address makes an IPv4 endpoint, whose
    /// scope is always 0.
    static constexpr endpoint from_v6(const v6_bytes& address, std::uint16_t port_number,
                                      std::uint32_t scope = 0) noexcept
    {
        endpoint e;
        e.addr_ = address;
        e.port = port_number;
        e.scope_ = e.is_v4() ? 0 : scope;
        return e;
    }

    /// True for an IPv4 address (stored v4-mapped).
    constexpr bool is_v4() const noexcept
    {
        for (std::size_t i = 0; i < 10; ++i)
            if (addr_[i] != 0)
                return false;
        return addr_[10] == 0xff && addr_[11] == 0xff;
    }
    /// The IPv4 address in host byte order; 0 for an IPv6 endpoint (ask is_v4() first).
    constexpr std::uint32_t v4() const noexcept
    {
        if (!is_v4())
            return 0;
        return std::uint32_t{addr_[12]} << 24 | std::uint32_t{addr_[13]} << 16 | std::uint32_t{addr_[14]} << 8 |
               addr_[15];
    }
    /// The same address (and scope) with port 0: the host, for limits per source address.
    constexpr endpoint without_port() const noexcept
    {
        endpoint e = *this;
        e.port = 0;
        return e;
    }

    /// The 16 address bytes, network order (::ffff:a.b.c.d for IPv4).
    constexpr const v6_bytes& v6() const noexcept { return addr_; }
    /// The IPv6 scope id (interface index), 0 for none and always 0 for IPv4.
    constexpr std::uint32_t scope_id() const noexcept { return scope_; }

    /// 224.0.0.0/4 or ff00::/8.
    constexpr bool is_multicast() const noexcept { return is_v4() ? (addr_[12] & 0xf0) == 0xe0 : addr_[0] == 0xff; }

    /// The address without the port: "1.2.3.4", "ff15::1", "fe80::1%2" (RFC 5952 form, numeric scope).
    std::string address_string() const
    {
        char buf[INET6_ADDRSTRLEN] = {};
        if (is_v4())
            ::inet_ntop(AF_INET, addr_.data() + 12, buf, sizeof buf);
        else
            ::inet_ntop(AF_INET6, addr_.data(), buf, sizeof buf);
        std::string s = buf;
        if (scope_ != 0)
            s += '%' + std::to_string(scope_);
        return s;
    }

    /// "a.b.c.d:port" for IPv4, "[v6]:port" for IPv6 (with "%scope" inside the brackets when set).
    std::string to_string() const
    {
        std::string s;
        s.reserve(max_text_size);
        if (is_v4()) {
            s = address_string();
        } else {
            s = '[';
            s += address_string();
            s += ']';
        }
        s += ':';
        s += std::to_string(port);
        return s;
    }

    /// Parses "a.b.c.d", "a.b.c.d:port", an IPv6 address alone ("ff15::1", "fe80::1%2") or in
    /// brackets with an optional port ("[ff15::1]:5007"); the port is 0 when absent. A scope is a
    /// number (an interface index; names are the caller's to resolve). Returns nullopt for
    /// anything else, never throws.
    static std::optional<endpoint> parse(std::string_view text) noexcept
    {
        if (!text.empty() && text.front() == '[') {
            const auto close = text.find(']');
            if (close == std::string_view::npos)
                return std::nullopt;
            auto ep = parse_v6(text.substr(1, close - 1));
            const std::string_view rest = text.substr(close + 1);
            if (ep && !rest.empty() && (rest.front() != ':' || !parse_port(rest.substr(1), ep->port)))
                return std::nullopt;
            return ep;
        }
        // No colon, or one: IPv4 with an optional port. More: an IPv6 address without a port.
        if (text.find(':') == text.rfind(':'))
            return parse_v4(text);
        return parse_v6(text);
    }

    friend constexpr auto operator<=>(const endpoint&, const endpoint&) = default;

private:
    // "a.b.c.d" or "a.b.c.d:port", each octet a decimal number 0..255.
    static std::optional<endpoint> parse_v4(std::string_view text) noexcept
    {
        std::uint32_t address = 0;
        const char* p = text.data();
        const char* end = p + text.size();
        for (int i = 0; i < 4; ++i) {
            unsigned octet = 0;
            auto [next, ec] = std::from_chars(p, end, octet);
            if (ec != std::errc{} || octet > 255 || next == p)
                return std::nullopt;
            address = (address << 8) | octet;
            p = next;
            if (i < 3) {
                if (p == end || *p != '.')
                    return std::nullopt;
                ++p;
            }
        }
        endpoint ep{address, 0};
        if (p != end && (*p != ':' || !parse_port(std::string_view(p + 1, static_cast<std::size_t>(end - p - 1)), ep.port)))
            return std::nullopt;
        return ep;
    }

    // An IPv6 address with an optional "%scope" (decimal); inet_pton(3) reads the address.
    static std::optional<endpoint> parse_v6(std::string_view text) noexcept
    {
        std::uint32_t scope = 0;
        if (const auto pct = text.find('%'); pct != std::string_view::npos) {
            const std::string_view digits = text.substr(pct + 1);
            auto [next, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), scope);
            if (ec != std::errc{} || digits.empty() || next != digits.data() + digits.size())
                return std::nullopt;
            text = text.substr(0, pct);
        }
        char buf[INET6_ADDRSTRLEN] = {};
        if (text.empty() || text.size() >= sizeof buf || text.find('\0') != std::string_view::npos)
            return std::nullopt;
        std::memcpy(buf, text.data(), text.size());
        v6_bytes address{};
        if (::inet_pton(AF_INET6, buf, address.data()) != 1)
            return std::nullopt;
        const endpoint ep = from_v6(address, 0, scope);
        if (ep.is_v4() && scope != 0)
            return std::nullopt; // an IPv4 address has no scope
        return ep;
    }

    // A decimal port 0..65535, the whole of `text`.
    static bool parse_port(std::string_view text, std::uint16_t& port_out) noexcept
    {
        auto [next, ec] = std::from_chars(text.data(), text.data() + text.size(), port_out);
        return ec == std::errc{} && !text.empty() && next == text.data() + text.size();
    }

    // Declaration order is comparison order: address, port, scope.
    v6_bytes addr_{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};

public:
    std::uint16_t port = 0; ///< UDP port, host byte order

private:
    std::uint32_t scope_ = 0;
};

} // namespace tlvcast

template <>
struct std::hash<tlvcast::endpoint> {
    std::size_t operator()(const tlvcast::endpoint& e) const noexcept
    {
        // Both halves of the address, the port and the scope, mixed (splitmix64's finaliser):
        // the relay's tables key on this, and neighbouring addresses and ports must spread.
        std::uint64_t hi = 0, lo = 0;
        for (std::size_t i = 0; i < 8; ++i) {
            hi = hi << 8 | e.v6()[i];
            lo = lo << 8 | e.v6()[8 + i];
        }
        std::uint64_t h = hi * 0x9e3779b97f4a7c15u ^ lo;
        h ^= (std::uint64_t{e.port} << 32 | e.scope_id()) * 0xc2b2ae3d27d4eb4fu;
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9u;
        h ^= h >> 27;
        h *= 0x94d049bb133111ebu;
        h ^= h >> 31;
        return static_cast<std::size_t>(h);
    }
};
