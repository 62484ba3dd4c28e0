"""Authentication and authorisation: SigV4 header failures, presigned URLs
(SigV4 and SigV2 query), anonymous access to private and public-read
buckets. Every refusal is an S3 XML error with Code/Message/RequestId."""

import hashlib
import re
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from botocore.exceptions import ClientError

import sigv4
from conftest import make_client
from s3util import (ACCESS_KEY, SECRET_KEY, assert_client_error, assert_s3_error,
                    parse_xml, signed_request, strip_ns, xml_text)


# ------------------------------------------------------------- SigV4 header

def test_wrong_secret_key(endpoint, bucket):
    bad = make_client(endpoint, secret_key="wrong" + SECRET_KEY[5:])
    with pytest.raises(ClientError) as e:
        bad.list_objects_v2(Bucket=bucket)
    assert_client_error(e, 403, "SignatureDoesNotMatch")
    with pytest.raises(ClientError) as e:
        bad.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert_client_error(e, 403, "SignatureDoesNotMatch")


def test_wrong_secret_key_raw_body(endpoint, bucket):
    resp = signed_request(endpoint, "GET", f"/{bucket}", secret_key="not-the-secret")
    assert_s3_error(resp, 403, "SignatureDoesNotMatch")


def test_unknown_access_key(endpoint):
    bad = make_client(endpoint, access_key="AKIDUNKNOWN000000000")
    with pytest.raises(ClientError) as e:
        bad.list_buckets()
    assert_client_error(e, 403, "InvalidAccessKeyId")


def test_request_time_too_skewed(endpoint, bucket):
    signer = sigv4.Signer(ACCESS_KEY, SECRET_KEY)
    url = f"{endpoint}/{bucket}"
    old = datetime.now(timezone.utc) - timedelta(hours=1)
    headers, _, _ = signer.sign("GET", url, {}, sigv4.EMPTY_SHA256, now=old)
    resp = requests.get(url, headers=headers, timeout=30)
    assert_s3_error(resp, 403, "RequestTimeTooSkewed")


def test_payload_hash_mismatch(endpoint, bucket):
    signer = sigv4.Signer(ACCESS_KEY, SECRET_KEY)
    url = f"{endpoint}/{bucket}/k"
    headers, _, _ = signer.sign("PUT", url, {}, hashlib.sha256(b"claimed").hexdigest())
    resp = requests.put(url, data=b"actual body", headers=headers, timeout=30)
    assert_s3_error(resp, 400, "XAmzContentSHA256Mismatch")


def test_unsigned_payload_header_auth(endpoint, bucket, s3):
    signer = sigv4.Signer(ACCESS_KEY, SECRET_KEY)
    url = f"{endpoint}/{bucket}/unsigned"
    headers, _, _ = signer.sign("PUT", url, {}, sigv4.UNSIGNED)
    resp = requests.put(url, data=b"unsigned body", headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    assert s3.get_object(Bucket=bucket, Key="unsigned")["Body"].read() == b"unsigned body"


def test_malformed_authorization_header(endpoint, bucket):
    resp = requests.get(f"{endpoint}/{bucket}",
                        headers={"Authorization": "AWS4-HMAC-SHA256 garbage"}, timeout=30)
    assert resp.status_code in (400, 403), resp.text
    root = parse_xml(resp.content)
    assert strip_ns(root.tag) == "Error"
    assert xml_text(root, "Code") in ("AuthorizationHeaderMalformed", "AccessDenied",
                                      "InvalidArgument", "SignatureDoesNotMatch")
    assert xml_text(root, "RequestId")


def test_signed_header_tampered(endpoint, bucket):
    signer = sigv4.Signer(ACCESS_KEY, SECRET_KEY)
    url = f"{endpoint}/{bucket}/k"
    headers, _, _ = signer.sign("PUT", url, {"x-amz-meta-a": "1"},
                                hashlib.sha256(b"x").hexdigest())
    headers["x-amz-meta-a"] = "2"
    resp = requests.put(url, data=b"x", headers=headers, timeout=30)
    assert_s3_error(resp, 403, "SignatureDoesNotMatch")


# ------------------------------------------------------------- presigned

@pytest.fixture(scope="module")
def presigner_v4(endpoint):
    return make_client(endpoint, signature_version="s3v4")


@pytest.fixture(scope="module")
def presigner_v2(endpoint):
    return make_client(endpoint, signature_version="s3")


def test_presigned_get_v4(presigner_v4, s3, bucket):
    s3.put_object(Bucket=bucket, Key="p/ü k", Body=b"presigned body", ContentType="text/plain")
    url = presigner_v4.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "p/ü k"}, ExpiresIn=300)
    assert "X-Amz-Signature=" in url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, r.text
    assert r.content == b"presigned body"
    assert r.headers["Content-Type"] == "text/plain"


