//! The image layer's one error type, [`ProcessError`].
//!
//! Parser errors (`dialects::DialectError`), engine errors
//! (`imaging::Error`) and storage outcomes (missing source, missing style)
//! all become a `ProcessError`; [`classify`] turns it into data (status,
//! OSS code, COS `X-ErrNo`, message) once, as an
//! [`ImageFailure`](crate::http::error::ImageFailure) in the dialect's
//! envelope, and the HTTP layer renders that data
//! (`ApiError::into_response`). Bad input is always a 4xx; only our own
//! failures are 5xx.

use crate::http::error::{ApiError, ImageEnvelope, ImageFailure};
use dialects::{Dialect, DialectError, ErrorKind};
use http::StatusCode;

/// Every way an image request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The dialect parser refused the request or a style's content.
    #[error("{}", .0.message)]
    Dialect(DialectError),
    /// The engine refused the image (limits, decoding, crop origin...).
    #[error("{0}")]
    Image(imaging::Error),
    /// The source object is over the dialect's byte limit (checked from
    /// its metadata, before reading it).
    #[error("The source image is {size} bytes, over the limit of {limit} bytes.")]
    SourceTooLarge {
        /// Size of the stored object.
        size: u64,
        /// The dialect's `max_source_bytes`.
        limit: u64,
    },
    /// The source object does not exist.
    #[error("The specified key does not exist.")]
    NoSuchKey(String),
    /// The bucket does not exist.
    #[error("The specified bucket does not exist.")]
    NoSuchBucket(String),
    /// The named style is not configured on the bucket.
    #[error("The specified style does not exist: {0}")]
    NoSuchStyle(String),
    /// A watermark object named by the request is missing or too large.
    #[error("The watermark object {0:?} does not exist or cannot be used.")]
    WatermarkMissing(String),
    /// The caller may not do this (anonymous saveas, source protection).
    #[error("{0}")]
    AccessDenied(String),
    /// A management request has a bad parameter (style name, body field).
    #[error("{0}")]
    InvalidArgument(String),
    /// A management request's body does not parse.
    #[error("The XML you provided was not well-formed or did not validate: {0}")]
    MalformedBody(String),
    /// More styles than the dialect allows per bucket.
    #[error("A bucket may have at most {0} styles.")]
    TooManyStyles(usize),
    /// A request the vendor does not allow in this form (method, shape).
    #[error("{0}")]
    BadRequest(String),
    /// A conditional header (`If-Match`, `If-Unmodified-Since`) is false
    /// for the processed variant.
    #[error("At least one of the pre-conditions you specified did not hold")]
    PreconditionFailed,
    /// Our fault (storage I/O, a panic in the engine): details are logged.
    #[error("We encountered an internal error. Please try again.")]
    Internal(String),
    /// The backend store (gateway mode) is down, slow or overloaded
    /// (`slow_down`): the request may succeed later.
    #[error("Service is unable to handle request.")]
    Unavailable { why: String, slow_down: bool },
    /// The store cannot do this (gateway mode, a feature the backend
    /// lacks).
    #[error("{0} is not implemented")]
    NotImplemented(String),
}

impl From<DialectError> for ProcessError {
    fn from(e: DialectError) -> Self {
        ProcessError::Dialect(e)
    }
}

impl From<imaging::Error> for ProcessError {
    fn from(e: imaging::Error) -> Self {
        ProcessError::Image(e)
    }
}

impl From<storage::Error> for ProcessError {
    fn from(e: storage::Error) -> Self {
        match e {
            storage::Error::NoSuchKey(k) => ProcessError::NoSuchKey(k),
            storage::Error::NoSuchBucket(b) => ProcessError::NoSuchBucket(b),
            storage::Error::Unavailable(why) => ProcessError::Unavailable {
                why,
                slow_down: false,
            },
            storage::Error::SlowDown(why) => ProcessError::Unavailable {
                why,
                slow_down: true,
            },
            storage::Error::NotImplemented(what) => ProcessError::NotImplemented(what),
            // A full disk (saving a variant or a persisted output): the
            // dialects have no "insufficient storage" code; their 503 says
            // "try again later", which is what the client should do.
            storage::Error::Io(io) if crate::http::error::is_disk_full(&io) => {
                ProcessError::Unavailable {
                    why: io.to_string(),
                    slow_down: false,
                }
            }
            other => ProcessError::Internal(other.to_string()),
        }
    }
}

