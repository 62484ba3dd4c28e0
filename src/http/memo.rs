//! [`BucketMemo`]: what was read of each bucket's settings, kept in memory
//! so that a request does not read the store for them every time.
//!
//! An entry is dropped when this process writes what it was read from
//! ([`BucketMemo::forget`]), and in gateway mode, where other nodes write
//! too, once older than the shared-settings time-to-live. A read that
//! started before a `forget` never stores what it read (a generation
//! counter), so a write is never hidden by a slower, older read.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bucket name → the value last read for it.
#[derive(Debug)]
pub struct BucketMemo<V> {
    inner: Mutex<Inner<V>>,
    /// How long an entry is trusted; `None`: until this process forgets it.
    ttl: Option<Duration>,
}

#[derive(Debug)]
struct Inner<V> {
    entries: HashMap<String, (Instant, V)>,
    generation: u64,
}

impl<V: Clone> Default for BucketMemo<V> {
    fn default() -> Self {
        BucketMemo::new(None)
    }
}

impl<V: Clone> BucketMemo<V> {
    /// Entries trusted for `ttl` (`None`: until forgotten).
    pub fn new(ttl: Option<Duration>) -> Self {
        BucketMemo {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                generation: 0,
            }),
            ttl,
        }
    }

    /// The time-to-live entries have.
    pub fn ttl(&self) -> Option<Duration> {
        self.ttl
    }

    /// The bucket's value: from memory, else from `load` (kept on success).
    pub async fn get<F, Fut, E>(&self, bucket: &str, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let generation = match self.inner.lock() {
            Ok(inner) => match inner.entries.get(bucket) {
                Some((at, v)) if self.ttl.is_none_or(|ttl| at.elapsed() < ttl) => {
                    return Ok(v.clone())
                }
                _ => Some(inner.generation),
            },
            // A poisoned map only costs reads from the store.
            Err(_) => None,
        };
        let read_at = Instant::now();
        let value = load().await?;
        if let Ok(mut inner) = self.inner.lock() {
            if Some(inner.generation) == generation {
                inner
                    .entries
                    .insert(bucket.to_string(), (read_at, value.clone()));
            }
        }
        Ok(value)
    }

    /// Drops the bucket's entry: what it was read from was written.
    pub fn forget(&self, bucket: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.entries.remove(bucket);
            inner.generation += 1;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_are_kept_until_forgotten() {
        let memo = BucketMemo::<u32>::new(None);
        let v: Result<u32, ()> = memo.get("b", || async { Ok(1) }).await;
        assert_eq!(v, Ok(1));
        let v: Result<u32, ()> = memo.get("b", || async { Ok(2) }).await;
        assert_eq!(v, Ok(1));
        memo.forget("b");
        let v: Result<u32, ()> = memo.get("b", || async { Ok(3) }).await;
        assert_eq!(v, Ok(3));
        let e: Result<u32, &str> = memo.get("c", || async { Err("no") }).await;
        assert_eq!(e, Err("no"));
        let v: Result<u32, ()> = memo.get("c", || async { Ok(4) }).await;
        assert_eq!(v, Ok(4));
    }

    #[tokio::test]
    async fn a_zero_ttl_reads_every_time() {
        let memo = BucketMemo::<u32>::new(Some(Duration::ZERO));
        let _: Result<u32, ()> = memo.get("b", || async { Ok(1) }).await;
        let v: Result<u32, ()> = memo.get("b", || async { Ok(2) }).await;
        assert_eq!(v, Ok(2));
    }
}
