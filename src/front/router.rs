//! The one router: (method, host, path, query, headers) → the whole
//! operation, an [`Op`], decided once before anything touches storage.
//!
//! The host and path name the bucket and key (`http::names`); the image
//! operations are recognised first where they share a resource with S3
//! (`images::op`: a bucket's style APIs, an object POST with
//! `x-oss-process` or `image_process`, a GET or HEAD whose query speaks a
//! dialect, parsed into a typed directive here); everything else is read by
//! the S3 table (`s3::op`). An `OPTIONS` to a bucket or an object is a
//! CORS preflight, whose questions are read here too. A request that
//! cannot be routed is refused with a precise 4xx (or 501 for a known S3
//! feature we do not implement), before authentication, like any malformed
//! request.

use crate::http::cors::Preflight;
use crate::http::error::ApiError;
use crate::http::names::{
    bucket_from_host, check_key, decode_path, validate_bucket_name, RawQuery,
};
use crate::images::op::{self as image_op, ImageOp};
use crate::s3::op::{self as s3_op, S3Op};
use http::{HeaderMap, Method, Uri};

/// A whole operation: which handler family serves it, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// An S3 operation.
    S3(S3Op),
    /// An image operation.
    Image(ImageOp),
    /// An S3 upload (PutObject or CompleteMultipartUpload) carrying
    /// Tencent `Pic-Operations` rules: the S3 handler stores the object,
    /// then the rules run on it (`http::hook`).
    Upload(S3Op),
    /// The admin API (`/-/admin/...`).
    Admin(super::admin::AdminOp),
    /// The server's own unauthenticated endpoints (`/-/health/...`).
    Server(super::health::ServerOp),
    /// A CORS preflight (`OPTIONS`) to a bucket or one of its objects:
    /// answered from the bucket's rules, without credentials.
    Preflight {
        /// The bucket whose rules answer.
        bucket: String,
        /// What the browser asks.
        preflight: Preflight,
    },
}

impl Op {
    /// The operation's name (for logs).
    pub fn name(&self) -> &'static str {
        match self {
            Op::S3(op) | Op::Upload(op) => op.name(),
            Op::Image(op) => op.name(),
            Op::Admin(op) => op.name(),
            Op::Server(op) => op.name(),
            Op::Preflight { .. } => "PreflightCors",
        }
    }

    /// The bucket the operation addresses, if any.
    pub fn bucket(&self) -> Option<&str> {
        match self {
            Op::S3(op) | Op::Upload(op) => op.bucket(),
            Op::Image(op) => Some(op.bucket()),
            Op::Preflight { bucket, .. } => Some(bucket),
            Op::Admin(_) | Op::Server(_) => None,
        }
    }
}

/// A routed request: the op, the decoded query (for extensions), and the
/// resource path used in error documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    pub op: Op,
    pub query: RawQuery,
    /// `/bucket/key` as decoded, for `<Resource>`.
    pub resource: String,
    /// The bucket named by the `Host` header (virtual-host style), which
    /// some signature schemes sign differently.
    pub host_bucket: Option<String>,
}

