"""UCloud US3 `iopcmd` over plain HTTP (`requests`) against the built binary,
on a public-read bucket created with boto3: the thumbnail table of
docs/us3-dialect.md on a 400×300 source, imageinfo/exif JSON, pipelines,
signed-URL parameters, interlace, styles through the `?iopstyle` API, and
the JSON error envelope. The exhaustive cases are in
tests/process/us3_conformance.rs; this is the representative subset seen
by a real HTTP client."""

from __future__ import annotations

import pytest

from process_fixtures import b64, image_size, is_progressive, make_png, png_bomb
from s3util import ACCESS_KEY, SECRET_KEY, signed_request, ucloud_signature


@pytest.fixture
def us3_bucket(s3, bucket_name):
    """A public-read bucket with F6 (PNG 400×300, red|blue), a JPEG copy
    made by the server itself (no Pillow here), and the 50×50 mark."""
    s3.create_bucket(Bucket=bucket_name, ACL="public-read")
    s3.put_object(Bucket=bucket_name, Key="f6.png", Body=make_png(400, 300),
                  ContentType="image/png")
    s3.put_object(Bucket=bucket_name, Key="wm/logo.png",
                  Body=make_png(50, 50, (0, 0, 0), (0, 0, 0)), ContentType="image/png")
    return bucket_name


def us3_error(r, status: int) -> str:
    """The US3 envelope: JSON {"RetCode": non-zero int, "ErrMsg": text} and
    X-SessionId."""
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/json"
    doc = r.json()
    assert set(doc) == {"RetCode", "ErrMsg"}, doc
    assert isinstance(doc["RetCode"], int) and doc["RetCode"] != 0
    assert doc["ErrMsg"]
    assert r.headers.get("X-SessionId")
    return doc["ErrMsg"]


TABLE = [
    ("type=1&scale=10", (40, 30)),
    ("type=2&scale=10", (400, 30)),
    ("type=3&scale=10", (40, 300)),
    ("type=4&width=50", (50, 37)),
    ("type=5&height=50", (66, 50)),
    ("type=6&width=50&height=10", (50, 37)),
    ("type=7&width=50&height=10", (13, 10)),
    ("type=8&width=50", (50, 50)),
    ("type=9&width=50&height=50", (50, 37)),
    ("type=10&width=50&height=50", (66, 50)),
    ("type=11&width=50&height=50", (50, 50)),
    ("type=12&width=600&height=600&color=red", (600, 600)),
    ("type=13&width=50&height=100", (50, 100)),
    ("type=14&width=50&height=50", (50, 37)),
    ("type=15&width=50&height=50&color=%23FF0000", (50, 50)),
]


@pytest.mark.parametrize("query,size", TABLE, ids=[q.split("&")[0] for q, _ in TABLE])
def test_thumbnail_table(endpoint, us3_bucket, anon, query, size):
    r = anon.get(f"{endpoint}/{us3_bucket}/f6.png?iopcmd=thumbnail&{query}")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "image/png"
    assert image_size(r.content) == ("png", *size)


def test_thumbnail_on_jpeg(endpoint, us3_bucket, anon, s3):
    url = f"{endpoint}/{us3_bucket}"
    jpg = anon.get(f"{url}/f6.png?iopcmd=convert&dst=jpg")
    assert jpg.headers["Content-Type"] == "image/jpeg"
    s3.put_object(Bucket=us3_bucket, Key="f9.jpg", Body=jpg.content, ContentType="image/jpeg")
    for query, size in TABLE:
        r = anon.get(f"{url}/f9.jpg?iopcmd=thumbnail&{query}")
        assert r.status_code == 200, (query, r.text)
        assert image_size(r.content) == ("jpeg", *size), query


def test_info_exif_averagehue(endpoint, us3_bucket, anon, s3):
    url = f"{endpoint}/{us3_bucket}/f6.png"
    r = anon.get(url + "?iopcmd=imageinfo")
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {"width": 400, "height": 300, "format": "PNG"}
    r = anon.get(url + "?iopcmd=thumbnail&type=1&scale=50|iopcmd=imageinfo")
    assert r.json() == {"width": 200, "height": 150, "format": "PNG"}
    r = anon.get(url + "?iopcmd=exif")
    assert r.status_code == 200 and r.json() == {}
    us3_error(anon.get(url + "?iopcmd=rotate&degree=90|iopcmd=exif"), 400)
    s3.put_object(Bucket=us3_bucket, Key="f11.png",
                  Body=make_png(100, 100, (0, 128, 255), (0, 128, 255)))
    r = anon.get(f"{endpoint}/{us3_bucket}/f11.png?iopcmd=averagehue")
    assert r.json() == {"RGB": "0x0080FF"}


