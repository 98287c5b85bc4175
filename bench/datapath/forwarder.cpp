// SPDX-License-Identifier: BSL-1.0
// forwarder: the best plain UDP forwarder we can write (no crypto), the baseline of the data-path benchmark.
//
// One thread, one socket bound to the group's port (joined to the group, as the relay): a blocking
// recvmmsg(MSG_WAITFORONE) takes up to `batch` waiting datagrams in one call, and one sendmmsg per
// receive batch sends each of them to every registered peer but its source. A 1-byte datagram 'R'
// registers its sender. 4 MiB socket buffers, Don't Fragment. SIGINT/SIGTERM stop it; it then prints one line of
// counters and its CPU time. Linux only. Used by bench/datapath.sh inside a private namespace.
#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

constexpr std::size_t batch = 64;             // datagrams per recvmmsg, as the relay's receive burst
constexpr std::size_t max_peers = 64;         // registered peers; more are ignored
constexpr std::size_t max_datagram = 2048;    // the benchmark's datagrams are far smaller
constexpr std::size_t send_chunk = 1024;      // the kernel's UIO_MAXIOV cap on one sendmmsg
constexpr int buffer_bytes = 4 << 20;         // SO_RCVBUF / SO_SNDBUF

volatile std::sig_atomic_t stop = 0;
void on_signal(int) { stop = 1; }

bool same(const sockaddr_in& a, const sockaddr_in& b)
{
    return a.sin_addr.s_addr == b.sin_addr.s_addr && a.sin_port == b.sin_port;
}

[[noreturn]] void die(const char* what)
{
    std::fprintf(stderr, "forwarder: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 3 || std::string(argv[1]) == "--help") {
        std::fprintf(stderr, "usage: forwarder GROUP PORT   (e.g. forwarder 224.1.1.1 5007)\n");
        return 2;
    }
    in_addr group{};
    if (::inet_pton(AF_INET, argv[1], &group) != 1)
        return std::fprintf(stderr, "forwarder: bad group %s\n", argv[1]), 2;
    const int port = std::atoi(argv[2]);

    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        die("socket");
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes) != 0)
        die("socket buffers");
    // Don't Fragment, as tlvcast's sockets send (asio_udp_options::dont_fragment): the kernel
    // then draws no IPv4 identification per datagram, a shared atomic per send.
    const int probe = IP_PMTUDISC_PROBE;
    if (::setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof probe) != 0)
        die("IP_MTU_DISCOVER");
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
        die("bind");
    ip_mreq join{};
    join.imr_multiaddr = group;
    if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof join) != 0)
        die("join group");

    // No SA_RESTART: a signal interrupts the blocking recvmmsg.
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);

    std::vector<sockaddr_in> peers;
    std::vector<std::byte> storage(batch * max_datagram);
    std::array<iovec, batch> in_iov{};
    std::array<sockaddr_in, batch> from{};
    std::array<mmsghdr, batch> in{};
    std::vector<iovec> out_iov(batch * max_peers);
    std::vector<mmsghdr> out(batch * max_peers);
    std::uint64_t received = 0, forwarded = 0, send_failed = 0, recv_calls = 0, send_calls = 0;

    std::printf("forwarder ready on port %d\n", port);
    std::fflush(stdout);
    while (!stop) {
        for (std::size_t i = 0; i < batch; ++i) {
            in_iov[i] = {storage.data() + i * max_datagram, max_datagram};
            in[i].msg_hdr = {};
            in[i].msg_hdr.msg_iov = &in_iov[i];
            in[i].msg_hdr.msg_iovlen = 1;
            in[i].msg_hdr.msg_name = &from[i];
            in[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
        }
        const int r = ::recvmmsg(fd, in.data(), batch, MSG_WAITFORONE, nullptr);
        ++recv_calls;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("recvmmsg");
        }
        std::size_t n_out = 0;
        for (int i = 0; i < r; ++i) {
            const auto len = in[i].msg_len;
            const auto* data = storage.data() + static_cast<std::size_t>(i) * max_datagram;
            if (len == 1 && data[0] == std::byte{'R'}) {
                if (peers.size() < max_peers &&
                    std::none_of(peers.begin(), peers.end(), [&](const sockaddr_in& p) { return same(p, from[i]); }))
                    peers.push_back(from[i]);
                continue;
            }
            ++received;
            for (auto& p : peers) {
                if (same(p, from[i]))
                    continue;
                // Zero copy: every recipient's entry points at the one received buffer.
                out_iov[n_out] = {const_cast<std::byte*>(data), len};
                out[n_out].msg_hdr = {};
                out[n_out].msg_hdr.msg_iov = &out_iov[n_out];
                out[n_out].msg_hdr.msg_iovlen = 1;
                out[n_out].msg_hdr.msg_name = &p;
                out[n_out].msg_hdr.msg_namelen = sizeof(sockaddr_in);
                ++n_out;
            }
        }
        // The socket blocks on a full send buffer: that is the forwarder's back-pressure.
        for (std::size_t done = 0; done < n_out;) {
            const unsigned want = static_cast<unsigned>(std::min(send_chunk, n_out - done));
            const int s = ::sendmmsg(fd, out.data() + done, want, 0);
            ++send_calls;
            if (s < 0) {
                if (errno == EINTR)
                    continue;
                ++send_failed; // one datagram refused for itself: skip it
                ++done;
                continue;
            }
            forwarded += static_cast<std::size_t>(s);
            done += static_cast<std::size_t>(s);
        }
    }
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
    std::printf("forwarder stats: peers=%zu received=%llu forwarded=%llu send_failed=%llu recvmmsg=%llu sendmmsg=%llu "
                "cpu_s=%.3f\n",
                peers.size(), static_cast<unsigned long long>(received), static_cast<unsigned long long>(forwarded),
                static_cast<unsigned long long>(send_failed), static_cast<unsigned long long>(recv_calls),
                static_cast<unsigned long long>(send_calls), cpu);
    ::close(fd);
    return 0;
}
