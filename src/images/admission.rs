//! Admission to the processing pool: a job runs only while a slot is free
//! (`processing.concurrency`, the cores) *and* the memory its estimate
//! needs (`imaging::memory`) fits in what is left of
//! `processing.memory_budget`.
//!
//! A job is admitted in two steps, because its estimate needs the source's
//! header and the source is read only once a slot is held (so at most
//! `concurrency` sources are in memory): [`Admission::slot`] first, then
//! [`Slot::reserve`] with the estimate. At most `queue_depth` requests
//! wait for a slot at once, and every wait lasts at most `queue_timeout`
//! from the request's arrival; past either the caller answers 503
//! `SlowDown`. Each of the two waits is first come, first served: what is
//! freed goes to the oldest waiter, and a newcomer never passes it
//! (waking every waiter to race for it let some wait until their deadline
//! while later ones ran). They are two lines, not one: a job waiting for
//! memory already holds a slot, and behind requests waiting for slots it
//! would wait forever. A job that alone needs more than the whole budget is
//! refused at once ([`Refusal::TooLarge`]), since no amount of waiting
//! would admit it.
//!
//! Waiting for memory while holding a slot cannot deadlock: the memory in
//! use belongs to jobs that hold a slot and are running (a job reserves
//! only right before it runs), and they give it back when they end.

use std::collections::BTreeSet;
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

/// What a request waits for.
#[derive(Debug, Clone, Copy)]
enum Line {
    /// A processing slot.
    Slot = 0,
    /// Memory for the job of a slot it holds.
    Memory = 1,
}

/// The counters, and the two lines in arrival order.
#[derive(Debug, Default)]
struct State {
    usage: Usage,
    /// Tickets of the requests waiting in each [`Line`]; only the
    /// smallest of a line (its oldest waiter) may take what is freed.
    lines: [BTreeSet<u64>; 2],
    next_ticket: u64,
}

/// The admission state shared by all requests.
#[derive(Debug)]
pub struct Admission {
    config: AdmissionConfig,
    state: Mutex<State>,
    /// Woken whenever a slot or memory is given back.
    freed: Notify,
}

impl Admission {
    /// An empty pool with these limits.
    pub fn new(config: AdmissionConfig) -> Arc<Self> {
        Arc::new(Admission {
            config,
            state: Mutex::new(State::default()),
            freed: Notify::new(),
        })
    }

    /// The limits.
    pub fn config(&self) -> &AdmissionConfig {
        &self.config
    }

    /// What is in use now.
    pub fn usage(&self) -> Usage {
        self.lock().usage
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent under every lock (each update is one
        // statement), so a panic elsewhere cannot leave it torn.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One processing slot, waiting in the queue while all are taken.
    pub async fn slot(self: &Arc<Self>) -> Result<Slot, Refusal> {
        let arrived = Instant::now();
        let slots = self.config.slots.max(1);
        self.wait(arrived, Line::Slot, |u| {
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
        line: Line,
        mut take: impl FnMut(&mut Usage) -> bool,
    ) -> Result<(), Refusal> {
        let ticket = {
            let mut s = self.lock();
            if s.lines[line as usize].is_empty() && take(&mut s.usage) {
                return Ok(());
            }
            // Only the slot line is bounded: the memory line holds at most
            // one request per slot.
            if matches!(line, Line::Slot) && s.usage.waiting >= self.config.queue_depth {
                return Err(Refusal::QueueFull);
            }
            s.usage.waiting += 1;
            let ticket = s.next_ticket;
            s.next_ticket += 1;
            s.lines[line as usize].insert(ticket);
            ticket
        };
        // Leaves the line however the wait ends, including the request
        // being dropped because its client hung up.
        let _queued = Queued(self, line, ticket);
        let deadline = arrived
            .checked_add(self.config.queue_timeout)
            .map(tokio::time::Instant::from_std);
        loop {
            // Registered before looking, so a release between the look and
            // the await is not missed.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut s = self.lock();
                if s.lines[line as usize].first() == Some(&ticket) && take(&mut s.usage) {
                    return Ok(());
                }
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

/// A request's place in a line (its ticket), counted while it waits.
struct Queued<'a>(&'a Admission, Line, u64);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        {
            let mut s = self.0.lock();
            s.usage.waiting = s.usage.waiting.saturating_sub(1);
            s.lines[self.1 as usize].remove(&self.2);
        }
        // The next waiter is now the oldest: it looks whether what is
        // free is enough for it (two slots may have been freed at once).
        self.0.freed.notify_waiters();
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
    /// waiting (in the memory line, under the same deadline) until the
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
            .wait(self.arrived, Line::Memory, |u| {
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
            let mut s = self.admission.lock();
            s.usage.running = s.usage.running.saturating_sub(1);
            s.usage.bytes = s.usage.bytes.saturating_sub(self.bytes);
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

    #[tokio::test]
    async fn waiters_are_served_in_arrival_order() {
        let a = pool(1, 100, 16, 10_000);
        let held = a.slot().await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiters = Vec::new();
        for k in 0..6 {
            let (a2, order) = (a.clone(), order.clone());
            waiters.push(tokio::spawn(async move {
                let slot = a2.slot().await.unwrap();
                order.lock().unwrap().push(k);
                // Hold it across a yield, so that later waiters are woken
                // while it is taken.
                tokio::time::sleep(Duration::from_millis(2)).await;
                drop(slot);
            }));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(a.usage().waiting, 6);
        drop(held);
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(a.usage(), Usage::default());
    }

    #[tokio::test]
    async fn a_newcomer_does_not_pass_the_oldest_waiter() {
        // The oldest job waiting for memory needs 80 bytes while 50 are in
        // use; a later job that would fit (20) waits behind it instead of
        // starving it.
        let a = pool(3, 100, 4, 10_000);
        let mut running = a.slot().await.unwrap();
        running.reserve(50).await.unwrap();
        let mut big = a.slot().await.unwrap();
        let big_wait = tokio::spawn(async move {
            big.reserve(80).await.unwrap();
            big
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut small = a.slot().await.unwrap();
        let small_wait = tokio::spawn(async move {
            small.reserve(20).await.unwrap();
            small
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(a.usage().waiting, 2);
        assert!(
            !small_wait.is_finished(),
            "the newcomer passed the oldest waiter"
        );
        drop(running);
        let big = big_wait.await.unwrap();
        assert_eq!(big.reserved(), 80);
        let small = small_wait.await.unwrap();
        assert_eq!(a.usage().bytes, 100);
        drop((big, small));
        assert_eq!(a.usage(), Usage::default());
    }

    /// A job holding a slot reserves its memory at once when it fits,
    /// whoever waits for a slot (in one line, it waited behind requests
    /// that waited for its own slot: every request timed out).
    #[tokio::test]
    async fn slot_waiters_never_block_a_slot_holders_memory() {
        let a = pool(1, 100, 8, 2_000);
        let mut held = a.slot().await.unwrap();
        let a2 = a.clone();
        let waiter = tokio::spawn(async move { a2.slot().await.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(a.usage().waiting, 1);
        let started = Instant::now();
        held.reserve(60).await.unwrap();
        assert!(started.elapsed() < Duration::from_millis(500));
        drop(held);
        assert!(waiter.await.unwrap().is_ok());
    }
}
