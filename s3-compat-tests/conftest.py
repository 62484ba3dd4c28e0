"""Fixtures: one imgbucket server for the session, boto3 clients, an aws-cli
runner and a fresh bucket per test.

The server is the built binary (`$IMGBUCKET_BIN`, else `target/debug/imgbucket`)
on a free port with a temporary data dir and fixed keys.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config

from s3util import (ACCESS_KEY, REGION, SECRET_KEY, backend_env, mode_server,
                    unique_name)

HERE = Path(__file__).resolve().parent


class External:
    """Stands in for `Server` when S3_TEST_ENDPOINT names a server that is
    already running (to check the suite itself against another S3
    implementation). Tests that start their own binary are skipped then."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint.rstrip("/")


def external_endpoint() -> str | None:
    return os.environ.get("S3_TEST_ENDPOINT") or None


# Modules about the embedded store itself (its data dir, crash recovery,
# start-up flags): they start their own servers and mean nothing over a
# backend.
EMBEDDED_MODULES = ("test_cli", "test_crash")


def pytest_collection_modifyitems(config, items):
    if external_endpoint():
        skip = pytest.mark.skip(reason="S3_TEST_ENDPOINT set: not testing the binary")
        for item in items:
            if item.module.__name__ in EMBEDDED_MODULES:
                item.add_marker(skip)
    if backend_env():
        skip = pytest.mark.skip(reason="gateway mode: about the embedded store")
        for item in items:
            if item.module.__name__ in EMBEDDED_MODULES:
                item.add_marker(skip)
            marker = item.get_closest_marker("embedded_only")
            if marker:
                why = marker.args[0] if marker.args else "embedded mode only"
                item.add_marker(pytest.mark.skip(reason=f"gateway mode: {why}"))
    else:
        skip = pytest.mark.skip(reason="needs a backend (IMGBUCKET_TEST_BACKEND)")
        for item in items:
            if item.get_closest_marker("gateway"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    if external_endpoint():
        yield External(external_endpoint())
        return
    base = tmp_path_factory.mktemp("server")
    # Gateway mode (IMGBUCKET_TEST_BACKEND): the same suite through a
    # node over the backend.
    srv = mode_server(base)
    srv.start()
    yield srv
    rc = srv.stop()
    # Leave the log where a failing run can show it.
    print(f"\n[imgbucket exited {rc}; log: {srv.log_path}]", file=sys.stderr)


@pytest.fixture(scope="session")
def endpoint(server) -> str:
    return server.endpoint


def make_client(endpoint: str, *, access_key: str = ACCESS_KEY,
                secret_key: str = SECRET_KEY, region: str = REGION,
                sdk_default_checksums: bool = False, signature_version: str = "s3v4"):
    """A boto3 S3 client: path style, no retries (a retry would hide the
    first answer). By default checksums are computed only when an operation
    requires them; `sdk_default_checksums=True` keeps boto3's own default
    (CRC32 on every upload, response validation)."""
    extra = {}
    if not sdk_default_checksums:
        extra = dict(request_checksum_calculation="when_required",
                     response_checksum_validation="when_required")
    cfg = Config(signature_version=signature_version, region_name=region,
                 s3={"addressing_style": "path"},
                 retries={"max_attempts": 1, "mode": "standard"},
                 connect_timeout=10, read_timeout=120, **extra)
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, aws_access_key_id=access_key,
        aws_secret_access_key=secret_key, config=cfg)


@pytest.fixture(scope="session")
def s3(endpoint):
    """Plain SigV4 client (checksums only when required)."""
    return make_client(endpoint)


@pytest.fixture(scope="session")
def s3_default(endpoint):
    """boto3 with its default checksum behaviour (CRC32 on uploads)."""
    return make_client(endpoint, sdk_default_checksums=True)


