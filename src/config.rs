//! Server configuration, parsed once at the edge (`main.rs`) and handed down
//! as small structs. Nothing below this module reads the environment or
//! files.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Size limits of the protocol layer.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest XML request body (CreateBucket, DeleteObjects, ACL).
    pub max_xml_body: usize,
    /// Largest CompleteMultipartUpload body (10,000 parts need more room).
    pub max_complete_body: usize,
    /// Largest single PUT body.
    pub max_object_size: u64,
    /// Minimum size of every multipart part but the last.
    pub min_part_size: u64,
    /// Longest wait for the next piece of a request body: a client that
    /// stalls longer gets `RequestTimeout` instead of holding the request
    /// open forever.
    pub body_idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_xml_body: 1 << 20,
            max_complete_body: 8 << 20,
            max_object_size: 5 << 30,
            min_part_size: 5 << 20,
            body_idle_timeout: Duration::from_secs(HttpConfig::default().body_idle_timeout_secs),
        }
    }
}

/// An access key pair.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub region: String,
    pub domain: Option<String>,
    pub credentials: Credentials,
    /// The config file's `[[users]]`.
    pub users: Vec<UserEntry>,
    /// `[cors]`: the CORS rule of every bucket that has no configuration
    /// of its own (absent: such buckets answer no cross-origin request).
    pub cors: Option<CorsDefault>,
    pub limits: Limits,
    /// Image processing: concurrency, cache, per-dialect limits.
    pub processing: ProcessingConfig,
    /// The lifecycle sweeper: whether it runs, how often, how much a tick
    /// may do, and how long a "day" is.
    pub lifecycle: LifecycleConfig,
    /// The readiness check.
    pub health: HealthConfig,
    /// Access to `/-/metrics`.
    pub metrics: MetricsConfig,
    /// Connection timeouts, the connection limit and the shutdown grace
    /// (`[http]`, checked).
    pub connections: ConnectionOptions,
}

/// `[http]` in the config file: how long a client may hold a connection
/// without making progress, and how many connections may be open at once,
/// so that slow or idle clients cannot pin the server's connections.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Seconds a client has to send a whole request head, counted from
    /// the moment the connection waits for one: when it opens, and after
    /// each response on a keep-alive connection. It is therefore also how
    /// long an idle keep-alive connection is kept. The connection is then
    /// closed without an answer (there is no request to answer).
    pub header_read_timeout_secs: u64,
    /// Seconds a request body may stall between two reads; the request is
    /// then answered 400 `RequestTimeout` and nothing is stored.
    pub body_idle_timeout_secs: u64,
    /// Most client connections open at once (`0`: no limit). One more is
    /// answered 503 `SlowDown` (which S3 SDKs retry) and closed. Keep it
    /// below the process's file-descriptor limit.
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_secs: 30,
            body_idle_timeout_secs: 60,
            max_connections: 4096,
        }
    }
}

impl HttpConfig {
    /// The connection settings `server::run` takes, with `grace` for the
    /// drain on shutdown; `Err` names a zero timeout (it would close every
    /// connection at once).
    pub fn connection_options(&self, grace: Duration) -> Result<ConnectionOptions, String> {
        if self.header_read_timeout_secs == 0 {
            return Err("[http] header_read_timeout_secs must be at least 1".into());
        }
        Ok(ConnectionOptions {
            grace,
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            max_connections: self.max_connections,
        })
    }

    /// The body stall limit; `Err` for zero.
    pub fn body_idle_timeout(&self) -> Result<Duration, String> {
        if self.body_idle_timeout_secs == 0 {
            return Err("[http] body_idle_timeout_secs must be at least 1".into());
        }
        Ok(Duration::from_secs(self.body_idle_timeout_secs))
    }
}

/// What `server::run` enforces on every connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionOptions {
    /// How long in-flight requests may run after a shutdown signal.
    pub grace: Duration,
    /// See [`HttpConfig::header_read_timeout_secs`].
    pub header_read_timeout: Duration,
    /// See [`HttpConfig::max_connections`] (`0`: no limit).
    pub max_connections: usize,
}

