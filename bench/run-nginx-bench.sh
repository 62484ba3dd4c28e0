#!/usr/bin/env bash
# One command for the small-read benchmark against nginx (docs/benchmarks.md,
# "Small GETs against nginx"): builds the release binary, installs wrk and
# nginx if missing (Debian packages), then runs bench/nginxbench.py.
# Arguments go to nginxbench.py, e.g.
#   bench/run-nginx-bench.sh --seconds 5 --json out.json
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=../.ci/deps.sh
source .ci/deps.sh
ensure_system_deps
ensure_apt_packages wrk nginx
s3-compat-tests/setup.sh
cargo build --release --bin imgbucket
target_dir="${CARGO_TARGET_DIR:-$root/target}"
exec "$(test_venv_dir "$root")/bin/python" bench/nginxbench.py --binary "$target_dir/release/imgbucket" "$@"
