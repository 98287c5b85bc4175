// Tests of the OpenSSL 3 RSA backend: keys, PEM I/O, RSAES-OAEP-SHA-256 limits and failures, threads.
#if defined(TLVCAST_HAS_OPENSSL)
#include <tlvcast/crypto/openssl_rsa.hpp>

#include <catch2/catch.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

namespace {

using tlvcast::errc;
using backend = tlvcast::crypto::openssl_rsa;

std::span<const std::byte> as_bytes(std::string_view s)
{
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::vector<std::byte> pattern(std::size_t n, unsigned seed)
{
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<std::byte>((i * 31 + seed) & 0xff);
    return v;
}

// Key generation costs up to a second under sanitizers: the tests share two keys.
const backend::private_key& key_a()
{
    static const backend::private_key k = backend::generate(2048);
    return k;
}
const backend::private_key& key_b()
{
    static const backend::private_key k = backend::generate(2048);
    return k;
}

/// A fresh directory removed at scope exit.
struct temp_dir {
    std::filesystem::path path;
    temp_dir()
    {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() /
               ("tlvcast-openssl-rsa-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~temp_dir()
    {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

struct pkey_free {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

std::string bio_text(BIO* bio)
{
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return {data, static_cast<std::size_t>(n)};
}

std::string spki_pem_of(EVP_PKEY* pkey)
{
    std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), &BIO_free};
    REQUIRE(PEM_write_bio_PUBKEY(bio.get(), pkey) == 1);
    return bio_text(bio.get());
}

/// SPKI PEM of an RSA public key with arbitrary n and e (no factorization needed), to make keys of
/// any size: n = 2^(bits-1) + 12345 (odd).
std::string spki_pem_of(int bits, unsigned long e_value)
{
    std::unique_ptr<BIGNUM, decltype(&BN_free)> n{BN_new(), &BN_free};
    std::unique_ptr<BIGNUM, decltype(&BN_free)> e{BN_new(), &BN_free};
    REQUIRE(BN_set_bit(n.get(), bits - 1) == 1);
    REQUIRE(BN_add_word(n.get(), 12345) == 1);
    REQUIRE(BN_set_word(e.get(), e_value) == 1);
    std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld{OSSL_PARAM_BLD_new(), &OSSL_PARAM_BLD_free};
    REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) == 1);
    REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) == 1);
    std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params{OSSL_PARAM_BLD_to_param(bld.get()), &OSSL_PARAM_free};
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx{EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr),
                                                                     &EVP_PKEY_CTX_free};
    EVP_PKEY* raw = nullptr;
    REQUIRE(EVP_PKEY_fromdata_init(ctx.get()) == 1);
    REQUIRE(EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) == 1);
    const pkey_ptr pkey{raw};
    REQUIRE(EVP_PKEY_get_bits(pkey.get()) == bits);
    return spki_pem_of(pkey.get());
}

std::vector<std::byte> encrypt_ok(const backend::public_key& pub, std::span<const std::byte> plain)
{
    std::vector<std::byte> c(backend::modulus_bytes(pub));
    std::error_code ec;
    backend::encrypt(pub, plain, c, ec);
    REQUIRE_FALSE(ec);
    return c;
}

// Fixed vectors written by Python's cryptography 38.
constexpr std::string_view ec_p256_pem = "-----BEGIN PUBLIC KEY-----\n"
                                         "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEkjPtRQ04uxe3DpoKUqSMokvcmhoq\n"
                                         "bJNAONNfeAuEgP8EAtWfUiaHtYO1gugm1FSfbo6H40aoKGIiJkHGn+lHFw==\n"
                                         "-----END PUBLIC KEY-----\n";
constexpr std::string_view ed25519_pem = "-----BEGIN PUBLIC KEY-----\n"
                                         "MCowBQYDK2VwAyEALN/nl1BFThzHGqM3XjG538BPpfxAYutrxlhyj0HAbTw=\n"
                                         "-----END PUBLIC KEY-----\n";

} // namespace

