// The Ed25519 identity file shared by every suite: PEM PKCS#8 (RFC 8410), created exclusively with mode 0600.
#pragma once

#include <tlvcast/crypto/suite.hpp>

#include <cryptopp/misc.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tlvcast::crypto::detail {

/// DER of an RFC 8410 OneAsymmetricKey v1 for Ed25519, up to the seed: SEQUENCE { INTEGER 0,
/// SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }. The seed follows.
inline constexpr std::array<unsigned char, 16> pkcs8_ed25519_prefix = {
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
inline constexpr std::size_t pkcs8_ed25519_size = pkcs8_ed25519_prefix.size() + ed25519_seed_size; // 48
inline constexpr std::size_t pkcs8_ed25519_base64_size = pkcs8_ed25519_size / 3 * 4;               // 64
inline constexpr std::string_view pem_private_begin = "-----BEGIN PRIVATE KEY-----";
inline constexpr std::string_view pem_private_end = "-----END PRIVATE KEY-----";
/// A key file larger than this is not ours: refuse it before reading it.
inline constexpr std::size_t key_file_max_size = 4096;

/// Zeroes a buffer that held key material (SecureWipeBuffer is not optimised away).
inline void suite_wipe(void* p, std::size_t n) noexcept
{
    CryptoPP::SecureWipeBuffer(static_cast<CryptoPP::byte*>(p), n);
}

/// Holds a file descriptor; closes it on scope exit.
class suite_fd {
public:
    explicit suite_fd(int fd) noexcept : fd_(fd) {}
    suite_fd(const suite_fd&) = delete;
    suite_fd& operator=(const suite_fd&) = delete;
    ~suite_fd()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }

private:
    int fd_;
};

[[noreturn]] inline void suite_throw_errno(const std::filesystem::path& path, const char* what)
{
    throw std::system_error(errno, std::generic_category(), std::string("tlvcast: ") + what + " " + path.string());
}

/// Writes the PEM identity file for `seed`. `encode(der48, base64_64)` is the backend's base64.
/// Throws std::system_error (the path exists, or I/O fails: the partial file is removed).
template <class Encode>
void suite_save_ed25519(const std::filesystem::path& path, std::span<const std::byte, ed25519_seed_size> seed,
                        Encode encode)
{
    std::array<unsigned char, pkcs8_ed25519_size> der{};
    std::copy(pkcs8_ed25519_prefix.begin(), pkcs8_ed25519_prefix.end(), der.begin());
    std::copy_n(reinterpret_cast<const unsigned char*>(seed.data()), seed.size(), der.begin() + 16);
    // Room for "BEGIN\n" + 64 + "\n" + "END\n" (119 bytes).
    std::array<char, 128> text{};
    std::size_t n = 0;
    auto put = [&](std::string_view s) {
        std::copy(s.begin(), s.end(), text.begin() + static_cast<std::ptrdiff_t>(n));
        n += s.size();
    };
    put(pem_private_begin);
    put("\n");
    encode(std::span<const unsigned char, pkcs8_ed25519_size>(der),
           std::span<char, pkcs8_ed25519_base64_size>(text.data() + n, pkcs8_ed25519_base64_size));
    n += pkcs8_ed25519_base64_size;
    put("\n");
    put(pem_private_end);
    put("\n");
    suite_wipe(der.data(), der.size());

    // O_EXCL: never replace an existing identity; O_NOFOLLOW: not through a planted symlink. The mode
    // is given at creation so the key is never readable by others, not even for an instant.
    suite_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, S_IRUSR | S_IWUSR));
    if (fd.get() < 0) {
        suite_wipe(text.data(), text.size());
        suite_throw_errno(path, "cannot create key file");
    }
    std::size_t done = 0;
    while (done < n) {
        const ssize_t w = ::write(fd.get(), text.data() + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            const int saved = errno;
            suite_wipe(text.data(), text.size());
            ::unlink(path.c_str());
            errno = saved;
            suite_throw_errno(path, "cannot write key file");
        }
        done += static_cast<std::size_t>(w);
    }
    suite_wipe(text.data(), text.size());
    if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
        const int saved = errno;
        ::unlink(path.c_str());
        errno = saved;
        suite_throw_errno(path, "cannot write key file");
    }
}

