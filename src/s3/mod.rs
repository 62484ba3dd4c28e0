//! The S3 protocol layer: one request in, one response out.
//!
//! Flow of [`handle`]: give the request an id → [`router::route`] it to a
//! typed [`router::S3Op`] → authenticate (the `auth` module, via
//! [`authn`]) → authorize the op for the caller → run the op's handler
//! against [`storage::Store`] → on any failure, render the [`ApiError`] once.
//! Handlers see a verified [`body::RequestBody`], never hyper's body type.

pub mod authn;
pub mod body;
pub mod error;
mod handlers;
pub mod headers;
pub mod router;
pub mod token;
pub mod vendor;
pub mod xml;

pub use error::{ApiError, ErrorCode};

use crate::config::Limits;
use body::{Body, RequestBody};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use router::{RawQuery, S3Op};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use storage::{CannedAcl, Store};

/// Protocol-level settings, parsed once at the edge.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// The region this server claims (`us-east-1` by default).
    pub region: String,
    /// Virtual-host domain: `bucket.<domain>` addresses `bucket`.
    pub domain: Option<String>,
    /// Size limits.
    pub limits: Limits,
}

/// Who is making the request, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No credentials: only reads of `public-read` buckets.
    Anonymous,
    /// A known access key; this single-tenant server gives it everything.
    User {
        /// The access key id that signed the request.
        access_key: String,
    },
}

/// The owner shown in listings and ACLs.
#[derive(Debug, Clone)]
pub struct Owner {
    /// Canonical user id (hex).
    pub id: String,
    /// Display name.
    pub display_name: String,
}

/// Everything a request handler may use: the store and settings. Built once
/// at start-up, shared by all connections.
pub struct AppState {
    /// The storage engine.
    pub store: Arc<dyn Store>,
    /// Protocol settings.
    pub config: S3Config,
    /// Keys the auth module verifies signatures against.
    pub keyring: authn::Keyring,
    pub(crate) owner: Owner,
    pub(crate) token_key: token::TokenKey,
    /// Image processing (styles, variants cache, executor pool).
    pub(crate) process: crate::process::Processor,
}

impl AppState {
    /// Builds the state. `credentials` are (access key, secret key) pairs;
    /// the first one is the owner shown in listings.
    pub fn new(store: Arc<dyn Store>, config: S3Config, credentials: &[(String, String)]) -> Self {
        use sha2::Digest;
        let first = credentials.first().cloned().unwrap_or_default();
        let id = hex::encode(sha2::Sha256::digest(
            format!("imgbucket owner {}", first.0).as_bytes(),
        ));
        AppState {
            store,
            owner: Owner {
                id,
                display_name: "imgbucket".into(),
            },
            token_key: token::TokenKey::derive(first.1.as_bytes()),
            // Any region is accepted in signatures: clients pick all sorts
            // of defaults, and the signature is checked against it anyway.
            keyring: authn::Keyring::new(credentials.iter().cloned(), None),
            config,
            process: crate::process::Processor::new(Default::default(), None),
        }
    }

    /// Replaces the image-processing settings; `cache_dir` holds processed
    /// variants (`None`: no disk cache).
    pub fn with_processing(
        mut self,
        config: crate::config::ProcessingConfig,
        cache_dir: Option<std::path::PathBuf>,
    ) -> Self {
        self.process = crate::process::Processor::new(config, cache_dir);
        self
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What a handler gets besides the op and the body.
pub(crate) struct Ctx<'a> {
    pub state: &'a AppState,
    pub headers: &'a HeaderMap,
    pub query: &'a RawQuery,
    pub caller: Caller,
    /// The undecoded query string (image-processing parameters are parsed
    /// from it, as the vendors sign and encode them).
    pub raw_query: &'a str,
    /// This request's id (for error envelopes that carry it in the body).
    pub request_id: &'a str,
    /// The vendor whose SDK sent the request (its limits apply).
    pub vendor: vendor::Vendor,
}

impl Ctx<'_> {
    /// A response document spelled for the client's vendor.
    pub(crate) fn xml(&self) -> xml::XmlWriter {
        xml::XmlWriter::for_vendor(self.vendor)
    }
}

/// The result type of handlers.
pub(crate) type ApiResult = Result<Response<Body>, ApiError>;

