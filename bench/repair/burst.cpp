// SPDX-License-Identifier: BSL-1.0
// bench_repair_burst: one repairing hop simulated without I/O, to see where an unpaced burst's messages go.
//
// A diagnostic for bench/repair_vs_norm.sh's "tlvcast unpaced, 20 KB" cells (docs/BENCHMARKS.md,
// "Repair: tlvcast vs NORM"). A sender's fragment::nack_fragmenter splits N messages of S bytes at
// once (fragments sized as the secure profile's, as bench_repair_peer builds them), towards a
// receiver's; every datagram each way (data, NACKs, repairs, tails, GONE marks) is lost with
// probability P, after 0.1 ms of virtual latency. Time is virtual and the RNG seeded: a run
// replays exactly. Prints what the receiver completed, its unrecoverable notices, and the counters
// of both sides, including the inner reassembler's (which the programs' stats do not show).
//   bench_repair_burst [N=500] [S=20000] [P=0.05] [seed=1] [seconds=30]
#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>
#include <tlvcast/profile/secure.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <vector>

namespace {

namespace fragment = tlvcast::fragment;
using tlvcast::datagram_batch;
using tlvcast::endpoint;
using tlvcast::time_point;
#ifdef TLVCAST_HAS_OPENSSL
using cipher = tlvcast::profile::secure::openssl_cipher;
#else
using cipher = tlvcast::profile::secure::cryptopp_cipher;
#endif

fragment::nack_fragmenter make(std::uint64_t seed)
{
    const cipher c(cipher::generate());
    const std::size_t header = tlvcast::wire::tlv_header_size + tlvcast::wire::repair_header_size;
    return fragment::nack_fragmenter(
        fragment::seed_fragmenter(fragment::limits{}, c.fragment_payload() - header, c.max_whole() - header), {},
        seed);
}

struct in_flight {
    int to; // 0: the sender, 1: the receiver
    std::vector<std::byte> bytes;
};

} // namespace

int main(int argc, char** argv)
{
    const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 500;
    const std::size_t size = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 20000;
    const double p = argc > 3 ? std::strtod(argv[3], nullptr) : 0.05;
    const std::uint64_t seed = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1;
    const double seconds = argc > 5 ? std::strtod(argv[5], nullptr) : 30;

    std::mt19937_64 rng(seed);
    std::bernoulli_distribution lost(p);
    const endpoint addr[2] = {{0x7f000001u, 1000}, {0x7f000001u, 2000}};
    fragment::nack_fragmenter side[2] = {make(seed + 1), make(seed + 2)};
    const auto latency = std::chrono::microseconds(100);
    const time_point t0{};
    const time_point end = t0 + std::chrono::duration_cast<tlvcast::duration>(std::chrono::duration<double>(seconds));
    std::multimap<time_point, in_flight> wire;
    std::size_t dropped = 0, carried = 0;
    auto send = [&](int from, time_point now, datagram_batch& out) {
        for (std::size_t i = 0; i < out.size(); ++i) {
            ++carried;
            if (lost(rng)) {
                ++dropped;
                continue;
            }
            wire.emplace(now + latency, in_flight{1 - from, {out[i].bytes.begin(), out[i].bytes.end()}});
        }
        out.clear();
    };

    datagram_batch out;
    std::vector<std::byte> message(size), got;
    for (std::size_t i = 0; i < n; ++i) { // the unpaced burst: every message at t0
        message[0] = static_cast<std::byte>(i);
        std::error_code ec;
        side[0].split(message, addr[1], t0, out, ec);
        if (ec)
            std::printf("split %zu: %s\n", i, ec.message().c_str());
    }
    send(0, t0, out);

    std::size_t completed = 0, notices = 0;
    time_point now = t0, last_delivery = t0;
    while (now < end && completed < n) {
        time_point next = std::min(side[0].next_timer(), side[1].next_timer());
        if (!wire.empty())
            next = std::min(next, wire.begin()->first);
        if (next == tlvcast::no_timer || next > end) {
            now = end;
            break;
        }
        now = std::max(now, next);
        if (!wire.empty() && wire.begin()->first <= now) {
            auto node = wire.extract(wire.begin());
            const int at = node.mapped().to;
            tlvcast::wire::tlv_reader r(node.mapped().bytes);
            tlvcast::wire::tlv t;
            std::error_code ec;
            while (r.next(t, ec)) {
                if (fragment::nack_fragmenter::handles(t.type()))
                    side[at].handle_control(addr[1 - at], t, now, out, got, ec);
                else
                    side[at].reassemble(addr[1 - at], t.value, now, out, got, ec);
            }
            send(at, now, out);
        }
        for (int s = 0; s < 2; ++s)
            if (side[s].next_timer() <= now) {
                side[s].on_timer(now, out);
                send(s, now, out);
            }
        endpoint from;
        while (side[1].pop_message(from, got)) {
            ++completed;
            last_delivery = now;
        }
        fragment::repair_notice notice;
        while (side[1].pop_notice(notice))
            ++notices;
    }

    const auto a = side[0].stats(), b = side[1].stats();
    const auto ms = [&](time_point t) { return std::chrono::duration<double, std::milli>(t - t0).count(); };
    std::printf("messages=%zu size=%zu loss=%.2f seed=%llu: completed=%zu (%.1f%%) last_delivery_ms=%.1f "
                "unrecoverable_notices=%zu datagrams carried=%zu dropped=%zu end_ms=%.1f\n",
                n, size, p, static_cast<unsigned long long>(seed), completed, 100.0 * static_cast<double>(completed) / static_cast<double>(n), ms(last_delivery),
                notices, carried, dropped, ms(now));
    std::printf("sender: data_sent=%llu nacks_received=%llu repairs_sent=%llu gone_sent=%llu cache_evictions=%llu\n",
                static_cast<unsigned long long>(a.data_sent), static_cast<unsigned long long>(a.nacks_received),
                static_cast<unsigned long long>(a.repairs_sent), static_cast<unsigned long long>(a.gone_sent),
                static_cast<unsigned long long>(a.cache_evictions));
    std::printf("receiver: nacks_sent=%llu unrecoverable=%llu held_dropped=%llu duplicates=%llu; inner reassembler: "
                "completed=%llu sender_busy_drops=%llu full_messages_drops=%llu full_bytes_drops=%llu timeouts=%llu\n",
                static_cast<unsigned long long>(b.nacks_sent), static_cast<unsigned long long>(b.unrecoverable),
                static_cast<unsigned long long>(b.held_dropped), static_cast<unsigned long long>(b.duplicates),
                static_cast<unsigned long long>(b.reassembly.messages_completed),
                static_cast<unsigned long long>(b.reassembly.sender_busy_drops),
                static_cast<unsigned long long>(b.reassembly.full_messages_drops),
                static_cast<unsigned long long>(b.reassembly.full_bytes_drops),
                static_cast<unsigned long long>(b.reassembly.timeouts));
    return 0;
}
