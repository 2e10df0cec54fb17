#!/usr/bin/env bash
# Many sessions at once (issue 12): benches/routes.sh with P senders, each with
# its own N prefixes (distinct), every receiver (BIRD, FRR, GoBGP, nodebgp) in
# the same run, interleaved. Default scenarios: 10×100k, 100×10k and 100×100
# (route-server style), the natural table shape.
#
#   benches/sessions_load.sh [RUNS] [PxN...]     e.g. benches/sessions_load.sh 3 10x100000
#
# SHAPE=4/100k packs the tables differently (see benches/shapes.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift $(( $# < 1 ? $# : 1 ))
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(10x100000 100x10000 100x100)
for scenario in "${scenarios[@]}"; do
    sessions=${scenario%x*}
    prefixes=${scenario#*x}
    echo "## $sessions sessions × $prefixes prefixes, shape ${SHAPE:-natural}"
    benches/routes.sh "$prefixes" "$runs" --sessions "$sessions" --shape "${SHAPE:-natural}" \
        2>/dev/null | grep -v -e '<TRACE>' -e '^run '
    echo
done