def test_presigned_get_v2(presigner_v2, s3, bucket):
    s3.put_object(Bucket=bucket, Key="p/v2 key+plus", Body=b"v2 body")
    url = presigner_v2.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "p/v2 key+plus"}, ExpiresIn=300)
    assert "AWSAccessKeyId=" in url and "Signature=" in url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, r.text
    assert r.content == b"v2 body"


@pytest.mark.parametrize("which", ["v4", "v2"])
def test_presigned_get_with_response_override(presigner_v4, presigner_v2, s3, bucket, which):
    # SigV2 signs response-* as sub-resources, SigV4 as query parameters.
    signer = presigner_v4 if which == "v4" else presigner_v2
    s3.put_object(Bucket=bucket, Key="img", Body=b"\xff\xd8fake")
    url = signer.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "img",
                              "ResponseContentType": "image/jpeg",
                              "ResponseContentDisposition": "inline"}, ExpiresIn=300)
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "image/jpeg"
    assert r.headers["Content-Disposition"] == "inline"


@pytest.mark.parametrize("which", ["v4", "v2"])
def test_presigned_put(presigner_v4, presigner_v2, s3, bucket, which):
    signer = presigner_v4 if which == "v4" else presigner_v2
    url = signer.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": f"up-{which}"}, ExpiresIn=300)
    r = requests.put(url, data=b"uploaded via presigned url", timeout=30)
    assert r.status_code == 200, r.text
    assert s3.get_object(Bucket=bucket, Key=f"up-{which}")["Body"].read() == \
        b"uploaded via presigned url"


@pytest.mark.parametrize("which", ["v4", "v2"])
def test_presigned_put_with_signed_content_type(presigner_v4, presigner_v2, s3, bucket, which):
    signer = presigner_v4 if which == "v4" else presigner_v2
    url = signer.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "typed", "ContentType": "image/png"},
        ExpiresIn=300)
    r = requests.put(url, data=b"png?", headers={"Content-Type": "image/png"}, timeout=30)
    assert r.status_code == 200, r.text
    assert s3.head_object(Bucket=bucket, Key="typed")["ContentType"] == "image/png"
    if which == "v4":
        # Another Content-Type than the one signed is refused. (botocore's
        # SigV2 presigner copies the type into the query string as well, so
        # there the header is not the only carrier.)
        bad = requests.put(url, data=b"png?", headers={"Content-Type": "text/html"}, timeout=30)
        assert_s3_error(bad, 403, "SignatureDoesNotMatch")


@pytest.mark.parametrize("which", ["v4", "v2"])
def test_presigned_head(presigner_v4, presigner_v2, s3, bucket, which):
    signer = presigner_v4 if which == "v4" else presigner_v2
    s3.put_object(Bucket=bucket, Key="h", Body=b"12345")
    url = signer.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": "h"},
                                        ExpiresIn=300)
    r = requests.head(url, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Length"] == "5"


def test_presigned_expired_v4(presigner_v4, s3, bucket):
    s3.put_object(Bucket=bucket, Key="exp", Body=b"x")
    url = presigner_v4.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "exp"}, ExpiresIn=1)
    time.sleep(2.2)
    assert_s3_error(requests.get(url, timeout=30), 403, "AccessDenied")


def test_presigned_expired_v2(presigner_v2, s3, bucket):
    s3.put_object(Bucket=bucket, Key="exp", Body=b"x")
    url = presigner_v2.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "exp"}, ExpiresIn=1)
    time.sleep(2.2)
    assert_s3_error(requests.get(url, timeout=30), 403, "AccessDenied")


@pytest.mark.parametrize("which", ["v4", "v2"])
def test_presigned_tampered(presigner_v4, presigner_v2, s3, bucket, which):
    signer = presigner_v4 if which == "v4" else presigner_v2
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="b", Body=b"b")
    url = signer.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "a"}, ExpiresIn=300)
    # Same signature, other key.
    forged = url.replace(f"/{bucket}/a?", f"/{bucket}/b?")
    assert forged != url
    assert_s3_error(requests.get(forged, timeout=30), 403, "SignatureDoesNotMatch")


def test_presigned_wrong_secret(endpoint, s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    bad = make_client(endpoint, secret_key="bogus-secret")
    url = bad.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a"},
                                     ExpiresIn=300)
    assert_s3_error(requests.get(url, timeout=30), 403, "SignatureDoesNotMatch")


def test_presigned_v4_expires_out_of_range(presigner_v4, s3, bucket):
    # AWS's code, with the 403 that S3 conformance suites (Ceph s3-tests)
    # expect, for more than a week and for a negative X-Amz-Expires.
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    url = presigner_v4.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "a"}, ExpiresIn=604801)
    resp = requests.get(url, timeout=30)
    assert_s3_error(resp, 403, "AuthorizationQueryParametersError")
    assert "604800" in resp.text
    # SDKs refuse to sign a negative expiry; the range is checked before
    # the signature, so an edited URL shows the answer.
    url = presigner_v4.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "a"}, ExpiresIn=3600)
    resp = requests.get(url.replace("X-Amz-Expires=3600", "X-Amz-Expires=-1"), timeout=30)
    assert_s3_error(resp, 403, "AuthorizationQueryParametersError")
    assert "non-negative" in resp.text


