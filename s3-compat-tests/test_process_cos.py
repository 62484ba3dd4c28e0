"""Tencent COS `imageMogr2`/`imageView2`/`watermark`/info processors over
plain HTTP (`requests`) against the built binary, on a public-read bucket
created with boto3: a few thumbnail geometries with exact sizes, pad
colour, imageView2 modes, the information JSON of docs/cos-dialect.md,
pipelines and percent-encoding, and the XML envelope with `X-ErrNo`
(§2.9). The exhaustive cases are in tests/process/cos_conformance.rs."""

from __future__ import annotations

import hashlib

import pytest

from process_fixtures import b64, image_size, is_progressive, make_png
from s3util import parse_xml, xml_text


@pytest.fixture
def cos_bucket(s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name, ACL="public-read")
    s3.put_object(Bucket=bucket_name, Key="f6.png", Body=make_png(400, 300),
                  ContentType="image/png")
    s3.put_object(Bucket=bucket_name, Key="f7.png", Body=make_png(1000, 500),
                  ContentType="image/png")
    s3.put_object(Bucket=bucket_name, Key="wm/logo.png",
                  Body=make_png(50, 50, (0, 0, 0), (0, 0, 0)), ContentType="image/png")
    return bucket_name


def cos_error(r, status: int, errno: str | None) -> str:
    """The COS envelope: XML Error with Code/Message/Resource/RequestId/
    TraceId and the CI error number in X-ErrNo."""
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/xml"
    doc = parse_xml(r.content)
    for tag in ["Code", "Message", "Resource", "RequestId", "TraceId"]:
        assert xml_text(doc, tag), (tag, r.text)
    assert r.headers.get("X-ErrNo") == errno, r.text
    return xml_text(doc, "Code")


GEOMETRIES = [
    ("!50p", (200, 150)),
    ("!50px", (200, 300)),
    ("!x50p", (400, 150)),
    ("200x", (200, 150)),
    ("x150", (200, 150)),
    ("101x", (101, 76)),
    ("100x100", (100, 75)),
    ("100x100%3E", (100, 75)),
    ("1000x1000%3E", (400, 300)),
    ("1000x1000%3C", (1000, 750)),
    ("!100x100r", (133, 100)),
    ("100x100!", (100, 100)),
    ("10000@", (115, 86)),
]


@pytest.mark.parametrize("geometry,size", GEOMETRIES, ids=[g for g, _ in GEOMETRIES])
def test_thumbnail_geometries(endpoint, cos_bucket, anon, geometry, size):
    r = anon.get(f"{endpoint}/{cos_bucket}/f6.png?imageMogr2/thumbnail/{geometry}")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "image/png"
    assert image_size(r.content) == ("png", *size)


def test_pad_crop_rotate_format(endpoint, cos_bucket, anon):
    url = f"{endpoint}/{cos_bucket}/f6.png"
    r = anon.get(url + f"?imageMogr2/thumbnail/100x100/pad/1/color/{b64('#00FF00')}")
    assert image_size(r.content) == ("png", 100, 100)
    assert image_size(anon.get(url + "?imageMogr2/cut/100x50x250x10").content) == ("png", 100, 50)
    r = anon.get(url + "?imageMogr2/crop/100x50/gravity/southeast/dx/10/dy/10")
    assert image_size(r.content) == ("png", 100, 50)
    assert image_size(anon.get(url + "?imageMogr2/iradius/50").content) == ("png", 100, 100)
    assert image_size(anon.get(url + "?imageMogr2/rotate/90").content) == ("png", 300, 400)
    for fmt, kind, ct in [("jpg", "jpeg", "image/jpeg"), ("yjpeg", "jpeg", "image/jpeg"),
                          ("webp", "webp", "image/webp"), ("bmp", "bmp", "image/bmp"),
                          ("gif", "gif", "image/gif"), ("avif", "avif", "image/avif")]:
        r = anon.get(url + f"?imageMogr2/format/{fmt}")
        assert r.headers["Content-Type"] == ct, fmt
        assert image_size(r.content) == (kind, 400, 300)
    r = anon.get(url + "?imageMogr2/format/jpg/interlace/1")
    assert is_progressive(r.content)
    r = anon.get(url + "?imageMogr2/format/jpg/quality/50/strip")
    assert r.status_code == 200 and b"Exif\x00" not in r.content[:200]


