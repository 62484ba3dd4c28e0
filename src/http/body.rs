//! Response bodies, and the request body as the handlers see it.
//!
//! Handlers never touch `hyper::body::Incoming` directly: they read a
//! [`RequestBody`], whose chunks have already passed the auth layer's payload
//! verification (signed SHA-256, chunk signatures, checksums). Reading a whole
//! body into memory is only possible through [`RequestBody::read_to_limit`],
//! which is used for small XML documents.

use crate::http::error::ApiError;
use bytes::{Bytes, BytesMut};
use futures_util::TryStreamExt;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Empty, Full, StreamBody};
use hyper::body::Frame;
use std::collections::BTreeMap;
use std::task::{Context, Poll};

/// The body type of every response.
pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// An empty body.
pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

/// A body of known bytes.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A streamed body (object downloads).
pub fn stream(s: storage::ByteStream) -> Body {
    StreamBody::new(s.map_ok(Frame::data)).boxed_unsync()
}

/// What a fully read body is known to hash to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyDigest {
    /// The additional checksums the client supplied and that were verified
    /// (algorithm → base64), as `storage::ObjectAttrs::checksums` keeps them.
    pub checksums: BTreeMap<String, String>,
    /// CRC-64/XZ of the bytes, computed here (never client-supplied), for
    /// `storage::ObjectAttrs::crc64_ecma`.
    pub crc64_ecma: Option<u64>,
}

/// Where a [`RequestBody`] gets its bytes: a stream of verified chunks that,
/// once exhausted, reports what the bytes hash to.
pub trait BodySource: Send {
    /// The next verified chunk, `None` at the end.
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, ApiError>>>;
    /// After the end: the verified checksums and the computed CRC.
    fn finish(&mut self) -> Result<BodyDigest, ApiError>;
}

/// A request body whose bytes are verified as they are read.
pub struct RequestBody {
    source: Box<dyn BodySource>,
    /// Longest wait for the next chunk.
    idle_timeout: Option<std::time::Duration>,
}

/// A source with no bytes.
struct NoBody;

impl BodySource for NoBody {
    fn poll_chunk(&mut self, _: &mut Context<'_>) -> Poll<Option<Result<Bytes, ApiError>>> {
        Poll::Ready(None)
    }
    fn finish(&mut self) -> Result<BodyDigest, ApiError> {
        Ok(BodyDigest::default())
    }
}

/// A source that hands out fixed pieces, all at once: how the form and
/// chunk parsers are driven by their unit tests and the fuzz targets, with
/// the transport's cuts wherever the caller puts them.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) struct Pieces(pub(crate) std::collections::VecDeque<Bytes>);

#[cfg(any(test, feature = "fuzzing"))]
impl BodySource for Pieces {
    fn poll_chunk(&mut self, _: &mut Context<'_>) -> Poll<Option<Result<Bytes, ApiError>>> {
        Poll::Ready(self.0.pop_front().map(Ok))
    }
    fn finish(&mut self) -> Result<BodyDigest, ApiError> {
        Ok(BodyDigest::default())
    }
}

impl RequestBody {
    /// Wraps a verified source.
    pub fn new(source: impl BodySource + 'static) -> Self {
        RequestBody {
            source: Box::new(source),
            idle_timeout: None,
        }
    }

    /// Fails a read that waits longer than `timeout` for the next chunk.
    pub fn with_idle_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// A body with no bytes.
    pub fn empty() -> Self {
        RequestBody::new(NoBody)
    }

    /// The next verified chunk, `None` at the end.
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes, ApiError>> {
        let source = &mut self.source;
        let next = std::future::poll_fn(|cx| source.poll_chunk(cx));
        match self.idle_timeout {
            None => next.await,
            Some(t) => match tokio::time::timeout(t, next).await {
                Ok(item) => item,
                Err(_) => Some(Err(ApiError::RequestTimeout)),
            },
        }
    }

    /// After the last chunk: the checksums that were supplied and verified,
    /// and the body's CRC-64/XZ.
    pub fn finish(&mut self) -> Result<BodyDigest, ApiError> {
        self.source.finish()
    }

    /// Reads the whole body, refusing it once it exceeds `limit` bytes (the
    /// excess is never buffered).
    pub async fn read_to_limit(&mut self, limit: usize) -> Result<Bytes, ApiError> {
        let mut buf = BytesMut::new();
        while let Some(chunk) = self.next_chunk().await {
            let chunk = chunk?;
            if buf.len() + chunk.len() > limit {
                return Err(ApiError::XmlTooLarge { limit });
            }
            buf.extend_from_slice(&chunk);
        }
        self.finish()?;
        Ok(buf.freeze())
    }
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBody").finish_non_exhaustive()
    }
}
