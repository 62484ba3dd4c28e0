#!/usr/bin/env python3
"""Gateway mode over Garage: imgbucket-over-Garage next to Garage itself, and
gateway-mode image processing next to embedded mode, in one run.

Workloads:
  1. S3 PUT/GET of 4 KiB objects (ops/s, N clients, fixed time per phase) and
     of 64 MiB objects (MiB/s, N clients, fixed count), through an imgbucket
     gateway node vs straight to Garage node 1 (backend key, region garage).
     Same client code for both targets (bench/s3bench.py's).
  2. Thumbnails/s of a real 12+ MP JPEG (x-oss-process=image/resize,w_300)
     with 2 clients, gateway node vs an embedded node, variant cache off
     (`[processing] cache_bytes = 0`), so every request decodes and resizes.
     The gateway node keeps its default copy of the source (one HEAD per
     thumbnail); a second gateway node without copies
     (`source_cache_bytes = 0`: one GET of the source per thumbnail) runs
     in the same rounds, for reference.
  3. Latency of one cached variant requested over and over by one client, the
     cache on: gateway (one HEAD to the backend per request to revalidate the
     source's ETag) vs embedded; with the latency of a bare HEAD straight to
     Garage for reference.

Garage is started by bench/run-gateway-bench.sh (scripts/garage-cluster.sh);
this script gets its env file with --garage-env. Run through that script.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "s3-compat-tests"))

import s3bench  # noqa: E402
import sigv4  # noqa: E402
from s3bench import (BUCKET, KIB, MIB, _small_worker, cpu_seconds,  # noqa: E402
                     run_pool, summarize_small)
from s3util import (ACCESS_KEY, REGION, SECRET_KEY, Server, backend_env,  # noqa: E402
                    gateway_args)

THUMB_QUERY = "x-oss-process=image/resize,w_300"
DEFAULT_IMAGE = "dragonfly-4224x3168.jpg"  # 13.4 MP camera photo, 1.5 MB

# ------------------------------------------------------------------ targets

# port -> (access key, secret key, region, bucket). Filled before the client
# pools fork, so the workers see it.
TARGETS: dict[int, tuple[str, str, str, str]] = {}


class TargetClient(s3bench.Client):
    """s3bench's client, signing with the key and region of its target and
    using its bucket in place of s3bench's fixed one (the direct-to-Garage
    runs use a bucket of their own, since imgbucket's bucket `bench` is
    Garage's bucket `bench`)."""

    def __init__(self, port: int):
        super().__init__(port)
        access, secret, region, bucket = TARGETS.get(port, (ACCESS_KEY, SECRET_KEY, REGION, BUCKET))
        self.signer = sigv4.Signer(access, secret, region)
        self.bucket = bucket

    def _path(self, path: str) -> str:
        if path == f"/{BUCKET}" or path.startswith(f"/{BUCKET}/"):
            return f"/{self.bucket}" + path[len(BUCKET) + 1:]
        return path

    def request(self, method: str, path: str, body=None, length: int = 0):
        return super().request(method, self._path(path), body, length)

    def get_headers(self, path: str) -> tuple[int, http.client.HTTPMessage]:
        """GET, returning (body length, response headers)."""
        path = self._path(path)
        headers, _, _ = self.signer.sign("GET", f"http://127.0.0.1:{self.port}{path}", {},
                                         sigv4.EMPTY_SHA256)
        self.conn.request("GET", path, headers=headers)
        resp = self.conn.getresponse()
        n = len(resp.read())
        if resp.status >= 300:
            raise RuntimeError(f"GET {path} -> {resp.status}")
        return n, resp.headers


# s3bench's workers build their connections through this name.
s3bench.Client = TargetClient


# ------------------------------------------------------------------ workers

