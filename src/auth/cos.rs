//! Tencent Cloud COS signatures (`q-sign-algorithm=sha1&q-ak=...`), in the
//! `Authorization` header or as query parameters, as `cos-python-sdk-v5`
//! produces them.
//!
//! HttpString = `lower(method)\n/key\n<params>\n<headers>\n`, where the path
//! is the decoded key *without* the bucket (COS addresses buckets by host),
//! and params/headers are the ones named in `q-url-param-list` /
//! `q-header-list`: names lower-cased and values URL-encoded (`-_.~`
//! unreserved), `k=v` sorted and joined with `&`.
//! SignKey = hex(HMAC-SHA1(secret, q-key-time)); StringToSign =
//! `sha1\n<q-sign-time>\n<sha1hex(HttpString)>\n`; Signature =
//! hex(HMAC-SHA1(SignKey, StringToSign)).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::request::Parts;

use super::util::{self, QueryParam};
use super::{AuthError, Keyring, Scheme, Verified, MAX_CLOCK_SKEW};

/// The parsed `q-*` fields.
struct CosAuth {
    access_key: String,
    sign_time: String,
    key_time: String,
    start: u64,
    end: u64,
    header_list: Vec<String>,
    param_list: Vec<String>,
    signature: [u8; 20],
}

/// The COS encoding of a name or value: the AWS unreserved set.
fn encode(bytes: &[u8]) -> String {
    util::aws_uri_encode(bytes, false)
}

fn parse_auth(pairs: &[(String, String)]) -> Result<CosAuth, String> {
    let get = |name: &str| -> Result<&str, String> {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format!("missing {name}"))
    };
    let algorithm = get("q-sign-algorithm")?;
    if !algorithm.eq_ignore_ascii_case("sha1") {
        return Err(format!("unsupported q-sign-algorithm {algorithm:?}"));
    }
    let sign_time = get("q-sign-time")?.to_owned();
    let key_time = get("q-key-time")?.to_owned();
    let (start, end) = sign_time
        .split_once(';')
        .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
        .ok_or_else(|| format!("q-sign-time {sign_time:?} is not <start>;<end>"))?;
    let list = |s: &str| -> Vec<String> {
        s.split(';')
            .map(|n| n.trim().to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect()
    };
    let signature = get("q-signature")?;
    let mut raw = [0u8; 20];
    hex::decode_to_slice(signature.trim(), &mut raw)
        .map_err(|_| "q-signature is not 40 hex digits".to_owned())?;
    Ok(CosAuth {
        access_key: get("q-ak")?.to_owned(),
        sign_time,
        key_time,
        start,
        end,
        header_list: list(get("q-header-list").unwrap_or("")),
        param_list: list(get("q-url-param-list").unwrap_or("")),
        signature: raw,
    })
}

/// Host header candidates: as sent, then without the port (the SDK signs
/// the URL's host name, without the port, unless it set `Host` itself).
fn host_candidates(parts: &Parts) -> Vec<String> {
    let host = parts
        .headers
        .get(http::header::HOST)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .or_else(|| parts.uri.authority().map(|a| a.as_str().to_owned()))
        .unwrap_or_default();
    let mut out = vec![host.clone()];
    if let Some((name, port)) = host.rsplit_once(':') {
        // "[::1]" has a colon but no port: its tail is not all digits.
        if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
            out.push(name.to_owned());
        }
    }
    out
}

/// Paths to try: the decoded path for virtual-hosted requests; for
/// path-style ones, the path without its first (bucket) segment first.
fn path_candidates(path: &str, host_bucket: Option<&str>) -> Vec<String> {
    let path = if path.is_empty() { "/" } else { path };
    let decoded = String::from_utf8_lossy(&util::percent_decode(path, false)).into_owned();
    match (host_bucket, decoded.strip_prefix('/')) {
        (None, Some(rest)) => {
            let without_bucket = match rest.find('/') {
                Some(i) => rest[i..].to_owned(),
                None => "/".to_owned(),
            };
            vec![without_bucket, decoded]
        }
        _ => vec![decoded],
    }
}

