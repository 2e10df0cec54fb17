#!/usr/bin/env bash
# Route load (issue 5): time to receive, select and hold PREFIXES IPv4 prefixes
# (default 1,000,000) from one peer, and memory, for BIRD, FRR, GoBGP and
# nodebgp receiving the same stream from the same sender in the same run. Each
# receiver runs RUNS times (default 3), interleaved; the table gives median and
# min seconds, peak RSS and bytes per route. A receiver whose package is
# missing is skipped with a line saying so (install: ../shared/lab/install.sh,
# or apt-get install -y bird2 frr gobgpd). Loopback only (127.0.0.0/8).
#
#   benches/routes.sh [PREFIXES] [RUNS]
#
# Extra arguments after RUNS go to the route-load binary, e.g.
#   benches/routes.sh 1000000 3 --only bird,nodebgp
set -euo pipefail
cd "$(dirname "$0")/.."
prefixes=${1:-1000000}
runs=${2:-3}
shift $(( $# < 2 ? $# : 2 ))
export CARGO_TARGET_DIR=$PWD/target
cargo build --release -p nodebgp -p nodebgp-benches --bins >&2

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')," \
     "$(free -g | awk '/^Mem:/ {print $2}') GiB RAM, kernel $(uname -r), $(rustc --version)"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
target/release/route-load --prefixes "$prefixes" --runs "$runs" \
    --nodebgp "$PWD/target/release/nodebgp" "$@"
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
