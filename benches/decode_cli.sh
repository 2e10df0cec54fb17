#!/usr/bin/env bash
# `nodebgp decode` against bgpkit-parser's command-line tool, whole process,
# on the same BGP4MP dumps, alternating the contenders (issue 12).
#
#   benches/decode_cli.sh [RUNS]        # default 5 runs of each pairing
#   benches/decode_cli.sh --smoke       # a small dump, one run: the script works
#
# Pairings: `nodebgp decode --summary --mrt` vs `bgpkit-parser -e` (count the
# elements), and full output: `nodebgp decode --mrt` (JSON, one object per
# message) vs `bgpkit-parser` (its default, one pipe-separated line per prefix).
# Dumps: make-mrt's 1M prefixes at 4 per UPDATE (250,000 UPDATEs, 100,000
# attribute sets), plain and gzip, and a 4M-prefix dump to show that memory
# does not grow with the file. Prints wall seconds, user+system CPU seconds and
# peak RSS (KiB), median over the runs.
#
# bgpkit-parser's CLI is installed from crates.io into target/bench-tools the
# first time (cargo install bgpkit-parser --version 0.23.0 --features cli).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5
smoke=false
case "${1:-}" in
    --smoke) smoke=true; runs=1 ;;
    "") ;;
    *) runs=$1 ;;
esac

cargo build --release --quiet -p nodebgp -p nodebgp-benches --bin nodebgp --bin make-mrt
nodebgp=target/release/nodebgp
tools=target/bench-tools
bgpkit=$tools/bin/bgpkit-parser
if [ ! -x "$bgpkit" ]; then
    if $smoke; then
        bgpkit=""
        echo "bgpkit-parser CLI not installed in $tools: smoke run of nodebgp alone"
    else
        cargo install --quiet bgpkit-parser --version 0.23.0 --features cli --root "$tools"
    fi
fi

data=target/bench-data
mkdir -p "$data"
if $smoke; then
    dumps=("$data/smoke-10k.mrt")
    [ -f "${dumps[0]}" ] || target/release/make-mrt --prefixes 10000 --shape 4/1k "${dumps[0]}"
else
    dumps=("$data/table-1m-4-100k.mrt" "$data/table-1m-4-100k.mrt.gz" "$data/table-4m-4-100k.mrt")
    [ -f "${dumps[0]}" ] || target/release/make-mrt --prefixes 1000000 --shape 4/100k "${dumps[0]}"
    [ -f "${dumps[1]}" ] || target/release/make-mrt --prefixes 1000000 --shape 4/100k "${dumps[1]}"
    [ -f "${dumps[2]}" ] || target/release/make-mrt --prefixes 4000000 --shape 4/100k "${dumps[2]}"
fi

# One measurement: "wall cpu rss" of COMMAND, its output discarded.
measure() {
    local times
    times=$(mktemp)
    /usr/bin/time -o "$times" -f "%e %U %S %M" "$@" > /dev/null 2>&1
    awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$times"
    rm -f "$times"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '%-28s %-34s %8s %8s %9s\n' dump command wall_s cpu_s rss_kib
for dump in "${dumps[@]}"; do
    declare -A wall=() cpu=() rss=()
    names=("nodebgp decode --summary" "nodebgp decode (JSON)")
    [ -n "$bgpkit" ] && names+=("bgpkit-parser -e" "bgpkit-parser (default)")
    for ((run = 0; run < runs; run++)); do
        # Alternate: each pairing's contenders back to back, the order
        # swapped every run.
        order=(0 2 1 3)
        ((run % 2)) && order=(2 0 3 1)
        for index in "${order[@]}"; do
            [ "$index" -ge "${#names[@]}" ] && continue
            case $index in
                0) result=$(measure "$nodebgp" decode --summary --mrt "$dump") ;;
                1) result=$(measure "$nodebgp" decode --mrt "$dump") ;;
                2) result=$(measure "$bgpkit" -e "$dump") ;;
                3) result=$(measure "$bgpkit" "$dump") ;;
            esac
            read -r w c r <<< "$result"
            wall[$index]+="$w "
            cpu[$index]+="$c "
            rss[$index]+="$r "
        done
    done
    for index in "${!names[@]}"; do
        printf '%-28s %-34s %8s %8s %9s\n' "$(basename "$dump")" "${names[$index]}" \
            "$(tr ' ' '\n' <<< "${wall[$index]}" | grep . | median)" \
            "$(tr ' ' '\n' <<< "${cpu[$index]}" | grep . | median)" \
            "$(tr ' ' '\n' <<< "${rss[$index]}" | grep . | median)"
    done
    unset wall cpu rss
done
