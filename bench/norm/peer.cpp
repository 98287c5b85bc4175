// SPDX-License-Identifier: BSL-1.0
// bench_norm_peer: one NORM (RFC 5740, Debian's libnorm) peer of bench/repair_vs_norm.sh, sender or receiver.
//
// The baseline of the repair benchmark, tuned as issue 9 asks ("NORM at its best"): explicit node
// ids (sender 1, receivers 2..), NormSetRxPortReuse and multicast loopback (all on one host),
// NormSetGrttEstimate(0.01), NORM_SYNC_ALL, a fixed rate (--rate-bps) or congestion control
// (--cc, starting at --rate-bps), FEC parity for repair (--parity, proactive parity 0). One message
// is one NORM_OBJECT_DATA; the sender's cache keeps all of them (no object is purged before the run
// ends), so every loss is repairable. NORM sends sender -> receivers over multicast: there is no relay.
//   --send N --size S [--rate-bps B] [--cc]   enqueue N messages of S bytes at once (NORM paces them
//                                             at B bits/s, repairs included), then serve repairs until
//                                             SIGTERM or --seconds
//   --receive N --size S --id K               print "ready", count completed objects until N distinct
//                                             ones arrived or --seconds passed
// Message i as bench_repair_peer's (bench/repair/peer.cpp): its number, then bytes that depend on
// it; every byte is checked. Times are CLOCK_MONOTONIC in ns. One line of key=value at the end.
#include <normApi.h>

#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct settings {
    bool send = false, cc = false;
    std::size_t count = 0, size = 100;
    double rate_bps = 1e6;
    unsigned id = 0; // receivers: 2, 3, 4...
    std::uint16_t port = 6003, segment = 1400, block = 64, parity = 16;
    std::string group = "224.1.2.3";
    double seconds = 60;
    unsigned debug = 0;     // NORM's debug level (--debug N), to --debug-log FILE
    std::string debug_log;
};

volatile sig_atomic_t stop_requested = 0;

std::int64_t now_ns()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void fill(char* p, std::size_t size, std::uint64_t seq)
{
    std::memcpy(p, &seq, sizeof seq);
    for (std::size_t i = sizeof seq; i < size; ++i)
        p[i] = static_cast<char>(static_cast<unsigned char>(seq * 131 + i));
}

// Waits for the instance's next event, at most `ms`; false when none came.
bool next_event(NormInstanceHandle inst, NormEvent& ev, int ms)
{
    pollfd p{NormGetDescriptor(inst), POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0)
        return false;
    return NormGetNextEvent(inst, &ev, false);
}

