//! The server's own endpoints for operators, beside the admin API under
//! `/-/` (never a bucket: `-` cannot begin a bucket name):
//!
//! | request | answer |
//! |---|---|
//! | `GET /-/health/live` | 200 `{"status":"ok"}` while the process serves |
//! | `GET /-/health/ready` | 200 when the store answers, 503 naming what failed |
//! | `GET /-/metrics` | Prometheus text (format 0.0.4); `[metrics] token` asks a bearer token |
//! | `GET /-/console/...` | the web console's files (`super::console`) |
//!
//! They are unauthenticated and answered before signature checks, so a
//! load balancer or a Kubernetes probe needs no key. Readiness asks the
//! store for one small record (embedded: a sled read; gateway mode: one
//! GET to the backend's meta bucket) under its own short timeout, and
//! reuses the answer for `[health] ready_cache_ms`, so probes from many
//! balancers cost the backend at most one request per node and period.

use crate::config::HealthConfig;
use crate::http::body::Body;
use crate::http::error::ApiError;
use http::{HeaderValue, Method, Response, StatusCode};
use std::time::{Duration, Instant};
use storage::Store;

/// An endpoint of the server itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerOp {
    /// `GET /-/health/live`.
    Live,
    /// `GET /-/health/ready`.
    Ready,
    /// `GET /-/metrics`.
    Metrics,
    /// The web console's files (`/-/console/...`, `super::console`).
    Console(super::console::ConsoleOp),
}

impl ServerOp {
    /// The operation's name (for logs and metrics).
    pub fn name(&self) -> &'static str {
        match self {
            ServerOp::Live => "HealthLive",
            ServerOp::Ready => "HealthReady",
            ServerOp::Metrics => "Metrics",
            ServerOp::Console(_) => "Console",
        }
    }
}

/// Routes a path under `/-/` (`rest` is what follows `/-/`): `None` when it
/// is not one of these endpoints (the admin API's, or nothing).
pub fn route(method: &Method, rest: &str) -> Option<Result<ServerOp, ApiError>> {
    if let Some(console) = super::console::route(method, rest) {
        return Some(console.map(ServerOp::Console));
    }
    let op = match rest {
        "health/live" => ServerOp::Live,
        "health/ready" => ServerOp::Ready,
        "metrics" => ServerOp::Metrics,
        _ => return None,
    };
    Some(match *method {
        Method::GET | Method::HEAD => Ok(op),
        _ => Err(ApiError::MethodNotAllowed),
    })
}

/// The system record readiness reads. It never exists: reading it is the
/// cheapest store call that still goes through the metadata store (and, in
/// gateway mode, the backend).
const PROBE_DOC: &str = "health-probe";

/// Whether `store` answers within `timeout`: `Err` says why not, in words
/// for the operator.
pub async fn check_store(store: &dyn Store, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, store.system_doc(PROBE_DOC)).await {
        Err(_) => Err(format!("the store did not answer within {timeout:?}")),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(_)) => Ok(()),
    }
}

