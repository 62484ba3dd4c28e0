#!/usr/bin/env bash
# Builds and runs every cargo-fuzz target of fuzz/ (docs/fuzzing.md).
#
#   scripts/fuzz.sh                 60 s per target
#   scripts/fuzz.sh 3600            an hour per target (the long run)
#   scripts/fuzz.sh 300 dialects    only the named targets
#
# Works on a stable toolchain: the targets are built without a sanitizer
# (`--sanitizer none`), so only `-C` flags reach rustc; coverage still
# comes from LLVM's sancov pass, and Rust's own checks (bounds, overflow
# with -a, the image target's counting allocator) find the bugs. Exits
# non-zero if any target crashes, times out, runs out of memory or fails
# to build. Each target starts from its committed seeds (fuzz/seeds/<t>)
# plus the working corpus it grew before (in the build directory, never
# committed); a crash's input is left under fuzz/artifacts/<t>/.
#
# Environment: FUZZ_JOBS (default 1) runs that many targets at once;
# FUZZ_CODEGEN_UNITS, when set, is passed as --codegen-units (cargo-fuzz
# forces 1 otherwise: the fastest fuzzing, the slowest build; CI's short runs
# set 16); CARGO_TARGET_DIR moves the build (default target/ of the
# repository).
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-60}"
shift || true
cd "$root/fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install cargo-fuzz --locked || exit 1
fi

target_dir="${CARGO_TARGET_DIR:-$root/target}/fuzz"
corpus_root="$target_dir/corpus"
# No sanitizer (stable Rust), debug assertions and overflow checks on, one
# build for every target.
flags=(--sanitizer none --debug-assertions --target-dir "$target_dir")
if [ -n "${FUZZ_CODEGEN_UNITS:-}" ]; then
    flags+=(--codegen-units "$FUZZ_CODEGEN_UNITS")
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

echo "==> building ${#targets[@]} fuzz targets"
t0=$SECONDS
if ! cargo fuzz build "${flags[@]}"; then
    echo "fuzz.sh: the fuzz targets do not build" >&2
    exit 1
fi
echo "    built in $((SECONDS - t0))s"

# Per-target input size: images need room for a real file; the parsers'
# inputs are request heads and bodies, and shorter inputs fuzz faster.
max_len() {
    case "$1" in
        image_execute | jpeg_eighth) echo 65536 ;;
        form_upload | xml_bodies) echo 16384 ;;
        *) echo 4096 ;;
    esac
}

run_one() {
    local t="$1"
    mkdir -p "$corpus_root/$t" "$root/fuzz/artifacts/$t"
    # -timeout: one input taking 10 s is a hang. -rss_limit_mb: the
    # process as a whole (the image target also caps its heap itself).
    cargo fuzz run "${flags[@]}" "$t" "$corpus_root/$t" "seeds/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2560 \
        -max_len="$(max_len "$t")" -print_final_stats=1 \
        -artifact_prefix="$root/fuzz/artifacts/$t/" \
        > "$target_dir/$t.log" 2>&1
    echo "$?" > "$target_dir/$t.rc"
}

failed=()
jobs_max="${FUZZ_JOBS:-1}"
for t in "${targets[@]}"; do
    echo "==> fuzzing $t for ${secs}s"
    rm -f "$target_dir/$t.rc"
    run_one "$t" &
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
        wait -n || true
    done
done
wait
for t in "${targets[@]}"; do
    if [ "$(cat "$target_dir/$t.rc" 2>/dev/null)" != 0 ]; then
        failed+=("$t")
        echo "--- $t failed; the end of its log ($target_dir/$t.log):"
        tail -n 40 "$target_dir/$t.log"
    else
        grep -E '^stat::number_of_executed_units|^#[0-9]+ *DONE' "$target_dir/$t.log" |
            sed "s/^/    $t: /" | tail -n 2
    fi
done

if [ "${#failed[@]}" -ne 0 ]; then
    echo "fuzz.sh: crashes, hangs or OOM in: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "==> every fuzz target ran ${secs}s without a failure"
