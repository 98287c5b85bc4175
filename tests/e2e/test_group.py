# SPDX-License-Identifier: BSL-1.0
"""End-to-end test of tlvcast-relay and tlvcast-chat in the group profile over real UDP multicast
(the hops) and unicast or multicast delivery, inside a private network namespace (run it through
tests/netns.sh): five members on a roster join one group, a line one sends reaches the four others
with its sender's fingerprint and never shows in the relay's output, an identity on no roster is
never admitted, a member that leaves is removed by a new epoch; the same with every member on
--delivery multicast, and with a mixed group, where iptables counters in the namespace show the relay
sending one datagram per message to the data group for all multicast members;
admin admission with certificates made by --certify (members on both backends, messages of many
fragments); the options' usage errors and file errors. Fingerprints, public keys and certificates are
checked against an independent computation (python3-cryptography) from the identity files."""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (FAST, RELAY, Failure, check, is_event, no_invalid_lines, start_chat,  # noqa: E402
                     start_relay, stop_relay, track)
from harness import cleanup as harness_cleanup  # noqa: E402

from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey  # noqa: E402

args = None
GROUP = "group"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
RELAY_PORT = 5007               # the programs' default --port
DATA_GROUP = ("224.1.1.2", 5008)  # the programs' default --data-group for an IPv4 --group
BIG = 300  # bytes (IP length): the counted datagrams; keep-alives and acknowledgements are smaller
ADMISSION_LABEL = b"tlvcast group v1 admission"


def cleanup():
    harness_cleanup()
    if counting:
        subprocess.run(["iptables", "-F", "OUTPUT"], capture_output=True, timeout=10)
        counting.clear()


# Packet counts of the relay's large datagrams, by iptables rules in the namespace's OUTPUT chain
# (nothing leaves the namespace: these only count): to the data group, and by unicast.
counting = []
COUNT_RULES = {
    "data_group": ["-d", DATA_GROUP[0], "--dport", str(DATA_GROUP[1])],
    "unicast": ["!", "-d", "224.0.0.0/4"],
}


def start_counting():
    """Installs the counting rules; False when iptables is not usable here (unprivileged namespace)."""
    for name, match in COUNT_RULES.items():
        r = subprocess.run(["iptables", "-A", "OUTPUT", "-p", "udp", "--sport", str(RELAY_PORT), *match,
                            "-m", "length", "--length", f"{BIG}:65535", "-m", "comment", "--comment", name,
                            "-j", "ACCEPT"], capture_output=True, timeout=10)
        if r.returncode != 0:
            print(f"test_group.py: no iptables counters ({r.stderr.decode().strip()}); packet counts skipped",
                  flush=True)
            subprocess.run(["iptables", "-F", "OUTPUT"], capture_output=True, timeout=10)
            return False
        counting.append(name)
    return True


def read_counts():
    """{rule name: packets} of the counting rules."""
    r = subprocess.run(["iptables", "-L", "OUTPUT", "-v", "-x", "-n"], capture_output=True, timeout=10, check=True)
    counts = {}
    for line in r.stdout.decode().splitlines():
        m = re.search(r"/\* (\w+) \*/", line)
        if m and m.group(1) in COUNT_RULES:
            counts[m.group(1)] = int(line.split()[0])
    check(set(counts) == set(COUNT_RULES), f"iptables counters: {r.stdout!r}")
    return counts


