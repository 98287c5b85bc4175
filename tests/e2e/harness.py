# SPDX-License-Identifier: BSL-1.0
"""Process harness for the end-to-end tests: runs the example programs with --json and waits,
with a bounded timeout, for the JSON events they print; every line they print is checked against
the event schema (schema.py, docs/CLI.md), and a line that does not conform fails the test that
printed it. Used inside a private network namespace."""
import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import schema

WAIT = 20.0  # the longest any single wait may take, seconds


class Failure(Exception):
    pass


# Programs a test started, killed by cleanup() whatever happens; the chat and relay options that
# make the e2e tests fast (short keep-alives, probes and timeouts).
running = []
FAST = ["--keepalive", "0.5", "--probe", "1", "--register-timeout", "1", "--register-attempts", "10",
        "--linger", "0.3"]
RELAY = ["--keepalive", "0.5", "--timeout", "10"]


def track(p):
    running.append(p)
    return p


def cleanup():
    for p in running:
        p.kill()
    running.clear()


def check(cond, what):
    if not cond:
        raise Failure(what)


SANITIZER_MARKS = (b"WARNING: ThreadSanitizer", b"ERROR: AddressSanitizer", b"runtime error:",
                   b"ERROR: LeakSanitizer")
started = []  # every Program of the current test, for the sanitizer check


