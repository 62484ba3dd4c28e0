"""Alibaba's own Python SDK (`oss2`, pinned in requirements.txt) against the
built binary, unchanged: only the endpoint and the keys differ from an app
that talks to Alibaba Cloud.

Covers V1 (header and signed URL) and V4 (`oss2.AuthV4`, `ProviderAuthV4`)
signing, objects with `x-oss-meta-*`, copies, listings (V1 and V2),
`resumable_upload` with 100 KiB parts, batch delete, bucket ACL, image
processing (`get_object(process=)`, `get_object_to_file`, `process_object`
with `sys/saveas`, bucket styles) and each SDK exception a wrong call must
raise. Against `http://127.0.0.1:PORT` oss2 uses path-style addressing.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid

import pytest
import requests

oss2 = pytest.importorskip("oss2")
from oss2.credentials import EnvironmentVariableCredentialsProvider  # noqa: E402

from process_fixtures import image_size, make_png  # noqa: E402
from s3util import ACCESS_KEY, SECRET_KEY, backend_env  # noqa: E402

REGION = "cn-hangzhou"


def b64(s: str) -> str:
    """URL-safe base64 without padding, as `sys/saveas` takes names."""
    return base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")


@pytest.fixture(scope="module")
def auth():
    return oss2.Auth(ACCESS_KEY, SECRET_KEY)


@pytest.fixture
def bucket(endpoint, auth):
    """A fresh bucket created through oss2 (V1 signing), emptied after."""
    name = "oss2-" + uuid.uuid4().hex[:12]
    b = oss2.Bucket(auth, endpoint, name)
    b.create_bucket()
    yield b
    for obj in oss2.ObjectIterator(b):
        b.delete_object(obj.key)
    for up in oss2.MultipartUploadIterator(b):
        b.abort_multipart_upload(up.key, up.upload_id)
    b.delete_bucket()


@pytest.fixture
def bucket_v4(endpoint, bucket):
    """The same bucket through V4 signing."""
    return oss2.Bucket(oss2.AuthV4(ACCESS_KEY, SECRET_KEY), endpoint, bucket.bucket_name,
                       region=REGION)


def test_put_get_head_with_metadata_v1(bucket):
    r = bucket.put_object("a/hello.txt", b"hello oss",
                          headers={"x-oss-meta-color": "blue", "Content-Type": "text/plain"})
    assert r.status == 200
    assert r.etag.lower() == hashlib.md5(b"hello oss").hexdigest()
    got = bucket.get_object("a/hello.txt")
    assert got.read() == b"hello oss"
    assert got.headers["x-oss-meta-color"] == "blue"
    assert got.headers["Content-Type"] == "text/plain"
    # The request id comes back under OSS's own header.
    assert got.request_id
    head = bucket.head_object("a/hello.txt")
    assert head.content_length == 9
    assert head.headers["x-oss-meta-color"] == "blue"
    assert "x-amz-meta-color" not in head.headers
    meta = bucket.get_object_meta("a/hello.txt")
    assert meta.content_length == 9
    assert bucket.object_exists("a/hello.txt")
    assert not bucket.object_exists("a/missing.txt")
    bucket.delete_object("a/hello.txt")
    assert not bucket.object_exists("a/hello.txt")


def test_v4_header_signing(bucket_v4):
    bucket_v4.put_object("v4.txt", b"signed with OSS4-HMAC-SHA256",
                         headers={"x-oss-meta-k": "v"})
    got = bucket_v4.get_object("v4.txt")
    assert got.read() == b"signed with OSS4-HMAC-SHA256"
    assert got.headers["x-oss-meta-k"] == "v"
    assert [o.key for o in bucket_v4.list_objects().object_list] == ["v4.txt"]
    bucket_v4.delete_object("v4.txt")


def test_provider_auth_v4(endpoint, bucket, monkeypatch):
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", SECRET_KEY)
    auth = oss2.ProviderAuthV4(EnvironmentVariableCredentialsProvider())
    b = oss2.Bucket(auth, endpoint, bucket.bucket_name, region=REGION)
    b.put_object("provider.txt", b"from env")
    assert b.get_object("provider.txt").read() == b"from env"


def test_signed_urls_v1_and_v4_open_with_plain_requests(bucket, bucket_v4):
    bucket.put_object("url.txt", b"via url")
    for b in (bucket, bucket_v4):
        url = b.sign_url("GET", "url.txt", 60)
        r = requests.get(url, timeout=10)
        assert r.status_code == 200, r.text
        assert r.content == b"via url"
    # A URL signed with the wrong secret is refused in OSS's shape.
    wrong = oss2.Bucket(oss2.Auth(ACCESS_KEY, "wrong-secret"), bucket.endpoint, bucket.bucket_name)
    url = wrong.sign_url("GET", "url.txt", 60)
    r = requests.get(url, timeout=10)
    assert r.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in r.text
    assert "<HostId>" in r.text
    assert "xmlns" not in r.text


def test_listing_v1_v2_and_buckets(endpoint, auth, bucket):
    for k in ["d/1", "d/2", "e/3", "top"]:
        bucket.put_object(k, b"x")
    res = bucket.list_objects(delimiter="/")
    assert [o.key for o in res.object_list] == ["top"]
    assert res.prefix_list == ["d/", "e/"]
    assert res.object_list[0].type == "Normal"
    assert res.object_list[0].size == 1
    assert res.object_list[0].last_modified > 0
    keys = [o.key for o in oss2.ObjectIterator(bucket, max_keys=1)]
    assert keys == ["d/1", "d/2", "e/3", "top"]
    keys = [o.key for o in oss2.ObjectIteratorV2(bucket, max_keys=2)]
    assert keys == ["d/1", "d/2", "e/3", "top"]
    names = [b.name for b in oss2.BucketIterator(oss2.Service(auth, endpoint))]
    assert bucket.bucket_name in names


def test_copy_and_metadata_directive(bucket):
    bucket.put_object("src.txt", b"copy me", headers={"x-oss-meta-a": "1"})
    bucket.copy_object(bucket.bucket_name, "src.txt", "dst.txt")
    got = bucket.get_object("dst.txt")
    assert got.read() == b"copy me"
    assert got.headers["x-oss-meta-a"] == "1"
    bucket.copy_object(bucket.bucket_name, "src.txt", "dst2.txt",
                       headers={"x-oss-metadata-directive": "REPLACE", "x-oss-meta-b": "2"})
    head = bucket.head_object("dst2.txt")
    assert head.headers["x-oss-meta-b"] == "2"
    assert "x-oss-meta-a" not in head.headers
    bucket.update_object_meta("src.txt", {"x-oss-meta-c": "3"})
    head = bucket.head_object("src.txt")
    assert head.headers["x-oss-meta-c"] == "3"
    assert bucket.get_object("src.txt").read() == b"copy me"


def test_resumable_upload_with_small_parts(bucket, tmp_path):
    # 100 KiB parts: OSS's minimum, far below S3's 5 MiB.
    data = os.urandom(350 * 1024)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    oss2.resumable_upload(bucket, "big.bin", str(path), store=oss2.ResumableStore(root=str(tmp_path)),
                          multipart_threshold=100 * 1024, part_size=100 * 1024, num_threads=2)
    assert bucket.get_object("big.bin").read() == data
    head = bucket.head_object("big.bin")
    assert head.content_length == len(data)
    assert head.etag.endswith("-4")
    listed = bucket.list_objects().object_list
    assert listed[0].type == "Multipart"


def test_explicit_multipart_and_listings(bucket):
    up = bucket.init_multipart_upload("mp.bin")
    assert [u.key for u in bucket.list_multipart_uploads().upload_list] == ["mp.bin"]
    p1 = bucket.upload_part("mp.bin", up.upload_id, 1, b"a" * (100 * 1024))
    p2 = bucket.upload_part("mp.bin", up.upload_id, 2, b"b" * 10)
    parts = bucket.list_parts("mp.bin", up.upload_id).parts
    assert [(p.part_number, p.size) for p in parts] == [(1, 100 * 1024), (2, 10)]
    bucket.complete_multipart_upload("mp.bin", up.upload_id, [
        oss2.models.PartInfo(1, p1.etag), oss2.models.PartInfo(2, p2.etag)])
    assert bucket.head_object("mp.bin").content_length == 100 * 1024 + 10
    # Below OSS's 100 KiB minimum: refused like OSS does.
    up = bucket.init_multipart_upload("small.bin")
    q1 = bucket.upload_part("small.bin", up.upload_id, 1, b"a" * 1000)
    q2 = bucket.upload_part("small.bin", up.upload_id, 2, b"b" * 10)
    with pytest.raises(oss2.exceptions.ServerError) as e:
        bucket.complete_multipart_upload("small.bin", up.upload_id, [
            oss2.models.PartInfo(1, q1.etag), oss2.models.PartInfo(2, q2.etag)])
    assert e.value.code == "EntityTooSmall"
    bucket.abort_multipart_upload("small.bin", up.upload_id)


def test_crc64_checked_end_to_end(bucket, tmp_path):
    """oss2 (`enable_crc`, its default) compares its own CRC-64 with the
    server's `x-oss-hash-crc64ecma` after put_object, upload_part,
    complete_multipart_upload (combined from the parts) and
    get_object_to_file; a wrong value raises InconsistentError."""
    data = os.urandom(250 * 1024 + 7)
    crc = oss2.utils.Crc64()
    crc.update(data)
    assert bucket.put_object("c.bin", data).crc == crc.crc
    assert bucket.head_object("c.bin").server_crc == crc.crc
    bucket.get_object_to_file("c.bin", str(tmp_path / "c.out"))
    assert (tmp_path / "c.out").read_bytes() == data
    # A ranged answer carries no whole-object CRC.
    assert bucket.get_object("c.bin", byte_range=(0, 9)).server_crc is None

    up = bucket.init_multipart_upload("m.bin")
    cuts = [(0, 100 * 1024), (100 * 1024, 200 * 1024), (200 * 1024, len(data))]
    parts = []
    for n, (a, b) in enumerate(cuts, start=1):
        r = bucket.upload_part("m.bin", up.upload_id, n, data[a:b])
        part = oss2.utils.Crc64()
        part.update(data[a:b])
        assert r.crc == part.crc
        parts.append(oss2.models.PartInfo(n, r.etag, size=b - a, part_crc=r.crc))
    done = bucket.complete_multipart_upload("m.bin", up.upload_id, parts)
    assert done.crc == crc.crc
    assert bucket.head_object("m.bin").server_crc == crc.crc
    # A copy keeps the bytes, so it keeps the CRC.
    bucket.copy_object(bucket.bucket_name, "m.bin", "m2.bin")
    assert bucket.head_object("m2.bin").server_crc == crc.crc
    # A part copied from a range of an object has its CRC too.
    up = bucket.init_multipart_upload("pc.bin")
    p1 = bucket.upload_part_copy(bucket.bucket_name, "c.bin", (0, 100 * 1024 - 1),
                                 "pc.bin", up.upload_id, 1)
    p2 = bucket.upload_part("pc.bin", up.upload_id, 2, data[100 * 1024:])
    bucket.complete_multipart_upload("pc.bin", up.upload_id, [
        oss2.models.PartInfo(1, p1.etag), oss2.models.PartInfo(2, p2.etag)])
    assert bucket.head_object("pc.bin").server_crc == crc.crc


def test_batch_delete_and_acl(bucket):
    for k in ["x1", "x2"]:
        bucket.put_object(k, b"x")
    res = bucket.batch_delete_objects(["x1", "x2", "never"])
    assert sorted(res.deleted_keys) == ["never", "x1", "x2"]
    assert bucket.get_bucket_acl().acl == oss2.BUCKET_ACL_PRIVATE
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    assert bucket.get_bucket_acl().acl == oss2.BUCKET_ACL_PUBLIC_READ
    bucket.put_object("public.txt", b"open")
    r = requests.get(f"{bucket.endpoint}/{bucket.bucket_name}/public.txt", timeout=10)
    assert r.content == b"open"


# --- errors: each one raises oss2's own exception class with OSS's code ---

def test_errors_are_oss2_exceptions(endpoint, bucket):
    with pytest.raises(oss2.exceptions.NoSuchKey) as e:
        bucket.get_object("missing")
    assert e.value.status == 404
    assert e.value.request_id  # from x-oss-request-id
    assert e.value.details["HostId"]
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        oss2.Bucket(bucket.auth, endpoint, "no-such-bucket-oss2").get_object("k")
    for auth in (oss2.Auth(ACCESS_KEY, "wrong-secret"), oss2.AuthV4(ACCESS_KEY, "wrong-secret")):
        wrong = oss2.Bucket(auth, endpoint, bucket.bucket_name, region=REGION)
        with pytest.raises(oss2.exceptions.SignatureDoesNotMatch) as e:
            wrong.put_object("k", b"v")
        assert e.value.status == 403
    # oss2 has no class for this code: a ServerError carrying it.
    with pytest.raises(oss2.exceptions.ServerError) as e:
        oss2.Bucket(oss2.Auth("NOSUCHKEY", SECRET_KEY), endpoint, bucket.bucket_name).get_object("k")
    assert (e.value.status, e.value.code) == (403, "InvalidAccessKeyId")


# --- image processing through the SDK ---

@pytest.fixture
def photo(bucket):
    bucket.put_object("photo.png", make_png(200, 100))
    return "photo.png"


def test_get_object_with_process(bucket, bucket_v4, photo):
    assert image_size(bucket.get_object(photo, process="image/resize,w_100").read()) == ("png", 100, 50)
    got = bucket.get_object(photo, process="image/resize,w_50/format,jpg")
    assert image_size(got.read()) == ("jpeg", 50, 25)
    assert got.headers["Content-Type"] == "image/jpeg"
    # V4 signs the process parameter as part of the query.
    assert image_size(bucket_v4.get_object(photo, process="image/resize,h_20").read()) == ("png", 40, 20)


def test_get_object_to_file_with_process(bucket, photo, tmp_path):
    out = tmp_path / "thumb.jpg"
    bucket.get_object_to_file(photo, str(out), process="image/resize,w_20/format,jpg")
    assert image_size(out.read_bytes()) == ("jpeg", 20, 10)


def test_process_object_saveas(bucket, photo):
    spec = "image/resize,w_100|sys/saveas,o_%s,b_%s" % (b64("saved/thumb.png"), b64(bucket.bucket_name))
    res = bucket.process_object(photo, spec)
    assert res.status == 200
    assert res.object == "saved/thumb.png"
    assert res.bucket == bucket.bucket_name
    assert image_size(bucket.get_object("saved/thumb.png").read()) == ("png", 100, 50)


def test_bucket_styles(bucket, photo):
    bucket.put_bucket_style("small", "image/resize,w_30")
    assert bucket.get_bucket_style("small").content == "image/resize,w_30"
    assert [s.name for s in bucket.list_bucket_style().styles] == ["small"]
    assert image_size(bucket.get_object(photo, process="style/small").read()) == ("png", 30, 15)
    bucket.delete_bucket_style("small")
    assert bucket.list_bucket_style().styles == []
    with pytest.raises(oss2.exceptions.ServerError) as e:
        bucket.get_object(photo, process="style/small")
    assert e.value.code == "NoSuchStyle"


def test_signed_url_with_process(bucket, bucket_v4, photo):
    for b in (bucket, bucket_v4):
        url = b.sign_url("GET", photo, 60, params={"x-oss-process": "image/resize,w_10"})
        r = requests.get(url, timeout=10)
        assert r.status_code == 200, r.text
        assert image_size(r.content) == ("png", 10, 5)
        assert r.headers["Content-Type"] == "image/png"


def test_processing_error_is_oss2_exception(bucket, photo):
    with pytest.raises(oss2.exceptions.InvalidArgument) as e:
        bucket.get_object(photo, process="image/resize,w_abc")
    assert e.value.status == 400
    assert "w_abc" in e.value.message


# --- the snippet of docs/migrate-from-oss.md, as written ---

def doc_snippet(doc: str) -> str:
    """The first ```python block of a doc."""
    from s3util import REPO
    text = (REPO / "docs" / doc).read_text()
    start = text.index("```python\n") + len("```python\n")
    return text[start:text.index("```", start)]


