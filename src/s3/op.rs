//! The typed S3 operations ([`S3Op`]) and the table that reads one from a
//! request's method, query and routing headers once the front router has
//! found the bucket and key (`crate::front::router`).
//!
//! Everything a handler needs from the URI and the routing headers is parsed
//! and validated here, before any storage call: part numbers, list
//! parameters, the copy source. A request that cannot be routed is refused
//! with a precise 4xx (or 501 for a known S3 feature we do not implement).

use crate::http::error::ApiError;
use crate::http::names::{check_key, decode_path, header_str, validate_bucket_name, RawQuery};
use crate::http::vendor::Vendor;
use http::{HeaderMap, Method};

/// Default and maximum page size of listings.
pub const MAX_LIST_KEYS: usize = 1000;
/// Part numbers are 1..=10000.
pub const MAX_PART_NUMBER: u32 = 10_000;

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
    GetBucketPolicy {
        bucket: String,
    },
    PutBucketPolicy {
        bucket: String,
    },
    DeleteBucketPolicy {
        bucket: String,
    },
    GetBucketCors {
        bucket: String,
    },
    PutBucketCors {
        bucket: String,
    },
    DeleteBucketCors {
        bucket: String,
    },
    GetBucketLifecycleConfiguration {
        bucket: String,
    },
    PutBucketLifecycleConfiguration {
        bucket: String,
    },
    DeleteBucketLifecycle {
        bucket: String,
    },
    GetBucketTagging {
        bucket: String,
    },
    PutBucketTagging {
        bucket: String,
    },
    DeleteBucketTagging {
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
    /// A browser form upload (`POST /bucket`, `multipart/form-data`): the
    /// key, the credentials and the file are in the body, so the front
    /// door authenticates it itself (`front::post`) and runs it as the
    /// PutObject it amounts to.
    PostObject {
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
    GetObjectAcl {
        bucket: String,
        key: String,
    },
    PutObjectAcl {
        bucket: String,
        key: String,
    },
    GetObjectTagging {
        bucket: String,
        key: String,
    },
    PutObjectTagging {
        bucket: String,
        key: String,
    },
    DeleteObjectTagging {
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
            | GetBucketPolicy { bucket }
            | PutBucketPolicy { bucket }
            | DeleteBucketPolicy { bucket }
            | GetBucketCors { bucket }
            | PutBucketCors { bucket }
            | DeleteBucketCors { bucket }
            | GetBucketLifecycleConfiguration { bucket }
            | PutBucketLifecycleConfiguration { bucket }
            | DeleteBucketLifecycle { bucket }
            | GetBucketTagging { bucket }
            | PutBucketTagging { bucket }
            | DeleteBucketTagging { bucket }
            | ListObjects { bucket, .. }
            | ListObjectsV2 { bucket, .. }
            | ListObjectVersions { bucket, .. }
            | ListMultipartUploads { bucket, .. }
            | DeleteObjects { bucket }
            | PostObject { bucket }
            | PutObject { bucket, .. }
            | CopyObject { bucket, .. }
            | GetObject { bucket, .. }
            | HeadObject { bucket, .. }
            | GetObjectAcl { bucket, .. }
            | PutObjectAcl { bucket, .. }
            | GetObjectTagging { bucket, .. }
            | PutObjectTagging { bucket, .. }
            | DeleteObjectTagging { bucket, .. }
            | DeleteObject { bucket, .. }
            | CreateMultipartUpload { bucket, .. }
            | UploadPart { bucket, .. }
            | UploadPartCopy { bucket, .. }
            | CompleteMultipartUpload { bucket, .. }
            | AbortMultipartUpload { bucket, .. }
            | ListParts { bucket, .. } => Some(bucket),
        }
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
            GetBucketPolicy { .. } => "GetBucketPolicy",
            PutBucketPolicy { .. } => "PutBucketPolicy",
            DeleteBucketPolicy { .. } => "DeleteBucketPolicy",
            GetBucketCors { .. } => "GetBucketCors",
            PutBucketCors { .. } => "PutBucketCors",
            DeleteBucketCors { .. } => "DeleteBucketCors",
            GetBucketLifecycleConfiguration { .. } => "GetBucketLifecycleConfiguration",
            PutBucketLifecycleConfiguration { .. } => "PutBucketLifecycleConfiguration",
            DeleteBucketLifecycle { .. } => "DeleteBucketLifecycle",
            GetBucketTagging { .. } => "GetBucketTagging",
            PutBucketTagging { .. } => "PutBucketTagging",
            DeleteBucketTagging { .. } => "DeleteBucketTagging",
            ListObjects { .. } => "ListObjects",
            ListObjectsV2 { .. } => "ListObjectsV2",
            ListObjectVersions { .. } => "ListObjectVersions",
            ListMultipartUploads { .. } => "ListMultipartUploads",
            DeleteObjects { .. } => "DeleteObjects",
            PostObject { .. } => "PostObject",
            PutObject { .. } => "PutObject",
            CopyObject { .. } => "CopyObject",
            GetObject { .. } => "GetObject",
            GetObjectAcl { .. } => "GetObjectAcl",
            PutObjectAcl { .. } => "PutObjectAcl",
            GetObjectTagging { .. } => "GetObjectTagging",
            PutObjectTagging { .. } => "PutObjectTagging",
            DeleteObjectTagging { .. } => "DeleteObjectTagging",
            HeadObject { .. } => "HeadObject",
            DeleteObject { .. } => "DeleteObject",
            CreateMultipartUpload { .. } => "CreateMultipartUpload",
            UploadPart { .. } => "UploadPart",
            UploadPartCopy { .. } => "UploadPartCopy",
            CompleteMultipartUpload { .. } => "CompleteMultipartUpload",
            AbortMultipartUpload { .. } => "AbortMultipartUpload",
            ListParts { .. } => "ListParts",
        }
    }
}

