"""Tencent's own Python SDK (`cos-python-sdk-v5`, pinned in
requirements.txt) against the built binary, unchanged.

The SDK only addresses buckets by host: `CosConfig(IP='127.0.0.1', Port=PORT)`
connects to the server but sends `Host: <bucket>-<appid>.cos.<region>.myqcloud.com`,
which the server resolves to the bucket `<bucket>-<appid>`. Signed URLs name
the host the client was configured with; the tests open them with plain
`requests`, connecting to the server and keeping that `Host` (what DNS would
do in a deployment), against a server started with `--domain`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import crcmod
import pytest
import requests

qcloud_cos = pytest.importorskip("qcloud_cos")
from qcloud_cos import CosConfig, CosS3Client, CosServiceError  # noqa: E402

from process_fixtures import image_size, make_png  # noqa: E402
from s3util import ACCESS_KEY, SECRET_KEY, Server  # noqa: E402

REGION = "ap-guangzhou"
APPID = "1250000000"
DOMAIN = "cos.imgbucket.test"


def host_port(endpoint: str) -> tuple[str, int]:
    u = urlsplit(endpoint)
    return u.hostname, u.port


def client(endpoint: str, secret: str = SECRET_KEY, **extra) -> CosS3Client:
    ip, port = host_port(endpoint)
    cfg = CosConfig(Region=REGION, SecretId=ACCESS_KEY, SecretKey=secret, Scheme="http",
                    IP=ip, Port=port, **extra)
    return CosS3Client(cfg, retry=0)


def body(resp) -> bytes:
    return resp["Body"].get_raw_stream().read()


def cos_host(bucket: str, endpoint: str = f"cos.{REGION}.myqcloud.com") -> str:
    return f"{bucket}.{endpoint}"


@pytest.fixture(scope="module")
def cos(endpoint):
    return client(endpoint)


def _cleanup(c: CosS3Client, name: str) -> None:
    try:
        while True:
            res = c.list_objects(Bucket=name)
            keys = [o["Key"] for o in res.get("Contents", [])]
            if not keys:
                break
            c.delete_objects(Bucket=name, Delete={"Object": [{"Key": k} for k in keys],
                                                  "Quiet": "true"})
        ups = c.list_multipart_uploads(Bucket=name).get("Upload", [])
        for up in ups if isinstance(ups, list) else [ups]:
            c.abort_multipart_upload(Bucket=name, Key=up["Key"], UploadId=up["UploadId"])
        c.delete_bucket(Bucket=name)
    except Exception:
        pass


@pytest.fixture
def bucket(cos):
    """A fresh bucket named as COS names them: `<name>-<appid>`."""
    name = f"sdk{uuid.uuid4().hex[:10]}-{APPID}"
    cos.create_bucket(Bucket=name)
    yield name
    _cleanup(cos, name)


def test_bucket_with_appid_suffix_by_host(cos, bucket, endpoint):
    assert cos.bucket_exists(Bucket=bucket)
    assert not cos.bucket_exists(Bucket=f"nosuch-{APPID}")
    # The bucket is the whole `<name>-<appid>`: path style sees it too.
    r = requests.head(f"{endpoint}/{bucket}", timeout=10)
    assert r.status_code == 403  # exists, private


def test_put_get_head_metadata_list_delete(cos, bucket):
    data = b"hello cos"
    r = cos.put_object(Bucket=bucket, Key="a/hello.txt", Body=data, ContentType="text/plain",
                       Metadata={"x-cos-meta-color": "blue"})
    assert r["ETag"].strip('"') == hashlib.md5(data).hexdigest()
    assert r["x-cos-request-id"]
    got = cos.get_object(Bucket=bucket, Key="a/hello.txt")
    assert body(got) == data
    assert got["x-cos-meta-color"] == "blue"
    assert got["Content-Type"] == "text/plain"
    head = cos.head_object(Bucket=bucket, Key="a/hello.txt")
    assert head["Content-Length"] == str(len(data))
    assert head["x-cos-meta-color"] == "blue"
    assert "x-amz-meta-color" not in head
    assert cos.object_exists(Bucket=bucket, Key="a/hello.txt")
    assert not cos.object_exists(Bucket=bucket, Key="a/missing.txt")
    cos.put_object(Bucket=bucket, Key="b.txt", Body=b"b")
    res = cos.list_objects(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in res["Contents"]] == ["b.txt"]
    assert res["CommonPrefixes"][0]["Prefix"] == "a/"
    cos.delete_object(Bucket=bucket, Key="b.txt")
    res = cos.delete_objects(Bucket=bucket, Delete={"Object": [{"Key": "a/hello.txt"}],
                                                    "Quiet": "false"})
    assert res["Deleted"][0]["Key"] == "a/hello.txt"
    assert "Contents" not in cos.list_objects(Bucket=bucket)


def test_copy_object_copy_and_replaced(cos, bucket):
    cos.put_object(Bucket=bucket, Key="src.txt", Body=b"copy me",
                   Metadata={"x-cos-meta-a": "1"})
    src = {"Bucket": bucket, "Key": "src.txt", "Region": REGION}
    cos.copy_object(Bucket=bucket, Key="dst.txt", CopySource=src)
    got = cos.get_object(Bucket=bucket, Key="dst.txt")
    assert body(got) == b"copy me"
    assert got["x-cos-meta-a"] == "1"
    cos.copy_object(Bucket=bucket, Key="dst2.txt", CopySource=src, CopyStatus="Replaced",
                    Metadata={"x-cos-meta-b": "2"})
    head = cos.head_object(Bucket=bucket, Key="dst2.txt")
    assert head["x-cos-meta-b"] == "2"
    assert "x-cos-meta-a" not in head


def test_upload_file_with_1mib_parts(cos, bucket, tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 123)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    cos.upload_file(Bucket=bucket, Key="big.bin", LocalFilePath=str(path), PartSize=1,
                    MAXThread=2, EnableMD5=False)
    assert body(cos.get_object(Bucket=bucket, Key="big.bin")) == data
    assert cos.head_object(Bucket=bucket, Key="big.bin")["ETag"].strip('"').endswith("-4")
    # download_file reads `Content-Length` from the plain dict of headers:
    # the names must come with COS's case.
    out = tmp_path / "down.bin"
    cos.download_file(Bucket=bucket, Key="big.bin", DestFilePath=str(out), PartSize=1,
                      MAXThread=2)
    assert out.read_bytes() == data
    # EnableCRC compares the file's CRC-64 with x-cos-hash-crc64ecma, which
    # the server combines from the parts' CRCs (a mismatch raises).
    crc = str(crcmod.Crc(0x142F0E1EBA9EA3693, initCrc=0, rev=True,
                         xorOut=0xFFFFFFFFFFFFFFFF).new(data).crcValue)
    assert cos.head_object(Bucket=bucket, Key="big.bin")["x-cos-hash-crc64ecma"] == crc
    out.unlink()
    cos.download_file(Bucket=bucket, Key="big.bin", DestFilePath=str(out), PartSize=1,
                      MAXThread=2, EnableCRC=True)
    assert out.read_bytes() == data


def test_upload_from_buffer_and_list_buckets(endpoint, bucket):
    # upload_file_from_buffer reads each part's `ETag` from the header dict.
    ip, port = host_port(endpoint)
    c = client(endpoint, ServiceDomain=f"{ip}:{port}")
    data = os.urandom(2 * 1024 * 1024 + 7)
    c.upload_file_from_buffer(Bucket=bucket, Key="buf.bin", Body=io.BytesIO(data), PartSize=1)
    assert body(c.get_object(Bucket=bucket, Key="buf.bin")) == data
    names = [b["Name"] for b in c.list_buckets()["Buckets"]["Bucket"]]
    assert bucket in names


def test_multipart_below_cos_minimum_is_refused(cos, bucket):
    up = cos.create_multipart_upload(Bucket=bucket, Key="small.bin")
    uid = up["UploadId"]
    p1 = cos.upload_part(Bucket=bucket, Key="small.bin", Body=b"a" * 1000, PartNumber=1, UploadId=uid)
    p2 = cos.upload_part(Bucket=bucket, Key="small.bin", Body=b"b", PartNumber=2, UploadId=uid)
    parts = {"Part": [{"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]}
    with pytest.raises(CosServiceError) as e:
        cos.complete_multipart_upload(Bucket=bucket, Key="small.bin", UploadId=uid,
                                      MultipartUpload=parts)
    assert e.value.get_error_code() == "EntityTooSmall"
    cos.abort_multipart_upload(Bucket=bucket, Key="small.bin", UploadId=uid)


def test_bucket_acl_public_read(cos, bucket, endpoint):
    cos.put_object(Bucket=bucket, Key="pub.txt", Body=b"open")
    r = requests.get(f"{endpoint}/pub.txt", headers={"Host": cos_host(bucket)}, timeout=10)
    assert r.status_code == 403
    cos.put_bucket_acl(Bucket=bucket, ACL="public-read")
    r = requests.get(f"{endpoint}/pub.txt", headers={"Host": cos_host(bucket)}, timeout=10)
    assert r.status_code == 200
    assert r.content == b"open"


# --- errors: CosServiceError with COS's code, message and request id ---

def test_errors_are_cos_service_errors(cos, bucket, endpoint):
    with pytest.raises(CosServiceError) as e:
        cos.get_object(Bucket=bucket, Key="missing")
    err = e.value
    assert (err.get_status_code(), err.get_error_code()) == (404, "NoSuchKey")
    assert err.get_request_id()
    assert err.get_trace_id() != "Unknown"
    assert "xmlns" not in err.get_origin_msg()
    with pytest.raises(CosServiceError) as e:
        cos.put_object(Bucket=f"nosuch-{APPID}", Key="k", Body=b"x")
    assert e.value.get_error_code() == "NoSuchBucket"
    wrong = client(endpoint, secret="wrong-secret")
    with pytest.raises(CosServiceError) as e:
        wrong.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert (e.value.get_status_code(), e.value.get_error_code()) == (403, "SignatureDoesNotMatch")
    with pytest.raises(CosServiceError) as e:
        wrong.list_objects(Bucket=bucket)
    assert e.value.get_error_code() == "SignatureDoesNotMatch"


# --- image processing through the SDK ---

@pytest.fixture
def photo(cos, bucket):
    cos.put_object(Bucket=bucket, Key="photo.png", Body=make_png(200, 100))
    return "photo.png"


def test_ci_get_object_rule(cos, bucket, photo, tmp_path):
    out = tmp_path / "thumb"
    cos.ci_get_object(Bucket=bucket, Key=photo, DestImagePath=str(out),
                      Rule="imageMogr2/thumbnail/100x")
    assert image_size(out.read_bytes()) == ("png", 100, 50)
    cos.ci_get_object(Bucket=bucket, Key=photo, DestImagePath=str(out),
                      Rule="imageMogr2/thumbnail/x20/format/jpg")
    assert image_size(out.read_bytes()) == ("jpeg", 40, 20)


def test_ci_get_image_info(cos, bucket, photo):
    _, data = cos.ci_get_image_info(Bucket=bucket, Key=photo)
    info = json.loads(data)
    assert (info["format"], info["width"], info["height"]) == ("png", "200", "100")


def test_put_object_with_pic_operations(cos, bucket):
    ops = {"is_pic_info": 1, "rules": [{"fileid": "s-small.png", "rule": "imageMogr2/thumbnail/40x"}]}
    cos.put_object(Bucket=bucket, Key="s.png", Body=make_png(200, 100),
                   PicOperations=json.dumps(ops))
    assert image_size(body(cos.get_object(Bucket=bucket, Key="s.png"))) == ("png", 200, 100)
    assert image_size(body(cos.get_object(Bucket=bucket, Key="s-small.png"))) == ("png", 40, 20)


def test_ci_put_object_and_from_local_file(cos, bucket, tmp_path):
    ops = {"is_pic_info": 1, "rules": [{"fileid": "q-small.png", "rule": "imageMogr2/thumbnail/50x"}]}
    resp, data = cos.ci_put_object(Bucket=bucket, Key="q.png", Body=make_png(200, 100),
                                   PicOperations=json.dumps(ops))
    assert resp["x-cos-request-id"]
    assert data["ProcessResults"]["Object"]["Key"] == "q-small.png"
    assert image_size(body(cos.get_object(Bucket=bucket, Key="q-small.png"))) == ("png", 50, 25)
    path = tmp_path / "r.png"
    path.write_bytes(make_png(200, 100))
    ops = {"is_pic_info": 1,
           "rules": [{"fileid": "r-small.jpg", "rule": "imageMogr2/thumbnail/30x/format/jpg"}]}
    cos.ci_put_object_from_local_file(Bucket=bucket, Key="r.png", LocalFilePath=str(path),
                                      PicOperations=json.dumps(ops))
    assert image_size(body(cos.get_object(Bucket=bucket, Key="r-small.jpg"))) == ("jpeg", 30, 15)


def test_ci_image_process(cos, bucket, photo):
    ops = {"is_pic_info": 1, "rules": [{"fileid": "p-proc.png", "rule": "imageMogr2/thumbnail/20x"}]}
    _, data = cos.ci_image_process(Bucket=bucket, Key=photo, PicOperations=json.dumps(ops))
    assert data["ProcessResults"]["Object"]["Key"] == "p-proc.png"
    assert image_size(body(cos.get_object(Bucket=bucket, Key="p-proc.png"))) == ("png", 20, 10)


def test_processing_error_is_cos_service_error(cos, bucket, photo, tmp_path):
    with pytest.raises(CosServiceError) as e:
        cos.ci_get_object(Bucket=bucket, Key=photo, DestImagePath=str(tmp_path / "x"),
                          Rule="imageMogr2/thumbnail/abc")
    assert (e.value.get_status_code(), e.value.get_error_code()) == (400, "InvalidArgument")
    assert "abc" in e.value.get_error_msg()


# --- a server with --domain: vhost by the configured domain, signed URLs ---

@pytest.fixture(scope="module")
def domain_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("cos-domain")
    srv = Server(base / "data", base / "server.log", extra_args=["--domain", DOMAIN])
    srv.start()
    yield srv
    srv.stop()


def open_url(url: str, server) -> requests.Response:
    """GETs a signed URL as a browser would once DNS points its host at the
    server: connect to the server, send the URL's own Host."""
    u = urlsplit(url)
    return requests.get(urlunsplit(u._replace(netloc=f"127.0.0.1:{server.port}")),
                        headers={"Host": u.netloc}, timeout=10)


