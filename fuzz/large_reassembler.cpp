// SPDX-License-Identifier: BSL-1.0
// libFuzzer harness for tlvcast::core::large_reassembler: hostile part streams against a shadow model.
//
// Input: records of (sender byte, time byte, length byte, part value of `length` bytes; the last
// record takes what is left). Sender: low 2 bits pick one of 4 senders; bit 7 forgets its address
// first. Time: advances a virtual clock by that many 20 ms steps, then on_timer() runs. The shadow
// (each sender's message: id, total, bytes so far) checks after every step: the limits;
// reserved_bytes() and in_flight() equal the model's; a completed message is exactly the model's
// bytes; every part counts once, kept or in one drop counter.
#include <tlvcast/core/large_message.hpp>

#include "fuzz_check.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <map>
#include <span>
#include <string>

namespace {

using namespace tlvcast;
using namespace std::chrono_literals;

core::large_limits small_limits()
{
    core::large_limits l;
    l.max_message_bytes = 1000;
    l.max_total_bytes = 1500;
    l.max_senders = 3;
    l.timeout = 200ms;
    return l;
}

struct shadow {
    std::uint32_t id = 0, total = 0;
    std::string data;
    time_point last{};
};

std::uint32_t u32(const std::byte* p)
{
    return (std::uint32_t{std::to_integer<unsigned char>(p[0])} << 24) |
           (std::uint32_t{std::to_integer<unsigned char>(p[1])} << 16) |
           (std::uint32_t{std::to_integer<unsigned char>(p[2])} << 8) | std::to_integer<unsigned char>(p[3]);
}

std::uint64_t kept_or_dropped(const core::large_stats& s)
{
    return s.malformed + s.too_large + s.over_budget + s.busy + s.orphans + s.mismatches;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const core::large_limits lim = small_limits();
    core::large_reassembler r(lim);
    std::map<core::large_sender, shadow> model;
    std::size_t reserved = 0;
    std::uint64_t parts = 0, kept = 0, completed = 0;
    time_point now{};
    std::string out;
    const auto* p = reinterpret_cast<const std::byte*>(data);
    std::size_t at = 0;
    while (at + 3 <= size) {
        const unsigned who = std::to_integer<unsigned>(p[at]);
        const unsigned steps = std::to_integer<unsigned>(p[at + 1]);
        std::size_t n = std::to_integer<unsigned>(p[at + 2]);
        at += 3;
        n = std::min(n, size - at);
        const core::large_sender from{{0x0a000001u + (who & 3u), 1000}, std::nullopt};
        if (who & 0x80u) {
            r.forget(from.peer);
            if (const auto it = model.find(from); it != model.end()) {
                reserved -= it->second.total;
                model.erase(it);
            }
        }
        now += steps * 20ms;
        r.on_timer(now);
        for (auto it = model.begin(); it != model.end();)
            if (now - it->second.last >= lim.timeout) {
                reserved -= it->second.total;
                it = model.erase(it);
            } else {
                ++it;
            }
        // What the shadow expects of this part.
        const std::span<const std::byte> value(p + at, n);
        at += n;
        ++parts;
        std::error_code ec;
        const bool done = r.add(from, value, now, out, ec);
        bool want_done = false, want_kept = false;
        std::string want;
        if (n >= 12) {
            const std::uint32_t id = u32(value.data()), total = u32(value.data() + 4), offset = u32(value.data() + 8);
            const std::size_t len = n - 12;
            const char* bytes = reinterpret_cast<const char*>(value.data() + 12);
            const bool fits = offset <= total && len <= total - offset;
            auto it = model.find(from);
            if (!fits) {
            } else if (offset == 0) {
                if (it != model.end()) {
                    reserved -= it->second.total;
                    model.erase(it);
                }
                if (total > lim.max_message_bytes) {
                } else if (len == total) {
                    want_done = true;
                    want.assign(bytes, len);
                } else if (model.size() < lim.max_senders && total <= lim.max_total_bytes - reserved) {
                    model[from] = {id, total, std::string(bytes, len), now};
                    reserved += total;
                    want_kept = true;
                }
            } else if (it != model.end()) {
                shadow& m = it->second;
                if (id == m.id && total == m.total && offset == m.data.size()) {
                    m.data.append(bytes, len);
                    m.last = now;
                    want_kept = true;
                    if (m.data.size() == m.total) {
                        want_done = true;
                        want = std::move(m.data);
                        reserved -= m.total;
                        model.erase(it);
                    }
                } else {
                    reserved -= m.total;
                    model.erase(it);
                }
            }
        }
        FUZZ_CHECK(done == want_done);
        FUZZ_CHECK(!done || out == want);
        FUZZ_CHECK(done || want_kept == !ec);
        kept += want_kept || want_done;
        completed += done;
        FUZZ_CHECK(r.reserved_bytes() == reserved);
        FUZZ_CHECK(r.reserved_bytes() <= lim.max_total_bytes);
        FUZZ_CHECK(r.in_flight() == model.size());
        FUZZ_CHECK(r.in_flight() <= lim.max_senders);
        FUZZ_CHECK(r.stats().parts_received == parts);
        FUZZ_CHECK(r.stats().messages_completed == completed);
        FUZZ_CHECK(kept + kept_or_dropped(r.stats()) == parts);
    }
    return 0;
}
