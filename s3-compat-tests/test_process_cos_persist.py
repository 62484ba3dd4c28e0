"""Tencent COS persistent image processing (`Pic-Operations`,
docs/cos-dialect.md) driven through boto3: the header is added to PutObject /
CompleteMultipartUpload with a botocore event hook, the `UploadResult` XML
is captured from the raw response, and every output object is read back
with GetObject. Images are made and measured without Pillow (the PNG
writer and header readers of process_fixtures)."""

import json

import pytest
from botocore.exceptions import ClientError

from process_fixtures import image_size, make_png
from s3util import md5_hex, parse_xml, signed_request, xml_text


# ------------------------------------------------------------ boto3 hooks

class PicOps:
    """Adds `Pic-Operations` to the next requests of one operation and keeps
    the raw response body of each."""

    def __init__(self, s3, operation: str):
        self.s3, self.operation = s3, operation
        self.value: str | None = None
        self.bodies: list[bytes] = []

    def _add_header(self, request, **_):
        if self.value is not None:
            request.headers["Pic-Operations"] = self.value

    def _keep_body(self, http_response, **_):
        self.bodies.append(http_response.content)

    def __enter__(self):
        ev = self.s3.meta.events
        # before-sign: the header is then part of the signature like any other.
        ev.register(f"before-sign.s3.{self.operation}", self._add_header)
        ev.register(f"after-call.s3.{self.operation}", self._keep_body)
        return self

    def __exit__(self, *exc):
        ev = self.s3.meta.events
        ev.unregister(f"before-sign.s3.{self.operation}", self._add_header)
        ev.unregister(f"after-call.s3.{self.operation}", self._keep_body)


def results(body: bytes):
    root = parse_xml(body)
    assert root.tag.endswith("UploadResult"), body
    orig = next(e for e in root if e.tag.endswith("OriginalInfo"))
    procs = next(e for e in root if e.tag.endswith("ProcessResults"))
    return orig, [o for o in procs if o.tag.endswith("Object")]


def check_object(s3, bucket, obj, key, fmt, width, height):
    """One `<Object>` against GetObject of the stored output."""
    assert xml_text(obj, "Key") == key
    assert xml_text(obj, "Location").endswith(f"/{key}")
    assert xml_text(obj, "Location").startswith(f"{bucket}.")
    got = s3.get_object(Bucket=bucket, Key=key)
    data = got["Body"].read()
    assert image_size(data) == (fmt, width, height)
    assert got["ContentType"] == f"image/{fmt}"
    assert xml_text(obj, "Format") == fmt
    assert (xml_text(obj, "Width"), xml_text(obj, "Height")) == (str(width), str(height))
    assert xml_text(obj, "Size") == str(len(data))
    assert xml_text(obj, "ETag") == got["ETag"] == f'"{md5_hex(data)}"'
    assert 1 <= int(xml_text(obj, "Quality")) <= 100


# ------------------------------------------------------------------ tests

def test_put_with_pic_operations(s3, bucket):
    src = make_png(64, 32)
    ops = {"is_pic_info": 1, "rules": [
        {"fileid": "/thumbs/half.png", "rule": "imageMogr2/thumbnail/!50p"},
        {"fileid": "sub/small.jpg", "rule": "imageMogr2/thumbnail/16x/format/jpg"},
        # imageView2 mode 5: cover the 20x12 box, then centre-crop to it.
        {"fileid": "sub/card.png", "rule": "imageView2/5/w/20/h/12"},
    ]}
    with PicOps(s3, "PutObject") as hook:
        hook.value = json.dumps(ops)
        resp = s3.put_object(Bucket=bucket, Key="dir/src.png", Body=src,
                             ContentType="image/png")
    assert resp["ETag"] == f'"{md5_hex(src)}"'
    orig, objs = results(hook.bodies[-1])
    assert xml_text(orig, "Key") == "dir/src.png"
    assert xml_text(orig, "ETag") == f'"{md5_hex(src)}"'
    assert xml_text(orig, "Location").startswith(f"{bucket}.")
    assert xml_text(orig, "Format") == "PNG"
    assert (xml_text(orig, "Width"), xml_text(orig, "Height")) == ("64", "32")
    # Half red, half blue: 127.5 per channel, rounded either way.
    assert xml_text(orig, "Ave") in ("0x7F007F", "0x800080")
    assert xml_text(orig, "Orientation") == "1"
    # The original is stored as uploaded.
    assert s3.get_object(Bucket=bucket, Key="dir/src.png")["Body"].read() == src
    assert len(objs) == 3
    check_object(s3, bucket, objs[0], "thumbs/half.png", "png", 32, 16)
    check_object(s3, bucket, objs[1], "dir/sub/small.jpg", "jpeg", 16, 8)
    check_object(s3, bucket, objs[2], "dir/sub/card.png", "png", 20, 12)


