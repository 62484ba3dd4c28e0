#!/usr/bin/env python3
"""Thumbnails over HTTP against libvips in-process: the same corpus files,
the same job, the same number of threads, alternating rounds.

The job is thumbbench's (docs/image-benchmark.md): a JPEG of the corpus to
300 px wide, JPEG quality 80.
  * imgbucket: a release server with the variant cache off
    (`[processing] cache_bytes = 0`, so every request decodes and resizes),
    `--threads` client processes, each looping over the files with signed
    GETs of `?x-oss-process=image/resize,w_300/quality,Q_80` on one
    keep-alive connection.
  * libvips: `--threads` processes of `bench/vips_thumb.py --load`
    (pyvips `thumbnail_buffer` + `jpegsave_buffer(Q=80)`, the files in
    memory, `VIPS_CONCURRENCY=1`, operation cache off).
The entropy-decoding floor is measured too: a bare 1/8-scale decode of
each file (`vips_thumb.py --decode-limit`, libjpeg-turbo through libvips,
one core); over a set, images/s per core = files / sum of their times.
imgbucket's share of it is its throughput divided by `--threads`, over
that floor (the HTTP clients run on the same cores and count against it).
Both sides run on the same machine, one after the other in each round, over
the progressive files of the corpus, then over the baseline ones (SOF
marker). The server and its clients share the cores; libvips has no HTTP,
no signature check and no client to pay for.

Run through bench/run-thumb-http-bench.sh (builds the binary, sets up both
virtualenvs).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "s3-compat-tests"))

import s3bench  # noqa: E402
from s3bench import BUCKET, run_pool  # noqa: E402
from s3util import Server  # noqa: E402

QUERY = "x-oss-process=image/resize,w_{w}/quality,Q_{q}"


def sof(data: bytes) -> int | None:
    """The SOF marker code of a JPEG (0xC0 baseline, 0xC2 progressive)."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        m = data[i + 1]
        if m == 0xFF:
            i += 1
            continue
        if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC):
            return m
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return None


def _thumb_worker(args):
    port, keys, offset, seconds, query = args
    client = s3bench.Client(port)
    done, i = 0, offset
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        # Raises on any status >= 300; returns the body's length.
        if client.request("GET", f"/{BUCKET}/{keys[i % len(keys)]}?{query}") == 0:
            raise RuntimeError(f"{keys[i % len(keys)]}: empty thumbnail")
        done += 1
        i += 1
    return done


def run_imgbucket(port, keys, threads, seconds, query):
    counts = run_pool(_thumb_worker, [(port, keys, t, seconds, query) for t in range(threads)], threads)
    return sum(counts) / seconds


def run_vips(python, paths, threads, seconds, width, quality):
    env = dict(os.environ, VIPS_CONCURRENCY="1")
    procs = []
    for t in range(threads):
        # Each process starts at another file, as the HTTP clients do.
        order = paths[t % len(paths):] + paths[:t % len(paths)]
        procs.append(subprocess.Popen(
            [python, str(HERE / "vips_thumb.py"), "--load", str(seconds), str(width), str(quality),
             *map(str, order)], stdout=subprocess.PIPE, text=True, env=env))
    done = 0
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"vips_thumb.py exited with {p.returncode}")
        done += int(out.strip())
    return done / seconds


