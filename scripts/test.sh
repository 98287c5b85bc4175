#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# The whole test suite: installs what is missing, then builds and runs
#  1. the release build (g++): unit, interop and end-to-end tests, and the consumer test (the library
#     installed and used with find_package, pkg-config and FetchContent: tests/consumer/run.sh) (no
#     benchmark programs: no test runs them; docs/BENCHMARKS.md builds them in a Release tree of their own);
#  2. the single-backend builds (g++, Release at -O0): OpenSSL only and Crypto++ only, the unit tests whose
#     subject is the backends (label "backend": tests/CMakeLists.txt; of tests/profile, only the files
#     about the backend: TLVCAST_PROFILE_TESTS);
#  3. the sanitizer build (clang, AddressSanitizer + UBSan, -O0 but the fuzzers at -O1): the same tests,
#     plus every fuzzer smoke-run (5 s each here; long runs: docs/FUZZING.md and scripts/soak.sh);
#  4. the ThreadSanitizer build (clang): the tests labelled "tsan".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=$(nproc)
export CTEST_OUTPUT_ON_FAILURE=1
# Debug info is most of a build's cost here: line tables are enough for a failing test's backtrace
# and for the sanitizers' reports. The release build's tests need the optimiser's code, not its last
# percent: -O1 compiles in 3/4 of -O2's time (tlvcast-relay: 31 CPU s against 41 with g++ 12); the
# benchmarks build -O2 trees of their own.
release_flags=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG")
# The sanitizer builds are unoptimised: ASan+UBSan objects cost 2.6 times the CPU at -O1 (tlvcast-relay:
# 107 s against 40 with clang 14), and the sanitizers still check every access (more of them: none is
# optimised away). What -O0 loses is UBSan's object-size check, which needs the optimiser to know an
# object's size: a downcast to a larger type goes unreported unless a read or write then leaves the
# allocation (which ASan reports). The fuzz harnesses, where that matters most, stay at -O1
# (TLVCAST_FUZZ_OPTIONS), where a 5 s smoke run also tries more inputs.
sanitizer_flags=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -gline-tables-only -DNDEBUG" -DTLVCAST_FUZZ_OPTIONS=-O1)
tsan_flags=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -gline-tables-only -DNDEBUG")
# The single-backend builds only have to compile and pass their unit tests: unoptimised compiles faster.
backend_flags=(-DCMAKE_CXX_FLAGS_RELEASE="-O0 -DNDEBUG")

# A stage's tests run in the background while the next stage compiles: most of their time is spent
# waiting on timers and sockets, not on the CPU. finish NAME waits for them and shows their result.
declare -A tests_pid
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
in_background() {
  local name=$1
  shift
  "$@" >"build/$name-tests.log" 2>&1 &
  tests_pid[$name]=$!
}
finish() {
  if wait "${tests_pid[$1]}"; then
    grep -E 'tests passed|Total Test time' "build/$1-tests.log"
  else
    cat "build/$1-tests.log"
    echo "test.sh: the $1 tests failed" >&2
    exit 1
  fi
}

cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${release_flags[@]}" -DTLVCAST_BUILD_BENCH=OFF >/dev/null
cmake --build build/release -j "$jobs"
# The repair simulation runs 1,000 seeds here (about 15 s of CPU); the sanitizer builds run its default 40.
in_background release env TLVCAST_REPAIR_SIM_SEEDS=1000 ctest --test-dir build/release -j "$jobs" --timeout 900

# Each crypto backend alone must build and pass the unit tests. Only the programs that change with the
# backends (label "backend", tests/CMakeLists.txt) are built again: the other unit-test programs are the
# ones the release build just ran, provided none of their objects includes a Crypto++ or OpenSSL header
# or a file that tests TLVCAST_HAS_CRYPTOPP / TLVCAST_HAS_OPENSSL (checked on its dependency records).
deps=$(cd build/release && ninja -t deps $(sed "s|^.*/build/release/||; s|/\./|/|g" tests/backend_free_objects.txt) |
       awk '/^ / {print $1}' | sort -u)
[ -n "$deps" ] || { echo "test.sh: no dependency records for tests/backend_free_objects.txt" >&2; exit 1; }
offending=$(cd build/release && { grep -E '/(cryptopp|openssl)/' <<<"$deps" || true
                                  grep -lE 'TLVCAST_HAS_(CRYPTOPP|OPENSSL)' $deps || true; } | sort -u)
if [ -n "$offending" ]; then
  echo "test.sh: unit tests outside TLVCAST_BACKEND_LAYERS (tests/CMakeLists.txt) depend on the crypto backends through:" >&2
  echo "$offending" >&2
  exit 1
fi
for only in "openssl:-DTLVCAST_WITH_CRYPTOPP=OFF" "cryptopp:-DTLVCAST_WITH_OPENSSL=OFF"; do
  dir=build/only-${only%%:*}
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${backend_flags[@]}" -DCMAKE_CXX_COMPILER=g++ "${only#*:}" \
    -DTLVCAST_BUILD_BENCH=OFF -DTLVCAST_BUILD_EXAMPLES=OFF -DTLVCAST_BUILD_FUZZERS=OFF -DTLVCAST_PROFILE_TESTS=backend >/dev/null
  cmake --build "$dir" -j "$jobs" --target tlvcast_backend_tests
  in_background "only-${only%%:*}" ctest --test-dir "$dir" -j "$jobs" -L backend --timeout 900
done

cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${sanitizer_flags[@]}" -DCMAKE_CXX_COMPILER=clang++ \
  -DTLVCAST_SANITIZE=address,undefined -DTLVCAST_BUILD_FUZZERS=ON -DTLVCAST_FUZZ_SECONDS=5 -DTLVCAST_BUILD_BENCH=OFF >/dev/null
cmake --build build/asan -j "$jobs"
finish release
finish only-openssl
finish only-cryptopp
in_background asan ctest --test-dir build/asan -j "$jobs" --timeout 900

cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${tsan_flags[@]}" -DCMAKE_CXX_COMPILER=clang++ \
  -DTLVCAST_SANITIZE=thread -DTLVCAST_BUILD_BENCH=OFF -DTLVCAST_BUILD_FUZZERS=OFF >/dev/null
# Only what the threaded tests need: the thread-heavy test programs and the two programs of the e2e tests.
cmake --build build/tsan -j "$jobs" --target test_core test_crypto test_federation test_transport tlvcast-relay tlvcast-chat
finish asan
# In the foreground, with nothing compiling beside it: under TSan, e2e_hostile's relay needs the CPU to
# keep up with the attack (it lost its clients with a single-backend build running beside it). One test
# more than cores: only core is busy on the CPU throughout (its flow simulations); the e2e tests mostly
# wait on timers (the TSan run took 151 CPU s in 185 s on 2 cores at -j2).
TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp" ctest --test-dir build/tsan -j "$((jobs + 1))" -L tsan --timeout 900
echo "test.sh: all test builds passed"
