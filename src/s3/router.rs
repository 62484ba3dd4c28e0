//! Routing: (method, host, path, query, headers) → a typed [`S3Op`].
//!
//! Everything a handler needs from the URI and the routing headers is parsed
//! and validated here, before any storage call: bucket names, key length,
//! part numbers, list parameters, the copy source. A request that cannot be
//! routed is refused with a precise 4xx (or 501 for a known S3 feature we do
//! not implement). The raw query pairs travel with the op in [`Routed`], so
//! extensions (image processing) can look at parameters S3 itself ignores.

use crate::s3::error::ApiError;
use http::{HeaderMap, Method, Uri};
use percent_encoding::percent_decode_str;

/// Longest key S3 accepts, in bytes.
pub const MAX_KEY_LEN: usize = 1024;
/// Default and maximum page size of listings.
pub const MAX_LIST_KEYS: usize = 1000;
/// Part numbers are 1..=10000.
pub const MAX_PART_NUMBER: u32 = 10_000;

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
    fn non_empty(&self, key: &str) -> Option<String> {
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

/// Where a copy reads from (`x-amz-copy-source`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySource {
    /// Source bucket.
    pub bucket: String,
    /// Source key.
    pub key: String,
}

/// ListObjects (V1) parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListV1Params {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub marker: Option<String>,
    pub max_keys: usize,
    /// `encoding-type=url`.
    pub url_encode: bool,
}

/// ListObjectsV2 parameters. The continuation token is still opaque here;
/// the handler decodes and authenticates it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListV2Params {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub continuation_token: Option<String>,
    pub start_after: Option<String>,
    pub max_keys: usize,
    pub url_encode: bool,
    pub fetch_owner: bool,
}

/// ListObjectVersions parameters (`version-id-marker` is meaningless on an
/// unversioned store and ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListVersionsParams {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub key_marker: Option<String>,
    pub max_keys: usize,
    pub url_encode: bool,
}

/// ListMultipartUploads parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadsParams {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub key_marker: Option<String>,
    pub upload_id_marker: Option<String>,
    pub max_uploads: usize,
    pub url_encode: bool,
}

/// A typed S3 operation with everything the URI says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Op {
    ListBuckets,
    CreateBucket {
        bucket: String,
    },
    HeadBucket {
        bucket: String,
    },
    DeleteBucket {
        bucket: String,
    },
    GetBucketLocation {
        bucket: String,
    },
    GetBucketAcl {
        bucket: String,
    },
    /// Alibaba OSS `GET /?bucketInfo`.
    GetBucketInfo {
        bucket: String,
    },
    /// Alibaba OSS `GET /?stat`: object count and bytes stored.
    GetBucketStat {
        bucket: String,
    },
    PutBucketAcl {
        bucket: String,
    },
    GetBucketVersioning {
        bucket: String,
    },
    /// Routed so that it answers 501 with a clear message.
    PutBucketVersioning {
        bucket: String,
    },
    ListObjects {
        bucket: String,
        params: ListV1Params,
    },
    ListObjectsV2 {
        bucket: String,
        params: ListV2Params,
    },
    ListObjectVersions {
        bucket: String,
        params: ListVersionsParams,
    },
    ListMultipartUploads {
        bucket: String,
        params: UploadsParams,
    },
    DeleteObjects {
        bucket: String,
    },
    PutObject {
        bucket: String,
        key: String,
    },
    CopyObject {
        bucket: String,
        key: String,
        source: CopySource,
    },
    GetObject {
        bucket: String,
        key: String,
    },
    HeadObject {
        bucket: String,
        key: String,
    },
    DeleteObject {
        bucket: String,
        key: String,
    },
    CreateMultipartUpload {
        bucket: String,
        key: String,
    },
    UploadPart {
        bucket: String,
        key: String,
        upload_id: String,
        part_number: u32,
    },
    UploadPartCopy {
        bucket: String,
        key: String,
        upload_id: String,
        part_number: u32,
        source: CopySource,
        /// `x-amz-copy-source-range: bytes=a-b`, inclusive.
        range: Option<(u64, u64)>,
    },
    CompleteMultipartUpload {
        bucket: String,
        key: String,
        upload_id: String,
    },
    AbortMultipartUpload {
        bucket: String,
        key: String,
        upload_id: String,
    },
    ListParts {
        bucket: String,
        key: String,
        upload_id: String,
        part_number_marker: u32,
        max_parts: usize,
    },
    /// Image-processing APIs (`?style`, `?iopstyle`,
    /// `?x-imgbucket-image-config` on a bucket; `POST key?x-oss-process`),
    /// handled by `crate::process`. `key` is empty for bucket APIs.
    ImageApi {
        bucket: String,
        key: String,
        method: Method,
    },
    /// Tencent in-cloud processing: `POST /<key>?image_process` with a
    /// `Pic-Operations` header (`crate::process::pic_operations`).
    CosImageProcess {
        bucket: String,
        key: String,
    },
}

