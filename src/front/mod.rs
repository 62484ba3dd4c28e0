//! The front door: every request comes in here and leaves as one response.
//!
//! The request line, drawn once:
//! 1. [`handle`] gives the request an id, reads which vendor's SDK is
//!    speaking (`http::vendor`) and adds the `x-amz-*` twins of its headers;
//! 2. [`router::route`] decides the whole operation from method, host,
//!    path, query and headers: an [`Op`] (an S3 op, an image op with its
//!    processing string parsed, or an S3 upload carrying `Pic-Operations`);
//! 3. [`authn::authenticate`] verifies the signature and wraps the body;
//! 4. a GET naming a style through a bucket's separator becomes an image
//!    op (the settings come from memory, see `images::settings`), then
//!    [`authorize`] decides, in this one place, what the caller may do;
//! 5. [`dispatch`] runs the S3 handlers (`crate::s3`) or the image
//!    handlers (`crate::images`), siblings that never import each other;
//!    an upload's processing rules are prepared here and handed to the S3
//!    write path as an `http::hook::UploadHook`;
//! 6. any error is rendered once, in its envelope (`ApiError::into_response`);
//! 7. a request with `Origin` gets its bucket's CORS headers on whatever
//!    response it produced, errors included ([`cors::decorate`]).
//!
//! A CORS preflight (`OPTIONS`) leaves the line after step 2: it carries no
//! credentials and is answered from the bucket's rules ([`cors::preflight`]).
//! A browser form upload (`POST /bucket`) takes a detour for steps 3 to 5
//! (`post`): its credentials are form fields, read before it is
//! authenticated, then authorized here as a PutObject; its response is
//! decorated with CORS headers like any other.

pub mod access_log;
pub mod admin;
pub mod authn;
pub mod console;
pub mod cors;
pub mod health;
mod post;
pub mod router;

pub use crate::http::S3Config;

use crate::access::policy::Target;
use crate::access::{Action, Ask, Decision, Guard, ObjectRule};
use crate::http::body::{Body, RequestBody};
use crate::http::error::{ApiError, ErrorSite};
use crate::http::vendor::{self, Vendor};
use crate::http::{ApiResult, Caller, Ctx};
use crate::images::op::ImageOp;
use crate::images::{ImageService, ProcessError, Processor};
use crate::s3::op::S3Op;
use crate::s3::S3State;
use http::{HeaderValue, Method, Request, Response};
use router::Op;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use storage::Store;

/// Everything a request may use, built once at start-up and shared by all
/// connections: each handler family's state and the keys signatures are
/// checked against.
pub struct AppState {
    /// The storage engine (the same one both families hold).
    pub store: Arc<dyn Store>,
    /// Protocol settings.
    pub config: S3Config,
    /// Users and their keys, which signatures are verified against.
    pub users: Arc<crate::users::Users>,
    /// The S3 handlers' state.
    pub s3: S3State,
    /// The image handlers' state.
    pub images: ImageService,
    /// The buckets' CORS rules, kept in memory, and the server's default.
    pub cors: cors::CorsRules,
    /// Bucket owners, ACLs and policies, and the access decision.
    pub access: Arc<Guard>,
    /// How the lifecycle sweeper runs (`None`: it does not, on this node);
    /// `server::run` starts it.
    pub lifecycle: Option<crate::lifecycle::SweepSettings>,
    /// The readiness check of `/-/health/ready` and its remembered answer.
    pub readiness: health::Readiness,
    /// The request metrics of `/-/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// `[metrics] token`: the bearer token `/-/metrics` asks for.
    pub metrics_token: Option<String>,
    /// Gateway mode: the backend client's metrics.
    pub backend_metrics: Option<crate::gateway::BackendMetrics>,
}

