//! The test harness: an in-process server and a signing HTTP client.

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use imgbucket::auth::sign::Credentials;
use imgbucket::config::Limits;
use imgbucket::front::{AppState, S3Config};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::oneshot;

#[path = "../common/harness.rs"]
mod harness;
pub use harness::Resp;

pub const ACCESS_KEY: &str = "AKIDTESTIMGBUCKET";
pub const SECRET_KEY: &str = "test/secret/key/for/imgbucket";
pub const REGION: &str = "us-east-1";
/// A small minimum part size keeps multipart tests fast.
pub const MIN_PART: u64 = 64 * 1024;

/// A running server plus a client for it.
pub struct Server {
    pub addr: SocketAddr,
    pub creds: Credentials,
    client: harness::HttpClient,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Resp {
    /// The `<Code>` of an error document.
    pub fn code(&self) -> String {
        xml_text(&self.text(), "Code").unwrap_or_default()
    }

    /// Asserts the status (with the body in the message).
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
        self
    }

    /// Asserts an S3 error with this status and code.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
        assert_eq!(self.code(), code, "body: {}", self.text());
        assert!(self.header("x-amz-request-id").is_some());
        let rid = xml_text(&self.text(), "RequestId").unwrap_or_default();
        assert_eq!(Some(rid.as_str()), self.header("x-amz-request-id"));
    }
}

/// The text of the first `<tag>` in `doc` (tests only; no nesting logic).
pub fn xml_text(doc: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = doc.find(&open)? + open.len();
    let end = doc[start..].find(&format!("</{tag}>"))? + start;
    Some(doc[start..end].to_string())
}

/// All texts of `<tag>` elements in `doc`.
pub fn xml_all(doc: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(after[..j].to_string());
        rest = &after[j + close.len()..];
    }
    out
}

impl Server {
    pub async fn start() -> Server {
        Self::start_with(None).await
    }

    /// Starts a server; `domain` enables virtual-host style.
    pub async fn start_with(domain: Option<&str>) -> Server {
        let limits = Limits {
            min_part_size: MIN_PART,
            ..Limits::default()
        };
        Self::start_custom(domain, limits).await
    }

    /// Starts a server with explicit limits.
    pub async fn start_custom(domain: Option<&str>, limits: Limits) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let store = storage::embedded::EmbeddedStore::open(dir.path()).unwrap();
        let config = S3Config {
            region: REGION.into(),
            domain: domain.map(str::to_string),
            limits,
        };
        let state = Arc::new(AppState::new(
            Arc::new(store),
            config,
            &[(ACCESS_KEY.to_string(), SECRET_KEY.to_string())],
        ));
        let spawned = harness::spawn(state).await;
        Server {
            addr: spawned.addr,
            creds: Credentials::new(ACCESS_KEY, SECRET_KEY, REGION),
            client: spawned.client,
            shutdown: Some(spawned.shutdown),
            task: Some(spawned.task),
            _dir: dir,
        }
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }

    pub fn uri(&self, path_and_query: &str) -> http::Uri {
        harness::uri(self.addr, path_and_query)
    }

    /// Sends a request as-is (no signing).
    pub async fn send(&self, req: Request<Full<Bytes>>) -> Resp {
        harness::send(&self.client, req).await
    }

    /// A SigV4-signed request with a signed payload hash.
    pub async fn req(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Resp {
        harness::send_v4(
            &self.client,
            self.addr,
            &self.creds,
            SystemTime::now(),
            method,
            path,
            headers,
            body.into(),
        )
        .await
    }

    /// An unsigned (anonymous) request.
    pub async fn anon(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Resp {
        harness::send_anon(&self.client, self.addr, method, path, headers, body.into()).await
    }

    /// A signed request with explicit credentials and time.
    pub async fn req_as(
        &self,
        creds: &Credentials,
        now: SystemTime,
        method: &str,
        path: &str,
        body: impl Into<Bytes>,
    ) -> Resp {
        harness::send_v4(
            &self.client,
            self.addr,
            creds,
            now,
            method,
            path,
            &[],
            body.into(),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.req("GET", path, &[], Bytes::new()).await
    }

    pub async fn put(&self, path: &str, body: impl Into<Bytes>) -> Resp {
        self.req("PUT", path, &[], body).await
    }

    pub async fn mb(&self, bucket: &str) {
        self.put(&format!("/{bucket}"), Bytes::new())
            .await
            .expect(200);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
