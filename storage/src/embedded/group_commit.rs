//! Group commit: one metadata flush for all the writes committed while the
//! previous flush ran (step 7 of the durable write, module doc of
//! `embedded`).
//!
//! A write is acknowledged only once the metadata log that holds its
//! committed transaction is on disk. That flush (sled's flush, then an
//! fsync of its log file) costs the same disk round trips whether it covers
//! one transaction or fifty, so flushing once per write caps small writes at
//! the disk's flush rate, and concurrent writers queue behind each other's
//! flushes. Here they share them:
//!
//! - A writer that has committed its transaction calls
//!   [`GroupCommit::durable`]: it joins the queue and, if no flush is
//!   running, starts the *flusher* (a blocking-pool task).
//! - The flusher takes the whole queue as one batch, flushes, answers every
//!   waiter of the batch, then takes whatever queued meanwhile, until the
//!   queue is empty.
//!
//! What that guarantees:
//! - A waiter is answered only by a flush that **started after it queued**,
//!   hence after its transaction committed, since its batch is taken from
//!   the queue before that flush starts. A flush already under way when a
//!   writer commits may have read the log before the writer's record was in
//!   it, so it never answers that writer: the writer waits for the next.
//! - While a flush runs, newcomers queue for the next one, so the batch
//!   grows with the load by itself. There is no timer: a lone writer starts
//!   its flush at once and pays one flush, as without batching.
//! - A failed flush fails every waiter of its batch (each gets a copy of the
//!   error): none of their writes is known to be durable. The next batch
//!   flushes afresh.
//! - Waiters wait asynchronously (a oneshot each), so a batch of fifty holds
//!   one blocking-pool thread, not fifty.
//!
//! Work that must wait for durability (deleting the data files of the
//! version a write replaced, step 8) travels with the waiter and is run by
//! the flusher after the successful flush and before the waiter is
//! answered: it happens even if the writer's future is dropped meanwhile
//! (its client hung up), as the flush itself does.

use crate::error::{Error, Result};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;

/// Work to run once a write is durable, before its writer is answered.
pub(crate) type AfterFlush = Box<dyn FnOnce() + Send>;

/// The batching flusher of one store. See the module doc.
pub(crate) struct GroupCommit {
    shared: Arc<Shared>,
}

struct Shared {
    /// Makes every transaction committed before the call durable. Blocking.
    flush: Box<dyn Fn() -> Result<()> + Send + Sync>,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    /// A flusher task is running. Only the flusher clears it, under this
    /// lock, when it finds `waiting` empty; so a writer that queues either
    /// finds a flusher that has yet to look at the queue again (and will
    /// take it), or none, and starts one.
    flusher: bool,
    /// Writers committed since the running flush started (or since the
    /// last one, if none runs): the next batch.
    waiting: Vec<Waiter>,
}

struct Waiter {
    after: Option<AfterFlush>,
    reply: oneshot::Sender<Result<()>>,
}

impl GroupCommit {
    /// A group commit over `flush`, which must make durable every
    /// transaction committed before it is called.
    pub(crate) fn new(flush: impl Fn() -> Result<()> + Send + Sync + 'static) -> GroupCommit {
        GroupCommit {
            shared: Arc::new(Shared {
                flush: Box::new(flush),
                queue: Mutex::new(Queue::default()),
            }),
        }
    }

