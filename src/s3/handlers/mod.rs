//! One function per S3 operation, grouped by resource. Handlers receive
//! typed, validated arguments from the router and call the store; they
//! build responses but never render errors (that is `ApiError`'s job).

pub mod acl;
pub mod bucket;
pub mod cors;
pub mod lifecycle;
pub mod list;
pub mod multipart;
pub mod object;
pub mod policy;
pub mod tagging;

use crate::http::body::RequestBody;
use crate::http::error::ApiError;
use crate::s3::Ctx;
use storage::{ObjectAttrs, ObjectMeta, ObjectWriter, Precondition};

/// How often an in-place change of an object's attributes starts over
/// after a write replaced the object under it.
const ATTR_CHANGE_ATTEMPTS: usize = 4;

/// Changes one object's attributes in place (its ACL, its tags): reads
/// them, applies `change`, and writes them back only onto the object they
/// were read from, so that a concurrent PUT's attributes are never
/// overwritten with its predecessor's. A replaced object is read again.
pub(crate) async fn change_object_attrs(
    cx: &Ctx<'_>,
    bucket: &str,
    key: &str,
    change: impl Fn(&mut ObjectAttrs),
) -> Result<ObjectMeta, ApiError> {
    let store = &cx.state.store;
    for _ in 0..ATTR_CHANGE_ATTEMPTS {
        let meta = store.head_object(bucket, key).await?;
        let mut attrs = meta.attrs;
        change(&mut attrs);
        let same = Precondition::ETagIn(vec![meta.etag]);
        match store.update_object_attrs(bucket, key, attrs, &same).await {
            Err(storage::Error::PreconditionFailed) => continue,
            done => return Ok(done?),
        }
    }
    Err(ApiError::OperationAborted)
}

/// Streams a request body into a writer, chunk by chunk, refusing it once it
/// exceeds `max` bytes. On error the writer is dropped by the caller, which
/// discards everything written.
pub(crate) async fn pump_body(
    body: &mut RequestBody,
    writer: &mut Box<dyn ObjectWriter>,
    max: u64,
) -> Result<(), ApiError> {
    while let Some(chunk) = body.next_chunk().await {
        let chunk = chunk?;
        if writer.written() + chunk.len() as u64 > max {
            return Err(ApiError::EntityTooLarge);
        }
        writer.write(&chunk).await?;
    }
    Ok(())
}

/// The URL of an object as S3 documents name it (`<Location>` of
/// CompleteMultipartUpload and of a form upload's answer): path style on
/// the request's host.
pub(crate) fn object_location(cx: &crate::s3::Ctx<'_>, bucket: &str, key: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const PATH: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    format!(
        "http://{}/{bucket}/{}",
        cx.host(),
        utf8_percent_encode(key, PATH)
    )
}

/// Copies a stored byte stream into a writer (CopyObject, UploadPartCopy),
/// and answers the CRC-64/XZ of what it copied (the range of a part copy
/// has no stored CRC of its own).
pub(crate) async fn pump_stream(
    mut stream: storage::ByteStream,
    writer: &mut Box<dyn ObjectWriter>,
) -> Result<u64, ApiError> {
    use futures_util::StreamExt;
    let mut crc = crate::auth::Crc64Ecma::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::Internal(format!("reading copy source: {e}")))?;
        crc.update(&chunk);
        writer.write(&chunk).await?;
    }
    Ok(crc.finalize())
}

/// Refuses a body whose announced length exceeds `max` before reading it,
/// and one whose length is not announced at all.
pub(crate) fn check_announced_length(headers: &http::HeaderMap, max: u64) -> Result<(), ApiError> {
    for name in ["x-amz-decoded-content-length", "content-length"] {
        if let Some(v) = headers.get(name) {
            let n: u64 = v
                .to_str()
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| {
                    ApiError::InvalidArgument("header", format!("{name} is not a number"))
                })?;
            if n > max {
                return Err(ApiError::EntityTooLarge);
            }
            // The decoded length is the object size; Content-Length then
            // includes chunk framing, so it is not compared.
            return Ok(());
        }
    }
    // No length at all: S3 wants one (411), unless the body is streamed
    // with HTTP chunked transfer coding, which then bounds it.
    if headers.contains_key(http::header::TRANSFER_ENCODING) {
        Ok(())
    } else {
        Err(ApiError::MissingContentLength)
    }
}
