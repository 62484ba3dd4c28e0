//! [`VerifiedBody`]: the request body as a stream of verified bytes.
//!
//! It removes aws-chunked framing (checking chunk signatures on the way),
//! hashes what the client declared (`x-amz-content-sha256`, `Content-MD5`,
//! one `x-amz-checksum-*` header or trailer) and counts bytes. All checks
//! that need the whole body run when the inner body ends; a failure is
//! reported as an `Err` item in place of the end of the stream, so a caller
//! that commits only after `None` never stores a bad body.

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::task::{Context, Poll};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use futures_util::Stream;
use http::HeaderMap;
use http_body::Body;
use md5::Md5;
use sha2::{Digest as _, Sha256};

use super::checksum::{ChecksumAlgorithm, Checksummer, Crc64Ecma};
use super::chunked::{ChunkDecoder, Trailer};
use super::{AuthError, Payload, PayloadMode};

/// Bounds on what the aws-chunked decoder buffers or accepts. Chunk data is
/// streamed, never buffered, so `max_chunk_size` limits nonsense rather than
/// memory; the line limits bound the only buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Longest chunk size line (`<hex>;chunk-signature=<64 hex>\r\n` is
    /// ~90 bytes).
    pub max_chunk_line: usize,
    /// Largest chunk. SDKs use 8 KiB–1 MiB chunks; 64 MiB leaves room for
    /// clients that send a whole multipart part as one chunk.
    pub max_chunk_size: u64,
    /// Largest trailer section (all trailer lines together).
    pub max_trailer_section: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits {
            max_chunk_line: 4096,
            max_chunk_size: 64 << 20,
            max_trailer_section: 16 << 10,
        }
    }
}

/// What the body was verified against, to store with the object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Integrity {
    /// Verified additional checksums: lower-case algorithm name (`crc32`,
    /// `crc32c`, `crc64nvme`, `sha1`, `sha256`, the key
    /// `storage::ObjectAttrs::checksums` uses) → base64 value.
    pub checksums: BTreeMap<String, String>,
    /// The verified `Content-MD5`, if the client sent one (pass it to
    /// `ObjectWriter::commit` as `expected_md5`).
    pub content_md5: Option<[u8; 16]>,
    /// Number of (decoded) body bytes.
    pub length: u64,
    /// CRC-64/XZ of the body, when requested with
    /// [`VerifiedBody::with_crc64_ecma`] (for the `x-oss-hash-crc64ecma` /
    /// `x-cos-hash-crc64ecma` response headers the vendor SDKs check).
    pub crc64_ecma: Option<u64>,
}

/// Where the expected additional checksum comes from.
enum ExpectedChecksum {
    /// An `x-amz-checksum-<alg>` header with this (decoded) value.
    Header(Vec<u8>),
    /// Announced by `x-amz-trailer`; the value arrives in the trailer.
    Trailer,
}

enum Phase {
    Streaming,
    Finished(Integrity),
    Failed,
    /// `finish` has taken the result.
    Taken,
}

/// The request body, de-framed and verified. A `Stream` of
/// `Result<Bytes, AuthError>`; see the module docs for the contract.
pub struct VerifiedBody<B> {
    inner: B,
    decoder: Option<ChunkDecoder>,
    pending: VecDeque<Bytes>,
    sha256: Option<(Sha256, [u8; 32])>,
    md5: Option<(Md5, [u8; 16])>,
    checksum: Option<(Checksummer, ExpectedChecksum)>,
    crc64_ecma: Option<Crc64Ecma>,
    /// `Content-Length` of a plain body.
    content_length: Option<u64>,
    /// `x-amz-decoded-content-length` for aws-chunked bodies.
    declared_len: Option<u64>,
    received: u64,
    phase: Phase,
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, ()> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v.to_str().map(|s| Some(s.trim())).map_err(|_| ()),
    }
}

