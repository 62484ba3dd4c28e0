//! The sweeper: a background task that applies the buckets' lifecycle
//! rules, deleting expired objects and aborting stale multipart uploads.
//!
//! A *pass* visits every bucket that has rules (a store-wide index the
//! lifecycle API keeps, `rules::INDEX_PREFIX`), in name order: it reads the
//! bucket's rules,
//! lists the objects under the prefix its expiring rules share, deletes
//! those that expired, then does the same for open multipart uploads. A
//! pass is cut into *ticks* ([`Sweeper::tick`], every `interval`), each
//! bounded in I/O: at most `max_reads` reads (the index, a bucket's
//! rules, a page of objects or uploads) and `max_deletes` deletes and
//! aborts. Where a tick stops is the [`Cursor`]; the next tick resumes
//! there, and a finished pass starts over on the next tick.
//!
//! Restarts: all the work is derived from what is stored (the rules, and
//! each object's Last-Modified or upload's initiation time), so a sweep may
//! stop anywhere. The cursor is kept as a store-wide document after every
//! tick that moved it, so a restarted node resumes its pass; a missing or
//! unreadable cursor only means starting the pass over.
//!
//! Several gateway nodes may run a sweeper over the same backend: they then
//! do the same work twice, and that is safe, because deleting a missing
//! object and aborting an ended upload are no-ops (`[lifecycle] enabled`
//! turns the sweeper off on a node).
//!
//! An object is deleted through `Store::delete_object`, the path
//! DeleteObject takes (the gateway's own-recent-deletes filter sees it), and
//! only after a fresh HEAD shows it is still expired: an object overwritten
//! since the listing is new, and kept. Processed variants need no extra
//! care: they are served only after the source's HEAD (`images`), which
//! then answers 404, as after a DeleteObject.
//!
//! The clock is an argument of [`Sweeper::tick`] and the length of a day a
//! setting, so tests drive the sweeper with an injected clock or days of
//! two seconds.

use super::rules::{index_written, Candidate, LifecycleConfig, INDEX_GRACE, INDEX_PREFIX, SETTING};
use crate::config::LifecycleConfig as FileSettings;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use storage::{ListQuery, Store, UploadsQuery};
use tokio::sync::watch;

/// The store-wide document the cursor is kept in.
const CURSOR_DOC: &str = "lifecycle/cursor";
/// The cursor record's version.
const CURSOR_VERSION: u32 = 1;
/// Keys or uploads asked for per listing page.
const PAGE: usize = 1000;
/// The fewest reads a tick may make: the bucket list, a bucket's rules and
/// one page, so that every tick moves the cursor.
const MIN_READS: u32 = 3;

/// How the sweeper runs, from `[lifecycle]` (`config::LifecycleConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepSettings {
    /// Time between two ticks.
    pub interval: Duration,
    /// The length of a lifecycle day (24 h but in tests).
    pub day: Duration,
    /// Most deletes and aborts per tick.
    pub max_deletes: u32,
    /// Most reads per tick (at least [`MIN_READS`]).
    pub max_reads: u32,
}

impl SweepSettings {
    /// The settings of `[lifecycle]`, `None` when the sweeper is off.
    pub fn from_config(c: &FileSettings) -> Option<Self> {
        c.enabled.then(|| SweepSettings {
            interval: Duration::from_secs(c.interval_secs.max(1)),
            day: Duration::from_secs(c.day_secs.max(1)),
            max_deletes: c.max_deletes_per_tick,
            max_reads: c.max_reads_per_tick,
        })
    }
}

/// Where in its bucket a pass stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Listing objects after this key.
    Objects { after: Option<String> },
    /// Listing uploads after these markers.
    Uploads {
        key_marker: Option<String>,
        upload_id_marker: Option<String>,
    },
}

impl Default for Phase {
    fn default() -> Self {
        Phase::Objects { after: None }
    }
}

/// Where the sweep stands between ticks (and restarts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The record's version.
    pub v: u32,
    /// The bucket being swept; `None` at the start of a pass.
    pub bucket: Option<String>,
    /// How far into it.
    pub phase: Phase,
}

/// What one tick did: counts only (keys are never logged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Buckets whose rules were read.
    pub buckets: u32,
    /// Reads made.
    pub reads: u32,
    /// Objects deleted.
    pub expired: u32,
    /// Multipart uploads aborted.
    pub aborted: u32,
    /// Deletes, aborts or buckets that failed (logged, skipped).
    pub failed: u32,
    /// Whether the tick finished a pass over every bucket.
    pub pass_done: bool,
}

