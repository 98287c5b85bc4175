// SPDX-License-Identifier: BSL-1.0
// Private-key files, read and written one way for every key type: never overwritten, created 0600, read safely.
#pragma once

#include <tlvcast/crypto/secret.hpp>
#include <tlvcast/error.hpp>

#include <cerrno>
#include <cstdio>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tlvcast::crypto {

/// Key files are a few kilobytes (an RSA-4096 PKCS#8 PEM is about 3.3 KiB); anything larger is not
/// a key and is not read into memory.
inline constexpr std::size_t key_file_max_size = 64 * 1024;
/// The mode a new private-key file gets, before the umask (which can only narrow it).
inline constexpr ::mode_t key_file_create_mode = S_IRUSR | S_IWUSR; // 0600
/// Permission bits that make a private-key file too open: any access for group or others (the
/// rule OpenSSH applies to its private keys).
inline constexpr ::mode_t key_file_too_open_bits = S_IRWXG | S_IRWXO; // 0077

/// How a private-key file is read.
struct key_file_options {
    /// Refuse a file that group or others may access (errc::insecure_key_file) instead of only
    /// reporting it in key_file_status. The programs set it with --strict-perms.
    bool strict_permissions = false;
};

/// What reading a private-key file found besides the key.
struct key_file_status {
    bool too_open = false; ///< group or others may access the file (mode & 0077): a warning to show
    ::mode_t mode = 0;     ///< the file's permission bits, for that warning
};

/// A one-line warning for people about a key file that is too open ("" when it is not).
inline std::string key_file_warning(const std::filesystem::path& path, const key_file_status& status)
{
    if (!status.too_open)
        return {};
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(status.mode & 07777));
    return "private-key file '" + path.string() + "' has mode " + mode +
           ": group or others may read it; run chmod 600 on it (--strict-perms refuses such a file)";
}

namespace detail {

/// Closes a POSIX descriptor on scope exit.
class key_fd {
public:
    explicit key_fd(int fd) noexcept : fd_(fd) {}
    key_fd(const key_fd&) = delete;
    key_fd& operator=(const key_fd&) = delete;
    ~key_fd()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    int get() const noexcept { return fd_; }
    /// Closes now, so that a failing close (a delayed write error) is reported: 0 or -1 (errno).
    int close_now() noexcept { return ::close(std::exchange(fd_, -1)); }

private:
    int fd_;
};

[[noreturn]] inline void throw_key_file_error(std::error_code ec, std::string_view what,
                                              const std::filesystem::path& path)
{
    throw std::system_error(ec, "tlvcast: " + std::string(what) + " '" + path.string() + "'");
}

[[noreturn]] inline void throw_key_file_errno(int err, std::string_view what, const std::filesystem::path& path)
{
    throw_key_file_error(std::error_code(err, std::generic_category()), what, path);
}

} // namespace detail

/// Reads a whole private-key file into wiped memory.
/// - The file is opened with O_NOFOLLOW and O_NONBLOCK: a symbolic link is refused and a FIFO or a
///   device never blocks the caller; fstat on the open descriptor (no race with a rename) then
///   admits a regular file of at most key_file_max_size bytes only.
/// - A file that group or others may access sets `status->too_open` (when `status` is given), and
///   is refused when `options.strict_permissions` is set.
/// Throws std::system_error: errno (ENOENT, EACCES ...) when the file cannot be opened or read,
/// ELOOP for a symbolic link, errc::bad_key for something that is not a small regular file,
/// errc::insecure_key_file under strict permissions. Thread-safe.
inline secret_buffer read_private_key_file(const std::filesystem::path& path, const key_file_options& options = {},
                                           key_file_status* status = nullptr)
{
    detail::key_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
    if (fd.get() < 0) {
        const int err = errno;
        if (err == ELOOP)
            detail::throw_key_file_errno(err, "key file is a symbolic link (give the file itself)", path);
        detail::throw_key_file_errno(err, "cannot open key file", path);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        detail::throw_key_file_errno(errno, "cannot stat key file", path);
    if (!S_ISREG(st.st_mode))
        detail::throw_key_file_error(errc::bad_key, "not a regular file, so not a key file:", path);
    if (st.st_size < 0 || static_cast<std::size_t>(st.st_size) > key_file_max_size)
        detail::throw_key_file_error(errc::bad_key, "key file too large to be a key:", path);

    key_file_status found;
    found.mode = st.st_mode & 07777;
    found.too_open = (st.st_mode & key_file_too_open_bits) != 0;
    if (found.too_open && options.strict_permissions) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(found.mode));
        detail::throw_key_file_error(errc::insecure_key_file,
                                     std::string("refusing key file with mode ") + mode + " (run chmod 600 on it):", path);
    }
    if (status)
        *status = found;

    // One byte more than allowed, to notice a file that grew after fstat.
    secret_buffer text(key_file_max_size + 1);
    std::size_t n = 0;
    while (n < text.size()) {
        const ::ssize_t r = ::read(fd.get(), text.data() + n, text.size() - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            detail::throw_key_file_errno(errno, "cannot read key file", path);
        if (r == 0)
            break;
        n += static_cast<std::size_t>(r);
    }
    if (n > key_file_max_size)
        detail::throw_key_file_error(errc::bad_key, "key file too large to be a key:", path);
    text.resize(n);
    return text;
}

/// Writes a new private-key file holding `contents`. The one rule for every key type: an existing
/// file (or symbolic link) is never overwritten (O_CREAT | O_EXCL), and the file is created with
/// mode 0600 so the key is never readable by others, not even for an instant. The data is flushed
/// (fsync) before returning; on any failure the partial file is removed.
/// Throws std::system_error with errno (EEXIST when the path exists). Thread-safe.
inline void create_private_key_file(const std::filesystem::path& path, std::span<const char> contents)
{
    detail::key_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                             key_file_create_mode));
    if (fd.get() < 0)
        detail::throw_key_file_errno(errno, "cannot create key file (an existing key is never replaced)", path);
    const auto fail = [&](const char* what) {
        const int err = errno;
        ::unlink(path.c_str());
        detail::throw_key_file_errno(err, what, path);
    };
    std::size_t done = 0;
    while (done < contents.size()) {
        const ::ssize_t w = ::write(fd.get(), contents.data() + done, contents.size() - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            fail("cannot write key file");
        }
        done += static_cast<std::size_t>(w);
    }
    if (::fsync(fd.get()) != 0 || fd.close_now() != 0)
        fail("cannot write key file");
}

} // namespace tlvcast::crypto
