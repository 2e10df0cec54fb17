#!/usr/bin/env bash
# Installs the Debian packages in scripts/packages.txt that are missing: the
# one list both README commands (scripts/demo.sh and scripts/test.sh) use, so
# that a fresh machine gets exactly what the project builds and tests with.
# Needs root or sudo for the packages.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(ca-certificates)
mapfile -t listed < <(grep -v '^#' scripts/packages.txt | grep -v '^$')
packages+=("${listed[@]}")
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

export DEBIAN_FRONTEND=noninteractive
# The daemons' packages would start system services listening on port 179
# of every address; the tests and the demo start their own instances on
# loopback. A policy-rc.d that refuses (exit 101) keeps services from starting.
added_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d
    added_policy=1
fi
as_root apt-get update -q
as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
if [ -n "$added_policy" ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
