//! HTTP header conventions of S3: dates, ranges, conditional requests,
//! object attributes in and out of headers, `Content-MD5`.

use crate::http::error::ApiError;
use crate::http::vendor::Vendor;
use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use storage::{ObjectAttrs, ObjectMeta};

/// Total size of user metadata (names + values) S3 accepts.
pub const MAX_USER_META: usize = 2048;

/// `Sat, 21 Nov 2026 14:32:00 GMT` (RFC 7231 IMF-fixdate).
///
/// Written by hand: every GET and HEAD answers a `Last-Modified`, and
/// chrono's `format` parses its pattern anew on each call (3 % of a small
/// GET's CPU under load). Years outside 0..=9999 go through chrono.
pub fn http_date(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        // Before the epoch: whole seconds towards the past, as chrono does.
        Err(e) => {
            let d = e.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            -whole - i64::from(d.subsec_nanos() > 0)
        }
    };
    let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        let dt: chrono::DateTime<chrono::Utc> = t.into();
        return dt.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    }
    // `days` is 0 on a Thursday; rem_euclid keeps the index in 0..7.
    let weekday = DAYS[days.rem_euclid(7) as usize];
    let month = MONTHS[(month - 1) as usize];
    let (h, m, s) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
    // Byte by byte: every field has a fixed width (29 bytes in all).
    let mut out = String::with_capacity(29);
    let digits = |out: &mut String, n: i64, width: u32| {
        for i in (0..width).rev() {
            out.push(char::from(b'0' + (n / 10_i64.pow(i) % 10) as u8));
        }
    };
    out.push_str(weekday);
    out.push_str(", ");
    digits(&mut out, day, 2);
    out.push(' ');
    out.push_str(month);
    out.push(' ');
    digits(&mut out, year, 4);
    out.push(' ');
    digits(&mut out, h, 2);
    out.push(':');
    digits(&mut out, m, 2);
    out.push(':');
    digits(&mut out, s, 2);
    out.push_str(" GMT");
    out
}

/// The proleptic Gregorian (year, month 1..=12, day 1..=31) of a count of
/// days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses an HTTP date (IMF-fixdate, RFC 850 and asctime are rare enough in
/// S3 clients that RFC 2822 parsing, which accepts `GMT`, suffices; ISO 8601
/// is accepted too). `None` if unparsable: S3 then ignores the condition.
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    chrono::DateTime::parse_from_rfc2822(s)
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(s))
        .ok()
        .map(SystemTime::from)
}

/// Truncates to whole seconds: HTTP dates have no fractions, so comparisons
/// against a `Last-Modified` the client saw must ignore them.
fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The ETags of an `If-Match`-style list (`"a", W/"b", *`), without
/// quotes or weak markers; `*` stays `*`.
pub fn parse_etag_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(|t| {
            let t = t.trim();
            t.strip_prefix("W/")
                .unwrap_or(t)
                .trim_matches('"')
                .to_string()
        })
        .collect()
}

/// Whether an `If-Match`-style list (`"a", "b"`, `*`) contains the ETag.
pub fn etag_list_matches(list: &str, etag: &str) -> bool {
    parse_etag_list(list).iter().any(|t| t == "*" || t == etag)
}

/// `ETag: "<etag>"` on a response.
pub fn etag_header(h: &mut HeaderMap, etag: &str) {
    if let Some(v) = quoted_etag(etag) {
        h.insert(http::header::ETAG, v);
    }
}

/// The `ETag` header value of `etag`: quoted (`None` if not a valid value).
pub fn quoted_etag(etag: &str) -> Option<HeaderValue> {
    let mut quoted = String::with_capacity(etag.len() + 2);
    quoted.push('"');
    quoted.push_str(etag);
    quoted.push('"');
    HeaderValue::try_from(quoted).ok()
}

/// Why a conditional request does not proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionFailure {
    /// 304: only for GET/HEAD `If-None-Match` / `If-Modified-Since`.
    NotModified,
    /// 412.
    PreconditionFailed,
}

