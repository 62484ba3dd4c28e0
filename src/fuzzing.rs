//! Entry points for the coverage-guided fuzz targets in `fuzz/` (feature
//! `fuzzing`, which only that crate turns on).
//!
//! The targets want the parsers that face the network: the aws-chunked
//! decoder, every XML request body, the form-upload reader. Some of those
//! are crate-private on purpose (a handler's body parser is no API); this
//! module reaches them without widening the public API of the server. Each
//! function takes raw bytes, runs the parser to completion and discards the
//! result: the fuzzer looks for panics, hangs and unbounded memory, not for
//! particular answers.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::auth::{BodyLimits, ChunkDecoder, ChunkSigner};
use crate::http::body::{Pieces, RequestBody};

/// Decodes `body` as aws-chunked, fed in pieces of `split` bytes (the
/// decoder must not care where the transport cuts), unsigned or signed
/// with a fixed key. Returns the decoded bytes when the body was accepted.
pub fn aws_chunked(body: &[u8], split: usize, signed: bool, trailers: bool) -> Option<Vec<u8>> {
    let signer = signed.then(|| {
        ChunkSigner::new(
            [7; 32],
            "20250101T000000Z".into(),
            "20250101/us-east-1/s3/aws4_request".into(),
            [9; 32],
        )
    });
    // Small limits, so the fuzzer reaches the limit paths with small inputs.
    let limits = BodyLimits {
        max_chunk_line: 128,
        max_chunk_size: 1 << 16,
        max_trailer_section: 256,
    };
    let mut decoder = ChunkDecoder::new(signer, trailers, limits);
    let body = Bytes::copy_from_slice(body);
    let mut out = VecDeque::new();
    let mut at = 0;
    while at < body.len() {
        let end = (at + split.max(1)).min(body.len());
        decoder.feed(body.slice(at..end), &mut out).ok()?;
        at = end;
    }
    decoder.finish().ok()?;
    Some(out.iter().flat_map(|b| b.iter().copied()).collect())
}

/// The XML (and JSON) request bodies, by the operation that reads them.
#[derive(Debug, Clone, Copy)]
pub enum RequestDocument {
    /// Any document, through the generic reader.
    Any,
    /// PutBucketCors.
    Cors,
    /// PutBucketAcl / PutObjectAcl.
    Acl,
    /// DeleteObjects.
    Delete,
    /// CompleteMultipartUpload.
    CompleteMultipart,
    /// PutBucketLifecycleConfiguration.
    Lifecycle,
    /// PutBucketPolicy (JSON).
    Policy,
}

impl RequestDocument {
    /// Every kind, for targets that pick one from an input byte.
    pub const ALL: [RequestDocument; 7] = [
        RequestDocument::Any,
        RequestDocument::Cors,
        RequestDocument::Acl,
        RequestDocument::Delete,
        RequestDocument::CompleteMultipart,
        RequestDocument::Lifecycle,
        RequestDocument::Policy,
    ];
}

/// Parses `doc` as the body of `kind`; whether it was accepted.
pub fn request_document(kind: RequestDocument, doc: &[u8]) -> bool {
    match kind {
        RequestDocument::Any => crate::http::xml::parse(doc).is_ok(),
        RequestDocument::Cors => crate::http::cors::CorsConfig::from_xml(doc).is_ok(),
        RequestDocument::Acl => crate::access::acl::parse_policy_document(doc).is_ok(),
        RequestDocument::Delete => crate::s3::parse_delete(doc).is_ok(),
        RequestDocument::CompleteMultipart => crate::s3::parse_complete(doc).is_ok(),
        RequestDocument::Lifecycle => crate::lifecycle::LifecycleConfig::from_xml(doc).is_ok(),
        RequestDocument::Policy => crate::access::policy::Policy::parse(
            doc,
            "bucket",
            &|name| (name == "alice").then(|| "a".repeat(64)),
            &|id| id.len() == 64,
        )
        .is_ok(),
    }
}

/// Reads `body` as a `multipart/form-data` upload with `boundary`, in
/// pieces of `split` bytes, fields bounded by `limit`, and drains the file
/// part. Returns the number of fields and file bytes when accepted.
pub async fn form_upload(
    body: &[u8],
    boundary: &str,
    split: usize,
    limit: usize,
) -> Option<(usize, usize)> {
    let body = Bytes::copy_from_slice(body);
    let pieces = (0..body.len())
        .step_by(split.max(1))
        .map(|at| body.slice(at..(at + split.max(1)).min(body.len())))
        .collect();
    let (form, file) =
        crate::http::form::read_form(RequestBody::new(Pieces(pieces)), boundary, limit)
            .await
            .ok()?;
    let mut bytes = 0;
    if let Some(mut file) = file {
        while let Some(chunk) = file.body.next_chunk().await {
            bytes += chunk.ok()?.len();
        }
        file.body.finish().ok()?;
    }
    Some((form.fields.len(), bytes))
}
