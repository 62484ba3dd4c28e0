#!/usr/bin/env bash
# Thumbnail benchmark, imgbucket vs libvips (docs/image-benchmark.md).
# Usage: bench/image-bench.sh [corpus_jpeg_dir] [runs]
# Sets up target/bench-venv (or $BENCH_VENV) with pyvips (+ its binary libvips wheel), builds the
# example in release mode and runs both engines pinned to one core.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS="${1:-../shared/corpus/jpeg}"
RUNS="${2:-7}"
VENV="${BENCH_VENV:-target/bench-venv}"

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    # pyvips-binary ships a libvips build; fall back to a system libvips.
    "$VENV/bin/pip" install --quiet pyvips pyvips-binary || "$VENV/bin/pip" install --quiet pyvips
fi
"$VENV/bin/python" -c 'import pyvips; print("libvips", pyvips.version(0), pyvips.version(1), pyvips.version(2))'

cargo build --release -p imgbucket-imaging --example thumbbench
PIN=()
if command -v taskset >/dev/null; then PIN=(taskset -c 0); fi
# One thread for libvips' own pool as well.
export VIPS_CONCURRENCY=1
"${PIN[@]}" target/release/examples/thumbbench --corpus "$CORPUS" --runs "$RUNS" \
    --python "$VENV/bin/python" --script bench/vips_thumb.py
