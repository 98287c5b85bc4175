// Tests for crypto/suite.hpp: the concept, to_hex, secret_bytes, and the RFC vectors and key files on every suite.
#include <tlvcast/crypto/suite.hpp>

#include <tlvcast/crypto/cryptopp_suite.hpp>
#ifdef TLVCAST_HAS_OPENSSL
#include <tlvcast/crypto/openssl_suite.hpp>
#endif

#include "crypto/helpers.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <new>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <sys/stat.h>

namespace tc = tlvcast::crypto;
namespace fs = std::filesystem;
using tlvcast::errc;

namespace {

using tc::test::hex;

template <std::size_t N>
std::array<std::byte, N> hex_array(std::string_view s)
{
    const auto v = hex(s);
    REQUIRE(v.size() == N);
    std::array<std::byte, N> a{};
    std::copy(v.begin(), v.end(), a.begin());
    return a;
}

// The smallest type that models the concept.
struct suite_archetype {
    static constexpr std::string_view name = "archetype";
    static tc::x25519_keypair generate_x25519() { return {}; }
    static bool x25519(std::span<const std::byte, 32>, std::span<const std::byte, 32>, std::span<std::byte, 32>,
                       std::error_code&) { return false; }
    static tc::ed25519_keypair generate_ed25519() { return {}; }
    static tc::ed25519_keypair ed25519_from_seed(std::span<const std::byte, 32>) { return {}; }
    static void sign(std::span<const std::byte, 32>, std::span<const std::byte>, std::span<std::byte, 64>) {}
    static bool verify(std::span<const std::byte, 32>, std::span<const std::byte>, std::span<const std::byte, 64>)
    {
        return false;
    }
    static void save_ed25519(const fs::path&, const tc::ed25519_keypair&) {}
    static tc::ed25519_keypair load_ed25519(const fs::path&) { return {}; }
    static tc::sha256_digest fingerprint(std::span<const std::byte, 32>) { return {}; }
    static tc::sha256_digest sha256(std::span<const std::byte>) { return {}; }
    static tc::sha256_digest hmac_sha256(std::span<const std::byte>, std::span<const std::byte>) { return {}; }
    static tc::sha256_digest hkdf_extract(std::span<const std::byte>, std::span<const std::byte>) { return {}; }
    static void hkdf_expand(std::span<const std::byte, 32>, std::span<const std::byte>, std::span<std::byte>) {}
    static void random_bytes(std::span<std::byte>) {}
};

// A fresh, private scratch directory per test, removed afterwards.
struct scratch_dir {
    fs::path path;
    scratch_dir()
    {
        std::array<std::byte, 8> r{};
        tc::cryptopp_suite::random_bytes(r);
        path = fs::temp_directory_path() / ("tlvcast-suite-" + tc::to_hex(r));
        fs::create_directories(path);
    }
    ~scratch_dir()
    {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

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

} // namespace

TEST_CASE("suite concept accepts the archetype and both backends", "[suite]")
{
    STATIC_REQUIRE(tc::suite<suite_archetype>);
    STATIC_REQUIRE_FALSE(tc::suite<int>);
    STATIC_REQUIRE(tc::suite<tc::cryptopp_suite>);
#ifdef TLVCAST_HAS_OPENSSL
    STATIC_REQUIRE(tc::suite<tc::openssl_suite>);
#endif
}

TEST_CASE("to_hex is lowercase, two digits per byte", "[suite]")
{
    CHECK(tc::to_hex({}).empty());
    const auto bytes = hex("00017f80abcdefff");
    CHECK(tc::to_hex(bytes) == "00017f80abcdefff");
}

TEST_CASE("secret_bytes copies independently and wipes on request and on destruction", "[suite]")
{
    const auto k = hex_array<32>("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    tc::secret_bytes<32> a(k);
    tc::secret_bytes<32> b = a;
    CHECK(std::equal(b.span().begin(), b.span().end(), k.begin()));
    a.wipe();
    CHECK(std::all_of(a.span().begin(), a.span().end(), [](std::byte x) { return x == std::byte{0}; }));
    CHECK(std::equal(b.span().begin(), b.span().end(), k.begin())); // the copy is untouched

    // Destruction wipes: construct in raw storage we own, destroy, then inspect the storage.
    alignas(tc::secret_bytes<32>) std::array<unsigned char, sizeof(tc::secret_bytes<32>)> storage{};
    auto* p = new (storage.data()) tc::secret_bytes<32>(k);
    CHECK(std::to_integer<unsigned>(p->span()[31]) == 0x1f);
    p->~secret_bytes();
    CHECK(std::all_of(storage.begin(), storage.end(), [](unsigned char x) { return x == 0; }));
}

#ifdef TLVCAST_HAS_OPENSSL
#define TLVCAST_SUITES tc::cryptopp_suite, tc::openssl_suite
#else
#define TLVCAST_SUITES tc::cryptopp_suite
#endif

TEMPLATE_TEST_CASE("X25519 matches RFC 7748 section 6.1 (Alice and Bob)", "[suite][x25519]", TLVCAST_SUITES)
{
    const auto alice_private = hex_array<32>("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    const auto alice_public = hex_array<32>("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    const auto bob_private = hex_array<32>("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    const auto bob_public = hex_array<32>("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    const auto shared = hex_array<32>("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");

    // The public keys are X25519(private, 9).
    std::array<std::byte, 32> base{std::byte{9}};
    std::array<std::byte, 32> out{};
    std::error_code ec;
    REQUIRE(TestType::x25519(alice_private, base, out, ec));
    CHECK_FALSE(ec);
    CHECK(out == alice_public);
    REQUIRE(TestType::x25519(bob_private, base, out, ec));
    CHECK(out == bob_public);

    REQUIRE(TestType::x25519(alice_private, bob_public, out, ec));
    CHECK(out == shared);
    REQUIRE(TestType::x25519(bob_private, alice_public, out, ec));
    CHECK(out == shared);
}

TEMPLATE_TEST_CASE("X25519 refuses low-order peer keys (all-zero shared secret)", "[suite][x25519]", TLVCAST_SUITES)
{
    const auto kp = TestType::generate_x25519();
    for (auto point : {std::string_view("0000000000000000000000000000000000000000000000000000000000000000"),
                       std::string_view("0100000000000000000000000000000000000000000000000000000000000000"),
                       std::string_view("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")}) {
        INFO(point);
        const auto peer = hex_array<32>(point);
        std::array<std::byte, 32> out;
        out.fill(std::byte{0xaa});
        std::error_code ec;
        CHECK_FALSE(TestType::x25519(kp.private_key.span(), peer, out, ec));
        CHECK(ec == errc::handshake_failed);
        CHECK(out == std::array<std::byte, 32>{});
    }
}

TEMPLATE_TEST_CASE("generated X25519 key pairs agree", "[suite][x25519]", TLVCAST_SUITES)
{
    const auto a = TestType::generate_x25519();
    const auto b = TestType::generate_x25519();
    CHECK(a.public_key != b.public_key);
    std::array<std::byte, 32> ab{}, ba{};
    std::error_code ec;
    REQUIRE(TestType::x25519(a.private_key.span(), b.public_key, ab, ec));
    REQUIRE(TestType::x25519(b.private_key.span(), a.public_key, ba, ec));
    CHECK(ab == ba);
    CHECK(ab != std::array<std::byte, 32>{});
}

TEMPLATE_TEST_CASE("Ed25519 matches RFC 8032 section 7.1 TEST 1 and TEST 2", "[suite][ed25519]", TLVCAST_SUITES)
{
    struct vec {
        std::string_view secret, public_key, message, signature;
    };
    const vec vectors[] = {
        {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
         "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
        {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
         "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    };
    for (const auto& v : vectors) {
        INFO(v.public_key);
        const auto seed = hex_array<32>(v.secret);
        const auto pub = hex_array<32>(v.public_key);
        const auto msg = hex(v.message);
        const auto sig = hex_array<64>(v.signature);

        const auto id = TestType::ed25519_from_seed(seed);
        CHECK(id.public_key == pub);
        CHECK(std::equal(id.private_key.span().begin(), id.private_key.span().end(), seed.begin()));

        std::array<std::byte, 64> out{};
        TestType::sign(seed, msg, out);
        CHECK(out == sig);
        CHECK(TestType::verify(pub, msg, sig));

        // A flipped bit anywhere in the signature, the message or the key fails.
        auto bad = sig;
        for (std::size_t bit = 0; bit < 512; bit += 7) {
            bad[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
            CHECK_FALSE(TestType::verify(pub, msg, bad));
            bad[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
        }
        auto longer = msg;
        longer.push_back(std::byte{0});
        CHECK_FALSE(TestType::verify(pub, longer, sig));
        auto other_pub = pub;
        other_pub[0] ^= std::byte{1};
        CHECK_FALSE(TestType::verify(other_pub, msg, sig));
    }
    // Garbage keys and signatures are refused without throwing.
    std::array<std::byte, 32> ff;
    ff.fill(std::byte{0xff});
    std::array<std::byte, 64> zero_sig{};
    CHECK_FALSE(TestType::verify(ff, {}, zero_sig));
}

TEMPLATE_TEST_CASE("generated Ed25519 identities sign and verify; fingerprint is SHA-256 of the key",
                   "[suite][ed25519]", TLVCAST_SUITES)
{
    const auto id = TestType::generate_ed25519();
    const auto again = TestType::ed25519_from_seed(id.private_key.span());
    CHECK(again.public_key == id.public_key);
    const auto msg = hex("0102030405");
    std::array<std::byte, 64> sig{};
    TestType::sign(id.private_key.span(), msg, sig);
    CHECK(TestType::verify(id.public_key, msg, sig));
    CHECK(TestType::fingerprint(id.public_key) == TestType::sha256(id.public_key));
    // RFC 8032 TEST 1's public key; expected value from `printf <key hex> | xxd -r -p | sha256sum`.
    const auto pub1 = hex_array<32>("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    CHECK(tc::to_hex(TestType::fingerprint(pub1)) == "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9");
}

TEMPLATE_TEST_CASE("SHA-256, HMAC-SHA256 (RFC 4231 case 2) and HKDF (RFC 5869 cases 1 and 3)", "[suite][hash]",
                   TLVCAST_SUITES)
{
    const auto abc = hex("616263");
    CHECK(tc::to_hex(TestType::sha256(abc)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(tc::to_hex(TestType::sha256({})) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    CHECK(tc::to_hex(TestType::hmac_sha256(hex("4a656665"),
                                           hex("7768617420646f2079612077616e7420666f72206e6f7468696e673f"))) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

    // RFC 5869 A.1 (test case 1).
    const auto prk = TestType::hkdf_extract(hex("000102030405060708090a0b0c"), hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"));
    CHECK(tc::to_hex(prk) == "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
    std::vector<std::byte> okm(42);
    TestType::hkdf_expand(prk, hex("f0f1f2f3f4f5f6f7f8f9"), okm);
    CHECK(tc::to_hex(okm) == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");

    // RFC 5869 A.3 (test case 3): no salt, no info.
    const auto prk3 = TestType::hkdf_extract({}, hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"));
    CHECK(tc::to_hex(prk3) == "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04");
    TestType::hkdf_expand(prk3, {}, okm);
    CHECK(tc::to_hex(okm) == "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");

    // Output length limit: 255 * 32 is fine, one more is a misuse.
    std::vector<std::byte> max(tc::hkdf_sha256_max_output);
    TestType::hkdf_expand(prk, {}, max);
    CHECK(std::vector<std::byte>(max.begin(), max.begin() + 32) != std::vector<std::byte>(32));
    std::vector<std::byte> too_long(tc::hkdf_sha256_max_output + 1);
    CHECK_THROWS_AS(TestType::hkdf_expand(prk, {}, too_long), std::invalid_argument);
    // A prefix of a longer output is the shorter output (HKDF's T(1) | T(2) | ... structure).
    std::vector<std::byte> shorter(10);
    TestType::hkdf_expand(prk, {}, shorter);
    CHECK(std::equal(shorter.begin(), shorter.end(), max.begin()));
}

TEMPLATE_TEST_CASE("random_bytes fills buffers with fresh bytes", "[suite]", TLVCAST_SUITES)
{
    std::array<std::byte, 64> a{}, b{};
    TestType::random_bytes(a);
    TestType::random_bytes(b);
    CHECK(a != b);
    CHECK(a != std::array<std::byte, 64>{});
    TestType::random_bytes({}); // empty is a no-op
}

TEMPLATE_TEST_CASE("Ed25519 identity files: 0600, exclusive, round trip, strict format", "[suite][keyfile]",
                   TLVCAST_SUITES)
{
    scratch_dir dir;
    const auto id = TestType::generate_ed25519();
    const auto path = dir.path / "id.pem";
    TestType::save_ed25519(path, id);

    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    const auto text = read_all(path);
    CHECK(text.rfind("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI", 0) == 0);
    CHECK(text.size() == 119);

    const auto loaded = TestType::load_ed25519(path);
    CHECK(loaded.public_key == id.public_key);
    CHECK(std::equal(loaded.private_key.span().begin(), loaded.private_key.span().end(),
                     id.private_key.span().begin()));

    // Never overwrites: the second save fails and the first key is intact.
    const auto other = TestType::generate_ed25519();
    CHECK_THROWS_AS(TestType::save_ed25519(path, other), std::system_error);
    CHECK(read_all(path) == text);

    // A key readable by group and others still loads (documented: permissions are the operator's job).
    fs::permissions(path, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    CHECK(TestType::load_ed25519(path).public_key == id.public_key);

    // The RFC 8410 example key (as `openssl genpkey` writes it) loads, with the RFC's public key.
    const auto rfc = dir.path / "rfc8410.pem";
    write_all(rfc, rfc8410_private_pem);
    CHECK(tc::to_hex(TestType::load_ed25519(rfc).public_key) ==
          "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1");
    // CRLF line ends are tolerated.
    std::string crlf;
    for (char c : rfc8410_private_pem) {
        if (c == '\n')
            crlf += '\r';
        crlf += c;
    }
    write_all(rfc, crlf);
    CHECK(tc::to_hex(TestType::load_ed25519(rfc).public_key) ==
          "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1");

    // Anything else is refused.
    const auto bad = dir.path / "bad.pem";
    const std::string body = "MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC";
    const std::string begin = "-----BEGIN PRIVATE KEY-----\n", end = "\n-----END PRIVATE KEY-----\n";
    std::string x25519_key = body;
    x25519_key.replace(12, 4, "K2Vu"); // OID 1.3.101.110 (X25519) instead of 1.3.101.112 (Ed25519)
    for (const std::string& t : {std::string(), std::string("hello"), begin + body, body + end,
                                 begin + body.substr(0, 60) + end, begin + body + "AAAA" + end,
                                 begin + x25519_key + end, "junk" + begin + body + end, begin + body + end + "junk",
                                 begin + std::string(64, '*') + end,
                                 std::string("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
                                             "-----END PUBLIC KEY-----\n")}) {
        INFO(t);
        write_all(bad, t);
        CHECK_THROWS_AS(TestType::load_ed25519(bad), std::runtime_error);
    }
    CHECK_THROWS_AS(TestType::load_ed25519(dir.path / "missing.pem"), std::system_error);
    CHECK_THROWS_AS(TestType::load_ed25519(dir.path), std::runtime_error); // a directory
    write_all(bad, std::string(5000, 'A'));
    CHECK_THROWS_AS(TestType::load_ed25519(bad), std::runtime_error);
}
