"""The operator's procedures of docs/operations.md, exercised as described:
the systemd unit (`systemd-analyze verify`), TLS in front with nginx
(`deploy/nginx-tls.conf`, as kept in the repository), offline backup and
restore of the data dir, and upgrades (a data dir written in the 0.1.0
record format opens and serves everything). The online backup (rclone and
the `imgbucket` CLI) is a snippet of docs/operations.md, run by
test_docs.py.

Embedded mode only: these are about one node's process and data dir."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import boto3
import pytest
import requests
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import make_client
from process_fixtures import image_size, make_png
from s3util import (ACCESS_KEY, MIB, REGION, REPO, SECRET_KEY, Server, binary_path,
                    free_port)
from test_gateway_nginx import NGINX, Nginx

pytestmark = pytest.mark.embedded_only("about one node's process and data dir")

FIXTURES = Path(__file__).resolve().parent / "fixtures"


# --- systemd -----------------------------------------------------------------

def test_systemd_unit_verifies(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze missing: .ci/deps.sh installs systemd"
    unit = (REPO / "deploy" / "imgbucket.service").read_text()
    # verify checks that ExecStart's program exists; point it at the build.
    assert "ExecStart=/usr/local/bin/imgbucket serve " in unit
    unit = unit.replace("/usr/local/bin/imgbucket", str(binary_path()))
    f = tmp_path / "imgbucket.service"
    f.write_text(unit)
    done = subprocess.run([analyze, "verify", str(f)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    # Warnings (an unknown key, a bad value) go to stderr with exit 0.
    assert done.stderr.strip() == "", done.stderr


def test_systemd_unit_command_line_starts_the_server(tmp_path):
    """ExecStart's arguments, as written, start a server (with the empty
    config file the install steps create)."""
    unit = (REPO / "deploy" / "imgbucket.service").read_text()
    exec_start = re.search(r"^ExecStart=(\S+) (.*)$", unit, re.M)
    args = exec_start.group(2).split()
    port = free_port()
    config = tmp_path / "imgbucket.toml"
    config.write_text("")
    subst = {"127.0.0.1:9000": f"127.0.0.1:{port}", "/var/lib/imgbucket": str(tmp_path / "data"),
             "/etc/imgbucket/imgbucket.toml": str(config)}
    args = [subst.get(a, a) for a in args]
    srv = Server(tmp_path / "data", tmp_path / "log", port=port)  # its environment and wait
    proc = subprocess.Popen([str(binary_path()), *args], env=srv.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    srv.proc = proc
    try:
        srv.wait_ready()
        assert requests.get(f"http://127.0.0.1:{port}/-/health/ready", timeout=10).status_code == 200
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0


# --- TLS in front ---------------------------------------------------------------

def make_cert(tmp: Path) -> tuple[Path, Path]:
    """A test CA (`ca.pem`) and a server certificate it signed for
    s3.example.com, *.s3.example.com and localhost; returns the chain
    (server certificate, then the CA) and the server's key."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)
    ca, ca_key = tmp / "ca.pem", tmp / "ca-key.pem"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=imgbucket test CA", "-keyout", str(ca_key), "-out", str(ca))
    key, csr, leaf = tmp / "privkey.pem", tmp / "server.csr", tmp / "server.pem"
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=s3.example.com",
            "-keyout", str(key), "-out", str(csr))
    ext = tmp / "server.ext"
    ext.write_text("subjectAltName=DNS:s3.example.com,DNS:*.s3.example.com,DNS:localhost\n"
                   "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
            "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(leaf))
    chain = tmp / "fullchain.pem"
    chain.write_text(leaf.read_text() + ca.read_text())
    return chain, key


def tls_block(tmp: Path, node_port: int, listen_port: int) -> str:
    """deploy/nginx-tls.conf with its listener, certificate and upstream
    moved to the test's; fails when the file no longer has those lines."""
    cert, key = make_cert(tmp)
    block = (REPO / "deploy" / "nginx-tls.conf").read_text()
    for pattern, repl in [
        (r"listen 443 ssl;", f"listen 127.0.0.1:{listen_port} ssl;"),
        (r"/etc/ssl/imgbucket/fullchain.pem", str(cert)),
        (r"/etc/ssl/imgbucket/privkey.pem", str(key)),
        (r"proxy_pass http://127.0.0.1:9000;", f"proxy_pass http://127.0.0.1:{node_port};"),
    ]:
        assert pattern in block, f"deploy/nginx-tls.conf has no `{pattern}`"
        block = block.replace(pattern, repl)
    return block


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    assert NGINX.is_file(), f"no nginx at {NGINX}: .ci/deps.sh installs it"
    tmp = tmp_path_factory.mktemp("tls")
    node = Server(tmp / "data", tmp / "node.log", extra_args=["--domain", "s3.example.com"])
    node.start()
    port = free_port()
    lb = Nginx(tmp, tls_block(tmp, node.port, port), port)
    try:
        lb.start()
        yield {"port": port, "ca": str(tmp / "ca.pem"), "nginx": lb, "node": node}
    finally:
        lb.stop()
        node.stop()


def tls_client(tls, host: str, style: str):
    return boto3.client(
        "s3", endpoint_url=f"https://{host}:{tls['port']}", aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, region_name=REGION, verify=tls["ca"],
        config=Config(signature_version="s3v4", s3={"addressing_style": style}))


def curl(tls, *args: str) -> subprocess.CompletedProcess:
    """curl as a client on another machine would run it: the names resolve
    to the proxy, the certificate is checked."""
    port = tls["port"]
    return subprocess.run(
        ["curl", "-sS", "--cacert", tls["ca"],
         "--resolve", f"s3.example.com:{port}:127.0.0.1",
         "--resolve", f"tls-demo.s3.example.com:{port}:127.0.0.1", *args],
        capture_output=True, timeout=60)


def test_large_multipart_upload_through_tls(tls):
    s3 = tls_client(tls, "localhost", "path")
    s3.create_bucket(Bucket="tls-demo")
    body = os.urandom(20 * MIB + 7)
    src = Path(tls["nginx"].tmp) / "big.bin"
    src.write_bytes(body)
    s3.upload_file(str(src), "tls-demo", "dir/big file.bin",
                   Config=TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB))
    head = s3.head_object(Bucket="tls-demo", Key="dir/big file.bin")
    assert head["ContentLength"] == len(body) and head["ETag"].endswith('-3"')
    got = s3.get_object(Bucket="tls-demo", Key="dir/big file.bin")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(body).digest()
    # Streamed both ways, not spooled to nginx's disk.
    assert "buffered to a temporary file" not in tls["nginx"].log()


