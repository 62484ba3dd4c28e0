//! Injected disk faults, for tests: ENOSPC, EIO and short writes at each
//! step of the durable write (module doc of `embedded`).
//!
//! Every step of the write path asks its store's [`Faults`] before doing
//! the real work. In a normal build (neither `cfg(test)` nor the
//! `fault-injection` feature) `Faults` is an empty type whose checks are
//! `Ok(())` and compile to nothing, so production code carries no switch
//! that could be flipped. With the feature, a test opens the store with
//! [`crate::embedded::EmbeddedStore::open_with_faults`] and arms a fault
//! on a step through the handle it kept; the server itself never arms one.

/// A step of the durable write, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Writing body bytes to the temp file (step 1 and 3).
    Write,
    /// `fdatasync` of the temp file (step 3).
    Fsync,
    /// Renaming the temp file into `objects/` (step 4).
    Rename,
    /// fsync of the shard directory (step 5).
    DirFsync,
    /// The metadata transaction that makes the write visible (step 6).
    MetaCommit,
    /// Flushing the metadata log before acknowledging (step 7).
    MetaFlush,
}

impl Step {
    /// Every step, in the order a write takes them.
    pub const ALL: [Step; 6] = [
        Step::Write,
        Step::Fsync,
        Step::Rename,
        Step::DirFsync,
        Step::MetaCommit,
        Step::MetaFlush,
    ];
}

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// `ENOSPC`: the disk is full.
    NoSpace,
    /// `EIO`: the disk failed.
    Io,
    /// A write that stores only part of its buffer before the disk fills
    /// (what `write(2)` returning short, then `ENOSPC`, leaves). Only
    /// meaningful for [`Step::Write`]; elsewhere it acts as `NoSpace`.
    ShortWrite,
}

impl Fault {
    /// Every fault.
    pub const ALL: [Fault; 3] = [Fault::NoSpace, Fault::Io, Fault::ShortWrite];

    #[cfg(any(test, feature = "fault-injection"))]
    fn error(self, step: Step) -> std::io::Error {
        use std::io;
        let what = format!("injected fault at {step:?}");
        match self {
            Fault::NoSpace | Fault::ShortWrite => {
                io::Error::new(io::ErrorKind::StorageFull, format!("{what}: no space left"))
            }
            Fault::Io => io::Error::other(format!("{what}: input/output error")),
        }
    }
}

pub use imp::Faults;

#[cfg(any(test, feature = "fault-injection"))]
mod imp {
    use super::{Fault, Step};
    use std::fs::File;
    use std::io::{self, Write};
    use std::sync::{Arc, Mutex};

    /// A store's fault plan: at most one armed fault, shared by every
    /// clone (the test keeps one, the store another).
    #[derive(Debug, Clone, Default)]
    pub struct Faults {
        armed: Arc<Mutex<Option<(Step, Fault)>>>,
    }

    impl Faults {
        /// A plan with nothing armed.
        pub fn new() -> Faults {
            Faults::default()
        }

        /// Makes every later run of `step` fail with `fault` until
        /// [`Faults::disarm`].
        pub fn arm(&self, step: Step, fault: Fault) {
            *self.lock() = Some((step, fault));
        }

        /// Lets every step succeed again (the disk was freed, or fixed).
        pub fn disarm(&self) {
            *self.lock() = None;
        }

        fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Step, Fault)>> {
            self.armed.lock().unwrap_or_else(|e| e.into_inner())
        }

        fn armed_at(&self, step: Step) -> Option<Fault> {
            match *self.lock() {
                Some((s, f)) if s == step => Some(f),
                _ => None,
            }
        }

        /// The injected error of `step`, if one is armed.
        pub(crate) fn check(&self, step: Step) -> io::Result<()> {
            match self.armed_at(step) {
                Some(f) => Err(f.error(step)),
                None => Ok(()),
            }
        }

        /// `file.write_all(buf)`, or the armed [`Step::Write`] fault; a
        /// short write really stores the first half of `buf` first.
        pub(crate) fn write_all(&self, file: &mut File, buf: &[u8]) -> io::Result<()> {
            match self.armed_at(Step::Write) {
                None => file.write_all(buf),
                Some(Fault::ShortWrite) => {
                    file.write_all(&buf[..buf.len() / 2])?;
                    Err(Fault::ShortWrite.error(Step::Write))
                }
                Some(f) => Err(f.error(Step::Write)),
            }
        }
    }
}

#[cfg(not(any(test, feature = "fault-injection")))]
mod imp {
    use super::Step;
    use std::fs::File;
    use std::io::{self, Write};

    /// No faults: this build cannot inject any.
    #[derive(Debug, Clone, Default)]
    pub struct Faults;

    impl Faults {
        /// The only plan there is: none.
        pub(crate) const fn new() -> Faults {
            Faults
        }

        #[inline(always)]
        pub(crate) fn check(&self, _: Step) -> io::Result<()> {
            Ok(())
        }

        #[inline(always)]
        pub(crate) fn write_all(&self, file: &mut File, buf: &[u8]) -> io::Result<()> {
            file.write_all(buf)
        }
    }
}
