// SPDX-License-Identifier: BSL-1.0
// --reliability: the Fragmenter both programs use, per profile, and how it is built from the cipher.
#pragma once

#include "common/cli.hpp"
#include "common/profile.hpp"

#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>
#include <tlvcast/wire/types.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace tlvcast::examples {

/// none: a lost datagram loses its message; nack: lost datagrams are asked for again and repaired
/// (docs/PROTOCOL.md "Repair"). Relay and clients must use the same.
enum class reliability { none, nack };

/// --reliability's help text, for the programs' usage strings (string literals, joined at compile time).
#define TLVCAST_EXAMPLES_RELIABILITY_HELP                                                                  \
    "none or nack (default nack in the secure and group profiles: lost datagrams are\n"                    \
    "                     NACKed and repaired, every message arrives once and in order, or a lost\n"       \
    "                     stretch is reported; none in the seed profile, whose wire format is frozen).\n"  \
    "                     The relay and its clients must use the same"

inline reliability read_reliability(arg_reader& args)
{
    const std::string_view v = args.value();
    if (v == "none")
        return reliability::none;
    if (v == "nack")
        return reliability::nack;
    throw usage_error("option --reliability: '" + std::string(v) + "' is not none or nack");
}

/// The default, and the refusal of nack in the seed profile.
inline reliability check_reliability(const std::optional<reliability>& given, examples::profile p)
{
    if (p == examples::profile::seed) {
        if (given == reliability::nack)
            throw usage_error("option --reliability: nack needs the secure or group profile (the seed profile's "
                              "wire format is frozen)");
        return reliability::none;
    }
    return given.value_or(reliability::nack);
}

inline const char* reliability_name(reliability r) { return r == reliability::nack ? "nack" : "none"; }

/// The Fragmenter of a profile: the repairing one (in either mode) where records carry it, the
/// seed profile's own otherwise.
template <class Cipher>
using fragmenter_for =
    std::conditional_t<Cipher::has_record_layer, fragment::nack_fragmenter, fragment::seed_fragmenter>;

/// Fragments sized to the cipher's records (less REPAIR_DATA's header when repairing).
template <class Cipher>
fragmenter_for<Cipher> make_fragmenter(const Cipher& c, reliability r)
{
    if constexpr (Cipher::has_record_layer) {
        fragment::repair_limits lim;
        lim.repair = r == reliability::nack;
        const std::size_t header = lim.repair ? wire::tlv_header_size + wire::repair_header_size : 0;
        return fragment::nack_fragmenter(
            fragment::seed_fragmenter(fragment::limits{}, c.fragment_payload() - header, c.max_whole() - header), lim);
    } else {
        (void)c, (void)r;
        return fragment::seed_fragmenter{};
    }
}

/// The repair layer's counters by name, for the programs' stats (none without repair).
inline std::vector<std::pair<std::string_view, std::uint64_t>> repair_counters(const fragment::nack_fragmenter_stats& s)
{
    return {{"repair_data_sent", s.data_sent},
            {"repair_nacks_sent", s.nacks_sent},
            {"repair_nacks_received", s.nacks_received},
            {"repair_nacks_refused", s.nacks_refused},
            {"repair_retransmissions", s.repairs_sent},
            {"repair_suppressed", s.repairs_suppressed},
            {"repair_retransmitted_bytes", s.retransmitted_bytes},
            {"repair_gone_sent", s.gone_sent},
            {"repair_duplicates", s.duplicates},
            {"repair_unrecoverable", s.unrecoverable},
            {"repair_cache_evictions", s.cache_evictions},
            {"repair_held_dropped", s.held_dropped}};
}
inline std::vector<std::pair<std::string_view, std::uint64_t>> repair_counters(const fragment::seed_fragmenter_stats&)
{
    return {};
}

} // namespace tlvcast::examples
