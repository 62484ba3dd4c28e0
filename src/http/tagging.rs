//! Tag sets as S3 sends them: the `Tagging` XML document of
//! Put/GetObjectTagging and Put/GetBucketTagging, and the `x-amz-tagging` header of PutObject,
//! CopyObject (with `x-amz-tagging-directive: REPLACE`),
//! CreateMultipartUpload and form uploads (`tagging` field, XML). Both
//! are read into one checked map here, so nothing past this module sees
//! either syntax or an over-limit set.

use crate::http::error::ApiError;
use crate::http::names::RawQuery;
use crate::http::xml::{self, XmlWriter};
use http::HeaderMap;
use std::collections::BTreeMap;

/// S3's limits for a tag set: an object's, a bucket's.
pub const MAX_TAGS: usize = 10;
pub const MAX_BUCKET_TAGS: usize = 50;
const MAX_KEY_CHARS: usize = 128;
const MAX_VALUE_CHARS: usize = 256;

/// An object's or a bucket's tags, key → value, checked against S3's rules.
pub type TagSet = BTreeMap<String, String>;

/// What S3 allows in a tag: letters, digits and spaces of any script, and
/// `_ . : / = + - @`.
fn allowed(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

/// Which set a tag joins: its size limit and how S3 words going past it.
#[derive(Clone, Copy)]
struct Kind {
    max: usize,
    too_many: &'static str,
}

const OBJECT: Kind = Kind {
    max: MAX_TAGS,
    too_many: "Object tags cannot be greater than 10",
};
const BUCKET: Kind = Kind {
    max: MAX_BUCKET_TAGS,
    too_many: "Bucket tag count cannot be greater than 50",
};

/// Adds one tag, checking it and the set's size as S3 does.
fn add(tags: &mut TagSet, kind: Kind, key: String, value: String) -> Result<(), ApiError> {
    let invalid = |m: String| Err(ApiError::InvalidTag(m));
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || !key.chars().all(allowed) {
        return invalid(format!("The TagKey you have provided is invalid: {key:?}"));
    }
    if key.starts_with("aws:") {
        return invalid("Your TagKey cannot be prefixed with aws:".into());
    }
    if value.chars().count() > MAX_VALUE_CHARS || !value.chars().all(allowed) {
        return invalid(format!(
            "The TagValue you have provided is invalid: {value:?}"
        ));
    }
    if tags.contains_key(&key) {
        return invalid("Cannot provide multiple Tags with the same key".into());
    }
    if tags.len() == kind.max {
        return invalid(kind.too_many.into());
    }
    tags.insert(key, value);
    Ok(())
}

/// An object's tag set from a `<Tagging><TagSet><Tag><Key/><Value/></Tag>…` body.
pub fn from_xml(body: &[u8]) -> Result<TagSet, ApiError> {
    parse(body, OBJECT)
}

/// A bucket's tag set from the same document (up to 50 tags).
pub fn bucket_from_xml(body: &[u8]) -> Result<TagSet, ApiError> {
    parse(body, BUCKET)
}

fn parse(body: &[u8], kind: Kind) -> Result<TagSet, ApiError> {
    let root = xml::parse_root(body, "Tagging")?;
    let set = root
        .child("TagSet")
        .ok_or_else(|| ApiError::MalformedXml("<Tagging> without <TagSet>".into()))?;
    let mut tags = TagSet::new();
    for tag in set.children_named("Tag") {
        let (Some(key), Some(value)) = (tag.child("Key"), tag.child("Value")) else {
            return Err(ApiError::MalformedXml(
                "every <Tag> needs a <Key> and a <Value>".into(),
            ));
        };
        add(&mut tags, kind, key.text.clone(), value.text.clone())?;
    }
    Ok(tags)
}

/// The `Tagging` document of GetObjectTagging.
pub fn to_xml(x: &mut XmlWriter, tags: &TagSet) {
    x.open_root("Tagging");
    x.open_plain("TagSet");
    tag_elements(x, tags);
    x.close("TagSet");
    x.close("Tagging");
}

/// `<Tag><Key/><Value/></Tag>` for each pair (also a lifecycle filter's).
pub fn tag_elements<'a>(
    x: &mut XmlWriter,
    tags: impl IntoIterator<Item = (&'a String, &'a String)>,
) {
    for (key, value) in tags {
        x.open_plain("Tag");
        x.elem("Key", key);
        x.elem("Value", value);
        x.close("Tag");
    }
}

/// The tag set of an `x-amz-tagging` header, if sent: URL-encoded query
/// parameters (`k1=v1&k2=v2`, `+` for a space).
pub fn from_header(h: &HeaderMap) -> Result<Option<TagSet>, ApiError> {
    let Some(v) = h.get("x-amz-tagging") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::InvalidArgument(
            "x-amz-tagging",
            "the header must be URL-encoded query parameters (UTF-8) without a key twice".into(),
        )
    };
    let text = v.to_str().map_err(|_| bad())?;
    // Read as a query string is (`+` a space, UTF-8 checked).
    let pairs = RawQuery::parse(Some(text)).map_err(|_| bad())?;
    let mut tags = TagSet::new();
    for (key, value) in pairs.0 {
        if tags.contains_key(&key) {
            return Err(bad());
        }
        add(&mut tags, OBJECT, key, value.unwrap_or_default())?;
    }
    Ok(Some(tags))
}

