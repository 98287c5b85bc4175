// SPDX-License-Identifier: BSL-1.0
// The repair simulation with FEC (built when libcm256cc is found): at 5% and 20% loss, the same
// runs with nack alone and with nack+fec; FEC must deliver everything exactly once, in order, with
// fewer NACKs and fewer repairs. Prints NACKs per loss event and delivery times (docs/BENCHMARKS.md).
#if defined(TLVCAST_HAS_FEC)
#include "core/repair_sim.hpp"

#include <tlvcast/fragment/fec/cm256_codec.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::test::repair_sim;

namespace {

using plain = fragment::nack_fragmenter;
using with_fec = fragment::basic_nack_fragmenter<fragment::seed_fragmenter, fragment::fec::cm256_codec>;

std::uint64_t fec_seeds()
{
    if (const char* s = std::getenv("TLVCAST_REPAIR_FEC_SEEDS"))
        return std::max<std::uint64_t>(1, std::strtoull(s, nullptr, 10));
    return 2;
}

} // namespace

TEST_CASE("repair with FEC: fewer NACKs and repairs than NACK alone at 5% and 20% loss, all once, in order",
          "[core][repair][fec]")
{
    for (const double loss : {0.05, 0.2}) {
        totals p, f;
        for (std::uint64_t seed = 1; seed <= fec_seeds(); ++seed) {
            INFO("loss " << loss << " seed " << seed);
            scenario sc;
            sc.seed = seed;
            sc.loss = loss;
            sc.faults = false; // loss only: the two runs see the same losses until their repairs differ
            sc.timing = true;
            p.add(run<plain>(sc));
            f.add(run<with_fec>(sc));
        }
        INFO("loss " << loss);
        CHECK(p.unrecoverable == 0);
        CHECK(f.unrecoverable == 0);
        CHECK(f.recovered > 0);
        CHECK(f.nacks < p.nacks);
        CHECK(f.repairs < p.repairs);
        WARN("loss " << loss << ", " << fec_seeds() << " seeds, 4 clients x 30 messages (100 B, 20 KB, 300 B, 1500 B):"
                     << "\n  nack:     " << p.lost << " datagrams lost, " << p.nacks << " NACKs ("
                     << static_cast<double>(p.nacks) / static_cast<double>(std::max<std::uint64_t>(1, p.lost))
                     << " per loss), " << p.repairs << " repairs; delivery ms mean " << p.mean() << ", p50 "
                     << p.quantile(0.5) << ", p99 " << p.quantile(0.99) << ", max " << p.quantile(1.0)
                     << "\n  nack+fec: " << f.lost << " datagrams lost, " << f.nacks << " NACKs ("
                     << static_cast<double>(f.nacks) / static_cast<double>(std::max<std::uint64_t>(1, f.lost))
                     << " per loss), " << f.repairs << " repairs, " << f.parity << " proactive parity for "
                     << f.data << " datagrams, " << f.recovered
                     << " rebuilt from parity; delivery ms mean " << f.mean() << ", p50 " << f.quantile(0.5) << ", p99 "
                     << f.quantile(0.99) << ", max " << f.quantile(1.0));
    }
}
#endif