def _large_worker(args):
    """PUTs (or GETs, `rounds` times over) `count` objects of `size` bytes;
    returns (bytes moved, start, end) with perf_counter times, which are
    comparable across processes (CLOCK_MONOTONIC)."""
    port, mode, worker, count, size, rounds = args
    c = TargetClient(port)
    body = memoryview(os.urandom(size)) if mode == "put" else None
    moved = 0
    t0 = time.perf_counter()
    for r in range(rounds if mode == "get" else 1):
        for i in range(count):
            key = f"/{BUCKET}/large/{worker}/{i}"
            if mode == "put":
                c.request("PUT", key, body, size)
            else:
                assert c.request("GET", key) == size
            moved += size
    return moved, t0, time.perf_counter()


def _get_worker(args):
    """GETs `path` for `seconds`; returns (latencies, {x-imgbucket-cache: n})."""
    port, path, seconds = args
    c = TargetClient(port)
    lat, caches = [], {}
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        n, h = c.get_headers(path)
        lat.append(time.perf_counter() - t0)
        assert n > 0
        k = h.get("x-imgbucket-cache", "none")
        caches[k] = caches.get(k, 0) + 1
    return lat, caches


def _head_worker(args):
    """HEADs `path` for `seconds`; returns latencies."""
    port, path, seconds = args
    c = TargetClient(port)
    lat = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        c.request("HEAD", path)
        lat.append(time.perf_counter() - t0)
    return lat


# ------------------------------------------------------------------ phases

class CpuMeter:
    """CPU seconds (utime+stime) used by sets of processes during a phase."""

    def __init__(self, groups: dict[str, list[int]]):
        self.groups = groups
        self.start = self._read()

    def _read(self):
        return {g: sum(cpu_seconds(p) for p in pids) for g, pids in self.groups.items()}

    def per_op_us(self, ops: int) -> dict[str, float]:
        now = self._read()
        return {g: (now[g] - self.start[g]) / max(1, ops) * 1e6 for g in now}


def small_phase(port, mode, clients, seconds, nkeys, cpu_groups):
    m = CpuMeter(cpu_groups)
    per_worker = run_pool(_small_worker, [(port, mode, w, seconds, nkeys, 4 * KIB)
                                          for w in range(clients)], clients)
    r = summarize_small(per_worker, seconds)
    r["cpu_us_per_op"] = m.per_op_us(r["ops"])
    return r


def large_phase(port, mode, clients, count, rounds, cpu_groups):
    m = CpuMeter(cpu_groups)
    res = run_pool(_large_worker, [(port, mode, w, count, 64 * MIB, rounds)
                                   for w in range(clients)], clients)
    moved = sum(r[0] for r in res)
    wall = max(r[2] for r in res) - min(r[1] for r in res)
    out = {"mib": moved / MIB, "seconds": wall, "mib_s": moved / MIB / wall}
    out["cpu_us_per_mib"] = m.per_op_us(int(moved / MIB))
    return out


def get_phase(port, path, clients, seconds, cpu_groups):
    m = CpuMeter(cpu_groups)
    res = run_pool(_get_worker, [(port, path, seconds)] * clients, clients)
    lat = sorted(x for r in res for x in r[0])
    caches: dict[str, int] = {}
    for r in res:
        for k, v in r[1].items():
            caches[k] = caches.get(k, 0) + v
    return {**latency_summary(lat, seconds), "x_imgbucket_cache": caches,
            "cpu_ms_per_op": {k: v / 1000 for k, v in m.per_op_us(len(lat)).items()},
            "latencies": lat}


def merge_get(runs, seconds):
    """One result for several get_phase runs of `seconds` each."""
    lat = sorted(x for r in runs for x in r["latencies"])
    caches: dict[str, int] = {}
    for r in runs:
        for k, v in r["x_imgbucket_cache"].items():
            caches[k] = caches.get(k, 0) + v
    ops = max(1, len(lat))
    cpu = {g: sum(r["cpu_ms_per_op"][g] * r["ops"] for r in runs) / ops
           for g in runs[0]["cpu_ms_per_op"]}
    return {**latency_summary(lat, seconds * len(runs)), "x_imgbucket_cache": caches,
            "cpu_ms_per_op": cpu, "rounds_ops_s": [r["ops_s"] for r in runs], "latencies": lat}


