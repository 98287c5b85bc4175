// SPDX-License-Identifier: BSL-1.0
// asio_udp: the UDP multicast Transport over standalone Asio, IPv4 or IPv6 (relay side and client side sockets).
#pragma once

#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/transport/asio_udp_options.hpp>
#include <tlvcast/transport/concepts.hpp>
#include <tlvcast/transport/detail/batch_receive.hpp>
#include <tlvcast/transport/detail/batch_send.hpp>
#include <tlvcast/transport/detail/fragmentation.hpp>
#include <tlvcast/transport/detail/multicast.hpp>
#include <tlvcast/transport/limits.hpp>

#include <asio.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace tlvcast::transport {

/// Tag choosing the relay-side role: see basic_asio_udp::bind_group.
struct relay_side_t {
    explicit relay_side_t() = default;
};
inline constexpr relay_side_t relay_side{};

/// Tag choosing the client-side role: see basic_asio_udp::open_client.
struct client_side_t {
    explicit client_side_t() = default;
};
inline constexpr client_side_t client_side{};

/// A Transport over one UDP socket driven by Asio: IPv4 for an IPv4 group, IPv6 for an IPv6 one.
///
/// Two roles:
/// - relay side (bind_group): binds 0.0.0.0:port or [::]:port with SO_REUSEADDR, joins the group on
///   the interface and receives what is sent to the group (and unicast to that port); replies go
///   out unicast from the same socket. On Linux IP(V6)_MULTICAST_ALL is turned off, so only the
///   groups this socket joined are delivered to it.
/// - client side (open_client): one socket bound to 0.0.0.0:0 or [::]:0 at open time. That is
///   exactly what the kernel would do on the first send (pick an ephemeral port), done early so
///   that local_endpoint() is meaningful before anything was sent. Multicast TTL (hop limit),
///   loopback and the outgoing interface are set; unicast replies arrive on the same socket. The
///   source address peers see is the kernel's choice for the route through the interface (see
///   group_source()), never the wildcard of local_endpoint().
///
/// An IPv6 socket is dual-stack where the system makes it so (Linux's default): IPv4 peers that
/// reach it by unicast are named as IPv4 endpoints, and replies to them go out v4-mapped.
///
/// Sending never blocks (the socket is non-blocking): a full socket buffer is an error code
/// (asio::error::would_block or ENOBUFS), never a wait nor an exception. Set-up errors throw
/// std::system_error. Thread-safety: like an Asio socket, distinct objects are independent, a
/// shared object is not thread-safe (use it from one thread or a strand). At most one
/// async_receive may be pending, and the object must not be moved while one is.
template <class Executor = asio::any_io_executor>
class basic_asio_udp {
public:
    using executor_type = Executor;
    using socket_type = asio::basic_datagram_socket<asio::ip::udp, Executor>;
    using options = asio_udp_options;

    /// Relay side on `ex`. Throws std::system_error when the group is not multicast, the interface
    /// is unknown, or the socket cannot be opened, bound or joined to the group.
    basic_asio_udp(const executor_type& ex, relay_side_t, const options& opt = {})
        : socket_(ex), options_(opt)
    {
        open(true);
    }

    /// Client side on `ex`. Throws std::system_error when the interface is unknown or the socket
    /// cannot be set up.
    basic_asio_udp(const executor_type& ex, client_side_t, const options& opt = {})
        : socket_(ex), options_(opt)
    {
        open(false);
    }

    /// Relay side: binds the wildcard address at opt.port and joins opt.group. See the class comment.
    static basic_asio_udp bind_group(const executor_type& ex, const options& opt = {})
    {
        return basic_asio_udp(ex, relay_side, opt);
    }
    template <class ExecutionContext>
        requires std::is_convertible_v<ExecutionContext&, asio::execution_context&>
    static basic_asio_udp bind_group(ExecutionContext& ctx, const options& opt = {})
    {
        return basic_asio_udp(ctx.get_executor(), relay_side, opt);
    }

    /// Client side: an ephemeral-port socket with the multicast send options. See the class comment.
    static basic_asio_udp open_client(const executor_type& ex, const options& opt = {})
    {
        return basic_asio_udp(ex, client_side, opt);
    }
    template <class ExecutionContext>
        requires std::is_convertible_v<ExecutionContext&, asio::execution_context&>
    static basic_asio_udp open_client(ExecutionContext& ctx, const options& opt = {})
    {
        return basic_asio_udp(ctx.get_executor(), client_side, opt);
    }

    basic_asio_udp(basic_asio_udp&&) noexcept = default;
    basic_asio_udp& operator=(basic_asio_udp&&) noexcept = default;

    executor_type get_executor() noexcept { return socket_.get_executor(); }

    /// The bound address (0.0.0.0:port or [::]:port for both roles), or 0.0.0.0:0 once closed.
    endpoint local_endpoint() const
    {
        std::error_code ec;
        const auto ep = socket_.local_endpoint(ec);
        if (ec)
            return {};
        return from_asio_endpoint(ep);
    }

