//! The bucket image settings every GET may need, kept in memory.
//!
//! A plain GET or HEAD must know whether its bucket has style separators
//! (`key!style`) or source protection. Reading the setting from the store
//! on every request would cost every read one more metadata lookup, so the
//! settings of a bucket are loaded once and kept here. Every write of them
//! goes through this process (the `?x-imgbucket-image-config` API, and
//! bucket creation and deletion, which the front door reports), so the
//! cached copy is replaced or dropped exactly when the stored one changes.
//! A bucket whose settings could not be read (it does not exist) is not
//! cached.
//!
//! In gateway mode other nodes write the same settings, so an entry is
//! also dropped once older than the cache's time-to-live
//! ([`SettingsCache::with_ttl`]), which bounds how long another node's
//! change goes unseen.

use super::error::ProcessError;
use super::styles::{self, ImageConfig};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storage::Store;

/// Bucket name → its image settings (defaults when none are stored).
#[derive(Debug, Default)]
pub struct SettingsCache {
    inner: Mutex<Inner>,
    /// How long an entry is trusted; `None`: until this process changes it.
    ttl: Option<Duration>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Bucket → (when read, what was read).
    configs: HashMap<String, (Instant, Arc<ImageConfig>)>,
    /// Bumped by every [`SettingsCache::forget`]: a read that started
    /// before a write must not store what it read after that write.
    generation: u64,
}

impl SettingsCache {
    /// A cache whose entries are read again once older than `ttl`.
    pub fn with_ttl(ttl: Option<Duration>) -> Self {
        SettingsCache {
            ttl,
            ..Default::default()
        }
    }

    /// The bucket's settings: from memory, else read once from the store.
    pub async fn get(
        &self,
        store: &dyn Store,
        bucket: &str,
    ) -> Result<Arc<ImageConfig>, ProcessError> {
        let generation = match self.inner.lock() {
            Ok(inner) => match inner.configs.get(bucket) {
                Some((at, c)) if self.ttl.is_none_or(|ttl| at.elapsed() < ttl) => {
                    return Ok(c.clone())
                }
                _ => Some(inner.generation),
            },
            // A poisoned map only costs reads from the store.
            Err(_) => None,
        };
        let read_at = Instant::now();
        let config = Arc::new(styles::image_config(store, bucket).await?);
        if let Ok(mut inner) = self.inner.lock() {
            if Some(inner.generation) == generation {
                inner
                    .configs
                    .insert(bucket.to_string(), (read_at, config.clone()));
            }
        }
        Ok(config)
    }

    /// Drops the bucket's entry: its settings were written, or the bucket
    /// was created or deleted.
    pub fn forget(&self, bucket: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.configs.remove(bucket);
            inner.generation += 1;
        }
    }
}