impl<B> VerifiedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    /// Wraps `body` with the checks that `payload` (from
    /// [`crate::auth::verify`]) and the request `headers` call for, with
    /// default [`BodyLimits`]. Fails early on malformed integrity headers.
    pub fn new(body: B, payload: &Payload, headers: &HeaderMap) -> Result<Self, AuthError> {
        Self::with_limits(body, payload, headers, BodyLimits::default())
    }

    /// As [`VerifiedBody::new`], with explicit limits.
    pub fn with_limits(
        body: B,
        payload: &Payload,
        headers: &HeaderMap,
        limits: BodyLimits,
    ) -> Result<Self, AuthError> {
        // Content-MD5: base64 of 16 bytes, else InvalidDigest.
        let md5 =
            match header_str(headers, "content-md5").map_err(|_| AuthError::InvalidContentMd5)? {
                None => None,
                Some(v) => {
                    let raw = BASE64
                        .decode(v.as_bytes())
                        .map_err(|_| AuthError::InvalidContentMd5)?;
                    let raw: [u8; 16] = raw.try_into().map_err(|_| AuthError::InvalidContentMd5)?;
                    Some((Md5::new(), raw))
                }
            };

        // At most one additional checksum, from a header or a trailer.
        let mut checksum: Option<(Checksummer, ExpectedChecksum)> = None;
        for (name, value) in headers {
            let Some(alg) = ChecksumAlgorithm::from_header_name(name.as_str()) else {
                continue;
            };
            let value = value
                .to_str()
                .ok()
                .and_then(|v| alg.decode_value(v))
                .ok_or(AuthError::InvalidChecksumValue { algorithm: alg })?;
            if checksum.is_some() {
                return Err(AuthError::MultipleChecksums);
            }
            checksum = Some((alg.hasher(), ExpectedChecksum::Header(value)));
        }
        let trailer =
            header_str(headers, "x-amz-trailer").map_err(|_| AuthError::UnsupportedChecksum {
                name: "<non-ASCII x-amz-trailer>".to_owned(),
            })?;
        if let Some(trailer) = trailer.filter(|t| !t.is_empty()) {
            if !payload.mode.is_aws_chunked() {
                return Err(AuthError::MalformedTrailer {
                    reason: "x-amz-trailer requires an aws-chunked (STREAMING-*) body".to_owned(),
                });
            }
            let mut names = trailer.split(',').map(str::trim).filter(|n| !n.is_empty());
            let first = names.next().unwrap_or_default();
            if names.next().is_some() {
                return Err(AuthError::MultipleChecksums);
            }
            let alg = ChecksumAlgorithm::from_header_name(first).ok_or_else(|| {
                AuthError::UnsupportedChecksum {
                    name: first.to_owned(),
                }
            })?;
            if checksum.is_some() {
                return Err(AuthError::MultipleChecksums);
            }
            checksum = Some((alg.hasher(), ExpectedChecksum::Trailer));
        }

        let aws_chunked_encoding = headers
            .get_all(http::header::CONTENT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|c| c.trim().eq_ignore_ascii_case("aws-chunked"));

        let (decoder, declared_len) = match payload.mode {
            PayloadMode::StreamingSigned
            | PayloadMode::StreamingSignedTrailer
            | PayloadMode::StreamingUnsignedTrailer => {
                let declared = header_str(headers, "x-amz-decoded-content-length")
                    .ok()
                    .flatten()
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or(AuthError::MissingDecodedContentLength)?;
                let trailers_allowed = payload.mode != PayloadMode::StreamingSigned;
                let signer = match payload.mode {
                    PayloadMode::StreamingUnsignedTrailer => None,
                    // verify() always sets a signer for the signed modes;
                    // without one we could not check anything, so refuse.
                    _ => Some(payload.chunk_signer.clone().ok_or(
                        AuthError::StreamingRequiresSigV4 {
                            mode: super::STREAMING_SIGNED,
                        },
                    )?),
                };
                (
                    Some(ChunkDecoder::new(signer, trailers_allowed, limits)),
                    Some(declared),
                )
            }
            _ if aws_chunked_encoding => return Err(AuthError::AwsChunkedWithoutStreamingSha256),
            _ => (None, None),
        };

        let sha256 = match payload.mode {
            PayloadMode::Sha256(expected) => Some((Sha256::new(), expected)),
            _ => None,
        };

        Ok(VerifiedBody {
            inner: body,
            decoder,
            pending: VecDeque::new(),
            sha256,
            md5,
            checksum,
            crc64_ecma: None,
            content_length: header_str(headers, "content-length")
                .ok()
                .flatten()
                .and_then(|v| v.parse().ok()),
            declared_len,
            received: 0,
            phase: Phase::Streaming,
        })
    }

    /// The body length the client announced, known before reading:
    /// `x-amz-decoded-content-length` for aws-chunked bodies (whose
    /// `Content-Length` counts the framing), else `Content-Length`. Lets the
    /// caller refuse an oversized upload up front.
    pub fn declared_length(&self) -> Option<u64> {
        self.declared_len.or(self.content_length)
    }

    /// Leaves `x-amz-checksum-*` *headers* unchecked: on
    /// CompleteMultipartUpload they describe the assembled object, not the
    /// XML body, so the caller handles them. Trailers are still checked.
    pub fn skip_checksum_headers(mut self) -> Self {
        if matches!(self.checksum, Some((_, ExpectedChecksum::Header(_)))) {
            self.checksum = None;
        }
        self
    }

    /// Also computes the CRC-64/XZ of the body, reported in
    /// [`Integrity::crc64_ecma`].
    pub fn with_crc64_ecma(mut self) -> Self {
        self.crc64_ecma = Some(Crc64Ecma::new());
        self
    }

    /// The verification result, once the stream has ended with `None`.
    /// Before that (or after an `Err` item) it returns
    /// [`AuthError::BodyNotFinished`].
    pub fn finish(&mut self) -> Result<Integrity, AuthError> {
        match std::mem::replace(&mut self.phase, Phase::Taken) {
            Phase::Finished(integrity) => Ok(integrity),
            other => {
                self.phase = other;
                Err(AuthError::BodyNotFinished)
            }
        }
    }

    /// Accounts for a decoded piece about to be handed out.
    fn account(&mut self, piece: &Bytes) -> Result<(), AuthError> {
        self.received += piece.len() as u64;
        if let Some(declared) = self.declared_len {
            if self.received > declared {
                return Err(AuthError::DecodedLengthMismatch {
                    declared,
                    actual: self.received,
                });
            }
        }
        if let Some((h, _)) = self.sha256.as_mut() {
            h.update(piece);
        }
        if let Some((h, _)) = self.md5.as_mut() {
            h.update(piece);
        }
        if let Some((c, _)) = self.checksum.as_mut() {
            c.update(piece);
        }
        if let Some(c) = self.crc64_ecma.as_mut() {
            c.update(piece);
        }
        Ok(())
    }

    /// The end-of-body checks.
    fn complete(&mut self) -> Result<Integrity, AuthError> {
        let trailers: Vec<Trailer> = match self.decoder.as_mut() {
            Some(d) => d.finish()?,
            None => Vec::new(),
        };
        if let Some(declared) = self.declared_len {
            if self.received != declared {
                return Err(AuthError::DecodedLengthMismatch {
                    declared,
                    actual: self.received,
                });
            }
        }
        if let Some((h, expected)) = self.sha256.take() {
            let computed: [u8; 32] = h.finalize().into();
            if computed != expected {
                return Err(AuthError::ContentSha256Mismatch {
                    client: hex::encode(expected),
                    computed: hex::encode(computed),
                });
            }
        }
        let mut integrity = Integrity {
            length: self.received,
            crc64_ecma: self.crc64_ecma.take().map(Crc64Ecma::finalize),
            ..Integrity::default()
        };
        if let Some((h, expected)) = self.md5.take() {
            let computed: [u8; 16] = h.finalize().into();
            if computed != expected {
                return Err(AuthError::ContentMd5Mismatch);
            }
            integrity.content_md5 = Some(expected);
        }

        // Any trailer must be the announced checksum (or nothing else we
        // understand): silently dropping a checksum the client expects us
        // to verify would be worse than refusing.
        let announced = self.checksum.as_ref().and_then(|(c, e)| match e {
            ExpectedChecksum::Trailer => Some(c.algorithm()),
            ExpectedChecksum::Header(_) => None,
        });
        for (name, _) in &trailers {
            match ChecksumAlgorithm::from_header_name(name) {
                Some(alg) if Some(alg) == announced => {}
                _ => {
                    return Err(AuthError::MalformedTrailer {
                        reason: format!("trailer {name:?} was not announced in x-amz-trailer"),
                    })
                }
            }
        }

        if let Some((c, expected)) = self.checksum.take() {
            let alg = c.algorithm();
            let expected = match expected {
                ExpectedChecksum::Header(v) => v,
                ExpectedChecksum::Trailer => {
                    let value = trailers
                        .iter()
                        .find(|(n, _)| n == alg.header_name())
                        .map(|(_, v)| v.as_str())
                        .ok_or_else(|| AuthError::MalformedTrailer {
                            reason: format!(
                                "the announced trailer {} is missing",
                                alg.header_name()
                            ),
                        })?;
                    alg.decode_value(value)
                        .ok_or(AuthError::InvalidChecksumValue { algorithm: alg })?
                }
            };
            let computed = c.finalize();
            if computed != expected {
                return Err(AuthError::ChecksumMismatch { algorithm: alg });
            }
            integrity
                .checksums
                .insert(alg.name().to_owned(), BASE64.encode(&computed));
        }
        Ok(integrity)
    }
}

