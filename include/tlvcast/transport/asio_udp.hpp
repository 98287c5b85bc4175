// asio_udp: the UDP multicast Transport over standalone Asio (relay side and client side sockets).
#pragma once

#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/transport/concepts.hpp>
#include <tlvcast/transport/detail/batch_send.hpp>
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

/// Converts an endpoint to Asio's (IPv4).
inline asio::ip::udp::endpoint to_asio_endpoint(const endpoint& e)
{
    return {asio::ip::address_v4(e.v4()), e.port};
}

/// Converts Asio's endpoint to ours; nullopt for an IPv6 endpoint (the wire format carries IPv4 only).
inline std::optional<endpoint> from_asio_endpoint(const asio::ip::udp::endpoint& e) noexcept
{
    const auto a = e.address();
    if (!a.is_v4())
        return std::nullopt;
    return endpoint{a.to_v4().to_uint(), e.port()};
}

/// Settings of an asio_udp socket. Every field has a working default.
struct asio_udp_options {
    asio::ip::address_v4 group = asio::ip::make_address_v4("224.1.1.1"); ///< multicast group
    std::uint16_t port = 5007;                                            ///< the group's UDP port
    /// Interface (by its address) used to join the group and to send multicast; 0.0.0.0 lets the
    /// kernel choose from its routing table.
    asio::ip::address_v4 interface_address = asio::ip::address_v4::any();
    int ttl = 1;                                     ///< IP_MULTICAST_TTL, 0..255 (1: this link only)
    bool loopback = true;                            ///< IP_MULTICAST_LOOP: deliver to this host too
    std::size_t receive_buffer_size = 4 << 20;       ///< SO_RCVBUF request (capped by rmem_max); 0: system default
    std::size_t send_buffer_size = 0;                ///< SO_SNDBUF request (capped by wmem_max); 0: system default

    /// The group as a tlvcast endpoint, where clients send.
    endpoint group_endpoint() const noexcept { return {group.to_uint(), port}; }
};

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

/// A Transport over one UDP/IPv4 socket driven by Asio.
///
/// Two roles:
/// - relay side (bind_group): binds 0.0.0.0:port with SO_REUSEADDR, joins the group on the
///   interface and receives what is sent to the group (and unicast to that port); replies go out
///   unicast from the same socket. On Linux IP_MULTICAST_ALL is turned off, so only the groups this
///   socket joined are delivered to it.
/// - client side (open_client): one socket bound to 0.0.0.0:0 at open time. That is exactly what the
///   kernel would do on the first send (pick an ephemeral port), done early so that local_endpoint()
///   is meaningful before anything was sent. Multicast TTL, loopback and the outgoing interface are
///   set; unicast replies arrive on the same socket. The source address peers see is the kernel's
///   choice for the route (or interface_address when set), never the 0.0.0.0 of local_endpoint().
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

    /// Relay side on `ex`. Throws std::system_error when the group is not multicast, or the
    /// socket cannot be opened, bound or joined to the group.
    basic_asio_udp(const executor_type& ex, relay_side_t, const options& opt = {})
        : socket_(ex), options_(opt)
    {
        open(true);
    }

    /// Client side on `ex`. Throws std::system_error when the socket cannot be set up.
    basic_asio_udp(const executor_type& ex, client_side_t, const options& opt = {})
        : socket_(ex), options_(opt)
    {
        open(false);
    }

    /// Relay side: binds 0.0.0.0:opt.port and joins opt.group. See the class comment.
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

    /// The bound address (0.0.0.0:port for both roles), or 0.0.0.0:0 once closed.
    endpoint local_endpoint() const
    {
        std::error_code ec;
        const auto ep = socket_.local_endpoint(ec);
        if (ec)
            return {};
        return from_asio_endpoint(ep).value_or(endpoint{});
    }

    /// Sends one datagram to `to` without waiting. Errors (in Asio's system category: compare with
    /// asio::error::*): would_block or no_buffer_space when the socket buffer is full, message_size
    /// over max_udp_payload, bad_descriptor once closed, or the kernel's error for the destination.
    void send(const endpoint& to, std::span<const std::byte> data, std::error_code& ec) noexcept
    {
        socket_.send_to(asio::buffer(data.data(), data.size()), to_asio_endpoint(to), 0, ec);
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
        return detail::send_batch(socket_.native_handle(), batch, ec);
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
                if (const auto from = from_asio_endpoint(self_->sender_)) {
                    *from_ = *from;
                } else {
                    // An IPv6 source cannot be named on the wire: drop it and wait for the next one.
                    receive(self);
                    return;
                }
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

    void open(bool relay)
    {
        namespace mc = asio::ip::multicast;
        std::error_code ec;
        if (options_.ttl < 0 || options_.ttl > 255)
            fail(std::make_error_code(std::errc::invalid_argument),
                 "multicast TTL " + std::to_string(options_.ttl) + " outside 0..255");
        if (relay && !options_.group.is_multicast())
            fail(std::make_error_code(std::errc::invalid_argument),
                 "group " + options_.group.to_string() + " is not a multicast address");
        socket_.open(asio::ip::udp::v4(), ec);
        if (ec)
            fail(ec, "cannot open a UDP socket");
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
        socket_.bind({asio::ip::address_v4::any(), port}, ec);
        if (ec)
            fail(ec, "cannot bind 0.0.0.0:" + std::to_string(port));
        if (relay) {
#if defined(__linux__) && defined(IP_MULTICAST_ALL)
            // By default Linux delivers to a 0.0.0.0-bound socket the traffic of every group any
            // socket of the host joined on that port; the relay wants only its own group.
            const int off = 0;
            if (::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_MULTICAST_ALL, &off, sizeof off) != 0)
                fail(std::error_code(errno, std::system_category()), "cannot clear IP_MULTICAST_ALL");
#endif
            socket_.set_option(mc::join_group(options_.group, options_.interface_address), ec);
            if (ec)
                fail(ec, "cannot join group " + options_.group.to_string() + " on interface " +
                             options_.interface_address.to_string());
        }
        socket_.set_option(mc::hops(options_.ttl), ec);
        if (ec)
            fail(ec, "cannot set IP_MULTICAST_TTL");
        socket_.set_option(mc::enable_loopback(options_.loopback), ec);
        if (ec)
            fail(ec, "cannot set IP_MULTICAST_LOOP");
        if (!options_.interface_address.is_unspecified()) {
            socket_.set_option(mc::outbound_interface(options_.interface_address), ec);
            if (ec)
                fail(ec, "cannot send multicast through interface " + options_.interface_address.to_string());
        }
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
    asio::ip::udp::endpoint sender_; // written by the pending receive (Asio needs it to outlive the call)
};

/// The common case: Asio's polymorphic I/O executor.
using asio_udp = basic_asio_udp<>;

static_assert(transport<asio_udp>, "asio_udp must model tlvcast::transport::transport");
static_assert(transport<basic_asio_udp<asio::io_context::executor_type>>,
              "basic_asio_udp<io_context executor> must model tlvcast::transport::transport");

} // namespace tlvcast::transport