/// The four conditional headers, by name (plain or `x-amz-copy-source-`).
pub struct Conditions<'a> {
    if_match: Option<&'a str>,
    if_none_match: Option<&'a str>,
    if_modified_since: Option<&'a str>,
    if_unmodified_since: Option<&'a str>,
}

impl<'a> Conditions<'a> {
    /// `If-Match`, `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`.
    pub fn request(h: &'a HeaderMap) -> Self {
        Conditions {
            if_match: header(h, "if-match"),
            if_none_match: header(h, "if-none-match"),
            if_modified_since: header(h, "if-modified-since"),
            if_unmodified_since: header(h, "if-unmodified-since"),
        }
    }

    /// The `x-amz-copy-source-if-*` variants.
    pub fn copy_source(h: &'a HeaderMap) -> Self {
        Conditions {
            if_match: header(h, "x-amz-copy-source-if-match"),
            if_none_match: header(h, "x-amz-copy-source-if-none-match"),
            if_modified_since: header(h, "x-amz-copy-source-if-modified-since"),
            if_unmodified_since: header(h, "x-amz-copy-source-if-unmodified-since"),
        }
    }

    /// Whether the request carries none of the four conditions.
    pub fn is_unconditional(&self) -> bool {
        self.if_match.is_none()
            && self.if_none_match.is_none()
            && self.if_modified_since.is_none()
            && self.if_unmodified_since.is_none()
    }

    /// Evaluates with RFC 7232 §6 precedence, which is what S3 does: a true
    /// `If-Match` makes `If-Unmodified-Since` irrelevant, and a present
    /// `If-None-Match` makes `If-Modified-Since` irrelevant.
    pub fn evaluate(&self, etag: &str, last_modified: SystemTime) -> Result<(), ConditionFailure> {
        let lm = secs(last_modified);
        match self.if_match {
            Some(list) if !etag_list_matches(list, etag) => {
                return Err(ConditionFailure::PreconditionFailed)
            }
            Some(_) => {}
            None => {
                if let Some(t) = self.if_unmodified_since.and_then(parse_http_date) {
                    if lm > secs(t) {
                        return Err(ConditionFailure::PreconditionFailed);
                    }
                }
            }
        }
        match self.if_none_match {
            Some(list) if etag_list_matches(list, etag) => {
                return Err(ConditionFailure::NotModified)
            }
            Some(_) => {}
            None => {
                if let Some(t) = self.if_modified_since.and_then(parse_http_date) {
                    if lm <= secs(t) {
                        return Err(ConditionFailure::NotModified);
                    }
                }
            }
        }
        Ok(())
    }
}

/// What a `Range` header asks for, once resolved against the object size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range: serve the whole object with 200.
    Whole,
    /// Serve `start..=end` with 206.
    Part { start: u64, end: u64 },
    /// 416.
    Unsatisfiable,
}

/// Resolves a `Range` header against `size`. Syntactically invalid ranges
/// and multi-range requests are ignored (200 with the whole object), as S3
/// does; a well-formed range that selects nothing is unsatisfiable.
pub fn resolve_range(value: Option<&str>, size: u64) -> RangeRequest {
    let Some(v) = value else {
        return RangeRequest::Whole;
    };
    let Some(spec) = v.trim().strip_prefix("bytes=") else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        // Suffix: the last n bytes.
        let Ok(n) = b.parse::<u64>() else {
            return RangeRequest::Whole;
        };
        if n == 0 || size == 0 {
            return RangeRequest::Unsatisfiable;
        }
        let n = n.min(size);
        return RangeRequest::Part {
            start: size - n,
            end: size - 1,
        };
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangeRequest::Whole;
    };
    let end = if b.is_empty() {
        u64::MAX
    } else {
        match b.parse::<u64>() {
            Ok(e) if e >= start => e,
            _ => return RangeRequest::Whole,
        }
    };
    if start >= size {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Part {
        start,
        end: end.min(size - 1),
    }
}