def test_migration_doc_snippet(endpoint, monkeypatch, tmp_path, capsys):
    code = doc_snippet("migrate-from-oss.md")
    assert 'endpoint = "http://127.0.0.1:9000"' in code
    code = code.replace("http://127.0.0.1:9000", endpoint)
    monkeypatch.setenv("IMGBUCKET_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("IMGBUCKET_SECRET_KEY", SECRET_KEY)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cat.png").write_bytes(make_png(200, 100))
    ns: dict = {}
    exec(compile(code, "migrate-from-oss.md", "exec"), ns)
    assert image_size(ns["thumb"]) == ("jpeg", 100, 50)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"demo {len(ns['thumb'])}"
    r = requests.get(out[1], timeout=10)
    assert r.status_code == 200, r.text
    assert image_size(r.content) == ("png", 50, 25)
    b = ns["bucket"]
    b.delete_object("cat.png")
    b.delete_bucket()


def test_bucket_info_and_stat(bucket):
    bucket.put_object("a.txt", b"12345")
    bucket.put_object("b/c.txt", b"123")
    bucket.init_multipart_upload("pending.bin")
    info = bucket.get_bucket_info()
    assert info.name == bucket.bucket_name
    assert info.location == "oss-us-east-1"
    assert info.acl.grant == "private"
    assert info.storage_class == "Standard"
    assert info.creation_date.endswith(".000Z")
    stat = bucket.get_bucket_stat()
    assert (stat.storage_size_in_bytes, stat.object_count) == (8, 2)
    assert stat.multi_part_upload_count == 1


