// SPDX-License-Identifier: BSL-1.0
// The known-relays file: the trust store behind trust on first use, read into a crypto::relay_trust
// and written back atomically when a client trusts a relay on first use.
#pragma once

#include <tlvcast/crypto/hex.hpp>
#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/error.hpp>

#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tlvcast::trust {

/// The largest known-relays file read (a hostile or runaway file is refused, not read whole).
inline constexpr std::size_t max_known_relays_bytes = 1u << 20;

namespace detail {

inline std::optional<crypto::fingerprint> fingerprint_from_hex(std::string_view hex) noexcept
{
    return crypto::from_hex<std::tuple_size_v<crypto::fingerprint>>(hex);
}

inline std::string to_hex(const crypto::fingerprint& fp) { return crypto::to_hex(fp); }

// Reads a regular file (never a FIFO, device or symlink: O_NOFOLLOW | O_NONBLOCK, then fstat).
inline bool read_regular(const std::filesystem::path& file, std::string& text, std::error_code& ec)
{
    ec = {};
    const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            ec = std::error_code(errno, std::generic_category());
        return false;
    }
    struct stat st{};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<std::size_t>(st.st_size) > max_known_relays_bytes) {
        ::close(fd);
        ec = make_error_code(errc::malformed);
        return false;
    }
    text.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < text.size()) {
        const auto n = ::read(fd, text.data() + got, text.size() - got);
        if (n <= 0)
            break;
        got += static_cast<std::size_t>(n);
    }
    text.resize(got);
    ::close(fd);
    return true;
}

} // namespace detail

/// Reads "address HEX" lines (address as endpoint::to_string writes it; fields separated by any
/// whitespace; empty lines and lines starting with '#' skipped) into `trust.known`. Fails closed:
/// a line that names an address with a missing or broken fingerprint, or two different
/// fingerprints for one address, make that address refused; a line whose address does not parse
/// refuses the whole file (errc::malformed: the driver must not fall back to trust on first use
/// for an entry it could not read). A missing file is an empty store. Errors also: the file is
/// not a regular file, is over max_known_relays_bytes, or cannot be read.
inline void load_known_relays(const std::filesystem::path& file, crypto::relay_trust& trust, std::error_code& ec)
{
    std::string text;
    if (!detail::read_regular(file, text, ec))
        return;
    constexpr std::string_view space = " \t\r\v\f";
    std::string_view rest(text);
    while (!rest.empty()) {
        const auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        const auto first = line.find_first_not_of(space);
        if (first == std::string_view::npos || line[first] == '#')
            continue;
        line = line.substr(first, line.find_last_not_of(space) - first + 1);
        const auto gap = line.find_first_of(space);
        const auto where = endpoint::parse(line.substr(0, gap));
        if (!where) {
            ec = make_error_code(errc::malformed);
            return;
        }
        std::optional<crypto::fingerprint> fp;
        if (gap != std::string_view::npos) {
            const auto hex = line.substr(line.find_first_not_of(space, gap));
            fp = detail::fingerprint_from_hex(hex);
        }
        const auto it = trust.known.find(*where);
        if (it == trust.known.end())
            trust.known.emplace(*where, fp);
        else if (!fp || (it->second && *it->second != *fp))
            it->second = std::nullopt; // two different or broken entries for one address: refuse it
    }
}

/// Adds "relay HEX" to the file, atomically: under an exclusive lock on "<file>.lock", the current
/// contents plus the new line go to a new temporary file (mode 0600, never through a symlink),
/// which is synced and renamed over the file. Errors: the I/O error; malformed when the current
/// file is not a regular file.
inline void remember_relay(const std::filesystem::path& file, const endpoint& relay, const crypto::fingerprint& fp,
                           std::error_code& ec)
{
    ec = {};
    const std::string lock_path = file.string() + ".lock";
    const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lock < 0) {
        ec = std::error_code(errno, std::generic_category());
        return;
    }
    if (::flock(lock, LOCK_EX) != 0) {
        ec = std::error_code(errno, std::generic_category());
        ::close(lock);
        return;
    }
    std::string text;
    detail::read_regular(file, text, ec);
    if (!ec) {
        if (!text.empty() && text.back() != '\n')
            text += '\n';
        text += relay.to_string() + ' ' + detail::to_hex(fp) + '\n';
        const std::string tmp = file.string() + ".tmp";
        ::unlink(tmp.c_str());
        const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
            ec = std::error_code(errno, std::generic_category());
        } else {
            const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                                 ::fsync(fd) == 0;
            ::close(fd);
            if (!written || ::rename(tmp.c_str(), file.c_str()) != 0) {
                ec = std::error_code(errno ? errno : EIO, std::generic_category());
                ::unlink(tmp.c_str());
            }
        }
    }
    ::flock(lock, LOCK_UN);
    ::close(lock);
}

} // namespace tlvcast::trust
