"""Image processing through real clients against the built binary:
Alibaba `x-oss-process` with boto3 (the parameter added before signing, so
the signature covers it, as DESIGN.md requires), plain HTTP on a
public-read bucket, styles, separators, saveas, and a COS and a US3 smoke
case. Fixtures are made without Pillow (process_fixtures.py)."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import make_client
from process_fixtures import b64, image_size, is_progressive, make_png, png_bomb
from s3util import parse_xml, signed_request, xml_text


@pytest.fixture
def oss_client(endpoint):
    """A boto3 client whose GetObject calls carry `x-oss-process=<value of
    client.process>` in the signed query."""
    client = make_client(endpoint)
    client.process = None

    def add_process(request, **_):
        if client.process is not None:
            sep = "&" if "?" in request.url else "?"
            request.url += sep + "x-oss-process=" + quote(client.process, safe="")

    client.meta.events.register("before-sign.s3.GetObject", add_process)
    return client


@pytest.fixture
def public_bucket(s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name, ACL="public-read")
    return bucket_name


def upload_fixtures(s3, bucket):
    s3.put_object(Bucket=bucket, Key="f6.png", Body=make_png(400, 300),
                  ContentType="image/png")
    s3.put_object(Bucket=bucket, Key="wm/logo.png",
                  Body=make_png(50, 50, (0, 0, 0), (0, 0, 0)), ContentType="image/png")


def oss_get(oss_client, bucket, key, process):
    oss_client.process = process
    try:
        return oss_client.get_object(Bucket=bucket, Key=key)
    finally:
        oss_client.process = None


def test_boto3_signed_resize_and_format(s3, oss_client, bucket):
    upload_fixtures(s3, bucket)
    r = oss_get(oss_client, bucket, "f6.png", "image/resize,m_fixed,w_150,h_80")
    body = r["Body"].read()
    assert image_size(body) == ("png", 150, 80)
    assert r["ContentType"] == "image/png"
    assert r["ContentLength"] == len(body)
    r = oss_get(oss_client, bucket, "f6.png", "image/resize,w_100/format,jpg/interlace,1")
    body = r["Body"].read()
    assert r["ContentType"] == "image/jpeg"
    assert image_size(body) == ("jpeg", 100, 75)
    assert is_progressive(body)
    r = oss_get(oss_client, bucket, "f6.png", "image/format,webp")
    assert image_size(r["Body"].read()) == ("webp", 400, 300)
    r = oss_get(oss_client, bucket, "f6.png", "image/resize,w_200/format,avif")
    assert r["ContentType"] == "image/avif"
    assert image_size(r["Body"].read()) == ("avif", 200, 150)
    # The processed ETag differs from the object's, and answers If-None-Match.
    plain = s3.head_object(Bucket=bucket, Key="f6.png")
    r = oss_get(oss_client, bucket, "f6.png", "image/resize,w_100")
    assert r["ETag"] != plain["ETag"]
    oss_client.process = "image/resize,w_100"
    with pytest.raises(ClientError) as e:
        oss_client.get_object(Bucket=bucket, Key="f6.png", IfNoneMatch=r["ETag"])
    oss_client.process = None
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304


def test_boto3_info_and_error_codes(s3, oss_client, bucket):
    upload_fixtures(s3, bucket)
    r = oss_get(oss_client, bucket, "f6.png", "image/info")
    assert r["ContentType"] == "application/json"
    info = json.loads(r["Body"].read())
    assert info["ImageWidth"]["value"] == "400"
    assert info["Format"]["value"] == "png"
    with pytest.raises(ClientError) as e:
        oss_get(oss_client, bucket, "f6.png", "image/slim,1")
    err = e.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err["Error"]["Code"] == "InvalidArgument"
    with pytest.raises(ClientError) as e:
        oss_get(oss_client, bucket, "missing.png", "image/resize,w_10")
    assert e.value.response["Error"]["Code"] == "NoSuchKey"


def test_plain_http_on_public_bucket(s3, endpoint, public_bucket, anon):
    upload_fixtures(s3, public_bucket)
    url = f"{endpoint}/{public_bucket}/f6.png"
    r = anon.get(url, params={"x-oss-process": "image/crop,w_100,h_50,g_se"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "image/png"
    assert image_size(r.content) == ("png", 100, 50)
    # Range is ignored for processed responses.
    r2 = anon.get(url, params={"x-oss-process": "image/crop,w_100,h_50,g_se"},
                  headers={"Range": "bytes=0-9"})
    assert r2.status_code == 200 and r2.content == r.content
    # Error envelope: OSS XML with Code, Message, RequestId, HostId.
    r = anon.get(url, params={"x-oss-process": "image/crop,x_900,y_0,w_10,h_10"})
    assert r.status_code == 400
    root = parse_xml(r.content)
    assert xml_text(root, "Code") == "BadRequest"
    assert xml_text(root, "Message") == "Advance cut's position is out of image."
    assert xml_text(root, "RequestId") == r.headers["x-amz-request-id"]
    assert xml_text(root, "HostId") is not None
    # A decompression bomb is refused; the server keeps serving.
    s3.put_object(Bucket=public_bucket, Key="bomb.png", Body=png_bomb(60000, 60000))
    r = anon.get(f"{endpoint}/{public_bucket}/bomb.png",
                 params={"x-oss-process": "image/resize,w_10"})
    assert r.status_code == 400
    assert xml_text(parse_xml(r.content), "Code") == "ImageTooLarge"
    assert anon.get(url).status_code == 200


def test_styles_separator_protection(s3, endpoint, public_bucket, anon):
    b = public_bucket
    upload_fixtures(s3, b)
    r = signed_request(endpoint, "PUT", f"/{b}", query=[("style", None), ("styleName", "thumb100")],
                       body=b"<Style><Content>image/resize,w_100</Content></Style>")
    assert r.status_code == 200, r.text
    r = signed_request(endpoint, "GET", f"/{b}", query=[("style", None)])
    assert r.status_code == 200
    assert xml_text(parse_xml(r.content).find("Style"), "Name") == "thumb100"
    r = signed_request(endpoint, "PUT", f"/{b}", query=[("x-imgbucket-image-config", None)],
                       body=json.dumps({"separators": ["!"], "protect_source": True,
                                        "protected_suffixes": [".png"]}).encode())
    assert r.status_code == 200, r.text
    # Style by separator and by parameter, anonymously.
    r = anon.get(f"{endpoint}/{b}/f6.png!thumb100")
    assert r.status_code == 200, r.text
    assert image_size(r.content) == ("png", 100, 75)
    r = anon.get(f"{endpoint}/{b}/f6.png", params={"x-oss-process": "style/thumb100"})
    assert image_size(r.content) == ("png", 100, 75)
    # The original and free-form processing are protected from anonymous...
    assert anon.get(f"{endpoint}/{b}/f6.png").status_code == 403
    r = anon.get(f"{endpoint}/{b}/f6.png", params={"x-oss-process": "image/resize,w_10"})
    assert r.status_code == 403
    # ...not from a signed client.
    assert s3.get_object(Bucket=b, Key="f6.png")["ContentLength"] > 0
    r = anon.get(f"{endpoint}/{b}/f6.png", params={"x-oss-process": "style/none"})
    assert r.status_code == 404
    assert xml_text(parse_xml(r.content), "Code") == "NoSuchStyle"


def test_saveas(s3, endpoint, bucket, bucket2):
    upload_fixtures(s3, bucket)
    body = f"x-oss-process=image/resize,w_100|sys/saveas,o_{b64('out/small.png')},b_{b64(bucket2)}"
    r = signed_request(endpoint, "POST", f"/{bucket}/f6.png", query=[("x-oss-process", None)],
                       body=body.encode())
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["bucket"] == bucket2 and doc["object"] == "out/small.png" and doc["status"] == "OK"
    saved = s3.get_object(Bucket=bucket2, Key="out/small.png")
    data = saved["Body"].read()
    assert doc["fileSize"] == len(data)
    assert image_size(data) == ("png", 100, 75)
    assert saved["ContentType"] == "image/png"
    # Anonymous saveas is refused.
    r = requests.post(f"{endpoint}/{bucket}/f6.png?x-oss-process", data=body, timeout=30)
    assert r.status_code == 403


def test_cos_smoke(s3, endpoint, public_bucket, anon):
    upload_fixtures(s3, public_bucket)
    url = f"{endpoint}/{public_bucket}/f6.png"
    r = anon.get(url + "?imageMogr2/thumbnail/!50p")
    assert r.status_code == 200, r.text
    assert image_size(r.content) == ("png", 200, 150)
    r = anon.get(url + "?imageInfo")
    assert r.json()["width"] == "400"
    r = anon.get(url + "?imageMogr2/thumbnail/abc")
    assert r.status_code == 400
    assert r.headers["X-ErrNo"] == "-106"
    assert xml_text(parse_xml(r.content), "TraceId") is not None


def test_us3_smoke(s3, endpoint, public_bucket, anon):
    upload_fixtures(s3, public_bucket)
    url = f"{endpoint}/{public_bucket}/f6.png"
    r = anon.get(url + "?iopcmd=thumbnail&type=4&width=50")
    assert r.status_code == 200, r.text
    assert image_size(r.content) == ("png", 50, 37)
    r = anon.get(url + "?iopcmd=imageinfo")
    assert r.json() == {"width": 400, "height": 300, "format": "PNG"}
    r = anon.get(url + "?iopcmd=thumbnail&type=99")
    assert r.status_code == 400
    assert r.json()["RetCode"] == -1
    assert "X-SessionId" in r.headers