def latency_summary(lat, seconds):
    lat = sorted(lat)
    if len(lat) < 2:
        return {"ops": len(lat), "ops_s": len(lat) / seconds, "p50_ms": None, "p99_ms": None,
                "mean_ms": None}
    q = statistics.quantiles(lat, n=100, method="inclusive")
    return {"ops": len(lat), "ops_s": len(lat) / seconds, "p50_ms": q[49] * 1000,
            "p90_ms": q[89] * 1000, "p99_ms": q[98] * 1000, "max_ms": lat[-1] * 1000,
            "mean_ms": statistics.fmean(lat) * 1000}


# ------------------------------------------------------------------ setup

def garage_pids(garage_dir: Path) -> list[int]:
    pids = []
    for n in (1, 2, 3):
        try:
            pids.append(int((garage_dir / f"node{n}" / "pid").read_text().strip()))
        except (OSError, ValueError):
            pass
    return pids


def make_bucket(port):
    """Creates the bench bucket of a target (409: it exists already, which is
    fine, e.g. on a cluster reused by hand)."""
    try:
        TargetClient(port).request("PUT", f"/{BUCKET}", b"", 0)
    except RuntimeError as e:
        if "-> 409" not in str(e):
            raise


def start_server(name, run_dir, backend, config):
    """An imgbucket node: gateway mode over Garage node 1 when `backend` is
    given, else embedded; `config` is a --config file or None."""
    env, args = {"RUST_LOG": "warn"}, []
    if backend:
        genv, args = gateway_args(backend, meta_bucket="imgbucket-bench-meta", timeout_secs=30)
        env.update(genv)
    if config:
        args += ["--config", str(config)]
    srv = Server(run_dir / f"{name}-data", run_dir / f"{name}.log", env=env, extra_args=args)
    srv.start(timeout=60)
    return srv


