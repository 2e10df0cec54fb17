#!/usr/bin/env bash
# Egress and a flapping neighbor (issue 12), every receiver in the same run,
# interleaved:
#   * fan-out: one eBGP table of PREFIXES in, advertised to C iBGP clients
#     (route-load --clients C; the clock stops when every client has been
#     sent everything), for each C given (default 10 and 100);
#   * flap: the 1M table loaded while one more neighbor flaps the table's
#     first 100,000 prefixes every second (route-load --flap).
#
#   benches/fan_out.sh [RUNS] [PREFIXES] [C...]     e.g. benches/fan_out.sh 3 1000000 10
#
# ONLY=bird,frr,nodebgp,null leaves a receiver out (GoBGP takes minutes per
# run at 1M prefixes to 10 clients). Loopback only (127.0.0.0/8).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
prefixes=${2:-1000000}
shift $(( $# < 2 ? $# : 2 ))
clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(10 100)
only=${ONLY:-bird,frr,gobgp,nodebgp,null}
for count in "${clients[@]}"; do
    echo "## fan-out: $prefixes prefixes to $count iBGP clients"
    benches/routes.sh "$prefixes" "$runs" --clients "$count" --only "$only" --timeout 900 \
        2>/dev/null | grep -v -e '<TRACE>'
    echo
done
if [ -z "${SKIP_FLAP:-}" ]; then
    echo "## a neighbor flapping 100,000 of the 1M prefixes every second while they load"
    benches/routes.sh 1000000 "$runs" --flap 100000 --only "$only" 2>/dev/null | grep -v -e '<TRACE>'
fi
