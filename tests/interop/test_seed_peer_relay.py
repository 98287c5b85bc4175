# SPDX-License-Identifier: BSL-1.0
"""Interop: the independent minimal Python seed-profile relay (seed_relay.py) with two C++
tlvcast-chat clients: both register, hear of each other and exchange messages both ways.
Runs inside a private network namespace (tests/netns.sh)."""
import argparse
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "e2e"))
from harness import check, in_namespace, is_event, no_invalid_lines, run_tests, start_chat  # noqa: E402
from seed_relay import SeedRelay  # noqa: E402

args = None
running = []
relays = []
FAST = ["--keepalive", "0.5", "--probe", "5", "--register-timeout", "2"]


def cleanup():
    for p in running:
        p.kill()
    running.clear()
    for r in relays:
        r.close()
    relays.clear()


def test_cpp_chats_with_python_relay():
    relay = SeedRelay(client_timeout=10.0).start()
    relays.append(relay)
    a = start_chat(args.chat, "a", *FAST)
    running.append(a)
    b = start_chat(args.chat, "b", *FAST)
    running.append(b)
    a.wait_for(is_event("connected", peer=b.local), "b connected")
    a.send_line("hello b, from a")
    b.wait_for(is_event("message", **{"peer": a.local, "text": "hello b, from a"}), "a's message")
    long = "ü" * 700  # 1,400 bytes: 8 RSA blocks, 9 fragments
    b.send_line(long)
    a.wait_for(is_event("message", **{"peer": b.local, "text": long}), "b's long message")
    b.close_stdin()
    check(b.wait_exit() == 0, "b: exit status")
    a.wait_for(is_event("disconnected", peer=b.local), "b disconnected")
    a.close_stdin()
    check(a.wait_exit() == 0, "a: exit status")
    kinds = [k for k, _, _ in relay.log]
    # tlvcast repeats a CONNECT (nothing on the seed wire acknowledges it) byte for byte, 1 + 4
    # copies; this relay, like the prototype, takes each copy that completes as a CONNECT.
    connected = [c for k, c, _ in relay.log if k == "connected"]
    check(kinds.count("registered") >= 2 and len(set(connected)) == 2 and len(connected) <= 2 * 5
          and kinds.count("disconnected") == 2, f"relay log {kinds}")
    no_invalid_lines(a, b)


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--relay", required=True)
    p.add_argument("--chat", required=True)
    args = p.parse_args()
    if not in_namespace():
        print("run me through tests/netns.sh (private network namespace)", file=sys.stderr)
        return 2
    return run_tests([test_cpp_chats_with_python_relay], cleanup)


if __name__ == "__main__":
    sys.exit(main())
