//! Mutual exclusion between promises: Lwt's `Lwt_mutex`.
//!
//! A [`Mutex`] protects nothing by itself: it is a lock that at most one
//! promise chain holds at a time. [`Mutex::lock`] gives a promise that is
//! fulfilled once the caller holds the lock; callers that find it taken wait
//! in first-in, first-out order. [`Mutex::unlock`] hands the lock straight to
//! the oldest waiter (the mutex stays locked) or frees it. A waiting `lock`
//! is cancelable: canceling it removes the caller from the queue.
//!
//! Deliberate differences from Lwt:
//! - `unlock` on a mutex that is not locked is an error (`Err` with
//!   [`ErrorKind::InvalidArgument`](crate::ErrorKind)); Lwt silently does
//!   nothing, which hides double unlocks.
//! - [`Mutex::try_lock`] (not in Lwt) takes the lock only if it is free.
//!
//! | Lwt | lwt-rs |
//! |---|---|
//! | `Lwt_mutex.create ()` | [`create()`], [`Mutex::new`] |
//! | `lock m`, `unlock m` | [`Mutex::lock`], [`Mutex::unlock`] |
//! | `with_lock m f` | [`Mutex::with_lock`] |
//! | `is_locked m`, `is_empty m` | [`Mutex::is_locked`], [`Mutex::is_empty`] |

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use super::WaitQueue;
use crate::core::{finalize, resolved, Error, Promise};

struct Inner {
    locked: Cell<bool>,
    waiters: WaitQueue<()>,
}

/// A lock for promises (Lwt's `Lwt_mutex.t`). Cloning gives another handle
/// on the same mutex.
///
/// ```
/// let m = lwt::mutex::Mutex::new();
/// let first = m.lock();
/// let second = m.lock();
/// assert!(first.is_fulfilled() && second.is_pending());
/// m.unlock().unwrap(); // handed to the second caller
/// assert!(second.is_fulfilled() && m.is_locked());
/// m.unlock().unwrap();
/// assert!(!m.is_locked());
/// ```
#[derive(Clone)]
pub struct Mutex {
    inner: Rc<Inner>,
}

/// A new, unlocked mutex (Lwt's `Lwt_mutex.create`).
pub fn create() -> Mutex {
    Mutex::new()
}

impl Default for Mutex {
    fn default() -> Self {
        Mutex::new()
    }
}

impl Mutex {
    /// A new, unlocked mutex.
    pub fn new() -> Mutex {
        Mutex {
            inner: Rc::new(Inner {
                locked: Cell::new(false),
                waiters: WaitQueue::lazy(),
            }),
        }
    }

    /// Takes the lock: a fulfilled promise if the mutex is free, otherwise a
    /// pending one, queued behind earlier callers, fulfilled when the lock is
    /// handed over. Canceling the pending promise leaves the queue.
    ///
    /// ```
    /// let m = lwt::mutex::Mutex::new();
    /// let _held = m.lock();
    /// let waiting = m.lock();
    /// waiting.cancel();
    /// assert!(waiting.is_canceled() && m.is_empty());
    /// ```
    pub fn lock(&self) -> Promise<()> {
        if self.inner.locked.get() {
            self.inner.waiters.wait()
        } else {
            self.inner.locked.set(true);
            resolved(())
        }
    }

    /// Takes the lock if it is free and says whether it did (not in Lwt).
    ///
    /// ```
    /// let m = lwt::mutex::Mutex::new();
    /// assert!(m.try_lock());
    /// assert!(!m.try_lock());
    /// ```
    pub fn try_lock(&self) -> bool {
        if self.inner.locked.get() {
            false
        } else {
            self.inner.locked.set(true);
            true
        }
    }

    /// Releases the lock: hands it to the oldest waiter, which then holds it,
    /// or frees the mutex if nobody waits. The waiter's callbacks run as with
    /// [`Resolver::wakeup_later`](crate::Resolver::wakeup_later).
    ///
    /// # Errors
    /// An [`ErrorKind::InvalidArgument`](crate::ErrorKind) error if the mutex
    /// is not locked.
    ///
    /// ```
    /// let m = lwt::mutex::Mutex::new();
    /// assert!(m.unlock().is_err());
    /// ```
    #[inline]
    pub fn unlock(&self) -> Result<(), Error> {
        if !self.inner.locked.get() {
            return Err(not_locked());
        }
        match self.inner.waiters.pop() {
            Some((r, ())) => r.wakeup_later(()),
            None => self.inner.locked.set(false),
        }
        Ok(())
    }

    /// Runs `f` holding the lock and releases it when `f`'s promise resolves,
    /// either way (Lwt's `with_lock`). A panic in `f` releases it too.
    ///
    /// ```
    /// let m = lwt::mutex::Mutex::new();
    /// let (p, r) = lwt::wait::<u32>();
    /// let a = m.with_lock(move || p);
    /// let b = m.with_lock(|| lwt::resolved(2));
    /// assert!(b.is_pending());
    /// r.wakeup(1);
    /// assert_eq!(a.state(), lwt::State::Fulfilled(1));
    /// assert_eq!(b.state(), lwt::State::Fulfilled(2));
    /// assert!(!m.is_locked());
    /// ```
    pub fn with_lock<T: 'static>(&self, f: impl FnOnce() -> Promise<T> + 'static) -> Promise<T> {
        let m = self.clone();
        self.lock().bind(move |()| {
            finalize(f, move || match m.unlock() {
                Ok(()) => resolved(()),
                Err(e) => crate::core::rejected(e),
            })
        })
    }

    /// Whether some promise holds the lock (Lwt's `is_locked`).
    pub fn is_locked(&self) -> bool {
        self.inner.locked.get()
    }

    /// Whether no caller waits for the lock (Lwt's `is_empty`).
    pub fn is_empty(&self) -> bool {
        self.inner.waiters.is_empty()
    }

    /// How many callers wait for the lock.
    pub fn waiters(&self) -> usize {
        self.inner.waiters.len()
    }
}

#[cold]
fn not_locked() -> Error {
    Error::invalid_argument("lwt::mutex::Mutex::unlock: the mutex is not locked")
}

impl fmt::Debug for Mutex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mutex")
            .field("locked", &self.is_locked())
            .field("waiters", &self.waiters())
            .finish()
    }
}
