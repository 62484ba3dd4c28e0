"""Edges a real client or a hostile one reaches: limits, unimplemented
sub-resources, odd methods, path tricks, concurrent writers of one key,
conditional writes. Every refusal is a clear 4xx/5xx S3 XML error, never a
wrong 200."""

import hashlib
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests
from botocore.exceptions import ClientError

import sigv4
from s3util import (ACCESS_KEY, SECRET_KEY, assert_client_error, assert_s3_error,
                    md5_hex, parse_xml, signed_request, strip_ns, xml_text)


def raw_signed_put_head(endpoint: str, path: str, headers: dict) -> bytes:
    """The head of a SigV4-signed PUT (unsigned payload) with exactly these
    headers, for a raw socket (no client adds or fixes a header)."""
    signer = sigv4.Signer(ACCESS_KEY, SECRET_KEY)
    signed, _, _ = signer.sign("PUT", endpoint + path, headers, sigv4.UNSIGNED)
    head = f"PUT {path} HTTP/1.1\r\nHost: {urlsplit(endpoint).netloc}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in signed.items()) + "\r\n"
    return head.encode()


def raw_signed_put(endpoint: str, path: str, headers: dict, body: bytes) -> bytes:
    """Sends a SigV4-signed PUT (unsigned payload) exactly as given, over a
    raw socket, and returns the raw answer up to the end of its error
    document."""
    parts = urlsplit(endpoint)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(raw_signed_put_head(endpoint, path, headers) + body)
        sock.settimeout(15)
        data = b""
        while b"</Error>" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def test_user_metadata_too_large(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="m", Body=b"x", Metadata={"big": "v" * 2100})
    assert_client_error(e, 400, "MetadataTooLarge")


def test_entity_too_large_rejected_before_body(endpoint, bucket):
    """A single PUT above 5 GiB is refused from its headers alone."""
    size = 6 * 1024 ** 3
    data = raw_signed_put(endpoint, f"/{bucket}/huge", {"content-length": str(size)},
                          b"\0" * 65536)
    status = data.split(b"\r\n", 1)[0]
    assert b" 400 " in status, data[:500]
    assert b"<Code>EntityTooLarge</Code>" in data, data[:1000]


def test_put_without_content_length_is_411(endpoint, s3, bucket):
    """A signed PUT with neither Content-Length nor chunked coding: 411
    MissingContentLength, as S3 answers, and nothing is stored."""
    for path in (f"/{bucket}/nolength",
                 f"/{bucket}/nolength?partNumber=1&uploadId="
                 + s3.create_multipart_upload(Bucket=bucket, Key="nolength")["UploadId"]):
        data = raw_signed_put(endpoint, path, {}, b"")
        assert b" 411 " in data.split(b"\r\n", 1)[0], data[:500]
        assert b"<Code>MissingContentLength</Code>" in data, data[:1000]
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="nolength")


@pytest.mark.parametrize("sub", ["website", "logging",
                                 "replication", "encryption", "object-lock"])
def test_unimplemented_bucket_subresources_are_errors(endpoint, bucket, s3, sub):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    resp = signed_request(endpoint, "GET", f"/{bucket}", query={sub: None})
    # Never a bucket listing for a sub-resource the server does not know.
    assert resp.status_code >= 400, (sub, resp.status_code, resp.text[:300])
    root = parse_xml(resp.content)
    assert strip_ns(root.tag) == "Error"
    assert xml_text(root, "Code") and xml_text(root, "RequestId")


def test_unimplemented_object_subresource_is_error(endpoint, bucket, s3):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    resp = signed_request(endpoint, "GET", f"/{bucket}/k", query={"retention": None})
    assert resp.status_code >= 400, resp.text[:300]
    assert resp.content != b"x"
    assert strip_ns(parse_xml(resp.content).tag) == "Error"


def test_unknown_method(endpoint, bucket):
    resp = signed_request(endpoint, "PATCH", f"/{bucket}/k", body=b"x")
    assert resp.status_code in (405, 501), resp.text
    root = parse_xml(resp.content)
    assert xml_text(root, "Code") in ("MethodNotAllowed", "NotImplemented")
    assert xml_text(root, "RequestId")


def test_invalid_metadata_directive(s3, bucket, endpoint):
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    resp = signed_request(endpoint, "PUT", f"/{bucket}/dst",
                          headers={"x-amz-copy-source": f"/{bucket}/src",
                                   "x-amz-metadata-directive": "MERGE"})
    assert_s3_error(resp, 400, "InvalidArgument")