def public_key_of(path):
    """The raw Ed25519 public key of a PKCS#8 PEM identity file, computed independently."""
    with open(path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def print_identity(path):
    """tlvcast-chat --print-identity: (public key hex, fingerprint hex), checked independently."""
    r = subprocess.run([args.chat, "--profile", GROUP, "--identity", path, "--print-identity"],
                       capture_output=True, timeout=10)
    check(r.returncode == 0, f"--print-identity: exit {r.returncode}, stderr {r.stderr!r}")
    lines = dict(line.split(": ", 1) for line in r.stdout.decode().splitlines())
    pub, fp = lines.get("public key"), lines.get("fingerprint")
    raw = public_key_of(path)
    check(pub == raw.hex(), f"--print-identity public key {pub}, the file says {raw.hex()}")
    check(fp == hashlib.sha256(raw).hexdigest(), f"--print-identity fingerprint {fp}")
    return pub, fp


def usage_error(prog, argv, *needles):
    r = subprocess.run([prog, *argv], capture_output=True, timeout=10)
    name = os.path.basename(prog)
    check(r.returncode == 2, f"{name} {argv}: exit {r.returncode} (stderr {r.stderr!r})")
    check(r.stdout == b"", f"{name} {argv}: printed {r.stdout!r}")
    for n in needles:
        check(n in r.stderr, f"{name} {argv}: stderr {r.stderr!r} lacks {n!r}")


def test_usage_and_files():
    mc = ["--profile", GROUP, "--delivery", "multicast", "--roster", "r"]
    for prog in (args.relay, args.chat):
        usage_error(prog, ["--profile", GROUP, "--delivery", "broadcast"], b"--delivery")
        usage_error(prog, ["--delivery", "unicast"], b"group profile")
        usage_error(prog, ["--data-group", "239.1.2.3:6000"], b"group profile")
        usage_error(prog, ["--profile", GROUP, "--key", "k.pem"], b"--identity")
        # The data group: ADDR:PORT or [IPV6]:PORT, multicast, of --group's family, not on --port.
        group_opts = mc if prog == args.chat else ["--profile", GROUP]
        for bad, needle in (("239.1.2.3", b"ADDR:PORT"), ("ff15::2:6000", b"brackets"), ("[ff15::2]6000", b"]:PORT"),
                            ("10.1.2.3:6000", b"not a multicast address"), ("nowhere:6000", b"IP address"),
                            ("239.1.2.3:0", b"port in 1..65535"), ("239.1.2.3:70000", b"port in 1..65535"),
                            ("[ff15::2]:6000", b"one family"), ("224.1.1.1:5007", b"control group"),
                            ("239.1.2.3:5007", b"port of its own")):
            usage_error(prog, [*group_opts, "--data-group", bad], bad.encode(), needle)
        usage_error(prog, [*group_opts, "--group", "ff15::1", "--data-group", "239.1.2.3:6000"], b"one family")
        usage_error(prog, [*group_opts, "--group", "224.1.1.2", "--port", "5008"], b"default data group",
                    b"give --data-group")
        # The conventions: -h, --version, exit codes in --help, "see --help" on a usage error.
        name = os.path.basename(prog)
        v = subprocess.run([prog, "--version"], capture_output=True, timeout=10)
        check(v.returncode == 0 and re.fullmatch(rb"%s \d+\.\d+\.\d+\n" % name.encode(), v.stdout),
              f"{name} --version: {v}")
        h = subprocess.run([prog, "-h"], capture_output=True, timeout=10)
        check(h.returncode == 0 and re.search(rb"Exit status:\n  0  .*\n  1  .*\n  2  a usage error\n", h.stdout),
              f"{name} -h: exit {h.returncode}, no exit statuses 0, 1, 2")
        usage_error(prog, ["--no-such-option"], b"see --help")
        r = subprocess.run([prog, "--help"], capture_output=True, timeout=10)
        for opt in (b"group", b"--data-group", b"224.1.1.2:5008", b"[ff15::2]:5008", b"multicast"):
            check(opt in r.stdout, f"{os.path.basename(prog)} --help lacks {opt}")
        check(b"not implemented" not in r.stdout, f"{os.path.basename(prog)} --help: still 'not implemented'")
    # Each member chooses its delivery; the relay serves both kinds.
    usage_error(args.relay, ["--profile", GROUP, "--delivery", "multicast"], b"each member's choice")
    usage_error(args.chat, ["--profile", GROUP, "--roster", "r", "--delivery", "unicast", "--data-group",
                            "239.1.2.3:6000"], b"--delivery unicast")
    usage_error(args.chat, ["--profile", GROUP, "--delivery", "multicast", "--identity", "x", "--print-identity"],
                b"--print-identity")
    check(b"--delivery" in subprocess.run([args.chat, "--help"], capture_output=True, timeout=10).stdout,
          "chat --help lacks --delivery")
    usage_error(args.relay, ["--profile", GROUP, "--admission", "roster"], b"members")
    usage_error(args.relay, ["--profile", GROUP, "--admission-cert", "c"], b"members")
    usage_error(args.relay, ["--profile", GROUP, "--roster", "r", "--admin-key", "k"], b"one admission policy")
    usage_error(args.relay, ["--roster", "r"], b"group profile")
    usage_error(args.chat, ["--profile", GROUP], b"--roster")
    usage_error(args.chat, ["--profile", GROUP, "--admission", "admin", "--admission-cert", "c"], b"--admin-key")
    usage_error(args.chat, ["--profile", GROUP, "--admission", "admin", "--admin-key", "k"], b"--admission-cert")
    usage_error(args.chat, ["--profile", GROUP, "--admission", "any"], b"roster, admin or open")
    usage_error(args.chat, ["--profile", GROUP, "--roster", "r", "--admin-key", "k"], b"--admission admin")
    usage_error(args.chat, ["--roster", "r"], b"group profile")
    usage_error(args.chat, ["--profile", GROUP, "--print-identity"], b"--identity")
    usage_error(args.chat, ["--profile", GROUP, "--identity", "x", "--certify", "abc"], b"64 hex digits")
    usage_error(args.chat, ["--profile", "secure", "--identity", "x", "--certify", "a" * 64], b"--profile group")
    r = subprocess.run([args.chat, "--help"], capture_output=True, timeout=10)
    for opt in (b"--admission", b"--roster", b"--admin-key", b"--admission-cert", b"--certify",
                b"--print-identity", b"member_added", b"member_removed", b'"verified"', b"gap", b"epoch"):
        check(opt in r.stdout, f"chat --help lacks {opt}")

    with tempfile.TemporaryDirectory() as d:
        admin, member = os.path.join(d, "admin.id"), os.path.join(d, "member.id")
        admin_pub, _ = print_identity(admin)
        member_pub, member_fp = print_identity(member)
        check(os.stat(member).st_mode & 0o777 == 0o600, "identity file mode")
        # --certify: the admin's Ed25519 signature of the label and the member's key.
        r = subprocess.run([args.chat, "--profile", GROUP, "--identity", admin, "--certify", member_pub],
                           capture_output=True, timeout=10)
        check(r.returncode == 0, f"--certify: exit {r.returncode}, {r.stderr!r}")
        cert = r.stdout.decode().strip()
        check(re.match(r"^[0-9a-f]{128}$", cert), f"--certify printed {r.stdout!r}")
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(admin_pub)).verify(
                bytes.fromhex(cert), ADMISSION_LABEL + bytes.fromhex(member_pub))
        except InvalidSignature:
            raise Failure("the certificate does not verify under the admin's key")
        r = subprocess.run([args.chat, "--json", "--profile", GROUP, "--identity", admin, "--certify", member_pub],
                           capture_output=True, timeout=10)
        check(f'"fingerprint":"{member_fp}"'.encode() in r.stdout and cert.encode() in r.stdout,
              f"--certify --json: {r.stdout!r}")
        harness.check_json_output([args.chat], r.stdout)

        # Files that do not parse: exit 1 before anything is sent, naming the file and the line.
        roster = os.path.join(d, "roster")
        with open(roster, "w") as f:
            f.write(f"# the members\n{member_fp}  # member\nnot-a-fingerprint\n")
        r = subprocess.run([args.chat, "--profile", GROUP, "--roster", roster], capture_output=True, timeout=10)
        check(r.returncode == 1 and roster.encode() in r.stderr and b"line 3" in r.stderr,
              f"bad roster: exit {r.returncode}, {r.stderr!r}")
        key, cert_file = os.path.join(d, "admin.pub"), os.path.join(d, "member.cert")
        with open(key, "w") as f:
            f.write(f"# the admin\n{admin_pub[:-1]}\n")
        with open(cert_file, "w") as f:
            f.write(cert + "\n")
        admin_opts = ["--profile", GROUP, "--admission", "admin", "--admin-key", key, "--admission-cert", cert_file]
        r = subprocess.run([args.chat, *admin_opts, "--identity", member], capture_output=True, timeout=10)
        check(r.returncode == 1 and key.encode() in r.stderr and b"line 2" in r.stderr,
              f"bad admin key: exit {r.returncode}, {r.stderr!r}")
        # A certificate for another identity is refused at start.
        with open(key, "w") as f:
            f.write(admin_pub + "\n")
        r = subprocess.run([args.chat, *admin_opts, "--identity", admin], capture_output=True, timeout=10)
        check(r.returncode == 1 and cert_file.encode() in r.stderr and b"not the admin key's signature" in r.stderr,
              f"certificate of another identity: exit {r.returncode}, {r.stderr!r}")


