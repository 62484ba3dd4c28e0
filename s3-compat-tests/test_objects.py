"""Object operations through boto3 (and raw signed requests where the exact
status line matters): put/get/head/delete, ranges, conditional requests,
response-* overrides, metadata, copy, DeleteObjects."""

import base64
import hashlib
import os
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from s3util import (MIB, assert_client_error, assert_s3_error, md5_hex, parse_xml,
                    signed_request, unique_name, xml_text)

BODY = bytes(range(256)) * 40  # 10240 bytes, every byte value


def put(s3, bucket, key, body=BODY, **kw):
    return s3.put_object(Bucket=bucket, Key=key, Body=body, **kw)


# ------------------------------------------------------------- put / get

def test_put_get_round_trip(s3, bucket):
    resp = put(s3, bucket, "obj")
    assert resp["ETag"] == f'"{md5_hex(BODY)}"'
    got = s3.get_object(Bucket=bucket, Key="obj")
    assert got["Body"].read() == BODY
    assert got["ETag"] == f'"{md5_hex(BODY)}"'
    assert got["ContentLength"] == len(BODY)
    assert got["LastModified"].tzinfo is not None
    age = datetime.now(timezone.utc) - got["LastModified"]
    assert timedelta(seconds=-5) < age < timedelta(minutes=5)
    headers = got["ResponseMetadata"]["HTTPHeaders"]
    assert headers.get("x-amz-request-id")
    assert headers.get("accept-ranges") == "bytes"


def test_default_content_type(s3, bucket):
    put(s3, bucket, "noct")
    got = s3.head_object(Bucket=bucket, Key="noct")
    assert got["ContentType"] in ("binary/octet-stream", "application/octet-stream")


def test_empty_object(s3, bucket):
    resp = put(s3, bucket, "empty", body=b"")
    assert resp["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["ContentLength"] == 0
    assert got["Body"].read() == b""


def test_overwrite_replaces(s3, bucket):
    put(s3, bucket, "k", body=b"first", Metadata={"v": "1"})
    put(s3, bucket, "k", body=b"second")
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"second"
    assert got["Metadata"] == {}


def test_larger_single_put(s3, bucket):
    body = os.urandom(6 * MIB + 123)
    resp = put(s3, bucket, "big", body=body)
    assert resp["ETag"] == f'"{md5_hex(body)}"'
    got = s3.get_object(Bucket=bucket, Key="big")
    assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(body).digest()


@pytest.mark.parametrize("key", [
    "a/b/c.txt",
    "with space and+plus",
    "ünïcödé/日本語/ключ.jpg",
    "percent%20literal",
    "question?mark#hash&amp=eq",
    "tilde~star*paren(1)'quote'",
    "trailing/",
    "double//slash",
    "semi;colon,comma:colon@at$dollar",
    "x" * 1024,
])
def test_odd_keys_round_trip(s3, bucket, key):
    body = key.encode()
    put(s3, bucket, key, body=body)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(body)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == [key]
    s3.delete_object(Bucket=bucket, Key=key)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_key_too_long(s3, bucket):
    with pytest.raises(ClientError) as e:
        put(s3, bucket, "k" * 1025, body=b"x")
    assert_client_error(e, 400, "KeyTooLongError")


def test_get_missing_key(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="nope")
    assert_client_error(e, 404, "NoSuchKey")


def test_get_missing_key_raw_body(endpoint, bucket):
    resp = signed_request(endpoint, "GET", f"/{bucket}/no/such/key")
    root = assert_s3_error(resp, 404, "NoSuchKey")
    assert "no/such/key" in (xml_text(root, "Key") or xml_text(root, "Resource") or "")


def test_put_into_missing_bucket(s3):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=unique_name("missing"), Key="k", Body=b"x")
    assert_client_error(e, 404, "NoSuchBucket")


