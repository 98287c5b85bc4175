// SPDX-License-Identifier: BSL-1.0
// Tests of the rsa_backend concept, of what every backend must do (run on each), and of the backends
// against each other: keys, PEM, ciphertexts.
#include <tlvcast/crypto/rsa_backend.hpp>

#include <tlvcast/crypto/detail/base64.hpp>

#include "crypto/backends.hpp"
#include "crypto/rsa_helpers.hpp"

#include <catch2/catch.hpp>

#if defined(TLVCAST_TEST_CROSS_BACKEND)
#include <cryptopp/filters.h>
#endif

#include <algorithm>
#include <array>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <sys/stat.h>

namespace {

using tlvcast::errc;
namespace crypto = tlvcast::crypto;
using crypto::test::as_bytes;
using crypto::test::encrypt_ok;
using crypto::test::key_a;
using crypto::test::key_b;
using crypto::test::pattern;

/// A scratch directory for this file's tests.
struct temp_dir : crypto::test::temp_dir {
    temp_dir() : crypto::test::temp_dir{"tlvcast-rsa-backend-"} {}
};

// The smallest type that models rsa_backend: declarations only, the concept checks signatures.
struct archetype_backend {
    struct private_key {};
    struct public_key {};
    static constexpr std::string_view name = "archetype";
    static private_key generate(unsigned bits = 2048);
    static private_key load_private_pem(const std::filesystem::path&, const crypto::key_file_options& = {},
                                        crypto::key_file_status* = nullptr);
    static void save_private_pem(const private_key&, const std::filesystem::path&);
    static public_key public_of(const private_key&) noexcept;
    static public_key import_public_pem(std::span<const std::byte>, std::error_code&) noexcept;
    static std::string export_public_pem(const public_key&);
    static std::size_t modulus_bytes(const public_key&) noexcept;
    static std::size_t modulus_bytes(const private_key&) noexcept;
    static void encrypt(const public_key&, std::span<const std::byte>, std::span<std::byte>, std::error_code&) noexcept;
    static std::size_t decrypt(const private_key&, std::span<const std::byte>, std::span<std::byte>,
                               std::error_code&) noexcept;
    static std::array<std::byte, 32> fingerprint(const public_key&) noexcept;
};
static_assert(crypto::rsa_backend<archetype_backend>);

// One missing piece is enough to fail the concept.
struct no_fingerprint : archetype_backend {
    static void fingerprint(const public_key&) noexcept;
};
static_assert(!crypto::rsa_backend<no_fingerprint>);
// A loader that cannot be told how strict to be, nor report a too-open file, does not do.
struct path_only_loader : archetype_backend {
    static private_key load_private_pem(const std::filesystem::path&);
};
static_assert(!crypto::rsa_backend<path_only_loader>);
struct uncopyable_public : archetype_backend {
    struct public_key {
        public_key() = default;
        public_key(const public_key&) = delete;
    };
};
static_assert(!crypto::rsa_backend<uncopyable_public>);

static_assert(crypto::oaep_sha256_max_plaintext(256) == 190);
static_assert(crypto::oaep_sha256_max_plaintext(512) == 446);
static_assert(crypto::oaep_sha256_max_plaintext(66) == 0);

// Fixed vectors written by Python's cryptography 38.
constexpr std::string_view ec_p256_pem = "-----BEGIN PUBLIC KEY-----\n"
                                         "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEkjPtRQ04uxe3DpoKUqSMokvcmhoq\n"
                                         "bJNAONNfeAuEgP8EAtWfUiaHtYO1gugm1FSfbo6H40aoKGIiJkHGn+lHFw==\n"
                                         "-----END PUBLIC KEY-----\n";
constexpr std::string_view ed25519_pem = "-----BEGIN PUBLIC KEY-----\n"
                                         "MCowBQYDK2VwAyEALN/nl1BFThzHGqM3XjG538BPpfxAYutrxlhyj0HAbTw=\n"
                                         "-----END PUBLIC KEY-----\n";

} // namespace

// Every backend, for the cases that hold for all of them; backend-specific cases live in the
// backend's own test file.
#define TLVCAST_RSA_BACKENDS TLVCAST_TEST_RSA_BACKENDS

