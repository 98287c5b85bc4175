#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# tlvcast as another project sees it: installs the headers and packages to a temporary prefix (and moves
# it, to check that they are relocatable), then builds and runs main.cpp three ways:
#   1. find_package(tlvcast CONFIG REQUIRED) against the installed CMake package;
#   2. g++ with pkg-config's flags for the installed tlvcast.pc (tlvcast-openssl.pc when installed);
#   3. FetchContent of this source tree (SOURCE_DIR: no network), checking that tlvcast leaves the
#      consumer's build type alone.
# Arguments are CMake options for tlvcast, e.g. -DTLVCAST_WITH_OPENSSL=OFF; CXX picks the compiler.
# Registered as the ctest test "consumer" (tests/CMakeLists.txt). Everything happens in one temporary
# directory, removed at exit.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
consumer=$src/tests/consumer
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlvcast-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cxx=${CXX:-g++}
quiet() { "$@" >"$tmp/step.log" 2>&1 || { cat "$tmp/step.log"; echo "consumer: failed: $*" >&2; exit 1; }; }

# The installed tree: headers and packages only (nothing to compile).
quiet cmake -S "$src" -B "$tmp/tlvcast-build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DTLVCAST_INSTALL=ON \
  -DTLVCAST_BUILD_TESTS=OFF -DTLVCAST_BUILD_BENCH=OFF -DTLVCAST_BUILD_EXAMPLES=OFF -DTLVCAST_BUILD_FUZZERS=OFF "$@"
quiet cmake --install "$tmp/tlvcast-build" --prefix "$tmp/staged"
mv "$tmp/staged" "$tmp/prefix"
prefix=$tmp/prefix

run() { # NAME PROGRAM: runs it, expecting the version pkg-config gives
  local out
  out=$("$2") || { echo "consumer: $1: wrong result: $out" >&2; exit 1; }
  grep -q "^tlvcast $version " <<<"$out" || { echo "consumer: $1: not version $version: $out" >&2; exit 1; }
  echo "consumer: $1: $out"
}
export PKG_CONFIG_PATH=$prefix/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
version=$(pkg-config --modversion tlvcast)

# 1. The CMake package.
quiet cmake -S "$consumer" -B "$tmp/package" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix"
quiet cmake --build "$tmp/package"
run find_package "$tmp/package/consumer"

# 2. pkg-config.
module=tlvcast
[ -e "$prefix/share/pkgconfig/tlvcast-openssl.pc" ] && module=tlvcast-openssl
[ "$(pkg-config --variable=prefix tlvcast)" -ef "$prefix" ] || { echo "consumer: tlvcast.pc: prefix is not $prefix" >&2; exit 1; }
# shellcheck disable=SC2046 # pkg-config's output is a list of words
quiet "$cxx" -std=c++20 "$consumer/main.cpp" -o "$tmp/pkg-config-consumer" $(pkg-config --cflags --libs "$module")
run "pkg-config $module" "$tmp/pkg-config-consumer"

# 3. FetchContent of the source tree, with no build type of the consumer's own.
quiet cmake -S "$consumer" -B "$tmp/fetch" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DTLVCAST_CONSUMER_VIA=fetchcontent \
  -DTLVCAST_SOURCE_DIR="$src" "$@"
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$tmp/fetch/CMakeCache.txt")
[ -z "$build_type" ] || { echo "consumer: FetchContent set the consumer's CMAKE_BUILD_TYPE to $build_type" >&2; exit 1; }
quiet cmake --build "$tmp/fetch"
run FetchContent "$tmp/fetch/consumer"