class Program:
    """A running program whose stdout is read line by line (JSON objects) on a thread."""

    def __init__(self, name, argv, stdin=True):
        started.append(self)
        self.name = name
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.events = []           # every parsed event, in order
        self.raw = []              # every raw line
        self.cond = threading.Condition()
        self.stderr = b""
        # The schema this program's lines must follow: tlvcast-relay's or tlvcast-chat's, with --json.
        prog = os.path.basename(argv[0])
        self.schema = prog if prog in schema.PROGRAMS and "--json" in argv else None
        self.schema_errors = []    # (line, complaint) of each line that does not conform
        self._out = threading.Thread(target=self._read, daemon=True)
        self._out.start()
        self._err = threading.Thread(target=self._read_err, daemon=True)
        self._err.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                text = line.decode("utf-8")  # strict: the programs must print valid UTF-8
                ev = json.loads(text)
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                ev = {"event": "__invalid__", "line": repr(line), "why": str(e)}
            why = schema.check_line(self.schema, line) if self.schema else None
            with self.cond:
                if why:
                    self.schema_errors.append((line, why))
                self.raw.append(line)
                self.events.append(ev)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def _read_err(self):
        self.stderr = self.proc.stderr.read()

    def wait_for(self, pred, what, timeout=WAIT):
        """Waits until some event satisfies pred; returns it. Failure after timeout seconds."""
        deadline = time.monotonic() + min(timeout, WAIT)
        with self.cond:
            while True:
                for ev in self.events:
                    if pred(ev):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._out.is_alive()):
                    raise Failure(f"{self.name}: no {what} within {timeout} s; events: {self.summary()}; "
                                  f"stderr: {self.stderr[-500:]!r}")
                self.cond.wait(min(left, 0.2))

    def wait_count(self, pred, n, what, timeout=WAIT):
        """Waits until at least n events satisfy pred; returns them."""
        deadline = time.monotonic() + min(timeout, WAIT)
        with self.cond:
            while True:
                got = [e for e in self.events if pred(e)]
                if len(got) >= n:
                    return got
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._out.is_alive()):
                    raise Failure(f"{self.name}: {len(got)}/{n} {what} within {timeout} s; "
                                  f"stderr: {self.stderr[-500:]!r}")
                self.cond.wait(min(left, 0.2))

    def select(self, pred):
        with self.cond:
            return [e for e in self.events if pred(e)]

    def summary(self):
        out = []
        for e in self.events[-12:]:
            e = dict(e)
            if isinstance(e.get("text"), str) and len(e["text"]) > 40:
                e["text"] = e["text"][:40] + f"...({len(e['text'])})"
            out.append(e)
        return out

    def send_line(self, data):
        """Writes one line (bytes or str, without its newline) to the program's stdin."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        check(b"\n" not in data, "a line cannot hold a newline")
        self.proc.stdin.write(data + b"\n")
        self.proc.stdin.flush()

    def close_stdin(self):
        self.proc.stdin.close()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=WAIT):
        try:
            rc = self.proc.wait(timeout=min(timeout, WAIT))
        except subprocess.TimeoutExpired:
            raise Failure(f"{self.name}: still running after {timeout} s")
        self._out.join(5)
        self._err.join(5)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def vm_rss_kib(self):
        """Resident memory from /proc/<pid>/status, KiB; None once gone."""
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None


def is_event(kind, **fields):
    return lambda e: e.get("event") == kind and all(e.get(k) == v for k, v in fields.items())


# The profile the programs speak when a test names none: TLVCAST_E2E_PROFILE when set (CMake sets
# "seed" for the interop tests, whose Python peer and relay speak only the seed profile), else the
# programs' own default (secure).
DEFAULT_PROFILE = os.environ.get("TLVCAST_E2E_PROFILE") or None


def profile_args(profile=None):
    """["--profile", P] for the given profile, else for DEFAULT_PROFILE; [] when neither is set."""
    p = profile or DEFAULT_PROFILE
    return ["--profile", p] if p else []


def start_relay(path, *extra, name="relay", profile=None):
    """Starts a relay and waits for its ready event; .fingerprint is the one it printed."""
    r = Program(name, [path, "--json", *profile_args(profile), *extra], stdin=False)
    ev = r.wait_for(is_event("ready"), "ready")
    r.fingerprint = ev.get("relay_fingerprint")
    return r


def start_chat(path, name, *extra, profile=None):
    """Starts a chat and waits for its registered event: .local (its address as the relay sees it),
    .fingerprint (its own, "self") and .relay_fingerprint (the relay's) come from that event."""
    c = Program(name, [path, "--json", *profile_args(profile), *extra])
    ev = c.wait_for(is_event("registered"), "registered")
    c.local = ev["local"]
    c.fingerprint = ev.get("self")
    c.relay_fingerprint = ev.get("relay_fingerprint")
    return c


def stop_relay(relay):
    """SIGTERM, then the exit's stats event; checks a clean exit 0."""
    relay.signal(signal.SIGTERM)
    rc = relay.wait_exit()
    check(rc == 0, f"{relay.name} exited {rc} after SIGTERM; stderr {relay.stderr[-500:]!r}")
    stats = relay.wait_for(is_event("stats", reason="exit"), "stats", timeout=1)
    return stats


def set_loss(p):
    """Drops received UDP datagrams with probability p (0: none) in this namespace (iptables INPUT,
    statistic module). False when iptables is not usable."""
    subprocess.run(["iptables", "-F", "INPUT"], capture_output=True, timeout=10)
    if p == 0:
        return True
    r = subprocess.run(["iptables", "-A", "INPUT", "-p", "udp", "-m", "statistic", "--mode", "random",
                        "--probability", str(p), "-j", "DROP"], capture_output=True, timeout=10)
    return r.returncode == 0


def dropped():
    """Datagrams the INPUT rule of set_loss dropped so far (iptables' packet counter)."""
    r = subprocess.run(["iptables", "-L", "INPUT", "-v", "-x", "-n"], capture_output=True, text=True, timeout=10)
    rows = [line.split() for line in r.stdout.splitlines() if "DROP" in line]
    return int(rows[0][0]) if rows else 0


def lossy_group(relay_path, chat_path, profile, loss, relay_opts=(), member_opts=()):
    """A relay and 4 chats (a group profile's in one epoch of 4), then set_loss(loss): returns
    (relay, sender, receivers)."""
    relay = track(start_relay(relay_path, *RELAY, *relay_opts, profile=profile))
    opts = [*FAST, "--relay-fingerprint", relay.fingerprint, *member_opts]
    if profile == "group":
        opts += ["--admission", "open"]
    members = [track(start_chat(chat_path, f"m{i}", *opts, profile=profile)) for i in range(4)]
    if profile == "group":
        for m in members:
            m.wait_for(lambda e: e.get("event") == "epoch" and e.get("members") == 4, "an epoch of 4 members")
    if not set_loss(loss):
        raise Failure("iptables cannot drop at random here (no statistic module?)")
    return relay, members[0], members[1:]


def check_json_output(argv, stdout):
    """For a program run to its end (subprocess.run) with --json: every line of its stdout follows
    the schema."""
    prog = os.path.basename(argv[0])
    for line in stdout.splitlines():
        why = schema.check_line(prog, line)
        check(why is None, f"{prog}: a line off the schema ({why}): {line[:300]!r}")


def no_invalid_lines(*programs):
    for p in programs:
        bad = p.select(lambda e: e.get("event") == "__invalid__")
        check(not bad, f"{p.name} printed lines that are not valid UTF-8 JSON: {bad[:3]}")


def main(label, tests, cleanup, module, hint="tests/netns.sh"):
    """A test script's main: parses --relay, --chat and --only into `module.args`, refuses to run
    outside a private network namespace, runs the tests whose names hold --only, prints the total."""
    p = argparse.ArgumentParser()
    p.add_argument("--relay", required=True)
    p.add_argument("--chat", required=True)
    p.add_argument("--only", default="")
    module.args = args = p.parse_args()
    if not in_namespace():
        print(f"{os.path.basename(sys.argv[0])}: run me through {hint} (private network namespace)", file=sys.stderr)
        return 2
    start = time.monotonic()
    rc = run_tests([t for t in tests if args.only in t.__name__], cleanup)
    print(f"{label}: {'ok' if rc == 0 else 'FAILED'} in {time.monotonic() - start:.1f} s")
    return rc


def run_tests(tests, cleanup):
    """Runs each test function in order; prints PASS/FAIL; returns the exit status. After each
    test (and its cleanup), any sanitizer report on a program's stderr fails that test."""
    failed = 0
    for t in tests:
        start = time.monotonic()
        started.clear()
        error = None
        try:
            t()
        except Exception as e:  # noqa: BLE001 - report any failure with its test's name
            error = e
        finally:
            cleanup()
        if error is None:
            try:
                sanitizer_reports()
                schema_reports()
            except Failure as e:
                error = e
        if error is None:
            print(f"PASS {t.__name__} ({time.monotonic() - start:.1f} s)", flush=True)
        else:
            failed += 1
            print(f"FAIL {t.__name__}: {type(error).__name__}: {error}", flush=True)
            keep_outputs(t.__name__)
    return 1 if failed else 0


def keep_outputs(test):
    """With TLVCAST_E2E_KEEP=DIR, a failed test's programs leave their output there: DIR/TEST/NAME.out
    (stdout lines as printed) and NAME.err, for the post-mortem that a one-line failure cannot give."""
    keep = os.environ.get("TLVCAST_E2E_KEEP")
    if not keep:
        return
    d = os.path.join(keep, test)
    os.makedirs(d, exist_ok=True)
    for p in started:
        p._out.join(5)
        p._err.join(5)
        with open(os.path.join(d, f"{p.name}.out"), "wb") as f:
            f.write(b"".join(p.raw))
        with open(os.path.join(d, f"{p.name}.err"), "wb") as f:
            f.write(p.stderr)
    print(f"  outputs kept in {d}", flush=True)


def sanitizer_reports():
    """Fails when a program of this test printed a sanitizer report (killed ones included)."""
    for p in started:
        p.kill()
        p._err.join(5)
        for mark in SANITIZER_MARKS:
            i = p.stderr.find(mark)
            check(i < 0, f"{p.name}: sanitizer report: {p.stderr[i:i + 1500].decode(errors='replace')}")


def schema_reports():
    """Fails when a program of this test printed a line that does not follow the event schema."""
    for p in started:
        p._out.join(5)
        if p.schema_errors:
            line, why = p.schema_errors[0]
            check(False, f"{p.name}: {len(p.schema_errors)} line(s) off the schema, the first ({why}): "
                         f"{line[:300]!r}")


def in_namespace():
    """True inside the private namespace made by tests/netns.sh (the tests refuse to run elsewhere)."""
    return os.environ.get("TLVCAST_NETNS_INSIDE") == "1"