    /// Returns once a flush that started after this call has completed,
    /// with that flush's outcome; on success, `after` has run by then.
    /// Call it after committing the transaction to be made durable.
    pub(crate) async fn durable(&self, after: Option<AfterFlush>) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queue = self.shared.lock();
            queue.waiting.push(Waiter { after, reply });
            !std::mem::replace(&mut queue.flusher, true)
        };
        if start {
            // Not awaited: the flusher serves the whole batch, so it runs
            // to completion even if this writer's future is dropped.
            let shared = Arc::clone(&self.shared);
            drop(tokio::task::spawn_blocking(move || shared.run()));
        }
        match answer.await {
            Ok(outcome) => outcome,
            // The flusher task was dropped unrun (the runtime is shutting
            // down): this write is not known durable.
            Err(_) => Err(Error::Io(io::Error::other(
                "the metadata flush did not run",
            ))),
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The flusher: batches until the queue is empty. It never unwinds (a
    /// panic is caught and reported as a failure), so `flusher` is always
    /// cleared by the loop and no writer is left queued behind a flusher
    /// that is gone.
    fn run(&self) {
        loop {
            let batch = {
                let mut queue = self.lock();
                if queue.waiting.is_empty() {
                    queue.flusher = false;
                    return;
                }
                std::mem::take(&mut queue.waiting)
            };
            // Every waiter of `batch` queued before this point, after its
            // commit: this flush covers them all.
            let outcome = catch_unwind(AssertUnwindSafe(|| (self.flush)())).unwrap_or_else(|_| {
                Err(Error::Io(io::Error::other("the metadata flush panicked")))
            });
            for waiter in batch {
                let answer = match &outcome {
                    Ok(()) => {
                        if let Some(after) = waiter.after {
                            // The write is durable whatever happens here.
                            if catch_unwind(AssertUnwindSafe(after)).is_err() {
                                tracing::error!("work after a durable write panicked");
                            }
                        }
                        Ok(())
                    }
                    Err(e) => Err(copy_error(e)),
                };
                // A writer that went away (its client hung up) is durable
                // all the same; nobody is left to tell.
                let _ = waiter.reply.send(answer);
            }
        }
    }
}

/// A copy of a flush's error for each waiter of its batch (`Error` holds an
/// `io::Error`, which is not `Clone`). The I/O error kind is kept: it is
/// what the protocol layer maps (a full disk to its own answer).
fn copy_error(e: &Error) -> Error {
    match e {
        Error::Io(io) => Error::Io(match io.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(io.kind(), io.to_string()),
        }),
        Error::Corrupt(what) => Error::Corrupt(what.clone()),
        other => Error::Io(io::Error::other(other.to_string())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
    use std::time::Duration;

    /// A fake metadata log: `commit` appends a transaction; a flush makes
    /// durable exactly the transactions committed before it started (it
    /// snapshots the count, takes a while, then publishes the snapshot),
    /// as sled's flush does with its log offset.
    #[derive(Default)]
    struct FakeLog {
        committed: AtomicU64,
        durable: AtomicU64,
        flushes: AtomicUsize,
        running: AtomicUsize,
    }

    impl FakeLog {
        /// Commits one transaction; returns its number (1-based).
        fn commit(&self) -> u64 {
            self.committed.fetch_add(1, SeqCst) + 1
        }

        fn flush(&self) -> Result<()> {
            assert_eq!(self.running.fetch_add(1, SeqCst), 0, "flushes overlap");
            let covered = self.committed.load(SeqCst);
            std::thread::sleep(Duration::from_millis(2));
            self.durable.fetch_max(covered, SeqCst);
            self.flushes.fetch_add(1, SeqCst);
            self.running.fetch_sub(1, SeqCst);
            Ok(())
        }
    }

    async fn wait_until_queued(group: &GroupCommit, n: usize) {
        while group.shared.lock().waiting.len() < n {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn group_over(log: &Arc<FakeLog>) -> Arc<GroupCommit> {
        let log = Arc::clone(log);
        Arc::new(GroupCommit::new(move || log.flush()))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_share_flushes_and_wait_for_their_own() {
        let log = Arc::new(FakeLog::default());
        let group = group_over(&log);
        let writers = 64;
        let rounds = 20;
        let tasks: Vec<_> = (0..writers)
            .map(|_| {
                let (log, group) = (Arc::clone(&log), Arc::clone(&group));
                tokio::spawn(async move {
                    for _ in 0..rounds {
                        let mine = log.commit();
                        group.durable(None).await.unwrap();
                        // Answered only after a flush that saw this commit.
                        assert!(log.durable.load(SeqCst) >= mine);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let flushes = log.flushes.load(SeqCst);
        assert!(
            flushes >= rounds,
            "each writer waited for a flush per round"
        );
        assert!(
            flushes < writers * rounds / 4,
            "{flushes} flushes for {} writes: not batched",
            writers * rounds
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flush_under_way_does_not_answer_a_later_commit() {
        // The flush blocks until released, so a writer can commit and queue
        // while it is known to be running.
        let log = Arc::new(FakeLog::default());
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Mutex::new(release_rx);
        let started = Arc::new(AtomicUsize::new(0));
        let group = {
            let (log, started) = (Arc::clone(&log), Arc::clone(&started));
            Arc::new(GroupCommit::new(move || {
                let covered = log.committed.load(SeqCst);
                started.fetch_add(1, SeqCst);
                release_rx.lock().unwrap().recv().unwrap();
                log.durable.fetch_max(covered, SeqCst);
                log.flushes.fetch_add(1, SeqCst);
                Ok(())
            }))
        };
        log.commit();
        let first = tokio::spawn({
            let group = Arc::clone(&group);
            async move { group.durable(None).await }
        });
        while started.load(SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // The first flush is under way; a second writer commits now.
        let mine = log.commit();
        let second = tokio::spawn({
            let (group, log) = (Arc::clone(&group), Arc::clone(&log));
            async move {
                group.durable(None).await.unwrap();
                assert!(log.durable.load(SeqCst) >= mine);
                log.flushes.load(SeqCst)
            }
        });
        wait_until_queued(&group, 1).await;
        release_tx.send(()).unwrap();
        first.await.unwrap().unwrap();
        // Not answered by the first flush: it waits for a second one.
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!second.is_finished());
        release_tx.send(()).unwrap();
        assert_eq!(second.await.unwrap(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_flush_fails_its_whole_batch_and_the_next_one_flushes_again() {
        // Each flush waits to be released; the second one fails.
        let calls = Arc::new(AtomicUsize::new(0));
        let ran_after = Arc::new(AtomicUsize::new(0));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Mutex::new(release_rx);
        let group = {
            let calls = Arc::clone(&calls);
            Arc::new(GroupCommit::new(move || {
                let n = calls.fetch_add(1, SeqCst);
                release_rx.lock().unwrap().recv().unwrap();
                if n == 1 {
                    return Err(Error::Io(io::Error::new(
                        io::ErrorKind::StorageFull,
                        "injected: no space left",
                    )));
                }
                Ok(())
            }))
        };
        let durable_then_count = |group: &Arc<GroupCommit>| {
            let (group, ran_after) = (Arc::clone(group), Arc::clone(&ran_after));
            tokio::spawn(async move {
                let after: AfterFlush = Box::new(move || {
                    ran_after.fetch_add(1, SeqCst);
                });
                group.durable(Some(after)).await
            })
        };
        // A first writer holds the flusher in the first flush ...
        let first = durable_then_count(&group);
        while calls.load(SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // ... while five more queue for the second.
        let batch: Vec<_> = (0..5).map(|_| durable_then_count(&group)).collect();
        wait_until_queued(&group, 5).await;
        release_tx.send(()).unwrap(); // the first flush: succeeds
        first.await.unwrap().unwrap();
        assert_eq!(ran_after.load(SeqCst), 1);
        release_tx.send(()).unwrap(); // the batch's flush: fails
        for t in batch {
            let err = t.await.unwrap().unwrap_err();
            assert!(
                matches!(&err, Error::Io(e) if e.kind() == io::ErrorKind::StorageFull),
                "{err:?}"
            );
        }
        assert_eq!(calls.load(SeqCst), 2, "one flush for the batch of five");
        assert_eq!(
            ran_after.load(SeqCst),
            1,
            "nothing ran after the failed flush"
        );
        // The next writer gets a flush of its own, which succeeds.
        let next = durable_then_count(&group);
        release_tx.send(()).unwrap();
        next.await.unwrap().unwrap();
        assert_eq!(ran_after.load(SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_flush_fails_its_batch_and_the_flusher_goes_on() {
        let calls = Arc::new(AtomicUsize::new(0));
        let group = {
            let calls = Arc::clone(&calls);
            GroupCommit::new(move || {
                if calls.fetch_add(1, SeqCst) == 0 {
                    panic!("injected panic in a flush");
                }
                Ok(())
            })
        };
        assert!(group.durable(None).await.is_err());
        group.durable(None).await.unwrap();
        assert_eq!(calls.load(SeqCst), 2);
    }

    #[tokio::test]
    async fn a_lone_writer_gets_one_flush_per_write() {
        let log = Arc::new(FakeLog::default());
        let group = group_over(&log);
        for i in 1..=5 {
            let mine = log.commit();
            group.durable(None).await.unwrap();
            assert!(log.durable.load(SeqCst) >= mine);
            assert_eq!(log.flushes.load(SeqCst), i);
        }
    }
}
