//! Tencent COS persistent image processing (`docs/cos.md`, "Persistent
//! processing"): the
//! `Pic-Operations` header on `PUT /<key>` (upload-time), on
//! CompleteMultipartUpload, and on `POST /<key>?image_process` (in-cloud).
//!
//! Flow of an upload with the header:
//! 1. [`prepare`] parses and validates the whole header *before anything is
//!    stored*: JSON, ≤ 5 rules, every `fileid` resolved against the source
//!    key, every target bucket checked (it must exist, the caller must be
//!    authenticated), every `style/<name>` loaded and parsed, and (for a
//!    PUT) the announced body length checked against the COS source limit.
//!    A malformed header therefore changes nothing.
//! 2. The S3 handler stores the original through its normal durable path,
//!    with the body limit lowered to the COS source limit.
//! 3. [`Plan::run`] reads the stored original back (bounded), runs every
//!    rule on the blocking pool (the processor's bounded `execute`), and
//!    only when all rules succeeded writes each output through
//!    `Store::object_writer` → commit. A rule that fails at execution (an
//!    output over the 9 999 px cap, an undecodable source...) answers the
//!    COS error and writes no output; the original stays stored.
//! 4. The answer is the `UploadResult` XML (`docs/cos.md`, "Upload-time").
//!
//! The front door calls [`prepare`] for a PUT or CompleteMultipartUpload
//! that carries the header, and hands the S3 handler the result as an
//! [`UploadHook`]: the handler never calls into this module.
//!
//! Errors use the COS XML envelope with `X-ErrNo` ([`refusal`]).
//!
//! Decisions (design; see `docs/cos.md`):
//! * `Location` is `<bucket>.<host>/<key>` where `<host>` is the request's
//!   `Host` minus the source bucket when the request was virtual-host style
//!   (a COS host `b.cos.<region>.myqcloud.com` keeps its shape), else the
//!   configured domain, else the request's `Host`.
//! * A target bucket that does not exist is answered like one the caller
//!   may not write: 403 `AccessDenied` (without the `-154` errno, which is
//!   source protection), so bucket names are not probed through rules.
//! * A rule whose result is information (`imageInfo`, `exif`, `imageAve`)
//!   is refused (400, `-106`): a rule must produce an image to store.
//! * Outputs are written after every rule has run, one atomic commit each;
//!   a storage failure between two commits (a 500) can leave the earlier
//!   outputs written.

use super::error::{classify, ProcessError};
use super::{load_assets, read_bounded, resolve, store_output, Ctx, Processor};
use crate::http::body::{self, Body, RequestBody};
use crate::http::error::ApiError;
use crate::http::hook::UploadHook;
use crate::http::names::{validate_bucket_name, MAX_KEY_LEN};
use crate::http::ApiResult;
use async_trait::async_trait;
use dialects::cos::{format_name, parse_pic_operations, resolve_fileid, PicOperations};
use dialects::{Dialect, DialectError};
use http::{HeaderValue, Response};
use imaging::{Format, Output, Pipeline, Terminal};
use storage::ObjectMeta;

/// The request header that carries the rules.
pub const HEADER: &str = "pic-operations";

/// Largest body accepted (and ignored) on `POST ?image_process`: the
/// request has none, but clients may send an empty document.
const MAX_POST_BODY: usize = 64 * 1024;

/// Whether the request asks for persistent processing.
pub fn requested(headers: &http::HeaderMap) -> bool {
    headers.contains_key(HEADER)
}

/// A validated `Pic-Operations` header, ready to run once the original is
/// stored.
#[derive(Debug)]
pub struct Plan {
    is_pic_info: bool,
    targets: Vec<Target>,
    /// The COS source limit (bytes) the original must respect.
    limit: u64,
}

/// One rule, resolved: where its output goes and what produces it.
#[derive(Debug)]
struct Target {
    bucket: String,
    key: String,
    pipeline: Pipeline,
}

/// What `OriginalInfo` reports when a rule's output replaced its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overwrite {
    /// An upload: what was uploaded.
    KeepsUpload,
    /// `image_process`: the object now stored at the key, the result.
    ReportsResult,
}