/// Sub-resources of a bucket that S3 has and we do not implement (→ 501).
const UNSUPPORTED_BUCKET_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "analytics",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "website",
    "metadataTable",
    "session",
];
/// Sub-resources of an object that we do not implement (→ 501).
const UNSUPPORTED_OBJECT_SUBRESOURCES: &[&str] = &[
    "attributes",
    "legal-hold",
    "retention",
    "torrent",
    "restore",
    "select",
    "renameObject",
    // Alibaba OSS: `PUT ?symlink` would otherwise store an empty object.
    "symlink",
];

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

pub fn route_service(method: &Method) -> Result<S3Op, ApiError> {
    match *method {
        Method::GET => Ok(S3Op::ListBuckets),
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// Refuses (501) an object request naming a sub-resource S3 has and this
/// server does not implement (`?acl`, `?tagging`...). Checked before any
/// other reading of an object request, the image operations' included.
pub fn refuse_unsupported_object_subresource(q: &RawQuery) -> Result<(), ApiError> {
    match unsupported(q, UNSUPPORTED_OBJECT_SUBRESOURCES) {
        Some(what) => Err(ApiError::NotImplemented(what)),
        None => Ok(()),
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
    "tagging",
    "policy",
    "cors",
    "lifecycle",
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

pub fn route_bucket(method: &Method, bucket: String, q: &RawQuery) -> Result<S3Op, ApiError> {
    if let Some(what) =
        unsupported(q, UNSUPPORTED_BUCKET_SUBRESOURCES).or_else(|| unknown_subresource(q))
    {
        return Err(ApiError::NotImplemented(what));
    }
    let op = match *method {
        Method::GET if q.has("acl") => S3Op::GetBucketAcl { bucket },
        Method::GET if q.has("policy") => S3Op::GetBucketPolicy { bucket },
        Method::PUT if q.has("policy") => S3Op::PutBucketPolicy { bucket },
        Method::DELETE if q.has("policy") => S3Op::DeleteBucketPolicy { bucket },
        _ if q.has("policy") => return Err(ApiError::MethodNotAllowed),
        Method::GET if q.has("cors") => S3Op::GetBucketCors { bucket },
        Method::PUT if q.has("cors") => S3Op::PutBucketCors { bucket },
        Method::DELETE if q.has("cors") => S3Op::DeleteBucketCors { bucket },
        _ if q.has("cors") => return Err(ApiError::MethodNotAllowed),
        Method::GET if q.has("tagging") => S3Op::GetBucketTagging { bucket },
        Method::PUT if q.has("tagging") => S3Op::PutBucketTagging { bucket },
        Method::DELETE if q.has("tagging") => S3Op::DeleteBucketTagging { bucket },
        _ if q.has("tagging") => return Err(ApiError::MethodNotAllowed),
        Method::GET if q.has("lifecycle") => S3Op::GetBucketLifecycleConfiguration { bucket },
        Method::PUT if q.has("lifecycle") => S3Op::PutBucketLifecycleConfiguration { bucket },
        Method::DELETE if q.has("lifecycle") => S3Op::DeleteBucketLifecycle { bucket },
        _ if q.has("lifecycle") => return Err(ApiError::MethodNotAllowed),
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
        Method::POST => S3Op::PostObject { bucket },
        _ => return Err(ApiError::MethodNotAllowed),
    };
    Ok(op)
}

pub fn route_object(
    method: &Method,
    bucket: String,
    key: String,
    q: &RawQuery,
    headers: &HeaderMap,
) -> Result<S3Op, ApiError> {
    refuse_unsupported_object_subresource(q)?;
    let upload_id = q.get("uploadId").map(str::to_string);
    let copy_source = header_str(headers, "x-amz-copy-source")?;
    if q.has("acl") {
        return match *method {
            Method::GET => Ok(S3Op::GetObjectAcl { bucket, key }),
            Method::PUT => Ok(S3Op::PutObjectAcl { bucket, key }),
            _ => Err(ApiError::MethodNotAllowed),
        };
    }
    if q.has("tagging") {
        return match *method {
            Method::GET => Ok(S3Op::GetObjectTagging { bucket, key }),
            Method::PUT => Ok(S3Op::PutObjectTagging { bucket, key }),
            Method::DELETE => Ok(S3Op::DeleteObjectTagging { bucket, key }),
            _ => Err(ApiError::MethodNotAllowed),
        };
    }
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
        (Method::POST, None) => return Err(ApiError::NotImplemented("POST on an object".into())),
        _ => return Err(ApiError::MethodNotAllowed),
    };
    Ok(op)
}
/// Vendor details of an op that the router cannot see: `oss2` sends an
/// empty `continuation-token=` on the first ListObjectsV2 page, which OSS
/// reads as "no token" (S3 refuses it).
pub fn adjust_for_vendor(op: &mut S3Op, vendor: Vendor) {
    if vendor == Vendor::Aws {
        return;
    }
    if let S3Op::ListObjectsV2 { params, .. } = op {
        if params.continuation_token.as_deref() == Some("") {
            params.continuation_token = None;
        }
    }
}