/// Reads the PEM identity file and returns its seed. `decode(base64_64, der48) -> bool` is the
/// backend's base64. Throws std::system_error (unreadable) or std::runtime_error (not our format).
template <class Decode>
secret_bytes<ed25519_seed_size> suite_load_ed25519(const std::filesystem::path& path, Decode decode)
{
    suite_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0)
        suite_throw_errno(path, "cannot open key file");
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        suite_throw_errno(path, "cannot stat key file");
    if (!S_ISREG(st.st_mode) || st.st_size < 0 || static_cast<std::size_t>(st.st_size) > key_file_max_size)
        throw std::runtime_error("tlvcast: not an Ed25519 key file (not a small regular file): " + path.string());

    std::array<char, key_file_max_size + 1> text{};
    std::size_t n = 0;
    for (;;) {
        const ssize_t r = ::read(fd.get(), text.data() + n, text.size() - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            suite_wipe(text.data(), n);
            suite_throw_errno(path, "cannot read key file");
        }
        if (r == 0 || n + static_cast<std::size_t>(r) == text.size()) {
            n += static_cast<std::size_t>(r);
            break;
        }
        n += static_cast<std::size_t>(r);
    }

    // Keep only the base64 between the BEGIN and END lines, without whitespace.
    const std::string_view all(text.data(), n);
    std::array<char, pkcs8_ed25519_base64_size> b64{};
    std::size_t b64_size = 0;
    bool ok = n <= key_file_max_size;
    const auto begin = all.find(pem_private_begin);
    const auto end = all.find(pem_private_end);
    ok = ok && begin != std::string_view::npos && end != std::string_view::npos && begin < end;
    if (ok) {
        // Nothing but whitespace may surround the PEM block.
        ok = all.substr(0, begin).find_first_not_of(" \t\r\n") == std::string_view::npos &&
             all.substr(end + pem_private_end.size()).find_first_not_of(" \t\r\n") == std::string_view::npos;
        for (char c : all.substr(begin + pem_private_begin.size(), end - begin - pem_private_begin.size())) {
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
                continue;
            if (b64_size == b64.size()) {
                ok = false;
                break;
            }
            b64[b64_size++] = c;
        }
    }
    suite_wipe(text.data(), text.size());
    ok = ok && b64_size == b64.size();

    std::array<unsigned char, pkcs8_ed25519_size> der{};
    ok = ok && decode(std::span<const char, pkcs8_ed25519_base64_size>(b64),
                      std::span<unsigned char, pkcs8_ed25519_size>(der));
    suite_wipe(b64.data(), b64.size());
    ok = ok && std::equal(pkcs8_ed25519_prefix.begin(), pkcs8_ed25519_prefix.end(), der.begin());
    secret_bytes<ed25519_seed_size> seed;
    if (ok)
        std::copy_n(reinterpret_cast<const std::byte*>(der.data() + 16), ed25519_seed_size, seed.span().begin());
    suite_wipe(der.data(), der.size());
    if (!ok)
        throw std::runtime_error("tlvcast: not an unencrypted PKCS#8 Ed25519 PEM key: " + path.string());
    return seed;
}

/// True when all `n` bytes are zero, in time independent of where a nonzero byte is (no early exit).
inline bool suite_all_zero(const std::byte* p, std::size_t n) noexcept
{
    unsigned acc = 0;
    for (std::size_t i = 0; i < n; ++i)
        acc |= std::to_integer<unsigned>(p[i]);
    return acc == 0;
}

} // namespace tlvcast::crypto::detail
