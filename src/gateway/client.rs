//! The gateway's HTTP client for the backend S3 store: builds path-style
//! requests, signs them with SigV4 (`auth::client`, the same canonical
//! request code the server verifies with), bounds every exchange by a
//! timeout, and turns the backend's failures into `storage::Error`.
//!
//! Bodies are never held whole: a request body is empty, a small buffer
//! (XML documents), or a spooled file streamed in chunks; a response body
//! is handed back as a stream. Payloads are sent `UNSIGNED-PAYLOAD` with a
//! `Content-MD5`, so the backend checks integrity without the gateway
//! hashing every byte twice.

use std::io;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use storage::{ByteStream, Error};
use tokio::io::AsyncReadExt;

use crate::auth::client::{sign_v4_request, uri_encode, Credentials};
use crate::auth::UNSIGNED_PAYLOAD;

/// Where the backend is and how to talk to it.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    /// `http://host:port` or `https://host[:port]` of the backend's S3 API.
    pub endpoint: Uri,
    /// PEM certificates trusted for an `https://` backend, besides the
    /// system's CA store (a private CA, a self-signed test certificate).
    pub ca_file: Option<std::path::PathBuf>,
    /// The region the backend signs for (Garage: `garage`).
    pub region: String,
    /// The backend key the gateway signs with.
    pub access_key: String,
    /// Its secret.
    pub secret_key: String,
    /// The reserved bucket holding what the nodes share.
    pub meta_bucket: String,
    /// The longest wait for the backend's answer (its response head, or
    /// the next piece of a response body) before the request fails with
    /// 503.
    pub timeout: Duration,
}

/// Reads of spooled files go out in pieces of this size.
const FILE_CHUNK: usize = 256 << 10;
/// Most bytes of an error document read from the backend.
const MAX_ERROR_BODY: usize = 64 << 10;
/// Most bytes of an XML result (a listing page of 1,000 keys fits).
const MAX_XML_BODY: usize = 16 << 20;

type OutBody = BoxBody<Bytes, io::Error>;

/// A request body that can be rebuilt for a retry.
#[derive(Debug, Clone)]
pub enum Payload {
    Empty,
    Bytes(Bytes),
    /// A spooled file of `len` bytes.
    File {
        path: PathBuf,
        len: u64,
    },
}

impl Payload {
    fn len(&self) -> u64 {
        match self {
            Payload::Empty => 0,
            Payload::Bytes(b) => b.len() as u64,
            Payload::File { len, .. } => *len,
        }
    }

    async fn body(&self) -> Result<OutBody, Error> {
        Ok(match self {
            Payload::Empty => Empty::new().map_err(|never| match never {}).boxed(),
            Payload::Bytes(b) => Full::new(b.clone()).map_err(|never| match never {}).boxed(),
            Payload::File { path, .. } => {
                let file = tokio::fs::File::open(path).await?;
                let stream = futures_util::stream::unfold(file, |mut f| async move {
                    let mut buf = vec![0u8; FILE_CHUNK];
                    match f.read(&mut buf).await {
                        Ok(0) => None,
                        Ok(n) => {
                            buf.truncate(n);
                            Some((Ok(Frame::data(Bytes::from(buf))), f))
                        }
                        Err(e) => Some((Err(e), f)),
                    }
                });
                BodyExt::boxed(StreamBody::new(stream))
            }
        })
    }
}

/// One backend request, before signing.
#[derive(Debug)]
pub struct Call<'a> {
    pub method: Method,
    pub bucket: Option<&'a str>,
    pub key: Option<&'a str>,
    /// Query parameters, unencoded; a name with an empty value is sent as
    /// `name=` (S3 accepts both forms for subresources).
    pub query: Vec<(&'a str, String)>,
    pub headers: HeaderMap,
    pub payload: Payload,
}

impl<'a> Call<'a> {
    pub fn new(method: Method, bucket: Option<&'a str>, key: Option<&'a str>) -> Self {
        Call {
            method,
            bucket,
            key,
            query: Vec::new(),
            headers: HeaderMap::new(),
            payload: Payload::Empty,
        }
    }

    pub fn query(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
        self
    }

