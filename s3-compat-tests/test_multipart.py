"""Multipart uploads through boto3: create, upload part (and part copy with a
range), list, complete (ETag -N; InvalidPart, InvalidPartOrder,
EntityTooSmall), abort, list uploads."""

import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from s3util import MIB, assert_client_error, assert_s3_error, md5_hex, signed_request

PART = 5 * MIB


def multipart_etag(parts: list[bytes]) -> str:
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


def upload(s3, bucket, key, parts, **create_kw):
    up = s3.create_multipart_upload(Bucket=bucket, Key=key, **create_kw)
    uid = up["UploadId"]
    done = []
    for i, body in enumerate(parts, start=1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=i, Body=body)
        assert r["ETag"] == f'"{md5_hex(body)}"'
        done.append({"PartNumber": i, "ETag": r["ETag"]})
    return uid, done


def test_full_multipart_upload(s3, bucket):
    parts = [os.urandom(PART), os.urandom(PART), os.urandom(1234)]
    uid, done = upload(s3, bucket, "mp/obj", parts, ContentType="video/mp4",
                       Metadata={"origin": "multipart"})
    # Not visible before completion.
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="mp/obj")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    listed = s3.list_parts(Bucket=bucket, Key="mp/obj", UploadId=uid)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2, 3]
    assert [p["Size"] for p in listed["Parts"]] == [len(p) for p in parts]
    assert [p["ETag"] for p in listed["Parts"]] == [d["ETag"] for d in done]
    assert listed["UploadId"] == uid
    assert listed["Key"] == "mp/obj"

    resp = s3.complete_multipart_upload(Bucket=bucket, Key="mp/obj", UploadId=uid,
                                        MultipartUpload={"Parts": done})
    assert resp["ETag"] == multipart_etag(parts)
    assert resp["Key"] == "mp/obj"
    assert resp["Bucket"] == bucket

    got = s3.get_object(Bucket=bucket, Key="mp/obj")
    body = got["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(b"".join(parts)).digest()
    assert got["ETag"] == multipart_etag(parts)
    assert got["ContentType"] == "video/mp4"
    assert got["Metadata"] == {"origin": "multipart"}
    assert got["ContentLength"] == sum(len(p) for p in parts)

    # A range across the part boundary.
    rng = s3.get_object(Bucket=bucket, Key="mp/obj", Range=f"bytes={PART - 10}-{PART + 9}")
    assert rng["Body"].read() == (parts[0] + parts[1])[PART - 10:PART + 10]

    # The upload is gone.
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="mp/obj", UploadId=uid)
    assert_client_error(e, 404, "NoSuchUpload")
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_single_small_part_is_fine(s3, bucket):
    uid, done = upload(s3, bucket, "one", [b"tiny"])
    resp = s3.complete_multipart_upload(Bucket=bucket, Key="one", UploadId=uid,
                                        MultipartUpload={"Parts": done})
    assert resp["ETag"] == multipart_etag([b"tiny"])
    assert s3.get_object(Bucket=bucket, Key="one")["Body"].read() == b"tiny"


@pytest.mark.embedded_only("conditional writes answer 501 (docs/deploy.md)")
def test_conditional_complete(s3, bucket):
    """If-None-Match: * on CompleteMultipartUpload creates only; a refusal
    leaves the upload open for a retry without the condition."""
    s3.put_object(Bucket=bucket, Key="taken", Body=b"old")
    uid, done = upload(s3, bucket, "taken", [b"new"])
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="taken", UploadId=uid,
                                     MultipartUpload={"Parts": done}, IfNoneMatch="*")
    assert_client_error(e, 412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="taken")["Body"].read() == b"old"
    old = s3.head_object(Bucket=bucket, Key="taken")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="taken", UploadId=uid,
                                 MultipartUpload={"Parts": done}, IfMatch=old)
    assert s3.get_object(Bucket=bucket, Key="taken")["Body"].read() == b"new"


