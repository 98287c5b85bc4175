// SPDX-License-Identifier: BSL-1.0
// The group profile's member options (admission policy, roster, admin key, admission certificate)
// and their files, for tlvcast-chat; the relay needs none of them (it opens no group message).
#pragma once

#include "common/cli.hpp"

#include <tlvcast/crypto/hex.hpp>
#include <tlvcast/profile/group.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tlvcast::examples {

/// What a member's command line says about admission; the files are read by load_group_options.
struct group_member_settings {
    tlvcast::profile::group::admission policy = tlvcast::profile::group::admission::roster;
    std::string roster_file, admin_key_file, cert_file;
    std::string first_option; ///< the first of these options given (refused outside the group profile)
};

/// The options only members read, as the relay names them when it is given one.
inline constexpr std::array<std::string_view, 4> group_member_options{"--admission", "--roster", "--admin-key",
                                                                      "--admission-cert"};

/// Reads `name` into `g` when it is a member option; false otherwise.
inline bool read_group_member_option(std::string_view name, arg_reader& args, group_member_settings& g)
{
    namespace grp = tlvcast::profile::group;
    if (name == "--admission") {
        const std::string_view v = args.value();
        if (v == "roster")
            g.policy = grp::admission::roster;
        else if (v == "admin")
            g.policy = grp::admission::admin;
        else if (v == "open")
            g.policy = grp::admission::open;
        else
            throw usage_error("option --admission: '" + std::string(v) + "' is not roster, admin or open");
    } else if (name == "--roster") {
        g.roster_file = args.text();
    } else if (name == "--admin-key") {
        g.admin_key_file = args.text();
    } else if (name == "--admission-cert") {
        g.cert_file = args.text();
    } else {
        return false;
    }
    if (g.first_option.empty())
        g.first_option = std::string(name);
    return true;
}

/// The usage errors of a member's admission options (in the group profile).
inline void check_group_member(const group_member_settings& g)
{
    namespace grp = tlvcast::profile::group;
    if (g.policy == grp::admission::roster && g.roster_file.empty())
        throw usage_error("--admission roster (the default) needs --roster FILE: the fingerprints this member admits");
    if (g.policy == grp::admission::admin && g.admin_key_file.empty())
        throw usage_error("--admission admin needs --admin-key FILE: the admin's Ed25519 public key (64 hex digits)");
    if (g.policy == grp::admission::admin && g.cert_file.empty())
        throw usage_error("--admission admin needs --admission-cert FILE: this member's certificate from the admin "
                          "(128 hex digits; the admin makes it with --certify)");
    if (g.policy != grp::admission::admin && !g.admin_key_file.empty())
        throw usage_error("option --admin-key is for --admission admin");
    if (g.policy != grp::admission::admin && !g.cert_file.empty())
        throw usage_error("option --admission-cert is for --admission admin");
}

/// A file that holds one value of N bytes as 2N hex digits: blank lines and text after '#' are
/// ignored. std::runtime_error naming the file (and the line) when it cannot be read or does not parse.
template <std::size_t N>
std::array<std::byte, N> read_hex_file(const std::string& path, std::string_view what)
{
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error("cannot open the " + std::string(what) + " file " + path);
    std::error_code ec;
    std::size_t bad_line = 0;
    const auto values = tlvcast::profile::group::read_hex_lines<N>(in, ec, bad_line, 1);
    const std::string where = std::string(what) + " file " + path + ", line " + std::to_string(bad_line) + ": ";
    if (ec == errc::message_too_large)
        throw std::runtime_error(where + "a second value (the file holds exactly one)");
    if (ec)
        throw std::runtime_error(where + "not " + std::to_string(2 * N) + " hex digits");
    if (in.bad())
        throw std::runtime_error("cannot read the " + std::string(what) + " file " + path);
    if (values.empty())
        throw std::runtime_error("the " + std::string(what) + " file " + path + " holds no value (" +
                                 std::to_string(2 * N) + " hex digits expected)");
    return values.front();
}

/// A roster file: one fingerprint (64 hex digits) per line, '#' comments (group::read_roster).
inline std::vector<crypto::fingerprint> read_roster_file(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error("cannot open the roster file " + path);
    std::error_code ec;
    std::size_t bad_line = 0;
    auto roster = tlvcast::profile::group::read_roster(in, ec, bad_line);
    if (ec == errc::message_too_large)
        throw std::runtime_error("roster file " + path + ", line " + std::to_string(bad_line) + ": too many entries");
    if (ec)
        throw std::runtime_error("roster file " + path + ", line " + std::to_string(bad_line) +
                                 ": not a fingerprint (64 hex digits; '#' starts a comment)");
    if (in.bad())
        throw std::runtime_error("cannot read the roster file " + path);
    return roster;
}