def test_configured_domain_and_signed_urls(domain_server):
    # Requests through the IP, with Host `<bucket>.cos.imgbucket.test`.
    c = client(domain_server.endpoint, Endpoint=DOMAIN)
    name = f"urls-{APPID}"
    c.create_bucket(Bucket=name)
    c.put_object(Bucket=name, Key="p.png", Body=make_png(200, 100))
    assert image_size(body(c.get_object(Bucket=name, Key="p.png"))) == ("png", 200, 100)
    # URLs signed for `<bucket>.cos.imgbucket.test:PORT` (the SDK signs the
    # host without the port).
    signer = CosS3Client(CosConfig(Region=REGION, SecretId=ACCESS_KEY, SecretKey=SECRET_KEY,
                                   Scheme="http", Endpoint=f"{DOMAIN}:{domain_server.port}"))
    url = signer.get_presigned_url(Bucket=name, Key="p.png", Method="GET")
    assert urlsplit(url).hostname == f"{name}.{DOMAIN}"
    r = open_url(url, domain_server)
    assert r.status_code == 200, r.text
    assert image_size(r.content) == ("png", 200, 100)
    url = signer.get_presigned_url(Bucket=name, Key="p.png", Method="GET",
                                   Params={"imageMogr2/thumbnail/50x": ""})
    r = open_url(url, domain_server)
    assert r.status_code == 200, r.text
    assert image_size(r.content) == ("png", 50, 25)
    assert r.headers["Content-Type"] == "image/png"
    url = signer.get_presigned_download_url(Bucket=name, Key="p.png",
                                            Params={"imageMogr2/thumbnail/x20/format/jpg": ""})
    r = open_url(url, domain_server)
    assert r.status_code == 200, r.text
    assert image_size(r.content) == ("jpeg", 40, 20)
    # The processing parameter is covered by the signature.
    tampered = url.replace("x20", "x30")
    r = open_url(tampered, domain_server)
    assert r.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in r.text
    c.delete_object(Bucket=name, Key="p.png")
    c.delete_bucket(Bucket=name)


