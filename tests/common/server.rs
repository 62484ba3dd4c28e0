//! The in-process server the tests talk to over real HTTP on loopback: an
//! embedded store and a processed-variant cache in a temp dir, one key
//! pair, and a client that signs as the AWS SDKs (SigV4) or as the vendors'
//! SDKs (OSS V1, COS) do. [`Resp`] gains the assertions shared by the
//! suites.

pub use super::harness::Resp;
use super::harness::{self, HttpClient};
use super::xml::xml_text;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request};
use http_body_util::Full;
use image::RgbaImage;
use imgbucket::auth::sign::{self, Credentials};
use imgbucket::config::{
    ConnectionOptions, CorsDefault, HealthConfig, Limits, MetricsConfig, ProcessingConfig,
};
use imgbucket::front::{AppState, S3Config};
use imgbucket::gateway::{BackendConfig, GatewayStore, SHARED_STATE_TTL};
use imgbucket::http::names::bucket_from_host;
use imgbucket::lifecycle::SweepSettings;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use storage::Store;
use tokio::sync::oneshot;

pub const ACCESS_KEY: &str = "AKIDTESTIMGBUCKET";
pub const SECRET_KEY: &str = "test/secret/key/for/imgbucket";
pub const REGION: &str = "us-east-1";
/// The default minimum part size: small, to keep multipart tests fast.
pub const MIN_PART: u64 = 64 * 1024;

/// Wraps the store a [`Server`] serves (see [`Options::wrap_store`]).
pub type WrapStore = Box<dyn FnOnce(Arc<dyn Store>) -> Arc<dyn Store>>;

/// How to start a [`Server`]; `Options::default()` is what
/// [`Server::start`] uses.
pub struct Options {
    /// The base domain of virtual-host-style requests (`None`: path style).
    pub domain: Option<&'static str>,
    /// The S3 limits (default: [`Limits::default`] with [`MIN_PART`]).
    pub limits: Limits,
    /// The image-processing settings.
    pub processing: ProcessingConfig,
    /// Wraps the embedded store before the server gets it (a test that
    /// observes the store's calls).
    pub wrap_store: Option<WrapStore>,
    /// Gateway mode: the store is a `GatewayStore` over the S3 server at
    /// this address (another test server, with the same keys) instead of
    /// an embedded one.
    pub gateway_over: Option<SocketAddr>,
    /// The server-wide default CORS rule (`[cors]` in the config file).
    pub cors: Option<CorsDefault>,
    /// Runs the lifecycle sweeper with these settings (default: none).
    pub lifecycle: Option<SweepSettings>,
    /// The readiness check (`[health]`).
    pub health: HealthConfig,
    /// Access to `/-/metrics` (`[metrics]`).
    pub metrics: MetricsConfig,
    /// Disk faults the embedded store injects when the test arms them.
    pub faults: Option<storage::embedded::faults::Faults>,
    /// Where the data dir is created (default: the system temp dir).
    pub data_parent: Option<std::path::PathBuf>,
    /// Connection timeouts and limit (`[http]`), with a 5 s drain.
    pub connections: ConnectionOptions,
}

/// How long a test gateway waits for its backend.
pub const GATEWAY_TIMEOUT: Duration = Duration::from_secs(2);

impl Default for Options {
    fn default() -> Options {
        Options {
            domain: None,
            limits: Limits {
                min_part_size: MIN_PART,
                ..Limits::default()
            },
            processing: ProcessingConfig::default(),
            wrap_store: None,
            gateway_over: None,
            cors: None,
            lifecycle: None,
            health: HealthConfig::default(),
            metrics: MetricsConfig::default(),
            faults: None,
            data_parent: None,
            connections: ConnectionOptions {
                grace: Duration::from_secs(5),
                ..ConnectionOptions::default()
            },
        }
    }
}

