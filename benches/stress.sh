#!/usr/bin/env bash
# The reliability stress run at full size: PEERS peers each loading a
# PREFIXES-prefix table into one `nodebgp run` (release build) over real TCP,
# status polled every 0.2 s, a peer deleted and re-added, another's AS
# changed, then SIGINT / SIGTERM (alternating rounds) at a random point.
# Prints the status round trips (p50/p99/max), how long a deleted peer took
# to go, and how long the process took to end after each signal.
#
#   benches/stress.sh [PEERS] [PREFIXES] [ROUNDS]     default 3 1000000 4
#
# Each round is followed by one of BIRD 2 under the same load (status as
# `birdc show protocols`, the probe through `birdc show route`, its exit after
# the same signal): NODEBGP_STRESS_BIRD=0 leaves it out.
# NODEBGP_STRESS_SEED=N repeats a run's random points. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
export NODEBGP_STRESS_PEERS=${1:-3} NODEBGP_STRESS_PREFIXES=${2:-1000000} NODEBGP_STRESS_ROUNDS=${3:-4}
# The test finds the daemon next to its own executable.
cargo build --release --locked -p nodebgp
NODEBGP_STRESS_BIRD=${NODEBGP_STRESS_BIRD:-1} cargo test --release --locked -p nodebgp-interop --test stress -- --nocapture
