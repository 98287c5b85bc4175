// SPDX-License-Identifier: BSL-1.0
// Security review (attacker's view) of the known-relays trust store (trust/known_relays.hpp) and of
// Ed25519 signature malleability on every backend.
#include <tlvcast/trust/known_relays.hpp>

#include "crypto/backends.hpp"
#include "crypto/trust_helpers.hpp"

#include <tlvcast/crypto/identity.hpp>
#include <tlvcast/crypto/suite.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

namespace tc = tlvcast::crypto;
namespace fs = std::filesystem;
using tlvcast::endpoint;
using verdict = tc::relay_trust::verdict;

using tc::test::default_group;
using tc::test::fixed_fingerprint;
using tc::test::load_trust;
using tc::test::read_file;
using tc::test::temp_dir;
using tc::test::write_file;

TEST_CASE("review trust store: FIFO, symlink, directory and oversized files are refused without blocking",
          "[review][trust]")
{
    temp_dir d;
    const auto file = d.path / "known_relays";
    SECTION("FIFO")
    {
        REQUIRE(::mkfifo(file.c_str(), 0600) == 0);
        auto f = std::async(std::launch::async, [&] {
            std::error_code ec;
            (void)load_trust(file, ec);
            return ec;
        });
        REQUIRE(f.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
        CHECK(f.get());
        auto g = std::async(std::launch::async, [&] {
            std::error_code ec;
            tlvcast::trust::remember_relay(file, default_group, fixed_fingerprint(1), ec);
            return ec;
        });
        REQUIRE(g.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
        CHECK(g.get());
        CHECK(fs::is_fifo(file)); // not replaced
    }
    SECTION("symlink to a real store: refused on read and on write, target untouched")
    {
        const auto target = d.path / "elsewhere";
        const std::string line = default_group.to_string() + " " + tc::to_hex(fixed_fingerprint(1)) + "\n";
        write_file(target, line);
        fs::create_symlink(target, file);
        std::error_code ec;
        const auto t = load_trust(file, ec);
        CHECK(ec);
        CHECK(t.known.empty());
        tlvcast::trust::remember_relay(file, endpoint{0xe0010102u, 5007}, fixed_fingerprint(2), ec);
        CHECK(ec);
        CHECK(read_file(target) == line);
        CHECK(fs::is_symlink(file));
    }
    SECTION("dangling symlink: refused, not created through")
    {
        const auto target = d.path / "victim";
        fs::create_symlink(target, file);
        std::error_code ec;
        (void)load_trust(file, ec);
        CHECK(ec);
        tlvcast::trust::remember_relay(file, default_group, fixed_fingerprint(1), ec);
        CHECK(ec);
        CHECK_FALSE(fs::exists(target));
    }
    SECTION("directory")
    {
        fs::create_directory(file);
        std::error_code ec;
        (void)load_trust(file, ec);
        CHECK(ec);
    }
    SECTION("oversized")
    {
        write_file(file, std::string(tlvcast::trust::max_known_relays_bytes + 1, '#'));
        std::error_code ec;
        (void)load_trust(file, ec);
        CHECK(ec == tlvcast::errc::malformed);
    }
}

TEST_CASE("review trust store: malformed or conflicting entries for the address fail closed", "[review][trust]")
{
    temp_dir d;
    const auto file = d.path / "known_relays";
    const std::string good = tc::to_hex(fixed_fingerprint(1));
    const std::string addr = default_group.to_string();
    const auto check_refused = [&](const std::string& text) {
        INFO(text);
        write_file(file, text);
        std::error_code ec;
        const auto t = load_trust(file, ec);
        CHECK(!ec);
        CHECK(t.check(default_group, fixed_fingerprint(1)) == verdict::refused);
        CHECK(t.check(default_group, fixed_fingerprint(9)) == verdict::refused);
    };
    check_refused(addr + " zz\n");
    check_refused(addr + "\n");
    check_refused(addr + " " + good.substr(0, 63) + "\n");
    check_refused(addr + " " + good + "00\n");
    check_refused(addr + " " + good + "\n" + addr + " " + tc::to_hex(fixed_fingerprint(2)) + "\n");
    check_refused(addr + " broken\n" + addr + " " + good + "\n");
    check_refused(addr + " " + good + "\n" + addr + " broken\n");
    check_refused("[::ffff:224.1.1.1]:5007 " + good + "\n" + addr + " " + tc::to_hex(fixed_fingerprint(2)) + "\n");
    // A valid entry is trusted, CRLF included.
    write_file(file, addr + " " + good + "\r\n");
    std::error_code ec;
    const auto t = load_trust(file, ec);
    CHECK(t.check(default_group, fixed_fingerprint(1)) == verdict::trusted);
    CHECK(t.check(default_group, fixed_fingerprint(2)) == verdict::refused);
}

TEST_CASE("review trust store: IPv6 entries round-trip; the temp and lock paths cannot be hijacked", "[review][trust]")
{
    temp_dir d;
    const auto file = d.path / "known_relays";
    const auto v6 = endpoint::parse("[ff15::1]:5007");
    REQUIRE(v6);
    const auto v6s = endpoint::parse("[ff02::1%3]:5007");
    REQUIRE(v6s);
    std::error_code ec;
    tlvcast::trust::remember_relay(file, *v6, fixed_fingerprint(1), ec);
    REQUIRE(!ec);
    tlvcast::trust::remember_relay(file, *v6s, fixed_fingerprint(2), ec);
    REQUIRE(!ec);
    tlvcast::trust::remember_relay(file, default_group, fixed_fingerprint(3), ec);
    REQUIRE(!ec);
    struct stat st{};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    {
        const auto t = load_trust(file, ec);
        REQUIRE(!ec);
        CHECK(t.check(*v6, fixed_fingerprint(1)) == verdict::trusted);
        CHECK(t.check(*v6, fixed_fingerprint(2)) == verdict::refused);
        CHECK(t.check(*v6s, fixed_fingerprint(2)) == verdict::trusted);
        CHECK(t.check(default_group, fixed_fingerprint(3)) == verdict::trusted);
        CHECK(t.known.size() == 3);
    }
    SECTION("temp path pre-created as a symlink to a victim file")
    {
        const auto victim = d.path / "victim";
        write_file(victim, "precious\n");
        fs::create_symlink(victim, d.path / "known_relays.tmp");
        tlvcast::trust::remember_relay(file, endpoint{0xe0010102u, 5007}, fixed_fingerprint(4), ec);
        CHECK(!ec);
        CHECK(read_file(victim) == "precious\n");
        const auto t = load_trust(file, ec);
        CHECK(t.check(endpoint{0xe0010102u, 5007}, fixed_fingerprint(4)) == verdict::trusted);
        CHECK(t.check(*v6, fixed_fingerprint(1)) == verdict::trusted);
    }
    SECTION("lock path pre-created as a symlink")
    {
        const auto victim = d.path / "victim";
        write_file(victim, "precious\n");
        fs::remove(d.path / "known_relays.lock");
        fs::create_symlink(victim, d.path / "known_relays.lock");
        const std::string before = read_file(file);
        tlvcast::trust::remember_relay(file, endpoint{0xe0010102u, 5007}, fixed_fingerprint(4), ec);
        CHECK(ec);
        CHECK(read_file(victim) == "precious\n");
        CHECK(read_file(file) == before);
    }
}

TEST_CASE("review trust store: concurrent writers lose no entry", "[review][trust]")
{
    temp_dir d;
    const auto file = d.path / "known_relays";
    constexpr int writers = 8, each = 10;
    std::vector<std::thread> threads;
    std::atomic<int> errors{0};
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            for (int i = 0; i < each; ++i) {
                std::error_code ec;
                tlvcast::trust::remember_relay(
                    file, endpoint{0xe0010000u + static_cast<std::uint32_t>(w * each + i), 5007},
                    fixed_fingerprint(static_cast<std::uint8_t>(w * each + i)), ec);
                if (ec)
                    ++errors;
            }
        });
    for (auto& t : threads)
        t.join();
    CHECK(errors == 0);
    std::error_code ec;
    const auto t = load_trust(file, ec);
    REQUIRE(!ec);
    CHECK(t.known.size() == static_cast<std::size_t>(writers * each));
    for (int k = 0; k < writers * each; ++k)
        CHECK(t.check(endpoint{0xe0010000u + static_cast<std::uint32_t>(k), 5007}, fixed_fingerprint(static_cast<std::uint8_t>(k))) ==
              verdict::trusted);
}

