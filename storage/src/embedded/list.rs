//! Listing objects and multipart uploads: range scans over the metadata
//! keyspaces with prefix, delimiter roll-up and markers.
//!
//! Keys are compared as bytes, which for UTF-8 is code point order, i.e.
//! S3's order. When a key rolls up into a common prefix, the scan jumps past
//! every key sharing that prefix (a new range scan from the prefix's
//! successor) instead of reading them all.

use super::keys;
use crate::error::{Error, Result};
use crate::meta::{MetaStore, Space};
use crate::record::{decode, ObjectRec, UploadRec};
use crate::types::{ListPage, ListQuery, MultipartUpload, UploadsPage, UploadsQuery};
use std::ops::Bound;

/// The smallest byte string greater than every string starting with `p`, or
/// `None` if there is none (all bytes 0xFF).
pub(crate) fn successor(p: &[u8]) -> Option<Vec<u8>> {
    let mut s = p.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xFF {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

fn bound_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v),
        Bound::Excluded(v) => Bound::Excluded(v),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The common prefix `key` rolls up into, if any.
fn roll_up<'k>(key: &'k str, prefix: &str, delimiter: Option<&str>) -> Option<&'k str> {
    let d = delimiter?;
    let rest = key.strip_prefix(prefix)?;
    let pos = rest.find(d)?;
    key.get(..prefix.len() + pos + d.len())
}

fn utf8(bytes: &[u8]) -> Result<&str> {
    std::str::from_utf8(bytes).map_err(|_| Error::Corrupt("metadata key is not UTF-8".into()))
}

/// One page of `ListObjects`.
pub(crate) fn list_objects(meta: &dyn MetaStore, bucket: &str, q: &ListQuery) -> Result<ListPage> {
    let mut page = ListPage::default();
    if q.max_keys == 0 {
        return Ok(page);
    }
    let delimiter = q.delimiter.as_deref().filter(|d| !d.is_empty());
    let base = keys::object_prefix(bucket);
    let scan_from = [&base[..], q.prefix.as_bytes()].concat();
    let end = successor(&scan_from);
    let mut start = Bound::Included(scan_from.clone());
    if let Some(sa) = &q.start_after {
        let sa_key = [&base[..], sa.as_bytes()].concat();
        if sa_key >= scan_from {
            start = Bound::Excluded(sa_key);
        }
    }
    let end_bound = match &end {
        Some(e) => Bound::Excluded(&e[..]),
        None => Bound::Unbounded,
    };
    let mut count = 0usize;
    'scan: loop {
        let mut jump = None;
        for item in meta.range(Space::Objects, bound_ref(&start), end_bound) {
            let (k, v) = item?;
            let key = utf8(&k[base.len()..])?;
            if let Some(cp) = roll_up(key, &q.prefix, delimiter) {
                // A prefix at or before the marker was returned on an earlier page.
                if q.start_after.as_deref().is_none_or(|sa| cp > sa) {
                    if count == q.max_keys {
                        page.is_truncated = true;
                        break 'scan;
                    }
                    page.common_prefixes.push(cp.to_string());
                    page.next_after = Some(cp.to_string());
                    count += 1;
                }
                jump = Some(successor(&[&base[..], cp.as_bytes()].concat()));
                break;
            }
            if count == q.max_keys {
                page.is_truncated = true;
                break 'scan;
            }
            let rec: ObjectRec = decode(&v)?;
            page.objects.push(super::object_meta(key.to_string(), rec));
            page.next_after = Some(key.to_string());
            count += 1;
        }
        match jump {
            Some(Some(next)) => start = Bound::Included(next),
            // Either the scan ended or the prefix has no successor.
            _ => break,
        }
    }
    Ok(page)
}

/// One page of `ListMultipartUploads`, ordered by (key, upload id); upload
/// ids begin with their creation time, so that is (key, initiated time).
pub(crate) fn list_uploads(
    meta: &dyn MetaStore,
    bucket: &str,
    q: &UploadsQuery,
) -> Result<UploadsPage> {
    let mut page = UploadsPage::default();
    if q.max_uploads == 0 {
        return Ok(page);
    }
    let delimiter = q.delimiter.as_deref().filter(|d| !d.is_empty());
    let base = keys::object_prefix(bucket);
    let scan_from = [&base[..], q.prefix.as_bytes()].concat();
    let end = successor(&scan_from);
    let mut start = Bound::Included(scan_from.clone());
    if let Some(km) = &q.key_marker {
        let marker_key = match &q.upload_id_marker {
            // Uploads of the marker key after that id, then later keys.
            Some(id) => Bound::Excluded([&base[..], km.as_bytes(), b"\0", id.as_bytes()].concat()),
            // Past every upload of the marker key (`key \0 id` < `key \x01`).
            None => Bound::Included([&base[..], km.as_bytes(), b"\x01"].concat()),
        };
        let later = match (&marker_key, &start) {
            (Bound::Excluded(m) | Bound::Included(m), Bound::Included(s)) => m >= s,
            _ => false,
        };
        if later {
            start = marker_key;
        }
    }
    let end_bound = match &end {
        Some(e) => Bound::Excluded(&e[..]),
        None => Bound::Unbounded,
    };
    let mut count = 0usize;
    'scan: loop {
        let mut jump = None;
        for item in meta.range(Space::Uploads, bound_ref(&start), end_bound) {
            let (_, v) = item?;
            let rec: UploadRec = decode(&v)?;
            if let Some(cp) = roll_up(&rec.key, &q.prefix, delimiter) {
                if q.key_marker.as_deref().is_none_or(|km| cp > km) {
                    if count == q.max_uploads {
                        page.is_truncated = true;
                        break 'scan;
                    }
                    page.common_prefixes.push(cp.to_string());
                    page.next_key_marker = Some(cp.to_string());
                    page.next_upload_id_marker = None;
                    count += 1;
                }
                jump = Some(successor(&[&base[..], cp.as_bytes()].concat()));
                break;
            }
            if count == q.max_uploads {
                page.is_truncated = true;
                break 'scan;
            }
            page.next_key_marker = Some(rec.key.clone());
            page.next_upload_id_marker = Some(rec.upload_id.clone());
            page.uploads.push(MultipartUpload {
                key: rec.key,
                upload_id: rec.upload_id,
                initiated: crate::record::from_ns(rec.initiated_ns),
                attrs: rec.attrs,
            });
            count += 1;
        }
        match jump {
            Some(Some(next)) => start = Bound::Included(next),
            _ => break,
        }
    }
    Ok(page)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn successor_of_bytes() {
        assert_eq!(successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(successor(b"\xff\xff"), None);
        assert_eq!(successor(b""), None);
    }

    #[test]
    fn roll_up_rules() {
        assert_eq!(roll_up("a/b/c", "", Some("/")), Some("a/"));
        assert_eq!(roll_up("a/b/c", "a/", Some("/")), Some("a/b/"));
        assert_eq!(roll_up("a/b", "a/b", Some("/")), None);
        assert_eq!(roll_up("a/b", "", None), None);
        assert_eq!(roll_up("x--y--z", "x", Some("--")), Some("x--"));
        assert_eq!(roll_up("é/ü", "", Some("/")), Some("é/"));
    }
}
