//! The image handler family: processed GET/HEAD, the style and image
//! settings APIs, `sys/saveas`, COS `image_process` and upload-time
//! `Pic-Operations`, between the dialect parsers (`dialects`), the engine
//! (`imaging`) and the store.
//!
//! The front door (`crate::front`) routes a request to an [`op::ImageOp`]
//! (the processing string already parsed into a `Directive`), authorizes it
//! (source protection included) and calls [`dispatch`]. Flow of a
//! processed GET ([`process`]):
//! 1. A style reference is resolved from the bucket's settings
//!    ([`styles`]).
//! 2. The source is HEADed: over the dialect's byte limit → `ImageTooLarge`
//!    without reading it. The processed ETag (a hash of the source ETag and
//!    the canonical pipeline) answers conditional GETs before any work; it
//!    and the cache key are remembered for the source version read
//!    (`memo`), so a repeated request does not compute them again.
//! 3. The variant comes from the [`cache`] (memory for small hot ones,
//!    else disk), or is computed once (a
//!    per-key in-flight lock): the source and watermark objects are read
//!    into memory (bounded), and `Engine::execute` runs on the blocking pool
//!    once [`admission`] grants a slot (sized to the cores) and the job's
//!    estimated memory (`imaging::memory`) within `memory_budget`, so a slow
//!    image never stalls the async threads and a burst cannot exhaust
//!    memory; a panic there becomes a 500, not a dead server.
//! 4. Info-style outputs are rendered by the dialect's JSON renderer.
//!
//! Every failure is one [`ProcessError`], handed to the HTTP layer
//! classified in the dialect's envelope ([`ProcessError::into_api`]).
//! `Range` is ignored: processed responses are always whole
//! (`docs/oss.md`, "Responses").
//!
//! Architecture Invariant: this module never parses vendor syntax itself
//! (that is `dialects`), never touches pixels (that is `imaging`), and
//! never imports the S3 handlers (`crate::s3`).

pub mod admission;
pub mod cache;
pub mod cores;
pub mod error;
mod memo;
pub mod op;
pub mod pic_operations;
pub mod settings;
pub mod styles;

pub use error::ProcessError;

use crate::config::ProcessingConfig;
use crate::http::body::{self, Body, RequestBody};
use crate::http::error::ApiError;
use crate::http::headers::{ConditionFailure, Conditions};
use crate::http::names::validate_bucket_name;
use crate::http::vendor::Vendor;
use crate::http::{ApiResult, S3Config};
use admission::{Admission, AdmissionConfig, Refusal, Slot};
use cache::{Cache, Entry, Lookup};
use dialects::{Dialect, Directive};
use http::{HeaderValue, Method, Response, StatusCode};
use memo::Names;
use op::{BucketApi, ImageOp};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use storage::{ObjectMeta, Store};

/// What an image handler gets besides the op and the body.
pub(crate) type Ctx<'a> = crate::http::Ctx<'a, ImageService>;

/// The image handlers' shared state: the store, the protocol settings,
/// the processor, and the bucket settings every GET may need.
pub struct ImageService {
    /// The storage engine.
    pub store: Arc<dyn Store>,
    /// Protocol settings (domain, body limits).
    pub config: S3Config,
    /// Limits, executor pool, variant cache.
    pub process: Processor,
    settings: settings::SettingsCache,
    /// Who may write the outputs of saveas and `Pic-Operations`.
    pub(crate) access: Arc<crate::access::Guard>,
}

impl std::fmt::Debug for ImageService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageService")
            .field("config", &self.config)
            .field("process", &self.process)
            .finish_non_exhaustive()
    }
}

impl ImageService {
    /// Builds the image handlers' state over `store`.
    pub fn new(
        store: Arc<dyn Store>,
        config: S3Config,
        process: Processor,
        access: Arc<crate::access::Guard>,
    ) -> Self {
        ImageService {
            store,
            config,
            process,
            settings: settings::SettingsCache::default(),
            access,
        }
    }

    /// The bucket's image settings (kept in memory, see [`settings`]).
    pub async fn image_config(
        &self,
        bucket: &str,
    ) -> Result<Arc<styles::ImageConfig>, ProcessError> {
        self.settings.get(&*self.store, bucket).await
    }

    /// Re-reads bucket settings once older than `ttl` (gateway mode, where
    /// other nodes write them too); `None` keeps them until changed here.
    pub fn set_settings_ttl(
        &mut self,
        ttl: Option<std::time::Duration>,
        access: Arc<crate::access::Guard>,
    ) {
        self.settings = settings::SettingsCache::with_ttl(ttl);
        self.access = access;
    }

    /// Forgets what is known of a bucket's settings (the bucket was created
    /// or deleted).
    pub fn forget_bucket(&self, bucket: &str) {
        self.settings.forget(bucket);
    }

    /// Whether source protection refuses an anonymous, non-style read of
    /// `bucket/key`. A bucket whose settings cannot be read protects
    /// nothing (the read then reports the bucket its own way).
    pub async fn protects(&self, bucket: &str, key: &str) -> bool {
        self.image_config(bucket)
            .await
            .is_ok_and(|c| c.protects(key))
    }

    /// A plain GET or HEAD of `bucket/key` that names a style through one
    /// of the bucket's separators (`photo.jpg!thumb`): the processing
    /// operation on the source, in the style's dialect. `None`: the bucket
    /// has no separators (known from memory, no store read), or the key
    /// names no existing style; it is a plain read.
    pub async fn style_by_separator(
        &self,
        bucket: &str,
        key: &str,
    ) -> Option<Result<ImageOp, ApiError>> {
        // A missing bucket: the plain read reports it its own way.
        let cfg = self.image_config(bucket).await.ok()?;
        if cfg.separators.is_empty() {
            return None;
        }
        match styles::match_separator(&*self.store, bucket, key, &cfg).await {
            Ok(Some((source, name, rec))) => {
                tracing::debug!(style = name, source, "style by separator");
                // The record is at hand: parse it here rather than have
                // the handler load it again.
                let dialect = rec.dialect();
                Some(match dialects::parse_style(dialect, &rec.content) {
                    Ok(pipeline) => Ok(ImageOp::Process {
                        bucket: bucket.to_string(),
                        key: source,
                        dialect,
                        directive: Directive::Pipeline(pipeline),
                        through_style: true,
                    }),
                    Err(e) => Err(ProcessError::from(e).into_api(dialect)),
                })
            }
            Ok(None) => None,
            Err(e) => Some(Err(e.into_api(Dialect::Oss))),
        }
    }
}