/// A tick's remaining allowance.
struct Budget {
    reads: u32,
    deletes: u32,
}

impl Budget {
    /// Takes one read, if any is left.
    fn read(&mut self) -> bool {
        self.reads.checked_sub(1).map(|r| self.reads = r).is_some()
    }

    /// Takes one delete, if any is left.
    fn delete(&mut self) -> bool {
        self.deletes
            .checked_sub(1)
            .map(|d| self.deletes = d)
            .is_some()
    }
}

/// How far a tick got in one bucket.
enum Outcome {
    /// The bucket is swept (or had nothing to sweep).
    Done,
    /// The budget ran out; the cursor says where.
    Spent,
}

/// The sweeper of one node.
pub struct Sweeper {
    store: Arc<dyn Store>,
    settings: SweepSettings,
    cursor: Cursor,
    /// The cursor as last written to the store.
    saved: Cursor,
    /// The buckets this pass has yet to visit, current first; `None`
    /// between passes.
    pending: Option<VecDeque<String>>,
    /// When each of this pass's index entries was written (`None`: not
    /// said, old).
    written: HashMap<String, Option<SystemTime>>,
}

impl std::fmt::Debug for Sweeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sweeper")
            .field("settings", &self.settings)
            .field("cursor", &self.cursor)
            .finish_non_exhaustive()
    }
}

impl Sweeper {
    /// A sweeper at the start of a pass.
    pub fn new(store: Arc<dyn Store>, settings: SweepSettings) -> Self {
        let start = Cursor {
            v: CURSOR_VERSION,
            ..Cursor::default()
        };
        Sweeper {
            store,
            settings,
            cursor: start.clone(),
            saved: start,
            pending: None,
            written: HashMap::new(),
        }
    }

