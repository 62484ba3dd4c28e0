#!/usr/bin/env bash
# Thumbnails over HTTP against libvips in-process, same files, same threads
# (docs/image-benchmark.md, "Over HTTP"): builds the release binary, sets
# up the test virtualenv (HTTP clients) and target/bench-venv (pyvips), then
# runs bench/thumbhttp.py. Arguments go to thumbhttp.py, e.g.
#   bench/run-thumb-http-bench.sh --seconds 10 --rounds 3 --json out.json
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=../.ci/deps.sh
source .ci/deps.sh
ensure_system_deps
s3-compat-tests/setup.sh
venv="${BENCH_VENV:-target/bench-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet pyvips pyvips-binary || "$venv/bin/pip" install --quiet pyvips
fi
cargo build --release --bin imgbucket
target_dir="${CARGO_TARGET_DIR:-$root/target}"
exec "$(test_venv_dir "$root")/bin/python" bench/thumbhttp.py --binary "$target_dir/release/imgbucket" \
    --vips-python "$venv/bin/python" "$@"