/// Runs one image operation.
pub async fn dispatch(cx: Ctx<'_>, op: ImageOp, body: RequestBody) -> ApiResult {
    match op {
        ImageOp::Process {
            bucket,
            key,
            dialect,
            directive,
            ..
        } => process(&cx, &bucket, &key, dialect, directive)
            .await
            .map_err(|e| e.into_api(dialect)),
        ImageOp::BucketApi {
            bucket,
            method,
            api,
        } => bucket_api(&cx, body, &bucket, &method, api).await,
        ImageOp::SaveAs { bucket, key } => {
            let raw = read_body(&cx, body).await?;
            saveas(&cx, &raw, &bucket, &key)
                .await
                .map_err(|e| e.into_api(Dialect::Oss))
        }
        ImageOp::CosImageProcess { bucket, key } => {
            pic_operations::image_process(&cx, body, &bucket, &key).await
        }
        ImageOp::Explain {
            bucket,
            dialect,
            directive,
        } => explain(cx.state, &bucket, dialect, directive)
            .await
            .map_err(|e| e.into_api(dialect)),
    }
}

/// The answer of `?x-imgbucket-explain`: the typed pipeline (the style
/// loaded when one is named; no bucket setting applied, as those are not
/// part of the request), and for each dialect its spelling or every
/// reason it has none, with the dialect's own rules a spelling inherits.
async fn explain(
    state: &ImageService,
    bucket: &str,
    dialect: Dialect,
    directive: Directive,
) -> Result<Response<Body>, ProcessError> {
    let pipeline = load_directive(state, bucket, directive).await?;
    let mut spellings = serde_json::Map::new();
    for d in [Dialect::Oss, Dialect::Cos, Dialect::Us3] {
        let mut entry = match dialects::spell(&pipeline, d) {
            Ok(text) => serde_json::json!({ "text": text }),
            Err(reasons) => serde_json::json!({ "errors": reasons }),
        };
        entry["rules"] = serde_json::json!(dialects::spell::house_rules(&pipeline, d));
        spellings.insert(styles::dialect_name(d).to_string(), entry);
    }
    let doc = serde_json::json!({
        "dialect": styles::dialect_name(dialect),
        "pipeline": pipeline,
        "spellings": spellings,
    });
    Ok(crate::http::json_response(StatusCode::OK, doc.to_string()))
}

/// A management request's body, bounded by the XML body limit.
async fn read_body(cx: &Ctx<'_>, mut body: RequestBody) -> Result<bytes::Bytes, ApiError> {
    body.read_to_limit(cx.state.config.limits.max_xml_body)
        .await
}

/// Largest `POST ?x-oss-process` body (a process string and two base64
/// names; OSS itself caps URLs far lower).
const MAX_SAVEAS_BODY: usize = 64 * 1024;

/// The processing metrics (`/-/metrics`), kept beside what they count.
#[derive(Clone)]
pub struct ProcessorMetrics {
    jobs_started: prometheus::IntCounter,
    jobs_ended: prometheus::IntCounterVec,
    queued: prometheus::IntGauge,
    running: prometheus::IntGauge,
    slots: prometheus::IntGauge,
    memory_budget: prometheus::IntGauge,
    memory_in_use: prometheus::IntGauge,
    refused: prometheus::IntCounterVec,
    cache_hits: prometheus::IntCounter,
    cache_misses: prometheus::IntCounter,
    cache_bytes: prometheus::IntGauge,
    cache_evictions: prometheus::IntCounter,
    cache_memory_hits: prometheus::IntCounter,
    cache_memory_bytes: prometheus::IntGauge,
    source_hits: prometheus::IntCounter,
    source_misses: prometheus::IntCounter,
    job_seconds: prometheus::HistogramVec,
}

impl std::fmt::Debug for ProcessorMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessorMetrics").finish_non_exhaustive()
    }
}

impl ProcessorMetrics {
    /// Every metric at zero. The names and labels are constants, so
    /// building them cannot fail on any input.
    #[allow(clippy::expect_used)]
    fn new() -> Self {
        use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts};
        let counter = |n: &str, h: &str| IntCounter::new(n, h).expect("valid metric");
        let gauge = |n: &str, h: &str| IntGauge::new(n, h).expect("valid metric");
        let m = ProcessorMetrics {
            jobs_started: counter(
                "imgbucket_image_jobs_started_total",
                "Pipelines handed to the engine.",
            ),
            jobs_ended: IntCounterVec::new(
                Opts::new(
                    "imgbucket_image_jobs_ended_total",
                    "Pipelines the engine finished, by result: completed, refused (a limit), cancelled (the client hung up), timed_out (job_timeout_secs), failed.",
                ),
                &["result"],
            )
            .expect("valid metric"),
            queued: gauge(
                "imgbucket_processing_queued",
                "Image requests waiting for a processing slot.",
            ),
            running: gauge(
                "imgbucket_processing_running",
                "Processing slots in use.",
            ),
            slots: gauge(
                "imgbucket_processing_slots",
                "Processing slots (processing.concurrency).",
            ),
            memory_budget: gauge(
                "imgbucket_processing_memory_budget_bytes",
                "Bytes the running jobs' memory estimates may add up to (processing.memory_budget).",
            ),
            memory_in_use: gauge(
                "imgbucket_processing_memory_in_use_bytes",
                "Bytes of the memory budget reserved by running jobs.",
            ),
            refused: IntCounterVec::new(
                Opts::new(
                    "imgbucket_processing_refused_total",
                    "Image jobs not admitted, by reason: too_large (over the whole memory budget), queue_full, queue_timeout.",
                ),
                &["reason"],
            )
            .expect("valid metric"),
            cache_hits: counter(
                "imgbucket_variant_cache_hits_total",
                "Processed variants served from the disk cache.",
            ),
            cache_misses: counter(
                "imgbucket_variant_cache_misses_total",
                "Processed variants computed because the cache had none.",
            ),
            cache_bytes: gauge(
                "imgbucket_variant_cache_bytes",
                "Bytes held by the variant cache.",
            ),
            cache_evictions: counter(
                "imgbucket_variant_cache_evictions_total",
                "Variants evicted from the cache to stay within processing.cache_bytes.",
            ),
            cache_memory_hits: counter(
                "imgbucket_variant_cache_memory_hits_total",
                "Cache hits answered from the memory tier (processing.cache_memory_bytes), without reading a file.",
            ),
            cache_memory_bytes: gauge(
                "imgbucket_variant_cache_memory_bytes",
                "Bytes of variants the cache holds in memory (also counted on disk).",
            ),
            source_hits: counter(
                "imgbucket_source_cache_hits_total",
                "Sources read from the node's copy (gateway mode, processing.source_cache_bytes) instead of the backend.",
            ),
            source_misses: counter(
                "imgbucket_source_cache_misses_total",
                "Sources read from the backend because the node had no copy of that ETag.",
            ),
            job_seconds: prometheus::HistogramVec::new(
                prometheus::HistogramOpts::new(
                    "imgbucket_image_job_duration_seconds",
                    "Engine time of one pipeline (decode, operations, encode), by dialect and output: an image format, or info for the JSON answers.",
                )
                .buckets(JOB_SECONDS_BUCKETS.to_vec()),
                &["dialect", "output"],
            )
            .expect("valid metric"),
        };
        // Every result shows from the start, at 0, so rates work at once.
        for result in JOB_RESULTS {
            m.jobs_ended.with_label_values(&[result]);
        }
        for reason in REFUSALS {
            m.refused.with_label_values(&[reason]);
        }
        m
    }
}

