//! Client-side signing helpers: produce what an S3 SDK would send, so tests
//! (unit and `tests/` integration tests) can talk to the server with real
//! signatures. They are not used by the server itself.
//!
//! ```ignore
//! use imgbucket::auth::sign::{self, Credentials};
//! let creds = Credentials::new("AKID", "SECRET", "us-east-1");
//! let mut headers = http::HeaderMap::new();
//! sign::sign_v4_request(&Method::PUT, &uri, &mut headers,
//!                       &sign::payload_sha256(body), &creds, SystemTime::now())?;
//! // send the request with `headers`
//! ```
//!
//! aws-chunked upload: set `content-encoding: aws-chunked`,
//! `x-amz-decoded-content-length`, (`x-amz-trailer`) and the encoded
//! `content-length` (see [`aws_chunked_len`]), sign with
//! `payload_hash = STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`, then
//! encode the body with [`aws_chunked_signed`] using the returned seed
//! signature.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use http::header::{HeaderValue, InvalidHeaderValue};
use http::{HeaderMap, Method, Uri};

use super::checksum::{checksum_base64, ChecksumAlgorithm};
use super::sigv4::{self, ChunkSigner};
use super::{cos, oss, sigv2, util};

use super::client::rebuild;
pub use super::client::{payload_sha256, presign_v4, sign_v4_request, Credentials};
pub use super::{
    STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER, UNSIGNED_PAYLOAD,
};

/// The SigV2 canonical resource path: `/bucket` + path for virtual-hosted
/// requests (`host_bucket`), the path itself otherwise.
fn v2_resource(uri: &Uri, host_bucket: Option<&str>) -> String {
    let path = if uri.path().is_empty() {
        "/"
    } else {
        uri.path()
    };
    let base = match host_bucket {
        Some(b) => format!("/{b}{path}"),
        None => path.to_owned(),
    };
    sigv2::canonical_resource(&base, uri.query().unwrap_or(""))
}

/// Signs `sts` with HMAC-SHA1 and sets `Authorization: <scheme> ak:sig`
/// (`AWS` for SigV2, `OSS` for OSS V1).
fn set_v1_authorization(
    headers: &mut HeaderMap,
    scheme: &str,
    creds: &Credentials,
    sts: &str,
) -> Result<(), InvalidHeaderValue> {
    let sig = sigv2::sign(&creds.secret_key, sts);
    headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&format!("{scheme} {}:{}", creds.access_key, sig))?,
    );
    Ok(())
}

/// Appends `<access_key_param>=&Expires=&Signature=` (the HMAC-SHA1 of
/// `sts`) to `uri`'s query: the SigV2 and OSS V1 presigned URL form.
fn presigned_v1_uri(
    uri: &Uri,
    access_key_param: &str,
    creds: &Credentials,
    expires_at: u64,
    sts: &str,
) -> Result<Uri, http::Error> {
    let sig = sigv2::sign(&creds.secret_key, sts);
    let mut query = uri.query().unwrap_or("").to_owned();
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str(&format!(
        "{access_key_param}={}&Expires={}&Signature={}",
        util::aws_uri_encode(creds.access_key.as_bytes(), false),
        expires_at,
        util::aws_uri_encode(sig.as_bytes(), false)
    ));
    let path = if uri.path().is_empty() {
        "/"
    } else {
        uri.path()
    };
    rebuild(uri, path, &query)
}

/// Signs a request with SigV2 (`Authorization: AWS ak:sig`), setting a
/// `Date` header from `now` (as botocore's HmacV1Auth does).
/// `host_bucket`: the bucket when addressing it virtual-hosted style.
pub fn sign_v2_request(
    method: &Method,
    uri: &Uri,
    headers: &mut HeaderMap,
    creds: &Credentials,
    now: SystemTime,
    host_bucket: Option<&str>,
) -> Result<(), InvalidHeaderValue> {
    let date = util::format_http_date(now);
    headers.insert(http::header::DATE, HeaderValue::from_str(&date)?);
    let sts = sigv2::string_to_sign(
        method.as_str(),
        &sigv2::header_text(headers, "content-md5"),
        &sigv2::header_text(headers, "content-type"),
        if headers.contains_key("x-amz-date") {
            ""
        } else {
            &date
        },
        &sigv2::canonical_amz_headers(headers, &BTreeMap::new()),
        &v2_resource(uri, host_bucket),
    );
    set_v1_authorization(headers, "AWS", creds, &sts)
}

