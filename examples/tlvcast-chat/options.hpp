// SPDX-License-Identifier: BSL-1.0
// tlvcast-chat's options: its settings and their parsing (the shared ones in common/profile.hpp).
#pragma once

#include "common/cli.hpp"
#include "common/group.hpp"
#include "common/profile.hpp"
#include "common/reliability.hpp"

#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/profile/group.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace tlvcast::examples {

/// tlvcast-chat's command line.
struct chat_settings : common_settings {
    tlvcast::duration register_timeout = std::chrono::seconds(5), linger = std::chrono::milliseconds(300);
    std::optional<tlvcast::duration> probe;
    unsigned register_attempts = 3;
    std::string known_relays;
    std::optional<tlvcast::crypto::fingerprint> relay_fingerprint;
    bool accept_any_relay = false;
    group_member_settings group;
    tlvcast::profile::group::options group_options; ///< read from the files by main
    std::optional<std::array<std::byte, 32>> certify;
    bool print_identity = false;
    bool delivery_chosen = false; ///< no --delivery: multicast if this host can join the data group
    bool listen = false;          ///< --listen: read no input, receive until SIGINT or SIGTERM
    bool verbose = false;         ///< -v: the client's counters on stderr at exit
    bool unordered = false;       ///< --unordered (repair_limits::ordered false)
    std::optional<examples::reliability> reliability_given;
    /// --reliability, after parsing: the profile's default when not given.
    examples::reliability reliability = examples::reliability::none;
    bool linger_given = false;
};

// The default known-relays file: $TLVCAST_KNOWN_RELAYS, else ~/.config/tlvcast/known_relays.
inline std::string default_known_relays()
{
    if (const char* p = std::getenv("TLVCAST_KNOWN_RELAYS"); p && *p)
        return p;
    const char* home = std::getenv("HOME");
    if (!home || !*home)
        return {};
    const std::filesystem::path dir = std::filesystem::path(home) / ".config" / "tlvcast";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    return (dir / "known_relays").string();
}

/// Reads the command line; usage_error for a bad one (exit status 2).
inline chat_settings parse_chat_options(int argc, char** argv)
{
    chat_settings s;
    // A 48,450-byte message is ~260 datagrams handed to the kernel at once: the default send
    // buffer (about 200 KiB) would refuse its tail. Capped by net.core.wmem_max.
    s.udp.send_buffer_size = 4 << 20;
    arg_reader args(argc, argv);
    std::string_view name;
    while (args.next(name)) {
        if (read_common_option(name, args, s))
            continue;
        if (read_group_member_option(name, args, s.group))
            continue;
        if (name == "--probe")
            s.probe = args.seconds(0.01, 86400);
        else if (name == "--register-timeout")
            s.register_timeout = args.seconds(0.01, 3600);
        else if (name == "--register-attempts")
            s.register_attempts = static_cast<unsigned>(args.integer(1, 1000));
        else if (name == "--linger") {
            s.linger = args.seconds(0, 3600);
            s.linger_given = true;
        } else if (name == "--listen") {
            args.no_value();
            s.listen = true;
        } else if (name == "--verbose") {
            args.no_value();
            s.verbose = true;
        } else if (name == "--reliability")
            s.reliability_given = read_reliability(args);
        else if (name == "--unordered") {
            args.no_value();
            s.unordered = true;
        }
        else if (name == "--relay-fingerprint")
            s.relay_fingerprint = read_fingerprint(args);
        else if (name == "--known-relays")
            s.known_relays = args.text();
        else if (name == "--accept-any-relay")
            s.accept_any_relay = true;
        else if (name == "--certify")
            s.certify = read_public_key(args);
        else if (name == "--print-identity") {
            args.no_value();
            s.print_identity = true;
        } else
            args.unknown();
    }
    s.reliability = check_reliability(s.reliability_given, s.profile);
    check_unordered(s.unordered, s.reliability);
    // A chatting group member without --delivery tries multicast first (main() falls back).
    if (s.profile == profile::group && !s.delivery && !s.certify && !s.print_identity) {
        s.delivery = tlvcast::profile::group::delivery::multicast;
        s.delivery_chosen = true;
    }
    const bool multicast = s.delivery == tlvcast::profile::group::delivery::multicast;
    check_common(s, multicast);
    if (s.data_group_given && !multicast)
        throw usage_error("option --data-group is where a multicast member listens: not with --delivery "
                              "unicast");
    if (multicast && (s.certify || s.print_identity))
        throw usage_error(std::string("option --delivery is for chatting, not with ") +
                              (s.certify ? "--certify" : "--print-identity"));
    if (s.listen && (s.certify || s.print_identity || s.linger_given))
        throw usage_error(std::string("option --listen receives until SIGINT or SIGTERM: not with ") +
                              (s.certify ? "--certify" : s.print_identity ? "--print-identity" : "--linger"));
    if (s.certify && s.print_identity)
        throw usage_error("options --certify and --print-identity: one at a time");
    if (s.certify && s.profile != profile::group)
        throw usage_error("option --certify makes group admission certificates: use it with --profile group");
    if (s.print_identity && s.profile == profile::seed)
        throw usage_error("option --print-identity is for the secure and group profiles' identities");
    if ((s.certify || s.print_identity) && s.identity_file.empty())
        throw usage_error(std::string(s.certify ? "option --certify needs the admin's --identity FILE"
                                                    : "option --print-identity needs --identity FILE"));
    if (s.profile != profile::group && !s.group.first_option.empty())
        throw usage_error("option " + s.group.first_option + " is for the group profile (--profile group)");
    if (s.profile == profile::group && !s.certify && !s.print_identity)
        check_group_member(s.group);
    if (s.profile == profile::seed && (s.relay_fingerprint || !s.known_relays.empty() || s.accept_any_relay))
        throw usage_error("options --identity, --relay-fingerprint, --known-relays and --accept-any-relay are "
                              "for the secure profile");
    if (s.profile != profile::seed && !s.relay_fingerprint && !s.accept_any_relay && s.known_relays.empty())
        s.known_relays = default_known_relays();
    return s;
}

} // namespace tlvcast::examples