/// `Content-MD5` as raw bytes; `InvalidDigest` unless it is base64 of 16 bytes.
pub fn content_md5(h: &HeaderMap) -> Result<Option<[u8; 16]>, ApiError> {
    let Some(v) = h.get("content-md5") else {
        return Ok(None);
    };
    let s = v.to_str().map_err(|_| ApiError::InvalidDigest)?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|_| ApiError::InvalidDigest)?;
    let arr: [u8; 16] = raw.try_into().map_err(|_| ApiError::InvalidDigest)?;
    Ok(Some(arr))
}

fn text_header(h: &HeaderMap, name: &str) -> Result<Option<String>, ApiError> {
    match h.get(name) {
        None => Ok(None),
        Some(v) => String::from_utf8(v.as_bytes().to_vec())
            .map(Some)
            .map_err(|_| ApiError::InvalidArgument("header", format!("{name} is not UTF-8"))),
    }
}

/// The object attributes a PutObject / CreateMultipartUpload / CopyObject
/// with REPLACE sets from its headers, its tags (`x-amz-tagging`)
/// included. `aws-chunked` is a transfer detail, not the object's
/// encoding, so it is removed from `Content-Encoding`.
pub fn attrs_from_headers(h: &HeaderMap) -> Result<ObjectAttrs, ApiError> {
    let (mut attrs, user_meta_bytes) = read_attrs(h)?;
    if user_meta_bytes > MAX_USER_META {
        return Err(ApiError::MetadataTooLarge);
    }
    attrs.tags = crate::http::tagging::from_header(h)?.unwrap_or_default();
    Ok(attrs)
}

/// The attributes an S3 answer (GET/HEAD of a backend's object) carries,
/// read by the same rules as a request's, without a request's size limit:
/// a stored object is not refused for its metadata.
pub fn stored_attrs_from_headers(h: &HeaderMap) -> Result<ObjectAttrs, ApiError> {
    Ok(read_attrs(h)?.0)
}

/// The attributes in `h`, and the bytes of user metadata (names and values).
fn read_attrs(h: &HeaderMap) -> Result<(ObjectAttrs, usize), ApiError> {
    let mut attrs = ObjectAttrs {
        content_type: text_header(h, "content-type")?,
        content_encoding: text_header(h, "content-encoding")?.and_then(|v| without_aws_chunked(&v)),
        content_disposition: text_header(h, "content-disposition")?,
        content_language: text_header(h, "content-language")?,
        cache_control: text_header(h, "cache-control")?,
        expires: text_header(h, "expires")?,
        ..Default::default()
    };
    let mut total = 0;
    for (name, value) in h {
        if let Some(meta) = name.as_str().strip_prefix("x-amz-meta-") {
            // UTF-8 as most SDKs send it; other bytes are read as
            // ISO-8859-1, as HTTP defines header octets (Python's
            // `http.client` sends a str that way).
            let v = match std::str::from_utf8(value.as_bytes()) {
                Ok(s) => s.to_string(),
                Err(_) => value.as_bytes().iter().map(|&b| char::from(b)).collect(),
            };
            total += meta.len() + v.len();
            // Repeated headers are joined with commas, as S3 does.
            attrs
                .user_meta
                .entry(meta.to_string())
                .and_modify(|e| {
                    e.push(',');
                    e.push_str(&v);
                })
                .or_insert(v);
        }
    }
    Ok((attrs, total))
}

/// `Content-Encoding` without the `aws-chunked` of a streaming upload (a
/// transfer detail, not the object's), the client's other values kept as
/// spelled; `None` when nothing else remains.
fn without_aws_chunked(v: &str) -> Option<String> {
    let kept: Vec<&str> = v
        .split(',')
        .filter(|t| !t.trim().eq_ignore_ascii_case("aws-chunked"))
        .collect();
    if kept.len() == v.split(',').count() {
        return Some(v.to_string());
    }
    let joined = kept.join(",");
    let joined = joined.trim();
    (!joined.is_empty()).then(|| joined.to_string())
}

