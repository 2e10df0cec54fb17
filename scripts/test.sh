#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, then runs every
# test, the formatter check and clippy. Run from anywhere; needs root or sudo
# for the packages.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages the tests use: real routing daemons and etcd for the interop
# and datastore tests, iproute2 for network namespaces.
packages=(ca-certificates)
if [ -f scripts/packages.txt ]; then
    mapfile -t listed < <(grep -v '^#' scripts/packages.txt | grep -v '^$')
    packages+=("${listed[@]}")
fi
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    # The daemons' packages would start system services listening on port 179
    # of every address; the tests start their own instances on loopback. A
    # policy-rc.d that refuses (exit 101) keeps services from starting.
    added_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
        as_root chmod +x /usr/sbin/policy-rc.d
        added_policy=1
    fi
    as_root apt-get update -q
    as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
    if [ -n "$added_policy" ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Doc tests first: nextest does not run them, and its summary should be the
# last word of the run.
cargo test --workspace --locked --doc
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    cargo test --workspace --locked --no-fail-fast
fi
