//! `multipart/form-data` request bodies, read as S3's browser form upload
//! (POST Object) needs them: the fields before the file part in memory,
//! bounded, and the file part as a [`RequestBody`] of its own, streamed.
//!
//! A form upload's file may be gigabytes, so it is never buffered: the
//! reader keeps at most one delimiter's length of look-behind while it
//! hands the file's bytes on. Only the fields before the file are held,
//! up to a byte budget (S3's is 20 KiB, `MaxPostPreDataLengthExceeded`
//! past it). Fields after the file are read and dropped, as S3 ignores
//! them. The parser is ours rather than a crate's: it reads the verified
//! [`RequestBody`] directly, and every byte it buffers is counted against
//! a limit (a general-purpose parser buffers part headers and whatever the
//! connection has ready without one).

use crate::auth::Crc64Ecma;
use crate::http::body::{BodyDigest, BodySource, RequestBody};
use crate::http::error::ApiError;
use bytes::{Buf, Bytes, BytesMut};
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use std::task::{Context, Poll};

/// S3's limit on the bytes of a form before its file part (preamble,
/// delimiters, part headers and values together).
pub const MAX_FIELDS_BYTES: usize = 20 * 1024;

/// How much of the body after the file part is read (and ignored) before
/// the upload completes; beyond it, reading stops and the connection is
/// closed after the response, rather than reading an unbounded tail.
const MAX_TAIL_BYTES: usize = 64 * 1024;

/// A field of the form, before the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The name as sent (form field names are compared case-insensitively).
    pub name: String,
    /// The value, as UTF-8 text.
    pub value: String,
}

/// The file part: its announced name and type, and its bytes as a body.
#[derive(Debug)]
pub struct FilePart {
    /// `filename` of the part's `Content-Disposition`, if any.
    pub filename: Option<String>,
    /// The part's own `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The file's bytes, streamed from the request; it ends cleanly only
    /// if the part's closing delimiter arrived.
    pub body: RequestBody,
}

/// The fields of a form before its file part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    /// The fields before the file, in order.
    pub fields: Vec<Field>,
}

impl Form {
    /// The first field named `name`, compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.value.as_str())
    }
}

/// The boundary of a `multipart/form-data` request; `None` when the body
/// is of another type (S3 answers that with 412).
pub fn boundary(headers: &http::HeaderMap) -> Option<String> {
    let ct = headers.get(http::header::CONTENT_TYPE)?.to_str().ok()?;
    let mut parts = split_params(ct);
    let kind = parts.next()?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parts
        .filter_map(|p| param(p, "boundary"))
        .find(|b| !b.is_empty() && b.len() <= 70)
}

/// Reads the form up to the first part named `file` (any case), holding
/// at most `limit` bytes of what precedes it; the file is `None` if the
/// form ended without one.
pub async fn read_form(
    body: RequestBody,
    boundary: &str,
    limit: usize,
) -> Result<(Form, Option<FilePart>), ApiError> {
    let mut r = Reader {
        body,
        buf: BytesMut::new(),
        eof: false,
        consumed: 0,
        limit,
    };
    // The first delimiter has no CRLF before it; anything before it is a
    // preamble, which is ignored (and counted).
    let first = format!("--{boundary}");
    let at = r.find(first.as_bytes()).await?;
    r.advance(at + first.len());
    let delimiter = format!("\r\n--{boundary}");
    let mut fields = Vec::new();
    loop {
        // After a delimiter: `--` closes the form; else (transport
        // padding and) CRLF opens a part.
        r.want(2).await?;
        if r.buf.starts_with(b"--") {
            return Ok((Form { fields }, None));
        }
        let eol = r.find(b"\r\n").await?;
        if !r.buf[..eol].iter().all(|b| *b == b' ' || *b == b'\t') {
            return Err(ApiError::MalformedPostRequest);
        }
        r.advance(eol + 2);
        let head_len = r.find(b"\r\n\r\n").await?;
        let head = parse_part_head(&r.buf[..head_len])?;
        r.advance(head_len + 4);
        if head.name.eq_ignore_ascii_case("file") {
            let file = FileReader {
                body: r.body,
                buf: r.buf,
                delimiter: delimiter.into_bytes(),
                done: false,
            };
            let file = FilePart {
                filename: head.filename,
                content_type: head.content_type,
                body: RequestBody::new(FileSource::new(file)),
            };
            return Ok((Form { fields }, Some(file)));
        }
        let end = r.find(delimiter.as_bytes()).await?;
        let value =
            String::from_utf8(r.buf[..end].to_vec()).map_err(|_| ApiError::MalformedPostRequest)?;
        fields.push(Field {
            name: head.name,
            value,
        });
        r.advance(end + delimiter.len());
    }
}