def test_reuploaded_part_replaces(s3, bucket):
    uid, _ = upload(s3, bucket, "re", [b"old part"])
    r = s3.upload_part(Bucket=bucket, Key="re", UploadId=uid, PartNumber=1, Body=b"new part")
    parts = s3.list_parts(Bucket=bucket, Key="re", UploadId=uid)["Parts"]
    assert len(parts) == 1 and parts[0]["ETag"] == r["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="re", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": r["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key="re")["Body"].read() == b"new part"


def test_skipping_part_numbers(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="gap")
    uid = up["UploadId"]
    a = os.urandom(PART)
    ra = s3.upload_part(Bucket=bucket, Key="gap", UploadId=uid, PartNumber=2, Body=a)
    rb = s3.upload_part(Bucket=bucket, Key="gap", UploadId=uid, PartNumber=7, Body=b"end")
    s3.complete_multipart_upload(Bucket=bucket, Key="gap", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 2, "ETag": ra["ETag"]}, {"PartNumber": 7, "ETag": rb["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key="gap")["Body"].read() == a + b"end"


def test_complete_invalid_part_order(s3, bucket):
    # Both parts are big enough, so the order is the only thing wrong.
    parts = [os.urandom(PART), os.urandom(PART)]
    uid, done = upload(s3, bucket, "order", parts)
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="order", UploadId=uid,
                                     MultipartUpload={"Parts": list(reversed(done))})
    assert_client_error(e, 400, "InvalidPartOrder")


def test_complete_invalid_part_etag(s3, bucket):
    uid, done = upload(s3, bucket, "inv", [b"only"])
    done[0]["ETag"] = '"00000000000000000000000000000000"'
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="inv", UploadId=uid,
                                     MultipartUpload={"Parts": done})
    assert_client_error(e, 400, "InvalidPart")


def test_complete_unknown_part_number(s3, bucket):
    # Part 1 is big enough, so the unknown part 9 is the only problem.
    uid, done = upload(s3, bucket, "inv", [os.urandom(PART)])
    done.append({"PartNumber": 9, "ETag": done[0]["ETag"]})
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="inv", UploadId=uid,
                                     MultipartUpload={"Parts": done})
    assert_client_error(e, 400, "InvalidPart")


def test_complete_entity_too_small(s3, bucket):
    parts = [os.urandom(PART - 1), b"last"]
    uid, done = upload(s3, bucket, "small", parts)
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="small", UploadId=uid,
                                     MultipartUpload={"Parts": done})
    assert_client_error(e, 400, "EntityTooSmall")
    # The upload survives a failed completion and can be aborted.
    s3.abort_multipart_upload(Bucket=bucket, Key="small", UploadId=uid)


def test_complete_empty_part_list(endpoint, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="none")["UploadId"]
    body = b"<CompleteMultipartUpload></CompleteMultipartUpload>"
    resp = signed_request(endpoint, "POST", f"/{bucket}/none", query={"uploadId": uid},
                          body=body)
    assert_s3_error(resp, 400, "MalformedXML")


def test_abort(s3, bucket):
    uid, _ = upload(s3, bucket, "ab", [b"data"])
    resp = s3.abort_multipart_upload(Bucket=bucket, Key="ab", UploadId=uid)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="ab", UploadId=uid, PartNumber=2, Body=b"x")
    assert_client_error(e, 404, "NoSuchUpload")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="ab", UploadId=uid,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"x"'}]})
    assert_client_error(e, 404, "NoSuchUpload")
    with pytest.raises(ClientError) as e:
        s3.abort_multipart_upload(Bucket=bucket, Key="ab", UploadId=uid)
    assert_client_error(e, 404, "NoSuchUpload")
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="ab")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_unknown_upload_id(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="k", UploadId="no-such-upload", PartNumber=1, Body=b"x")
    assert_client_error(e, 404, "NoSuchUpload")
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="k", UploadId="no-such-upload")
    assert_client_error(e, 404, "NoSuchUpload")


@pytest.mark.parametrize("number", [0, 10001])
def test_part_number_out_of_range(s3, bucket, number):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="pn")["UploadId"]
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="pn", UploadId=uid, PartNumber=number, Body=b"x")
    assert_client_error(e, 400, "InvalidArgument")