TEST_CASE("openssl_rsa: generate makes RSA-2048 keys and refuses other sizes", "[crypto][rsa][openssl]")
{
    const auto& priv = key_a();
    REQUIRE(priv);
    const auto pub = backend::public_of(priv);
    REQUIRE(pub);
    CHECK(backend::modulus_bytes(pub) == 256);
    CHECK(backend::modulus_bytes(priv) == 256);
    CHECK(backend::name == "openssl");
    CHECK(backend::fingerprint(pub) != backend::fingerprint(backend::public_of(key_b())));

    for (const unsigned bits : {0u, 1024u, 2047u, 4097u}) {
        try {
            (void)backend::generate(bits);
            FAIL("generate(" << bits << ") did not throw");
        } catch (const std::system_error& e) {
            CHECK(e.code() == errc::bad_key);
        }
    }
}

TEST_CASE("openssl_rsa: public PEM export and import round trip", "[crypto][rsa][openssl]")
{
    const auto pub = backend::public_of(key_a());
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

    // Byte-identical to OpenSSL's own writer, for every modulus size (line layouts differ).
    CHECK(pem == spki_pem_of(pub.native_handle()));
    for (const int bits : {2048, 2049, 3000, 3072, 4095, 4096}) {
        CAPTURE(bits);
        const std::string other = spki_pem_of(bits, 65537);
        const auto k = backend::import_public_pem(as_bytes(other), ec);
        REQUIRE_FALSE(ec);
        CHECK(backend::export_public_pem(k) == other);
        CHECK(backend::modulus_bytes(k) == static_cast<std::size_t>((bits + 7) / 8));
    }

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

TEST_CASE("openssl_rsa: fingerprint is SHA-256 of the DER SPKI and survives export/import", "[crypto][rsa][openssl]")
{
    const auto pub = backend::public_of(key_a());
    const std::string pem = backend::export_public_pem(pub);
    // Independent DER: strip the armor, base64-decode.
    std::string body = pem.substr(27, pem.size() - 27 - 25);
    std::erase(body, '\n');
    std::vector<unsigned char> der(body.size());
    const int der_len = EVP_DecodeBlock(der.data(), reinterpret_cast<const unsigned char*>(body.data()),
                                        static_cast<int>(body.size()));
    REQUIRE(der_len > 0);
    // EVP_DecodeBlock counts the '=' padding as zero bytes: drop them.
    const std::size_t padding = static_cast<std::size_t>(std::count(body.end() - 2, body.end(), '='));
    std::array<std::byte, 32> expected{};
    unsigned int md_len = 0;
    REQUIRE(EVP_Digest(der.data(), static_cast<std::size_t>(der_len) - padding,
                       reinterpret_cast<unsigned char*>(expected.data()), &md_len, EVP_sha256(), nullptr) == 1);
    CHECK(backend::fingerprint(pub) == expected);

    std::error_code ec;
    const auto back = backend::import_public_pem(as_bytes(pem), ec);
    REQUIRE_FALSE(ec);
    CHECK(backend::fingerprint(back) == expected);
}

TEST_CASE("openssl_rsa: encrypt/decrypt round trip at the size limits", "[crypto][rsa][openssl]")
{
    const auto& priv = key_a();
    const auto pub = backend::public_of(priv);
    for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{189}, std::size_t{190}}) {
        CAPTURE(n);
        const auto plain = pattern(n, 7);
        const auto c1 = encrypt_ok(pub, plain);
        const auto c2 = encrypt_ok(pub, plain);
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

TEST_CASE("openssl_rsa: size errors", "[crypto][rsa][openssl]")
{
    const auto& priv = key_a();
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

TEST_CASE("openssl_rsa: wrong key and corrupted ciphertexts fail to decrypt", "[crypto][rsa][openssl]")
{
    const auto& priv = key_a();
    const auto cipher = encrypt_ok(backend::public_of(priv), pattern(100, 3));
    std::vector<std::byte> out(190);
    std::error_code ec;

    CHECK(backend::decrypt(key_b(), cipher, out, ec) == 0);
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

TEST_CASE("openssl_rsa: import refuses garbage, non-RSA and out-of-range keys", "[crypto][rsa][openssl]")
{
    const pkey_ptr k1024{EVP_RSA_gen(1024)};
    REQUIRE(k1024);
    const pkey_ptr ec_key{EVP_EC_gen("P-384")};
    REQUIRE(ec_key);

    const std::string good = backend::export_public_pem(backend::public_of(key_a()));
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
        {"EC P-384 made by OpenSSL", spki_pem_of(ec_key.get())},
        {"RSA-1024", spki_pem_of(k1024.get())},
        {"RSA-4100", spki_pem_of(4100, 65537)},
        {"even exponent", spki_pem_of(2048, 65536)},
    };
    for (const auto& [what, pem] : cases) {
        CAPTURE(what);
        std::error_code ec;
        const auto key = backend::import_public_pem(as_bytes(pem), ec);
        CHECK(ec == errc::bad_key);
        CHECK_FALSE(key);
        // An empty key is refused by every operation instead of crashing.
        std::vector<std::byte> out(256);
        backend::encrypt(key, pattern(1, 1), out, ec);
        CHECK(ec == errc::bad_key);
        CHECK(backend::modulus_bytes(key) == 0);
        CHECK(backend::export_public_pem(key).empty());
    }
}

TEST_CASE("openssl_rsa: private key PEM save (mode 0600) and load", "[crypto][rsa][openssl]")
{
    temp_dir dir;
    const auto& priv = key_a();
    const auto file = dir.path / "key.pem";
    {
        // An existing file with a wider mode must come out as 0600 too.
        std::ofstream{file} << "old";
        std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                                               std::filesystem::perms::group_read |
                                               std::filesystem::perms::others_read);
    }
    backend::save_private_pem(priv, file);
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    const auto fresh = dir.path / "fresh.pem";
    backend::save_private_pem(priv, fresh);
    REQUIRE(::stat(fresh.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);

    std::string text;
    {
        std::ifstream in{file};
        text.assign(std::istreambuf_iterator<char>{in}, {});
    }
    CHECK(text.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    CHECK(text.ends_with("-----END PRIVATE KEY-----\n"));

    const auto loaded = backend::load_private_pem(file);
    CHECK(backend::public_of(loaded) == backend::public_of(priv));
    const auto cipher = encrypt_ok(backend::public_of(priv), pattern(42, 9));
    std::vector<std::byte> out(190);
    std::error_code ec;
    CHECK(backend::decrypt(loaded, cipher, out, ec) == 42);
    CHECK_FALSE(ec);

    SECTION("PKCS#1 RSA PRIVATE KEY")
    {
        const pkey_ptr k{EVP_RSA_gen(2048)};
        REQUIRE(k);
        std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), &BIO_free};
        REQUIRE(PEM_write_bio_PrivateKey_traditional(bio.get(), k.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
        const std::string pem = bio_text(bio.get());
        REQUIRE(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        const auto p1 = dir.path / "pkcs1.pem";
        tlvcast::crypto::detail::write_private_pem_file(p1, pem);
        const auto key = backend::load_private_pem(p1);
        CHECK(backend::modulus_bytes(key) == 256);
        std::error_code ec2;
        const auto expected = backend::import_public_pem(as_bytes(spki_pem_of(k.get())), ec2);
        REQUIRE_FALSE(ec2);
        CHECK(backend::public_of(key) == expected);
    }
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

TEST_CASE("openssl_rsa: concurrent decrypt and encrypt with one key", "[crypto][rsa][openssl][threads]")
{
    const auto& priv = key_a();
    const auto pub = backend::public_of(priv);
    constexpr int per_thread = 12;
    std::vector<std::vector<std::byte>> ciphers;
    for (int i = 0; i < 2 * per_thread; ++i)
        ciphers.push_back(encrypt_ok(pub, pattern(static_cast<std::size_t>(i) * 7, static_cast<unsigned>(i))));

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

#endif // TLVCAST_HAS_OPENSSL