/// Buckets of `imgbucket_image_job_duration_seconds`: from a cached-size
/// thumbnail (milliseconds) to a full-size AVIF of a 20 MP photo.
const JOB_SECONDS_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The `output` label of a completed job: the image format, or `info` for
/// the terminals answered as JSON (info, EXIF, average colour).
fn output_label(out: &imaging::Output) -> &'static str {
    match out {
        imaging::Output::Image { format, .. } => {
            format.mime().strip_prefix("image/").unwrap_or("image")
        }
        _ => "info",
    }
}

/// The values of `imgbucket_image_jobs_ended_total`'s `result` label.
const JOB_RESULTS: [&str; 5] = ["completed", "refused", "cancelled", "timed_out", "failed"];

/// The values of `imgbucket_processing_refused_total`'s `reason` label.
const REFUSALS: [&str; 3] = ["too_large", "queue_full", "queue_timeout"];

/// The `result` a finished job is counted under.
fn job_result<T>(out: &Result<T, imaging::Error>) -> &'static str {
    match out {
        Ok(_) => "completed",
        Err(imaging::Error::TooLarge { .. }) => "refused",
        Err(imaging::Error::Cancelled) => "cancelled",
        Err(imaging::Error::DeadlineExceeded) => "timed_out",
        Err(_) => "failed",
    }
}

/// The processing state shared by all requests: limits, the executor
/// pool's admission, the engine (fonts load on first use), the cache.
#[derive(Debug)]
pub struct Processor {
    limits: [imaging::Limits; 3],
    /// Slots, memory budget and the bounded queue ([`admission`]).
    admission: Arc<Admission>,
    metrics: ProcessorMetrics,
    engine: Arc<OnceLock<imaging::Engine>>,
    cache: Option<Arc<Cache>>,
    /// Copies of sources by ETag (`source_cache_bytes`, gateway mode).
    source_copies: Option<Arc<Cache>>,
    inflight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// How long a source's metadata is trusted (`source_check_secs`).
    source_ttl: std::time::Duration,
    /// `[processing] auto_format`: buckets whose settings do not say.
    auto_format: styles::AutoFormat,
    /// (bucket, key) → (when read, what was read), while `source_ttl` > 0.
    sources: Mutex<HashMap<(String, String), (std::time::Instant, ObjectMeta)>>,
    /// Recent variants' cache keys and validators, by source version and
    /// pipeline.
    names: memo::NameMemo,
    /// Wall-clock limit of one engine job (`job_timeout_secs`).
    job_timeout: Option<std::time::Duration>,
    /// The cores running jobs are bound to (`pin_jobs`); `None`: unbound.
    cores: Option<Arc<cores::Cores>>,
}

/// How the processing pool is doing (tests and the admin API read it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Slots taken now (jobs running, or finishing their checkpoint).
    pub busy: usize,
    /// Jobs stopped because their client hung up, since start.
    pub cancelled: u64,
    /// Jobs stopped at `job_timeout_secs`, since start.
    pub timed_out: u64,
    /// Bytes of the memory budget reserved by running jobs.
    pub memory_in_use: u64,
    /// Requests waiting for a slot or for memory.
    pub queued: usize,
}

/// Most sources whose metadata is remembered; past it the table starts
/// over (it only saves HEADs).
const MAX_REMEMBERED_SOURCES: usize = 10_000;

impl Processor {
    /// Builds the processor. A cache directory that cannot be opened
    /// disables the cache (logged), it does not stop the server.
    /// Source copies live in `cache_dir/sources/`, beside the variants
    /// (whose shard directories have two-letter names).
    pub fn new(config: ProcessingConfig, cache_dir: Option<PathBuf>) -> Self {
        let open = |dir: PathBuf, bytes: u64, memory: u64, what: &str| match Cache::open(
            dir, bytes, memory,
        ) {
            Ok(c) => Some(Arc::new(c)),
            Err(e) => {
                tracing::warn!(error = %e, "{what} disabled");
                None
            }
        };
        let source_bytes = config.source_cache_bytes.unwrap_or(0);
        let source_copies = match &cache_dir {
            Some(dir) if source_bytes > 0 => {
                // No memory tier: a source is decoded next, which dwarfs
                // the file read.
                open(dir.join("sources"), source_bytes, 0, "source cache")
            }
            _ => None,
        };
        let cache = match cache_dir {
            Some(dir) if config.cache_bytes > 0 => {
                let memory = config.cache_memory_bytes;
                open(dir, config.cache_bytes, memory, "processed-variant cache")
            }
            _ => None,
        };
        let budget = |mut l: imaging::Limits| {
            l.max_work = config.work_budget;
            l
        };
        let pool_size = config.effective_concurrency().max(1);
        Processor {
            limits: [
                budget(config.oss.apply(dialects::oss::limits())),
                budget(config.cos.apply(dialects::cos::limits())),
                budget(config.us3.apply(dialects::us3::limits())),
            ],
            admission: Admission::new(AdmissionConfig {
                slots: pool_size,
                memory_budget: config.memory_budget,
                queue_depth: config.queue_depth,
                queue_timeout: std::time::Duration::from_secs(config.queue_timeout_secs),
            }),
            job_timeout: (config.job_timeout_secs > 0)
                .then(|| std::time::Duration::from_secs(config.job_timeout_secs)),
            metrics: ProcessorMetrics::new(),
            engine: Arc::new(OnceLock::new()),
            cache,
            source_copies,
            inflight: Mutex::new(HashMap::new()),
            source_ttl: std::time::Duration::from_secs(config.source_check_secs),
            auto_format: config.auto_format,
            sources: Mutex::new(HashMap::new()),
            names: memo::NameMemo::default(),
            cores: config.pin_jobs.then(cores::Cores::of_process).flatten(),
        }
    }