impl S3Op {
    /// The bucket the operation addresses, if any.
    pub fn bucket(&self) -> Option<&str> {
        use S3Op::*;
        match self {
            ListBuckets => None,
            CreateBucket { bucket }
            | HeadBucket { bucket }
            | DeleteBucket { bucket }
            | GetBucketLocation { bucket }
            | GetBucketAcl { bucket }
            | GetBucketInfo { bucket }
            | GetBucketStat { bucket }
            | PutBucketAcl { bucket }
            | GetBucketVersioning { bucket }
            | PutBucketVersioning { bucket }
            | ListObjects { bucket, .. }
            | ListObjectsV2 { bucket, .. }
            | ListObjectVersions { bucket, .. }
            | ListMultipartUploads { bucket, .. }
            | DeleteObjects { bucket }
            | PutObject { bucket, .. }
            | CopyObject { bucket, .. }
            | GetObject { bucket, .. }
            | HeadObject { bucket, .. }
            | DeleteObject { bucket, .. }
            | CreateMultipartUpload { bucket, .. }
            | UploadPart { bucket, .. }
            | UploadPartCopy { bucket, .. }
            | CompleteMultipartUpload { bucket, .. }
            | AbortMultipartUpload { bucket, .. }
            | ListParts { bucket, .. }
            | ImageApi { bucket, .. }
            | CosImageProcess { bucket, .. } => Some(bucket),
        }
    }

    /// Whether an anonymous principal may perform this operation on a
    /// `public-read` bucket. Nothing else is ever anonymous.
    pub fn public_read_allows(&self) -> bool {
        matches!(
            self,
            S3Op::GetObject { .. }
                | S3Op::HeadObject { .. }
                | S3Op::ListObjects { .. }
                | S3Op::ListObjectsV2 { .. }
        )
    }

    /// The operation's name as AWS documents it (for logs).
    pub fn name(&self) -> &'static str {
        use S3Op::*;
        match self {
            ListBuckets => "ListBuckets",
            CreateBucket { .. } => "CreateBucket",
            HeadBucket { .. } => "HeadBucket",
            DeleteBucket { .. } => "DeleteBucket",
            GetBucketLocation { .. } => "GetBucketLocation",
            GetBucketAcl { .. } => "GetBucketAcl",
            GetBucketInfo { .. } => "GetBucketInfo",
            GetBucketStat { .. } => "GetBucketStat",
            PutBucketAcl { .. } => "PutBucketAcl",
            GetBucketVersioning { .. } => "GetBucketVersioning",
            PutBucketVersioning { .. } => "PutBucketVersioning",
            ListObjects { .. } => "ListObjects",
            ListObjectsV2 { .. } => "ListObjectsV2",
            ListObjectVersions { .. } => "ListObjectVersions",
            ListMultipartUploads { .. } => "ListMultipartUploads",
            DeleteObjects { .. } => "DeleteObjects",
            PutObject { .. } => "PutObject",
            CopyObject { .. } => "CopyObject",
            GetObject { .. } => "GetObject",
            HeadObject { .. } => "HeadObject",
            DeleteObject { .. } => "DeleteObject",
            CreateMultipartUpload { .. } => "CreateMultipartUpload",
            UploadPart { .. } => "UploadPart",
            UploadPartCopy { .. } => "UploadPartCopy",
            CompleteMultipartUpload { .. } => "CompleteMultipartUpload",
            AbortMultipartUpload { .. } => "AbortMultipartUpload",
            ListParts { .. } => "ListParts",
            ImageApi { .. } => "ImageApi",
            CosImageProcess { .. } => "CosImageProcess",
        }
    }
}

/// A routed request: the op, the decoded query (for extensions), and the
/// resource path used in error documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    pub op: S3Op,
    pub query: RawQuery,
    /// `/bucket/key` as decoded, for `<Resource>`.
    pub resource: String,
    /// The bucket named by the `Host` header (virtual-host style), which
    /// some signature schemes sign differently.
    pub host_bucket: Option<String>,
}

/// Sub-resources of a bucket that S3 has and we do not implement (→ 501).
const UNSUPPORTED_BUCKET_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "analytics",
    "cors",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "lifecycle",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "tagging",
    "website",
    "metadataTable",
    "session",
];
/// Sub-resources of an object that we do not implement (→ 501).
const UNSUPPORTED_OBJECT_SUBRESOURCES: &[&str] = &[
    "acl",
    "attributes",
    "legal-hold",
    "retention",
    "tagging",
    "torrent",
    "restore",
    "select",
    "renameObject",
    // Alibaba OSS: `PUT ?symlink` would otherwise store an empty object.
    "symlink",
];

