//! Small shared helpers: HMAC/SHA wrappers, constant-time comparison, the
//! AWS URI-encoding rules, query-string splitting and the date formats the
//! signature schemes use.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use std::time::{Duration, SystemTime};

/// HMAC-SHA256 of `data` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // `new_from_slice` only fails for algorithms with a fixed key length;
    // HMAC accepts any key length, so the fallback branch is unreachable.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; 32],
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA1 of `data` under `key`.
pub(crate) fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    let mut mac = match Hmac::<Sha1>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; 20],
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Lower-case hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha256(data))
}

/// Hex SHA-256 of the empty string, used in every chunk string-to-sign.
pub(crate) const EMPTY_SHA256_HEX: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Compares two byte strings without an early exit, so the time taken does
/// not reveal how many leading bytes of a guessed signature were right.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Decodes a hex signature of exactly 32 bytes (either case).
pub(crate) fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s.trim(), &mut out).ok()?;
    Some(out)
}

/// Percent-encodes per the SigV4 rules: everything except the unreserved
/// characters `A-Z a-z 0-9 - _ . ~` becomes `%XX` (upper-case hex); `/` is
/// kept as is when `keep_slash` (paths) and encoded otherwise (query).
pub(crate) fn aws_uri_encode(input: &[u8], keep_slash: bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(input.len() + input.len() / 2);
    for &b in input {
        let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
        if unreserved || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
    out
}

/// Decodes `%XX` escapes (invalid escapes are kept literally, as browsers
/// and most servers do). With `plus_as_space`, `+` decodes to a space
/// (form encoding, as query strings are usually treated).
pub(crate) fn percent_decode(input: &str, plus_as_space: bool) -> Vec<u8> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' && i + 2 < bytes.len() {
            let hi = (bytes[i + 1] as char).to_digit(16);
            let lo = (bytes[i + 2] as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if plus_as_space && b == b'+' { b' ' } else { b });
        i += 1;
    }
    out
}

/// One `name[=value]` element of a query string, raw and decoded.
#[derive(Debug, Clone)]
pub(crate) struct QueryParam {
    /// The decoded name (`+` as space).
    pub name: Vec<u8>,
    /// The decoded value (`+` as space); empty when there was no `=`.
    pub value: Vec<u8>,
}

impl QueryParam {
    /// The decoded name as text (lossy for invalid UTF-8).
    pub fn name_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.name)
    }
    /// The decoded value as text (lossy for invalid UTF-8).
    pub fn value_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.value)
    }
}

/// Splits a raw query string into its parameters, skipping empty elements.
pub(crate) fn parse_query(query: &str) -> Vec<QueryParam> {
    query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|elem| {
            let (raw_name, raw_value) = match elem.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (elem, None),
            };
            QueryParam {
                name: percent_decode(raw_name, true),
                value: raw_value
                    .map(|v| percent_decode(v, true))
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// The first parameter named exactly `name` (decoded comparison).
pub(crate) fn query_get<'q>(params: &'q [QueryParam], name: &str) -> Option<&'q QueryParam> {
    params.iter().find(|p| p.name == name.as_bytes())
}

/// Formats `t` as the SigV4 "ISO 8601 basic" timestamp `YYYYMMDDTHHMMSSZ`.
pub(crate) fn format_amz_date(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    dt.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Formats `t` as `YYYY-MM-DDTHH:MM:SSZ` (AWS's `<Expires>`/`<ServerTime>`).
pub(crate) fn format_iso8601_seconds(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    dt.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses a SigV4 `YYYYMMDDTHHMMSSZ` timestamp.
pub(crate) fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    if s.len() != 16 {
        return None;
    }
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ").ok()?;
    Some(naive.and_utc().into())
}

/// Parses an HTTP date (RFC 1123 / RFC 2822, e.g. `Fri, 24 May 2013
/// 00:00:00 GMT`), also accepting an ISO 8601 basic timestamp since some
/// clients put that in `x-amz-date` for SigV2.
pub(crate) fn parse_http_date(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc2822(s) {
        return Some(dt.with_timezone(&chrono::Utc).into());
    }
    parse_amz_date(s)
}

/// Formats `t` as an RFC 1123 HTTP date (`Fri, 24 May 2013 00:00:00 GMT`).
pub(crate) fn format_http_date(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    dt.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Seconds since the Unix epoch (0 for times before it).
#[cfg(test)]
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The absolute difference between two times.
pub(crate) fn abs_diff(a: SystemTime, b: SystemTime) -> Duration {
    match a.duration_since(b) {
        Ok(d) => d,
        Err(e) => e.duration(),
    }
}

/// Trims ASCII whitespace on both ends and collapses inner runs of
/// whitespace to one space, as SigV4 canonical header values require.
pub(crate) fn trim_all(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for word in value
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(word);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn uri_encoding_follows_aws_rules() {
        assert_eq!(
            aws_uri_encode(b"/test$file.text", true),
            "/test%24file.text"
        );
        assert_eq!(aws_uri_encode(b"a b/c~d", false), "a%20b%2Fc~d");
        assert_eq!(aws_uri_encode("é".as_bytes(), true), "%C3%A9");
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode("a%2Fb+c", true), b"a/b c");
        assert_eq!(percent_decode("a%2Fb+c", false), b"a/b+c");
        assert_eq!(percent_decode("100%", true), b"100%");
        assert_eq!(percent_decode("%zz%4", true), b"%zz%4");
        assert_eq!(percent_decode("%41", true), b"A");
    }

    #[test]
    fn dates() {
        let t = parse_amz_date("20130524T000000Z").unwrap();
        assert_eq!(unix_secs(t), 1_369_353_600);
        assert_eq!(format_amz_date(t), "20130524T000000Z");
        assert_eq!(parse_http_date("Fri, 24 May 2013 00:00:00 GMT"), Some(t));
        assert_eq!(format_http_date(t), "Fri, 24 May 2013 00:00:00 GMT");
        assert_eq!(parse_amz_date("2013-05-24T00:00:00Z"), None);
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn trim_all_collapses() {
        assert_eq!(trim_all(b"  a   b \t c  "), b"a b c");
        assert_eq!(trim_all(b""), b"");
    }
}
