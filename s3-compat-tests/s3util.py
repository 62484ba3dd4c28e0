"""Helpers shared by the S3 compatibility tests.

`Server` runs the built `imgbucket` binary as a child process (the suite's
session server, and the extra ones the crash and CLI tests start and kill);
the rest are small assertions and a SigV4 signer for raw HTTP requests, so a
test can look at exact status lines, headers and XML bodies that boto3 would
hide.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import signal
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REPO = Path(__file__).resolve().parent.parent
ACCESS_KEY = "IBTESTACCESSKEY00001"
SECRET_KEY = "ibtest/secret+key/0123456789abcdefghijklm"
REGION = "us-east-1"
MIB = 1024 * 1024

S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def binary_path() -> Path:
    """The server binary under test: `$IMGBUCKET_BIN`, else the debug build."""
    env = os.environ.get("IMGBUCKET_BIN")
    if env:
        return Path(env)
    target = os.environ.get("CARGO_TARGET_DIR") or str(REPO / "target")
    return Path(target) / "debug" / "imgbucket"


def backend_env() -> dict | None:
    """Gateway mode: the backend cluster's settings, from the env file that
    `scripts/garage-cluster.sh start` writes, named by
    `$IMGBUCKET_TEST_BACKEND`; `None` when the suite tests the embedded
    store."""
    path = os.environ.get("IMGBUCKET_TEST_BACKEND")
    if not path:
        return None
    env = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ")
        name, _, value = line.partition("=")
        env[name.strip()] = value.strip().strip("'\"")
    return env


def gateway_args(backend: dict, meta_bucket: str = "imgbucket-meta",
                 endpoint: str | None = None, timeout_secs: int = 5) -> tuple[dict, list[str]]:
    """Environment and flags that start `imgbucket serve` in gateway mode
    over `backend` (see `backend_env`)."""
    env = {
        "IMGBUCKET_BACKEND_ACCESS_KEY": backend["IMGBUCKET_BACKEND_ACCESS_KEY"],
        "IMGBUCKET_BACKEND_SECRET_KEY": backend["IMGBUCKET_BACKEND_SECRET_KEY"],
    }
    args = ["--backend", endpoint or backend["GARAGE_ENDPOINT"],
            "--backend-region", backend.get("GARAGE_REGION", "garage"),
            "--backend-meta-bucket", meta_bucket,
            "--backend-timeout", str(timeout_secs)]
    return env, args


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `imgbucket serve` child process on a data dir.

    Output (stdout and stderr) goes to `log_path`, appended across restarts so
    a failure report shows the whole story.
    """

    def __init__(self, data_dir: Path, log_path: Path, port: int | None = None,
                 env: dict | None = None, with_keys: bool = True,
                 extra_args: list[str] | None = None):
        self.extra_args = list(extra_args or [])
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        base = {k: v for k, v in os.environ.items()
                if not k.startswith("IMGBUCKET_") and not k.startswith("AWS_")}
        base.setdefault("RUST_LOG", "info")
        if with_keys:
            base["IMGBUCKET_ACCESS_KEY"] = ACCESS_KEY
            base["IMGBUCKET_SECRET_KEY"] = SECRET_KEY
        base.update(env or {})
        self.env = base

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0, addr: str | None = None) -> "Server":
        binary = binary_path()
        if not binary.is_file():
            raise RuntimeError(
                f"imgbucket binary not found at {binary}: run `cargo build` "
                "or set IMGBUCKET_BIN")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        log.write(f"\n===== start {time.strftime('%H:%M:%S')} port {self.port} =====\n"
                  .encode())
        log.flush()
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--addr", addr or f"127.0.0.1:{self.port}",
             "--data", str(self.data_dir), *self.extra_args],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=self.env)
        log.close()
        if addr is None:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Waits until the server answers any HTTP request."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"imgbucket exited with {self.proc.returncode} during start-up:\n"
                    + self.log_tail())
            try:
                requests.get(self.endpoint + "/", timeout=1)
                return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"imgbucket not ready after {timeout}s:\n"
                                   + self.log_tail())
            time.sleep(0.05)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill9(self) -> None:
        """`kill -9`: no chance to flush or clean up."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


# ---------------------------------------------------------------- assertions

def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def strip_ns(tag: str) -> str:
    return tag.split("}", 1)[-1]


def parse_xml(body: bytes) -> ET.Element:
    return ET.fromstring(body)


def xml_text(root: ET.Element, name: str) -> str | None:
    """Text of the first descendant called `name`, namespace ignored."""
    for el in root.iter():
        if strip_ns(el.tag) == name:
            return el.text or ""
    return None


def assert_s3_error(resp: requests.Response, status: int, code: str) -> ET.Element:
    """The response is an S3 error: that status, and (except for HEAD) an XML
    `<Error>` body with that Code and a Message and a RequestId."""
    detail = f"{resp.request.method} {resp.url} -> {resp.status_code}\n{resp.headers}\n{resp.content[:2000]!r}"
    assert resp.status_code == status, detail
    assert resp.headers.get("x-amz-request-id"), "no x-amz-request-id header\n" + detail
    if resp.request.method == "HEAD":
        return ET.Element("Error")
    try:
        root = parse_xml(resp.content)
    except ET.ParseError as e:
        raise AssertionError(f"error body is not XML ({e})\n{detail}") from None
    assert strip_ns(root.tag) == "Error", detail
    assert xml_text(root, "Code") == code, detail
    assert xml_text(root, "Message"), "empty Message\n" + detail
    assert xml_text(root, "RequestId"), "empty RequestId\n" + detail
    return root


def assert_client_error(excinfo, status: int, code: str) -> None:
    """A botocore ClientError with that HTTP status and S3 code."""
    resp = excinfo.value.response
    meta = resp.get("ResponseMetadata", {})
    detail = f"{resp}"
    assert meta.get("HTTPStatusCode") == status, detail
    assert resp.get("Error", {}).get("Code") == code, detail
    assert meta.get("RequestId") or meta.get("HTTPHeaders", {}).get("x-amz-request-id"), detail


# ------------------------------------------------------ raw signed requests

def _encode_key(key: str) -> str:
    return quote(key, safe="/~")


def signed_request(endpoint: str, method: str, path: str, *,
                   query: dict | list | None = None, headers: dict | None = None,
                   body: bytes = b"", access_key: str = ACCESS_KEY,
                   secret_key: str = SECRET_KEY, region: str = REGION,
                   timeout: float = 30) -> requests.Response:
    """Sends one SigV4-signed request (header auth, signed payload) with
    `requests`, so a test sees the raw response. `path` is `/bucket/key`
    unencoded; `query` values are encoded here (a value of None gives a bare
    `?name`)."""
    url = endpoint + _encode_key(path)
    if query:
        items = query.items() if isinstance(query, dict) else query
        parts = []
        for k, v in items:
            if v is None:
                parts.append(quote(k, safe="-_.~"))
            else:
                parts.append(f"{quote(k, safe='-_.~')}={quote(str(v), safe='-_.~')}")
        url += "?" + "&".join(parts)
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    S3SigV4Auth(Credentials(access_key, secret_key), "s3", region).add_auth(req)
    prepared = req.prepare()
    return requests.request(method, prepared.url, headers=dict(prepared.headers),
                            data=body, timeout=timeout, allow_redirects=False)


def unique_name(hint: str = "") -> str:
    """A valid, unique bucket name (3-63 chars of [a-z0-9-])."""
    slug = re.sub(r"[^a-z0-9-]+", "-", hint.lower()).strip("-")
    name = f"t{os.urandom(5).hex()}-{slug}".strip("-")
    return name[:63].rstrip("-")


def ucloud_signature(secret: str, method: str, resource: str, date_or_expires: str = "",
                     content_type: str = "", content_md5: str = "") -> str:
    """UCloud US3's signature (as its SDKs compute it, without x-ucloud-*
    headers): base64 HMAC-SHA1 over `VERB\\nMD5\\nType\\nDate\\n/bucket/key`."""
    import hmac
    sts = f"{method}\n{content_md5}\n{content_type}\n{date_or_expires}\n{resource}"
    return base64.b64encode(hmac.new(secret.encode(), sts.encode(), hashlib.sha1).digest()).decode()


def mode_server(base: Path, extra_args: list[str] | None = None) -> Server:
    """A server (not started) on `base`, in the suite's mode: over a fresh
    meta bucket of the backend when `IMGBUCKET_TEST_BACKEND` names one,
    else embedded."""
    env, args = {}, []
    backend = backend_env()
    if backend:
        env, args = gateway_args(backend, meta_bucket=unique_name("meta"))
    return Server(base / "data", base / "server.log", env=env,
                  extra_args=[*args, *(extra_args or [])])