def test_head_object(s3, bucket):
    put(s3, bucket, "h", ContentType="text/plain", Metadata={"color": "blue"})
    head = s3.head_object(Bucket=bucket, Key="h")
    assert head["ContentLength"] == len(BODY)
    assert head["ContentType"] == "text/plain"
    assert head["ETag"] == f'"{md5_hex(BODY)}"'
    assert head["Metadata"] == {"color": "blue"}
    assert head["ResponseMetadata"]["HTTPHeaders"].get("last-modified")


def test_head_missing(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="nope")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_head_raw_has_no_body(endpoint, bucket, s3):
    put(s3, bucket, "h", body=b"12345")
    resp = signed_request(endpoint, "HEAD", f"/{bucket}/h")
    assert resp.status_code == 200
    assert resp.headers["Content-Length"] == "5"
    assert resp.content == b""
    missing = signed_request(endpoint, "HEAD", f"/{bucket}/nope")
    assert_s3_error(missing, 404, "NoSuchKey")
    assert missing.content == b""


# ---------------------------------------------------------------- ranges

@pytest.mark.parametrize("spec,start,end", [
    ("bytes=0-0", 0, 0),
    ("bytes=10-99", 10, 99),
    ("bytes=10000-", 10000, 10239),
    ("bytes=-100", 10140, 10239),
    ("bytes=10200-99999", 10200, 10239),   # end past the size is clipped
    ("bytes=-99999", 0, 10239),            # suffix longer than the object
])
def test_range_get(s3, bucket, spec, start, end):
    put(s3, bucket, "r")
    got = s3.get_object(Bucket=bucket, Key="r", Range=spec)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == f"bytes {start}-{end}/{len(BODY)}"
    assert got["ContentLength"] == end - start + 1
    assert got["Body"].read() == BODY[start:end + 1]
    assert got["ETag"] == f'"{md5_hex(BODY)}"'


def test_range_not_satisfiable(s3, bucket, endpoint):
    put(s3, bucket, "r")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={len(BODY)}-")
    assert_client_error(e, 416, "InvalidRange")
    raw = signed_request(endpoint, "GET", f"/{bucket}/r",
                         headers={"Range": "bytes=20000-20010"})
    assert_s3_error(raw, 416, "InvalidRange")
    assert raw.headers.get("Content-Range") == f"bytes */{len(BODY)}"


def test_unparsable_range_is_ignored(s3, bucket):
    # S3 ignores a Range header it cannot parse and sends the whole object.
    put(s3, bucket, "r")
    got = s3.get_object(Bucket=bucket, Key="r", Range="bytes=abc")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert got["Body"].read() == BODY


def test_range_on_empty_object(s3, bucket):
    put(s3, bucket, "e", body=b"")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="e", Range="bytes=0-10")
    assert_client_error(e, 416, "InvalidRange")


# ----------------------------------------------------------- conditionals

def _etag(s3, bucket, key):
    return s3.head_object(Bucket=bucket, Key=key)["ETag"]


def test_if_match(s3, bucket):
    put(s3, bucket, "c")
    etag = _etag(s3, bucket, "c")
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == BODY
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0123456789abcdef0123456789abcdef"')
    assert_client_error(e, 412, "PreconditionFailed")
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="c", IfMatch='"0123456789abcdef0123456789abcdef"')
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412


def test_if_none_match(s3, bucket, endpoint):
    put(s3, bucket, "c")
    etag = _etag(s3, bucket, "c")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    raw = signed_request(endpoint, "GET", f"/{bucket}/c", headers={"If-None-Match": etag})
    assert raw.status_code == 304
    assert raw.content == b""
    assert raw.headers.get("ETag") == etag
    other = s3.get_object(Bucket=bucket, Key="c", IfNoneMatch='"ffffffffffffffffffffffffffffffff"')
    assert other["Body"].read() == BODY


def test_if_modified_since(s3, bucket):
    put(s3, bucket, "c")
    lm = s3.head_object(Bucket=bucket, Key="c")["LastModified"]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=lm + timedelta(hours=1))
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    # Equal to Last-Modified: not modified since.
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=lm)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    got = s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=lm - timedelta(days=1))
    assert got["Body"].read() == BODY


