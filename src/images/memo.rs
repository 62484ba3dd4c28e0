//! The names of recently served variants, so that a repeated request does
//! not serialize its pipeline and hash it twice again.
//!
//! A variant's cache key and processed ETag are a pure function of the
//! source's name, ETag and modification time, the resolved pipeline and the
//! dialect (docs/ARCHITECTURE.md, the last invariant). [`NameMemo`] keeps
//! that function's recent results, keyed by all of its inputs: the source's
//! ETag and time come from the per-request read of its record, so an
//! overwritten source is a new key (a miss), never an old variant's names.
//! Nothing about the source itself is remembered here.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use dialects::Dialect;
use http::HeaderValue;
use storage::ObjectMeta;

/// Most names remembered; past it the table starts over. Each holds a
/// pipeline and a few short strings (well under 1 KiB for the usual
/// resize), so the bound keeps it to a few MiB.
const MAX_NAMES: usize = 4096;

/// What a variant is called and the validators its answers carry.
#[derive(Debug)]
pub struct Names {
    /// The variant cache's key (hex SHA-256).
    pub cache_key: String,
    /// The processed ETag, unquoted (32 hex digits).
    pub etag: String,
    /// `ETag`: the processed ETag, quoted.
    pub etag_header: Option<HeaderValue>,
    /// `Last-Modified`: the source's.
    pub last_modified: Option<HeaderValue>,
}

impl Names {
    /// Computes the names of `pipeline` on the source `head` of
    /// `bucket/key`, rendered for `dialect`.
    pub fn compute(
        bucket: &str,
        key: &str,
        head: &ObjectMeta,
        pipeline: &imaging::Pipeline,
        dialect: Dialect,
    ) -> Names {
        let canonical = pipeline.canonical();
        let etag = super::processed_etag(&head.etag, &canonical, dialect);
        Names {
            cache_key: super::cache_key(bucket, key, head, &canonical, dialect),
            etag_header: crate::http::headers::quoted_etag(&etag),
            etag,
            last_modified: HeaderValue::from_str(&crate::http::headers::http_date(
                head.last_modified,
            ))
            .ok(),
        }
    }
}

/// Everything [`Names::compute`] reads, owned.
#[derive(Debug)]
struct Inputs {
    bucket: String,
    key: String,
    source_etag: String,
    modified: SystemTime,
    dialect: Dialect,
    pipeline: imaging::Pipeline,
}

impl Inputs {
    fn matches(
        &self,
        bucket: &str,
        key: &str,
        head: &ObjectMeta,
        pipeline: &imaging::Pipeline,
        dialect: Dialect,
    ) -> bool {
        self.bucket == bucket
            && self.key == key
            && self.source_etag == head.etag
            && self.modified == head.last_modified
            && self.dialect == dialect
            && self.pipeline == *pipeline
    }
}

/// Recent [`Names`], bounded (see the module doc).
#[derive(Debug, Default)]
pub struct NameMemo {
    hasher: RandomState,
    /// By the hash of the inputs; the inputs are compared on a hit, and a
    /// colliding entry is replaced.
    map: Mutex<HashMap<u64, (Inputs, Arc<Names>)>>,
}