def decode_floor(python, paths, runs=5):
    """Images/s of one core doing nothing but 1/8-scale decodes of `paths`
    in turn, and each file's milliseconds."""
    out = subprocess.run([python, str(HERE / "vips_thumb.py"), "--decode-limit", str(runs),
                          *map(str, paths)], check=True, capture_output=True, text=True,
                         env=dict(os.environ, VIPS_CONCURRENCY="1")).stdout.split()
    ms = [float(x) for x in out]
    return len(ms) / (sum(ms) / 1000.0), dict(zip([p.name for p in paths], ms))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(REPO.parent / "shared/corpus/jpeg"))
    ap.add_argument("--binary", required=True, help="release imgbucket binary")
    ap.add_argument("--vips-python", required=True, help="python with pyvips (target/bench-venv)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=15.0, help="per side per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--width", type=int, default=300)
    ap.add_argument("--quality", type=int, default=80)
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    os.environ["IMGBUCKET_BIN"] = a.binary

    files = sorted(Path(a.corpus).glob("*.jpg"))
    sets = {"progressive": [], "baseline": []}
    for f in files:
        kind = sof(f.read_bytes())
        if kind == 0xC2:
            sets["progressive"].append(f)
        elif kind in (0xC0, 0xC1):
            sets["baseline"].append(f)
    if not all(sets.values()):
        sys.exit(f"need progressive and baseline JPEGs in {a.corpus}")

    run_dir = Path(tempfile.mkdtemp(prefix="imgbucket-thumbhttp-"))
    config = run_dir / "nocache.toml"
    config.write_text("[processing]\ncache_bytes = 0\n")
    srv = Server(run_dir / "data", run_dir / "server.log", env={"RUST_LOG": "warn"},
                 extra_args=["--config", str(config)])
    srv.start(timeout=60)
    query = QUERY.format(w=a.width, q=a.quality)
    res = {"threads": a.threads, "seconds": a.seconds, "rounds": a.rounds, "query": query,
           "cpus": os.cpu_count(), "loadavg_before": os.getloadavg(), "sets": {}}
    try:
        client = s3bench.Client(srv.port)
        client.request("PUT", f"/{BUCKET}", b"", 0)
        for f in files:
            data = f.read_bytes()
            client.request("PUT", f"/{BUCKET}/{f.name}", data, len(data))
        for name, paths in sets.items():
            keys = [p.name for p in paths]
            # Warm-up: each file once through both, outside the timing.
            run_imgbucket(srv.port, keys, 1, 0.001, query)
            for k in keys:
                s3bench.Client(srv.port).request("GET", f"/{BUCKET}/{k}?{query}")
            rounds = []
            for r in range(a.rounds):
                ours = run_imgbucket(srv.port, keys, a.threads, a.seconds, query)
                theirs = run_vips(a.vips_python, paths, a.threads, a.seconds, a.width, a.quality)
                rounds.append({"imgbucket": ours, "libvips": theirs, "ratio": ours / theirs})
                print(f"{name:<12} round {r + 1}: imgbucket {ours:6.2f}/s  libvips {theirs:6.2f}/s  "
                      f"{ours / theirs:5.2f}x", flush=True)
            med = {k: statistics.median(x[k] for x in rounds) for k in ("imgbucket", "libvips", "ratio")}
            floor, per_file = decode_floor(a.vips_python, paths)
            med["decode_floor_per_core"] = floor
            med["share_of_floor"] = med["imgbucket"] / a.threads / floor
            res["sets"][name] = {"files": keys, "rounds": rounds, "median": med,
                                 "decode_floor_ms": per_file}
    finally:
        srv.stop()
        shutil.rmtree(run_dir, ignore_errors=True)

    print(f"\nthumbnails over HTTP ({query}, {a.threads} threads, {a.seconds:g} s x {a.rounds} rounds "
          f"per side) against libvips thumbnail_buffer in-process, same threads")
    print(f"{'files':<12} {'imgbucket/s':>12} {'libvips/s':>10} {'ratio':>6} "
          f"{'floor/s/core':>13} {'share':>6}  ratio per round")
    for name, s in res["sets"].items():
        m = s["median"]
        per = ", ".join(f"{x['ratio']:.2f}" for x in s["rounds"])
        print(f"{name:<12} {m['imgbucket']:12.2f} {m['libvips']:10.2f} {m['ratio']:6.2f} "
              f"{m['decode_floor_per_core']:13.2f} {m['share_of_floor']:6.0%}  {per}  "
              f"({len(s['files'])} files)")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