impl From<ApiError> for ProcessError {
    fn from(e: ApiError) -> Self {
        use ApiError as A;
        match e {
            A::NoSuchKey(k) => ProcessError::NoSuchKey(k),
            A::NoSuchBucket(b) => ProcessError::NoSuchBucket(b),
            A::AccessDenied => ProcessError::AccessDenied("Access Denied".into()),
            A::MalformedXml(m) => ProcessError::MalformedBody(m),
            A::Internal(m) => ProcessError::Internal(m),
            A::ServiceUnavailable(why) | A::InsufficientStorage(why) => ProcessError::Unavailable {
                why,
                slow_down: false,
            },
            A::SlowDown(why) => ProcessError::Unavailable {
                why,
                slow_down: true,
            },
            A::NotImplemented(what) => ProcessError::NotImplemented(what),
            other if other.status().is_server_error() => ProcessError::Internal(other.to_string()),
            other => ProcessError::BadRequest(other.to_string()),
        }
    }
}

impl ProcessError {
    /// The error as the HTTP layer renders it: classified, in `dialect`'s
    /// envelope.
    pub fn into_api(self, dialect: Dialect) -> ApiError {
        ApiError::Image(Box::new(classify(&self, dialect)))
    }
}

/// The envelope of a dialect's errors.
pub fn envelope(dialect: Dialect) -> ImageEnvelope {
    match dialect {
        Dialect::Oss => ImageEnvelope::Oss,
        Dialect::Cos => ImageEnvelope::Cos,
        Dialect::Us3 => ImageEnvelope::Us3,
    }
}