/// Whether a header can carry `v` as sent: printable US-ASCII only.
pub fn is_printable_ascii(v: &str) -> bool {
    v.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// A header value as US-ASCII: unchanged when it is printable ASCII,
/// else its UTF-8 bytes as one RFC 2047 "Q" encoded word.
pub fn rfc2047(v: &str) -> std::borrow::Cow<'_, str> {
    if is_printable_ascii(v) {
        return std::borrow::Cow::Borrowed(v);
    }
    let mut out = String::from("=?UTF-8?Q?");
    for b in v.bytes() {
        match b {
            b' ' => out.push('_'),
            b'!'..=b'~' if !matches!(b, b'=' | b'?' | b'_') => out.push(char::from(b)),
            _ => out.push_str(&format!("={b:02X}")),
        }
    }
    out.push_str("?=");
    std::borrow::Cow::Owned(out)
}

fn set(h: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_bytes(value.as_bytes()),
    ) {
        h.insert(n, v);
    }
}

/// The `response-*` query overrides of GetObject/HeadObject.
#[derive(Debug, Default, Clone)]
pub struct ResponseOverrides {
    pairs: Vec<(&'static str, String)>,
}

impl ResponseOverrides {
    /// Picks the six `response-*` parameters from the query.
    pub fn from_query(q: &crate::http::names::RawQuery) -> Self {
        const MAP: &[(&str, &str)] = &[
            ("response-content-type", "content-type"),
            ("response-content-language", "content-language"),
            ("response-expires", "expires"),
            ("response-cache-control", "cache-control"),
            ("response-content-disposition", "content-disposition"),
            ("response-content-encoding", "content-encoding"),
        ];
        let pairs = MAP
            .iter()
            .filter_map(|(param, header)| q.get(param).map(|v| (*header, v.to_string())))
            .collect();
        ResponseOverrides { pairs }
    }
}

/// Writes an object's headers for GET/HEAD: ETag, Last-Modified, the stored
/// content headers (then the `response-*` overrides), user metadata, and the
/// stored checksums when the client asked with `x-amz-checksum-mode`.
///
/// `ascii_meta`: metadata values that HTTP cannot carry as US-ASCII text
/// (non-ASCII or control characters) are sent RFC 2047-encoded
/// (`=?UTF-8?Q?...?=`), as AWS does; the vendors' SDKs get them as stored.
pub fn object_headers(
    h: &mut HeaderMap,
    meta: &ObjectMeta,
    overrides: &ResponseOverrides,
    checksums: bool,
    ascii_meta: bool,
) {
    // The four every answer has, by their typed names (no name parsing).
    use http::header::{ACCEPT_RANGES, CONTENT_TYPE, LAST_MODIFIED};
    etag_header(h, &meta.etag);
    if let Ok(v) = HeaderValue::try_from(http_date(meta.last_modified)) {
        h.insert(LAST_MODIFIED, v);
    }
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let a = &meta.attrs;
    let content_type = a.content_type.as_deref().unwrap_or("binary/octet-stream");
    if let Ok(v) = HeaderValue::from_bytes(content_type.as_bytes()) {
        h.insert(CONTENT_TYPE, v);
    }
    for (name, v) in [
        ("content-encoding", &a.content_encoding),
        ("content-disposition", &a.content_disposition),
        ("content-language", &a.content_language),
        ("cache-control", &a.cache_control),
        ("expires", &a.expires),
    ] {
        if let Some(v) = v {
            set(h, name, v);
        }
    }
    for (name, v) in &overrides.pairs {
        set(h, name, v);
    }
    for (k, v) in &a.user_meta {
        let v = match ascii_meta {
            true => rfc2047(v),
            false => std::borrow::Cow::Borrowed(v.as_str()),
        };
        set(h, &format!("x-amz-meta-{k}"), &v);
    }
    if checksums {
        checksum_headers(h, &a.checksums);
    }
    if !a.tags.is_empty() {
        set(h, "x-amz-tagging-count", &a.tags.len().to_string());
    }
}

/// The whole-body CRC-64/XZ under the name the client's vendor uses
/// (`x-oss-hash-crc64ecma`, `x-cos-hash-crc64ecma`), as an unsigned decimal.
/// S3 has no such header, so AWS clients get none; nor does a ranged or
/// otherwise partial answer, whose bytes the value would not describe.
pub fn crc64_header(h: &mut HeaderMap, vendor: Vendor, crc: Option<u64>) {
    if let (Some(prefix), Some(crc)) = (vendor.prefix(), crc) {
        set(h, &format!("{prefix}hash-crc64ecma"), &crc.to_string());
    }
}

/// `x-amz-checksum-<alg>: <base64>` for each stored checksum.
pub fn checksum_headers(h: &mut HeaderMap, checksums: &std::collections::BTreeMap<String, String>) {
    for (alg, v) in checksums {
        set(
            h,
            &format!("x-amz-checksum-{}", alg.to_ascii_lowercase()),
            v,
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn http_date_matches_chrono_across_the_calendar() {
        let chrono_date = |t: SystemTime| {
            let dt: chrono::DateTime<chrono::Utc> = t.into();
            dt.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
        };
        assert_eq!(
            http_date(UNIX_EPOCH + Duration::from_secs(1_795_271_520)),
            "Sat, 21 Nov 2026 14:32:00 GMT"
        );
        // Every day from 1600 to 2400 at a varying time, leap days and
        // century years included, and a few instants before the epoch.
        let mut secs: i64 = -11_676_096_000;
        while secs < 13_569_465_600 {
            let t = match u64::try_from(secs) {
                Ok(s) => UNIX_EPOCH + Duration::from_secs(s),
                Err(_) => UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()),
            };
            assert_eq!(http_date(t), chrono_date(t), "{secs}");
            secs += 86_400 + 3_601;
        }
        for t in [
            UNIX_EPOCH - Duration::from_millis(1),
            UNIX_EPOCH - Duration::from_millis(1500),
            UNIX_EPOCH + Duration::from_millis(999),
        ] {
            assert_eq!(http_date(t), chrono_date(t));
        }
    }

    #[test]
    fn aws_chunked_leaves_the_other_encodings_as_spelled() {
        assert_eq!(without_aws_chunked("aws-chunked"), None);
        assert_eq!(
            without_aws_chunked("aws-chunked,gzip").as_deref(),
            Some("gzip")
        );
        assert_eq!(
            without_aws_chunked("aws-chunked, gzip").as_deref(),
            Some("gzip")
        );
        assert_eq!(
            without_aws_chunked("aws-chunked,gzip, br").as_deref(),
            Some("gzip, br")
        );
        assert_eq!(
            without_aws_chunked("gzip, aws-chunked").as_deref(),
            Some("gzip")
        );
        assert_eq!(
            without_aws_chunked("GZip ,  br").as_deref(),
            Some("GZip ,  br")
        );
    }

    #[test]
    fn metadata_values_go_out_as_ascii() {
        assert_eq!(rfc2047("plain value"), "plain value");
        assert_eq!(rfc2047("\u{4}mymeta"), "=?UTF-8?Q?=04mymeta?=");
        assert_eq!(rfc2047("é a=b"), "=?UTF-8?Q?=C3=A9_a=3Db?=");
    }

    #[test]
    fn ranges() {
        use RangeRequest::*;
        let cases = [
            (None, 10, Whole),
            (Some("bytes=0-4"), 10, Part { start: 0, end: 4 }),
            (Some("bytes=5-"), 10, Part { start: 5, end: 9 }),
            (Some("bytes=5-100"), 10, Part { start: 5, end: 9 }),
            (Some("bytes=-3"), 10, Part { start: 7, end: 9 }),
            (Some("bytes=-30"), 10, Part { start: 0, end: 9 }),
            (Some("bytes=-0"), 10, Unsatisfiable),
            (Some("bytes=10-"), 10, Unsatisfiable),
            (Some("bytes=0-"), 0, Unsatisfiable),
            (Some("bytes=5-2"), 10, Whole),
            (Some("bytes=a-b"), 10, Whole),
            (Some("items=0-1"), 10, Whole),
            (Some("bytes=0-1,3-4"), 10, Whole),
        ];
        for (h, size, want) in cases {
            assert_eq!(resolve_range(h, size), want, "{h:?}");
        }
    }

    #[test]
    fn condition_precedence() {
        let lm = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let before = http_date(lm - Duration::from_secs(10));
        let same = http_date(lm);
        let after = http_date(lm + Duration::from_secs(10));
        let eval = |pairs: &[(&str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(
                    HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            Conditions::request(&h).evaluate("abc", lm)
        };
        use ConditionFailure::*;
        assert_eq!(eval(&[]), Ok(()));
        assert_eq!(eval(&[("if-match", "\"abc\"")]), Ok(()));
        assert_eq!(eval(&[("if-match", "\"x\", \"abc\"")]), Ok(()));
        assert_eq!(eval(&[("if-match", "*")]), Ok(()));
        assert_eq!(eval(&[("if-match", "\"x\"")]), Err(PreconditionFailed));
        assert_eq!(
            eval(&[("if-unmodified-since", &before)]),
            Err(PreconditionFailed)
        );
        assert_eq!(eval(&[("if-unmodified-since", &same)]), Ok(()));
        // A true If-Match overrides a false If-Unmodified-Since.
        assert_eq!(
            eval(&[("if-match", "\"abc\""), ("if-unmodified-since", &before)]),
            Ok(())
        );
        assert_eq!(eval(&[("if-none-match", "\"abc\"")]), Err(NotModified));
        assert_eq!(eval(&[("if-none-match", "\"x\"")]), Ok(()));
        assert_eq!(eval(&[("if-modified-since", &same)]), Err(NotModified));
        assert_eq!(eval(&[("if-modified-since", &after)]), Err(NotModified));
        assert_eq!(eval(&[("if-modified-since", &before)]), Ok(()));
        // A false If-None-Match (different ETag) wins over If-Modified-Since.
        assert_eq!(
            eval(&[("if-none-match", "\"x\""), ("if-modified-since", &after)]),
            Ok(())
        );
        assert_eq!(eval(&[("if-modified-since", "garbage")]), Ok(()));
        // If-Match failure beats If-None-Match.
        assert_eq!(
            eval(&[("if-match", "\"x\""), ("if-none-match", "\"abc\"")]),
            Err(PreconditionFailed)
        );
    }

    #[test]
    fn attrs_strip_aws_chunked_and_collect_meta() {
        let mut h = HeaderMap::new();
        h.insert("content-encoding", "aws-chunked,gzip".parse().unwrap());
        h.insert("x-amz-meta-color", "blue".parse().unwrap());
        h.insert("content-type", "image/png".parse().unwrap());
        let a = attrs_from_headers(&h).unwrap();
        assert_eq!(a.content_encoding.as_deref(), Some("gzip"));
        assert_eq!(a.user_meta["color"], "blue");
        h.insert("content-encoding", "aws-chunked".parse().unwrap());
        assert_eq!(attrs_from_headers(&h).unwrap().content_encoding, None);
        h.insert("x-amz-meta-big", "x".repeat(3000).parse().unwrap());
        assert!(matches!(
            attrs_from_headers(&h),
            Err(ApiError::MetadataTooLarge)
        ));
    }

    #[test]
    fn md5_header() {
        let mut h = HeaderMap::new();
        assert_eq!(content_md5(&h).unwrap(), None);
        h.insert("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==".parse().unwrap());
        assert!(content_md5(&h).unwrap().is_some());
        h.insert("content-md5", "nope".parse().unwrap());
        assert!(matches!(content_md5(&h), Err(ApiError::InvalidDigest)));
    }

    #[test]
    fn http_dates_round_trip() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(http_date(t), "Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(parse_http_date(&http_date(t)), Some(t));
    }
}