def test_oss_only_headers_and_apis(bucket):
    assert bucket.get_bucket_location().location == "oss-us-east-1"
    bucket.put_object("keep.txt", b"original")
    # x-oss-forbid-overwrite: the object is kept, refused as OSS does.
    with pytest.raises(oss2.exceptions.ServerError) as e:
        bucket.put_object("keep.txt", b"new", headers={"x-oss-forbid-overwrite": "true"})
    assert (e.value.status, e.value.code) == (409, "FileAlreadyExists")
    assert bucket.get_object("keep.txt").read() == b"original"
    if backend_env():
        # Gateway mode cannot check absence and write in one step
        # (docs/deploy.md): refused, and nothing is written.
        with pytest.raises(oss2.exceptions.ServerError) as e:
            bucket.put_object("fresh.txt", b"new", headers={"x-oss-forbid-overwrite": "true"})
        assert (e.value.status, e.value.code) == (501, "NotImplemented")
        assert not bucket.object_exists("fresh.txt")
    else:
        bucket.put_object("fresh.txt", b"new", headers={"x-oss-forbid-overwrite": "true"})
    # Not served: refused with 501, never answered with something else
    # (a symlink PUT must not store an empty object).
    for call in (lambda: bucket.put_symlink("keep.txt", "link"),
                 lambda: bucket.append_object("app", 0, b"x"),
                 lambda: bucket.put_bucket_referer(oss2.models.BucketReferer(True, []))):
        with pytest.raises(oss2.exceptions.ServerError) as e:
            call()
        assert (e.value.status, e.value.code) == (501, "NotImplemented")
    assert not bucket.object_exists("link")


