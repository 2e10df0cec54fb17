#!/usr/bin/env bash
# One core against two (issue 12): the same scenarios with every receiver
# pinned to one CPU (taskset, all its threads), then to two, RUNS runs each,
# the two settings alternated run by run. Needs a machine with 2 CPUs or more;
# the harness itself is not pinned.
#
#   benches/cores.sh [RUNS] [SCENARIO]     # SCENARIO: part of a name below, e.g. kernel
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
only=${2:-}
export CARGO_TARGET_DIR=$PWD/target
cargo build --release -p nodebgp -p nodebgp-benches --bins >&2
[ "$(nproc)" -ge 2 ] || { echo "cores.sh: needs 2 CPUs, this machine has $(nproc)"; exit 1; }
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
scenario() {
    local name=$1; shift
    [[ -z "$only" || "$name" == *"$only"* ]] || return 0
    for run in $(seq 1 "$runs"); do
        for cpus in 1 0,1; do
            echo "### $name, CPUs $cpus, run $run (load average $(cut -d' ' -f1 /proc/loadavg))"
            target/release/route-load --runs 1 --cpus "$cpus" --nodebgp "$PWD/target/release/nodebgp" "$@" \
                2>/dev/null | grep '^| [A-Za-z]' | grep -v -e '^| receiver' -e '^| null'
        done
    done
}
scenario "10×100k" --prefixes 100000 --sessions 10 --only bird,frr,gobgp,nodebgp
scenario "1×1M" --prefixes 1000000 --only bird,frr,nodebgp
scenario "100k to 10 clients" --prefixes 100000 --clients 10 --only bird,frr,nodebgp
scenario "1M into the kernel" --prefixes 1000000 --fib --only bird,nodebgp
