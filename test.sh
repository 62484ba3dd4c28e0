#!/usr/bin/env bash
# Runs every test of imgbucket: the Rust unit and integration tests, the
# fuzz targets for a bounded time (scripts/fuzz.sh), then the S3
# compatibility suite (real aws-cli and boto3 against the built binary),
# then that suite again in gateway mode, over a 3-node Garage cluster.
#
#   ./test.sh                  everything
#   ./test.sh -k multipart     extra arguments go to pytest
#
# It installs what it needs first (apt packages, the pinned Python venv in
# target/s3-compat-venv), and skips that quickly when already installed.
# Exits non-zero when anything fails, including a pytest run that collected
# no test.
set -uo pipefail

root="$(cd "$(dirname "$0")" && pwd)"
cd "$root"
# shellcheck source=.ci/deps.sh
source .ci/deps.sh

target_dir="${CARGO_TARGET_DIR:-$root/target}"
venv_python="$(test_venv_dir "$root")/bin/python"
log_dir="$target_dir/test-logs"
mkdir -p "$log_dir"

started=$SECONDS
failed=()
timings=()

# Runs one stage, records its time and whether it failed.
stage() {
    local name="$1"
    shift
    local t0=$SECONDS
    echo
    echo "==> $name"
    "$@"
    local rc=$?
    timings+=("$(printf '%-24s %4ss  exit %s' "$name" $((SECONDS - t0)) "$rc")")
    if [ "$rc" -ne 0 ]; then
        failed+=("$name")
    fi
    return "$rc"
}

# --- 1. set-up -------------------------------------------------------------
if ! stage "system packages" ensure_system_deps; then
    echo "test.sh: cannot install the system packages" >&2
    exit 1
fi
if ! stage "python venv" s3-compat-tests/setup.sh; then
    echo "test.sh: cannot set up the test venv" >&2
    exit 1
fi

# A clean run writes about 7 GB under target/ (dev build and tests, the
# fuzz build, the Garage cluster). A full disk fails every later stage with
# errors that name the stage, not the disk: say it first.
free_kb="$(df -Pk "$target_dir" 2>/dev/null | awk 'NR == 2 { print $4 }')"
if [ -n "$free_kb" ] && [ "$free_kb" -lt $((8 * 1024 * 1024)) ]; then
    echo "test.sh: warning: only $((free_kb / 1024)) MB free under $target_dir;" \
        "a run from a clean clone needs about 7 GB" >&2
fi

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# CI builds from a fresh clone once: incremental state is wasted work there,
# and full debug info mostly costs link time (panics keep file:line with
# line tables). Not applied locally, where it would invalidate the shared
# target/ that plain `cargo` commands use.
if [ "${CI:-}" = "true" ]; then
    export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
    export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}"
fi

# --- 2. build ------------------------------------------------------------
# One profile for everything: dev (the workspace builds dependencies at
# opt-level 2, so the image code is fast enough for the tests).
stage "cargo build" cargo build --workspace
build_rc=$?

# --- 3. Rust tests -------------------------------------------------------
cargo_log="$log_dir/cargo-test.log"
if [ "$build_rc" -eq 0 ]; then
    # --no-fail-fast: run every test binary, so one failure does not hide
    # the others (and the counts below are complete).
    stage "cargo test" bash -c 'set -o pipefail; timeout --kill-after=30 2400 \
        cargo test --workspace --no-fail-fast 2>&1 | tee "$1"' _ "$cargo_log"
else
    echo "(skipping cargo test: build failed)"
    : > "$cargo_log"
fi

# --- 3b. fuzzing ---------------------------------------------------------
# Every cargo-fuzz target of fuzz/ (docs/fuzzing.md) for a bounded time,
# two at a time: a crash, hang or memory-limit breach fails the build. The
# targets build in release with coverage instrumentation (stable Rust,
# no sanitizer), apart from the dev build. FUZZ_SECONDS=0 skips it.
fuzz_seconds="${FUZZ_SECONDS:-40}"
if [ "$build_rc" -eq 0 ] && [ "$fuzz_seconds" -gt 0 ]; then
    stage "fuzz" env FUZZ_JOBS="${FUZZ_JOBS:-2}" FUZZ_CODEGEN_UNITS="${FUZZ_CODEGEN_UNITS:-16}" timeout --kill-after=30 1800 \
        scripts/fuzz.sh "$fuzz_seconds"
fi

