//! The vendors' SDKs on the S3 protocol: Alibaba OSS (`oss2`) and Tencent
//! COS (`cos-python-sdk-v5`) speak S3's REST model with their own header
//! prefixes, host names, XML conventions and limits. This module adapts a
//! request at the edge so the S3 handlers serve it unchanged, and adapts the
//! response so the SDK parses it as its own service's answer.
//!
//! Which vendor a request speaks ([`Vendor::detect`]) is decided by the
//! signature it carries (`Authorization: OSS …`/`OSS4-HMAC-SHA256 …`,
//! `q-sign-algorithm=…`, or their presigned query forms), read by the auth
//! module's own detection (`auth::claimed_family`), and, for unsigned
//! requests, by the vendor host name. Verification itself stays in
//! `crate::auth`; this module only reads the *claimed* scheme, so a forged
//! claim gains nothing: the signature is still checked.
//!
//! * Request: `x-oss-*`/`x-cos-*` headers that have an S3 twin (metadata,
//!   copy source and its conditions, metadata directive, canned ACL) are
//!   copied to their `x-amz-*` names ([`add_request_twins`]). The vendor
//!   headers stay in place: vendor signatures cover them.
//! * Routing: vendor virtual hosts (`<bucket>.oss-<region>.aliyuncs.com`,
//!   `<bucket>-<appid>.cos.<region>.myqcloud.com`, `<bucket>.<region>.ufileos.com`)
//!   name the bucket ([`bucket_from_vendor_host`], used by the router).
//! * Response headers ([`finish_response`]): user metadata and the request
//!   id come back under the vendor prefix, standard names in the vendor's
//!   case. Response *documents* are spelled for the vendor where they are
//!   written (`XmlWriter::for_vendor`: no S3 namespace, OSS timestamps and
//!   listing fields; `ApiError::into_response`: `<HostId>` / `<TraceId>`).
//! * Limits: multipart parts follow the vendor's minimum
//!   ([`Vendor::min_part_size`]).

use crate::auth::SchemeFamily;
use crate::http::body::Body;
use http::{HeaderMap, HeaderName, HeaderValue, Response};

/// Smallest non-last multipart part Alibaba OSS accepts (100 KiB).
pub const OSS_MIN_PART_SIZE: u64 = 100 * 1024;
/// Smallest non-last multipart part Tencent COS accepts (1 MiB).
pub const COS_MIN_PART_SIZE: u64 = 1024 * 1024;

/// The service a client believes it is talking to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Vendor {
    /// AWS S3 (and every S3 SDK), or no telling sign.
    #[default]
    Aws,
    /// Alibaba Cloud OSS.
    Oss,
    /// Tencent Cloud COS.
    Cos,
}

impl Vendor {
    /// Reads the claimed signature scheme (with the auth module's own
    /// rules, `auth::claimed_family`), then, for an unsigned request, the
    /// host name.
    pub fn detect(uri: &http::Uri, headers: &HeaderMap) -> Vendor {
        match crate::auth::claimed_family(uri, headers) {
            Some(SchemeFamily::Aws) => return Vendor::Aws,
            Some(SchemeFamily::Oss) => return Vendor::Oss,
            Some(SchemeFamily::Cos) => return Vendor::Cos,
            None => {}
        }
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()))
            .unwrap_or("");
        let host = host_name(host);
        if host.ends_with(".aliyuncs.com") {
            Vendor::Oss
        } else if host.ends_with(".myqcloud.com") || host.ends_with(".tencentcos.cn") {
            Vendor::Cos
        } else {
            Vendor::Aws
        }
    }

    /// The vendor's header prefix (`x-oss-`, `x-cos-`), `None` for AWS.
    pub fn prefix(self) -> Option<&'static str> {
        match self {
            Vendor::Aws => None,
            Vendor::Oss => Some("x-oss-"),
            Vendor::Cos => Some("x-cos-"),
        }
    }

    /// The minimum size of a non-last multipart part: the vendor's own,
    /// never above the configured one (which tests lower).
    pub fn min_part_size(self, configured: u64) -> u64 {
        match self {
            Vendor::Aws => configured,
            Vendor::Oss => configured.min(OSS_MIN_PART_SIZE),
            Vendor::Cos => configured.min(COS_MIN_PART_SIZE),
        }
    }
}