def has_backend(name):
    return subprocess.run([args.chat, "--backend", name, "--help"], capture_output=True, timeout=10).returncode == 0


def start_members(relay, names, identities, *member_opts):
    members = []
    for name in names:
        c = track(start_chat(args.chat, name, *FAST, "--relay-fingerprint", relay.fingerprint,
                             "--identity", identities[name], *member_opts, profile=GROUP))
        check(c.fingerprint and HEX64.match(c.fingerprint), f"{name}: self {c.fingerprint!r}")
        members.append(c)
    return members


def five_members(multicast_members=()):
    """Five roster members m0..m4 (those in multicast_members on --delivery multicast, the others on
    unicast): join, m0's line reaches the four others, an outsider is never admitted, m4 leaves.
    Returns the relay's stats and the iptables counts of the relay's large datagrams while m0's line
    went out (None without iptables)."""
    mode = "mixed" if 0 < len(multicast_members) < 5 else "multicast" if multicast_members else "unicast"
    secret = f"the relay must never read this line: 5 members, roster, {mode} " + "." * 400
    with tempfile.TemporaryDirectory() as d:
        names = ["m0", "m1", "m2", "m3", "m4"]
        identities = {n: os.path.join(d, n + ".id") for n in names}
        fps = {n: print_identity(identities[n])[1] for n in names}
        roster = os.path.join(d, "roster")
        with open(roster, "w") as f:
            f.write("# the demo group\n" + "".join(f"{fps[n]}  # {n}\n" for n in names))
        relay = track(start_relay(args.relay, *RELAY, "--identity", os.path.join(d, "relay.id"), profile=GROUP))
        check(relay.wait_for(is_event("ready"), "ready").get("profile") == GROUP, "relay profile")
        check(relay.wait_for(is_event("ready"), "ready").get("data_group") == "%s:%d" % DATA_GROUP,
              "the relay's data group")
        members = []
        for i, n in enumerate(names):
            delivery = "multicast" if i in multicast_members else "unicast"
            # Multicast is the default where the data group can be joined, as it can here.
            chosen = [] if delivery == "multicast" else ["--delivery", "unicast"]
            members += start_members(relay, [n], identities, "--roster", roster, *chosen)
            reg = members[-1].wait_for(is_event("registered"), "registered")
            check(reg.get("delivery") == delivery, f"{n}: registered {reg}")
            check(reg.get("data_group") == ("%s:%d" % DATA_GROUP if delivery == "multicast" else None),
                  f"{n}: registered {reg}")
        for c in members:
            check(c.fingerprint == fps[c.name], f"{c.name}: self {c.fingerprint}, --print-identity {fps[c.name]}")
        # Every member sees the group of five, and each other member added, on its roster.
        full = {}
        for c in members:
            full[c.name] = c.wait_for(lambda e: e.get("event") == "epoch" and e.get("members") == 5,
                                      "epoch with 5 members")["n"]
            added = {e["fingerprint"]: e["verified"] for e in c.select(is_event("member_added"))}
            check(added == {fps[n]: True for n in names if n != c.name}, f"{c.name}: member_added {added}")
        check(len(set(full.values())) == 1, f"the five-member epoch differs: {full}")

        sender, others = members[0], members[1:]
        counts = None
        if start_counting():
            time.sleep(0.3)  # let the last commit's repeats settle
            before = read_counts()
        sender.send_line(secret)
        for c in others:
            ev = c.wait_for(is_event("message", text=secret), "the line")
            check(ev.get("sender") == sender.fingerprint, f"{c.name}: sender {ev}")
            check("peer" not in ev, f"{c.name}: a group message has no address: {ev}")
        if counting:
            time.sleep(0.2)  # the relay's last copies are counted when they leave, not when they arrive
            after = read_counts()
            counts = {k: after[k] - before[k] for k in after}
            cleanup_counting()
        check(not sender.select(is_event("message", text=secret)), "the sender got its own line back")

        # An identity on no one's roster is never admitted: its line waits for a group that never
        # takes it, and is reported unsent after --register-timeout x --register-attempts (1 s).
        outsider_id = os.path.join(d, "outsider.id")
        print_identity(outsider_id)
        outsider = track(start_chat(args.chat, "outsider", *FAST, "--register-timeout", "0.2",
                                    "--register-attempts", "5", "--relay-fingerprint", relay.fingerprint,
                                    "--identity", outsider_id, "--roster", roster, profile=GROUP))
        outsider.send_line("the outsider's line")
        outsider.close_stdin()
        failed = outsider.wait_for(is_event("send_failed"), "send_failed")
        check("not in the group" in failed["error"], f"outsider: {failed}")
        check(outsider.wait_exit() == 0, "the outsider's exit status")
        check(not outsider.select(is_event("epoch")), f"the outsider got into the group: {outsider.summary()}")
        for c in members:
            check(not c.select(is_event("member_added", fingerprint=outsider.fingerprint)), f"{c.name} added it")
            check(not c.select(is_event("message", text="the outsider's line")), f"{c.name} got its line")

        # One member leaves (end of input): the others see it removed and a new epoch of four.
        leaver = members[4]
        leaver.close_stdin()
        check(leaver.wait_exit() == 0, "the leaving member's exit status")
        for c in members[:4]:
            c.wait_for(is_event("member_removed", fingerprint=leaver.fingerprint), "member_removed")
            c.wait_for(lambda e: e.get("event") == "epoch" and e.get("members") == 4 and e["n"] > full[c.name],
                       "a new epoch of 4 members")
        sender.send_line("after the leave")
        for c in members[1:4]:
            c.wait_for(is_event("message", text="after the leave", sender=sender.fingerprint), "line after the leave")
        for c in members[:4]:
            check(not c.select(is_event("send_failed")), f"{c.name}: {c.select(is_event('send_failed'))}")
            check(not c.select(is_event("error")), f"{c.name}: {c.select(is_event('error'))}")
            c.close_stdin()
            check(c.wait_exit() == 0, f"{c.name}: exit status")
        stats = stop_relay(relay)
        check(stats["registrations"] == 6 and stats["messages_relayed"] > 0, f"relay stats: {stats}")
        relay_output = b"".join(relay.raw) + relay.stderr
        check(secret.encode() not in relay_output and b"after the leave" not in relay_output and
              b"the relay must never" not in relay_output, "the relay's output holds a member's line")
        no_invalid_lines(relay, outsider, *members)
        print(f"  {mode} delivery (multicast members {sorted(multicast_members)}): relay datagrams_out "
              f"{stats['datagrams_out']}, bytes_out {stats['bytes_out']}, undecryptable {stats['undecryptable']}, refused {stats['refused']}; "
              f"m0's line left the relay as {counts}", flush=True)
        return stats, counts


