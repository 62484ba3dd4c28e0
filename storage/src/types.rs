//! Plain data types exchanged across the [`crate::Store`] trait.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::SystemTime;

/// A bucket's ACL in brief, as its record keeps it: whether everyone may
/// read it. The full list of grants, when a bucket has more than these,
/// is a settings document of the protocol layer (`acl`); this summary is
/// kept in step with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum CannedAcl {
    #[default]
    Private,
    PublicRead,
}

/// A bucket as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketInfo {
    pub name: String,
    pub created: SystemTime,
    pub acl: CannedAcl,
    /// The owner's canonical user id; empty for the admin (and for buckets
    /// made before there were users).
    pub owner: String,
}

/// Attributes of an object that a client sets on upload and gets back on
/// download. Header names are the protocol layer's business; these are values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
// Stored in metadata records: a field added later must decode as its default
// from records written before it existed.
//
// Absent and empty values are not written: every GET parses its object's
// record, and six `null`s and two `{}` were a third of a typical one.
// Decoding them as their default (above) keeps records of either form
// readable by any binary.
#[serde(default)]
pub struct ObjectAttrs {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// User metadata, names lower-cased without the `x-amz-meta-` prefix.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub user_meta: BTreeMap<String, String>,
    /// Additional checksums the client supplied and the protocol layer
    /// verified, by algorithm name (`crc32`, `crc32c`, `crc64nvme`, `sha1`,
    /// `sha256`) → base64 value, as S3 returns them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: BTreeMap<String, String>,
    /// The object's own access-control list; `None`: the bucket owner's,
    /// readable by whoever may list the bucket (the default object ACL of
    /// OSS and COS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acl: Option<ObjectAcl>,
    /// CRC-64/XZ of the whole body, when the writer computed it (single-part
    /// writes and copies of them). The Alibaba OSS and Tencent COS SDKs
    /// compare it with their own (`x-oss-hash-crc64ecma`,
    /// `x-cos-hash-crc64ecma`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crc64_ecma: Option<u64>,
    /// The object's tag set (S3 object tagging), key → value; the protocol
    /// layer checks S3's limits before anything is stored.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// An object's access-control list: who owns it (the writer) and what is
/// granted to whom. Its meaning is the protocol layer's (`access`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectAcl {
    /// The owner's canonical user id.
    pub owner: String,
    pub grants: Vec<Grant>,
}

/// One permission given to one grantee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub grantee: Grantee,
    pub permission: Permission,
}

/// Who a grant is for: a user by canonical id, or one of S3's groups.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Grantee {
    User(String),
    AllUsers,
    AuthenticatedUsers,
    LogDelivery,
}

/// S3's five ACL permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    Read,
    Write,
    ReadAcp,
    WriteAcp,
    FullControl,
}

/// What must hold of a key's current object for a write to commit. It is
/// checked inside the commit's metadata transaction, so no other write can
/// land between the check and the commit (S3's conditional writes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Precondition {
    /// Commit whatever is there.
    #[default]
    Unconditional,
    /// Only if the key has no object (`If-None-Match: *`).
    Absent,
    /// Only if the key's object has one of these ETags (without quotes), or
    /// any ETag for `*` (`If-Match`). No object: `Error::NoSuchKey`.
    ETagIn(Vec<String>),
}

impl Precondition {
    /// Whether an object with `current` ETag (or none) satisfies it; `Err`
    /// names how it fails.
    pub fn check(&self, key: &str, current: Option<&str>) -> crate::Result<()> {
        match (self, current) {
            (Precondition::Unconditional, _) | (Precondition::Absent, None) => Ok(()),
            (Precondition::Absent, Some(_)) => Err(crate::Error::PreconditionFailed),
            (Precondition::ETagIn(_), None) => Err(crate::Error::NoSuchKey(key.to_string())),
            (Precondition::ETagIn(list), Some(etag)) => {
                if list.iter().any(|t| t == "*" || t == etag) {
                    Ok(())
                } else {
                    Err(crate::Error::PreconditionFailed)
                }
            }
        }
    }
}

/// An object's current version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    /// Hex MD5 of the body, or `<hex md5 of part md5s>-<n>` for multipart
    /// objects. Without quotes.
    pub etag: String,
    pub last_modified: SystemTime,
    pub attrs: ObjectAttrs,
}

/// An inclusive byte range, already resolved against nothing: `start` may be
/// past the end (→ `Error::InvalidRange`); `end` past the end is clipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    /// Inclusive; `None` = to the end.
    pub end: Option<u64>,
}

/// A listing request, already decoded from V1 or V2 syntax.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub prefix: String,
    /// When set, keys containing it after the prefix are rolled up into
    /// common prefixes (each counted once towards `max_keys`).
    pub delimiter: Option<String>,
    /// Exclusive lower bound: only keys (and common prefixes) strictly after
    /// it are returned.
    pub start_after: Option<String>,
    pub max_keys: usize,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    pub objects: Vec<ObjectMeta>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// The last key or common prefix returned; resume after it.
    pub next_after: Option<String>,
}

/// Where part `n` of an object lies (GetObject/HeadObject `?partNumber=n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartSpan {
    /// Offset of the part's first byte.
    pub start: u64,
    pub len: u64,
    /// The object's part count; `None` for an object not made by a
    /// multipart upload (its only "part" is the whole object).
    pub parts_count: Option<u32>,
}

/// A part named by CompleteMultipartUpload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    pub part_number: u32,
    /// Without quotes.
    pub etag: String,
}

/// A stored part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartMeta {
    pub part_number: u32,
    pub size: u64,
    pub etag: String,
    pub last_modified: SystemTime,
    pub checksums: BTreeMap<String, String>,
    /// CRC-64/XZ of the part, when known.
    pub crc64_ecma: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartsPage {
    pub parts: Vec<PartMeta>,
    pub is_truncated: bool,
    pub next_part_number_marker: u32,
}

/// An in-progress multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartUpload {
    pub key: String,
    pub upload_id: String,
    pub initiated: SystemTime,
    pub attrs: ObjectAttrs,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadsQuery {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub key_marker: Option<String>,
    pub upload_id_marker: Option<String>,
    pub max_uploads: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadsPage {
    pub uploads: Vec<MultipartUpload>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    pub next_key_marker: Option<String>,
    pub next_upload_id_marker: Option<String>,
}
