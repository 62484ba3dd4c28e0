//! The server's Prometheus metrics: the front door's request counters
//! and histograms, the process's memory and file descriptors, and the
//! rendering of `/-/metrics` in the text exposition format 0.0.4.
//!
//! Each server state has its own [`prometheus::Registry`] (no global
//! registry: tests run many servers in one process). Subsystems keep
//! their own metric handles (`images::ProcessorMetrics`,
//! `gateway::BackendMetrics`) next to what they measure and hand their
//! families to [`Metrics::render`], so none of them knows about the
//! others or about this module. Gauges that describe a state (pool
//! occupancy, cache size, RSS) are read when scraped, not kept current.

use prometheus::core::Collector;
use prometheus::proto::MetricFamily;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Request-duration buckets, in seconds: from a cached small GET (a
/// millisecond) to a large upload or a slow 20 MP conversion.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The front door's metrics and the process gauges.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// `imgbucket_requests_total{op,status}`.
    requests: IntCounterVec,
    /// `imgbucket_request_duration_seconds{family}`.
    duration: HistogramVec,
    /// `imgbucket_received_bytes_total`: request body bytes read.
    received: IntCounter,
    /// `imgbucket_sent_bytes_total`: response body bytes handed to the
    /// connection.
    sent: IntCounter,
    rss: IntGauge,
    fds: IntGauge,
    /// `imgbucket_connections_open`: client connections being served.
    pub connections_open: IntGauge,
    /// `imgbucket_connections_refused_total`: connections answered 503
    /// because `[http] max_connections` were open.
    pub connections_refused: IntCounter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Creates a metric and registers it; the names are constants, so a
/// failure is a programming error caught by the tests, not an input.
fn registered<C: Collector + Clone + 'static>(registry: &Registry, c: prometheus::Result<C>) -> C {
    #[allow(clippy::expect_used)]
    let c = c.expect("a valid metric definition");
    #[allow(clippy::expect_used)]
    registry
        .register(Box::new(c.clone()))
        .expect("each metric registered once");
    c
}

impl Metrics {
    /// A fresh registry with every front-door metric at zero.
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "imgbucket_requests_total",
                    "Requests answered, by operation and status class.",
                ),
                &["op", "status"],
            ),
        );
        let duration = registered(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "imgbucket_request_duration_seconds",
                    "Time from the request head to the last body byte sent, by family.",
                )
                .buckets(DURATION_BUCKETS.to_vec()),
                &["family"],
            ),
        );
        let received = registered(
            &registry,
            IntCounter::new("imgbucket_received_bytes_total", "Request body bytes read."),
        );
        let sent = registered(
            &registry,
            IntCounter::new("imgbucket_sent_bytes_total", "Response body bytes sent."),
        );
        let rss = registered(
            &registry,
            IntGauge::new(
                "process_resident_memory_bytes",
                "Resident memory of the process.",
            ),
        );
        let fds = registered(
            &registry,
            IntGauge::new("process_open_fds", "Open file descriptors."),
        );
        let connections_open = registered(
            &registry,
            IntGauge::new(
                "imgbucket_connections_open",
                "Client connections being served.",
            ),
        );
        // Constant series: which build answers, and since when (the
        // console's status screen shows both; uptime = now − start).
        let build = registered(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "imgbucket_build_info",
                    "Always 1; the version is the label.",
                ),
                &["version"],
            ),
        );
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        let started = registered(
            &registry,
            prometheus::Gauge::new(
                "process_start_time_seconds",
                "Start time of the server since the Unix epoch, in seconds.",
            ),
        );
        started.set(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        );
        let connections_refused = registered(
            &registry,
            IntCounter::new(
                "imgbucket_connections_refused_total",
                "Connections answered 503 SlowDown because max_connections were open.",
            ),
        );
        Metrics {
            registry,
            requests,
            duration,
            received,
            sent,
            rss,
            fds,
            connections_open,
            connections_refused,
        }
    }

    /// Records one answered request.
    pub fn request(&self, r: &RequestSample<'_>) {
        self.requests
            .with_label_values(&[r.op, status_class(r.status)])
            .inc();
        self.duration
            .with_label_values(&[r.family])
            .observe(r.seconds);
        self.received.inc_by(r.bytes_in);
        self.sent.inc_by(r.bytes_out);
    }

    /// The exposition text: this registry, then `extra` (the subsystems'
    /// metrics), after reading the process gauges.
    pub fn render(&self, extra: Vec<MetricFamily>) -> Result<String, String> {
        let p = process_stats();
        if let Some(rss) = p.rss_bytes {
            self.rss.set(clamp(rss));
        }
        if let Some(fds) = p.open_fds {
            self.fds.set(clamp(fds));
        }
        let mut families = self.registry.gather();
        // The encoder refuses a family without samples (a labelled
        // counter no label of which has been used yet).
        families.extend(extra.into_iter().filter(|f| !f.get_metric().is_empty()));
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&families, &mut out)
            .map_err(|e| e.to_string())?;
        String::from_utf8(out).map_err(|e| e.to_string())
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The `Content-Type` of the exposition text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One request, as the metrics see it.
#[derive(Debug, Clone, Copy)]
pub struct RequestSample<'a> {
    /// The operation's name (`GetObject`, `ProcessImage`…, `-` if unrouted).
    pub op: &'a str,
    /// The family: `s3`, `image`, `admin` or `server`.
    pub family: &'a str,
    /// The response status.
    pub status: u16,
    /// Seconds from the request head to the end of the response body.
    pub seconds: f64,
    /// Request body bytes read.
    pub bytes_in: u64,
    /// Response body bytes sent.
    pub bytes_out: u64,
}

