"""UCloud US3 signatures (`Authorization: UCloud pk:sig` and presigned
URLs), as the US3 SDKs and tools send them, authenticate the same users as
every other scheme: a non-admin user reads and writes its own private
bucket, is refused another's, and bad, unknown or expired signatures get
S3's answers."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from process_fixtures import image_size, make_png
from s3util import assert_s3_error, ucloud_signature
from test_users import add_user


@pytest.fixture(scope="module")
def erin(endpoint, s3):
    name, client, keys = add_user(endpoint, "erin")
    bucket = f"us3-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    yield keys, bucket
    for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=o["Key"])
    s3.delete_bucket(Bucket=bucket)


def ucloud(keys, method: str, resource: str, content_type: str = "") -> dict:
    sig = ucloud_signature(keys[1], method, resource, content_type=content_type)
    headers = {"Authorization": f"UCloud {keys[0]}:{sig}"}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def test_header_signed_put_get_delete(endpoint, erin):
    keys, bucket = erin
    res = f"/{bucket}/photo.png"
    r = requests.put(endpoint + res, data=make_png(200, 100), timeout=30,
                     headers=ucloud(keys, "PUT", res, "image/png"))
    assert r.status_code == 200, r.text
    r = requests.get(endpoint + res, headers=ucloud(keys, "GET", res), timeout=30)
    assert r.status_code == 200 and image_size(r.content) == ("png", 200, 100)
    # Processing through the same signature (UCloud signs the object).
    r = requests.get(endpoint + res, params={"iopcmd": "thumbnail", "type": "4", "width": "50"},
                     headers=ucloud(keys, "GET", res), timeout=30)
    assert r.status_code == 200 and image_size(r.content) == ("png", 50, 25)
    # Anonymous: refused on the private bucket.
    assert requests.get(endpoint + res, timeout=30).status_code == 403
    r = requests.delete(endpoint + res, headers=ucloud(keys, "DELETE", res), timeout=30)
    assert r.status_code == 204


def test_presigned_urls_expire(endpoint, erin):
    keys, bucket = erin
    res = f"/{bucket}/a.txt"
    assert requests.put(endpoint + res, data=b"hello", timeout=30,
                        headers=ucloud(keys, "PUT", res)).status_code == 200
    expires = str(int(time.time()) + 600)
    sig = ucloud_signature(keys[1], "GET", res, expires)
    r = requests.get(endpoint + res, timeout=30,
                     params={"UCloudPublicKey": keys[0], "Expires": expires, "Signature": sig})
    assert r.status_code == 200 and r.content == b"hello"
    past = str(int(time.time()) - 10)
    sig = ucloud_signature(keys[1], "GET", res, past)
    r = requests.get(endpoint + res, timeout=30,
                     params={"UCloudPublicKey": keys[0], "Expires": past, "Signature": sig})
    assert_s3_error(r, 403, "AccessDenied")


def test_bad_signatures_and_other_users_buckets(endpoint, erin, s3, bucket):
    keys, mine = erin
    res = f"/{mine}/k"
    wrong = ucloud(keys, "GET", f"/{mine}/other-key")
    assert_s3_error(requests.get(endpoint + res, headers=wrong, timeout=30),
                    403, "SignatureDoesNotMatch")
    unknown = {"Authorization": "UCloud NOSUCHKEY:" + ucloud_signature("x", "GET", res)}
    assert_s3_error(requests.get(endpoint + res, headers=unknown, timeout=30),
                    403, "InvalidAccessKeyId")
    # The admin's private bucket is not erin's.
    s3.put_object(Bucket=bucket, Key="secret", Body=b"s")
    theirs = f"/{bucket}/secret"
    assert_s3_error(requests.get(endpoint + theirs, headers=ucloud(keys, "GET", theirs),
                                 timeout=30), 403, "AccessDenied")
