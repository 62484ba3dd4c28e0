//! The access log: one line per request, written when the response body
//! has been sent (or the client went away), so it carries the bytes
//! really sent and the whole duration. The same moment feeds the request
//! metrics (`crate::metrics`).
//!
//! Redaction: a presigned URL's query carries a bearer credential until it
//! expires (`X-Amz-Signature`, OSS `Signature`, COS `q-signature`…), so
//! the URI is logged only through [`redact_uri`], which replaces the
//! value of every credential-bearing parameter with `REDACTED`. No header
//! is logged but `User-Agent`: never `Authorization`.

use crate::http::body::Body;
use crate::metrics::{Metrics, RequestSample};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

/// Query parameters whose value is a credential (compared without case,
/// after percent-decoding the name): SigV4 and SigV2 presigned URLs,
/// Alibaba OSS V1 and V4, Tencent COS, UCloud US3, and session tokens.
const SECRET_PARAMS: &[&str] = &[
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "signature",
    "awsaccesskeyid",
    "ossaccesskeyid",
    "x-oss-signature",
    "x-oss-credential",
    "x-oss-security-token",
    "security-token",
    "q-signature",
    "q-ak",
    "sign",
    "x-cos-security-token",
    "ucloudpublickey",
];

/// What replaces a secret.
const REDACTED: &str = "REDACTED";

/// The request target as logged: the path as sent, and the query with
/// every credential's value replaced by `REDACTED`.
pub fn redact_uri(uri: &http::Uri) -> String {
    let path = uri.path();
    let Some(query) = uri.query() else {
        return path.to_string();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| {
            let (name, value) = match pair.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (pair, None),
            };
            let decoded = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
            let secret = SECRET_PARAMS
                .iter()
                .any(|s| decoded.eq_ignore_ascii_case(s));
            match (secret, value) {
                (true, Some(_)) => format!("{name}={REDACTED}"),
                _ => pair.to_string(),
            }
        })
        .collect();
    format!("{path}?{}", parts.join("&"))
}

/// A request body that counts the bytes read from it.
pub struct Counted<B> {
    inner: B,
    read: Arc<AtomicU64>,
}

impl<B> Counted<B> {
    /// Wraps `inner`; `read` receives the count.
    pub fn new(inner: B, read: Arc<AtomicU64>) -> Self {
        Counted { inner, read }
    }
}

impl<B> http_body::Body for Counted<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.read.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// One request, as the access log and the metrics see it.
#[derive(Debug)]
pub struct Record {
    pub started: Instant,
    pub request_id: String,
    pub client: Option<SocketAddr>,
    /// The user's name; `None`: anonymous or not authenticated.
    pub caller: Option<String>,
    pub op: &'static str,
    /// `s3`, `image`, `admin` or `server`.
    pub family: &'static str,
    pub bucket: Option<String>,
    pub method: http::Method,
    /// As received: logged only through [`redact_uri`].
    pub uri: http::Uri,
    pub status: u16,
    pub user_agent: Option<http::HeaderValue>,
    /// Request body bytes read so far (shared with [`Counted`]).
    pub bytes_in: Arc<AtomicU64>,
    /// Probes and scrapes: logged at debug, a load balancer's probe every
    /// second would otherwise drown the requests that matter.
    pub quiet: bool,
}

/// A response body that, once sent or dropped, writes the record.
struct Logged {
    inner: Body,
    sent: u64,
    record: Option<(Record, Metrics)>,
}

/// `body`, with the access-log line and the request metrics written
/// when it has been sent or dropped.
pub fn finish_with(body: Body, record: Record, metrics: Metrics) -> Body {
    Logged {
        inner: body,
        sent: 0,
        record: Some((record, metrics)),
    }
    .boxed_unsync()
}

impl http_body::Body for Logged {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                let n = data.len() as u64;
                self.sent += n;
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        if let Some((record, metrics)) = self.record.take() {
            write(&record, self.sent, &metrics);
        }
    }
}

