#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# compare.sh BEFORE_BIN AFTER_BIN ROUNDS FILTER [--netns]: before/after of one benchmark program.
# Runs the two binaries alternately ROUNDS times on the same machine (so load drifts hit both
# alike) and prints, per benchmark, the median items_per_second of each and their ratio after/before.
# --netns runs each inside tests/netns.sh's private namespace (the UDP rows need it).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
before=$1 after=$2 rounds=$3 filter=$4 netns=${5:-}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run() {
  if [ "$netns" = --netns ]; then
    TLVCAST_NETNS=1 "$root/tests/netns.sh" "$1" --benchmark_filter="$filter" --benchmark_format=json >"$2"
  else
    "$1" --benchmark_filter="$filter" --benchmark_format=json >"$2"
  fi
}
for i in $(seq "$rounds"); do
  run "$before" "$out/before.$i.json"
  run "$after" "$out/after.$i.json"
done
python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
rate = {"before": {}, "after": {}}
for side in rate:
    for i in range(1, rounds + 1):
        for b in json.load(open(f"{out}/{side}.{i}.json"))["benchmarks"]:
            if "error_occurred" in b:
                print(f"{side} round {i}: {b['name']}: {b.get('error_message')}")
                continue
            if "items_per_second" in b:
                rate[side].setdefault(b["name"], []).append(b["items_per_second"])
print(f"| benchmark | before msgs/s | after msgs/s | after/before |")
print(f"|---|---|---|---|")
for name, after in rate["after"].items():
    before = rate["before"].get(name)
    if not before:
        continue
    b, a = statistics.median(before), statistics.median(after)
    print(f"| {name.split('/iterations')[0]} | {b:,.0f} | {a:,.0f} | {a / b:.2f} |")
PY