impl Default for ConnectionOptions {
    /// `[http]`'s defaults, with a 10 s grace.
    fn default() -> Self {
        let http = HttpConfig::default();
        ConnectionOptions {
            grace: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(http.header_read_timeout_secs),
            max_connections: http.max_connections,
        }
    }
}

/// The lifecycle sweeper's settings (`[lifecycle]` in the config file,
/// docs/lifecycle.md). Every field has a default, so the table and each of
/// its keys are optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifecycleConfig {
    /// Whether this node runs the sweeper. In gateway mode several nodes
    /// may (deletes are idempotent); this turns it off on some of them.
    pub enabled: bool,
    /// Seconds between two ticks (at least 1).
    pub interval_secs: u64,
    /// The length of a lifecycle "day" in seconds: 86400, as on S3. Tests
    /// shorten it so that `Days` rules come due in seconds.
    pub day_secs: u64,
    /// Most object deletes and upload aborts one tick performs.
    pub max_deletes_per_tick: u32,
    /// Most reads one tick performs: the bucket list, a bucket's rules, a
    /// page of objects or uploads (at least 3, so every tick progresses).
    pub max_reads_per_tick: u32,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig {
            enabled: true,
            interval_secs: 60,
            day_secs: 86_400,
            max_deletes_per_tick: 1000,
            max_reads_per_tick: 100,
        }
    }
}

/// Image-processing settings (`[processing]` in the config file). Every
/// field has a default, so the table and each of its keys are optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProcessingConfig {
    /// Most pipelines executing at once; `0` = the number of cores.
    pub concurrency: usize,
    /// Total size of the on-disk processed-variant cache; `0` disables it.
    pub cache_bytes: u64,
    /// Bytes of small variants (at most 64 KiB each, recently used) the
    /// cache also holds in memory, so that a hit on a hot thumbnail reads
    /// no file. They are copies of entries on disk, counted again here and
    /// not in `memory_budget`; `0` turns the memory tier off (as does
    /// `cache_bytes = 0`).
    pub cache_memory_bytes: u64,
    /// Seconds a processed-variant request trusts what it last read of
    /// the source's metadata (its ETag, which keys the cache) before
    /// reading it again. `0` (the default): every request checks the
    /// source, so an overwrite is seen at once. In gateway mode each check
    /// is one HEAD to the backend; a larger value serves cached variants
    /// without touching the backend, at the price of serving the old
    /// variant for up to that long after the source changes.
    pub source_check_secs: u64,
    /// Total size of the node's on-disk copies of source images, kept by
    /// their ETag so that a miss of the variant cache costs a check of the
    /// source (a HEAD, or nothing within `source_check_secs`) instead of
    /// a GET of all its bytes from the backend. Unset: 1 GiB in gateway
    /// mode ([`GATEWAY_SOURCE_CACHE_BYTES`]), none on the embedded store,
    /// whose sources are local files already. `0` disables it.
    pub source_cache_bytes: Option<u64>,
    /// Largest estimated cost of one processing request, in work units
    /// (`imaging::budget`, cost model in `docs/oss.md`, "Limits"); a
    /// request over it is refused before its source is decoded.
    pub work_budget: u64,
    /// Seconds one processing job may run before it is stopped at its next
    /// checkpoint and answered 503; `0` = no deadline.
    pub job_timeout_secs: u64,
    /// Whether each running job is bound to a core no other job holds
    /// (`images::cores`), from the process's cores at start.
    pub pin_jobs: bool,
    /// Bytes the estimated peak working sets of the running jobs may add
    /// up to (`imaging::memory`); a job needing more than all of it is
    /// refused with the dialect's "too large" error.
    pub memory_budget: u64,
    /// Image requests that may wait for a slot or for memory at once; one
    /// more is answered 503 `SlowDown`.
    pub queue_depth: usize,
    /// Seconds a request may wait for admission before it is answered 503
    /// `SlowDown`; `0` = never wait.
    pub queue_timeout_secs: u64,
    /// Output format by the client's `Accept` for processing requests that
    /// name none, for buckets whose image settings do not say:
    /// `off` (the default), `webp` or `avif_webp` (`docs/styles.md`,
    /// "Format by Accept").
    pub auto_format: AutoFormat,
    /// Overrides of the Alibaba OSS limits (`docs/oss.md`, "Limits").
    pub oss: LimitOverrides,
    /// Overrides of the Tencent COS limits (`docs/cos.md`, "Limits").
    pub cos: LimitOverrides,
    /// Overrides of the UCloud US3 limits (`docs/us3.md`, "Limits").
    pub us3: LimitOverrides,
}

