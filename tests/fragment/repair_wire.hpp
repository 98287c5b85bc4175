// SPDX-License-Identifier: BSL-1.0
// Shared by the repairing fragmenter's two-party tests (nack_restart.cpp, review_restart_start.cpp,
// review_unordered.cpp): datagrams carried from one nack_fragmenter into another, crafted control
// TLVs fed in, timers run.
#pragma once

#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/wire/repair.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <system_error>
#include <vector>

namespace tlvcast::test {

/// Every datagram of `out` addressed to `to` (and kept by `keep`, given its index) into `f`, as
/// from `from`; `answers` gets f's replies.
inline void carry(const datagram_batch& out, const endpoint& from, const endpoint& to, fragment::nack_fragmenter& f,
                  time_point now, datagram_batch& answers, const std::function<bool(std::size_t)>& keep = {})
{
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (!(out[i].to == to) || (keep && !keep(i)))
            continue;
        std::error_code ec;
        const wire::tlv t = wire::read_outer(out[i].bytes, ec);
        REQUIRE_FALSE(ec);
        std::vector<std::byte> m;
        if (f.handles(t.type()))
            f.handle_control(from, t, now, answers, m, ec);
    }
}

/// One crafted control TLV into `f` as from `from`; the error it reported (`answers` gets f's replies).
inline std::error_code control(fragment::nack_fragmenter& f, const endpoint& from, const std::vector<std::byte>& tlv,
                               time_point now, datagram_batch& answers)
{
    std::error_code ec;
    const wire::tlv t = wire::read_outer(tlv, ec);
    REQUIRE_FALSE(ec);
    std::vector<std::byte> m;
    f.handle_control(from, t, now, answers, m, ec);
    return ec;
}

inline std::error_code control(fragment::nack_fragmenter& f, const endpoint& from, const std::vector<std::byte>& tlv,
                               time_point now)
{
    datagram_batch ignored;
    return control(f, from, tlv, now, ignored);
}

/// f's timers up to `until`, what they send to `to` carried into `peer` (its answers dropped).
inline void run_timers(fragment::nack_fragmenter& f, const endpoint& self, fragment::nack_fragmenter& peer,
                       const endpoint& to, time_point& now, time_point until)
{
    for (int i = 0; i < 100 && f.next_timer() <= until; ++i) {
        now = std::max(now, f.next_timer());
        datagram_batch out, ignored;
        f.on_timer(now, out);
        carry(out, self, to, peer, now, ignored);
    }
}

} // namespace tlvcast::test