# --- the snippet of docs/migrate-from-cos.md, as written ---

def test_migration_doc_snippet(endpoint, monkeypatch, tmp_path, capsys):
    from s3util import REPO
    text = (REPO / "docs" / "migrate-from-cos.md").read_text()
    start = text.index("```python\n") + len("```python\n")
    code = text[start:text.index("```", start)]
    _, port = host_port(endpoint)
    assert 'IP="127.0.0.1", Port=9000' in code
    code = code.replace("Port=9000", f"Port={port}").replace("127.0.0.1:9000", f"127.0.0.1:{port}")
    monkeypatch.setenv("IMGBUCKET_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("IMGBUCKET_SECRET_KEY", SECRET_KEY)
    monkeypatch.chdir(tmp_path)
    png = make_png(200, 100)
    (tmp_path / "cat.png").write_bytes(png)
    ns: dict = {}
    exec(compile(code, "migrate-from-cos.md", "exec"), ns)
    assert image_size((tmp_path / "thumb.jpg").read_bytes()) == ("jpeg", 100, 50)
    etag, request_id = capsys.readouterr().out.split()
    assert etag.strip('"') == hashlib.md5(png).hexdigest()
    assert request_id
    c, name = ns["client"], ns["bucket"]
    assert name in [b["Name"] for b in c.list_buckets()["Buckets"]["Bucket"]]
    _cleanup(c, name)


def test_object_tagging(cos, bucket):
    cos.put_object(Bucket=bucket, Key="tagged.txt", Body=b"t")
    cos.put_object_tagging(Bucket=bucket, Key="tagged.txt", Tagging={
        "TagSet": {"Tag": [{"Key": "project", "Value": "blue"}, {"Key": "类别", "Value": "照片"}]}})
    got = cos.get_object_tagging(Bucket=bucket, Key="tagged.txt")
    assert {t["Key"]: t["Value"] for t in got["TagSet"]["Tag"]} == {"project": "blue", "类别": "照片"}
    assert cos.head_object(Bucket=bucket, Key="tagged.txt")["x-cos-tagging-count"] == "2"
    cos.delete_object_tagging(Bucket=bucket, Key="tagged.txt")
    got = cos.get_object_tagging(Bucket=bucket, Key="tagged.txt")
    assert not (got.get("TagSet") or {}).get("Tag")  # an empty <TagSet/>
    with pytest.raises(CosServiceError) as e:
        cos.put_object_tagging(Bucket=bucket, Key="tagged.txt", Tagging={
            "TagSet": {"Tag": [{"Key": "aws:x", "Value": "v"}]}})
    assert (e.value.get_status_code(), e.value.get_error_code()) == (400, "InvalidTag")


def test_bucket_tagging(cos, bucket):
    cos.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": {"Tag": [{"Key": "cost-centre", "Value": "42"}]}})
    got = cos.get_bucket_tagging(Bucket=bucket)
    assert got["TagSet"]["Tag"] == [{"Key": "cost-centre", "Value": "42"}]
    cos.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(CosServiceError) as e:
        cos.get_bucket_tagging(Bucket=bucket)
    assert (e.value.get_status_code(), e.value.get_error_code()) == (404, "NoSuchTagSet")