/// Content negotiation of the output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoFormat {
    /// The source's format, whatever the client accepts.
    #[default]
    Off,
    /// WebP for clients that accept `image/webp`.
    Webp,
    /// AVIF for clients that accept `image/avif`, else WebP for those that
    /// accept `image/webp` (animations: WebP, AVIF here being one frame).
    AvifWebp,
}

impl Default for ProcessingConfig {
    fn default() -> Self {
        ProcessingConfig {
            concurrency: 0,
            cache_bytes: 512 << 20,
            cache_memory_bytes: 32 << 20,
            source_check_secs: 0,
            source_cache_bytes: None,
            work_budget: imaging::budget::DEFAULT_MAX_WORK,
            job_timeout_secs: 30,
            pin_jobs: true,
            memory_budget: 256 << 20,
            queue_depth: 64,
            queue_timeout_secs: 10,
            auto_format: AutoFormat::Off,
            oss: LimitOverrides::default(),
            cos: LimitOverrides::default(),
            us3: LimitOverrides::default(),
        }
    }
}

/// `processing.source_cache_bytes` of a gateway node whose config file
/// does not say.
pub const GATEWAY_SOURCE_CACHE_BYTES: u64 = 1 << 30;

impl ProcessingConfig {
    /// These settings for a gateway node: the source cache on, unless the
    /// config file sets its size.
    pub fn for_gateway(mut self) -> Self {
        self.source_cache_bytes
            .get_or_insert(GATEWAY_SOURCE_CACHE_BYTES);
        self
    }

    /// The number of pipelines allowed to run at once (at least 1).
    pub fn effective_concurrency(&self) -> usize {
        if self.concurrency > 0 {
            return self.concurrency;
        }
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// Optional replacements of one dialect's default limits; an absent key
/// keeps the vendor's documented value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitOverrides {
    /// Largest source object, in bytes.
    pub max_source_bytes: Option<u64>,
    /// Largest source width or height.
    pub max_side: Option<u32>,
    /// Largest width × height × frames of a source.
    pub max_pixels: Option<u64>,
    /// Largest side of any output or intermediate image.
    pub max_output_side: Option<u32>,
    /// Most decoded animation frames.
    pub max_frames: Option<u32>,
    /// Largest source side for arbitrary-angle rotation (`0` = no limit).
    pub max_rotate_side: Option<u32>,
    /// Largest width × height an operation may grow an image to (pad,
    /// canvas, enlargement, rotation).
    pub max_output_pixels: Option<u64>,
}

impl LimitOverrides {
    /// `base` with every given override applied.
    pub fn apply(&self, mut base: imaging::Limits) -> imaging::Limits {
        if let Some(v) = self.max_source_bytes {
            base.max_source_bytes = v;
        }
        if let Some(v) = self.max_side {
            base.max_side = v;
        }
        if let Some(v) = self.max_pixels {
            base.max_pixels = v;
        }
        if let Some(v) = self.max_output_side {
            base.max_output_side = v;
        }
        if let Some(v) = self.max_frames {
            base.max_frames = v;
        }
        if let Some(v) = self.max_rotate_side {
            base.max_rotate_side = (v > 0).then_some(v);
        }
        if let Some(v) = self.max_output_pixels {
            base.max_output_pixels = v;
        }
        base
    }
}

/// The TOML config file. Every field is optional; command-line flags win.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub addr: Option<SocketAddr>,
    pub data: Option<PathBuf>,
    pub region: Option<String>,
    pub domain: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub min_part_size: Option<u64>,
    pub max_xml_body: Option<usize>,
    /// `[processing]`: image-processing settings.
    #[serde(default)]
    pub processing: ProcessingConfig,
    /// `[backend]`: gateway mode over an existing S3 store.
    #[serde(default)]
    pub backend: BackendFileConfig,
    /// `[lifecycle]`: the lifecycle sweeper.
    #[serde(default)]
    pub lifecycle: LifecycleConfig,
    /// `[[users]]`: users besides the admin.
    #[serde(default)]
    pub users: Vec<UserEntry>,
    /// `[cors]`: the CORS rule of every bucket that has no configuration
    /// of its own (absent: such buckets answer no cross-origin request).
    pub cors: Option<CorsDefault>,
    /// `[health]`: the readiness check (docs/monitoring.md).
    #[serde(default)]
    pub health: HealthConfig,
    /// `[metrics]`: who may read `/-/metrics`.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// `[log]`: the log line format.
    #[serde(default)]
    pub log: LogConfig,
    /// `[http]`: connection timeouts and the connection limit.
    #[serde(default)]
    pub http: HttpConfig,
}