int run(const settings& s)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(s.seconds);
    auto expired = [&] { return stop_requested || std::chrono::steady_clock::now() >= deadline; };
    NormInstanceHandle inst = NormCreateInstance();
    if (inst == NORM_INSTANCE_INVALID)
        throw std::runtime_error("NormCreateInstance failed");
    if (s.debug > 0) {
        NormSetDebugLevel(s.debug);
        if (!s.debug_log.empty())
            NormOpenDebugLog(inst, s.debug_log.c_str());
    }
    NormSessionHandle session = NormCreateSession(inst, s.group.c_str(), s.port, s.send ? 1 : s.id);
    if (session == NORM_SESSION_INVALID)
        throw std::runtime_error("NormCreateSession failed");
    NormSetRxPortReuse(session, true);
    NormSetMulticastLoopback(session, true);
    NormSetGrttEstimate(session, 0.01);
    NormSetDefaultSyncPolicy(session, NORM_SYNC_ALL);
    NormSetRxSocketBuffer(session, 4 << 20);
    NormSetTxSocketBuffer(session, 4 << 20);

    std::vector<std::vector<char>> messages; // the sender's: NORM sends DATA objects from the caller's memory
    std::vector<bool> seen(s.count, false);
    std::vector<char> expect(s.size);
    std::size_t distinct = 0, delivered = 0, out_of_order = 0, damaged = 0, aborted = 0, enqueued = 0;
    std::uint64_t highest = 0;
    std::int64_t first_ns = 0, last_ns = 0;
    const char* end = "time limit";

    if (s.send) {
        NormSetTxRate(session, s.rate_bps);
        if (s.cc)
            NormSetCongestionControl(session, true);
        // Keep every object for repair for the whole run (count and bytes), so none is purged early.
        NormSetTxCacheBounds(session, static_cast<NormSize>(s.count * s.size * 2 + (64 << 20)),
                             static_cast<std::uint32_t>(s.count), static_cast<std::uint32_t>(s.count));
        const std::uint32_t buffer = static_cast<std::uint32_t>(std::min<std::size_t>(s.count * s.size * 2 + (16 << 20),
                                                                                        512u << 20));
        if (!NormStartSender(session, NormGetRandomSessionId(), buffer, s.segment, s.block, s.parity))
            throw std::runtime_error("NormStartSender failed");
        messages.resize(s.count);
        first_ns = now_ns();
        for (; enqueued < s.count; ++enqueued) {
            messages[enqueued].resize(s.size);
            fill(messages[enqueued].data(), s.size, enqueued);
            if (NormDataEnqueue(session, messages[enqueued].data(), static_cast<std::uint32_t>(s.size)) ==
                NORM_OBJECT_INVALID) {
                // The cache holds every message, so a refusal means the transmit queue is full: wait for room.
                NormEvent ev;
                while (!expired() && !(next_event(inst, ev, 100) && ev.type == NORM_TX_QUEUE_VACANCY)) {
                }
                if (expired())
                    break;
                --enqueued;
                continue;
            }
        }
        // Serve repairs until told to stop (the script does once every receiver is done).
        NormEvent ev;
        while (!expired()) {
            if (next_event(inst, ev, 100) && ev.type == NORM_TX_QUEUE_EMPTY && last_ns == 0)
                last_ns = now_ns();
        }
        end = stop_requested ? "signal" : "time limit";
        std::printf("norm sender: sent=%zu first_send_ns=%lld queue_empty_ns=%lld rate_bps=%.0f cc=%d end=%s "
                    "final_rate_bps=%.0f grtt=%.4f\n",
                    enqueued, static_cast<long long>(first_ns), static_cast<long long>(last_ns), s.rate_bps, s.cc ? 1 : 0,
                    end, NormGetTxRate(session), NormGetGrttEstimate(session));
    } else {
        // Track every message as pending if need be (the default, 256 objects, gave up on old gaps
        // once newer objects ran 256 ahead: lost messages at 5% loss).
        NormSetRxCacheLimit(session, static_cast<unsigned short>(std::min<std::size_t>(s.count, 0x7fff)));
        if (!NormStartReceiver(session, 64u << 20))
            throw std::runtime_error("NormStartReceiver failed");
        std::printf("ready\n");
        std::fflush(stdout);
        NormEvent ev;
        while (distinct < s.count && !expired()) {
            if (!next_event(inst, ev, 100))
                continue;
            if (ev.type == NORM_RX_OBJECT_ABORTED) {
                ++aborted;
                continue;
            }
            if (ev.type != NORM_RX_OBJECT_COMPLETED || NormObjectGetType(ev.object) != NORM_OBJECT_DATA)
                continue;
            const char* data = NormDataAccessData(ev.object);
            const auto size = static_cast<std::size_t>(NormObjectGetSize(ev.object));
            std::uint64_t seq = UINT64_MAX;
            if (size >= sizeof seq)
                std::memcpy(&seq, data, sizeof seq);
            if (seq >= s.count || size != s.size) {
                ++damaged;
                continue;
            }
            fill(expect.data(), s.size, seq);
            if (std::memcmp(data, expect.data(), s.size) != 0) {
                ++damaged;
                continue;
            }
            last_ns = now_ns();
            if (first_ns == 0)
                first_ns = last_ns;
            if (delivered > 0 && seq < highest)
                ++out_of_order;
            highest = std::max(highest, seq);
            ++delivered;
            if (!seen[seq]) {
                seen[seq] = true;
                ++distinct;
            }
        }
        end = distinct == s.count ? "complete" : stop_requested ? "signal" : "time limit";
        std::string missing; // the first few, to tell a lost tail from a lost head
        for (std::size_t i = 0, n = 0; i < s.count && n < 8; ++i)
            if (!seen[i])
                missing += (n++ ? "," : "") + std::to_string(i);
        std::printf("norm receiver: expected=%zu distinct=%zu delivered=%zu duplicates=%zu out_of_order=%zu damaged=%zu "
                    "unrecoverable=%zu first_ns=%lld last_ns=%lld end=%s missing=%s\n",
                    s.count, distinct, delivered, delivered - distinct, out_of_order, damaged, aborted,
                    static_cast<long long>(first_ns), static_cast<long long>(last_ns), end,
                    missing.empty() ? "none" : missing.c_str());
    }
    std::fflush(stdout);
    // No orderly NormStopSender/NormDestroyInstance: the process ends here and the kernel closes the sockets.
    return 0;
}

settings parse(int argc, char** argv)
{
    settings s;
    bool role = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                throw std::invalid_argument("option " + a + " needs a value");
            return argv[++i];
        };
        if (a == "--send" || a == "--receive") {
            s.send = a == "--send";
            s.count = std::stoul(value());
            role = true;
        } else if (a == "--size") s.size = std::max<std::size_t>(std::stoul(value()), 8);
        else if (a == "--rate-bps") s.rate_bps = std::stod(value());
        else if (a == "--cc") s.cc = true;
        else if (a == "--id") s.id = static_cast<unsigned>(std::stoul(value()));
        else if (a == "--port") s.port = static_cast<std::uint16_t>(std::stoul(value()));
        else if (a == "--group") s.group = value();
        else if (a == "--segment") s.segment = static_cast<std::uint16_t>(std::stoul(value()));
        else if (a == "--block") s.block = static_cast<std::uint16_t>(std::stoul(value()));
        else if (a == "--parity") s.parity = static_cast<std::uint16_t>(std::stoul(value()));
        else if (a == "--seconds") s.seconds = std::stod(value());
        else if (a == "--debug") s.debug = static_cast<unsigned>(std::stoul(value()));
        else if (a == "--debug-log") s.debug_log = value();
        else
            throw std::invalid_argument("unknown option " + a + " (see the comment at the top of bench/norm/peer.cpp)");
    }
    if (!role || (!s.send && s.id < 2))
        throw std::invalid_argument("--send N, or --receive N with --id K (K >= 2; the sender is node 1)");
    return s;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        const settings s = parse(argc, argv);
        struct sigaction sa {};
        sa.sa_handler = [](int) { stop_requested = 1; };
        ::sigaction(SIGTERM, &sa, nullptr);
        ::sigaction(SIGINT, &sa, nullptr);
        const int rc = run(s);
        std::_Exit(rc);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_norm_peer: %s\n", e.what());
        return 1;
    }
}
