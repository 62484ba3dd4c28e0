//! The store against a `BTreeMap` model: random operation sequences, and
//! listing (prefix, delimiter, start_after, max_keys) checked entry by entry,
//! including that paging through gives exactly the full listing.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::collections::BTreeMap;
use storage::{CannedAcl, Error, ListQuery, Store};

/// One listing entry, in listing order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Entry {
    Key(String),
    Prefix(String),
}

impl Entry {
    fn name(&self) -> &str {
        match self {
            Entry::Key(k) | Entry::Prefix(k) => k,
        }
    }
}

/// The reference listing, straight from the S3 definition.
fn model_list<V>(
    model: &BTreeMap<String, V>,
    prefix: &str,
    delimiter: Option<&str>,
    start_after: Option<&str>,
) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for k in model.keys() {
        let Some(rest) = k.strip_prefix(prefix) else {
            continue;
        };
        let entry = match delimiter.and_then(|d| rest.find(d).map(|p| (p, d.len()))) {
            Some((pos, dlen)) => Entry::Prefix(k[..prefix.len() + pos + dlen].to_string()),
            None => Entry::Key(k.clone()),
        };
        if start_after.is_some_and(|sa| entry.name() <= sa) {
            continue;
        }
        if out.last() != Some(&entry) {
            out.push(entry);
        }
    }
    out
}

fn page_entries(page: &storage::ListPage) -> Vec<Entry> {
    let mut v: Vec<Entry> = page
        .objects
        .iter()
        .map(|o| Entry::Key(o.key.clone()))
        .chain(
            page.common_prefixes
                .iter()
                .map(|p| Entry::Prefix(p.clone())),
        )
        .collect();
    v.sort_by(|a, b| a.name().cmp(b.name()));
    v
}

/// Short keys over a small alphabet (with a delimiter and multi-byte UTF-8
/// characters), so that prefixes collide a lot.
fn random_key(rng: &mut Rng) -> String {
    const ALPHABET: [&str; 7] = ["a", "b", "/", "-", "é", "z", "ü/"];
    let len = 1 + rng.below(6) as usize;
    (0..len)
        .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize])
        .collect()
}

fn random_query(rng: &mut Rng) -> (String, Option<String>, Option<String>) {
    let prefix = match rng.below(4) {
        0 => String::new(),
        _ => random_key(rng)
            .chars()
            .take(1 + rng.below(2) as usize)
            .collect(),
    };
    let delimiter = match rng.below(4) {
        0 => None,
        1 => Some("-".to_string()),
        _ => Some("/".to_string()),
    };
    let start_after = match rng.below(3) {
        0 => Some(random_key(rng)),
        _ => None,
    };
    (prefix, delimiter, start_after)
}

async fn list_all(
    s: &dyn Store,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    start_after: Option<&str>,
    max_keys: usize,
) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut q = ListQuery {
        prefix: prefix.to_string(),
        delimiter: delimiter.map(str::to_string),
        start_after: start_after.map(str::to_string),
        max_keys,
    };
    for _ in 0..10_000 {
        let page = s.list_objects(bucket, &q).await.unwrap();
        let entries = page_entries(&page);
        assert!(entries.len() <= max_keys);
        if page.is_truncated {
            assert_eq!(entries.len(), max_keys, "a truncated page is full");
            assert_eq!(page.next_after.as_deref(), entries.last().map(Entry::name));
        }
        out.extend(entries);
        if !page.is_truncated {
            return out;
        }
        q.start_after = page.next_after;
    }
    panic!("listing did not terminate");
}

