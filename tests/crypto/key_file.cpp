// SPDX-License-Identifier: BSL-1.0
// Tests for crypto/key_file.hpp: exclusive 0600 creation, and reads that refuse links, FIFOs, devices,
// large files, and report (or, strictly, refuse) keys that group or others may read.
#include <tlvcast/crypto/key_file.hpp>

#include "crypto/helpers.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tc = tlvcast::crypto;
namespace fs = std::filesystem;
using tlvcast::errc;

namespace {

std::string read_all(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::error_code read_error(const fs::path& p, const tc::key_file_options& options = {})
{
    try {
        (void)tc::read_private_key_file(p, options);
    } catch (const std::system_error& e) {
        return e.code();
    }
    return {};
}

constexpr std::string_view key_text = "-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n";

} // namespace

TEST_CASE("key files are created 0600, exclusively, never over an existing file or link", "[keyfile]")
{
    tc::test::temp_dir dir;
    const auto path = dir.path / "k.pem";
    tc::create_private_key_file(path, key_text);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(read_all(path) == key_text);

    // The one rule for every key type: an existing key is never replaced.
    try {
        tc::create_private_key_file(path, "other");
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::file_exists);
    }
    CHECK(read_all(path) == key_text);

    // Nor is a file reached through a planted link, dangling or not.
    const auto target = dir.path / "elsewhere";
    fs::create_symlink(target, dir.path / "link.pem");
    CHECK_THROWS_AS(tc::create_private_key_file(dir.path / "link.pem", key_text), std::system_error);
    CHECK_FALSE(fs::exists(target));
    CHECK_THROWS_AS(tc::create_private_key_file(dir.path / "missing-dir" / "k.pem", key_text), std::system_error);
}

TEST_CASE("key files are read whole; a mode open to group or others is reported, and refused when strict",
          "[keyfile]")
{
    tc::test::temp_dir dir;
    const auto path = dir.path / "k.pem";
    tc::create_private_key_file(path, key_text);

    tc::key_file_status status;
    auto text = tc::read_private_key_file(path, {}, &status);
    CHECK(std::string_view(text.data(), text.size()) == key_text);
    CHECK_FALSE(status.too_open);
    CHECK(status.mode == 0600);
    CHECK(tc::key_file_warning(path, status).empty());

    // 0644: loads, and says so (the programs print the warning); --strict-perms refuses it.
    REQUIRE(::chmod(path.c_str(), 0644) == 0);
    text = tc::read_private_key_file(path, {}, &status);
    CHECK(std::string_view(text.data(), text.size()) == key_text);
    CHECK(status.too_open);
    CHECK(status.mode == 0644);
    const auto warning = tc::key_file_warning(path, status);
    CHECK(warning.find("0644") != std::string::npos);
    CHECK(warning.find(path.string()) != std::string::npos);
    CHECK(read_error(path, {.strict_permissions = true}) == errc::insecure_key_file);

    // Group write or other execute is as bad (OpenSSH's rule: mode & 077); owner bits are not.
    for (const ::mode_t mode : {0620, 0601, 0640, 0604}) {
        REQUIRE(::chmod(path.c_str(), mode) == 0);
        CHECK(read_error(path, {.strict_permissions = true}) == errc::insecure_key_file);
    }
    for (const ::mode_t mode : {0400, 0600, 0700}) {
        REQUIRE(::chmod(path.c_str(), mode) == 0);
        CHECK_FALSE(read_error(path, {.strict_permissions = true}));
    }
}

TEST_CASE("key files: links, FIFOs, directories and large files are refused without blocking", "[keyfile]")
{
    tc::test::temp_dir dir;
    const auto path = dir.path / "k.pem";
    tc::create_private_key_file(path, key_text);

    SECTION("a symbolic link, even to a good key file")
    {
        fs::create_symlink(path, dir.path / "link.pem");
        const auto ec = read_error(dir.path / "link.pem");
        CHECK(ec == std::errc::too_many_symbolic_link_levels);
    }
    SECTION("a FIFO: refused at once, where a plain open would wait for a writer forever")
    {
        const auto fifo = dir.path / "fifo.pem";
        REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        auto result = std::async(std::launch::async, [&] { return read_error(fifo); });
        if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
            // Unblock the reader (a writer appears and leaves) so that the test ends, then fail.
            const int w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
            if (w >= 0)
                ::close(w);
            FAIL("reading a FIFO blocked");
        }
        CHECK(result.get() == errc::bad_key);
    }
    SECTION("a directory, a device, a missing file")
    {
        CHECK(read_error(dir.path) == errc::bad_key);
        CHECK(read_error("/dev/null") == errc::bad_key);
        CHECK(read_error(dir.path / "absent.pem") == std::errc::no_such_file_or_directory);
    }
    SECTION("larger than key_file_max_size")
    {
        const auto big = dir.path / "big.pem";
        tc::create_private_key_file(big, std::string(tc::key_file_max_size + 1, 'A'));
        CHECK(read_error(big) == errc::bad_key);
        const auto edge = dir.path / "edge.pem";
        tc::create_private_key_file(edge, std::string(tc::key_file_max_size, 'A'));
        CHECK(tc::read_private_key_file(edge).size() == tc::key_file_max_size);
    }
}