/// The bucket a `Host` header names in virtual-host style, given the
/// configured domain (`bucket.s3.local` with domain `s3.local`), or a
/// vendor's host name (`<bucket>-<appid>.cos.<region>.myqcloud.com`, which
/// the COS SDK always sends; `<bucket>.oss-<region>.aliyuncs.com`;
/// `<bucket>.<region>.ufileos.com`, see `vendor::bucket_from_vendor_host`).
/// The port is ignored. This is the one place host → bucket is decided.
pub fn bucket_from_host(host: &str, domain: Option<&str>) -> Option<String> {
    domain
        .and_then(|d| bucket_from_domain(host, d))
        .or_else(|| crate::s3::vendor::bucket_from_vendor_host(host))
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

fn check_key(key: &str) -> Result<(), ApiError> {
    if key.len() > MAX_KEY_LEN {
        return Err(ApiError::KeyTooLong { max: MAX_KEY_LEN });
    }
    Ok(())
}

fn decode_path(s: &str) -> Result<String, ApiError> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| ApiError::InvalidUri(format!("path {s:?} is not UTF-8")))
}

/// `max-keys`-style parameter: a non-negative integer, capped.
fn parse_max(q: &RawQuery, name: &'static str, cap: usize) -> Result<usize, ApiError> {
    match q.get(name) {
        None => Ok(cap),
        Some(v) => {
            let v = v.trim();
            if v.starts_with('-') && v.len() > 1 && v[1..].bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::InvalidArgument(
                    name,
                    "must be non-negative".into(),
                ));
            }
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::InvalidArgument(
                    name,
                    format!("{v:?} is not an integer"),
                ));
            }
            // Digits only: a number too large for u64 is simply "a lot".
            Ok(v.parse::<u64>().unwrap_or(u64::MAX).min(cap as u64) as usize)
        }
    }
}

fn parse_encoding(q: &RawQuery) -> Result<bool, ApiError> {
    match q.get("encoding-type") {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("url") => Ok(true),
        Some(v) => Err(ApiError::InvalidArgument(
            "encoding-type",
            format!("invalid encoding type {v:?}"),
        )),
    }
}

/// `partNumber`: an integer in 1..=10000.
fn parse_part_number(q: &RawQuery) -> Result<u32, ApiError> {
    let v = q.get("partNumber").unwrap_or("");
    match v.parse::<u32>() {
        Ok(n) if (1..=MAX_PART_NUMBER).contains(&n) => Ok(n),
        _ => Err(ApiError::InvalidArgument(
            "partNumber",
            format!("Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive (got {v:?})"),
        )),
    }
}

/// `x-amz-copy-source`: URL-encoded `/bucket/key` or `bucket/key`, with an
/// optional `?versionId=null` (the only version an unversioned store has).
pub fn parse_copy_source(raw: &str) -> Result<CopySource, ApiError> {
    let bad = |why: String| ApiError::InvalidArgument("x-amz-copy-source", why);
    let raw = raw.trim();
    let (path, version) = match raw.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (raw, None),
    };
    if let Some(q) = version {
        match q.strip_prefix("versionId=") {
            Some("null") => {}
            _ => {
                return Err(bad(format!(
                    "unsupported version in copy source ({q:?}); only versionId=null exists"
                )))
            }
        }
    }
    let path = path.strip_prefix('/').unwrap_or(path);
    let (b, k) = path
        .split_once('/')
        .ok_or_else(|| bad("must be bucket/key".into()))?;
    let bucket = decode_path(b)?;
    let key = decode_path(k)?;
    if key.is_empty() {
        return Err(bad("must name a key".into()));
    }
    validate_bucket_name(&bucket)?;
    check_key(&key)?;
    Ok(CopySource { bucket, key })
}

/// `x-amz-copy-source-range: bytes=a-b` (both bounds required, a ≤ b).
fn parse_copy_range(v: &str) -> Result<(u64, u64), ApiError> {
    let bad = || {
        ApiError::InvalidArgument(
            "x-amz-copy-source-range",
            format!("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy (got {v:?})"),
        )
    };
    let spec = v.trim().strip_prefix("bytes=").ok_or_else(bad)?;
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    let a: u64 = a.trim().parse().map_err(|_| bad())?;
    let b: u64 = b.trim().parse().map_err(|_| bad())?;
    if a > b {
        return Err(bad());
    }
    Ok((a, b))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(Some)
            .map_err(|_| ApiError::InvalidArgument("header", format!("{name} is not ASCII"))),
    }
}