    pub fn payload(mut self, payload: Payload) -> Self {
        self.payload = payload;
        self
    }
}

/// The backend exchanges, for `/-/metrics` (clones share the counts).
#[derive(Clone)]
pub struct BackendMetrics {
    requests: prometheus::IntCounter,
    errors: prometheus::IntCounter,
    duration: prometheus::Histogram,
}

impl BackendMetrics {
    /// Every metric at zero (constant names: cannot fail on input).
    #[allow(clippy::expect_used)]
    fn new() -> Self {
        use prometheus::{Histogram, HistogramOpts, IntCounter};
        BackendMetrics {
            requests: IntCounter::new(
                "imgbucket_backend_requests_total",
                "Requests sent to the gateway backend (a retry counts twice).",
            )
            .expect("valid metric"),
            errors: IntCounter::new(
                "imgbucket_backend_errors_total",
                "Backend requests that got no answer in time, no connection, or a 5xx.",
            )
            .expect("valid metric"),
            duration: Histogram::with_opts(
                HistogramOpts::new(
                    "imgbucket_backend_request_duration_seconds",
                    "Time to the backend's response head.",
                )
                .buckets(vec![
                    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]),
            )
            .expect("valid metric"),
        }
    }

    /// The metrics as they stand now.
    pub fn metric_families(&self) -> Vec<prometheus::proto::MetricFamily> {
        use prometheus::core::Collector;
        let mut out = self.requests.collect();
        out.extend(self.errors.collect());
        out.extend(self.duration.collect());
        out
    }
}

impl std::fmt::Debug for BackendMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendMetrics").finish_non_exhaustive()
    }
}

/// The backend client (cheap to clone: the connection pool is shared).
#[derive(Clone)]
pub struct Backend {
    http: Client<HttpsConnector<HttpConnector>, OutBody>,
    config: BackendConfig,
    creds: Credentials,
    metrics: BackendMetrics,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("endpoint", &self.config.endpoint)
            .finish_non_exhaustive()
    }
}

