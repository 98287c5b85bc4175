// SPDX-License-Identifier: BSL-1.0
// Security review (attacker's view) of the known-relays trust store (trust/known_relays.hpp) and of
// Ed25519 signature malleability on every backend.
#include <tlvcast/trust/known_relays.hpp>

#include "crypto/backends.hpp"

#include <tlvcast/crypto/identity.hpp>
#include <tlvcast/crypto/suite.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

namespace tc = tlvcast::crypto;
namespace fs = std::filesystem;
using tlvcast::endpoint;
using verdict = tc::relay_trust::verdict;

namespace {

struct rv_dir {
    fs::path path;
    rv_dir()
    {
        path = fs::temp_directory_path() / ("tlvcast-review-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        fs::create_directories(path);
    }
    ~rv_dir()
    {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::string rv_read(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void rv_write(const fs::path& p, const std::string& text)
{
    std::ofstream out(p, std::ios::binary);
    out << text;
}

tc::fingerprint rv_fp(std::uint8_t n)
{
    tc::fingerprint fp{};
    fp.fill(static_cast<std::byte>(n));
    return fp;
}

const endpoint group{0xe0010101u, 5007};

tc::relay_trust load(const fs::path& file, std::error_code& ec)
{
    tc::relay_trust t;
    tlvcast::trust::load_known_relays(file, t, ec);
    return t;
}

} // namespace

TEST_CASE("review trust store: FIFO, symlink, directory and oversized files are refused without blocking",
          "[review][trust]")
{
    rv_dir d;
    const auto file = d.path / "known_relays";
    SECTION("FIFO")
    {
        REQUIRE(::mkfifo(file.c_str(), 0600) == 0);
        auto f = std::async(std::launch::async, [&] {
            std::error_code ec;
            (void)load(file, ec);
            return ec;
        });
        REQUIRE(f.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
        CHECK(f.get());
        auto g = std::async(std::launch::async, [&] {
            std::error_code ec;
            tlvcast::trust::remember_relay(file, group, rv_fp(1), ec);
            return ec;
        });
        REQUIRE(g.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
        CHECK(g.get());
        CHECK(fs::is_fifo(file)); // not replaced
    }
    SECTION("symlink to a real store: refused on read and on write, target untouched")
    {
        const auto target = d.path / "elsewhere";
        const std::string line = group.to_string() + " " + tc::to_hex(rv_fp(1)) + "\n";
        rv_write(target, line);
        fs::create_symlink(target, file);
        std::error_code ec;
        const auto t = load(file, ec);
        CHECK(ec);
        CHECK(t.known.empty());
        tlvcast::trust::remember_relay(file, endpoint{0xe0010102u, 5007}, rv_fp(2), ec);
        CHECK(ec);
        CHECK(rv_read(target) == line);
        CHECK(fs::is_symlink(file));
    }
    SECTION("dangling symlink: refused, not created through")
    {
        const auto target = d.path / "victim";
        fs::create_symlink(target, file);
        std::error_code ec;
        (void)load(file, ec);
        CHECK(ec);
        tlvcast::trust::remember_relay(file, group, rv_fp(1), ec);
        CHECK(ec);
        CHECK_FALSE(fs::exists(target));
    }
    SECTION("directory")
    {
        fs::create_directory(file);
        std::error_code ec;
        (void)load(file, ec);
        CHECK(ec);
    }
    SECTION("oversized")
    {
        rv_write(file, std::string(tlvcast::trust::max_known_relays_bytes + 1, '#'));
        std::error_code ec;
        (void)load(file, ec);
        CHECK(ec == tlvcast::errc::malformed);
    }
}

TEST_CASE("review trust store: malformed or conflicting entries for the address fail closed", "[review][trust]")
{
    rv_dir d;
    const auto file = d.path / "known_relays";
    const std::string good = tc::to_hex(rv_fp(1));
    const std::string addr = group.to_string();
    const auto check_refused = [&](const std::string& text) {
        INFO(text);
        rv_write(file, text);
        std::error_code ec;
        const auto t = load(file, ec);
        CHECK(!ec);
        CHECK(t.check(group, rv_fp(1)) == verdict::refused);
        CHECK(t.check(group, rv_fp(9)) == verdict::refused);
    };
    check_refused(addr + " zz\n");
    check_refused(addr + "\n");
    check_refused(addr + " " + good.substr(0, 63) + "\n");
    check_refused(addr + " " + good + "00\n");
    check_refused(addr + " " + good + "\n" + addr + " " + tc::to_hex(rv_fp(2)) + "\n");
    check_refused(addr + " broken\n" + addr + " " + good + "\n");
    check_refused(addr + " " + good + "\n" + addr + " broken\n");
    check_refused("[::ffff:224.1.1.1]:5007 " + good + "\n" + addr + " " + tc::to_hex(rv_fp(2)) + "\n");
    // A valid entry is trusted, CRLF included.
    rv_write(file, addr + " " + good + "\r\n");
    std::error_code ec;
    const auto t = load(file, ec);
    CHECK(t.check(group, rv_fp(1)) == verdict::trusted);
    CHECK(t.check(group, rv_fp(2)) == verdict::refused);
}

TEST_CASE("review trust store: IPv6 entries round-trip; the temp and lock paths cannot be hijacked", "[review][trust]")
{
    rv_dir d;
    const auto file = d.path / "known_relays";
    const auto v6 = endpoint::parse("[ff15::1]:5007");
    REQUIRE(v6);
    const auto v6s = endpoint::parse("[ff02::1%3]:5007");
    REQUIRE(v6s);
    std::error_code ec;
    tlvcast::trust::remember_relay(file, *v6, rv_fp(1), ec);
    REQUIRE(!ec);
    tlvcast::trust::remember_relay(file, *v6s, rv_fp(2), ec);
    REQUIRE(!ec);
    tlvcast::trust::remember_relay(file, group, rv_fp(3), ec);
    REQUIRE(!ec);
    struct stat st{};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    {
        const auto t = load(file, ec);
        REQUIRE(!ec);
        CHECK(t.check(*v6, rv_fp(1)) == verdict::trusted);
        CHECK(t.check(*v6, rv_fp(2)) == verdict::refused);
        CHECK(t.check(*v6s, rv_fp(2)) == verdict::trusted);
        CHECK(t.check(group, rv_fp(3)) == verdict::trusted);
        CHECK(t.known.size() == 3);
    }
    SECTION("temp path pre-created as a symlink to a victim file")
    {
        const auto victim = d.path / "victim";
        rv_write(victim, "precious\n");
        fs::create_symlink(victim, d.path / "known_relays.tmp");
        tlvcast::trust::remember_relay(file, endpoint{0xe0010102u, 5007}, rv_fp(4), ec);
        CHECK(!ec);
        CHECK(rv_read(victim) == "precious\n");
        const auto t = load(file, ec);
        CHECK(t.check(endpoint{0xe0010102u, 5007}, rv_fp(4)) == verdict::trusted);
        CHECK(t.check(*v6, rv_fp(1)) == verdict::trusted);
    }
    SECTION("lock path pre-created as a symlink")
    {
        const auto victim = d.path / "victim";
        rv_write(victim, "precious\n");
        fs::remove(d.path / "known_relays.lock");
        fs::create_symlink(victim, d.path / "known_relays.lock");
        const std::string before = rv_read(file);
        tlvcast::trust::remember_relay(file, endpoint{0xe0010102u, 5007}, rv_fp(4), ec);
        CHECK(ec);
        CHECK(rv_read(victim) == "precious\n");
        CHECK(rv_read(file) == before);
    }
}

TEST_CASE("review trust store: concurrent writers lose no entry", "[review][trust]")
{
    rv_dir d;
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
                    rv_fp(static_cast<std::uint8_t>(w * each + i)), ec);
                if (ec)
                    ++errors;
            }
        });
    for (auto& t : threads)
        t.join();
    CHECK(errors == 0);
    std::error_code ec;
    const auto t = load(file, ec);
    REQUIRE(!ec);
    CHECK(t.known.size() == static_cast<std::size_t>(writers * each));
    for (int k = 0; k < writers * each; ++k)
        CHECK(t.check(endpoint{0xe0010000u + static_cast<std::uint32_t>(k), 5007}, rv_fp(static_cast<std::uint8_t>(k))) ==
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