/// Lower-cased host without port and trailing dot.
fn host_name(host: &str) -> String {
    let host = if host.starts_with('[') {
        host
    } else {
        match host.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        }
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// The bucket a vendor host name addresses, if it is one:
/// `<bucket>.oss-<region>[-internal].aliyuncs.com` (and the legacy image
/// service `img-<region>`), `<bucket>.{cos,pic,ci}.<region>.myqcloud.com`
/// (also `tencentcos.cn`; the bucket keeps its `-<appid>` suffix), and
/// `<bucket>.<region>.ufileos.com`. Service hosts (`cos.<region>.myqcloud.com`,
/// `oss-<region>.aliyuncs.com`) name no bucket.
pub fn bucket_from_vendor_host(host: &str) -> Option<String> {
    let host = host_name(host);
    let labels = |suffix: &str| -> Option<Vec<String>> {
        let rest = host.strip_suffix(suffix)?;
        Some(rest.split('.').map(str::to_string).collect())
    };
    let bucket = if let Some(l) = labels(".aliyuncs.com") {
        // bucket.oss-cn-hangzhou
        (l.len() == 2 && (l[1].starts_with("oss-") || l[1].starts_with("img-")))
            .then(|| l[0].clone())
    } else if let Some(l) = labels(".myqcloud.com").or_else(|| labels(".tencentcos.cn")) {
        // bucket-appid.cos.ap-guangzhou
        (l.len() == 3 && matches!(l[1].as_str(), "cos" | "pic" | "ci" | "cos-internal"))
            .then(|| l[0].clone())
    } else if let Some(l) = labels(".ufileos.com") {
        // bucket.cn-bj
        (l.len() == 2).then(|| l[0].clone())
    } else {
        None
    };
    bucket.filter(|b| !b.is_empty())
}

/// Vendor header suffixes (after `x-oss-`/`x-cos-`) copied to `x-amz-`.
const TWINS: &[&str] = &[
    "copy-source",
    "copy-source-range",
    "copy-source-if-match",
    "copy-source-if-none-match",
    "copy-source-if-modified-since",
    "copy-source-if-unmodified-since",
    "metadata-directive",
    "tagging",
    "tagging-directive",
];

/// Adds the `x-amz-*` twin of every vendor header that has one (metadata,
/// copy source and conditions, metadata directive, canned ACL), unless the
/// request already carries the S3 header. Values are normalised where the
/// vendor spells them differently (COS `Replaced`, COS copy sources that
/// name the bucket by host, OSS `default` ACL).
pub fn add_request_twins(headers: &mut HeaderMap, vendor: Vendor) {
    let Some(prefix) = vendor.prefix() else {
        return;
    };
    let mut add: Vec<(HeaderName, HeaderValue)> = Vec::new();
    for (name, value) in headers.iter() {
        let Some(suffix) = name.as_str().strip_prefix(prefix) else {
            continue;
        };
        let twin = if suffix.starts_with("meta-") || TWINS.contains(&suffix) {
            suffix
        } else if matches!(suffix, "acl" | "object-acl") {
            "acl"
        } else {
            continue;
        };
        let Ok(twin_name) = HeaderName::from_bytes(format!("x-amz-{twin}").as_bytes()) else {
            continue;
        };
        if headers.contains_key(&twin_name) {
            continue;
        }
        let value = match twin {
            "metadata-directive" | "tagging-directive" => normalise_directive(value),
            "copy-source" => normalise_copy_source(value),
            // `default` means "inherit the bucket's": the same as no header.
            "acl" if value.as_bytes().eq_ignore_ascii_case(b"default") => continue,
            _ => Some(value.clone()),
        };
        if let Some(v) = value {
            add.push((twin_name, v));
        }
    }
    // OSS `x-oss-forbid-overwrite: true`: create only if absent, which is
    // S3's conditional write (the PUT handler answers OSS's 409
    // FileAlreadyExists when the key is taken).
    if vendor == Vendor::Oss
        && headers
            .get("x-oss-forbid-overwrite")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
        && !headers.contains_key(http::header::IF_NONE_MATCH)
    {
        add.push((http::header::IF_NONE_MATCH, HeaderValue::from_static("*")));
    }
    for (n, v) in add {
        headers.append(n, v);
    }
}

/// COS says `Copy`/`Replaced`, S3 `COPY`/`REPLACE`.
fn normalise_directive(v: &HeaderValue) -> Option<HeaderValue> {
    if v.as_bytes().eq_ignore_ascii_case(b"replaced") {
        return Some(HeaderValue::from_static("REPLACE"));
    }
    Some(v.clone())
}

/// COS names the source as `<bucket>.cos.<region>.myqcloud.com/<key>`;
/// S3 (and OSS) as `/<bucket>/<key>`.
fn normalise_copy_source(v: &HeaderValue) -> Option<HeaderValue> {
    let s = v.to_str().ok()?;
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    if let Some((host, key)) = rest.split_once('/') {
        if let Some(bucket) = bucket_from_vendor_host(host) {
            return HeaderValue::from_str(&format!("/{bucket}/{key}")).ok();
        }
    }
    Some(v.clone())
}

/// Adapts a finished response's headers to the vendor the client speaks:
/// metadata and request-id headers under the vendor prefix, standard names
/// in the vendor's case. The documents themselves are already spelled for
/// the vendor (`XmlWriter::for_vendor`, `ApiError::into_response`). AWS
/// responses pass through untouched.
pub async fn finish_response(
    resp: Response<Body>,
    vendor: Vendor,
    request_id: &str,
) -> Response<Body> {
    let Some(prefix) = vendor.prefix() else {
        return resp;
    };
    let (mut parts, body) = resp.into_parts();
    rename_headers(&mut parts.headers, prefix, request_id);
    if let Some(case) = header_case().await {
        parts.extensions.extend(case.clone());
    }
    Response::from_parts(parts, body)
}

/// The spelling the vendors use on the wire for the standard headers.
/// HTTP names are case-insensitive, but the COS SDK copies response headers
/// into a plain `dict` (`response['ETag']`, and its own `download_file`
/// reads `['Content-Length']`), so the case matters to it.
const WIRE_CASE: &[&str] = &[
    "ETag",
    "Content-Length",
    "Content-Type",
    "Content-Range",
    "Content-Encoding",
    "Content-Disposition",
    "Content-Language",
    "Content-MD5",
    "Last-Modified",
    "Accept-Ranges",
    "Cache-Control",
    "Expires",
    "Location",
    "Date",
    "Server",
    "Connection",
];

/// Response extensions that make hyper write [`WIRE_CASE`] names with that
/// case. hyper keeps original header case in a private extension type,
/// which it fills when it parses a message with `preserve_header_case` and
/// honours when it writes a response carrying it; the only public way to
/// obtain one is to have hyper parse a message with those names, so this
/// runs one synthetic exchange over an in-memory pipe, once.
async fn header_case() -> Option<&'static http::Extensions> {
    static CASE: tokio::sync::OnceCell<Option<http::Extensions>> =
        tokio::sync::OnceCell::const_new();
    CASE.get_or_init(parse_case_template).await.as_ref()
}

