//! AWS Signature Version 2 for S3: `Authorization: AWS <ak>:<signature>` and
//! presigned `?AWSAccessKeyId=&Expires=&Signature=` URLs, which `aws s3
//! presign` and boto3 still produce for us-east-1.
//!
//! String to sign: `VERB\nContent-MD5\nContent-Type\nDate\n` + the
//! `x-amz-*` headers (lower-case, sorted, `name:value\n`) + the canonical
//! resource (`/bucket/key` plus the sorted S3 sub-resources), signed with
//! HMAC-SHA1 and base64-encoded. `Date` is empty when `x-amz-date` is
//! present, and is the `Expires` value for presigned URLs.
//!
//! Alibaba OSS V1 (`oss.rs`) is the same HMAC-SHA1 scheme with `x-oss-*`
//! headers and its own sub-resource list, so the pieces both verify with
//! (string to sign, signature, `Authorization` and presigned-query parsing,
//! the match over candidates, the sub-resource suffix) live here.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use http::request::Parts;
use http::HeaderMap;

use super::util::{self, QueryParam};
use super::{AuthError, Keyring, Scheme, Verified, MAX_CLOCK_SKEW};

/// The query parameters that are part of the canonical resource, exactly as
/// botocore's `HmacV1Auth.QSAOfInterest` lists them (a superset of the list
/// in the S3 documentation): a parameter a client does not sign must not be
/// signed by us either, so the list follows the most widely used signer.
pub(crate) const SUB_RESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "cors",
    "defaultObjectAcl",
    "location",
    "logging",
    "partNumber",
    "policy",
    "requestPayment",
    "torrent",
    "versioning",
    "versionId",
    "versions",
    "website",
    "uploads",
    "uploadId",
    "response-content-type",
    "response-content-language",
    "response-expires",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "delete",
    "lifecycle",
    "tagging",
    "restore",
    "storageClass",
    "notification",
    "replication",
    "analytics",
    "metrics",
    "inventory",
    "select",
    "select-type",
    "object-lock",
];

/// The canonical resource: `path` (prefixed by `/bucket` for
/// virtual-hosted requests) and the sub-resources of `query`, sorted by name
/// (stable), values percent-decoded.
pub(crate) fn canonical_resource(resource_path: &str, query: &str) -> String {
    let subs = query
        .split('&')
        .filter(|e| !e.is_empty())
        .filter_map(|e| {
            let (name, value) = match e.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (e, None),
            };
            SUB_RESOURCES.contains(&name).then(|| {
                (
                    name.to_owned(),
                    value.map(|v| {
                        String::from_utf8_lossy(&util::percent_decode(v, false)).into_owned()
                    }),
                )
            })
        })
        .collect();
    format!("{resource_path}{}", sub_resource_suffix(subs))
}

