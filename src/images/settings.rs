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
use crate::http::memo::BucketMemo;
use std::sync::Arc;
use std::time::Duration;
use storage::Store;

/// Bucket name → its image settings (defaults when none are stored).
#[derive(Debug, Default)]
pub struct SettingsCache {
    configs: BucketMemo<Arc<ImageConfig>>,
}

impl SettingsCache {
    /// A cache whose entries are read again once older than `ttl`.
    pub fn with_ttl(ttl: Option<Duration>) -> Self {
        SettingsCache {
            configs: BucketMemo::new(ttl),
        }
    }

    /// The bucket's settings: from memory, else read once from the store.
    pub async fn get(
        &self,
        store: &dyn Store,
        bucket: &str,
    ) -> Result<Arc<ImageConfig>, ProcessError> {
        self.configs
            .get(bucket, || async {
                Ok(Arc::new(styles::image_config(store, bucket).await?))
            })
            .await
    }

    /// Drops the bucket's entry: its settings were written, or the bucket
    /// was created or deleted.
    pub fn forget(&self, bucket: &str) {
        self.configs.forget(bucket);
    }
}
