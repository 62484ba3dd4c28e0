"""docs/deploy.md's nginx config, run as written: nginx in front of two
gateway nodes over the suite's Garage cluster, and S3 clients through it.

The ```nginx block is read from the docs at each run; only its two upstream
addresses and its listen port are rewritten (to the nodes' and a free
port), so the config the docs show is the config tested. It is wrapped in
a minimal main config (`events {}`, `http { ... }`, every path in a
temporary directory) and run with `/usr/sbin/nginx` (`.ci/deps.sh`
installs it).

Gateway mode only: it runs when `$IMGBUCKET_TEST_BACKEND` is set.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import make_client
from process_fixtures import image_size, make_png
from s3util import (MIB, REPO, Server, backend_env, free_port, gateway_args,
                    signed_request, unique_name)

pytestmark = pytest.mark.gateway

NGINX = Path(os.environ.get("IMGBUCKET_NGINX", "/usr/sbin/nginx"))
DEPLOY_MD = REPO / "docs" / "deploy.md"


def docs_nginx_block() -> str:
    """The one ```nginx fenced block of docs/deploy.md."""
    blocks = re.findall(r"^```nginx\n(.*?)^```", DEPLOY_MD.read_text(), re.M | re.S)
    assert len(blocks) == 1, f"expected one ```nginx block in {DEPLOY_MD}, found {len(blocks)}"
    return blocks[0]


def rewrite_block(block: str, node_ports: list[int], listen_port: int) -> str:
    """The docs' block with the upstreams at `node_ports` and the listener
    at `listen_port`. Fails when the docs no longer have the lines this
    rewrites, rather than test something else than they show."""
    servers = re.findall(r"^\s*server\s+127\.0\.0\.1:900[12]\b", block, re.M)
    assert len(servers) == 2, f"expected `server 127.0.0.1:9001` and `:9002` lines:\n{block}"
    for doc_port, port in zip((9001, 9002), node_ports):
        block, n = re.subn(rf"(^\s*server\s+127\.0\.0\.1:){doc_port}\b",
                           rf"\g<1>{port}", block, flags=re.M)
        assert n == 1, f"no `server 127.0.0.1:{doc_port}` line:\n{block}"
    block, n = re.subn(r"(^\s*listen\s+)8080\b", rf"\g<1>127.0.0.1:{listen_port}",
                       block, flags=re.M)
    assert n == 1, f"no `listen 8080` line:\n{block}"
    return block


