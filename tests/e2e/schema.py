# SPDX-License-Identifier: BSL-1.0
"""The JSON event schema of tlvcast-relay and tlvcast-chat (docs/CLI.md), as a checker: the e2e
harness passes every line a program prints with --json to check_line(), and a wrong, missing or
unknown field fails the test. Run alone (the ctest test cli_schema), it tests itself on good and bad
lines and checks that docs/CLI.md documents every event and field named here. Python's json only."""
import ipaddress
import json
import re
import sys

VERSION = 1
TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX128 = re.compile(r"^[0-9a-f]{128}$")
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


# Field kinds: each a function value -> error text, or None when the value is right.
def text(v):
    return None if isinstance(v, str) else "not a string"


def count(v):
    return None if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else "not a non-negative integer"


def boolean(v):
    return None if isinstance(v, bool) else "not true or false"


def hex64(v):
    return None if isinstance(v, str) and HEX64.match(v) else "not 64 lowercase hex digits"


def hex32(v):
    return None if isinstance(v, str) and re.match(r"^[0-9a-f]{32}$", v) else "not 32 lowercase hex digits"


def hex128(v):
    return None if isinstance(v, str) and HEX128.match(v) else "not 128 lowercase hex digits"


def port(v):
    return None if isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 65535 else "not a port"


def ip(v):
    try:
        ipaddress.ip_address(v)
        return None
    except (ValueError, TypeError):
        return "not an IP address"


def address(v):
    """ "ip:port" (IPv4) or "[ipv6]:port"."""
    if not isinstance(v, str):
        return "not a string"
    m = re.match(r"^\[([^\]]+)\]:(\d+)$", v) or re.match(r"^([0-9.]+):(\d+)$", v)
    if not m:
        return "not ip:port or [ipv6]:port"
    a = ipaddress.ip_address(m.group(1)) if ip(m.group(1)) is None else None
    if a is None or (a.version == 6) != v.startswith("[") or not 0 <= int(m.group(2)) <= 65535:
        return "not ip:port or [ipv6]:port"
    return None


def one_of(*words):
    return lambda v: None if v in words else f"not one of {', '.join(words)}"


# event -> (required fields, optional fields); stats also takes every relay counter, by name.
CLIENT = ({"peer": address}, {"sender": hex64})
RELAY = {
    "ready": ({"relay_fingerprint": hex64, "profile": one_of("seed", "secure", "group"),
               "backend": one_of("openssl", "cryptopp"), "reliability": one_of("none", "nack", "nack+fec"), "group": ip,
               "port": port}, {"data_group": address, "federation": text, "relay_id": hex32,
                                "slow_receiver": one_of("hold", "drop")}),
    "federation": ({"state": one_of("connected", "disconnected"), "server": text}, {}),
    "registered": CLIENT,
    "connected": CLIENT,
    "disconnected": CLIENT,
    "timeout": CLIENT,
    "message": ({"peer": address, "bytes": count}, {"sender": hex64}),
    "slow_receiver": ({"peer": address, "bytes": count, "policy": one_of("hold", "drop")}, {"sender": hex64}),
    "stats": ({"reason": one_of("signal", "interval", "exit"), "clients": count}, {}),
    "warning": ({"warning": text}, {"relay": address}),
    "error": ({"error": text}, {}),
}
CHAT = {
    "registered": ({"local": address, "relay": address, "self": hex64},
                   {"relay_fingerprint": hex64, "delivery": one_of("unicast", "multicast"), "data_group": address}),
    "message": ({"text": text}, {"peer": address, "sender": hex64}),
    "connected": CLIENT,
    "disconnected": CLIENT,
    "relay_lost": ({"relay": address}, {}),
    "relay_changed": ({"relay": address}, {}),
    "relay_refused": ({"relay": address, "relay_fingerprint": hex64}, {}),
    "relay_trusted": ({"relay": address, "relay_fingerprint": hex64}, {}),
    "epoch": ({"n": count, "members": count}, {}),
    "member_added": ({"fingerprint": hex64, "verified": boolean}, {}),
    "member_removed": ({"fingerprint": hex64}, {}),
    "gap": ({"sender": hex64, "first": count, "last": count}, {}),
    "unrecoverable": ({"peer": address, "first": count, "last": count}, {}),
    "send_failed": ({"error": text}, {}),
    "error": ({"error": text}, {}),
    "identity": ({"public_key": hex64, "fingerprint": hex64}, {}),
    "certificate": ({"public_key": hex64, "fingerprint": hex64, "certificate": hex128}, {}),
}
PROGRAMS = {"tlvcast-relay": RELAY, "tlvcast-chat": CHAT}


