// SPDX-License-Identifier: BSL-1.0
// Security review (attacker's view): known-relays parsing that failed open before its fix.
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

TEST_CASE("review trust store: an entry for the address written with other whitespace fails closed",
          "[review][trust]")
{
    // load_known_relays splits at ' ' only and skips lines whose prefix is no address: an entry
    // for the relay separated by a tab, or indented, is silently dropped, so the address falls
    // back to trust on first use (a rogue relay is then accepted and remembered) instead of being
    // refused.
    rv_dir d;
    const auto file = d.path / "known_relays";
    const std::string good = tc::to_hex(rv_fp(1));
    const std::string addr = group.to_string();
    std::vector<std::string> texts(3);
    texts[0].append(addr).append("\t").append(good).append("\n");
    texts[1].append(" ").append(addr).append(" ").append(good).append("\n");
    texts[2].append(addr).append("\t\n");
    for (const std::string& text : texts) {
        INFO(text);
        rv_write(file, text);
        std::error_code ec;
        const auto t = load(file, ec);
        CHECK(!ec);
        CHECK(t.check(group, rv_fp(9)) != verdict::first_use);
    }
}
