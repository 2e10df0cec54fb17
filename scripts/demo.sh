#!/usr/bin/env bash
# The main job on one machine: installs FRR, starts it on 127.0.0.2 (AS 65001),
# builds nodebgp, stores a bgpPeer for it in the embedded datastore and runs
# the daemon on 127.0.0.1 (AS 64512), originating 10.244.1.0/24.
#
#   scripts/demo.sh           run in the foreground until Ctrl-C
#   scripts/demo.sh --check   stop once both sides are Established and FRR has
#                             our prefix; exit non-zero if that does not happen
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
[ "${1:-}" = "--check" ] && check=1

# FRR to peer with, protoc and its .proto files for building the etcd client:
# scripts/packages.txt, the one list scripts/test.sh installs too.
scripts/install-packages.sh
cargo build --release --locked -p nodebgp
nodebgp=$PWD/target/release/nodebgp

work=$(mktemp -d "${TMPDIR:-/tmp}/nodebgp-demo.XXXXXX")
daemon_pid=""
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
    [ -f "$work/frr/bgpd.pid" ] && kill "$(cat "$work/frr/bgpd.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# FRR bgpd alone on loopback: no zebra (-Z), no privilege drop (-S), its own
# vty socket; loopback next hops need allow-martian-nexthop.
mkdir -p "$work/frr"
cat > "$work/frr/bgpd.conf" <<FRR
frr defaults traditional
hostname demo-frr
log file $work/frr/bgpd.log informational
router bgp 65001
 bgp router-id 127.0.0.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp allow-martian-nexthop
 neighbor 127.0.0.1 remote-as 64512
 neighbor 127.0.0.1 update-source 127.0.0.2
 neighbor 127.0.0.1 timers connect 5
 address-family ipv4 unicast
  network 192.0.2.0/24
 exit-address-family
FRR
/usr/lib/frr/bgpd -d -S -Z -l 127.0.0.2 -p 179 -P 0 -f "$work/frr/bgpd.conf" \
    -i "$work/frr/bgpd.pid" --vty_socket "$work/frr"
vtysh() { command vtysh --vty_socket "$work/frr" -d bgpd "$@"; }

cat > "$work/peer.yaml" <<PEER
apiVersion: v1
kind: bgpPeer
metadata:
  scope: global
  peerIP: 127.0.0.2
spec:
  asNumber: 65001
PEER
"$nodebgp" apply -f "$work/peer.yaml" --datastore "file:$work/store"

# --no-fib: the demo peers on loopback, and FRR's next hop (127.0.0.2) is no
# gateway for the host's routing table; a node installs what it learns.
run=("$nodebgp" run --node demo-node --as 64512 --listen 127.0.0.1 --datastore "file:$work/store"
     --control-socket "$work/nodebgp.ctl" --advertise "10.244.1.0/24 64512:100" --no-fib)
if [ "$check" = 0 ]; then
    echo "nodebgp: in another shell, '$nodebgp status --control-socket $work/nodebgp.ctl'"
    echo "         and '$nodebgp routes --control-socket $work/nodebgp.ctl'"
    "${run[@]}" &
    daemon_pid=$!
    wait "$daemon_pid"
    exit
fi
"${run[@]}" > "$work/nodebgp.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 60); do
    if "$nodebgp" status -o json --control-socket "$work/nodebgp.ctl" 2>/dev/null | grep -q '"state": "Established"' \
        && vtysh -c 'show bgp ipv4 unicast 10.244.1.0/24' 2>/dev/null | grep -q '64512' \
        && "$nodebgp" routes 192.0.2.0/24 --control-socket "$work/nodebgp.ctl" 2>/dev/null | grep -q '^>'; then
        "$nodebgp" status --control-socket "$work/nodebgp.ctl"
        "$nodebgp" routes --control-socket "$work/nodebgp.ctl"
        vtysh -c 'show bgp summary'
        echo "demo: OK, nodebgp and FRR are Established, FRR has 10.244.1.0/24 and nodebgp 192.0.2.0/24"
        exit 0
    fi
    sleep 1
done
echo "demo: the session did not come up; nodebgp log:" >&2
cat "$work/nodebgp.log" >&2
exit 1
