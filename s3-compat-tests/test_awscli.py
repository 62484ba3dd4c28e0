"""The real aws-cli (v1) against the server: `aws s3` high-level commands
(mb, cp incl. multipart, sync, ls, presign, rm, rb, mv) and a few `aws s3api`
calls."""

import json
import os
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from s3util import MIB, md5_hex, sha256_file


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_mb_ls_rb(aws, s3, bucket_name):
    out = aws("s3", "mb", f"s3://{bucket_name}")
    assert f"make_bucket: {bucket_name}" in out.stdout
    s3.head_bucket(Bucket=bucket_name)
    listed = aws("s3", "ls").stdout
    assert re.search(rf"^\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d {re.escape(bucket_name)}$",
                     listed, re.M), listed
    out = aws("s3", "rb", f"s3://{bucket_name}")
    assert f"remove_bucket: {bucket_name}" in out.stdout
    assert bucket_name not in aws("s3", "ls").stdout


def test_mb_existing_own_bucket_succeeds_in_us_east_1(aws, bucket):
    # AWS's legacy us-east-1 answer to re-creating one's own bucket: 200.
    out = aws("s3", "mb", f"s3://{bucket}")
    assert f"make_bucket: {bucket}" in out.stdout


def test_rb_non_empty_fails_then_force(aws, s3, bucket_name):
    aws("s3", "mb", f"s3://{bucket_name}")
    s3.put_object(Bucket=bucket_name, Key="a/b", Body=b"x")
    out = aws("s3", "rb", f"s3://{bucket_name}", check=False)
    assert out.returncode != 0
    assert "BucketNotEmpty" in out.stderr
    aws("s3", "rb", "--force", f"s3://{bucket_name}")
    assert bucket_name not in aws("s3", "ls").stdout


def test_cp_small_round_trip(aws, s3, bucket, tmp_path):
    src = write(tmp_path / "small.txt", b"hello from aws-cli\n" * 100)
    aws("s3", "cp", str(src), f"s3://{bucket}/dir/small.txt")
    head = s3.head_object(Bucket=bucket, Key="dir/small.txt")
    assert head["ETag"] == f'"{md5_hex(src.read_bytes())}"'
    assert head["ContentType"] == "text/plain"  # guessed by aws-cli
    dst = tmp_path / "back.txt"
    aws("s3", "cp", f"s3://{bucket}/dir/small.txt", str(dst))
    assert dst.read_bytes() == src.read_bytes()


def test_cp_with_metadata_and_content_type(aws, s3, bucket, tmp_path):
    src = write(tmp_path / "x.bin", b"\x00" * 10)
    aws("s3", "cp", str(src), f"s3://{bucket}/x.bin", "--content-type", "image/webp",
        "--metadata", "owner=alice,stage=test", "--cache-control", "max-age=9")
    head = s3.head_object(Bucket=bucket, Key="x.bin")
    assert head["ContentType"] == "image/webp"
    assert head["Metadata"] == {"owner": "alice", "stage": "test"}
    assert head["CacheControl"] == "max-age=9"


@pytest.mark.slow
def test_cp_multipart_round_trip(aws, s3, bucket, tmp_path):
    src = write(tmp_path / "big.bin", os.urandom(20 * MIB + 12345))
    aws("s3", "cp", str(src), f"s3://{bucket}/big.bin")
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == 20 * MIB + 12345
    # 8 MiB parts (AWS_CONFIG_FILE) -> 3 parts.
    assert re.fullmatch(r'"[0-9a-f]{32}-3"', head["ETag"]), head["ETag"]
    dst = tmp_path / "big.back"
    aws("s3", "cp", f"s3://{bucket}/big.bin", str(dst))
    assert sha256_file(dst) == sha256_file(src)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@pytest.mark.slow
def test_cp_s3_to_s3_multipart_copy(aws, s3, bucket, bucket2, tmp_path):
    """Large s3->s3 copies use UploadPartCopy."""
    bucket_name = bucket2
    src = write(tmp_path / "big.bin", os.urandom(17 * MIB))
    aws("s3", "cp", str(src), f"s3://{bucket}/big.bin")
    aws("s3", "cp", f"s3://{bucket}/big.bin", f"s3://{bucket_name}/copied.bin")
    head = s3.head_object(Bucket=bucket_name, Key="copied.bin")
    assert head["ContentLength"] == 17 * MIB
    dst = tmp_path / "copied.back"
    aws("s3", "cp", f"s3://{bucket_name}/copied.bin", str(dst))
    assert sha256_file(dst) == sha256_file(src)