/// One stored output, for the response.
#[derive(Debug)]
struct Written {
    bucket: String,
    key: String,
    format: Format,
    width: u32,
    height: u32,
    quality: Option<u8>,
    meta: ObjectMeta,
}

/// `ImageInfo` of the original (`is_pic_info: 1`).
#[derive(Debug)]
struct OriginalImage {
    format: Format,
    width: u32,
    height: u32,
    quality: u8,
    ave: imaging::Rgb,
    orientation: u16,
}

/// `e` for the HTTP layer, in the COS envelope. A refused target bucket
/// gets no `X-ErrNo`: `-154` (what `AccessDenied` carries elsewhere) means
/// source protection, which this is not.
fn refusal(e: ProcessError) -> ApiError {
    let mut failure = classify(&e, Dialect::Cos);
    if matches!(e, ProcessError::AccessDenied(_)) {
        failure.cos_errno = None;
    }
    ApiError::Image(Box::new(failure))
}

/// Validates the `Pic-Operations` header of an upload to `bucket/key`
/// before anything is stored. `Ok(None)`: no header, a plain upload.
/// `check_length`: compare the announced body length (PUT) with the COS
/// source limit.
pub async fn prepare<'c>(
    cx: &'c Ctx<'c>,
    bucket: &str,
    key: &str,
    check_length: bool,
) -> Result<Option<PicOperationsHook<'c>>, ApiError> {
    if !requested(cx.headers) {
        return Ok(None);
    }
    let plan = plan(cx, bucket, key, check_length).await.map_err(refusal)?;
    Ok(Some(PicOperationsHook {
        cx,
        bucket: bucket.to_string(),
        key: key.to_string(),
        plan,
    }))
}

/// A validated `Pic-Operations` upload, as the S3 write path runs it.
pub struct PicOperationsHook<'c> {
    cx: &'c Ctx<'c>,
    bucket: String,
    key: String,
    plan: Plan,
}

#[async_trait]
impl UploadHook for PicOperationsHook<'_> {
    /// The COS source limit: processing buffers the original in memory.
    fn max_object_size(&self) -> u64 {
        self.plan.limit
    }

    async fn check_completion(
        &self,
        upload_id: &str,
        parts: &[storage::CompletedPart],
    ) -> Result<(), ApiError> {
        self.plan
            .check_parts(self.cx, &self.bucket, &self.key, upload_id, parts)
            .await
            .map_err(refusal)
    }

    async fn after_commit(&self, stored: &ObjectMeta) -> Result<Response<Body>, ApiError> {
        self.plan
            .execute(
                self.cx,
                &self.bucket,
                &self.key,
                stored,
                Overwrite::KeepsUpload,
            )
            .await
            .map_err(refusal)
    }
}

async fn plan(
    cx: &Ctx<'_>,
    bucket: &str,
    key: &str,
    check_length: bool,
) -> Result<Plan, ProcessError> {
    let limit = cx.state.process.limits(Dialect::Cos).max_source_bytes;
    if check_length {
        if let Some(size) = announced_length(cx.headers) {
            if size > limit {
                return Err(ProcessError::SourceTooLarge { size, limit });
            }
        }
    }
    let ops = parse_header(cx.headers)?;
    let store = &*cx.state.store;
    let mut targets = Vec::with_capacity(ops.rules.len());
    for rule in ops.rules {
        let target_bucket = rule.bucket.clone().unwrap_or_else(|| bucket.to_string());
        if target_bucket != bucket {
            validate_bucket_name(&target_bucket).map_err(|e| {
                ProcessError::Dialect(
                    DialectError::invalid(format!("rule bucket: {e}"), target_bucket.clone())
                        .with_code(dialects::cos::ERRNO_MALFORMED),
                )
            })?;
            // Another user's bucket, or none: not the caller's to write.
            if let Err(storage::Error::NoSuchBucket(_)) = store.bucket(&target_bucket).await {
                return Err(cannot_write(&target_bucket));
            }
        }
        let target_key = resolve_fileid(key, &rule.fileid)?;
        if target_key.len() > MAX_KEY_LEN {
            return Err(ProcessError::Dialect(
                DialectError::invalid(
                    format!("fileid names a key longer than {MAX_KEY_LEN} bytes"),
                    rule.fileid.clone(),
                )
                .with_code(dialects::cos::ERRNO_MALFORMED),
            ));
        }
        // Styles are looked up in the source's bucket (where the request
        // is addressed), as for a download.
        let (pipeline, _) = resolve(cx.state, bucket, rule.directive, None).await?;
        if pipeline.terminal.is_some() {
            return Err(ProcessError::Dialect(
                DialectError::invalid(
                    "a Pic-Operations rule must produce an image (imageInfo, exif and imageAve cannot be stored)",
                    rule.rule.clone(),
                )
                .with_code(dialects::cos::ERRNO_MALFORMED),
            ));
        }
        if !super::may_put(cx, &target_bucket, &target_key).await? {
            return Err(cannot_write(&target_bucket));
        }
        targets.push(Target {
            bucket: target_bucket,
            key: target_key,
            pipeline,
        });
    }
    Ok(Plan {
        is_pic_info: ops.is_pic_info,
        targets,
        limit,
    })
}

