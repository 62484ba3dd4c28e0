"""Bucket operations through boto3: create/list/head/delete, location, ACLs,
name rules."""

import pytest
from botocore.exceptions import ClientError

from conftest import make_client
from s3util import Server, assert_client_error, assert_s3_error, signed_request, unique_name

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def test_create_list_head_delete(s3, bucket_name):
    resp = s3.create_bucket(Bucket=bucket_name)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["Location"] == f"/{bucket_name}"

    listed = s3.list_buckets()
    names = [b["Name"] for b in listed["Buckets"]]
    assert bucket_name in names
    assert names == sorted(names)
    assert listed["Owner"]["ID"]
    mine = next(b for b in listed["Buckets"] if b["Name"] == bucket_name)
    assert mine["CreationDate"].year >= 2024

    head = s3.head_bucket(Bucket=bucket_name)
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 200

    s3.delete_bucket(Bucket=bucket_name)
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=bucket_name)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert bucket_name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_create_existing_bucket(s3, bucket):
    # us-east-1 (the default region) keeps AWS's legacy answer: 200, and
    # nothing changes.
    s3.put_object(Bucket=bucket, Key="k", Body=b"kept")
    s3.create_bucket(Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"


@pytest.mark.embedded_only("one server in another region is enough")
def test_create_existing_bucket_elsewhere_is_409(tmp_path):
    srv = Server(tmp_path / "data", tmp_path / "server.log",
                 extra_args=["--region", "eu-central-1"]).start()
    try:
        s3 = make_client(srv.endpoint, region="eu-central-1")
        name = unique_name("twice")
        s3.create_bucket(Bucket=name,
                         CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        with pytest.raises(ClientError) as e:
            s3.create_bucket(Bucket=name,
                             CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        assert_client_error(e, 409, "BucketAlreadyOwnedByYou")
    finally:
        srv.stop()


def test_create_with_location_constraint(s3, endpoint, bucket_name):
    # A CreateBucketConfiguration naming the server's own region: MinIO and
    # most self-hosted stores accept it; AWS itself refuses an explicit
    # us-east-1 with InvalidLocationConstraint. Either is compatible, and
    # nothing else is.
    try:
        s3.create_bucket(Bucket=bucket_name,
                         CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    except ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400, e.response
        assert e.response["Error"]["Code"] == "InvalidLocationConstraint", e.response
    else:
        loc = s3.get_bucket_location(Bucket=bucket_name)
        assert loc.get("LocationConstraint") in (None, "", "us-east-1")
        s3.delete_bucket(Bucket=bucket_name)
    # An empty configuration body is the same as none.
    body = (b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b'</CreateBucketConfiguration>')
    resp = signed_request(endpoint, "PUT", f"/{bucket_name}", body=body)
    assert resp.status_code == 200, resp.text
    assert s3.get_bucket_location(Bucket=bucket_name).get("LocationConstraint") in \
        (None, "", "us-east-1")


def test_create_with_malformed_configuration(endpoint, bucket_name):
    resp = signed_request(endpoint, "PUT", f"/{bucket_name}",
                          body=b"<CreateBucketConfiguration><LocationConstraint>")
    assert_s3_error(resp, 400, "MalformedXML")


def test_get_bucket_location_default(s3, bucket):
    loc = s3.get_bucket_location(Bucket=bucket)
    assert loc["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert loc.get("LocationConstraint") in (None, "", "us-east-1")


def test_head_missing_bucket(s3):
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=unique_name("missing"))
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_delete_missing_bucket(s3):
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=unique_name("missing"))
    assert_client_error(e, 404, "NoSuchBucket")


def test_delete_non_empty_bucket(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=bucket)
    assert_client_error(e, 409, "BucketNotEmpty")
    # Still there, object intact.
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_delete_bucket_with_pending_upload(s3, bucket):
    # As on AWS: open multipart uploads do not keep an otherwise empty
    # bucket; deleting it aborts them (a cleanup that deletes the objects
    # and then the bucket must not fail on an abandoned upload).
    up = s3.create_multipart_upload(Bucket=bucket, Key="pending")
    s3.upload_part(
        Bucket=bucket, Key="pending", UploadId=up["UploadId"], PartNumber=1, Body=b"x" * 1024
    )
    s3.delete_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=bucket)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    # Created again, the bucket has no trace of the upload.
    s3.create_bucket(Bucket=bucket)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="pending", UploadId=up["UploadId"])
    assert_client_error(e, 404, "NoSuchUpload")


def test_raw_error_body_for_missing_bucket(endpoint):
    name = unique_name("missing")
    resp = signed_request(endpoint, "GET", f"/{name}")
    root = assert_s3_error(resp, 404, "NoSuchBucket")
    assert resp.headers["Content-Type"].startswith(("application/xml", "text/xml"))
    # BucketName or Resource names the bucket.
    assert name in resp.text


def test_private_acl_by_default(s3, bucket):
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert acl["Owner"]["ID"]
    grants = acl["Grants"]
    assert any(g["Permission"] == "FULL_CONTROL" for g in grants)
    assert not any(g["Grantee"].get("URI") == ALL_USERS for g in grants)


def test_create_public_read_bucket(s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name, ACL="public-read")
    grants = s3.get_bucket_acl(Bucket=bucket_name)["Grants"]
    assert any(g["Grantee"].get("URI") == ALL_USERS and g["Permission"] == "READ"
               for g in grants), grants


def test_put_bucket_acl_round_trip(s3, bucket):
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    grants = s3.get_bucket_acl(Bucket=bucket)["Grants"]
    assert any(g["Grantee"].get("URI") == ALL_USERS and g["Permission"] == "READ"
               for g in grants), grants
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    grants = s3.get_bucket_acl(Bucket=bucket)["Grants"]
    assert not any(g["Grantee"].get("URI") == ALL_USERS for g in grants), grants


def test_acl_on_missing_bucket(s3):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_acl(Bucket=unique_name("missing"))
    assert_client_error(e, 404, "NoSuchBucket")


@pytest.mark.parametrize("name", [
    "ab",                      # too short
    "x" * 64,                  # too long
    "UpperCase",               # capitals
    "under_score",             # underscore
    "-leading-dash",
    "trailing-dash-",
    "double..dots",
    "dot.-dash",
    "192.168.5.4",             # looks like an IP address
    "xn--punycode-prefix",
])
def test_invalid_bucket_names(s3, name):
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=name)
    assert_client_error(e, 400, "InvalidBucketName")


def test_valid_unusual_bucket_names(s3):
    for name in ["abc", "a" * 63, "with.dots.ok", "0-starts-with-digit"]:
        name = name if len(name) == 63 else f"{name}-{unique_name()[1:7]}"
        s3.create_bucket(Bucket=name)
        try:
            s3.head_bucket(Bucket=name)
        finally:
            s3.delete_bucket(Bucket=name)


def test_list_buckets_pages_by_prefix(s3):
    stem = unique_name("page")[:20]
    names = [f"{stem}-{i}" for i in range(5)]
    for n in names:
        s3.create_bucket(Bucket=n)
    try:
        seen, token = [], None
        while True:
            kw = {"Prefix": stem, "MaxBuckets": 2}
            if token:
                kw["ContinuationToken"] = token
            page = s3.list_buckets(**kw)
            assert len(page["Buckets"]) <= 2 and page["Prefix"] == stem
            seen += [b["Name"] for b in page["Buckets"]]
            token = page.get("ContinuationToken")
            if not token:
                break
        assert seen == names
        with pytest.raises(ClientError) as e:
            s3.list_buckets(MaxBuckets=10001)
        assert_client_error(e, 400, "InvalidArgument")
    finally:
        for n in names:
            s3.delete_bucket(Bucket=n)