    /// The source's metadata: read from the store, or remembered from a
    /// read less than `source_check_secs` ago.
    async fn source_head(
        &self,
        store: &dyn Store,
        bucket: &str,
        key: &str,
    ) -> Result<ObjectMeta, ProcessError> {
        if self.source_ttl.is_zero() {
            return Ok(store.head_object(bucket, key).await?);
        }
        let id = (bucket.to_string(), key.to_string());
        if let Ok(map) = self.sources.lock() {
            if let Some((at, meta)) = map.get(&id) {
                if at.elapsed() < self.source_ttl {
                    return Ok(meta.clone());
                }
            }
        }
        let read_at = std::time::Instant::now();
        let meta = store.head_object(bucket, key).await?;
        if let Ok(mut map) = self.sources.lock() {
            if map.len() >= MAX_REMEMBERED_SOURCES {
                map.clear();
            }
            map.insert(id, (read_at, meta.clone()));
        }
        Ok(meta)
    }

    /// The source's bytes: the node's copy of the version `head` names,
    /// or a GET from the store (then copied, keyed by the ETag that GET
    /// returned, so a copy never stands for another version).
    async fn source_bytes(
        &self,
        store: &dyn Store,
        bucket: &str,
        key: &str,
        head: Option<&ObjectMeta>,
        limit: u64,
    ) -> Result<Vec<u8>, ProcessError> {
        let Some(copies) = self.source_copies.clone() else {
            return read_bounded(store, bucket, key, limit).await;
        };
        if let Some(head) = head.filter(|h| h.size <= limit) {
            if let Some(copy) = cache_get(&copies, &source_copy_key(bucket, key, head)).await {
                self.metrics.source_hits.inc();
                return Ok(copy.bytes.to_vec());
            }
        }
        self.metrics.source_misses.inc();
        let (meta, bytes) = read_source(store, bucket, key, limit).await?;
        let content_type = meta.attrs.content_type.as_deref().unwrap_or_default();
        let copy = Entry {
            content_type: HeaderValue::from_str(content_type)
                .unwrap_or_else(|_| HeaderValue::from_static("")),
            bytes: bytes::Bytes::copy_from_slice(&bytes),
        };
        let id = source_copy_key(bucket, key, &meta);
        // Written in the background: the request need not wait for the disk.
        tokio::task::spawn_blocking(move || copies.put(&id, &copy));
        Ok(bytes)
    }

    /// The limits of a dialect.
    pub fn limits(&self, d: Dialect) -> &imaging::Limits {
        match d {
            Dialect::Oss => &self.limits[0],
            Dialect::Cos => &self.limits[1],
            Dialect::Us3 => &self.limits[2],
        }
    }

    /// The processing metrics as they stand now (the gauges read from
    /// the pool and the cache), for `/-/metrics`.
    pub fn metric_families(&self) -> Vec<prometheus::proto::MetricFamily> {
        use prometheus::core::Collector;
        let m = &self.metrics;
        let cfg = self.admission.config();
        let usage = self.admission.usage();
        m.slots.set(cfg.slots as i64);
        m.running.set(usage.running as i64);
        m.queued.set(usage.waiting as i64);
        m.memory_budget
            .set(i64::try_from(cfg.memory_budget).unwrap_or(i64::MAX));
        m.memory_in_use
            .set(i64::try_from(usage.bytes).unwrap_or(i64::MAX));
        if let Some(c) = &self.cache {
            m.cache_bytes
                .set(i64::try_from(c.total_bytes()).unwrap_or(i64::MAX));
            // The cache counts its own evictions; the counter catches up.
            let behind = c.evictions().saturating_sub(m.cache_evictions.get());
            m.cache_evictions.inc_by(behind);
            m.cache_memory_bytes
                .set(i64::try_from(c.memory_bytes()).unwrap_or(i64::MAX));
            let behind = c.memory_hits().saturating_sub(m.cache_memory_hits.get());
            m.cache_memory_hits.inc_by(behind);
        }
        let collectors: [&dyn Collector; 17] = [
            &m.jobs_started,
            &m.jobs_ended,
            &m.queued,
            &m.running,
            &m.slots,
            &m.memory_budget,
            &m.memory_in_use,
            &m.refused,
            &m.cache_hits,
            &m.cache_misses,
            &m.cache_bytes,
            &m.cache_evictions,
            &m.cache_memory_hits,
            &m.cache_memory_bytes,
            &m.source_hits,
            &m.source_misses,
            &m.job_seconds,
        ];
        collectors.iter().flat_map(|c| c.collect()).collect()
    }

    /// The pool's occupancy and its counts of stopped jobs.
    pub fn stats(&self) -> PoolStats {
        let usage = self.admission.usage();
        PoolStats {
            busy: usage.running,
            memory_in_use: usage.bytes,
            queued: usage.waiting,
            cancelled: self
                .metrics
                .jobs_ended
                .with_label_values(&["cancelled"])
                .get(),
            timed_out: self
                .metrics
                .jobs_ended
                .with_label_values(&["timed_out"])
                .get(),
        }
    }

    /// The variant cache, if enabled.
    pub fn cache(&self) -> Option<&Cache> {
        self.cache.as_deref()
    }