/// The TLS settings of the backend client: the system's CA store plus the
/// configured file. For an `http://` backend none is needed, and an empty
/// store is not an error then.
fn tls_config(config: &BackendConfig, https: bool) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    // The system store is read only when TLS is spoken: it is a few hundred
    // files an http:// backend never needs.
    if https {
        for cert in rustls_native_certs::load_native_certs().certs {
            // A certificate the system store holds but rustls cannot parse
            // is skipped, as browsers do; the others still count.
            let _ = roots.add(cert);
        }
    }
    if let Some(path) = &config.ca_file {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("backend CA file {}: {e}", path.display()))?;
        let mut added = 0;
        for cert in certs {
            let cert = cert.map_err(|e| format!("backend CA file {}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("backend CA file {}: {e}", path.display()))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!(
                "backend CA file {}: no PEM certificate in it",
                path.display()
            ));
        }
    }
    if https && roots.is_empty() {
        return Err(
            "an https:// backend needs trusted certificates: the system has no CA store \
             (Debian: apt-get install ca-certificates) and no --backend-ca-file is given"
                .into(),
        );
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Bytes read from a backend connection at once: large bodies stream in
/// fewer, larger frames (fewer syscalls and wake-ups per MiB relayed).
const READ_BUFFER: usize = 512 * 1024;

impl Backend {
    /// A client for `config`: `http://`, or `https://` with rustls,
    /// trusting the system's CA store and `config.ca_file`.
    pub fn new(config: BackendConfig) -> Result<Backend, String> {
        let scheme = config.endpoint.scheme_str();
        if !matches!(scheme, Some("http" | "https")) || config.endpoint.authority().is_none() {
            return Err(format!(
                "backend endpoint {} must be http://host:port or https://host[:port]",
                config.endpoint
            ));
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(config.timeout));
        connector.set_nodelay(true);
        connector.enforce_http(false);
        let tls = tls_config(&config, scheme == Some("https"))?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .http1_read_buf_exact_size(READ_BUFFER)
            .build(connector);
        let creds = Credentials::new(
            config.access_key.clone(),
            config.secret_key.clone(),
            config.region.clone(),
        );
        Ok(Backend {
            http,
            config,
            creds,
            metrics: BackendMetrics::new(),
        })
    }

    pub fn config(&self) -> &BackendConfig {
        &self.config
    }

    /// This client's request counts.
    pub fn metrics(&self) -> &BackendMetrics {
        &self.metrics
    }

    fn uri(&self, call: &Call<'_>) -> Result<Uri, Error> {
        let mut path = String::from("/");
        if let Some(b) = call.bucket {
            path.push_str(&uri_encode(b, false));
            if let Some(k) = call.key {
                path.push('/');
                path.push_str(&uri_encode(k, true));
            }
        }
        let mut query = String::new();
        for (i, (name, value)) in call.query.iter().enumerate() {
            query.push(if i == 0 { '?' } else { '&' });
            query.push_str(&uri_encode(name, false));
            query.push('=');
            query.push_str(&uri_encode(value, false));
        }
        let authority = self
            .config
            .endpoint
            .authority()
            .map(|a| a.as_str())
            .unwrap_or_default();
        let scheme = self.config.endpoint.scheme_str().unwrap_or("http");
        format!("{scheme}://{authority}{path}{query}")
            .parse()
            .map_err(|e| Error::Io(io::Error::other(format!("backend URI: {e}"))))
    }

    /// Sends `call` and returns the response head and body, or the
    /// backend's failure as a storage error. A request whose connection
    /// broke before any answer (a pooled connection the backend had
    /// closed) is sent once more.
    pub async fn send(&self, call: &Call<'_>) -> Result<Response<Incoming>, Error> {
        let uri = self.uri(call)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut headers = call.headers.clone();
            headers.insert(
                http::header::CONTENT_LENGTH,
                HeaderValue::from(call.payload.len()),
            );
            sign_v4_request(
                &call.method,
                &uri,
                &mut headers,
                UNSIGNED_PAYLOAD,
                &self.creds,
                SystemTime::now(),
            )
            .map_err(|e| Error::Io(io::Error::other(format!("signing: {e}"))))?;
            let mut req = Request::builder()
                .method(call.method.clone())
                .uri(uri.clone())
                .body(call.payload.body().await?)
                .map_err(|e| Error::Io(io::Error::other(e)))?;
            *req.headers_mut() = headers;
            self.metrics.requests.inc();
            let started = std::time::Instant::now();
            let answer = tokio::time::timeout(self.config.timeout, self.http.request(req)).await;
            self.metrics
                .duration
                .observe(started.elapsed().as_secs_f64());
            if !matches!(&answer, Ok(Ok(r)) if !r.status().is_server_error()) {
                self.metrics.errors.inc();
            }
            match answer {
                Err(_) => {
                    return Err(Error::Unavailable(format!(
                        "the backend did not answer within {:?}",
                        self.config.timeout
                    )))
                }
                Ok(Err(e)) if attempt == 1 && is_retryable(&e) => {
                    tracing::debug!(error = %e, "backend connection lost; retrying once");
                }
                Ok(Err(e)) => {
                    return Err(Error::Unavailable(format!(
                        "backend unreachable: {}",
                        with_causes(&e)
                    )))
                }
                Ok(Ok(resp)) => return Ok(resp),
            }
        }
    }

    /// [`Backend::send`], then a non-success status becomes its error.
    pub async fn send_ok(&self, call: &Call<'_>) -> Result<Response<Incoming>, Error> {
        let resp = self.send(call).await?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(self.failure(call, resp).await)
    }

    /// The whole (bounded) body of a successful XML answer.
    pub async fn send_read(&self, call: &Call<'_>) -> Result<(HeaderMap, Bytes), Error> {
        let resp = self.send_ok(call).await?;
        let (parts, body) = resp.into_parts();
        let bytes = self.read_bounded(body, MAX_XML_BODY).await?;
        Ok((parts.headers, bytes))
    }

    /// Reads at most `limit` bytes of `body`, each piece within the timeout.
    pub async fn read_bounded(&self, body: Incoming, limit: usize) -> Result<Bytes, Error> {
        let mut stream = self.stream(body);
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(io_unavailable)?;
            if out.len() + chunk.len() > limit {
                return Err(Error::Corrupt(format!(
                    "the backend's answer exceeds {limit} bytes"
                )));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.into())
    }

    /// The response body as a byte stream; a backend that stalls longer
    /// than the timeout between pieces ends it with an error.
    pub fn stream(&self, body: Incoming) -> ByteStream {
        let timeout = self.config.timeout;
        let frames = body.into_data_stream();
        futures_util::stream::unfold(Some(frames), move |state| async move {
            let mut frames = state?;
            match tokio::time::timeout(timeout, frames.next()).await {
                Err(_) => Some((
                    Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("the backend stalled for {timeout:?}"),
                    )),
                    None,
                )),
                Ok(None) => None,
                Ok(Some(Ok(bytes))) => Some((Ok(bytes), Some(frames))),
                Ok(Some(Err(e))) => Some((Err(io::Error::other(e)), None)),
            }
        })
        .boxed()
    }

    /// The storage error a failed backend answer stands for.
    pub async fn failure(&self, call: &Call<'_>, resp: Response<Incoming>) -> Error {
        let status = resp.status();
        let body = match self.read_bounded(resp.into_body(), MAX_ERROR_BODY).await {
            Ok(b) => b,
            Err(e) => return e,
        };
        let code = crate::http::xml::parse(&body)
            .ok()
            .and_then(|root| root.child_text("Code").map(str::to_string))
            .unwrap_or_default();
        classify(status, &code, call)
    }
}