    /// The address and port the group's members see as this socket's source: the kernel's source
    /// address for the group's route through the chosen interface (found by connecting a scratch
    /// socket, which sends nothing) and this socket's port. The address is the wildcard when the
    /// kernel has no source for that route (e.g. a loopback-only namespace without "src").
    /// Errors: the scratch socket's; bad_descriptor once closed.
    endpoint group_source(std::error_code& ec) const
    {
        const endpoint local = local_endpoint();
        if (!socket_.is_open()) {
            ec = asio::error::bad_descriptor;
            return {};
        }
        asio::io_context scratch; // the probe does no I/O: it needs no executor of ours
        asio::ip::udp::socket probe(scratch);
        const bool v6 = options_.group.is_v6();
        probe.open(v6 ? asio::ip::udp::v6() : asio::ip::udp::v4(), ec);
        if (!ec)
            detail::set_outbound_interface(probe, v6, iface_, ec);
        if (!ec)
            probe.connect({options_.group, options_.port}, ec);
        if (ec)
            return {};
        endpoint source = from_asio_endpoint(probe.local_endpoint(ec));
        source.port = local.port;
        return ec ? endpoint{} : source;
    }

    /// Sends one datagram to `to` without waiting. Errors (in Asio's system category: compare with
    /// asio::error::*): would_block or no_buffer_space when the socket buffer is full, message_size
    /// over max_udp_payload, address_family_not_supported for an IPv6 destination from an IPv4
    /// socket, bad_descriptor once closed, or the kernel's error for the destination.
    void send(const endpoint& to, std::span<const std::byte> data, std::error_code& ec) noexcept
    {
        if (!to.is_v4() && !options_.group.is_v6()) {
            ec = asio::error::address_family_not_supported;
            return;
        }
        socket_.send_to(asio::buffer(data.data(), data.size()), to_asio_endpoint(to, protocol()), 0, ec);
    }

    /// Sends a batch with as few system calls as possible (sendmmsg(2) on Linux). Returns how many
    /// datagrams the kernel accepted; `ec` is the first error. A datagram refused for itself (size,
    /// destination) is skipped, a full socket buffer stops the batch. Never blocks or throws.
    std::size_t send(const datagram_batch& batch, std::error_code& ec) noexcept
    {
        if (!socket_.is_open()) {
            ec = asio::error::bad_descriptor;
            return 0;
        }
        return detail::send_batch(socket_.native_handle(), batch, ec, options_.group.is_v6());
    }

    /// Receives one datagram into `buffer` and its sender into `from`; completes with
    /// void(std::error_code, std::size_t bytes). A datagram longer than `buffer` completes with
    /// asio::error::message_size and bytes == buffer.size() (Linux; elsewhere it is silently
    /// truncated): a max_udp_payload (65,507-byte) buffer never truncates. close() completes it with
    /// asio::error::operation_aborted. Supports per-operation cancellation.
    template <asio::completion_token_for<void(std::error_code, std::size_t)> Token>
    auto async_receive(std::span<std::byte> buffer, endpoint& from, Token&& token)
    {
        return asio::async_compose<Token, void(std::error_code, std::size_t)>(
            receive_op{this, buffer, &from}, token, socket_);
    }

    /// Takes a datagram that is already in the socket's queue, without blocking
    /// (transport::try_receiving): would_block when none; message_size as async_receive.
    std::size_t try_receive(std::span<std::byte> buffer, endpoint& from, std::error_code& ec)
    {
        return detail::receive_one(socket_.native_handle(), buffer, from, ec);
    }

    /// Takes up to detail::max_receive_batch (64) waiting datagrams in one recvmmsg
    /// (transport::try_receiving_many); would_block when none.
    std::size_t try_receive_many(std::span<const std::span<std::byte>> buffers, std::span<endpoint> from,
                                 std::span<std::size_t> sizes, std::error_code& ec)
    {
        return detail::receive_batch(socket_.native_handle(), buffers, from, sizes, ec);
    }

    /// Closes the socket; a pending receive completes with operation_aborted. Never throws.
    void close() noexcept
    {
        std::error_code ignored;
        socket_.close(ignored);
    }

    /// The Asio socket, for options this class does not cover (and for tests to read them back).
    socket_type& socket() noexcept { return socket_; }
    const options& get_options() const noexcept { return options_; }

private:
    struct receive_op {
        basic_asio_udp* self_;
        std::span<std::byte> buffer_;
        endpoint* from_;

        template <class Self>
        void operator()(Self& self)
        {
            receive(self);
        }

        template <class Self>
        void operator()(Self& self, std::error_code ec, std::size_t n)
        {
            if (!ec) {
                *from_ = from_asio_endpoint(self_->sender_);
                if (n > buffer_.size()) {
                    ec = asio::error::message_size;
                    n = buffer_.size();
                }
            }
            self.complete(ec, n);
        }