    fn inflight_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        match self.inflight.lock() {
            Ok(mut m) => m.entry(key.to_string()).or_default().clone(),
            // A poisoned map only loses the de-duplication.
            Err(_) => Arc::default(),
        }
    }

    fn inflight_done(&self, key: &str) {
        if let Ok(mut m) = self.inflight.lock() {
            m.remove(key);
        }
    }

    /// One slot of the processing pool (waits in the bounded queue while
    /// all are busy).
    async fn permit(&self) -> Result<Slot, ProcessError> {
        self.admission.slot().await.map_err(|r| self.refused(r))
    }

    /// A refused admission as the request's error, counted.
    fn refused(&self, r: Refusal) -> ProcessError {
        let (reason, err) = match r {
            Refusal::TooLarge { need, budget } => (
                "too_large",
                ProcessError::Image(imaging::Error::TooLarge {
                    what: "estimated memory",
                    value: need,
                    limit: budget,
                }),
            ),
            Refusal::QueueFull => (
                "queue_full",
                ProcessError::Unavailable {
                    why: "the image processing queue is full".into(),
                    slow_down: true,
                },
            ),
            Refusal::Timeout => (
                "queue_timeout",
                ProcessError::Unavailable {
                    why: "the image waited past processing.queue_timeout_secs".into(),
                    slow_down: true,
                },
            ),
        };
        self.metrics.refused.with_label_values(&[reason]).inc();
        err
    }

    /// Runs the engine on the blocking pool, once admitted.
    async fn execute(
        &self,
        source: Vec<u8>,
        pipeline: &imaging::Pipeline,
        assets: imaging::Assets,
        limits: &imaging::Limits,
        dialect: Dialect,
    ) -> Result<(imaging::Output, Vec<u8>), ProcessError> {
        let permit = self.permit().await?;
        self.execute_with(permit, source, pipeline, assets, limits, dialect)
            .await
    }

    /// Runs the engine on the blocking pool with an already held permit
    /// (released when the engine returns).
    ///
    /// A blocking thread cannot be aborted, so the job is cancelled
    /// cooperatively: dropping this future (hyper drops it when the client
    /// hangs up) sets the job's [`imaging::Cancel`], and the engine stops
    /// at its next checkpoint, which frees the permit and the buffers. The
    /// same token carries the `job_timeout_secs` deadline.
    async fn execute_with(
        &self,
        mut permit: Slot,
        source: Vec<u8>,
        pipeline: &imaging::Pipeline,
        assets: imaging::Assets,
        limits: &imaging::Limits,
        dialect: Dialect,
    ) -> Result<(imaging::Output, Vec<u8>), ProcessError> {
        // The job's memory, estimated from the header (no pixel decoded).
        // A header the estimate cannot read is the engine's to report, at
        // once and without decoding: only the bytes held are reserved.
        let held = source.len() as u64 + imaging::memory::JOB_OVERHEAD;
        let need = imaging::memory::estimate(&source, pipeline, &assets, limits).unwrap_or(held);
        let mut pipeline = pipeline.clone();
        match permit.reserve(need).await {
            Ok(()) => {}
            // Tencent's `ignore-error/1` forgives a job over a limit by
            // answering the source; the memory budget is such a limit. The
            // identity pipeline returns the source as it is, and needs
            // only the bytes already held.
            Err(Refusal::TooLarge { .. })
                if pipeline.on_limit_error == imaging::OnLimitError::ReturnSource =>
            {
                permit.reserve(held).await.map_err(|r| self.refused(r))?;
                pipeline = imaging::Pipeline::default();
            }
            Err(r) => return Err(self.refused(r)),
        }
        let engine = self.engine.clone();
        let limits = limits.clone();
        self.metrics.jobs_started.inc();
        let deadline = self
            .job_timeout
            .and_then(|t| std::time::Instant::now().checked_add(t));
        let cancel = imaging::Cancel::with_deadline(deadline);
        let on_drop = cancel.on_drop();
        let ended = self.metrics.jobs_ended.clone();
        let seconds = self.metrics.job_seconds.clone();
        let cores = self.cores.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // Bound to a core of its own while it runs (`cores`); dropped,
            // so the core is free again, before the permit.
            let _core = cores.as_ref().and_then(cores::Cores::claim);
            let engine = engine.get_or_init(imaging::Engine::new);
            let started = std::time::Instant::now();
            let out = engine.execute_cancellable(&source, &pipeline, &assets, &limits, &cancel);
            // Counted here, on the job's side: a job whose request was
            // dropped (the client hung up) is counted once it has stopped.
            ended.with_label_values(&[job_result(&out)]).inc();
            if let Ok(o) = &out {
                seconds
                    .with_label_values(&[styles::dialect_name(dialect), output_label(o)])
                    .observe(started.elapsed().as_secs_f64());
            }
            out.map(|o| (o, source))
        })
        .await;
        on_drop.disarm();
        if joined.is_err() {
            // The engine panicked before it could count itself.
            self.metrics.jobs_ended.with_label_values(&["failed"]).inc();
        }
        match joined {
            Ok(r) => r.map_err(ProcessError::from),
            // A panic in the engine is a bug, reported as a 500.
            Err(e) => Err(ProcessError::Internal(format!(
                "the engine task failed: {e}"
            ))),
        }
    }
}

/// A processed GET or HEAD (hyper sends no body for HEAD; the headers
/// are those of the variant): the style resolved, then [`respond`].
async fn process(
    cx: &Ctx<'_>,
    bucket: &str,
    key: &str,
    dialect: Dialect,
    directive: Directive,
) -> Result<Response<Body>, ProcessError> {
    let accept = accept_values(cx.headers);
    let (pipeline, varies) = resolve(cx.state, bucket, directive, Some(&accept)).await?;
    let mut response = respond(cx, bucket, key, dialect, &pipeline).await?;
    if varies {
        // Caches must key this answer on Accept too: a 304 and an answer
        // in the source's format included, since another client would get
        // another format.
        response
            .headers_mut()
            .append(http::header::VARY, HeaderValue::from_static("accept"));
    }
    Ok(response)
}

/// The request's `Accept` values joined by commas; one header (the usual
/// case) as it is, without a copy.
fn accept_values(headers: &http::HeaderMap) -> std::borrow::Cow<'_, str> {
    let values = || {
        headers
            .get_all(http::header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
    };
    let mut first_two = values();
    match (first_two.next(), first_two.next()) {
        (None, _) => "".into(),
        (Some(one), None) => one.into(),
        _ => values().collect::<Vec<_>>().join(",").into(),
    }
}

/// The pipeline a directive stands for: itself, or the bucket's style it
/// names, parsed in the style's dialect.
async fn load_directive(
    state: &ImageService,
    bucket: &str,
    directive: Directive,
) -> Result<imaging::Pipeline, ProcessError> {
    Ok(match directive {
        Directive::Pipeline(p) => p,
        Directive::Style(name) => {
            let rec = styles::load_style(&*state.store, bucket, &name)
                .await?
                .ok_or(ProcessError::NoSuchStyle(name))?;
            dialects::parse_style(rec.dialect(), &rec.content)?
        }
    })
}

/// Turns a directive on an object of `bucket` into a pipeline, loading a
/// style when named, with the bucket's metadata policy (a setting of the
/// source's bucket, whichever bucket an output is saved to).
///
/// `accept`: the request's `Accept` (its values joined), for an answer to
/// one client; `None` for saved outputs (`sys/saveas`, Pic-Operations),
/// which never negotiate. When the bucket (or the server) has
/// `auto_format` on and the request names no format and wants an image,
/// the format is chosen from it; the returned flag says whether the
/// answer depends on `Accept`.
async fn resolve(
    state: &ImageService,
    bucket: &str,
    directive: Directive,
    accept: Option<&str>,
) -> Result<(imaging::Pipeline, bool), ProcessError> {
    let mut pipeline = load_directive(state, bucket, directive).await?;
    let settings = state.image_config(bucket).await?;
    pipeline.output.metadata = settings.metadata;
    pipeline.output.progressive_auto = settings.jpeg_progressive == styles::JpegProgressive::Auto
        && !pipeline.output.interlace_named;
    pipeline.output.trellis = settings.jpeg_trellis;
    let auto = settings.auto_format.unwrap_or(state.process.auto_format);
    let negotiable = pipeline.output.format.is_none() && pipeline.terminal.is_none();
    let varies = match accept {
        Some(accept) if negotiable && auto != styles::AutoFormat::Off => {
            pipeline.output.negotiated = styles::negotiate(auto, accept);
            true
        }
        _ => false,
    };
    Ok((pipeline, varies))
}

