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

#include <charconv>
#include <cstdint>
#include <iostream>
#include <optional>
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

/// The backend a profile runs on unless --backend says otherwise: of the backends the build has,
/// the one that measured faster for that profile's operations (docs/BENCHMARKS.md, 2026-12-04):
/// OpenSSL for the seed profile (RSA private-key operations several times Crypto++'s); Crypto++
/// for the secure and group profiles (X25519 and Ed25519 about 2x OpenSSL 3.0's, and AES-256-GCM
/// per 256-byte record about 15 % faster: OpenSSL 3.0's provider layer costs more per call than
/// such a record's encryption).
constexpr backend default_backend_for(profile p) noexcept
{
#if defined(TLVCAST_HAS_OPENSSL) && defined(TLVCAST_HAS_CRYPTOPP)
    return p == profile::seed ? backend::openssl : backend::cryptopp;
#elif defined(TLVCAST_HAS_OPENSSL)
    return (void)p, backend::openssl;
#else
    return (void)p, backend::cryptopp;
#endif
}

// The --backend line of the programs' --help: only what this build has.
#if defined(TLVCAST_HAS_OPENSSL) && defined(TLVCAST_HAS_CRYPTOPP)
#define TLVCAST_EXAMPLES_BACKEND_HELP                                                                             \
    "openssl or cryptopp, the same wire format (default: openssl for the seed profile, cryptopp for secure and " \
    "group)"
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
    examples::backend backend = default_backend_for(examples::profile::secure);
    bool backend_given = false; ///< --backend was on the command line; else check_common picks the profile's
    std::string key_file, identity_file;
    bool strict_permissions = false; ///< --strict-perms: refuse a key file that group or others may access
    bool json = false;
    bool quiet = false; ///< -q: no informational text for people (errors and warnings still on stderr)
    bool help = false;
    bool version = false; ///< --version: print the program's and the library's version, exit 0
    /// The first group-only option given (--delivery, --data-group), refused in the other profiles.
    std::string group_option;
    /// --delivery (the chat's: how this member receives what the relay forwards); unset: the chat
    /// takes multicast when the data group can be joined, else unicast.
    std::optional<tlvcast::profile::group::delivery> delivery;
    /// --data-group ADDR:PORT, else (after check_common, group profile) the default of --group's family.
    struct data_group_setting {
        asio::ip::address address;
        std::uint16_t port = 0;
    };
    std::optional<data_group_setting> data_group;
    bool data_group_given = false; ///< --data-group was on the command line (not the default)
};

/// The data group's defaults: 224.1.1.2:5008 for an IPv4 --group (the library's default), and
/// [ff15::2]:5008 (transient, site-local, as the IPv6 example group ff15::1) for an IPv6 one.
inline constexpr std::uint16_t default_data_port = 5008;
inline const char* default_data_group_v4 = "224.1.1.2";
inline const char* default_data_group_v6 = "ff15::2";

/// `--data-group ADDR:PORT`: "224.1.1.2:5008", or an IPv6 address in brackets, "[ff15::2]:5008"
/// ("[ff02::2%v0]:5008"); the address must be multicast. usage_error otherwise.
inline common_settings::data_group_setting read_data_group(arg_reader& args)
{
    const std::string v = args.text();
    const auto bad = [&](const std::string& why) {
        return usage_error("option --data-group: '" + v + "' " + why);
    };
    std::string address, port;
    if (v.front() == '[') {
        const auto close = v.find(']');
        if (close == std::string::npos || close + 1 >= v.size() || v[close + 1] != ':')
            throw bad("is not [IPV6]:PORT");
        address = v.substr(1, close - 1);
        port = v.substr(close + 2);
    } else {
        const auto colon = v.rfind(':');
        if (colon == std::string::npos)
            throw bad("is not ADDR:PORT (e.g. 224.1.1.2:5008, [ff15::2]:5008)");
        address = v.substr(0, colon);
        port = v.substr(colon + 1);
        if (address.find(':') != std::string::npos)
            throw bad("is not ADDR:PORT: an IPv6 address goes in brackets, [ff15::2]:5008");
    }
    std::error_code ec;
    common_settings::data_group_setting g;
    g.address = asio::ip::make_address(address, ec);
    if (ec)
        throw bad("does not start with an IP address");
    unsigned p = 0;
    const auto [end, perr] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (perr != std::errc{} || end != port.data() + port.size() || port.empty() || p < 1 || p > 65535)
        throw bad("does not end with a port in 1..65535");
    g.port = static_cast<std::uint16_t>(p);
    if (!g.address.is_multicast())
        throw bad("is not a multicast address");
    return g;
}