def test_if_unmodified_since(s3, bucket):
    put(s3, bucket, "c")
    lm = s3.head_object(Bucket=bucket, Key="c")["LastModified"]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=lm - timedelta(days=1))
    assert_client_error(e, 412, "PreconditionFailed")
    got = s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=lm + timedelta(hours=1))
    assert got["Body"].read() == BODY


def test_if_match_beats_if_unmodified_since(s3, bucket):
    # RFC 7232 / S3: If-Match true and If-Unmodified-Since false -> 200.
    put(s3, bucket, "c")
    head = s3.head_object(Bucket=bucket, Key="c")
    got = s3.get_object(Bucket=bucket, Key="c", IfMatch=head["ETag"],
                        IfUnmodifiedSince=head["LastModified"] - timedelta(days=1))
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_if_none_match_beats_if_modified_since(s3, bucket):
    # If-None-Match false and If-Modified-Since true -> 304.
    put(s3, bucket, "c")
    head = s3.head_object(Bucket=bucket, Key="c")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=head["ETag"],
                      IfModifiedSince=head["LastModified"] - timedelta(days=1))
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304


# ------------------------------------------------------ response overrides

def test_response_header_overrides(s3, bucket):
    put(s3, bucket, "o", ContentType="text/plain")
    got = s3.get_object(
        Bucket=bucket, Key="o",
        ResponseContentType="image/jpeg",
        ResponseContentDisposition='attachment; filename="pic.jpg"',
        ResponseCacheControl="max-age=60",
        ResponseContentEncoding="identity",
        ResponseContentLanguage="fr",
        ResponseExpires=datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    )
    h = got["ResponseMetadata"]["HTTPHeaders"]
    assert h["content-type"] == "image/jpeg"
    assert h["content-disposition"] == 'attachment; filename="pic.jpg"'
    assert h["cache-control"] == "max-age=60"
    assert h["content-encoding"] == "identity"
    assert h["content-language"] == "fr"
    assert h["expires"] == "Wed, 02 Jan 2030 03:04:05 GMT"
    assert got["Body"].read() == BODY
    # The stored object is unchanged.
    assert s3.head_object(Bucket=bucket, Key="o")["ContentType"] == "text/plain"


# ------------------------------------------------ metadata and attributes

def test_user_metadata_round_trip(s3, bucket):
    meta = {"color": "blue", "x-dash": "a-b", "number": "42", "spaces": "a b  c"}
    put(s3, bucket, "m", Metadata=meta)
    assert s3.head_object(Bucket=bucket, Key="m")["Metadata"] == meta
    assert s3.get_object(Bucket=bucket, Key="m")["Metadata"] == meta


def test_non_ascii_metadata_round_trips_as_aws_sends_it(s3, endpoint, bucket):
    import email.header
    # RFC 2047 words sent by the client come back exactly as sent.
    encoded = "=?UTF-8?B?5pel5pys6Kqe?="
    put(s3, bucket, "rfc", Metadata={"title": encoded})
    assert s3.head_object(Bucket=bucket, Key="rfc")["Metadata"] == {"title": encoded}
    # Raw UTF-8 (what the Java and Go SDKs send, signed over those bytes)
    # is stored as text and sent back RFC 2047-encoded, as AWS does.
    import hashlib
    import requests
    from sigv4 import Signer
    from s3util import ACCESS_KEY, REGION, SECRET_KEY
    url = f"{endpoint}/{bucket}/raw"
    signed, _, _ = Signer(ACCESS_KEY, SECRET_KEY, REGION).sign(
        "PUT", url, {"x-amz-meta-title": "日本語 ok"}, hashlib.sha256(b"x").hexdigest())
    signed["x-amz-meta-title"] = "日本語 ok".encode()
    r = requests.put(url, headers=signed, data=b"x", timeout=30)
    assert r.status_code == 200, r.text
    got = s3.head_object(Bucket=bucket, Key="raw")["Metadata"]["title"]
    assert got.startswith("=?UTF-8?Q?")
    decoded = "".join(part.decode(cs) if isinstance(part, bytes) else part
                      for part, cs in email.header.decode_header(got))
    assert decoded == "日本語 ok"