/// The processed ETag: 32 hex digits of SHA-256 over the source ETag, the
/// canonical pipeline and the renderer.
pub fn processed_etag(source_etag: &str, canonical: &str, dialect: Dialect) -> String {
    let mut h = Sha256::new();
    for part in [source_etag, canonical, styles::dialect_name(dialect)] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..16])
}

/// The key of a source copy: the object's name and version (the
/// pipeline text `source`, which no pipeline spells).
fn source_copy_key(bucket: &str, key: &str, meta: &ObjectMeta) -> String {
    cache_key(bucket, key, meta, "source", Dialect::Oss)
}

fn cache_key(bucket: &str, key: &str, meta: &ObjectMeta, canonical: &str, d: Dialect) -> String {
    let lm = meta
        .last_modified
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.as_nanos());
    let mut h = Sha256::new();
    for part in [
        bucket,
        key,
        &meta.etag,
        &lm.to_string(),
        canonical,
        styles::dialect_name(d),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// Processes `bucket/key` with `pipeline` and builds the response
/// (conditional GET, cache, headers).
async fn respond(
    cx: &Ctx<'_>,
    bucket: &str,
    key: &str,
    dialect: Dialect,
    pipeline: &imaging::Pipeline,
) -> Result<Response<Body>, ProcessError> {
    let proc = &cx.state.process;
    let store = &*cx.state.store;
    let limits = proc.limits(dialect);
    let conditions = Conditions::request(cx.headers);
    let started = std::time::Instant::now();
    let job = Job {
        proc,
        store,
        bucket,
        key,
        head: None,
        dialect,
        pipeline,
    };
    if proc.cache.is_none() && proc.source_copies.is_none() && conditions.is_unconditional() {
        // Nothing to look up and nothing to compare: the source's GET tells
        // all a HEAD would, so it is the only request to the store (in
        // gateway mode, one backend round trip instead of two).
        let permit = proc.permit().await?;
        let (head, source) = read_source(store, bucket, key, limits.max_source_bytes).await?;
        let names = Names::compute(bucket, key, &head, pipeline, dialect);
        let entry = compute_from(&job, permit, source).await?;
        return Ok(variant_response(entry, Source::Miss, &names, started));
    }
    let head = proc.source_head(store, bucket, key).await?;
    if head.size > limits.max_source_bytes {
        return Err(ProcessError::SourceTooLarge {
            size: head.size,
            limit: limits.max_source_bytes,
        });
    }
    // Keyed by the version just read: an overwritten source is a miss.
    let names = proc.names.get(bucket, key, &head, pipeline, dialect);
    match conditions.evaluate(&names.etag, head.last_modified) {
        Ok(()) => {}
        Err(ConditionFailure::NotModified) => {
            let mut r = crate::http::empty_response(StatusCode::NOT_MODIFIED);
            validators(&mut r, &names);
            return Ok(r);
        }
        Err(ConditionFailure::PreconditionFailed) => return Err(ProcessError::PreconditionFailed),
    }
    let job = Job {
        head: Some(&head),
        ..job
    };
    let (entry, from) = variant(&job, &names.cache_key).await?;
    Ok(variant_response(entry, from, &names, started))
}

/// The response carrying a variant: its bytes, type and validators, and
/// how long the server took (`Server-Timing`, read by the console).
fn variant_response(
    entry: Entry,
    from: Source,
    names: &Names,
    started: std::time::Instant,
) -> Response<Body> {
    let len = entry.bytes.len();
    let mut r = Response::new(body::full(entry.bytes));
    // Room for these six and the front's, so the map is allocated once.
    *r.headers_mut() = http::HeaderMap::with_capacity(16);
    let h = r.headers_mut();
    let from = match from {
        Source::Hit => "hit",
        Source::Miss => "miss",
    };
    h.insert(X_IMGBUCKET_CACHE, HeaderValue::from_static(from));
    if let Some(v) = server_timing(started.elapsed(), from) {
        h.insert(SERVER_TIMING, v);
    }
    h.insert(http::header::CONTENT_TYPE, entry.content_type);
    h.insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
    validators(&mut r, names);
    r
}

const X_IMGBUCKET_CACHE: http::header::HeaderName =
    http::header::HeaderName::from_static("x-imgbucket-cache");
const SERVER_TIMING: http::header::HeaderName =
    http::header::HeaderName::from_static("server-timing");

/// `Server-Timing`: `process;dur=<ms, one decimal>;desc="<from>"`. A hit
/// mostly takes under 0.05 ms, whose value is a constant.
fn server_timing(took: std::time::Duration, from: &str) -> Option<HeaderValue> {
    // Tenths of a millisecond, rounded half up; integer arithmetic rather
    // than float formatting, which showed in the profile of a hit.
    let tenths = (took.as_micros() + 50) / 100;
    match (tenths, from) {
        (0, "hit") => Some(HeaderValue::from_static("process;dur=0.0;desc=\"hit\"")),
        _ => {
            let v = format!(
                "process;dur={}.{};desc=\"{from}\"",
                tenths / 10,
                tenths % 10
            );
            HeaderValue::from_maybe_shared(bytes::Bytes::from(v)).ok()
        }
    }
}

/// `ETag` (processed) and `Last-Modified` (the source's), built once per
/// variant name ([`Names`]).
fn validators(r: &mut Response<Body>, names: &Names) {
    let h = r.headers_mut();
    if let Some(v) = &names.etag_header {
        h.insert(http::header::ETAG, v.clone());
    }
    if let Some(v) = &names.last_modified {
        h.insert(http::header::LAST_MODIFIED, v.clone());
    }
}

/// Where a variant came from (the `x-imgbucket-cache` response header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Served from the cache (memory or disk).
    Hit,
    /// Computed by this request.
    Miss,
}

/// One variant to produce: `pipeline` on `bucket/key`, rendered for
/// `dialect`.
struct Job<'a> {
    proc: &'a Processor,
    store: &'a dyn Store,
    bucket: &'a str,
    key: &'a str,
    /// The source's metadata when it was read first: which version a
    /// source copy must be.
    head: Option<&'a ObjectMeta>,
    dialect: Dialect,
    pipeline: &'a imaging::Pipeline,
}