    /// Where the sweep stands.
    pub fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    /// Resumes from the cursor a previous run left in the store, if any.
    pub async fn load_cursor(&mut self) {
        match self.store.system_doc(CURSOR_DOC).await {
            Ok(Some(raw)) => match serde_json::from_slice::<Cursor>(&raw) {
                Ok(c) if c.v == CURSOR_VERSION => {
                    self.cursor = c.clone();
                    self.saved = c;
                }
                // Only progress is lost: the pass starts over.
                _ => tracing::warn!("lifecycle cursor unreadable; starting a new pass"),
            },
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "lifecycle cursor not read; starting a new pass"),
        }
    }

    /// Runs ticks every `interval` until `stop` turns true. A tick in
    /// progress is dropped at shutdown: each store call it makes is atomic,
    /// and the next start resumes from the last saved cursor.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let stopped = |s: &bool| *s;
        tokio::select! {
            _ = self.load_cursor() => {}
            _ = stop.wait_for(stopped) => return,
        }
        let mut timer = tokio::time::interval(self.settings.interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = timer.tick() => {}
                _ = stop.wait_for(stopped) => return,
            }
            let report = tokio::select! {
                r = self.tick(SystemTime::now()) => r,
                _ = stop.wait_for(stopped) => return,
            };
            log(&report);
        }
    }

    /// One bounded step of the sweep, as of `now`.
    pub async fn tick(&mut self, now: SystemTime) -> TickReport {
        let mut report = TickReport::default();
        let mut budget = Budget {
            reads: self.settings.max_reads.max(MIN_READS),
            deletes: self.settings.max_deletes,
        };
        if self.pending.is_none() {
            budget.read();
            report.reads += 1;
            match self.store.list_system_docs(INDEX_PREFIX).await {
                Ok(list) => {
                    self.written = list
                        .into_iter()
                        .filter_map(|(name, entry)| {
                            let bucket = name.strip_prefix(INDEX_PREFIX)?.to_string();
                            Some((bucket, index_written(&entry)))
                        })
                        .collect();
                    let mut names: Vec<String> = self.written.keys().cloned().collect();
                    names.sort();
                    self.start_pass(names);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "lifecycle: cannot list the buckets with rules");
                    report.failed += 1;
                    return report;
                }
            }
        }
        let start_reads = budget.reads;
        while let Some(bucket) = self.pending.as_ref().and_then(|p| p.front()).cloned() {
            match self
                .sweep_bucket(&bucket, now, &mut budget, &mut report)
                .await
            {
                Ok(Outcome::Spent) => break,
                Ok(Outcome::Done) => {}
                Err(e) => {
                    // Skipped for this pass; the next one tries again.
                    tracing::warn!(bucket, error = %e, "lifecycle: bucket not swept");
                    report.failed += 1;
                }
            }
            self.next_bucket();
        }
        report.reads += start_reads - budget.reads;
        if self.pending.as_ref().is_some_and(VecDeque::is_empty) {
            self.pending = None;
            self.cursor = Cursor {
                v: CURSOR_VERSION,
                ..Cursor::default()
            };
            report.pass_done = true;
        }
        self.save_cursor().await;
        report
    }

    /// Starts a pass over `names` (sorted), skipping the buckets before the
    /// cursor's: a restarted node resumes where it stood.
    fn start_pass(&mut self, names: Vec<String>) {
        let from = self.cursor.bucket.clone();
        let pending: VecDeque<String> = names
            .into_iter()
            .filter(|n| from.as_ref().is_none_or(|f| n >= f))
            .collect();
        if pending.front() != from.as_ref() {
            // The cursor's bucket is gone: its position means nothing.
            self.cursor.phase = Phase::default();
        }
        self.cursor.bucket = pending.front().cloned();
        self.pending = Some(pending);
    }

    /// Moves the cursor to the next bucket of the pass.
    fn next_bucket(&mut self) {
        if let Some(p) = self.pending.as_mut() {
            p.pop_front();
            self.cursor.bucket = p.front().cloned();
        }
        self.cursor.phase = Phase::default();
    }

    /// Sweeps one bucket from the cursor on, within the budget.
    async fn sweep_bucket(
        &mut self,
        bucket: &str,
        now: SystemTime,
        budget: &mut Budget,
        report: &mut TickReport,
    ) -> Result<Outcome, String> {
        if !budget.read() {
            return Ok(Outcome::Spent);
        }
        report.buckets += 1;
        let rules = match self.store.bucket_setting(bucket, SETTING).await {
            Ok(Some(raw)) => LifecycleConfig::from_record(&raw).map_err(|e| format!("{e:?}"))?,
            // Rules not written yet: the entry is kept while it is young
            // (PutBucketLifecycle writes it first; `INDEX_GRACE`).
            Ok(None)
                if self
                    .written
                    .get(bucket)
                    .copied()
                    .flatten()
                    .is_some_and(|t| now.duration_since(t).unwrap_or_default() < INDEX_GRACE) =>
            {
                return Ok(Outcome::Done);
            }
            // Deleted meanwhile, or its rules were: it leaves the index
            // (a failed removal is tried again next pass).
            Ok(None) | Err(storage::Error::NoSuchBucket(_)) => {
                let entry = format!("{INDEX_PREFIX}{bucket}");
                if let Err(e) = self.store.put_system_doc(&entry, None).await {
                    tracing::debug!(bucket, error = %e, "lifecycle index entry not removed");
                }
                return Ok(Outcome::Done);
            }
            Err(e) => return Err(e.to_string()),
        };
        if let Phase::Objects { .. } = self.cursor.phase {
            if let Some(prefix) = rules.objects_prefix() {
                if let Outcome::Spent = self
                    .expire_objects(bucket, &rules, &prefix, now, budget, report)
                    .await?
                {
                    return Ok(Outcome::Spent);
                }
            }
            self.cursor.phase = Phase::Uploads {
                key_marker: None,
                upload_id_marker: None,
            };
        }
        if let Some(prefix) = rules.uploads_prefix() {
            return self
                .abort_uploads(bucket, &rules, &prefix, now, budget, report)
                .await;
        }
        Ok(Outcome::Done)
    }

    async fn expire_objects(
        &mut self,
        bucket: &str,
        rules: &LifecycleConfig,
        prefix: &str,
        now: SystemTime,
        budget: &mut Budget,
        report: &mut TickReport,
    ) -> Result<Outcome, String> {
        loop {
            let Phase::Objects { after } = &self.cursor.phase else {
                return Ok(Outcome::Done);
            };
            if budget.deletes == 0 || !budget.read() {
                return Ok(Outcome::Spent);
            }
            let query = ListQuery {
                prefix: prefix.to_string(),
                delimiter: None,
                start_after: after.clone(),
                max_keys: PAGE,
            };
            let page = match self.store.list_objects(bucket, &query).await {
                Ok(p) => p,
                Err(storage::Error::NoSuchBucket(_)) => return Ok(Outcome::Done),
                Err(e) => return Err(e.to_string()),
            };
            for obj in &page.objects {
                let day = self.settings.day;
                if rules
                    // A listing has no tags: tag rules are checked on
                    // the object itself (`expire`), which costs its read.
                    .expired_by(
                        &Candidate {
                            key: &obj.key,
                            size: obj.size,
                            tags: None,
                            last_modified: obj.last_modified,
                        },
                        now,
                        day,
                    )
                    .is_some()
                {
                    if !budget.delete() {
                        return Ok(Outcome::Spent);
                    }
                    match self.expire(bucket, &obj.key, rules, now).await {
                        Ok(true) => report.expired += 1,
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!(bucket, error = %e, "lifecycle: an object was not deleted");
                            report.failed += 1;
                        }
                    }
                }
                self.cursor.phase = Phase::Objects {
                    after: Some(obj.key.clone()),
                };
            }
            if !page.is_truncated || page.objects.is_empty() {
                return Ok(Outcome::Done);
            }
        }
    }

    /// Deletes `key` if a fresh look still finds it expired (it may have
    /// been written again since the listing); whether it deleted it.
    async fn expire(
        &self,
        bucket: &str,
        key: &str,
        rules: &LifecycleConfig,
        now: SystemTime,
    ) -> storage::Result<bool> {
        let meta = match self.store.head_object(bucket, key).await {
            Ok(m) => m,
            Err(storage::Error::NoSuchKey(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        if rules
            .expired_by(
                &Candidate {
                    key,
                    size: meta.size,
                    tags: Some(&meta.attrs.tags),
                    last_modified: meta.last_modified,
                },
                now,
                self.settings.day,
            )
            .is_none()
        {
            return Ok(false);
        }
        // The same path as DeleteObject.
        self.store.delete_object(bucket, key).await
    }

    async fn abort_uploads(
        &mut self,
        bucket: &str,
        rules: &LifecycleConfig,
        prefix: &str,
        now: SystemTime,
        budget: &mut Budget,
        report: &mut TickReport,
    ) -> Result<Outcome, String> {
        loop {
            let Phase::Uploads {
                key_marker,
                upload_id_marker,
            } = &self.cursor.phase
            else {
                return Ok(Outcome::Done);
            };
            if budget.deletes == 0 || !budget.read() {
                return Ok(Outcome::Spent);
            }
            let query = UploadsQuery {
                prefix: prefix.to_string(),
                delimiter: None,
                key_marker: key_marker.clone(),
                upload_id_marker: upload_id_marker.clone(),
                max_uploads: PAGE,
            };
            let page = match self.store.list_multipart_uploads(bucket, &query).await {
                Ok(p) => p,
                Err(storage::Error::NoSuchBucket(_)) => return Ok(Outcome::Done),
                Err(e) => return Err(e.to_string()),
            };
            for u in &page.uploads {
                if rules
                    .abort_by(&u.key, u.initiated, now, self.settings.day)
                    .is_some()
                {
                    if !budget.delete() {
                        return Ok(Outcome::Spent);
                    }
                    match self
                        .store
                        .abort_multipart_upload(bucket, &u.key, &u.upload_id)
                        .await
                    {
                        Ok(()) => report.aborted += 1,
                        // Completed or aborted meanwhile (another node).
                        Err(storage::Error::NoSuchUpload(_)) => {}
                        Err(e) => {
                            tracing::warn!(bucket, error = %e, "lifecycle: an upload was not aborted");
                            report.failed += 1;
                        }
                    }
                }
                self.cursor.phase = Phase::Uploads {
                    key_marker: Some(u.key.clone()),
                    upload_id_marker: Some(u.upload_id.clone()),
                };
            }
            if !page.is_truncated || page.uploads.is_empty() {
                return Ok(Outcome::Done);
            }
        }
    }

    /// Writes the cursor if it moved since last written.
    async fn save_cursor(&mut self) {
        if self.cursor == self.saved {
            return;
        }
        let raw = match serde_json::to_vec(&self.cursor) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "lifecycle cursor not encoded");
                return;
            }
        };
        match self.store.put_system_doc(CURSOR_DOC, Some(raw)).await {
            Ok(()) => self.saved = self.cursor.clone(),
            // Kept in memory; a restart before the next save repeats work.
            Err(e) => tracing::warn!(error = %e, "lifecycle cursor not saved"),
        }
    }
}

