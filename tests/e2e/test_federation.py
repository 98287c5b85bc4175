# SPDX-License-Identifier: BSL-1.0
"""End-to-end test of relays federated over a NATS cluster (docs/FEDERATION.md): a 3-node
nats-server cluster in a private backbone network namespace, two site namespaces linked to it by
veth pairs (10.99.1.0/24, 10.99.2.0/24), each site with its own relay (--federate, all three
nodes) and two members (one unicast, one multicast) on its own multicast group. The four members
end in ONE group (the same epoch at every site); each sends a 100 B and a 20 KB line, and every line
arrives exactly once, intact, at the three other members. Then the NATS node a relay is connected to
is killed while lines stream: the relay reconnects to another node. Twice: on plain subjects
(nothing duplicated or reordered, each site's own lines all there, every line once again after the
reconnection; what crossed in the window may be lost, at most once, and is counted) and through a
JetStream stream (--federation-jetstream, the servers with -js: every line once, in order). On plain
subjects, hostile publications on the group's subject by a raw NATS client without the federation
key (--federation-key) are refused as unauthenticated, counted exactly, and
change nothing. Through JetStream, commits also race (one order for membership): a member at each
site founds a group at once, three times, the first while site b's veth is cut for 3 s, relay-b
started during the cut (NATS unreachable at its start: it serves its LAN, its founding waits, then
conflicts, counted); joiners and leavers at both sites at once; every member ends at one epoch
and one roster each time; site b's veth cut for 3 s while lines stream from both sites: every line
once, in order, at every member once it is back. Scale-out: a second relay on site a's LAN (its own groups and port) with
a member of its own, in the same group, lines across all three relays. The relays' federation counters show what happened.
Over TLS (one nats-server --tls --tlsverify): relays with the CA and client certificates carry one
group across both sites; relays without a client certificate, or with another CA, never connect.
Run through tests/netns.sh; the namespaces it makes itself (ip netns) are removed at the end."""
import datetime
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import schema  # noqa: E402
from harness import FAST, RELAY, Failure, check, is_event, track  # noqa: E402

args = None
TAG = f"tlvfed{os.getpid()}"
NS = {"bb": TAG + "bb", "a": TAG + "a", "b": TAG + "b"}
SITES = {"a": ("10.99.1", "224.1.1.1", "224.1.1.2:5008"), "b": ("10.99.2", "224.1.2.1", "224.1.2.2:5008")}
CLIENT_PORTS = (4222, 4223, 4224)
CLUSTER_PORTS = (6222, 6223, 6224)
SUBJECT_GROUP = "fedtest"
made = []  # namespaces this run created


def ip(*argv):
    r = subprocess.run(["ip", *argv], capture_output=True, timeout=10)
    if r.returncode != 0:
        raise Failure(f"ip {' '.join(argv)}: {r.stderr.decode().strip()}")


def make_network():
    """The backbone and the two sites: lo with multicast in each site (224.0.0.0/4 via lo, as
    tests/netns.sh does), a veth pair from the backbone to each site; no other interface."""
    for ns in NS.values():
        ip("netns", "add", ns)
        made.append(ns)
        ip("-n", ns, "link", "set", "lo", "up")
    for site, (net, _, _) in SITES.items():
        ns = NS[site]
        ip("-n", ns, "link", "set", "lo", "multicast", "on")
        ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", "lo", "src", "127.0.0.1")
        ip("-n", NS["bb"], "link", "add", "to-" + site, "type", "veth", "peer", "name", "uplink", "netns", ns)
        ip("-n", NS["bb"], "addr", "add", net + ".1/24", "dev", "to-" + site)
        ip("-n", ns, "addr", "add", net + ".2/24", "dev", "uplink")
        ip("-n", NS["bb"], "link", "set", "to-" + site, "up")
        ip("-n", ns, "link", "set", "uplink", "up")


def cleanup():
    harness.cleanup()
    for ns in made:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
    made.clear()


def in_ns(site, prog, name, argv, stdin=True):
    """A program in a site's namespace; its JSON lines are checked against `prog`'s schema."""
    p = track(harness.Program(name, ["ip", "netns", "exec", NS[site], *argv], stdin=stdin))
    p.schema = prog  # the harness infers it from argv[0], here "ip"
    return p


def start_nats(i, d, jetstream):
    """Node i of the cluster, in the backbone: clients on 0.0.0.0 (the sites reach it through
    their veth), routes to the two other nodes on the backbone's loopback; JetStream when asked,
    stored under `d`."""
    log = os.path.join(d, f"nats{i}.log")
    routes = ",".join(f"nats://127.0.0.1:{p}" for j, p in enumerate(CLUSTER_PORTS) if j != i)
    js = ["-js", "-sd", os.path.join(d, f"js{i}")] if jetstream else []
    p = in_ns("bb", None, f"nats{i}", ["nats-server", "-n", f"node{i}", "-a", "0.0.0.0", "-p", str(CLIENT_PORTS[i]),
                                       "--cluster_name", "tlvcast", "--cluster", f"nats://127.0.0.1:{CLUSTER_PORTS[i]}",
                                       "--routes", routes, "-l", log, *js], stdin=False)
    p.log = log
    return p


