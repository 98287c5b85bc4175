// SPDX-License-Identifier: BSL-1.0
// libFuzzer harness: arbitrary datagrams into the seed profile's relay and client engines.
//
// Input: records of [selector byte][length byte][bytes]. The selector picks the target (relay or
// client), the source (a registered client, a stranger, the relay) and a time step. One registered
// client lets fragments reach reassembly and decryption; the client engine is registered with the
// relay before the fuzz input runs. Invariants after every step: the relay's table stays within
// its limit, and no forged input is ever accepted as a message: the relay has opened exactly one
// message (the client's CONNECT) and the client none (it cannot forge RSA-OAEP ciphertexts for
// either key, so any more would be a parser or decryption bug).
#include <tlvcast/core/client_engine.hpp>
#include <tlvcast/core/relay_engine.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>
#include <tlvcast/profile/seed/rsa_oaep.hpp>

#include <cstdlib>
#include <memory>

using namespace tlvcast;

namespace {

using client_type = core::client_engine<seed::rsa_oaep, fragment::seed_fragmenter>;
using relay_type = core::relay_engine<seed::rsa_oaep, fragment::seed_fragmenter>;

constexpr endpoint group{0xe0010101u, 5007};
constexpr endpoint relay_ep{0x7f000001u, 5007};
constexpr endpoint member{0x7f000001u, 40001};
constexpr endpoint stranger{0x7f000001u, 40002};

fragment::limits small_limits()
{
    fragment::limits l;
    l.max_messages_in_flight = 64;
    l.max_buffered_bytes = 64 * 1024;
    l.max_messages_per_sender = 8;
    return l;
}

const crypto::default_rsa::private_key& key(int i)
{
    static const crypto::default_rsa::private_key keys[2] = {crypto::default_rsa::generate(2048),
                                                              crypto::default_rsa::generate(2048)};
    return keys[i];
}

void check(bool ok)
{
    if (!ok)
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    core::relay_options ropt;
    ropt.max_clients = 8;
    relay_type relay(seed::rsa_oaep(key(0)), fragment::seed_fragmenter(1, small_limits()), ropt);
    core::client_options copt;
    copt.relay = group;
    client_type client(seed::rsa_oaep(key(1)), fragment::seed_fragmenter(2, small_limits()), copt);

    time_point now{};
    datagram_batch out, scratch;
    std::vector<core::relay_event> events;
    // Register the client with the relay: 4 and 7 from the client, 5 back, then CONNECT.
    client.start(now, out);
    for (int round = 0; round < 3; ++round) {
        scratch.clear();
        for (std::size_t i = 0; i < out.size(); ++i) {
            if (out[i].to == group)
                relay.handle(member, out[i].bytes, now, scratch, events);
            else
                client.handle(relay_ep, out[i].bytes, now, scratch);
        }
        std::swap(out, scratch);
    }
    check(client.current_state() == client_type::state::established);

    const auto* p = reinterpret_cast<const std::byte*>(data);
    std::size_t left = size;
    while (left >= 2) {
        const auto selector = std::to_integer<unsigned>(p[0]);
        const std::size_t n = std::min<std::size_t>(std::to_integer<unsigned>(p[1]) * 4u, left - 2);
        const std::span<const std::byte> datagram(p + 2, n);
        p += 2 + n;
        left -= 2 + n;
        now += std::chrono::milliseconds(selector >> 4) * 300; // up to 4.5 s per step: timeouts happen
        out.clear();
        events.clear();
        if (selector & 1) {
            client.handle(selector & 2 ? relay_ep : stranger, datagram, now, out);
            client.on_timer(now, out);
        } else {
            relay.handle(selector & 2 ? member : stranger, datagram, now, out, events);
            relay.on_timer(now, out, events);
        }
        check(relay.client_count() <= ropt.max_clients);
        check(relay.counters().get(core::relay_counter::messages_in) == 1);
        check(client.counters().get(core::client_counter::messages_received) == 0);
        core::client_event ev;
        while (client.poll_event(ev))
            check(ev.what != core::client_event::kind::message);
    }
    return 0;
}
