#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Long runs that do not belong in the test command (docs/TESTING.md, "Long runs"):
#   scripts/soak.sh sim [SEEDS]      the group profile's deterministic simulation over SEEDS seeds (default 10000)
#   scripts/soak.sh repair [SEEDS]   the repair simulation (tests/core/repair.cpp) over SEEDS seeds (default 10000)
#   scripts/soak.sh fuzz NAME [SEC]  one fuzzer (fuzz/NAME.cpp) for SEC seconds (default 3600), new inputs kept
# Builds what it needs in build/soak (Release tests) or build/asan (the fuzzers), as scripts/test.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-}
case "$what" in
sim)
    seeds=${2:-10000}
    cmake -S . -B build/soak -G Ninja -DCMAKE_BUILD_TYPE=Release -DTLVCAST_BUILD_BENCH=OFF -DTLVCAST_BUILD_EXAMPLES=OFF >/dev/null
    cmake --build build/soak --target test_profile
    time TLVCAST_GROUP_SIM_SEEDS="$seeds" build/soak/tests/profile/test_profile "[sim]"
    ;;
repair)
    seeds=${2:-10000}
    cmake -S . -B build/soak -G Ninja -DCMAKE_BUILD_TYPE=Release -DTLVCAST_BUILD_BENCH=OFF -DTLVCAST_BUILD_EXAMPLES=OFF >/dev/null
    cmake --build build/soak --target test_core
    time TLVCAST_REPAIR_SIM_SEEDS="$seeds" build/soak/tests/test_core "[repair][sim]"
    ;;
fuzz)
    name=${2:?usage: scripts/soak.sh fuzz NAME [SECONDS]}
    seconds=${3:-3600}
    cmake -S . -B build/asan -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DTLVCAST_BUILD_FUZZERS=ON \
          -DTLVCAST_SANITIZE=address,undefined >/dev/null
    cmake --build build/asan --target "fuzz_$name"
    mkdir -p "build/asan/corpus-$name"
    build/asan/fuzz/"fuzz_$name" -max_total_time="$seconds" "build/asan/corpus-$name" "fuzz/corpus/$name"
    ;;
*)
    sed -n '3,7p' "$0" >&2
    exit 2
    ;;
esac