impl AppState {
    /// Builds the state. `admin_key` is the admin's (access key, secret key)
    /// pair; more users come with [`AppState::with_users`].
    pub fn new(store: Arc<dyn Store>, config: S3Config, admin_key: (String, String)) -> Self {
        let users = Arc::new(crate::users::Users::new(store.clone(), admin_key.clone()));
        let access = Arc::new(Guard::new(store.clone(), None));
        AppState {
            s3: S3State::new(
                store.clone(),
                config.clone(),
                &admin_key,
                users.clone(),
                access.clone(),
            ),
            images: ImageService::new(
                store.clone(),
                config.clone(),
                Processor::new(Default::default(), None),
                access.clone(),
            ),
            users,
            cors: cors::CorsRules::default(),
            access,
            lifecycle: None,
            readiness: health::Readiness::default(),
            metrics: crate::metrics::Metrics::new(),
            metrics_token: None,
            backend_metrics: None,
            store,
            config,
        }
    }

    /// Replaces the image-processing settings; `cache_dir` holds processed
    /// variants (`None`: no disk cache).
    pub fn with_processing(
        mut self,
        config: crate::config::ProcessingConfig,
        cache_dir: Option<std::path::PathBuf>,
    ) -> Self {
        self.images = ImageService::new(
            self.store.clone(),
            self.config.clone(),
            Processor::new(config, cache_dir),
            self.access.clone(),
        );
        self
    }
}

impl AppState {
    /// Replaces the user registry (the config file's users, a TTL in
    /// gateway mode); it must hold the same admin.
    pub fn with_users(mut self, users: crate::users::Users) -> Self {
        let users = Arc::new(users);
        self.s3.users = users.clone();
        self.users = users;
        self
    }

    /// Bounds how long in-memory copies of bucket settings are trusted
    /// (gateway mode: other nodes change them too).
    pub fn with_settings_ttl(mut self, ttl: Option<std::time::Duration>) -> Self {
        self.access = Arc::new(Guard::new(self.store.clone(), ttl));
        self.s3.access = self.access.clone();
        self.images.set_settings_ttl(ttl, self.access.clone());
        self.cors = self.cors.with_ttl(ttl);
        self
    }

    /// Runs the lifecycle sweeper with these settings (`None`: not here).
    pub fn with_lifecycle(mut self, settings: Option<crate::lifecycle::SweepSettings>) -> Self {
        self.lifecycle = settings;
        self
    }

    /// How `/-/health/ready` asks the store (`[health]`).
    pub fn with_health(mut self, config: crate::config::HealthConfig) -> Self {
        self.readiness = health::Readiness::new(config);
        self
    }

    /// Who may read `/-/metrics` (`[metrics]`).
    pub fn with_metrics(mut self, config: crate::config::MetricsConfig) -> Self {
        self.metrics_token = config.token.filter(|t| !t.is_empty());
        self
    }

    /// Gateway mode: adds the backend client's metrics to `/-/metrics`.
    pub fn with_backend_metrics(mut self, m: Option<crate::gateway::BackendMetrics>) -> Self {
        self.backend_metrics = m;
        self
    }