fn verify(
    parts: &Parts,
    host_bucket: Option<&str>,
    keyring: &Keyring,
    now: SystemTime,
    auth: CosAuth,
    scheme: Scheme,
) -> Result<Verified, AuthError> {
    let secret = keyring.lookup(&auth.access_key)?;
    let now_secs = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    if now_secs > auth.end {
        return Err(AuthError::expired(
            UNIX_EPOCH + Duration::from_secs(auth.end),
            now,
        ));
    }
    if auth.start > now_secs + MAX_CLOCK_SKEW.as_secs() {
        return Err(AuthError::RequestNotYetValid);
    }

    // Signed parameters: those of the request whose encoded, lower-cased
    // name is listed.
    let params = util::parse_query(parts.uri.query().unwrap_or(""));
    let mut signed_params: Vec<(String, String)> = params
        .iter()
        .map(|p: &QueryParam| (encode(&p.name).to_ascii_lowercase(), encode(&p.value)))
        .filter(|(k, _)| auth.param_list.contains(k))
        .collect();
    signed_params.sort();
    let params_line = join_pairs(&signed_params);

    let sign_key = sign_key(secret, &auth.key_time);
    let mut first = None;
    for host in host_candidates(parts) {
        let mut signed_headers: Vec<(String, String)> = Vec::new();
        for name in &auth.header_list {
            let value = if name == "host" {
                host.clone()
            } else {
                let values: Vec<String> = parts
                    .headers
                    .get_all(name.as_str())
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect();
                values.join(",")
            };
            signed_headers.push((
                encode(name.as_bytes()).to_ascii_lowercase(),
                encode(value.as_bytes()),
            ));
        }
        signed_headers.sort();
        let headers_line = join_pairs(&signed_headers);
        for path in path_candidates(parts.uri.path(), host_bucket) {
            let http_string =
                http_string(parts.method.as_str(), &path, &params_line, &headers_line);
            let (sts, expected) = sign(&sign_key, &auth.sign_time, &http_string);
            if util::ct_eq(&expected, &auth.signature) {
                return Verified::user(auth.access_key, scheme, None, &parts.headers);
            }
            first.get_or_insert(sts);
        }
    }
    Err(AuthError::SignatureDoesNotMatch {
        string_to_sign: first.unwrap_or_default(),
    })
}

/// `lower(method)\n<path>\n<params>\n<headers>\n`.
pub(crate) fn http_string(
    method: &str,
    path: &str,
    params_line: &str,
    headers_line: &str,
) -> String {
    format!(
        "{}\n{path}\n{params_line}\n{headers_line}\n",
        method.to_ascii_lowercase()
    )
}

/// The SignKey: hex(HMAC-SHA1(secret, key_time)).
pub(crate) fn sign_key(secret: &str, key_time: &str) -> String {
    hex::encode(util::hmac_sha1(secret.as_bytes(), key_time.as_bytes()))
}

/// The string to sign and the signature for `http_string`.
pub(crate) fn sign(sign_key: &str, sign_time: &str, http_string: &str) -> (String, [u8; 20]) {
    let sts = format!(
        "sha1\n{sign_time}\n{}\n",
        hex::encode(sha1_digest(http_string.as_bytes()))
    );
    let signature = util::hmac_sha1(sign_key.as_bytes(), sts.as_bytes());
    (sts, signature)
}

/// `k=v` pairs (already encoded), sorted, joined with `&`.
#[cfg(any(test, feature = "test-util"))]
pub(crate) fn pairs_line(mut pairs: Vec<(String, String)>) -> String {
    pairs.sort();
    join_pairs(&pairs)
}

/// The COS encoding of a name (lower-cased) or value.
#[cfg(any(test, feature = "test-util"))]
pub(crate) fn encode_name(name: &[u8]) -> String {
    encode(name).to_ascii_lowercase()
}

/// The COS encoding of a value.
#[cfg(any(test, feature = "test-util"))]
pub(crate) fn encode_value(value: &[u8]) -> String {
    encode(value)
}

fn sha1_digest(data: &[u8]) -> [u8; 20] {
    use sha1::{Digest as _, Sha1};
    Sha1::digest(data).into()
}

fn join_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Verifies `Authorization: q-sign-algorithm=sha1&q-ak=...`.
pub(crate) fn verify_header(
    parts: &Parts,
    host_bucket: Option<&str>,
    keyring: &Keyring,
    now: SystemTime,
) -> Result<Verified, AuthError> {
    let value = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // In the header the pairs are not URL-encoded a second time (the
    // lists hold the already-encoded names), so split without decoding.
    let pairs: Vec<(String, String)> = value
        .trim()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let auth =
        parse_auth(&pairs).map_err(|reason| AuthError::AuthorizationHeaderMalformed { reason })?;
    verify(parts, host_bucket, keyring, now, auth, Scheme::CosHeader)
}

/// Verifies the `q-*` parameters of a presigned URL.
pub(crate) fn verify_query(
    parts: &Parts,
    host_bucket: Option<&str>,
    keyring: &Keyring,
    now: SystemTime,
) -> Result<Verified, AuthError> {
    let pairs: Vec<(String, String)> = util::parse_query(parts.uri.query().unwrap_or(""))
        .iter()
        .map(|p| (p.name_str().into_owned(), p.value_str().into_owned()))
        .filter(|(k, _)| k.starts_with("q-"))
        .collect();
    let auth = parse_auth(&pairs)
        .map_err(|reason| AuthError::AuthorizationQueryParametersError { reason })?;
    verify(parts, host_bucket, keyring, now, auth, Scheme::CosQuery)
}
