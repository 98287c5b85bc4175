// SPDX-License-Identifier: BSL-1.0
// Receiving from one UDP socket without blocking: recvfrom(2) for one datagram, recvmmsg(2) for a
// burst. Asio's synchronous receive would wait for the socket instead of returning would_block.
#pragma once

#include <tlvcast/endpoint.hpp>
#include <tlvcast/transport/asio_udp_options.hpp>

#include <asio.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <span>
#include <system_error>

#include <sys/socket.h>
#include <sys/uio.h>

namespace tlvcast::transport::detail {

/// Datagrams one receive_batch takes at most (one recvmmsg).
inline constexpr std::size_t max_receive_batch = 64;

#if defined(__linux__)
// MSG_TRUNC makes Linux return a datagram's real length, so truncation is detected.
inline constexpr int receive_truncation_flag = MSG_TRUNC;
#else
inline constexpr int receive_truncation_flag = 0;
#endif

inline endpoint endpoint_of(const ::sockaddr_storage& sa, std::size_t len) noexcept
{
    asio::ip::udp::endpoint sender;
    len = std::min<std::size_t>(len, sender.capacity());
    std::memcpy(sender.data(), &sa, len);
    sender.resize(len);
    return from_asio_endpoint(sender);
}

/// One waiting datagram into `buffer`: its size (at most buffer.size(); message_size when it was
/// longer), or 0 with would_block when none waits.
inline std::size_t receive_one(int fd, std::span<std::byte> buffer, endpoint& from, std::error_code& ec)
{
    ec.clear();
    ::sockaddr_storage sa{};
    socklen_t len = sizeof(sa);
    const ssize_t r = ::recvfrom(fd, buffer.data(), buffer.size(), MSG_DONTWAIT | receive_truncation_flag,
                                 reinterpret_cast<::sockaddr*>(&sa), &len);
    if (r < 0) {
        ec = std::error_code(errno, asio::error::get_system_category());
        return 0;
    }
    from = endpoint_of(sa, len);
    auto n = static_cast<std::size_t>(r);
    if (n > buffer.size()) {
        ec = asio::error::message_size;
        n = buffer.size();
    }
    return n;
}

/// Up to max_receive_batch waiting datagrams in one recvmmsg: fills buffers[i], from[i] and
/// sizes[i] (sizes[i] > buffers[i].size(): truncated) and returns how many; 0 with would_block
/// when none waits.
inline std::size_t receive_batch(int fd, std::span<const std::span<std::byte>> buffers, std::span<endpoint> from,
                                 std::span<std::size_t> sizes, std::error_code& ec)
{
    ec.clear();
    const std::size_t want = std::min({buffers.size(), from.size(), sizes.size(), max_receive_batch});
    std::array<::mmsghdr, max_receive_batch> msgs{};
    std::array<::iovec, max_receive_batch> iov{};
    std::array<::sockaddr_storage, max_receive_batch> addrs{};
    for (std::size_t i = 0; i < want; ++i) {
        iov[i] = {buffers[i].data(), buffers[i].size()};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &addrs[i];
        msgs[i].msg_hdr.msg_namelen = sizeof(::sockaddr_storage);
    }
    const int r = ::recvmmsg(fd, msgs.data(), static_cast<unsigned>(want), MSG_DONTWAIT | receive_truncation_flag,
                             nullptr);
    if (r < 0) {
        ec = std::error_code(errno, asio::error::get_system_category());
        return 0;
    }
    const auto n = static_cast<std::size_t>(r);
    for (std::size_t i = 0; i < n; ++i) {
        from[i] = endpoint_of(addrs[i], msgs[i].msg_hdr.msg_namelen);
        sizes[i] = msgs[i].msg_len;
        if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) && sizes[i] <= buffers[i].size())
            sizes[i] = buffers[i].size() + 1; // truncated where the real length is not reported
    }
    return n;
}

} // namespace tlvcast::transport::detail
