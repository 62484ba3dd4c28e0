//! A core of its own for each running image job (`processing.pin_jobs`).
//!
//! Admission runs at most `concurrency` jobs at once, one per core by
//! default, so every running job could have a core to itself. Left to the
//! kernel, it often has not: a blocking-pool thread is woken near the
//! thread that woke it, often on the core of the other running job, and
//! on a busy 2-core machine `perf sched` showed jobs waiting there (0.42 ms
//! on average, several times per request) while the second core idled.
//! HTTP thumbnails of baseline JPEGs came out at 121–126 /s instead of the
//! 135–144 /s they reach when each job keeps a core (docs/image-benchmark.md,
//! "Over HTTP"). So a job claims a core that no other job holds, the one
//! it runs on if that is free, and its thread is bound to it until the job
//! ends; then the thread gets its former affinity back.
//!
//! Only the jobs are bound. The HTTP workers, the blocking pool's file and
//! metadata work and every other thread float as before, so the kernel
//! can still place them on whichever core is free, and a job that finds
//! every core claimed (more slots than cores) runs unbound. A host whose
//! operator places the process's threads (cpusets, `taskset`) keeps that
//! placement: only cores of the process's affinity at start are claimed,
//! and `pin_jobs = false` turns this off. Claims are per process: two
//! imgbucket processes sharing cores could bind their jobs to the same
//! one, so such hosts give each its own cores or turn this off
//! (docs/operations.md).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The cores jobs may claim, each with whether a job holds it.
#[derive(Debug)]
pub struct Cores {
    cpus: Vec<(usize, AtomicBool)>,
}

impl Cores {
    /// The cores of the process's affinity at first use, shared by every
    /// processor of the process (tests run several in one): a core is
    /// the process's, and two claims on it would stack two jobs there.
    /// `None` where there is one core (nothing to choose) or the platform
    /// cannot bind threads.
    pub fn of_process() -> Option<Arc<Cores>> {
        static PROCESS: OnceLock<Option<Arc<Cores>>> = OnceLock::new();
        PROCESS
            .get_or_init(|| {
                let cpus = affinity::allowed()?;
                (cpus.len() > 1).then(|| Cores::of(cpus))
            })
            .clone()
    }

    /// Jobs may claim exactly `cpus` (tests).
    pub fn of(cpus: Vec<usize>) -> Arc<Cores> {
        Arc::new(Cores {
            cpus: cpus
                .into_iter()
                .map(|c| (c, AtomicBool::new(false)))
                .collect(),
        })
    }

    /// Binds the calling thread to a core no other claim holds (the one it
    /// runs on, if free), until the claim is dropped. `None` when every
    /// core is claimed or the thread cannot be bound; the job then runs
    /// wherever the kernel puts it.
    pub fn claim(self: &Arc<Cores>) -> Option<Claim> {
        let here = affinity::current_cpu();
        let n = self.cpus.len();
        let start = self.cpus.iter().position(|(c, _)| *c == here).unwrap_or(0);
        for index in (start..n).chain(0..start) {
            let (cpu, held) = &self.cpus[index];
            if held
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            return match affinity::bind(*cpu) {
                Some(restore) => Some(Claim {
                    cores: self.clone(),
                    index,
                    restore,
                }),
                None => {
                    held.store(false, Ordering::Release);
                    None
                }
            };
        }
        None
    }

    /// Cores claimed now.
    pub fn claimed(&self) -> usize {
        self.cpus
            .iter()
            .filter(|(_, held)| held.load(Ordering::Relaxed))
            .count()
    }
}

/// A job's hold on one core; dropping it gives the thread its former
/// affinity back and frees the core.
#[derive(Debug)]
pub struct Claim {
    cores: Arc<Cores>,
    index: usize,
    restore: affinity::Saved,
}

impl Claim {
    /// The core claimed.
    pub fn cpu(&self) -> usize {
        self.cores.cpus[self.index].0
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        affinity::restore(&self.restore);
        self.cores.cpus[self.index]
            .1
            .store(false, Ordering::Release);
    }
}

