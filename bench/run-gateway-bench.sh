#!/usr/bin/env bash
# One command for the gateway-mode benchmark (docs/benchmarks.md, "Gateway
# mode over Garage"): builds the release binary, starts its own 3-node Garage
# cluster with scripts/garage-cluster.sh, runs bench/gatewaybench.py, then
# stops the cluster and removes its directory. Arguments go to
# gatewaybench.py, e.g.
#   bench/run-gateway-bench.sh --clients 4 --seconds 5 --json out.json
# The cluster's ports start at $GARAGE_BASE_PORT (default 39800 here, away
# from the 3900 that the script and the tests use by default).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=../.ci/deps.sh
source .ci/deps.sh
ensure_system_deps
s3-compat-tests/setup.sh
GARAGE_BIN="$(ensure_garage)"
export GARAGE_BIN
cargo build --release --bin imgbucket
target_dir="${CARGO_TARGET_DIR:-$root/target}"

mkdir -p "$target_dir/bench"
work="$(mktemp -d "$target_dir/bench/gateway-XXXXXX")"
cleanup() {
    bash scripts/garage-cluster.sh stop "$work/garage" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
py=""
# Python stops its imgbucket nodes on SIGTERM; then the EXIT trap stops Garage.
stop_py() {
    [ -n "$py" ] && kill -TERM "$py" 2>/dev/null && wait "$py" || true
    exit "$1"
}
trap 'stop_py 130' INT
trap 'stop_py 143' TERM

GARAGE_BASE_PORT="${GARAGE_BASE_PORT:-39800}" bash scripts/garage-cluster.sh start "$work/garage" >/dev/null
"$(test_venv_dir "$root")/bin/python" bench/gatewaybench.py \
    --binary "$target_dir/release/imgbucket" --garage-env "$work/garage/env" --dir "$work" "$@" &
py=$!
wait "$py"