def wait_cluster(nodes, jetstream):
    """Until every node logged a route to each other node, and with JetStream until the cluster
    has a metadata leader (at most harness.WAIT seconds)."""
    deadline = time.monotonic() + harness.WAIT
    while True:
        routed, leader = [], False
        for n in nodes:
            try:
                with open(n.log) as f:
                    text = f.read()
            except OSError:
                text = ""
            routed.append(text.count("Route connection created"))
            leader = leader or "metadata leader" in text
        if all(r >= len(nodes) - 1 for r in routed) and (leader or not jetstream):
            return
        check(time.monotonic() < deadline, f"the NATS cluster did not form: routes {routed}")
        check(all(n.proc.poll() is None for n in nodes), f"a NATS node exited: {[n.stderr[-300:] for n in nodes]}")
        time.sleep(0.1)


def federation_key(d):
    """The key every relay of the federation shares: 32 random bytes as hex, in a 0600 file."""
    path = os.path.join(d, "federation.key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, os.urandom(32).hex().encode() + b"\n")
        os.close(fd)
    return path


def start_relay(site, d, jetstream, connected=True, name=None, lan=None, servers=None, extra=()):
    """Site `site`'s relay (`name` another one on the same LAN, on `lan` = (group, port, data): one
    host here, so its own port as well); `servers` instead of the cluster's three, `extra` options."""
    net, group, data = SITES[site]
    group, port, data = lan or (group, "5007", data)
    name = name or site
    servers = servers or ",".join(f"nats://{net}.1:{p}" for p in CLIENT_PORTS)
    r = in_ns(site, "tlvcast-relay", "relay-" + name,
              [args.relay, "--json", "--profile", "group", *RELAY, "--identity", os.path.join(d, name + ".relay.id"),
               "--group", group, "--port", port, "--data-group", data, "--federate", servers, "--federation-group", SUBJECT_GROUP,
               "--federation-key", federation_key(d),
               *(["--federation-jetstream"] if jetstream else []), *extra],
              stdin=False)
    ev = r.wait_for(is_event("ready"), "ready")
    check(ev.get("federation") == "tlvcast.g." + SUBJECT_GROUP, f"ready: {ev}")
    r.fingerprint = ev["relay_fingerprint"]
    r.site = site
    r.lan = (group, port, data)
    if connected:
        r.wait_for(is_event("federation", state="connected"), "the connection to NATS")
    return r


def spawn_member(site, name, relay, d, delivery):
    group, port, data = relay.lan
    extra = ["--data-group", data] if delivery == "multicast" else []
    return in_ns(site, "tlvcast-chat", name,
                 [args.chat, "--json", "--profile", "group", *FAST, "--relay-fingerprint", relay.fingerprint,
                  "--identity", os.path.join(d, name + ".id"), "--admission", "open", "--group", group, "--port", port,
                  "--delivery", delivery, *extra])


def registered(c):
    c.fingerprint = c.wait_for(is_event("registered"), "registered").get("self")
    return c


def start_member(site, name, relay, d, delivery):
    return registered(spawn_member(site, name, relay, d, delivery))


def roster(c):
    """The roster as member c's events built it: itself, plus additions, minus removals, in order."""
    fps = {c.fingerprint}
    for e in c.select(lambda e: e.get("event") in ("member_added", "member_removed")):
        (fps.add if e["event"] == "member_added" else fps.discard)(e["fingerprint"])
    return fps


def wait_one_roster(members, n, after=0):
    """Every member reaches the same epoch of n members (wait_epoch) and the same roster."""
    epoch = wait_epoch(members, n, after)
    deadline = time.monotonic() + harness.WAIT
    while True:  # the epoch event comes after the additions and removals it reports
        rosters = {c.name: roster(c) for c in members}
        if all(r == rosters[members[0].name] and len(r) == n for r in rosters.values()):
            return epoch
        check(time.monotonic() < deadline, f"the rosters disagree at epoch {epoch}: "
              f"{ {k: sorted(f[:8] for f in v) for k, v in rosters.items()} }")
        time.sleep(0.05)


def founding_race(relays, d, rounds=3):
    """A first member at each site at the same moment, while no group lives: both found a group
    (epoch 1) at once, i.e. two sites commit for the same epoch. Through the stream one founding is
    stored, the other conflicts; its member is added to the winner's group: both end at one epoch
    with one roster of 2. Then both leave (the group is dead again) and the race is run again,
    `rounds` times. Returns the epochs reached."""
    epochs = []
    for k in range(rounds):
        if k == 0:
            # The first time, relay-b starts while its site's veth is cut, and stays cut for 3 s
            # while both found: NATS is unreachable at relay-b's start. It serves its LAN anyway
            # (its member registers and proposes), its proposal waits for NATS; once the link is
            # back the stream refuses it (site a's founding came first): a conflict, always.
            ip("-n", NS["bb"], "link", "set", "to-b", "down")
            relays["b"] = start_relay("b", d, True, connected=False)
        pair = [spawn_member(s, f"f{s}{k}", relays[s], d, "unicast") for s in SITES]
        for c in pair:
            registered(c)
        if k == 0:
            pair[0].wait_for(lambda e: e.get("event") == "epoch" and e.get("members") == 1, "site a's founding")
            time.sleep(3)
            check(not relays["b"].select(is_event("federation", state="connected")),
                  "relay-b connected to NATS through a cut veth")
            ip("-n", NS["bb"], "link", "set", "to-b", "up")
            relays["b"].wait_for(is_event("federation", state="connected"), "relay-b's first connection to NATS")
        epochs.append(wait_one_roster(pair, 2))
        if k == 0:  # relay-b's proposal may still be on its way to the stream when both see one roster
            deadline = time.monotonic() + harness.WAIT
            while (conflicts := stats_now(relays["b"])[1].get("federation_conflicts")) < 1 and \
                    time.monotonic() < deadline:
                time.sleep(0.5)
            check(conflicts >= 1, f"relay-b's founding, made while its veth was cut, did not conflict: {conflicts}")
        for c in pair:
            c.close_stdin()
        for c in pair:
            check(c.wait_exit() == 0, f"{c.name}: exit status")
        time.sleep(0.3)  # the departures reach the other relay: the group is dead there too
    return epochs


def concurrent_joins(relays, d, members, epoch, rounds=2):
    """Members join at both sites at the same moment, `rounds` times, then those leave at both
    sites at once: every member ends at one epoch with one roster each time. Returns the epochs."""
    everyone, newcomers, epochs = list(members), [], []
    for k in range(rounds):
        pair = [spawn_member(s, f"{s}{2 + k}", relays[s], d, "unicast") for s in SITES]
        for c in pair:
            registered(c)
        everyone += pair
        newcomers += pair
        epoch = wait_one_roster(everyone, len(everyone), epoch)
        epochs.append(epoch)
    for c in newcomers:  # all at once
        c.close_stdin()
    for c in newcomers:
        check(c.wait_exit() == 0, f"{c.name}: exit status")
    epochs.append(wait_one_roster(members, len(members), epoch))
    return epochs


def wait_epoch(members, n, after=0):
    """Every member reaches an epoch of n members (numbered above `after`); the epochs must agree
    (one group, one chain)."""
    epochs = {c.name: c.wait_for(lambda e: e.get("event") == "epoch" and e.get("members") == n and e["n"] > after,
                                 f"an epoch of {n} members after {after}")["n"] for c in members}
    check(len(set(epochs.values())) == 1, f"the sites disagree on the epoch of {n} members: {epochs}")
    return next(iter(epochs.values()))


def exchange(members, lines, what):
    """Each member sends its lines; each arrives exactly once, intact, at every other member and
    never back at its sender (a second copy would show within the last second waited)."""
    start = time.monotonic()
    for c in members:
        for t in lines[c.name]:
            c.send_line(t)
    for r in members:
        for s in members:
            if s is not r:
                got = r.wait_count(lambda e, s=s: is_event("message", sender=s.fingerprint)(e) and e.get("text") in
                                   lines[s.name], len(lines[s.name]), f"{what} from {s.name}")
                check([e["text"] for e in got] == lines[s.name],
                      f"{r.name}: {s.name}'s {what} out of order, changed or repeated")
    elapsed = time.monotonic() - start
    time.sleep(1.0)
    for r in members:
        for s in members:
            for t in lines[s.name]:
                n = len(r.select(is_event("message", text=t)))
                check(n == (0 if s is r else 1), f"{r.name} got a line of {s.name} {n} times ({what})")
    return elapsed


def federation_stats(relay, jetstream, injected):
    """The relay's federation counters at its exit; `injected`: what the hostile publisher's envelopes
    must have added (malformed, unauthenticated, refused, own)."""
    stats = harness.stop_relay(relay)
    fed = {k[len("federation_"):]: v for k, v in stats.items() if k.startswith("federation_")}
    for bad in ("queue_full", "inbound_full", "publish_errors"):
        check(fed.get(bad) == 0, f"{relay.name}: federation_{bad} {fed.get(bad)} ({fed})")
    for name in ("malformed", "unauthenticated", "replayed", "refused"):
        check(fed.get(name) == injected.get(name, 0), f"{relay.name}: federation_{name} {fed.get(name)} ({fed})")
    # A stream delivers a relay's own envelopes back (no-echo is for plain subjects): dropped, counted.
    own = injected.get("own", 0)
    check(fed["own"] <= fed["published"] + own if jetstream else fed["own"] == own,
          f"{relay.name}: federation_own ({fed})")
    check(fed["published"] > 0 and fed["delivered"] > 0, f"{relay.name}: nothing federated: {fed}")
    print(f"  {relay.name}: {fed}", flush=True)
    return fed


# A raw NATS client (the protocol's text commands), run in the backbone: publishes PAYLOADS (hex in
# argv) on SUBJECT, then waits for the server's PONG so that they were all processed.
RAW_PUBLISHER = r"""
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.recv(4096)
s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\n')
for h in sys.argv[3:]:
    p = bytes.fromhex(h)
    s.sendall(b"PUB %s %d\r\n" % (sys.argv[2].encode(), len(p)) + p + b"\r\n")
s.sendall(b"PING\r\n")
got = b""
while b"PONG" not in got:
    chunk = s.recv(4096)
    if not chunk:
        sys.exit("closed: %r" % got)
    got += chunk
"""


def publish_hostile(nodes, relay_a):
    """Publishes on the group's subject as anyone with NATS access but no federation key could: a
    short message, a bad magic, a well-formed envelope claiming relay-a's id with a junk blob and a
    guessed tag, and one with a stranger's id. Both relays refuse the last two as unauthenticated
    before looking at the id or the blob (so relay-a counts no `own`, neither counts `refused`)."""
    node = next(i for i, n in enumerate(nodes) if n.proc.poll() is None)
    ident = relay_a.select(is_event("ready"))[0]["relay_id"]
    junk = "00300004" + "deadbeef"  # a TLV of the seed profile's type 0x30: no group blob
    header = "5446" + "0301"  # version 3, a member blob
    counter, after, tag = "00" * 7 + "01", "00" * 8, "77" * 32
    payloads = ["0102", "5858" + "0301" + "00" * 96 + "aa", header + ident + counter + after + "11" * 32 + junk + tag,
                header + "ee" * 16 + counter + after + "22" * 32 + junk + tag]
    r = subprocess.run(["ip", "netns", "exec", NS["bb"], sys.executable, "-c", RAW_PUBLISHER,
                        str(CLIENT_PORTS[node]), "tlvcast.g." + SUBJECT_GROUP, *payloads], capture_output=True,
                       timeout=20)
    check(r.returncode == 0, f"the raw NATS publisher: {r.stderr!r}")
    time.sleep(0.5)  # delivered through the cluster and counted
    return {"a": {"malformed": 2, "unauthenticated": 2}, "b": {"malformed": 2, "unauthenticated": 2}}


def latency(sender, receivers, n=50):
    """n lines from `sender`, 10 ms apart: each receiver's p50 and p99 in ms, from the send to its
    message event's timestamp (the same clock: one machine). Printed, not checked: a figure."""
    sent = {}
    for i in range(n):
        t = f"{sender.name} latency {i:03d}"
        sent[t] = time.time()
        sender.send_line(t)
        time.sleep(0.01)
    out = {}
    for r in receivers:
        got = r.wait_count(lambda e: e.get("event") == "message" and e.get("text") in sent, n, "the latency lines")
        ms = sorted((datetime.datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp() - sent[e["text"]])
                    * 1000 for e in got)
        out[r.name] = (round(ms[n // 2], 2), round(ms[min(n - 1, n * 99 // 100)], 2))
    return out


def leader_changes(nodes, n=6):
    """The last `n` lines of each NATS node's log about leaders (for a failure's message: CI keeps
    nothing else)."""
    out = {}
    for node in nodes:
        try:
            with open(node.log) as f:
                out[node.name] = [line.strip()[-160:] for line in f if "leader" in line.lower()][-n:]
        except OSError as e:
            out[node.name] = str(e)
    return out


def stats_now(relay):
    """The relay's federation counters and events, asked for with SIGUSR1 (for a failure's message)."""
    n = len(relay.select(is_event("stats")))
    relay.signal(signal.SIGUSR1)
    ev = relay.wait_count(is_event("stats"), n + 1, "stats")[-1]
    return relay.name, {k: v for k, v in ev.items() if k.startswith("federation_")}, \
        relay.select(is_event("federation"))


def veth_cut(relays, members, nodes, n=20, cut=3.0):
    """Site b's veth goes down for `cut` seconds while every member sends `n` lines, 0.1 s apart:
    each site goes on serving its LAN, and once the veth is back every line arrives once, in order,
    at every member (what relay-b could not publish waited in its queue; what it could not read, the
    stream still holds). Returns the seconds from the veth's return to the last line, and relay-b's
    federation counters."""
    lines = {c.name: [f"{c.name} cut {i:03d} " + "c" * 40 for i in range(n)] for c in members}
    started = None
    for i in range(n):
        for c in members:
            c.send_line(lines[c.name][i])
        if i == 2:
            ip("-n", NS["bb"], "link", "set", "to-b", "down")
            started = time.monotonic()
        time.sleep(0.1)
    time.sleep(max(0.0, cut - (time.monotonic() - started)))
    ip("-n", NS["bb"], "link", "set", "to-b", "up")
    back = time.monotonic()
    try:
        for r in members:
            for s in members:
                if s is not r:
                    got = r.wait_count(lambda e, s=s: e.get("event") == "message" and e.get("text") in lines[s.name],
                                       n, f"{s.name}'s lines across the cut")
                    check([e["text"] for e in got] == lines[s.name],
                          f"{r.name}: {s.name}'s lines across the cut out of order or repeated")
    except Failure as e:
        raise Failure(f"{e}; the relays now: {[stats_now(r) for r in relays.values()]}; "
                      f"the nodes' last leader changes: {leader_changes(nodes)}")
    took = time.monotonic() - back
    time.sleep(1.0)  # a second copy would show by now
    for r in members:
        for s in members:
            got = r.select(lambda e, s=s: e.get("event") == "message" and e.get("text") in lines[s.name])
            check(len(got) == (0 if s is r else n), f"{r.name} got {len(got)} of {s.name}'s lines across the cut")
    return took, stats_now(relays["b"])[1]


def relay_restart(relays, d, members, epoch):
    """Relay-b crashes (SIGKILL) and starts again (same identity, same flags): it rebuilds the group
    from the commit stream (catch-up: federation_caught_up) and asks relay-a who lives there; its
    members notice at their next probe, register again with a newer key package, and a commit
    re-keys them: one group of 4 at one epoch and roster again, and lines cross both ways. Returns
    the seconds from the restart to the one roster, and the new relay-b's counters."""
    epoch = max(e["n"] for c in members for e in c.select(is_event("epoch")))  # where the group stands
    relays["b"].kill()
    start = time.monotonic()
    relays["b"] = start_relay("b", d, True)
    # Each member of site b is re-keyed by a commit of its own: wait for the last one everywhere.
    deadline = time.monotonic() + harness.WAIT
    while True:
        latest = {c.name: (c.select(is_event("epoch")) or [{}])[-1] for c in members}
        epochs = {e.get("n") for e in latest.values()}
        if len(epochs) == 1 and all(e.get("n", 0) > epoch and e.get("members") == len(members) for e in latest.values()) \
                and all(roster(c) == roster(members[0]) for c in members):
            break
        check(time.monotonic() < deadline, f"no one group after relay-b's restart: "
              f"{ {k: (e.get('n'), e.get('members')) for k, e in latest.items()} }; the relays: "
              f"{[stats_now(r) for r in relays.values()]}")
        time.sleep(0.1)
    time.sleep(1.0)  # nothing more comes: a later commit would show
    check(all((c.select(is_event("epoch")) or [{}])[-1].get("n") == next(iter(epochs)) for c in members),
          "the group moved on after it settled")
    epoch = next(iter(epochs))
    took = time.monotonic() - start
    stats = stats_now(relays["b"])[1]
    check(stats.get("federation_caught_up", 0) >= 1, f"relay-b replayed no commit: {stats}")
    # Refused in the history: each founding of a group that replaced another is kept aside until
    # the next commit continues it (here the founding races' and the group of 4's); nothing after.
    check(stats.get("federation_refused") <= 4, f"relay-b refused what the order holds: {stats}")
    lines = {c.name: [f"{c.name} after relay-b's restart"] for c in members}
    exchange(members, lines, "lines after relay-b's restart")
    return took, epoch, stats


def schema_clean(programs):
    """Every line each program printed follows its schema (also those read before p.schema was set)."""
    for p in programs:
        for line in p.raw:
            why = schema.check_line(p.schema, line)
            check(why is None, f"{p.name}: a line off the schema ({why}): {line[:300]!r}")


def two_sites(jetstream):
    with tempfile.TemporaryDirectory() as d:
        try:
            make_network()
        except Failure as e:
            print(f"test_federation.py: cannot make the namespaces ({e}); skipped", flush=True)
            cleanup()  # what was made before the failure
            raise SystemExit(77)
        nodes = [start_nats(i, d, jetstream) for i in range(3)]
        wait_cluster(nodes, jetstream)
        # With JetStream relay-b starts later, while NATS is unreachable (founding_race).
        # On plain subjects relay-b writes each envelope at once (--federation-send-asap), relay-a
        # lets libnats gather them: both ways carry the same lines.
        relays = {s: start_relay(s, d, jetstream, extra=["--federation-send-asap"] if s == "b" else [])
                  for s in SITES if s == "a" or not jetstream}
        # Scale-out (JetStream): a second relay on site a's LAN, its own groups and port, the same
        # federation; it follows the group from the start (a relay that starts late cannot yet).
        relay_a2 = start_relay("a", d, True, name="a2", lan=("224.1.1.3", "5017", "224.1.1.4:5018")) \
            if jetstream else None
        time.sleep(0.5)  # the relays' subscriptions reach every node of the cluster
        if jetstream:  # one order for membership: two sites found a group at the same moment
            start = time.monotonic()
            epochs = founding_race(relays, d)
            conflicts = {s: stats_now(r)[1].get("federation_conflicts") for s, r in relays.items()}
            print(f"  3 x (a member at each site founds a group at once): one epoch and one roster at both "
                  f"each time (epochs {epochs}), conflicts {conflicts}, in {time.monotonic() - start:.1f} s",
                  flush=True)
        start = time.monotonic()
        a0 = start_member("a", "a0", relays["a"], d, "unicast")
        a1 = start_member("a", "a1", relays["a"], d, "multicast")
        wait_epoch([a0, a1], 2)
        b0 = start_member("b", "b0", relays["b"], d, "unicast")
        b1 = start_member("b", "b1", relays["b"], d, "multicast")
        members = [a0, a1, b0, b1]
        epoch = wait_epoch(members, 4)
        print(f"  one group of 4 members at 2 sites, epoch {epoch}, in {time.monotonic() - start:.1f} s", flush=True)

        lines = {c.name: [(f"{c.name} 100 B " + "abcdefghij" * 10)[:100],
                          (f"{c.name} 20 KB " + "".join(chr(33 + (i * 7 + len(c.name)) % 94) for i in range(20_000)))
                          [:20_000]] for c in members}
        took = exchange(members, lines, "100 B and 20 KB lines")
        print(f"  4 x (100 B + 20 KB) lines, each once at the 3 others, in {took:.2f} s", flush=True)
        lat = latency(a0, [a1, b0, b1])
        print(f"  latency from a0, p50/p99 ms: same site {lat['a1']}, other site {lat['b0']} (unicast), "
              f"{lat['b1']} (multicast)", flush=True)

        if jetstream:  # joiners and leavers at both sites at once
            start = time.monotonic()
            epochs = concurrent_joins(relays, d, members, epoch)
            epoch = epochs[-1]
            print(f"  2 x (a joiner at each site at once), then both pairs leave at once: one epoch and one roster "
                  f"at every member each time (epochs {epochs}), in {time.monotonic() - start:.1f} s", flush=True)
            again = {c.name: [f"{c.name} after the concurrent commits"] for c in members}
            exchange(members, again, "lines after the concurrent commits")

        # A NATS node dies while lines stream from both sites. Core NATS is at most once: what was
        # routed through the dead node to relay-a may be lost until relay-a has reconnected to another
        # node (docs/FEDERATION.md: JetStream is next). What this shows: nothing is duplicated or
        # reordered, each site's own lines all arrive, relay-a reconnects to another node by itself,
        # and after that the federation carries every line again, exactly once.
        stream = {c.name: [f"{c.name} stream {i:03d} " + "s" * 60 for i in range(40)] for c in members}
        # The node site a's relay is connected to (libnats picks one of the three at random).
        server = relays["a"].select(is_event("federation", state="connected"))[-1]["server"]
        victim = nodes[CLIENT_PORTS.index(int(server.rsplit(":", 1)[1]))]
        for i in range(40):
            for c in members:
                c.send_line(stream[c.name][i])
            if i == 10:
                victim.kill()
            time.sleep(0.02)
        relays["a"].wait_for(lambda e: is_event("federation", state="connected")(e) and e["server"] != server,
                             "a reconnection to another NATS node")
        relays["a"].wait_for(is_event("federation", state="disconnected"), "the lost connection")
        site_of = {c.name: c.name[0] for c in members}
        lost = 0
        for r in members:
            for s in members:
                if s is r:
                    continue
                if site_of[s.name] == site_of[r.name]:  # the LAN path: untouched by NATS
                    r.wait_count(lambda e, s=s: e.get("event") == "message" and e.get("text") in stream[s.name], 40,
                                 f"{s.name}'s stream at its own site")
        time.sleep(1.0)
        for r in members:
            for s in members:
                got = [e["text"] for e in r.select(lambda e, s=s: e.get("event") == "message" and
                                                   e.get("text") in stream[s.name])]
                check(s is not r or not got, f"{r.name} got its own lines back")
                check(got == sorted(set(got)), f"{r.name}: {s.name}'s stream repeated or out of order")
                if s is not r:
                    lost += 40 - len(got)
        if jetstream:  # stored before it counts, delivered in stream order: nothing may be missing
            try:
                for r in members:
                    for s in members:
                        if s is not r:
                            r.wait_count(lambda e, s=s: e.get("event") == "message" and
                                         e.get("text") in stream[s.name], 40, f"{s.name}'s stream through JetStream")
            except Failure as e:
                raise Failure(f"{e}; the relays now: {[stats_now(r) for r in relays.values()]}; "
                              f"the nodes' last leader changes: {leader_changes(nodes)}")
            lost = 0
            for r in members:
                for s in members:
                    got = [e["text"] for e in r.select(lambda e, s=s: e.get("event") == "message" and
                                                       e.get("text") in stream[s.name])]
                    check(got == ([] if s is r else stream[s.name]), f"{r.name}: {s.name}'s stream {len(got)}/40")
        print(f"  {victim.name} (relay-a's node) killed mid-stream: relay-a reconnected to another node; "
              f"{lost} of 480 line deliveries lost ({'JetStream' if jetstream else 'core NATS, at most once'}), "
              f"none repeated", flush=True)
        after = {c.name: [f"{c.name} after the node's death " + "z" * 50] for c in members}
        took = exchange(members, after, "lines after the reconnection")
        print(f"  after the reconnection: every line once at every member, in {took:.2f} s", flush=True)

        if jetstream:  # site b cut off for 3 s while lines stream: the stream catches both sides up
            took, fed_b = veth_cut(relays, members, nodes)
            print(f"  site b's veth cut for 3 s while 4 x 20 lines streamed: every line once, in order, at every "
                  f"member {took:.1f} s after the cut ended; relay-b: disconnects {fed_b.get('federation_disconnects')}, "
                  f"reconnects {fed_b.get('federation_reconnects')}, missed {fed_b.get('federation_missed')}",
                  flush=True)

        if jetstream:  # scale-out: a member of site a's second relay
            start = time.monotonic()
            c0 = start_member("a", "c0", relay_a2, d, "unicast")
            try:
                wait_one_roster([*members, c0], 5, epoch)
            except Failure as e:  # seen once in about 22 runs: what each relay's order looked like
                raise Failure(f"{e}; the relays: {[stats_now(r)[:2] for r in [*relays.values(), relay_a2]]}")
            both = {c.name: [f"{c.name} with two relays on site a"] for c in [a0, b0, c0]}
            exchange([a0, b0, c0], both, "lines with two relays on site a")
            c0.close_stdin()
            check(c0.wait_exit() == 0, "c0: exit status")
            print(f"  a second relay on site a's LAN (its own groups) with one member: one group of 5 at the 3 "
                  f"relays, lines across all of them, in {time.monotonic() - start:.1f} s", flush=True)

        if jetstream:  # a relay crashes and restarts: catch-up
            took, epoch, fed_b = relay_restart(relays, d, members, epoch)
            print(f"  relay-b killed and started again: it replayed {fed_b.get('federation_caught_up')} commits, "
                  f"heard {fed_b.get('federation_delivered')} envelopes; its members back in one group of 4 "
                  f"(epoch {epoch}) {took:.1f} s after the restart, lines across both sites", flush=True)

        # Hostile publications on the subject (plain subjects: the stream would deliver them alike).
        injected = {} if jetstream else publish_hostile(nodes, relays["a"])
        if not jetstream:
            again = {c.name: [f"{c.name} after the hostile envelopes"] for c in members}
            exchange(members, again, "lines after the hostile envelopes")

        for c in members:
            c.close_stdin()
            check(c.wait_exit() == 0, f"{c.name}: exit status")
        if jetstream:  # what relay-b's replay kept aside (relay_restart): nothing refused since
            injected["b"] = {"refused": fed_b.get("federation_refused")}
        feds = {s: federation_stats(r, jetstream, injected.get(s, {})) for s, r in relays.items()}
        if relay_a2:
            federation_stats(relay_a2, jetstream, {})
        check(feds["a"]["disconnects"] >= 1 and feds["a"]["reconnects"] >= 1,
              f"relay-a's counters miss the node it lost: {feds['a']}")
        if jetstream:  # nothing fills the commit stream here
            check(feds["b"]["order_full"] == 0, f"relay-b: federation_order_full ({feds['b']})")
        schema_clean([*members, *relays.values()])


def test_two_sites_one_group():
    """Plain NATS subjects (at most once)."""
    two_sites(jetstream=False)


def test_two_sites_through_jetstream():
    """A JetStream stream per group (R3): nothing lost when a node dies."""
    two_sites(jetstream=True)


def make_pki(d):
    """A CA, the NATS server's certificate for its two backbone addresses, a relay's client
    certificate (P-256, by the openssl command); their paths by name."""
    ext = os.path.join(d, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:10.99.1.1,IP:10.99.2.1\n")
    p = {n: os.path.join(d, n) for n in ("ca.crt", "ca.key", "server.crt", "server.key", "relay.crt", "relay.key")}
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    steps = [["req", "-x509", *ec, "-keyout", p["ca.key"], "-out", p["ca.crt"], "-subj", "/CN=tlvcast test CA",
              "-days", "2"]]
    for n, extfile in (("server", ["-extfile", ext]), ("relay", [])):
        csr = os.path.join(d, n + ".csr")
        steps += [["req", *ec, "-keyout", p[n + ".key"], "-out", csr, "-subj", "/CN=" + n],
                  ["x509", "-req", "-in", csr, "-CA", p["ca.crt"], "-CAkey", p["ca.key"], "-CAcreateserial",
                   "-days", "2", "-out", p[n + ".crt"], *extfile]]
    for step in steps:
        r = subprocess.run(["openssl", *step], capture_output=True, timeout=30)
        check(r.returncode == 0, f"openssl {step[0]}: {r.stderr.decode()[-300:]}")
    return p


def test_two_sites_over_tls():
    """One nats-server with TLS that verifies clients (--tlsverify): relays with the CA and a client
    certificate (--federation-tls-*) carry one group across both sites; a relay without a client
    certificate never connects, and one given a CA that did not sign the server's neither."""
    check(shutil.which("openssl") is not None, "the openssl command is not installed (scripts/setup.sh installs it)")
    with tempfile.TemporaryDirectory() as d:
        try:
            make_network()
        except Failure as e:
            print(f"test_federation.py: cannot make the namespaces ({e}); skipped", flush=True)
            cleanup()
            raise SystemExit(77)
        pki = make_pki(d)
        log = os.path.join(d, "nats-tls.log")
        server = in_ns("bb", None, "nats-tls", ["nats-server", "-a", "0.0.0.0", "-p", str(CLIENT_PORTS[0]), "-l", log,
                                                "--tls", "--tlscert", pki["server.crt"], "--tlskey", pki["server.key"],
                                                "--tlsverify", "--tlscacert", pki["ca.crt"]], stdin=False)
        tls = ["--federation-tls-ca", pki["ca.crt"], "--federation-tls-cert", pki["relay.crt"],
               "--federation-tls-key", pki["relay.key"]]
        start = time.monotonic()
        relays = {s: start_relay(s, d, False, servers=f"tls://{SITES[s][0]}.1:{CLIENT_PORTS[0]}", extra=tls)
                  for s in SITES}
        time.sleep(0.5)  # both subscriptions reach the server
        a0 = start_member("a", "a0", relays["a"], d, "unicast")
        a1 = start_member("a", "a1", relays["a"], d, "unicast")
        wait_epoch([a0, a1], 2)
        b0 = start_member("b", "b0", relays["b"], d, "unicast")
        members = [a0, a1, b0]
        epoch = wait_epoch(members, 3)
        lines = {c.name: [f"{c.name} over TLS {i}" for i in range(5)] for c in members}
        took = exchange(members, lines, "lines over TLS")
        print(f"  two sites through nats-server --tls --tlsverify: one group of 3 (epoch {epoch}), 3 x 5 lines each "
              f"once at the others in {took * 1000:.0f} ms ({time.monotonic() - start:.1f} s from the relays' start)", flush=True)

        # No client certificate; a CA that did not sign the server's (the relay's own certificate as one).
        refused = []
        for name, opts in (("nocert", ["--federation-tls-ca", pki["ca.crt"]]),
                           ("otherca", ["--federation-tls-ca", pki["relay.crt"], "--federation-tls-cert",
                                        pki["relay.crt"], "--federation-tls-key", pki["relay.key"]])):
            r = start_relay("b", d, False, connected=False, name=name, servers=f"nats://10.99.2.1:{CLIENT_PORTS[0]}",
                            lan=("224.1.2.3", "5017", "224.1.2.4:5018"), extra=opts)
            time.sleep(3.0)
            _, fed, events = stats_now(r)
            check(not any(e.get("state") == "connected" for e in events), f"relay-{name} connected: {events}")
            check(fed.get("federation_connect_retries", 0) >= 1, f"relay-{name}: {fed}")
            refused.append(f"{name} {fed.get('federation_connect_retries')} retries")
            harness.stop_relay(r)
        print(f"  refused, never connected in 3 s: {', '.join(refused)}", flush=True)
        for c in members:
            c.close_stdin()
            check(c.wait_exit() == 0, f"{c.name}: exit status")
        for r in relays.values():
            harness.stop_relay(r)
        server.kill()
        cleanup()


def main():
    if shutil.which("nats-server") is None:
        print("test_federation.py: nats-server not installed (scripts/setup.sh); skipped")
        return 77
    return harness.main("e2e_federation", [test_two_sites_one_group, test_two_sites_through_jetstream,
                                                  test_two_sites_over_tls], cleanup,
                        sys.modules[__name__])


if __name__ == "__main__":
    sys.exit(main())
