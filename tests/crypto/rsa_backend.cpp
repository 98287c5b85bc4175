// Tests of the rsa_backend concept and of the two backends against each other: keys, PEM, ciphertexts.
#include <tlvcast/crypto/rsa_backend.hpp>

#include <tlvcast/crypto/cryptopp_rsa.hpp>
#if defined(TLVCAST_HAS_OPENSSL)
#include <tlvcast/crypto/openssl_rsa.hpp>
#endif

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

using tlvcast::errc;
namespace crypto = tlvcast::crypto;

// The smallest type that models rsa_backend: declarations only, the concept checks signatures.
struct archetype_backend {
    struct private_key {};
    struct public_key {};
    static constexpr std::string_view name = "archetype";
    static private_key generate(unsigned bits = 2048);
    static private_key load_private_pem(const std::filesystem::path&);
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

std::span<const std::byte> as_bytes(std::string_view s)
{
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::vector<std::byte> pattern(std::size_t n, unsigned seed)
{
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<std::byte>((i * 13 + seed) & 0xff);
    return v;
}

struct temp_dir {
    std::filesystem::path path;
    temp_dir()
    {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() /
               ("tlvcast-rsa-backend-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~temp_dir()
    {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

} // namespace

#if defined(TLVCAST_HAS_OPENSSL)

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

#endif // TLVCAST_HAS_OPENSSL

TEST_CASE("rsa_backend: a Crypto++ key survives a private PEM round trip", "[crypto][rsa]")
{
    // Without OpenSSL this is the only cross check left: save, load, same public key and fingerprint.
    temp_dir dir;
    const auto priv = crypto::cryptopp_rsa::generate(2048);
    crypto::cryptopp_rsa::save_private_pem(priv, dir.path / "k.pem");
    const auto back = crypto::cryptopp_rsa::load_private_pem(dir.path / "k.pem");
    CHECK(crypto::cryptopp_rsa::fingerprint(crypto::cryptopp_rsa::public_of(back)) ==
          crypto::cryptopp_rsa::fingerprint(crypto::cryptopp_rsa::public_of(priv)));
}
