// SPDX-License-Identifier: BSL-1.0
// --reliability: the Fragmenter both programs use, per profile, and how it is built from the cipher.
#pragma once

#include "common/cli.hpp"
#include "common/profile.hpp"

#include <tlvcast/fragment/nack_fragmenter.hpp>
#if defined(TLVCAST_HAS_FEC)
#include <tlvcast/fragment/fec/cm256_codec.hpp>
#endif
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
/// (docs/PROTOCOL.md "Repair"); nack+fec: the same, with Reed-Solomon parity per block of 16
/// datagrams, and parity as repair (docs/PROTOCOL.md "FEC"; a build with libcm256cc). Relay and
/// clients must use the same.
enum class reliability { none, nack, nack_fec };

/// --reliability's help text, for the programs' usage strings (string literals, joined at compile time).
#define TLVCAST_EXAMPLES_RELIABILITY_HELP                                                                  \
    "none, nack or nack+fec (default nack in the secure and group profiles: lost\n"                        \
    "                     datagrams are NACKed and repaired, every message arrives once and in order,\n"   \
    "                     or a lost stretch is reported; nack+fec adds 2 parity datagrams per 16,\n"       \
    "                     which rebuild up to 2 losses without a NACK, and answers NACKs with parity;\n"   \
    "                     none in the seed profile, whose wire format is frozen).\n"                       \
    "                     The relay and its clients must use the same"

inline reliability read_reliability(arg_reader& args)
{
    const std::string_view v = args.value();
    if (v == "none")
        return reliability::none;
    if (v == "nack")
        return reliability::nack;
    if (v == "nack+fec") {
#if defined(TLVCAST_HAS_FEC)
        return reliability::nack_fec;
#else
        throw usage_error("option --reliability: nack+fec needs a build with libcm256cc (scripts/setup.sh installs it)");
#endif
    }
    throw usage_error("option --reliability: '" + std::string(v) + "' is not none, nack or nack+fec");
}

inline const char* reliability_name(reliability r)
{
    return r == reliability::nack_fec ? "nack+fec" : r == reliability::nack ? "nack" : "none";
}

/// The default, and the refusal of nack in the seed profile.
inline reliability check_reliability(const std::optional<reliability>& given, examples::profile p)
{
    if (p == examples::profile::seed) {
        if (given && *given != reliability::none)
            throw usage_error(std::string("option --reliability: ") + reliability_name(*given) +
                              " needs the secure or group profile (the seed profile's wire format is frozen)");
        return reliability::none;
    }
    return given.value_or(reliability::nack);
}


/// The Fragmenter of a profile: the repairing one (in either mode) where records carry it, the
/// seed profile's own otherwise.
#if defined(TLVCAST_HAS_FEC)
using repairing_fragmenter = fragment::basic_nack_fragmenter<fragment::seed_fragmenter, fragment::fec::cm256_codec>;
#else
using repairing_fragmenter = fragment::nack_fragmenter;
#endif
template <class Cipher>
using fragmenter_for = std::conditional_t<Cipher::has_record_layer, repairing_fragmenter, fragment::seed_fragmenter>;

/// --unordered's help text (both programs).
#define TLVCAST_EXAMPLES_UNORDERED_HELP                                                                    \
    "a message that fits one datagram is delivered as soon as it arrives, ahead of\n"                    \
    "                     a lost one still being repaired (still exactly once; larger messages still\n"   \
    "                     complete in order). Order end to end needs ordered relay and clients.\n"       \
    "                     Needs --reliability nack or nack+fec"

/// --unordered needs the repair layer (it orders nothing without it).
inline void check_unordered(bool unordered, reliability r)
{
    if (unordered && r == reliability::none)
        throw usage_error("option --unordered needs --reliability nack or nack+fec");
}

/// --slow-receiver (the relay's): hold or drop (docs/DESIGN.md "Flow and congestion control").
inline fragment::slow_receiver_policy read_slow_receiver(arg_reader& args)
{
    const std::string_view v = args.value();
    if (v == "hold")
        return fragment::slow_receiver_policy::hold;
    if (v == "drop")
        return fragment::slow_receiver_policy::drop;
    throw usage_error("option --slow-receiver: '" + std::string(v) + "' is not hold or drop");
}

inline const char* slow_receiver_name(fragment::slow_receiver_policy p)
{
    return p == fragment::slow_receiver_policy::drop ? "drop" : p == fragment::slow_receiver_policy::hold ? "hold" : "block";
}

/// Fragments sized to the cipher's records (less REPAIR_DATA's header when repairing, and 4 bytes
/// more with FEC: a REPAIR_PARITY is that much longer than the datagrams it covers).
/// `ordered` false: --unordered (repair_limits::ordered).
template <class Cipher>
fragmenter_for<Cipher> make_fragmenter(const Cipher& c, reliability r,
                                       fragment::slow_receiver_policy slow = fragment::slow_receiver_policy::block,
                                       bool ordered = true)
{
    if constexpr (Cipher::has_record_layer) {
        fragment::repair_limits lim;
        lim.slow_receiver = slow; // a client blocks at its window; a relay holds or drops
        lim.ordered = ordered;
        lim.repair = r != reliability::none;
        lim.fec_k = r == reliability::nack_fec ? lim.fec_k : 0; // 0: no FEC
        const std::size_t header = (lim.repair ? wire::tlv_header_size + wire::repair_header_size : 0) +
                                   (r == reliability::nack_fec ? wire::repair_parity_header_size + 2 -
                                                                     wire::repair_header_size
                                                               : 0);
        return repairing_fragmenter(
            fragment::seed_fragmenter(fragment::limits{}, c.fragment_payload() - header, c.max_whole() - header), lim);
    } else {
        (void)c, (void)r, (void)slow, (void)ordered;
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
            {"repair_starts_resent", s.starts_resent},
            {"repair_starts_after_ack", s.starts_after_ack},
            {"repair_streams_resumed", s.streams_resumed},
            {"repair_duplicates", s.duplicates},
            {"repair_delivered_early", s.delivered_early},
            {"repair_unrecoverable", s.unrecoverable},
            {"repair_cache_evictions", s.cache_evictions},
            {"repair_held_dropped", s.held_dropped},
            {"flow_window_full", s.window_full},
            {"flow_window_decreases", s.window_decreases},
            {"flow_slow_holds", s.slow_holds},
            {"flow_group_holds", s.group_holds},
            {"flow_acks_withheld", s.acks_withheld},
            {"flow_slow_dropped", s.slow_dropped},
            {"flow_slow_released_bytes", s.slow_released_bytes},
            {"flow_uncached_sent", s.uncached_sent},
            {"fec_parity_sent", s.parity_sent},
            {"fec_parity_repairs_sent", s.parity_repairs_sent},
            {"fec_parity_received", s.parity_received},
            {"fec_recovered", s.fec_recovered},
            {"fec_parity_dropped", s.parity_dropped}};
}
inline std::vector<std::pair<std::string_view, std::uint64_t>> repair_counters(const fragment::seed_fragmenter_stats&)
{
    return {};
}

} // namespace tlvcast::examples