/// Decides status, codes and message of an error (one table for all three
/// envelopes), to be written in `dialect`'s.
pub fn classify(e: &ProcessError, dialect: Dialect) -> ImageFailure {
    use ProcessError as P;
    let bad = StatusCode::BAD_REQUEST;
    let (status, code, errno, vendor_code, message) = match e {
        P::Dialect(d) => {
            let code = match d.kind {
                ErrorKind::MissingArgument => "MissingArgument",
                ErrorKind::BadRequest => "BadRequest",
                ErrorKind::NotImplemented => "NotImplemented",
                ErrorKind::TooManyStages => "TooManyPipe",
                _ => "InvalidArgument",
            };
            let status = StatusCode::from_u16(d.http_status()).unwrap_or(bad);
            let mut message = d.message.clone();
            if !d.fragment.is_empty() && !message.contains(&d.fragment) {
                message = format!("{message} (in `{}`)", d.fragment);
            }
            // A 501 is no malformed request: Tencent's -106 does not apply.
            let errno = (d.kind != ErrorKind::NotImplemented).then_some("-106");
            (status, code, errno, d.vendor_code.clone(), message)
        }
        P::Image(i) => match i {
            // Tencent: -442 for an output side over its 9 999 px, -447
            // for the source's resolution and frames (and every other limit).
            imaging::Error::TooLarge { .. } if i.is_output_side() => {
                (bad, "ImageTooLarge", Some("-442"), None, i.to_string())
            }
            imaging::Error::TooLarge { .. } => {
                (bad, "ImageTooLarge", Some("-447"), None, i.to_string())
            }
            imaging::Error::Decode(why) => (
                bad,
                "InvalidArgument",
                Some("-443"),
                None,
                format!("The image format is not supported or the image is corrupt: {why}"),
            ),
            imaging::Error::CropOutside => (
                bad,
                "BadRequest",
                Some("-106"),
                None,
                "Advance cut's position is out of image.".into(),
            ),
            imaging::Error::Watermark(_) => {
                (bad, "WatermarkError", Some("-106"), None, i.to_string())
            }
            imaging::Error::Unsupported(_) => {
                (bad, "BadRequest", Some("-443"), None, i.to_string())
            }
            imaging::Error::NotImplemented(_) => (
                StatusCode::NOT_IMPLEMENTED,
                "NotImplemented",
                None,
                None,
                i.to_string(),
            ),
            // The deadline: the server was too busy or the job too slow;
            // the same request may pass later. A cancelled job's answer
            // is never read (its client is gone) but gets the same.
            imaging::Error::DeadlineExceeded | imaging::Error::Cancelled => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                None,
                None,
                "The image processing took too long and was stopped; reduce the work or retry later."
                    .into(),
            ),
            // Encode failures and any later variant: ours.
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                None,
                None,
                "We encountered an internal error. Please try again.".into(),
            ),
        },
        P::SourceTooLarge { .. } => (bad, "ImageTooLarge", Some("-167"), None, e.to_string()),
        P::NoSuchKey(_) => (
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            Some("-6101"),
            None,
            e.to_string(),
        ),
        P::NoSuchBucket(_) => (
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            None,
            None,
            e.to_string(),
        ),
        P::NoSuchStyle(_) => (
            StatusCode::NOT_FOUND,
            "NoSuchStyle",
            Some("-105"),
            None,
            e.to_string(),
        ),
        P::WatermarkMissing(_) => (bad, "WatermarkError", Some("-106"), None, e.to_string()),
        P::AccessDenied(_) => (
            StatusCode::FORBIDDEN,
            "AccessDenied",
            Some("-154"),
            None,
            e.to_string(),
        ),
        P::InvalidArgument(_) => (bad, "InvalidArgument", Some("-106"), None, e.to_string()),
        P::MalformedBody(_) => (bad, "MalformedXML", None, None, e.to_string()),
        P::TooManyStyles(_) => (bad, "TooManyStyles", None, None, e.to_string()),
        P::BadRequest(_) => (bad, "BadRequest", Some("-106"), None, e.to_string()),
        P::PreconditionFailed => (
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            None,
            None,
            e.to_string(),
        ),
        P::Internal(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            None,
            None,
            e.to_string(),
        ),
        P::Unavailable { slow_down, .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            if *slow_down {
                "SlowDown"
            } else {
                "ServiceUnavailable"
            },
            None,
            None,
            if *slow_down {
                // AWS's words for the same answer; clients back off on it.
                "Please reduce your request rate.".to_string()
            } else {
                e.to_string()
            },
        ),
        P::NotImplemented(_) => (
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            None,
            None,
            e.to_string(),
        ),
    };
    ImageFailure {
        envelope: envelope(dialect),
        status,
        code,
        cos_errno: errno,
        vendor_code,
        message,
        cause: format!("{e:?}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_is_never_5xx() {
        let cases = [
            ProcessError::Dialect(DialectError::invalid("x", "y")),
            ProcessError::Dialect(DialectError::bad_request("x", "y")),
            ProcessError::Image(imaging::Error::Decode("bad".into())),
            ProcessError::Image(imaging::Error::CropOutside),
            ProcessError::Image(imaging::Error::TooLarge {
                what: "width",
                value: 2,
                limit: 1,
            }),
            ProcessError::Image(imaging::Error::Watermark("w".into())),
            ProcessError::Image(imaging::Error::Unsupported("u".into())),
            ProcessError::SourceTooLarge { size: 2, limit: 1 },
            ProcessError::NoSuchKey("k".into()),
            ProcessError::NoSuchStyle("s".into()),
            ProcessError::WatermarkMissing("w".into()),
            ProcessError::InvalidArgument("a".into()),
        ];
        for e in &cases {
            assert!(classify(e, Dialect::Oss).status.is_client_error(), "{e:?}");
        }
        let c = classify(
            &ProcessError::Image(imaging::Error::Encode("e".into())),
            Dialect::Oss,
        );
        assert_eq!(c.status, StatusCode::INTERNAL_SERVER_ERROR);
        let c = classify(
            &ProcessError::Image(imaging::Error::NotImplemented("avif".into())),
            Dialect::Oss,
        );
        assert_eq!(c.status, StatusCode::NOT_IMPLEMENTED);
    }

    #[test]
    fn envelopes() {
        use crate::http::error::ErrorSite;
        use crate::http::vendor::Vendor;
        let site = ErrorSite {
            resource: "/b/k",
            request_id: "RID1",
            host: "b.example",
        };
        let e = ProcessError::Dialect(
            DialectError::invalid("unknown action `slim`", "slim,1").with_code("0040-00000213"),
        );
        let c = classify(&e, Dialect::Oss);
        assert_eq!((c.status.as_u16(), c.code), (400, "InvalidArgument"));
        // The envelope follows the dialect, whatever the client's vendor.
        let render = |e: ProcessError, d| e.into_api(d).into_response(&site, Vendor::Aws, false);
        let r = render(e, Dialect::Oss);
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["x-oss-request-id"], "RID1");
        let r = render(ProcessError::NoSuchStyle("s".into()), Dialect::Cos);
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["x-errno"], "-105");
        let r = render(ProcessError::NoSuchKey("k".into()), Dialect::Us3);
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["x-sessionid"], "RID1");
        assert_eq!(r.headers()["content-type"], "application/json");
    }
}
