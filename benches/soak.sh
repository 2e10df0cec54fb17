#!/usr/bin/env bash
# The soak-and-faults run at full size (release build): tests/soak.rs with
# its sizes raised. One `nodebgp run` on etcd goes through session flaps
# against real FRR (`clear bgp`), FRR routers killed (SIGKILL) and frozen
# (SIGSTOP past the hold time), sessions reset in the middle of an UPDATE
# (FIN and RST) and etcd outages, after a warm-up round of each; then it
# must hold as many sockets and tasks as when it had settled after the
# warm-up, at most 5% more memory, and every route. Other daemons are killed
# in the middle of a table load and with kernel routes installed (in a
# network namespace of the test's own), and `nodebgp apply` in the middle of
# store writes. Loopback and test namespaces only; needs root for the
# namespace part (skipped otherwise), FRR and etcd installed.
#
#   benches/soak.sh [TEST-NAME-FILTER]
#
# Sizes, each an environment variable (full-size default; CI size in brackets):
#   NODEBGP_SOAK_FLAPS          1000  [50]   session flaps, spread over the flapping routers
#   NODEBGP_SOAK_FLAP_ROUTERS      8   [5]   FRR routers that are flapped
#   NODEBGP_SOAK_KILLS            20   [3]   FRR killed and started again
#   NODEBGP_SOAK_FREEZES          10   [2]   FRR frozen past its 3 s hold time
#   NODEBGP_SOAK_RESETS          100   [6]   sessions reset mid-UPDATE
#   NODEBGP_SOAK_ETCD_OUTAGES      5   [1]   etcd stopped and restarted
#   NODEBGP_SOAK_ROUTES         1000 [200]   prefixes each FRR router sends (at most 1024)
#   NODEBGP_SOAK_STORE_KILLS     500  [16]   `nodebgp apply` killed mid-write
#   NODEBGP_SOAK_LOAD_PREFIXES 1000000 [50000] table the daemon is killed in the middle of
#   NODEBGP_SOAK_DAEMON_KILLS      5   [1]   daemon kills mid-load, and with kernel routes
# NODEBGP_SOAK_SEED=N repeats a run's random points; NODEBGP_SOAK_KEEP=1 keeps
# the daemons' logs and stores. The tests run one at a time, so that the
# memory figures are the daemon's own.
set -euo pipefail
cd "$(dirname "$0")/.."
export NODEBGP_SOAK_FLAPS=${NODEBGP_SOAK_FLAPS:-1000}
export NODEBGP_SOAK_FLAP_ROUTERS=${NODEBGP_SOAK_FLAP_ROUTERS:-8}
export NODEBGP_SOAK_KILLS=${NODEBGP_SOAK_KILLS:-20}
export NODEBGP_SOAK_FREEZES=${NODEBGP_SOAK_FREEZES:-10}
export NODEBGP_SOAK_RESETS=${NODEBGP_SOAK_RESETS:-100}
export NODEBGP_SOAK_ETCD_OUTAGES=${NODEBGP_SOAK_ETCD_OUTAGES:-5}
export NODEBGP_SOAK_ROUTES=${NODEBGP_SOAK_ROUTES:-1000}
export NODEBGP_SOAK_STORE_KILLS=${NODEBGP_SOAK_STORE_KILLS:-500}
export NODEBGP_SOAK_LOAD_PREFIXES=${NODEBGP_SOAK_LOAD_PREFIXES:-1000000}
export NODEBGP_SOAK_DAEMON_KILLS=${NODEBGP_SOAK_DAEMON_KILLS:-5}
# The test finds the daemon next to its own executable.
cargo build --release --locked -p nodebgp
cargo test --release --locked -p nodebgp-interop --test soak -- --nocapture --test-threads 1 "$@"
