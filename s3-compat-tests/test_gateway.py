"""Gateway mode across nodes: two imgbucket nodes over one 3-node Garage
cluster (`scripts/garage-cluster.sh`), as docs/deploy.md sets it up.

Runs only when `$IMGBUCKET_TEST_BACKEND` names the cluster's env file
(`./test.sh` starts the cluster and sets it). The tests run in file order:
the last ones kill a Garage node, an imgbucket node, and finally the whole
backend, and each restores what it stopped.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import make_client
from process_fixtures import image_size, make_png
from s3util import (REPO, Server, backend_env, gateway_args, parse_xml,
                    signed_request, unique_name, xml_text)

pytestmark = pytest.mark.gateway

CLUSTER_SCRIPT = REPO / "scripts" / "garage-cluster.sh"
# docs/deploy.md: a change made through one node is seen by the others
# within this.
SHARED_STATE_BOUND = 2.0
# The nodes' --backend-timeout in these tests.
BACKEND_TIMEOUT = 3


def cluster(*args: str) -> None:
    """Runs the cluster script on the suite's cluster."""
    backend_dir = Path(os.environ["IMGBUCKET_TEST_BACKEND"]).parent
    subprocess.run(["bash", str(CLUSTER_SCRIPT), args[0], str(backend_dir), *args[1:]],
                   check=True, capture_output=True, timeout=180)


@pytest.fixture(scope="module")
def backend():
    env = backend_env()
    assert env, "IMGBUCKET_TEST_BACKEND is not set"
    return env


@pytest.fixture(scope="module")
def meta_bucket():
    return unique_name("meta-gw")


def start_node(tmp: Path, name: str, backend: dict, meta_bucket: str,
               endpoint: str | None = None) -> Server:
    env, args = gateway_args(backend, meta_bucket=meta_bucket, endpoint=endpoint,
                             timeout_secs=BACKEND_TIMEOUT)
    srv = Server(tmp / name / "data", tmp / f"{name}.log", env=env, extra_args=args)
    return srv.start()


@pytest.fixture(scope="module")
def nodes(tmp_path_factory, backend, meta_bucket):
    """Node A over Garage node 1, node B over Garage node 2."""
    tmp = tmp_path_factory.mktemp("gateway")
    endpoints = backend["GARAGE_ENDPOINTS"].split()
    a = start_node(tmp, "a", backend, meta_bucket, endpoints[0])
    b = start_node(tmp, "b", backend, meta_bucket, endpoints[1])
    yield {"a": a, "b": b, "tmp": tmp}
    for srv in (a, b):
        srv.stop()


@pytest.fixture(scope="module")
def garage(backend):
    """boto3 straight to Garage, with the backend's own key."""
    cfg = Config(signature_version="s3v4", region_name=backend.get("GARAGE_REGION", "garage"),
                 s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                 request_checksum_calculation="when_required",
                 response_checksum_validation="when_required")
    return boto3.session.Session().client(
        "s3", endpoint_url=backend["GARAGE_ENDPOINT"],
        aws_access_key_id=backend["IMGBUCKET_BACKEND_ACCESS_KEY"],
        aws_secret_access_key=backend["IMGBUCKET_BACKEND_SECRET_KEY"], config=cfg)


@pytest.fixture(scope="module")
def a(nodes):
    return make_client(nodes["a"].endpoint)


@pytest.fixture(scope="module")
def b(nodes):
    return make_client(nodes["b"].endpoint)


@pytest.fixture(scope="module")
def shared_bucket(a):
    name = unique_name("gw")
    a.create_bucket(Bucket=name)
    return name


def eventually(check, bound: float = SHARED_STATE_BOUND + 1.0):
    """Polls `check` until it passes or `bound` seconds have gone; returns
    the seconds it took."""
    start = time.monotonic()
    while True:
        try:
            check()
            return time.monotonic() - start
        except (AssertionError, ClientError):
            if time.monotonic() - start > bound:
                raise
            time.sleep(0.1)