/// `[health]` in the config file: how `GET /-/health/ready` asks the
/// store. Load balancers probe every few seconds from every node, so the
/// answer is remembered briefly and the check is cut short rather than
/// left to hang a probe.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// Longest wait for the store (in gateway mode, the backend) before
    /// the node is reported not ready, in milliseconds.
    pub ready_timeout_ms: u64,
    /// How long one answer of the store is reused for later probes, in
    /// milliseconds (`0`: every probe asks).
    pub ready_cache_ms: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            ready_timeout_ms: 2000,
            ready_cache_ms: 1000,
        }
    }
}

impl HealthConfig {
    /// The check's timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.ready_timeout_ms)
    }

    /// How long an answer is reused.
    pub fn cache(&self) -> Duration {
        Duration::from_millis(self.ready_cache_ms)
    }
}

/// `[metrics]` in the config file.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// When set, `/-/metrics` answers only requests carrying
    /// `Authorization: Bearer <token>` (Prometheus' `authorization`
    /// setting); absent, it is open like most exporters.
    pub token: Option<String>,
}

impl std::fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig")
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// The format of log lines on stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event (`key=value` fields).
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// `[log]` in the config file (`--log-format` wins).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` (the default) or `json`.
    pub format: LogFormat,
}

/// A `[[users]]` table: a user besides the admin (checked by `users`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub name: String,
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for UserEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserEntry")
            .field("name", &self.name)
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// `[cors]` in the config file: one CORS rule for every bucket without a
/// CORS configuration of its own (docs/cors.md). Checked at start-up as a
/// PutBucketCors is (`http::cors::CorsRule::from_default`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsDefault {
    /// Origins allowed, each with at most one `*` (`["*"]`: any).
    pub allowed_origins: Vec<String>,
    /// Methods allowed: some of GET, PUT, POST, DELETE, HEAD.
    pub allowed_methods: Vec<String>,
    /// Request headers a preflight may ask for (`*` wildcards).
    #[serde(default)]
    pub allowed_headers: Vec<String>,
    /// Response headers the page's script may read.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// How long a browser may cache a preflight's answer.
    #[serde(default)]
    pub max_age_secs: Option<u64>,
}

/// `[backend]` in the config file: gateway mode (docs/deploy.md). Flags
/// and environment variables win over it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackendFileConfig {
    /// `http://host:port` of the backend's S3 API; absent: embedded store.
    pub endpoint: Option<String>,
    /// The region the backend signs for (default `us-east-1`; Garage's is
    /// `garage`).
    pub region: Option<String>,
    /// The reserved bucket for shared state (default `imgbucket-meta`).
    pub meta_bucket: Option<String>,
    /// The backend key (`IMGBUCKET_BACKEND_ACCESS_KEY` wins).
    pub access_key: Option<String>,
    /// Its secret (`IMGBUCKET_BACKEND_SECRET_KEY` wins).
    pub secret_key: Option<String>,
    /// Seconds to wait for the backend before answering 503 (default 10).
    pub timeout_secs: Option<u64>,
    /// PEM certificates trusted for an `https://` backend.
    pub ca_file: Option<PathBuf>,
}