/// The sub-resource suffix of a canonical resource: `?a&b=v`, sorted by
/// name (stable); a `None` value gives the bare name, `Some("")` gives
/// `name=`. Empty when there are no sub-resources.
pub(crate) fn sub_resource_suffix(mut subs: Vec<(String, Option<String>)>) -> String {
    subs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (i, (name, value)) in subs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(name);
        if let Some(v) = value {
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

/// Resource paths to try: for virtual-hosted requests `/bucket` + path;
/// for the bucket root botocore signs `/bucket` and the S3 docs `/bucket/`.
fn resource_paths(path: &str, host_bucket: Option<&str>) -> Vec<String> {
    let path = if path.is_empty() { "/" } else { path };
    match host_bucket {
        None => vec![path.to_owned()],
        Some(b) if path == "/" => vec![format!("/{b}/"), format!("/{b}")],
        Some(b) => vec![format!("/{b}{path}")],
    }
}

/// The canonical resources to try (see [`resource_paths`]).
fn resource_candidates(path: &str, host_bucket: Option<&str>, query: &str) -> Vec<String> {
    resource_paths(path, host_bucket)
        .iter()
        .map(|p| canonical_resource(p, query))
        .collect()
}

/// The `x-amz-*` block: lower-case names, sorted, repeated values joined
/// by `,`, each value trimmed; one `name:value\n` per header. `extra`
/// (from a presigned query) overrides headers of the same name.
pub(crate) fn canonical_amz_headers(
    headers: &HeaderMap,
    extra: &BTreeMap<String, String>,
) -> String {
    let mut amz: BTreeMap<String, String> = BTreeMap::new();
    for name in headers.keys() {
        let n = name.as_str();
        if !n.starts_with("x-amz-") {
            continue;
        }
        let joined = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
            .collect::<Vec<_>>()
            .join(",");
        amz.insert(n.to_owned(), joined);
    }
    for (k, v) in extra {
        amz.insert(k.clone(), v.trim().to_owned());
    }
    let mut out = String::new();
    for (k, v) in amz {
        out.push_str(&k);
        out.push(':');
        out.push_str(&v);
        out.push('\n');
    }
    out
}

/// Builds the string to sign from its parts.
pub(crate) fn string_to_sign(
    method: &str,
    content_md5: &str,
    content_type: &str,
    date: &str,
    amz_headers: &str,
    resource: &str,
) -> String {
    format!("{method}\n{content_md5}\n{content_type}\n{date}\n{amz_headers}{resource}")
}

/// `base64(HMAC-SHA1(secret, string_to_sign))`.
#[cfg(any(test, feature = "test-util"))]
pub(crate) fn sign(secret: &str, string_to_sign: &str) -> String {
    BASE64.encode(util::hmac_sha1(
        secret.as_bytes(),
        string_to_sign.as_bytes(),
    ))
}

/// The first `name` header, trimmed; empty when absent.
pub(crate) fn header_text(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
        .unwrap_or_default()
}

/// `Ok` when `provided` is the HMAC-SHA1 of one of the `candidates`
/// strings to sign; otherwise the error carries the first candidate.
pub(crate) fn check(
    secret: &str,
    provided: &[u8],
    candidates: impl IntoIterator<Item = String>,
) -> Result<(), AuthError> {
    let mut first = None;
    for sts in candidates {
        let expected = util::hmac_sha1(secret.as_bytes(), sts.as_bytes());
        if util::ct_eq(&expected, provided) {
            return Ok(());
        }
        first.get_or_insert(sts);
    }
    Err(AuthError::SignatureDoesNotMatch {
        string_to_sign: first.unwrap_or_default(),
    })
}

/// Every (date line, x-amz-* block) variant with every resource candidate.
fn candidates<'a>(
    method: &'a str,
    content_md5: &'a str,
    content_type: &'a str,
    variants: &'a [(String, String)],
    resources: &'a [String],
) -> impl Iterator<Item = String> + 'a {
    variants.iter().flat_map(move |(date, amz_headers)| {
        resources.iter().map(move |resource| {
            string_to_sign(
                method,
                content_md5,
                content_type,
                date,
                amz_headers,
                resource,
            )
        })
    })
}

/// Parses `Authorization: <scheme> <ak>:<base64 HMAC-SHA1>` (`AWS`, `OSS`)
/// into the access key and the decoded signature.
pub(crate) fn parse_authorization<'h>(
    headers: &'h HeaderMap,
    scheme: &str,
) -> Result<(&'h str, Vec<u8>), AuthError> {
    let malformed = |reason: String| AuthError::AuthorizationHeaderMalformed { reason };
    let value = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let rest = value
        .trim()
        .strip_prefix(scheme)
        .and_then(|r| r.strip_prefix(' '))
        .unwrap_or("")
        .trim();
    let (access_key, signature) = rest
        .rsplit_once(':')
        .filter(|(a, s)| !a.is_empty() && !s.is_empty())
        .ok_or_else(|| malformed(format!("expected \"{scheme} AccessKeyId:Signature\"")))?;
    let provided = BASE64
        .decode(signature.as_bytes())
        .ok()
        .filter(|s| s.len() == 20)
        .ok_or_else(|| malformed("the signature is not base64 of an HMAC-SHA1".to_owned()))?;
    Ok((access_key, provided))
}

/// A checked presigned `?<ak param>=&Expires=&Signature=` query.
pub(crate) struct PresignedQuery<'k> {
    /// The access key.
    pub access_key: String,
    /// Its secret, from the keyring.
    pub secret: &'k str,
    /// The `Expires` value, trimmed (the date line of the string to sign).
    pub expires: String,
    /// The decoded signature.
    pub provided: Vec<u8>,
}

/// Parses and checks the presigned parameters (`access_key_param` is
/// `AWSAccessKeyId` or `OSSAccessKeyId`): the access key must be known and
/// `Expires` not past.
pub(crate) fn parse_presigned<'k>(
    params: &[QueryParam],
    access_key_param: &str,
    keyring: &'k Keyring,
    now: SystemTime,
) -> Result<PresignedQuery<'k>, AuthError> {
    let err = |reason: String| AuthError::AuthorizationQueryParametersError { reason };
    let get = |name: &str| util::query_get(params, name).map(QueryParam::value_str);
    let (Some(access_key), Some(expires), Some(signature)) =
        (get(access_key_param), get("Expires"), get("Signature"))
    else {
        return Err(err(format!(
            "Query-string authentication requires the Signature, Expires and {access_key_param} parameters"
        )));
    };
    let expires_at: u64 = expires
        .trim()
        .parse()
        .map_err(|_| err("Expires must be a number of seconds since the epoch".to_owned()))?;
    // A `+` left unencoded in the signature was decoded as a space.
    let signature = signature.replace(' ', "+");
    let provided = BASE64
        .decode(signature.trim().as_bytes())
        .ok()
        .filter(|s| s.len() == 20)
        .ok_or_else(|| err("Signature is not base64 of an HMAC-SHA1".to_owned()))?;

    let secret = keyring.lookup(&access_key)?;
    // `Expires` past what the clock can represent (hundreds of billions of
    // years) is no real URL's: refused rather than overflowing the addition.
    let expiry = UNIX_EPOCH
        .checked_add(Duration::from_secs(expires_at))
        .ok_or_else(|| err(format!("Expires {expires_at} is out of range")))?;
    if now > expiry {
        return Err(AuthError::expired(expiry, now));
    }
    Ok(PresignedQuery {
        access_key: access_key.into_owned(),
        secret,
        expires: expires.trim().to_owned(),
        provided,
    })
}