TEMPLATE_TEST_CASE("review Ed25519: a valid signature with S + L (malleated) and R with a flipped sign are refused",
                   "[review][ed25519]", TLVCAST_TEST_SUITES)
{
    std::array<std::byte, 32> seed{};
    seed.fill(std::byte{7});
    const auto kp = tc::ed25519_from_seed<TestType>(seed);
    const std::string text = "pay 10";
    const auto msg = std::as_bytes(std::span(text));
    std::array<std::byte, 64> sig{};
    TestType::sign(kp.private_key.span(), msg, sig);
    REQUIRE(TestType::verify(kp.public_key, msg, sig));
    // S + L: fits in 256 bits when S < 2^256 - L (always for a reduced S, whose top byte is < 0x10).
    auto mal = sig;
    unsigned carry = 0;
    for (std::size_t i = 0; i < 32; ++i) {
        const unsigned v = std::to_integer<unsigned>(mal[32 + i]) + tc::detail::ed25519_order_l[i] + carry;
        mal[32 + i] = static_cast<std::byte>(v & 0xff);
        carry = v >> 8;
    }
    REQUIRE(carry == 0);
    CHECK_FALSE(TestType::verify(kp.public_key, msg, mal));
    auto r_flip = sig;
    r_flip[31] ^= std::byte{0x80};
    CHECK_FALSE(TestType::verify(kp.public_key, msg, r_flip));
    auto a_flip = kp.public_key;
    a_flip[31] ^= std::byte{0x80};
    CHECK_FALSE(TestType::verify(a_flip, msg, sig));
}