def test_list_parts_paging(s3, bucket):
    uid, done = upload(s3, bucket, "lp", [b"1", b"2", b"3", b"4", b"5"])
    first = s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid, MaxParts=2)
    assert [p["PartNumber"] for p in first["Parts"]] == [1, 2]
    assert first["IsTruncated"] is True
    assert first["NextPartNumberMarker"] == 2
    rest = s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid,
                         PartNumberMarker=first["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in rest["Parts"]] == [3, 4, 5]
    assert rest["IsTruncated"] is False


def test_list_multipart_uploads(s3, bucket):
    a1 = s3.create_multipart_upload(Bucket=bucket, Key="dir/a")["UploadId"]
    a2 = s3.create_multipart_upload(Bucket=bucket, Key="dir/a")["UploadId"]
    b = s3.create_multipart_upload(Bucket=bucket, Key="other/b")["UploadId"]
    resp = s3.list_multipart_uploads(Bucket=bucket)
    ups = [(u["Key"], u["UploadId"]) for u in resp["Uploads"]]
    assert sorted(ups) == sorted([("dir/a", a1), ("dir/a", a2), ("other/b", b)])
    assert [k for k, _ in ups] == ["dir/a", "dir/a", "other/b"]
    assert all(u["Initiated"] for u in resp["Uploads"])

    pre = s3.list_multipart_uploads(Bucket=bucket, Prefix="other/")
    assert [u["UploadId"] for u in pre["Uploads"]] == [b]

    delim = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in delim.get("CommonPrefixes", [])] == ["dir/", "other/"]
    assert delim.get("Uploads", []) == []

    page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=2)
    assert page["IsTruncated"] is True
    nxt = s3.list_multipart_uploads(Bucket=bucket, KeyMarker=page["NextKeyMarker"],
                                    UploadIdMarker=page["NextUploadIdMarker"])
    assert [u["UploadId"] for u in page["Uploads"] + nxt["Uploads"]] == [u for _, u in ups]

    s3.abort_multipart_upload(Bucket=bucket, Key="dir/a", UploadId=a1)
    after = s3.list_multipart_uploads(Bucket=bucket)
    assert sorted(u["UploadId"] for u in after["Uploads"]) == sorted([a2, b])


def test_upload_part_copy_with_ranges(s3, bucket):
    src = os.urandom(16 * MIB + 3)
    s3.put_object(Bucket=bucket, Key="src", Body=src)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    spans = [(0, PART - 1), (PART, 2 * PART - 1), (2 * PART, len(src) - 1)]
    done = []
    for i, (a, z) in enumerate(spans, start=1):
        r = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=uid, PartNumber=i,
                                CopySource={"Bucket": bucket, "Key": "src"},
                                CopySourceRange=f"bytes={a}-{z}")
        assert r["CopyPartResult"]["ETag"] == f'"{md5_hex(src[a:z + 1])}"'
        done.append({"PartNumber": i, "ETag": r["CopyPartResult"]["ETag"]})
    # Plus an ordinary part at the end.
    tail = b"tail bytes"
    r = s3.upload_part(Bucket=bucket, Key="assembled", UploadId=uid, PartNumber=4, Body=tail)
    done.append({"PartNumber": 4, "ETag": r["ETag"]})
    s3.complete_multipart_upload(Bucket=bucket, Key="assembled", UploadId=uid,
                                 MultipartUpload={"Parts": done})
    got = s3.get_object(Bucket=bucket, Key="assembled")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(src + tail).digest()


def test_upload_part_copy_whole_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="small-src", Body=b"whole object")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    r = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "small-src"})
    s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"whole object"


def test_upload_part_copy_bad_range(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"0123456789")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    with pytest.raises(ClientError) as e:
        s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "src"},
                            CopySourceRange="bytes=5-100")
    # AWS: 400 InvalidArgument "Range specified is not valid for source
    # object of size: 10" (a GET would clip the end; a part copy does not).
    assert_client_error(e, 400, "InvalidArgument")


def test_get_and_head_by_part_number(s3, bucket):
    first, second = os.urandom(5 * MIB), os.urandom(1234)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="parts")["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key="parts", UploadId=upload, PartNumber=n,
                            Body=body)["ETag"] for n, body in ((1, first), (2, second))]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="parts", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                   for n, e in zip((1, 2), etags)]})
    got = s3.get_object(Bucket=bucket, Key="parts", PartNumber=2)
    assert got["Body"].read() == second
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["PartsCount"] == 2
    assert got["ContentRange"] == f"bytes {len(first)}-{len(first) + len(second) - 1}/{len(first) + len(second)}"
    head = s3.head_object(Bucket=bucket, Key="parts", PartNumber=1)
    assert head["ContentLength"] == len(first) and head["PartsCount"] == 2
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="parts", PartNumber=3)
    assert_client_error(e, 416, "InvalidPartNumber")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="parts", PartNumber=1, Range="bytes=0-1")
    assert_client_error(e, 400, "InvalidRequest")
    # An object from a single PUT has one part: itself, and no parts count.
    s3.put_object(Bucket=bucket, Key="single", Body=b"whole")
    got = s3.get_object(Bucket=bucket, Key="single", PartNumber=1)
    assert got["Body"].read() == b"whole" and "PartsCount" not in got
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="single", PartNumber=2)
    assert_client_error(e, 416, "InvalidPartNumber")