def main_config(tmp: Path, block: str) -> str:
    """A main nginx config around `block`: foreground-friendly, every file
    it writes under `tmp`."""
    # As root, nginx's workers would run as `nobody`, who cannot use the
    # temporary directories pytest makes (mode 0700).
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "\n".join(f"    {name}_temp_path {tmp / name};"
                      for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    indented = "\n".join(("    " + line) if line.strip() else "" for line in block.splitlines())
    return (f"{user}worker_processes 1;\n"
            f"pid {tmp / 'nginx.pid'};\n"
            f"error_log {tmp / 'error.log'} info;\n"
            "events {}\n"
            "http {\n"
            f"    access_log {tmp / 'access.log'};\n"
            f"{temps}\n"
            "    # docs/deploy.md, \"A load balancer in front\":\n"
            f"{indented}\n"
            "}\n")


class Nginx:
    def __init__(self, tmp: Path, block: str, port: int):
        self.tmp = tmp
        self.port = port
        self.conf = tmp / "nginx.conf"
        self.conf.write_text(main_config(tmp, block))
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        try:
            return (self.tmp / "error.log").read_text(errors="replace")
        except OSError:
            return ""

    def start(self, timeout: float = 15.0) -> "Nginx":
        out = open(self.tmp / "nginx.out", "ab")
        self.proc = subprocess.Popen(
            [str(NGINX), "-p", str(self.tmp), "-c", str(self.conf),
             "-e", str(self.tmp / "error.log"), "-g", "daemon off;"],
            stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        out.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"nginx exited with {self.proc.returncode}:\n"
                    + (self.tmp / "nginx.out").read_text(errors="replace")
                    + self.log() + "\nconfig:\n" + self.conf.read_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx not listening after {timeout}s:\n" + self.log())
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            # SIGTERM: nginx's fast shutdown (master and workers).
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    backend = backend_env()
    assert backend, "IMGBUCKET_TEST_BACKEND is not set"
    assert NGINX.is_file(), f"no nginx at {NGINX}: .ci/deps.sh installs it (apt package nginx)"
    tmp = tmp_path_factory.mktemp("nginx")
    meta = unique_name("meta-nginx")
    endpoints = backend["GARAGE_ENDPOINTS"].split()
    nodes: list[Server] = []
    lb = None
    try:
        for name, endpoint in (("a", endpoints[0]), ("b", endpoints[1])):
            env, args = gateway_args(backend, meta_bucket=meta, endpoint=endpoint)
            nodes.append(Server(tmp / name / "data", tmp / f"{name}.log",
                                env=env, extra_args=args).start())
        block = rewrite_block(docs_nginx_block(), [n.port for n in nodes], free_port())
        lb = Nginx(tmp, block, int(re.search(r"listen\s+127\.0\.0\.1:(\d+)", block)[1]))
        lb.start()
        yield {"nginx": lb, "nodes": nodes}
    finally:
        if lb is not None:
            lb.stop()
        for n in nodes:
            n.stop()


@pytest.fixture(scope="module")
def s3(setup):
    return make_client(setup["nginx"].endpoint)


@pytest.fixture(scope="module")
def bucket(s3):
    name = unique_name("nginx")
    s3.create_bucket(Bucket=name)
    return name


def served_by(nodes: list[Server], path: str) -> list[int]:
    """How many request lines each node logged for exactly `path`."""
    pat = re.compile(rf"uri={re.escape(path)}(\s|$)", re.M)
    return [len(pat.findall(n.log_text())) for n in nodes]


def test_objects_stream_through_nginx(setup, s3, bucket):
    body = os.urandom(4 * MIB + 123)
    s3.put_object(Bucket=bucket, Key="big.bin", Body=body, ContentType="application/x-test")
    got = s3.get_object(Bucket=bucket, Key="big.bin")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/x-test"
    r = s3.get_object(Bucket=bucket, Key="big.bin", Range="bytes=1000000-1000099")
    assert r["Body"].read() == body[1000000:1000100]
    assert r["ContentRange"] == f"bytes 1000000-1000099/{len(body)}"
    # Streamed both ways: nginx warns when it spools a body to disk
    # ("a client request body is buffered to a temporary file", "an
    # upstream response is buffered to a temporary file").
    log = setup["nginx"].log()
    assert "buffered to a temporary file" not in log, log


def test_presigned_get_through_nginx(s3, bucket):
    # The signature covers the Host the client used: nginx must pass it on.
    s3.put_object(Bucket=bucket, Key="dir/pre signed.txt", Body=b"hello via nginx")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                          "Key": "dir/pre signed.txt"},
                                    ExpiresIn=300)
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, r.text
    assert r.content == b"hello via nginx"


def test_multipart_through_nginx(s3, bucket):
    key = "multi.bin"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    p1, p2 = os.urandom(5 * MIB), os.urandom(4321)
    e1 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=p1)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=2, Body=p2)["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                   {"PartNumber": 2, "ETag": e2}]})
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["ETag"].endswith('-2"')
    assert got["Body"].read() == p1 + p2


def test_an_image_variant_is_computed_once(setup, s3, bucket):
    """The URI hash sends every request for a variant to one node, whose
    cache then answers the second. Several variants, so a balancer that
    ignored the URI would not pass by luck."""
    nginx, nodes = setup["nginx"], setup["nodes"]
    s3.put_object(Bucket=bucket, Key="photo.png", Body=make_png(300, 200),
                  ContentType="image/png")
    for w in (50, 40, 30, 20):
        q = {"x-oss-process": f"image/resize,w_{w}"}
        first = signed_request(nginx.endpoint, "GET", f"/{bucket}/photo.png", query=q)
        again = signed_request(nginx.endpoint, "GET", f"/{bucket}/photo.png", query=q)
        assert first.status_code == again.status_code == 200, (first.text, again.text)
        assert image_size(first.content) == ("png", w, round(w * 2 / 3))
        assert first.headers["x-imgbucket-cache"] == "miss"
        assert again.headers["x-imgbucket-cache"] == "hit", w
        assert again.content == first.content
        # Both on one node.
        counts = served_by(nodes, f"/{bucket}/photo.png?x-oss-process=image%2Fresize%2Cw_{w}")
        assert sorted(counts) == [0, 2], (w, counts)


def test_keys_spread_over_both_nodes_and_stay_put(setup, s3, bucket):
    nodes = setup["nodes"]
    keys = [f"spread/{i:02d}" for i in range(24)]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    for k in keys:
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == k.encode()
    for k in keys:
        with pytest.raises(ClientError):
            s3.get_object(Bucket=bucket, Key=k + "-missing")
    per_node = [0, 0]
    for k in keys:
        counts = served_by(nodes, f"/{bucket}/{k}")
        # PUT and GET of a key have the same URI: the same node.
        assert sorted(counts) == [0, 2], (k, counts)
        per_node[counts.index(2)] += 1
    assert min(per_node) > 0, f"keys per node: {per_node}"