/// Routes a request. `domain` is the configured virtual-host domain.
pub fn route(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    domain: Option<&str>,
) -> Result<Routed, ApiError> {
    let query = RawQuery::parse(uri.query())?;
    let Addressed {
        host_bucket,
        bucket,
        key,
        server_path,
    } = addressed(uri, headers, domain)?;
    if let Some(rest) = server_path {
        let op = match super::health::route(method, &rest) {
            Some(op) => Op::Server(op?),
            None => Op::Admin(super::admin::route(method, &rest, &query)?),
        };
        return Ok(Routed {
            op,
            query,
            resource: format!("/-/{rest}"),
            host_bucket: None,
        });
    }
    let resource = match &bucket {
        None => "/".to_string(),
        Some(b) if key.is_empty() => format!("/{b}"),
        Some(b) => format!("/{b}/{key}"),
    };
    let op = match bucket {
        None => Op::S3(s3_op::route_service(method)?),
        Some(bucket) => {
            validate_bucket_name(&bucket)?;
            if *method == Method::OPTIONS {
                if !key.is_empty() {
                    check_key(&key)?;
                }
                Op::Preflight {
                    bucket,
                    preflight: Preflight::from_headers(headers)?,
                }
            } else if key.is_empty() {
                route_bucket(method, bucket, &query)?
            } else {
                check_key(&key)?;
                let raw_query = uri.query().unwrap_or("");
                route_object(method, bucket, key, &query, raw_query, headers)?
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

/// What the host and path address, decoded.
struct Addressed {
    /// The bucket named by the `Host` header (virtual-host style).
    host_bucket: Option<String>,
    /// The bucket, from the host or the path's first segment.
    bucket: Option<String>,
    /// The key (empty: the bucket itself).
    key: String,
    /// The rest of a path under `/-/` (the server's own, not S3), as sent.
    server_path: Option<String>,
}

fn addressed(uri: &Uri, headers: &HeaderMap, domain: Option<&str>) -> Result<Addressed, ApiError> {
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("");
    let path = uri.path();
    let path = path.strip_prefix('/').unwrap_or(path);
    let host_bucket = bucket_from_host(host, domain);
    // `-` cannot begin a bucket name: `/-/` is the server's own.
    if let (None, Some(rest)) = (&host_bucket, path.strip_prefix("-/")) {
        return Ok(Addressed {
            host_bucket: None,
            bucket: None,
            key: String::new(),
            server_path: Some(rest.to_string()),
        });
    }
    let (bucket, key) = match host_bucket.clone() {
        Some(b) => (Some(b), decode_path(path)?),
        None => match path.split_once('/') {
            Some((b, k)) => (Some(decode_path(b)?), decode_path(k)?),
            None if path.is_empty() => (None, String::new()),
            None => (Some(decode_path(path)?), String::new()),
        },
    };
    Ok(Addressed {
        host_bucket,
        bucket,
        key,
        server_path: None,
    })
}

/// The valid bucket name a request addresses, found as [`route`] finds
/// it; for a request [`route`] refused, whose error response still gets
/// the bucket's CORS headers. `None` for the service root and for paths
/// that name no valid bucket (`/-/...`, say).
pub fn addressed_bucket(uri: &Uri, headers: &HeaderMap, domain: Option<&str>) -> Option<String> {
    addressed(uri, headers, domain)
        .ok()?
        .bucket
        .filter(|b| validate_bucket_name(b).is_ok())
}

fn route_bucket(method: &Method, bucket: String, q: &RawQuery) -> Result<Op, ApiError> {
    if let Some(op) = image_op::route_bucket(method, &bucket, q) {
        return Ok(Op::Image(op));
    }
    Ok(Op::S3(s3_op::route_bucket(method, bucket, q)?))
}

fn route_object(
    method: &Method,
    bucket: String,
    key: String,
    q: &RawQuery,
    raw_query: &str,
    headers: &HeaderMap,
) -> Result<Op, ApiError> {
    s3_op::refuse_unsupported_object_subresource(q)?;
    if *method == Method::POST {
        if let Some(op) = image_op::route_object_post(&bucket, &key, q) {
            return Ok(Op::Image(op));
        }
    }
    let op = s3_op::route_object(method, bucket, key, q, headers)?;
    match op {
        S3Op::GetObject { bucket, key } | S3Op::HeadObject { bucket, key } => {
            match image_op::route_processing(&bucket, &key, raw_query)? {
                Some(image) => Ok(Op::Image(image)),
                None if *method == Method::HEAD => Ok(Op::S3(S3Op::HeadObject { bucket, key })),
                None => Ok(Op::S3(S3Op::GetObject { bucket, key })),
            }
        }
        S3Op::PutObject { .. } | S3Op::CompleteMultipartUpload { .. }
            if headers.contains_key(crate::images::pic_operations::HEADER) =>
        {
            Ok(Op::Upload(op))
        }
        other => Ok(Op::S3(other)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::http::error::ErrorCode;
    use crate::http::names::bucket_from_host;
    use crate::s3::op::*;

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
        match route(&method.parse().unwrap(), &uri, &headers, Some("s3.local")) {
            Ok(Routed {
                op: Op::S3(op) | Op::Upload(op),
                ..
            }) => Ok(op),
            Ok(other) => panic!("{method} {uri}: not an S3 op: {:?}", other.op),
            Err(e) => Err(e.code()),
        }
    }

    /// Routes a request that must be an image operation.
    fn image(method: &str, uri: &str) -> ImageOp {
        let mut h = HeaderMap::new();
        h.insert("host", "127.0.0.1:9000".parse().unwrap());
        match route(&method.parse().unwrap(), &uri.parse().unwrap(), &h, None) {
            Ok(Routed {
                op: Op::Image(op), ..
            }) => op,
            other => panic!("{method} {uri}: not an image op: {other:?}"),
        }
    }

    #[test]
    fn image_apis_are_routed_to_the_image_handlers() {
        use crate::images::op::BucketApi;
        for (m, uri) in [
            ("PUT", "/bkt?style&styleName=a"),
            ("GET", "/bkt?style"),
            ("GET", "/bkt?style=bkt&styleName=a"),
            ("DELETE", "/bkt?style"),
        ] {
            assert!(
                matches!(
                    image(m, uri),
                    ImageOp::BucketApi {
                        api: BucketApi::Style,
                        ..
                    }
                ),
                "{m} {uri}"
            );
        }
        assert!(matches!(
            image("PUT", "/bkt?iopstyle&styleName=a"),
            ImageOp::BucketApi {
                api: BucketApi::IopStyle,
                ..
            }
        ));
        assert!(matches!(
            image("GET", "/bkt?x-imgbucket-image-config"),
            ImageOp::BucketApi {
                api: BucketApi::ImageConfig,
                ..
            }
        ));
        assert!(matches!(
            image("POST", "/bkt/k.jpg?x-oss-process"),
            ImageOp::SaveAs { .. }
        ));
        assert!(matches!(
            image("POST", "/bkt/k.jpg?image_process"),
            ImageOp::CosImageProcess { .. }
        ));
        // A processing GET or HEAD is decided here, its string parsed.
        use dialects::Dialect::{Cos, Oss, Us3};
        for (m, uri, want) in [
            ("GET", "/bkt/k.jpg?x-oss-process=image/info", Oss),
            ("HEAD", "/bkt/k.jpg?imageMogr2/thumbnail/100x", Cos),
            ("GET", "/bkt/k.jpg?iopcmd=thumbnail&type=4&width=10", Us3),
            // (These two were GetObject rows of the S3 table while image
            // processing was a hook inside GetObject.)
            ("GET", "/bkt/k.jpg?x-oss-process=image/resize,w_10", Oss),
            ("GET", "/bkt/k.jpg?imageMogr2/thumbnail/10x", Cos),
        ] {
            match image(m, uri) {
                ImageOp::Process {
                    bucket,
                    key,
                    dialect,
                    directive,
                    through_style,
                } => {
                    assert!(!through_style, "{uri}");
                    assert_eq!(
                        (bucket.as_str(), key.as_str(), dialect),
                        ("bkt", "k.jpg", want)
                    );
                    assert!(
                        matches!(directive, dialects::Directive::Pipeline(_)),
                        "{uri}"
                    );
                }
                other => panic!("{uri}: {other:?}"),
            }
        }
        assert!(matches!(
            image("GET", "/bkt/k.jpg?x-oss-process=style/small"),
            ImageOp::Process {
                directive: dialects::Directive::Style(_),
                through_style: true,
                ..
            }
        ));
        // A string that does not parse is refused here, in its envelope.
        let mut h = HeaderMap::new();
        h.insert("host", "127.0.0.1:9000".parse().unwrap());
        let refused = route(
            &Method::GET,
            &"/bkt/k.jpg?x-oss-process=image/slim,1".parse().unwrap(),
            &h,
            None,
        );
        assert!(matches!(refused, Err(ApiError::Image(_))), "{refused:?}");
        // Plain reads, multipart POSTs and uploads stay S3.
        assert!(matches!(r("GET", "/bkt/k.jpg"), Ok(S3Op::GetObject { .. })));
        assert!(matches!(
            r("HEAD", "/bkt/k.jpg"),
            Ok(S3Op::HeadObject { .. })
        ));
        assert!(matches!(r("GET", "/bkt"), Ok(S3Op::ListObjects { .. })));
        assert!(matches!(
            r("POST", "/bkt/k.jpg?uploads&x-oss-process"),
            Ok(S3Op::CreateMultipartUpload { .. })
        ));
    }

    #[test]
    fn uploads_with_pic_operations_carry_their_rules() {
        let mut h = HeaderMap::new();
        h.insert("host", "127.0.0.1:9000".parse().unwrap());
        h.insert("pic-operations", "{}".parse().unwrap());
        for (m, uri) in [("PUT", "/bkt/k.jpg"), ("POST", "/bkt/k.jpg?uploadId=u1")] {
            let routed = route(&m.parse().unwrap(), &uri.parse().unwrap(), &h, None).unwrap();
            assert!(matches!(routed.op, Op::Upload(_)), "{m} {uri}");
        }
        let routed = route(&Method::GET, &"/bkt/k.jpg".parse().unwrap(), &h, None).unwrap();
        assert!(matches!(routed.op, Op::S3(S3Op::GetObject { .. })));
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
            ("POST", "/bkt", Ok(PostObject { bucket: bk() })),
            ("GET", "/bkt?cors", Ok(GetBucketCors { bucket: bk() })),
            ("PUT", "/bkt?cors", Ok(PutBucketCors { bucket: bk() })),
            ("DELETE", "/bkt?cors", Ok(DeleteBucketCors { bucket: bk() })),
            ("POST", "/bkt?cors", Err(ErrorCode::MethodNotAllowed)),
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
            ("GET", "/bkt?lifecycle", Ok(GetBucketLifecycleConfiguration { bucket: bk() })),
            ("PUT", "/bkt?lifecycle", Ok(PutBucketLifecycleConfiguration { bucket: bk() })),
            ("DELETE", "/bkt?lifecycle", Ok(DeleteBucketLifecycle { bucket: bk() })),
            ("POST", "/bkt?lifecycle", Err(ErrorCode::MethodNotAllowed)),
            ("GET", "/bkt?website", Err(ErrorCode::NotImplemented)),
            ("GET", "/bkt?tagging", Ok(GetBucketTagging { bucket: bk() })),
            ("PUT", "/bkt?tagging", Ok(PutBucketTagging { bucket: bk() })),
            ("DELETE", "/bkt?tagging", Ok(DeleteBucketTagging { bucket: bk() })),
            ("POST", "/bkt?tagging", Err(ErrorCode::MethodNotAllowed)),
            ("GET", "/bkt/a/b%20c.jpg", Ok(GetObject { bucket: bk(), key: k("a/b c.jpg") })),
            ("GET", "/bkt/a%2Fb", Ok(GetObject { bucket: bk(), key: k("a/b") })),
            ("GET", "/bkt//lead", Ok(GetObject { bucket: bk(), key: k("/lead") })),
            ("HEAD", "/bkt/k", Ok(HeadObject { bucket: bk(), key: k("k") })),
            ("PUT", "/bkt/k", Ok(PutObject { bucket: bk(), key: k("k") })),
            ("DELETE", "/bkt/k", Ok(DeleteObject { bucket: bk(), key: k("k") })),
            ("GET", "/bkt/k?tagging", Ok(GetObjectTagging { bucket: bk(), key: k("k") })),
            ("PUT", "/bkt/k?tagging", Ok(PutObjectTagging { bucket: bk(), key: k("k") })),
            ("DELETE", "/bkt/k?tagging", Ok(DeleteObjectTagging { bucket: bk(), key: k("k") })),
            ("POST", "/bkt/k?tagging", Err(ErrorCode::MethodNotAllowed)),
            ("GET", "/bkt/k?retention", Err(ErrorCode::NotImplemented)),
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
            ("OPTIONS", "/", Err(ErrorCode::MethodNotAllowed)),
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
    fn options_is_a_cors_preflight() {
        let preflight = |host: &str, uri: &str, hdrs: &[(&str, &str)]| {
            let mut h = HeaderMap::new();
            h.insert("host", host.parse().unwrap());
            for (k, v) in hdrs {
                h.insert(
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            route(
                &Method::OPTIONS,
                &uri.parse().unwrap(),
                &h,
                Some("s3.local"),
            )
            .map(|r| r.op)
            .map_err(|e| e.code())
        };
        let asks = [
            ("origin", "http://a.example"),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "Content-Type"),
        ];
        let want = Op::Preflight {
            bucket: b("bkt"),
            preflight: Preflight {
                origin: b("http://a.example"),
                method: b("PUT"),
                headers: vec![b("content-type")],
            },
        };
        for (host, uri) in [
            ("127.0.0.1:9000", "/bkt/a/b.jpg"),
            ("127.0.0.1:9000", "/bkt"),
            (
                "127.0.0.1:9000",
                "/bkt/k.jpg?x-oss-process=image/resize,w_10",
            ),
            ("bkt.s3.local", "/a/b.jpg"),
            ("bkt.s3.local", "/"),
        ] {
            assert_eq!(
                preflight(host, uri, &asks),
                Ok(want.clone()),
                "{host} {uri}"
            );
        }
        assert_eq!(
            preflight("127.0.0.1:9000", "/bkt/k", &[]),
            Err(ErrorCode::BadRequest)
        );
        assert_eq!(
            preflight("127.0.0.1:9000", "/bkt/k", &asks[..1]),
            Err(ErrorCode::BadRequest)
        );
        // The server's own paths (`/-/`) are never preflights: the console
        // (same origin, no CORS) reads only, elsewhere there is nothing.
        assert_eq!(
            preflight("127.0.0.1:9000", "/-/console", &asks),
            Err(ErrorCode::MethodNotAllowed)
        );
        assert_eq!(
            preflight("127.0.0.1:9000", "/-/nothing", &asks),
            Err(ErrorCode::NoSuchResource)
        );
        let mut h = HeaderMap::new();
        h.insert("host", "127.0.0.1:9000".parse().unwrap());
        assert_eq!(
            addressed_bucket(&"/bkt/k".parse().unwrap(), &h, None),
            Some(b("bkt"))
        );
        assert_eq!(addressed_bucket(&"/-/x".parse().unwrap(), &h, None), None);
        assert_eq!(addressed_bucket(&"/".parse().unwrap(), &h, None), None);
    }

    #[test]
    fn virtual_host_style() {
        let uri: Uri = "/photos/cat.jpg?x=1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", "bkt.s3.local:9000".parse().unwrap());
        let routed = route(&Method::GET, &uri, &headers, Some("s3.local")).unwrap();
        assert_eq!(
            routed.op,
            Op::S3(S3Op::GetObject {
                bucket: b("bkt"),
                key: b("photos/cat.jpg")
            })
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
        assert_eq!(routed.op, Op::S3(S3Op::ListBuckets));
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
    fn list_limits_are_capped() {
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