/// Routes a request. `domain` is the configured virtual-host domain.
pub fn route(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    domain: Option<&str>,
) -> Result<Routed, ApiError> {
    let query = RawQuery::parse(uri.query())?;
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("");
    let path = uri.path();
    let path = path.strip_prefix('/').unwrap_or(path);
    let host_bucket = bucket_from_host(host, domain);
    let (bucket, key) = match host_bucket.clone() {
        Some(b) => (Some(b), decode_path(path)?),
        None => match path.split_once('/') {
            Some((b, k)) => (Some(decode_path(b)?), decode_path(k)?),
            None if path.is_empty() => (None, String::new()),
            None => (Some(decode_path(path)?), String::new()),
        },
    };
    let resource = match &bucket {
        None => "/".to_string(),
        Some(b) if key.is_empty() => format!("/{b}"),
        Some(b) => format!("/{b}/{key}"),
    };
    let op = match bucket {
        None => route_service(method)?,
        Some(bucket) => {
            validate_bucket_name(&bucket)?;
            if key.is_empty() {
                route_bucket(method, bucket, &query)?
            } else {
                check_key(&key)?;
                route_object(method, bucket, key, &query, headers)?
            }
        }
    };
    Ok(Routed {
        op,
        query,
        resource,
        host_bucket,
    })
}

fn route_service(method: &Method) -> Result<S3Op, ApiError> {
    match *method {
        Method::GET => Ok(S3Op::ListBuckets),
        _ => Err(ApiError::MethodNotAllowed),
    }
}

fn unsupported(q: &RawQuery, list: &[&str]) -> Option<String> {
    list.iter()
        .find(|s| q.has(s))
        .map(|s| format!("The ?{s} sub-resource"))
}

/// Value-less keys a bucket request may carry: the sub-resources routed
/// below, and listing parameters written without `=`.
const KNOWN_BUCKET_SUBRESOURCES: &[&str] = &[
    "acl",
    "location",
    "bucketInfo",
    "stat",
    "versioning",
    "versions",
    "uploads",
    "delete",
    "prefix",
    "delimiter",
    "marker",
    "max-keys",
    "encoding-type",
    "continuation-token",
    "start-after",
    "fetch-owner",
    "key-marker",
    "upload-id-marker",
    "max-uploads",
];

/// A sub-resource this router does not know (`?referer`, `?worm`, `?cname`
/// of Alibaba OSS, `?domain` of Tencent COS...): a key without a value, or
/// an all-letters key with an empty one (`oss2` sends `?referer=`; signature
/// and response parameters all have a `-` or a value). Answering such a
/// request as a listing, or a PUT as CreateBucket, would hand the SDK a
/// body it misreads, so it is refused as not implemented instead.
fn unknown_subresource(q: &RawQuery) -> Option<String> {
    let looks_like_subresource = |k: &str, v: &Option<String>| match v {
        None => true,
        Some(v) => v.is_empty() && k.bytes().all(|b| b.is_ascii_alphabetic()),
    };
    q.0.iter()
        .find(|(k, v)| {
            looks_like_subresource(k, v) && !KNOWN_BUCKET_SUBRESOURCES.contains(&k.as_str())
        })
        .map(|(k, _)| format!("The ?{k} sub-resource"))
}

fn route_bucket(method: &Method, bucket: String, q: &RawQuery) -> Result<S3Op, ApiError> {
    if crate::process::is_bucket_api(q) {
        let (key, method) = (String::new(), method.clone());
        return Ok(S3Op::ImageApi {
            bucket,
            key,
            method,
        });
    }
    if let Some(what) =
        unsupported(q, UNSUPPORTED_BUCKET_SUBRESOURCES).or_else(|| unknown_subresource(q))
    {
        return Err(ApiError::NotImplemented(what));
    }
    let op = match *method {
        Method::GET if q.has("acl") => S3Op::GetBucketAcl { bucket },
        Method::GET if q.has("location") => S3Op::GetBucketLocation { bucket },
        Method::GET if q.has("bucketInfo") => S3Op::GetBucketInfo { bucket },
        Method::GET if q.has("stat") => S3Op::GetBucketStat { bucket },
        Method::GET if q.has("versioning") => S3Op::GetBucketVersioning { bucket },
        Method::GET if q.has("versions") => S3Op::ListObjectVersions {
            bucket,
            params: ListVersionsParams {
                prefix: q.get("prefix").unwrap_or("").to_string(),
                delimiter: q.non_empty("delimiter"),
                key_marker: q.non_empty("key-marker"),
                max_keys: parse_max(q, "max-keys", MAX_LIST_KEYS)?,
                url_encode: parse_encoding(q)?,
            },
        },
        Method::GET if q.has("uploads") => S3Op::ListMultipartUploads {
            bucket,
            params: UploadsParams {
                prefix: q.get("prefix").unwrap_or("").to_string(),
                delimiter: q.non_empty("delimiter"),
                key_marker: q.non_empty("key-marker"),
                upload_id_marker: q.non_empty("upload-id-marker"),
                max_uploads: parse_max(q, "max-uploads", MAX_LIST_KEYS)?,
                url_encode: parse_encoding(q)?,
            },
        },
        Method::GET if q.get("list-type") == Some("2") => S3Op::ListObjectsV2 {
            bucket,
            params: ListV2Params {
                prefix: q.get("prefix").unwrap_or("").to_string(),
                delimiter: q.non_empty("delimiter"),
                continuation_token: q.get("continuation-token").map(str::to_string),
                start_after: q.non_empty("start-after"),
                max_keys: parse_max(q, "max-keys", MAX_LIST_KEYS)?,
                url_encode: parse_encoding(q)?,
                fetch_owner: q
                    .get("fetch-owner")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            },
        },
        Method::GET if q.get("list-type").is_some_and(|v| v != "1") => {
            return Err(ApiError::InvalidArgument(
                "list-type",
                "must be 1 or 2".into(),
            ))
        }
        Method::GET => S3Op::ListObjects {
            bucket,
            params: ListV1Params {
                prefix: q.get("prefix").unwrap_or("").to_string(),
                delimiter: q.non_empty("delimiter"),
                marker: q.non_empty("marker"),
                max_keys: parse_max(q, "max-keys", MAX_LIST_KEYS)?,
                url_encode: parse_encoding(q)?,
            },
        },
        Method::HEAD => S3Op::HeadBucket { bucket },
        // The OSS read-only bucket documents.
        _ if q.has("bucketInfo") || q.has("stat") => return Err(ApiError::MethodNotAllowed),
        Method::PUT if q.has("acl") => S3Op::PutBucketAcl { bucket },
        Method::PUT if q.has("versioning") => S3Op::PutBucketVersioning { bucket },
        Method::PUT => S3Op::CreateBucket { bucket },
        Method::DELETE => S3Op::DeleteBucket { bucket },
        Method::POST if q.has("delete") => S3Op::DeleteObjects { bucket },
        Method::POST => {
            return Err(ApiError::NotImplemented(
                "POST on a bucket (browser form upload)".into(),
            ))
        }
        _ => return Err(ApiError::MethodNotAllowed),
    };
    Ok(op)
}

