"""Browser form uploads (S3 POST Object): forms made by boto3's
`generate_presigned_post` and posted with `requests`, as a web page's form
would post them; each refusal answers S3's code and stores nothing."""

from __future__ import annotations

import json
import time

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import make_client
from process_fixtures import image_size, make_png
from s3util import assert_s3_error, parse_xml, unique_name, xml_text
from test_users import add_user


def post(presigned: dict, data: bytes = b"hello", filename: str = "hello.txt",
         extra: dict | None = None, drop: tuple = (), **kw) -> requests.Response:
    """Posts the form: its fields (plus `extra`, less `drop`), then the file."""
    fields = {k: v for k, v in presigned["fields"].items() if k not in drop}
    fields.update(extra or {})
    return requests.post(presigned["url"], data=fields,
                         files={"file": (filename, data)},
                         allow_redirects=False, timeout=60, **kw)


def assert_absent(s3, bucket: str, key: str) -> None:
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key=key)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_default_answer_is_204_and_the_object_is_stored(s3, bucket):
    form = s3.generate_presigned_post(bucket, "docs/a.txt", ExpiresIn=600)
    r = post(form, b"form body")
    assert r.status_code == 204, r.text
    got = s3.get_object(Bucket=bucket, Key="docs/a.txt")
    assert got["Body"].read() == b"form body"
    assert got["ETag"] == r.headers["ETag"]


def test_201_answers_a_post_response_document(s3, bucket):
    form = s3.generate_presigned_post(
        bucket, "b.txt", Fields={"success_action_status": "201"},
        Conditions=[{"success_action_status": "201"}])
    r = post(form)
    assert r.status_code == 201, r.text
    root = parse_xml(r.content)
    assert root.tag.endswith("PostResponse")
    assert xml_text(root, "Bucket") == bucket
    assert xml_text(root, "Key") == "b.txt"
    assert xml_text(root, "Location").endswith(f"/{bucket}/b.txt")
    assert xml_text(root, "ETag") == s3.head_object(Bucket=bucket, Key="b.txt")["ETag"]


def test_200_answers_empty(s3, bucket):
    form = s3.generate_presigned_post(
        bucket, "c.txt", Fields={"success_action_status": "200"},
        Conditions=[{"success_action_status": "200"}])
    r = post(form)
    assert r.status_code == 200 and r.content == b"", r.text


def test_redirect_is_303_with_the_object(s3, bucket):
    target = "http://app.example.com/uploaded"
    form = s3.generate_presigned_post(
        bucket, "r.txt", Fields={"success_action_redirect": target},
        Conditions=[{"success_action_redirect": target}])
    r = post(form)
    assert r.status_code == 303, r.text
    etag = s3.head_object(Bucket=bucket, Key="r.txt")["ETag"].strip('"')
    assert r.headers["Location"] == f"{target}?bucket={bucket}&key=r.txt&etag=%22{etag}%22"


def test_filename_placeholder_metadata_and_content_type(s3, bucket):
    form = s3.generate_presigned_post(
        bucket, "user/${filename}",
        Fields={"Content-Type": "image/png", "x-amz-meta-Owner": "Zoe Smith"},
        Conditions=[["starts-with", "$Content-Type", "image/"],
                    {"x-amz-meta-owner": "Zoe Smith"}])
    png = make_png(8, 4)
    r = post(form, png, filename="pic.png")
    assert r.status_code == 204, r.text
    got = s3.get_object(Bucket=bucket, Key="user/pic.png")
    assert got["Body"].read() == png
    assert got["ContentType"] == "image/png"
    assert got["Metadata"] == {"owner": "Zoe Smith"}


def test_content_type_condition_refuses_another_type(s3, bucket):
    form = s3.generate_presigned_post(
        bucket, "t.txt", Fields={"Content-Type": "image/png"},
        Conditions=[["starts-with", "$Content-Type", "image/"]])
    r = post(form, extra={"Content-Type": "text/html"})
    root = assert_s3_error(r, 403, "AccessDenied")
    assert xml_text(root, "Message") == (
        'Invalid according to Policy: Policy Condition failed: '
        '["starts-with", "$Content-Type", "image/"]')
    assert_absent(s3, bucket, "t.txt")


def test_field_names_are_case_insensitive(s3, bucket):
    form = s3.generate_presigned_post(bucket, "ci.txt")
    fields = {k.upper() if k != "file" else k: v for k, v in form["fields"].items()}
    r = post({"url": form["url"], "fields": fields})
    assert r.status_code == 204, r.text


@pytest.mark.parametrize("case", ["extra_field", "wrong_key", "expired", "bad_signature",
                                  "unknown_key", "too_large", "too_small", "no_file",
                                  "no_key", "not_multipart"])