def test_presigned_virtual_host_urls_through_tls(tls):
    path_style = tls_client(tls, "localhost", "path")
    try:
        path_style.create_bucket(Bucket="tls-demo")
    except ClientError:
        pass  # made by the test above
    virtual = tls_client(tls, "s3.example.com", "virtual")
    png = make_png(64, 48)
    put = virtual.generate_presigned_url(
        "put_object", Params={"Bucket": "tls-demo", "Key": "a b/cat.png"}, ExpiresIn=300)
    assert put.startswith(f"https://tls-demo.s3.example.com:{tls['port']}/a%20b/cat.png?")
    src = Path(tls["nginx"].tmp) / "cat.png"
    src.write_bytes(png)
    done = curl(tls, "-f", "-T", str(src), put)
    assert done.returncode == 0, done.stderr
    get = virtual.generate_presigned_url(
        "get_object", Params={"Bucket": "tls-demo", "Key": "a b/cat.png"}, ExpiresIn=300)
    done = curl(tls, "-f", get)
    assert done.returncode == 0, done.stderr
    assert done.stdout == png
    # A tampered URL is refused through the proxy too.
    done = curl(tls, "-o", "/dev/null", "-w", "%{http_code}", get.replace("cat.png", "dog.png"))
    assert done.stdout == b"403"


# --- backup, restore, upgrade ---------------------------------------------------