fn route_object(
    method: &Method,
    bucket: String,
    key: String,
    q: &RawQuery,
    headers: &HeaderMap,
) -> Result<S3Op, ApiError> {
    if let Some(what) = unsupported(q, UNSUPPORTED_OBJECT_SUBRESOURCES) {
        return Err(ApiError::NotImplemented(what));
    }
    let upload_id = q.get("uploadId").map(str::to_string);
    let copy_source = header_str(headers, "x-amz-copy-source")?;
    let op = match (method.clone(), upload_id) {
        (Method::GET, Some(upload_id)) => S3Op::ListParts {
            bucket,
            key,
            upload_id,
            part_number_marker: match q.get("part-number-marker") {
                None | Some("") => 0,
                Some(v) => v.parse().map_err(|_| {
                    ApiError::InvalidArgument(
                        "part-number-marker",
                        format!("{v:?} is not an integer"),
                    )
                })?,
            },
            max_parts: parse_max(q, "max-parts", MAX_LIST_KEYS)?,
        },
        (Method::GET, None) => S3Op::GetObject { bucket, key },
        (Method::HEAD, _) => S3Op::HeadObject { bucket, key },
        (Method::PUT, Some(upload_id)) => {
            let part_number = parse_part_number(q)?;
            match copy_source {
                Some(src) => S3Op::UploadPartCopy {
                    bucket,
                    key,
                    upload_id,
                    part_number,
                    source: parse_copy_source(src)?,
                    range: header_str(headers, "x-amz-copy-source-range")?
                        .map(parse_copy_range)
                        .transpose()?,
                },
                None => S3Op::UploadPart {
                    bucket,
                    key,
                    upload_id,
                    part_number,
                },
            }
        }
        (Method::PUT, None) if q.has("partNumber") => {
            return Err(ApiError::InvalidRequest(
                "partNumber requires uploadId".into(),
            ))
        }
        (Method::PUT, None) => match copy_source {
            Some(src) => S3Op::CopyObject {
                bucket,
                key,
                source: parse_copy_source(src)?,
            },
            None => S3Op::PutObject { bucket, key },
        },
        (Method::DELETE, Some(upload_id)) => S3Op::AbortMultipartUpload {
            bucket,
            key,
            upload_id,
        },
        (Method::DELETE, None) => S3Op::DeleteObject { bucket, key },
        (Method::POST, _) if q.has("uploads") => S3Op::CreateMultipartUpload { bucket, key },
        (Method::POST, Some(upload_id)) => S3Op::CompleteMultipartUpload {
            bucket,
            key,
            upload_id,
        },
        (Method::POST, None) if q.has("x-oss-process") => S3Op::ImageApi {
            bucket,
            key,
            method: Method::POST,
        },
        (Method::POST, None) if q.has("image_process") => S3Op::CosImageProcess { bucket, key },
        (Method::POST, None) => return Err(ApiError::NotImplemented("POST on an object".into())),
        _ => return Err(ApiError::MethodNotAllowed),
    };
    Ok(op)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::s3::error::ErrorCode;

    fn r(method: &str, uri: &str) -> Result<S3Op, ErrorCode> {
        r_h(method, uri, &[])
    }

    fn r_h(method: &str, uri: &str, hdrs: &[(&str, &str)]) -> Result<S3Op, ErrorCode> {
        let uri: Uri = uri.parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:9000".parse().unwrap());
        for (k, v) in hdrs {
            headers.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        route(&method.parse().unwrap(), &uri, &headers, Some("s3.local"))
            .map(|r| r.op)
            .map_err(|e| e.code())
    }

    fn b(s: &str) -> String {
        s.to_string()
    }

    #[test]
    fn routing_table() {
        use S3Op::*;
        let bk = || b("bkt");
        let k = |s: &str| b(s);
        let v1 = |max_keys| ListV1Params {
            max_keys,
            ..Default::default()
        };
        let table: Vec<(&str, &str, Result<S3Op, ErrorCode>)> = vec![
            ("GET", "/", Ok(ListBuckets)),
            ("PUT", "/", Err(ErrorCode::MethodNotAllowed)),
            ("PUT", "/bkt", Ok(CreateBucket { bucket: bk() })),
            ("PUT", "/bkt/", Ok(CreateBucket { bucket: bk() })),
            ("HEAD", "/bkt", Ok(HeadBucket { bucket: bk() })),
            ("DELETE", "/bkt", Ok(DeleteBucket { bucket: bk() })),
            ("GET", "/bkt?location", Ok(GetBucketLocation { bucket: bk() })),
            ("GET", "/bkt?bucketInfo", Ok(GetBucketInfo { bucket: bk() })),
            ("GET", "/bkt?stat", Ok(GetBucketStat { bucket: bk() })),
            ("PUT", "/bkt?stat", Err(ErrorCode::MethodNotAllowed)),
            ("GET", "/bkt?acl", Ok(GetBucketAcl { bucket: bk() })),
            ("PUT", "/bkt?acl", Ok(PutBucketAcl { bucket: bk() })),
            ("GET", "/bkt?versioning", Ok(GetBucketVersioning { bucket: bk() })),
            ("PUT", "/bkt?versioning", Ok(PutBucketVersioning { bucket: bk() })),
            ("GET", "/bkt", Ok(ListObjects { bucket: bk(), params: v1(1000) })),
            ("GET", "/bkt?max-keys=5000", Ok(ListObjects { bucket: bk(), params: v1(1000) })),
            ("GET", "/bkt?max-keys=7&marker=m&delimiter=%2F&prefix=a+b", Ok(ListObjects {
                bucket: bk(),
                params: ListV1Params { prefix: b("a b"), delimiter: Some(b("/")), marker: Some(b("m")), max_keys: 7, url_encode: false },
            })),
            ("GET", "/bkt?max-keys=-1", Err(ErrorCode::InvalidArgument)),
            ("GET", "/bkt?max-keys=abc", Err(ErrorCode::InvalidArgument)),
            ("GET", "/bkt?encoding-type=base64", Err(ErrorCode::InvalidArgument)),
            ("GET", "/bkt?list-type=3", Err(ErrorCode::InvalidArgument)),
            ("GET", "/bkt?list-type=2&continuation-token=abc&start-after=x&fetch-owner=true&encoding-type=url", Ok(ListObjectsV2 {
                bucket: bk(),
                params: ListV2Params {
                    prefix: b(""), delimiter: None, continuation_token: Some(b("abc")), start_after: Some(b("x")),
                    max_keys: 1000, url_encode: true, fetch_owner: true,
                },
            })),
            ("GET", "/bkt?versions&key-marker=k", Ok(ListObjectVersions {
                bucket: bk(),
                params: ListVersionsParams { key_marker: Some(b("k")), max_keys: 1000, ..Default::default() },
            })),
            ("GET", "/bkt?uploads", Ok(ListMultipartUploads {
                bucket: bk(),
                params: UploadsParams { max_uploads: 1000, ..Default::default() },
            })),
            ("POST", "/bkt?delete", Ok(DeleteObjects { bucket: bk() })),
            ("POST", "/bkt", Err(ErrorCode::NotImplemented)),
            ("GET", "/bkt?cors", Err(ErrorCode::NotImplemented)),
            ("GET", "/bkt?referer", Err(ErrorCode::NotImplemented)),
            ("PUT", "/bkt?worm", Err(ErrorCode::NotImplemented)),
            ("PUT", "/bkt?referer=", Err(ErrorCode::NotImplemented)),
            ("GET", "/bkt?q-url-param-list=&q-header-list=", Ok(ListObjects {
                bucket: bk(),
                params: ListV1Params { prefix: b(""), delimiter: None, marker: None, max_keys: 1000, url_encode: false },
            })),
            ("GET", "/bkt?prefix&max-keys=3", Ok(ListObjects {
                bucket: bk(),
                params: ListV1Params { prefix: b(""), delimiter: None, marker: None, max_keys: 3, url_encode: false },
            })),
            ("PUT", "/bkt?lifecycle", Err(ErrorCode::NotImplemented)),
            ("GET", "/bkt/a/b%20c.jpg", Ok(GetObject { bucket: bk(), key: k("a/b c.jpg") })),
            ("GET", "/bkt/a%2Fb", Ok(GetObject { bucket: bk(), key: k("a/b") })),
            ("GET", "/bkt//lead", Ok(GetObject { bucket: bk(), key: k("/lead") })),
            ("HEAD", "/bkt/k", Ok(HeadObject { bucket: bk(), key: k("k") })),
            ("PUT", "/bkt/k", Ok(PutObject { bucket: bk(), key: k("k") })),
            ("DELETE", "/bkt/k", Ok(DeleteObject { bucket: bk(), key: k("k") })),
            ("GET", "/bkt/k?tagging", Err(ErrorCode::NotImplemented)),
            ("GET", "/bkt/k?x-oss-process=image/resize,w_10", Ok(GetObject { bucket: bk(), key: k("k") })),
            ("GET", "/bkt/k?imageMogr2/thumbnail/10x", Ok(GetObject { bucket: bk(), key: k("k") })),
            ("POST", "/bkt/k?uploads", Ok(CreateMultipartUpload { bucket: bk(), key: k("k") })),
            ("PUT", "/bkt/k?partNumber=3&uploadId=U", Ok(UploadPart { bucket: bk(), key: k("k"), upload_id: b("U"), part_number: 3 })),
            ("PUT", "/bkt/k?partNumber=0&uploadId=U", Err(ErrorCode::InvalidArgument)),
            ("PUT", "/bkt/k?partNumber=10001&uploadId=U", Err(ErrorCode::InvalidArgument)),
            ("PUT", "/bkt/k?partNumber=x&uploadId=U", Err(ErrorCode::InvalidArgument)),
            ("PUT", "/bkt/k?partNumber=1", Err(ErrorCode::InvalidRequest)),
            ("POST", "/bkt/k?uploadId=U", Ok(CompleteMultipartUpload { bucket: bk(), key: k("k"), upload_id: b("U") })),
            ("DELETE", "/bkt/k?uploadId=U", Ok(AbortMultipartUpload { bucket: bk(), key: k("k"), upload_id: b("U") })),
            ("GET", "/bkt/k?uploadId=U&max-parts=2&part-number-marker=1", Ok(ListParts {
                bucket: bk(), key: k("k"), upload_id: b("U"), part_number_marker: 1, max_parts: 2,
            })),
            ("GET", "/bkt/k?uploadId=U&part-number-marker=z", Err(ErrorCode::InvalidArgument)),
            ("GET", "/Bad_Bucket/k", Err(ErrorCode::InvalidBucketName)),
            ("PUT", "/ab", Err(ErrorCode::InvalidBucketName)),
            ("PUT", "/192.168.1.1", Err(ErrorCode::InvalidBucketName)),
            ("PUT", "/..", Err(ErrorCode::InvalidBucketName)),
            ("GET", "/bkt/%FF", Err(ErrorCode::InvalidURI)),
            ("OPTIONS", "/bkt/k", Err(ErrorCode::MethodNotAllowed)),
        ];
        for (m, uri, want) in table {
            assert_eq!(r(m, uri), want, "{m} {uri}");
        }
        let long = format!("/bkt/{}", "k".repeat(1025));
        assert_eq!(r("PUT", &long), Err(ErrorCode::KeyTooLongError));
        let ok = format!("/bkt/{}", "k".repeat(1024));
        assert!(r("PUT", &ok).is_ok());
    }

    #[test]
    fn copy_routes() {
        use S3Op::*;
        let src = CopySource {
            bucket: b("src"),
            key: b("a b/c"),
        };
        assert_eq!(
            r_h("PUT", "/bkt/k", &[("x-amz-copy-source", "/src/a%20b/c")]),
            Ok(CopyObject {
                bucket: b("bkt"),
                key: b("k"),
                source: src.clone()
            })
        );
        assert_eq!(
            r_h(
                "PUT",
                "/bkt/k",
                &[("x-amz-copy-source", "src/a%20b/c?versionId=null")]
            ),
            Ok(CopyObject {
                bucket: b("bkt"),
                key: b("k"),
                source: src.clone()
            })
        );
        assert_eq!(
            r_h(
                "PUT",
                "/bkt/k",
                &[("x-amz-copy-source", "src/k?versionId=abc")]
            ),
            Err(ErrorCode::InvalidArgument)
        );
        assert_eq!(
            r_h("PUT", "/bkt/k", &[("x-amz-copy-source", "src")]),
            Err(ErrorCode::InvalidArgument)
        );
        assert_eq!(
            r_h(
                "PUT",
                "/bkt/k?uploadId=U&partNumber=2",
                &[
                    ("x-amz-copy-source", "src/a%20b/c"),
                    ("x-amz-copy-source-range", "bytes=0-9")
                ]
            ),
            Ok(UploadPartCopy {
                bucket: b("bkt"),
                key: b("k"),
                upload_id: b("U"),
                part_number: 2,
                source: src,
                range: Some((0, 9))
            })
        );
        assert_eq!(
            r_h(
                "PUT",
                "/bkt/k?uploadId=U&partNumber=2",
                &[
                    ("x-amz-copy-source", "src/x"),
                    ("x-amz-copy-source-range", "bytes=9-0")
                ]
            ),
            Err(ErrorCode::InvalidArgument)
        );
    }

    #[test]
    fn virtual_host_style() {
        let uri: Uri = "/photos/cat.jpg?x=1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", "bkt.s3.local:9000".parse().unwrap());
        let routed = route(&Method::GET, &uri, &headers, Some("s3.local")).unwrap();
        assert_eq!(
            routed.op,
            S3Op::GetObject {
                bucket: b("bkt"),
                key: b("photos/cat.jpg")
            }
        );
        assert_eq!(routed.query.get("x"), Some("1"));
        assert_eq!(routed.resource, "/bkt/photos/cat.jpg");
        headers.insert("host", "s3.local".parse().unwrap());
        let routed = route(
            &Method::GET,
            &"/".parse().unwrap(),
            &headers,
            Some("s3.local"),
        )
        .unwrap();
        assert_eq!(routed.op, S3Op::ListBuckets);
        assert_eq!(
            bucket_from_host("My.Bkt.S3.Local.", Some("s3.local")),
            Some(b("my.bkt"))
        );
        assert_eq!(bucket_from_host("bkt.other.local", Some("s3.local")), None);
        assert_eq!(bucket_from_host("xs3.local", Some("s3.local")), None);
        assert_eq!(bucket_from_host("bkt.s3.local", None), None);
        assert_eq!(bucket_from_host("[::1]:9000", Some("s3.local")), None);
    }

    #[test]
    fn raw_query_keeps_valueless_keys() {
        let q = RawQuery::parse(Some(
            "imageMogr2/thumbnail/!50p&x-oss-process=image%2Fresize%2Cw_1&e=",
        ))
        .unwrap();
        assert_eq!(q.0[0], (b("imageMogr2/thumbnail/!50p"), None));
        assert_eq!(q.get("x-oss-process"), Some("image/resize,w_1"));
        assert_eq!(q.get("e"), Some(""));
        assert!(!q.has("nope"));
    }

    #[test]
    fn anonymous_permission_table() {
        // Only reads of objects and key listings may ever be anonymous.
        let table = [
            ("GET", "/", false),
            ("GET", "/bkt", true),
            ("GET", "/bkt?list-type=2", true),
            ("GET", "/bkt?versions", false),
            ("GET", "/bkt?uploads", false),
            ("GET", "/bkt?acl", false),
            ("GET", "/bkt?location", false),
            ("HEAD", "/bkt", false),
            ("PUT", "/bkt", false),
            ("DELETE", "/bkt", false),
            ("POST", "/bkt?delete", false),
            ("GET", "/bkt/k", true),
            ("HEAD", "/bkt/k", true),
            ("PUT", "/bkt/k", false),
            ("DELETE", "/bkt/k", false),
            ("POST", "/bkt/k?uploads", false),
            ("GET", "/bkt/k?uploadId=U", false),
        ];
        for (m, uri, anon) in table {
            let op = r(m, uri).unwrap();
            assert_eq!(op.public_read_allows(), anon, "{m} {uri}");
        }
        assert_eq!(
            r("GET", "/bkt?max-keys=99999999999999999999999").map(|o| match o {
                S3Op::ListObjects { params, .. } => params.max_keys,
                _ => 0,
            }),
            Ok(1000)
        );
        assert_eq!(
            r("GET", "/bkt?max-keys=").map(|_| ()),
            Err(ErrorCode::InvalidArgument)
        );
        assert_eq!(
            r("GET", "/bkt?max-keys=1e3").map(|_| ()),
            Err(ErrorCode::InvalidArgument)
        );
    }

    #[test]
    fn bucket_names() {
        for ok in ["abc", "my.bucket-1", "a".repeat(63).as_str(), "1bucket"] {
            assert!(validate_bucket_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "ABC",
            "a_b",
            "-abc",
            "abc-",
            "a..b",
            "a.-b",
            "10.0.0.1",
            "xn--abc",
            "b-s3alias",
            &"a".repeat(64),
        ] {
            assert!(validate_bucket_name(bad).is_err(), "{bad}");
        }
    }
}
