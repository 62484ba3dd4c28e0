"""Integrity: Content-MD5, the x-amz-checksum-* family as boto3 sends it
(header, and aws-chunked trailer), ChecksumMode on download, and aws-chunked
bodies with per-chunk signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)."""

import base64
import hashlib
import os
import zlib

import pytest
import requests
from botocore.exceptions import ClientError

import sigv4
from s3util import (ACCESS_KEY, MIB, SECRET_KEY, assert_client_error, assert_s3_error,
                    md5_hex, sha256_file)

try:  # botocore computes CRC32C and CRC64NVME only with awscrt installed
    import awscrt  # noqa: F401
    BOTOCORE_HAS_CRT = True
except ImportError:  # the suite runs on plain `pip install boto3`
    BOTOCORE_HAS_CRT = False

DATA = os.urandom(300_000)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _crc_table(poly: int) -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc_table(0x82F63B78)
_CRC64NVME = _crc_table(0x9A6C9329AC4BC9B5)


def _reflected_crc(table: list[int], mask: int, data: bytes) -> int:
    """A reflected CRC with all-ones init and final xor (CRC-32C and
    CRC-64/NVME are both of this kind), computed independently of the
    server and of awscrt."""
    c = mask
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ mask


def crc32c(data: bytes) -> int:
    return _reflected_crc(_CRC32C, 0xFFFFFFFF, data)


def crc64nvme(data: bytes) -> int:
    return _reflected_crc(_CRC64NVME, 0xFFFFFFFFFFFFFFFF, data)


def test_reference_crcs_match_published_check_values():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc64nvme(b"123456789") == 0xAE8B14860A799888


def expected_checksum(alg: str, data: bytes) -> str:
    if alg == "CRC32":
        return b64(zlib.crc32(data).to_bytes(4, "big"))
    if alg == "CRC32C":
        return b64(crc32c(data).to_bytes(4, "big"))
    if alg == "CRC64NVME":
        return b64(crc64nvme(data).to_bytes(8, "big"))
    if alg == "SHA1":
        return b64(hashlib.sha1(data).digest())
    if alg == "SHA256":
        return b64(hashlib.sha256(data).digest())
    raise ValueError(alg)


ALGORITHMS = ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"]


def _computed_by_botocore(alg: str) -> bool:
    return BOTOCORE_HAS_CRT or alg not in ("CRC32C", "CRC64NVME")


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_put_with_checksum_header(s3, bucket, alg):
    want = expected_checksum(alg, DATA)
    if _computed_by_botocore(alg):
        resp = s3.put_object(Bucket=bucket, Key="c", Body=DATA, ChecksumAlgorithm=alg)
    else:
        # Plain botocore cannot compute it; it sends a value given to it.
        resp = s3.put_object(Bucket=bucket, Key="c", Body=DATA, **{f"Checksum{alg}": want})
    assert resp.get(f"Checksum{alg}") == want, resp
    got = s3.get_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert got.get(f"Checksum{alg}") == want
    assert got["Body"].read() == DATA
    head = s3.head_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert head.get(f"Checksum{alg}") == want
    # Without ChecksumMode the checksum is not sent.
    plain = s3.head_object(Bucket=bucket, Key="c")
    assert f"Checksum{alg}" not in plain


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_put_with_checksum_trailer(s3_trailer, bucket, alg):
    """What boto3 sends over HTTPS: aws-chunked body, checksum in a trailer."""
    want = expected_checksum(alg, DATA)
    if _computed_by_botocore(alg):
        resp = s3_trailer.put_object(Bucket=bucket, Key="t", Body=DATA, ChecksumAlgorithm=alg)
        assert resp.get(f"Checksum{alg}") == want, resp
    else:
        # The same aws-chunked trailer, built by hand.
        r = _trailer_put(endpoint_of(s3_trailer), bucket, "t", DATA, want, alg)
        assert r.status_code == 200, r.text
        assert r.headers.get(f"x-amz-checksum-{alg.lower()}") == want
    got = s3_trailer.get_object(Bucket=bucket, Key="t", ChecksumMode="ENABLED")
    assert got.get(f"Checksum{alg}") == want
    assert got["Body"].read() == DATA
    assert got["ContentLength"] == len(DATA)


def test_default_client_sends_crc32(s3_default, s3, bucket):
    s3_default.put_object(Bucket=bucket, Key="d", Body=DATA)
    got = s3.get_object(Bucket=bucket, Key="d", ChecksumMode="ENABLED")
    assert got.get("ChecksumCRC32") == expected_checksum("CRC32", DATA)
    assert got["Body"].read() == DATA