        template <class Self>
        void receive(Self& self)
        {
            // MSG_TRUNC makes Linux return the datagram's real length, so truncation is detected.
            self_->socket_.async_receive_from(asio::buffer(buffer_.data(), buffer_.size()), self_->sender_,
                                              receive_flags, std::move(self));
        }
    };

#if defined(__linux__)
    static constexpr asio::socket_base::message_flags receive_flags = MSG_TRUNC;
#else
    static constexpr asio::socket_base::message_flags receive_flags = 0;
#endif

    [[noreturn]] static void fail(const std::error_code& ec, const std::string& what)
    {
        throw std::system_error(ec, "tlvcast::asio_udp: " + what);
    }

    asio::ip::udp protocol() const noexcept
    {
        return options_.group.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4();
    }

    void open(bool relay)
    {
        namespace mc = asio::ip::multicast;
        std::error_code ec;
        const bool v6 = options_.group.is_v6();
        const std::string group = options_.group.to_string();
        if (options_.ttl < 0 || options_.ttl > 255)
            fail(std::make_error_code(std::errc::invalid_argument),
                 "multicast TTL " + std::to_string(options_.ttl) + " outside 0..255");
        if (relay && !options_.group.is_multicast())
            fail(std::make_error_code(std::errc::invalid_argument), "group " + group + " is not a multicast address");
        iface_ = detail::resolve_interface(options_.interface_name, options_.interface_address, v6, ec);
        if (ec)
            fail(ec, "no interface " + iface_.text);
        socket_.open(protocol(), ec);
        if (ec)
            fail(ec, v6 ? "cannot open a UDP/IPv6 socket" : "cannot open a UDP socket");
        if (relay) {
            socket_.set_option(asio::socket_base::reuse_address(true), ec);
            if (ec)
                fail(ec, "cannot set SO_REUSEADDR");
        }
        if (options_.receive_buffer_size != 0) {
            socket_.set_option(asio::socket_base::receive_buffer_size(clamp_int(options_.receive_buffer_size)), ec);
            if (ec)
                fail(ec, "cannot set SO_RCVBUF");
        }
        if (options_.send_buffer_size != 0) {
            socket_.set_option(asio::socket_base::send_buffer_size(clamp_int(options_.send_buffer_size)), ec);
            if (ec)
                fail(ec, "cannot set SO_SNDBUF");
        }
        const std::uint16_t port = relay ? options_.port : 0;
        socket_.bind({protocol(), port}, ec);
        if (ec)
            fail(ec, std::string("cannot bind ") + (v6 ? "[::]:" : "0.0.0.0:") + std::to_string(port));
        if (relay) {
            detail::only_joined_groups(socket_, v6, ec);
            if (ec)
                fail(ec, v6 ? "cannot clear IPV6_MULTICAST_ALL" : "cannot clear IP_MULTICAST_ALL");
            detail::join_group(socket_, options_.group, iface_, ec);
            if (ec)
                fail(ec, "cannot join group " + group + " on interface " + iface_.text);
        }
        socket_.set_option(mc::hops(options_.ttl), ec);
        if (ec)
            fail(ec, v6 ? "cannot set IPV6_MULTICAST_HOPS" : "cannot set IP_MULTICAST_TTL");
        socket_.set_option(mc::enable_loopback(options_.loopback), ec);
        if (ec)
            fail(ec, v6 ? "cannot set IPV6_MULTICAST_LOOP" : "cannot set IP_MULTICAST_LOOP");
        detail::set_outbound_interface(socket_, v6, iface_, ec);
        if (ec)
            fail(ec, "cannot send multicast through interface " + iface_.text);
        detail::set_dont_fragment(socket_, v6, options_.dont_fragment, ec);
        if (ec)
            fail(ec, v6 ? "cannot set IPV6_MTU_DISCOVER" : "cannot set IP_MTU_DISCOVER");
        socket_.non_blocking(true, ec);
        if (ec)
            fail(ec, "cannot make the socket non-blocking");
    }

    static int clamp_int(std::size_t v) noexcept
    {
        constexpr std::size_t max = static_cast<std::size_t>(std::numeric_limits<int>::max());
        return static_cast<int>(v < max ? v : max);
    }

    socket_type socket_;
    options options_;
    detail::multicast_interface iface_; // resolved from the options at open
    asio::ip::udp::endpoint sender_; // written by the pending receive (Asio needs it to outlive the call)
};

/// The common case: Asio's polymorphic I/O executor.
using asio_udp = basic_asio_udp<>;

static_assert(transport<asio_udp>, "asio_udp must model tlvcast::transport::transport");
static_assert(try_receiving_many<asio_udp>);
static_assert(transport<basic_asio_udp<asio::io_context::executor_type>>,
              "basic_asio_udp<io_context executor> must model tlvcast::transport::transport");

} // namespace tlvcast::transport