/// `2xx`, `3xx`, `4xx`, `5xx` (anything else `other`): classes, not
/// codes, keep the number of series small.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

/// What the kernel says of this process (`None` where /proc is absent).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessStats {
    /// Resident set size.
    pub rss_bytes: Option<u64>,
    /// Number of open file descriptors.
    pub open_fds: Option<u64>,
}

/// Reads [`ProcessStats`] from /proc. RSS comes from `VmRSS` in
/// /proc/self/status, already in kB: /proc/self/statm counts pages, and
/// the page size needs `sysconf`, which safe Rust cannot call.
pub fn process_stats() -> ProcessStats {
    let rss_bytes = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| parse_vm_rss(&s));
    let open_fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as u64);
    ProcessStats {
        rss_bytes,
        open_fds,
    }
}

/// The `VmRSS:` line of /proc/self/status, in bytes.
fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line.split_whitespace().skip(1);
    let n: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => n.checked_mul(1024),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        assert_eq!(status_class(200), "2xx");
        assert_eq!(status_class(304), "3xx");
        assert_eq!(status_class(404), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(status_class(99), "other");
    }

    #[test]
    fn vm_rss_is_read_in_bytes() {
        let status = "Name:\timgbucket\nVmPeak:\t 9999 kB\nVmRSS:\t    2048 kB\nThreads:\t4\n";
        assert_eq!(parse_vm_rss(status), Some(2048 * 1024));
        assert_eq!(parse_vm_rss("VmRSS: 12 pages\n"), None);
        assert_eq!(parse_vm_rss("Name: x\n"), None);
    }

    #[test]
    fn renders_requests_and_process_gauges() {
        let m = Metrics::new();
        let sample = RequestSample {
            op: "GetObject",
            family: "s3",
            status: 200,
            seconds: 0.002,
            bytes_in: 0,
            bytes_out: 5,
        };
        m.request(&sample);
        m.request(&sample);
        let text = m.render(Vec::new()).unwrap();
        assert!(
            text.contains(r#"imgbucket_requests_total{op="GetObject",status="2xx"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"imgbucket_request_duration_seconds_bucket{family="s3",le="0.005"} 2"#)
        );
        assert!(text.contains("imgbucket_sent_bytes_total 10"));
        assert!(text.contains("# TYPE imgbucket_requests_total counter"));
        let version = format!(
            r#"imgbucket_build_info{{version="{}"}} 1"#,
            env!("CARGO_PKG_VERSION")
        );
        assert!(text.contains(&version), "{text}");
        let started: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("process_start_time_seconds "))
            .and_then(|v| v.parse().ok())
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!((now - started).abs() < 60.0, "{started} vs {now}");
        #[cfg(target_os = "linux")]
        {
            let p = process_stats();
            assert!(p.rss_bytes.unwrap() > 1 << 20);
            assert!(p.open_fds.unwrap() >= 3);
            assert!(!text.contains("process_resident_memory_bytes 0\n"));
        }
    }
}
