//! Versioned metadata records and their single decoding entry point.
//!
//! Every record is JSON carrying `"v"`, its format version. Reading always
//! goes through [`decode`], which dispatches on that version: when a record
//! format changes, bump [`Record::VERSION`], keep the old struct in a module
//! of its own, and convert it in [`Record::migrate`]; records on disk are then
//! upgraded lazily as they are read (Garage `util/migrate.rs`). Writing always
//! uses the current version.

use crate::error::{Error, Result};
use crate::types::{CannedAcl, ObjectAttrs};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
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
    serde_json::to_vec(record).unwrap_or_default()
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
    /// The body of a small object (base64), kept in the record itself so
    /// that a small PUT costs one metadata fsync instead of three.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
}

impl ObjectRec {
    /// The inline body, if the object has one.
    pub fn inline_bytes(&self) -> Result<Option<Vec<u8>>> {
        use base64::Engine;
        match &self.inline {
            None => Ok(None),
            Some(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map(Some)
                .map_err(|_| Error::Corrupt("inline object body is not base64".into())),
        }
    }

    pub fn encode_inline(body: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(body)
    }
}

impl Record for ObjectRec {
    const VERSION: u32 = 1;
    const WHAT: &'static str = "object";
    fn version(&self) -> u32 {
        self.v
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LayoutRec {
    pub v: u32,
}

impl Record for LayoutRec {
    const VERSION: u32 = 1;
    const WHAT: &'static str = "layout";
    fn version(&self) -> u32 {
        self.v
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