def test_presigned_v4_expired_names_the_expiry(presigner_v4, s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    url = presigner_v4.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "a"}, ExpiresIn=1)
    time.sleep(2.1)
    resp = requests.get(url, timeout=30)
    assert_s3_error(resp, 403, "AccessDenied")
    assert re.search(r"Request has expired \(expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ;",
                     resp.text), resp.text


# ------------------------------------------------------------- anonymous

def test_anonymous_list_buckets_denied(anon, endpoint):
    assert_s3_error(anon.get(endpoint + "/", timeout=30), 403, "AccessDenied")


def test_an_empty_authorization_header_is_anonymous(anon, endpoint, s3, bucket):
    # As on AWS: no credentials, so a private bucket answers 403 AccessDenied.
    s3.put_object(Bucket=bucket, Key="secret", Body=b"s")
    for path in (f"/{bucket}", f"/{bucket}/secret"):
        r = anon.get(endpoint + path, headers={"Authorization": ""}, timeout=30)
        assert_s3_error(r, 403, "AccessDenied")


def test_anonymous_on_private_bucket(anon, endpoint, s3, bucket):
    s3.put_object(Bucket=bucket, Key="secret", Body=b"s")
    base = f"{endpoint}/{bucket}"
    assert_s3_error(anon.get(f"{base}/secret", timeout=30), 403, "AccessDenied")
    assert_s3_error(anon.head(f"{base}/secret", timeout=30), 403, "AccessDenied")
    assert_s3_error(anon.get(base, timeout=30), 403, "AccessDenied")
    assert_s3_error(anon.get(base, params={"list-type": "2"}, timeout=30), 403, "AccessDenied")
    assert_s3_error(anon.put(f"{base}/new", data=b"x", timeout=30), 403, "AccessDenied")
    assert_s3_error(anon.delete(f"{base}/secret", timeout=30), 403, "AccessDenied")
    assert s3.get_object(Bucket=bucket, Key="secret")["Body"].read() == b"s"


def test_anonymous_on_public_read_bucket(anon, endpoint, s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name, ACL="public-read")
    s3.put_object(Bucket=bucket_name, Key="pub/hello.txt", Body=b"hello world",
                  ContentType="text/plain")
    base = f"{endpoint}/{bucket_name}"

    r = anon.get(f"{base}/pub/hello.txt", timeout=30)
    assert r.status_code == 200 and r.content == b"hello world"
    assert r.headers["Content-Type"] == "text/plain"
    r = anon.get(f"{base}/pub/hello.txt", headers={"Range": "bytes=6-"}, timeout=30)
    assert r.status_code == 206 and r.content == b"world"
    h = anon.head(f"{base}/pub/hello.txt", timeout=30)
    assert h.status_code == 200 and h.headers["Content-Length"] == "11"

    for params in ({}, {"list-type": "2"}, {"prefix": "pub/", "delimiter": "/"}):
        lst = anon.get(base, params=params, timeout=30)
        assert lst.status_code == 200, lst.text
        root = parse_xml(lst.content)
        assert strip_ns(root.tag) == "ListBucketResult"
        assert xml_text(root, "Key") == "pub/hello.txt"

    assert_s3_error(anon.get(f"{base}/pub/missing", timeout=30), 404, "NoSuchKey")

    # Writes, deletes and ACL reads stay private.
    assert_s3_error(anon.put(f"{base}/pub/evil", data=b"x", timeout=30), 403, "AccessDenied")
    assert_s3_error(anon.delete(f"{base}/pub/hello.txt", timeout=30), 403, "AccessDenied")
    assert_s3_error(anon.get(base, params={"acl": ""}, timeout=30), 403, "AccessDenied")
    assert_s3_error(anon.post(f"{base}/pub/x", params={"uploads": ""}, timeout=30),
                    403, "AccessDenied")
    assert_s3_error(anon.delete(base, timeout=30), 403, "AccessDenied")
    assert_s3_error(anon.put(base, params={"acl": ""}, timeout=30), 403, "AccessDenied")
    assert_s3_error(anon.get(endpoint + "/", timeout=30), 403, "AccessDenied")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket_name, Key="pub/evil")
    assert s3.get_object(Bucket=bucket_name, Key="pub/hello.txt")["Body"].read() == b"hello world"


def test_public_read_revoked(anon, endpoint, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert anon.get(f"{endpoint}/{bucket}/k", timeout=30).status_code == 200
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    assert_s3_error(anon.get(f"{endpoint}/{bucket}/k", timeout=30), 403, "AccessDenied")


def test_anonymous_missing_bucket(anon, endpoint):
    r = anon.get(f"{endpoint}/no-such-bucket-anon-xyz/k", timeout=30)
    assert r.status_code in (403, 404)
    root = parse_xml(r.content)
    assert xml_text(root, "Code") in ("AccessDenied", "NoSuchBucket")
    assert xml_text(root, "RequestId")
