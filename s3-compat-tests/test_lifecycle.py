"""Bucket lifecycle with boto3: put/get/delete_bucket_lifecycle_configuration,
the refusals AWS gives (and 501 for what this server cannot act on), tag
and size filters, the owner-only rule, and end-to-end expiry (by prefix, by tag)
against a server started with a one-second day and a one-second tick. Runs
in embedded and gateway mode."""

from __future__ import annotations

import base64
import hashlib
import time
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError

from conftest import make_client
from s3util import (assert_client_error, assert_s3_error, mode_server, signed_request,
                    unique_name)
from test_users import add_user

RULES = [
    {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
     "Expiration": {"Days": 30}},
    {"ID": "dated", "Filter": {}, "Status": "Disabled",
     "Expiration": {"Date": datetime(2030, 1, 1, tzinfo=timezone.utc)}},
    {"ID": "uploads", "Filter": {"Prefix": ""}, "Status": "Enabled",
     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
]


def rule(**kw):
    base = {"ID": "r", "Filter": {"Prefix": ""}, "Status": "Enabled"}
    base.update(kw)
    return {"Rules": [base]}


def test_put_get_delete(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert_client_error(e, 404, "NoSuchLifecycleConfiguration")
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": RULES})
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["ID"] for r in got] == ["tmp", "dated", "uploads"]
    assert got[0]["Filter"] == {"Prefix": "tmp/"}
    assert got[0]["Expiration"] == {"Days": 30}
    assert got[1]["Status"] == "Disabled"
    assert got[1]["Expiration"]["Date"] == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert got[2]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    s3.delete_bucket_lifecycle(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert_client_error(e, 404, "NoSuchLifecycleConfiguration")


def test_legacy_prefix_no_ops_and_generated_ids(s3, bucket):
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"Prefix": "logs/", "Status": "Enabled", "Expiration": {"Days": 1}},
        {"ID": "markers", "Filter": {}, "Status": "Enabled",
         "Expiration": {"ExpiredObjectDeleteMarker": True},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 3}},
    ]})
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert got[0]["Prefix"] == "logs/" and got[0]["ID"]  # S3 names it
    assert got[1]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    assert got[1]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 3


def test_boto3_default_checksums(s3_default, bucket):
    # boto3's own default sends a CRC32 of the body instead of Content-MD5.
    s3_default.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration=rule(Expiration={"Days": 2}))
    got = s3_default.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert got[0]["Expiration"] == {"Days": 2}


@pytest.mark.parametrize("config,status,code", [
    (rule(Expiration={"Days": 0}), 400, "InvalidArgument"),
    (rule(Expiration={"Date": datetime(2030, 1, 1, 12, tzinfo=timezone.utc)}),
     400, "InvalidArgument"),
    (rule(Expiration={"Days": 1, "Date": datetime(2030, 1, 1, tzinfo=timezone.utc)}),
     400, "MalformedXML"),
    (rule(), 400, "InvalidRequest"),
    ({"Rules": [rule(Expiration={"Days": 1})["Rules"][0]] * 2}, 400, "InvalidArgument"),
    (rule(ID="x" * 256, Expiration={"Days": 1}), 400, "InvalidArgument"),
    ({"Rules": [dict(rule(Expiration={"Days": 1})["Rules"][0], ID=str(i))
                for i in range(1001)]}, 400, "MalformedXML"),
    (rule(Transitions=[{"Days": 30, "StorageClass": "GLACIER"}]), 501, "NotImplemented"),
    (rule(Filter={"ObjectSizeGreaterThan": 1000},
          AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1}), 400, "InvalidRequest"),
    (rule(Filter={"And": {"ObjectSizeGreaterThan": 9, "ObjectSizeLessThan": 9}},
          Expiration={"Days": 1}), 400, "InvalidRequest"),
    (rule(Filter={"Tag": {"Key": "k", "Value": "v"}},
          AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1}), 400, "InvalidRequest"),
    (rule(Filter={"And": {"Tags": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]}},
          Expiration={"Days": 1}), 400, "InvalidRequest"),
])
def test_refusals(s3, bucket, config, status, code):
    with pytest.raises(ClientError) as e:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=config)
    assert_client_error(e, status, code)