/// A response with an XML document body.
pub(crate) fn xml_response(status: StatusCode, doc: bytes::Bytes) -> Response<Body> {
    let mut r = Response::new(body::full(doc));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    r
}

/// A response with a status and no body.
pub(crate) fn empty_response(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(body::empty());
    *r.status_mut() = status;
    r
}

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A request id: 16 upper-case hex digits, unique within the process and
/// unlikely to repeat across restarts (random high bits).
fn new_request_id() -> String {
    static PREFIX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let prefix = *PREFIX.get_or_init(|| {
        let mut b = [0u8; 4];
        let _ = getrandom::fill(&mut b);
        u32::from_le_bytes(b)
    });
    let n = REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:08X}{:08X}", prefix, n as u32)
}

/// Serves one HTTP request. Never fails: errors become S3 error responses.
pub async fn handle<B>(state: Arc<AppState>, req: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    let started = Instant::now();
    let request_id = new_request_id();
    let (mut parts, incoming) = req.into_parts();
    let is_head = parts.method == Method::HEAD;
    // OSS/COS SDKs: their `x-oss-*`/`x-cos-*` headers get `x-amz-*` twins
    // before routing; the response is adapted back at the end.
    let vendor = vendor::Vendor::detect(&parts.uri, &parts.headers);
    vendor::add_request_twins(&mut parts.headers, vendor);
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let site = |resource| error::ErrorSite {
        resource,
        request_id: &request_id,
        host: &host,
    };
    let (op_name, mut resp) = match router::route(
        &parts.method,
        &parts.uri,
        &parts.headers,
        state.config.domain.as_deref(),
    ) {
        Err(e) => (
            "-",
            e.into_response(&site(parts.uri.path()), vendor, is_head),
        ),
        Ok(mut routed) => {
            vendor::adjust_op(&mut routed.op, vendor);
            let name = routed.op.name();
            let resource = routed.resource.clone();
            match serve(&state, &parts, routed, incoming, &request_id, vendor).await {
                Ok(r) => (name, r),
                Err(e) => (name, e.into_response(&site(&resource), vendor, is_head)),
            }
        }
    };
    let status = resp.status();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-amz-request-id", v.clone());
        // S3's extended id; clients only log it.
        h.insert("x-amz-id-2", v);
    }
    h.insert(http::header::SERVER, HeaderValue::from_static("imgbucket"));
    // An error may be answered before the request body was read (a failed
    // precondition, a refused upload). hyper then closes the connection
    // rather than read a body nobody wants; saying so keeps a client from
    // sending its next request down a connection that is about to die.
    if status_may_leave_body_unread(status) && declares_body(&parts.headers) {
        h.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    let resp = vendor::finish_response(resp, vendor, &request_id).await;
    tracing::info!(
        request_id,
        method = %parts.method,
        uri = %parts.uri,
        op = op_name,
        status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    resp
}

/// Error statuses: the handler may have stopped before reading the body.
fn status_may_leave_body_unread(status: http::StatusCode) -> bool {
    status.is_client_error() || status.is_server_error()
}

/// Whether the request announced a body (a non-zero length, or chunks).
fn declares_body(headers: &http::HeaderMap) -> bool {
    headers.contains_key(http::header::TRANSFER_ENCODING)
        || headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

async fn serve<B>(
    state: &AppState,
    parts: &http::request::Parts,
    routed: router::Routed,
    incoming: B,
    request_id: &str,
    vendor: vendor::Vendor,
) -> ApiResult
where
    B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    let (caller, body) =
        authn::authenticate(state, parts, routed.host_bucket.as_deref(), incoming)?;
    authorize(state, &caller, &routed.op).await?;
    let cx = Ctx {
        state,
        headers: &parts.headers,
        query: &routed.query,
        caller,
        raw_query: parts.uri.query().unwrap_or(""),
        request_id,
        vendor,
    };
    dispatch(cx, routed.op, body).await
}

/// The access rule: a user may do anything; an anonymous caller may only
/// read objects and list keys of a `public-read` bucket.
async fn authorize(state: &AppState, caller: &Caller, op: &S3Op) -> Result<(), ApiError> {
    match caller {
        Caller::User { .. } => Ok(()),
        Caller::Anonymous => {
            let Some(bucket) = op.bucket().filter(|_| op.public_read_allows()) else {
                return Err(ApiError::AccessDenied);
            };
            match state.store.bucket(bucket).await {
                Ok(info) if info.acl == CannedAcl::PublicRead => Ok(()),
                // Do not reveal whether a private bucket exists.
                _ => Err(ApiError::AccessDenied),
            }
        }
    }
}

async fn dispatch(cx: Ctx<'_>, op: S3Op, body: RequestBody) -> ApiResult {
    use handlers::{bucket, list, multipart, object};
    use S3Op::*;
    match op {
        ListBuckets => bucket::list_buckets(&cx).await,
        CreateBucket { bucket } => bucket::create_bucket(&cx, body, &bucket).await,
        HeadBucket { bucket } => bucket::head_bucket(&cx, &bucket).await,
        DeleteBucket { bucket } => bucket::delete_bucket(&cx, &bucket).await,
        GetBucketLocation { bucket } => bucket::get_location(&cx, &bucket).await,
        GetBucketAcl { bucket } => bucket::get_acl(&cx, &bucket).await,
        GetBucketInfo { bucket } => bucket::get_info(&cx, &bucket).await,
        GetBucketStat { bucket } => bucket::get_stat(&cx, &bucket).await,
        PutBucketAcl { bucket } => bucket::put_acl(&cx, body, &bucket).await,
        GetBucketVersioning { bucket } => bucket::get_versioning(&cx, &bucket).await,
        PutBucketVersioning { bucket } => bucket::put_versioning(&cx, &bucket).await,
        ListObjects { bucket, params } => list::list_v1(&cx, &bucket, params).await,
        ListObjectsV2 { bucket, params } => list::list_v2(&cx, &bucket, params).await,
        ListObjectVersions { bucket, params } => list::list_versions(&cx, &bucket, params).await,
        ListMultipartUploads { bucket, params } => {
            multipart::list_uploads(&cx, &bucket, params).await
        }
        DeleteObjects { bucket } => object::delete_objects(&cx, body, &bucket).await,
        PutObject { bucket, key } => object::put_object(&cx, body, &bucket, &key).await,
        CopyObject {
            bucket,
            key,
            source,
        } => object::copy_object(&cx, &bucket, &key, &source).await,
        // Image processing: a GetObject with processing parameters (or a
        // style separator, or source protection) is answered by `process`.
        GetObject { bucket, key } => {
            match crate::process::intercept_get(&cx, &bucket, &key).await {
                Some(r) => r,
                None => object::get_object(&cx, &bucket, &key, false).await,
            }
        }
        ImageApi {
            bucket,
            key,
            method,
        } => crate::process::handle_api(&cx, method, body, &bucket, &key).await,
        CosImageProcess { bucket, key } => {
            crate::process::pic_operations::image_process(&cx, body, &bucket, &key).await
        }
        // The same hook: hyper sends no body for HEAD, the headers are those
        // of the processed variant.
        HeadObject { bucket, key } => {
            match crate::process::intercept_get(&cx, &bucket, &key).await {
                Some(r) => r,
                None => object::get_object(&cx, &bucket, &key, true).await,
            }
        }
        DeleteObject { bucket, key } => object::delete_object(&cx, &bucket, &key).await,
        CreateMultipartUpload { bucket, key } => multipart::create(&cx, &bucket, &key).await,
        UploadPart {
            bucket,
            key,
            upload_id,
            part_number,
        } => multipart::upload_part(&cx, body, &bucket, &key, &upload_id, part_number).await,
        UploadPartCopy {
            bucket,
            key,
            upload_id,
            part_number,
            source,
            range,
        } => {
            multipart::upload_part_copy(&cx, &bucket, &key, &upload_id, part_number, &source, range)
                .await
        }
        CompleteMultipartUpload {
            bucket,
            key,
            upload_id,
        } => multipart::complete(&cx, body, &bucket, &key, &upload_id).await,
        AbortMultipartUpload {
            bucket,
            key,
            upload_id,
        } => multipart::abort(&cx, &bucket, &key, &upload_id).await,
        ListParts {
            bucket,
            key,
            upload_id,
            part_number_marker,
            max_parts,
        } => {
            multipart::list_parts(
                &cx,
                &bucket,
                &key,
                &upload_id,
                part_number_marker,
                max_parts,
            )
            .await
        }
    }
}