/// The platform's thread affinity calls (Linux; elsewhere nothing binds).
#[cfg(target_os = "linux")]
mod affinity {
    use rustix::thread::{sched_getaffinity, sched_getcpu, sched_setaffinity, CpuSet};

    /// A thread's affinity before it was bound.
    pub type Saved = CpuSet;

    /// The CPUs the calling thread may run on.
    pub fn allowed() -> Option<Vec<usize>> {
        let set = sched_getaffinity(None).ok()?;
        Some((0..CpuSet::MAX_CPU).filter(|&c| set.is_set(c)).collect())
    }

    pub fn current_cpu() -> usize {
        sched_getcpu()
    }

    /// Binds the calling thread to `cpu`; what to restore, or `None` if
    /// the kernel refused (a cpuset that no longer has that CPU).
    pub fn bind(cpu: usize) -> Option<Saved> {
        let saved = sched_getaffinity(None).ok()?;
        let mut one = CpuSet::new();
        one.set(cpu);
        sched_setaffinity(None, &one).ok()?;
        Some(saved)
    }

    pub fn restore(saved: &Saved) {
        // Cannot fail for a set the thread had; if the cpuset shrank since,
        // the kernel keeps the thread where the cpuset allows.
        let _ = sched_setaffinity(None, saved);
    }
}

#[cfg(not(target_os = "linux"))]
mod affinity {
    pub type Saved = ();

    pub fn allowed() -> Option<Vec<usize>> {
        None
    }

    pub fn current_cpu() -> usize {
        0
    }

    pub fn bind(_cpu: usize) -> Option<Saved> {
        None
    }

    pub fn restore(_saved: &Saved) {}
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The CPUs this test thread may use, at least two, or `None` on a
    /// one-core machine (where the server never binds anything).
    fn two_or_more() -> Option<Vec<usize>> {
        affinity::allowed().filter(|c| c.len() > 1)
    }

    #[test]
    fn a_claim_binds_the_thread_to_one_free_core_and_gives_it_back() {
        let Some(cpus) = two_or_more() else { return };
        let before = affinity::allowed();
        let cores = Cores::of(cpus.clone());
        let claim = cores.claim().expect("a free core");
        assert_eq!(affinity::allowed(), Some(vec![claim.cpu()]));
        assert_eq!(affinity::current_cpu(), claim.cpu(), "moved there at once");
        assert_eq!(cores.claimed(), 1);
        drop(claim);
        assert_eq!(affinity::allowed(), before);
        assert_eq!(cores.claimed(), 0);
    }

    #[test]
    fn jobs_get_distinct_cores_until_none_is_left() {
        let Some(cpus) = two_or_more() else { return };
        let cores = Cores::of(cpus[..2].to_vec());
        // Each claim from its own thread, as jobs run; held until the end.
        let (tx, rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let (cores, tx, release) = (cores.clone(), tx.clone(), release_rx.clone());
                std::thread::spawn(move || {
                    let claim = cores.claim();
                    tx.send(claim.as_ref().map(Claim::cpu))
                        .expect("the test waits");
                    let _ = release.lock().expect("not poisoned").recv();
                    drop(claim);
                })
            })
            .collect();
        let mut got: Vec<_> = (0..3)
            .map(|_| rx.recv().expect("each thread answers"))
            .collect();
        got.sort();
        assert_eq!(got, vec![None, Some(cpus[0]), Some(cpus[1])]);
        assert_eq!(cores.claimed(), 2);
        drop(release_tx);
        for t in threads {
            t.join().expect("no panic");
        }
        assert_eq!(cores.claimed(), 0);
    }

    #[test]
    fn a_core_outside_the_affinity_is_not_claimed() {
        let Some(cpus) = two_or_more() else { return };
        // A CPU number no machine this runs on has: the kernel refuses.
        let cores = Cores::of(vec![rustix::thread::CpuSet::MAX_CPU - 1]);
        assert!(cores.claim().is_none());
        assert_eq!(cores.claimed(), 0, "the refused core is not left held");
        assert_eq!(affinity::allowed(), Some(cpus));
    }
}
