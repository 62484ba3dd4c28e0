#!/usr/bin/env python3
"""PUT/GET throughput of imgbucket over loopback, next to the raw floor of
the same machine.

Workloads (same sizes, same concurrency on both sides):
  * 4 KiB objects, N concurrent clients for a fixed time: ops/s, p50, p99.
  * 64 MiB objects, one client: MiB/s.
The peer is the raw floor measured in the same run, in a directory on the same
file system as the server's data: a plain file write + fsync (what a durable
PUT must at least cost) and a plain file read.

The 4 KiB clients are bench/s3load.rs (`--client rust`, the default): one
thread and one keep-alive connection per client, every request signed afresh
with SigV4 and verified by the server, at a few microseconds of CPU per
request. With `--client python` they are separate Python processes using
http.client with keep-alive and a minimal SigV4 signer, as before: about
230 us of CPU per request, on the same cores as the server, which capped the
figure. The 64 MiB client is Python either way. Bodies are sent with
UNSIGNED-PAYLOAD (as SDKs do over TLS) so no client hashes 64 MiB bodies.
Run through bench/run-s3-bench.sh.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
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
sys.path.insert(0, str(REPO / "s3-compat-tests"))

import sigv4  # noqa: E402
from s3util import ACCESS_KEY, SECRET_KEY, Server  # noqa: E402

KIB = 1024
MIB = 1024 * KIB
BUCKET = "bench"


# ------------------------------------------------------------- S3 client

class Client:
    """One keep-alive connection, signing each request."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.signer = sigv4.Signer(ACCESS_KEY, SECRET_KEY)

    def request(self, method: str, path: str, body=None, length: int = 0):
        url = f"http://127.0.0.1:{self.port}{path}"
        headers = {"content-length": str(length)} if body is not None else {}
        payload = sigv4.UNSIGNED if body is not None else sigv4.EMPTY_SHA256
        headers, _, _ = self.signer.sign(method, url, headers, payload)
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        n = 0
        while True:
            chunk = resp.read(1 * MIB)
            if not chunk:
                break
            n += len(chunk)
        if resp.status >= 300:
            raise RuntimeError(f"{method} {path} -> {resp.status}")
        return n


def _small_worker(args):
    """Runs PUTs or GETs of 4 KiB objects for `seconds`; returns latencies."""
    port, mode, worker, seconds, nkeys, size = args
    c = Client(port)
    body = os.urandom(size)
    lat = []
    i = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        if mode == "put":
            key = f"/{BUCKET}/small/{worker}/{i}"
        else:
            key = f"/{BUCKET}/small/{worker}/{i % nkeys}"
        t0 = time.perf_counter()
        if mode == "put":
            c.request("PUT", key, body, len(body))
        else:
            n = c.request("GET", key)
            assert n == size
        lat.append(time.perf_counter() - t0)
        i += 1
    return lat


# --------------------------------------------------------------- raw floor

def _fsync_dir(path: str):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _raw_small_worker(args):
    """write+fsync (mode put) or open+read (mode get) of 4 KiB files."""
    root, mode, worker, seconds, nkeys, size = args
    d = os.path.join(root, f"w{worker}")
    os.makedirs(d, exist_ok=True)
    body = os.urandom(size)
    lat = []
    i = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        if mode == "put":
            p = os.path.join(d, str(i))
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(fd, body)
            os.fsync(fd)
            os.close(fd)
        else:
            p = os.path.join(d, str(i % nkeys))
            with open(p, "rb") as f:
                assert len(f.read()) == size
        lat.append(time.perf_counter() - t0)
        i += 1
    return lat


def run_pool(fn, argv, clients):
    with mp.get_context("fork").Pool(clients) as pool:
        return pool.map(fn, argv)


def summarize_small(per_worker, seconds):
    lat = sorted(x for w in per_worker for x in w)
    if not lat:
        return {"ops": 0, "ops_s": 0.0, "p50_ms": None, "p99_ms": None}
    q = statistics.quantiles(lat, n=100, method="inclusive")
    return {"ops": len(lat), "ops_s": len(lat) / seconds,
            "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000,
            "keys_per_worker": [len(w) for w in per_worker]}


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def children_cpu_seconds() -> float:
    t = os.times()
    return t.children_user + t.children_system


