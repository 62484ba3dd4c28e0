"""ListObjects (v1) and ListObjectsV2: prefixes, delimiters, paging, markers,
continuation tokens, URL encoding; ListObjectVersions and GetBucketVersioning
on this unversioned store."""

import pytest
from botocore.exceptions import ClientError

from s3util import (assert_client_error, assert_s3_error, md5_hex, parse_xml,
                    signed_request, strip_ns, unique_name, xml_text)

KEYS = [
    "a.txt",
    "b/1.txt",
    "b/2.txt",
    "b/c/3.txt",
    "d/4.txt",
    "e",
    "e/5.txt",
    "z.txt",
]


@pytest.fixture
def filled(s3, bucket):
    for k in KEYS:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    return bucket


def v2_all(s3, **kw):
    """Follows continuation tokens; returns (keys, prefixes, pages)."""
    keys, prefixes, pages = [], [], 0
    token = None
    while True:
        args = dict(kw)
        if token:
            args["ContinuationToken"] = token
        resp = s3.list_objects_v2(**args)
        pages += 1
        keys += [o["Key"] for o in resp.get("Contents", [])]
        prefixes += [p["Prefix"] for p in resp.get("CommonPrefixes", [])]
        if not resp["IsTruncated"]:
            assert "NextContinuationToken" not in resp
            return keys, prefixes, pages
        token = resp["NextContinuationToken"]
        assert pages < 100


def test_v2_lists_everything_sorted(s3, filled):
    resp = s3.list_objects_v2(Bucket=filled)
    assert [o["Key"] for o in resp["Contents"]] == sorted(KEYS)
    assert resp["KeyCount"] == len(KEYS)
    assert resp["IsTruncated"] is False
    assert resp["Name"] == filled
    assert resp["MaxKeys"] == 1000
    obj = next(o for o in resp["Contents"] if o["Key"] == "a.txt")
    assert obj["ETag"] == f'"{md5_hex(b"a.txt")}"'
    assert obj["Size"] == 5
    assert obj["StorageClass"] == "STANDARD"
    assert obj["LastModified"]
    assert "Owner" not in obj


def test_v2_prefix(s3, filled):
    resp = s3.list_objects_v2(Bucket=filled, Prefix="b/")
    assert [o["Key"] for o in resp["Contents"]] == ["b/1.txt", "b/2.txt", "b/c/3.txt"]
    assert resp["Prefix"] == "b/"
    assert s3.list_objects_v2(Bucket=filled, Prefix="nothing")["KeyCount"] == 0


def test_v2_delimiter(s3, filled):
    resp = s3.list_objects_v2(Bucket=filled, Delimiter="/")
    assert [o["Key"] for o in resp["Contents"]] == ["a.txt", "e", "z.txt"]
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["b/", "d/", "e/"]
    assert resp["KeyCount"] == 6
    assert resp["Delimiter"] == "/"
    nested = s3.list_objects_v2(Bucket=filled, Delimiter="/", Prefix="b/")
    assert [o["Key"] for o in nested["Contents"]] == ["b/1.txt", "b/2.txt"]
    assert [p["Prefix"] for p in nested["CommonPrefixes"]] == ["b/c/"]


def test_v2_non_slash_delimiter(s3, filled):
    resp = s3.list_objects_v2(Bucket=filled, Delimiter=".")
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == \
        ["a.", "b/1.", "b/2.", "b/c/3.", "d/4.", "e/5.", "z."]
    assert [o["Key"] for o in resp["Contents"]] == ["e"]