/// The seq of this run's first key package for the identity in `identity_file` (group::options::
/// key_package_seq): above the clock's quarter seconds since 2025 and above the last run's, kept in
/// IDENTITY_FILE.seq (members refuse a key package of a current member that is not newer, so a
/// member that restarts must not repeat one). An unreadable .seq file is ignored, one that cannot be
/// written is said on stderr: the clock alone then serves. The .seq file is not trusted: only a
/// regular file is read, a value that leaves no room for updates below 2^32 is ignored (seq + 1
/// must not wrap), and the file is written through a new temporary file (mode 0600), never through
/// a link someone left in its place.
inline std::uint32_t next_key_package_seq(const std::string& identity_file)
{
    constexpr std::int64_t top = std::int64_t{UINT32_MAX} - (std::int64_t{1} << 24); // room for updates
    using quarter_seconds = std::chrono::duration<std::int64_t, std::ratio<1, 4>>;
    const auto since_2025 = std::chrono::system_clock::now().time_since_epoch() - std::chrono::seconds(1735689600);
    std::int64_t seq = std::clamp<std::int64_t>(std::chrono::duration_cast<quarter_seconds>(since_2025).count(), 0,
                                                top);
    if (identity_file.empty()) // a fresh identity each run: nothing to be newer than
        return static_cast<std::uint32_t>(seq);
    const std::string file = identity_file + ".seq";
    std::int64_t last = -1;
    std::error_code kind;
    if (std::filesystem::is_regular_file(file, kind)) // not a FIFO that blocks the start, say
        if (std::ifstream in(file); in && (in >> last) && last >= 0 && last < top)
            seq = std::max(seq, last + 1);
    const std::string tmp = file + ".tmp";
    std::error_code ec;
    std::filesystem::remove(tmp, ec); // a link left there is removed, not followed
    ec.clear();
    // O_EXCL: a file (or link) put there since is refused, never written through.
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        ec = std::error_code(errno, std::generic_category());
    } else {
        const std::string text = std::to_string(seq) + "\n";
        if (::write(fd, text.data(), text.size()) != static_cast<::ssize_t>(text.size()))
            ec = std::make_error_code(std::errc::io_error);
        ::close(fd);
    }
    if (!ec)
        std::filesystem::rename(tmp, file, ec);
    if (ec)
        std::cerr << "tlvcast: cannot keep the key package's seq in " << file << " (" << ec.message()
                  << "): a restart within a quarter second may wait for the group\n";
    return static_cast<std::uint32_t>(seq);
}

/// The member's group options from its settings and files (the hop keeps its defaults): its
/// delivery mode (its GROUP_JOIN tells the relay) and, for multicast, the data group it listens on.
inline tlvcast::profile::group::options load_group_options(const group_member_settings& g,
                                                           tlvcast::profile::group::delivery mode,
                                                           std::optional<endpoint> data_group)
{
    tlvcast::profile::group::options o;
    o.policy = g.policy;
    o.mode = mode;
    if (data_group)
        o.data_group = *data_group;
    if (!g.roster_file.empty())
        o.roster = read_roster_file(g.roster_file);
    if (!g.admin_key_file.empty())
        o.admin_key = read_hex_file<32>(g.admin_key_file, "admin key");
    if (!g.cert_file.empty())
        o.admission_certificate = read_hex_file<64>(g.cert_file, "admission certificate");
    return o;
}

/// Checks, before joining, that this member's certificate is the admin's signature of its identity
/// key (a wrong certificate would only show as a group that never admits it).
template <class Suite>
void check_certificate(const tlvcast::profile::group::options& o, const crypto::ed25519_keypair& me,
                       const std::string& cert_file)
{
    if (o.policy != tlvcast::profile::group::admission::admin || !o.admin_key || !o.admission_certificate)
        return;
    if (!Suite::verify(*o.admin_key, tlvcast::profile::group::admission_message(me.public_key),
                       *o.admission_certificate))
        throw std::runtime_error("the certificate in " + cert_file +
                                 " is not the admin key's signature of this identity (public key " +
                                 crypto::to_hex(me.public_key) + ")");
}

/// `--certify HEX`: the member's Ed25519 public key, 64 hex digits.
inline std::array<std::byte, 32> read_public_key(arg_reader& args)
{
    const std::string_view v = args.value();
    if (auto k = crypto::from_hex<32>(v))
        return *k;
    throw usage_error("option --certify: '" + std::string(v) + "' is not 64 hex digits (a member's public key, "
                      "as --print-identity shows it)");
}

} // namespace tlvcast::examples
