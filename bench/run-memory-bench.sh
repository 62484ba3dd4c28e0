#!/usr/bin/env bash
# One command for the memory benchmark (docs/benchmarks.md, "Memory under
# load"): builds the release binary, then runs bench/memorybench.py against
# it: 32 clients for 60 s over JPEG, WebP and AVIF thumbnails of the corpus
# photos, then 30 s idle. Arguments go to memorybench.py (e.g. --clients 8
# --seconds 20 --formats webp). With BASELINE_BIN=<binary> the same load
# runs first against that binary (e.g. one built from commit 15b2f01).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=../.ci/deps.sh
source .ci/deps.sh
ensure_system_deps
s3-compat-tests/setup.sh
cargo build --release --bin imgbucket
target_dir="${CARGO_TARGET_DIR:-$root/target}"
py="$(test_venv_dir "$root")/bin/python"
if [ -n "${BASELINE_BIN:-}" ]; then
    "$py" bench/memorybench.py --binary "$BASELINE_BIN" --label baseline "$@"
fi
exec "$py" bench/memorybench.py --binary "$target_dir/release/imgbucket" --label current "$@"