/// Verifies `Authorization: AWS <ak>:<signature>`.
pub(crate) fn verify_header(
    parts: &Parts,
    host_bucket: Option<&str>,
    keyring: &Keyring,
    now: SystemTime,
) -> Result<Verified, AuthError> {
    let (access_key, provided) = parse_authorization(&parts.headers, "AWS")?;

    let amz_date = parts.headers.get("x-amz-date");
    let date_header = header_text(&parts.headers, "date");
    let request_time = match amz_date {
        Some(v) => v.to_str().ok().and_then(util::parse_http_date),
        None => util::parse_http_date(&date_header),
    }
    .ok_or(AuthError::MissingDate)?;

    let secret = keyring.lookup(access_key)?;
    if util::abs_diff(now, request_time) > MAX_CLOCK_SKEW {
        return Err(AuthError::RequestTimeTooSkewed {
            request_time: util::format_http_date(request_time),
        });
    }

    // With x-amz-date present the S3 docs give two forms (an empty Date
    // line with x-amz-date among the x-amz-* headers, and the x-amz-date
    // value on the Date line instead), and botocore signs its own Date
    // header there. All are signed with the secret, so accept each.
    let amz_block = canonical_amz_headers(&parts.headers, &BTreeMap::new());
    let variants = match amz_date {
        Some(v) => {
            let mut without = parts.headers.clone();
            without.remove("x-amz-date");
            vec![
                (String::new(), amz_block.clone()),
                (date_header, amz_block),
                (
                    String::from_utf8_lossy(v.as_bytes()).trim().to_owned(),
                    canonical_amz_headers(&without, &BTreeMap::new()),
                ),
            ]
        }
        None => vec![(date_header, amz_block)],
    };
    let query = parts.uri.query().unwrap_or("");
    let resources = resource_candidates(parts.uri.path(), host_bucket, query);
    let content_md5 = header_text(&parts.headers, "content-md5");
    let content_type = header_text(&parts.headers, "content-type");
    check(
        secret,
        &provided,
        candidates(
            parts.method.as_str(),
            &content_md5,
            &content_type,
            &variants,
            &resources,
        ),
    )?;

    Verified::user(
        access_key.to_owned(),
        Scheme::SigV2Header,
        None,
        &parts.headers,
    )
}

/// Verifies a presigned `?AWSAccessKeyId=&Expires=&Signature=` URL.
pub(crate) fn verify_query(
    parts: &Parts,
    host_bucket: Option<&str>,
    keyring: &Keyring,
    now: SystemTime,
) -> Result<Verified, AuthError> {
    let query = parts.uri.query().unwrap_or("");
    let params = util::parse_query(query);
    let presigned = parse_presigned(&params, "AWSAccessKeyId", keyring, now)?;

    // botocore moves the signed x-amz-*, Content-Type and Content-MD5
    // headers into the query of a presigned URL; other signers expect them
    // as headers. The query wins when both are present.
    let mut amz_from_query = BTreeMap::new();
    let mut content_md5 = None;
    let mut content_type = None;
    for p in &params {
        let name = p.name_str().to_ascii_lowercase();
        if name.starts_with("x-amz-") {
            amz_from_query.insert(name, p.value_str().into_owned());
        } else if name == "content-md5" {
            content_md5 = Some(p.value_str().into_owned());
        } else if name == "content-type" {
            content_type = Some(p.value_str().into_owned());
        }
    }
    let content_md5 = content_md5.unwrap_or_else(|| header_text(&parts.headers, "content-md5"));
    let content_type = content_type.unwrap_or_else(|| header_text(&parts.headers, "content-type"));

    let variants = [(
        presigned.expires,
        canonical_amz_headers(&parts.headers, &amz_from_query),
    )];
    let resources = resource_candidates(parts.uri.path(), host_bucket, query);
    check(
        presigned.secret,
        &presigned.provided,
        candidates(
            parts.method.as_str(),
            &content_md5,
            &content_type,
            &variants,
            &resources,
        ),
    )?;

    Verified::user(
        presigned.access_key,
        Scheme::SigV2Query,
        None,
        &parts.headers,
    )
}
