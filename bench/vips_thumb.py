#!/usr/bin/env python3
"""libvips side of the thumbnail benchmark (see docs/image-benchmark.md).

A co-process driven by `thumbbench`: reads one JPEG path per line on
stdin, runs the job once on it (the file is read and cached on first
sight, and the job warmed up once, outside the timing) and answers one
tab-separated line:
    ms  width  height  bytes
The job is what imgbucket's does: thumbnail to `width` px wide (height
unconstrained, auto-rotated), JPEG at `quality`, memory to memory.
Single core: the caller pins the CPU and sets VIPS_CONCURRENCY=1.

`vips_thumb.py --load SECONDS WIDTH QUALITY FILE...` is the throughput
side of bench/thumbhttp.py instead: after one warm-up per file it runs the
job over the files in turn for SECONDS and prints how many it finished;
the caller starts one such process per thread.

`vips_thumb.py --decode-limit RUNS FILE...` prints, per file, the median
milliseconds of a bare 1/8-scale decode (`jpegload` with `shrink=8`,
pixels written to memory): the entropy-decoding floor of any thumbnail
job on that file, one core.
"""
import sys
import time

import pyvips

pyvips.cache_set_max(0)


def job(data, width, quality):
    # height=10_000_000 so that the width always binds, as in imgbucket's
    # Fit{width} (vips' default height is the width: a square box).
    img = pyvips.Image.thumbnail_buffer(data, width, height=10_000_000)
    out = img.jpegsave_buffer(Q=quality)
    return img.width, img.height, len(out)


def load(seconds, width, quality, paths):
    files = []
    for path in paths:
        with open(path, "rb") as f:
            files.append(f.read())
        job(files[-1], width, quality)  # warm-up
    done, i = 0, 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        job(files[i % len(files)], width, quality)
        done += 1
        i += 1
    print(done, flush=True)


def decode_limit(runs, paths):
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        times = []
        for _ in range(runs + 1):
            t0 = time.perf_counter()
            pyvips.Image.new_from_buffer(data, "", shrink=8).write_to_memory()
            times.append((time.perf_counter() - t0) * 1000.0)
        times = sorted(times[1:])
        print(f"{times[len(times) // 2]:.3f}", flush=True)


def main():
    if sys.argv[1] == "--decode-limit":
        decode_limit(int(sys.argv[2]), sys.argv[3:])
        return
    if sys.argv[1] == "--load":
        load(float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:])
        return
    width = int(sys.argv[1])
    quality = int(sys.argv[2])
    cache = {}
    for line in sys.stdin:
        path = line.strip()
        if not path:
            continue
        if path not in cache:
            with open(path, "rb") as f:
                cache[path] = f.read()
            job(cache[path], width, quality)  # warm-up
        t0 = time.perf_counter()
        w, h, n = job(cache[path], width, quality)
        ms = (time.perf_counter() - t0) * 1000.0
        print(f"{ms:.3f}\t{w}\t{h}\t{n}", flush=True)


if __name__ == "__main__":
    main()