#[tokio::test]
async fn random_operations_match_a_btreemap() {
    let (dir, mut s) = store_with("m").await;
    let mut model: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut rng = Rng::new(0x5EED);
    for step in 0..600 {
        match rng.below(20) {
            0..=8 => {
                let key = random_key(&mut rng);
                let len = [0usize, 1, 100, 5000, 70_000][rng.below(5) as usize];
                let data = bytes(len, step as u8);
                let m = put_chunked(&s, "m", &key, &data, 1 + rng.below(9000) as usize).await;
                assert_eq!(m.size, len as u64);
                model.insert(key, data);
            }
            9..=11 => {
                let key = match model.keys().nth(rng.below(model.len() as u64 + 1) as usize) {
                    Some(k) if rng.below(4) != 0 => k.clone(),
                    _ => random_key(&mut rng),
                };
                let existed = s.delete_object("m", &key).await.unwrap();
                assert_eq!(existed, model.remove(&key).is_some(), "delete {key}");
            }
            12..=13 => {
                let key = random_key(&mut rng);
                match model.get(&key) {
                    Some(data) => assert_eq!(&get(&s, "m", &key).await, data),
                    None => assert!(matches!(
                        s.head_object("m", &key).await,
                        Err(Error::NoSuchKey(_))
                    )),
                }
            }
            14..=18 => {
                let (prefix, delimiter, start_after) = random_query(&mut rng);
                let expected = model_list(
                    &model,
                    &prefix,
                    delimiter.as_deref(),
                    start_after.as_deref(),
                );
                let max_keys = 1 + rng.below(7) as usize;
                let got = list_all(
                    &s,
                    "m",
                    &prefix,
                    delimiter.as_deref(),
                    start_after.as_deref(),
                    max_keys,
                )
                .await;
                assert_eq!(
                    got, expected,
                    "step {step}: prefix {prefix:?} delimiter {delimiter:?} \
                    start_after {start_after:?} max_keys {max_keys}"
                );
            }
            _ => {
                // A clean restart keeps everything.
                drop(s);
                s = open(dir.path());
            }
        }
    }
    // Final full check, including sizes and ETags.
    let page = first_page(&s, "m", 100_000).await.unwrap();
    assert_eq!(page.objects.len(), model.len());
    for (o, (k, data)) in page.objects.iter().zip(&model) {
        assert_eq!(&o.key, k);
        assert_eq!(o.size, data.len() as u64);
        assert_eq!(o.etag, md5_hex(data));
    }
    // One data file per object above the inline size (4 KiB), no more.
    let with_files = model.values().filter(|d| d.len() > 4096).count();
    assert_eq!(files_under(&dir.path().join("objects")).len(), with_files);
}

#[tokio::test]
async fn paging_equals_full_listing_for_every_page_size() {
    let (_dir, s) = store_with("p").await;
    let mut model = BTreeMap::new();
    let mut rng = Rng::new(42);
    for _ in 0..150 {
        let key = random_key(&mut rng);
        put(&s, "p", &key, b"").await;
        model.insert(key, ());
    }
    for (prefix, delimiter, start_after) in [
        ("", None, None),
        ("", Some("/"), None),
        ("a", Some("/"), None),
        ("", Some("/"), Some("a")),
        ("a/", Some("/"), Some("a/b")),
        ("", Some("-"), Some("b-")),
        ("é", Some("/"), None),
        ("", Some("ü/"), None),
        ("zz", None, Some("a")),
        ("nothing-here", Some("/"), None),
    ] {
        let expected = model_list(&model, prefix, delimiter, start_after);
        let full = list_all(&s, "p", prefix, delimiter, start_after, 100_000).await;
        assert_eq!(full, expected, "{prefix:?} {delimiter:?} {start_after:?}");
        for max_keys in [1, 2, 3, 7, 50] {
            let paged = list_all(&s, "p", prefix, delimiter, start_after, max_keys).await;
            assert_eq!(
                paged, expected,
                "{prefix:?} {delimiter:?} {start_after:?} max {max_keys}"
            );
        }
    }
}

#[tokio::test]
async fn listing_edge_cases() {
    let (_dir, s) = store_with("e").await;
    s.create_bucket("e2", CannedAcl::Private, "").await.unwrap();
    for k in [
        "photos/2024/a.jpg",
        "photos/2024/b.jpg",
        "photos/2025/c.jpg",
        "photos/x.jpg",
        "readme",
        "z\u{10FFFF}",
        "Z",
    ] {
        put(&s, "e", k, b"x").await;
    }
    put(&s, "e2", "photos/other", b"x").await;
    // max_keys 0: empty, not truncated.
    let page = s.list_objects("e", &ListQuery::default()).await.unwrap();
    assert_eq!(page, storage::ListPage::default());
    let q = ListQuery {
        prefix: "photos/".into(),
        delimiter: Some("/".into()),
        max_keys: 2,
        ..ListQuery::default()
    };
    let page = s.list_objects("e", &q).await.unwrap();
    assert_eq!(page.common_prefixes, ["photos/2024/", "photos/2025/"]);
    assert!(page.objects.is_empty());
    assert!(page.is_truncated);
    assert_eq!(page.next_after.as_deref(), Some("photos/2025/"));
    let q2 = ListQuery {
        start_after: page.next_after.clone(),
        ..q.clone()
    };
    let page = s.list_objects("e", &q2).await.unwrap();
    assert_eq!(
        page.objects
            .iter()
            .map(|o| o.key.as_str())
            .collect::<Vec<_>>(),
        ["photos/x.jpg"]
    );
    assert!(!page.is_truncated);
    // Binary order: "Z" < "photos" < "readme" < "z\u{10FFFF}".
    let all = first_page(&s, "e", 100).await.unwrap();
    let keys: Vec<_> = all.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys[0], "Z");
    assert_eq!(keys.last().copied(), Some("z\u{10FFFF}"));
    assert_eq!(keys.len(), 7, "the other bucket's key is not listed");
    assert!(matches!(
        s.list_objects("missing", &q).await,
        Err(Error::NoSuchBucket(_))
    ));
}
