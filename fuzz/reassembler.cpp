// SPDX-License-Identifier: BSL-1.0
// libFuzzer harness for tlvcast::fragment::reassembler: hostile fragment streams against a shadow model.
//
// Input: records of (sender byte, time byte, length byte, FRAGMENT value of `length` bytes; the
// last record takes what is left). Sender: low 4 bits pick one of 16 peers. Time: bit 7 forgets
// the peer first; bits 0-6 advance a virtual clock by that many 50 ms steps, then on_timer() runs.
// A shadow model (the fragments accepted per (sender, msg_id) still in flight) checks after every
// step: every limit; buffered_bytes() and messages_in_flight() equal the model's; a completed
// message is exactly its fragments in seq order (so its size is their sum); a stored fragment was
// new; duplicates and mismatches are reported as such; a just-completed message cannot complete
// again; every fragment is counted once.
#include <tlvcast/fragment/reassembler.hpp>

#include "fuzz_check.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <span>
#include <utility>
#include <vector>

namespace {

using namespace tlvcast;
using namespace std::chrono_literals;

fragment::limits small_limits()
{
    fragment::limits l;
    l.max_fragments_per_message = 6;
    l.max_message_bytes = 400;
    l.max_messages_per_sender = 3;
    l.max_messages_in_flight = 8;
    l.max_buffered_bytes = 600;
    l.timeout = 1s;
    l.completed_ids_per_sender = 3;
    l.max_idle_senders = 4;
    l.pooled_buffers = 2;
    return l;
}

struct shadow_message {
    std::uint16_t total = 0;
    std::map<std::uint16_t, std::vector<std::byte>> parts;
};
using key = std::pair<std::uint8_t, std::uint32_t>;

std::uint16_t u16(const std::byte* p)
{
    return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) | std::to_integer<unsigned>(p[1]));
}