def test_writes_through_a_are_read_through_b_byte_for_byte(a, b, garage, shared_bucket):
    body = os.urandom(3 * 1024 * 1024 + 17)
    a.put_object(Bucket=shared_bucket, Key="dir/blob.bin", Body=body,
                 ContentType="application/x-test", Metadata={"colour": "blue"})
    got = b.get_object(Bucket=shared_bucket, Key="dir/blob.bin")
    data = got["Body"].read()
    assert data == body
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"colour": "blue"}
    direct = garage.get_object(Bucket=shared_bucket, Key="dir/blob.bin")["Body"].read()
    assert direct == data
    # Ranges, HEAD and listings agree too.
    r = b.get_object(Bucket=shared_bucket, Key="dir/blob.bin", Range="bytes=100-199")
    assert r["Body"].read() == body[100:200]
    assert r["ContentRange"] == f"bytes 100-199/{len(body)}"
    assert b.head_object(Bucket=shared_bucket, Key="dir/blob.bin")["ETag"] == got["ETag"]
    listed = b.list_objects_v2(Bucket=shared_bucket, Prefix="dir/")["Contents"]
    assert [o["Key"] for o in listed] == ["dir/blob.bin"]


def test_multipart_started_on_a_is_completed_on_b(a, b, garage, shared_bucket):
    key = "multi/part.bin"
    up = a.create_multipart_upload(Bucket=shared_bucket, Key=key, ContentType="video/x-test")
    uid = up["UploadId"]
    p1 = os.urandom(5 * 1024 * 1024)
    p2 = os.urandom(1234)
    e1 = a.upload_part(Bucket=shared_bucket, Key=key, UploadId=uid, PartNumber=1, Body=p1)["ETag"]
    e2 = b.upload_part(Bucket=shared_bucket, Key=key, UploadId=uid, PartNumber=2, Body=p2)["ETag"]
    parts = b.list_parts(Bucket=shared_bucket, Key=key, UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"]) for p in parts] == [(1, e1), (2, e2)]
    done = b.complete_multipart_upload(
        Bucket=shared_bucket, Key=key, UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                   {"PartNumber": 2, "ETag": e2}]})
    assert done["ETag"].endswith('-2"')
    got = a.get_object(Bucket=shared_bucket, Key=key)
    assert got["Body"].read() == p1 + p2
    assert got["ContentType"] == "video/x-test"
    assert garage.head_object(Bucket=shared_bucket, Key=key)["ETag"] == done["ETag"]


