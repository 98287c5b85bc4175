# SPDX-License-Identifier: BSL-1.0
"""The Wireshark dissector (tools/wireshark/tlvcast.lua) against tshark, inside a private network
namespace (run it through tests/netns.sh): its type table matches include/tlvcast/wire/types.hpp; the
test vectors of docs/PROTOCOL.md decode to their documented fields; hostile datagrams (truncated
headers, lengths beyond the datagram or outside a type's bounds, garbage in every type's value,
random bytes) give expert info "malformed", never a Lua error; and a capture on lo of the relay and
two chats of each profile (seed, secure, group with multicast delivery) shows every expected type."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import hostile  # noqa: E402
import pcap  # noqa: E402
from harness import FAST, RELAY, check, cleanup, is_event, start_chat, start_relay, stop_relay, track  # noqa: E402

args = None
LUA = os.path.join(ROOT, "tools", "wireshark", "tlvcast.lua")
TSHARK = "tshark"
# tshark's own complaint about running as root (the namespace makes us root): not the dissector's.
ROOT_WARNING = re.compile(r'^Running as user "root" and group "root"\. This could be dangerous\.$')
FIELDS = ["frame.number", "frame.time_epoch", "udp.dstport", "tlvcast.name", "tlvcast.length", "tlvcast.fragment.msg_id",
          "tlvcast.fragment.seq", "tlvcast.fragment.total", "tlvcast.ipv4", "tlvcast.port", "tlvcast.pem",
          "tlvcast.secure.version", "tlvcast.secure.session_id", "tlvcast.secure.seq", "tlvcast.group.epoch",
          "tlvcast.group.sender", "tlvcast.group.generation", "tlvcast.group.first", "tlvcast.group.total",
          "tlvcast.repair.stream", "tlvcast.repair.seq", "tlvcast.repair.first", "tlvcast.repair.count",
          "tlvcast.repair.next", "tlvcast.repair.block_count", "tlvcast.repair.index", "tlvcast.part.msg_id",
          "tlvcast.part.total", "tlvcast.part.offset", "tlvcast.part.bytes", "tlvcast.batch.count",
          "tlvcast.batch.length", "tlvcast.message", "_ws.expert.message"]


def tshark_read(path, *extra):
    """tshark -r PATH with the dissector; returns stdout. Fails on a Lua error or any other stderr."""
    r = subprocess.run([TSHARK, "-n", "-r", path, "-X", f"lua_script:{LUA}", *extra], capture_output=True, timeout=60)
    err = [line for line in r.stderr.decode(errors="replace").splitlines() if line and not ROOT_WARNING.match(line)]
    check(r.returncode == 0 and not err, f"tshark -r exit {r.returncode}, stderr {err[:10]}")
    out = r.stdout.decode(errors="replace")
    check("Lua Error" not in out and "lua_script" not in out, f"tshark printed a Lua error: "
          f"{out[max(0, out.find('Lua Error') - 500):][:1500]}")
    return out


def frames(path):
    """{frame number: {field: [values]}} from tshark -T json -e (every occurrence of each field; JSON, as
    strings such as a PEM key may hold tabs and newlines)."""
    out = tshark_read(path, "-T", "json", *[a for f in FIELDS for a in ("-e", f)])
    rows = {}
    for packet in json.loads(out or "[]"):
        layers = packet["_source"]["layers"]
        rows[int(layers["frame.number"][0])] = {f: layers.get(f, []) for f in FIELDS}
    return rows


def test_type_table():
    """The Lua table names every type of the C++ registry with the same number, and nothing else."""
    with open(os.path.join(ROOT, "include", "tlvcast", "wire", "types.hpp")) as f:
        enum = re.search(r"enum class tlv_type : std::uint16_t \{(.*?)\};", f.read(), re.S).group(1)
    cpp = {int(n): name.upper() for name, n in re.findall(r"^\s*(\w+) = (\d+),", enum, re.M)}
    with open(LUA) as f:
        lua = {int(n): name for n, name in re.findall(r'\[(\d+)\] = \{"(\w+)", \d+, \d+\}', f.read())}
    check(len(cpp) >= 30 and cpp == lua, f"types.hpp {cpp} against tlvcast.lua {lua}")


def test_vectors_and_hostile_datagrams():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "crafted.pcap")
        good, expect = hostile.documented(os.path.join(ROOT, "docs", "PROTOCOL.md"))
        bad, malformed = hostile.datagrams()
        limited = hostile.beyond_limits()
        pcap.write(path, good + bad + [d for d, _ in limited])
        start = time.monotonic()
        rows = frames(path)
        count = len(good) + len(bad) + len(limited)
        check(len(rows) == count, f"{len(rows)} frames for {count} datagrams")
        for i, fields in enumerate(expect, 1):
            for field, want in fields.items():  # leading values; [] for none at all
                got = rows[i][field]
                check(got[:len(want)] == want if want else not got, f"vector frame {i}: {field} {got}, expected {want}")
            check(not rows[i]["_ws.expert.message"], f"vector frame {i}: {rows[i]['_ws.expert.message']}")
        for i, what in malformed.items():
            messages = rows[len(good) + i + 1]["_ws.expert.message"]
            check(any(m.startswith("malformed") for m in messages), f"hostile datagram {i} ({what}): {messages}")
        for i in range(len(bad)):
            if not bad[i]:
                continue  # an empty datagram: UDP hands nothing to a dissector
            check(rows[len(good) + i + 1]["tlvcast.name"] or rows[len(good) + i + 1]["_ws.expert.message"],
                  f"hostile datagram {i} not dissected: {bad[i].hex()}")
        for i, (_, what) in enumerate(limited, len(good) + len(bad) + 1):
            messages = rows[i]["_ws.expert.message"]
            check(any(m.startswith("beyond the default limit") for m in messages)
                  and not any(m.startswith("malformed") for m in messages), f"datagram {what}: {messages}")
        tshark_read(path, "-V")  # the whole tree too: every field formatted, still no Lua error
        # The ports are preferences: moved elsewhere, nothing on 5007 is tlvcast any more.
        moved = tshark_read(path, "-o", "tlvcast.control_port:6000", "-o", "tlvcast.data_port:6001", "-Y", "tlvcast")
        check(moved.strip() == "", f"with the ports moved, still dissected: {moved[:300]}")
        print(f"  {len(good)} documented, {len(bad)} hostile and {len(limited)} beyond-limit datagrams in "
              f"{time.monotonic() - start:.1f} s", flush=True)


class Capture:
    """tshark -i lo -w FILE, bounded in time; stopped with SIGINT once the exchange is done."""

    def __init__(self, path, seconds=60):
        self.proc = subprocess.Popen([TSHARK, "-n", "-i", "lo", "-w", path, "-a", f"duration:{seconds}", "-f", "udp"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        track(self)
        lines = []
        deadline = time.monotonic() + harness.WAIT
        while time.monotonic() < deadline:  # dumpcap says so when the interface is open
            line = self.proc.stderr.readline().decode(errors="replace")
            lines.append(line)
            if "Capturing on" in line or not line:
                break
        check(any("Capturing on" in line for line in lines), f"tshark -i lo did not start: {lines}")
        time.sleep(1)  # dumpcap says so a little before its first packet: the exchanges start after

    def stop(self):
        time.sleep(0.3)  # the last datagrams reach the capture
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(harness.WAIT)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def seed_exchange(d):
    relay = track(start_relay(args.relay, *RELAY, profile="seed"))
    a = track(start_chat(args.chat, "a", *FAST, profile="seed"))
    b = track(start_chat(args.chat, "b", *FAST, profile="seed"))
    a.wait_for(is_event("connected", peer=b.local), "b connected")
    line = "over the seed profile, two RSA blocks, three fragments " + "." * 200
    a.send_line(line)
    b.wait_for(is_event("message", text=line), "a's line")
    time.sleep(0.6)  # a KEEPALIVE or two (FAST: every 0.5 s)
    b.close_stdin()
    check(b.wait_exit() == 0, "b's exit status")
    a.wait_for(is_event("disconnected", peer=b.local), "b disconnected")
    a.close_stdin()
    check(a.wait_exit() == 0, "a's exit status")
    stop_relay(relay)


def secure_exchange(d):
    relay = track(start_relay(args.relay, *RELAY, "--identity", os.path.join(d, "secure-relay.id"), profile="secure"))
    chats = [track(start_chat(args.chat, n, *FAST, "--relay-fingerprint", relay.fingerprint, profile="secure"))
             for n in ("a", "b")]
    chats[0].send_line("over the secure profile")
    chats[1].wait_for(is_event("message", text="over the secure profile"), "a's line")
    for c in chats:
        c.close_stdin()
        check(c.wait_exit() == 0, f"{c.name}'s exit status")
    stop_relay(relay)


def group_exchange(d):
    """Two roster members on multicast delivery: the relay forwards commits, welcome pages,
    messages and a large message's parts in clear on the data group (port 5008), where the
    dissector reads their headers (a part's blob in FRAGMENTs, put together)."""
    ids = {n: os.path.join(d, n + ".id") for n in ("m0", "m1")}
    fps = {}
    for n, path in ids.items():
        r = subprocess.run([args.chat, "--profile", "group", "--identity", path, "--print-identity"],
                           capture_output=True, timeout=10, check=True)
        fps[n] = dict(line.split(": ", 1) for line in r.stdout.decode().splitlines())["fingerprint"]
    roster = os.path.join(d, "roster")
    with open(roster, "w") as f:
        f.write("".join(fp + "\n" for fp in fps.values()))
    relay = track(start_relay(args.relay, *RELAY, "--identity", os.path.join(d, "group-relay.id"), profile="group"))
    members = [track(start_chat(args.chat, n, *FAST, "--relay-fingerprint", relay.fingerprint, "--identity", ids[n],
                                "--roster", roster, "--delivery", "multicast", profile="group")) for n in ids]
    for c in members:
        c.wait_for(lambda e: e.get("event") == "epoch" and e.get("members") == 2, "an epoch of 2 members")
    m0, m1 = members
    m0.send_line("one line alone")
    m1.wait_for(is_event("message", text="one line alone"), "m0's line")
    # A line over one message's limit leaves as a large message (GROUP_PARTs on the data group); the
    # ten lines written with it wait in the chat's outbox while its parts go, and then leave together
    # in a GROUP_BATCH (one signature). Written separately, they raced the chat's sending: on an idle
    # machine each left alone, and no GROUP_BATCH was seen.
    large = "".join(chr(0x41 + i % 26) for i in range(70000))
    m0.proc.stdin.write(large.encode() + b"\n" + b"".join(b"line %d\n" % i for i in range(10)))
    m0.proc.stdin.flush()
    m1.wait_for(is_event("message", text=large), "m0's large line")
    m1.wait_for(is_event("message", text="line 9"), "m0's tenth line")
    for c in members:
        c.close_stdin()
        check(c.wait_exit() == 0, f"{c.name}'s exit status")
    stop_relay(relay)


# What each profile's exchange must show: type names, and fields that must carry a value somewhere.
EXPECTED = {
    "seed": (["REGISTER_PUBLIC_KEY", "REQUEST_SERVER_KEY", "SERVER_PUBLIC_KEY", "FRAGMENT", "ENCRYPTED_BLOCK",
              "SENDER_INFO", "RELAYED_MESSAGE", "CLIENT_CONNECTED", "CLIENT_DISCONNECTED", "KEEPALIVE"],
             ["tlvcast.fragment.msg_id", "tlvcast.fragment.total", "tlvcast.ipv4", "tlvcast.port", "tlvcast.pem"]),
    "secure": (["SECURE_HELLO", "SECURE_COOKIE", "SECURE_SERVER_HELLO", "SECURE_CLIENT_AUTH", "SECURE_RECORD"],
               ["tlvcast.secure.version", "tlvcast.secure.session_id", "tlvcast.secure.seq"]),
    # The group's multicast stream: bare REPAIR_DATA around its blobs (--reliability nack), and tails.
    "group": (["SECURE_HELLO", "SECURE_RECORD", "GROUP_COMMIT", "GROUP_WELCOME", "GROUP_MESSAGE", "GROUP_BATCH",
               "GROUP_PART", "REPAIR_DATA", "REPAIR_TAIL"],
              ["tlvcast.group.epoch", "tlvcast.group.generation", "tlvcast.group.sender", "tlvcast.group.first",
               "tlvcast.repair.stream", "tlvcast.repair.seq"]),
}


def test_live_capture():
    """The three exchanges captured on lo, one after the other; then the dissector reads the capture
    and each profile's frames (by time) must show that profile's types and fields."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "exchange.pcapng")
        capture = Capture(path)
        windows = {}
        for profile, exchange in (("seed", seed_exchange), ("secure", secure_exchange), ("group", group_exchange)):
            start = time.time()
            exchange(d)
            windows[profile] = (start, time.time())
            print(f"  {profile}: exchange in {windows[profile][1] - start:.1f} s", flush=True)
        capture.stop()
        start = time.monotonic()
        rows = frames(path)
        # On the wire as the programs send it nothing is malformed or unknown, and all is dissected.
        experts = [(n, r["_ws.expert.message"]) for n, r in rows.items() if r["_ws.expert.message"]]
        check(not experts, f"expert info on the programs' own datagrams: {experts[:5]}")
        undissected = [n for n, r in rows.items() if not r["tlvcast.name"]]
        check(not undissected, f"frames {undissected[:10]} not dissected")
        for profile, (begin, end) in windows.items():
            mine = [r for r in rows.values() if begin <= float(r["frame.time_epoch"][0]) <= end]
            names = {n for r in mine for n in r["tlvcast.name"]}
            want_names, want_fields = EXPECTED[profile]
            missing = [n for n in want_names if n not in names]
            check(not missing, f"{profile}: {missing} not in its {len(mine)} frames ({sorted(names)})")
            for field in want_fields:
                check(any(r[field] for r in mine), f"{profile}: no {field} in its {len(mine)} frames")
            if profile == "group":
                on_data = {n for r in mine if r["udp.dstport"] == ["5008"] for n in r["tlvcast.name"]}
                check({"GROUP_COMMIT", "GROUP_WELCOME", "GROUP_MESSAGE", "GROUP_PART"} <= on_data,
                      f"group: on the data group only {sorted(on_data)}")
            print(f"  {profile}: {len(mine)} datagrams, types {sorted(names)}", flush=True)
        tshark_read(path, "-V")
        print(f"  {len(rows)} datagrams read twice (fields, then -V) in {time.monotonic() - start:.1f} s", flush=True)


def main():
    if not shutil.which(TSHARK):
        print("test_dissector.py: no tshark (scripts/setup.sh installs it), skipping", file=sys.stderr)
        return 77
    return harness.main("test_dissector.py", [test_type_table, test_vectors_and_hostile_datagrams, test_live_capture],
                        cleanup, sys.modules[__name__])


if __name__ == "__main__":
    sys.exit(main())