def cleanup_counting():
    subprocess.run(["iptables", "-F", "OUTPUT"], capture_output=True, timeout=10)
    counting.clear()


def check_counts(counts, multicast_members):
    """m0's line (one datagram) left the relay once per unicast recipient among m1..m4, once more
    to m0 itself when it is a unicast member (with repair, the default, unicast members share one
    stream and the sender gets its echo, as from the data group), and once to the data group when
    any of m1..m4 is a multicast member."""
    if counts is None:
        return
    others = range(1, 5)
    unicast = sum(1 for i in others if i not in multicast_members) + int(0 not in multicast_members)
    grouped = int(any(i in multicast_members for i in others))
    check(counts == {"data_group": grouped, "unicast": unicast},
          f"the relay sent m0's line as {counts}, expected {grouped} to the data group and {unicast} by unicast")


results = {}


def test_five_members_roster():
    results["unicast"] = five_members()
    check_counts(results["unicast"][1], ())


def test_five_members_multicast():
    everyone = (0, 1, 2, 3, 4)
    results["multicast"] = five_members(everyone)
    check_counts(results["multicast"][1], everyone)
    if "unicast" in results:
        # Over the whole run (joins, commits, welcome pages, messages, the leave): the relay sent fewer
        # bytes when the group was on multicast delivery (about 40% less here; the count of datagrams
        # differs less, keep-alive answers being most of them, and varies with the run's length).
        uni, multi = results["unicast"][0]["bytes_out"], results["multicast"][0]["bytes_out"]
        check(multi < uni, f"relay bytes_out: multicast {multi}, unicast {uni}")


