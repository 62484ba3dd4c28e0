//! Cooperative cancellation of a running pipeline.
//!
//! A pipeline runs on a blocking thread that nobody can pre-empt, so the
//! executor asks a [`Cancel`] at its checkpoints instead: before each
//! operation, between frames, between bands of rows in blur and sharpen,
//! and between the encodes of a size-limit search. The server sets the
//! flag when the request's future is dropped (the client hung up), and
//! gives each job a deadline; either way the job stops at its next
//! checkpoint and frees its pool slot and its buffers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::error::{Error, Result};

/// A cancellation flag shared between the job and whoever may abandon it,
/// plus an optional wall-clock deadline. Cloning shares the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
    deadline: Option<Instant>,
}

impl Cancel {
    /// A token that is never cancelled and has no deadline.
    pub fn never() -> Cancel {
        Cancel::default()
    }

    /// A token whose job must stop once `deadline` has passed.
    pub fn with_deadline(deadline: Option<Instant>) -> Cancel {
        Cancel {
            flag: Arc::default(),
            deadline,
        }
    }

    /// Asks the job to stop at its next checkpoint.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }

    /// True once [`Cancel::cancel`] was called (the deadline aside).
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// A checkpoint: `Error::Cancelled` when the flag is set,
    /// `Error::DeadlineExceeded` when the deadline has passed.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            return Err(Error::Cancelled);
        }
        match self.deadline {
            Some(d) if Instant::now() >= d => Err(Error::DeadlineExceeded),
            _ => Ok(()),
        }
    }

    /// A guard that cancels the job when dropped, unless disarmed: held by
    /// the request's future, so dropping the future (a client hang-up)
    /// stops the job.
    pub fn on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(Some(self.clone()))
    }
}

/// Cancels its token when dropped; see [`Cancel::on_drop`].
#[derive(Debug)]
pub struct CancelOnDrop(Option<Cancel>);

impl CancelOnDrop {
    /// The job finished and its answer was taken: dropping no longer
    /// cancels anything.
    pub fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn flag_deadline_and_guard() {
        let c = Cancel::never();
        assert!(c.check().is_ok());
        let g = c.on_drop();
        drop(g);
        assert!(matches!(c.check(), Err(Error::Cancelled)));

        let c = Cancel::never();
        c.on_drop().disarm();
        assert!(c.check().is_ok());

        let past = Instant::now().checked_sub(Duration::from_millis(1));
        let c = Cancel::with_deadline(past);
        assert!(matches!(c.check(), Err(Error::DeadlineExceeded)));
    }
}
