//! Versioned metadata records and their single decoding entry point.
//!
//! Every record is JSON carrying `"v"`, its format version. Reading always
//! goes through [`decode`], which dispatches on that version: when a record
//! format changes, bump [`Record::VERSION`], keep the old struct in a module
//! of its own, and convert it in [`Record::migrate`]; records on disk are then
//! upgraded lazily as they are read (Garage `util/migrate.rs`). Writing always
//! uses the current version.
//!
//! A record may carry raw bytes after its JSON, behind a NUL byte (which
//! JSON text never contains): an object's inline body ([`Record::trailer`]).
//! Stores written before layout 2 kept that body in the JSON as base64,
//! which a small GET paid for in base64 decoding and in scanning a 5.5 KB
//! JSON string; such records still read.

use crate::error::{Error, Result};
use crate::types::{CannedAcl, ObjectAttrs};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A record type stored in the metadata database.
pub(crate) trait Record: Serialize + DeserializeOwned {
    /// The version written today.
    const VERSION: u32;
    /// What the record is, for error messages.
    const WHAT: &'static str;
    /// The version this record was decoded as (its `v`).
    fn version(&self) -> u32;
    /// Raw bytes stored after the JSON (see the module doc); none by default.
    fn trailer(&self) -> Option<&[u8]> {
        None
    }
    /// Takes the raw bytes found after the JSON. A record type without a
    /// trailer refuses them.
    fn set_trailer(&mut self, _bytes: Bytes) -> Result<()> {
        Err(Error::Corrupt(format!(
            "{} record has trailing bytes",
            Self::WHAT
        )))
    }
    /// Decodes a record written with an older version `v`. No older versions
    /// exist yet, so every type refuses.
    fn migrate(v: u32, _bytes: &[u8]) -> Result<Self> {
        Err(Error::Corrupt(format!(
            "{} record has unknown version {v}",
            Self::WHAT
        )))
    }
}

/// Only the version marker, read first to pick the decoder.
#[derive(Deserialize)]
struct Header {
    v: u32,
}

/// Decodes any version of a record (the one entry point for reading).
///
/// A record of the current version, nearly every one, is parsed once: the
/// version is checked on the result. Only when that fails is the version
/// read alone, to pick a migration. (Reading the version first would scan
/// every record twice, and an object's record may carry a 5 KB inline
/// body: on a small GET that second scan was a tenth of the server's
/// user time.)
pub(crate) fn decode<T: Record>(bytes: &[u8]) -> Result<T> {
    decode_with(bytes, Bytes::copy_from_slice)
}

/// [`decode`], the trailer (an inline body) sharing `bytes` instead of
/// being copied out of it.
pub(crate) fn decode_shared<T: Record>(bytes: &Bytes) -> Result<T> {
    decode_with(bytes, |trailer| bytes.slice_ref(trailer))
}

fn decode_with<T: Record>(bytes: &[u8], own: impl FnOnce(&[u8]) -> Bytes) -> Result<T> {
    let (json, trailer) = match bytes.iter().position(|&b| b == 0) {
        Some(nul) => (&bytes[..nul], Some(&bytes[nul + 1..])),
        None => (bytes, None),
    };
    let mut record = decode_json::<T>(json)?;
    if let Some(trailer) = trailer {
        record.set_trailer(own(trailer))?;
    }
    Ok(record)
}

fn decode_json<T: Record>(bytes: &[u8]) -> Result<T> {
    if let Ok(record) = serde_json::from_slice::<T>(bytes) {
        if record.version() == T::VERSION {
            return Ok(record);
        }
    }
    let header: Header = serde_json::from_slice(bytes)
        .map_err(|e| Error::Corrupt(format!("{} record: {e}", T::WHAT)))?;
    if header.v == T::VERSION {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::Corrupt(format!("{} record: {e}", T::WHAT)))
    } else {
        T::migrate(header.v, bytes)
    }
}

