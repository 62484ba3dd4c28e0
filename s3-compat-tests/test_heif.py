"""HEIC and AVIF sources, and HEIC output, over plain HTTP against the built
binary: a phone-style HEIC (landscape pixels, an `irot` box turning them
upright, EXIF Orientation 6, an ICC profile) and an AVIF with alpha, stored
with boto3 and processed in each vendor dialect. The fixtures and how they
were made: imaging/tests/fixtures/heif/README.md."""

from __future__ import annotations

import pathlib

import pytest

from process_fixtures import image_size

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "imaging/tests/fixtures/heif"


@pytest.fixture
def heif_bucket(s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name, ACL="public-read")
    for name, mime in [("rotated-o6.heic", "image/heic"), ("alpha.avif", "image/avif")]:
        s3.put_object(Bucket=bucket_name, Key=name, Body=(FIXTURES / name).read_bytes(),
                      ContentType=mime)
    return bucket_name


def test_oss_thumbnail_of_a_phone_heic_is_upright(endpoint, heif_bucket, anon):
    url = f"{endpoint}/{heif_bucket}/rotated-o6.heic"
    r = anon.get(url + "?x-oss-process=image/auto-orient,1/resize,w_50/format,jpg")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "image/jpeg"
    # 107×160 as displayed: turned once by its container, not again by EXIF.
    assert image_size(r.content) == ("jpeg", 50, 75)
    info = anon.get(url + "?x-oss-process=image/info").json()
    assert info["Format"]["value"] == "heic"
    assert (info["ImageWidth"]["value"], info["ImageHeight"]["value"]) == ("107", "160")
    # Without a format step the output keeps the source's format: HEIC.
    r = anon.get(url + "?x-oss-process=image/resize,w_40")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "image/heic"
    assert r.content[4:12] in (b"ftypheic", b"ftypmif1")


def test_cos_and_us3_read_heic_and_avif(endpoint, heif_bucket, anon):
    base = f"{endpoint}/{heif_bucket}"
    r = anon.get(f"{base}/rotated-o6.heic?imageMogr2/thumbnail/50x/format/png")
    assert r.status_code == 200, r.text
    assert image_size(r.content) == ("png", 50, 75)
    info = anon.get(f"{base}/rotated-o6.heic?imageInfo").json()
    assert (info["format"], info["width"], info["height"]) == ("heif", "107", "160")
    # The AVIF keeps its alpha channel in PNG output (colour type 6: RGBA).
    r = anon.get(f"{base}/alpha.avif?imageMogr2/thumbnail/64x/format/png")
    assert image_size(r.content) == ("png", 64, 40)
    assert r.content[25] == 6
    r = anon.get(f"{base}/alpha.avif?iopcmd=thumbnail&type=4&width=32|iopcmd=convert&dst=webp")
    assert r.status_code == 200, r.text
    assert image_size(r.content) == ("webp", 32, 20)
    assert anon.get(f"{base}/alpha.avif?iopcmd=imageinfo").json() == {
        "width": 320, "height": 200, "format": "AVIF"}


def test_a_corrupt_heic_is_a_client_error_and_the_server_keeps_serving(
        endpoint, heif_bucket, anon, s3):
    data = (FIXTURES / "rotated-o6.heic").read_bytes()
    s3.put_object(Bucket=heif_bucket, Key="cut.heic", Body=data[:len(data) // 3])
    r = anon.get(f"{endpoint}/{heif_bucket}/cut.heic?x-oss-process=image/resize,w_50")
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.headers["Content-Type"] == "application/xml"
    r = anon.get(f"{endpoint}/{heif_bucket}/alpha.avif?x-oss-process=image/resize,w_50/format,jpg")
    assert image_size(r.content) == ("jpeg", 50, 31)