def s3_small(load_client, port, mode, clients, seconds, nkeys, size):
    """One 4 KiB phase: per-worker latency lists, from the Rust load
    generator or from Python client processes (load_client None)."""
    if load_client is None:
        return run_pool(_small_worker, [(port, mode, w, seconds, nkeys, size) for w in range(clients)], clients)
    out = subprocess.run(
        [load_client, "--port", str(port), "--mode", mode, "--clients", str(clients),
         "--seconds", str(seconds), "--size", str(size), "--keys", str(max(1, nkeys)),
         "--bucket", BUCKET, "--prefix", "small",
         "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY],
        check=True, stdout=subprocess.PIPE)
    return json.loads(out.stdout)["latencies"]


def bench_small(port, raw_root, clients, seconds, size, server_pid, load_client):
    res = {}

    def phase(mode, nkeys):
        c0, k0 = cpu_seconds(server_pid), children_cpu_seconds()
        lat = s3_small(load_client, port, mode, clients, seconds, nkeys, size)
        c1, k1 = cpu_seconds(server_pid), children_cpu_seconds()
        r = summarize_small(lat, seconds)
        r["server_cpu_us_per_op"] = (c1 - c0) / max(1, r["ops"]) * 1e6
        r["client_cpu_us_per_op"] = (k1 - k0) / max(1, r["ops"]) * 1e6
        return lat, r

    put, res["s3_put"] = phase("put", 0)
    _, res["s3_get"] = phase("get", max(1, min(len(w) for w in put)))

    rput = run_pool(_raw_small_worker, [(raw_root, "put", w, seconds, 0, size) for w in range(clients)], clients)
    res["raw_put"] = summarize_small(rput, seconds)
    rkeys = max(1, min(len(w) for w in rput))
    rget = run_pool(_raw_small_worker, [(raw_root, "get", w, seconds, rkeys, size) for w in range(clients)], clients)
    res["raw_get"] = summarize_small(rget, seconds)
    return res


def bench_large(port, raw_root, count, size):
    body = os.urandom(size)
    c = Client(port)
    res = {}
    t0 = time.perf_counter()
    for i in range(count):
        c.request("PUT", f"/{BUCKET}/large/{i}", memoryview(body), size)
    res["s3_put_mib_s"] = count * size / MIB / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(count):
        assert c.request("GET", f"/{BUCKET}/large/{i}") == size
    res["s3_get_mib_s"] = count * size / MIB / (time.perf_counter() - t0)

    d = os.path.join(raw_root, "large")
    os.makedirs(d, exist_ok=True)
    t0 = time.perf_counter()
    for i in range(count):
        p = os.path.join(d, str(i))
        with open(p, "wb") as f:
            view = memoryview(body)
            for off in range(0, size, 1 * MIB):  # the same 1 MiB writes a server does
                f.write(view[off:off + MIB])
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(d)
    res["raw_put_mib_s"] = count * size / MIB / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(count):
        with open(os.path.join(d, str(i)), "rb") as f:
            n = 0
            while True:
                b = f.read(1 * MIB)
                if not b:
                    break
                n += len(b)
            assert n == size
    res["raw_get_mib_s"] = count * size / MIB / (time.perf_counter() - t0)
    return res


def fmt_small(r):
    if not r["ops"]:
        return "n/a"
    return f"{r['ops_s']:9.0f} ops/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=str(REPO / "target/release/imgbucket"))
    ap.add_argument("--clients", type=int, default=8, help="concurrent clients for 4 KiB")
    ap.add_argument("--seconds", type=float, default=10.0, help="per 4 KiB phase")
    ap.add_argument("--large-count", type=int, default=6, help="64 MiB objects")
    ap.add_argument("--dir", default=str(REPO / "target" / "bench"),
                    help="work dir (server data and raw-floor files), same disk as a real deployment")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--client", choices=("rust", "python"), default="rust",
                    help="4 KiB load generator: bench/s3load.rs, or Python processes")
    ap.add_argument("--load-client", default=str(REPO / "target/release/examples/s3load"),
                    help="the s3load binary (--client rust)")
    a = ap.parse_args()

    os.environ["IMGBUCKET_BIN"] = a.binary
    load_before = os.getloadavg()
    work = Path(a.dir)
    work.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    raw_root = run_dir / "raw"
    raw_root.mkdir()
    srv = Server(run_dir / "data", run_dir / "server.log", env={"RUST_LOG": "warn"})
    srv.start()
    try:
        c = Client(srv.port)
        c.request("PUT", f"/{BUCKET}", b"", 0)
        print(f"imgbucket {a.binary} on {srv.endpoint}; work dir {run_dir}", flush=True)
        load_client = a.load_client if a.client == "rust" else None
        print(f"4 KiB: {a.clients} {a.client} clients, {a.seconds:.0f} s per phase; "
              f"64 MiB: 1 client, {a.large_count} objects", flush=True)
        small = bench_small(srv.port, str(raw_root), a.clients, a.seconds, 4 * KIB, srv.proc.pid,
                            load_client)
        large = bench_large(srv.port, str(raw_root), a.large_count, 64 * MIB)
    finally:
        rc = srv.stop()
    results = {"clients": a.clients, "client": a.client, "seconds": a.seconds,
               "small": small, "large": large,
               "cpus": os.cpu_count(), "loadavg_before": load_before, "server_exit": rc}

    print()
    print(f"{'workload':<14} {'imgbucket (S3 over loopback)':<44} raw floor (same disk)")
    print(f"{'PUT 4 KiB':<14} {fmt_small(small['s3_put']):<44} {fmt_small(small['raw_put'])}  (write+fsync)")
    print(f"{'GET 4 KiB':<14} {fmt_small(small['s3_get']):<44} {fmt_small(small['raw_get'])}  (open+read)")
    print(f"server CPU per 4 KiB op: PUT {small['s3_put']['server_cpu_us_per_op']:.0f} us, "
          f"GET {small['s3_get']['server_cpu_us_per_op']:.0f} us; "
          f"clients' CPU: PUT {small['s3_put']['client_cpu_us_per_op']:.0f} us, "
          f"GET {small['s3_get']['client_cpu_us_per_op']:.0f} us "
          f"(all on {os.cpu_count()} CPUs); load average before the run {load_before[0]:.2f}")
    print(f"{'PUT 64 MiB':<14} {large['s3_put_mib_s']:9.0f} MiB/s{'':<30} {large['raw_put_mib_s']:9.0f} MiB/s  (write+fsync)")
    print(f"{'GET 64 MiB':<14} {large['s3_get_mib_s']:9.0f} MiB/s{'':<30} {large['raw_get_mib_s']:9.0f} MiB/s  (read)")
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2))
    shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
