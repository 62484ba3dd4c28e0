//! The typed image operations ([`ImageOp`]) and the rules that read one
//! from a request, called by the front router (`crate::front::router`)
//! once it has found the bucket and key.
//!
//! A processing string is parsed here, by its dialect's parser
//! (`dialects::parse_query`), into a [`Directive`]: what reaches the
//! handlers is a typed pipeline or a style name, never vendor syntax. A
//! string that does not parse is refused at routing, in its dialect's
//! envelope.

use super::error::ProcessError;
use crate::http::error::ApiError;
use crate::http::names::RawQuery;
use dialects::{Dialect, Directive};
use http::Method;

/// A typed image operation with everything the URI says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageOp {
    /// GET or HEAD of a processed variant of `bucket/key`: processing
    /// parameters in the query, or a style named through a separator
    /// (`key!style`, resolved by the front door from the bucket's settings).
    Process {
        bucket: String,
        /// The source object.
        key: String,
        /// The dialect the request (or the style) is written in: its
        /// limits, renderers and error envelope apply.
        dialect: Dialect,
        /// The parsed pipeline, or the name of a stored style.
        directive: Directive,
        /// Whether the request names a style (`style/<name>`, or a
        /// separator): source protection never refuses those.
        through_style: bool,
    },
    /// A bucket's style or image-settings API.
    BucketApi {
        bucket: String,
        method: Method,
        api: BucketApi,
    },
    /// Alibaba `POST /<key>?x-oss-process` (`sys/saveas`): process and
    /// store the result.
    SaveAs { bucket: String, key: String },
    /// Tencent `POST /<key>?image_process` with a `Pic-Operations` header:
    /// process a stored object into new objects.
    CosImageProcess { bucket: String, key: String },
    /// `GET /<key>?x-imgbucket-explain&<processing>`: the typed pipeline
    /// a processing string (or the style it names) stands for, and how
    /// each dialect writes it. Reads no object.
    Explain {
        bucket: String,
        dialect: Dialect,
        directive: Directive,
    },
}

/// The query parameter that asks for an explanation instead of an image.
pub const EXPLAIN: &str = "x-imgbucket-explain";

/// The bucket-level image APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketApi {
    /// Alibaba's and Tencent's `?style` (told apart by the request).
    Style,
    /// UCloud's `?iopstyle` (ours: UCloud publishes none).
    IopStyle,
    /// `?x-imgbucket-image-config`: separators and source protection.
    ImageConfig,
}

impl ImageOp {
    /// The bucket the operation addresses.
    pub fn bucket(&self) -> &str {
        match self {
            ImageOp::Process { bucket, .. }
            | ImageOp::BucketApi { bucket, .. }
            | ImageOp::SaveAs { bucket, .. }
            | ImageOp::CosImageProcess { bucket, .. }
            | ImageOp::Explain { bucket, .. } => bucket,
        }
    }

    /// The operation's name (for logs).
    pub fn name(&self) -> &'static str {
        match self {
            ImageOp::Process { .. } => "ProcessImage",
            ImageOp::BucketApi {
                api: BucketApi::Style,
                ..
            } => "StyleApi",
            ImageOp::BucketApi {
                api: BucketApi::IopStyle,
                ..
            } => "IopStyleApi",
            ImageOp::BucketApi {
                api: BucketApi::ImageConfig,
                ..
            } => "ImageConfigApi",
            ImageOp::SaveAs { .. } => "SaveAs",
            ImageOp::CosImageProcess { .. } => "CosImageProcess",
            ImageOp::Explain { .. } => "ExplainProcessing",
        }
    }
}

/// A bucket request that is one of the image APIs, if it is.
pub fn route_bucket(method: &Method, bucket: &str, q: &RawQuery) -> Option<ImageOp> {
    let api = if q.has("x-imgbucket-image-config") {
        BucketApi::ImageConfig
    } else if q.has("iopstyle") {
        BucketApi::IopStyle
    } else if q.has("style") {
        BucketApi::Style
    } else {
        return None;
    };
    Some(ImageOp::BucketApi {
        bucket: bucket.to_string(),
        method: method.clone(),
        api,
    })
}

/// An object `POST` that is an image operation, if it is (a multipart
/// POST, with `uploads` or `uploadId`, never is).
pub fn route_object_post(bucket: &str, key: &str, q: &RawQuery) -> Option<ImageOp> {
    if q.has("uploads") || q.has("uploadId") {
        return None;
    }
    let (bucket, key) = (bucket.to_string(), key.to_string());
    if q.has("x-oss-process") {
        Some(ImageOp::SaveAs { bucket, key })
    } else if q.has("image_process") {
        Some(ImageOp::CosImageProcess { bucket, key })
    } else {
        None
    }
}

/// A GET or HEAD of `bucket/key` whose raw query carries processing
/// parameters of a dialect: the parsed operation. `Ok(None)`: no dialect
/// speaks in the query, a plain read. With [`EXPLAIN`] among the
/// parameters, the operation is an [`ImageOp::Explain`] of the rest.
pub fn route_processing(
    bucket: &str,
    key: &str,
    raw_query: &str,
) -> Result<Option<ImageOp>, ApiError> {
    let params = dialects::common::raw_params(raw_query);
    let explain = params
        .iter()
        .any(|p| dialects::common::decoded_key(p) == EXPLAIN);
    // The dialects' parsers never see our own parameter.
    let rest: String;
    let raw_query = if explain {
        rest = params
            .iter()
            .filter(|p| dialects::common::decoded_key(p) != EXPLAIN)
            .map(|p| p.raw)
            .collect::<Vec<_>>()
            .join("&");
        rest.as_str()
    } else {
        raw_query
    };
    let Some(dialect) = dialects::detect(raw_query) else {
        if explain {
            return Err(ApiError::InvalidArgument(
                EXPLAIN,
                "it needs a processing string (x-oss-process=..., imageMogr2/..., iopcmd=...)"
                    .into(),
            ));
        }
        return Ok(None);
    };
    let directive = dialects::parse_query(dialect, raw_query)
        .map_err(|e| ProcessError::from(e).into_api(dialect))?;
    if explain {
        return Ok(Some(ImageOp::Explain {
            bucket: bucket.to_string(),
            dialect,
            directive,
        }));
    }
    Ok(Some(ImageOp::Process {
        bucket: bucket.to_string(),
        key: key.to_string(),
        dialect,
        through_style: matches!(directive, Directive::Style(_)),
        directive,
    }))
}