/// The fields-before-the-file reader: a buffer over the body, and the
/// budget every byte it consumes or buffers is counted against.
struct Reader {
    body: RequestBody,
    buf: BytesMut,
    eof: bool,
    /// Bytes consumed so far.
    consumed: usize,
    limit: usize,
}

impl Reader {
    /// Appends the next chunk; a body that ends here is not a whole form.
    async fn fill(&mut self) -> Result<(), ApiError> {
        if self.eof {
            return Err(ApiError::MalformedPostRequest);
        }
        match self.body.next_chunk().await {
            Some(chunk) => {
                self.buf.extend_from_slice(&chunk?);
                Ok(())
            }
            None => {
                self.eof = true;
                Err(ApiError::MalformedPostRequest)
            }
        }
    }

    fn over_budget(&self, len: usize) -> bool {
        self.consumed + len > self.limit
    }

    /// The offset of `pattern` in the buffer, reading until it appears
    /// within the budget.
    async fn find(&mut self, pattern: &[u8]) -> Result<usize, ApiError> {
        loop {
            if let Some(at) = memmem(&self.buf, pattern) {
                if self.over_budget(at + pattern.len()) {
                    return Err(self.too_large());
                }
                return Ok(at);
            }
            if self.over_budget(self.buf.len()) {
                return Err(self.too_large());
            }
            self.fill().await?;
        }
    }

    /// Reads until at least `n` bytes are buffered.
    async fn want(&mut self, n: usize) -> Result<(), ApiError> {
        while self.buf.len() < n {
            self.fill().await?;
        }
        Ok(())
    }

    fn advance(&mut self, n: usize) {
        self.buf.advance(n);
        self.consumed += n;
    }

    fn too_large(&self) -> ApiError {
        ApiError::MaxPostPreDataLengthExceeded { limit: self.limit }
    }
}

/// What a part's headers say.
#[derive(Debug, PartialEq, Eq)]
struct PartHead {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
}

/// Parses a part's header lines: `Content-Disposition: form-data;
/// name="..."[; filename="..."]` (required) and `Content-Type`.
fn parse_part_head(raw: &[u8]) -> Result<PartHead, ApiError> {
    let text = std::str::from_utf8(raw).map_err(|_| ApiError::MalformedPostRequest)?;
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in text.split("\r\n") {
        let Some((h, v)) = line.split_once(':') else {
            return Err(ApiError::MalformedPostRequest);
        };
        let h = h.trim();
        if h.eq_ignore_ascii_case("content-disposition") {
            let mut params = split_params(v);
            if !params
                .next()
                .is_some_and(|d| d.trim().eq_ignore_ascii_case("form-data"))
            {
                return Err(ApiError::MalformedPostRequest);
            }
            for p in params {
                if let Some(n) = param(p, "name") {
                    name = Some(n);
                } else if let Some(f) = param(p, "filename") {
                    filename = Some(f);
                }
            }
        } else if h.eq_ignore_ascii_case("content-type") {
            content_type = Some(v.trim().to_string());
        }
    }
    Ok(PartHead {
        name: name.ok_or(ApiError::MalformedPostRequest)?,
        filename,
        content_type,
    })
}

/// Splits a header value at the `;` that are outside quotes.
fn split_params(v: &str) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    let mut escaped = false;
    v.split(move |c| {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        }
        c == ';' && !quoted
    })
}

/// The value of `name=value` or `name="value"` (case-insensitive name).
fn param(p: &str, name: &str) -> Option<String> {
    let (k, v) = p.split_once('=')?;
    if !k.trim().eq_ignore_ascii_case(name) {
        return None;
    }
    let v = v.trim();
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.extend(chars.next()),
                    c => out.push(c),
                }
            }
            Some(out)
        }
        None => Some(v.to_string()),
    }
}

