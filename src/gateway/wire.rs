//! What crosses the wire to the backend: object attributes as S3 headers
//! and back, and the backend's XML results read into storage types.
//!
//! Attributes S3 has no header for (the CRC-64 the OSS and COS SDKs check,
//! the additional checksums a client sent, an object's own ACL and tag set) travel as user metadata
//! under the reserved `x-amz-meta-imgbucket-` prefix, which is stripped
//! from what clients see and refused in what they send.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use std::collections::BTreeMap;
use std::time::SystemTime;

use http::{HeaderMap, HeaderValue};
use storage::{
    Error, ListPage, MultipartUpload, ObjectAttrs, ObjectMeta, PartMeta, PartSpan, UploadsPage,
};

use crate::http::headers;
use crate::http::xml::{self, Element};

/// User-metadata names starting with this are the gateway's own.
pub const RESERVED_META: &str = "imgbucket-";
const CRC64_META: &str = "x-amz-meta-imgbucket-crc64";
const CHECKSUMS_META: &str = "x-amz-meta-imgbucket-checksums";
/// An object's own ACL, as JSON (canonical ids are hex: ASCII throughout).
const ACL_META: &str = "x-amz-meta-imgbucket-acl";
/// User metadata whose values are not printable ASCII (which S3 headers
/// cannot carry as sent), as base64 of a JSON map.
const TEXT_META: &str = "x-amz-meta-imgbucket-text";
/// An object's tag set, as base64 of a JSON map (tags may be any letter).
const TAGS_META: &str = "x-amz-meta-imgbucket-tags";

/// Reads one standard attribute.
type Getter = fn(&ObjectAttrs) -> Option<&String>;

/// The attributes S3 keeps as headers of their own.
const STANDARD: [(&str, Getter); 6] = [
    ("content-type", |a| a.content_type.as_ref()),
    ("content-encoding", |a| a.content_encoding.as_ref()),
    ("content-disposition", |a| a.content_disposition.as_ref()),
    ("content-language", |a| a.content_language.as_ref()),
    ("cache-control", |a| a.cache_control.as_ref()),
    ("expires", |a| a.expires.as_ref()),
];

fn insert(headers: &mut HeaderMap, name: &str, value: &str) -> Result<(), Error> {
    let name = http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|e| Error::Io(std::io::Error::other(format!("header {name}: {e}"))))?;
    let value = HeaderValue::from_str(value)
        .map_err(|e| Error::Io(std::io::Error::other(format!("header {name}: {e}"))))?;
    headers.insert(name, value);
    Ok(())
}

/// Adds `attrs` to a PutObject, CopyObject or CreateMultipartUpload.
pub fn attrs_to_headers(attrs: &ObjectAttrs, headers: &mut HeaderMap) -> Result<(), Error> {
    for (name, get) in STANDARD {
        if let Some(v) = get(attrs) {
            insert(headers, name, v)?;
        }
    }
    let mut text = BTreeMap::new();
    for (name, value) in &attrs.user_meta {
        if name.starts_with(RESERVED_META) {
            continue;
        }
        if headers::is_printable_ascii(value) {
            insert(headers, &format!("x-amz-meta-{name}"), value)?;
        } else {
            text.insert(name, value);
        }
    }
    if !text.is_empty() {
        insert(headers, TEXT_META, &base64_json(&text)?)?;
    }
    if !attrs.tags.is_empty() {
        insert(headers, TAGS_META, &base64_json(&attrs.tags)?)?;
    }
    if let Some(crc) = attrs.crc64_ecma {
        insert(headers, CRC64_META, &crc.to_string())?;
    }
    if !attrs.checksums.is_empty() {
        let list: Vec<String> = attrs
            .checksums
            .iter()
            .map(|(alg, v)| format!("{alg}:{v}"))
            .collect();
        insert(headers, CHECKSUMS_META, &list.join(" "))?;
    }
    if let Some(acl) = &attrs.acl {
        let json = serde_json::to_string(acl)
            .map_err(|e| Error::Io(std::io::Error::other(format!("object ACL: {e}"))))?;
        insert(headers, ACL_META, &json)?;
    }
    Ok(())
}

fn base64_json<T: serde::Serialize>(map: &T) -> Result<String, Error> {
    let json = serde_json::to_vec(map)
        .map_err(|e| Error::Io(std::io::Error::other(format!("metadata: {e}"))))?;
    Ok(BASE64.encode(json))
}