def test_imageview2_modes(endpoint, cos_bucket, anon):
    url = f"{endpoint}/{cos_bucket}/f7.png"
    for q, size in [("1/w/500/h/400", (500, 400)), ("2/w/500/h/400", (500, 250)),
                    ("3/w/500/h/400", (800, 400)), ("4/w/400/h/300", (600, 300))]:
        r = anon.get(url + f"?imageView2/{q}")
        assert r.status_code == 200, r.text
        assert image_size(r.content) == ("png", *size), q
    r = anon.get(url + "?imageView2/2/w/100/format/jpg")
    assert r.headers["Content-Type"] == "image/jpeg"
    assert image_size(r.content) == ("jpeg", 100, 50)
    # Mode 5: long/short box turned like the source, then a centre crop.
    r = anon.get(url + "?imageView2/5/w/300/h/200")
    assert r.status_code == 200, r.text
    assert image_size(r.content) == ("png", 300, 200)
    code = cos_error(anon.get(url + "?imageView2/5/w/0"), 400, "-106")
    assert code == "InvalidArgument"


def test_information_processors(endpoint, cos_bucket, anon):
    url = f"{endpoint}/{cos_bucket}/f6.png"
    body = make_png(400, 300)
    r = anon.get(url + "?imageInfo")
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {"format": "png", "width": "400", "height": "300",
                        "size": str(len(body)), "md5": hashlib.md5(body).hexdigest(),
                        "frame_count": "1"}
    assert anon.get(url + "?exif").json() == {"error": "no exif data"}
    assert anon.get(url + "?imageAve").json() == {"RGB": "0x800080"}
    r = anon.get(url + "?imageMogr2/thumbnail/!50p|imageInfo")
    assert (r.json()["width"], r.json()["height"]) == ("200", "150")


def test_watermarks(endpoint, cos_bucket, anon):
    url = f"{endpoint}/{cos_bucket}/f6.png"
    mark = b64(f"http://{cos_bucket}.cos.ap-guangzhou.myqcloud.com/wm/logo.png")
    r = anon.get(url + f"?watermark/1/image/{mark}/gravity/center/dissolve/50")
    assert r.status_code == 200, r.text
    r = anon.get(url + f"?watermark/2/text/{b64('腾讯云')}/font/{b64('simsun宋体.ttc')}"
                 f"/fill/{b64('#FFFFFF')}/fontsize/30|watermark/1/image/{mark}/batch/1")
    assert r.status_code == 200, r.text
    for kind in ["3", "4"]:
        cos_error(anon.get(url + f"?watermark/{kind}/type/3/text/{b64('abc')}"), 501, None)
    https = b64(f"https://{cos_bucket}.cos.ap-guangzhou.myqcloud.com/wm/logo.png")
    cos_error(anon.get(url + f"?watermark/1/image/{https}"), 400, "-106")


def test_pipelines_and_stage_limit(endpoint, cos_bucket, anon):
    url = f"{endpoint}/{cos_bucket}/f6.png"
    for sep in ["|", "%7C"]:
        r = anon.get(url + f"?imageMogr2/rotate/90{sep}imageMogr2/thumbnail/!50p")
        assert image_size(r.content) == ("png", 150, 200), sep
    ten = "|".join(["imageMogr2/rotate/90"] * 10)
    assert image_size(anon.get(f"{url}?{ten}").content) == ("png", 400, 300)
    eleven = "|".join(["imageMogr2/rotate/90"] * 11)
    cos_error(anon.get(f"{url}?{eleven}"), 400, "-106")


@pytest.mark.parametrize("processing,status,errno", [
    ("imageMogr2/thumbnail/abc", 400, "-106"),
    ("imageMogr2/minsize/1", 400, "-106"),
    ("imageMogr2/rotate/361", 400, "-106"),
    ("imageMogr2/quality/101", 400, "-106"),
    ("imageMogr2/crop/100x100/gravity/middle", 400, "-106"),
    ("imageMogr2/cut/10x10x500x0", 400, "-106"),
    ("imageMogr2/thumbnail/10000x", 400, "-442"),
    ("imageMogr2/format/tpg", 501, None),
    ("imageInfo|imageMogr2/rotate/90", 400, "-106"),
])
def test_errors_carry_x_errno(endpoint, cos_bucket, anon, processing, status, errno):
    r = anon.get(f"{endpoint}/{cos_bucket}/f6.png?{processing}")
    cos_error(r, status, errno)
    assert not r.content.startswith(b"\x89PNG")


def test_missing_object_and_ignore_error(endpoint, cos_bucket, anon):
    r = anon.get(f"{endpoint}/{cos_bucket}/none.png?imageMogr2/thumbnail/!50p")
    assert cos_error(r, 404, "-6101") == "NoSuchKey"
    r = anon.get(f"{endpoint}/{cos_bucket}/f6.png?imageMogr2/thumbnail/10000x/ignore-error/1")
    assert r.status_code == 200
    assert r.content == make_png(400, 300)
