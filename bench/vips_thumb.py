#!/usr/bin/env python3
"""libvips side of the thumbnail benchmark (see docs/image-benchmark.md).

For each JPEG given: thumbnail to 300 px wide (height unconstrained), save
as JPEG quality 80 from memory to memory, exactly what imgbucket's job
does. Prints one tab-separated line per file:
    path  median_ms  min_ms  width  height  bytes
"""
import statistics
import sys
import time

import pyvips

# Single-core comparison: the caller sets VIPS_CONCURRENCY=1 and pins the CPU.
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
    runs = int(sys.argv[3])
    for path in sys.argv[4:]:
        with open(path, "rb") as f:
            data = f.read()
        job(data, width, quality)  # warm-up
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            w, h, n = job(data, width, quality)
            times.append((time.perf_counter() - t0) * 1000.0)
        print(f"{path}\t{statistics.median(times):.2f}\t{min(times):.2f}\t{w}\t{h}\t{n}", flush=True)


if __name__ == "__main__":
    main()