/// Errors of configuration loading (reported by `main`, exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The config file is not valid TOML for [`FileConfig`].
    #[error("invalid config {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    /// Only one of access key / secret key was given.
    #[error("both an access key and a secret key are needed ({0})")]
    HalfCredentials(&'static str),
    /// The stored generated key file is unusable.
    #[error("key file {path}: {why}")]
    KeyFile { path: PathBuf, why: String },
    /// Writing the generated key file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl FileConfig {
    /// Reads a config file. A missing file is an error only if `required`
    /// (it was named explicitly).
    pub fn load(path: &Path, required: bool) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|source| ConfigError::Parse {
                path: path.into(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                Ok(FileConfig::default())
            }
            Err(source) => Err(ConfigError::Read {
                path: path.into(),
                source,
            }),
        }
    }
}

/// Name of the generated key file inside the data dir.
pub const KEY_FILE: &str = "credentials.toml";

#[derive(Debug, Deserialize, serde::Serialize)]
struct KeyFile {
    access_key: String,
    secret_key: String,
}

/// The credentials given explicitly: environment first, then the config
/// file; `None` when neither names any.
pub fn explicit_credentials(
    env: (Option<String>, Option<String>),
    file: &FileConfig,
) -> Result<Option<Credentials>, ConfigError> {
    match env {
        (Some(a), Some(s)) => {
            return Ok(Some(Credentials {
                access_key: a,
                secret_key: s,
            }))
        }
        (None, None) => {}
        _ => {
            return Err(ConfigError::HalfCredentials(
                "IMGBUCKET_ACCESS_KEY / IMGBUCKET_SECRET_KEY",
            ))
        }
    }
    match (&file.access_key, &file.secret_key) {
        (Some(a), Some(s)) => Ok(Some(Credentials {
            access_key: a.clone(),
            secret_key: s.clone(),
        })),
        (None, None) => Ok(None),
        _ => Err(ConfigError::HalfCredentials("config file")),
    }
}

/// Picks the credentials: environment first, then the config file, then the
/// generated key in the data dir (created on first start). Returns whether
/// a new key pair was just generated (so the caller prints it once).
pub fn resolve_credentials(
    env: (Option<String>, Option<String>),
    file: &FileConfig,
    data_dir: &Path,
) -> Result<(Credentials, bool), ConfigError> {
    if let Some(c) = explicit_credentials(env, file)? {
        return Ok((c, false));
    }
    let path = data_dir.join(KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let creds = parse_key_file(&text).map_err(|why| ConfigError::KeyFile {
                path: path.clone(),
                why,
            })?;
            Ok((creds, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let creds = generate_credentials().map_err(|why| ConfigError::KeyFile {
                path: path.clone(),
                why,
            })?;
            write_key_file(&path, &creds).map_err(|source| ConfigError::Write { path, source })?;
            Ok((creds, true))
        }
        Err(source) => Err(ConfigError::Read { path, source }),
    }
}

/// A key file's text (`access_key`, `secret_key` in TOML).
pub fn key_file_text(c: &Credentials) -> Result<String, String> {
    toml::to_string(&KeyFile {
        access_key: c.access_key.clone(),
        secret_key: c.secret_key.clone(),
    })
    .map_err(|e| e.to_string())
}

/// Reads a key file's text.
pub fn parse_key_file(text: &str) -> Result<Credentials, String> {
    let k: KeyFile = toml::from_str(text).map_err(|e| e.to_string())?;
    Ok(Credentials {
        access_key: k.access_key,
        secret_key: k.secret_key,
    })
}

/// A fresh random key pair.
pub fn generate_credentials() -> Result<Credentials, String> {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut raw = [0u8; 20 + 30];
    getrandom::fill(&mut raw).map_err(|e| e.to_string())?;
    let access_key = format!(
        "IB{}",
        raw[..18]
            .iter()
            .map(|b| ALNUM[*b as usize % ALNUM.len()] as char)
            .collect::<String>()
    );
    let secret_key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &raw[20..])
        .replace(['+', '/'], "x");
    Ok(Credentials {
        access_key,
        secret_key,
    })
}

