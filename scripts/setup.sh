#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Installs what tlvcast needs from Debian 12's packages, only when something is missing (idempotent).
set -euo pipefail
packages=(cmake ninja-build g++ clang libclang-rt-14-dev pkg-config libcrypto++-dev libasio-dev catch2
          libbenchmark-dev libssl-dev python3 python3-cryptography iproute2 iptables util-linux procps tshark
          help2man libcm256cc-dev liblcrq-dev nats-server libnats-dev openssl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # tshark's package asks whether non-root users may capture; answer no, so that apt never prompts.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
