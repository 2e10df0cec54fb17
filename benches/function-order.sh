#!/usr/bin/env bash
# Lists the functions a running nodebgp daemon executes, for the linker to
# place next to each other (crates/nodebgp/function-order.txt, which
# crates/nodebgp/build.rs hands to LLD; benches/RESULTS.md 6.17 says why).
#
# Runs route-load's scenarios against the release daemon under valgrind's
# callgrind (a table in and out of the kernel, IPv6, many sessions with
# clients to advertise to, a flapping peer, a graceful restart) and
# benches/sessions.sh (sessions to BIRD, idle), takes the
# functions of the binary each daemon executed, and writes them, headed by
# the toolchain and Cargo.lock they were made for. Make the list again when a
# release build warns that it was made for another toolchain or Cargo.lock.
# Needs valgrind (and bird2 for the sessions); takes about seven minutes.
#
#   benches/function-order.sh           # writes crates/nodebgp/function-order.txt
#   benches/function-order.sh --check   # how many listed functions the build has
set -euo pipefail
cd "$(dirname "$0")/.."
# sort and comm in one order whoever runs this: the list is committed.
export LC_ALL=C
list=crates/nodebgp/function-order.txt
cargo build --release --locked -p nodebgp -p nodebgp-benches --bins >/dev/null
nodebgp=$PWD/target/release/nodebgp

symbols() { nm --defined-only "$nodebgp" | awk '$2 ~ /^[tTwW]$/ { print $3 }' | sort -u; }

if [ "${1:-}" = --check ]; then
    listed=$(grep -vc '^#' "$list" || true)
    found=$(comm -12 <(symbols) <(grep -v '^#' "$list" | sort -u) | wc -l)
    echo "$found of the $listed functions $list names are in $nodebgp"
    # Most of them gone: the list was made for another build.
    [ $((found * 10)) -ge $((listed * 9)) ]
    exit
fi

command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install -y valgrind)" >&2; exit 1; }
# What the list is made for (rustc, Cargo.lock), as crates/nodebgp/build.rs wrote it.
stamp=$(ls -t target/release/build/nodebgp-*/out/function-order.stamp 2>/dev/null | head -1 || true)
[ -n "$stamp" ] || { echo "this build does not link with LLD: no list (crates/nodebgp/build.rs)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/nodebgp-function-order.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# The daemon under callgrind, names as the linker knows them. The allocator
# tunables are set here so that the daemon does not run itself again (it would
# leave valgrind).
cat >"$work/nodebgp" <<EOF
#!/bin/sh
export GLIBC_TUNABLES=glibc.malloc.mxfast=0:glibc.malloc.tcache_count=64:glibc.malloc.mmap_threshold=131072:glibc.malloc.arena_max=1
exec valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/callgrind.%p" "$nodebgp" "\$@"
EOF
chmod +x "$work/nodebgp"

# One scenario: the daemon lingers after the load, is told to write its
# counts then (a daemon that is killed writes none), and is stopped.
scenario() {
    local log="$work/route-load.log" pid=""
    echo "route-load $*" >&2
    target/release/route-load "$@" --runs 1 --only nodebgp --nodebgp "$work/nodebgp" \
        --timeout 600 --linger 20 >"$log" 2>&1 &
    local load=$!
    for _ in $(seq 1200); do
        pid=$(sed -n 's/.*lingering .*(pid \([0-9]*\)).*/\1/p' "$log" | head -1)
        [ -n "$pid" ] || ! kill -0 "$load" 2>/dev/null && break
        sleep 0.5
    done
    [ -n "$pid" ] || { cat "$log" >&2; echo "route-load $* did not linger" >&2; exit 1; }
    callgrind_control --dump "$pid" >/dev/null 2>&1 ||
        { cat "$log" >&2; echo "callgrind_control could not reach pid $pid" >&2; exit 1; }
    wait "$load" || { cat "$log" >&2; echo "route-load $* failed" >&2; exit 1; }
}
scenario --prefixes 100000 --fib --churn
scenario --prefixes 20000 --ipv6 --fib
scenario --prefixes 10000 --sessions 10 --clients 2
scenario --prefixes 100 --sessions 100
scenario --prefixes 20000 --shape 1/100k --flap 3
scenario --prefixes 20000 --fib --restart
# Sessions the daemon connects out to (BIRD holds the other ends), idle past
# their first keepalives; the daemon writes its counts when it is stopped.
if [ -x /usr/sbin/bird ]; then
    echo "benches/sessions.sh 100 40" >&2
    NODEBGP="$work/nodebgp" SKIP_BUILD=1 benches/sessions.sh 100 40 >"$work/sessions.log" 2>&1 ||
        { tail -n 20 "$work/sessions.log" >&2; exit 1; }
else
    echo "bird2 is not installed: the sessions scenario is left out" >&2
fi

# Every function a daemon (not a command such as `apply` or `status`) entered
# or called, that the binary defines, in the order the linker is to place
# them: what every daemon ran first (start-up, sessions, the RIB), then what
# fewer of them ran, each set of daemons' functions together. A daemon that
# never writes the kernel or meets IPv6 then leaves those functions' pages
# alone, where an alphabetical list spread them over all of the hot code.
# One column a daemon, in the order the daemons wrote their counts.
ordered() {
    local profiles=() daemons=()
    mapfile -t profiles < <(grep -l '^cmd: .* run ' "$work"/callgrind.* || true)
    [ "${#profiles[@]}" -gt 0 ] || return 0
    mapfile -t daemons < <(ls -tr -- "${profiles[@]}")
    local index=0 counts
    for counts in "${daemons[@]}"; do
        sed -n 's/^c\{0,1\}fn=([0-9]*) //p' "$counts" | sort -u | sed "s/^/$index /"
        index=$((index + 1))
    done | awk -v daemons="${#daemons[@]}" '
        {
            daemon = $1; $1 = ""; name = substr($0, 2)
            if (!(name in seen)) {
                seen[name] = ""
                for (column = 0; column < daemons; column++) seen[name] = seen[name] "0"
            }
            seen[name] = substr(seen[name], 1, daemon) "1" substr(seen[name], daemon + 2)
            count[name]++
        }
        END { for (name in count) print count[name], seen[name], name }' |
        sort -k1,1nr -k2,2r -k3,3 | cut -d' ' -f3- |
        awk 'NR == FNR { defined[$0] = 1; next } $0 in defined' <(symbols) -
}
{
    echo "# The functions a running nodebgp daemon executes, which the linker places"
    echo "# together (crates/nodebgp/build.rs). Made by benches/function-order.sh on"
    echo "# $(git rev-parse --short HEAD); not edited by hand."
    cat "$stamp"
    ordered
} >"$list.new"
# A header alone would be a list that orders nothing.
grep -qv '^#' "$list.new" || { rm -f "$list.new"; echo "no daemon's functions were recorded" >&2; exit 1; }
mv "$list.new" "$list"
echo "$(grep -vc '^#' "$list") functions in $list"
