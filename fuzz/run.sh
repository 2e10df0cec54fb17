#!/usr/bin/env bash
# Runs every fuzz target of bgp-wire for a bounded time with the stable toolchain.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS (default 60) is the time given to each target; the targets default to
# all of them (`cargo fuzz list`). Installs cargo-fuzz from crates.io if it is
# missing. Exits non-zero if any target found a crash, an oracle failure, a
# timeout or an out-of-memory (libFuzzer saves the input under
# fuzz/artifacts/<target>/). Extra libFuzzer flags can be given in FUZZ_ARGS.
#
# Address Sanitizer needs a nightly compiler, so targets are built with
# `--sanitizer none`: every flag cargo-fuzz then passes to rustc is stable.
# bgp-wire forbids unsafe code, so the sanitizer would add little.
set -uo pipefail

cd "$(dirname "$0")"

duration="${1:-60}"
shift || true
if ! [[ "$duration" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 [SECONDS] [TARGET...]" >&2
    exit 2
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz from crates.io" >&2
    cargo install cargo-fuzz --locked || exit 1
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build --sanitizer none || exit 1

failed=()
for target in "${targets[@]}"; do
    corpus="corpus/$target"
    mkdir -p "$corpus"
    seeds=()
    [ -d "seeds/$target" ] && seeds=("seeds/$target")
    # Longer inputs than libFuzzer's default 4096 reach extended (RFC 8654) messages.
    max_len=8192
    [ "$target" = open ] && max_len=4096
    echo "=== $target: ${duration}s ===" >&2
    # shellcheck disable=SC2086 # FUZZ_ARGS is split on purpose
    cargo fuzz run --sanitizer none "$target" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$duration" -max_len="$max_len" -timeout=10 \
        -print_final_stats=1 ${FUZZ_ARGS:-}
    status=$?
    if [ "$status" -ne 0 ]; then
        echo "=== $target FAILED (exit $status); reproducer in fuzz/artifacts/$target/ ===" >&2
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "failing targets: ${failed[*]}" >&2
    exit 1
fi
echo "all targets ran ${duration}s each without a failure: ${targets[*]}" >&2
