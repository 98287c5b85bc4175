#!/bin/sh
# SPDX-License-Identifier: BSL-1.0
# The man pages help2man made from the programs' --help (examples/CMakeLists.txt; ctest man_pages):
# each has a synopsis, options, exit statuses and the program's own options (help2man writes a hyphen
# as \-). Arguments: tlvcast-relay.1 tlvcast-chat.1
set -eu
relay=$1 chat=$2
has() { grep -qF -- "$2" "$1" || { echo "check_man_pages: $1 lacks $2" >&2; exit 1; }; }
for page in "$relay" "$chat"; do
  has "$page" '.SH SYNOPSIS'
  has "$page" '.SH OPTIONS'
  has "$page" '.SS "Exit status:"'
  has "$page" '\-q\fR, \fB\-\-quiet'
done
has "$relay" '\-\-metrics\-file'
has "$relay" 'SIGUSR1'
has "$chat" '\-\-listen'
has "$chat" '48450 bytes'
echo "check_man_pages: ok"
