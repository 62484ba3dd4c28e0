//! Names and addresses as the HTTP layer reads them, before any protocol
//! decision: the decoded query ([`RawQuery`]), bucket-name and key rules,
//! percent-decoding of paths, and the one place a `Host` header names a
//! bucket ([`bucket_from_host`]). Both handler families (S3 and image)
//! validate the names they are given with these functions.

use crate::http::error::ApiError;
use http::HeaderMap;
use percent_encoding::percent_decode_str;

/// Longest key S3 accepts, in bytes.
pub const MAX_KEY_LEN: usize = 1024;

/// The decoded query string, in order; a value-less key (`?acl`,
/// `?imageMogr2/thumbnail/100x`) has value `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawQuery(pub Vec<(String, Option<String>)>);

impl RawQuery {
    /// Parses `a=1&b&c=%20`; `+` means space, as S3 reads query strings.
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut pairs = Vec::new();
        for part in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = match part.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (part, None),
            };
            pairs.push((decode_query(k)?, v.map(decode_query).transpose()?));
        }
        Ok(RawQuery(pairs))
    }

    /// Whether the key is present (with or without a value).
    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// The value of the first occurrence of `key` (`""` for a value-less key).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    /// The value, with an empty string treated as absent.
    pub fn non_empty(&self, key: &str) -> Option<String> {
        self.get(key).filter(|v| !v.is_empty()).map(str::to_string)
    }
}

fn decode_query(s: &str) -> Result<String, ApiError> {
    let plus = s.replace('+', " ");
    percent_decode_str(&plus)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| ApiError::InvalidUri(format!("query component {s:?} is not UTF-8")))
}

/// The bucket a `Host` header names in virtual-host style, given the
/// configured domain (`bucket.s3.local` with domain `s3.local`), or a
/// vendor's host name (`<bucket>-<appid>.cos.<region>.myqcloud.com`, which
/// the COS SDK always sends; `<bucket>.oss-<region>.aliyuncs.com`;
/// `<bucket>.<region>.ufileos.com`, see `vendor::bucket_from_vendor_host`).
/// The port is ignored. This is the one place host → bucket is decided.
pub fn bucket_from_host(host: &str, domain: Option<&str>) -> Option<String> {
    domain
        .and_then(|d| bucket_from_domain(host, d))
        .or_else(|| crate::http::vendor::bucket_from_vendor_host(host))
}

/// `bucket.<domain>` → `bucket`.
fn bucket_from_domain(host: &str, domain: &str) -> Option<String> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let host = strip_port(host).trim_end_matches('.').to_ascii_lowercase();
    let bucket = host.strip_suffix(&domain)?.strip_suffix('.')?;
    (!bucket.is_empty()).then(|| bucket.to_string())
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // IPv6 literal: never a virtual host.
        return host;
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Checks S3's bucket naming rules (the current ones, for new buckets and
/// for addressing).
pub fn validate_bucket_name(name: &str) -> Result<(), ApiError> {
    let bad = |why: &str| Err(ApiError::InvalidBucketName(format!("{name:?}: {why}")));
    if name.len() < 3 || name.len() > 63 {
        return bad("must be 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return bad("only lowercase letters, digits, dots and hyphens are allowed");
    }
    let first = name.as_bytes()[0];
    let last = name.as_bytes()[name.len() - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return bad("must begin and end with a letter or digit");
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return bad("dots must not be adjacent to dots or hyphens");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("must not be formatted as an IP address");
    }
    if name.starts_with("xn--")
        || name.starts_with("sthree-")
        || name.ends_with("-s3alias")
        || name.ends_with("--ol-s3")
        || name.ends_with("--x-s3")
    {
        return bad("uses a reserved prefix or suffix");
    }
    Ok(())
}

pub fn check_key(key: &str) -> Result<(), ApiError> {
    if key.len() > MAX_KEY_LEN {
        return Err(ApiError::KeyTooLong { max: MAX_KEY_LEN });
    }
    Ok(())
}

pub fn decode_path(s: &str) -> Result<String, ApiError> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| ApiError::InvalidUri(format!("path {s:?} is not UTF-8")))
}

pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(Some)
            .map_err(|_| ApiError::InvalidArgument("header", format!("{name} is not ASCII"))),
    }
}