@pytest.mark.parametrize("max_keys", [1, 2, 3, 7])
def test_v2_paging_with_continuation(s3, filled, max_keys):
    keys, _, pages = v2_all(s3, Bucket=filled, MaxKeys=max_keys)
    assert keys == sorted(KEYS)
    assert pages == -(-len(KEYS) // max_keys)


def test_v2_paging_with_delimiter(s3, filled):
    keys, prefixes, pages = v2_all(s3, Bucket=filled, Delimiter="/", MaxKeys=2)
    assert keys == ["a.txt", "e", "z.txt"]
    assert prefixes == ["b/", "d/", "e/"]
    assert pages == 3


def test_v2_max_keys_zero(s3, filled):
    resp = s3.list_objects_v2(Bucket=filled, MaxKeys=0)
    assert resp["KeyCount"] == 0
    assert "Contents" not in resp


def test_v2_start_after(s3, filled):
    resp = s3.list_objects_v2(Bucket=filled, StartAfter="b/2.txt")
    assert [o["Key"] for o in resp["Contents"]] == ["b/c/3.txt", "d/4.txt", "e", "e/5.txt", "z.txt"]
    assert resp["StartAfter"] == "b/2.txt"
    # A start-after that is not a key.
    resp = s3.list_objects_v2(Bucket=filled, StartAfter="c")
    assert [o["Key"] for o in resp["Contents"]][0] == "d/4.txt"


def test_v2_continuation_token_wins_over_start_after(s3, filled):
    first = s3.list_objects_v2(Bucket=filled, MaxKeys=2, StartAfter="a.txt")
    assert [o["Key"] for o in first["Contents"]] == ["b/1.txt", "b/2.txt"]
    second = s3.list_objects_v2(Bucket=filled, MaxKeys=2, StartAfter="a.txt",
                                ContinuationToken=first["NextContinuationToken"])
    assert [o["Key"] for o in second["Contents"]] == ["b/c/3.txt", "d/4.txt"]
    assert second["ContinuationToken"] == first["NextContinuationToken"]


@pytest.mark.parametrize("token", ["garbage!!", "AAAA", "%%%", "eyJrIjoiYSJ9"])
def test_v2_forged_token(s3, filled, token):
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=filled, ContinuationToken=token)
    assert_client_error(e, 400, "InvalidArgument")


def test_v2_fetch_owner(s3, filled):
    plain = s3.list_objects_v2(Bucket=filled, MaxKeys=1)
    assert "Owner" not in plain["Contents"][0]
    owned = s3.list_objects_v2(Bucket=filled, MaxKeys=1, FetchOwner=True)
    assert owned["Contents"][0]["Owner"]["ID"]


def test_v2_encoding_type_url(s3, bucket, endpoint):
    odd = ["sp ace/é.txt", "plus+amp&.txt", "ctl\u0001char", "new\nline", "per%cent"]
    for k in odd:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    # boto3 asks for encoding-type=url on its own and decodes the answer:
    # keys come back as stored.
    resp = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in resp["Contents"]] == [
        "ctl\u0001char", "new\nline", "per%cent", "plus+amp&.txt"]
    for k in odd:
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == b"x"
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["sp ace/"]
    v1 = s3.list_objects(Bucket=bucket)
    assert [o["Key"] for o in v1["Contents"]] == sorted(odd)
    # Asked for explicitly, the caller gets the encoded form (AWS writes a
    # space as "+"; "%20" decodes the same).
    enc = s3.list_objects_v2(Bucket=bucket, EncodingType="url", Delimiter="/")
    assert [o["Key"] for o in enc["Contents"]] == [
        "ctl%01char", "new%0Aline", "per%25cent", "plus%2Bamp%26.txt"]
    assert [p["Prefix"] for p in enc["CommonPrefixes"]] in (["sp%20ace/"], ["sp+ace/"])
    assert enc["EncodingType"] == "url"
    # Without encoding-type the control character cannot travel in XML 1.0,
    # so check the raw encoded listing of the other keys.
    raw = signed_request(endpoint, "GET", f"/{bucket}",
                         query={"list-type": "2", "encoding-type": "url"})
    assert raw.status_code == 200, raw.text
    root = parse_xml(raw.content)
    wire = [el.text for el in root.iter() if strip_ns(el.tag) == "Key"]
    assert "sp%20ace/%C3%A9.txt" in wire or "sp+ace/%C3%A9.txt" in wire, wire
    assert xml_text(root, "EncodingType") == "url"


def test_v2_invalid_max_keys(endpoint, bucket):
    resp = signed_request(endpoint, "GET", f"/{bucket}",
                          query={"list-type": "2", "max-keys": "-1"})
    assert_s3_error(resp, 400, "InvalidArgument")


def test_v2_missing_bucket(s3):
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=unique_name("missing"))
    assert_client_error(e, 404, "NoSuchBucket")


