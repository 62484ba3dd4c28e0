"""CORS as a browser meets it: boto3 writes, reads and deletes a bucket's
CORS configuration; `requests` plays the browser, sending the unsigned
`OPTIONS` preflight and `Origin` on actual requests, and reads the
`Access-Control-*` headers. Runs in gateway mode too: the rules are a
per-bucket setting, shared by every node."""

from __future__ import annotations

import pytest
import requests
from botocore.exceptions import ClientError

from process_fixtures import image_size, make_png
from conftest import make_client
from s3util import (Server, assert_client_error, assert_s3_error, mode_server, parse_xml,
                    unique_name, xml_text)

WEB = "http://app.example.com"

RULES = {
    "CORSRules": [
        {
            "ID": "uploads",
            "AllowedOrigins": ["http://*.example.com"],
            "AllowedMethods": ["PUT", "GET"],
            "AllowedHeaders": ["content-type", "x-amz-*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 600,
        },
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]},
    ]
}


def preflight(endpoint, anon, path, origin=WEB, method="PUT", headers=None):
    asks = {}
    if origin is not None:
        asks["Origin"] = origin
    if method is not None:
        asks["Access-Control-Request-Method"] = method
    if headers:
        asks["Access-Control-Request-Headers"] = headers
    return anon.options(endpoint + path, headers=asks)


def test_put_get_delete_bucket_cors(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    assert_client_error(e, 404, "NoSuchCORSConfiguration")
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    got = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert got == RULES["CORSRules"]
    s3.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    assert_client_error(e, 404, "NoSuchCORSConfiguration")


def test_bad_configurations_are_refused(s3, bucket):
    bad_method = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]}
    with pytest.raises(ClientError) as e:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=bad_method)
    assert_client_error(e, 400, "InvalidRequest")
    two_stars = {"CORSRules": [{"AllowedOrigins": ["http://*.*.com"], "AllowedMethods": ["GET"]}]}
    with pytest.raises(ClientError) as e:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=two_stars)
    assert_client_error(e, 400, "InvalidRequest")
    too_many = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}] * 101}
    with pytest.raises(ClientError) as e:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=too_many)
    assert_client_error(e, 400, "MalformedXML")
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    assert_client_error(e, 404, "NoSuchCORSConfiguration")


def test_cors_api_is_owner_only(endpoint, anon, bucket):
    assert_s3_error(anon.get(f"{endpoint}/{bucket}?cors"), 403, "AccessDenied")
    assert_s3_error(anon.delete(f"{endpoint}/{bucket}?cors"), 403, "AccessDenied")


def test_preflight(endpoint, anon, s3, bucket):
    # No rules: 403 AccessForbidden.
    r = preflight(endpoint, anon, f"/{bucket}/k.jpg")
    assert_s3_error(r, 403, "AccessForbidden")
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    for path in (f"/{bucket}/k.jpg", f"/{bucket}"):
        r = preflight(endpoint, anon, path, headers="Content-Type, X-Amz-Date")
        assert r.status_code == 200, r.text
        assert r.headers["Access-Control-Allow-Origin"] == WEB
        assert r.headers["Access-Control-Allow-Methods"] == "PUT, GET"
        assert r.headers["Access-Control-Allow-Headers"] == "content-type, x-amz-date"
        assert r.headers["Access-Control-Expose-Headers"] == "ETag"
        assert r.headers["Access-Control-Max-Age"] == "600"
        assert "Origin" in r.headers["Vary"]
    # Any origin may GET, answered `*`.
    r = preflight(endpoint, anon, f"/{bucket}/k", origin="https://else.org", method="GET")
    assert r.status_code == 200, r.text
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    # Refused: a header no rule allows, a method no rule allows.
    r = preflight(endpoint, anon, f"/{bucket}/k", headers="authorization")
    root = assert_s3_error(r, 403, "AccessForbidden")
    assert xml_text(root, "Message").startswith("CORSResponse: This CORS request is not allowed.")
    assert "Access-Control-Allow-Origin" not in r.headers
    assert_s3_error(preflight(endpoint, anon, f"/{bucket}/k", method="DELETE"),
                    403, "AccessForbidden")
    # Questions missing: 400 BadRequest.
    r = preflight(endpoint, anon, f"/{bucket}/k", origin=None)
    root = assert_s3_error(r, 400, "BadRequest")
    assert xml_text(root, "Message") == "Insufficient information. Origin request header needed."
    assert_s3_error(preflight(endpoint, anon, f"/{bucket}/k", method=None), 400, "BadRequest")
    # A missing bucket: 404.
    r = preflight(endpoint, anon, f"/{unique_name('nobucket')}/k")
    assert_s3_error(r, 404, "NoSuchBucket")