def test_put_to_another_bucket_and_overwrite(s3, bucket, bucket2):
    src = make_png(40, 20)
    ops = {"rules": [
        {"bucket": bucket2, "fileid": "copy.png", "rule": "imageMogr2/thumbnail/20x"},
        {"fileid": "/a.png", "rule": "imageMogr2/thumbnail/10x"},
    ]}
    with PicOps(s3, "PutObject") as hook:
        hook.value = json.dumps(ops)
        s3.put_object(Bucket=bucket, Key="a.png", Body=src)
    orig, objs = results(hook.bodies[-1])
    assert xml_text(orig, "ETag") == f'"{md5_hex(src)}"'
    assert xml_text(orig, "ImageInfo") is None
    check_object(s3, bucket2, objs[0], "copy.png", "png", 20, 10)
    # fileid equal to the source key: the source is replaced.
    check_object(s3, bucket, objs[1], "a.png", "png", 10, 5)


def test_malformed_header_stores_nothing(s3, bucket):
    with PicOps(s3, "PutObject") as hook:
        hook.value = "{not json"
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket=bucket, Key="bad.png", Body=make_png(8, 8))
    err = e.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err["ResponseMetadata"]["HTTPHeaders"].get("x-errno") == "-106"
    assert err["Error"]["Code"] == "InvalidArgument"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad.png")

    six = {"rules": [{"fileid": f"{i}.png", "rule": "imageMogr2/format/png"}
                     for i in range(6)]}
    with PicOps(s3, "PutObject") as hook:
        hook.value = json.dumps(six)
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket=bucket, Key="bad.png", Body=make_png(8, 8))
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad.png")


def test_unknown_target_bucket_is_denied(s3, bucket):
    ops = {"rules": [{"bucket": "no-such-bucket-pic-ops", "fileid": "x.png",
                      "rule": "imageMogr2/format/png"}]}
    with PicOps(s3, "PutObject") as hook:
        hook.value = json.dumps(ops)
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket=bucket, Key="src.png", Body=make_png(8, 8))
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="src.png")


def test_failing_rule_keeps_the_original(s3, bucket):
    src = make_png(16, 16)
    # Parses, but the output (20 000 px) is over the 9 999 px cap.
    ops = {"rules": [{"fileid": "huge.png", "rule": "imageMogr2/thumbnail/20000x"}]}
    with PicOps(s3, "PutObject") as hook:
        hook.value = json.dumps(ops)
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket=bucket, Key="keep.png", Body=src)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"].get("x-errno") == "-442"
    assert s3.get_object(Bucket=bucket, Key="keep.png")["Body"].read() == src
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="huge.png")


def test_complete_multipart_with_pic_operations(s3, bucket):
    src = make_png(50, 40)
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp.png")
    part = s3.upload_part(Bucket=bucket, Key="mp.png", UploadId=up["UploadId"],
                          PartNumber=1, Body=src)
    ops = {"rules": [{"fileid": "mp-thumb.jpg", "rule": "imageMogr2/thumbnail/25x/format/jpg"}]}
    with PicOps(s3, "CompleteMultipartUpload") as hook:
        hook.value = json.dumps(ops)
        s3.complete_multipart_upload(
            Bucket=bucket, Key="mp.png", UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    orig, objs = results(hook.bodies[-1])
    assert xml_text(orig, "Key") == "mp.png"
    assert s3.get_object(Bucket=bucket, Key="mp.png")["Body"].read() == src
    check_object(s3, bucket, objs[0], "mp-thumb.jpg", "jpeg", 25, 20)


def test_image_process_on_stored_object(s3, endpoint, bucket):
    src = make_png(30, 30)
    s3.put_object(Bucket=bucket, Key="cloud.png", Body=src, ContentType="image/png")
    ops = json.dumps({"rules": [{"fileid": "cloud-small.png",
                                 "rule": "imageMogr2/thumbnail/10x10"}]})
    r = signed_request(endpoint, "POST", f"/{bucket}/cloud.png",
                       query={"image_process": None}, headers={"Pic-Operations": ops})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/xml"
    orig, objs = results(r.content)
    assert xml_text(orig, "ETag") == f'"{md5_hex(src)}"'
    check_object(s3, bucket, objs[0], "cloud-small.png", "png", 10, 10)

    r = signed_request(endpoint, "POST", f"/{bucket}/missing.png",
                       query={"image_process": None}, headers={"Pic-Operations": ops})
    assert r.status_code == 404
    assert r.headers.get("X-ErrNo") == "-6101"
    assert xml_text(parse_xml(r.content), "Code") == "NoSuchKey"


def test_put_with_pic_operations_aws_chunked(s3_trailer, s3, bucket):
    """An aws-chunked body with a trailing CRC32 (what boto3 sends over
    HTTPS): the original is verified and stored, then processed."""
    src = make_png(48, 24)
    ops = {"rules": [{"fileid": "chunked-thumb.png", "rule": "imageMogr2/thumbnail/24x"}]}
    with PicOps(s3_trailer, "PutObject") as hook:
        hook.value = json.dumps(ops)
        resp = s3_trailer.put_object(Bucket=bucket, Key="chunked.png", Body=src)
    assert resp["ETag"] == f'"{md5_hex(src)}"'
    orig, objs = results(hook.bodies[-1])
    assert xml_text(orig, "ETag") == f'"{md5_hex(src)}"'
    got = s3.get_object(Bucket=bucket, Key="chunked.png", ChecksumMode="ENABLED")
    assert got["Body"].read() == src
    assert got.get("ChecksumCRC32")
    check_object(s3, bucket, objs[0], "chunked-thumb.png", "png", 24, 12)