    /// The CORS rule of buckets without a configuration of their own
    /// (`[cors]` in the config file, already checked).
    pub fn with_cors_default(mut self, rule: Option<crate::http::cors::CorsRule>) -> Self {
        self.cors = self.cors.with_default(rule);
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
    // Hex-encoded directly: `format!` with two width-padded arguments cost
    // most of a microsecond on every request.
    let id = (u64::from(prefix) << 32) | (n & 0xFFFF_FFFF);
    hex::encode_upper(id.to_be_bytes())
}

/// The `Host` header as text (empty when absent or not ASCII).
fn host_header(headers: &http::HeaderMap) -> &str {
    headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The answer on a connection over `[http] max_connections`: 503
/// `SlowDown` in the envelope of the client's vendor, which SDKs retry
/// with back-off. The request is not routed; nothing is read or stored.
pub fn refuse_connection<B>(req: &Request<B>) -> Response<Body> {
    let request_id = new_request_id();
    let site = ErrorSite {
        resource: req.uri().path(),
        request_id: &request_id,
        host: host_header(req.headers()),
    };
    let vendor = Vendor::detect(req.uri(), req.headers());
    ApiError::SlowDown("too many connections open (max_connections)".into()).into_response(
        &site,
        vendor,
        req.method() == Method::HEAD,
    )
}

/// Serves one HTTP request. Never fails: errors become error responses.
pub async fn handle<B>(state: Arc<AppState>, req: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    let started = Instant::now();
    let request_id = new_request_id();
    let (mut parts, incoming) = req.into_parts();
    let bytes_in = Arc::new(AtomicU64::new(0));
    let incoming = access_log::Counted::new(incoming, bytes_in.clone());
    let mut caller = None;
    let is_head = parts.method == Method::HEAD;
    // OSS/COS SDKs: their `x-oss-*`/`x-cos-*` headers get `x-amz-*` twins
    // before routing; the response is adapted back at the end.
    let vendor = Vendor::detect(&parts.uri, &parts.headers);
    vendor::add_request_twins(&mut parts.headers, vendor);
    let host = host_header(&parts.headers).to_string();
    let site = |resource| ErrorSite {
        resource,
        request_id: &request_id,
        host: &host,
    };
    let domain = state.config.domain.as_deref();
    let routed = router::route(&parts.method, &parts.uri, &parts.headers, domain);
    // The bucket whose CORS rules decorate the response (step 7). A
    // preflight answers with its own headers; a request the router
    // refused still names its bucket, if validly.
    let cors_bucket = match &routed {
        _ if !parts.headers.contains_key(http::header::ORIGIN) => None,
        _ if parts.method == Method::OPTIONS => None,
        Ok(r) => r.op.bucket().map(str::to_string),
        Err(_) => router::addressed_bucket(&parts.uri, &parts.headers, domain),
    };
    let mut bucket = None;
    let mut family = "s3";
    let (op_name, mut resp) = match routed {
        Err(e) => (
            "-",
            e.into_response(&site(parts.uri.path()), vendor, is_head),
        ),
        Ok(mut routed) => {
            if let Op::S3(op) | Op::Upload(op) = &mut routed.op {
                crate::s3::op::adjust_for_vendor(op, vendor);
            }
            let name = routed.op.name();
            let resource = routed.resource.clone();
            bucket = routed.op.bucket().map(str::to_string);
            family = match &routed.op {
                Op::Image(_) => "image",
                Op::Admin(_) => "admin",
                Op::Server(_) => "server",
                Op::S3(_) | Op::Upload(_) | Op::Preflight { .. } => "s3",
            };
            let served = serve(
                &state,
                &parts,
                routed,
                incoming,
                &request_id,
                vendor,
                &mut caller,
            );
            match served.await {
                Ok(r) => (name, r),
                Err(e) => (name, e.into_response(&site(&resource), vendor, is_head)),
            }
        }
    };
    if let Some(bucket) = cors_bucket {
        cors::decorate(
            &state.cors,
            &*state.store,
            &bucket,
            &parts.method,
            &parts.headers,
            resp.headers_mut(),
        )
        .await;
    }
    let status = resp.status();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-amz-request-id", v.clone());
        // S3's extended id; clients only log it.
        h.insert("x-amz-id-2", v);
    }
    h.insert(http::header::SERVER, HeaderValue::from_static("imgbucket"));
    // Never on an object (a key may begin `-/console/` in a virtual-hosted bucket).
    if bucket.is_none() {
        console::secure(parts.uri.path(), h);
    }
    // An error may be answered before the request body was read (a failed
    // precondition, a refused upload). hyper then closes the connection
    // rather than read a body nobody wants; saying so keeps a client from
    // sending its next request down a connection that is about to die.
    //
    // A request that asks for `100 Continue` but declares no body gets its
    // final answer without one: hyper's body reader is already at its
    // end, so there is nothing to continue. botocore adds the expectation
    // to every file-like body, empty ones too, and the copy inside aws-cli
    // takes such an answer for an early final response: it keeps its
    // status line for the connection's next response, misreads that one's
    // headers and waits for the idle timeout (`aws s3 sync` stalled 30 s
    // after an empty file). Closing resets its per-connection state.
    let body_declared = declares_body(&parts.headers);
    if (status_may_leave_body_unread(status) && body_declared)
        || (expects_continue(&parts.headers) && !body_declared)
    {
        h.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    let resp = vendor::finish_response(resp, vendor, &request_id).await;
    let record = access_log::Record {
        started,
        request_id,
        client: parts
            .extensions
            .get::<crate::http::ClientAddr>()
            .map(|a| a.0),
        caller,
        op: op_name,
        family,
        bucket,
        uri: parts.uri,
        method: parts.method,
        status: resp.status().as_u16(),
        user_agent: parts.headers.get(http::header::USER_AGENT).cloned(),
        bytes_in,
        quiet: family == "server",
    };
    let (head, body) = resp.into_parts();
    Response::from_parts(
        head,
        access_log::finish_with(body, record, state.metrics.clone()),
    )
}

/// Error statuses: the handler may have stopped before reading the body.
fn status_may_leave_body_unread(status: http::StatusCode) -> bool {
    status.is_client_error() || status.is_server_error()
}

/// Whether the request asks `Expect: 100-continue`.
fn expects_continue(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"))
}

/// Whether the request announced a body (a non-zero length, or chunks).
fn declares_body(headers: &http::HeaderMap) -> bool {
    headers.contains_key(http::header::TRANSFER_ENCODING)
        || headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// Steps 3 to 5 of the request line: authenticate, resolve a style named
/// by separator, authorize, dispatch.
async fn serve<B>(
    state: &AppState,
    parts: &http::request::Parts,
    routed: router::Routed,
    incoming: B,
    request_id: &str,
    vendor: Vendor,
    who: &mut Option<String>,
) -> ApiResult
where
    B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    // Probes and scrapes carry no signature: answered before
    // authentication (the metrics token is checked by its handler).
    if let Op::Server(op) = routed.op {
        return health::handle(state, &parts.headers, op).await;
    }
    // Preflights carry no credentials: answered before authentication.
    if let Op::Preflight { bucket, preflight } = &routed.op {
        return cors::preflight(&state.cors, &*state.store, bucket, preflight).await;
    }
    // A form upload carries its credentials in its body: it authenticates
    // itself, then goes through `authorize` as the PutObject it is.
    if let Op::S3(S3Op::PostObject { .. }) = &routed.op {
        return post::serve(state, parts, &routed, incoming, request_id, vendor, who).await;
    }
    let (caller, body) =
        authn::authenticate(state, parts, routed.host_bucket.as_deref(), incoming).await?;
    if let Caller::User(id) = &caller {
        *who = Some(id.name.clone());
    }
    let op = match routed.op {
        Op::S3(S3Op::GetObject { bucket, key }) => {
            by_separator(state, S3Op::GetObject { bucket, key }).await?
        }
        Op::S3(S3Op::HeadObject { bucket, key }) => {
            by_separator(state, S3Op::HeadObject { bucket, key }).await?
        }
        other => other,
    };
    let client_ip = client_ip(parts);
    let object_rule = authorize(state, &caller, client_ip, &op).await?;
    let cx = Ctx {
        state,
        headers: &parts.headers,
        query: &routed.query,
        caller,
        raw_query: parts.uri.query().unwrap_or(""),
        request_id,
        vendor,
        client_ip,
    };
    dispatch(&cx, op, body, object_rule.as_ref()).await
}

/// The address of the client (from the connection; `None` in tests that
/// call `handle` directly).
fn client_ip(parts: &http::request::Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<crate::http::ClientAddr>()
        .map(|a| a.0.ip())
}

/// A GET or HEAD whose key names a style through one of the bucket's
/// separators becomes that image op; any other stays the S3 op.
async fn by_separator(state: &AppState, op: S3Op) -> Result<Op, ApiError> {
    let (S3Op::GetObject { bucket, key } | S3Op::HeadObject { bucket, key }) = &op else {
        return Ok(Op::S3(op));
    };
    match state.images.style_by_separator(bucket, key).await {
        Some(image_op) => Ok(Op::Image(image_op?)),
        None => Ok(Op::S3(op)),
    }
}

/// The access rule, asked of `access::Guard` (whose module doc states
/// it): every bucket and key the op touches, its copy source included.
/// Source protection then refuses to anyone but the bucket owner the
/// originals it covers, except through a style.
///
/// Saveas and `Pic-Operations` targets named in a body or header are
/// checked by their handlers, through the same guard.
///
/// For a GET or HEAD of an object whose own ACL decides, the answer is
/// that last step, which the handler must settle on the record it reads
/// (passed on through `dispatch` to `s3::handlers::object::get_object`).
pub async fn authorize(
    state: &AppState,
    caller: &Caller,
    client_ip: Option<std::net::IpAddr>,
    op: &Op,
) -> Result<Option<ObjectRule>, ApiError> {
    match (caller, op) {
        (Caller::User(who), _) if who.admin => return Ok(None),
        // Only admins manage users.
        (_, Op::Admin(_)) => return Err(ApiError::AccessDenied),
        // Scoped to the caller by their handlers.
        (
            _,
            Op::S3(S3Op::ListBuckets | S3Op::CreateBucket { .. })
            | Op::Preflight { .. }
            | Op::Server(_),
        ) => return Ok(None),
        // Stored processing needs a signed caller: its targets are only
        // known once the body is read, and no anonymous request may make
        // the server do that work.
        (
            Caller::Anonymous,
            Op::Image(ImageOp::SaveAs { .. } | ImageOp::CosImageProcess { .. }),
        ) => return Err(ApiError::AccessDenied),
        _ => {}
    }
    // A GET or HEAD of an object reads its record anyway: the object's
    // own ACL is checked there (`s3::handlers::object`), not read twice.
    let reads_record = matches!(op, Op::S3(S3Op::GetObject { .. } | S3Op::HeadObject { .. }));
    let mut deferred = None;
    for (action, bucket, target) in asks(op) {
        let ask = Ask {
            caller,
            source_ip: client_ip,
            action,
            bucket,
            target,
        };
        let allowed = match state.access.decide(&ask).await? {
            Decision::Allow => true,
            Decision::Deny => false,
            Decision::ByObject(rule) if reads_record => {
                deferred = Some(rule);
                true
            }
            Decision::ByObject(rule) => state.access.by_record(&ask, &rule).await?,
        };
        if !allowed {
            return Err(ApiError::AccessDenied);
        }
    }
    let (bucket, key, through_style, dialect) = match op {
        Op::S3(S3Op::GetObject { bucket, key } | S3Op::HeadObject { bucket, key }) => {
            (bucket, key, false, None)
        }
        Op::Image(ImageOp::Process {
            bucket,
            key,
            dialect,
            through_style,
            ..
        }) => (bucket, key, *through_style, Some(*dialect)),
        _ => return Ok(deferred),
    };
    let owner = match state.access.bucket(bucket).await? {
        Some(rules) => caller.owns(&rules.owner),
        None => return Ok(deferred),
    };
    if owner || through_style || !state.images.protects(bucket, key).await {
        return Ok(deferred);
    }
    Err(match dialect {
        None => ApiError::AccessDenied,
        Some(d) => ProcessError::AccessDenied(
            "Source image protection is enabled: access the image through a style.".into(),
        )
        .into_api(d),
    })
}

/// What `op` asks of the access rules: each (action, bucket, target); no
/// action: only the bucket owner may (image settings, OSS bucket info).
fn asks(op: &Op) -> Vec<(Option<Action>, &str, Target<'_>)> {
    use S3Op::*;
    let s3 = match op {
        Op::S3(s3) | Op::Upload(s3) => s3,
        Op::Image(
            ImageOp::Process { bucket, key, .. }
            | ImageOp::SaveAs { bucket, key }
            | ImageOp::CosImageProcess { bucket, key },
        ) => return vec![(Some(Action::GetObject), bucket, Target::Key(key))],
        // An explanation resolves the bucket's styles, which only their
        // owner may read.
        Op::Image(ImageOp::BucketApi { bucket, .. } | ImageOp::Explain { bucket, .. }) => {
            return vec![(None, bucket, Target::Bucket)]
        }
        Op::Admin(_) | Op::Server(_) | Op::Preflight { .. } => return Vec::new(),
    };
    fn on_bucket(action: Action, bucket: &str) -> Vec<(Option<Action>, &str, Target<'_>)> {
        vec![(Some(action), bucket, Target::Bucket)]
    }
    match s3 {
        ListBuckets | CreateBucket { .. } => Vec::new(),
        HeadBucket { bucket }
        | ListObjects { bucket, .. }
        | ListObjectsV2 { bucket, .. }
        | ListObjectVersions { bucket, .. } => on_bucket(Action::ListBucket, bucket),
        ListMultipartUploads { bucket, .. } => {
            on_bucket(Action::ListBucketMultipartUploads, bucket)
        }
        DeleteBucket { bucket } => on_bucket(Action::DeleteBucket, bucket),
        GetBucketLocation { bucket } => on_bucket(Action::GetBucketLocation, bucket),
        GetBucketAcl { bucket } => on_bucket(Action::GetBucketAcl, bucket),
        PutBucketAcl { bucket } => on_bucket(Action::PutBucketAcl, bucket),
        GetBucketPolicy { bucket } => on_bucket(Action::GetBucketPolicy, bucket),
        PutBucketPolicy { bucket } => on_bucket(Action::PutBucketPolicy, bucket),
        DeleteBucketPolicy { bucket } => on_bucket(Action::DeleteBucketPolicy, bucket),
        GetBucketCors { bucket } => on_bucket(Action::GetBucketCors, bucket),
        // AWS governs deleting a CORS configuration by s3:PutBucketCORS.
        PutBucketCors { bucket } | DeleteBucketCors { bucket } => {
            on_bucket(Action::PutBucketCors, bucket)
        }
        GetBucketLifecycleConfiguration { bucket } => {
            on_bucket(Action::GetLifecycleConfiguration, bucket)
        }
        // AWS governs deleting a lifecycle by s3:PutLifecycleConfiguration.
        PutBucketLifecycleConfiguration { bucket } | DeleteBucketLifecycle { bucket } => {
            on_bucket(Action::PutLifecycleConfiguration, bucket)
        }
        GetBucketTagging { bucket } => on_bucket(Action::GetBucketTagging, bucket),
        // AWS governs deleting a bucket's tags by s3:PutBucketTagging.
        PutBucketTagging { bucket } | DeleteBucketTagging { bucket } => {
            on_bucket(Action::PutBucketTagging, bucket)
        }
        GetBucketVersioning { bucket } => on_bucket(Action::GetBucketVersioning, bucket),
        PutBucketVersioning { bucket } => on_bucket(Action::PutBucketVersioning, bucket),
        GetBucketInfo { bucket } | GetBucketStat { bucket } => {
            vec![(None, bucket.as_str(), Target::Bucket)]
        }
        DeleteObjects { bucket } => vec![(Some(Action::DeleteObject), bucket, Target::AnyKey)],
        // Authorized as the PutObject it amounts to once its form is read
        // (`post`); this is the rule before the key is known.
        PostObject { bucket } => vec![(Some(Action::PutObject), bucket, Target::AnyKey)],
        GetObject { bucket, key } | HeadObject { bucket, key } => {
            vec![(Some(Action::GetObject), bucket, Target::Key(key))]
        }
        GetObjectAcl { bucket, key } => {
            vec![(Some(Action::GetObjectAcl), bucket, Target::Key(key))]
        }
        PutObjectAcl { bucket, key } => {
            vec![(Some(Action::PutObjectAcl), bucket, Target::Key(key))]
        }
        // No ACL grants these (as on S3): the bucket owner, or a policy.
        GetObjectTagging { bucket, key } => {
            vec![(Some(Action::GetObjectTagging), bucket, Target::Key(key))]
        }
        PutObjectTagging { bucket, key } => {
            vec![(Some(Action::PutObjectTagging), bucket, Target::Key(key))]
        }
        DeleteObjectTagging { bucket, key } => {
            vec![(Some(Action::DeleteObjectTagging), bucket, Target::Key(key))]
        }
        DeleteObject { bucket, key } => {
            vec![(Some(Action::DeleteObject), bucket, Target::Key(key))]
        }
        PutObject { bucket, key }
        | CreateMultipartUpload { bucket, key }
        | UploadPart { bucket, key, .. }
        | CompleteMultipartUpload { bucket, key, .. } => {
            vec![(Some(Action::PutObject), bucket, Target::Key(key))]
        }
        CopyObject {
            bucket,
            key,
            source,
        }
        | UploadPartCopy {
            bucket,
            key,
            source,
            ..
        } => vec![
            (Some(Action::PutObject), bucket, Target::Key(key)),
            (
                Some(Action::GetObject),
                &source.bucket,
                Target::Key(&source.key),
            ),
        ],
        AbortMultipartUpload { bucket, key, .. } => {
            vec![(Some(Action::AbortMultipartUpload), bucket, Target::Key(key))]
        }
        ListParts { bucket, key, .. } => vec![(
            Some(Action::ListMultipartUploadParts),
            bucket,
            Target::Key(key),
        )],
    }
}

/// Runs the op in its handler family.
/// `object_rule`: what `authorize` left to the GET or HEAD of an object.
async fn dispatch(
    cx: &Ctx<'_, AppState>,
    op: Op,
    body: RequestBody,
    object_rule: Option<&ObjectRule>,
) -> ApiResult {
    let state = cx.state;
    match op {
        Op::S3(op) => {
            // A bucket created or deleted changes what is known of its
            // image settings and CORS rules; a CORS write, of its rules.
            let (renewed, cors_written) = match &op {
                S3Op::CreateBucket { bucket } | S3Op::DeleteBucket { bucket } => {
                    (Some(bucket.clone()), Some(bucket.clone()))
                }
                S3Op::PutBucketCors { bucket } | S3Op::DeleteBucketCors { bucket } => {
                    (None, Some(bucket.clone()))
                }
                _ => (None, None),
            };
            let s3 = cx.with_state(&state.s3);
            let result = crate::s3::dispatch(s3, op, body, None, object_rule).await;
            if let Some(bucket) = renewed {
                state.images.forget_bucket(&bucket);
            }
            if let Some(bucket) = cors_written {
                state.cors.forget(&bucket);
            }
            result
        }
        Op::Upload(op) => {
            let (S3Op::PutObject { bucket, key }
            | S3Op::CompleteMultipartUpload { bucket, key, .. }) = &op
            else {
                return crate::s3::dispatch(cx.with_state(&state.s3), op, body, None, None).await;
            };
            let images = cx.with_state(&state.images);
            let is_put = matches!(op, S3Op::PutObject { .. });
            let hook = crate::images::pic_operations::prepare(&images, bucket, key, is_put).await?;
            let hook = hook
                .as_ref()
                .map(|h| h as &dyn crate::http::hook::UploadHook);
            crate::s3::dispatch(cx.with_state(&state.s3), op, body, hook, None).await
        }
        Op::Image(op) => crate::images::dispatch(cx.with_state(&state.images), op, body).await,
        Op::Admin(op) => admin::handle(&state.users, op).await,
        Op::Server(op) => health::handle(state, cx.headers, op).await,
        Op::Preflight { bucket, preflight } => {
            cors::preflight(&state.cors, &*state.store, &bucket, &preflight).await
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_sixteen_hex_digits_and_distinct() {
        let (a, b) = (new_request_id(), new_request_id());
        for id in [&a, &b] {
            assert_eq!(id.len(), 16, "{id}");
            assert!(id
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c)));
        }
        assert_ne!(a, b);
        // The same digits `format!("{:08X}{:08X}")` gives.
        let (hi, lo) = (&a[..8], &b[8..]);
        let n = u32::from_str_radix(lo, 16).unwrap();
        let p = u32::from_str_radix(hi, 16).unwrap();
        assert_eq!(b, format!("{p:08X}{n:08X}"));
    }
}