def test_pipelines_and_signed_url_params(endpoint, us3_bucket, anon):
    url = f"{endpoint}/{us3_bucket}/f6.png"
    for sep in ["|", "%7C"]:
        r = anon.get(url + f"?iopcmd=rotate&degree=90{sep}iopcmd=thumbnail&type=1&scale=50")
        assert image_size(r.content) == ("png", 150, 200), sep
    # A US3 signed URL: its parameters are ignored by the parser and its
    # signature is verified (UCloud signs the object, not the query).
    sig = ucloud_signature(SECRET_KEY, "GET", f"/{us3_bucket}/f6.png", "9999999999")
    r = anon.get(url, params={"UCloudPublicKey": ACCESS_KEY, "Signature": sig,
                              "Expires": "9999999999", "iopcmd": "thumbnail", "type": "4",
                              "width": "100"})
    assert r.status_code == 200, r.text
    assert image_size(r.content) == ("png", 100, 75)
    forged = ucloud_signature(SECRET_KEY, "GET", f"/{us3_bucket}/other.png", "9999999999")
    r = anon.get(url, params={"UCloudPublicKey": ACCESS_KEY, "Signature": forged,
                              "Expires": "9999999999", "iopcmd": "thumbnail", "type": "4",
                              "width": "100"})
    assert r.status_code == 403, r.text
    # Range is ignored.
    r = anon.get(url + "?iopcmd=thumbnail&type=4&width=100", headers={"Range": "bytes=0-9"})
    assert r.status_code == 200
    assert image_size(r.content) == ("png", 100, 75)


def test_crop_circle_convert_interlace(endpoint, us3_bucket, anon):
    url = f"{endpoint}/{us3_bucket}/f6.png"
    r = anon.get(url + "?iopcmd=crop&width=100&height=50&ax=0&ay=0&gravity=SouthEast")
    assert image_size(r.content) == ("png", 100, 50)
    assert image_size(anon.get(url + "?iopcmd=indexcrop&x=150&i=2").content) == ("png", 100, 300)
    assert image_size(anon.get(url + "?iopcmd=indexcrop&x=100&y=100").content) == ("png", 400, 100)
    r = anon.get(url + "?iopcmd=indexcrop&x=150&i=9")
    assert image_size(r.content) == ("png", 400, 300)
    assert image_size(anon.get(url + "?iopcmd=circle&r=50").content) == ("png", 100, 100)
    for dst, fmt, ct in [("jpg", "jpeg", "image/jpeg"), ("webp", "webp", "image/webp"),
                         ("bmp", "bmp", "image/bmp"), ("png", "png", "image/png")]:
        r = anon.get(url + f"?iopcmd=convert&dst={dst}")
        assert r.headers["Content-Type"] == ct
        assert image_size(r.content) == (fmt, 400, 300)
    r = anon.get(url + "?iopcmd=interlace&value=1")
    assert r.headers["Content-Type"] == "image/jpeg"
    assert is_progressive(r.content)
    r = anon.get(url + "?iopcmd=watermark&type=2&gravity=Center&imageurl="
                 + b64(f"http://{us3_bucket}.cn-bj.ufileos.com/wm/logo.png"))
    assert r.status_code == 200, r.text
    r = anon.get(url + f"?iopcmd=watermark&type=1&text={b64('水印')}&font=5a6L5L2T")
    assert r.status_code == 200, r.text


def test_styles_api_and_forms(endpoint, us3_bucket, anon):
    r = signed_request(endpoint, "PUT", f"/{us3_bucket}",
                       query=[("iopstyle", None), ("styleName", "style1")],
                       body=b"iopcmd=thumbnail&type=4&width=100")
    assert r.status_code == 200, r.text
    assert r.json()["RetCode"] == 0
    url = f"{endpoint}/{us3_bucket}/f6.png"
    for q in ["iopstyle=style1", "iopcmd=style1"]:
        r = anon.get(f"{url}?{q}")
        assert r.status_code == 200, r.text
        assert image_size(r.content) == ("png", 100, 75)
    r = signed_request(endpoint, "GET", f"/{us3_bucket}", query=[("iopstyle", None)])
    assert r.json()["Styles"] == [
        {"StyleName": "style1", "StyleBody": "iopcmd=thumbnail&type=4&width=100"}]
    us3_error(anon.get(f"{url}?iopstyle=nostyle"), 404)
    us3_error(signed_request(endpoint, "PUT", f"/{us3_bucket}",
                             query=[("iopstyle", None), ("styleName", "bad")],
                             body=b"iopcmd=thumbnail&type=99"), 400)
    r = signed_request(endpoint, "DELETE", f"/{us3_bucket}",
                       query=[("iopstyle", None), ("styleName", "style1")])
    assert r.status_code == 204
    us3_error(anon.get(f"{url}?iopstyle=style1"), 404)


@pytest.mark.parametrize("query", [
    "iopcmd=thumbnail&type=99",
    "iopcmd=thumbnail&type=1&scale=1001",
    "iopcmd=thumbnail&type=4",
    "iopcmd=thumbnail&type=4&width=50&widht=50",
    "iopcmd=crop&width=10&ax=500",
    "iopcmd=rotate&degree=361",
    "iopcmd=bright&value=101",
    "iopcmd=convert&dst=gif",
    "iopcmd=watermark&type=1&text=%21%21",
    "iopcmd=nosuchcmd&x=1",
    "iopcmd=thumbnail&type=12&width=100&height=100",
])
def test_errors_are_json(endpoint, us3_bucket, anon, query):
    r = anon.get(f"{endpoint}/{us3_bucket}/f6.png?{query}")
    us3_error(r, 400)
    assert not r.content.startswith(b"\x89PNG")


def test_missing_object_and_source_limit(endpoint, us3_bucket, anon, s3):
    us3_error(anon.get(f"{endpoint}/{us3_bucket}/none.png?iopcmd=imageinfo"), 404)
    s3.put_object(Bucket=us3_bucket, Key="tall.png", Body=png_bomb(100, 10001))
    us3_error(anon.get(f"{endpoint}/{us3_bucket}/tall.png?iopcmd=thumbnail&type=1&scale=10"), 400)
