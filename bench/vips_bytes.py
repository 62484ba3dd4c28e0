#!/usr/bin/env python3
"""libvips side of the bytes and quality benchmark (docs/image-benchmark.md,
"Bytes per image").

A co-process driven by `bytesbench`: reads one tab-separated job per line on
stdin,
    path  width  format  quality
where format is jpeg, webp or avif and quality a number or `default`; makes
the thumbnail as imgbucket's job does (`width` px wide, height unconstrained,
auto-rotated), saves it with metadata stripped, writes it to a temporary file
and answers that file's path on one line. The caller reads and removes it.
"""
import os
import sys
import tempfile

import pyvips

pyvips.cache_set_max(0)


def save(img, fmt, quality):
    opts = {"strip": True}
    if quality != "default":
        opts["Q"] = int(quality)
    if fmt == "jpeg":
        return img.jpegsave_buffer(**opts)
    if fmt == "webp":
        return img.webpsave_buffer(**opts)
    if fmt == "avif":
        return img.heifsave_buffer(compression="av1", **opts)
    raise ValueError(f"unknown format {fmt}")


def main():
    cache = {}
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        path, width, fmt, quality = line.split("\t")
        if path not in cache:
            with open(path, "rb") as f:
                cache = {path: f.read()}
        # height=10_000_000 so that the width always binds, as in
        # imgbucket's Fit{width} (vips' default height is the width).
        img = pyvips.Image.thumbnail_buffer(cache[path], int(width), height=10_000_000)
        out = save(img, fmt, quality)
        fd, name = tempfile.mkstemp(prefix="vips-bytes-", suffix="." + fmt)
        with os.fdopen(fd, "wb") as f:
            f.write(out)
        print(name, flush=True)


if __name__ == "__main__":
    main()
