#!/usr/bin/env python3
"""Small reads against nginx, in one run (docs/benchmarks.md, "Small GETs
against nginx"; issue #16).

Workloads, each driven by `wrk` (same threads, connections and duration for
both targets, rounds alternating between them so that background load hits
both alike):
  1. anonymous GET of a 4 KiB object of a public-read bucket;
  2. anonymous GET of a cached 300 px variant (`x-oss-process=image/resize,w_300`
     of a corpus photo, computed once before the rounds; every answer must be a
     cache hit).
The peer is nginx with one worker process, serving the same bytes from
files on the same disk (`sendfile`, keep-alive, no access log).

Besides requests per second, each run reports the server's CPU time per
request (user + system, read from /proc for the server's processes before
and after): wrk shares the machine's cores with the server, so the rate
depends on how the kernel schedules both, while the CPU cost of one answer
is the server's own.

Run through bench/run-nginx-bench.sh, which builds the release binary.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "s3-compat-tests"))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from s3util import ACCESS_KEY, REGION, SECRET_KEY, Server, free_port  # noqa: E402

DEFAULT_IMAGE = "dragonfly-4224x3168.jpg"
THUMB_QUERY = "x-oss-process=image/resize,w_300"

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 60;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    types {{ application/octet-stream bin; image/jpeg jpg; }}
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
    }}
}}
"""


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes `pids` (and their reaped
    children) have used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        # Fields after the command (which may hold spaces): utime is the
        # 14th field of the line, stime the 15th, cutime/cstime next.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(f) for f in fields[11:15])
    return total / tick


def wrk(url: str, threads: int, conns: int, seconds: float, pids: list[int]) -> dict:
    """Requests per second, latency and the server's CPU microseconds per
    request of one wrk run against the server made of `pids`."""
    cpu_before = cpu_seconds(pids)
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{int(seconds)}s", "--latency", url],
        capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pids) - cpu_before
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} error answers\n{out}")

    def ms(label):
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", out, re.M)
        if not m:
            return None
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v

    return {"rps": rps, "p50_ms": ms("50"), "p99_ms": ms("99"),
            "cpu_us_per_request": cpu * 1e6 / max(requests, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--image", default=str(REPO.parent / "shared" / "corpus" / "jpeg" / DEFAULT_IMAGE))
    ap.add_argument("--json")
    a = ap.parse_args()
    os.environ["IMGBUCKET_BIN"] = a.binary
    if not shutil.which("wrk") or not shutil.which("nginx"):
        sys.exit("nginxbench: needs wrk and nginx (apt-get install wrk nginx-light)")

    work = Path(tempfile.mkdtemp(prefix="nginxbench-"))
    # nginx's worker drops root for `nobody`: it must be able to read the files.
    work.chmod(0o755)
    srv = Server(work / "data", work / "imgbucket.log", env={"RUST_LOG": "warn"}).start()
    nginx = None
    try:
        s3 = boto3.client("s3", endpoint_url=srv.endpoint, region_name=REGION,
                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                          config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket="bench", ACL="public-read")
        small = os.urandom(4096)
        photo = Path(a.image).read_bytes()
        s3.put_object(Bucket="bench", Key="small.bin", Body=small)
        s3.put_object(Bucket="bench", Key="photo.jpg", Body=photo, ContentType="image/jpeg")
        thumb_url = f"{srv.endpoint}/bench/photo.jpg?{THUMB_QUERY}"
        with urllib.request.urlopen(thumb_url) as r:
            thumb = r.read()
        with urllib.request.urlopen(thumb_url) as r:
            assert r.headers.get("x-imgbucket-cache") == "hit", r.headers
            assert r.read() == thumb

        www = work / "nginx" / "www"
        (www).mkdir(parents=True)
        (work / "nginx" / "tmp").mkdir()
        (www / "small.bin").write_bytes(small)
        (www / "thumb.jpg").write_bytes(thumb)
        port = free_port()
        conf = work / "nginx" / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=work / "nginx", port=port))
        nginx = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(work / "nginx")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for attempt in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/small.bin") as r:
                    assert r.read() == small
                break
            except urllib.error.HTTPError:
                raise
            except OSError:
                if attempt == 99:
                    raise
                time.sleep(0.05)
        # nginx's master forks its one worker: the worker answers.
        nginx_pids = [nginx.pid] + [
            int(c) for c in Path(f"/proc/{nginx.pid}/task/{nginx.pid}/children").read_text().split()]
        pids = {"imgbucket": [srv.proc.pid], "nginx": nginx_pids}
        targets = {
            "get_4k": (f"{srv.endpoint}/bench/small.bin", f"http://127.0.0.1:{port}/small.bin"),
            "cached_variant": (thumb_url, f"http://127.0.0.1:{port}/thumb.jpg"),
        }
        print(f"wrk -t{a.threads} -c{a.connections}, {a.rounds} rounds of {a.seconds:.0f} s "
              f"alternating imgbucket and nginx (1 worker); load average {os.getloadavg()[0]:.2f}",
              flush=True)
        res = {"threads": a.threads, "connections": a.connections, "seconds": a.seconds,
               "cpus": os.cpu_count(), "loadavg_before": os.getloadavg(), "thumb_bytes": len(thumb)}
        for name, (ours, theirs) in targets.items():
            runs = {"imgbucket": [], "nginx": []}
            for rnd in range(a.rounds):
                for tgt, url in (("imgbucket", ours), ("nginx", theirs)):
                    r = wrk(url, a.threads, a.connections, a.seconds, pids[tgt])
                    runs[tgt].append(r)
                    print(f"  {name:<15} {tgt:<9} {r['rps']:9.0f} req/s  p50 {r['p50_ms']:.2f} ms  "
                          f"p99 {r['p99_ms']:.2f} ms  {r['cpu_us_per_request']:5.1f} us CPU/req"
                          f"  (round {rnd + 1})", flush=True)
            mean = {t: sum(r["rps"] for r in rr) / len(rr) for t, rr in runs.items()}
            cpu = {t: sum(r["cpu_us_per_request"] for r in rr) / len(rr) for t, rr in runs.items()}
            res[name] = {"runs": runs, "imgbucket_rps": mean["imgbucket"], "nginx_rps": mean["nginx"],
                         "ratio": mean["imgbucket"] / mean["nginx"],
                         "imgbucket_cpu_us": cpu["imgbucket"], "nginx_cpu_us": cpu["nginx"]}
        targets_min = {"get_4k": 0.80, "cached_variant": 0.75}
        print()
        print(f"{'workload':<28} {'imgbucket':>10} {'nginx':>10} {'ratio':>7}  target")
        for name, lo in targets_min.items():
            r = res[name]
            met = "met" if r["ratio"] >= lo else "MISSED"
            print(f"  {name + ', req/s':<26} {r['imgbucket_rps']:10.0f} {r['nginx_rps']:10.0f} "
                  f"{r['ratio']:7.0%}  ≥ {lo:.0%}: {met}")
            print(f"  {name + ', CPU us/request':<26} {r['imgbucket_cpu_us']:10.1f} "
                  f"{r['nginx_cpu_us']:10.1f} {r['nginx_cpu_us'] / r['imgbucket_cpu_us']:7.0%}")
            r["target"] = {"min": lo, "met": r["ratio"] >= lo}
        res["loadavg_after"] = os.getloadavg()
        print(f"{os.cpu_count()} CPUs; load average after {res['loadavg_after'][0]:.2f}")
        if a.json:
            Path(a.json).write_text(json.dumps(res, indent=2))
    finally:
        if nginx:
            nginx.terminate()
            nginx.wait()
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