/// A SigV2 presigned URL (`AWSAccessKeyId`, `Expires`, `Signature`),
/// expiring at `expires_at` (Unix seconds).
pub fn presign_v2(
    method: &Method,
    uri: &Uri,
    creds: &Credentials,
    expires_at: u64,
    host_bucket: Option<&str>,
) -> Result<Uri, http::Error> {
    let sts = sigv2::string_to_sign(
        method.as_str(),
        "",
        "",
        &expires_at.to_string(),
        "",
        &v2_resource(uri, host_bucket),
    );
    presigned_v1_uri(uri, "AWSAccessKeyId", creds, expires_at, &sts)
}

/// Length of the aws-chunked encoding of `data_len` bytes in
/// `chunk_size` chunks (for `Content-Length`), with signatures or not and
/// with an optional checksum trailer (plus its signature when signed).
pub fn aws_chunked_len(
    data_len: u64,
    chunk_size: u64,
    signed: bool,
    trailer: Option<ChecksumAlgorithm>,
) -> u64 {
    let chunk_size = chunk_size.max(1);
    let sig_ext = if signed { 17 + 64 } else { 0 }; // ";chunk-signature=" + hex
    let header = |size: u64| format!("{size:x}").len() as u64 + sig_ext + 2;
    let full = data_len / chunk_size;
    let last = data_len % chunk_size;
    let mut total = full * (header(chunk_size) + chunk_size + 2);
    if last > 0 {
        total += header(last) + last + 2;
    }
    total += header(0);
    if let Some(alg) = trailer {
        let value_len = (alg.digest_len() as u64).div_ceil(3) * 4;
        total += alg.header_name().len() as u64 + 1 + value_len + 2;
        if signed {
            total += "x-amz-trailer-signature:".len() as u64 + 64 + 2;
        }
    }
    total + 2
}