def test_v2_empty_bucket(s3, bucket):
    resp = s3.list_objects_v2(Bucket=bucket)
    assert resp["KeyCount"] == 0
    assert resp["IsTruncated"] is False
    assert "Contents" not in resp


# ------------------------------------------------------------------ v1

def test_v1_basic(s3, filled):
    resp = s3.list_objects(Bucket=filled)
    assert [o["Key"] for o in resp["Contents"]] == sorted(KEYS)
    assert resp["IsTruncated"] is False
    assert resp["Contents"][0]["Owner"]["ID"]


def test_v1_marker_paging(s3, filled):
    keys, marker = [], ""
    for _ in range(20):
        resp = s3.list_objects(Bucket=filled, MaxKeys=3, Marker=marker)
        page = [o["Key"] for o in resp.get("Contents", [])]
        keys += page
        if not resp["IsTruncated"]:
            break
        # Without a delimiter S3 omits NextMarker: the client uses the last key.
        marker = resp.get("NextMarker") or page[-1]
    assert keys == sorted(KEYS)


def test_v1_next_marker_with_delimiter(s3, filled):
    first = s3.list_objects(Bucket=filled, Delimiter="/", MaxKeys=2)
    assert [o["Key"] for o in first.get("Contents", [])] == ["a.txt"]
    assert [p["Prefix"] for p in first["CommonPrefixes"]] == ["b/"]
    assert first["IsTruncated"] is True
    assert first["NextMarker"] == "b/"
    second = s3.list_objects(Bucket=filled, Delimiter="/", MaxKeys=2,
                             Marker=first["NextMarker"])
    assert [p["Prefix"] for p in second.get("CommonPrefixes", [])] == ["d/"]
    assert [o["Key"] for o in second.get("Contents", [])] == ["e"]
    assert second["NextMarker"] == "e"
    third = s3.list_objects(Bucket=filled, Delimiter="/", MaxKeys=2,
                            Marker=second["NextMarker"])
    assert [p["Prefix"] for p in third.get("CommonPrefixes", [])] == ["e/"]
    assert [o["Key"] for o in third.get("Contents", [])] == ["z.txt"]
    assert third["IsTruncated"] is False


def test_v1_prefix_and_delimiter(s3, filled):
    resp = s3.list_objects(Bucket=filled, Prefix="b/", Delimiter="/")
    assert [o["Key"] for o in resp["Contents"]] == ["b/1.txt", "b/2.txt"]
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["b/c/"]


def test_paginator_v1_and_v2(s3, filled):
    v1 = [o["Key"] for page in s3.get_paginator("list_objects").paginate(
        Bucket=filled, PaginationConfig={"PageSize": 2}) for o in page.get("Contents", [])]
    v2 = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=filled, PaginationConfig={"PageSize": 2}) for o in page.get("Contents", [])]
    assert v1 == v2 == sorted(KEYS)


def test_many_keys_default_page(s3, bucket):
    # More than one default page (1000) of keys.
    from concurrent.futures import ThreadPoolExecutor
    keys = [f"k{i:05d}" for i in range(1100)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=b""), keys))
    first = s3.list_objects_v2(Bucket=bucket)
    assert first["KeyCount"] == 1000
    assert first["IsTruncated"] is True
    rest = s3.list_objects_v2(Bucket=bucket, ContinuationToken=first["NextContinuationToken"])
    assert [o["Key"] for o in first["Contents"] + rest["Contents"]] == keys
    # MaxKeys above 1000 is capped at 1000.
    capped = s3.list_objects_v2(Bucket=bucket, MaxKeys=5000)
    assert capped["KeyCount"] == 1000


# ---------------------------------------------------- versions (unversioned)

def test_get_bucket_versioning_unversioned(s3, bucket):
    resp = s3.get_bucket_versioning(Bucket=bucket)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "Status" not in resp


def test_list_object_versions_unversioned(s3, filled):
    resp = s3.list_object_versions(Bucket=filled, Prefix="b/")
    versions = resp["Versions"]
    assert [v["Key"] for v in versions] == ["b/1.txt", "b/2.txt", "b/c/3.txt"]
    for v in versions:
        assert v["VersionId"] == "null"
        assert v["IsLatest"] is True
        assert v["ETag"] == f'"{md5_hex(v["Key"].encode())}"'
    assert resp.get("DeleteMarkers", []) == []