/// Parses the header; a value that is not UTF-8 is malformed (`-106`).
fn parse_header(headers: &http::HeaderMap) -> Result<PicOperations, ProcessError> {
    let raw = headers
        .get(HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let text = std::str::from_utf8(raw).map_err(|_| {
        ProcessError::Dialect(
            DialectError::bad_request("Pic-Operations is not UTF-8", "")
                .with_code(dialects::cos::ERRNO_MALFORMED),
        )
    })?;
    Ok(parse_pic_operations(text.trim())?)
}

/// The object size the request announces (`x-amz-decoded-content-length`
/// for aws-chunked bodies, else `Content-Length`).
fn announced_length(headers: &http::HeaderMap) -> Option<u64> {
    ["x-amz-decoded-content-length", "content-length"]
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse().ok())
}

impl Plan {
    /// CompleteMultipartUpload: refuses an upload whose named parts add up
    /// to more than the source limit before anything is assembled, as a
    /// single PUT is refused before its body is stored. The upload stays
    /// open (the client may complete it without the header, or abort it).
    /// Parts the store does not know are left to the completion to refuse.
    async fn check_parts(
        &self,
        cx: &Ctx<'_>,
        bucket: &str,
        key: &str,
        upload_id: &str,
        named: &[storage::CompletedPart],
    ) -> Result<(), ProcessError> {
        let store = &*cx.state.store;
        let mut sizes = std::collections::HashMap::new();
        let mut marker = 0;
        loop {
            let Ok(page) = store.list_parts(bucket, key, upload_id, marker, 1000).await else {
                return Ok(());
            };
            sizes.extend(page.parts.iter().map(|p| (p.part_number, p.size)));
            if !page.is_truncated || page.next_part_number_marker <= marker {
                break;
            }
            marker = page.next_part_number_marker;
        }
        let size: u64 = named.iter().filter_map(|p| sizes.get(&p.part_number)).sum();
        if size > self.limit {
            return Err(ProcessError::SourceTooLarge {
                size,
                limit: self.limit,
            });
        }
        Ok(())
    }

