//! Admission to the processing pool: a job runs only while a slot is free
//! (`processing.concurrency`, the cores) *and* the memory its estimate
//! needs (`imaging::memory`) fits in what is left of
//! `processing.memory_budget`.
//!
//! A job is admitted in two steps, because its estimate needs the source's
//! header and the source is read only once a slot is held (so at most
//! `concurrency` sources are in memory): [`Admission::slot`] first, then
//! [`Slot::reserve`] with the estimate. Both wait in one bounded queue:
//! at most `queue_depth` requests wait at once, each for at most
//! `queue_timeout` from its arrival; past either the caller answers 503
//! `SlowDown`. A job that alone needs more than the whole budget is
//! refused at once ([`Refusal::TooLarge`]), since no amount of waiting
//! would admit it.
//!
//! Waiting for memory while holding a slot cannot deadlock: the memory in
//! use belongs to jobs that hold a slot and are running (a job reserves
//! only right before it runs), and they give it back when they end.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The admission limits (from `[processing]`).
#[derive(Debug, Clone, Copy)]
pub struct AdmissionConfig {
    /// Jobs running at once.
    pub slots: usize,
    /// Bytes the running jobs' estimates may add up to.
    pub memory_budget: u64,
    /// Requests that may wait at once; one more is refused.
    pub queue_depth: usize,
    /// Longest wait from arrival to admission.
    pub queue_timeout: Duration,
}

/// Why a job was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The job alone needs more than the whole budget (the client's
    /// image is too large: the dialect's "too large" error).
    TooLarge {
        /// The job's estimate.
        need: u64,
        /// `memory_budget`.
        budget: u64,
    },
    /// `queue_depth` requests were already waiting.
    QueueFull,
    /// The job waited `queue_timeout` without being admitted.
    Timeout,
}

/// What the pool holds now (metrics, tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Slots taken.
    pub running: usize,
    /// Bytes reserved by running jobs.
    pub bytes: u64,
    /// Requests waiting for a slot or for memory.
    pub waiting: usize,
}

/// The admission state shared by all requests.
#[derive(Debug)]
pub struct Admission {
    config: AdmissionConfig,
    usage: Mutex<Usage>,
    /// Woken whenever a slot or memory is given back.
    freed: Notify,
}

impl Admission {
    /// An empty pool with these limits.
    pub fn new(config: AdmissionConfig) -> Arc<Self> {
        Arc::new(Admission {
            config,
            usage: Mutex::new(Usage::default()),
            freed: Notify::new(),
        })
    }

    /// The limits.
    pub fn config(&self) -> &AdmissionConfig {
        &self.config
    }

    /// What is in use now.
    pub fn usage(&self) -> Usage {
        *self.lock()
    }

    fn lock(&self) -> MutexGuard<'_, Usage> {
        // The counters stay consistent under every lock (each update is
        // one statement), so a panic elsewhere cannot leave them torn.
        self.usage.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One processing slot, waiting in the queue while all are taken.
    pub async fn slot(self: &Arc<Self>) -> Result<Slot, Refusal> {
        let arrived = Instant::now();
        let slots = self.config.slots.max(1);
        self.wait(arrived, |u| {
            let free = u.running < slots;
            if free {
                u.running += 1;
            }
            free
        })
        .await?;
        Ok(Slot {
            admission: self.clone(),
            bytes: 0,
            arrived,
        })
    }

    /// Waits until `take` succeeds on the usage (it changes it when it
    /// does), or refuses: queue full at arrival, or past the deadline.
    async fn wait(
        &self,
        arrived: Instant,
        mut take: impl FnMut(&mut Usage) -> bool,
    ) -> Result<(), Refusal> {
        {
            let mut u = self.lock();
            if take(&mut u) {
                return Ok(());
            }
            if u.waiting >= self.config.queue_depth {
                return Err(Refusal::QueueFull);
            }
            u.waiting += 1;
        }
        // Leaves the queue however the wait ends, including the request
        // being dropped because its client hung up.
        let _queued = Queued(self);
        let deadline = arrived
            .checked_add(self.config.queue_timeout)
            .map(tokio::time::Instant::from_std);
        loop {
            // Registered before looking, so a release between the look and
            // the await is not missed.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if take(&mut self.lock()) {
                return Ok(());
            }
            match deadline {
                Some(d) => {
                    if tokio::time::timeout_at(d, freed).await.is_err() {
                        return Err(Refusal::Timeout);
                    }
                }
                None => freed.await,
            }
        }
    }
}

