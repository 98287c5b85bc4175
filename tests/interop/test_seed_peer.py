# SPDX-License-Identifier: BSL-1.0
"""Interop: the independent Python seed-profile peer (seed_peer.py) against the C++ tlvcast-relay,
with a C++ tlvcast-chat client: messages both ways (one fragment, many fragments, the largest,
UTF-8) and presence both ways. Runs inside a private network namespace (tests/netns.sh)."""
import argparse
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "e2e"))
from harness import check, in_namespace, is_event, no_invalid_lines, run_tests, start_chat, start_relay, stop_relay  # noqa: E402,E501
from seed_peer import SeedPeer  # noqa: E402

args = None
running = []
FAST = ["--keepalive", "0.5", "--probe", "1"]


def cleanup():
    for p in running:
        p.kill()
    running.clear()


def test_python_peer_with_cpp_relay_and_chat():
    relay = start_relay(args.relay, "--keepalive", "1", "--timeout", "10")
    running.append(relay)
    peer = SeedPeer(keepalive=1.0)
    peer.register(wait=2.0)
    relay.wait_for(is_event("connected", peer=peer.local), "the Python peer's CONNECT")

    # Presence both ways: the peer hears of the chat's arrival, the chat of the peer's departure.
    chat = start_chat(args.chat, "chat", *FAST)
    running.append(chat)
    peer.wait_event(lambda e: e == ("connected", chat.local))

    texts = [b"", b"hello from python", "héllo ✓ 🎉".encode(), bytes(range(32, 127)) * 11,
             b"p" * 48_450]
    for t in texts:
        peer.send_text(t)
    for t in texts:
        chat.wait_for(is_event("message", **{"peer": peer.local, "text": t.decode()}),
                      f"the peer's {len(t)}-byte message")

    for t in texts:
        chat.send_line(t)
    for t in texts:
        peer.wait_event(lambda e, t=t: e == ("message", chat.local, t))

    peer.close()
    chat.wait_for(is_event("disconnected", peer=peer.local), "the peer's DISCONNECT")
    chat.close_stdin()
    check(chat.wait_exit() == 0, "chat: exit status")
    stats = stop_relay(relay)
    check(stats["messages_relayed"] == 2 * len(texts) and stats["undecryptable"] == 0, f"stats: {stats}")
    no_invalid_lines(relay, chat)


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--relay", required=True)
    p.add_argument("--chat", required=True)
    args = p.parse_args()
    if not in_namespace():
        print("run me through tests/netns.sh (private network namespace)", file=sys.stderr)
        return 2
    return run_tests([test_python_peer_with_cpp_relay_and_chat], cleanup)


if __name__ == "__main__":
    sys.exit(main())