def test_cp_s3_to_s3_small_and_mv(aws, s3, bucket):
    s3.put_object(Bucket=bucket, Key="orig", Body=b"original", Metadata={"k": "v"})
    aws("s3", "cp", f"s3://{bucket}/orig", f"s3://{bucket}/copy")
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == b"original"
    aws("s3", "mv", f"s3://{bucket}/copy", f"s3://{bucket}/moved")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["moved", "orig"]


def test_cp_stdin_and_stdout(aws, s3, bucket):
    import subprocess
    body = b"streamed through stdin\n" * 1000
    proc = subprocess.run([aws.exe, "s3", "cp", "-", f"s3://{bucket}/stdin.txt",
                           "--endpoint-url", aws.endpoint],
                          input=body, env=aws.env, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert s3.get_object(Bucket=bucket, Key="stdin.txt")["Body"].read() == body
    proc = subprocess.run([aws.exe, "s3", "cp", f"s3://{bucket}/stdin.txt", "-",
                           "--endpoint-url", aws.endpoint],
                          env=aws.env, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == body


def test_cp_missing_key_fails(aws, bucket, tmp_path):
    out = aws("s3", "cp", f"s3://{bucket}/nope", str(tmp_path / "x"), check=False)
    assert out.returncode != 0
    assert "404" in out.stderr or "Not Found" in out.stderr


def _tree(root):
    files = {
        "a.txt": b"a" * 10,
        "sub/b.txt": b"b" * 2000,
        "sub/deeper/c.bin": os.urandom(70_000),
        "space name/ü.txt": "unicode".encode(),
        "empty": b"",
    }
    # Files older than the upload: S3's Last-Modified has whole seconds, and
    # sync re-sends a local file whose mtime is newer than the object's.
    past = time.time() - 86400
    for rel, data in files.items():
        write(root / rel, data)
        os.utime(root / rel, (past, past))
    return files


def test_sync_up_and_down(aws, s3, bucket, tmp_path):
    up = tmp_path / "up"
    files = _tree(up)
    out = aws("s3", "sync", str(up), f"s3://{bucket}/tree")
    assert out.stdout.count("upload:") == len(files)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == sorted(f"tree/{k}" for k in files)

    # Nothing changed: the second sync transfers nothing.
    again = aws("s3", "sync", str(up), f"s3://{bucket}/tree")
    assert "upload:" not in again.stdout, again.stdout

    # A modified and a new file are sent, nothing else.
    write(up / "sub/b.txt", b"B" * 2001)
    write(up / "new.txt", b"new")
    third = aws("s3", "sync", str(up), f"s3://{bucket}/tree")
    assert sorted(re.findall(r"upload: .* to (s3://\S+)", third.stdout)) == \
        [f"s3://{bucket}/tree/new.txt", f"s3://{bucket}/tree/sub/b.txt"], third.stdout

    down = tmp_path / "down"
    out = aws("s3", "sync", f"s3://{bucket}/tree", str(down))
    assert out.stdout.count("download:") == len(files) + 1
    for rel in list(files) + ["new.txt"]:
        assert (down / rel).read_bytes() == (up / rel).read_bytes(), rel
    again = aws("s3", "sync", f"s3://{bucket}/tree", str(down))
    assert "download:" not in again.stdout, again.stdout


def test_cp_recursive_up_and_down(aws, s3, bucket, tmp_path):
    up = tmp_path / "up"
    files = _tree(up)
    out = aws("s3", "cp", "--recursive", str(up), f"s3://{bucket}/r/")
    assert out.stdout.count("upload:") == len(files)
    down = tmp_path / "down"
    aws("s3", "cp", "--recursive", f"s3://{bucket}/r/", str(down))
    for rel in files:
        assert (down / rel).read_bytes() == (up / rel).read_bytes(), rel


def test_sync_delete(aws, s3, bucket, tmp_path):
    up = tmp_path / "up"
    _tree(up)
    aws("s3", "sync", str(up), f"s3://{bucket}")
    (up / "a.txt").unlink()
    out = aws("s3", "sync", "--delete", str(up), f"s3://{bucket}")
    assert f"delete: s3://{bucket}/a.txt" in out.stdout
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert "a.txt" not in keys and "sub/b.txt" in keys


def test_sync_of_an_empty_file_keeps_the_connection_usable(aws, s3, bucket, tmp_path):
    """aws-cli adds `Expect: 100-continue` to every upload, empty files too,
    and an empty body is answered without a `100 Continue`. aws-cli's own
    copy of botocore then keeps that answer's status line for the
    connection's next response, misreads its headers and waits for the
    server to close: the sync stalled 30 s after each empty file. One
    transfer at a time puts the next upload on the same connection; with
    `--debug` a misread says `Failed to parse headers`."""
    up = tmp_path / "up"
    files = {"0-empty": b"", "1.txt": b"one", "2-empty": b"", "3.txt": b"three"}
    for rel, data in files.items():
        write(up / rel, data)
    out = aws("--debug", "s3", "sync", str(up), f"s3://{bucket}/t", profile="serial")
    assert out.stdout.count("upload:") == len(files), out.stdout
    assert "Failed to parse headers" not in out.stderr, \
        out.stderr[out.stderr.find("Failed to parse headers") - 2000:][:4000]
    for rel, data in files.items():
        assert s3.get_object(Bucket=bucket, Key=f"t/{rel}")["Body"].read() == data


def test_ls_prefixes_and_recursive(aws, s3, bucket):
    for k in ["top.txt", "photos/2024/a.jpg", "photos/2024/b.jpg", "photos/2025/c.jpg",
              "photos/readme", "docs/x.md"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"12345")
    root = aws("s3", "ls", f"s3://{bucket}").stdout
    assert re.search(r"^\s+PRE docs/$", root, re.M), root
    assert re.search(r"^\s+PRE photos/$", root, re.M), root
    assert re.search(r"^\S+ \S+\s+5 top.txt$", root, re.M), root
    assert "a.jpg" not in root

    sub = aws("s3", "ls", f"s3://{bucket}/photos/").stdout
    assert re.search(r"PRE 2024/$", sub, re.M) and re.search(r"PRE 2025/$", sub, re.M), sub
    assert re.search(r" readme$", sub, re.M), sub

    partial = aws("s3", "ls", f"s3://{bucket}/photos/20").stdout
    assert "PRE 2024/" in partial and "PRE 2025/" in partial

    rec = aws("s3", "ls", "--recursive", f"s3://{bucket}").stdout
    keys = [line.split(None, 3)[3] for line in rec.splitlines() if line.strip()]
    assert keys == sorted(["top.txt", "photos/2024/a.jpg", "photos/2024/b.jpg",
                           "photos/2025/c.jpg", "photos/readme", "docs/x.md"])
    summ = aws("s3", "ls", "--recursive", "--summarize", f"s3://{bucket}/photos").stdout
    assert "Total Objects: 4" in summ and "Total Size: 20" in summ


def test_ls_many_keys_paginates(aws, s3, bucket):
    from concurrent.futures import ThreadPoolExecutor
    keys = [f"many/{i:04d}" for i in range(1050)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=b"."), keys))
    rec = aws("s3", "ls", "--recursive", f"s3://{bucket}/many/").stdout
    assert len(rec.splitlines()) == 1050


