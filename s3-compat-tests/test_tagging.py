"""Object and bucket tagging through boto3 and aws-cli: Put/Get/DeleteObjectTagging,
`Tagging=` on put_object, copies (the `TaggingDirective`), multipart
uploads made by `upload_file`, `TagCount` on GET/HEAD, and S3's limits as
`InvalidTag`; Put/Get/DeleteBucketTagging. The vendors' SDKs (`oss2`, `cos-python-sdk-v5`) are in
test_sdk_oss2.py and test_sdk_cos.py."""

import json

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from s3util import MIB, assert_client_error


def tag_set(s3, bucket, key):
    got = s3.get_object_tagging(Bucket=bucket, Key=key)
    return {t["Key"]: t["Value"] for t in got["TagSet"]}


def tagging(**tags):
    return {"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}


def test_tags_on_put_then_replaced_and_deleted(s3, bucket):
    s3.put_object(Bucket=bucket, Key="photo.jpg", Body=b"jpeg bytes",
                  Tagging="project=blue&owner=ann%20lee", ContentType="image/jpeg")
    assert tag_set(s3, bucket, "photo.jpg") == {"project": "blue", "owner": "ann lee"}
    assert s3.get_object(Bucket=bucket, Key="photo.jpg")["TagCount"] == 2
    head = s3.head_object(Bucket=bucket, Key="photo.jpg")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    etag = head["ETag"]

    s3.put_object_tagging(Bucket=bucket, Key="photo.jpg",
                          Tagging=tagging(**{"类别": "照片", "empty": ""}))
    assert tag_set(s3, bucket, "photo.jpg") == {"类别": "照片", "empty": ""}
    head = s3.head_object(Bucket=bucket, Key="photo.jpg")
    assert (head["ETag"], head["ContentType"]) == (etag, "image/jpeg")
    assert s3.get_object(Bucket=bucket, Key="photo.jpg")["Body"].read() == b"jpeg bytes"

    s3.delete_object_tagging(Bucket=bucket, Key="photo.jpg")
    assert tag_set(s3, bucket, "photo.jpg") == {}
    assert "TagCount" not in s3.get_object(Bucket=bucket, Key="photo.jpg")


def test_s3_limits_are_invalid_tags(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1")
    for bad in [
        tagging(**{f"k{i}": "v" for i in range(11)}),
        tagging(**{"k" * 129: "v"}),
        tagging(k="v" * 257),
        tagging(**{"aws:reserved": "v"}),
        {"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]},
    ]:
        with pytest.raises(ClientError) as e:
            s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=bad)
        assert_client_error(e, 400, "InvalidTag")
    assert tag_set(s3, bucket, "k") == {"a": "1"}
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="new", Body=b"x", Tagging="a=1&a=2")
    assert_client_error(e, 400, "InvalidArgument")
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="new")
    assert_client_error(e, 404, "404")
    with pytest.raises(ClientError) as e:
        s3.get_object_tagging(Bucket=bucket, Key="missing")
    assert_client_error(e, 404, "NoSuchKey")


def test_copies_follow_the_tagging_directive(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"body", Tagging="a=1")
    src = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="copied", CopySource=src)
    assert tag_set(s3, bucket, "copied") == {"a": "1"}
    s3.copy_object(Bucket=bucket, Key="replaced", CopySource=src,
                   TaggingDirective="REPLACE", Tagging="b=2")
    assert tag_set(s3, bucket, "replaced") == {"b": "2"}


def test_upload_file_in_parts_keeps_its_tags(s3, bucket, tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"\x07" * (12 * MIB))
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    s3.upload_file(str(path), bucket, "big.bin", Config=config,
                   ExtraArgs={"Tagging": "kind=video"})
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert "-" in head["ETag"]  # made of parts
    assert tag_set(s3, bucket, "big.bin") == {"kind": "video"}


def test_aws_cli_s3api_tagging(aws, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    aws("s3api", "put-object-tagging", "--bucket", bucket, "--key", "k",
        "--tagging", "TagSet=[{Key=team,Value=web}]")
    out = json.loads(aws("s3api", "get-object-tagging", "--bucket", bucket, "--key", "k").stdout)
    assert out["TagSet"] == [{"Key": "team", "Value": "web"}]
    aws("s3api", "delete-object-tagging", "--bucket", bucket, "--key", "k")
    out = json.loads(aws("s3api", "get-object-tagging", "--bucket", bucket, "--key", "k").stdout)
    assert out["TagSet"] == []


def test_bucket_tagging(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=bucket)
    assert_client_error(e, 404, "NoSuchTagSet")
    s3.put_bucket_tagging(Bucket=bucket, Tagging=tagging(team="web", **{"cost-centre": "42"}))
    got = s3.get_bucket_tagging(Bucket=bucket)
    assert {t["Key"]: t["Value"] for t in got["TagSet"]} == {"team": "web", "cost-centre": "42"}
    with pytest.raises(ClientError) as e:
        s3.put_bucket_tagging(Bucket=bucket, Tagging=tagging(**{f"k{i}": "v" for i in range(51)}))
    assert_client_error(e, 400, "InvalidTag")
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=bucket)
    assert_client_error(e, 404, "NoSuchTagSet")