def test_actual_responses_carry_the_headers(endpoint, anon, s3, bucket):
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    s3.put_object(Bucket=bucket, Key="k.txt", Body=b"hello")
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    r = anon.get(f"{endpoint}/{bucket}/k.txt", headers={"Origin": WEB})
    assert r.status_code == 200 and r.content == b"hello"
    assert r.headers["Access-Control-Allow-Origin"] == WEB
    assert r.headers["Access-Control-Allow-Methods"] == "PUT, GET"
    assert r.headers["Access-Control-Expose-Headers"] == "ETag"
    assert "Origin" in r.headers["Vary"]
    r = anon.head(f"{endpoint}/{bucket}/k.txt", headers={"Origin": "https://else.org"})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    # Errors too, so that the page can read them.
    r = anon.get(f"{endpoint}/{bucket}/missing", headers={"Origin": WEB})
    assert_s3_error(r, 404, "NoSuchKey")
    assert r.headers["Access-Control-Allow-Origin"] == WEB
    # Without Origin: none.
    r = anon.get(f"{endpoint}/{bucket}/k.txt")
    assert "Access-Control-Allow-Origin" not in r.headers


def test_processed_images_carry_the_headers(endpoint, anon, s3, bucket):
    s3.put_object(Bucket=bucket, Key="a.png", Body=make_png(40, 20), ContentType="image/png")
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    for query in ("x-oss-process=image/resize,w_10", "imageMogr2/thumbnail/10x",
                  "iopcmd=thumbnail&type=4&width=10"):
        r = anon.get(f"{endpoint}/{bucket}/a.png?{query}", headers={"Origin": WEB})
        assert r.status_code == 200, (query, r.text[:300])
        assert image_size(r.content)[1] == 10, query
        assert r.headers["Access-Control-Allow-Origin"] == WEB, query


def test_server_wide_default(tmp_path, s3):
    """A server started with `[cors]` in its config file: buckets without
    rules of their own answer by it; a bucket's own rules win."""
    config = tmp_path / "imgbucket.toml"
    config.write_text(
        '[cors]\nallowed_origins = ["*"]\nallowed_methods = ["GET", "HEAD"]\n'
        'allowed_headers = ["*"]\nexpose_headers = ["ETag"]\nmax_age_secs = 3600\n')
    srv = mode_server(tmp_path, ["--config", str(config)])
    srv.start()
    try:
        client = make_client(srv.endpoint)
        name = unique_name("cors-default")
        client.create_bucket(Bucket=name, ACL="public-read")
        client.put_object(Bucket=name, Key="k", Body=b"v")
        with requests.Session() as anon:
            r = preflight(srv.endpoint, anon, f"/{name}/k", method="GET", headers="Range")
            assert r.status_code == 200, r.text
            assert r.headers["Access-Control-Allow-Origin"] == "*"
            assert r.headers["Access-Control-Max-Age"] == "3600"
            r = anon.get(f"{srv.endpoint}/{name}/k", headers={"Origin": WEB})
            assert r.headers["Access-Control-Allow-Origin"] == "*"
            assert r.headers["Access-Control-Expose-Headers"] == "ETag"
            assert preflight(srv.endpoint, anon, f"/{name}/k").status_code == 403
            client.put_bucket_cors(Bucket=name, CORSConfiguration=RULES)
            r = preflight(srv.endpoint, anon, f"/{name}/k")
            assert r.status_code == 200, r.text
            assert r.headers["Access-Control-Allow-Origin"] == WEB
        client.delete_object(Bucket=name, Key="k")
        client.delete_bucket(Bucket=name)
    finally:
        srv.stop()


def test_a_bad_default_stops_the_server_at_start(tmp_path):
    config = tmp_path / "imgbucket.toml"
    config.write_text('[cors]\nallowed_origins = ["*"]\nallowed_methods = ["PATCH"]\n')
    srv = Server(tmp_path / "data", tmp_path / "server.log",
                 extra_args=["--config", str(config)])
    with pytest.raises(RuntimeError, match="PATCH"):
        srv.start(timeout=10)
    assert srv.proc.wait(timeout=10) == 2
