// SPDX-License-Identifier: BSL-1.0
// Sending a datagram_batch from one UDP socket: sendmmsg(2) on Linux, one sendto(2) per datagram elsewhere.
#pragma once

#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>

#include <asio/error.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <system_error>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

namespace tlvcast::transport::detail {

/// Datagrams one sendmmsg(2) takes at most: the kernel's cap (UIO_MAXIOV). A relay's flush (a
/// receive burst times its recipients) then leaves in one system call.
inline constexpr std::size_t max_send_batch = 1024;

/// Errors that concern one datagram (its size or its destination): the rest of a batch is still
/// worth sending. Any other error (EAGAIN, ENOBUFS, EBADF, ...) concerns the socket and stops it.
inline bool per_datagram_error(int e) noexcept
{
    switch (e) {
    case EMSGSIZE:
    case EINVAL:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EACCES:
    case EPERM:
    case EDESTADDRREQ:
    case EAFNOSUPPORT:
    case ECONNREFUSED:
        return true;
    default:
        return false;
    }
}

/// A destination address for sendmsg(2) in either family.
union socket_address {
    sockaddr_in v4;
    sockaddr_in6 v6;
};

/// Writes `to` as the socket's family needs it: sockaddr_in for an IPv4 socket, sockaddr_in6 for
/// an IPv6 one (IPv4 destinations v4-mapped: a dual-stack socket reaches them). Returns the
/// address length, or 0 when an IPv4 socket is asked to reach an IPv6 destination.
inline socklen_t to_sockaddr(const endpoint& to, bool v6_socket, socket_address& sa) noexcept
{
    sa = socket_address{};
    if (!v6_socket) {
        if (!to.is_v4())
            return 0;
        sa.v4.sin_family = AF_INET;
        sa.v4.sin_port = htons(to.port);
        sa.v4.sin_addr.s_addr = htonl(to.v4());
        return sizeof(sockaddr_in);
    }
    sa.v6.sin6_family = AF_INET6;
    sa.v6.sin6_port = htons(to.port);
    std::memcpy(&sa.v6.sin6_addr, to.v6().data(), 16);
    sa.v6.sin6_scope_id = to.scope_id();
    return sizeof(sockaddr_in6);
}

/// Sends every datagram of `batch` from the non-blocking UDP socket `fd` (an IPv6 socket when
/// `v6_socket`) without waiting. Returns how many the kernel accepted; `ec` is the first error met
/// (cleared when none), in Asio's system category like the errors of Asio's own send_to, so
/// `ec == asio::error::would_block` works. A datagram refused for itself (too large, unreachable
/// destination, an IPv6 destination from an IPv4 socket: EAFNOSUPPORT) is skipped and the rest
/// are still sent; a socket-wide error (EAGAIN/EWOULDBLOCK, ENOBUFS, EBADF) stops the batch.
inline std::size_t send_batch(int fd, const datagram_batch& batch, std::error_code& ec, bool v6_socket = false) noexcept
{
    ec.clear();
    std::size_t sent = 0;
    std::size_t i = 0;
#if defined(__linux__)
    // The headers of a full call are about 110 KiB: per thread, not on the stack, reused.
    constexpr std::size_t chunk = max_send_batch;
    struct headers {
        std::array<mmsghdr, chunk> msgs;
        std::array<socket_address, chunk> addrs;
        std::array<iovec, chunk> iovs;
    };
    thread_local const std::unique_ptr<headers> storage = std::make_unique<headers>();
    auto& [msgs, addrs, iovs] = *storage;
    while (i < batch.size()) {
        std::size_t n = std::min(chunk, batch.size() - i);
        for (std::size_t k = 0; k < n; ++k) {
            const auto e = batch[i + k];
            const socklen_t len = to_sockaddr(e.to, v6_socket, addrs[k]);
            if (len == 0) {
                // No system call can send this one: end the chunk before it, and skip it once the
                // datagrams ahead of it are out (as the kernel would have refused it).
                n = k;
                break;
            }
            // sendmmsg never writes through iov_base; the cast only satisfies the C declaration.
            iovs[k].iov_base = const_cast<std::byte*>(e.bytes.data());
            iovs[k].iov_len = e.bytes.size();
            msgs[k] = mmsghdr{};
            msgs[k].msg_hdr.msg_name = &addrs[k];
            msgs[k].msg_hdr.msg_namelen = len;
            msgs[k].msg_hdr.msg_iov = &iovs[k];
            msgs[k].msg_hdr.msg_iovlen = 1;
        }
        if (n == 0) {
            if (!ec)
                ec = std::error_code(EAFNOSUPPORT, asio::error::get_system_category());
            ++i;
            continue;
        }
        const int r = ::sendmmsg(fd, msgs.data(), static_cast<unsigned>(n), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r > 0) {
            sent += static_cast<std::size_t>(r);
            i += static_cast<std::size_t>(r);
            continue;
        }
        // r < 0: the first datagram of this chunk failed (a later failure shows as a short count and
        // is reported here on the next call, for the datagram that caused it).
        const int e = errno;
        if (e == EINTR)
            continue;
        if (!ec)
            ec = std::error_code(e, asio::error::get_system_category());
        if (!per_datagram_error(e))
            return sent;
        ++i;
    }
#else
    for (; i < batch.size(); ++i) {
        const auto e = batch[i];
        socket_address sa;
        const socklen_t len = to_sockaddr(e.to, v6_socket, sa);
        ssize_t r = -1;
        if (len == 0)
            errno = EAFNOSUPPORT;
        else
            do
                r = ::sendto(fd, e.bytes.data(), e.bytes.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&sa),
                             len);
            while (r < 0 && errno == EINTR);
        if (r >= 0) {
            ++sent;
            continue;
        }
        const int err = errno;
        if (!ec)
            ec = std::error_code(err, asio::error::get_system_category());
        if (!per_datagram_error(err))
            return sent;
    }
#endif
    return sent;
}

} // namespace tlvcast::transport::detail
