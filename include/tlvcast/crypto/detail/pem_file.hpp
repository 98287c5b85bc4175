// Key-file I/O for the RSA backends: bounded reads, and private-key writes that are never world-readable.
#pragma once

#include <tlvcast/error.hpp>

#include <cryptopp/secblock.h>

#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tlvcast::crypto::detail {

/// Key files are a few kilobytes; anything larger is not a key and is not read into memory.
inline constexpr std::size_t pem_file_max_bytes = 64 * 1024;

/// Closes a POSIX descriptor on scope exit.
class pem_fd {
public:
    explicit pem_fd(int fd) noexcept : fd_{fd} {}
    pem_fd(const pem_fd&) = delete;
    pem_fd& operator=(const pem_fd&) = delete;
    ~pem_fd()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    int get() const noexcept { return fd_; }
    /// Closes now so that a failing close (delayed write error) is reported.
    int release_close() noexcept
    {
        const int rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }

private:
    int fd_;
};

[[noreturn]] inline void throw_file_error(int err, std::string_view what, const std::filesystem::path& path)
{
    throw std::system_error(err, std::generic_category(),
                            "tlvcast: " + std::string{what} + " '" + path.string() + "'");
}

/// Reads a whole key file into wiped memory. Throws std::system_error (errno) when it cannot be
/// read, errc::bad_key when it is larger than pem_file_max_bytes.
inline CryptoPP::SecByteBlock read_pem_file(const std::filesystem::path& path)
{
    pem_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (fd.get() < 0)
        throw_file_error(errno, "cannot open key file", path);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        throw_file_error(errno, "cannot stat key file", path);
    if (st.st_size < 0 || static_cast<std::size_t>(st.st_size) > pem_file_max_bytes)
        throw std::system_error(make_error_code(errc::bad_key),
                                "tlvcast: key file '" + path.string() + "' is too large to be a PEM key");
    CryptoPP::SecByteBlock buf(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < buf.size()) {
        const ::ssize_t n = ::read(fd.get(), buf.data() + done, buf.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw_file_error(errno, "cannot read key file", path);
        if (n == 0)
            break; // the file shrank while we read it: parse what we have
        done += static_cast<std::size_t>(n);
    }
    buf.resize(done);
    return buf;
}

/// Writes `data` to `path` with mode 0600, replacing any previous content. The mode is set on the
/// descriptor before the first byte is written, so the key is never readable by others, even when
/// the file already existed with a wider mode. Symbolic links are not followed. Throws
/// std::system_error with errno on failure.
inline void write_private_pem_file(const std::filesystem::path& path, std::string_view data)
{
    pem_fd fd{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, S_IRUSR | S_IWUSR)};
    if (fd.get() < 0)
        throw_file_error(errno, "cannot create key file", path);
    if (::fchmod(fd.get(), S_IRUSR | S_IWUSR) != 0)
        throw_file_error(errno, "cannot set mode 0600 on key file", path);
    std::size_t done = 0;
    while (done < data.size()) {
        const ::ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw_file_error(errno, "cannot write key file", path);
        done += static_cast<std::size_t>(n);
    }
    if (fd.release_close() != 0)
        throw_file_error(errno, "cannot write key file", path);
}

} // namespace tlvcast::crypto::detail