def test_user_metadata_names_are_lower_cased(endpoint, bucket):
    resp = signed_request(endpoint, "PUT", f"/{bucket}/m", body=b"x",
                          headers={"x-amz-meta-CamelCase": "Value"})
    assert resp.status_code == 200, resp.text
    head = signed_request(endpoint, "HEAD", f"/{bucket}/m")
    assert head.headers.get("x-amz-meta-camelcase") == "Value"


def test_standard_headers_round_trip(s3, bucket):
    expires = datetime(2031, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    put(s3, bucket, "s", body=b"gzipped?",
        ContentType="text/html; charset=utf-8",
        ContentEncoding="gzip",
        ContentDisposition='inline; filename="a.html"',
        ContentLanguage="de-DE",
        CacheControl="no-cache, max-age=0",
        Expires=expires)
    for got in (s3.head_object(Bucket=bucket, Key="s"),
                s3.get_object(Bucket=bucket, Key="s")):
        assert got["ContentType"] == "text/html; charset=utf-8"
        assert got["ContentEncoding"] == "gzip"
        assert got["ContentDisposition"] == 'inline; filename="a.html"'
        assert got["ContentLanguage"] == "de-DE"
        assert got["CacheControl"] == "no-cache, max-age=0"
        assert got["ResponseMetadata"]["HTTPHeaders"]["expires"] == \
            "Tue, 06 May 2031 07:08:09 GMT"


def test_bad_content_md5(s3, bucket):
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"payload", ContentMD5=wrong)
    assert_client_error(e, 400, "BadDigest")
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="bad")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_right_content_md5(s3, bucket):
    good = base64.b64encode(hashlib.md5(b"payload").digest()).decode()
    s3.put_object(Bucket=bucket, Key="good", Body=b"payload", ContentMD5=good)
    assert s3.get_object(Bucket=bucket, Key="good")["Body"].read() == b"payload"


def test_malformed_content_md5(endpoint, bucket):
    resp = signed_request(endpoint, "PUT", f"/{bucket}/bad", body=b"payload",
                          headers={"Content-MD5": "not-base64-md5"})
    assert_s3_error(resp, 400, "InvalidDigest")


# ----------------------------------------------------------------- delete

def test_delete_object(s3, bucket):
    put(s3, bucket, "d")
    resp = s3.delete_object(Bucket=bucket, Key="d")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="d")
    assert_client_error(e, 404, "NoSuchKey")
    # Deleting an absent key is not an error.
    again = s3.delete_object(Bucket=bucket, Key="d")
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_delete_object_missing_bucket(s3):
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=unique_name("missing"), Key="k")
    assert_client_error(e, 404, "NoSuchBucket")


def test_delete_objects(s3, bucket):
    for k in ("a", "b", "c/d"):
        put(s3, bucket, k, body=k.encode())
    resp = s3.delete_objects(Bucket=bucket, Delete={
        "Objects": [{"Key": "a"}, {"Key": "c/d"}, {"Key": "never-existed"}]})
    deleted = sorted(d["Key"] for d in resp.get("Deleted", []))
    assert deleted == ["a", "c/d", "never-existed"]
    assert resp.get("Errors", []) == []
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["b"]


def test_delete_objects_quiet(s3, bucket):
    for k in ("a", "b"):
        put(s3, bucket, k)
    resp = s3.delete_objects(Bucket=bucket, Delete={
        "Objects": [{"Key": "a"}, {"Key": "b"}], "Quiet": True})
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp.get("Deleted", []) == []
    assert resp.get("Errors", []) == []
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_delete_objects_default_checksum_client(s3_default, bucket):
    # Current SDKs send DeleteObjects with a CRC32 and no Content-MD5.
    s3_default.put_object(Bucket=bucket, Key="z", Body=b"z")
    resp = s3_default.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "z"}]})
    assert [d["Key"] for d in resp["Deleted"]] == ["z"]


def test_delete_objects_malformed(endpoint, bucket):
    body = b"<Delete><Object><Key>a</Key></Object"
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    resp = signed_request(endpoint, "POST", f"/{bucket}", query={"delete": None},
                          body=body, headers={"Content-MD5": md5})
    assert_s3_error(resp, 400, "MalformedXML")


