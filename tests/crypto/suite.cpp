// SPDX-License-Identifier: BSL-1.0
// Tests for crypto/suite.hpp: the concept (archetype, near-misses), the RFC vectors and the Ed25519
// encoding checks on every suite, and the derivations written once over it.
#include <tlvcast/crypto/suite.hpp>

#include <tlvcast/crypto/detail/ed25519_checks.hpp>
#include <tlvcast/crypto/identity.hpp>

#include "crypto/backends.hpp"
#include "crypto/helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

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

// The smallest type that models the concept: the primitives, nothing derived.
struct suite_archetype {
    static constexpr std::string_view name = "archetype";
    static bool x25519(std::span<const std::byte, 32>, std::span<const std::byte, 32>, std::span<std::byte, 32>,
                       std::error_code&) { return false; }
    static std::array<std::byte, 32> ed25519_public_key(std::span<const std::byte, 32>) { return {}; }
    static void sign(std::span<const std::byte, 32>, std::span<const std::byte>, std::span<std::byte, 64>) {}
    static bool verify(std::span<const std::byte, 32>, std::span<const std::byte>, std::span<const std::byte, 64>)
    {
        return false;
    }
    static tc::sha256_digest sha256(std::span<const std::byte>) { return {}; }
    static tc::sha256_digest hmac_sha256(std::span<const std::byte>, std::span<const std::byte>) { return {}; }
    static tc::secret_bytes<32> hkdf_extract(std::span<const std::byte>, std::span<const std::byte>) { return {}; }
    static void hkdf_expand(std::span<const std::byte, 32>, std::span<const std::byte>, std::span<std::byte>) {}
    static void random_bytes(std::span<std::byte>) {}
};

// Near-misses: one requirement each.
struct suite_without_random : suite_archetype {
    static void random_bytes() = delete;
};
// The PRK is key material: an extract that hands it back in a plain array (left unwiped on the
// caller's stack, as before the suite returned secret_bytes) does not model the concept.
struct suite_with_plain_prk : suite_archetype {
    static tc::sha256_digest hkdf_extract(std::span<const std::byte>, std::span<const std::byte>) { return {}; }
};
struct suite_with_keypair_from_seed : suite_archetype {
    static tc::ed25519_keypair ed25519_public_key(std::span<const std::byte, 32>) { return {}; }
};
struct suite_without_name {
    static bool x25519(std::span<const std::byte, 32>, std::span<const std::byte, 32>, std::span<std::byte, 32>,
                       std::error_code&);
};

// A suite that counts what the derivations ask of it, over the real default backend.
struct counting_suite : tc::default_suite {
    static inline int random_calls = 0;
    static void random_bytes(std::span<std::byte> out)
    {
        ++random_calls;
        tc::default_suite::random_bytes(out);
    }
};

} // namespace

TEST_CASE("suite concept: the archetype and every backend model it, near-misses do not", "[suite]")
{
    STATIC_REQUIRE(tc::suite<suite_archetype>);
    STATIC_REQUIRE_FALSE(tc::suite<suite_without_random>);
    STATIC_REQUIRE_FALSE(tc::suite<suite_with_plain_prk>);
    STATIC_REQUIRE_FALSE(tc::suite<suite_with_keypair_from_seed>);
    STATIC_REQUIRE_FALSE(tc::suite<suite_without_name>);
    STATIC_REQUIRE_FALSE(tc::suite<int>);
    STATIC_REQUIRE(tc::suite<tc::default_suite>);
#ifdef TLVCAST_HAS_CRYPTOPP
    STATIC_REQUIRE(tc::suite<tc::cryptopp_suite>);
#endif
#ifdef TLVCAST_HAS_OPENSSL
    STATIC_REQUIRE(tc::suite<tc::openssl_suite>);
#endif
    STATIC_REQUIRE(tc::suite<counting_suite>);
}


TEMPLATE_TEST_CASE("X25519 matches RFC 7748 section 6.1 (Alice and Bob)", "[suite][x25519]", TLVCAST_TEST_SUITES)
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