/// Encodes `data` as a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` body (or
/// `...-TRAILER` with `trailer`), chaining chunk signatures from `seed`
/// (the hex signature [`sign_v4_request`] returned for the same `now` and
/// credentials).
pub fn aws_chunked_signed(
    data: &[u8],
    chunk_size: usize,
    seed: &str,
    creds: &Credentials,
    now: SystemTime,
    trailer: Option<ChecksumAlgorithm>,
) -> Vec<u8> {
    let amz_date = util::format_amz_date(now);
    let date = &amz_date[..8];
    let scope = sigv4::scope_string(date, &creds.region, sigv4::SERVICE);
    let key = sigv4::signing_key(&creds.secret_key, date, &creds.region, sigv4::SERVICE);
    let seed = util::parse_hex32(seed).unwrap_or([0; 32]);
    let mut signer = ChunkSigner::new(key, amz_date, scope, seed);
    let mut out = Vec::with_capacity(data.len() + 256);
    let chunks = data
        .chunks(chunk_size.max(1))
        .chain(std::iter::once(&[][..]));
    for chunk in chunks {
        let sig = signer.chunk_signature(&util::sha256(chunk));
        signer.advance(sig);
        out.extend_from_slice(
            format!("{:x};chunk-signature={}\r\n", chunk.len(), hex::encode(sig)).as_bytes(),
        );
        if !chunk.is_empty() {
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
        }
    }
    if let Some(alg) = trailer {
        let line = format!("{}:{}\n", alg.header_name(), checksum_base64(alg, data));
        let sig = signer.trailer_signature(line.as_bytes());
        out.extend_from_slice(line.trim_end().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(
            format!("x-amz-trailer-signature:{}\r\n", hex::encode(sig)).as_bytes(),
        );
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Encodes `data` as an unsigned aws-chunked body
/// (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`), as botocore ≥ 1.36 sends it:
/// `<hex>\r\n<data>\r\n` chunks, `0\r\n`, the checksum trailer, `\r\n`.
pub fn aws_chunked_unsigned(
    data: &[u8],
    chunk_size: usize,
    trailer: Option<ChecksumAlgorithm>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 128);
    for chunk in data.chunks(chunk_size.max(1)) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n");
    if let Some(alg) = trailer {
        out.extend_from_slice(
            format!("{}:{}\r\n", alg.header_name(), checksum_base64(alg, data)).as_bytes(),
        );
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Signs a request as `oss2.Auth` (OSS V1) does: sets `date` and
/// `authorization: OSS ak:signature`. `host_bucket` as for
/// [`sign_v2_request`].
pub fn sign_oss_v1_request(
    method: &Method,
    uri: &Uri,
    headers: &mut HeaderMap,
    creds: &Credentials,
    now: SystemTime,
    host_bucket: Option<&str>,
) -> Result<(), InvalidHeaderValue> {
    let date = util::format_http_date(now);
    headers.insert(http::header::DATE, HeaderValue::from_str(&date)?);
    let params = util::parse_query(uri.query().unwrap_or(""));
    let sts = oss::v1_string_to_sign(
        method.as_str(),
        headers,
        &date,
        &oss::resource_path(uri.path(), host_bucket),
        &params,
    );
    set_v1_authorization(headers, "OSS", creds, &sts)
}

/// An OSS V1 presigned URL (`OSSAccessKeyId`, `Expires`, `Signature`),
/// expiring at `expires_at` (Unix seconds).
pub fn presign_oss_v1(
    method: &Method,
    uri: &Uri,
    creds: &Credentials,
    expires_at: u64,
    host_bucket: Option<&str>,
) -> Result<Uri, http::Error> {
    let params = util::parse_query(uri.query().unwrap_or(""));
    let sts = oss::v1_string_to_sign(
        method.as_str(),
        &HeaderMap::new(),
        &expires_at.to_string(),
        &oss::resource_path(uri.path(), host_bucket),
        &params,
    );
    presigned_v1_uri(uri, "OSSAccessKeyId", creds, expires_at, &sts)
}

/// Signs a request as `cos-python-sdk-v5` does (`Authorization:
/// q-sign-algorithm=sha1&...`), valid from `now - 60 s` for `valid_for`.
/// Signs `host` (the header, else the URI host without port), the
/// `content-*` headers and `x-cos-*` headers present, and every query
/// parameter. The URI path is the key path (COS addresses the bucket by
/// host).
pub fn sign_cos_request(
    method: &Method,
    uri: &Uri,
    headers: &mut HeaderMap,
    creds: &Credentials,
    now: SystemTime,
    valid_for: Duration,
) -> Result<(), InvalidHeaderValue> {
    let start = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .saturating_sub(60);
    let sign_time = format!("{start};{}", start + 60 + valid_for.as_secs());
    if !headers.contains_key(http::header::HOST) {
        if let Some(h) = uri.host() {
            headers.insert(http::header::HOST, HeaderValue::from_str(h)?);
        }
    }
    let mut header_pairs = Vec::new();
    for name in headers.keys() {
        let n = name.as_str();
        if n == "host" || n.starts_with("content-") || n.starts_with("x-cos-") {
            let value = String::from_utf8_lossy(headers[name].as_bytes()).into_owned();
            header_pairs.push((
                cos::encode_name(n.as_bytes()),
                cos::encode_value(value.as_bytes()),
            ));
        }
    }
    let params = util::parse_query(uri.query().unwrap_or(""));
    let param_pairs: Vec<(String, String)> = params
        .iter()
        .map(|p| (cos::encode_name(&p.name), cos::encode_value(&p.value)))
        .collect();
    let mut header_names: Vec<String> = header_pairs.iter().map(|(k, _)| k.clone()).collect();
    header_names.sort();
    let mut param_names: Vec<String> = param_pairs.iter().map(|(k, _)| k.clone()).collect();
    param_names.sort();
    let path = String::from_utf8_lossy(&util::percent_decode(
        if uri.path().is_empty() {
            "/"
        } else {
            uri.path()
        },
        false,
    ))
    .into_owned();
    let http_string = cos::http_string(
        method.as_str(),
        &path,
        &cos::pairs_line(param_pairs),
        &cos::pairs_line(header_pairs),
    );
    let key = cos::sign_key(&creds.secret_key, &sign_time);
    let (_, signature) = cos::sign(&key, &sign_time, &http_string);
    let value = format!(
        "q-sign-algorithm=sha1&q-ak={}&q-sign-time={sign_time}&q-key-time={sign_time}\
         &q-header-list={}&q-url-param-list={}&q-signature={}",
        creds.access_key,
        header_names.join(";"),
        param_names.join(";"),
        hex::encode(signature)
    );
    headers.insert(http::header::AUTHORIZATION, HeaderValue::from_str(&value)?);
    Ok(())
}

/// The SigV4 fields of a browser form upload signing the base64 `policy`
/// at `now`, as `generate_presigned_post` fills them: `(x-amz-credential,
/// x-amz-date, x-amz-signature)`.
pub fn sign_post_policy_v4(
    policy: &str,
    creds: &Credentials,
    now: SystemTime,
) -> (String, String, String) {
    let amz_date = util::format_amz_date(now);
    let date = &amz_date[..8];
    let credential = format!(
        "{}/{}",
        creds.access_key,
        sigv4::scope_string(date, &creds.region, sigv4::SERVICE)
    );
    let key = sigv4::signing_key(&creds.secret_key, date, &creds.region, sigv4::SERVICE);
    let signature = hex::encode(util::hmac_sha256(&key, policy.as_bytes()));
    (credential, amz_date, signature)
}