def check_event(program, ev):
    """The schema's complaint about the parsed line `ev` of `program`, or None when it conforms."""
    if not isinstance(ev, dict):
        return "not a JSON object"
    if ev.get("v") != VERSION or isinstance(ev.get("v"), bool):
        return f"\"v\" is {ev.get('v')!r}, not {VERSION}"
    m = TS.match(ev["ts"]) if isinstance(ev.get("ts"), str) else None
    if not m:
        return f"\"ts\" {ev.get('ts')!r} is not RFC 3339 UTC with microseconds"
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59 and s <= 60):
        return f"\"ts\" {ev['ts']!r} is not a time"
    events = PROGRAMS[program]
    name = ev.get("event")
    if name not in events:
        return f"unknown event {name!r}"
    required, optional = events[name]
    for k, kind in required.items():
        if k not in ev:
            return f"{name}: no \"{k}\""
    for k, v in ev.items():
        if k in ("v", "ts", "event"):
            continue
        kind = required.get(k) or optional.get(k)
        if kind is None and name == "stats" and SNAKE.match(k):
            kind = count  # a relay counter
        if kind is None:
            return f"{name}: unknown field \"{k}\""
        why = kind(v)
        if why:
            return f"{name}: \"{k}\" {v!r} is {why}"
    return None


def check_line(program, line):
    """The complaint about one raw line (bytes or str) of `program`, or None."""
    try:
        ev = json.loads(line.decode("utf-8") if isinstance(line, bytes) else line)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return f"not a UTF-8 JSON line: {e}"
    return check_event(program, ev)


def self_test(doc_path):
    """Good lines pass, each kind of bad line fails; docs/CLI.md names every event and field."""
    ts = '"v":1,"ts":"2026-12-01T02:41:28.123456Z"'
    fp = "ab" * 32
    good = [
        ("tlvcast-relay", '{%s,"event":"ready","relay_fingerprint":"%s","profile":"secure","backend":"openssl",'
                          '"reliability":"nack","group":"ff15::1","port":5007}' % (ts, fp)),
        ("tlvcast-relay", '{%s,"event":"stats","reason":"exit","clients":0,"datagrams_in":3}' % ts),
        ("tlvcast-relay", '{%s,"event":"message","peer":"[ff15::1]:5007","bytes":3,"sender":"%s"}' % (ts, fp)),
        ("tlvcast-chat", '{%s,"event":"message","peer":"10.0.0.1:40000","text":"hi"}' % ts),
        ("tlvcast-chat", '{%s,"event":"gap","sender":"%s","first":1,"last":2}' % (ts, fp)),
    ]
    bad = [
        ("tlvcast-relay", '{"ts":"2026-12-01T02:41:28.123456Z","event":"error","error":"x"}'),   # no v
        ("tlvcast-relay", '{"v":2,"ts":"2026-12-01T02:41:28.123456Z","event":"error","error":"x"}'),
        ("tlvcast-relay", '{"v":1,"ts":"2026-12-01T02:41:28Z","event":"error","error":"x"}'),  # no µs
        ("tlvcast-relay", '{"v":1,"ts":"2026-12-01 02:41:28.123456","event":"error","error":"x"}'),
        ("tlvcast-relay", '{%s,"event":"message","from":"10.0.0.1:1","bytes":3}' % ts),        # old name
        ("tlvcast-relay", '{%s,"event":"ready","fingerprint":"%s","profile":"secure","backend":"openssl",'
                          '"reliability":"nack","group":"224.1.1.1","port":5007}' % (ts, fp)),
        ("tlvcast-relay", '{%s,"event":"stats","reason":"exit","clients":0,"datagrams_in":-1}' % ts),
        ("tlvcast-relay", '{%s,"event":"nonsense"}' % ts),
        ("tlvcast-chat", '{%s,"event":"message","peer":"10.0.0.1","text":"hi"}' % ts),           # no port
        ("tlvcast-chat", '{%s,"event":"message","peer":"ff15::1:5007","text":"hi"}' % ts),       # no brackets
        ("tlvcast-chat", '{%s,"event":"member_added","fingerprint":"%s","verified":1}' % (ts, fp)),
        ("tlvcast-chat", '{%s,"event":"relay_trusted","relay":"10.0.0.1:5007","fingerprint":"%s"}' % (ts, fp)),
        ("tlvcast-chat", 'not json'),
    ]
    failures = []
    for program, line in good:
        why = check_line(program, line)
        if why:
            failures.append(f"good line refused ({why}): {line}")
    for program, line in bad:
        if check_line(program, line) is None:
            failures.append(f"bad line accepted: {line}")
    with open(doc_path, encoding="utf-8") as f:
        doc = f.read()
    for program, events in PROGRAMS.items():
        for name, (required, optional) in events.items():
            if f"`{name}`" not in doc:
                failures.append(f"docs/CLI.md does not document {program}'s event `{name}`")
            for k in [*required, *optional]:
                if f"`{k}`" not in doc:
                    failures.append(f"docs/CLI.md does not document the field `{k}` ({program} {name})")
    for f in failures:
        print(f"schema.py: {f}", file=sys.stderr)
    print(f"schema.py: {'ok' if not failures else 'FAILED'}: {len(good)} good and {len(bad)} bad lines, "
          f"{sum(len(e) for e in PROGRAMS.values())} events against {doc_path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(self_test(sys.argv[1] if len(sys.argv) > 1 else "docs/CLI.md"))
