//! A streaming decoder for `Content-Encoding: aws-chunked` bodies.
//!
//! Wire format (signed variant; unsigned chunks have no `;chunk-signature`):
//!
//! ```text
//! <hex size>;chunk-signature=<64 hex>\r\n<size bytes>\r\n     (repeated)
//! 0;chunk-signature=<64 hex>\r\n                               (final chunk)
//! <name>:<value>\r\n ... [x-amz-trailer-signature:<hex>\r\n]  (trailers, optional)
//! \r\n
//! ```
//!
//! The decoder is a byte-level state machine: input frames may split the
//! framing anywhere (even one byte at a time). Data bytes are passed through
//! as zero-copy slices of the input; only the current size line or trailer
//! line is buffered, and that buffer is bounded by [`BodyLimits`].

use std::collections::VecDeque;

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

use super::body::BodyLimits;
use super::sigv4::ChunkSigner;
use super::util;
use super::AuthError;

/// One trailer header, name lower-cased, value trimmed.
pub(crate) type Trailer = (String, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a `<hex size>[;ext]\r\n` line.
    SizeLine,
    /// Inside chunk data, this many bytes to go.
    Data { remaining: u64 },
    /// Expecting the `\r` after chunk data.
    DataCr,
    /// Expecting the `\n` after chunk data.
    DataLf,
    /// After the final chunk: reading trailer lines up to the empty line.
    Trailers,
    /// The body is complete; nothing more may follow.
    Done,
}

/// Decodes aws-chunked framing, verifying chunk signatures when a
/// [`ChunkSigner`] is given.
pub(crate) struct ChunkDecoder {
    state: State,
    line: Vec<u8>,
    signer: Option<ChunkSigner>,
    /// Whether a trailer section may follow the final chunk.
    trailers_allowed: bool,
    /// Running SHA-256 of the current chunk's data (signed mode only).
    chunk_hash: Option<Sha256>,
    /// The signature announced on the current chunk's size line.
    chunk_signature: Option<[u8; 32]>,
    chunk_index: u64,
    trailers: Vec<Trailer>,
    trailer_signature: Option<String>,
    trailer_bytes: usize,
    limits: BodyLimits,
    /// Offset in the (encoded) body, for error messages.
    offset: u64,
}

impl ChunkDecoder {
    pub fn new(signer: Option<ChunkSigner>, trailers_allowed: bool, limits: BodyLimits) -> Self {
        ChunkDecoder {
            state: State::SizeLine,
            line: Vec::new(),
            signer,
            trailers_allowed,
            chunk_hash: None,
            chunk_signature: None,
            chunk_index: 0,
            trailers: Vec::new(),
            trailer_signature: None,
            trailer_bytes: 0,
            limits,
            offset: 0,
        }
    }

    fn malformed(&self, what: &str) -> AuthError {
        AuthError::MalformedChunkedEncoding {
            reason: format!(
                "{what} (chunk {}, byte offset {})",
                self.chunk_index, self.offset
            ),
        }
    }

    /// Consumes `input`, appending decoded data slices to `out`.
    pub fn feed(&mut self, input: Bytes, out: &mut VecDeque<Bytes>) -> Result<(), AuthError> {
        let mut pos = 0usize;
        while pos < input.len() {
            match self.state {
                State::SizeLine | State::Trailers => {
                    let limit = if self.state == State::SizeLine {
                        self.limits.max_chunk_line
                    } else {
                        self.limits.max_trailer_section
                    };
                    let rest = &input[pos..];
                    let (take, complete) = match rest.iter().position(|&b| b == b'\n') {
                        Some(i) => (i + 1, true),
                        None => (rest.len(), false),
                    };
                    let budget_used = if self.state == State::Trailers {
                        self.trailer_bytes + self.line.len() + take
                    } else {
                        self.line.len() + take
                    };
                    if budget_used > limit {
                        let what = if self.state == State::SizeLine {
                            format!("chunk size line longer than {limit} bytes")
                        } else {
                            format!("trailer section longer than {limit} bytes")
                        };
                        return Err(self.malformed(&what));
                    }
                    self.line.extend_from_slice(&rest[..take]);
                    pos += take;
                    self.offset += take as u64;
                    if complete {
                        let line = std::mem::take(&mut self.line);
                        if self.state == State::SizeLine {
                            self.size_line(&line)?;
                        } else {
                            self.trailer_bytes += line.len();
                            self.trailer_line(&line)?;
                        }
                    }
                }
                State::Data { remaining } => {
                    let avail = (input.len() - pos) as u64;
                    let n = remaining.min(avail) as usize;
                    let piece = input.slice(pos..pos + n);
                    if let Some(h) = self.chunk_hash.as_mut() {
                        h.update(&piece);
                    }
                    out.push_back(piece);
                    pos += n;
                    self.offset += n as u64;
                    let remaining = remaining - n as u64;
                    self.state = if remaining == 0 {
                        State::DataCr
                    } else {
                        State::Data { remaining }
                    };
                }
                State::DataCr | State::DataLf => {
                    let expected = if self.state == State::DataCr {
                        b'\r'
                    } else {
                        b'\n'
                    };
                    if input[pos] != expected {
                        return Err(self.malformed("chunk data not followed by CRLF"));
                    }
                    pos += 1;
                    self.offset += 1;
                    if self.state == State::DataCr {
                        self.state = State::DataLf;
                    } else {
                        self.end_of_chunk()?;
                        self.state = State::SizeLine;
                    }
                }
                State::Done => {
                    return Err(self.malformed("data after the end of the aws-chunked body"));
                }
            }
        }
        Ok(())
    }

