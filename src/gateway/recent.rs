//! What this node deleted a moment ago, so that its own listings agree.
//!
//! Garage 2.5 filters a listing on each replica before it merges the
//! replies. A replica that already holds the delete marker drops the key; one
//! the delete has not reached yet still returns it; the merge keeps it. So
//! until a delete reaches the last replica (usually milliseconds, longer on a
//! loaded machine), ListObjects, ListMultipartUploads and DeleteBucket's
//! emptiness check still see what is gone. S3 lists strongly after a delete.
//!
//! A node therefore remembers, for [`WINDOW`], the keys it deleted and the
//! uploads it ended. A listed key among them is checked with a HEAD (a quorum
//! read, so exact: a key written again since is kept); an ended upload id is
//! never listed again. Deletes made through *another* node are not known
//! here: across nodes the backend's own behaviour shows (docs/deploy.md).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a delete is remembered: far longer than a replica takes to
/// catch up while the cluster is healthy.
pub const WINDOW: Duration = Duration::from_secs(10);

/// At most this many entries are kept (a burst of DeleteObjects beyond it
/// forgets its oldest first), so memory stays bounded.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Gone {
    /// (bucket, key) of a deleted object.
    Key(String, String),
    /// (bucket, upload id) of an aborted or completed upload.
    Upload(String, String),
}

#[derive(Debug, Default)]
struct Entries {
    /// In the order noted, for expiry.
    order: VecDeque<(Instant, Gone)>,
    /// What `order` holds, with when each was last noted: an entry noted
    /// twice lives until its last note expires.
    set: HashMap<Gone, Instant>,
}

/// The deletes this node made within the last [`WINDOW`].
#[derive(Debug, Default)]
pub struct RecentDeletes {
    entries: Mutex<Entries>,
}

impl RecentDeletes {
    pub fn note_key(&self, bucket: &str, key: &str) {
        self.note(Gone::Key(bucket.to_string(), key.to_string()));
    }

    pub fn note_upload(&self, bucket: &str, upload_id: &str) {
        self.note(Gone::Upload(bucket.to_string(), upload_id.to_string()));
    }

    /// The keys of `bucket` deleted within the window.
    pub fn keys(&self, bucket: &str) -> HashSet<String> {
        self.with_live(|set| {
            set.keys()
                .filter_map(|g| match g {
                    Gone::Key(b, k) if b == bucket => Some(k.clone()),
                    _ => None,
                })
                .collect()
        })
    }

    /// Whether this upload of `bucket` was ended within the window.
    pub fn upload_ended(&self, bucket: &str, upload_id: &str) -> bool {
        let probe = Gone::Upload(bucket.to_string(), upload_id.to_string());
        self.with_live(|set| set.contains_key(&probe))
    }

    fn note(&self, gone: Gone) {
        let Ok(mut e) = self.entries.lock() else {
            return;
        };
        expire(&mut e, Instant::now());
        if e.order.len() >= MAX_ENTRIES {
            if let Some((at, oldest)) = e.order.pop_front() {
                forget_if_last(&mut e, at, &oldest);
            }
        }
        let now = Instant::now();
        e.set.insert(gone.clone(), now);
        e.order.push_back((now, gone));
    }

    fn with_live<T: Default>(&self, f: impl FnOnce(&HashMap<Gone, Instant>) -> T) -> T {
        let Ok(mut e) = self.entries.lock() else {
            return T::default();
        };
        expire(&mut e, Instant::now());
        f(&e.set)
    }
}

fn expire(e: &mut Entries, now: Instant) {
    while let Some((at, _)) = e.order.front() {
        if now.duration_since(*at) < WINDOW {
            break;
        }
        if let Some((at, gone)) = e.order.pop_front() {
            forget_if_last(e, at, &gone);
        }
    }
}

/// Removes `gone`, noted at `at`, from the set unless noted again since.
fn forget_if_last(e: &mut Entries, at: Instant, gone: &Gone) {
    if e.set.get(gone) == Some(&at) {
        e.set.remove(gone);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_per_bucket_and_uploads_apart() {
        let r = RecentDeletes::default();
        r.note_key("a", "x");
        r.note_key("b", "y");
        r.note_upload("a", "u1");
        assert_eq!(r.keys("a"), HashSet::from(["x".to_string()]));
        assert!(r.upload_ended("a", "u1"));
        assert!(!r.upload_ended("b", "u1"));
        assert!(r.keys("c").is_empty());
    }

    #[test]
    fn entries_expire_after_the_window() {
        let r = RecentDeletes::default();
        r.note_key("a", "x");
        {
            let mut e = r.entries.lock().unwrap_or_else(|p| p.into_inner());
            let later = Instant::now() + WINDOW;
            expire(&mut e, later);
        }
        assert!(r.keys("a").is_empty());
    }
}