def ratio(a, b):
    return a / b if a and b else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=str(REPO / "target/release/imgbucket"))
    ap.add_argument("--garage-env", required=True, help="the env file of scripts/garage-cluster.sh start")
    ap.add_argument("--clients", type=int, default=4, help="concurrent clients for the S3 phases")
    ap.add_argument("--seconds", type=float, default=10.0, help="per 4 KiB phase")
    ap.add_argument("--large-count", type=int, default=2, help="64 MiB objects per client")
    ap.add_argument("--large-get-rounds", type=int, default=2,
                    help="times each 64 MiB object is read in one GET round")
    ap.add_argument("--large-rounds", type=int, default=3,
                    help="GET 64 MiB rounds, alternating gateway and direct")
    ap.add_argument("--image", default=None,
                    help=f"JPEG for the thumbnail phases (default: ../shared/corpus/jpeg/{DEFAULT_IMAGE})")
    ap.add_argument("--thumb-clients", type=int, default=2)
    ap.add_argument("--thumb-seconds", type=float, default=10.0, help="per thumbnail round")
    ap.add_argument("--thumb-rounds", type=int, default=3,
                    help="thumbnail rounds, alternating gateway and embedded")
    ap.add_argument("--cached-seconds", type=float, default=10.0)
    ap.add_argument("--dir", default=str(REPO / "target" / "bench"), help="work dir for the imgbucket nodes")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()

    # SIGTERM (e.g. from the wrapper's trap) stops the servers via `finally`.
    # Forked pool workers must not inherit this handler: Pool.terminate()
    # SIGTERMs them, and a Python-level handler can miss a signal that lands
    # just before the worker blocks on the pool's queue lock, which leaves the
    # worker, and the pool's exit, hanging for good.
    os.register_at_fork(after_in_child=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    image = Path(a.image) if a.image else REPO.parent / "shared" / "corpus" / "jpeg" / DEFAULT_IMAGE
    photo = image.read_bytes()
    os.environ["IMGBUCKET_BIN"] = a.binary
    os.environ["IMGBUCKET_TEST_BACKEND"] = a.garage_env
    backend = backend_env()
    garage_dir = Path(a.garage_env).parent
    gport = int(backend["GARAGE_ENDPOINT"].rsplit(":", 1)[1])
    TARGETS[gport] = (backend["IMGBUCKET_BACKEND_ACCESS_KEY"], backend["IMGBUCKET_BACKEND_SECRET_KEY"],
                      backend.get("GARAGE_REGION", "garage"), "bench-direct")

    load_before = os.getloadavg()
    work = Path(a.dir)
    work.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="gw-run-", dir=work))
    nocache = run_dir / "nocache.toml"
    nocache.write_text("[processing]\ncache_bytes = 0\n")
    nocopy = run_dir / "nocopy.toml"
    nocopy.write_text("[processing]\ncache_bytes = 0\nsource_cache_bytes = 0\n")
    servers: list[Server] = []
    res: dict = {"clients": a.clients, "seconds": a.seconds, "cpus": os.cpu_count(),
                 "loadavg_before": load_before, "image": str(image), "image_bytes": len(photo),
                 "garage_endpoint": backend["GARAGE_ENDPOINT"]}
    try:
        gw = start_server("gateway", run_dir, backend, nocache)
        servers.append(gw)
        make_bucket(gw.port)
        make_bucket(gport)  # bench-direct
        gpids = garage_pids(garage_dir)
        cpu_gw = {"imgbucket": [gw.proc.pid], "garage": gpids}
        cpu_direct = {"garage": gpids}
        print(f"imgbucket {a.binary}: gateway node {gw.endpoint} over Garage {backend['GARAGE_ENDPOINT']}",
              flush=True)
        print(f"S3: {a.clients} client processes; 4 KiB: {a.seconds:.0f} s per phase; 64 MiB: "
              f"{a.large_count} objects per client, read {a.large_get_rounds}x per round, "
              f"{a.large_rounds} GET rounds; load average "
              f"{load_before[0]:.2f}", flush=True)

        # 1. S3 through the gateway vs straight to Garage, interleaved.
        s3 = res["s3"] = {}
        for tgt, port, cpu in (("gateway", gw.port, cpu_gw), ("direct", gport, cpu_direct)):
            s3[f"{tgt}_put_4k"] = small_phase(port, "put", a.clients, a.seconds, 0, cpu)
            print(f"  PUT 4 KiB  {tgt:<8} {s3[f'{tgt}_put_4k']['ops_s']:8.0f} ops/s", flush=True)
        for tgt, port, cpu in (("gateway", gw.port, cpu_gw), ("direct", gport, cpu_direct)):
            nkeys = max(1, min(s3[f"{tgt}_put_4k"]["keys_per_worker"]))
            s3[f"{tgt}_get_4k"] = small_phase(port, "get", a.clients, a.seconds, nkeys, cpu)
            print(f"  GET 4 KiB  {tgt:<8} {s3[f'{tgt}_get_4k']['ops_s']:8.0f} ops/s", flush=True)
        for tgt, port, cpu in (("gateway", gw.port, cpu_gw), ("direct", gport, cpu_direct)):
            s3[f"{tgt}_put_64m"] = large_phase(port, "put", a.clients, a.large_count, 1, cpu)
            print(f"  PUT 64 MiB {tgt:<8} {s3[f'{tgt}_put_64m']['mib_s']:8.0f} MiB/s", flush=True)
        # The GET 64 MiB target is the one that matters: alternate the two
        # targets over several rounds so that load from other work on the
        # machine falls on both alike.
        runs = {"gateway": [], "direct": []}
        for rnd in range(a.large_rounds):
            for tgt, port, cpu in (("gateway", gw.port, cpu_gw), ("direct", gport, cpu_direct)):
                runs[tgt].append(large_phase(port, "get", a.clients, a.large_count,
                                             a.large_get_rounds, cpu))
                print(f"  GET 64 MiB {tgt:<8} {runs[tgt][-1]['mib_s']:8.0f} MiB/s  (round {rnd + 1})",
                      flush=True)
        for tgt, rr in runs.items():
            mib = sum(r["mib"] for r in rr)
            sec = sum(r["seconds"] for r in rr)
            s3[f"{tgt}_get_64m"] = {
                "mib": mib, "seconds": sec, "mib_s": mib / sec,
                "cpu_us_per_mib": {g: sum(r["cpu_us_per_mib"][g] * r["mib"] for r in rr) / mib
                                   for g in rr[0]["cpu_us_per_mib"]},
                "rounds_mib_s": [r["mib_s"] for r in rr]}
        s3["get_64m_round_ratios"] = [g["mib_s"] / d["mib_s"]
                                      for g, d in zip(runs["gateway"], runs["direct"])]

        # 2. Thumbnails, cache off: gateway vs embedded.
        emb = start_server("embedded", run_dir, None, nocache)
        servers.append(emb)
        make_bucket(emb.port)
        gw_nocopy = start_server("gateway-nocopy", run_dir, backend, nocopy)
        servers.append(gw_nocopy)
        key = f"/{BUCKET}/photo.jpg"
        thumb = f"{key}?{THUMB_QUERY}"
        for srv in (gw, emb):
            TargetClient(srv.port).request("PUT", key, photo, len(photo))
            TargetClient(srv.port).get_headers(thumb)  # warm-up
        TargetClient(gw_nocopy.port).get_headers(thumb)  # same bucket as gw
        print(f"thumbnails: {image.name} ({len(photo)} bytes), {THUMB_QUERY}, "
              f"{a.thumb_clients} clients, {a.thumb_rounds} rounds of {a.thumb_seconds:.0f} s "
              f"alternating gateway and embedded, cache off", flush=True)
        th = res["thumbs"] = {}
        truns = {"gateway": [], "embedded": [], "gateway_nocopy": []}
        for rnd in range(a.thumb_rounds):
            for tgt, srv in (("gateway", gw), ("embedded", emb), ("gateway_nocopy", gw_nocopy)):
                groups = {"imgbucket": [srv.proc.pid], "garage": gpids}
                r = get_phase(srv.port, thumb, a.thumb_clients, a.thumb_seconds, groups)
                truns[tgt].append(r)
                print(f"  {tgt:<14} {r['ops_s']:6.2f} thumbnails/s  p50 {r['p50_ms']:.0f} ms  "
                      f"max {r['max_ms']:.0f} ms  cache {r['x_imgbucket_cache']}  (round {rnd + 1})",
                      flush=True)
        for tgt, rr in truns.items():
            th[tgt] = merge_get(rr, a.thumb_seconds)
        th["round_ratios"] = [g["ops_s"] / e["ops_s"] for g, e in zip(truns["gateway"], truns["embedded"])]
        # Where the gateway's extra time goes: fetching the source from Garage
        # (through the node, and straight from Garage's bucket-direct).
        TargetClient(gport).request("PUT", key, photo, len(photo))
        th["source_get_gateway"] = get_phase(gw.port, key, 1, 3, {})
        th["source_get_direct"] = get_phase(gport, key, 1, 3, {})

        # 3. One cached variant, cache on: restart both nodes with the defaults.
        for srv in (gw, emb, gw_nocopy):
            srv.stop()
        servers.clear()
        gw = start_server("gateway", run_dir, backend, None)
        servers.append(gw)
        emb = start_server("embedded", run_dir, None, None)
        servers.append(emb)
        for srv in (gw, emb):
            _, h = TargetClient(srv.port).get_headers(thumb)  # computes and caches it
            _, h = TargetClient(srv.port).get_headers(thumb)
            assert h.get("x-imgbucket-cache") == "hit", f"{srv.endpoint}: {h.get('x-imgbucket-cache')}"
        print(f"cached variant: 1 client, {a.cached_seconds:.0f} s each", flush=True)
        ca = res["cached"] = {}
        for tgt, srv in (("gateway", gw), ("embedded", emb)):
            groups = {"imgbucket": [srv.proc.pid], "garage": gpids}
            ca[tgt] = get_phase(srv.port, thumb, 1, a.cached_seconds, groups)
            print(f"  {tgt:<8} p50 {ca[tgt]['p50_ms']:.2f} ms  p99 {ca[tgt]['p99_ms']:.2f} ms  "
                  f"cache {ca[tgt]['x_imgbucket_cache']}", flush=True)
        head = run_pool(_head_worker, [(gport, key, a.cached_seconds / 2)], 1)
        ca["garage_head"] = latency_summary(head[0], a.cached_seconds / 2)
    finally:
        for srv in servers:
            srv.stop()
    res["loadavg_after"] = os.getloadavg()
    res["ratios"] = {
        "put_4k": ratio(s3["gateway_put_4k"]["ops_s"], s3["direct_put_4k"]["ops_s"]),
        "get_4k": ratio(s3["gateway_get_4k"]["ops_s"], s3["direct_get_4k"]["ops_s"]),
        "put_64m": ratio(s3["gateway_put_64m"]["mib_s"], s3["direct_put_64m"]["mib_s"]),
        "get_64m": ratio(s3["gateway_get_64m"]["mib_s"], s3["direct_get_64m"]["mib_s"]),
        "thumbs": ratio(th["gateway"]["ops_s"], th["embedded"]["ops_s"]),
        "thumbs_nocopy": ratio(th["gateway_nocopy"]["ops_s"], th["embedded"]["ops_s"]),
    }
    targets = {"get_64m": 0.80, "thumbs": 0.90}
    res["targets"] = {k: {"min": v, "ratio": res["ratios"][k],
                          "met": bool(res["ratios"][k] and res["ratios"][k] >= v)}
                      for k, v in targets.items()}
    print_table(res, a)
    if a.json:
        for group in (res["thumbs"], res["cached"]):
            for v in group.values():
                if isinstance(v, dict):
                    v.pop("latencies", None)
        Path(a.json).write_text(json.dumps(res, indent=2))
    shutil.rmtree(run_dir, ignore_errors=True)


