"""Durability under `kill -9`: acknowledged writes survive, an interrupted
PUT leaves no object and no temp file behind, and multipart state is
consistent after a restart.

The server runs as its own process here (not the session server), so it can
be killed and restarted on the same data dir.
"""

import hashlib
import os
import socket
import time
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

import sigv4
from conftest import make_client
from s3util import ACCESS_KEY, MIB, SECRET_KEY, Server

pytestmark = pytest.mark.slow

# Names the embedded store may use for its staging area.
TEMP_DIR_NAMES = {"tmp", "temp", "staging", ".tmp"}
TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".temp")


def leftover_temp_files(data_dir):
    """Regular files in a temp/staging directory of the data dir, or with a
    temp-looking suffix anywhere in it."""
    found = []
    for dirpath, dirnames, filenames in os.walk(data_dir):
        parts = set(os.path.relpath(dirpath, data_dir).split(os.sep))
        in_temp = bool(parts & TEMP_DIR_NAMES)
        for f in filenames:
            if in_temp or f.endswith(TEMP_SUFFIXES):
                found.append(os.path.join(dirpath, f))
    return found


def data_file_bytes(data_dir):
    """Total size of the object data files (`<data>/objects/`, see the
    layout in storage/src/embedded.rs), or None if there is no such dir."""
    root = os.path.join(data_dir, "objects")
    if not os.path.isdir(root):
        return None
    return sum(os.path.getsize(os.path.join(d, f))
               for d, _, files in os.walk(root) for f in files)


def assert_no_leaked_data(s3, data_dir, bucket):
    """The data files hold no more than the bytes of the live objects:
    nothing of an interrupted or replaced body is left behind."""
    on_disk = data_file_bytes(data_dir)
    if on_disk is None:
        return
    live = sum(o["Size"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
               for o in p.get("Contents", []))
    # Small bodies may live inline in the metadata, so the files can hold
    # less than the live bytes, never more.
    assert on_disk <= live, f"{on_disk} bytes of data files for {live} bytes of objects"


def start_slow_put(endpoint, bucket, key, total, sent):
    """Opens a raw HTTP PUT of `total` bytes and sends only the first `sent`
    bytes of the body. Returns the socket (still open) and the bytes sent."""
    signer = sigv4.Signer(ACCESS_KEY, SECRET_KEY)
    url = f"{endpoint}/{bucket}/{key}"
    headers, _, _ = signer.sign("PUT", url, {"content-length": str(total)}, sigv4.UNSIGNED)
    host = urlsplit(endpoint).netloc
    head = f"PUT /{bucket}/{key} HTTP/1.1\r\nHost: {host}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    parts = urlsplit(endpoint)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    sock.sendall(head.encode())
    body = os.urandom(1 * MIB)
    n = 0
    while n < sent:
        chunk = body[: min(len(body), sent - n)]
        sock.sendall(chunk)
        n += len(chunk)
        time.sleep(0.01)  # "slowly": the server sees a body in progress
    return sock, n


def test_kill9_mid_put_and_after_ack(tmp_path):
    data = tmp_path / "data"
    srv = Server(data, tmp_path / "server.log")
    srv.start()
    s3 = make_client(srv.endpoint)
    s3.create_bucket(Bucket="crash")

    acked = {}
    for i, size in enumerate([0, 1, 4096, 300_000, 3 * MIB + 17]):
        body = os.urandom(size)
        resp = s3.put_object(Bucket="crash", Key=f"acked/{i}", Body=body)
        assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
        acked[f"acked/{i}"] = hashlib.sha256(body).hexdigest()
    # An overwrite that was acknowledged: the new body must win.
    newer = os.urandom(5000)
    s3.put_object(Bucket="crash", Key="acked/1", Body=newer)
    acked["acked/1"] = hashlib.sha256(newer).hexdigest()

    # A multipart upload with one acknowledged part.
    uid = s3.create_multipart_upload(Bucket="crash", Key="mp")["UploadId"]
    part1 = os.urandom(5 * MIB)
    p1 = s3.upload_part(Bucket="crash", Key="mp", UploadId=uid, PartNumber=1, Body=part1)

    # A 200 MiB PUT, killed after ~24 MiB of body.
    sock, sent = start_slow_put(srv.endpoint, "crash", "interrupted", 200 * MIB, 24 * MIB)
    time.sleep(0.3)
    # Something was staged while the body was in flight (the store streams
    # to disk rather than buffering 200 MiB in memory).
    staged = leftover_temp_files(data)
    srv.kill9()
    # The kill really happened mid-body, with the body being staged on disk
    # (the store streams bodies to a temp file rather than holding them in
    # memory); otherwise this test would not test recovery.
    assert staged, f"no temp file while a 200 MiB PUT was in flight: {os.listdir(data)}"
    sock.close()

    srv.start()
    try:
        for key, digest in acked.items():
            got = s3.get_object(Bucket="crash", Key=key)["Body"].read()
            assert hashlib.sha256(got).hexdigest() == digest, key
        with pytest.raises(ClientError) as e:
            s3.head_object(Bucket="crash", Key="interrupted")
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="crash")["Contents"]]
        assert keys == sorted(acked), keys

        parts = s3.list_parts(Bucket="crash", Key="mp", UploadId=uid)["Parts"]
        assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts] == \
            [(1, p1["ETag"], len(part1))]
        # The upload still completes after the crash.
        s3.complete_multipart_upload(Bucket="crash", Key="mp", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}]})
        assert s3.get_object(Bucket="crash", Key="mp")["Body"].read() == part1

        leftovers = leftover_temp_files(data)
        assert leftovers == [], (
            f"temp files left after restart: {leftovers}\n"
            f"(while the PUT was in flight: {staged})")
        assert_no_leaked_data(s3, data, "crash")
    finally:
        srv.stop()


