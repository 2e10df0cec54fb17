#!/usr/bin/env bash
# Table shapes (issue 12): benches/routes.sh once per table shape, every
# receiver (BIRD, FRR, GoBGP, nodebgp) in the same run, so that per-UPDATE
# and per-attribute-set costs show, not only the per-prefix cost of the
# natural table (~10 prefixes per UPDATE, few sets).
#
#   benches/shapes.sh [PREFIXES] [RUNS] [SHAPE...]
#
# Default shapes: natural, 1/100k, 4/100k, 10/100k, 50/1k, 4/500k
# (PER_UPDATE/SETS: prefixes per UPDATE, distinct attribute sets per table).
set -euo pipefail
cd "$(dirname "$0")/.."
prefixes=${1:-1000000}
runs=${2:-3}
shift $(( $# < 2 ? $# : 2 ))
shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(natural 1/100k 4/100k 10/100k 50/1k 4/500k)
for shape in "${shapes[@]}"; do
    echo "## shape $shape"
    benches/routes.sh "$prefixes" "$runs" --shape "$shape" | grep -v '^run '
    echo
done