/// Logs a tick: at info when it changed something, else at debug.
fn log(r: &TickReport) {
    if r.expired + r.aborted + r.failed > 0 {
        tracing::info!(
            buckets = r.buckets,
            reads = r.reads,
            expired = r.expired,
            aborted = r.aborted,
            failed = r.failed,
            pass_done = r.pass_done,
            "lifecycle tick"
        );
    } else {
        tracing::debug!(
            buckets = r.buckets,
            reads = r.reads,
            pass_done = r.pass_done,
            "lifecycle tick"
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use storage::{CannedAcl, EmbeddedStore, ObjectAttrs};

    const DAY: Duration = Duration::from_secs(86_400);

    fn settings(max_reads: u32, max_deletes: u32) -> SweepSettings {
        SweepSettings {
            interval: Duration::from_secs(60),
            day: DAY,
            max_deletes,
            max_reads,
        }
    }

    async fn put(store: &dyn Store, bucket: &str, key: &str) -> SystemTime {
        let w = store.object_writer(bucket, key).await.unwrap();
        w.commit(ObjectAttrs::default(), None)
            .await
            .unwrap()
            .last_modified
    }

    async fn rules(store: &dyn Store, bucket: &str, xml: &str) {
        let c = LifecycleConfig::from_xml(xml.as_bytes()).unwrap();
        store
            .put_system_doc(&format!("{INDEX_PREFIX}{bucket}"), Some(Vec::new()))
            .await
            .unwrap();
        store
            .put_bucket_setting(bucket, SETTING, Some(c.to_record().unwrap()))
            .await
            .unwrap();
    }

    /// An embedded store in a temporary directory (kept while the guard
    /// lives), with `buckets` created.
    async fn store_with(buckets: &[&str]) -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        for b in buckets {
            store
                .create_bucket(b, CannedAcl::Private, "")
                .await
                .unwrap();
        }
        (dir, store)
    }

    async fn keys(store: &dyn Store, bucket: &str) -> Vec<String> {
        let q = ListQuery {
            max_keys: 1000,
            ..Default::default()
        };
        let page = store.list_objects(bucket, &q).await.unwrap();
        page.objects.into_iter().map(|o| o.key).collect()
    }

    const EXPIRE_LOGS: &str = "<LifecycleConfiguration><Rule><ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule><Rule><ID>up</ID><Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>";

    #[tokio::test]
    async fn expires_by_the_injected_clock() {
        let (_dir, store) = store_with(&["b", "plain"]).await;
        let t = put(&*store, "b", "logs/1").await;
        put(&*store, "b", "keep/1").await;
        put(&*store, "plain", "logs/1").await;
        let up = store
            .create_multipart_upload("b", "big", ObjectAttrs::default())
            .await
            .unwrap();
        rules(&*store, "b", EXPIRE_LOGS).await;
        let mut s = Sweeper::new(store.clone(), settings(100, 100));

        // Not a day yet: nothing happens; the pass completes.
        let r = s.tick(t).await;
        assert_eq!((r.expired, r.aborted, r.pass_done), (0, 0, true));
        assert_eq!(keys(&*store, "b").await, ["keep/1", "logs/1"]);

        // Two days on: the log expired (a day, rounded up to midnight) and
        // so did the upload (two days, rounded); nothing else.
        let later = due(t, 2);
        let r = s.tick(later).await;
        assert_eq!((r.expired, r.aborted, r.pass_done), (1, 1, true), "{r:?}");
        assert_eq!(keys(&*store, "b").await, ["keep/1"]);
        assert_eq!(keys(&*store, "plain").await, ["logs/1"]);
        assert!(store.multipart_upload("b", "big", &up).await.is_err());
    }

    #[tokio::test]
    async fn a_tag_rule_deletes_only_the_objects_with_its_tags() {
        let (_dir, store) = store_with(&["b"]).await;
        let mut t = SystemTime::UNIX_EPOCH;
        for (key, temp) in [
            ("a", Some("yes")),
            ("b", Some("no")),
            ("c", None),
            ("d", Some("yes")),
        ] {
            let attrs = ObjectAttrs {
                tags: temp
                    .map(|v| [("temp".to_string(), v.to_string())].into())
                    .unwrap_or_default(),
                ..ObjectAttrs::default()
            };
            let w = store.object_writer("b", key).await.unwrap();
            t = w.commit(attrs, None).await.unwrap().last_modified;
        }
        rules(
            &*store,
            "b",
            "<LifecycleConfiguration><Rule><ID>temp</ID><Filter><Tag><Key>temp</Key><Value>yes</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>",
        )
        .await;
        let mut s = Sweeper::new(store.clone(), settings(100, 100));
        let r = s.tick(due(t, 1)).await;
        assert_eq!((r.expired, r.failed, r.pass_done), (2, 0, true), "{r:?}");
        assert_eq!(keys(&*store, "b").await, ["b", "c"]);
    }

    #[tokio::test]
    async fn a_size_rule_deletes_only_the_objects_past_its_bound() {
        let (_dir, store) = store_with(&["b"]).await;
        let mut t = SystemTime::UNIX_EPOCH;
        for (key, size) in [("small", 10usize), ("large", 11), ("huge", 5000)] {
            let mut w = store.object_writer("b", key).await.unwrap();
            w.write(&vec![7u8; size]).await.unwrap();
            t = w
                .commit(ObjectAttrs::default(), None)
                .await
                .unwrap()
                .last_modified;
        }
        rules(
            &*store,
            "b",
            "<LifecycleConfiguration><Rule><ID>big</ID><Filter><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>",
        )
        .await;
        let mut s = Sweeper::new(store.clone(), settings(100, 100));
        let r = s.tick(due(t, 1)).await;
        assert_eq!((r.expired, r.failed), (2, 0), "{r:?}");
        assert_eq!(keys(&*store, "b").await, ["small"]);
    }

    /// When something made at `t` is due under a `days` rule.
    fn due(t: SystemTime, days: u32) -> SystemTime {
        super::super::rules::due_after_days(t, days, DAY)
    }

    #[tokio::test]
    async fn each_tick_is_bounded_and_resumes() {
        let (_dir, store) = store_with(&["b"]).await;
        let mut t = SystemTime::UNIX_EPOCH;
        for i in 0..7 {
            t = put(&*store, "b", &format!("logs/{i}")).await;
        }
        rules(&*store, "b", EXPIRE_LOGS).await;
        let now = due(t, 1);
        let mut s = Sweeper::new(store.clone(), settings(3, 3));
        let r = s.tick(now).await;
        assert_eq!(r.expired, 3, "{r:?}");
        assert!(r.reads <= 3);
        assert!(!r.pass_done);
        assert_eq!(s.cursor().bucket.as_deref(), Some("b"));

        // A restart: a new sweeper resumes from the stored cursor.
        let mut s = Sweeper::new(store.clone(), settings(3, 3));
        s.load_cursor().await;
        assert_eq!(s.cursor().bucket.as_deref(), Some("b"));
        let r = s.tick(now).await;
        assert_eq!(r.expired, 3, "{r:?}");
        // The rest, then the (empty) uploads: the pass is done.
        let r = s.tick(now).await;
        assert_eq!((r.expired, r.pass_done), (1, true), "{r:?}");
        assert!(keys(&*store, "b").await.is_empty());
    }

    #[tokio::test]
    async fn a_young_index_entry_waits_for_its_rules() {
        let (_dir, store) = store_with(&["b"]).await;
        // PutBucketLifecycle between its two writes: the entry, no rules yet.
        let now = SystemTime::now();
        let entry = format!("{INDEX_PREFIX}b");
        store
            .put_system_doc(&entry, Some(super::super::rules::index_entry(now)))
            .await
            .unwrap();
        let mut s = Sweeper::new(store.clone(), settings(100, 100));
        s.tick(now).await;
        assert!(store.system_doc(&entry).await.unwrap().is_some());
        // Still without rules long after: a stale entry, dropped.
        s.tick(now + INDEX_GRACE * 2).await;
        assert!(store.system_doc(&entry).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_store_without_rules_is_cheap() {
        let (_dir, store) = store_with(&["a", "b", "c"]).await;
        for b in ["a", "b", "c"] {
            put(&*store, b, "k").await;
        }
        // An index entry left by a bucket whose rules are gone.
        store
            .put_system_doc(&format!("{INDEX_PREFIX}b"), Some(Vec::new()))
            .await
            .unwrap();
        let mut s = Sweeper::new(store.clone(), settings(100, 100));
        let r = s.tick(SystemTime::now() + DAY * 1000).await;
        // The index, and the one bucket it names; no listing. The stale
        // entry is dropped, so the next pass reads the index alone.
        assert_eq!((r.reads, r.buckets, r.pass_done), (2, 1, true));
        let r = s.tick(SystemTime::now() + DAY * 1000).await;
        assert_eq!((r.reads, r.buckets, r.pass_done), (1, 0, true));
        // Nothing moved: no cursor written.
        assert!(store.system_doc(CURSOR_DOC).await.unwrap().is_none());
    }
}