def test_rm_recursive(aws, s3, bucket):
    for k in ["keep.txt", "del/a", "del/b/c", "del/b/d", "delx"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    out = aws("s3", "rm", "--recursive", f"s3://{bucket}/del/")
    assert out.stdout.count("delete:") == 3
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["delx", "keep.txt"]
    aws("s3", "rm", f"s3://{bucket}/keep.txt")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["delx"]


def _presign_get(aws, bucket, key, *extra, profile=None):
    out = aws("s3", "presign", f"s3://{bucket}/{key}", "--expires-in", "300", *extra,
              profile=profile)
    return out.stdout.strip()


def test_presign_default_sigv2(aws, s3, bucket):
    s3.put_object(Bucket=bucket, Key="pre/sign me.txt", Body=b"presigned content")
    url = _presign_get(aws, bucket, "pre/sign me.txt")
    q = parse_qs(urlsplit(url).query)
    # aws-cli v1 in us-east-1 presigns with SigV2 query parameters.
    assert "AWSAccessKeyId" in q and "Signature" in q and "Expires" in q, url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, r.text
    assert r.content == b"presigned content"


def test_presign_sigv4_s3v4_profile(aws, s3, bucket):
    s3.put_object(Bucket=bucket, Key="v4.txt", Body=b"v4 content")
    url = _presign_get(aws, bucket, "v4.txt", profile="v4")
    q = parse_qs(urlsplit(url).query)
    assert q.get("X-Amz-Algorithm") == ["AWS4-HMAC-SHA256"], url
    assert "/us-east-1/s3/aws4_request" in q["X-Amz-Credential"][0]
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, r.text
    assert r.content == b"v4 content"


def test_presign_region_flag(aws, s3, bucket):
    """`--region eu-west-1`: with a custom endpoint aws-cli v1 keeps SigV2;
    whatever it chose, the URL must work."""
    s3.put_object(Bucket=bucket, Key="eu.txt", Body=b"eu content")
    url = _presign_get(aws, bucket, "eu.txt", "--region", "eu-west-1")
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, (url, r.text)
    assert r.content == b"eu content"


def test_presign_sigv4_other_region(aws, s3, bucket):
    """SigV4 with eu-west-1 in the credential scope (`signature_version =
    s3v4`, `--region eu-west-1`): a single-region server accepts the region
    the client signed for."""
    s3.put_object(Bucket=bucket, Key="eu4.txt", Body=b"eu v4 content")
    url = _presign_get(aws, bucket, "eu4.txt", "--region", "eu-west-1", profile="v4")
    q = parse_qs(urlsplit(url).query)
    assert q.get("X-Amz-Algorithm") == ["AWS4-HMAC-SHA256"], url
    assert "/eu-west-1/s3/aws4_request" in q["X-Amz-Credential"][0]
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, (url, r.text)
    assert r.content == b"eu v4 content"


def test_s3api_calls(aws, bucket, tmp_path):
    src = write(tmp_path / "f", b"s3api body")
    out = aws("s3api", "put-object", "--bucket", bucket, "--key", "f", "--body", str(src))
    assert json.loads(out.stdout)["ETag"] == f'"{md5_hex(b"s3api body")}"'
    head = json.loads(aws("s3api", "head-object", "--bucket", bucket, "--key", "f").stdout)
    assert head["ContentLength"] == 10
    lst = json.loads(aws("s3api", "list-objects-v2", "--bucket", bucket).stdout)
    assert [o["Key"] for o in lst["Contents"]] == ["f"]
    loc = json.loads(aws("s3api", "get-bucket-location", "--bucket", bucket).stdout)
    assert loc.get("LocationConstraint") in (None, "", "us-east-1")
    err = aws("s3api", "get-object", "--bucket", bucket, "--key", "missing",
              str(tmp_path / "o"), check=False)
    assert err.returncode != 0 and "NoSuchKey" in err.stderr


def test_s3api_bucket_lifecycle(aws, bucket, tmp_path):
    # aws-cli computes the digest this PUT needs; the file is its JSON form.
    config = write(tmp_path / "lifecycle.json", json.dumps({"Rules": [
        {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
         "Expiration": {"Days": 7}},
        {"ID": "uploads", "Filter": {}, "Status": "Enabled",
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}},
    ]}).encode())
    aws("s3api", "put-bucket-lifecycle-configuration", "--bucket", bucket,
        "--lifecycle-configuration", f"file://{config}")
    got = json.loads(aws("s3api", "get-bucket-lifecycle-configuration",
                         "--bucket", bucket).stdout)["Rules"]
    assert [r["ID"] for r in got] == ["tmp", "uploads"]
    assert got[0]["Expiration"] == {"Days": 7}
    assert got[1]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}
    aws("s3api", "delete-bucket-lifecycle", "--bucket", bucket)
    out = aws("s3api", "get-bucket-lifecycle-configuration", "--bucket", bucket, check=False)
    assert out.returncode != 0 and "NoSuchLifecycleConfiguration" in out.stderr