@pytest.mark.parametrize("key", ["../escape", "a/../../b", "./dot", "..", "a/./b/."])
def test_dot_segments_are_plain_key_bytes(s3, bucket, key):
    """Keys are opaque: dot segments are stored as given, never resolved."""
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [key]


def test_concurrent_writers_one_key(s3, bucket):
    bodies = [os.urandom(200_000 + i) for i in range(8)]
    etags = {f'"{md5_hex(b)}"': b for b in bodies}

    def write(b):
        for _ in range(5):
            s3.put_object(Bucket=bucket, Key="hot", Body=b)

    def read(_):
        seen = 0
        for _ in range(20):
            try:
                got = s3.get_object(Bucket=bucket, Key="hot")
            except ClientError:
                continue  # not written yet
            data = got["Body"].read()
            # Whatever version a read sees, it sees it whole.
            assert etags.get(got["ETag"]) == data
            seen += 1
        return seen

    with ThreadPoolExecutor(12) as pool:
        readers = [pool.submit(read, i) for i in range(4)]
        list(pool.map(write, bodies))
        for r in readers:
            r.result()
    final = s3.get_object(Bucket=bucket, Key="hot")
    assert etags[final["ETag"]] == final["Body"].read()


def test_many_parallel_small_puts(s3, bucket):
    def put(i):
        s3.put_object(Bucket=bucket, Key=f"p/{i:04d}", Body=str(i).encode())

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(400)))
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])]
    assert keys == [f"p/{i:04d}" for i in range(400)]


@pytest.mark.embedded_only("conditional writes answer 501 (docs/deploy.md)")
def test_put_if_none_match_star(s3, bucket):
    """Conditional create (`If-None-Match: *`, AWS since 2024)."""
    s3.put_object(Bucket=bucket, Key="once", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="once", Body=b"second", IfNoneMatch="*")
    assert_client_error(e, 412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"first"


def test_keep_alive_after_error(endpoint, bucket):
    """An error response does not poison the connection for the next request."""
    with requests.Session() as sess:
        signer = sigv4.Signer(ACCESS_KEY, SECRET_KEY)
        for key, want in (("missing-1", 404), ("missing-2", 404)):
            url = f"{endpoint}/{bucket}/{key}"
            h, _, _ = signer.sign("GET", url, {}, sigv4.EMPTY_SHA256)
            assert sess.get(url, headers=h, timeout=30).status_code == want
        url = f"{endpoint}/{bucket}/ok"
        h, _, _ = signer.sign("PUT", url, {}, hashlib.sha256(b"ok").hexdigest())
        assert sess.put(url, data=b"ok", headers=h, timeout=30).status_code == 200


def test_expect_continue_without_body_closes(endpoint, bucket):
    """An `Expect: 100-continue` request that declares no body is answered
    without a `100 Continue` (there is nothing to continue), and says
    `Connection: close`: aws-cli's botocore otherwise misreads the
    connection's next response (test_awscli.py, the sync of an empty
    file). One with a body gets its `100 Continue` and keeps the
    connection."""
    parts = urlsplit(endpoint)

    def answer(key: str, body: bytes) -> bytes:
        headers = {"content-length": str(len(body)), "expect": "100-continue"}
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
            sock.sendall(raw_signed_put_head(endpoint, f"/{bucket}/{key}", headers))
            data = b""
            if body:
                while b"\r\n\r\n" not in data:
                    data += sock.recv(4096)
                sock.sendall(body)
            while not data.endswith(b"\r\n\r\n") or data.count(b"HTTP/1.1 ") < (2 if body else 1):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        return data

    empty = answer("e", b"")
    assert empty.startswith(b"HTTP/1.1 200 "), empty
    assert b"\r\nconnection: close\r\n" in empty.lower(), empty
    full = answer("f", b"0123456789")
    assert full.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 "), full
    assert b"connection: close" not in full.lower(), full


def test_error_body_on_garbage_request_line(endpoint):
    parts = urlsplit(endpoint)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"NOT A REQUEST\r\n\r\n")
        sock.settimeout(10)
        data = b""
        try:
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
    # Either a 400 or a closed connection; never a hang or a 2xx.
    assert data == b"" or data.startswith(b"HTTP/1.1 4"), data[:200]