fn write_key_file(path: &Path, c: &Credentials) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = key_file_text(c).map_err(std::io::Error::other)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cors_default_is_read_from_the_file() {
        let file: FileConfig = toml::from_str(
            "[cors]\nallowed_origins = [\"*\"]\nallowed_methods = [\"GET\", \"HEAD\"]\nmax_age_secs = 60\n",
        )
        .unwrap();
        let cors = file.cors.unwrap();
        assert_eq!(cors.allowed_methods, ["GET", "HEAD"]);
        assert!(cors.allowed_headers.is_empty());
        assert_eq!(cors.max_age_secs, Some(60));
        assert!(toml::from_str::<FileConfig>("[cors]\nallowed_origins = []\n").is_err());
        assert!(toml::from_str::<FileConfig>(
            "[cors]\nallowed_origins = [\"*\"]\nallowed_methods = [\"GET\"]\nmax_age = 1\n"
        )
        .is_err());
        assert!(FileConfig::default().cors.is_none());
    }

    #[test]
    fn operations_tables_are_optional_and_checked() {
        let d = FileConfig::default();
        assert_eq!(d.health, HealthConfig::default());
        assert_eq!(d.metrics.token, None);
        assert_eq!(d.log.format, LogFormat::Text);
        let file: FileConfig = toml::from_str(
            "[health]\nready_cache_ms = 0\n[metrics]\ntoken = \"t0k3n\"\n[log]\nformat = \"json\"\n",
        )
        .unwrap();
        assert_eq!(file.health.cache(), Duration::ZERO);
        assert_eq!(file.health.timeout(), Duration::from_secs(2));
        assert_eq!(file.metrics.token.as_deref(), Some("t0k3n"));
        assert!(!format!("{:?}", file.metrics).contains("t0k3n"));
        assert_eq!(file.log.format, LogFormat::Json);
        assert!(toml::from_str::<FileConfig>("[log]\nformat = \"xml\"\n").is_err());
        assert!(toml::from_str::<FileConfig>("[metrics]\nrequire_auth = true\n").is_err());
    }

    #[test]
    fn lifecycle_table_is_optional_and_checked() {
        assert_eq!(FileConfig::default().lifecycle, LifecycleConfig::default());
        let file: FileConfig =
            toml::from_str("[lifecycle]\nday_secs = 2\ninterval_secs = 1\n").unwrap();
        assert_eq!(file.lifecycle.day_secs, 2);
        assert_eq!(file.lifecycle.interval_secs, 1);
        assert!(file.lifecycle.enabled);
        assert_eq!(file.lifecycle.max_deletes_per_tick, 1000);
        assert!(toml::from_str::<FileConfig>("[lifecycle]\nday_seconds = 2\n").is_err());
    }

    #[test]
    fn credentials_precedence_and_generation() {
        let dir = tempfile::tempdir().unwrap();
        let file = FileConfig {
            access_key: Some("fa".into()),
            secret_key: Some("fs".into()),
            ..Default::default()
        };
        let (c, gen) =
            resolve_credentials((Some("ea".into()), Some("es".into())), &file, dir.path()).unwrap();
        assert_eq!((c.access_key.as_str(), gen), ("ea", false));
        let (c, _) = resolve_credentials((None, None), &file, dir.path()).unwrap();
        assert_eq!(c.access_key, "fa");
        assert!(resolve_credentials((Some("a".into()), None), &file, dir.path()).is_err());

        let (c1, gen1) =
            resolve_credentials((None, None), &FileConfig::default(), dir.path()).unwrap();
        assert!(gen1);
        let (c2, gen2) =
            resolve_credentials((None, None), &FileConfig::default(), dir.path()).unwrap();
        assert!(!gen2);
        assert_eq!(c1, c2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
