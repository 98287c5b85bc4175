// SPDX-License-Identifier: BSL-1.0
// tlvcast-chat's --help (also its man page, made from it by help2man).
#pragma once

#include "common/profile.hpp"
#include "common/reliability.hpp"

#include <tlvcast/core/client_engine.hpp>
#include <tlvcast/profile/group.hpp>

namespace tlvcast::examples {

// The line limits that --help states: a large message's, and the client's message limit, which
// every profile carries (the seed profile has no large messages).
static_assert(core::default_max_message == 48'450, "update the line limit in tlvcast-chat's --help");
static_assert(core::default_max_large_message == 16'777'216, "update the line limit in tlvcast-chat's --help");
static_assert(tlvcast::profile::group::max_message_size >= core::default_max_message,
              "a group member's line limit is the group message's: update tlvcast-chat's --help");

inline constexpr const char* chat_usage = R"(Usage: tlvcast-chat [options] < lines

A chat client: registers with the relay through the multicast group, sends each line of standard
input as one message (an empty line is an empty message), and prints what the others say. A line
is at most 16777216 bytes without its newline (48450 in the seed profile); one over 48450 bytes
leaves as a large message, in parts; a longer one is not sent (send_failed). At the end of
input it keeps listening for --linger seconds, sends DISCONNECT and exits 0. With --listen it reads
no input and receives until SIGINT or SIGTERM. SIGINT or SIGTERM leave the same way at once. It
exits 1 when no relay answers, or when only refused relays answer: identity other than
--relay-fingerprint, or than the one the known-relays file recorded.

In the secure profile (the default) the relay proves its Ed25519 identity, and senders' identities
are shown as attested by the relay. By default the relay is trusted on first use: its fingerprint
is recorded in the known-relays file ($TLVCAST_KNOWN_RELAYS, else ~/.config/tlvcast/known_relays),
and a relay with another identity at the same address is refused and shown, and gets nothing. A
session never accepts another relay identity on a re-handshake. Pin with --relay-fingerprint (the
fingerprint tlvcast-relay prints); --accept-any-relay turns the check off (no protection).

In the group profile the hop to the relay is the secure profile's (the same relay trust options),
and the members encrypt end to end: the relay orders their commits and forwards their messages,
and cannot read them. Who is in the group comes from the members' verified commits, never from
the relay: each member admits only the identities its --admission policy accepts. Lines typed
before this member is in the group wait until it is (at most --register-timeout x
--register-attempts after the end of input; then they are reported as send_failed).

Options:
  --profile P               secure (default: X25519/Ed25519 handshake, AEAD records), group (the
                            secure profile's hops, end-to-end group encryption between members) or
                            seed (RSA-OAEP)
  --backend B               )" TLVCAST_EXAMPLES_BACKEND_HELP R"(
  --identity FILE           secure, group: load this client's Ed25519 identity (PKCS#8 PEM) from FILE,
                            or create it there (mode 0600) (default: a fresh identity each run)
  --relay-fingerprint HEX   secure, group: accept only the relay whose identity has this fingerprint (64 hex digits)
  --known-relays FILE       secure, group: the known-relays file for trust on first use (default above)
  --accept-any-relay        secure, group: accept any relay identity (no protection against a rogue relay)
  --admission A             group: whom this member admits: roster (default: the fingerprints in
                            --roster), admin (identities with a certificate from --admin-key) or
                            open (anyone the relay announces: a malicious relay can add a member)
  --roster FILE             group: one identity fingerprint (64 hex digits) per line, '#' comments;
                            needed by --admission roster; with the other policies it only marks
                            members as on the roster ("verified")
  --admin-key FILE          group, --admission admin (needed): the admin's Ed25519 PUBLIC key, 64 hex
                            digits on one line ('#' comments), as the admin's --print-identity shows it
  --admission-cert FILE     group, --admission admin (needed): this member's certificate, 128 hex
                            digits ('#' comments), made by the admin with --certify
  --delivery D              group: how this member receives what the relay forwards (messages,
                            commits, welcome pages): multicast (the relay sends each blob once to
                            --data-group for all multicast members; this member listens there too,
                            with a second socket on the --iface, --ttl and loopback settings of
                            --group) or unicast (its own copy from the relay). Default: multicast
                            when this host can join the data group, else unicast (said on stderr);
                            give unicast where the network does not carry multicast. Members of one
                            group may mix both modes
  --data-group ADDR:PORT    group, multicast delivery: the data group to listen on, the relay's
                            --data-group. Multicast, of --group's family, with a port other than
                            --port (it is bound with SO_REUSEADDR, so members on one host share it);
                            IPv6 in brackets: [ff15::2]:5008. Default 224.1.1.2:5008 for an IPv4
                            --group, [ff15::2]:5008 for an IPv6 one
  --print-identity          secure, group: print the public key and fingerprint of --identity FILE
                            (created when absent) and exit: "public key: HEX" and "fingerprint: HEX"
  --certify HEX             group: with the admin's --identity FILE, print the admission certificate
                            (128 hex digits) of the member whose public key is HEX (64 hex digits) and exit
  --key FILE                seed: load the RSA private key (PEM) from FILE, or create it there (default: a fresh key)
  --strict-perms            refuse a key file that group or others may access (default: load it with a warning)
  --group ADDR              multicast group, IPv4 or IPv6 (default 224.1.1.1; e.g. ff15::1, ff02::1%v0);
                            IPv6 needs the secure or group profile
  --port N                  UDP port (default 5007)
  --iface IF                the interface that sends to the group, by name (v0) or by one of its
                            addresses (10.0.0.1, fd00::1) (default: the kernel's choice)
  --ttl N                   multicast TTL or IPv6 hop limit, 0..255 (default 1)
  --keepalive S             keep-alive period in seconds (default 5)
  --probe S                 re-announce the key this often, to find a restarted relay (default 3 x keepalive)
  --register-timeout S      wait for the relay's answer, per attempt (default 5)
  --register-attempts N     attempts before giving up (default 3)
  --linger S                listening time after the end of input (default 0.3, at most 3600)
  --listen                  receive only: read no input, listen until SIGINT or SIGTERM (no --linger)
  --reliability R           )" TLVCAST_EXAMPLES_RELIABILITY_HELP R"(
  --unordered               )" TLVCAST_EXAMPLES_UNORDERED_HELP R"(
  --json                    one JSON object per line on stdout instead of text for people (the
                            schema: docs/CLI.md, installed in share/doc/tlvcast/)
  -q, --quiet               people's text: no status lines (registration, joins and leaves, epochs,
                            first-use trust); messages, warnings and errors stay. Not with --json
  -v, --verbose             at exit, the client's counters on stderr, one line ("tlvcast-chat
                            stats: NAME=N ..."), the repair layer's included (with --json too)
  -h, --help                this text
  --version                 the version, then exit

Exit status:
  0  the end of input, or SIGINT or SIGTERM (with --listen: the signal)
  1  no relay answered (or only refused ones), or a failure at start (a socket, a key file)
  2  a usage error

Seconds may have decimals (0.5). Errors and warnings go to stderr, also with --json.

JSON events (schema version 1, docs/CLI.md): every line has "v" (1), "ts" (RFC 3339 UTC, with
microseconds) and "event". registered ("local", "relay", "relay_fingerprint", "self"; group
profile: "delivery", and "data_group" for multicast), message ("peer", "sender", "text"),
connected and disconnected ("peer", "sender"), relay_lost and relay_changed ("relay"),
relay_refused ("relay", "relay_fingerprint": what it offered), relay_trusted ("relay",
"relay_fingerprint"), send_failed and error ("error"), unrecoverable ("peer", "first", "last":
datagrams first..last from peer were lost for good; --reliability nack). "sender" is the verified identity
fingerprint of the client at "peer" (not in the seed profile, which proves no identity);
"relay_fingerprint" is always the relay's, "self" this client's. Fingerprints are 64 hex digits:
SHA-256 of the Ed25519 public key (secure, group), or of the RSA public key's DER
SubjectPublicKeyInfo (seed); people's output shows their first 32 (128 bits).
Group profile: message ("sender": the fingerprint whose signature the message carries, end to end;
"text"; no "peer": the relay's address says nothing), epoch ("n", "members": a new epoch of the
group's keys and its member count), member_added ("fingerprint", "verified": true when it is on
this member's --roster), member_removed ("fingerprint"; this client's own: it is out of the group),
gap ("sender", "first", "last": that sender's messages first..last did not arrive). There are no
connected/disconnected events: presence is what the group's commits say. People's output marks
each member as on the roster, admin-certified, or UNVERIFIED (open admission, not on the roster).
With --json, --print-identity prints identity ("public_key", "fingerprint") and --certify
certificate ("public_key", "fingerprint", "certificate").
Addresses are "ip:port", or "[ipv6]:port". "local" is this client's address as the relay sees it,
as well as the client can know it: the source address the kernel picks for the group's route
through the --iface interface (found with a connected UDP socket, which sends nothing), with the
socket's port. In a loopback-only network namespace whose group route has no source address that
is 0.0.0.0, and the relay indeed sees 0.0.0.0:port. Invalid UTF-8 in a message is shown as U+FFFD in JSON.

Examples:
Over IPv6, the interface by name:
  tlvcast-chat --group ff15::1 --port 5007 --iface v0 --relay-fingerprint HEX

Group profile, roster admission (each member lists the others' fingerprints):
  tlvcast-chat --profile group --identity me.key --print-identity      # give the fingerprint to the others
  tlvcast-chat --profile group --identity me.key --roster roster.txt --relay-fingerprint HEX
Group profile, admin admission:
  tlvcast-chat --profile group --identity admin.key --print-identity   # "public key: ..." -> admin.pub
  tlvcast-chat --profile group --identity admin.key --certify MEMBER_PUBLIC_KEY > member.cert
  tlvcast-chat --profile group --identity me.key --admission admin --admin-key admin.pub \
               --admission-cert member.cert --relay-fingerprint HEX
)";

} // namespace tlvcast::examples