def test_default_delivery_falls_back_to_unicast():
    """Without --delivery a member takes multicast only if it can join the data group. In a namespace
    of their own, where a route exists for the control group 224.1.1.1 only, a member says it cannot
    join 224.1.1.2, registers by unicast and the relay serves it."""
    with tempfile.TemporaryDirectory() as d:
        script = (
            "ip link set lo up && ip link set lo multicast on && ip route add 224.1.1.1/32 dev lo || exit 3\n"
            f'"{args.relay}" --profile group --identity {d}/relay.id >/dev/null 2>&1 &\n'
            "sleep 0.5\n"
            f'"{args.chat}" --profile group --admission open --identity {d}/m.id --accept-any-relay --json '
            "--register-timeout 2 --register-attempts 2 </dev/null\n"
            "rc=$?; kill $! 2>/dev/null; wait; exit $rc\n")
        r = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, timeout=30)
        check(b"multicast delivery unavailable" in r.stderr and b"receiving by unicast" in r.stderr,
              f"no fallback said (exit {r.returncode}): {r.stderr!r}")
        reg = next((json.loads(line) for line in r.stdout.splitlines() if b'"registered"' in line), None)
        check(reg is not None and reg.get("delivery") == "unicast" and "data_group" not in reg,
              f"registered: {r.stdout!r}")