/// A map written by [`base64_json`]; `what` names it in the error.
fn map_from_base64_json(encoded: &str, what: &str) -> Result<BTreeMap<String, String>, Error> {
    BASE64
        .decode(encoded)
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or_else(|| Error::Corrupt(format!("the backend object's {what}")))
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The attributes stored with an object, from a GET or HEAD answer: read
/// as a request's are (`http::headers`), then the gateway's reserved
/// metadata taken back out of the user metadata.
pub fn attrs_from_headers(headers: &HeaderMap) -> Result<ObjectAttrs, Error> {
    let mut attrs = headers::stored_attrs_from_headers(headers)
        .map_err(|e| Error::Corrupt(format!("the backend's object headers: {e}")))?;
    attrs
        .user_meta
        .retain(|name, _| !name.starts_with(RESERVED_META));
    if let Some(encoded) = header_str(headers, TEXT_META) {
        attrs
            .user_meta
            .extend(map_from_base64_json(encoded, "text metadata")?);
    }
    if let Some(encoded) = header_str(headers, TAGS_META) {
        attrs.tags = map_from_base64_json(encoded, "tag set")?;
    }
    attrs.checksums = header_str(headers, CHECKSUMS_META)
        .map(|list| {
            list.split(' ')
                .filter_map(|pair| pair.split_once(':'))
                .map(|(a, v)| (a.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    attrs.crc64_ecma = header_str(headers, CRC64_META).and_then(|v| v.parse().ok());
    attrs.acl = header_str(headers, ACL_META)
        .map(|json| {
            serde_json::from_str(json)
                .map_err(|e| Error::Corrupt(format!("the backend object's ACL: {e}")))
        })
        .transpose()?;
    Ok(attrs)
}

/// An ETag without its quotes.
pub fn unquote(etag: &str) -> String {
    etag.trim().trim_matches('"').to_string()
}

/// `Last-Modified` as a time; `now` if absent or unreadable.
pub fn http_date(headers: &HeaderMap, name: &str) -> SystemTime {
    header_str(headers, name)
        .and_then(headers::parse_http_date)
        .unwrap_or_else(SystemTime::now)
}

fn iso_date(text: Option<&str>) -> SystemTime {
    text.and_then(|v| chrono::DateTime::parse_from_rfc3339(v).ok())
        .map(SystemTime::from)
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The object's metadata from a HEAD (or whole GET) answer; `size` is the
/// object's, which a ranged GET reports in `Content-Range`.
pub fn meta_from_headers(key: &str, headers: &HeaderMap) -> Result<ObjectMeta, Error> {
    let length = header_str(headers, "content-length").and_then(|v| v.parse().ok());
    let total = header_str(headers, "content-range")
        .and_then(|v| v.rsplit_once('/'))
        .and_then(|(_, t)| t.parse().ok());
    Ok(ObjectMeta {
        key: key.to_string(),
        size: total.or(length).unwrap_or(0),
        etag: header_str(headers, "etag").map(unquote).unwrap_or_default(),
        last_modified: http_date(headers, "last-modified"),
        attrs: attrs_from_headers(headers)?,
    })
}

/// Where a part lies, from a `HEAD ?partNumber=n` answer: its
/// `Content-Range` start and `Content-Length`, and the object's part count.
pub fn part_span_from_headers(headers: &HeaderMap, object_size: u64) -> PartSpan {
    let start = header_str(headers, "content-range")
        .and_then(|r| r.strip_prefix("bytes "))
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, _)| a.parse().ok())
        .unwrap_or(0);
    PartSpan {
        start,
        len: header_str(headers, "content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(object_size),
        parts_count: header_str(headers, "x-amz-mp-parts-count").and_then(|c| c.parse().ok()),
    }
}

fn parse(body: &[u8]) -> Result<Element, Error> {
    xml::parse(body).map_err(|e| Error::Corrupt(format!("the backend's XML: {e}")))
}

fn text_of(el: &Element, name: &str) -> String {
    el.child_text(name).unwrap_or_default().to_string()
}

fn truncated(el: &Element) -> bool {
    el.child_text("IsTruncated") == Some("true")
}

/// `ListAllMyBucketsResult` → (name, creation date).
pub fn buckets(body: &[u8]) -> Result<Vec<(String, SystemTime)>, Error> {
    let root = parse(body)?;
    let Some(list) = root.child("Buckets") else {
        return Ok(Vec::new());
    };
    Ok(list
        .children_named("Bucket")
        .map(|b| (text_of(b, "Name"), iso_date(b.child_text("CreationDate"))))
        .collect())
}

/// `ListBucketResult` (V2), with `encoding-type=url` keys decoded.
pub fn list_page(body: &[u8]) -> Result<ListPage, Error> {
    let root = parse(body)?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| Error::Corrupt("the backend listed a key that is not UTF-8".into()))
    };
    let mut objects = Vec::new();
    for c in root.children_named("Contents") {
        objects.push(ObjectMeta {
            key: decode(&text_of(c, "Key"))?,
            size: text_of(c, "Size").parse().unwrap_or(0),
            etag: unquote(&text_of(c, "ETag")),
            last_modified: iso_date(c.child_text("LastModified")),
            attrs: ObjectAttrs::default(),
        });
    }
    let mut common_prefixes = Vec::new();
    for p in root.children_named("CommonPrefixes") {
        common_prefixes.push(decode(&text_of(p, "Prefix"))?);
    }
    // The last entry returned, key or prefix, in key order.
    let next_after = objects
        .last()
        .map(|o| o.key.clone())
        .into_iter()
        .chain(common_prefixes.last().cloned())
        .max();
    Ok(ListPage {
        is_truncated: truncated(&root),
        next_after,
        objects,
        common_prefixes,
    })
}

/// `InitiateMultipartUploadResult` → the upload id.
pub fn upload_id(body: &[u8]) -> Result<String, Error> {
    let root = parse(body)?;
    root.child_text("UploadId")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| Error::Corrupt("the backend returned no UploadId".into()))
}

/// `ListPartsResult` → parts, whether truncated, the next marker.
pub fn parts(body: &[u8]) -> Result<(Vec<PartMeta>, bool, u32), Error> {
    let root = parse(body)?;
    let parts = root
        .children_named("Part")
        .map(|p| PartMeta {
            part_number: text_of(p, "PartNumber").parse().unwrap_or(0),
            size: text_of(p, "Size").parse().unwrap_or(0),
            etag: unquote(&text_of(p, "ETag")),
            last_modified: iso_date(p.child_text("LastModified")),
            checksums: BTreeMap::new(),
            crc64_ecma: None,
        })
        .collect();
    let next = text_of(&root, "NextPartNumberMarker").parse().unwrap_or(0);
    Ok((parts, truncated(&root), next))
}

/// One page of `ListMultipartUploadsResult`.
pub fn uploads(body: &[u8]) -> Result<UploadsPage, Error> {
    let root = parse(body)?;
    let nonempty = |s: String| (!s.is_empty()).then_some(s);
    Ok(UploadsPage {
        uploads: root
            .children_named("Upload")
            .map(|u| MultipartUpload {
                key: text_of(u, "Key"),
                upload_id: text_of(u, "UploadId"),
                initiated: iso_date(u.child_text("Initiated")),
                attrs: ObjectAttrs::default(),
            })
            .collect(),
        common_prefixes: root
            .children_named("CommonPrefixes")
            .map(|p| text_of(p, "Prefix"))
            .collect(),
        is_truncated: truncated(&root),
        next_key_marker: nonempty(text_of(&root, "NextKeyMarker")),
        next_upload_id_marker: nonempty(text_of(&root, "NextUploadIdMarker")),
    })
}

/// `CompleteMultipartUploadResult` → the ETag, or the error S3 may send
/// with a 200 status.
pub fn completed_etag(body: &[u8]) -> Result<Result<String, String>, Error> {
    let root = parse(body)?;
    if root.name == "Error" {
        return Ok(Err(text_of(&root, "Code")));
    }
    Ok(Ok(unquote(&text_of(&root, "ETag"))))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn attributes_survive_the_round_trip_and_reserved_names_stay_hidden() {
        let mut attrs = ObjectAttrs {
            content_type: Some("image/png".into()),
            cache_control: Some("max-age=60".into()),
            crc64_ecma: Some(u64::MAX),
            acl: Some(storage::ObjectAcl {
                owner: "ab12".into(),
                grants: vec![storage::Grant {
                    grantee: storage::Grantee::AllUsers,
                    permission: storage::Permission::Read,
                }],
            }),
            ..Default::default()
        };
        attrs.user_meta.insert("colour".into(), "blue".into());
        attrs.user_meta.insert("name".into(), "日本 é\u{4}".into());
        attrs.user_meta.insert("imgbucket-crc64".into(), "1".into());
        attrs.checksums.insert("crc32".into(), "AAAAAA==".into());
        attrs.checksums.insert(
            "sha256".into(),
            "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=".into(),
        );
        attrs.tags.insert("类别".into(), "a b=c".into());
        attrs.tags.insert("empty".into(), String::new());
        let mut h = HeaderMap::new();
        attrs_to_headers(&attrs, &mut h).unwrap();
        assert_eq!(
            h["x-amz-meta-imgbucket-crc64"],
            u64::MAX.to_string().as_str()
        );
        let back = attrs_from_headers(&h).unwrap();
        attrs.user_meta.remove("imgbucket-crc64");
        assert_eq!(back, attrs);
    }

    #[test]
    fn a_listing_resumes_after_its_last_key_or_prefix() {
        let body = br#"<?xml version="1.0"?><ListBucketResult>
            <IsTruncated>true</IsTruncated>
            <Contents><Key>a%20b</Key><Size>3</Size><ETag>"x"</ETag>
              <LastModified>2026-01-02T03:04:05.000Z</LastModified></Contents>
            <CommonPrefixes><Prefix>c/</Prefix></CommonPrefixes>
            </ListBucketResult>"#;
        let page = list_page(body).unwrap();
        assert_eq!(page.objects[0].key, "a b");
        assert_eq!(page.objects[0].etag, "x");
        assert_eq!(page.common_prefixes, ["c/"]);
        assert_eq!(page.next_after.as_deref(), Some("c/"));
        assert!(page.is_truncated);
    }
}