fn memmem(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The file part's bytes: everything up to the next delimiter, with one
/// delimiter's length less one held back in case a delimiter straddles
/// two chunks.
struct FileReader {
    body: RequestBody,
    buf: BytesMut,
    /// `CRLF--boundary`.
    delimiter: Vec<u8>,
    done: bool,
}

impl FileReader {
    async fn next(&mut self) -> Option<Result<Bytes, ApiError>> {
        loop {
            if self.done {
                return None;
            }
            if let Some(at) = memmem(&self.buf, &self.delimiter) {
                let data = self.buf.split_to(at).freeze();
                self.buf.advance(self.delimiter.len());
                self.done = true;
                if let Err(e) = self.drain().await {
                    return Some(Err(e));
                }
                if data.is_empty() {
                    return None;
                }
                return Some(Ok(data));
            }
            let keep = self.delimiter.len() - 1;
            if self.buf.len() > keep {
                let n = self.buf.len() - keep;
                return Some(Ok(self.buf.split_to(n).freeze()));
            }
            match self.body.next_chunk().await {
                Some(Ok(chunk)) => self.buf.extend_from_slice(&chunk),
                Some(Err(e)) => return Some(Err(e)),
                // The body ended inside the file: a truncated upload.
                None => return Some(Err(ApiError::MalformedPostRequest)),
            }
        }
    }

    /// Reads what follows the file (fields S3 ignores, the closing
    /// delimiter), up to a bound, and lets the body's own checks speak.
    async fn drain(&mut self) -> Result<(), ApiError> {
        let mut seen = self.buf.len();
        self.buf.clear();
        while let Some(chunk) = self.body.next_chunk().await {
            seen += chunk?.len();
            if seen > MAX_TAIL_BYTES {
                return Ok(());
            }
        }
        self.body.finish().map(drop)
    }
}

/// The file part as a body source: its own CRC-64 (the request's covers
/// the whole form), and no client checksums (a form carries none).
struct FileSource {
    chunks: BoxStream<'static, Result<Bytes, ApiError>>,
    crc: Crc64Ecma,
}

impl FileSource {
    fn new(reader: FileReader) -> Self {
        let chunks = futures_util::stream::unfold(reader, |mut r| async move {
            r.next().await.map(|item| (item, r))
        })
        .boxed();
        FileSource {
            chunks,
            crc: Crc64Ecma::new(),
        }
    }
}

impl BodySource for FileSource {
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, ApiError>>> {
        let item = std::task::ready!(self.chunks.poll_next_unpin(cx));
        if let Some(Ok(chunk)) = &item {
            self.crc.update(chunk);
        }
        Poll::Ready(item)
    }

    fn finish(&mut self) -> Result<BodyDigest, ApiError> {
        Ok(BodyDigest {
            checksums: Default::default(),
            crc64_ecma: Some(std::mem::take(&mut self.crc).finalize()),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::http::body::Pieces;

    fn body_in(bytes: &[u8], piece: usize) -> RequestBody {
        let pieces = bytes
            .chunks(piece.max(1))
            .map(Bytes::copy_from_slice)
            .collect();
        RequestBody::new(Pieces(pieces))
    }

    fn form_bytes(fields: &[(&str, &str)], file: Option<(&str, &[u8])>, after: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in fields {
            out.extend_from_slice(
                format!("--XyZ\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                    .as_bytes(),
            );
        }
        if let Some((name, data)) = file {
            out.extend_from_slice(
                format!(
                    "--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"a \\\"b\\\".jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
                )
                .as_bytes(),
            );
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(after.as_bytes());
        out.extend_from_slice(b"--XyZ--\r\n");
        out
    }

    async fn read_all(mut body: RequestBody) -> Result<Vec<u8>, ApiError> {
        let mut out = Vec::new();
        while let Some(chunk) = body.next_chunk().await {
            out.extend_from_slice(&chunk?);
        }
        body.finish()?;
        Ok(out)
    }

    #[tokio::test]
    async fn fields_and_file_in_any_chunking() {
        // The file holds things that look almost like the delimiter.
        let data = b"\r\n--XyY\r\n--Xy\r\r\n-binary\x00\xff\r\n--X".repeat(50);
        let bytes = form_bytes(
            &[("key", "up/${filename}"), ("X-Amz-Meta-Tag", "A b")],
            Some(("File", &data)),
            "--XyZ\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nignored\r\n",
        );
        for piece in [1, 2, 3, 7, 13, 64, 1000, bytes.len()] {
            let (form, file) = read_form(body_in(&bytes, piece), "XyZ", MAX_FIELDS_BYTES)
                .await
                .unwrap();
            assert_eq!(form.get("KEY"), Some("up/${filename}"), "piece {piece}");
            assert_eq!(form.get("x-amz-meta-tag"), Some("A b"));
            assert_eq!(form.fields[1].name, "X-Amz-Meta-Tag");
            let file = file.unwrap();
            assert_eq!(file.filename.as_deref(), Some("a \"b\".jpg"));
            assert_eq!(file.content_type.as_deref(), Some("image/jpeg"));
            assert_eq!(read_all(file.body).await.unwrap(), data, "piece {piece}");
        }
    }

    #[tokio::test]
    async fn empty_file_and_no_file() {
        let bytes = form_bytes(&[("key", "k")], Some(("file", b"")), "");
        let (_, file) = read_form(body_in(&bytes, 5), "XyZ", MAX_FIELDS_BYTES)
            .await
            .unwrap();
        assert!(read_all(file.unwrap().body).await.unwrap().is_empty());
        let bytes = form_bytes(&[("key", "k")], None, "");
        let (form, file) = read_form(body_in(&bytes, 5), "XyZ", MAX_FIELDS_BYTES)
            .await
            .unwrap();
        assert!(file.is_none());
        assert_eq!(form.get("key"), Some("k"));
    }

    #[tokio::test]
    async fn oversize_fields_are_refused_without_reading_on() {
        let big = "v".repeat(MAX_FIELDS_BYTES);
        let bytes = form_bytes(&[("policy", &big)], Some(("file", b"x")), "");
        let e = read_form(body_in(&bytes, 4096), "XyZ", MAX_FIELDS_BYTES)
            .await
            .unwrap_err();
        assert!(
            matches!(e, ApiError::MaxPostPreDataLengthExceeded { .. }),
            "{e:?}"
        );
        // A part header that never ends is bounded too.
        let mut endless = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"".to_vec();
        endless.extend(std::iter::repeat_n(b'x', 3 * MAX_FIELDS_BYTES));
        let e = read_form(body_in(&endless, 100), "XyZ", MAX_FIELDS_BYTES)
            .await
            .unwrap_err();
        assert!(
            matches!(e, ApiError::MaxPostPreDataLengthExceeded { .. }),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn truncated_bodies_are_malformed() {
        let bytes = form_bytes(&[("key", "k")], Some(("file", b"0123456789")), "");
        // Cut inside the file: the file body fails rather than ending.
        let cut = &bytes[..bytes.len() - 20];
        let (_, file) = read_form(body_in(cut, 3), "XyZ", MAX_FIELDS_BYTES)
            .await
            .unwrap();
        let e = read_all(file.unwrap().body).await.unwrap_err();
        assert!(matches!(e, ApiError::MalformedPostRequest), "{e:?}");
        // Cut inside a field.
        let e = read_form(body_in(&bytes[..30], 3), "XyZ", MAX_FIELDS_BYTES)
            .await
            .unwrap_err();
        assert!(matches!(e, ApiError::MalformedPostRequest), "{e:?}");
        // A part without a name.
        let raw = b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nv\r\n--XyZ--";
        let e = read_form(body_in(raw, 100), "XyZ", MAX_FIELDS_BYTES)
            .await
            .unwrap_err();
        assert!(matches!(e, ApiError::MalformedPostRequest), "{e:?}");
    }

    #[test]
    fn boundaries_from_content_type() {
        let h = |v: &str| {
            let mut m = http::HeaderMap::new();
            m.insert(http::header::CONTENT_TYPE, v.parse().unwrap());
            boundary(&m)
        };
        assert_eq!(
            h("multipart/form-data; boundary=----WebKitFormBoundaryX"),
            Some("----WebKitFormBoundaryX".into())
        );
        assert_eq!(
            h("Multipart/Form-Data;charset=utf-8; Boundary=\"a;b\""),
            Some("a;b".into())
        );
        assert_eq!(h("application/x-www-form-urlencoded"), None);
        assert_eq!(h("multipart/form-data"), None);
        assert_eq!(boundary(&http::HeaderMap::new()), None);
    }
}
