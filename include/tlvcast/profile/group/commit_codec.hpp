// SPDX-License-Identifier: BSL-1.0
// GROUP_COMMIT's zero-copy reader: every count and length checked before a view is handed out.
// Included at the bottom of profile/group/codec.hpp, whose views it builds on.
#pragma once

#include <tlvcast/profile/group/codec.hpp>

namespace tlvcast::profile::group {

/// One member added by a commit: its key package and, under admission::admin, its certificate.
struct add_view {
    key_package_view kp;
    std::optional<bytes> cert;
};

/// One member's new init key (an update): its old roster index and its new key package.
struct update_view {
    std::uint16_t index = 0;
    key_package_view kp;
};

/// GROUP_COMMIT: version(1)=1 group_id(16) epoch(8) prev(32) committer(32)
/// n_removed(2) index(2)*n  n_updated(2) [index(2) key_package(132)]*n
/// n_added(2) [key_package(132) has_cert(1) [cert(64)]]*n
/// roster_hash(32) ephemeral(32) n_entries(2) entry(48)*n  has_cert(1) [committer cert(64)]
/// signature(64) over "tlvcast group v1 commit" || everything before it.
struct commit_view {
    group_id gid{};
    std::uint64_t epoch = 0;
    bytes prev, committer, roster_hash, ephemeral, entries, signed_part, signature;
    bytes context; ///< group_id || epoch || prev: the salt of every entry key
    std::vector<std::uint16_t> removed;
    std::vector<update_view> updated;
    std::vector<add_view> added;
    std::optional<bytes> committer_cert;
    std::size_t entry_count() const noexcept { return entries.size() / entry_size; }
    bytes entry(std::size_t i) const noexcept { return entries.subspan(i * entry_size, entry_size); }
};

namespace detail {
// A bounds-checked cursor: every read fails (and stays failed) past the end.
struct cursor {
    bytes v;
    std::size_t at = 0;
    bool bad = false;
    bytes take(std::size_t n) noexcept
    {
        if (bad || v.size() - at < n) {
            bad = true;
            return {};
        }
        const bytes out = v.subspan(at, n);
        at += n;
        return out;
    }
    std::uint64_t number(int n) noexcept
    {
        const bytes b = take(static_cast<std::size_t>(n));
        return bad ? 0 : get_be(b, n);
    }
    std::optional<bytes> optional_cert() noexcept
    {
        const std::uint64_t flag = number(1);
        if (flag > 1)
            bad = true;
        if (bad || flag == 0)
            return std::nullopt;
        return take(cert_size);
    }
};
} // namespace detail

/// Parses GROUP_COMMIT's value. Errors: malformed (any length or count that does not add up, a
/// version other than 1, more than `max_members` entries or changes).
inline commit_view read_commit(bytes v, std::size_t max_members, std::error_code& ec)
{
    commit_view c;
    ec = {};
    detail::cursor r{v};
    const bool version_ok = r.number(1) == 1;
    const bytes gid = r.take(group_id_size);
    c.epoch = r.number(8);
    c.prev = r.take(32);
    c.committer = r.take(32);
    if (!r.bad)
        std::copy(gid.begin(), gid.end(), c.gid.begin());
    c.context = v.subspan(1, r.bad ? 0 : group_id_size + 8 + 32);
    const std::size_t n_removed = r.number(2);
    if (n_removed > max_members)
        r.bad = true;
    for (std::size_t i = 0; i < n_removed && !r.bad; ++i)
        c.removed.push_back(static_cast<std::uint16_t>(r.number(2)));
    const std::size_t n_updated = r.number(2);
    if (n_updated > max_members)
        r.bad = true;
    for (std::size_t i = 0; i < n_updated && !r.bad; ++i) {
        const auto index = static_cast<std::uint16_t>(r.number(2));
        const bytes kp = r.take(key_package_size);
        if (!r.bad)
            c.updated.push_back({index, read_key_package(kp)});
    }
    const std::size_t n_added = r.number(2);
    if (n_added > max_members)
        r.bad = true;
    for (std::size_t i = 0; i < n_added && !r.bad; ++i) {
        const bytes kp = r.take(key_package_size);
        const auto cert = r.optional_cert();
        if (!r.bad)
            c.added.push_back({read_key_package(kp), cert});
    }
    c.roster_hash = r.take(32);
    c.ephemeral = r.take(32);
    const std::size_t n_entries = r.number(2);
    if (n_entries == 0 || n_entries > max_members)
        r.bad = true;
    c.entries = r.take(n_entries * entry_size);
    c.committer_cert = r.optional_cert();
    c.signed_part = v.first(r.bad ? 0 : r.at);
    c.signature = r.take(signature_size);
    if (r.bad || !version_ok || r.at != v.size() || c.epoch == 0) {
        ec = errc::malformed;
        return {};
    }
    return c;
}

} // namespace tlvcast::profile::group