    /// Runs the rules on the stored original `bucket/key` (whose metadata
    /// is `original`) and answers the `UploadResult`, or the error of the
    /// first failing step (the original stays stored either way).
    async fn execute(
        &self,
        cx: &Ctx<'_>,
        bucket: &str,
        key: &str,
        original: &ObjectMeta,
        overwrite: Overwrite,
    ) -> Result<Response<Body>, ProcessError> {
        let proc = &cx.state.process;
        let store = &*cx.state.store;
        let limits = proc.limits(Dialect::Cos);
        // Read back what was stored: the bytes every rule starts from.
        // (Another writer could replace the key between the commit and
        // this read; the rules then describe that newer version.)
        let mut source = read_bounded(store, bucket, key, self.limit).await?;
        let info = if self.is_pic_info {
            let (i, s) = original_image(proc, source, limits).await?;
            source = s;
            Some(i)
        } else {
            None
        };
        // Every rule runs before any output is written: a failing rule
        // leaves no output behind.
        let mut results = Vec::with_capacity(self.targets.len());
        for t in &self.targets {
            let assets = load_assets(store, bucket, &t.pipeline, limits.max_source_bytes).await?;
            let (out, s) = proc
                .execute(source, &t.pipeline, assets, limits, Dialect::Cos)
                .await?;
            source = s;
            match out {
                Output::Image {
                    bytes,
                    format,
                    width,
                    height,
                    quality,
                } => results.push((bytes, format, width, height, quality)),
                // Refused in `plan`; an engine answering otherwise is a bug.
                _ => {
                    return Err(ProcessError::Internal(
                        "a rule without terminal produced no image".into(),
                    ))
                }
            }
        }
        drop(source);
        let mut written = Vec::with_capacity(results.len());
        for (t, (bytes, format, width, height, quality)) in self.targets.iter().zip(results) {
            let meta = store_output(store, &t.bucket, &t.key, &bytes, format.mime()).await?;
            written.push(Written {
                bucket: t.bucket.clone(),
                key: t.key.clone(),
                format,
                width,
                height,
                quality,
                meta,
            });
        }
        // A rule whose output replaced the source: `image_process` then
        // reports the object now stored there (Tencent, 2025 revision).
        let replaced = written
            .iter()
            .find(|w| w.bucket == bucket && w.key == key)
            .filter(|_| overwrite == Overwrite::ReportsResult);
        let original = replaced.map_or(original, |w| &w.meta);
        let doc = upload_result(cx, bucket, key, original, info.as_ref(), &written);
        let mut r = Response::new(body::full(doc));
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        if let Ok(v) = HeaderValue::from_str(cx.request_id) {
            r.headers_mut().insert("x-cos-request-id", v);
        }
        // The original's ETag, as a plain PUT answers it (S3 SDKs read it).
        if let Ok(v) = HeaderValue::from_str(&quoted(&original.etag)) {
            r.headers_mut().insert(http::header::ETAG, v);
        }
        Ok(r)
    }
}

/// Format, size, quality, orientation (from the headers) and the average
/// colour (a decode, on the bounded pool) of the original.
async fn original_image(
    proc: &Processor,
    source: Vec<u8>,
    limits: &imaging::Limits,
) -> Result<(OriginalImage, Vec<u8>), ProcessError> {
    let probed = imaging::probe(&source, limits)?;
    let ave_pipeline = Pipeline {
        terminal: Some(Terminal::AverageColor),
        ..Pipeline::default()
    };
    let (out, source) = proc
        .execute(
            source,
            &ave_pipeline,
            imaging::Assets::default(),
            limits,
            Dialect::Cos,
        )
        .await?;
    let ave = match out {
        Output::AverageColor(c) => c,
        _ => return Err(ProcessError::Internal("no average colour".into())),
    };
    Ok((
        OriginalImage {
            format: probed.format,
            width: probed.width,
            height: probed.height,
            // Lossless sources have no quality; Tencent shows 100.
            quality: probed.quality.unwrap_or(100),
            ave,
            orientation: probed.orientation.unwrap_or(1),
        },
        source,
    ))
}

/// `<bucket>.<host>/<key>` (see the module doc for the host).
fn location(cx: &Ctx<'_>, source_bucket: &str, bucket: &str, key: &str) -> String {
    let host = cx.host();
    let vhost_rest = host
        .strip_prefix(source_bucket)
        .and_then(|r| r.strip_prefix('.'))
        .filter(|r| !r.is_empty());
    let domain = match (vhost_rest, cx.state.config.domain.as_deref()) {
        (Some(rest), _) => rest,
        (None, Some(d)) => d,
        (None, None) => host,
    };
    format!("{bucket}.{domain}/{key}")
}

fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

