#!/usr/bin/env bash
# An MRT dump replayed into BIRD, FRR, GoBGP and nodebgp (issue 12): one
# peer's table from a RIB dump, or one peer's UPDATEs from an updates dump,
# sent by route-load's sender to each receiver in turn, RUNS interleaved runs
# (default 3). Without a DUMP, make-mrt writes the 1M-prefix 4/100k table as
# a TABLE_DUMP_V2 RIB dump under target/ and that is replayed. Loopback only.
#
#   benches/replay.sh [DUMP] [RUNS] [route-load arguments, e.g. --mrt-peer 192.0.2.3 --only bird,nodebgp]
set -euo pipefail
cd "$(dirname "$0")/.."
dump=${1:-}
runs=${2:-3}
shift $(( $# < 2 ? $# : 2 ))
export CARGO_TARGET_DIR=$PWD/target
cargo build --release -p nodebgp -p nodebgp-benches --bins >&2
if [ -z "$dump" ]; then
    dump=target/rib-1m-4-100k.mrt
    [ -e "$dump" ] || target/release/make-mrt --prefixes 1000000 --shape 4/100k --rib "$dump"
fi

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')," \
     "$(free -g | awk '/^Mem:/ {print $2}') GiB RAM, kernel $(uname -r), $(rustc --version)"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
target/release/route-load --mrt "$dump" --runs "$runs" \
    --nodebgp "$PWD/target/release/nodebgp" "$@"
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