def test_object_tagging(bucket):
    bucket.put_object("tagged.txt", b"t", headers={"x-oss-tagging": "project=blue&k2=v%202"})
    head = bucket.head_object("tagged.txt")
    assert head.headers["x-oss-tagging-count"] == "2"
    got = bucket.get_object_tagging("tagged.txt")
    assert got.tag_set.tagging_rule == {"project": "blue", "k2": "v 2"}
    rule = oss2.models.TaggingRule()
    rule.add("类别", "照片")
    bucket.put_object_tagging("tagged.txt", oss2.models.Tagging(rule))
    assert bucket.get_object_tagging("tagged.txt").tag_set.tagging_rule == {"类别": "照片"}
    # A copy takes the source's tags unless told to replace them.
    bucket.copy_object(bucket.bucket_name, "tagged.txt", "copy.txt")
    assert bucket.get_object_tagging("copy.txt").tag_set.tagging_rule == {"类别": "照片"}
    bucket.copy_object(bucket.bucket_name, "tagged.txt", "copy2.txt",
                       headers={"x-oss-tagging-directive": "Replace", "x-oss-tagging": "a=1"})
    assert bucket.get_object_tagging("copy2.txt").tag_set.tagging_rule == {"a": "1"}
    bucket.delete_object_tagging("tagged.txt")
    assert bucket.get_object_tagging("tagged.txt").tag_set.tagging_rule == {}
    assert "x-oss-tagging-count" not in bucket.head_object("tagged.txt").headers
    too_many = oss2.models.TaggingRule()
    for i in range(11):
        too_many.add(f"k{i}", "v")
    with pytest.raises(oss2.exceptions.ServerError) as e:
        bucket.put_object_tagging("tagged.txt", oss2.models.Tagging(too_many))
    assert (e.value.status, e.value.code) == (400, "InvalidTag")


def test_bucket_tagging(bucket):
    rule = oss2.models.TaggingRule()
    rule.add("cost-centre", "42")
    bucket.put_bucket_tagging(oss2.models.Tagging(rule))
    assert bucket.get_bucket_tagging().tag_set.tagging_rule == {"cost-centre": "42"}
    bucket.delete_bucket_tagging()
    with pytest.raises(oss2.exceptions.ServerError) as e:
        bucket.get_bucket_tagging()
    assert (e.value.status, e.value.code) == (404, "NoSuchTagSet")