fn upload_result(
    cx: &Ctx<'_>,
    bucket: &str,
    key: &str,
    original: &ObjectMeta,
    info: Option<&OriginalImage>,
    written: &[Written],
) -> bytes::Bytes {
    use crate::http::xml::XmlWriter;
    let mut x = XmlWriter::new();
    x.open_plain("UploadResult");
    x.open_plain("OriginalInfo");
    x.elem("Key", key);
    x.elem("Location", &location(cx, bucket, bucket, key));
    x.elem("ETag", &quoted(&original.etag));
    if let Some(i) = info {
        let imaging::Rgb(r, g, b) = i.ave;
        x.open_plain("ImageInfo");
        x.elem("Format", &format_name(i.format).to_ascii_uppercase());
        x.elem("Width", &i.width.to_string());
        x.elem("Height", &i.height.to_string());
        x.elem("Quality", &i.quality.to_string());
        x.elem("Ave", &format!("0x{r:02X}{g:02X}{b:02X}"));
        x.elem("Orientation", &i.orientation.to_string());
        x.close("ImageInfo");
    }
    x.close("OriginalInfo");
    x.open_plain("ProcessResults");
    for w in written {
        x.open_plain("Object");
        x.elem("Key", &w.key);
        x.elem("Location", &location(cx, bucket, &w.bucket, &w.key));
        x.elem("Format", format_name(w.format));
        x.elem("Width", &w.width.to_string());
        x.elem("Height", &w.height.to_string());
        x.elem("Size", &w.meta.size.to_string());
        x.elem("Quality", &w.quality.unwrap_or(100).to_string());
        x.elem("ETag", &quoted(&w.meta.etag));
        x.close("Object");
    }
    x.close("ProcessResults");
    x.close("UploadResult");
    x.finish()
}

/// `POST /<key>?image_process` with `Pic-Operations`: processes an object
/// already stored; the response is the same `UploadResult`, with the
/// existing object as `OriginalInfo`.
pub async fn image_process(
    cx: &Ctx<'_>,
    mut body: RequestBody,
    bucket: &str,
    key: &str,
) -> ApiResult {
    // The request has no body; reading it (bounded) completes the payload
    // verification of a signed request.
    body.read_to_limit(MAX_POST_BODY).await?;
    let Some(hook) = prepare(cx, bucket, key, false).await? else {
        let e = ProcessError::Dialect(
            DialectError::missing("POST ?image_process needs a Pic-Operations header", "")
                .with_code(dialects::cos::ERRNO_MALFORMED),
        );
        return Err(refusal(e));
    };
    let original = cx
        .state
        .store
        .head_object(bucket, key)
        .await
        .map_err(|e| refusal(e.into()))?;
    if original.size > hook.plan.limit {
        return Err(refusal(ProcessError::SourceTooLarge {
            size: original.size,
            limit: hook.plan.limit,
        }));
    }
    hook.plan
        .execute(cx, bucket, key, &original, Overwrite::ReportsResult)
        .await
        .map_err(refusal)
}

fn cannot_write(bucket: &str) -> ProcessError {
    ProcessError::AccessDenied(format!("Access Denied: cannot write to bucket {bucket:?}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn announced_length_prefers_the_decoded_length() {
        let mut h = http::HeaderMap::new();
        h.insert("content-length", HeaderValue::from_static("100"));
        assert_eq!(announced_length(&h), Some(100));
        h.insert(
            "x-amz-decoded-content-length",
            HeaderValue::from_static("42"),
        );
        assert_eq!(announced_length(&h), Some(42));
    }

    #[test]
    fn format_names_follow_the_documented_sample() {
        assert_eq!(format_name(Format::Png), "png");
        assert_eq!(format_name(Format::Jpeg).to_ascii_uppercase(), "JPEG");
        assert_eq!(format_name(Format::Heic), "heif");
    }

    #[test]
    fn status_of_refusals() {
        let e = ProcessError::SourceTooLarge { size: 2, limit: 1 };
        let c = classify(&e, Dialect::Cos);
        assert_eq!(
            (c.status, c.cos_errno),
            (StatusCode::BAD_REQUEST, Some("-167"))
        );
    }
}