void check_accounting(const fragment::reassembler& r)
{
    const auto& s = r.stats();
    FUZZ_CHECK(s.fragments_received == s.fragments_accepted + s.duplicates + s.mismatches + s.malformed +
                                           s.fragment_limit_drops + s.message_too_large_drops + s.sender_busy_drops +
                                           s.full_messages_drops + s.full_bytes_drops);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto lim = small_limits();
    fragment::reassembler r(lim);
    std::map<key, shadow_message> shadow;
    std::vector<std::byte> message;
    time_point now = time_point{} + 1000s;
    const auto* in = reinterpret_cast<const std::byte*>(data);
    std::size_t pos = 0;

    while (pos + 3 <= size) {
        const auto sender = static_cast<std::uint8_t>(std::to_integer<unsigned>(in[pos]) & 0x0fu);
        const auto step = std::to_integer<unsigned>(in[pos + 1]);
        std::size_t len = std::to_integer<unsigned>(in[pos + 2]);
        pos += 3;
        len = std::min(len, size - pos);
        const std::span<const std::byte> value(in + pos, len);
        pos += len;
        const endpoint from{0x0a000000u + sender, 4000};

        if (step & 0x80u) {
            r.forget(from);
            for (auto it = shadow.begin(); it != shadow.end();) {
                if (it->first.first != sender) {
                    ++it;
                    continue;
                }
                FUZZ_CHECK(!r.in_flight(from, it->first.second));
                it = shadow.erase(it);
            }
        }
        now += (step & 0x7fu) * 50ms;
        r.on_timer(now);
        FUZZ_CHECK(r.next_timer() > now);

        // The model's view of this fragment, parsed by hand.
        const bool well_formed = len >= 8 && u16(in + (pos - len) + 6) != 0 &&
                                 u16(in + (pos - len) + 4) < u16(in + (pos - len) + 6);
        std::uint32_t msg_id = 0;
        std::uint16_t seq = 0, total = 0;
        std::span<const std::byte> payload;
        if (well_formed) {
            msg_id = (std::uint32_t{u16(value.data())} << 16) | u16(value.data() + 2);
            seq = u16(value.data() + 4);
            total = u16(value.data() + 6);
            payload = value.subspan(8);
        }
        const key k{sender, msg_id};
        const bool was_in_flight = well_formed && r.in_flight(from, msg_id);
        if (well_formed && !was_in_flight)
            shadow.erase(k); // completed, timed out or abandoned since the model last saw it
        const std::size_t in_flight_before = r.messages_in_flight();

        std::error_code ec;
        const bool done = r.reassemble(from, value, now, message, ec);

        FUZZ_CHECK(!(done && ec));
        FUZZ_CHECK(well_formed == !(ec == errc::truncated_header || ec == errc::fragment_total_zero ||
                                    ec == errc::fragment_seq_out_of_range));
        if (well_formed && was_in_flight && total <= lim.max_fragments_per_message &&
            payload.size() <= lim.max_message_bytes) {
            const auto& sm = shadow.at(k);
            if (total != sm.total)
                FUZZ_CHECK(ec == errc::fragment_mismatch);
            else if (sm.parts.count(seq))
                FUZZ_CHECK(ec == errc::duplicate_fragment);
        }
        if (ec == errc::reassembly_message_too_large && was_in_flight)
            FUZZ_CHECK(!r.in_flight(from, msg_id)); // a message that cannot fit is abandoned
        if (ec)
            FUZZ_CHECK(r.messages_in_flight() <= in_flight_before);

        if (done) {
            std::vector<std::byte> expected;
            if (was_in_flight) {
                auto& sm = shadow.at(k);
                FUZZ_CHECK(sm.total == total);
                FUZZ_CHECK(sm.parts.size() + 1 == total);
                FUZZ_CHECK(!sm.parts.count(seq));
                sm.parts[seq].assign(payload.begin(), payload.end());
                for (const auto& [s, bytes] : sm.parts)
                    expected.insert(expected.end(), bytes.begin(), bytes.end());
                shadow.erase(k);
            } else {
                FUZZ_CHECK(total == 1);
                expected.assign(payload.begin(), payload.end());
            }
            FUZZ_CHECK(message.size() == expected.size());
            FUZZ_CHECK(message == expected);
            FUZZ_CHECK(!r.in_flight(from, msg_id));
            // The same fragment again at once must be a duplicate, never a second delivery.
            std::vector<std::byte> again;
            std::error_code ec2;
            FUZZ_CHECK(!r.reassemble(from, value, now, again, ec2));
            FUZZ_CHECK(ec2 == errc::duplicate_fragment);
        } else if (!ec) {
            FUZZ_CHECK(well_formed);
            FUZZ_CHECK(r.in_flight(from, msg_id));
            auto& sm = shadow[k];
            if (sm.parts.empty())
                sm.total = total;
            FUZZ_CHECK(sm.total == total);
            FUZZ_CHECK(!sm.parts.count(seq));
            sm.parts[seq].assign(payload.begin(), payload.end());
        }

        // The model and the reassembler agree on what is buffered.
        std::size_t bytes = 0;
        std::map<std::uint8_t, std::size_t> per_sender;
        for (auto it = shadow.begin(); it != shadow.end();) {
            if (!r.in_flight(endpoint{0x0a000000u + it->first.first, 4000}, it->first.second)) {
                it = shadow.erase(it);
                continue;
            }
            for (const auto& [s, b] : it->second.parts)
                bytes += b.size();
            FUZZ_CHECK(++per_sender[it->first.first] <= lim.max_messages_per_sender);
            FUZZ_CHECK(it->second.parts.size() < it->second.total);
            ++it;
        }
        FUZZ_CHECK(r.buffered_bytes() == bytes);
        FUZZ_CHECK(r.messages_in_flight() == shadow.size());
        FUZZ_CHECK(r.buffered_bytes() <= lim.max_buffered_bytes);
        FUZZ_CHECK(r.messages_in_flight() <= lim.max_messages_in_flight);
        FUZZ_CHECK(r.senders() <= lim.max_messages_in_flight + lim.max_idle_senders);
        FUZZ_CHECK((r.next_timer() == no_timer) == (r.messages_in_flight() == 0));
        check_accounting(r);
    }
    return 0;
}
