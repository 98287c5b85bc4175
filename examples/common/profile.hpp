// SPDX-License-Identifier: BSL-1.0
// Profile (seed | secure | group) and backend (Crypto++ | OpenSSL, as compiled in) selection, and the key files,
// shared by the example programs.
#pragma once

#include "common/cli.hpp"

#include <tlvcast/crypto/key_file.hpp>
#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/profile/group.hpp>
#include <tlvcast/profile/secure.hpp>
#include <tlvcast/profile/seed.hpp>

#include <iostream>
#include <string>
#include <string_view>
#include <type_traits>

#include <net/if.h>

namespace tlvcast::examples {

/// Which wire profile a program speaks (docs/PROTOCOL.md). The group profile runs the secure
/// profile's handshake and records on each hop, and end-to-end group encryption between members.
enum class profile { seed, secure, group };
/// Which library carries the profile's cryptography; both give the same bytes on the wire. A build
/// offers only the backends compiled into it (TLVCAST_WITH_CRYPTOPP, TLVCAST_WITH_OPENSSL).
enum class backend { cryptopp, openssl };

#ifdef TLVCAST_HAS_OPENSSL
/// OpenSSL 3 when the build has it: its RSA private-key operations (seed) are several times
/// faster than Crypto++'s, and its X25519/Ed25519/AES-GCM use the CPU's instructions.
inline constexpr backend default_backend = backend::openssl;
#else
inline constexpr backend default_backend = backend::cryptopp;
#endif

// The --backend line of the programs' --help: only what this build has.
#if defined(TLVCAST_HAS_OPENSSL) && defined(TLVCAST_HAS_CRYPTOPP)
#define TLVCAST_EXAMPLES_BACKEND_HELP "openssl (default) or cryptopp: the same wire format"
#elif defined(TLVCAST_HAS_OPENSSL)
#define TLVCAST_EXAMPLES_BACKEND_HELP "openssl (the only backend of this build)"
#else
#define TLVCAST_EXAMPLES_BACKEND_HELP "cryptopp (the only backend of this build)"
#endif

/// `--profile seed|secure|group`; usage_error for another word.
inline profile read_profile(arg_reader& args)
{
    const std::string_view v = args.value();
    if (v == "seed")
        return profile::seed;
    if (v == "secure")
        return profile::secure;
    if (v == "group")
        return profile::group;
    throw usage_error("option --profile: '" + std::string(v) + "' is not seed, secure or group");
}

/// `--backend cryptopp|openssl`; usage_error for another word, or a backend this build does not have.
inline backend read_backend(arg_reader& args)
{
    const std::string_view v = args.value();
    if (v == "cryptopp") {
#ifdef TLVCAST_HAS_CRYPTOPP
        return backend::cryptopp;
#else
        throw usage_error("option --backend: this build has no Crypto++ (use openssl)");
#endif
    }
    if (v == "openssl") {
#ifdef TLVCAST_HAS_OPENSSL
        return backend::openssl;
#else
        throw usage_error("option --backend: this build has no OpenSSL (use cryptopp)");
#endif
    }
    throw usage_error("option --backend: '" + std::string(v) + "' is not cryptopp or openssl");
}

/// `--relay-fingerprint HEX`: exactly 64 hex digits.
inline crypto::fingerprint read_fingerprint(arg_reader& args)
{
    const std::string_view v = args.value();
    if (auto fp = tlvcast::profile::secure::cipher::from_hex(v))
        return *fp;
    throw usage_error("option --relay-fingerprint: '" + std::string(v) + "' is not 64 hex digits");
}

/// True for the secure and group profiles' Cipher policies (they carry a record layer and an
/// Ed25519 identity; the seed profile's do not).
template <class Cipher>
inline constexpr bool is_secure = Cipher::has_record_layer;

/// What the programs need to know of a group Cipher: its suite, and the secure Cipher of its hops
/// (which loads identity files).
template <class Cipher>
struct group_traits {
    static constexpr bool value = false;
};
template <class Suite, class Aead, class Random>
struct group_traits<tlvcast::profile::group::basic_cipher<Suite, Aead, Random>> {
    static constexpr bool value = true;
    using suite = Suite;
    using hop = tlvcast::profile::secure::basic_cipher<Suite, Aead, Random>;
};
/// True for the group profile's Cipher policies.
template <class Cipher>
inline constexpr bool is_group = group_traits<Cipher>::value;

/// The Cipher that loads and creates this Cipher's identity files (the hop's, for a group Cipher).
template <class Cipher>
struct identity_cipher_of {
    using type = Cipher;
};
template <class Suite, class Aead, class Random>
struct identity_cipher_of<tlvcast::profile::group::basic_cipher<Suite, Aead, Random>> {
    using type = typename group_traits<tlvcast::profile::group::basic_cipher<Suite, Aead, Random>>::hop;
};
template <class Cipher>
using identity_cipher = typename identity_cipher_of<Cipher>::type;

/// A fingerprint as 64 hex digits (JSON).
inline std::string hex(const crypto::fingerprint& fp) { return crypto::to_hex(fp); }
/// What people see of a fingerprint: its first 128 bits (32 hex digits), enough that no one can
/// make a key whose shown prefix matches another's.
inline std::string short_hex(const crypto::fingerprint& fp) { return hex(fp).substr(0, 32); }

/// This side's own fingerprint: the Ed25519 identity's (secure) or the RSA public key's (seed).
template <class Cipher>
crypto::fingerprint own_fingerprint(const Cipher& c)
{
    if constexpr (is_secure<Cipher>)
        return c.identity_fingerprint();
    else
        return c.public_fingerprint();
}

/// Calls `f(std::type_identity<Secure, Seed or Group>{})` for profile `p`, and returns its result.
template <class Secure, class Seed, class Group, class F>
decltype(auto) with_profile(profile p, F&& f)
{
    if (p == profile::secure)
        return f(std::type_identity<Secure>{});
    if (p == profile::group)
        return f(std::type_identity<Group>{});
    return f(std::type_identity<Seed>{});
}

/// Calls `f(std::type_identity<Cipher>{})` with the Cipher policy of profile `p` on backend `b`,
/// and returns its result: one instantiation of the program per combination the build has.
template <class F>
decltype(auto) with_cipher(profile p, backend b, F&& f)
{
#if defined(TLVCAST_HAS_OPENSSL) && defined(TLVCAST_HAS_CRYPTOPP)
    if (b == backend::openssl)
        return with_profile<tlvcast::profile::secure::openssl_cipher, seed::openssl_cipher,
                            tlvcast::profile::group::openssl_cipher>(p, f);
    return with_profile<tlvcast::profile::secure::cryptopp_cipher, seed::cryptopp_cipher,
                        tlvcast::profile::group::cryptopp_cipher>(p, f);
#elif defined(TLVCAST_HAS_OPENSSL)
    (void)b; // read_backend admits only openssl
    return with_profile<tlvcast::profile::secure::openssl_cipher, seed::openssl_cipher,
                        tlvcast::profile::group::openssl_cipher>(p, f);
#else
    (void)b; // read_backend admits only cryptopp
    return with_profile<tlvcast::profile::secure::cryptopp_cipher, seed::cryptopp_cipher,
                        tlvcast::profile::group::cryptopp_cipher>(p, f);
#endif
}

/// The options both programs share: network, keep-alive, profile, backend, key files, output.
struct common_settings {
    transport::asio_udp_options udp;
    duration keepalive = std::chrono::seconds(5);
    examples::profile profile = examples::profile::secure;
    examples::backend backend = default_backend;
    std::string key_file, identity_file;
    bool strict_permissions = false; ///< --strict-perms: refuse a key file that group or others may access
    bool json = false;
    bool help = false;
    /// The first group-only option given (--delivery), refused in the other profiles.
    std::string group_option;
};

/// Reads `name` into `s` when it is a shared option; false for the program's own options.
inline bool read_common_option(std::string_view name, arg_reader& args, common_settings& s)
{
    if (name == "--help") {
        args.no_value();
        s.help = true;
    } else if (name == "--json") {
        args.no_value();
        s.json = true;
    } else if (name == "--group") {
        s.udp.group = args.ip_address();
        if (!s.udp.group.is_multicast())
            throw usage_error("option --group: " + s.udp.group.to_string() + " is not a multicast address");
    } else if (name == "--port") {
        s.udp.port = static_cast<std::uint16_t>(args.integer(1, 65535));
    } else if (name == "--iface") {
        // An address of the interface, or its name ("v0").
        const std::string v = args.text();
        s.udp.set_interface(v);
        if (!s.udp.interface_name.empty() && ::if_nametoindex(v.c_str()) == 0)
            throw usage_error("option --iface: '" + v + "' is neither an IP address nor an interface of this host");
    } else if (name == "--ttl") {
        s.udp.ttl = static_cast<int>(args.integer(0, 255));
    } else if (name == "--keepalive") {
        s.keepalive = args.seconds(0.01, 86400);
    } else if (name == "--key") {
        s.key_file = args.text();
    } else if (name == "--identity") {
        s.identity_file = args.text();
    } else if (name == "--profile") {
        s.profile = read_profile(args);
    } else if (name == "--backend") {
        s.backend = read_backend(args);
    } else if (name == "--strict-perms") {
        args.no_value();
        s.strict_permissions = true;
    } else if (name == "--delivery") {
        // The group's data plane. Only unicast exists in the library so far: say so, do not pretend.
        const std::string_view v = args.value();
        if (v == "multicast")
            throw usage_error("option --delivery multicast: multicast delivery of the group's data plane is not "
                              "implemented yet; use --delivery unicast (the default)");
        if (v != "unicast")
            throw usage_error("option --delivery: '" + std::string(v) + "' is not unicast or multicast");
        if (s.group_option.empty())
            s.group_option = "--delivery";
    } else if (name == "--data-group") {
        const std::string v = args.text();
        throw usage_error("option --data-group " + v +
                          ": multicast delivery of the group's data plane is not implemented yet; "
                          "members receive by unicast (--delivery unicast, the default)");
    } else {
        return false;
    }
    return true;
}

/// Refuses key options of the other profiles, group options outside the group profile, and an
/// IPv6 group in the seed profile.
inline void check_common(const common_settings& s)
{
    if (s.profile == profile::seed && s.udp.group.is_v6())
        throw usage_error("option --group: " + s.udp.group.to_string() +
                          " is IPv6, and the seed profile carries IPv4 addresses only (use --profile secure)");
    if (s.profile != profile::seed && !s.key_file.empty())
        throw usage_error("option --key is for the seed profile's RSA key; the secure and group profiles use "
                          "--identity");
    if (s.profile == profile::seed && !s.identity_file.empty())
        throw usage_error("option --identity is for the secure and group profiles; the seed profile uses --key");
    if (s.profile != profile::group && !s.group_option.empty())
        throw usage_error("option " + s.group_option + " is for the group profile (--profile group)");
}

/// This side's long-term key, as the Cipher's constructor takes it (secure: the Ed25519 identity;
/// seed: the RSA cipher itself): loaded from --identity / --key, created there when absent, or fresh
/// for this run. A key file that group or others may access is loaded with a warning on stderr
/// (prefixed by `program`), or refused under --strict-perms (std::system_error).
template <class Cipher>
auto own_key(const common_settings& s, std::string_view program)
{
    const crypto::key_file_options options{.strict_permissions = s.strict_permissions};
    crypto::key_file_status status;
    const auto warn = [&](const std::string& file) {
        if (status.too_open)
            std::cerr << program << ": warning: " << crypto::key_file_warning(file, status) << "\n";
    };
    if constexpr (is_secure<Cipher>) {
        if (s.identity_file.empty())
            return Cipher::generate();
        auto id = identity_cipher<Cipher>::load_or_create_identity(s.identity_file, options, &status);
        warn(s.identity_file);
        return id;
    } else {
        if (s.key_file.empty())
            return Cipher::generate();
        auto cipher = Cipher::load_or_create(s.key_file, options, &status);
        warn(s.key_file);
        return cipher;
    }
}

inline const char* profile_name(profile p)
{
    return p == profile::secure ? "secure" : p == profile::group ? "group" : "seed";
}
inline const char* backend_name(backend b) { return b == backend::openssl ? "openssl" : "cryptopp"; }

} // namespace tlvcast::examples
