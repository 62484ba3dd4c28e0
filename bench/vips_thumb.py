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


def main():
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
