#!/usr/bin/env bash
# The measurement behind the allocator choice (docs/memory.md): one binary
# built with the system allocator (e.g. from commit 15b2f01), run under
# glibc's malloc as is, with MALLOC_ARENA_MAX=2, and with jemalloc or
# mimalloc preloaded (Debian's libjemalloc2 and libmimalloc2.0), 8 clients
# for 20 s, JPEG then WebP thumbnails, 30 s idle after each.
# Usage: bench/allocator-evidence.sh <binary> [results.jsonl]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bin="$1"
out="${2:-target/bench/allocators.jsonl}"
mkdir -p "$(dirname "$out")"
py="${PYTHON:-target/s3-compat-venv/bin/python}"
lib=/usr/lib/x86_64-linux-gnu
run() {
    local label="$1" formats="$2"
    shift 2
    "$py" bench/memorybench.py --binary "$bin" --label "$label" --clients 8 --seconds 20 \
        --idle 30 --formats "$formats" --json "$out" "$@"
}
for f in jpg webp; do
    run "glibc $f" "$f"
    run "jemalloc $f" "$f" --env "LD_PRELOAD=$lib/libjemalloc.so.2" \
        --env "MALLOC_CONF=background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0"
done
run "glibc MALLOC_ARENA_MAX=2 webp" webp --env MALLOC_ARENA_MAX=2
run "mimalloc webp" webp --env "LD_PRELOAD=$lib/libmimalloc.so.2"