/// The readiness check with its remembered answer.
#[derive(Debug)]
pub struct Readiness {
    config: HealthConfig,
    /// The last answer and when it was asked. An async lock: concurrent
    /// probes wait for the one check in flight instead of each asking.
    last: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

impl Readiness {
    /// A check that has not asked yet.
    pub fn new(config: HealthConfig) -> Self {
        Readiness {
            config,
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// The store's state: remembered if asked within the cache period.
    /// A change is logged once (a failing probe every second would
    /// otherwise flood the log).
    pub async fn check(&self, store: &dyn Store) -> Result<(), String> {
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = &*last {
            if at.elapsed() < self.config.cache() {
                return answer.clone();
            }
        }
        let answer = check_store(store, self.config.timeout()).await;
        let was_ok = last.as_ref().map(|(_, a)| a.is_ok());
        match (&answer, was_ok) {
            (Err(e), Some(true) | None) => tracing::warn!(error = %e, "not ready"),
            (Ok(()), Some(false)) => tracing::info!("ready again"),
            _ => {}
        }
        *last = Some((Instant::now(), answer.clone()));
        answer
    }
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness::new(HealthConfig::default())
    }
}

/// Answers a server endpoint.
pub async fn handle(
    state: &super::AppState,
    headers: &http::HeaderMap,
    op: ServerOp,
) -> Result<Response<Body>, ApiError> {
    let (readiness, store) = (&state.readiness, &*state.store);
    Ok(match op {
        ServerOp::Metrics => return metrics(state, headers),
        ServerOp::Console(op) => super::console::handle(headers, op),
        ServerOp::Live => json(StatusCode::OK, serde_json::json!({ "status": "ok" })),
        ServerOp::Ready => match readiness.check(store).await {
            Ok(()) => json(
                StatusCode::OK,
                serde_json::json!({ "status": "ok", "checks": { "store": { "ok": true } } }),
            ),
            Err(e) => json(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({
                    "status": "unavailable",
                    "checks": { "store": { "ok": false, "error": e } },
                }),
            ),
        },
    })
}

/// `/-/metrics`: the front door's metrics, the processor's and (gateway
/// mode) the backend client's, after the bearer token if one is set.
fn metrics(state: &super::AppState, headers: &http::HeaderMap) -> Result<Response<Body>, ApiError> {
    if let Some(token) = &state.metrics_token {
        let given = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !same_secret(given.trim().as_bytes(), token.as_bytes()) {
            return Err(ApiError::AccessDenied);
        }
    }
    let mut extra = state.images.process.metric_families();
    if let Some(b) = &state.backend_metrics {
        extra.extend(b.metric_families());
    }
    let text = state.metrics.render(extra).map_err(ApiError::Internal)?;
    let mut r = Response::new(crate::http::body::full(text));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    Ok(r)
}

/// Compares a presented secret with the expected one in time that does
/// not depend on where they differ.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    for (i, e) in expected.iter().enumerate() {
        diff |= e ^ given.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

fn json(status: StatusCode, value: serde_json::Value) -> Response<Body> {
    let mut r = crate::http::json_response(status, value.to_string());
    // A probe must see the state now, never a cached answer.
    r.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    r
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"t0k3n", b"t0k3n"));
        assert!(!same_secret(b"t0k3", b"t0k3n"));
        assert!(!same_secret(b"t0k3nn", b"t0k3n"));
        assert!(!same_secret(b"", b"t0k3n"));
        assert!(!same_secret(b"T0k3n", b"t0k3n"));
    }

    #[test]
    fn routes_only_its_paths_and_reads() {
        assert_eq!(
            route(&Method::GET, "health/live").map(Result::ok),
            Some(Some(ServerOp::Live))
        );
        assert_eq!(
            route(&Method::HEAD, "health/ready").map(Result::ok),
            Some(Some(ServerOp::Ready))
        );
        assert!(matches!(
            route(&Method::POST, "health/ready"),
            Some(Err(ApiError::MethodNotAllowed))
        ));
        assert!(route(&Method::GET, "health").is_none());
        assert!(route(&Method::GET, "admin/users").is_none());
    }

    #[tokio::test]
    async fn embedded_store_is_ready_and_answers_are_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let store = storage::embedded::EmbeddedStore::open(dir.path()).unwrap();
        assert_eq!(check_store(&store, Duration::from_secs(1)).await, Ok(()));
        let r = Readiness::new(HealthConfig {
            ready_timeout_ms: 1000,
            ready_cache_ms: 60_000,
        });
        assert_eq!(r.check(&store).await, Ok(()));
        let at = r.last.lock().await.as_ref().map(|(at, _)| *at);
        assert_eq!(r.check(&store).await, Ok(()));
        // The second probe reused the first answer.
        assert_eq!(r.last.lock().await.as_ref().map(|(at, _)| *at), at);
    }

    /// A gateway node over `backend` (a backend that never answers in
    /// time has its own 10 s timeout; the check's is shorter).
    fn gateway(backend: std::net::SocketAddr, spool: &std::path::Path) -> impl Store {
        let config = crate::gateway::BackendConfig {
            endpoint: format!("http://{backend}").parse().unwrap(),
            ca_file: None,
            region: "us-east-1".into(),
            access_key: "AKIDHEALTH".into(),
            secret_key: "health-secret-key-0123".into(),
            meta_bucket: "imgbucket-meta".into(),
            timeout: Duration::from_secs(10),
        };
        crate::gateway::GatewayStore::new(config, spool.to_path_buf()).unwrap()
    }

    #[tokio::test]
    async fn gateway_backend_unreachable_is_not_ready() {
        let dir = tempfile::tempdir().unwrap();
        // A port that was free a moment ago: connections are refused.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let store = gateway(addr, dir.path());
        let err = check_store(&store, Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(err.contains("backend"), "{err}");
    }

    #[tokio::test]
    async fn gateway_backend_that_hangs_is_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        // Accepts connections (the kernel does) and never answers.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let store = gateway(silent.local_addr().unwrap(), dir.path());
        let started = Instant::now();
        let err = check_store(&store, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(err.contains("did not answer within"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