TEMPLATE_TEST_CASE("rsa_backend: generate makes RSA-2048 keys and refuses other sizes", "[crypto][rsa]",
                   TLVCAST_RSA_BACKENDS)
{
    using backend = TestType;
    const auto& priv = key_a<backend>();
    REQUIRE(priv);
    const auto pub = backend::public_of(priv);
    REQUIRE(pub);
    CHECK(backend::modulus_bytes(pub) == 256);
    CHECK(backend::modulus_bytes(priv) == 256);
    CHECK(backend::fingerprint(pub) != backend::fingerprint(backend::public_of(key_b<backend>())));

    for (const unsigned bits : {0u, 1024u, 2047u, 4097u}) {
        try {
            (void)backend::generate(bits);
            FAIL("generate(" << bits << ") did not throw");
        } catch (const std::system_error& e) {
            CHECK(e.code() == errc::bad_key);
        }
    }
}

TEMPLATE_TEST_CASE("rsa_backend: public PEM export and import round trip", "[crypto][rsa]", TLVCAST_RSA_BACKENDS)
{
    using backend = TestType;
    const auto pub = backend::public_of(key_a<backend>());
    const std::string pem = backend::export_public_pem(pub);
    CHECK(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    CHECK(pem.ends_with("\n-----END PUBLIC KEY-----\n"));
    // 64-column lines; an RSA-2048 SPKI is 294 bytes, 392 base64 characters: six full lines and 8.
    std::vector<std::size_t> lengths;
    for (std::size_t at = 0; at < pem.size();) {
        const std::size_t nl = pem.find('\n', at);
        REQUIRE(nl != std::string::npos);
        lengths.push_back(nl - at);
        at = nl + 1;
    }
    CHECK(lengths == std::vector<std::size_t>{26, 64, 64, 64, 64, 64, 64, 8, 24});

    std::error_code ec;
    const auto back = backend::import_public_pem(as_bytes(pem), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(back);
    CHECK(back == pub);
    CHECK(backend::export_public_pem(back) == pem);
    CHECK(backend::modulus_bytes(back) == 256);

    // Text around the armor is ignored, CRLF line ends are accepted.
    std::string crlf;
    for (const char c : pem) {
        if (c == '\n')
            crlf += '\r';
        crlf += c;
    }
    const auto framed = backend::import_public_pem(as_bytes("key follows\n" + crlf + "trailer\n"), ec);
    REQUIRE_FALSE(ec);
    CHECK(framed == pub);
}

TEMPLATE_TEST_CASE("rsa_backend: fingerprint is SHA-256 of the DER SPKI and survives export/import", "[crypto][rsa]",
                   TLVCAST_RSA_BACKENDS)
{
    using backend = TestType;
    const auto pub = backend::public_of(key_a<backend>());
    const std::string pem = backend::export_public_pem(pub);
    // Independent DER: strip the armor and the line breaks, base64-decode, hash with the default suite.
    std::string body;
    for (const char c : pem.substr(27, pem.size() - 27 - 25))
        if (c != '\n')
            body += c;
    std::vector<unsigned char> der(body.size() / 4 * 3 - static_cast<std::size_t>(std::count(body.begin(), body.end(), '=')));
    REQUIRE(crypto::detail::base64_decode(body, der));
    const auto expected = crypto::default_suite::sha256(std::as_bytes(std::span(der)));
    CHECK(backend::fingerprint(pub) == expected);

    std::error_code ec;
    const auto back = backend::import_public_pem(as_bytes(pem), ec);
    REQUIRE_FALSE(ec);
    CHECK(backend::fingerprint(back) == expected);
}

TEMPLATE_TEST_CASE("rsa_backend: encrypt/decrypt round trip at the size limits", "[crypto][rsa]", TLVCAST_RSA_BACKENDS)
{
    using backend = TestType;
    const auto& priv = key_a<backend>();
    const auto pub = backend::public_of(priv);
    for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{189}, std::size_t{190}}) {
        CAPTURE(n);
        const auto plain = pattern(n, 7);
        const auto c1 = encrypt_ok<backend>(pub, plain);
        const auto c2 = encrypt_ok<backend>(pub, plain);
        CHECK(c1.size() == 256);
        CHECK(c1 != c2); // OAEP is randomized

        std::vector<std::byte> out(190);
        std::error_code ec;
        const std::size_t len = backend::decrypt(priv, c1, out, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(len == n);
        CHECK(std::equal(plain.begin(), plain.end(), out.begin()));
    }
}

TEMPLATE_TEST_CASE("rsa_backend: size errors", "[crypto][rsa]", TLVCAST_RSA_BACKENDS)
{
    using backend = TestType;
    const auto& priv = key_a<backend>();
    const auto pub = backend::public_of(priv);
    std::error_code ec;
    std::vector<std::byte> out(512);

    backend::encrypt(pub, pattern(191, 1), out, ec);
    CHECK(ec == errc::message_too_large);
    backend::encrypt(pub, pattern(10, 1), std::span{out}.first(255), ec);
    CHECK(ec == errc::buffer_too_small);
    // A larger buffer is fine: exactly modulus_bytes bytes are written.
    std::fill(out.begin(), out.end(), std::byte{0xAB});
    backend::encrypt(pub, pattern(10, 1), out, ec);
    REQUIRE_FALSE(ec);
    CHECK(std::all_of(out.begin() + 256, out.end(), [](std::byte b) { return b == std::byte{0xAB}; }));

    const std::vector<std::byte> cipher(out.begin(), out.begin() + 256);
    std::vector<std::byte> plain(190);
    CHECK(backend::decrypt(priv, cipher, std::span{plain}.first(189), ec) == 0);
    CHECK(ec == errc::buffer_too_small);
    CHECK(backend::decrypt(priv, std::span{cipher}.first(255), plain, ec) == 0);
    CHECK(ec == errc::decrypt_failed);
    CHECK(backend::decrypt(priv, std::span{out}.first(257), plain, ec) == 0);
    CHECK(ec == errc::decrypt_failed);
    CHECK(backend::decrypt(priv, {}, plain, ec) == 0);
    CHECK(ec == errc::decrypt_failed);
    CHECK(backend::decrypt(priv, cipher, plain, ec) == 10);
    CHECK_FALSE(ec);
}

TEMPLATE_TEST_CASE("rsa_backend: wrong key and corrupted ciphertexts fail to decrypt", "[crypto][rsa]",
                   TLVCAST_RSA_BACKENDS)
{
    using backend = TestType;
    const auto& priv = key_a<backend>();
    const auto cipher = encrypt_ok<backend>(backend::public_of(priv), pattern(100, 3));
    std::vector<std::byte> out(190);
    std::error_code ec;

    CHECK(backend::decrypt(key_b<backend>(), cipher, out, ec) == 0);
    CHECK(ec == errc::decrypt_failed);

    for (const std::size_t at : {std::size_t{0}, std::size_t{1}, std::size_t{128}, std::size_t{255}}) {
        CAPTURE(at);
        auto bad = cipher;
        bad[at] ^= std::byte{0x01};
        CHECK(backend::decrypt(priv, bad, out, ec) == 0);
        CHECK(ec == errc::decrypt_failed);
    }
    // Values >= n (all 0xFF) and 0 are not ciphertexts of any OAEP message.
    const std::vector<std::byte> ones(256, std::byte{0xFF});
    CHECK(backend::decrypt(priv, ones, out, ec) == 0);
    CHECK(ec == errc::decrypt_failed);
    const std::vector<std::byte> zeros(256);
    CHECK(backend::decrypt(priv, zeros, out, ec) == 0);
    CHECK(ec == errc::decrypt_failed);

    // The key still works after the failures.
    CHECK(backend::decrypt(priv, cipher, out, ec) == 100);
    CHECK_FALSE(ec);
}

TEMPLATE_TEST_CASE("rsa_backend: import refuses garbage and non-RSA keys", "[crypto][rsa]", TLVCAST_RSA_BACKENDS)
{
    // Keys that only a crypto library can make (other sizes, other exponents) are in each backend's file.
    using backend = TestType;
    const std::string good = backend::export_public_pem(backend::public_of(key_a<backend>()));
    std::string bad_char = good;
    bad_char[40] = '*';
    const std::string cut = good.substr(0, 100) + "\n-----END PUBLIC KEY-----\n";
    const std::string no_end = good.substr(0, good.size() - 25);
    std::string pkcs1_label = good;
    pkcs1_label.replace(pkcs1_label.find("BEGIN PUBLIC"), 12, "BEGIN RSA PUBLIC");

    const std::vector<std::pair<std::string, std::string>> cases{
        {"empty", ""},
        {"garbage", "this is not a key"},
        {"armor only", "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"},
        {"bad base64 character", bad_char},
        {"truncated DER", cut},
        {"missing END", no_end},
        {"other label", pkcs1_label},
        {"EC P-256", std::string{ec_p256_pem}},
        {"Ed25519", std::string{ed25519_pem}},
    };
    for (const auto& [what, pem] : cases) {
        CAPTURE(what);
        crypto::test::check_import_refused<backend>(pem);
    }
}

TEMPLATE_TEST_CASE("rsa_backend: private key PEM save (mode 0600, never over a file) and load", "[crypto][rsa]",
                   TLVCAST_RSA_BACKENDS)
{
    using backend = TestType;
    temp_dir dir;
    const auto& priv = key_a<backend>();
    const auto file = dir.path / "key.pem";
    backend::save_private_pem(priv, file);
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    {
        // An existing file is never replaced (the one rule of key_file.hpp): it stays as it was.
        const auto old = dir.path / "old.pem";
        std::ofstream{old} << "old";
        try {
            backend::save_private_pem(priv, old);
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::file_exists);
        }
        std::ifstream in{old};
        CHECK(std::string{std::istreambuf_iterator<char>{in}, {}} == "old");
    }

    std::string text;
    {
        std::ifstream in{file};
        text.assign(std::istreambuf_iterator<char>{in}, {});
    }
    CHECK(text.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    CHECK(text.ends_with("-----END PRIVATE KEY-----\n"));

    const auto loaded = backend::load_private_pem(file);
    CHECK(backend::public_of(loaded) == backend::public_of(priv));
    const auto cipher = encrypt_ok<backend>(backend::public_of(priv), pattern(42, 9));
    std::vector<std::byte> out(190);
    std::error_code ec;
    CHECK(backend::decrypt(loaded, cipher, out, ec) == 42);
    CHECK_FALSE(ec);

    // Through the key-file rules: a too-open file is reported, and refused when strict; a link is refused.
    crypto::key_file_status status;
    (void)backend::load_private_pem(file, {}, &status);
    CHECK_FALSE(status.too_open);
    REQUIRE(::chmod(file.c_str(), 0644) == 0);
    CHECK(backend::public_of(backend::load_private_pem(file, {}, &status)) == backend::public_of(priv));
    CHECK(status.too_open);
    try {
        (void)backend::load_private_pem(file, {.strict_permissions = true});
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(e.code() == errc::insecure_key_file);
    }
    std::filesystem::create_symlink(file, dir.path / "link.pem");
    CHECK_THROWS_AS(backend::load_private_pem(dir.path / "link.pem"), std::system_error);

    // PKCS#1 files are made with each backend's own library: see the backend's test file.
    SECTION("missing file")
    {
        try {
            (void)backend::load_private_pem(dir.path / "absent.pem");
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::no_such_file_or_directory);
            CHECK(std::string{e.what()}.find("absent.pem") != std::string::npos);
        }
    }
    SECTION("a file without a private key")
    {
        const auto pubfile = dir.path / "pub.pem";
        std::ofstream{pubfile} << backend::export_public_pem(backend::public_of(priv));
        try {
            (void)backend::load_private_pem(pubfile);
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(e.code() == errc::bad_key);
        }
        std::ofstream{pubfile} << "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
        CHECK_THROWS_AS(backend::load_private_pem(pubfile), std::system_error);
    }
}