def test_default_trailer_client_keeps_content_encoding(s3_trailer, bucket):
    # botocore appends ",aws-chunked"; the stored Content-Encoding must not
    # keep it.
    s3_trailer.put_object(Bucket=bucket, Key="gz", Body=b"not really gzip",
                          ContentEncoding="gzip")
    head = s3_trailer.head_object(Bucket=bucket, Key="gz")
    assert head["ContentEncoding"] == "gzip"
    assert s3_trailer.get_object(Bucket=bucket, Key="gz")["Body"].read() == b"not really gzip"


def test_aws_chunked_first_keeps_the_other_encodings_as_spelled(s3_trailer, bucket):
    # `aws-chunked, gzip` (the order AWS documents) stores `gzip`; other
    # values keep the client's spelling.
    s3_trailer.put_object(Bucket=bucket, Key="br", Body=b"x", ContentEncoding="gzip, br")
    assert s3_trailer.head_object(Bucket=bucket, Key="br")["ContentEncoding"] == "gzip, br"


def test_trailer_empty_body(s3_trailer, bucket):
    s3_trailer.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = s3_trailer.get_object(Bucket=bucket, Key="empty")
    assert got["ContentLength"] == 0
    assert got["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'


def test_wrong_checksum_header(endpoint, bucket, s3):
    import s3util
    wrong = expected_checksum("CRC32", b"other data")
    resp = s3util.signed_request(endpoint, "PUT", f"/{bucket}/w", body=DATA,
                                 headers={"x-amz-checksum-crc32": wrong})
    assert_s3_error(resp, 400, "BadDigest")
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="w")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_wrong_sha256_checksum_via_boto3(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="w", Body=DATA,
                      ChecksumSHA256=expected_checksum("SHA256", b"nope"))
    assert_client_error(e, 400, "BadDigest")


def test_bad_content_md5_via_default_client(s3_default, bucket):
    wrong = b64(hashlib.md5(b"x").digest())
    with pytest.raises(ClientError) as e:
        s3_default.put_object(Bucket=bucket, Key="w", Body=DATA, ContentMD5=wrong)
    assert_client_error(e, 400, "BadDigest")


# ------------------------------------------------------ hand-built bodies

def _url(endpoint, bucket, key):
    return f"{endpoint}/{bucket}/{sigv4.uri_encode(key, True)}"


def test_sigv4_matches_botocore(endpoint, bucket):
    """Our signer is what the raw tests below rely on: a plain signed PUT
    must be accepted."""
    signer = sigv4.Signer(ACCESS_KEY, SECRET_KEY)
    url = _url(endpoint, bucket, "plain key.txt")
    headers, _, _ = signer.sign("PUT", url, {"content-type": "text/plain"},
                                hashlib.sha256(b"hello").hexdigest())
    r = requests.put(url, data=b"hello", headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == f'"{md5_hex(b"hello")}"'


def _streaming_signed_put(endpoint, bucket, key, chunks, tamper=False):
    signer = sigv4.Signer(ACCESS_KEY, SECRET_KEY)
    url = _url(endpoint, bucket, key)
    decoded = sum(len(c) for c in chunks)
    headers = {
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(decoded),
        "content-length": str(sigv4.encoded_length([len(c) for c in chunks])),
    }
    headers, seed, amz_date = signer.sign("PUT", url, headers, sigv4.STREAMING_SIGNED)
    body = sigv4.signed_chunked_body(signer, amz_date, seed, chunks)
    assert len(body) == int(headers["content-length"])
    if tamper:
        body = body.replace(chunks[0][:16], bytes(16), 1)
    return requests.put(url, data=body, headers=headers, timeout=60)


def test_streaming_signed_payload(endpoint, bucket, s3):
    chunks = [os.urandom(64 * 1024), os.urandom(64 * 1024), os.urandom(1000)]
    r = _streaming_signed_put(endpoint, bucket, "chunked", chunks)
    assert r.status_code == 200, r.text
    data = b"".join(chunks)
    assert r.headers["ETag"] == f'"{md5_hex(data)}"'
    got = s3.get_object(Bucket=bucket, Key="chunked")
    assert got["Body"].read() == data
    # The aws-chunked coding is not part of the stored object.
    assert got.get("ContentEncoding") in (None, "")


def test_streaming_signed_payload_tampered_chunk(endpoint, bucket, s3):
    chunks = [os.urandom(64 * 1024), os.urandom(100)]
    r = _streaming_signed_put(endpoint, bucket, "tampered", chunks, tamper=True)
    assert_s3_error(r, 403, "SignatureDoesNotMatch")
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="tampered")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def endpoint_of(client) -> str:
    return client.meta.endpoint_url