TEMPLATE_TEST_CASE("X25519 refuses low-order peer keys (all-zero shared secret)", "[suite][x25519]", TLVCAST_TEST_SUITES)
{
    const auto kp = tc::generate_x25519<TestType>();
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

TEMPLATE_TEST_CASE("generated X25519 key pairs agree", "[suite][x25519]", TLVCAST_TEST_SUITES)
{
    const auto a = tc::generate_x25519<TestType>();
    const auto b = tc::generate_x25519<TestType>();
    CHECK(a.public_key != b.public_key);
    std::array<std::byte, 32> ab{}, ba{};
    std::error_code ec;
    REQUIRE(TestType::x25519(a.private_key.span(), b.public_key, ab, ec));
    REQUIRE(TestType::x25519(b.private_key.span(), a.public_key, ba, ec));
    CHECK(ab == ba);
    CHECK(ab != std::array<std::byte, 32>{});
}

TEMPLATE_TEST_CASE("Ed25519 matches RFC 8032 section 7.1 TEST 1 and TEST 2", "[suite][ed25519]", TLVCAST_TEST_SUITES)
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

        CHECK(TestType::ed25519_public_key(seed) == pub);
        const auto id = tc::ed25519_from_seed<TestType>(seed);
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
                   "[suite][ed25519]", TLVCAST_TEST_SUITES)
{
    const auto id = tc::generate_ed25519<TestType>();
    const auto again = tc::ed25519_from_seed<TestType>(id.private_key.span());
    CHECK(again.public_key == id.public_key);
    const auto msg = hex("0102030405");
    std::array<std::byte, 64> sig{};
    TestType::sign(id.private_key.span(), msg, sig);
    CHECK(TestType::verify(id.public_key, msg, sig));
    CHECK(tc::fingerprint_of<TestType>(id.public_key) == TestType::sha256(id.public_key));
    // RFC 8032 TEST 1's public key; expected value from `printf <key hex> | xxd -r -p | sha256sum`.
    const auto pub1 = hex_array<32>("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    CHECK(tc::to_hex(tc::fingerprint_of<TestType>(pub1)) == "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9");
}

TEMPLATE_TEST_CASE("SHA-256, HMAC-SHA256 (RFC 4231 case 2) and HKDF (RFC 5869 cases 1 and 3)", "[suite][hash]",
                   TLVCAST_TEST_SUITES)
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
    CHECK(tc::to_hex(prk.span()) == "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
    std::vector<std::byte> okm(42);
    TestType::hkdf_expand(prk.span(), hex("f0f1f2f3f4f5f6f7f8f9"), okm);
    CHECK(tc::to_hex(okm) == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");

    // RFC 5869 A.3 (test case 3): no salt, no info.
    const auto prk3 = TestType::hkdf_extract({}, hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"));
    CHECK(tc::to_hex(prk3.span()) == "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04");
    TestType::hkdf_expand(prk3.span(), {}, okm);
    CHECK(tc::to_hex(okm) == "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");

    // Output length limit: 255 * 32 is fine, one more is a misuse.
    std::vector<std::byte> max(tc::hkdf_sha256_max_output);
    TestType::hkdf_expand(prk.span(), {}, max);
    CHECK(std::vector<std::byte>(max.begin(), max.begin() + 32) != std::vector<std::byte>(32));
    std::vector<std::byte> too_long(tc::hkdf_sha256_max_output + 1);
    CHECK_THROWS_AS(TestType::hkdf_expand(prk.span(), {}, too_long), std::invalid_argument);
    // A prefix of a longer output is the shorter output (HKDF's T(1) | T(2) | ... structure).
    std::vector<std::byte> shorter(10);
    TestType::hkdf_expand(prk.span(), {}, shorter);
    CHECK(std::equal(shorter.begin(), shorter.end(), max.begin()));
}

TEMPLATE_TEST_CASE("random_bytes fills buffers with fresh bytes", "[suite]", TLVCAST_TEST_SUITES)
{
    std::array<std::byte, 64> a{}, b{};
    TestType::random_bytes(a);
    TestType::random_bytes(b);
    CHECK(a != b);
    CHECK(a != std::array<std::byte, 64>{});
    TestType::random_bytes({}); // empty is a no-op
}

namespace {

// "Taming the many EdDSAs" (Chalkias, Garillot, Nikolaenko 2020), the 12 Ed25519 edge cases, as
// published with the paper (ed25519-speccheck): message, public key A, signature R || S.
struct eddsa_case {
    int number;
    std::string_view message, public_key, signature;
    bool accept; // under our rules: no small-order or non-canonical A or R, S < L, cofactorless
};
constexpr std::string_view ff31 = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
const std::string minus_one = "ec" + std::string(ff31); // y = p - 1 with the sign bit set
const eddsa_case taming_cases[] = {
    // 0: A and R of small order, S = 0
    {0, "8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
     "0000000000000000000000000000000000000000000000000000000000000000",
     false},
    // 1: A of small order, R mixed
    {1, "9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43"
     "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
     false},
    // 2: R of small order, A mixed
    {2, "aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
     "8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e",
     false},
    // 3: A and R mixed order, valid under every formula: accepted
    {3, "9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f"
     "87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009",
     true},
    // 4, 5: valid only under the cofactored equation; both backends are cofactorless
    {4, "e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed512"
     "5ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09",
     false},
    {5, "e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7"
     "e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405",
     false},
    // 6: S > L (S - L would verify: malleability); 7: S >> L
    {6, "85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
     "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
     "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e"
     "547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514",
     false},
    {7, "85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
     "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
     "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa1942"
     "7e71f98a4734e74f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c2",
     false},
};

std::vector<std::byte> forged_signature(std::string_view r_hex) // R, then S = 0
{
    auto sig = hex(r_hex);
    sig.resize(64);
    return sig;
}

} // namespace

TEMPLATE_TEST_CASE("Ed25519 verify refuses small-order and non-canonical A and R, and S >= L", "[suite][ed25519]",
                   TLVCAST_TEST_SUITES)
{
    const auto message = tc::test::text("any message at all");
    SECTION("the neutral point as key, signature (R = neutral, S = 0), verifies nothing")
    {
        // Before the shared check both backends accepted this for every message: one identity
        // (fingerprint of 01 00..00) that anyone could claim.
        const auto neutral = hex_array<32>("0100000000000000000000000000000000000000000000000000000000000000");
        const auto sig = forged_signature("0100000000000000000000000000000000000000000000000000000000000000");
        CHECK_FALSE(TestType::verify(neutral, message, std::span<const std::byte, 64>(sig.data(), 64)));
        CHECK_FALSE(TestType::verify(neutral, {}, std::span<const std::byte, 64>(sig.data(), 64)));
    }
    SECTION("every small-order point, with either sign bit, as key and as R")
    {
        for (const auto& y : tc::detail::ed25519_small_order_y) {
            for (const unsigned sign : {0x00u, 0x80u}) {
                std::array<std::byte, 32> point{};
                for (std::size_t i = 0; i < 32; ++i)
                    point[i] = static_cast<std::byte>(y[i]);
                point[31] |= static_cast<std::byte>(sign);
                INFO(tc::to_hex(point));
                std::array<std::byte, 64> sig{};
                std::copy(point.begin(), point.end(), sig.begin());
                CHECK_FALSE(TestType::verify(point, message, sig));
                CHECK_FALSE(tc::detail::ed25519_point_acceptable(point));
            }
        }
    }
    SECTION("non-canonical y >= p")
    {
        for (unsigned low = 0xed; low <= 0xff; ++low) {
            auto point = hex_array<32>(minus_one);
            point[0] = static_cast<std::byte>(low);
            point[31] = std::byte{0x7f};
            CHECK_FALSE(tc::detail::ed25519_point_acceptable(point));
        }
        auto below_p = hex_array<32>(minus_one);
        below_p[0] = std::byte{0xea}; // p - 3: canonical (not on the curve, which the library checks)
        below_p[31] = std::byte{0x7f};
        CHECK(tc::detail::ed25519_point_acceptable(below_p));
    }
    SECTION("S >= L, S = L - 1")
    {
        const auto l = hex_array<32>("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
        CHECK_FALSE(tc::detail::ed25519_scalar_canonical(l));
        auto below = l;
        below[0] = std::byte{0xec};
        CHECK(tc::detail::ed25519_scalar_canonical(below));
        auto above = l;
        above[31] = std::byte{0x11};
        CHECK_FALSE(tc::detail::ed25519_scalar_canonical(above));
    }
    SECTION("the \"Taming the many EdDSAs\" vectors")
    {
        for (const auto& c : taming_cases) {
            INFO("case " << c.number);
            const auto pub = hex_array<32>(c.public_key);
            const auto sig = hex_array<64>(c.signature);
            CHECK(TestType::verify(pub, hex(c.message), sig) == c.accept);
        }
        // 8, 9: R = (0, -1) with the sign bit set (non-canonical, order 2); 10, 11: the same point as A.
        const auto mixed_a = hex_array<32>("f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43");
        const auto msg89 = hex("9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41");
        for (std::string_view s : {std::string_view("03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f"),
                                   std::string_view("ca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908")})
            CHECK_FALSE(TestType::verify(mixed_a, msg89, hex_array<64>(minus_one + std::string(s))));
        const auto sig1011 = hex_array<64>("a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dc"
                                           "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04");
        const auto minus_one_key = hex_array<32>(minus_one);
        for (std::string_view m : {std::string_view("e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b"),
                                   std::string_view("39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f")})
            CHECK_FALSE(TestType::verify(minus_one_key, hex(m), sig1011));
    }
}

TEST_CASE("suite derivations: X25519 and Ed25519 generation draw from the suite's CSPRNG", "[suite]")
{
    counting_suite::random_calls = 0;
    const auto x = tc::generate_x25519<counting_suite>();
    CHECK(counting_suite::random_calls == 1);
    const auto id = tc::generate_ed25519<counting_suite>();
    CHECK(counting_suite::random_calls == 2);
    CHECK(id.public_key == tc::default_suite::ed25519_public_key(id.private_key.span()));
    std::array<std::byte, 32> pub{};
    std::error_code ec;
    REQUIRE(tc::default_suite::x25519(x.private_key.span(), std::array<std::byte, 32>{std::byte{9}}, pub, ec));
    CHECK(pub == x.public_key);
}

namespace {
// A faulty backend whose Ed25519 public key is the neutral point: the derivations refuse its identities.
struct neutral_key_suite : tc::default_suite {
    static std::array<std::byte, 32> ed25519_public_key(std::span<const std::byte, 32>)
    {
        return std::array<std::byte, 32>{std::byte{1}};
    }
};
} // namespace

TEST_CASE("suite derivations: an identity with a small-order public key is refused", "[suite][ed25519]")
{
    STATIC_REQUIRE(tc::suite<neutral_key_suite>);
    const std::array<std::byte, 32> seed{};
    try {
        (void)tc::ed25519_from_seed<neutral_key_suite>(seed);
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(e.code() == errc::bad_key);
    }
    CHECK_THROWS_AS(tc::generate_ed25519<neutral_key_suite>(), std::system_error);
}

TEMPLATE_TEST_CASE("suite derivations: hkdf is extract then expand (RFC 5869 A.1)", "[suite][hash]", TLVCAST_TEST_SUITES)
{
    std::vector<std::byte> okm(42);
    tc::hkdf<TestType>(hex("000102030405060708090a0b0c"), hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
                       hex("f0f1f2f3f4f5f6f7f8f9"), okm);
    CHECK(tc::to_hex(okm) == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    STATIC_REQUIRE(std::is_same_v<decltype(TestType::hkdf_extract({}, {})), tc::secret_bytes<32>>);
}