TEMPLATE_TEST_CASE("rsa_backend: concurrent decrypt and encrypt with one key", "[crypto][rsa][threads]",
                   TLVCAST_RSA_BACKENDS)
{
    using backend = TestType;
    const auto& priv = key_a<backend>();
    const auto pub = backend::public_of(priv);
    constexpr int per_thread = 12;
    std::vector<std::vector<std::byte>> ciphers;
    for (int i = 0; i < 2 * per_thread; ++i)
        ciphers.push_back(
            encrypt_ok<backend>(pub, pattern(static_cast<std::size_t>(i) * 7, static_cast<unsigned>(i))));

    std::array<int, 2> good{};
    auto work = [&](int t) {
        std::vector<std::byte> out(190);
        std::vector<std::byte> c(256);
        for (int i = t; i < 2 * per_thread; i += 2) {
            std::error_code dec_ec;
            std::error_code enc_ec;
            const auto expected = pattern(static_cast<std::size_t>(i) * 7, static_cast<unsigned>(i));
            const std::size_t n = backend::decrypt(priv, ciphers[static_cast<std::size_t>(i)], out, dec_ec);
            backend::encrypt(pub, expected, c, enc_ec);
            if (!dec_ec && !enc_ec && n == expected.size() && std::equal(expected.begin(), expected.end(), out.begin()))
                ++good[static_cast<std::size_t>(t)];
        }
    };
    std::thread t0{work, 0};
    std::thread t1{work, 1};
    t0.join();
    t1.join();
    CHECK(good[0] == per_thread);
    CHECK(good[1] == per_thread);
}

