// SPDX-License-Identifier: BSL-1.0
// Tests for crypto/openssl_suite.hpp: PEM interoperability with OpenSSL's own reader and writer, and
// byte-identical results to cryptopp_suite.
#ifdef TLVCAST_HAS_OPENSSL // without OpenSSL this file compiles to nothing
#include <tlvcast/crypto/openssl_suite.hpp>

#include <tlvcast/crypto/identity.hpp>
#ifdef TLVCAST_HAS_CRYPTOPP
#include <tlvcast/crypto/cryptopp_suite.hpp>
#endif

#include <catch2/catch.hpp>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace tc = tlvcast::crypto;
namespace fs = std::filesystem;
using ossl = tc::openssl_suite;

namespace {

struct scratch_dir {
    fs::path path;
    scratch_dir()
    {
        std::array<std::byte, 8> r{};
        ossl::random_bytes(r);
        path = fs::temp_directory_path() / ("tlvcast-openssl-suite-" + tc::to_hex(r));
        fs::create_directories(path);
    }
    ~scratch_dir()
    {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

template <std::size_t N>
std::array<std::byte, N> random_array()
{
    std::array<std::byte, N> a{};
    ossl::random_bytes(a);
    return a;
}

} // namespace

TEST_CASE("openssl_suite identity files interoperate with OpenSSL's PEM reader and writer", "[suite][openssl][keyfile]")
{
    STATIC_REQUIRE(ossl::name == "OpenSSL");
    scratch_dir dir;
    const auto id = tc::generate_ed25519<ossl>();
    const auto ours = dir.path / "ours.pem";
    tc::save_identity(ours, id);

    // OpenSSL's generic PKCS#8 reader understands our file.
    {
        std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(ours.c_str(), "r"), &BIO_free);
        REQUIRE(bio);
        std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
            PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
        REQUIRE(key);
        CHECK(EVP_PKEY_get_id(key.get()) == EVP_PKEY_ED25519);
        std::array<std::byte, 32> seed{};
        std::size_t n = seed.size();
        REQUIRE(EVP_PKEY_get_raw_private_key(key.get(), reinterpret_cast<unsigned char*>(seed.data()), &n) == 1);
        CHECK(std::equal(seed.begin(), seed.end(), id.private_key.span().begin()));
    }

    // And the identity loader reads what OpenSSL's PEM writer produces.
    const auto seed = random_array<32>();
    const auto theirs = dir.path / "theirs.pem";
    {
        std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
            EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()),
                                         seed.size()),
            &EVP_PKEY_free);
        REQUIRE(key);
        std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(theirs.c_str(), "w"), &BIO_free);
        REQUIRE(bio);
        REQUIRE(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
    }
    const auto expected = tc::ed25519_from_seed<ossl>(seed);
    CHECK(tc::load_identity<ossl>(theirs).public_key == expected.public_key);
}

#ifdef TLVCAST_HAS_CRYPTOPP
using cpp = tc::cryptopp_suite;

TEST_CASE("openssl_suite and cryptopp_suite give identical bytes", "[suite][openssl][cross]")
{
    for (int round = 0; round < 20; ++round) {
        // Ed25519: same public key, same (deterministic) signature, each verifies the other's.
        const auto seed = random_array<32>();
        const auto a = tc::ed25519_from_seed<ossl>(seed);
        const auto b = tc::ed25519_from_seed<cpp>(seed);
        REQUIRE(a.public_key == b.public_key);
        std::vector<std::byte> msg(static_cast<std::size_t>(round * 13));
        ossl::random_bytes(msg);
        std::array<std::byte, 64> sa{}, sb{};
        ossl::sign(seed, msg, sa);
        cpp::sign(seed, msg, sb);
        CHECK(sa == sb);
        CHECK(cpp::verify(a.public_key, msg, sa));
        CHECK(ossl::verify(b.public_key, msg, sb));
        CHECK(tc::fingerprint_of<ossl>(a.public_key) == tc::fingerprint_of<cpp>(a.public_key));

        // X25519: a key pair from one backend agrees with one from the other.
        const auto x = tc::generate_x25519<ossl>();
        const auto y = tc::generate_x25519<cpp>();
        std::array<std::byte, 32> xy{}, yx{};
        std::error_code ec;
        REQUIRE(ossl::x25519(x.private_key.span(), y.public_key, xy, ec));
        REQUIRE(cpp::x25519(y.private_key.span(), x.public_key, yx, ec));
        CHECK(xy == yx);
        // Each backend derives the other's public key from its private key.
        const std::array<std::byte, 32> base{std::byte{9}};
        std::array<std::byte, 32> pub{};
        REQUIRE(cpp::x25519(x.private_key.span(), base, pub, ec));
        CHECK(pub == x.public_key);
        REQUIRE(ossl::x25519(y.private_key.span(), base, pub, ec));
        CHECK(pub == y.public_key);

        // Hash, MAC and KDF on random inputs.
        CHECK(ossl::sha256(msg) == cpp::sha256(msg));
        const auto key = random_array<40>();
        CHECK(ossl::hmac_sha256(key, msg) == cpp::hmac_sha256(key, msg));
        const auto prk = ossl::hkdf_extract(key, msg);
        const auto prk_cpp = cpp::hkdf_extract(key, msg);
        CHECK(std::equal(prk.span().begin(), prk.span().end(), prk_cpp.span().begin()));
        std::vector<std::byte> oa(static_cast<std::size_t>(1 + round * 37)), ob(oa.size());
        ossl::hkdf_expand(prk.span(), msg, oa);
        cpp::hkdf_expand(prk.span(), msg, ob);
        CHECK(oa == ob);
    }
}

TEST_CASE("Ed25519 verify: both suites accept and refuse the same random forgeries", "[suite][openssl][cross]")
{
    // Random 64-byte signatures and random points: almost all fail; both backends must agree on each.
    for (int round = 0; round < 200; ++round) {
        const auto pub = random_array<32>();
        const auto sig = random_array<64>();
        const auto msg = random_array<16>();
        CHECK(ossl::verify(pub, msg, sig) == cpp::verify(pub, msg, sig));
    }
}

TEST_CASE("identity files load with either suite to the same identity", "[suite][openssl][cross]")
{
    scratch_dir dir;
    const auto id = tc::generate_ed25519<cpp>();
    tc::save_identity(dir.path / "id.pem", id);
    CHECK(tc::load_identity<ossl>(dir.path / "id.pem").public_key == id.public_key);
    CHECK(tc::load_identity<cpp>(dir.path / "id.pem").public_key == id.public_key);
}
#endif // TLVCAST_HAS_CRYPTOPP

#endif // TLVCAST_HAS_OPENSSL
