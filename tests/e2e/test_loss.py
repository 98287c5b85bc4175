# SPDX-License-Identifier: BSL-1.0
"""Registration under loss (issue 9, "Registration and control under loss"): tlvcast-relay and twenty
tlvcast-chat clients started at once inside a private network namespace whose every received packet
is dropped at random (tests/netns.sh with NETNS_LOSS, 0.2 in CMake). With the default registration
settings (--register-timeout 5, --register-attempts 3: what a new user gets), every client of the
secure, group and seed profiles registers within those 15 s, the relay holds exactly the sessions
its clients hold (none half-open), and the relay sees every seed client's CONNECT."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Failure, Program, check, cleanup, is_event, start_relay, track  # noqa: E402

args = None
CLIENTS = 20
# Three attempts of 5 s, the chat's defaults, and a little for 20 processes starting on 2 cores.
BOUND = 3 * 5 + 5
RELAY_TIMEOUT = ["--timeout", "30"]  # a registered client stays while the test looks


def start_clients(profile, *extra):
    return [track(Program(f"c{i}", [args.chat, "--json", "--profile", profile, *extra])) for i in range(CLIENTS)]


def registered_within(clients, bound):
    """The clients' `registered` events, waiting at most `bound` seconds from now in all."""
    deadline = time.monotonic() + bound
    got, missing = [], []
    for c in clients:
        try:
            got.append(c.wait_for(is_event("registered"), "registered", timeout=max(0.1, deadline - time.monotonic())))
        except Failure:
            missing.append(c.name)
    return got, missing


def relay_view(relay, kind):
    return {e["peer"] for e in relay.select(is_event(kind))}


def stop_relay_stats(relay):
    relay.signal(signal.SIGTERM)
    check(relay.wait_exit() == 0, "relay exit status")
    return relay.wait_for(is_event("stats"), "stats", timeout=1)


def check_sessions(relay, evs, label):
    """The relay registered exactly the clients that registered: no half-open session."""
    locals_ = {e["local"] for e in evs}
    # The relay's events name the address it saw; the chat's `local` is the same address. The
    # relay's line for the last client may still be on its way (its output and the chat's race).
    deadline = time.monotonic() + 3
    while not locals_ <= relay_view(relay, "registered") and time.monotonic() < deadline:
        time.sleep(0.05)
    at_relay = relay_view(relay, "registered")
    print(f"{label}: the relay registered {len(at_relay)}, half-open {len(at_relay - locals_)}", flush=True)
    check(locals_ <= at_relay, f"{label}: clients registered that the relay never saw: {sorted(locals_ - at_relay)}")
    check(at_relay <= locals_, f"{label}: half-open at the relay: {sorted(at_relay - locals_)}")


def test_secure_twenty_register_under_loss():
    relay = track(start_relay(args.relay, *RELAY_TIMEOUT, profile="secure"))
    start = time.monotonic()
    clients = start_clients("secure", "--relay-fingerprint", relay.fingerprint)
    evs, missing = registered_within(clients, BOUND)
    took = time.monotonic() - start
    print(f"secure: {len(evs)}/{CLIENTS} registered in {took:.1f} s", flush=True)
    check_sessions(relay, evs, "secure")
    check(not missing, f"secure: not registered within {BOUND} s: {missing}")
    stats = stop_relay_stats(relay)
    check(stats["registrations"] == CLIENTS, f"secure: relay registrations {stats['registrations']}")


def test_group_twenty_register_under_loss():
    relay = track(start_relay(args.relay, *RELAY_TIMEOUT, profile="group"))
    start = time.monotonic()
    clients = start_clients("group", "--relay-fingerprint", relay.fingerprint, "--admission", "open",
                            "--delivery", "unicast")
    evs, missing = registered_within(clients, BOUND)
    took = time.monotonic() - start
    print(f"group: {len(evs)}/{CLIENTS} registered in {took:.1f} s", flush=True)
    check_sessions(relay, evs, "group")
    check(not missing, f"group: not registered within {BOUND} s: {missing}")
    stats = stop_relay_stats(relay)
    check(stats["registrations"] == CLIENTS, f"group: relay registrations {stats['registrations']}")


def test_seed_twenty_register_and_connect_under_loss():
    relay = track(start_relay(args.relay, *RELAY_TIMEOUT, profile="seed"))
    start = time.monotonic()
    clients = start_clients("seed")
    evs, missing = registered_within(clients, BOUND)
    print(f"seed: {len(evs)}/{CLIENTS} registered in {time.monotonic() - start:.1f} s", flush=True)
    # CONNECT is repeated (nothing on the seed wire acknowledges it): the relay sees every one,
    # a few seconds after the client's registration at most.
    want = {e["local"] for e in evs}
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and not want <= relay_view(relay, "connected"):
        time.sleep(0.2)
    seen = relay_view(relay, "connected")
    print(f"seed: relay saw {len(want & seen)}/{CLIENTS} CONNECTs in {time.monotonic() - start:.1f} s", flush=True)
    check(not missing, f"seed: not registered within {BOUND} s: {missing}")
    check(want <= seen, f"seed: CONNECT never reached the relay from {sorted(want - seen)}")
    # Announced once each (state transitions only), however many copies arrived.
    check(len(relay.select(is_event("connected"))) == len(seen), "seed: a CONNECT announced twice")
    stop_relay_stats(relay)


def main():
    return harness.main("loss", [test_secure_twenty_register_under_loss, test_group_twenty_register_under_loss,
                                 test_seed_twenty_register_and_connect_under_loss], cleanup, sys.modules[__name__])


if __name__ == "__main__":
    sys.exit(main())