#if defined(TLVCAST_TEST_CROSS_BACKEND)

namespace {

/// A key made by backend From, used by backend To.
template <class From, class To>
struct direction {
    using from = From;
    using to = To;
};

} // namespace

TEMPLATE_TEST_CASE("rsa_backend: keys and ciphertexts cross between backends", "[crypto][rsa][cross]",
                   (direction<crypto::cryptopp_rsa, crypto::openssl_rsa>),
                   (direction<crypto::openssl_rsa, crypto::cryptopp_rsa>))
{
    using from = typename TestType::from;
    using to = typename TestType::to;
    CAPTURE(from::name, to::name);

    const auto priv = from::generate(2048);
    const auto pub = from::public_of(priv);
    const std::string pem = from::export_public_pem(pub);

    // Public PEM: same text, same fingerprint, same size on the other side.
    std::error_code ec;
    const auto pub_to = to::import_public_pem(as_bytes(pem), ec);
    REQUIRE_FALSE(ec);
    CHECK(to::export_public_pem(pub_to) == pem);
    CHECK(to::fingerprint(pub_to) == from::fingerprint(pub));
    CHECK(to::modulus_bytes(pub_to) == 256);

    // Private PEM: saved by one, loaded by the other, with the same public half.
    temp_dir dir;
    const auto file = dir.path / "key.pem";
    from::save_private_pem(priv, file);
    const auto priv_to = to::load_private_pem(file);
    CHECK(to::export_public_pem(to::public_of(priv_to)) == pem);
    // ... and back again.
    const auto file2 = dir.path / "key2.pem";
    to::save_private_pem(priv_to, file2);
    CHECK(from::export_public_pem(from::public_of(from::load_private_pem(file2))) == pem);

    for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{100}, std::size_t{190}}) {
        CAPTURE(n);
        const auto plain = pattern(n, static_cast<unsigned>(n));
        std::vector<std::byte> out(190);

        // from encrypts -> to decrypts
        std::vector<std::byte> c1(256);
        from::encrypt(pub, plain, c1, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(to::decrypt(priv_to, c1, out, ec) == n);
        REQUIRE_FALSE(ec);
        CHECK(std::equal(plain.begin(), plain.end(), out.begin()));

        // to encrypts -> from decrypts
        std::vector<std::byte> c2(256);
        to::encrypt(pub_to, plain, c2, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(from::decrypt(priv, c2, out, ec) == n);
        REQUIRE_FALSE(ec);
        CHECK(std::equal(plain.begin(), plain.end(), out.begin()));

        // A corrupted block fails on both.
        c2[17] ^= std::byte{0x80};
        CHECK(from::decrypt(priv, c2, out, ec) == 0);
        CHECK(ec == errc::decrypt_failed);
        CHECK(to::decrypt(priv_to, c2, out, ec) == 0);
        CHECK(ec == errc::decrypt_failed);
    }
}

TEST_CASE("rsa_backend: both backends export the same PEM for every modulus size", "[crypto][rsa][cross]")
{
    // Public functions with n = 2^(bits-1) + 1 (odd, exactly `bits` bits): no key generation needed,
    // and the walk crosses every base64 line layout, including DER lengths that fill the last line.
    for (unsigned bits = crypto::rsa_min_modulus_bits; bits <= crypto::rsa_max_modulus_bits; bits += 7) {
        CAPTURE(bits);
        CryptoPP::RSAFunction f;
        f.Initialize(CryptoPP::Integer::Power2(bits - 1) + CryptoPP::Integer::One(), CryptoPP::Integer{65537});
        std::string der;
        CryptoPP::StringSink sink{der};
        f.DEREncode(sink);
        const std::string pem = crypto::detail::rsa_openssl_pem("PUBLIC KEY", der);
        std::error_code ec;
        const auto c = crypto::cryptopp_rsa::import_public_pem(as_bytes(pem), ec);
        REQUIRE_FALSE(ec);
        const auto o = crypto::openssl_rsa::import_public_pem(as_bytes(pem), ec);
        REQUIRE_FALSE(ec);
        CHECK(crypto::cryptopp_rsa::export_public_pem(c) == pem);
        CHECK(crypto::openssl_rsa::export_public_pem(o) == pem);
        CHECK(crypto::cryptopp_rsa::fingerprint(c) == crypto::openssl_rsa::fingerprint(o));
        CHECK(crypto::cryptopp_rsa::modulus_bytes(c) == crypto::openssl_rsa::modulus_bytes(o));
    }
}

TEST_CASE("rsa_backend: both backends decrypt with one key at the same time", "[crypto][rsa][cross][threads]")
{
    temp_dir dir;
    const auto file = dir.path / "key.pem";
    const auto priv_c = crypto::cryptopp_rsa::generate(2048);
    crypto::cryptopp_rsa::save_private_pem(priv_c, file);
    const auto priv_o = crypto::openssl_rsa::load_private_pem(file);
    const auto pub_c = crypto::cryptopp_rsa::public_of(priv_c);
    const auto pub_o = crypto::openssl_rsa::public_of(priv_o);

    constexpr std::size_t count = 16;
    std::vector<std::vector<std::byte>> ciphers(count, std::vector<std::byte>(256));
    for (std::size_t i = 0; i < count; ++i) {
        std::error_code ec;
        crypto::cryptopp_rsa::encrypt(pub_c, pattern(i * 11, static_cast<unsigned>(i)), ciphers[i], ec);
        REQUIRE_FALSE(ec);
    }

    // Two threads per backend, all decrypting every block with the same key object.
    std::array<std::size_t, 4> good{};
    auto run = [&](std::size_t slot, auto decrypt) {
        std::vector<std::byte> out(190);
        for (std::size_t i = 0; i < count; ++i) {
            std::error_code ec;
            const auto expected = pattern(i * 11, static_cast<unsigned>(i));
            const std::size_t n = decrypt(ciphers[i], out, ec);
            if (!ec && n == expected.size() && std::equal(expected.begin(), expected.end(), out.begin()))
                ++good[slot];
        }
    };
    auto dec_c = [&](std::span<const std::byte> c, std::span<std::byte> out, std::error_code& ec) {
        return crypto::cryptopp_rsa::decrypt(priv_c, c, out, ec);
    };
    auto dec_o = [&](std::span<const std::byte> c, std::span<std::byte> out, std::error_code& ec) {
        return crypto::openssl_rsa::decrypt(priv_o, c, out, ec);
    };
    {
        std::jthread t0{run, 0, dec_c};
        std::jthread t1{run, 1, dec_c};
        std::jthread t2{run, 2, dec_o};
        std::jthread t3{run, 3, dec_o};
    }
    CHECK(good == std::array<std::size_t, 4>{count, count, count, count});

    // Concurrent encryptions with shared public keys decrypt correctly too.
    std::vector<std::vector<std::byte>> fresh(4, std::vector<std::byte>(256));
    {
        std::jthread a{[&] { std::error_code ec; crypto::cryptopp_rsa::encrypt(pub_c, pattern(5, 1), fresh[0], ec); }};
        std::jthread b{[&] { std::error_code ec; crypto::cryptopp_rsa::encrypt(pub_c, pattern(6, 2), fresh[1], ec); }};
        std::jthread c{[&] { std::error_code ec; crypto::openssl_rsa::encrypt(pub_o, pattern(7, 3), fresh[2], ec); }};
        std::jthread d{[&] { std::error_code ec; crypto::openssl_rsa::encrypt(pub_o, pattern(8, 4), fresh[3], ec); }};
    }
    for (std::size_t i = 0; i < 4; ++i) {
        std::vector<std::byte> out(190);
        std::error_code ec;
        const auto expected = pattern(5 + i, static_cast<unsigned>(i + 1));
        REQUIRE(crypto::openssl_rsa::decrypt(priv_o, fresh[i], out, ec) == expected.size());
        CHECK(std::equal(expected.begin(), expected.end(), out.begin()));
    }
}

#endif // TLVCAST_TEST_CROSS_BACKEND

TEMPLATE_TEST_CASE("rsa_backend: a key survives a private PEM round trip", "[crypto][rsa]", TLVCAST_RSA_BACKENDS)
{
    // Without a second backend this is the only cross check left: save, load, same public key and fingerprint.
    using backend = TestType;
    temp_dir dir;
    const auto& priv = key_b<backend>();
    backend::save_private_pem(priv, dir.path / "k.pem");
    const auto back = backend::load_private_pem(dir.path / "k.pem");
    CHECK(backend::fingerprint(backend::public_of(back)) == backend::fingerprint(backend::public_of(priv)));
}