/// Encodes a record (always the current version; `v` is set by the type's
/// constructor).
pub(crate) fn encode<T: Record>(record: &T) -> Vec<u8> {
    // Serializing plain structs of strings, integers and maps cannot fail.
    let mut out = serde_json::to_vec(record).unwrap_or_default();
    if let Some(trailer) = record.trailer() {
        out.reserve_exact(1 + trailer.len());
        out.push(0);
        out.extend_from_slice(trailer);
    }
    out
}

/// Nanoseconds since the Unix epoch (u64 lasts until 2554).
pub(crate) fn to_ns(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

pub(crate) fn from_ns(ns: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(ns)
}

/// A bucket (`Space::Buckets`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BucketRec {
    pub v: u32,
    pub created_ns: u64,
    pub acl: CannedAcl,
    /// Absent from records written before there were users: the admin's.
    #[serde(default)]
    pub owner: String,
}

impl Record for BucketRec {
    const VERSION: u32 = 1;
    const WHAT: &'static str = "bucket";
    fn version(&self) -> u32 {
        self.v
    }
}

/// One data file holding a contiguous piece of an object's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Segment {
    /// The data file's id (see `embedded::data_path`).
    pub id: String,
    pub size: u64,
}

/// An object's current version (`Space::Objects`). Its bytes are `inline`
/// if set, else the concatenation of `segments` (none for an empty object,
/// one for a simple PUT, one per part for a completed multipart upload).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ObjectRec {
    pub v: u32,
    pub size: u64,
    pub etag: String,
    pub mtime_ns: u64,
    pub attrs: ObjectAttrs,
    pub segments: Vec<Segment>,
    /// The body of a small object as base64, in records written before
    /// layout 2; never written now (see `body`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
    /// The body of a small object, kept in the record itself (as its
    /// trailer) so that a small PUT costs one metadata fsync instead of
    /// three.
    #[serde(skip)]
    pub body: Option<Bytes>,
}

impl ObjectRec {
    /// True when the object's bytes are in its record.
    pub fn is_inline(&self) -> bool {
        self.body.is_some() || self.inline.is_some()
    }

    /// Takes the inline body out of the record, if the object has one: the
    /// read path hands it on without another copy.
    pub fn take_inline(&mut self) -> Result<Option<Bytes>> {
        match self.body.take() {
            Some(body) => Ok(Some(body)),
            None => Ok(self.inline_bytes()?.map(|b| Bytes::from(b.into_owned()))),
        }
    }

    /// The inline body, if the object has one.
    pub fn inline_bytes(&self) -> Result<Option<Cow<'_, [u8]>>> {
        use base64::Engine;
        match (&self.body, &self.inline) {
            (Some(body), _) => Ok(Some(Cow::Borrowed(body))),
            (None, None) => Ok(None),
            (None, Some(b64)) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map(|b| Some(Cow::Owned(b)))
                .map_err(|_| Error::Corrupt("inline object body is not base64".into())),
        }
    }
}

impl Record for ObjectRec {
    const VERSION: u32 = 1;
    const WHAT: &'static str = "object";
    fn version(&self) -> u32 {
        self.v
    }
    fn trailer(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }
    fn set_trailer(&mut self, bytes: Bytes) -> Result<()> {
        if self.inline.is_some() {
            return Err(Error::Corrupt("object record has two inline bodies".into()));
        }
        self.body = Some(bytes);
        Ok(())
    }
}

/// An in-progress multipart upload (`Space::Uploads`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UploadRec {
    pub v: u32,
    pub key: String,
    pub upload_id: String,
    pub initiated_ns: u64,
    pub attrs: ObjectAttrs,
}

impl Record for UploadRec {
    const VERSION: u32 = 1;
    const WHAT: &'static str = "upload";
    fn version(&self) -> u32 {
        self.v
    }
}

