#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, then runs every
# test, the formatter check and clippy. Run from anywhere; needs root or sudo
# for the packages.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use (real routing daemons and etcd for the
# interop and datastore tests, iproute2 for network namespaces, protoc for the
# etcd client): scripts/packages.txt, the list scripts/demo.sh uses too.
scripts/install-packages.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Doc tests first: nextest does not run them, and its summary should be the
# last word of the run.
cargo test --workspace --locked --doc
# Every fuzz target for a bounded time (NODEBGP_FUZZ_SECONDS each, default 30), so
# that they keep building and the codec keeps surviving them; 0 skips.
fuzz_seconds=${NODEBGP_FUZZ_SECONDS:-30}
if [ "$fuzz_seconds" -gt 0 ]; then
    fuzz/run.sh "$fuzz_seconds"
fi
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    cargo test --workspace --locked --no-fail-fast
fi
