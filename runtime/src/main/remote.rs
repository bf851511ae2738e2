//! The one door other threads have into a loop thread.
//!
//! Promises and resolvers are `!Send`, so a worker thread can never touch
//! them. Instead it posts a [`Message`] here: "job 17 finished, here is its
//! result", "run this closure on the loop thread", "signal 10 arrived". The
//! loop thread owns everything the messages refer to (the job table, the
//! signal handlers) and acts on them between two polls.
//!
//! Posting costs one uncontended lock and, only when the queue was empty, one
//! `mio::Waker::wake` (an eventfd write): a burst of completions wakes the
//! loop once. The loop checks the `pending` flag with a single atomic load
//! every iteration, so completions are picked up promptly even when the loop
//! is busy with paused callbacks and skips the OS poll.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Something another thread asks the loop thread to do.
pub(crate) enum Message {
    /// A job posted by this loop finished; the payload is its result.
    Done(usize, Box<dyn Any + Send>),
    /// Run this closure on the loop thread (`run_in_main`).
    Run(Box<dyn FnOnce() + Send>),
    /// A Unix signal the loop listens to arrived.
    Signal(i32),
}

/// The thread-safe inbox of one loop.
pub(crate) struct Remote {
    queue: Mutex<Vec<Message>>,
    pending: AtomicBool,
    closed: AtomicBool,
    waker: mio::Waker,
}

impl Remote {
    pub(crate) fn new(waker: mio::Waker) -> Remote {
        Remote {
            queue: Mutex::new(Vec::new()),
            pending: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            waker,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Message>> {
        // Nothing runs user code while holding this lock, so a poisoned
        // lock can only come from an allocation failure; keep going.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Posts a message. Gives it back if the loop thread is gone.
    pub(crate) fn post(&self, m: Message) -> Result<(), Message> {
        let mut q = self.lock();
        if self.closed.load(Ordering::Acquire) {
            return Err(m);
        }
        let was_empty = q.is_empty();
        q.push(m);
        if was_empty {
            self.pending.store(true, Ordering::Release);
        }
        drop(q);
        if was_empty {
            self.wake();
        }
        Ok(())
    }

    /// Interrupts the loop's poll (used by the core's remote-wake notifier too).
    pub(crate) fn wake(&self) {
        // A failing wake (eventfd counter saturated) means a wake is already
        // pending, which is all we want.
        let _ = self.waker.wake();
    }

    /// Whether messages may be waiting (one atomic load).
    #[inline]
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Takes every waiting message, oldest first.
    pub(crate) fn take(&self) -> Vec<Message> {
        // Clear the flag before taking: a message posted after the take sees
        // an empty queue and sets the flag again; one posted in between is
        // taken now.
        if !self.pending.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        std::mem::take(&mut *self.lock())
    }

    /// Marks the loop thread as gone and drops what was still queued (a
    /// `run_in_main` caller blocked on a dropped request sees an error).
    pub(crate) fn close(&self) {
        let dropped = {
            let mut q = self.lock();
            self.closed.store(true, Ordering::Release);
            std::mem::take(&mut *q)
        };
        drop(dropped);
    }
}
