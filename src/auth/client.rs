//! Client-side SigV4 header signing: what an AWS SDK adds to a request.
//!
//! The server verifies signatures; this module produces them, with the same
//! canonical-request code (`sigv4`), so signer and verifier cannot drift.
//! The gateway store signs its backend requests with it, the client
//! subcommands (`imgbucket style`, `presign`, ...) sign with it, and the
//! test helpers in `sign` build on it.

use std::time::{Duration, SystemTime};

use http::header::{HeaderName, HeaderValue, InvalidHeaderValue};
use http::{HeaderMap, Method, Uri};

use super::sigv4::{self, CanonicalParts};
use super::util;
use super::UNSIGNED_PAYLOAD;

/// A client's credentials and the region it signs for.
#[derive(Clone)]
pub struct Credentials {
    /// Access key id.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: String,
    /// Region for SigV4 credential scopes.
    pub region: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Credentials from their parts.
    pub fn new(
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
        region: impl Into<String>,
    ) -> Self {
        Credentials {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            region: region.into(),
        }
    }
}

/// Lower-case hex SHA-256 of `body`, the `x-amz-content-sha256` of a signed
/// payload.
pub fn payload_sha256(body: &[u8]) -> String {
    util::sha256_hex(body)
}

/// Headers SDKs leave unsigned because proxies may change them.
const UNSIGNED_HEADERS: &[&str] = &[
    "authorization",
    "user-agent",
    "expect",
    "connection",
    "transfer-encoding",
    "x-amzn-trace-id",
];

pub(crate) fn authority_of(uri: &Uri) -> Option<String> {
    uri.authority().map(|a| a.as_str().to_owned())
}

/// Signs a request with SigV4 in the `Authorization` header, as the AWS
/// SDKs do. Adds `host` (from the URI authority, when absent),
/// `x-amz-date`, `x-amz-content-sha256: payload_hash` and `authorization`
/// to `headers`, signing every header present except hop-by-hop ones and
/// `user-agent`/`expect`.
///
/// `payload_hash` is [`payload_sha256`] of the body, [`super::UNSIGNED_PAYLOAD`],
/// or one of the `STREAMING-*` keywords. Returns the signature (hex), the
/// seed for [`aws_chunked_signed`].
pub fn sign_v4_request(
    method: &Method,
    uri: &Uri,
    headers: &mut HeaderMap,
    payload_hash: &str,
    creds: &Credentials,
    now: SystemTime,
) -> Result<String, InvalidHeaderValue> {
    let amz_date = util::format_amz_date(now);
    if !headers.contains_key(http::header::HOST) {
        if let Some(a) = authority_of(uri) {
            headers.insert(http::header::HOST, HeaderValue::from_str(&a)?);
        }
    }
    headers.insert("x-amz-date", HeaderValue::from_str(&amz_date)?);
    headers.insert("x-amz-content-sha256", HeaderValue::from_str(payload_hash)?);
    headers.remove(http::header::AUTHORIZATION);

    let mut signed: Vec<String> = headers
        .keys()
        .map(HeaderName::as_str)
        .filter(|n| !UNSIGNED_HEADERS.contains(n))
        .map(str::to_owned)
        .collect();
    signed.sort();
    signed.dedup();

    let params = util::parse_query(uri.query().unwrap_or(""));
    let canon = CanonicalParts {
        method: method.as_str(),
        query: sigv4::canonical_query(&params, None),
        headers: sigv4::canonical_headers(headers, uri.authority().map(|a| a.as_str()), &signed),
        signed_headers: signed.join(";"),
        payload_hash,
    };
    let date = &amz_date[..8];
    let scope = sigv4::scope_string(date, &creds.region, sigv4::SERVICE);
    let signature = signature_of(&canon, uri, &amz_date, &scope, creds);
    let authorization = format!(
        "{} Credential={}/{}, SignedHeaders={}, Signature={}",
        sigv4::ALGORITHM,
        creds.access_key,
        scope,
        canon.signed_headers,
        signature
    );
    headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&authorization)?,
    );
    Ok(signature)
}

/// The hex SigV4 signature of `canon` for `uri`'s path, at `amz_date`
/// within `scope` (header and presigned signing share it).
pub(crate) fn signature_of(
    canon: &CanonicalParts<'_>,
    uri: &Uri,
    amz_date: &str,
    scope: &str,
    creds: &Credentials,
) -> String {
    let date = &amz_date[..8];
    let key = sigv4::signing_key(&creds.secret_key, date, &creds.region, sigv4::SERVICE);
    let path = if uri.path().is_empty() {
        "/"
    } else {
        uri.path()
    };
    let sts = sigv4::string_to_sign(amz_date, scope, &canon.build(path));
    hex::encode(util::hmac_sha256(&key, sts.as_bytes()))
}

/// Percent-encodes a path (`keep_slash`) or a query name or value the way
/// SigV4 canonicalises it, so that a request built with it is signed
/// exactly as sent.
pub fn uri_encode(input: &str, keep_slash: bool) -> String {
    util::aws_uri_encode(input.as_bytes(), keep_slash)
}

/// A SigV4 presigned URL for `uri` (which must be absolute: its authority
/// is the signed `host`), valid for `expires` from `now`, signing only
/// `host` and `UNSIGNED-PAYLOAD`, as `generate_presigned_url` does.
pub fn presign_v4(
    method: &Method,
    uri: &Uri,
    creds: &Credentials,
    now: SystemTime,
    expires: Duration,
) -> Result<Uri, http::Error> {
    let amz_date = util::format_amz_date(now);
    let date = &amz_date[..8];
    let scope = sigv4::scope_string(date, &creds.region, sigv4::SERVICE);
    let enc = |s: &str| util::aws_uri_encode(s.as_bytes(), false);
    let mut query = uri.query().unwrap_or("").to_owned();
    for (k, v) in [
        ("X-Amz-Algorithm", sigv4::ALGORITHM.to_owned()),
        (
            "X-Amz-Credential",
            format!("{}/{}", creds.access_key, scope),
        ),
        ("X-Amz-Date", amz_date.clone()),
        ("X-Amz-Expires", expires.as_secs().to_string()),
        ("X-Amz-SignedHeaders", "host".to_owned()),
    ] {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(k);
        query.push('=');
        query.push_str(&enc(&v));
    }
    let mut headers = HeaderMap::new();
    if let Some(a) = authority_of(uri) {
        headers.insert(http::header::HOST, HeaderValue::from_str(&a)?);
    }
    let signed = vec!["host".to_owned()];
    let params = util::parse_query(&query);
    let canon = CanonicalParts {
        method: method.as_str(),
        query: sigv4::canonical_query(&params, None),
        headers: sigv4::canonical_headers(&headers, None, &signed),
        signed_headers: "host".to_owned(),
        payload_hash: UNSIGNED_PAYLOAD,
    };
    let signature = signature_of(&canon, uri, &amz_date, &scope, creds);
    let path = if uri.path().is_empty() {
        "/"
    } else {
        uri.path()
    };
    query.push_str("&X-Amz-Signature=");
    query.push_str(&signature);
    rebuild(uri, path, &query)
}

pub(crate) fn rebuild(uri: &Uri, path: &str, query: &str) -> Result<Uri, http::Error> {
    let mut b = Uri::builder();
    if let Some(s) = uri.scheme() {
        b = b.scheme(s.clone());
    }
    if let Some(a) = uri.authority() {
        b = b.authority(a.clone());
    }
    b.path_and_query(format!("{path}?{query}")).build()
}