async fn parse_case_template() -> Option<http::Extensions> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (client_io, mut server_io) = tokio::io::duplex(8192);
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .preserve_header_case(true)
        .handshake::<_, http_body_util::Empty<bytes::Bytes>>(hyper_util::rt::TokioIo::new(
            client_io,
        ))
        .await
        .ok()?;
    let conn = tokio::spawn(conn);
    let peer = async move {
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = server_io.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let mut resp = String::from("HTTP/1.1 200 OK\r\n");
        for name in WIRE_CASE {
            // Content-Length must be a number; the others are not parsed.
            let value = if *name == "Content-Length" { "0" } else { "x" };
            resp.push_str(&format!("{name}: {value}\r\n"));
        }
        resp.push_str("\r\n");
        server_io.write_all(resp.as_bytes()).await.ok()?;
        Some(server_io)
    };
    let req = http::Request::get("/")
        .header(http::header::HOST, "case")
        .body(http_body_util::Empty::new())
        .ok()?;
    let (resp, _peer) = tokio::join!(sender.send_request(req), peer);
    conn.abort();
    let resp = resp.ok()?;
    Some(resp.extensions().clone())
}

/// `x-amz-meta-*` and `x-amz-tagging-count` → `<prefix>meta-*`,
/// `<prefix>tagging-count`; `<prefix>request-id` added.
fn rename_headers(h: &mut HeaderMap, prefix: &str, request_id: &str) {
    let meta: Vec<HeaderName> = h
        .keys()
        .filter(|n| n.as_str().starts_with("x-amz-meta-") || n.as_str() == "x-amz-tagging-count")
        .cloned()
        .collect();
    for name in meta {
        let suffix = &name.as_str()["x-amz-".len()..];
        let values: Vec<HeaderValue> = h.get_all(&name).iter().cloned().collect();
        h.remove(&name);
        if let Ok(n) = HeaderName::from_bytes(format!("{prefix}{suffix}").as_bytes()) {
            for v in values {
                h.append(n.clone(), v);
            }
        }
    }
    if let (Ok(n), Ok(v)) = (
        HeaderName::from_bytes(format!("{prefix}request-id").as_bytes()),
        HeaderValue::from_str(request_id),
    ) {
        h.insert(n, v);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn detects_vendor_by_signature_then_host() {
        let u = |s: &str| s.parse::<http::Uri>().unwrap();
        let cases = [
            ("/b/k", vec![("authorization", "OSS ak:sig")], Vendor::Oss),
            (
                "/b/k",
                vec![("authorization", "OSS4-HMAC-SHA256 Credential=x")],
                Vendor::Oss,
            ),
            (
                "/k",
                vec![("authorization", "q-sign-algorithm=sha1&q-ak=a")],
                Vendor::Cos,
            ),
            (
                "/b/k",
                vec![("authorization", "AWS4-HMAC-SHA256 Credential=x")],
                Vendor::Aws,
            ),
            (
                "/b/k?OSSAccessKeyId=a&Expires=1&Signature=s",
                vec![],
                Vendor::Oss,
            ),
            (
                "/b/k?x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=c",
                vec![],
                Vendor::Oss,
            ),
            ("/k?q-sign-algorithm=sha1&q-ak=a", vec![], Vendor::Cos),
            (
                "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256",
                vec![("host", "b.oss-cn-hangzhou.aliyuncs.com")],
                Vendor::Aws,
            ),
            (
                "/k",
                vec![("host", "b-125.cos.ap-guangzhou.myqcloud.com")],
                Vendor::Cos,
            ),
            (
                "/k",
                vec![("host", "b.oss-cn-hangzhou.aliyuncs.com:80")],
                Vendor::Oss,
            ),
            ("/b/k", vec![("host", "127.0.0.1:9000")], Vendor::Aws),
        ];
        for (uri, hs, want) in cases {
            assert_eq!(Vendor::detect(&u(uri), &headers(&hs)), want, "{uri} {hs:?}");
        }
    }

    #[test]
    fn vendor_hosts_name_buckets() {
        let cases = [
            (
                "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com",
                Some("examplebucket-1250000000"),
            ),
            (
                "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com:8080",
                Some("examplebucket-1250000000"),
            ),
            (
                "b-1250000000.pic.ap-beijing.myqcloud.com",
                Some("b-1250000000"),
            ),
            (
                "b-1250000000.cos.ap-beijing.tencentcos.cn",
                Some("b-1250000000"),
            ),
            ("cos.ap-guangzhou.myqcloud.com", None),
            ("service.cos.myqcloud.com", None),
            ("photos.oss-cn-hangzhou.aliyuncs.com", Some("photos")),
            (
                "Photos.OSS-cn-hangzhou-internal.aliyuncs.com.",
                Some("photos"),
            ),
            ("oss-cn-hangzhou.aliyuncs.com", None),
            ("a.b.oss-cn-hangzhou.aliyuncs.com", None),
            ("ecs.aliyuncs.com", None),
            ("mybucket.cn-bj.ufileos.com", Some("mybucket")),
            ("cn-bj.ufileos.com", None),
            ("127.0.0.1:9000", None),
            ("example.com", None),
        ];
        for (host, want) in cases {
            assert_eq!(bucket_from_vendor_host(host).as_deref(), want, "{host}");
        }
    }

    #[test]
    fn request_twins_are_added_and_normalised() {
        let mut h = headers(&[
            ("x-cos-meta-color", "blue"),
            (
                "x-cos-copy-source",
                "src-1250000000.cos.ap-guangzhou.myqcloud.com/a%20b.jpg",
            ),
            ("x-cos-metadata-directive", "Replaced"),
            ("x-cos-acl", "public-read"),
            ("x-cos-storage-class", "STANDARD"),
            ("x-cos-tagging", "a=1"),
            ("x-cos-tagging-directive", "Replaced"),
        ]);
        add_request_twins(&mut h, Vendor::Cos);
        assert_eq!(h["x-amz-tagging"], "a=1");
        assert_eq!(h["x-amz-tagging-directive"], "REPLACE");
        assert_eq!(h["x-amz-meta-color"], "blue");
        assert_eq!(h["x-amz-copy-source"], "/src-1250000000/a%20b.jpg");
        assert_eq!(h["x-amz-metadata-directive"], "REPLACE");
        assert_eq!(h["x-amz-acl"], "public-read");
        assert!(h.get("x-amz-storage-class").is_none());
        // The vendor headers stay (signatures cover them).
        assert_eq!(h["x-cos-meta-color"], "blue");

        let mut h = headers(&[
            ("x-oss-meta-a", "1"),
            ("x-amz-meta-a", "kept"),
            ("x-oss-copy-source", "/src/k"),
            ("x-oss-copy-source-if-match", "\"e\""),
            ("x-oss-object-acl", "default"),
        ]);
        add_request_twins(&mut h, Vendor::Oss);
        assert_eq!(h["x-amz-meta-a"], "kept");
        assert_eq!(h["x-amz-copy-source"], "/src/k");
        assert_eq!(h["x-amz-copy-source-if-match"], "\"e\"");
        assert!(h.get("x-amz-acl").is_none());
        let mut h = headers(&[("x-oss-forbid-overwrite", "true")]);
        add_request_twins(&mut h, Vendor::Oss);
        assert_eq!(h["if-none-match"], "*");

        // AWS requests are never touched, whatever they carry.
        let mut h = headers(&[("x-oss-meta-a", "1")]);
        add_request_twins(&mut h, Vendor::Aws);
        assert!(h.get("x-amz-meta-a").is_none());
    }

    #[tokio::test]
    async fn header_case_template_is_built() {
        let ext = header_case().await;
        assert!(ext.is_some_and(|e| !e.is_empty()));
    }

    #[test]
    fn response_headers_take_the_vendor_prefix() {
        let mut h = headers(&[
            ("x-amz-meta-color", "blue"),
            ("etag", "\"e\""),
            ("x-amz-tagging-count", "2"),
        ]);
        rename_headers(&mut h, "x-oss-", "RID");
        assert_eq!(h["x-oss-meta-color"], "blue");
        assert_eq!(h["x-oss-tagging-count"], "2");
        assert!(h.get("x-amz-tagging-count").is_none());
        assert!(h.get("x-amz-meta-color").is_none());
        assert_eq!(h["x-oss-request-id"], "RID");
        assert_eq!(h["etag"], "\"e\"");
    }
}
