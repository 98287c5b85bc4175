// SPDX-License-Identifier: BSL-1.0
// Security review (attacker's view): known-relays parsing that failed open before its fix.
#include <tlvcast/trust/known_relays.hpp>

#include "crypto/backends.hpp"
#include "crypto/trust_helpers.hpp"

#include <tlvcast/crypto/identity.hpp>
#include <tlvcast/crypto/suite.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace tc = tlvcast::crypto;
using verdict = tc::relay_trust::verdict;

using tc::test::default_group;
using tc::test::fixed_fingerprint;
using tc::test::load_trust;
using tc::test::temp_dir;
using tc::test::write_file;

TEST_CASE("review trust store: an entry for the address written with other whitespace fails closed",
          "[review][trust]")
{
    // load_known_relays splits at ' ' only and skips lines whose prefix is no address: an entry
    // for the relay separated by a tab, or indented, is silently dropped, so the address falls
    // back to trust on first use (a rogue relay is then accepted and remembered) instead of being
    // refused.
    temp_dir d;
    const auto file = d.path / "known_relays";
    const std::string good = tc::to_hex(fixed_fingerprint(1));
    const std::string addr = default_group.to_string();
    std::vector<std::string> texts(3);
    texts[0].append(addr).append("\t").append(good).append("\n");
    texts[1].append(" ").append(addr).append(" ").append(good).append("\n");
    texts[2].append(addr).append("\t\n");
    for (const std::string& text : texts) {
        INFO(text);
        write_file(file, text);
        std::error_code ec;
        const auto t = load_trust(file, ec);
        CHECK(!ec);
        CHECK(t.check(default_group, fixed_fingerprint(9)) != verdict::first_use);
    }
}
