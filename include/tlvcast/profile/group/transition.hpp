// SPDX-License-Identifier: BSL-1.0
// One epoch to the next: the checks a commit must pass against the roster it follows, written once
// for members (who also apply their admission policy and open their entry) and for the relay (which
// orders only commits that members will accept).
#pragma once

#include <tlvcast/error.hpp>
#include <tlvcast/profile/group/codec.hpp>
#include <tlvcast/profile/group/key_schedule.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::profile::group {

/// Whether a key package's signature verifies: `verify(public_key, message, signature) -> bool`.
template <class Verify>
bool key_package_signed(Verify&& verify, const key_package_view& kp)
{
    std::vector<std::byte> msg;
    detail::append(msg, detail::bytes_of(labels::key_package));
    detail::append(msg, kp.signed_part);
    return verify(std::span<const std::byte>(kp.entry.identity), std::span<const std::byte>(msg), kp.signature);
}

/// Whether a commit's signature verifies under the committer it names.
template <class Verify>
bool commit_signed(Verify&& verify, const commit_view& c)
{
    std::vector<std::byte> msg;
    detail::append(msg, detail::bytes_of(labels::commit));
    detail::append(msg, c.signed_part);
    return verify(c.committer, std::span<const std::byte>(msg), c.signature);
}

/// Whether an init key is usable: X25519 with it gives a non-zero secret (not of low order).
/// Clamping makes any scalar a multiple of the cofactor, so a fixed one detects low order.
template <class Suite>
bool init_key_usable(std::span<const std::byte, 32> init)
{
    static constexpr std::array<std::byte, 32> probe{std::byte{0x48}, std::byte{0x02}, std::byte{0x9a}};
    std::array<std::byte, 32> out{};
    std::error_code ec;
    return Suite::x25519(probe, init, out, ec);
}

/// The roster after commit `c`, checked against `roster` (the epoch it follows):
/// - signed by a member of `roster`;
/// - removals ascending, in range, never the committer;
/// - updates of the same identity with a newer, signed key package and a usable init key
///   (`usable(init) -> bool`: init_key_usable, or a counted X25519 of the caller's);
/// - additions with signed key packages and usable init keys, not members already, that `admit`
///   accepts (`admit(add_view) -> std::error_code`: a member's admission policy; none at the relay);
/// - at most `max_members`, the entry count and the roster hash as signed.
/// Errors: not_a_member, authentication_failed, admission_refused (or what `admit` says), malformed.
template <class Suite, class Verify, class Usable, class Admit>
std::optional<std::vector<member_entry>> next_roster(std::span<const member_entry> roster, const commit_view& c,
                                                     std::size_t max_members, Verify&& verify, Usable&& usable,
                                                     Admit&& admit, std::error_code& ec)
{
    const auto who = std::find_if(roster.begin(), roster.end(), [&](const member_entry& e) {
        return std::equal(e.identity.begin(), e.identity.end(), c.committer.begin());
    });
    if (who == roster.end()) {
        ec = errc::not_a_member;
        return std::nullopt;
    }
    if (!commit_signed(verify, c)) {
        ec = errc::authentication_failed;
        return std::nullopt;
    }
    const auto committer = static_cast<std::size_t>(who - roster.begin());
    ec = errc::malformed;
    for (std::size_t i = 0; i < c.removed.size(); ++i)
        if (c.removed[i] >= roster.size() || c.removed[i] == committer || (i > 0 && c.removed[i] <= c.removed[i - 1]))
            return std::nullopt;
    std::vector<member_entry> next(roster.begin(), roster.end());
    std::vector<bool> gone(roster.size(), false), updated(roster.size(), false);
    for (const auto i : c.removed)
        gone[i] = true;
    for (const auto& u : c.updated) {
        if (u.index >= roster.size() || gone[u.index] || updated[u.index] ||
            u.kp.entry.identity != roster[u.index].identity || u.kp.entry.seq <= roster[u.index].seq ||
            !usable(u.kp.entry.init))
            return std::nullopt;
        if (!key_package_signed(verify, u.kp)) {
            ec = errc::authentication_failed;
            return std::nullopt;
        }
        updated[u.index] = true;
        next[u.index] = u.kp.entry;
    }
    std::vector<member_entry> out;
    out.reserve(next.size() + c.added.size());
    for (std::size_t i = 0; i < next.size(); ++i)
        if (!gone[i])
            out.push_back(next[i]);
    for (const auto& a : c.added) {
        const bool present = std::any_of(out.begin(), out.end(),
                                         [&](const member_entry& e) { return e.identity == a.kp.entry.identity; });
        if (present || !usable(a.kp.entry.init))
            return std::nullopt;
        if (!key_package_signed(verify, a.kp)) {
            ec = errc::authentication_failed;
            return std::nullopt;
        }
        if (const std::error_code refused = admit(a)) {
            ec = refused;
            return std::nullopt;
        }
        out.push_back(a.kp.entry);
    }
    if (out.empty() || out.size() > max_members || out.size() != c.entry_count())
        return std::nullopt;
    const auto h = roster_hash<Suite>(out);
    if (!std::equal(h.begin(), h.end(), c.roster_hash.begin()))
        return std::nullopt;
    ec = {};
    return out;
}

} // namespace tlvcast::profile::group