def print_table(res, a):
    s3, th, ca, r = res["s3"], res["thumbs"], res["cached"], res["ratios"]

    def target(k):
        t = res["targets"].get(k)
        if not t:
            return ""
        return f"≥ {t['min']:.0%}: {'met' if t['met'] else 'MISSED'}"

    rows = [
        ("PUT 4 KiB, ops/s", s3["gateway_put_4k"]["ops_s"], s3["direct_put_4k"]["ops_s"], "put_4k"),
        ("GET 4 KiB, ops/s", s3["gateway_get_4k"]["ops_s"], s3["direct_get_4k"]["ops_s"], "get_4k"),
        ("PUT 64 MiB, MiB/s", s3["gateway_put_64m"]["mib_s"], s3["direct_put_64m"]["mib_s"], "put_64m"),
        ("GET 64 MiB, MiB/s", s3["gateway_get_64m"]["mib_s"], s3["direct_get_64m"]["mib_s"], "get_64m"),
    ]
    print()
    print(f"{'workload':<34} {'gateway':>10} {'peer':>10} {'ratio':>7}  target")
    print(f"S3, {a.clients} clients; peer = straight to Garage node 1")
    for name, g, d, k in rows:
        print(f"  {name:<32} {g:10.1f} {d:10.1f} {r[k]:7.0%}  {target(k)}")
    rr = s3["get_64m_round_ratios"]
    print(f"  GET 64 MiB ratio per round: {', '.join(f'{x:.0%}' for x in rr)} "
          f"(the row above: all rounds' MiB over all rounds' time)")
    print(f"thumbnails ({THUMB_QUERY}, {a.thumb_clients} clients, cache off, "
          f"{a.thumb_rounds} x {a.thumb_seconds:.0f} s); peer = embedded")
    print(f"  {'thumbnails/s':<32} {th['gateway']['ops_s']:10.2f} {th['embedded']['ops_s']:10.2f} "
          f"{r['thumbs']:7.0%}  {target('thumbs')}")
    for q in ("p50", "p90", "p99", "max"):
        print(f"  {q + ' latency, ms':<32} {th['gateway'][q + '_ms']:10.0f} {th['embedded'][q + '_ms']:10.0f}")
    print(f"  thumbnails ratio per round: {', '.join(f'{x:.0%}' for x in th['round_ratios'])}")
    print(f"  {'without source copies':<32} {th['gateway_nocopy']['ops_s']:10.2f} "
          f"{th['embedded']['ops_s']:10.2f} {r['thumbs_nocopy']:7.0%}  (reference)")
    print("cached variant (1 client, cache on); peer = embedded")
    for q in ("p50", "p99"):
        print(f"  {q + ' latency, ms':<32} {ca['gateway'][q + '_ms']:10.2f} {ca['embedded'][q + '_ms']:10.2f}")
    print(f"  reference: HEAD straight to Garage, p50 {ca['garage_head']['p50_ms']:.2f} ms, "
          f"p99 {ca['garage_head']['p99_ms']:.2f} ms")
    print(f"  reference: GET of the {res['image_bytes']} B source, 1 client, p50: through the gateway "
          f"{th['source_get_gateway']['p50_ms']:.1f} ms, straight to Garage "
          f"{th['source_get_direct']['p50_ms']:.1f} ms")
    cpu = lambda d, g: d["cpu_us_per_op"].get(g, float("nan"))  # noqa: E731
    print(f"CPU per 4 KiB op, µs (imgbucket / Garage, 3 nodes): gateway PUT "
          f"{cpu(s3['gateway_put_4k'], 'imgbucket'):.0f} / {cpu(s3['gateway_put_4k'], 'garage'):.0f}, "
          f"direct PUT {cpu(s3['direct_put_4k'], 'garage'):.0f}; gateway GET "
          f"{cpu(s3['gateway_get_4k'], 'imgbucket'):.0f} / {cpu(s3['gateway_get_4k'], 'garage'):.0f}, "
          f"direct GET {cpu(s3['direct_get_4k'], 'garage'):.0f}")
    lm = lambda d, g: d["cpu_us_per_mib"].get(g, float("nan"))  # noqa: E731
    print(f"CPU per MiB, 64 MiB GET, µs (imgbucket / Garage): gateway "
          f"{lm(s3['gateway_get_64m'], 'imgbucket'):.0f} / {lm(s3['gateway_get_64m'], 'garage'):.0f}, "
          f"direct {lm(s3['direct_get_64m'], 'garage'):.0f}")
    tc = lambda t, g: th[t]["cpu_ms_per_op"].get(g, float("nan"))  # noqa: E731
    print(f"CPU per thumbnail, ms (imgbucket / Garage): gateway {tc('gateway', 'imgbucket'):.0f} / "
          f"{tc('gateway', 'garage'):.0f}, embedded {tc('embedded', 'imgbucket'):.0f}")
    lb, la = res["loadavg_before"], res["loadavg_after"]
    print(f"{res['cpus']} CPUs; load average before {lb[0]:.2f} {lb[1]:.2f} {lb[2]:.2f}, "
          f"after {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}")


if __name__ == "__main__":
    main()