/// The variant from the cache, or computed once and cached.
async fn variant(job: &Job<'_>, ckey: &str) -> Result<(Entry, Source), ProcessError> {
    let proc = job.proc;
    let Some(cache) = proc.cache.clone() else {
        let e = compute(job).await?;
        return Ok((e, Source::Miss));
    };
    if let Some(e) = cache_get(&cache, ckey).await {
        proc.metrics.cache_hits.inc();
        return Ok((e, Source::Hit));
    }
    // Identical concurrent requests wait here for the first one's result.
    let lock = proc.inflight_lock(ckey);
    let guard = lock.lock().await;
    if let Some(e) = cache_get(&cache, ckey).await {
        proc.metrics.cache_hits.inc();
        return Ok((e, Source::Hit));
    }
    proc.metrics.cache_misses.inc();
    let result = compute(job).await;
    if let Ok(entry) = &result {
        let (c, k, e) = (cache.clone(), ckey.to_string(), entry.clone());
        let _ = tokio::task::spawn_blocking(move || c.put(&k, &e)).await;
    }
    drop(guard);
    proc.inflight_done(ckey);
    result.map(|e| (e, Source::Miss))
}

/// Largest cached entry read on the request's own thread when it is not
/// in memory. A thumbnail of this size is one read from the page cache, a
/// few microseconds; handing it to the blocking pool and back cost more
/// than the read (two thread wake-ups per request: most of a cached
/// variant's time under load). Larger entries, and sources, still go to
/// the pool. The same bound as the memory tier's, so a small entry is read
/// here once and then served from memory.
const INLINE_READ_MAX: u64 = cache::SMALL_ENTRY_MAX;

async fn cache_get(cache: &Arc<Cache>, key: &str) -> Option<Entry> {
    let size = match cache.lookup(key)? {
        Lookup::Memory(e) => return Some(e),
        Lookup::Disk { size } => size,
    };
    if size <= INLINE_READ_MAX {
        return cache.read(key);
    }
    let (c, k) = (cache.clone(), key.to_string());
    tokio::task::spawn_blocking(move || c.read(&k))
        .await
        .ok()
        .flatten()
}

/// Reads a stored object into memory, refusing more than `limit` bytes.
async fn read_bounded(
    store: &dyn Store,
    bucket: &str,
    key: &str,
    limit: u64,
) -> Result<Vec<u8>, ProcessError> {
    Ok(read_source(store, bucket, key, limit).await?.1)
}

/// A stored object's metadata and bytes, refusing more than `limit` bytes.
async fn read_source(
    store: &dyn Store,
    bucket: &str,
    key: &str,
    limit: u64,
) -> Result<(ObjectMeta, Vec<u8>), ProcessError> {
    match store.read_object(bucket, key, limit).await? {
        (meta, Some(bytes)) => Ok((meta, bytes)),
        (meta, None) => Err(ProcessError::SourceTooLarge {
            size: meta.size,
            limit,
        }),
    }
}

/// The watermark images a pipeline names, from the source's bucket.
pub(crate) async fn load_assets(
    store: &dyn Store,
    bucket: &str,
    pipeline: &imaging::Pipeline,
    limit: u64,
) -> Result<imaging::Assets, ProcessError> {
    let mut assets = imaging::Assets::default();
    for k in pipeline.asset_keys() {
        if assets.images.contains_key(&k) {
            continue;
        }
        let bytes = match read_bounded(store, bucket, &k, limit).await {
            Ok(b) => b,
            Err(ProcessError::NoSuchKey(_) | ProcessError::SourceTooLarge { .. }) => {
                return Err(ProcessError::WatermarkMissing(k))
            }
            Err(e) => return Err(e),
        };
        assets.images.insert(k, bytes);
    }
    Ok(assets)
}

/// Stores a processed output as a new object, through the durable write
/// path (saveas, Pic-Operations): one atomic commit.
pub(crate) async fn store_output(
    store: &dyn Store,
    bucket: &str,
    key: &str,
    bytes: &[u8],
    content_type: &str,
) -> Result<ObjectMeta, ProcessError> {
    let mut w = store.object_writer(bucket, key).await?;
    w.write(bytes).await?;
    let attrs = storage::ObjectAttrs {
        content_type: Some(content_type.to_string()),
        crc64_ecma: Some(crate::auth::crc64_ecma(bytes)),
        ..Default::default()
    };
    Ok(w.commit(attrs, None).await?)
}

/// Reads the source and the watermark objects, runs the engine, renders
/// the output.
async fn compute(job: &Job<'_>) -> Result<Entry, ProcessError> {
    let (proc, store) = (job.proc, job.store);
    let limits = proc.limits(job.dialect);
    // The permit is taken before reading, so at most `concurrency` sources
    // (and their watermarks) are held in memory at once.
    let permit = proc.permit().await?;
    let source = proc
        .source_bytes(
            store,
            job.bucket,
            job.key,
            job.head,
            limits.max_source_bytes,
        )
        .await?;
    compute_from(job, permit, source).await
}

/// [`compute`] once the permit is held and the source read.
async fn compute_from(job: &Job<'_>, permit: Slot, source: Vec<u8>) -> Result<Entry, ProcessError> {
    let (proc, store) = (job.proc, job.store);
    let limits = proc.limits(job.dialect);
    let assets = load_assets(store, job.bucket, job.pipeline, limits.max_source_bytes).await?;
    let (out, source) = proc
        .execute_with(permit, source, job.pipeline, assets, limits, job.dialect)
        .await?;
    Ok(render_output(job.dialect, out, &source))
}

/// An engine output as response bytes: images as encoded, information
/// through the dialect's JSON renderer.
fn render_output(dialect: Dialect, out: imaging::Output, source: &[u8]) -> Entry {
    use imaging::Output as O;
    let json = match (out, dialect) {
        (O::Image { bytes, format, .. }, _) => {
            return Entry {
                content_type: HeaderValue::from_static(format.mime()),
                bytes: bytes.into(),
            }
        }
        (O::Info(i), Dialect::Oss) => dialects::oss::info_json(&i),
        (O::Info(i), Dialect::Cos) => {
            use md5::Digest as _;
            let md5 = hex::encode(md5::Md5::digest(source));
            dialects::cos::info_json(&i, &md5)
        }
        (O::Info(i), Dialect::Us3) => dialects::us3::info_json(&i),
        (O::Exif(f), Dialect::Us3) => dialects::us3::exif_json(&f),
        (O::Exif(f), _) => dialects::cos::exif_json(&f),
        (O::AverageColor(c), Dialect::Oss) => dialects::oss::average_hue_json(c),
        (O::AverageColor(c), Dialect::Cos) => dialects::cos::average_hue_json(c),
        (O::AverageColor(c), Dialect::Us3) => dialects::us3::average_hue_json(c),
    };
    Entry {
        content_type: HeaderValue::from_static("application/json"),
        bytes: json.to_string().into_bytes().into(),
    }
}