# --- 4. S3 compatibility suite against the binary -------------------------
export IMGBUCKET_BIN="${IMGBUCKET_BIN:-$target_dir/debug/imgbucket}"
junit="$log_dir/pytest.xml"
rm -f "$junit"
if [ "$build_rc" -ne 0 ]; then
    echo "(skipping pytest: build failed, the binary would be stale)"
elif [ -x "$IMGBUCKET_BIN" ]; then
    # pytest exits 5 when it collected nothing: that is a failure here too.
    # The outer timeout keeps a hung server from eating the CI budget.
    stage "pytest s3-compat-tests" timeout --signal=INT --kill-after=30 1800 \
        "$venv_python" -m pytest s3-compat-tests \
        -p no:cacheprovider -o junit_family=xunit2 --junitxml="$junit" "$@"
else
    echo "(skipping pytest: no binary at $IMGBUCKET_BIN)"
    failed+=("pytest s3-compat-tests (no binary)")
fi

# --- 5. gateway mode: the suite again, over a 3-node Garage cluster --------
# Garage is built once per machine (`ensure_garage`, a one-time cost) and
# runs as separate processes only. The same script starts it for users
# (docs/deploy.md). Modules about the embedded store itself skip
# themselves, and so do the few tests marked `embedded_only`.
gateway_junit="$log_dir/pytest-gateway.xml"
rm -f "$gateway_junit"
if [ "$build_rc" -eq 0 ] && [ -x "$IMGBUCKET_BIN" ]; then
    if stage "garage install" ensure_garage; then
        cluster_dir="$target_dir/garage-cluster"
        # Below Linux's ephemeral range (32768–60999 by default): a port in
        # it can be held by any outgoing connection, even a self-connected
        # probe of the port itself, and Garage then fails to bind it (seen
        # in a CI rehearsal at the former 39100).
        export GARAGE_BASE_PORT="${GARAGE_BASE_PORT:-29100}"
        bash scripts/garage-cluster.sh stop "$cluster_dir" >/dev/null 2>&1 || true
        rm -rf "$cluster_dir"
        if stage "garage cluster" bash scripts/garage-cluster.sh start "$cluster_dir"; then
            stage "pytest gateway mode" env IMGBUCKET_TEST_BACKEND="$cluster_dir/env" \
                timeout --signal=INT --kill-after=30 1800 \
                "$venv_python" -m pytest s3-compat-tests \
                -p no:cacheprovider -o junit_family=xunit2 --junitxml="$gateway_junit" "$@"
        fi
        bash scripts/garage-cluster.sh stop "$cluster_dir" >/dev/null 2>&1 || true
    fi
fi

# --- 6. summary ----------------------------------------------------------
echo
echo "==> summary"
for t in "${timings[@]}"; do echo "  $t"; done
echo "  total                    $((SECONDS - started))s"

# cargo: one "test result:" line per test binary; add them up.
read -r c_pass c_fail c_ign < <(awk '
    /^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i+1) ~ /^passed/)  p += $i
            if ($(i+1) ~ /^failed/)  f += $i
            if ($(i+1) ~ /^ignored/) g += $i
        }
    }
    END { printf "%d %d %d\n", p, f, g }' "$cargo_log")
echo "  cargo test:  $c_pass passed, $c_fail failed, $c_ign ignored"

# pytest: counts from its JUnit report.
read -r p_pass p_fail p_skip < <("$venv_python" - "$junit" "$gateway_junit" <<'PY'
import sys, xml.etree.ElementTree as ET
tests = bad = skipped = 0
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        continue
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    tests += sum(int(s.get("tests", 0)) for s in suites)
    bad += sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped += sum(int(s.get("skipped", 0)) for s in suites)
print(tests - bad - skipped, bad, skipped)
PY
)
echo "  pytest:      $p_pass passed, $p_fail failed, $p_skip skipped/xfailed"

if [ "$((p_pass + p_fail))" -eq 0 ] && [ "$build_rc" -eq 0 ] && [ -x "$IMGBUCKET_BIN" ]; then
    failed+=("pytest ran no test")
fi
if [ "$((c_pass + c_fail))" -eq 0 ] && [ "$build_rc" -eq 0 ]; then
    echo "  (warning: cargo test ran no test)"
fi

if [ "${#failed[@]}" -ne 0 ]; then
    echo "  FAILED stages: ${failed[*]}"
fi
echo "total: $((c_pass + p_pass)) passed, $((c_fail + p_fail)) failed"
[ "${#failed[@]}" -eq 0 ]