/// One uploaded part (`Space::Parts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PartRec {
    pub v: u32,
    pub size: u64,
    /// Hex MD5 of the part.
    pub etag: String,
    pub mtime_ns: u64,
    pub checksums: BTreeMap<String, String>,
    /// CRC-64/XZ of the part, when the writer computed it (records written
    /// before it existed have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc64_ecma: Option<u64>,
    /// The data file; `None` for an empty part.
    pub file: Option<String>,
}

impl Record for PartRec {
    const VERSION: u32 = 1;
    const WHAT: &'static str = "part";
    fn version(&self) -> u32 {
        self.v
    }
}

/// The store-wide layout marker (`Space::System`, key `layout`), checked on
/// open so that a future incompatible layout is refused rather than misread.
/// Layout 2 added record trailers (module doc), which an older binary would
/// read as corrupt records: it refuses the whole store instead. A layout 1
/// store is upgraded on open, as its records all still read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LayoutRec {
    pub v: u32,
}

impl Record for LayoutRec {
    const VERSION: u32 = 2;
    const WHAT: &'static str = "layout";
    fn version(&self) -> u32 {
        self.v
    }
    fn migrate(v: u32, _bytes: &[u8]) -> Result<Self> {
        match v {
            1 => Ok(LayoutRec { v: Self::VERSION }),
            _ => Err(Error::Corrupt(format!(
                "layout record has unknown version {v}"
            ))),
        }
    }
}

/// Bucket settings are opaque blobs; they are stored behind one version byte
/// so that the envelope can change later. The only decoder of settings.
pub(crate) fn decode_setting(bytes: &[u8]) -> Result<Vec<u8>> {
    match bytes.split_first() {
        Some((1, rest)) => Ok(rest.to_vec()),
        Some((v, _)) => Err(Error::Corrupt(format!("setting has unknown version {v}"))),
        None => Err(Error::Corrupt("empty setting record".into())),
    }
}