    /// Handles a complete size line (with its `\r\n`).
    fn size_line(&mut self, line: &[u8]) -> Result<(), AuthError> {
        let Some(line) = line.strip_suffix(b"\r\n") else {
            return Err(self.malformed("chunk size line not terminated by CRLF"));
        };
        let mut fields = line.split(|&b| b == b';');
        let size_field = fields.next().unwrap_or_default();
        if size_field.is_empty()
            || size_field.len() > 16
            || !size_field.iter().all(u8::is_ascii_hexdigit)
        {
            return Err(self.malformed("invalid chunk size"));
        }
        // At most 16 hex digits, so it fits in a u64.
        let size = size_field.iter().fold(0u64, |acc, &b| {
            (acc << 4) | u64::from((b as char).to_digit(16).unwrap_or(0))
        });
        let mut signature = None;
        for ext in fields {
            if let Some(sig) = ext.strip_prefix(b"chunk-signature=") {
                let sig = std::str::from_utf8(sig)
                    .ok()
                    .filter(|s| s.len() == 64)
                    .and_then(util::parse_hex32)
                    .ok_or_else(|| self.malformed("invalid chunk-signature"))?;
                signature = Some(sig);
            }
        }
        if self.signer.is_some() {
            if signature.is_none() {
                return Err(self.malformed("missing chunk-signature"));
            }
            self.chunk_signature = signature;
            self.chunk_hash = Some(Sha256::new());
        }
        if size > self.limits.max_chunk_size {
            return Err(AuthError::ChunkTooLarge {
                size,
                limit: self.limits.max_chunk_size,
            });
        }
        if size == 0 {
            // The final chunk: its (empty) data is already complete.
            self.end_of_chunk()?;
            self.state = State::Trailers;
        } else {
            self.state = State::Data { remaining: size };
        }
        Ok(())
    }

    /// Verifies the signature of the chunk that just ended (signed mode).
    fn end_of_chunk(&mut self) -> Result<(), AuthError> {
        if let (Some(signer), Some(hash), Some(provided)) = (
            self.signer.as_mut(),
            self.chunk_hash.take(),
            self.chunk_signature.take(),
        ) {
            let digest: [u8; 32] = hash.finalize().into();
            let expected = signer.chunk_signature(&digest);
            if !util::ct_eq(&expected, &provided) {
                return Err(AuthError::ChunkSignatureMismatch {
                    chunk_index: self.chunk_index,
                });
            }
            signer.advance(expected);
        }
        self.chunk_index += 1;
        Ok(())
    }

    /// Handles a complete trailer line (with its `\r\n`).
    fn trailer_line(&mut self, line: &[u8]) -> Result<(), AuthError> {
        let Some(line) = line.strip_suffix(b"\r\n") else {
            return Err(self.malformed("trailer line not terminated by CRLF"));
        };
        if line.is_empty() {
            self.end_of_trailers()?;
            self.state = State::Done;
            return Ok(());
        }
        if !self.trailers_allowed {
            return Err(AuthError::MalformedTrailer {
                reason: "trailer sent but x-amz-content-sha256 announces none".to_owned(),
            });
        }
        if self.trailer_signature.is_some() {
            return Err(AuthError::MalformedTrailer {
                reason: "trailer after x-amz-trailer-signature".to_owned(),
            });
        }
        let text = std::str::from_utf8(line).map_err(|_| AuthError::MalformedTrailer {
            reason: "trailer is not UTF-8".to_owned(),
        })?;
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| AuthError::MalformedTrailer {
                reason: format!("trailer line {text:?} is not name:value"),
            })?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim().to_owned();
        if name.is_empty() {
            return Err(AuthError::MalformedTrailer {
                reason: "empty trailer name".to_owned(),
            });
        }
        if name == "x-amz-trailer-signature" {
            self.trailer_signature = Some(value);
        } else {
            self.trailers.push((name, value));
        }
        Ok(())
    }

    /// Verifies the trailer signature (signed-trailer mode).
    fn end_of_trailers(&mut self) -> Result<(), AuthError> {
        let Some(signer) = self.signer.as_ref() else {
            return Ok(());
        };
        if !self.trailers_allowed {
            return Ok(());
        }
        let provided = self
            .trailer_signature
            .as_deref()
            .filter(|s| s.len() == 64)
            .and_then(util::parse_hex32)
            .ok_or_else(|| AuthError::MalformedTrailer {
                reason: "missing or invalid x-amz-trailer-signature".to_owned(),
            })?;
        let mut canonical = Vec::new();
        for (name, value) in &self.trailers {
            canonical.extend_from_slice(name.as_bytes());
            canonical.push(b':');
            canonical.extend_from_slice(value.as_bytes());
            canonical.push(b'\n');
        }
        let expected = signer.trailer_signature(&canonical);
        if !util::ct_eq(&expected, &provided) {
            return Err(AuthError::ChunkSignatureMismatch {
                chunk_index: self.chunk_index,
            });
        }
        Ok(())
    }

    /// Called at the end of the input: the framing must be complete. Returns
    /// the trailers.
    pub fn finish(&mut self) -> Result<Vec<Trailer>, AuthError> {
        match self.state {
            State::Done => {}
            // Some clients omit the final empty line after the trailers;
            // everything before it was complete, so accept the body.
            State::Trailers if self.line.is_empty() => {
                self.end_of_trailers()?;
                self.state = State::Done;
            }
            State::Data { remaining } => {
                return Err(AuthError::IncompleteBody {
                    reason: format!(
                        "the body ended {remaining} bytes before the end of chunk {}",
                        self.chunk_index
                    ),
                })
            }
            _ => {
                return Err(AuthError::IncompleteBody {
                    reason: format!(
                        "the aws-chunked body ended without its final chunk (at chunk {})",
                        self.chunk_index
                    ),
                })
            }
        }
        Ok(std::mem::take(&mut self.trailers))
    }
}
