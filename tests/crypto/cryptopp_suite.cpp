// SPDX-License-Identifier: BSL-1.0
// Tests for crypto/cryptopp_suite.hpp: key files parsed by Crypto++'s own PKCS#8 decoder, concurrency smoke test.
#ifdef TLVCAST_HAS_CRYPTOPP // without Crypto++ this file compiles to nothing
#include <tlvcast/crypto/cryptopp_suite.hpp>

#include <tlvcast/crypto/identity.hpp>

#include <catch2/catch.hpp>

#include <cryptopp/base64.h>
#include <cryptopp/filters.h>
#include <cryptopp/queue.h>
#include <cryptopp/xed25519.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace tc = tlvcast::crypto;
namespace fs = std::filesystem;

TEST_CASE("cryptopp_suite identity files are PKCS#8 that Crypto++'s own decoder reads", "[suite][cryptopp][keyfile]")
{
    STATIC_REQUIRE(tc::cryptopp_suite::name == "Crypto++");
    std::array<std::byte, 8> r{};
    tc::cryptopp_suite::random_bytes(r);
    const auto dir = fs::temp_directory_path() / ("tlvcast-cryptopp-suite-" + tc::to_hex(r));
    fs::create_directories(dir);
    const auto path = dir / "id.pem";
    const auto id = tc::generate_ed25519<tc::cryptopp_suite>();
    tc::save_identity(path, id);

    std::ifstream in(path, std::ios::binary);
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const auto first = text.find('\n') + 1;
    const auto body = text.substr(first, text.find('\n', first) - first);
    CryptoPP::ByteQueue der;
    CryptoPP::StringSource(body, true, new CryptoPP::Base64Decoder(new CryptoPP::Redirector(der)));
    CryptoPP::ed25519PrivateKey key;
    key.BERDecode(der); // throws on anything that is not an Ed25519 PKCS#8 key
    CHECK(std::equal(id.private_key.span().begin(), id.private_key.span().end(),
                     reinterpret_cast<const std::byte*>(key.GetPrivateKeyBytePtr())));
    CHECK(std::equal(id.public_key.begin(), id.public_key.end(),
                     reinterpret_cast<const std::byte*>(key.GetPublicKeyBytePtr())));
    std::error_code ec;
    fs::remove_all(dir, ec);
}

TEST_CASE("cryptopp_suite is usable from several threads at once", "[suite][cryptopp]")
{
    const auto id = tc::generate_ed25519<tc::cryptopp_suite>();
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i) {
                std::array<std::byte, 16> msg{};
                msg[0] = static_cast<std::byte>(t);
                msg[1] = static_cast<std::byte>(i);
                std::array<std::byte, 64> sig{};
                tc::cryptopp_suite::sign(id.private_key.span(), msg, sig);
                if (!tc::cryptopp_suite::verify(id.public_key, msg, sig))
                    ++failures;
                const auto a = tc::generate_x25519<tc::cryptopp_suite>();
                const auto b = tc::generate_x25519<tc::cryptopp_suite>();
                std::array<std::byte, 32> ab{}, ba{};
                std::error_code ec;
                if (!tc::cryptopp_suite::x25519(a.private_key.span(), b.public_key, ab, ec) ||
                    !tc::cryptopp_suite::x25519(b.private_key.span(), a.public_key, ba, ec) || ab != ba)
                    ++failures;
            }
        });
    }
    for (auto& th : threads)
        th.join();
    CHECK(failures == 0);
}

#endif // TLVCAST_HAS_CRYPTOPP
