"""The command line contract: start-up line, `--addr` with port 0, generated
credentials on first start, clean exit on SIGTERM. Each test runs its own
server process."""

import os
import re
import stat
import time

import pytest

from conftest import make_client
from s3util import Server, binary_path

LISTEN_RE = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


def wait_for_log(srv: Server, pattern: re.Pattern, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = pattern.search(srv.log_text())
        if m:
            return m
        if srv.proc is not None and srv.proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{pattern.pattern!r} not printed; log:\n{srv.log_tail()}")


def test_prints_listening_line(tmp_path):
    srv = Server(tmp_path / "data", tmp_path / "log")
    srv.start()
    try:
        m = wait_for_log(srv, LISTEN_RE)
        assert int(m.group(1)) == srv.port
    finally:
        assert srv.stop() == 0, srv.log_tail()


def test_port_zero_reports_real_port(tmp_path):
    srv = Server(tmp_path / "data", tmp_path / "log")
    srv.start(addr="127.0.0.1:0")
    try:
        m = wait_for_log(srv, LISTEN_RE)
        srv.port = int(m.group(1))
        assert srv.port != 0
        srv.wait_ready()
        s3 = make_client(srv.endpoint)
        s3.create_bucket(Bucket="port-zero")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["port-zero"]
    finally:
        srv.stop()


def test_sigterm_exits_zero_and_keeps_data(tmp_path):
    srv = Server(tmp_path / "data", tmp_path / "log")
    srv.start()
    s3 = make_client(srv.endpoint)
    s3.create_bucket(Bucket="persist")
    s3.put_object(Bucket="persist", Key="k", Body=b"survives restart")
    assert srv.stop() == 0, srv.log_tail()
    srv.start()
    try:
        assert s3.get_object(Bucket="persist", Key="k")["Body"].read() == b"survives restart"
    finally:
        srv.stop()


def test_generated_credentials(tmp_path):
    """No keys in the environment: a key pair is generated on first start,
    printed once, stored in the data dir (0600) and reused on restart."""
    data = tmp_path / "data"
    srv = Server(data, tmp_path / "log", with_keys=False)
    srv.start()
    try:
        log = srv.log_text()
        # The printed secret must let a client in. Find the pair: the access
        # key and secret are printed on the first start.
        ak = re.search(r"(?i)access[ _-]?key(?:[ _-]?id)?\s*[=:]\s*(\S{16,})", log)
        sk = re.search(r"(?i)secret[ _-]?(?:access[ _-]?)?key\s*[=:]\s*(\S{16,})", log)
        assert ak and sk, f"no generated keys printed:\n{log}"
        client = make_client(srv.endpoint, access_key=ak.group(1), secret_key=sk.group(1))
        client.create_bucket(Bucket="generated-keys")
        assert client.list_buckets()["Buckets"][0]["Name"] == "generated-keys"
    finally:
        srv.stop()

    # Stored with mode 0600 somewhere in the data dir, containing the secret.
    holders = [p for p in data.rglob("*") if p.is_file() and p.stat().st_size < 65536
               and sk.group(1).encode() in p.read_bytes()]
    assert holders, "secret not stored in the data dir"
    for p in holders:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, (p, oct(p.stat().st_mode))

    # Second start: same keys, and the secret is not printed again.
    before = len(srv.log_text())
    srv.start()
    try:
        client = make_client(srv.endpoint, access_key=ak.group(1), secret_key=sk.group(1))
        assert client.list_buckets()["Buckets"][0]["Name"] == "generated-keys"
        assert sk.group(1) not in srv.log_text()[before:]
    finally:
        srv.stop()


def test_binary_exists():
    assert binary_path().is_file(), binary_path()
    assert os.access(binary_path(), os.X_OK)


def test_virtual_host_style_with_domain(tmp_path):
    """`--domain s3.local`: `bucket.s3.local` addresses the bucket by host,
    and path style keeps working."""
    import requests
    import sigv4
    from s3util import ACCESS_KEY, SECRET_KEY
    srv = Server(tmp_path / "data", tmp_path / "log", extra_args=["--domain", "s3.local"])
    srv.start()
    try:
        s3 = make_client(srv.endpoint)
        s3.create_bucket(Bucket="vhost")
        signer = sigv4.Signer(ACCESS_KEY, SECRET_KEY)
        host = f"vhost.s3.local:{srv.port}"
        # Sign for the virtual host, send to 127.0.0.1 with that Host header.
        url = f"http://{host}/pic.txt"
        h, _, _ = signer.sign("PUT", url, {}, sigv4.UNSIGNED)
        r = requests.put(f"{srv.endpoint}/pic.txt", data=b"by host", timeout=30,
                         headers={**h, "Host": host})
        assert r.status_code == 200, r.text
        assert s3.get_object(Bucket="vhost", Key="pic.txt")["Body"].read() == b"by host"
        h, _, _ = signer.sign("GET", f"http://{host}/", {}, sigv4.EMPTY_SHA256)
        r = requests.get(f"{srv.endpoint}/", headers={**h, "Host": host}, timeout=30)
        assert r.status_code == 200, r.text
        assert "<Key>pic.txt</Key>" in r.text
    finally:
        srv.stop()


def test_sigterm_finishes_in_flight_upload(tmp_path):
    """SIGTERM while a PUT body is arriving: the request completes (200),
    the object is stored, then the server exits 0."""
    import socket
    import threading
    from urllib.parse import urlsplit
    import sigv4
    from s3util import ACCESS_KEY, MIB, SECRET_KEY
    srv = Server(tmp_path / "data", tmp_path / "log")
    srv.start()
    s3 = make_client(srv.endpoint)
    s3.create_bucket(Bucket="drain")
    size = 4 * MIB
    body = os.urandom(size)
    signer = sigv4.Signer(ACCESS_KEY, SECRET_KEY)
    url = f"{srv.endpoint}/drain/inflight"
    h, _, _ = signer.sign("PUT", url, {"content-length": str(size)}, sigv4.UNSIGNED)
    parts = urlsplit(srv.endpoint)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    head = f"PUT /drain/inflight HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    sock.sendall(head.encode() + body[:MIB])
    time.sleep(0.3)
    proc = srv.proc
    proc.send_signal(__import__("signal").SIGTERM)
    time.sleep(0.3)
    try:
        for off in range(MIB, size, 256 * 1024):
            sock.sendall(body[off:off + 256 * 1024])
            time.sleep(0.02)
        reply = sock.recv(4096)
    finally:
        sock.close()
    assert reply.startswith(b"HTTP/1.1 200"), reply[:300]
    assert proc.wait(15) == 0, srv.log_tail()
    srv.proc = None
    srv.start()
    try:
        got = s3.get_object(Bucket="drain", Key="inflight")["Body"].read()
        assert got == body
    finally:
        srv.stop()


def test_sigterm_right_after_listening_line(tmp_path):
    """A supervisor may stop the server the moment it announces itself: the
    signal handlers must already be in place (exit 0, not killed by the
    signal). stderr is read through a pipe so the signal follows the line
    within microseconds."""
    import signal as sig
    import subprocess
    env = Server(tmp_path / "d", tmp_path / "l").env
    for i in range(5):
        proc = subprocess.Popen(
            [str(binary_path()), "serve", "--addr", "127.0.0.1:0",
             "--data", str(tmp_path / f"data{i}")],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
        seen = []
        for line in proc.stderr:
            seen.append(line.decode(errors="replace"))
            if LISTEN_RE.search(seen[-1]):
                proc.send_signal(sig.SIGTERM)
                break
        rest = proc.communicate(timeout=15)[1].decode(errors="replace")
        assert proc.returncode == 0, (
            f"exit {proc.returncode} on SIGTERM right after start-up:\n{''.join(seen)}{rest}")