/// A request's place in the queue, counted while it waits.
struct Queued<'a>(&'a Admission);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        let mut u = self.0.lock();
        u.waiting = u.waiting.saturating_sub(1);
    }
}

/// A held processing slot and the memory reserved for its job; both are
/// given back when it is dropped (the job ended, failed or was abandoned).
#[derive(Debug)]
pub struct Slot {
    admission: Arc<Admission>,
    bytes: u64,
    arrived: Instant,
}

impl Slot {
    /// Reserves `need` bytes of the memory budget for this slot's job,
    /// waiting (in the same queue, under the same deadline) until the
    /// running jobs leave room.
    pub async fn reserve(&mut self, need: u64) -> Result<(), Refusal> {
        let budget = self.admission.config.memory_budget;
        if need > budget {
            return Err(Refusal::TooLarge { need, budget });
        }
        let more = need.saturating_sub(self.bytes);
        if more == 0 {
            return Ok(());
        }
        self.admission
            .wait(self.arrived, |u| {
                let fits = u.bytes.saturating_add(more) <= budget;
                if fits {
                    u.bytes += more;
                }
                fits
            })
            .await?;
        self.bytes += more;
        Ok(())
    }

    /// The bytes this slot holds.
    pub fn reserved(&self) -> u64 {
        self.bytes
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        {
            let mut u = self.admission.lock();
            u.running = u.running.saturating_sub(1);
            u.bytes = u.bytes.saturating_sub(self.bytes);
        }
        self.admission.freed.notify_waiters();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pool(slots: usize, budget: u64, depth: usize, timeout_ms: u64) -> Arc<Admission> {
        Admission::new(AdmissionConfig {
            slots,
            memory_budget: budget,
            queue_depth: depth,
            queue_timeout: Duration::from_millis(timeout_ms),
        })
    }

    #[tokio::test]
    async fn memory_is_shared_and_given_back() {
        let a = pool(4, 100, 4, 5_000);
        let mut s1 = a.slot().await.unwrap();
        s1.reserve(60).await.unwrap();
        let mut s2 = a.slot().await.unwrap();
        // 60 + 60 > 100: s2 waits until s1 ends.
        let waiter = tokio::spawn(async move {
            s2.reserve(60).await.unwrap();
            s2
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            a.usage(),
            Usage {
                running: 2,
                bytes: 60,
                waiting: 1
            }
        );
        drop(s1);
        let s2 = waiter.await.unwrap();
        assert_eq!(s2.reserved(), 60);
        assert_eq!(a.usage().bytes, 60);
        assert_eq!(a.usage().waiting, 0);
        drop(s2);
        assert_eq!(a.usage(), Usage::default());
    }

    #[tokio::test]
    async fn a_job_over_the_whole_budget_is_refused_at_once() {
        let a = pool(1, 100, 4, 5_000);
        let mut s = a.slot().await.unwrap();
        assert_eq!(
            s.reserve(101).await,
            Err(Refusal::TooLarge {
                need: 101,
                budget: 100
            })
        );
        // Exactly the budget fits.
        s.reserve(100).await.unwrap();
    }

    #[tokio::test]
    async fn the_queue_is_bounded_and_waits_time_out() {
        let a = pool(1, 100, 1, 100);
        let held = a.slot().await.unwrap();
        let a2 = a.clone();
        let first = tokio::spawn(async move { a2.slot().await.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        // One waits already: the next is refused without waiting.
        assert_eq!(a.slot().await.unwrap_err(), Refusal::QueueFull);
        // The waiter gives up after queue_timeout, and leaves the queue.
        let started = Instant::now();
        assert_eq!(first.await.unwrap(), Err(Refusal::Timeout));
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(a.usage().waiting, 0);
        drop(held);
        assert!(a.slot().await.is_ok());
    }

    #[tokio::test]
    async fn an_abandoned_waiter_leaves_the_queue() {
        let a = pool(1, 100, 1, 60_000);
        let held = a.slot().await.unwrap();
        let a2 = a.clone();
        let w = tokio::spawn(async move { a2.slot().await.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(a.usage().waiting, 1);
        w.abort();
        let _ = w.await;
        assert_eq!(a.usage().waiting, 0);
        drop(held);
        assert_eq!(a.usage(), Usage::default());
    }

    #[tokio::test]
    async fn zero_timeout_never_waits() {
        let a = pool(1, 100, 8, 0);
        let _held = a.slot().await.unwrap();
        assert_eq!(a.slot().await.unwrap_err(), Refusal::Timeout);
    }
}
