// SPDX-License-Identifier: BSL-1.0
// tlvcast-relay's start-up check: does another relay already answer on this group and port?
#pragma once

#include <tlvcast/endpoint.hpp>
#include <tlvcast/profile/secure/record.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/transport/asio_udp.hpp>
#include <tlvcast/wire/tlv.hpp>
#include <tlvcast/wire/types.hpp>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::examples {

/// Sends one SECURE_HELLO without a cookie to the group of `udp`, from a client socket of its own,
/// and waits up to `wait` for a SECURE_COOKIE: the stateless answer of a relay of the secure or group
/// profile, which registers nothing (docs/PROTOCOL.md, "Handshake"), so the probe leaves no trace in
/// the other relay but its datagram counters. Returns the address of the first relay that answered,
/// or nothing. Best effort: an error (no route to the group, say) is nothing found. Seed-profile
/// relays do not answer it (the seed profile has no stateless request), and nor does a relay that
/// has not started yet. Blocks the calling thread for at most `wait`.
inline std::optional<endpoint> probe_other_relay(const transport::asio_udp_options& udp, duration wait)
{
    try {
        asio::io_context io(1);
        auto socket = transport::asio_udp::open_client(io, udp);
        // version, AES-256-GCM, then an ephemeral key and client_random that are only echoed and
        // MACed by a relay's cookie: random bytes do.
        std::array<std::byte, wire::secure_hello_size> hello{};
        hello[0] = static_cast<std::byte>(tlvcast::profile::secure::version);
        hello[1] = std::byte{1};
        std::random_device rd;
        for (std::size_t i = 2; i < hello.size(); ++i)
            hello[i] = static_cast<std::byte>(rd() & 0xff);
        std::array<std::byte, wire::tlv_header_size + wire::secure_hello_size> datagram{};
        wire::tlv_writer w(datagram);
        std::error_code ec;
        w.put(wire::tlv_type::secure_hello, hello, ec);
        if (!ec)
            socket.send(udp.group_endpoint(), w.written(), ec);
        if (ec)
            return std::nullopt;

        std::optional<endpoint> found;
        std::vector<std::byte> in(65'507); // never truncates (asio_udp: message_size otherwise)
        endpoint from;
        asio::steady_timer timer(io);
        timer.expires_after(wait);
        timer.async_wait([&](std::error_code) { socket.close(); });
        std::function<void()> receive = [&] {
            socket.async_receive(in, from, [&](std::error_code rec, std::size_t n) {
                if (rec) // closed at the deadline, or an error: nothing more to learn
                    return;
                wire::tlv_reader r(std::span<const std::byte>(in.data(), n));
                wire::tlv t;
                std::error_code perr;
                if (r.next(t, perr) && t.type() == wire::tlv_type::secure_cookie) {
                    found = from;
                    timer.cancel();
                    return;
                }
                receive(); // something else: keep waiting
            });
        };
        receive();
        io.run();
        return found;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

} // namespace tlvcast::examples