@pytest.fixture
def s3_trailer(endpoint, monkeypatch):
    """boto3 with default checksums, made to send what it sends over HTTPS:
    aws-chunked bodies, `x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`
    and the checksum in a trailer. botocore only does that on https URLs,
    so its scheme test is patched for this client's lifetime."""
    import botocore.httpchecksum as hc
    from urllib.parse import urlparse as real_urlparse

    def https_urlparse(url, *a, **kw):
        return real_urlparse(url, *a, **kw)._replace(scheme="https")

    monkeypatch.setattr(hc, "urlparse", https_urlparse)
    return make_client(endpoint, sdk_default_checksums=True)


def _empty_bucket(s3, name: str) -> None:
    try:
        for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=name):
            for up in page.get("Uploads", []):
                s3.abort_multipart_upload(Bucket=name, Key=up["Key"],
                                          UploadId=up["UploadId"])
    except Exception:
        pass
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=name, Key=obj["Key"])
    except Exception:
        pass


@pytest.fixture
def bucket_name(request, s3):
    """A unique bucket name, not created; removed after the test if it was."""
    name = unique_name(request.node.name)
    yield name
    _empty_bucket(s3, name)
    try:
        s3.delete_bucket(Bucket=name)
    except Exception:
        pass


@pytest.fixture
def bucket(s3, bucket_name):
    """A fresh, empty, private bucket."""
    s3.create_bucket(Bucket=bucket_name)
    return bucket_name


@pytest.fixture
def bucket2(request, s3):
    """A second fresh bucket, for copies across buckets."""
    name = unique_name("second-" + request.node.name)
    s3.create_bucket(Bucket=name)
    yield name
    _empty_bucket(s3, name)
    try:
        s3.delete_bucket(Bucket=name)
    except Exception:
        pass


@pytest.fixture
def anon():
    """An unauthenticated HTTP session."""
    with requests.Session() as s:
        yield s


class AwsCli:
    """Runs the real `aws` (v1, from the venv) against the server."""

    def __init__(self, endpoint: str, config_file: Path, workdir: Path):
        self.endpoint = endpoint
        self.workdir = workdir
        venv_bin = Path(sys.executable).parent
        exe = venv_bin / "aws"
        self.exe = str(exe) if exe.exists() else (shutil.which("aws") or "aws")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(
            AWS_ACCESS_KEY_ID=ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=SECRET_KEY,
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE=str(config_file),
            AWS_SHARED_CREDENTIALS_FILE=str(config_file.parent / "no-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
            AWS_PAGER="",
        )

    def run(self, *args: str, check: bool = True, profile: str | None = None,
            endpoint: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        cmd = [self.exe, *args]
        if endpoint:
            cmd += ["--endpoint-url", self.endpoint]
        if profile:
            cmd += ["--profile", profile]
        proc = subprocess.run(cmd, env=self.env, cwd=self.workdir, capture_output=True,
                              text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"`aws {' '.join(args)}` exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    __call__ = run


AWS_CONFIG = """\
[default]
region = us-east-1
s3 =
    addressing_style = path
    multipart_threshold = 8MB
    multipart_chunksize = 8MB
"""

# With an explicit --profile botocore ignores the AWS_* key variables, so
# the extra profiles carry the keys themselves. Each adds one `s3` setting:
# `v4` signs presigned URLs with SigV4; `serial` makes one transfer at a
# time, so every request of a command goes down one connection.
AWS_PROFILE = """
[profile {name}]
region = us-east-1
aws_access_key_id = {{ak}}
aws_secret_access_key = {{sk}}
s3 =
    addressing_style = path
    {setting}
"""
AWS_CONFIG += AWS_PROFILE.format(name="v4", setting="signature_version = s3v4")
AWS_CONFIG += AWS_PROFILE.format(name="serial", setting="max_concurrent_requests = 1")


@pytest.fixture(scope="session")
def aws(endpoint, tmp_path_factory):
    base = tmp_path_factory.mktemp("awscli")
    cfg = base / "config"
    cfg.write_text(AWS_CONFIG.format(ak=ACCESS_KEY, sk=SECRET_KEY))
    return AwsCli(endpoint, cfg, base)