def test_tag_and_size_filters_round_trip(s3, bucket):
    rules = [
        {"ID": "one", "Filter": {"Tag": {"Key": "temp", "Value": "yes"}}, "Status": "Enabled",
         "Expiration": {"Days": 1}},
        {"ID": "both", "Filter": {"And": {"Prefix": "logs/", "Tags": [
            {"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}},
         "Status": "Enabled", "Expiration": {"Days": 3}},
        {"ID": "big", "Filter": {"ObjectSizeGreaterThan": 1048576}, "Status": "Enabled",
         "Expiration": {"Days": 7}},
        {"ID": "mid", "Filter": {"And": {"Prefix": "p/", "ObjectSizeGreaterThan": 10,
                                         "ObjectSizeLessThan": 20}},
         "Status": "Enabled", "Expiration": {"Days": 7}},
    ]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket,
                                          LifecycleConfiguration={"Rules": rules})
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert got[0]["Filter"] == {"Tag": {"Key": "temp", "Value": "yes"}}
    assert got[1]["Filter"] == rules[1]["Filter"]
    assert got[2]["Filter"] == {"ObjectSizeGreaterThan": 1048576}
    assert got[3]["Filter"] == rules[3]["Filter"]


def test_malformed_xml_and_missing_digest(endpoint, bucket):
    body = b"<LifecycleConfiguration><Rule>"
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    r = signed_request(endpoint, "PUT", f"/{bucket}", query={"lifecycle": None},
                       headers={"Content-MD5": md5}, body=body)
    assert_s3_error(r, 400, "MalformedXML")
    body = (b"<LifecycleConfiguration><Rule><ID>a</ID><Filter/><Status>Enabled</Status>"
            b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>")
    r = signed_request(endpoint, "PUT", f"/{bucket}", query={"lifecycle": None}, body=body)
    assert_s3_error(r, 400, "InvalidRequest")
    assert "Content-MD5" in r.text


def test_only_the_owner(endpoint, s3, bucket):
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration=rule(Expiration={"Days": 1}))
    _, other, _ = add_user(endpoint, "lc-other")
    for call in (lambda: other.get_bucket_lifecycle_configuration(Bucket=bucket),
                 lambda: other.delete_bucket_lifecycle(Bucket=bucket),
                 lambda: other.put_bucket_lifecycle_configuration(
                     Bucket=bucket, LifecycleConfiguration=rule(Expiration={"Days": 9}))):
        with pytest.raises(ClientError) as e:
            call()
        assert_client_error(e, 403, "AccessDenied")
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert got[0]["Expiration"] == {"Days": 1}


@contextmanager
def one_second_days(tmp_path):
    """A server whose day lasts one second and whose sweeper ticks every
    second, and a client of it."""
    config = tmp_path / "imgbucket.toml"
    config.write_text("[lifecycle]\nday_secs = 1\ninterval_secs = 1\n")
    srv = mode_server(tmp_path, ["--config", str(config)])
    srv.start()
    try:
        yield srv, make_client(srv.endpoint)
    finally:
        srv.stop()


def test_expiry_end_to_end(tmp_path):
    """A `Days: 1` rule deletes what is under its prefix within a few
    seconds and aborts the uploads there; the rest stays."""
    with one_second_days(tmp_path) as (srv, s3):
        name = unique_name("lifecycle-e2e")
        s3.create_bucket(Bucket=name)
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
            {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
             "Expiration": {"Days": 1},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
        ]})
        s3.put_object(Bucket=name, Key="tmp/a", Body=b"short-lived")
        s3.put_object(Bucket=name, Key="keep/b", Body=b"stays")
        doomed = s3.create_multipart_upload(Bucket=name, Key="tmp/big")["UploadId"]
        kept = s3.create_multipart_upload(Bucket=name, Key="keep/big")["UploadId"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", [])]
            uploads = [u["UploadId"] for u in
                       s3.list_multipart_uploads(Bucket=name).get("Uploads", [])]
            if "tmp/a" not in keys and doomed not in uploads:
                break
            time.sleep(0.25)
        assert keys == ["keep/b"], srv.log_tail()
        assert uploads == [kept], srv.log_tail()
        # The tick logs once its work (and its cursor) is saved, just
        # after what the listings saw.
        while "lifecycle tick" not in srv.log_text() and time.monotonic() < deadline + 5:
            time.sleep(0.1)
        assert "lifecycle tick" in srv.log_text()
        s3.abort_multipart_upload(Bucket=name, Key="keep/big", UploadId=kept)
        s3.delete_object(Bucket=name, Key="keep/b")
        s3.delete_bucket(Bucket=name)


def test_tag_and_size_rules_end_to_end(tmp_path):
    """A tag rule deletes the objects that carry its tag, a size rule those
    above its bound, and no others."""
    with one_second_days(tmp_path) as (srv, s3):
        name = unique_name("lifecycle-tags")
        s3.create_bucket(Bucket=name)
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
            {"ID": "temp", "Filter": {"Tag": {"Key": "temp", "Value": "yes"}},
             "Status": "Enabled", "Expiration": {"Days": 1}},
            {"ID": "big", "Filter": {"ObjectSizeGreaterThan": 100},
             "Status": "Enabled", "Expiration": {"Days": 1}},
        ]})
        s3.put_object(Bucket=name, Key="e", Body=b"x" * 101)
        s3.put_object(Bucket=name, Key="f", Body=b"x" * 100)
        s3.put_object(Bucket=name, Key="a", Body=b"1", Tagging="temp=yes")
        s3.put_object(Bucket=name, Key="b", Body=b"2", Tagging="temp=no")
        s3.put_object(Bucket=name, Key="c", Body=b"3")
        s3.put_object(Bucket=name, Key="d", Body=b"4")
        s3.put_object_tagging(Bucket=name, Key="d",
                              Tagging={"TagSet": [{"Key": "temp", "Value": "yes"}]})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", [])]
            if keys == ["b", "c", "f"]:
                break
            time.sleep(0.25)
        assert keys == ["b", "c", "f"], srv.log_tail()
        # A few more ticks take nothing else.
        time.sleep(2.5)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", [])]
        assert keys == ["b", "c", "f"], srv.log_tail()
        for k in keys:
            s3.delete_object(Bucket=name, Key=k)
        s3.delete_bucket(Bucket=name)