/// "ip:port" or "[ipv6]:port".
inline std::string address_port_text(const asio::ip::address& a, std::uint16_t port)
{
    return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(port);
}

/// Reads `name` into `s` when it is a shared option; false for the program's own options.
inline bool read_common_option(std::string_view name, arg_reader& args, common_settings& s)
{
    if (name == "--help") {
        args.no_value();
        s.help = true;
    } else if (name == "--version") {
        args.no_value();
        s.version = true;
    } else if (name == "--json") {
        args.no_value();
        s.json = true;
    } else if (name == "--quiet") {
        args.no_value();
        s.quiet = true;
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
        s.backend_given = true;
    } else if (name == "--strict-perms") {
        args.no_value();
        s.strict_permissions = true;
    } else if (name == "--delivery") {
        // The group's data plane for this member: its own unicast copy, or the relay's one datagram
        // on the data group (the relay serves both kinds of member at once).
        const std::string_view v = args.value();
        if (v == "multicast")
            s.delivery = tlvcast::profile::group::delivery::multicast;
        else if (v == "unicast")
            s.delivery = tlvcast::profile::group::delivery::unicast;
        else
            throw usage_error("option --delivery: '" + std::string(v) + "' is not unicast or multicast");
        if (s.group_option.empty())
            s.group_option = "--delivery";
    } else if (name == "--data-group") {
        s.data_group = read_data_group(args);
        s.data_group_given = true;
        if (s.group_option.empty())
            s.group_option = "--data-group";
    } else {
        return false;
    }
    return true;
}

/// Refuses --quiet with --json, key options of the other profiles, group options outside the group profile, and an
/// IPv6 group in the seed profile. In the group profile, sets the data group's default (of --group's
/// family) and refuses a data group of the other family, or on --port (a member's data socket binds
/// that port with SO_REUSEADDR: on the relay's host it would take the relay's unicast traffic).
/// `uses_data_group`: false for a program that will not use the data group (a unicast member),
/// which then gets no default and no check of it.
inline void check_common(common_settings& s, bool uses_data_group = true)
{
    if (!s.backend_given)
        s.backend = default_backend_for(s.profile);
    if (s.quiet && s.json)
        throw usage_error("option --quiet is for the text for people: with --json, a reader picks the events it wants");
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
    if (s.profile != profile::group || !uses_data_group)
        return;
    if (!s.data_group) {
        const bool v6 = s.udp.group.is_v6();
        s.data_group = common_settings::data_group_setting{
            asio::ip::make_address(v6 ? default_data_group_v6 : default_data_group_v4), default_data_port};
    }
    const auto& d = *s.data_group;
    const std::string data = address_port_text(d.address, d.port);
    const std::string control = address_port_text(s.udp.group, s.udp.port);
    const std::string which = s.data_group_given ? "option --data-group " + data : "the default data group " + data;
    if (d.address.is_v6() != s.udp.group.is_v6())
        throw usage_error(which + " is " + (d.address.is_v6() ? "IPv6" : "IPv4") + ", the group " +
                          s.udp.group.to_string() + " is not: both must be of one family" +
                          (s.data_group_given ? "" : " (give --data-group)"));
    if (d.address == s.udp.group && d.port == s.udp.port)
        throw usage_error(which + " is the control group " + control + ": the data group must be another" +
                          (s.data_group_given ? "" : " (give --data-group)"));
    if (d.port == s.udp.port)
        throw usage_error(which + " has the control group's port " + std::to_string(s.udp.port) +
                          ": the data group needs a port of its own (members bind it)" +
                          (s.data_group_given ? "" : " (give --data-group)"));
}

/// The socket options of a multicast member's data socket: those of --group (interface, TTL,
/// loopback, buffers) with the data group's address and port.
inline transport::asio_udp_options data_udp_options(const common_settings& s)
{
    transport::asio_udp_options o = s.udp;
    o.group = s.data_group->address;
    o.port = s.data_group->port;
    o.send_buffer_size = 0; // it only receives
    return o;
}

/// The data group as the group Cipher takes it (group::options::data_group).
inline endpoint data_group_endpoint(const common_settings& s) { return data_udp_options(s).group_endpoint(); }

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