/// `e` and the chain of its sources: hyper's own text (`client error
/// (Connect)`) says nothing of a refused connection or a certificate the
/// backend's name does not match.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn is_retryable(e: &hyper_util::client::legacy::Error) -> bool {
    // `is_connect` is a refused or failed connection: the backend is down,
    // and retrying at once would not help.
    !e.is_connect()
}

fn io_unavailable(e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::TimedOut {
        Error::Unavailable(e.to_string())
    } else {
        Error::Io(e)
    }
}

/// Maps a backend status and S3 error code onto the storage error of the
/// same meaning. Codes S3 defines for client mistakes that the gateway's
/// own checks should have caught first become `Io` (a 500): relaying them
/// would blame the client for the gateway's request.
pub fn classify(status: StatusCode, code: &str, call: &Call<'_>) -> Error {
    let bucket = call.bucket.unwrap_or_default().to_string();
    let key = call.key.unwrap_or_default().to_string();
    let upload = call
        .query
        .iter()
        .find(|(n, _)| *n == "uploadId")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    match code {
        "NoSuchBucket" => Error::NoSuchBucket(bucket),
        "NoSuchKey" => Error::NoSuchKey(key),
        "NoSuchUpload" => Error::NoSuchUpload(upload),
        "BucketAlreadyOwnedByYou" => Error::BucketAlreadyOwnedByYou(bucket),
        "BucketAlreadyExists" => Error::BucketAlreadyExists(bucket),
        "BucketNotEmpty" => Error::BucketNotEmpty(bucket),
        "PreconditionFailed" => Error::PreconditionFailed,
        "BadDigest" => Error::BadDigest,
        "InvalidPartOrder" => Error::InvalidPartOrder,
        "InvalidPart" => Error::InvalidPart {
            part_number: 0,
            reason: "the backend refused the part list".into(),
        },
        "SlowDown" => Error::SlowDown(format!("the backend asked to slow down ({status})")),
        "ServiceUnavailable" => Error::Unavailable(format!("the backend is unavailable ({code})")),
        _ => match status {
            StatusCode::NOT_FOUND if call.key.is_some() => Error::NoSuchKey(key),
            StatusCode::NOT_FOUND => Error::NoSuchBucket(bucket),
            StatusCode::PRECONDITION_FAILED => Error::PreconditionFailed,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                Error::SlowDown(format!("the backend answered {status}"))
            }
            s if s.is_server_error() => {
                Error::Unavailable(format!("the backend failed: {status} {code}"))
            }
            _ => Error::Io(io::Error::other(format!(
                "the backend refused {} {}/{}: {status} {code}",
                call.method, bucket, key
            ))),
        },
    }
}
