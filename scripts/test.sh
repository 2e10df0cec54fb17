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
# Every crate's documentation builds, its links resolve (the //! contracts cite items).
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
# Every fuzz target for a bounded time (NODEBGP_FUZZ_SECONDS each, default 30), so
# that they keep building and the codec keeps surviving them; 0 skips.
fuzz_seconds=${NODEBGP_FUZZ_SECONDS:-30}
if [ "$fuzz_seconds" -gt 0 ]; then
    fuzz/run.sh "$fuzz_seconds"
fi
# Tests that cannot run here (no test vectors, no network namespaces, a tool
# missing) pass with a SKIP line that nextest hides; they also write it to this
# file, counted below so that a run that skipped is never silent.
skip_log=$(mktemp)
trap 'rm -f "$skip_log"' EXIT
export NODEBGP_SKIP_LOG=$skip_log
status=0
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast || status=$?
else
    cargo test --workspace --locked --no-fail-fast || status=$?
fi
skipped=$(sort -u "$skip_log" | grep -c . || true)
if [ "$skipped" -gt 0 ]; then
    echo "SKIPPED: $skipped test(s) could not run here:"
    sort -u "$skip_log" | sed 's/^/  /'
    # NODEBGP_NO_SKIPS=1 (a CI that has the vectors and root) makes a skip fail.
    if [ "${NODEBGP_NO_SKIPS:-0}" = 1 ] && [ "$status" -eq 0 ]; then
        status=1
    fi
else
    echo "SKIPPED: none (every test ran)"
fi
exit "$status"
