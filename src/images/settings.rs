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

use super::error::ProcessError;
use super::styles::{self, ImageConfig};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use storage::Store;

/// Bucket name → its image settings (defaults when none are stored).
#[derive(Debug, Default)]
pub struct SettingsCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    configs: HashMap<String, Arc<ImageConfig>>,
    /// Bumped by every [`SettingsCache::forget`]: a read that started
    /// before a write must not store what it read after that write.
    generation: u64,
}

impl SettingsCache {
    /// The bucket's settings: from memory, else read once from the store.
    pub async fn get(
        &self,
        store: &dyn Store,
        bucket: &str,
    ) -> Result<Arc<ImageConfig>, ProcessError> {
        let generation = match self.inner.lock() {
            Ok(inner) => match inner.configs.get(bucket) {
                Some(c) => return Ok(c.clone()),
                None => Some(inner.generation),
            },
            // A poisoned map only costs reads from the store.
            Err(_) => None,
        };
        let config = Arc::new(styles::image_config(store, bucket).await?);
        if let Ok(mut inner) = self.inner.lock() {
            if Some(inner.generation) == generation {
                inner.configs.insert(bucket.to_string(), config.clone());
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