def _trailer_put(endpoint, bucket, key, data, trailer_value, alg="CRC32"):
    signer = sigv4.Signer(ACCESS_KEY, SECRET_KEY)
    url = _url(endpoint, bucket, key)
    chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)]
    trailer = f"x-amz-checksum-{alg.lower()}"
    body = sigv4.unsigned_trailer_body(chunks, {trailer: trailer_value})
    headers = {
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
        "x-amz-trailer": trailer,
        "content-length": str(len(body)),
    }
    headers, _, _ = signer.sign("PUT", url, headers, sigv4.STREAMING_UNSIGNED_TRAILER)
    return requests.put(url, data=body, headers=headers, timeout=60)


def test_unsigned_trailer_right_checksum(endpoint, bucket, s3):
    r = _trailer_put(endpoint, bucket, "tr", DATA, expected_checksum("CRC32", DATA))
    assert r.status_code == 200, r.text
    assert r.headers.get("x-amz-checksum-crc32") == expected_checksum("CRC32", DATA)
    assert s3.get_object(Bucket=bucket, Key="tr")["Body"].read() == DATA


def test_unsigned_trailer_wrong_checksum(endpoint, bucket, s3):
    r = _trailer_put(endpoint, bucket, "trbad", DATA, expected_checksum("CRC32", b"x"))
    assert_s3_error(r, 400, "BadDigest")
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="trbad")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_decoded_length_mismatch(endpoint, bucket):
    signer = sigv4.Signer(ACCESS_KEY, SECRET_KEY)
    url = _url(endpoint, bucket, "short")
    body = sigv4.unsigned_trailer_body([b"12345"], {"x-amz-checksum-crc32":
                                                    expected_checksum("CRC32", b"12345")})
    headers = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": "99",
               "x-amz-trailer": "x-amz-checksum-crc32", "content-length": str(len(body))}
    headers, _, _ = signer.sign("PUT", url, headers, sigv4.STREAMING_UNSIGNED_TRAILER)
    r = requests.put(url, data=body, headers=headers, timeout=30)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.status_code != 404


# ------------------------------------------------ SDK-managed multipart

@pytest.mark.slow
def test_boto3_upload_file_multipart_with_checksums(s3_trailer, s3, bucket, tmp_path):
    """boto3's transfer manager as it runs over HTTPS by default: multipart
    with CRC32 on every part (trailers), then a ranged, validated download."""
    from boto3.s3.transfer import TransferConfig
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(18 * MIB + 7))
    cfg = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB,
                         max_concurrency=4, preferred_transfer_client="classic")
    s3_trailer.upload_file(str(src), bucket, "big.bin", Config=cfg)
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == 18 * MIB + 7
    assert head["ETag"].endswith('-3"')
    dst = tmp_path / "back.bin"
    s3_trailer.download_file(bucket, "big.bin", str(dst), Config=cfg)
    assert sha256_file(dst) == sha256_file(src)


def test_multipart_part_checksums(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="mpc", ChecksumAlgorithm="SHA256")
    uid = up["UploadId"]
    parts = [os.urandom(5 * MIB), b"tail"]
    done = []
    for i, p in enumerate(parts, start=1):
        r = s3.upload_part(Bucket=bucket, Key="mpc", UploadId=uid, PartNumber=i, Body=p,
                           ChecksumAlgorithm="SHA256")
        assert r.get("ChecksumSHA256") == expected_checksum("SHA256", p)
        done.append({"PartNumber": i, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]})
    listed = s3.list_parts(Bucket=bucket, Key="mpc", UploadId=uid)
    assert [p.get("ChecksumSHA256") for p in listed["Parts"]] == \
        [d["ChecksumSHA256"] for d in done]
    s3.complete_multipart_upload(Bucket=bucket, Key="mpc", UploadId=uid,
                                 MultipartUpload={"Parts": done})
    assert s3.get_object(Bucket=bucket, Key="mpc")["Body"].read() == b"".join(parts)


def test_upload_part_wrong_checksum(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mpw", ChecksumAlgorithm="CRC32")["UploadId"]
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="mpw", UploadId=uid, PartNumber=1, Body=b"abc",
                       ChecksumCRC32=expected_checksum("CRC32", b"xyz"))
    assert_client_error(e, 400, "BadDigest")