impl NameMemo {
    /// The names of `pipeline` on the source `head` of `bucket/key`:
    /// remembered, or computed and remembered.
    pub fn get(
        &self,
        bucket: &str,
        key: &str,
        head: &ObjectMeta,
        pipeline: &imaging::Pipeline,
        dialect: Dialect,
    ) -> Arc<Names> {
        let mut h = self.hasher.build_hasher();
        (bucket, key, &head.etag, head.last_modified, dialect).hash(&mut h);
        pipeline.hash(&mut h);
        let id = h.finish();
        if let Ok(map) = self.map.lock() {
            if let Some((inputs, names)) = map.get(&id) {
                if inputs.matches(bucket, key, head, pipeline, dialect) {
                    return names.clone();
                }
            }
        }
        let names = Arc::new(Names::compute(bucket, key, head, pipeline, dialect));
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= MAX_NAMES {
                map.clear();
            }
            let inputs = Inputs {
                bucket: bucket.to_string(),
                key: key.to_string(),
                source_etag: head.etag.clone(),
                modified: head.last_modified,
                dialect,
                pipeline: pipeline.clone(),
            };
            map.insert(id, (inputs, names.clone()));
        }
        names
    }

    /// How many names are remembered (tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().map_or(0, |m| m.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn head(etag: &str, secs: u64) -> ObjectMeta {
        ObjectMeta {
            key: "k.jpg".to_string(),
            size: 1,
            etag: etag.to_string(),
            last_modified: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
            attrs: storage::ObjectAttrs::default(),
        }
    }

    fn width(w: u32) -> imaging::Pipeline {
        dialects::parse_query(Dialect::Oss, &format!("x-oss-process=image/resize,w_{w}"))
            .ok()
            .and_then(|d| match d {
                dialects::Directive::Pipeline(p) => Some(p),
                dialects::Directive::Style(_) => None,
            })
            .expect("a resize parses")
    }

    #[test]
    fn remembered_names_equal_computed_ones() {
        let memo = NameMemo::default();
        let (h, p) = (head("e1", 100), width(300));
        let first = memo.get("b", "k.jpg", &h, &p, Dialect::Oss);
        let again = memo.get("b", "k.jpg", &h, &p, Dialect::Oss);
        assert!(Arc::ptr_eq(&first, &again), "the second is remembered");
        let fresh = Names::compute("b", "k.jpg", &h, &p, Dialect::Oss);
        assert_eq!(again.cache_key, fresh.cache_key);
        assert_eq!(again.etag, fresh.etag);
        assert_eq!(again.etag_header, fresh.etag_header);
        assert_eq!(again.last_modified, fresh.last_modified);
        assert_eq!(
            again.etag_header.as_ref().and_then(|v| v.to_str().ok()),
            Some(format!("\"{}\"", fresh.etag).as_str())
        );
    }

    #[test]
    fn an_overwritten_source_gets_new_names() {
        let memo = NameMemo::default();
        let p = width(300);
        let old = memo.get("b", "k.jpg", &head("e1", 100), &p, Dialect::Oss);
        // Same time, new content; same content, new time.
        for h in [head("e2", 100), head("e1", 101)] {
            let new = memo.get("b", "k.jpg", &h, &p, Dialect::Oss);
            let fresh = Names::compute("b", "k.jpg", &h, &p, Dialect::Oss);
            assert_ne!(new.cache_key, old.cache_key);
            assert_eq!(new.cache_key, fresh.cache_key);
            assert_eq!(new.etag, fresh.etag);
            assert_eq!(new.last_modified, fresh.last_modified);
        }
        assert_eq!(memo.len(), 3);
    }

    #[test]
    fn every_input_is_part_of_the_key() {
        let memo = NameMemo::default();
        let (h, p) = (head("e1", 100), width(300));
        let base = memo.get("b", "k.jpg", &h, &p, Dialect::Oss);
        let others = [
            memo.get("c", "k.jpg", &h, &p, Dialect::Oss),
            memo.get("b", "j.jpg", &h, &p, Dialect::Oss),
            memo.get("b", "k.jpg", &h, &width(301), Dialect::Oss),
            memo.get("b", "k.jpg", &h, &p, Dialect::Cos),
        ];
        for o in others {
            assert_ne!(o.cache_key, base.cache_key);
        }
    }

    #[test]
    fn the_memo_is_bounded() {
        let memo = NameMemo::default();
        let p = width(300);
        for i in 0..MAX_NAMES as u64 + 10 {
            memo.get("b", "k.jpg", &head("e", i), &p, Dialect::Oss);
            assert!(memo.len() <= MAX_NAMES);
        }
        assert!(memo.len() < MAX_NAMES);
    }
}
