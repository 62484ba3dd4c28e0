#!/usr/bin/env bash
# One command for the S3 throughput benchmark: builds the release binary and
# the load generator, then runs bench/s3bench.py (imgbucket over loopback
# next to the raw write+fsync / read floor of the same disk). Arguments go
# to s3bench.py, e.g. bench/run-s3-bench.sh --clients 4 --seconds 5 --json
# out.json, or --client python for the old Python clients.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=../.ci/deps.sh
source .ci/deps.sh
ensure_system_deps
s3-compat-tests/setup.sh
cargo build --release --bin imgbucket
# The 4 KiB load generator (bench/s3load.rs), built on its own: an example
# takes the dev-dependencies' features, which the server binary must not.
cargo build --release --example s3load
target_dir="${CARGO_TARGET_DIR:-$root/target}"
exec "$(test_venv_dir "$root")/bin/python" bench/s3bench.py --binary "$target_dir/release/imgbucket" \
    --load-client "$target_dir/release/examples/s3load" "$@"
