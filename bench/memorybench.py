"""Memory under load: thumbnails of the corpus photos by many clients.

Starts the release binary on a fresh data dir (variant cache off, so every
request is computed), uploads the corpus JPEGs, then runs N client threads
for a fixed time, each on its own keep-alive connection, asking for
`x-oss-process=image/resize,w_<100..900>/format,<jpg|webp|avif>` of a random
photo. Prints throughput, p50/p99 latency of the answered requests, answers
by status code, the server's peak RSS (VmHWM) and its RSS after an idle
period. See docs/benchmarks.md, "Memory under load".
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "s3-compat-tests"))

import os  # noqa: E402

import sigv4  # noqa: E402
from s3util import ACCESS_KEY, SECRET_KEY, Server  # noqa: E402

MIB = 1024 * 1024
BUCKET = "membench"


class Client:
    """One keep-alive connection, signing each request (SigV4)."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.signer = sigv4.Signer(ACCESS_KEY, SECRET_KEY)

    def request(self, method: str, path: str, body: bytes | None = None):
        url = f"http://127.0.0.1:{self.port}{path}"
        headers = {"content-length": str(len(body))} if body is not None else {}
        payload = sigv4.UNSIGNED if body is not None else sigv4.EMPTY_SHA256
        headers, _, _ = self.signer.sign(method, url, headers, payload)
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        return resp.status, data


def proc_status(pid: int, field: str) -> int:
    """A `kB` field of /proc/<pid>/status, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def worker(port, keys, formats, op, deadline, seed, out):
    rnd = random.Random(seed)
    c = Client(port)
    lat, codes = [], Counter()
    while time.monotonic() < deadline:
        key = rnd.choice(keys)
        w = rnd.randint(100, 900)
        fmt = rnd.choice(formats)
        path = f"/{BUCKET}/{key}?x-oss-process=" + op.format(w=w, fmt=fmt)
        t0 = time.monotonic()
        try:
            status, body = c.request("GET", path)
        except (OSError, http.client.HTTPException):
            codes["conn-error"] += 1
            c = Client(port)
            continue
        dt = time.monotonic() - t0
        if status == 503 and b"SlowDown" not in body:
            codes["503-other"] += 1
        else:
            codes[str(status)] += 1
        if status == 200:
            lat.append(dt)
    out.append((lat, codes))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=str(REPO / "target/release/imgbucket"))
    ap.add_argument("--label", default="", help="name printed with the results")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--idle", type=float, default=30.0, help="seconds idle before the last RSS")
    ap.add_argument("--formats", default="jpg,webp,avif")
    ap.add_argument("--corpus", default=str(REPO.parent / "shared/corpus/jpeg"))
    ap.add_argument("--glob", default="*.jpg", help="which corpus files")
    ap.add_argument("--op", default="image/resize,w_{w}/format,{fmt}",
                    help="the x-oss-process value; {w} is the random width, {fmt} the format")
    ap.add_argument("--config", default="", help="extra [processing] lines for imgbucket.toml")
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server")
    ap.add_argument("--dir", default=str(REPO / "target" / "bench"))
    ap.add_argument("--json", help="append the results (one JSON line) to this file")
    a = ap.parse_args()

    os.environ["IMGBUCKET_BIN"] = a.binary
    work = Path(a.dir)
    work.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="mem-", dir=work))
    cfg = run_dir / "imgbucket.toml"
    cfg.write_text("[processing]\ncache_bytes = 0\n" + a.config.replace("\\n", "\n") + "\n")
    env = {"RUST_LOG": "warn"}
    env.update(dict(e.split("=", 1) for e in a.env))
    srv = Server(run_dir / "data", run_dir / "server.log", env=env,
                 extra_args=["--config", str(cfg)])
    srv.start()
    try:
        c = Client(srv.port)
        c.request("PUT", f"/{BUCKET}", b"")
        keys = []
        for p in sorted(Path(a.corpus).glob(a.glob)):
            status, _ = c.request("PUT", f"/{BUCKET}/{p.name}", p.read_bytes())
            assert status == 200, (p, status)
            keys.append(p.name)
        pid = srv.proc.pid
        rss_start = proc_status(pid, "VmRSS")
        formats = a.formats.split(",")
        print(f"{a.label or a.binary}: {a.clients} clients, {a.seconds:.0f} s, "
              f"{len(keys)} photos, formats {formats}, RSS at start {rss_start / MIB:.0f} MiB",
              flush=True)
        out: list = []
        deadline = time.monotonic() + a.seconds
        threads = [threading.Thread(target=worker,
                                    args=(srv.port, keys, formats, a.op, deadline, i, out))
                   for i in range(a.clients)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
        peak = proc_status(pid, "VmHWM")
        rss_end = proc_status(pid, "VmRSS")
        time.sleep(a.idle)
        rss_idle = proc_status(pid, "VmRSS")
    finally:
        rc = srv.stop()
    lat = sorted(x for lt, _ in out for x in lt)
    codes = Counter()
    for _, cs in out:
        codes.update(cs)
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [0.0] * 99
    res = {
        "label": a.label, "clients": a.clients, "seconds": elapsed, "formats": formats,
        "ok": len(lat), "throughput_rps": len(lat) / elapsed,
        "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000, "codes": dict(codes),
        "peak_rss_mib": peak / MIB, "rss_end_mib": rss_end / MIB,
        "rss_idle_mib": rss_idle / MIB, "idle_s": a.idle, "server_exit": rc,
        "op": a.op, "glob": a.glob, "config": a.config, "env": a.env, "loadavg": os.getloadavg(),
    }
    print(f"  throughput {res['throughput_rps']:.2f} img/s ({len(lat)} ok), "
          f"p50 {res['p50_ms']:.0f} ms, p99 {res['p99_ms']:.0f} ms")
    print(f"  answers by status: {dict(sorted(codes.items()))}")
    print(f"  peak RSS {res['peak_rss_mib']:.0f} MiB, at the end of the load "
          f"{res['rss_end_mib']:.0f} MiB, after {a.idle:.0f} s idle {res['rss_idle_mib']:.0f} MiB",
          flush=True)
    if a.json:
        with open(a.json, "a") as f:
            f.write(json.dumps(res) + "\n")
    shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