def test_delete_objects_too_many(endpoint, bucket):
    objs = "".join(f"<Object><Key>k{i}</Key></Object>" for i in range(1001))
    body = f"<Delete>{objs}</Delete>".encode()
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    resp = signed_request(endpoint, "POST", f"/{bucket}", query={"delete": None},
                          body=body, headers={"Content-MD5": md5})
    assert_s3_error(resp, 400, "MalformedXML")


# ------------------------------------------------------------------- copy

def test_copy_object_copy_directive(s3, bucket):
    put(s3, bucket, "src", ContentType="image/png", Metadata={"a": "1"},
        CacheControl="max-age=5")
    resp = s3.copy_object(Bucket=bucket, Key="dst",
                          CopySource={"Bucket": bucket, "Key": "src"})
    assert resp["CopyObjectResult"]["ETag"] == f'"{md5_hex(BODY)}"'
    assert resp["CopyObjectResult"]["LastModified"]
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == BODY
    assert got["ContentType"] == "image/png"
    assert got["Metadata"] == {"a": "1"}
    assert got["CacheControl"] == "max-age=5"


def test_copy_object_replace_directive(s3, bucket):
    put(s3, bucket, "src", ContentType="image/png", Metadata={"a": "1"})
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                   MetadataDirective="REPLACE", ContentType="text/plain",
                   Metadata={"b": "2"})
    got = s3.head_object(Bucket=bucket, Key="dst")
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"b": "2"}
    # The source is untouched.
    assert s3.head_object(Bucket=bucket, Key="src")["Metadata"] == {"a": "1"}


def test_copy_across_buckets_and_odd_keys(s3, bucket, bucket2):
    bucket_name = bucket2
    key = "dir/ünï cödé+plus?.bin"
    put(s3, bucket, key)
    s3.copy_object(Bucket=bucket_name, Key="copy/" + key,
                   CopySource={"Bucket": bucket, "Key": key})
    assert s3.get_object(Bucket=bucket_name, Key="copy/" + key)["Body"].read() == BODY


def test_copy_onto_itself_requires_replace(s3, bucket):
    put(s3, bucket, "self", Metadata={"a": "1"})
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"})
    assert_client_error(e, 400, "InvalidRequest")


def test_copy_onto_itself_with_replace(s3, bucket):
    put(s3, bucket, "self", Metadata={"a": "1"}, ContentType="text/plain")
    etag = _etag(s3, bucket, "self")
    s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"},
                   MetadataDirective="REPLACE", Metadata={"a": "2", "new": "yes"},
                   ContentType="application/json")
    got = s3.get_object(Bucket=bucket, Key="self")
    assert got["Metadata"] == {"a": "2", "new": "yes"}
    assert got["ContentType"] == "application/json"
    assert got["ETag"] == etag
    assert got["Body"].read() == BODY


def test_copy_missing_source(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "nope"})
    assert_client_error(e, 404, "NoSuchKey")


def test_copy_conditions(s3, bucket):
    put(s3, bucket, "src")
    etag = _etag(s3, bucket, "src")
    s3.copy_object(Bucket=bucket, Key="d1", CopySource={"Bucket": bucket, "Key": "src"},
                   CopySourceIfMatch=etag)
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="d2", CopySource={"Bucket": bucket, "Key": "src"},
                       CopySourceIfNoneMatch=etag)
    assert_client_error(e, 412, "PreconditionFailed")


def test_copy_raw_result_xml(endpoint, s3, bucket):
    put(s3, bucket, "src")
    resp = signed_request(endpoint, "PUT", f"/{bucket}/dst",
                          headers={"x-amz-copy-source": f"/{bucket}/src"})
    assert resp.status_code == 200, resp.text
    root = parse_xml(resp.content)
    assert root.tag.endswith("CopyObjectResult")
    assert xml_text(root, "ETag") == f'"{md5_hex(BODY)}"'
    assert xml_text(root, "LastModified")