/// The bucket-level image APIs: styles (OSS and COS `?style`, US3
/// `?iopstyle`) and the image settings. Errors use the API's envelope.
async fn bucket_api(
    cx: &Ctx<'_>,
    body: RequestBody,
    bucket: &str,
    method: &Method,
    api: BucketApi,
) -> ApiResult {
    let raw = read_body(cx, body).await?;
    let store = &*cx.state.store;
    let name = cx.query.get("styleName").filter(|s| !s.is_empty());
    let (dialect, result) = match api {
        BucketApi::ImageConfig => {
            let r = styles::image_config_api(store, bucket, method, &raw).await;
            if *method != Method::GET {
                cx.state.settings.forget(bucket);
            }
            (Dialect::Oss, r)
        }
        BucketApi::IopStyle => (
            Dialect::Us3,
            styles::iopstyle_api(store, bucket, method, name, &raw).await,
        ),
        BucketApi::Style => {
            let cos_signed = cx.vendor == Vendor::Cos;
            let api = styles::style_api_dialect(method, name, &raw, cos_signed);
            (
                api,
                styles::style_api(store, bucket, method, name, &raw, api).await,
            )
        }
    };
    result.map_err(|e| e.into_api(dialect))
}

/// Whether the caller may store a processed output at `bucket/key`
/// (the access rule of a PutObject there).
pub(crate) async fn may_put(cx: &Ctx<'_>, bucket: &str, key: &str) -> Result<bool, ProcessError> {
    let ask = crate::access::Ask {
        caller: &cx.caller,
        source_ip: cx.client_ip,
        action: Some(crate::access::Action::PutObject),
        bucket,
        target: crate::access::policy::Target::Key(key),
    };
    cx.state
        .access
        .allows(&ask)
        .await
        .map_err(|e| ProcessError::Internal(e.to_string()))
}

/// OSS `POST /<key>?x-oss-process` with `...|sys/saveas,o_..,b_..`:
/// processes and stores the result through the durable write path.
async fn saveas(
    cx: &Ctx<'_>,
    raw: &[u8],
    bucket: &str,
    key: &str,
) -> Result<Response<Body>, ProcessError> {
    if raw.len() > MAX_SAVEAS_BODY {
        return Err(ProcessError::BadRequest(
            "the request body is too large".into(),
        ));
    }
    let text = std::str::from_utf8(raw)
        .map_err(|_| ProcessError::BadRequest("the request body is not UTF-8".into()))?;
    let save = dialects::oss::parse_saveas(text)?;
    let store = &*cx.state.store;
    let target_bucket = save.bucket.clone().unwrap_or_else(|| bucket.to_string());
    validate_bucket_name(&target_bucket)
        .map_err(|e| ProcessError::InvalidArgument(e.to_string()))?;
    store.bucket(&target_bucket).await?;
    if !may_put(cx, &target_bucket, &save.object).await? {
        return Err(ProcessError::AccessDenied(format!(
            "Access Denied: cannot write to bucket {target_bucket:?}"
        )));
    }
    let (pipeline, _) = resolve(cx.state, bucket, save.process, None).await?;
    let proc = &cx.state.process;
    let head = store.head_object(bucket, key).await?;
    let limits = proc.limits(Dialect::Oss);
    if head.size > limits.max_source_bytes {
        return Err(ProcessError::SourceTooLarge {
            size: head.size,
            limit: limits.max_source_bytes,
        });
    }
    let entry = compute(&Job {
        proc,
        store,
        bucket,
        key,
        head: Some(&head),
        dialect: Dialect::Oss,
        pipeline: &pipeline,
    })
    .await?;
    let meta = store_output(
        store,
        &target_bucket,
        &save.object,
        &entry.bytes,
        // An engine output's type: always text.
        entry.content_type.to_str().unwrap_or_default(),
    )
    .await?;
    let doc = serde_json::json!({
        "bucket": target_bucket,
        "fileSize": meta.size,
        "object": save.object,
        "status": "OK",
    });
    Ok(crate::http::json_response(StatusCode::OK, doc.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn processed_etag_is_stable_and_distinct() {
        let a = processed_etag("abc", "{}", Dialect::Oss);
        assert_eq!(a, processed_etag("abc", "{}", Dialect::Oss));
        assert_eq!(a.len(), 32);
        assert_ne!(a, processed_etag("abd", "{}", Dialect::Oss));
        assert_ne!(a, processed_etag("abc", "{ }", Dialect::Oss));
        assert_ne!(a, processed_etag("abc", "{}", Dialect::Cos));
    }

    #[test]
    fn accept_values_are_joined_and_one_is_borrowed() {
        let mut h = http::HeaderMap::new();
        assert_eq!(accept_values(&h), "");
        h.append(http::header::ACCEPT, HeaderValue::from_static("image/webp"));
        assert!(matches!(
            accept_values(&h),
            std::borrow::Cow::Borrowed("image/webp")
        ));
        h.append(http::header::ACCEPT, HeaderValue::from_static("image/avif"));
        h.append(http::header::ACCEPT, HeaderValue::from_static("*/*"));
        assert_eq!(accept_values(&h), "image/webp,image/avif,*/*");
    }

    #[test]
    fn server_timing_values() {
        use std::time::Duration;
        let st = |us, from| server_timing(Duration::from_micros(us), from).unwrap();
        assert_eq!(st(0, "hit"), "process;dur=0.0;desc=\"hit\"");
        assert_eq!(st(49, "hit"), "process;dur=0.0;desc=\"hit\"");
        assert_eq!(st(50, "hit"), "process;dur=0.1;desc=\"hit\"");
        assert_eq!(st(12_345, "miss"), "process;dur=12.3;desc=\"miss\"");
        assert_eq!(st(20, "miss"), "process;dur=0.0;desc=\"miss\"");
    }

    #[test]
    fn dialect_limits_defaults_and_overrides() {
        let p = Processor::new(ProcessingConfig::default(), None);
        assert_eq!(p.limits(Dialect::Oss).max_source_bytes, 20 * 1024 * 1024);
        assert_eq!(p.limits(Dialect::Oss).max_rotate_side, Some(4096));
        assert_eq!(p.limits(Dialect::Cos).max_output_side, 9_999);
        assert_eq!(p.limits(Dialect::Cos).max_frames, 300);
        assert_eq!(p.limits(Dialect::Us3).max_side, 10_000);
        let cfg: ProcessingConfig =
            toml::from_str("concurrency = 3\n[cos]\nmax_output_side = 50000\n").unwrap();
        assert_eq!(cfg.effective_concurrency(), 3);
        let p = Processor::new(cfg, None);
        assert_eq!(p.limits(Dialect::Cos).max_output_side, 50_000);
        assert_eq!(p.limits(Dialect::Cos).max_frames, 300);
        assert!(toml::from_str::<ProcessingConfig>("nonsense = 1").is_err());
    }
}
