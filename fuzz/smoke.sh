#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Bounded libFuzzer run: seeds from the committed corpus, new inputs to a scratch folder.
# usage: smoke.sh FUZZER SEED_CORPUS_DIR SECONDS
set -euo pipefail
fuzzer=$1 seeds=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$seeds"
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "$work" "$seeds"
