// SPDX-License-Identifier: BSL-1.0
// Whose keys a member lets into the group: the roster allow-list, admin certificates, or anyone.
#pragma once

#include <tlvcast/crypto/hex.hpp>
#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/profile/group/codec.hpp>
#include <tlvcast/profile/group/key_schedule.hpp>
#include <tlvcast/profile/group/options.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <fstream>
#include <istream>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace tlvcast::profile::group {

/// What an admin signs to admit a member: "tlvcast group v1 admission" || the member's identity key.
inline std::vector<std::byte> admission_message(std::span<const std::byte> identity)
{
    std::vector<std::byte> m;
    detail::append(m, detail::bytes_of(labels::admission));
    detail::append(m, identity);
    return m;
}

/// An admin's certificate for `identity` (the admin's Ed25519 seed signs it).
template <class Suite>
std::array<std::byte, cert_size> make_admission_certificate(const crypto::ed25519_keypair& admin,
                                                             std::span<const std::byte, 32> identity)
{
    std::array<std::byte, cert_size> sig{};
    Suite::sign(admin.private_key.span(), admission_message(identity), sig);
    return sig;
}

/// Whether `identity` (with its certificate, if any) may join under `opt`'s policy. Roster: its
/// fingerprint is in `sorted_roster` (opt.roster, sorted: a joiner checks every member). Admin: the
/// certificate verifies under the admin key (one verification by `me`, which counts it). Open: always.
template <class Suite, class Party>
bool admissible(Party& me, const options& opt, std::span<const crypto::fingerprint> sorted_roster,
                std::span<const std::byte, 32> identity, std::optional<bytes> cert)
{
    switch (opt.policy) {
    case admission::open: return true;
    case admission::roster:
        return std::binary_search(sorted_roster.begin(), sorted_roster.end(), crypto::fingerprint_of<Suite>(identity));
    case admission::admin:
        if (!opt.admin_key || !cert || cert->size() != cert_size)
            return false;
        return me.verify(*opt.admin_key, admission_message(identity), *cert);
    }
    return false;
}

/// Reads values of N bytes written as 2N hex digits, one per line; blank lines and text after
/// '#' are ignored; anything else fails with errc::malformed and `bad_line` set (1-based). At most
/// `max_entries` values (errc::message_too_large beyond). Roster files, admin keys and admission
/// certificates are such files.
template <std::size_t N>
std::vector<std::array<std::byte, N>> read_hex_lines(std::istream& in, std::error_code& ec, std::size_t& bad_line,
                                                     std::size_t max_entries)
{
    std::vector<std::array<std::byte, N>> out;
    ec = {};
    bad_line = 0;
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (const auto hash = line.find('#'); hash != std::string::npos)
            line.erase(hash);
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos)
            continue;
        const auto last = line.find_last_not_of(" \t\r");
        const auto value = crypto::from_hex<N>(std::string_view(line).substr(first, last - first + 1));
        if (!value || out.size() == max_entries) {
            ec = value ? errc::message_too_large : errc::malformed;
            bad_line = n;
            return {};
        }
        out.push_back(*value);
    }
    return out;
}

/// A roster file: one fingerprint (64 hex digits) per line (read_hex_lines).
inline std::vector<crypto::fingerprint> read_roster(std::istream& in, std::error_code& ec, std::size_t& bad_line,
                                                    std::size_t max_entries = 100'000)
{
    return read_hex_lines<32>(in, ec, bad_line, max_entries);
}

} // namespace tlvcast::profile::group
