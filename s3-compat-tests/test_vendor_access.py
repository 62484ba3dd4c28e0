"""The vendors' SDKs as users other than the admin: the OSS and COS
signature schemes authenticate the same users as SigV4, ownership and ACLs
apply to them alike, and their CORS calls (`put_bucket_cors`) set the same
rules a preflight answers from."""

from __future__ import annotations

import uuid

import pytest
import requests

from test_sdk_cos import APPID, REGION, host_port
from test_users import add_user

oss2 = pytest.importorskip("oss2")
qcloud_cos = pytest.importorskip("qcloud_cos")
from qcloud_cos import CosConfig, CosS3Client, CosServiceError  # noqa: E402


@pytest.fixture(scope="module")
def carol(endpoint):
    name, s3, keys = add_user(endpoint, "carol")
    return name, s3, keys


@pytest.fixture(scope="module")
def dave(endpoint):
    return add_user(endpoint, "dave")


def cos_client(endpoint: str, keys) -> CosS3Client:
    ip, port = host_port(endpoint)
    cfg = CosConfig(Region=REGION, SecretId=keys[0], SecretKey=keys[1], Scheme="http",
                    IP=ip, Port=port)
    return CosS3Client(cfg, retry=0)


def test_oss2_as_a_user_owns_its_bucket_and_sets_cors(endpoint, s3, carol, dave):
    name = f"oss{uuid.uuid4().hex[:12]}"
    mine = oss2.Bucket(oss2.Auth(*carol[2]), endpoint, name)
    theirs = oss2.Bucket(oss2.Auth(*dave[2]), endpoint, name)
    mine.create_bucket()
    try:
        mine.put_object("k.txt", b"carol's")
        assert mine.get_bucket_info().owner.display_name == carol[0]
        with pytest.raises(oss2.exceptions.AccessDenied):
            theirs.get_object("k.txt")
        with pytest.raises(oss2.exceptions.AccessDenied):
            theirs.put_object("x", b"x")
        rule = oss2.models.CorsRule(allowed_origins=["https://app.example"],
                                    allowed_methods=["GET"], max_age_seconds=120)
        mine.put_bucket_cors(oss2.models.BucketCors([rule]))
        got = mine.get_bucket_cors().rules[0]
        assert got.allowed_origins == ["https://app.example"] and got.max_age_seconds == 120
        pre = requests.options(f"{endpoint}/{name}/k.txt", timeout=30, headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
        assert pre.status_code == 200
        assert pre.headers["Access-Control-Allow-Origin"] == "https://app.example"
        with pytest.raises(oss2.exceptions.AccessDenied):
            theirs.put_bucket_cors(oss2.models.BucketCors([rule]))
        mine.delete_bucket_cors()
        # A public-read object ACL through the OSS header.
        mine.put_object_acl("k.txt", oss2.OBJECT_ACL_PUBLIC_READ)
        assert theirs.get_object("k.txt").read() == b"carol's"
    finally:
        mine.delete_object("k.txt")
        mine.delete_bucket()


def test_cos_sdk_as_a_user_owns_its_bucket_and_sets_cors(endpoint, carol, dave):
    mine, theirs = cos_client(endpoint, carol[2]), cos_client(endpoint, dave[2])
    name = f"cos{uuid.uuid4().hex[:10]}-{APPID}"
    mine.create_bucket(Bucket=name)
    try:
        mine.put_object(Bucket=name, Key="k.txt", Body=b"carol's")
        with pytest.raises(CosServiceError) as e:
            theirs.get_object(Bucket=name, Key="k.txt")
        assert e.value.get_status_code() == 403
        mine.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRule": [{
            "AllowedOrigin": ["https://app.example"], "AllowedMethod": ["PUT", "GET"],
            "AllowedHeader": ["*"], "MaxAgeSeconds": 60}]})
        got = mine.get_bucket_cors(Bucket=name)["CORSRule"]
        rule = got[0] if isinstance(got, list) else got
        assert rule["MaxAgeSeconds"] == "60"
        with pytest.raises(CosServiceError) as e:
            theirs.get_bucket_cors(Bucket=name)
        assert e.value.get_status_code() == 403
        mine.put_bucket_acl(Bucket=name, ACL="public-read")
        assert theirs.get_object(Bucket=name, Key="k.txt")["Body"].get_raw_stream().read() \
            == b"carol's"
        mine.delete_bucket_cors(Bucket=name)
    finally:
        mine.delete_object(Bucket=name, Key="k.txt")
        mine.delete_bucket(Bucket=name)
