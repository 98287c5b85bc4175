// SPDX-License-Identifier: BSL-1.0
// Fuzz harness: arbitrary datagrams into a secure relay engine and a secure client engine mid-handshake.
#include <tlvcast/profile/secure/cipher.hpp>

#include <tlvcast/core/client_engine.hpp>
#include <tlvcast/core/relay_engine.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

// Input: a script of steps. Each step picks an operation from one byte:
//   0: a fuzz datagram to the relay from one of four sources (the honest client's address among them);
//   1: a fuzz datagram to the client from the relay's address (or a stranger's);
//   2: an honest datagram seen so far, replayed with one byte XORed (0 = unchanged), to its destination;
//   3: let the honest parties exchange what they have queued; 4: advance the clock.
// Invariants (abort on violation): the relay's pending table stays within max_pending; the relay
// registers only the honest client (the only party that can sign as itself) at its own address;
// the client is only ever registered to the pinned relay identity.

namespace {

using namespace tlvcast;
using cipher = profile::secure::cipher;
using client_engine = core::client_engine<cipher, fragment::seed_fragmenter>;
using relay_engine = core::relay_engine<cipher, fragment::seed_fragmenter>;

constexpr endpoint relay_addr{0x7f000001u, 5007};
constexpr endpoint group{0xe0010101u, 5007};
constexpr endpoint client_addr{0x0a000001u, 40000};
constexpr std::size_t max_pending = 16;

const crypto::ed25519_keypair& id(int which)
{
    static const crypto::ed25519_keypair relay_id = crypto::generate_ed25519<crypto::default_suite>();
    static const crypto::ed25519_keypair client_id = crypto::generate_ed25519<crypto::default_suite>();
    return which == 0 ? relay_id : client_id;
}

void check(bool ok, const char* what)
{
    if (!ok) {
        std::fprintf(stderr, "invariant violated: %s\n", what);
        std::abort();
    }
}

struct datagram {
    endpoint from, to;
    std::vector<std::byte> bytes;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    FuzzedDataProvider in(data, size);
    profile::secure::options ropt;
    ropt.max_pending = max_pending;
    ropt.handshake_limits.per_source_burst = 1000; // let the fuzzer reach the pending bound
    relay_engine relay(cipher(id(0), ropt), fragment::seed_fragmenter(1));
    core::client_options copt;
    copt.trust = crypto::relay_trust::pin(crypto::fingerprint_of<crypto::default_suite>(id(0).public_key));
    cipher client_cipher(id(1));
    const std::size_t payload = client_cipher.fragment_payload();
    client_engine client(std::move(client_cipher), fragment::seed_fragmenter(2, {}, payload), std::move(copt));
    const auto relay_fp = crypto::fingerprint_of<crypto::default_suite>(id(0).public_key);
    const auto client_fp = crypto::fingerprint_of<crypto::default_suite>(id(1).public_key);

    time_point now{};
    datagram_batch out;
    std::vector<core::relay_event> events;
    std::vector<datagram> queue, seen;
    auto take = [&](const endpoint& from) {
        for (std::size_t i = 0; i < out.size(); ++i) {
            datagram d{from, out[i].to == group ? relay_addr : out[i].to, {out[i].bytes.begin(), out[i].bytes.end()}};
            if (seen.size() < 256)
                seen.push_back(d);
            queue.push_back(std::move(d));
        }
        out.clear();
    };
    auto deliver = [&](const datagram& d) {
        if (d.to == relay_addr) {
            relay.handle(d.from, d.bytes, now, out, events);
            take(relay_addr);
        } else if (d.to == client_addr) {
            client.handle(d.from, d.bytes, now, out);
            take(client_addr);
        }
    };
    auto exchange = [&](int rounds) {
        for (int r = 0; r < rounds && !queue.empty(); ++r) {
            auto q = std::move(queue);
            queue.clear();
            for (const auto& d : q)
                deliver(d);
        }
    };
    // Mid-handshake: hello, cookie, hello with cookie, server hello (queued to the client).
    client.start(now, out);
    take(client_addr);
    exchange(3);

    const endpoint sources[] = {client_addr, {0x0a000002u, 40001}, {0x0b000001u, 1}, relay_addr};
    for (int step = 0; step < 64 && in.remaining_bytes() > 0; ++step) {
        switch (in.ConsumeIntegralInRange<int>(0, 4)) {
        case 0: {
            const endpoint from = sources[in.ConsumeIntegralInRange<std::size_t>(0, 3)];
            const auto bytes = in.ConsumeBytes<std::byte>(in.ConsumeIntegralInRange<std::size_t>(0, 1500));
            relay.handle(from, bytes, now, out, events);
            take(relay_addr);
            break;
        }
        case 1: {
            const endpoint from = in.ConsumeBool() ? relay_addr : sources[1];
            const auto bytes = in.ConsumeBytes<std::byte>(in.ConsumeIntegralInRange<std::size_t>(0, 1500));
            client.handle(from, bytes, now, out);
            take(client_addr);
            break;
        }
        case 2: {
            if (seen.empty())
                break;
            datagram d = seen[in.ConsumeIntegralInRange<std::size_t>(0, seen.size() - 1)];
            const auto at = in.ConsumeIntegral<std::uint16_t>();
            const auto x = in.ConsumeIntegral<std::uint8_t>();
            if (!d.bytes.empty())
                d.bytes[at % d.bytes.size()] ^= static_cast<std::byte>(x);
            deliver(d);
            break;
        }
        case 3: exchange(in.ConsumeIntegralInRange<int>(1, 4)); break;
        case 4:
            now += std::chrono::milliseconds(in.ConsumeIntegralInRange<int>(0, 20'000));
            relay.on_timer(now, out, events);
            take(relay_addr);
            client.on_timer(now, out);
            take(client_addr);
            break;
        }
        check(relay.cipher().pending_handshakes() <= max_pending, "pending table bounded");
        for (const auto& e : events)
            if (e.what == core::relay_event::kind::registered)
                check(e.peer == client_addr && e.identity == client_fp, "registration only with a valid signature");
        events.clear();
        core::client_event ev;
        while (client.poll_event(ev))
            if (ev.what == core::client_event::kind::registered)
                check(ev.identity == relay_fp, "client registered only to the pinned relay");
        if (queue.size() > 4096)
            queue.clear();
    }
    return 0;
}