/// A running server plus a client for it; dropping it stops the server.
pub struct Server {
    pub addr: SocketAddr,
    pub creds: Credentials,
    /// The data dir (store, and the processed-variant cache in `cache/`).
    pub dir: tempfile::TempDir,
    /// The server's state (tests read the processing pool's counters).
    pub state: Arc<AppState>,
    client: HttpClient,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    pub async fn start() -> Server {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Server {
        let dir = match &options.data_parent {
            Some(parent) => tempfile::tempdir_in(parent).unwrap(),
            None => tempfile::tempdir().unwrap(),
        };
        // A gateway node gets what `imgbucket serve --backend` gives it.
        let processing = match options.gateway_over {
            Some(_) => options.processing.clone().for_gateway(),
            None => options.processing.clone(),
        };
        let (store, settings_ttl): (Arc<dyn Store>, _) = match options.gateway_over {
            None => (
                Arc::new(
                    storage::embedded::EmbeddedStore::open_with_faults(
                        dir.path(),
                        options.faults.unwrap_or_default(),
                    )
                    .unwrap(),
                ),
                None,
            ),
            Some(backend) => {
                let config = BackendConfig {
                    endpoint: format!("http://{backend}").parse().unwrap(),
                    ca_file: None,
                    region: REGION.into(),
                    access_key: ACCESS_KEY.into(),
                    secret_key: SECRET_KEY.into(),
                    meta_bucket: "imgbucket-meta".into(),
                    timeout: GATEWAY_TIMEOUT,
                };
                let store = GatewayStore::new(config, dir.path().join("spool")).unwrap();
                (Arc::new(store), Some(SHARED_STATE_TTL))
            }
        };
        let store = match options.wrap_store {
            Some(wrap) => wrap(store),
            None => store,
        };
        let config = S3Config {
            region: REGION.into(),
            domain: options.domain.map(str::to_string),
            limits: options.limits,
        };
        let cors_default = options
            .cors
            .as_ref()
            .map(|d| imgbucket::http::cors::CorsRule::from_default(d).unwrap());
        let state = Arc::new(
            AppState::new(
                store,
                config,
                (ACCESS_KEY.to_string(), SECRET_KEY.to_string()),
            )
            .with_processing(processing, Some(dir.path().join("cache")))
            .with_settings_ttl(settings_ttl)
            .with_cors_default(cors_default)
            .with_health(options.health)
            .with_metrics(options.metrics)
            .with_lifecycle(options.lifecycle),
        );
        let spawned = harness::spawn(state.clone(), options.connections).await;
        Server {
            state,
            addr: spawned.addr,
            creds: Credentials::new(ACCESS_KEY, SECRET_KEY, REGION),
            dir,
            client: spawned.client,
            shutdown: Some(spawned.shutdown),
            task: Some(spawned.task),
        }
    }

    /// A server with these image-processing settings.
    pub async fn with_processing(processing: ProcessingConfig) -> Server {
        Self::start_with(Options {
            processing,
            ..Options::default()
        })
        .await
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

    /// Sends `headers` as given (signed beforehand, or not at all).
    pub async fn send_headers(
        &self,
        method: &str,
        path: &str,
        headers: HeaderMap,
        body: impl Into<Bytes>,
    ) -> Resp {
        let method: Method = method.parse().unwrap();
        let req = harness::build(&method, self.uri(path), headers, body.into());
        self.send(req).await
    }

    /// A SigV4-signed request with a signed payload hash.
    pub async fn req(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Resp {
        self.req_as(&self.creds, SystemTime::now(), method, path, headers, body)
            .await
    }

    /// A signed request with explicit credentials and time.
    pub async fn req_as(
        &self,
        creds: &Credentials,
        now: SystemTime,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Resp {
        let signer = (creds, now, None);
        self.signed(signer, method, path, headers, body.into())
            .await
    }

    /// A request signed as `creds` over `payload_hash`, which need not be
    /// the hash of the `body` sent.
    pub async fn req_hashed(
        &self,
        creds: &Credentials,
        payload_hash: &str,
        method: &str,
        path: &str,
        body: impl Into<Bytes>,
    ) -> Resp {
        let signer = (creds, SystemTime::now(), Some(payload_hash));
        self.signed(signer, method, path, &[], body.into()).await
    }

    /// Sends a SigV4-signed request: `(credentials, time, payload hash;
    /// default the body's)`.
    async fn signed(
        &self,
        (creds, now, payload_hash): (&Credentials, SystemTime, Option<&str>),
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Resp {
        harness::send_v4(
            &self.client,
            self.addr,
            creds,
            now,
            method,
            path,
            headers,
            payload_hash,
            body,
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
        self.send_headers(method, path, harness::header_map(headers), body)
            .await
    }

    /// An anonymous GET.
    pub async fn anon_get(&self, path: &str) -> Resp {
        self.anon("GET", path, &[], Bytes::new()).await
    }

    /// An anonymous GET of a URL of this server (a presigned one).
    pub async fn get_url(&self, url: &http::Uri) -> Resp {
        self.anon_get(url.path_and_query().unwrap().as_str()).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.req("GET", path, &[], Bytes::new()).await
    }

    /// A signed GET with extra headers.
    pub async fn get_h(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        self.req("GET", path, headers, Bytes::new()).await
    }

    pub async fn put(&self, path: &str, body: impl Into<Bytes>) -> Resp {
        self.req("PUT", path, &[], body).await
    }

    /// A signed DELETE.
    pub async fn delete(&self, path: &str) -> Resp {
        self.req("DELETE", path, &[], Bytes::new()).await
    }

    /// A signed HEAD.
    pub async fn head(&self, path: &str) -> Resp {
        self.req("HEAD", path, &[], Bytes::new()).await
    }

    /// Creates a (private) bucket.
    pub async fn mb(&self, bucket: &str) {
        self.put(&format!("/{bucket}"), Bytes::new())
            .await
            .expect(200);
    }

    /// Creates a public-read bucket.
    pub async fn mb_public(&self, bucket: &str) {
        self.req(
            "PUT",
            &format!("/{bucket}"),
            &[("x-amz-acl", "public-read")],
            Bytes::new(),
        )
        .await
        .expect(200);
    }

    /// Stores an object with this content type.
    pub async fn upload(&self, bucket: &str, key: &str, data: &[u8], content_type: &str) {
        self.req(
            "PUT",
            &format!("/{bucket}/{key}"),
            &[("content-type", content_type)],
            Bytes::copy_from_slice(data),
        )
        .await
        .expect(200);
    }

    /// Sets a bucket's image-processing configuration (JSON).
    pub async fn image_config(&self, bucket: &str, json: &str) -> Resp {
        self.put(
            &format!("/{bucket}?x-imgbucket-image-config"),
            json.to_string(),
        )
        .await
    }

    /// Starts a multipart upload; answers its upload id.
    pub async fn create_upload(&self, path: &str, headers: &[(&str, &str)]) -> String {
        let r = self
            .req("POST", &format!("{path}?uploads"), headers, Bytes::new())
            .await;
        r.expect(200);
        xml_text(&r.text(), "UploadId").unwrap()
    }

    /// Uploads part `n`; answers its ETag header (quoted).
    pub async fn upload_part(
        &self,
        path: &str,
        id: &str,
        n: u32,
        body: impl Into<Bytes>,
    ) -> String {
        let r = self
            .put(&format!("{path}?partNumber={n}&uploadId={id}"), body)
            .await;
        r.expect(200);
        r.header("etag").unwrap().to_string()
    }

    /// The number of entry files in the processed-variant cache.
    pub fn cache_files(&self) -> usize {
        let mut n = 0;
        let root = self.dir.path().join("cache");
        for shard in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            if shard.file_name().len() == 2 {
                n += std::fs::read_dir(shard.path()).unwrap().count();
            }
        }
        n
    }

    /// `headers` plus `Host` (by default the server's address: path
    /// style), signed as the vendor's SDK signs a request.
    pub fn vendor_headers(
        &self,
        vendor: Vendor,
        creds: &Credentials,
        method: &str,
        host: Option<&str>,
        path: &str,
        headers: &[(&str, &str)],
    ) -> HeaderMap {
        let host = host.map_or_else(|| self.addr.to_string(), str::to_string);
        let mut h = harness::header_map(headers);
        h.insert(http::header::HOST, HeaderValue::from_str(&host).unwrap());
        let (method, uri, now): (Method, _, _) =
            (method.parse().unwrap(), self.uri(path), SystemTime::now());
        match vendor {
            Vendor::OssV1 => {
                let host_bucket = bucket_from_host(&host, None);
                sign::sign_oss_v1_request(&method, &uri, &mut h, creds, now, host_bucket.as_deref())
                    .unwrap()
            }
            Vendor::Cos => {
                let key_time = Duration::from_secs(600);
                sign::sign_cos_request(&method, &uri, &mut h, creds, now, key_time).unwrap()
            }
        }
        h
    }
}

/// The vendors' signatures the tests sign with.
#[derive(Clone, Copy)]
pub enum Vendor {
    /// As `oss2.Auth` (OSS V1) signs.
    OssV1,
    /// As `cos-python-sdk-v5` signs (a 600 s key time).
    Cos,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Resp {
    /// Asserts the status (with the start of the body in the message).
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body[..self.body.len().min(600)])
        );
        self
    }

    /// The text of the first `<tag>` element of the body.
    pub fn xml(&self, tag: &str) -> Option<String> {
        xml_text(&self.text(), tag)
    }

    /// The `<Code>` of an error document.
    pub fn code(&self) -> String {
        self.xml("Code").unwrap_or_default()
    }

    /// Asserts an S3 error with this status and code, and the request id
    /// in both the header and the document.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        self.expect(status);
        assert_eq!(self.code(), code, "body: {}", self.text());
        assert!(self.header("x-amz-request-id").is_some());
        let rid = self.xml("RequestId").unwrap_or_default();
        assert_eq!(Some(rid.as_str()), self.header("x-amz-request-id"));
    }

    /// Asserts an OSS XML error with this status and code.
    #[track_caller]
    pub fn oss_error(&self, status: u16, code: &str) {
        self.expect(status);
        assert_eq!(self.header("content-type"), Some("application/xml"));
        assert_eq!(self.xml("Code").as_deref(), Some(code), "{}", self.text());
        assert!(self.xml("Message").is_some_and(|m| !m.is_empty()));
        assert_eq!(
            self.xml("RequestId").as_deref(),
            self.header("x-amz-request-id")
        );
        assert!(self.text().contains("<HostId>"), "{}", self.text());
    }

    /// Asserts the COS XML error envelope (docs/cos-dialect.md): `Code`,
    /// `Message`, `Resource`, `RequestId`, `TraceId`, and this `X-ErrNo`;
    /// answers the code.
    #[track_caller]
    pub fn cos_error(&self, status: u16, errno: Option<&str>) -> String {
        self.expect(status);
        assert_eq!(self.header("content-type"), Some("application/xml"));
        let doc = self.text();
        assert!(doc.contains("<Error>"), "{doc}");
        let code = self.code();
        assert!(!code.is_empty(), "{doc}");
        assert!(self.xml("Message").is_some_and(|m| !m.is_empty()), "{doc}");
        assert!(
            self.xml("Resource").is_some_and(|m| m.contains('/')),
            "{doc}"
        );
        assert!(
            self.xml("RequestId").is_some_and(|m| !m.is_empty()),
            "{doc}"
        );
        assert!(self.xml("TraceId").is_some(), "{doc}");
        assert_eq!(self.header("x-errno"), errno, "{doc}");
        code
    }

    /// Asserts the US3 error envelope (docs/us3-dialect.md): JSON
    /// `{"RetCode", "ErrMsg"}` only, a non-zero code, and `X-SessionId`;
    /// answers the message.
    #[track_caller]
    pub fn us3_error(&self, status: u16) -> String {
        self.expect(status);
        assert_eq!(self.header("content-type"), Some("application/json"));
        let j = self.json();
        let code = j["RetCode"].as_i64().unwrap_or_else(|| panic!("{j}"));
        assert_ne!(code, 0, "{j}");
        let msg = j["ErrMsg"].as_str().unwrap_or_else(|| panic!("{j}"));
        assert!(!msg.is_empty());
        assert!(self.header("x-sessionid").is_some_and(|v| !v.is_empty()));
        assert_eq!(j.as_object().unwrap().len(), 2, "{j}");
        msg.to_string()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }

    /// The decoded image of the body.
    pub fn image(&self) -> RgbaImage {
        image::load_from_memory(&self.body)
            .unwrap_or_else(|e| panic!("not an image ({e}): {:?}", self.header("content-type")))
            .to_rgba8()
    }

    pub fn dims(&self) -> (u32, u32) {
        self.image().dimensions()
    }

    /// Asserts a processed image: 200 with this content type.
    #[track_caller]
    pub fn expect_image(&self, content_type: &str) -> &Self {
        self.expect(200);
        assert_eq!(
            self.header("content-type"),
            Some(content_type),
            "{}",
            self.text()
        );
        self
    }
}
