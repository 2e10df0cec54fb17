#!/usr/bin/env bash
# Scale and idle cost: N BGP sessions (default 100) between one nodebgp daemon
# and one BIRD process holding the other end of every session, all on
# loopback. Reports, for both processes, RSS and CPU used while the sessions
# sit idle (keepalives only). Needs bird2 and a release build of nodebgp.
#
#   benches/sessions.sh [SESSIONS] [IDLE_SECONDS]
#
# NODEBGP_ARGS adds flags to `nodebgp run` (e.g. --no-fib); SKIP_BUILD=1 uses
# target/release/nodebgp as it is (to compare builds); NODEBGP runs another
# binary or a wrapper (benches/function-order.sh runs the daemon under valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
sessions=${1:-100}
idle=${2:-60}
[ -x /usr/sbin/bird ] || { echo "bird2 is not installed (apt-get install -y bird2)" >&2; exit 1; }
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --locked -p nodebgp >/dev/null
nodebgp=${NODEBGP:-$PWD/target/release/nodebgp}

work=$(mktemp -d "${TMPDIR:-/tmp}/nodebgp-sessions.XXXXXX")
bird_pid=""; daemon_pid=""
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
    [ -n "$bird_pid" ] && kill "$bird_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

node=127.77.1.1
peer() { echo "127.77.$((10 + $1 / 250)).$((1 + $1 % 250))"; }

# BIRD: one protocol per session, each bound to its own loopback address. BIRD
# runs one protocol at a time per (neighbor address, neighbor port), so each
# protocol names a port of its own and waits (passive); nodebgp connects to
# every one of them from its single address.
{
    echo "router id 127.77.0.250;"
    echo "log \"$work/bird.log\" { warning, error };"
    echo "protocol device {}"
    for i in $(seq 0 $((sessions - 1))); do
        cat <<BIRD
protocol bgp p$i {
    local $(peer "$i") port 179 as 65000;
    neighbor $node port $((20000 + i)) as 64512;
    strict bind yes;
    multihop;
    hold time 90;
    connect delay time 1;
    passive on;
    ipv4 { import all; export none; };
}
BIRD
    done
} > "$work/bird.conf"
/usr/sbin/bird -f -c "$work/bird.conf" -s "$work/bird.ctl" -P "$work/bird.pid" &
bird_pid=$!

for i in $(seq 0 $((sessions - 1))); do
    printf 'apiVersion: v1\nkind: bgpPeer\nmetadata:\n  scope: global\n  peerIP: %s\nspec:\n  asNumber: 65000\n---\n' "$(peer "$i")"
done > "$work/peers.yaml"
"$nodebgp" apply -f "$work/peers.yaml" --datastore "file:$work/store" >/dev/null
"$nodebgp" run --node bench --as 64512 --listen "$node" --datastore "file:$work/store" \
    --control-socket "$work/nodebgp.ctl" --connect-retry 1 --log-level ${LOG_LEVEL:-warn} ${NODEBGP_ARGS:-} > "$work/nodebgp.log" 2>&1 &
daemon_pid=$!

# Wait on BIRD's side, so that nodebgp's own status answers (JSON for every
# peer) are not what its memory is measured after.
start=$(date +%s.%N)
established=0
for _ in $(seq 1 600); do
    established=$(birdc -s "$work/bird.ctl" show protocols 2>/dev/null | grep -c Established || true)
    [ "$established" -ge "$sessions" ] && break
    sleep 0.2
done
up=$(echo "$(date +%s.%N) - $start" | bc)
if [ "$established" -lt "$sessions" ]; then
    echo "only $established of $sessions sessions came up; logs:" >&2
    tail -n 20 "$work/nodebgp.log" "$work/bird.log" >&2
    exit 1
fi

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
anon() { awk '/RssAnon/ {print $2}' "/proc/$1/status"; }
n0=$(cpu "$daemon_pid"); b0=$(cpu "$bird_pid")
sleep "$idle"
n1=$(cpu "$daemon_pid"); b1=$(cpu "$bird_pid")
nodebgp_rss=$(rss "$daemon_pid"); nodebgp_anon=$(anon "$daemon_pid")
bird_rss=$(rss "$bird_pid"); bird_anon=$(anon "$bird_pid")
bird_up=$(birdc -s "$work/bird.ctl" show protocols | grep -c Established || true)
still=$("$nodebgp" status -o json --control-socket "$work/nodebgp.ctl" | grep -o '"state": "Established"' | wc -l || true)

echo "sessions: $sessions (after ${idle}s idle: nodebgp Established $still, BIRD Established $bird_up), all up after ${up}s"
printf '%-8s %10s %16s %18s\n' process "RSS (KiB)" "anonymous (KiB)" "CPU over ${idle}s idle"
printf '%-8s %10s %16s %17.2fs\n' nodebgp "$nodebgp_rss" "$nodebgp_anon" "$(echo "($n1 - $n0) / $ticks" | bc -l)"
printf '%-8s %10s %16s %17.2fs\n' BIRD "$bird_rss" "$bird_anon" "$(echo "($b1 - $b0) / $ticks" | bc -l)"