impl<B> Stream for VerifiedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    type Item = Result<Bytes, AuthError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if !matches!(this.phase, Phase::Streaming) {
                return Poll::Ready(None);
            }
            if let Some(piece) = this.pending.pop_front() {
                if piece.is_empty() {
                    continue;
                }
                if let Err(e) = this.account(&piece) {
                    this.phase = Phase::Failed;
                    return Poll::Ready(Some(Err(e)));
                }
                return Poll::Ready(Some(Ok(piece)));
            }
            let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(f) => f,
            };
            let result = match frame {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => match this.decoder.as_mut() {
                        Some(d) => d.feed(data, &mut this.pending),
                        None => {
                            this.pending.push_back(data);
                            Ok(())
                        }
                    },
                    // HTTP trailers (not aws-chunked ones): nothing to check.
                    Err(_) => Ok(()),
                },
                Some(Err(e)) => Err(AuthError::IncompleteBody {
                    reason: format!("error reading the request body: {e}"),
                }),
                None => match this.complete() {
                    Ok(integrity) => {
                        this.phase = Phase::Finished(integrity);
                        return Poll::Ready(None);
                    }
                    Err(e) => Err(e),
                },
            };
            if let Err(e) = result {
                this.phase = Phase::Failed;
                this.pending.clear();
                return Poll::Ready(Some(Err(e)));
            }
        }
    }
}
