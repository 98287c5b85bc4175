// SPDX-License-Identifier: BSL-1.0
// Tests for crypto/identity.hpp: Ed25519 identity files on every suite (0600, exclusive, strict format,
// OpenSSL's layout), read through the key-file rules, and load-or-create.
#include <tlvcast/crypto/identity.hpp>

#include "crypto/backends.hpp"
#include "crypto/helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>

#include <sys/stat.h>

namespace tc = tlvcast::crypto;
namespace fs = std::filesystem;
using tlvcast::errc;

namespace {

std::string read_all(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& p, std::string_view text)
{
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
}

constexpr std::string_view rfc8410_private_pem = // RFC 8410 section 10.3, typed in from the RFC
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n"
    "-----END PRIVATE KEY-----\n";
constexpr std::string_view rfc8410_public_hex = "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1";

} // namespace

TEMPLATE_TEST_CASE("identity files: 0600, exclusive, round trip, strict format", "[identity][keyfile]",
                   TLVCAST_TEST_SUITES)
{
    tc::test::temp_dir dir;
    const auto id = tc::generate_ed25519<TestType>();
    const auto path = dir.path / "id.pem";
    tc::save_identity(path, id);

    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    const auto text = read_all(path);
    CHECK(text.rfind("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI", 0) == 0);
    CHECK(text.size() == 119);

    tc::key_file_status status;
    const auto loaded = tc::load_identity<TestType>(path, {}, &status);
    CHECK_FALSE(status.too_open);
    CHECK(loaded.public_key == id.public_key);
    CHECK(std::equal(loaded.private_key.span().begin(), loaded.private_key.span().end(),
                     id.private_key.span().begin()));

    // Never overwrites: the second save fails and the first key is intact.
    const auto other = tc::generate_ed25519<TestType>();
    CHECK_THROWS_AS(tc::save_identity(path, other), std::system_error);
    CHECK(read_all(path) == text);

    // A key readable by group and others loads with a warning, and is refused under strict permissions.
    fs::permissions(path, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    CHECK(tc::load_identity<TestType>(path, {}, &status).public_key == id.public_key);
    CHECK(status.too_open);
    try {
        (void)tc::load_identity<TestType>(path, {.strict_permissions = true});
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(e.code() == errc::insecure_key_file);
    }

    // The RFC 8410 example key (as `openssl genpkey` writes it) loads, with the RFC's public key.
    const auto rfc = dir.path / "rfc8410.pem";
    write_all(rfc, rfc8410_private_pem);
    CHECK(tc::to_hex(tc::load_identity<TestType>(rfc).public_key) == rfc8410_public_hex);
    // CRLF line ends are tolerated.
    std::string crlf;
    for (char c : rfc8410_private_pem) {
        if (c == '\n')
            crlf += '\r';
        crlf += c;
    }
    write_all(rfc, crlf);
    CHECK(tc::to_hex(tc::load_identity<TestType>(rfc).public_key) == rfc8410_public_hex);

    // Anything else is refused.
    const auto bad = dir.path / "bad.pem";
    const std::string body = "MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC";
    const std::string begin = "-----BEGIN PRIVATE KEY-----\n", end = "\n-----END PRIVATE KEY-----\n";
    std::string x25519_key = body;
    x25519_key.replace(12, 4, "K2Vu"); // OID 1.3.101.110 (X25519) instead of 1.3.101.112 (Ed25519)
    for (const std::string& t : {std::string(), std::string("hello"), begin + body, body + end,
                                 begin + body.substr(0, 60) + end, begin + body + "AAAA" + end,
                                 begin + x25519_key + end, "junk" + begin + body + end, begin + body + end + "junk",
                                 begin + std::string(64, '*') + end, begin + body.substr(0, 63) + "=" + end,
                                 std::string("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
                                             "-----END PUBLIC KEY-----\n")}) {
        INFO(t);
        write_all(bad, t);
        try {
            (void)tc::load_identity<TestType>(bad);
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(e.code() == errc::bad_key);
        }
    }
    CHECK_THROWS_AS(tc::load_identity<TestType>(dir.path / "missing.pem"), std::system_error);
    CHECK_THROWS_AS(tc::load_identity<TestType>(dir.path), std::system_error); // a directory
    write_all(bad, std::string(5000, 'A'));
    CHECK_THROWS_AS(tc::load_identity<TestType>(bad), std::system_error);
    // A link to a good identity file is refused (key files are opened without following links).
    fs::create_symlink(rfc, dir.path / "link.pem");
    CHECK_THROWS_AS(tc::load_identity<TestType>(dir.path / "link.pem"), std::system_error);
}

TEMPLATE_TEST_CASE("load_or_create_identity creates once, then loads the same identity", "[identity][keyfile]",
                   TLVCAST_TEST_SUITES)
{
    tc::test::temp_dir dir;
    const auto path = dir.path / "id.pem";
    tc::key_file_status status{.too_open = true};
    const auto a = tc::load_or_create_identity<TestType>(path, {}, &status);
    CHECK_FALSE(status.too_open);
    const auto b = tc::load_or_create_identity<TestType>(path, {.strict_permissions = true}, &status);
    CHECK(a.public_key == b.public_key);
    // A dangling link is not mistaken for "nothing there": no key is written through it.
    fs::create_symlink(dir.path / "target.pem", dir.path / "dangling.pem");
    CHECK_THROWS_AS(tc::load_or_create_identity<TestType>(dir.path / "dangling.pem"), std::system_error);
    CHECK_FALSE(fs::exists(dir.path / "target.pem"));
}