def cli(endpoint: str, *args: str, stdin: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IMGBUCKET_"))}
    env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=ACCESS_KEY,
               AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    done = subprocess.run([str(binary_path()), *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout


def populate(endpoint: str) -> None:
    """One of everything a data dir holds."""
    s3 = make_client(endpoint)
    cli(endpoint, "admin", "user", "add", "alice")
    s3.create_bucket(Bucket="photos", ACL="public-read")
    s3.put_object(Bucket="photos", Key="cat.png", Body=make_png(400, 300),
                  ContentType="image/png", Metadata={"owner": "demo", "note": "=?UTF-8?B?aMOpbGxv?="})
    s3.put_object(Bucket="photos", Key="dir/ü ber/€.txt", Body=b"utf-8 keys",
                  CacheControl="max-age=60", ContentDisposition="inline")
    s3.put_object(Bucket="photos", Key="private.txt", Body=b"mine", ACL="private")
    up = s3.create_multipart_upload(Bucket="photos", Key="multi.bin")
    parts = []
    for n, chunk in enumerate([b"a" * (5 * MIB), b"b" * 1000], start=1):
        r = s3.upload_part(Bucket="photos", Key="multi.bin", PartNumber=n,
                           UploadId=up["UploadId"], Body=chunk)
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    s3.complete_multipart_upload(Bucket="photos", Key="multi.bin", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": parts})
    s3.create_multipart_upload(Bucket="photos", Key="unfinished.bin")
    s3.put_bucket_cors(Bucket="photos", CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET"]}]})
    s3.put_bucket_lifecycle_configuration(Bucket="photos", LifecycleConfiguration={"Rules": [
        {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
         "Expiration": {"Days": 7}}]})
    s3.put_bucket_policy(Bucket="photos", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::photos/private/*"}]}))
    cli(endpoint, "style", "put", "photos", "small", "image/resize,w_100")
    cli(endpoint, "style", "put", "photos", "half", "imageMogr2/thumbnail/!50p")
    cli(endpoint, "image-config", "put", "photos", '{"separators": ["!"]}')
    s3.create_bucket(Bucket="empty-bucket")


def snapshot(endpoint: str) -> dict:
    """Everything a user can read back, without times."""
    s3 = make_client(endpoint)
    out: dict = {"users": sorted(
        line.split()[0] for line in cli(endpoint, "admin", "user", "list").splitlines()[1:])}
    buckets = {}
    for b in sorted(x["Name"] for x in s3.list_buckets()["Buckets"]):
        def opt(call, key, **kw):
            try:
                return call(Bucket=b, **kw)[key]
            except ClientError as e:
                return e.response["Error"]["Code"]
        objects = {}
        for o in s3.list_objects_v2(Bucket=b).get("Contents", []):
            got = s3.get_object(Bucket=b, Key=o["Key"])
            objects[o["Key"]] = {
                "etag": got["ETag"], "size": got["ContentLength"],
                "type": got.get("ContentType"), "meta": got.get("Metadata"),
                "cache": got.get("CacheControl"), "disposition": got.get("ContentDisposition"),
                "sha256": hashlib.sha256(got["Body"].read()).hexdigest(),
                "acl": [g["Permission"] for g in s3.get_object_acl(Bucket=b, Key=o["Key"])["Grants"]],
            }
        buckets[b] = {
            "acl": [g["Permission"] for g in s3.get_bucket_acl(Bucket=b)["Grants"]],
            "cors": opt(s3.get_bucket_cors, "CORSRules"),
            "lifecycle": opt(s3.get_bucket_lifecycle_configuration, "Rules"),
            "policy": opt(s3.get_bucket_policy, "Policy"),
            "uploads": [u["Key"] for u in s3.list_multipart_uploads(Bucket=b).get("Uploads", [])],
            "styles": cli(endpoint, "style", "list", b),
            "image_config": json.loads(cli(endpoint, "image-config", "get", b)),
            "objects": objects,
        }
    out["buckets"] = buckets
    # A processed variant, through a style and the separator (its size: the
    # encoder's bytes may change between releases, the result may not).
    r = requests.get(f"{endpoint}/photos/cat.png!small", timeout=30)
    out["variant"] = [r.status_code, list(image_size(r.content))]
    return out


def test_offline_backup_restores_everything(tmp_path):
    """docs/operations.md, "Backup and restore": stop, copy the data dir,
    start a server on the copy."""
    first = Server(tmp_path / "data", tmp_path / "a.log").start()
    try:
        populate(first.endpoint)
        before = snapshot(first.endpoint)
    finally:
        assert first.stop() == 0
    shutil.copytree(tmp_path / "data", tmp_path / "backup", symlinks=True)
    shutil.rmtree(tmp_path / "data")
    restored = Server(tmp_path / "backup", tmp_path / "b.log").start()
    try:
        assert snapshot(restored.endpoint) == before
    finally:
        restored.stop()


# Per-bucket settings added after 0.1.0, and the value a data dir written
# before them must read as (in `snapshot`'s layout).
ADDED_SINCE_0_1_0 = {"image_config": {"metadata": "safe"}}


def test_upgrade_opens_a_data_dir_of_the_0_1_0_format(tmp_path):
    """A data dir written by imgbucket 0.1.0 (record format version 1,
    made by `populate` and kept in fixtures/) opens and serves everything
    it held. When a record format changes, this fixture stays as it is and
    the new code must still read it (storage/src/record.rs)."""
    with tarfile.open(FIXTURES / "datadir-0.1.0.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    want = json.loads((FIXTURES / "datadir-0.1.0.json").read_text())
    srv = Server(tmp_path / "data", tmp_path / "log").start()
    try:
        got = snapshot(srv.endpoint)
    finally:
        srv.stop()
    # Settings added since 0.1.0 read as their defaults; everything the
    # old data dir held is as it was.
    for bucket in got["buckets"].values():
        for section, added in ADDED_SINCE_0_1_0.items():
            for key, default in added.items():
                assert bucket[section].pop(key) == default, (section, key)
    assert got == want


def make_upgrade_fixture(dest: Path) -> None:  # pragma: no cover - run by hand, once per format
    """Writes fixtures/datadir-<version>.tar.gz and its snapshot with the
    binary under test: `python -c 'import test_operations as t;
    t.make_upgrade_fixture(t.FIXTURES)'` from s3-compat-tests/."""
    import tempfile
    tmp = Path(tempfile.mkdtemp())
    srv = Server(tmp / "data", tmp / "log").start()
    try:
        populate(srv.endpoint)
        snap = snapshot(srv.endpoint)
    finally:
        srv.stop()
    shutil.rmtree(tmp / "data" / "cache", ignore_errors=True)
    dest.mkdir(exist_ok=True)
    with tarfile.open(dest / "datadir-0.1.0.tar.gz", "w:gz") as tar:
        tar.add(tmp / "data", arcname="data")
    (dest / "datadir-0.1.0.json").write_text(json.dumps(snap, indent=1, sort_keys=True) + "\n")