def test_the_meta_bucket_is_never_shown_to_clients(a, garage, meta_bucket, shared_bucket):
    names = [x["Name"] for x in a.list_buckets()["Buckets"]]
    assert shared_bucket in names and meta_bucket not in names
    # It exists on the backend, holding the shared state.
    assert meta_bucket in [x["Name"] for x in garage.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as e:
        a.create_bucket(Bucket=meta_bucket)
    assert e.value.response["Error"]["Code"] == "BucketAlreadyExists"
    with pytest.raises(ClientError) as e:
        a.list_objects_v2(Bucket=meta_bucket)
    assert e.value.response["Error"]["Code"] == "NoSuchBucket"


def test_a_style_and_settings_made_on_a_are_used_by_b(nodes, a, b, shared_bucket):
    ea, eb = nodes["a"].endpoint, nodes["b"].endpoint
    a.put_object(Bucket=shared_bucket, Key="photo.png", Body=make_png(400, 300),
                 ContentType="image/png")
    r = signed_request(ea, "PUT", f"/{shared_bucket}", query=[("style", None),
                       ("styleName", "small")],
                       body=b"<Style><Content>image/resize,w_100</Content></Style>")
    assert r.status_code == 200, r.text

    def b_uses_the_style():
        r = signed_request(eb, "GET", f"/{shared_bucket}/photo.png",
                           query={"x-oss-process": "style/small"})
        assert r.status_code == 200, r.text
        assert image_size(r.content) == ("png", 100, 75)
    took = eventually(b_uses_the_style)
    assert took <= SHARED_STATE_BOUND + 1.0

    # A separator set on A: B serves `key!style` within the bound.
    r = signed_request(ea, "PUT", f"/{shared_bucket}", query=[("x-imgbucket-image-config", None)],
                       body=json.dumps({"separators": ["!"]}).encode())
    assert r.status_code == 200, r.text

    def b_knows_the_separator():
        r = signed_request(eb, "GET", f"/{shared_bucket}/photo.png!small")
        assert r.status_code == 200, r.text
        assert image_size(r.content) == ("png", 100, 75)
    eventually(b_knows_the_separator)

    # A bucket made public on A is public on B.
    a.put_bucket_acl(Bucket=shared_bucket, ACL="public-read")

    def b_serves_anonymous_reads():
        assert requests.get(f"{eb}/{shared_bucket}/photo.png", timeout=10).status_code == 200
    eventually(b_serves_anonymous_reads)
    a.put_bucket_acl(Bucket=shared_bucket, ACL="private")


def test_pic_operations_outputs_written_on_a_are_read_on_b(nodes, b, shared_bucket):
    ops = json.dumps({"is_pic_info": 1, "rules": [
        {"fileid": "thumbs/p.jpg", "rule": "imageMogr2/thumbnail/80x/format/jpg"}]})
    r = signed_request(nodes["a"].endpoint, "PUT", f"/{shared_bucket}/up.png",
                       headers={"Pic-Operations": ops, "Content-Type": "image/png"},
                       body=make_png(320, 240))
    assert r.status_code == 200, r.text
    out = b.get_object(Bucket=shared_bucket, Key="thumbs/p.jpg")
    assert image_size(out["Body"].read()) == ("jpeg", 80, 60)


def test_a_processed_variant_is_computed_once_per_node(nodes, shared_bucket, a):
    a.put_object(Bucket=shared_bucket, Key="v.png", Body=make_png(300, 200),
                 ContentType="image/png")
    url = f"/{shared_bucket}/v.png"
    q = {"x-oss-process": "image/resize,w_30"}
    first = signed_request(nodes["a"].endpoint, "GET", url, query=q)
    again = signed_request(nodes["a"].endpoint, "GET", url, query=q)
    assert first.status_code == again.status_code == 200
    assert again.headers["x-imgbucket-cache"] == "hit"
    assert again.content == first.content
    # An overwrite changes the source ETag: the node sees it and recomputes.
    a.put_object(Bucket=shared_bucket, Key="v.png", Body=make_png(600, 200),
                 ContentType="image/png")
    fresh = signed_request(nodes["a"].endpoint, "GET", url, query=q)
    assert image_size(fresh.content) == ("png", 30, 10)


def test_conditional_writes_are_refused_with_501(a, shared_bucket):
    with pytest.raises(ClientError) as e:
        a.put_object(Bucket=shared_bucket, Key="cond", Body=b"x", IfNoneMatch="*")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert e.value.response["Error"]["Code"] == "NotImplemented"
    # Nothing was written.
    with pytest.raises(ClientError):
        a.head_object(Bucket=shared_bucket, Key="cond")


def test_a_nodes_listings_never_show_what_it_just_deleted(a):
    """Garage can list a key (and refuse DeleteBucket) for a moment after
    its delete; a node keeps its own deletes out of what it answers."""
    name = unique_name("gw-del")
    a.create_bucket(Bucket=name)
    keys = [f"d/{i:02}" for i in range(20)] + [f"k{i:02}" for i in range(20)]
    for key in keys:
        a.put_object(Bucket=name, Key=key, Body=b"x")
    for key in keys:
        a.delete_object(Bucket=name, Key=key)
        listed = [o["Key"] for o in a.list_objects_v2(Bucket=name).get("Contents", [])]
        assert key not in listed
        assert len(listed) == len(keys) - keys.index(key) - 1
        if key == "d/19":
            rolled = a.list_objects_v2(Bucket=name, Delimiter="/")
            assert "CommonPrefixes" not in rolled, rolled
    for _ in range(5):
        upload = a.create_multipart_upload(Bucket=name, Key="mpu")["UploadId"]
        a.abort_multipart_upload(Bucket=name, Key="mpu", UploadId=upload)
        assert "Uploads" not in a.list_multipart_uploads(Bucket=name)
    a.put_object(Bucket=name, Key="last", Body=b"x")
    a.delete_object(Bucket=name, Key="last")
    a.delete_bucket(Bucket=name)


def test_wiping_a_nodes_data_dir_loses_nothing(nodes, backend, meta_bucket, shared_bucket, b):
    tmp = nodes["tmp"]
    b.put_object(Bucket=shared_bucket, Key="kept.txt", Body=b"still here")
    env, args = gateway_args(backend, meta_bucket=meta_bucket, timeout_secs=BACKEND_TIMEOUT)
    node = Server(tmp / "wiped" / "data", tmp / "wiped.log", env=env, extra_args=args).start()
    try:
        c = make_client(node.endpoint)
        assert c.get_object(Bucket=shared_bucket, Key="kept.txt")["Body"].read() == b"still here"
        node.stop()
        subprocess.run(["rm", "-rf", str(tmp / "wiped" / "data")], check=True)
        node.start()
        assert c.get_object(Bucket=shared_bucket, Key="kept.txt")["Body"].read() == b"still here"
        r = signed_request(node.endpoint, "GET", f"/{shared_bucket}/photo.png",
                           query={"x-oss-process": "style/small"})
        assert r.status_code == 200, r.text
    finally:
        node.stop()


def test_one_garage_node_down_reads_and_writes_go_on(a, b, shared_bucket):
    cluster("kill-node", "3")
    try:
        body = os.urandom(100_000)
        a.put_object(Bucket=shared_bucket, Key="quorum.bin", Body=body)
        assert b.get_object(Bucket=shared_bucket, Key="quorum.bin")["Body"].read() == body
        assert b.get_object(Bucket=shared_bucket, Key="dir/blob.bin")["ContentLength"] > 0
    finally:
        cluster("start-node", "3")


def test_node_a_down_b_serves_everything(nodes, b, shared_bucket):
    nodes["a"].stop()
    try:
        assert b.get_object(Bucket=shared_bucket, Key="quorum.bin")["ContentLength"] == 100_000
        b.put_object(Bucket=shared_bucket, Key="after-a.txt", Body=b"b alone")
        r = signed_request(nodes["b"].endpoint, "GET", f"/{shared_bucket}/photo.png!small")
        assert r.status_code == 200, r.text
    finally:
        nodes["a"].start()


def test_backend_down_gives_503_in_time_then_recovers(nodes, a, shared_bucket):
    cluster("stop")
    try:
        for path, query in [(f"/{shared_bucket}/quorum.bin", None),
                            (f"/{shared_bucket}/photo.png", {"x-oss-process": "style/small"}),
                            (f"/{shared_bucket}", None)]:
            t0 = time.monotonic()
            r = signed_request(nodes["a"].endpoint, "GET", path, query=query,
                               timeout=BACKEND_TIMEOUT * 4)
            took = time.monotonic() - t0
            assert r.status_code == 503, (path, r.status_code, r.text)
            assert took < BACKEND_TIMEOUT + 2, took
        r = signed_request(nodes["a"].endpoint, "PUT", f"/{shared_bucket}/x.txt", body=b"x")
        assert r.status_code == 503
        root = parse_xml(r.content)
        assert xml_text(root, "Code") in ("ServiceUnavailable", "SlowDown")
    finally:
        cluster("start")

    def serves_again():
        r = signed_request(nodes["a"].endpoint, "GET", f"/{shared_bucket}/quorum.bin")
        assert r.status_code == 200, r.status_code
    eventually(serves_again, bound=60)
    a.put_object(Bucket=shared_bucket, Key="back.txt", Body=b"back")
    assert a.get_object(Bucket=shared_bucket, Key="back.txt")["Body"].read() == b"back"