def test_kill9_right_after_ack(tmp_path):
    data = tmp_path / "data"
    srv = Server(data, tmp_path / "server.log")
    srv.start()
    s3 = make_client(srv.endpoint)
    s3.create_bucket(Bucket="ack")
    bodies = {}
    for round_ in range(3):
        key = f"last-{round_}"
        body = os.urandom(1 * MIB + round_)
        s3.put_object(Bucket="ack", Key=key, Body=body)
        bodies[key] = hashlib.sha256(body).hexdigest()
        srv.kill9()  # immediately after the 200
        srv.start()
    try:
        for key, digest in bodies.items():
            got = s3.get_object(Bucket="ack", Key=key)["Body"].read()
            assert hashlib.sha256(got).hexdigest() == digest, key
        # A completed multipart upload, then kill -9 at once.
        uid = s3.create_multipart_upload(Bucket="ack", Key="mp")["UploadId"]
        parts = [os.urandom(5 * MIB), os.urandom(100)]
        done = []
        for i, p in enumerate(parts, start=1):
            r = s3.upload_part(Bucket="ack", Key="mp", UploadId=uid, PartNumber=i, Body=p)
            done.append({"PartNumber": i, "ETag": r["ETag"]})
        s3.complete_multipart_upload(Bucket="ack", Key="mp", UploadId=uid,
                                     MultipartUpload={"Parts": done})
        # And a delete that was acknowledged.
        s3.delete_object(Bucket="ack", Key="last-0")
        srv.kill9()
        srv.start()
        assert s3.get_object(Bucket="ack", Key="mp")["Body"].read() == b"".join(parts)
        with pytest.raises(ClientError):
            s3.head_object(Bucket="ack", Key="last-0")
        assert s3.list_multipart_uploads(Bucket="ack").get("Uploads", []) == []
        assert leftover_temp_files(data) == []
        assert_no_leaked_data(s3, data, "ack")
    finally:
        srv.stop()