def test_refusals_store_nothing(s3, bucket, endpoint, case):
    key = "refused.txt"
    conditions = [["content-length-range", 2, 10]]
    form = s3.generate_presigned_post(bucket, key, Conditions=conditions, ExpiresIn=600)
    data, extra, drop = b"12345", {}, ()
    status, code = 403, "AccessDenied"
    if case == "extra_field":
        extra = {"x-amz-meta-sneaky": "1"}
    elif case == "wrong_key":
        extra = {"key": "elsewhere.txt"}
    elif case == "expired":
        form = s3.generate_presigned_post(bucket, key, Conditions=conditions, ExpiresIn=-5)
    elif case == "bad_signature":
        extra = {"x-amz-signature": "0" * 64}
        code = "SignatureDoesNotMatch"
    elif case == "unknown_key":
        other = make_client(endpoint, access_key="NOSUCHKEY0000000", secret_key="x" * 40)
        form = other.generate_presigned_post(bucket, key, Conditions=conditions)
        code = "InvalidAccessKeyId"
    elif case == "too_large":
        data, status, code = b"x" * 11, 400, "EntityTooLarge"
    elif case == "too_small":
        data, status, code = b"x", 400, "EntityTooSmall"
    elif case == "no_key":
        drop, status, code = ("key",), 400, "InvalidArgument"
    if case == "no_file":
        r = requests.post(form["url"], files={k: (None, v) for k, v in form["fields"].items()},
                          timeout=60)
        root = assert_s3_error(r, 400, "InvalidArgument")
        assert xml_text(root, "Message") == "POST requires exactly one file upload per request."
    elif case == "not_multipart":
        r = requests.post(form["url"], data=form["fields"], timeout=60)
        assert_s3_error(r, 412, "PreconditionFailed")
    else:
        r = post(form, data, extra=extra, drop=drop)
        root = assert_s3_error(r, status, code)
        if case == "expired":
            assert xml_text(root, "Message") == "Invalid according to Policy: Policy expired."
        if case == "extra_field":
            assert xml_text(root, "Message") == (
                "Invalid according to Policy: Extra input fields: x-amz-meta-sneaky")
    assert_absent(s3, bucket, key)
    assert_absent(s3, bucket, "elsewhere.txt")


def test_anonymous_post_to_a_private_bucket_is_denied(s3, bucket):
    url = s3.generate_presigned_post(bucket, "anon.txt")["url"]
    r = requests.post(url, data={"key": "anon.txt"}, files={"file": ("a", b"anon")},
                      timeout=60)
    assert_s3_error(r, 403, "AccessDenied")
    assert_absent(s3, bucket, "anon.txt")


def test_another_user_cannot_post_to_admins_bucket(s3, bucket, endpoint):
    _, client, _ = add_user(endpoint, "poster")
    form = client.generate_presigned_post(bucket, "intruder.txt")
    r = post(form)
    assert_s3_error(r, 403, "AccessDenied")
    assert_absent(s3, bucket, "intruder.txt")
    # The same user may post to its own bucket.
    own = unique_name("own")
    client.create_bucket(Bucket=own)
    try:
        r = post(client.generate_presigned_post(own, "mine.txt"))
        assert r.status_code == 204, r.text
        client.delete_object(Bucket=own, Key="mine.txt")
    finally:
        client.delete_bucket(Bucket=own)


def test_pic_operations_field_stores_the_processed_copy(s3, bucket):
    ops = json.dumps({"is_pic_info": 1, "rules": [
        {"fileid": "/thumbs/half.png", "rule": "imageMogr2/thumbnail/!50p"}]})
    form = s3.generate_presigned_post(
        bucket, "src/${filename}", Fields={"Pic-Operations": ops, "Content-Type": "image/png"},
        Conditions=[{"Pic-Operations": ops}, {"Content-Type": "image/png"}])
    png = make_png(64, 32)
    r = post(form, png, filename="orig.png")
    assert r.status_code == 200, r.text
    root = parse_xml(r.content)
    assert root.tag.endswith("UploadResult"), r.text
    assert xml_text(root, "Key") == "src/orig.png"
    assert s3.get_object(Bucket=bucket, Key="src/orig.png")["Body"].read() == png
    thumb = s3.get_object(Bucket=bucket, Key="thumbs/half.png")["Body"].read()
    assert image_size(thumb) == ("png", 32, 16)


def test_acl_field_gives_the_object_its_acl(s3, bucket, endpoint):
    form = s3.generate_presigned_post(
        bucket, "open.txt", Fields={"acl": "public-read"},
        Conditions=[{"acl": "public-read"}])
    r = post(form, b"for everyone")
    assert r.status_code == 204, r.text
    assert requests.get(f"{endpoint}/{bucket}/open.txt", timeout=30).content == b"for everyone"
    grants = s3.get_object_acl(Bucket=bucket, Key="open.txt")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") and g["Permission"] == "READ"
               for g in grants)
    # Without it, the object of a private bucket stays private.
    form = s3.generate_presigned_post(bucket, "closed.txt")
    assert post(form).status_code == 204
    assert requests.get(f"{endpoint}/{bucket}/closed.txt", timeout=30).status_code == 403


def test_the_access_log_names_the_forms_user(s3, bucket, server):
    if not hasattr(server, "log_text"):
        pytest.skip("S3_TEST_ENDPOINT: the server's log is not ours to read")
    key = unique_name("logged") + ".txt"
    presigned = s3.generate_presigned_post(bucket, key)
    assert post(presigned).status_code == 204
    # The user is known only once the form's policy is checked, after the
    # request line: the log line must still carry it.
    deadline = time.monotonic() + 5
    while True:
        lines = [l for l in server.log_text().splitlines()
                 if "op=PostObject" in l and f"bucket={bucket}" in l and "status=204" in l]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert lines, "no access line for the form upload"
    assert "caller=admin" in lines[-1], lines[-1]
