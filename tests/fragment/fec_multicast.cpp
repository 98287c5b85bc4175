// SPDX-License-Identifier: BSL-1.0
// NACKs per loss event at 100 receivers of one multicast stream, NACK alone against NACK and FEC
// (the programs' --reliability nack and nack+fec: one fragmenter type, fec_k 0 or the defaults).
#if defined(TLVCAST_HAS_FEC)
#include "fragment/lossy_link.hpp"

#include <tlvcast/fragment/fec/cm256_codec.hpp>
#include <tlvcast/fragment/nack_fragmenter.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <sstream>
#include <string>

using namespace tlvcast;
using std::chrono::milliseconds;
using fec_fragmenter = fragment::basic_nack_fragmenter<fragment::seed_fragmenter, fragment::fec::cm256_codec>;

namespace {

struct figures {
    std::uint64_t datagrams = 0, loss_events = 0, nacks = 0, repairs = 0, suppressed = 0, parity = 0, recovered = 0;
    double per_event() const { return double(nacks) / double(loss_events); }
};

// 200 messages of one datagram, one every 2 ms, to 100 receivers each losing `loss` of what is
// sent to the group; then until every gap is closed. Checks delivery; returns the figures.
figures run_group(std::uint64_t seed, double loss, bool fec, const char* name, fragment::repair_limits lim = {})
{
    if (!fec)
        lim.fec_k = 0; // as make_fragmenter does for --reliability nack
    test::basic_lossy_link<fec_fragmenter> l(seed, 100, loss, 0.0, lim);
    for (std::uint32_t i = 0; i < 200; ++i) {
        l.send(i, 100);
        l.now += milliseconds(2);
        l.run(milliseconds(2));
    }
    l.run();
    INFO(name);
    test::check_exactly_once_in_order(l, 200);
    CHECK(l.notices.empty());
    const auto s = l.sender.stats();
    figures f;
    f.datagrams = s.data_sent;
    f.loss_events = l.loss_events;
    f.nacks = l.nacks_on_wire;
    f.repairs = s.repairs_sent + s.parity_repairs_sent; // parity sent as repair is a repair
    f.suppressed = s.repairs_suppressed;
    f.parity = s.parity_sent;
    for (auto& r : l.receivers)
        f.recovered += r.stats().fec_recovered;
    std::ostringstream o;
    o << name << ": " << f.datagrams << " datagrams (+" << f.parity << " proactive parity), " << f.loss_events
      << " loss events, " << f.nacks << " NACKs (" << f.per_event() << " per event), " << f.repairs << " repairs ("
      << s.repairs_sent << " retransmissions, " << s.parity_repairs_sent << " parity), " << f.suppressed
      << " suppressed, " << f.recovered << " FEC recoveries";
    WARN(o.str());
    return f;
}

} // namespace

TEST_CASE("nack+fec: 100 receivers of one multicast stream at 5% and 20% loss, NACKs per loss event against NACK alone",
          "[fragment][repair][fec]")
{
    // A loss event: one multicast send (data, repair or parity) that one receiver or more lost.
    // Same seed for both modes of a loss rate: the same losses until their repairs differ.
    const figures nack5 = run_group(7, 0.05, false, "5% nack");
    const figures fec5 = run_group(7, 0.05, true, "5% nack+fec");
    const figures nack20 = run_group(8, 0.2, false, "20% nack");
    const figures fec20 = run_group(8, 0.2, true, "20% nack+fec");

    CHECK(nack5.per_event() < 2.5); // as nack_fragmenter.cpp's NACK-only run
    CHECK(fec5.per_event() < nack5.per_event());
    CHECK(fec20.per_event() < nack20.per_event());
    CHECK(fec5.repairs < nack5.repairs);
    CHECK(fec20.repairs < nack20.repairs);
    CHECK(fec5.recovered > 0);
    CHECK(fec20.recovered > 0);

    // Printed only: at this pace a block of 16 fills in 32 ms, longer than fec_wait (15 ms), so
    // most NACKs left with FEC are for the open block, whose losses are answered with
    // retransmissions, not parity. A fec_wait longer than a block takes to fill lets its parity come first.
    fragment::repair_limits wait;
    wait.fec_wait = milliseconds(50);
    run_group(7, 0.05, true, "5% nack+fec, fec_wait 50 ms", wait);
    run_group(8, 0.2, true, "20% nack+fec, fec_wait 50 ms", wait);
}
#endif