def test_burst_leaves_in_batches():
    """300 lines written at once: the other member gets each, in order, and the relay relays far fewer
    blobs than lines (the chat packs what it has read into batches, one signature per datagram)."""
    with tempfile.TemporaryDirectory() as d:
        relay = track(start_relay(args.relay, *RELAY, "--identity", os.path.join(d, "relay.id"), profile=GROUP))
        relay.wait_for(is_event("ready"), "ready")
        identities = {n: os.path.join(d, n + ".id") for n in ("a", "b")}
        a, b = start_members(relay, ["a", "b"], identities, "--admission", "open")
        for c in (a, b):
            c.wait_for(lambda e: e.get("event") == "epoch" and e.get("members") == 2, "epoch with 2 members")
        lines = [f"burst line {i:03d} " + "x" * 24 for i in range(300)]
        a.proc.stdin.write(("\n".join(lines) + "\n").encode())
        a.proc.stdin.flush()
        got = b.wait_count(is_event("message", sender=a.fingerprint), len(lines), "the burst's lines")
        check([e["text"] for e in got] == lines, "the burst arrived out of order or changed")
        for c in (a, b):
            check(not c.select(is_event("send_failed")), f"{c.name}: {c.select(is_event('send_failed'))}")
            c.close_stdin()
            check(c.wait_exit() == 0, f"{c.name}: exit status")
        stats = stop_relay(relay)
        check(0 < stats["messages_relayed"] <= len(lines) // 4, f"relay stats: {stats}")
        print(f"  300 lines in a burst: the relay relayed {stats['messages_relayed']} blobs", flush=True)


def test_member_restarts_with_its_identity():
    """A member killed without a word comes back with the same identity file at once: its new key
    package (seq above the last run's: the clock, and IDENTITY.seq) replaces the old one, and the old
    session timing out later does not remove it."""
    with tempfile.TemporaryDirectory() as d:
        relay = track(start_relay(args.relay, *RELAY, "--identity", os.path.join(d, "relay.id"),
                                  "--timeout", "2", profile=GROUP))
        relay.wait_for(is_event("ready"), "ready")
        identities = {n: os.path.join(d, n + ".id") for n in ("a", "b")}
        a, b = start_members(relay, ["a", "b"], identities, "--admission", "open")
        b.wait_for(lambda e: e.get("event") == "epoch" and e.get("members") == 2, "epoch with 2 members")
        a.kill()
        a2 = start_members(relay, ["a"], identities, "--admission", "open")[0]
        a2.wait_for(lambda e: e.get("event") == "epoch" and e.get("members") == 2, "the restarted member's epoch")
        time.sleep(3)  # the old session times out at the relay (--timeout 2)
        a2.send_line("back again")
        b.wait_for(is_event("message", text="back again", sender=a2.fingerprint), "the restarted member's line")
        check(not b.select(is_event("member_removed", fingerprint=a.fingerprint)),
              f"b saw the restarted member removed: {b.summary()}")
        for c in (a2, b):
            c.close_stdin()
            check(c.wait_exit() == 0, f"{c.name}: exit status")
        stop_relay(relay)


def test_relay_roster_refuses_an_outsiders_group():
    """tlvcast-relay --roster: an outsider that comes first cannot found the group (the relay will
    not order its commit); the roster's members then found it and are alone in it."""
    with tempfile.TemporaryDirectory() as d:
        names = ["a", "b", "x"]
        identities = {n: os.path.join(d, n + ".id") for n in names}
        fps = {n: print_identity(identities[n])[1] for n in names}
        roster = os.path.join(d, "roster")
        with open(roster, "w") as f:
            f.write(f"{fps['a']}\n{fps['b']}\n")
        relay = track(start_relay(args.relay, *RELAY, "--identity", os.path.join(d, "relay.id"), "--roster", roster,
                                  profile=GROUP))
        relay.wait_for(is_event("ready"), "ready")
        x = start_members(relay, ["x"], identities, "--admission", "open")[0]
        time.sleep(1.0)  # x tries to found: its commit is refused, again at each retry
        a, b = start_members(relay, ["a", "b"], identities, "--roster", roster)
        for c in (a, b):
            c.wait_for(lambda e: e.get("event") == "epoch" and e.get("members") == 2, "epoch with a and b")
        check(not x.select(is_event("epoch")), f"the outsider founded or joined a group: {x.summary()}")
        a.send_line("roster only")
        b.wait_for(is_event("message", text="roster only", sender=fps["a"]), "a's line at b")
        stats = stop_relay(relay)
        check(stats["refused"] >= 1, f"relay stats: {stats}")


def test_seq_file_is_not_trusted():
    """IDENTITY.seq and its temporary file may be written by others (a shared directory): a link left
    at IDENTITY.seq.tmp is never written through, a seq that leaves no room for updates below 2^32
    is ignored, and only a regular file is read."""
    with tempfile.TemporaryDirectory() as d:
        relay = track(start_relay(args.relay, *RELAY, "--identity", os.path.join(d, "relay.id"), profile=GROUP))
        relay.wait_for(is_event("ready"), "ready")
        identities = {"a": os.path.join(d, "a.id")}
        victim = os.path.join(d, "victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        os.symlink(victim, identities["a"] + ".seq.tmp")
        with open(identities["a"] + ".seq", "w") as f:
            f.write("4294967294\n")
        a = start_members(relay, ["a"], identities, "--admission", "open")[0]
        a.wait_for(lambda e: e.get("event") == "epoch" and e.get("members") == 1, "the founder's epoch")
        with open(victim) as f:
            check(f.read() == "precious\n", "the .seq.tmp link was written through")
        seq_file = identities["a"] + ".seq"
        check(not os.path.islink(seq_file) and not os.path.lexists(identities["a"] + ".seq.tmp"),
              "the .seq file is not a fresh regular file")
        with open(seq_file) as f:
            seq = int(f.read())
        check(seq < 2**32 - 2**24, f"the seq kept no room for updates: {seq}")
        # A FIFO in place of IDENTITY.seq is not read (opening it would block the start).
        identities["b"] = os.path.join(d, "b.id")
        os.mkfifo(identities["b"] + ".seq")
        b = start_members(relay, ["b"], identities, "--admission", "open")[0]
        b.wait_for(lambda e: e.get("event") == "epoch" and e.get("members") == 2, "b's epoch")
        for c in (a, b):
            c.close_stdin()
            check(c.wait_exit() == 0, f"{c.name}: exit status")
        stop_relay(relay)


def test_mixed_delivery():
    # m0 (the sender) and m2, m3 on multicast; m1 and m4 (the leaver) on unicast.
    multicast_members = (0, 2, 3)
    _, counts = five_members(multicast_members)
    check_counts(counts, multicast_members)


def test_admin_admission():
    with tempfile.TemporaryDirectory() as d:
        names = ["a0", "a1", "a2"]
        identities = {n: os.path.join(d, n + ".id") for n in names}
        admin = os.path.join(d, "admin.id")
        admin_pub, _ = print_identity(admin)
        key = os.path.join(d, "admin.pub")
        with open(key, "w") as f:
            f.write(f"# the admin's Ed25519 public key\n{admin_pub}\n")
        fps = {}
        for n in names:
            pub, fps[n] = print_identity(identities[n])
            r = subprocess.run([args.chat, "--profile", GROUP, "--identity", admin, "--certify", pub],
                               capture_output=True, timeout=10, check=True)
            with open(os.path.join(d, n + ".cert"), "w") as f:
                f.write(r.stdout.decode())
        relay = track(start_relay(args.relay, *RELAY, "--identity", os.path.join(d, "relay.id"), profile=GROUP))

        def member(n, *extra):
            return start_members(relay, [n], identities, "--admission", "admin", "--admin-key", key,
                                 "--admission-cert", os.path.join(d, n + ".cert"), *extra)[0]

        # Both backends in one group when the build has both (the same bytes on the wire).
        backends = [b for b in ("openssl", "cryptopp") if has_backend(b)]
        a0, a1 = member("a0", "--backend", backends[0]), member("a1", "--backend", backends[-1])
        for c in (a0, a1):
            c.wait_for(lambda e: e.get("event") == "epoch" and e.get("members") == 2, "epoch with 2 members")
        # Messages of one and of many fragments, both ways.
        for n in (1185, 48_450):
            a0.send_line("x" * n)
            a1.send_line("y" * n)
        for n in (1185, 48_450):
            a1.wait_for(is_event("message", text="x" * n, sender=a0.fingerprint), f"a0's {n} bytes")
            a0.wait_for(is_event("message", text="y" * n, sender=a1.fingerprint), f"a1's {n} bytes")
        # The third member's line and end of input come at once, as from a pipe: the line waits until
        # the member is in the group, leaves, and the member then lingers and leaves.
        a2 = member("a2")
        a2.send_line("certified hello")
        a2.close_stdin()
        for c in (a0, a1):
            c.wait_for(is_event("message", text="certified hello", sender=a2.fingerprint), "the line")
        check(a2.wait_exit() == 0, "a2: exit status")
        check(not a2.select(is_event("send_failed")), f"a2: {a2.select(is_event('send_failed'))}")
        for c in (a0, a1, a2):
            c.wait_for(lambda e: e.get("event") == "epoch" and e.get("members") == 3, "epoch with 3 members")
            added = {e["fingerprint"]: e["verified"] for e in c.select(is_event("member_added"))}
            # Admitted by certificate; "verified" means on this member's roster, which it has not.
            check(added == {fps[n]: False for n in names if n != c.name}, f"{c.name}: member_added {added}")
        for c in (a0, a1):
            c.wait_for(is_event("member_removed", fingerprint=a2.fingerprint), "a2 removed")
            c.close_stdin()
            check(c.wait_exit() == 0, f"{c.name}: exit status")
        stop_relay(relay)
        no_invalid_lines(relay, a0, a1, a2)


def main():
    tests = [test_usage_and_files, test_default_delivery_falls_back_to_unicast, test_five_members_roster,
             test_five_members_multicast, test_mixed_delivery, test_burst_leaves_in_batches,
             test_member_restarts_with_its_identity, test_seq_file_is_not_trusted,
             test_relay_roster_refuses_an_outsiders_group, test_admin_admission]
    return harness.main("e2e_group", tests, cleanup, sys.modules[__name__])


if __name__ == "__main__":
    sys.exit(main())
