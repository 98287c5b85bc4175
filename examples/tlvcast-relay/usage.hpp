// SPDX-License-Identifier: BSL-1.0
// tlvcast-relay's --help (also its man page, made from it by help2man).
#pragma once

#include "common/profile.hpp"
#include "common/reliability.hpp"

namespace tlvcast::examples {

inline constexpr const char* relay_usage = R"(Usage: tlvcast-relay [options]

The relay: binds the group's port, joins the group, registers clients and relays each message,
re-encrypted, to every other registered client. In the secure profile (the default) clients
authenticate it by its Ed25519 identity: give them the fingerprint it prints at start.
In the group profile the members encrypt end to end: the relay orders the members' commits and
forwards their messages unchanged, and cannot read them. The members decide who is in the group;
given --roster or --admin-key, the relay also refuses to order a commit that adds anyone that
policy refuses (so an outsider cannot found a group while the members are away).

Options:
  --profile P        secure (default: X25519/Ed25519 handshake, AEAD records), group (the secure
                     profile's hops, end-to-end group encryption between members) or seed (RSA-OAEP)
  --backend B        )" TLVCAST_EXAMPLES_BACKEND_HELP R"(
  --identity FILE    secure, group: load the Ed25519 identity (PKCS#8 PEM) from FILE, or create it there
                     with mode 0600 on first start (default: a fresh identity each run)
  --roster FILE      group: order only commits whose additions are in this roster file (one
                     fingerprint per line, as the members' --roster; default: no check)
  --admin-key FILE   group: order only commits whose additions carry a certificate by this admin
                     key (64 hex digits, as the members' --admin-key); not with --roster
  --data-group ADDR:PORT  group: where the relay sends each forwarded blob (message, commit,
                     welcome page) ONCE for all the members that joined with --delivery multicast
                     (the others get their own unicast copy; each member chooses, the relay serves
                     both). Multicast, of --group's family, with a port other than --port; IPv6 in
                     brackets: [ff15::2]:5008. Default 224.1.1.2:5008 for an IPv4 --group,
                     [ff15::2]:5008 for an IPv6 one. The members must listen on the same one (their
                     --data-group). Sent with the --iface and --ttl of --group.
  --seal-unicast      group: each unicast member's copy of a forwarded blob inside its
                     own records (a stream per member: the blob's headers, sender index and epoch,
                     hidden from the network path; one seal per member and datagram). Default: one
                     stream for all unicast members, the same bytes to each, bare (no crypto and no
                     copy per member; the content is end-to-end sealed and signed either way).
  --federate nats://HOST:PORT[,nats://HOST:PORT...]  group: federate this relay's group with
                     the relays of other sites over a NATS cluster (any of its nodes; tls:// too):
                     publish every blob the members send (unchanged: the relay cannot read it) and
                     deliver what the other relays publish (docs/FEDERATION.md). Retried forever;
                     the relay serves its LAN meanwhile. Needs a build with libnats
  --federation-group NAME  the federated group's name, the same at every site: NATS subject
                     tlvcast.g.NAME (1..64 of A-Z a-z 0-9 _ -; default: default)
  --federation-key FILE  the key the federation's relays share (32 random bytes, raw or 64 hex
                     digits; e.g. head -c32 /dev/urandom > FILE; chmod 600): every envelope carries
                     its HMAC-SHA256 and a counter, so only its holders publish and replays are dropped.
                     --federate needs it (a symlink or oversized file refused, a group- or
                     world-readable one warned about, refused under --strict-perms)
  --federation-insecure  federate without a key: anyone who can publish on the subject acts as a
                     relay (warned about; for trials only)
  --federation-creds FILE  NATS credentials (a .creds file: user JWT and seed)
  --federation-tls-ca FILE  TLS to the NATS servers (also --federation-tls-cert/-key/-hostname
                     or a tls:// URL; any makes every connection TLS, never plain): the only CAs
                     (PEM) the servers' certificates may chain to (default: the system's store)
  --federation-tls-cert FILE  with --federation-tls-key FILE: this relay's certificate chain and
                     unencrypted key (PEM), for servers that verify clients (nats-server --tlsverify)
  --federation-tls-hostname NAME  the name every server's certificate must carry (default: the
                     host of each --federate URL; with an IP address listed and no name, only the
                     listed servers are used, none a server names)
  --federation-send-asap  write each envelope to NATS at once (libnats otherwise gathers them for
                     1 ms): the hop's latency about 0.14 ms instead of 1 ms, at about half the
                     throughput and twice the CPU per message (plain subjects; docs/BENCHMARKS.md)
  --federation-jetstream  carry the group through a JetStream stream (TLVCAST_NAME, kept 10 min,
                     at most 256 MiB): each blob is stored before it counts as published, and each
                     relay receives what was stored since it started, in order, even across the
                     death of a NATS node (the servers need JetStream: nats-server -js); a relay
                     that starts late or restarts rebuilds the group from the commit stream
  --federation-replicas N  the stream's replicas, 1..5 (default 3: a 3-node cluster)
  --key FILE         seed: load the RSA private key (PEM) from FILE, or create it there (default: a fresh key)
  --strict-perms     refuse a key file that group or others may access (default: load it with a warning)
  --group ADDR       multicast group, IPv4 or IPv6 (default 224.1.1.1; e.g. ff15::1, ff02::1%v0);
                     IPv6 needs the secure or group profile
  --port N           UDP port (default 5007)
  --iface IF         the interface that joins the group, by name (v0) or by one of its addresses
                     (10.0.0.1, fd00::1) (default: the kernel's choice)
  --ttl N            multicast TTL or IPv6 hop limit, 0..255 (default 1)
  --keepalive S      the clients' keep-alive period in seconds (default 5); sets the default timeout
  --timeout S        silence after which a client is gone (default 3 x keepalive = 15)
  --max-clients N    registrations beyond this are refused (default 4096)
  --threads N        worker threads for the public-key work (default 0: one per core)
  --reliability R    )" TLVCAST_EXAMPLES_RELIABILITY_HELP R"(
  --slow-receiver P  hold or drop (default hold): what the relay does when a client's unacknowledged
                     backlog reaches its window. hold: the relay withholds its ACKs to the senders
                     (their windows close) and drops the client once it acknowledged nothing
                     for 3 s; drop: a client more than 2 MiB behind is dropped at once. A
                     dropped client's backlog is released (a slow_receiver event); what it
                     missed it learns as unrecoverable gaps, and it is reliable again once it
                     caught up. Needs --reliability nack
  --unordered        )" TLVCAST_EXAMPLES_UNORDERED_HELP R"(
  --stats-interval S print the stats every S seconds (default: only on SIGUSR1 or SIGHUP, and at exit)
  --metrics-file PATH  write the counters in Prometheus's text format to PATH, for node_exporter's
                     textfile collector (Debian's: /var/lib/prometheus/node-exporter/*.prom): at
                     start, every --stats-interval (every 15 s without it), on SIGUSR1 or SIGHUP and
                     at exit; atomically (a temporary file in PATH's directory, renamed over PATH)
  --json             one JSON object per line on stdout instead of text for people (the schema:
                     docs/CLI.md, installed in share/doc/tlvcast/)
  -v, --verbose      also print an event per relayed message (off by default: a line per message
                     costs more than relaying it; written in batches when on)
  -q, --quiet        people's text: nothing at start, no client events, no stats at exit (those
                     that SIGUSR1, SIGHUP or --stats-interval ask for still print); errors and
                     warnings still go to stderr. Not with --json or --verbose
  -h, --help         this text
  --version          the version, then exit

Exit status:
  0  stopped by SIGINT or SIGTERM
  1  a failure at start (a socket, a key file, the metrics file)
  2  a usage error

Signals:
  SIGINT, SIGTERM    stop the relay; it prints its counters (the stats; not with -q) and exits 0
  SIGUSR1, SIGHUP    print the stats (and rewrite --metrics-file) without stopping

Seconds may have decimals (0.5). At start the relay warns when another relay of the secure or
group profile already answers on the group and port (a probe of 0.25 s: a SECURE_HELLO, which
such a relay answers without registering anything). It prints its fingerprint (64 hex digits):
SHA-256 of its Ed25519 public key (secure), or of its RSA public key's DER SubjectPublicKeyInfo
(seed: for information only, seed clients cannot pin it). Errors and warnings go to stderr, also
with --json.

JSON events (schema version 1, docs/CLI.md): every line has "v" (1), "ts" (RFC 3339 UTC, with
microseconds) and "event". ready ("relay_fingerprint", "profile", "backend", "reliability", "slow_receiver",
"group", "port"; group profile: "data_group"), registered, connected, disconnected, timeout (each with
"peer":"ip:port" or "[ipv6]:port"), slow_receiver ("peer", "bytes", "policy"), message ("peer", "bytes"; with --verbose only), stats
("reason": signal, interval or exit; "clients"; every relay counter by name), warning ("warning";
another relay: "relay") and error ("error": a failure at start, exit status 1). In the secure and
group profiles the client events also carry "sender": the client's verified identity
fingerprint. In the group profile a message event is any blob the relay forwarded or ordered (a
member's encrypted message, commit or welcome page; "bytes" is its encrypted size). People's
output shows fingerprints by their first 32 hex digits (128 bits).

Examples:
Over IPv6, the interface by name:
  tlvcast-relay --group ff15::1 --port 5007 --iface v0 --identity relay.pem
)";

} // namespace tlvcast::examples