/// `tags` as an `x-amz-tagging` value (a form upload's `tagging` field,
/// XML, is handed to the write path this way).
pub fn to_header_value(tags: &TagSet) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    tags.iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether a CopyObject's `x-amz-tagging-directive` asks for the request's
/// tags (`REPLACE`) rather than the source's (`COPY`, the default).
pub fn replace_directive(h: &HeaderMap) -> Result<bool, ApiError> {
    match h.get("x-amz-tagging-directive").map(|v| v.as_bytes()) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case(b"COPY") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case(b"REPLACE") => Ok(true),
        Some(_) => Err(ApiError::InvalidArgument(
            "x-amz-tagging-directive",
            "Unknown tagging directive (COPY or REPLACE)".into(),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn header(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-amz-tagging", HeaderValue::from_str(v).unwrap());
        h
    }

    fn doc(tags: &[(&str, &str)]) -> Vec<u8> {
        let mut s = String::from("<Tagging><TagSet>");
        for (k, v) in tags {
            s.push_str(&format!("<Tag><Key>{k}</Key><Value>{v}</Value></Tag>"));
        }
        s.push_str("</TagSet></Tagging>");
        s.into_bytes()
    }

    #[test]
    fn a_header_is_read_as_url_encoded_pairs() {
        let tags = from_header(&header("project=blue&owner=ann%20lee&empty=&note=a+b"))
            .unwrap()
            .unwrap();
        assert_eq!(tags["project"], "blue");
        assert_eq!(tags["owner"], "ann lee");
        assert_eq!(tags["empty"], "");
        assert_eq!(tags["note"], "a b");
        assert_eq!(from_header(&HeaderMap::new()).unwrap(), None);
        assert_eq!(from_header(&header("")).unwrap(), Some(TagSet::new()));
        let odd = TagSet::from([("a b+c".to_string(), "x=y/z@类+1".to_string())]);
        let back = from_header(&header(&to_header_value(&odd))).unwrap();
        assert_eq!(back, Some(odd));
    }

    #[test]
    fn a_header_with_a_key_twice_or_bad_encoding_is_an_invalid_argument() {
        for bad in ["a=1&a=2", "a=%FF", "a=%E4%B8"] {
            assert!(
                matches!(
                    from_header(&header(bad)),
                    Err(ApiError::InvalidArgument(..))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_document_is_read_with_its_unicode() {
        let tags = from_xml(&doc(&[("类别", "照片"), ("k", "")])).unwrap();
        assert_eq!(tags["类别"], "照片");
        assert_eq!(tags["k"], "");
        let mut x = XmlWriter::new();
        to_xml(&mut x, &tags);
        assert_eq!(from_xml(&x.finish()).unwrap(), tags);
    }

    #[test]
    fn s3s_limits_are_invalid_tags() {
        let eleven: Vec<(String, String)> = (0..11)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        let refs: Vec<(&str, &str)> = eleven
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let long_key = "k".repeat(129);
        let long_value = "v".repeat(257);
        for (what, body) in [
            ("eleven tags", doc(&refs)),
            ("a key twice", doc(&[("a", "1"), ("a", "2")])),
            ("an empty key", doc(&[("", "v")])),
            ("a 129-character key", doc(&[(&long_key, "v")])),
            ("a 257-character value", doc(&[("k", &long_value)])),
            ("the aws: prefix", doc(&[("aws:x", "v")])),
            ("a character S3 refuses", doc(&[("k", "a*b")])),
        ] {
            assert!(
                matches!(from_xml(&body), Err(ApiError::InvalidTag(_))),
                "{what}"
            );
        }
        assert!(from_xml(&doc(&refs[..10])).is_ok());
        assert!(bucket_from_xml(&doc(&refs)).is_ok());
        let fifty_one: Vec<(String, String)> = (0..51)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        let refs: Vec<(&str, &str)> = fifty_one
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert!(bucket_from_xml(&doc(&refs[..50])).is_ok());
        assert!(matches!(
            bucket_from_xml(&doc(&refs)),
            Err(ApiError::InvalidTag(m)) if m.contains("50")
        ));
        assert!(from_xml(&doc(&[(&long_key[..128], &long_value[..256])])).is_ok());
        assert!(matches!(
            from_header(&header("a=1&b=*")),
            Err(ApiError::InvalidTag(_))
        ));
    }

    #[test]
    fn a_document_without_its_parts_is_malformed() {
        for bad in [
            &b"<Tagging/>"[..],
            b"<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>",
            b"<Tags><TagSet/></Tags>",
            b"<Tagging><TagSet>",
        ] {
            assert!(matches!(from_xml(bad), Err(ApiError::MalformedXml(_))));
        }
        assert_eq!(
            from_xml(b"<Tagging><TagSet/></Tagging>").unwrap(),
            TagSet::new()
        );
    }

    #[test]
    fn the_directive_is_copy_unless_replace() {
        let mut h = HeaderMap::new();
        assert!(!replace_directive(&h).unwrap());
        h.insert(
            "x-amz-tagging-directive",
            HeaderValue::from_static("replace"),
        );
        assert!(replace_directive(&h).unwrap());
        h.insert("x-amz-tagging-directive", HeaderValue::from_static("COPY"));
        assert!(!replace_directive(&h).unwrap());
        h.insert("x-amz-tagging-directive", HeaderValue::from_static("MERGE"));
        assert!(replace_directive(&h).is_err());
    }
}