pub(crate) fn encode_setting(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 1);
    out.push(1);
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_version_dispatch() {
        let rec = PartRec {
            v: PartRec::VERSION,
            size: 5,
            etag: "abc".into(),
            mtime_ns: 7,
            checksums: BTreeMap::new(),
            crc64_ecma: None,
            file: Some("f".into()),
        };
        let bytes = encode(&rec);
        assert!(bytes.starts_with(b"{\"v\":1,"));
        assert_eq!(decode::<PartRec>(&bytes).unwrap(), rec);
        let future = br#"{"v":99,"size":5}"#;
        assert!(matches!(decode::<PartRec>(future), Err(Error::Corrupt(_))));
        // A future record whose fields the current struct happens to read
        // is still refused: the version is checked on the parsed record.
        let mut shaped_alike = PartRec {
            v: 99,
            ..rec.clone()
        };
        shaped_alike.size = 6;
        let bytes = encode(&shaped_alike);
        assert!(matches!(decode::<PartRec>(&bytes), Err(Error::Corrupt(_))));
        assert!(matches!(
            decode::<PartRec>(b"not json"),
            Err(Error::Corrupt(_))
        ));
    }

    fn object(body: Option<Vec<u8>>, legacy: Option<String>) -> ObjectRec {
        ObjectRec {
            v: ObjectRec::VERSION,
            size: 3,
            etag: "e".into(),
            mtime_ns: 1,
            attrs: ObjectAttrs::default(),
            segments: Vec::new(),
            inline: legacy,
            body: body.map(Bytes::from),
        }
    }

    #[test]
    fn inline_bodies_travel_raw_after_the_json() {
        // Any bytes, NULs and all: the record splits at the first NUL,
        // which JSON text never holds (serde_json escapes it in strings).
        let body = vec![0u8, 0x7B, 0, 0xFF, b'"', 0];
        let mut rec = object(Some(body.clone()), None);
        // A NUL in a string goes into the JSON escaped.
        rec.attrs.content_type = Some("a\u{0}b".into());
        let bytes = encode(&rec);
        let nul = bytes.iter().position(|&b| b == 0).unwrap();
        assert_eq!(&bytes[nul + 1..], &body[..]);
        let back: ObjectRec = decode(&bytes).unwrap();
        assert_eq!(back.body.as_deref(), Some(&body[..]));
        assert_eq!(back.inline_bytes().unwrap().as_deref(), Some(&body[..]));
        assert_eq!(back.attrs.content_type, rec.attrs.content_type);
        // A record without a body has no trailer.
        let plain = encode(&object(None, None));
        assert!(!plain.contains(&0));
        assert_eq!(
            decode::<ObjectRec>(&plain).unwrap().inline_bytes().unwrap(),
            None
        );
    }

    #[test]
    fn absent_attributes_are_not_written_and_read_either_way() {
        let rec = object(None, None);
        let bytes = encode(&rec);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains(r#""attrs":{}"#), "{text}");
        assert_eq!(decode::<ObjectRec>(&bytes).unwrap().attrs, rec.attrs);
        // As written before: every attribute spelled, absent ones as null.
        let spelled = br#"{"v":1,"size":3,"etag":"e","mtime_ns":1,"attrs":{"content_type":null,"content_encoding":null,"content_disposition":null,"content_language":null,"cache_control":null,"expires":null,"user_meta":{},"checksums":{}},"segments":[]}"#;
        assert_eq!(decode::<ObjectRec>(spelled).unwrap().attrs, rec.attrs);
        // Present ones round-trip.
        let mut full = object(None, None);
        full.attrs.content_type = Some("image/png".into());
        full.attrs.user_meta.insert("a".into(), "b".into());
        full.attrs
            .checksums
            .insert("crc32".into(), "AAAAAA==".into());
        let back: ObjectRec = decode(&encode(&full)).unwrap();
        assert_eq!(back.attrs, full.attrs);
    }

    #[test]
    fn base64_inline_bodies_of_layout_1_still_read() {
        let legacy =
            br#"{"v":1,"size":3,"etag":"e","mtime_ns":1,"attrs":{},"segments":[],"inline":"YWJj"}"#;
        let rec: ObjectRec = decode(legacy).unwrap();
        assert!(rec.is_inline());
        assert_eq!(rec.inline_bytes().unwrap().as_deref(), Some(&b"abc"[..]));
        // Rewritten (tags, metadata), it keeps its body as it was.
        let again: ObjectRec = decode(&encode(&rec)).unwrap();
        assert_eq!(again.inline_bytes().unwrap().as_deref(), Some(&b"abc"[..]));
        // Both at once is corruption, and so is a trailer on a record type
        // that has none.
        let mut both = legacy.to_vec();
        both.extend_from_slice(b"\0abc");
        assert!(matches!(decode::<ObjectRec>(&both), Err(Error::Corrupt(_))));
        let mut bucket = encode(&BucketRec {
            v: 1,
            created_ns: 0,
            acl: CannedAcl::Private,
            owner: String::new(),
        });
        bucket.extend_from_slice(&[0, 1]);
        assert!(matches!(
            decode::<BucketRec>(&bucket),
            Err(Error::Corrupt(_))
        ));
    }

    #[test]
    fn layout_1_is_upgraded_and_later_layouts_refused() {
        assert_eq!(decode::<LayoutRec>(br#"{"v":1}"#).unwrap().v, 2);
        assert_eq!(decode::<LayoutRec>(br#"{"v":2}"#).unwrap().v, 2);
        assert!(decode::<LayoutRec>(br#"{"v":3}"#).is_err());
    }

    #[test]
    fn settings_envelope() {
        assert_eq!(decode_setting(&encode_setting(b"xyz")).unwrap(), b"xyz");
        assert_eq!(decode_setting(&encode_setting(b"")).unwrap(), b"");
        assert!(decode_setting(&[2, 0]).is_err());
        assert!(decode_setting(&[]).is_err());
    }

    #[test]
    fn time_round_trip() {
        let t = from_ns(1_700_000_000_123_456_789);
        assert_eq!(to_ns(t), 1_700_000_000_123_456_789);
    }
}