/// Writes the line and feeds the metrics: the only way to the log line.
fn write(r: &Record, bytes_out: u64, metrics: &Metrics) {
    let elapsed = r.started.elapsed();
    let bytes_in = r.bytes_in.load(Ordering::Relaxed);
    metrics.request(&RequestSample {
        op: r.op,
        family: r.family,
        status: r.status,
        seconds: elapsed.as_secs_f64(),
        bytes_in,
        bytes_out,
    });
    // What only the line needs is made only if the line is written: a
    // server that logs at `warn` pays nothing for it on each request.
    if !line_enabled(r.quiet) {
        return;
    }
    let client = r
        .client
        .map_or_else(|| "-".to_string(), |a| a.ip().to_string());
    let caller = r.caller.as_deref().unwrap_or("-");
    let bucket = r.bucket.as_deref().unwrap_or("-");
    let uri = redact_uri(&r.uri);
    let user_agent = r
        .user_agent
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let ms = elapsed.as_secs_f64() * 1000.0;
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                target: "imgbucket::access",
                request_id = %r.request_id,
                client = %client,
                caller = %caller,
                op = %r.op,
                bucket = %bucket,
                method = %r.method,
                uri = %uri,
                status = r.status,
                bytes_in,
                bytes_out,
                ms = format_args!("{ms:.1}"),
                user_agent = %user_agent,
                "request"
            )
        };
    }
    if r.quiet {
        line!(debug);
    } else {
        line!(info);
    }
}

/// Whether the access line of a request is written: at `debug` for quiet
/// requests (health checks, metrics scrapes), else at `info`. (The level of
/// `enabled!` must be a constant, hence one call per level.)
fn line_enabled(quiet: bool) -> bool {
    match quiet {
        true => tracing::enabled!(target: "imgbucket::access", tracing::Level::DEBUG),
        false => tracing::enabled!(target: "imgbucket::access", tracing::Level::INFO),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// At the default filter (`info`) a request's line is written and a
    /// quiet one's is not; at `warn`, neither (and nothing is built).
    #[test]
    fn lines_are_written_at_their_level() {
        let at = |filter: &str| {
            let subscriber = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_writer(std::io::sink)
                .finish();
            tracing::subscriber::with_default(subscriber, || {
                (line_enabled(false), line_enabled(true))
            })
        };
        assert_eq!(at("info"), (true, false));
        assert_eq!(at("warn"), (false, false));
        assert_eq!(at("warn,imgbucket::access=debug"), (true, true));
    }

    fn redact(s: &str) -> String {
        redact_uri(&s.parse().unwrap())
    }

    #[test]
    fn presigned_credentials_are_redacted() {
        let v4 = "/b/k.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=deadbeef&x-oss-process=image/resize,w_10";
        assert_eq!(
            redact(v4),
            "/b/k.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=REDACTED&x-oss-process=image/resize,w_10"
        );
        assert_eq!(
            redact("/b/k?OSSAccessKeyId=LTAI&Expires=1&Signature=abc%3D"),
            "/b/k?OSSAccessKeyId=REDACTED&Expires=1&Signature=REDACTED"
        );
        assert_eq!(
            redact("/b/k?AWSAccessKeyId=AK&Signature=s&x-amz-security-token=t"),
            "/b/k?AWSAccessKeyId=REDACTED&Signature=REDACTED&x-amz-security-token=REDACTED"
        );
        assert_eq!(
            redact("/b/k?q-sign-algorithm=sha1&q-ak=AK&q-sign-time=1;2&q-key-time=1;2&q-header-list=&q-url-param-list=&q-signature=f00&imageMogr2/thumbnail/10x"),
            "/b/k?q-sign-algorithm=sha1&q-ak=REDACTED&q-sign-time=1;2&q-key-time=1;2&q-header-list=&q-url-param-list=&q-signature=REDACTED&imageMogr2/thumbnail/10x"
        );
        assert_eq!(
            redact("/b/k?UCloudPublicKey=pk&Signature=s&Expires=9&iopcmd=thumbnail"),
            "/b/k?UCloudPublicKey=REDACTED&Signature=REDACTED&Expires=9&iopcmd=thumbnail"
        );
        assert_eq!(
            redact("/b/k?x-oss-credential=c&x-oss-signature=s&security-token=t"),
            "/b/k?x-oss-credential=REDACTED&x-oss-signature=REDACTED&security-token=REDACTED"
        );
        // An encoded name is still recognized (the router decodes names too).
        assert_eq!(
            redact("/b?X%2DAmz%2DSignature=s"),
            "/b?X%2DAmz%2DSignature=REDACTED"
        );
        // Nothing else changes.
        assert_eq!(redact("/b/k?acl"), "/b/k?acl");
        assert_eq!(redact("/b/k"), "/b/k");
        assert_eq!(
            redact("/b?list-type=2&prefix=a%2Fb"),
            "/b?list-type=2&prefix=a%2Fb"
        );
    }
}
